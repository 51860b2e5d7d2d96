"""Issue 12, classes "update loses data", "interrupted or failed update", "exit codes".

A tiny git template (v1.0.0 -> v2.0.0) stands in for mlscaffold's: the update machinery is
the same, and each history runs in a second. v2.0.0 changes the README, adds two files the
project's own .gitignore ignores (local/settings.cfg, debug.log), adds src/new.py, and deletes
notes.txt and docs/.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mlscaffold import scaffold
from mlscaffold.cli import app
from tests.gitutil import git
from tests.safety import make_sibling, one_line_error, run_cli_process, snapshot, stray_temp

runner = CliRunner()
V1 = {
    "README.md.jinja": "# {{ name }}\nline one\n",
    ".gitignore": "local/\n*.log\n",
    "notes.txt": "template notes\n",
    "docs/guide.md": "guide\n",
    "keep.txt": "keep\n",
}
V2_ADDED = {"local/settings.cfg": "release settings\n", "debug.log": "release log\n"}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("tpl") / "repo"
    (repo / "t").mkdir(parents=True)
    (repo / "copier.yml").write_text(
        "_subdirectory: t\n_answers_file: .copier-answers.yml\nname:\n  type: str\n  default: demo\n"
    )
    (repo / "t" / "{{ _copier_conf.answers_file }}.jinja").write_text(
        "# Changes here will be overwritten by Copier\n{{ _copier_answers|to_nice_yaml -}}\n"
    )
    for rel, text in V1.items():
        (repo / "t" / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / "t" / rel).write_text(text)
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "v1")
    git(repo, "tag", "v1.0.0")
    (repo / "t" / "README.md.jinja").write_text("# {{ name }}\nline one\nline two\n")
    for rel, text in {**V2_ADDED, "src/new.py": "X = 1\n"}.items():
        (repo / "t" / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / "t" / rel).write_text(text)
    git(repo, "rm", "-rq", "t/notes.txt", "t/docs")
    git(repo, "add", "-A", "-f")
    git(repo, "commit", "-qm", "v2")
    git(repo, "tag", "v2.0.0")
    return repo


def make_project(repo: Path, base: Path, edit=None) -> Path:
    project = base / "proj"
    scaffold.render(project, {"name": "demo"}, template=str(repo), vcs_ref="v1.0.0")
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated")
    if edit:
        edit(project)
        status = git(project, "status", "--porcelain")
        if status.strip():
            git(project, "add", "-A")
            git(project, "commit", "-qm", "user edits")
    return project


def _write(rel: str, text: str):
    def edit(project: Path) -> None:
        (project / rel).parent.mkdir(parents=True, exist_ok=True)
        (project / rel).write_text(text)

    return edit


def update(project: Path, *args: str):
    return runner.invoke(app, ["update", str(project), *args])


# name -> (user's edit, expected exit, {path: expected text or None for absent}, conflict path)
HISTORIES = {
    "ignored file the release adds, user has own": (
        _write("local/settings.cfg", "mine\n"),
        3,
        {"local/settings.cfg": "mine\n", "local/settings.cfg.new": "release settings\n"},
        "local/settings.cfg",
    ),
    "ignored *.log the release adds, user has own": (
        _write("debug.log", "my log\n"),
        3,
        {"debug.log": "my log\n", "debug.log.new": "release log\n"},
        "debug.log",
    ),
    "ignored file identical to the release's": (
        _write("debug.log", "release log\n"),
        0,
        {"debug.log": "release log\n", "debug.log.new": None},
        None,
    ),
    "release adds a file the user does not have": (
        None,
        0,
        {"local/settings.cfg": "release settings\n", "README.md": "# demo\nline one\nline two\n"},
        None,
    ),
    "edited file the release deletes": (
        _write("notes.txt", "template notes\nmy own notes\n"),
        3,
        {"notes.txt": "template notes\nmy own notes\n"},
        "notes.txt",
    ),
    "unedited file the release deletes": (
        None,
        0,
        {"notes.txt": None, "docs/guide.md": None},
        None,
    ),
    "edited file in a directory the release deletes": (
        _write("docs/guide.md", "guide\nmine\n"),
        3,
        {"docs/guide.md": "guide\nmine\n"},
        "docs/guide.md",
    ),
    "user's own file in a directory the release deletes": (
        _write("docs/mine.md", "mine\n"),
        0,
        {"docs/mine.md": "mine\n", "docs/guide.md": None},
        None,
    ),
    "edit that merges cleanly": (
        _write("keep.txt", "keep\nand mine\n"),
        0,
        {"keep.txt": "keep\nand mine\n", "README.md": "# demo\nline one\nline two\n"},
        None,
    ),
    "conflicting edit (inline markers)": (
        _write("README.md", "# demo\nline one, edited\n"),
        3,
        {},
        "README.md",
    ),
}


@pytest.mark.parametrize("case", list(HISTORIES))
def test_update_histories(repo: Path, tmp_path: Path, case: str) -> None:
    edit, code, expected, conflict = HISTORIES[case]
    project = make_project(repo, tmp_path, edit)
    result = update(project)
    assert result.exit_code == code, result.output
    for rel, text in expected.items():
        path = project / rel
        assert (path.read_text() if path.exists() else None) == text, rel
    if conflict:
        assert conflict in result.stdout
        assert "conflicts" in one_line_error(result)
    else:
        assert not result.stderr.strip()


def test_conflict_rej_keeps_the_users_hunk_in_the_rej_file_as_documented(repo, tmp_path):
    project = make_project(repo, tmp_path, _write("README.md", "# demo\nline one, edited\n"))
    result = update(project, "--conflict", "rej")
    assert result.exit_code == 3, result.output
    rej = (project / "README.md.rej").read_text()
    assert "+line one, edited" in rej, rej  # the user's change that did not apply
    assert "edited" not in (project / "README.md").read_text()  # the file is the release's
    help_text = runner.invoke(app, ["update", "--help"]).stdout
    assert "YOUR changes" in " ".join(help_text.split())
    docs = (Path(__file__).parents[1] / "docs" / "updating.md").read_text()
    assert "your changes that did not apply" in docs.lower()


# name -> (prepare(project, sibling), error text): refused before anything is touched
REFUSALS = {
    "read-only tracked file": (lambda p, s: (p / "keep.txt").chmod(0o444), "not writable"),
    "read-only directory": (lambda p, s: (p / "docs").chmod(0o555), "not writable"),
    "untracked file": (lambda p, s: (p / "scratch.txt").write_text("wip"), "uncommitted"),
    "uncommitted edit": (lambda p, s: (p / "keep.txt").write_text("wip"), "uncommitted"),
    "_src_path that git would read as an option": (
        lambda p, s: _commit_answers(p, "_src_path: ", "_src_path: --upload-pack=touch pwned #"),
        "not a template source",
    ),
    "_commit that git would read as an option": (
        lambda p, s: _commit_answers(p, "_commit: v1.0.0", "_commit: --output=/tmp/x"),
        "not a release version",
    ),
    "garbage _commit": (
        lambda p, s: _commit_answers(p, "_commit: v1.0.0", "_commit: not-a-version"),
        "not a release version",
    ),
}


def _commit_answers(project: Path, old: str, new: str) -> None:
    path = project / ".copier-answers.yml"
    path.write_text(path.read_text().replace(old, new))
    git(project, "commit", "-qam", "answers edited")


@pytest.mark.parametrize("case", list(REFUSALS))
def test_update_refusals_touch_nothing(repo: Path, tmp_path: Path, case: str) -> None:
    prepare, text = REFUSALS[case]
    sibling = make_sibling(tmp_path)
    project = make_project(repo, tmp_path)
    prepare(project, sibling)
    before = snapshot(project)
    command = ["check"] if case == "garbage _commit" else ["update"]
    result = runner.invoke(app, [*command, str(project)])
    assert result.exit_code == 2, result.output
    assert text in one_line_error(result)
    assert snapshot(project) == before


def test_update_through_a_link_leading_outside_is_refused_and_restored(repo, tmp_path):
    sibling = make_sibling(tmp_path)

    def link_src(project: Path) -> None:
        os.symlink("../sibling/elsewhere", project / "src")

    project = make_project(repo, tmp_path, link_src)
    before, before_sibling = snapshot(project), snapshot(sibling)
    result = update(project)
    assert result.exit_code == 2, result.output
    assert "outside the project" in one_line_error(result)
    assert snapshot(sibling) == before_sibling
    assert {k: v[:2] for k, v in snapshot(project).items() if not k.startswith(".git/")} == {
        k: v[:2] for k, v in before.items() if not k.startswith(".git/")
    }


def test_update_all_of_a_missing_directory_is_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["update", "--all", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "not a directory" in one_line_error(result)


def _worktree(project: Path) -> dict:
    return {k: v[:2] for k, v in snapshot(project).items() if not k.startswith(".git/")}


# (function under mlscaffold.update_guard, nth call, signal)
UPDATE_POINTS = [
    (function, nth, sig)
    for function, nth in (("render_allowed", 2), ("render_allowed", 6), ("_remove_old_files", 1))
    for sig in ("SIGTERM", "SIGHUP", "SIGINT")
]


@pytest.mark.parametrize(("function", "nth", "sig"), UPDATE_POINTS)
def test_signals_during_update_restore_the_project(repo, tmp_path, function, nth, sig) -> None:
    project = make_project(
        repo, tmp_path, lambda p: (_write("notes.txt", "mine\n")(p), _write("debug.log", "x")(p))
    )
    before = _worktree(project)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    proc = run_cli_process(
        ["update", str(project)],
        cwd=tmp_path,
        env={"TMPDIR": str(tmpdir)},
        hook=("update_guard", function, nth, sig),
    )
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines() == ["error: interrupted; nothing was changed"]
    assert _worktree(project) == before
    assert not git(project, "status", "--porcelain").strip()
    assert stray_temp(tmpdir) == [], "temporary clones left behind"


NEW_POINTS = [
    (module, function, nth, sig)
    for module, function, nth in (("scaffold", "_copy", 1), ("placement", "_move", 4))
    for sig in ("SIGTERM", "SIGHUP", "SIGINT")
]


@pytest.mark.parametrize(("module", "function", "nth", "sig"), NEW_POINTS)
def test_signals_during_new_leave_the_destination_as_it_was(
    tmp_path, module, function, nth, sig
) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "README.md").write_text("the user's readme\n")
    (dest / "notes.txt").write_text("notes\n")
    before, before_base = snapshot(dest), sorted(p.name for p in tmp_path.iterdir())
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    proc = run_cli_process(
        ["new", str(dest), "-y", "--existing", "overwrite"],
        cwd=tmp_path,
        env={"TMPDIR": str(tmpdir)},
        hook=(module, function, nth, sig),
    )
    assert proc.returncode == 130, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "error: interrupted; nothing was changed"
    assert snapshot(dest) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [*before_base, "tmp"]
    assert stray_temp(tmpdir) == []
