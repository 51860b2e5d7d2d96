"""Org-wide starter kits: the org config, an org fork of the template, and bulk updates."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mlscaffold import lifecycle, scaffold, sources
from mlscaffold.cli_lifecycle import register
from mlscaffold.errors import UsageError
from mlscaffold.sources import OrgConfig
from tests.gitutil import ANSWERS, REPO_ROOT, git

ORG_NOTE_V1 = "Acme ML platform: ask #ml-platform before deploying."
ORG_NOTE_V2 = "Acme ML platform: deploy with `acme ship`."

runner = CliRunner()


def copy_template(dest: Path) -> Path:
    dest.mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "copier.yml", dest / "copier.yml")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(REPO_ROOT / "templates", dest / "templates", ignore=ignore)
    return dest


def commit_tag(repo: Path, tag: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", f"release {tag}")
    git(repo, "tag", tag)


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The public template stand-in: v0.1.0, then v0.2.0 appends a README line."""
    repo = copy_template(tmp_path_factory.mktemp("upstream") / "mlscaffold")
    git(repo, "init", "-q")
    commit_tag(repo, "v0.1.0")
    with (repo / "templates/tabular/README.md.jinja").open("a", encoding="utf-8") as f:
        f.write("\nUpstream release two.\n")
    commit_tag(repo, "v0.2.0")
    return repo


@pytest.fixture(scope="module")
def fork(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An org fork: licence defaults to proprietary, an added ORG.md; v0.1.0 then v0.2.0."""
    repo = copy_template(tmp_path_factory.mktemp("org") / "acme-template")
    common = repo / "templates/_questions/common.yml"
    text = common.read_text(encoding="utf-8")
    assert "  default: MIT\n" in text
    common.write_text(text.replace("  default: MIT\n", "  default: proprietary\n"), "utf-8")
    (repo / "templates/tabular/ORG.md").write_text(f"{ORG_NOTE_V1}\n", encoding="utf-8")
    git(repo, "init", "-q")
    commit_tag(repo, "v0.1.0")
    (repo / "templates/tabular/ORG.md").write_text(f"{ORG_NOTE_V2}\n", encoding="utf-8")
    commit_tag(repo, "v0.2.0")
    return repo


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def write_config(path: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv(sources.CONFIG_ENV, str(path))
    return path


# --- the org config ---------------------------------------------------------------------------


def test_no_config_file_is_an_empty_config(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(sources.CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert sources.config_path() == tmp_path / "mlscaffold" / "config.yml"
    assert sources.load_org_config() == OrgConfig()


def test_config_from_the_user_config_dir(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(sources.CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "mlscaffold").mkdir()
    path = tmp_path / "mlscaffold" / "config.yml"
    path.write_text("template: ../kits/acme\ndefaults: {license: proprietary}\n", "utf-8")
    org = sources.load_org_config()
    assert org.template == str((tmp_path / "kits" / "acme").resolve())  # relative to the file
    assert org.defaults == {"license": "proprietary"} and org.path == path


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("template: [unclosed\n", "invalid YAML"),
        ("templates: https://example.com/t.git\n", "unknown key 'templates'"),
        ("defaults: [a, b]\n", "'defaults' must be a mapping"),
        ("template: 3\n", "'template' must be a string"),
        ("- just\n- a list\n", "expected a mapping"),
        ("locked:\n  ci: [github]\n", "locked.ci must be a single value"),
    ],
)
def test_malformed_config_is_one_usage_line_naming_the_file(tmp_path, monkeypatch, text, needle):
    path = write_config(tmp_path / "org.yml", text, monkeypatch)
    with pytest.raises(UsageError) as info:
        sources.load_org_config()
    message = str(info.value)
    assert str(path) in message and needle in message and "\n" not in message


def test_config_named_by_env_must_exist(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(sources.CONFIG_ENV, str(tmp_path / "missing.yml"))
    with pytest.raises(UsageError, match="missing.yml does not exist"):
        sources.load_org_config()


def test_merge_answers_defaults_user_locked():
    org = OrgConfig(
        defaults={"author_name": "Acme", "license": "proprietary", "python_version": "3.12"},
        locked={"ci": "gitlab", "python_version": "3.12"},
        path=Path("/etc/acme.yml"),
    )
    merged = sources.merge_answers(org, {"license": "MIT", "python_version": 3.12})
    assert merged == {
        "author_name": "Acme",
        "license": "MIT",
        "python_version": "3.12",
        "ci": "gitlab",
    }
    with pytest.raises(UsageError, match=r"'ci' is locked to 'gitlab'.*/etc/acme.yml"):
        sources.merge_answers(org, {"ci": "github"})


def test_canonical_source_precedence(monkeypatch):
    monkeypatch.delenv(sources.TEMPLATE_URL_ENV, raising=False)
    assert sources.canonical_source() == sources.DEFAULT_TEMPLATE_URL
    org = OrgConfig(template="https://git.acme.example/ml/template.git")
    assert sources.canonical_source(org) == org.template
    monkeypatch.setenv(sources.TEMPLATE_URL_ENV, "https://mirror.example/mlscaffold.git")
    assert sources.canonical_source(org) == "https://mirror.example/mlscaffold.git"


def test_plan_bundled_copy_records_canonical_source_and_release_tag(monkeypatch):
    from mlscaffold import __version__

    monkeypatch.setenv(sources.TEMPLATE_URL_ENV, "https://mirror.example/mlscaffold.git")
    plan = sources.plan_template(org=OrgConfig())
    assert plan.render_from is None
    assert plan.record == ("https://mirror.example/mlscaffold.git", f"v{__version__}")
    # an org fork has its own content: rendered from its source, Copier records it
    org = OrgConfig(template="https://git.acme.example/ml/t.git", vcs_ref="v1.0.0")
    assert sources.plan_template(org=org) == sources.TemplatePlan(org.template, "v1.0.0", None)
    explicit = sources.plan_template("https://x.example/t.git", "v2.0.0", org)
    assert explicit == sources.TemplatePlan("https://x.example/t.git", "v2.0.0", None)


# --- an org fork, through the org config and through --template --------------------------------


def test_org_fork_through_the_org_config_then_update(fork: Path, tmp_path: Path, monkeypatch):
    config = tmp_path / "conf" / "mlscaffold.yml"
    config.parent.mkdir()
    rel = os.path.relpath(fork, config.parent)
    write_config(
        config,
        f"template: {rel}\nvcs_ref: v0.1.0\n"
        "defaults:\n  author_name: Acme Data Team\n  python_version: '3.12'\n"
        "locked:\n  ci: gitlab\n",
        monkeypatch,
    )
    dest = tmp_path / "churn"

    with pytest.raises(UsageError, match="'ci' is locked"):
        lifecycle.new_project(dest, {**ANSWERS, "ci": "github"})
    assert not dest.exists()  # nothing written

    made = lifecycle.new_project(dest, {**ANSWERS, "python_version": "3.11"})

    answers = sources.read_answers(dest)
    assert (made.src_path, made.commit) == (str(fork), "v0.1.0")
    assert answers["_src_path"] == str(fork) and answers["_commit"] == "v0.1.0"
    assert answers["license"] == "proprietary"  # the fork's default
    assert answers["author_name"] == "Acme Data Team"  # org default
    assert answers["python_version"] == "3.11"  # the user's answer beats an org default
    assert answers["ci"] == "gitlab"  # locked
    assert (dest / ".gitlab-ci.yml").is_file() and not (dest / ".github").exists()
    assert (dest / "ORG.md").read_text(encoding="utf-8") == f"{ORG_NOTE_V1}\n"
    assert "MIT License" not in (dest / "LICENSE").read_text(encoding="utf-8")

    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "init")
    result = lifecycle.update(dest)
    assert (result.old, result.new, result.conflicts) == ("v0.1.0", "v0.2.0", [])
    assert (dest / "ORG.md").read_text(encoding="utf-8") == f"{ORG_NOTE_V2}\n"


def test_org_fork_through_explicit_template_path(fork: Path, tmp_path: Path, monkeypatch):
    monkeypatch.chdir(fork.parent)
    monkeypatch.delenv(sources.CONFIG_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    dest = tmp_path / "churn"
    made = lifecycle.new_project(dest, dict(ANSWERS), template=fork.name)  # relative path
    assert made.src_path == str(fork)  # recorded absolute
    assert made.commit == "v0.2.0"  # newest tag
    assert sources.read_answers(dest)["license"] == "proprietary"
    assert (dest / "ORG.md").read_text(encoding="utf-8") == f"{ORG_NOTE_V2}\n"


def test_bundled_copy_is_recorded_as_the_canonical_source(upstream, tmp_path, monkeypatch):
    monkeypatch.setenv(sources.TEMPLATE_URL_ENV, str(upstream))
    dest = tmp_path / "demo"
    made = lifecycle.new_project(dest, dict(ANSWERS), org=OrgConfig())
    assert (made.src_path, made.commit) == (str(upstream), "v0.1.0")
    assert not (dest / "ORG.md").exists()


# --- bulk update ------------------------------------------------------------------------------


def make_project(upstream: Path, dest: Path, version: str = "v0.1.0") -> Path:
    scaffold.render(dest, ANSWERS, template=str(upstream), vcs_ref=version)
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "Generated by mlscaffold")
    return dest


def test_bulk_update_with_mixed_outcomes(upstream: Path, tmp_path: Path, app, monkeypatch):
    root = tmp_path / "projects"
    make_project(upstream, root / "a-stale")
    make_project(upstream, root / "b-current", version="v0.2.0")
    clash = make_project(upstream, root / "c-clash")
    with (clash / "README.md").open("a", encoding="utf-8") as f:
        f.write("\nOur own last line.\n")
    git(clash, "commit", "-qam", "edit where the release edits")
    dirty = make_project(upstream, root / "d-dirty")
    (dirty / "wip.py").write_text("x = 1\n", encoding="utf-8")
    (root / "e-notes").mkdir()
    (root / "e-notes" / "todo.txt").write_text("not a project\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    result = runner.invoke(app, ["update", "--all", str(root), "--json"])

    assert result.exit_code == 3, result.output  # conflicts, no errors
    data = json.loads(result.stdout)
    rows = {Path(r["path"]).name: r for r in data["rows"]}
    assert {name: r["status"] for name, r in rows.items()} == {
        "a-stale": "updated",
        "b-current": "current",
        "c-clash": "conflicts",
        "d-dirty": "dirty",
        "e-notes": "not-a-project",
    }
    assert (rows["a-stale"]["old"], rows["a-stale"]["new"]) == ("v0.1.0", "v0.2.0")
    assert rows["c-clash"]["conflicts"] == ["README.md"]
    assert "uncommitted" in rows["d-dirty"]["message"]
    assert data["summary"] == {
        "updated": 1,
        "current": 1,
        "conflicts": 1,
        "dirty": 1,
        "not-a-project": 1,
    }
    assert git(root / "d-dirty", "status", "--porcelain") == "?? wip.py\n"  # untouched

    # the same tree again, as a table: updated/conflicting projects now have uncommitted work
    git(root / "a-stale", "commit", "-qam", "take release 0.2.0")
    # a root that does not exist is a typo: refused before any project is touched
    result = runner.invoke(app, ["update", "--all", str(root), str(tmp_path / "missing")])
    assert result.exit_code == 2 and "missing is not a directory" in result.stderr
    result = runner.invoke(app, ["update", "--all", str(root)])
    assert result.exit_code == 0, result.output
    for name in ("a-stale", "b-current", "c-clash", "d-dirty", "e-notes"):
        assert name in result.stdout
    assert "5 directories: 2 current, 2 dirty, 1 not-a-project" in result.stdout


def test_discover_finds_nested_projects_and_skips_hidden_dirs(tmp_path: Path):
    root = tmp_path / "r"
    (root / "team" / "deep").mkdir(parents=True)
    for rel in ("team/deep/p1", ".hidden/p2", "p3"):
        (root / rel).mkdir(parents=True)
        (root / rel / ".copier-answers.yml").write_text("_commit: v0.1.0\n", encoding="utf-8")
    found = lifecycle.discover([root, root / "p3"])
    assert found == [(root / "p3", None), (root / "team" / "deep" / "p1", None)]
