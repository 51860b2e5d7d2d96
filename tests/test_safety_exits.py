"""Issue 12, class "exit codes and messages": every refusal is the documented code and one
line in the user's terms (no traceback, errno text or staging path); interrupts are 130."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest

from mlscaffold import cli
from tests.gitutil import git
from tests.safety import new, one_line_error, runner, snapshot


def _project(base: Path) -> Path:
    result = new(str(base / "p"), "-y")
    assert result.exit_code == 0, result.output
    return base / "p"


def _git_project(base: Path) -> Path:
    project = _project(base)
    git(project, "init", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-qm", "generated")
    return project


# name -> (prepare(base) -> argv, exit code, words the error line holds)
TABLE = {
    "update --all of a missing root": (
        lambda b: ["update", "--all", str(b / "none")],
        2,
        "not a directory",
    ),
    "update of a directory that is no project": (
        lambda b: (b / "d").mkdir() or ["update", str(b / "d")],
        2,
        "not a generated project",
    ),
    "check of a directory that is no project": (
        lambda b: (b / "d").mkdir() or ["check", str(b / "d")],
        2,
        "not a generated project",
    ),
    "update outside git": (lambda b: ["update", str(_project(b))], 2, "not in a git repository"),
    "update of two projects without --all": (
        lambda b: ["update", str(b / "a"), str(b / "b")],
        2,
        "use --all",
    ),
    "update --conflict of an unknown mode": (
        lambda b: ["update", str(_git_project(b)), "--conflict", "theirs"],
        2,
        "",
    ),
    "empty PATH": (lambda b: ["new", "", "-y"], 2, "PATH is empty"),
    "unknown --existing mode": (
        lambda b: ["new", str(b / "x"), "-y", "--existing", "merge"],
        2,
        "--existing must be one of",
    ),
    "unknown stack": (
        lambda b: ["new", str(b / "x"), "-y", "--stack", "fastai"],
        2,
        "unknown stack",
    ),
    "unknown answer key": (
        lambda b: ["new", str(b / "x"), "-y", "-d", "licence=MIT"],
        2,
        "did you mean 'license'",
    ),
    "invalid choice": (lambda b: ["new", str(b / "x"), "-y", "-d", "ci=jenkins"], 2, "choose one"),
    "--data without =": (lambda b: ["new", str(b / "x"), "-y", "-d", "ci"], 2, "KEY=VALUE"),
    "vcs ref that is an option": (
        lambda b: ["new", str(b / "x"), "-y", "--vcs-ref", "--upload-pack=touch pwned"],
        2,
        "not a git tag",
    ),
    "update to a vcs ref with spaces": (
        lambda b: ["update", str(_git_project(b)), "--vcs-ref", "v1 ; id"],
        2,
        "not a git tag",
    ),
    "template source that is an option": (
        lambda b: ["new", str(b / "x"), "-y", "--template", "-c core.sshCommand=id"],
        2,
        "not a path or a git URL",
    ),
    "refused combination": (
        lambda b: ["new", str(b / "x"), "-y", "--task", "custom", "--hardware", "nope"],
        2,
        "nope",
    ),
}


@pytest.mark.parametrize("case", list(TABLE))
def test_exit_codes_and_one_line_messages(tmp_path: Path, case: str) -> None:
    prepare, code, words = TABLE[case]
    argv = prepare(tmp_path)
    before = snapshot(tmp_path)
    result = runner.invoke(cli.app, argv)
    assert result.exit_code == code, result.output
    if case == "update --conflict of an unknown mode":  # Typer's own usage error
        assert "theirs" in result.output and "Traceback" not in result.output
    else:
        assert words in one_line_error(result)
    assert snapshot(tmp_path) == before, "a refused command changed something"


def test_ctrl_c_in_a_menu_is_130_and_writes_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(cli, "stdin_is_terminal", lambda: True)
    result = runner.invoke(cli.app, ["new", str(tmp_path / "x")], input="")  # EOF: Abort
    assert result.exit_code == 130, result.output
    assert one_line_error(result) == "error: interrupted; nothing was changed"
    assert snapshot(tmp_path) == {}


def test_ctrl_c_in_a_copier_question_is_one_short_line(tmp_path, monkeypatch) -> None:
    from copier.errors import CopierAnswersInterrupt

    def interrupted(src, dst, **options):
        dst.mkdir(parents=True)
        (dst / "half.txt").write_text("x")
        raise CopierAnswersInterrupt(mock.MagicMock(), mock.MagicMock(), mock.MagicMock())

    monkeypatch.setattr("mlscaffold.scaffold._copy", interrupted)
    result = runner.invoke(cli.app, ["new", str(tmp_path / "x"), "-y"])
    assert result.exit_code == 130
    assert one_line_error(result) == "error: interrupted; nothing was changed"
    assert snapshot(tmp_path) == {}


def test_exit_codes_are_documented_in_the_readme() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |", "| 130 |"):
        assert code in readme, code
