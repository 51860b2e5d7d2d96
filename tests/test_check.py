"""`mlscaffold check`: the project's template version, the newest release, update due or not."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from mlscaffold import lifecycle, scaffold, sources
from mlscaffold.cli_lifecycle import EXIT_UPDATE_DUE, register
from mlscaffold.errors import UsageError
from tests.gitutil import ANSWERS, REPO_ROOT, git

runner = CliRunner()


def tagged_repo(path: Path, tags: list[str]) -> Path:
    """A git repo with one commit per tag (no template content needed for `check`)."""
    path.mkdir(parents=True)
    git(path, "init", "-q")
    for tag in tags:
        (path / "VERSION").write_text(tag, encoding="utf-8")
        git(path, "add", "-A")
        git(path, "commit", "-qm", tag)
        git(path, "tag", tag)
    return path


def project_at(base: Path, source: str, commit: str) -> Path:
    """A minimal project: only the answers file matters to `check`."""
    project = base / "demo"
    project.mkdir(parents=True)
    (project / ".copier-answers.yml").write_text(
        "# Changes here will be overwritten by Copier; NEVER EDIT MANUALLY\nproject_name: demo\n",
        encoding="utf-8",
    )
    sources.record_origin(project, source, commit)
    return project


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_latest_tag_sorts_by_pep440_and_skips_prereleases(tmp_path: Path):
    repo = tagged_repo(tmp_path / "t", ["v0.1.0", "v0.9.0", "v0.10.0", "v1.0.0rc1", "nightly"])
    assert lifecycle.latest_tag(str(repo)) == "v0.10.0"
    assert lifecycle.latest_tag(str(repo), prereleases=True) == "v1.0.0rc1"


def test_parse_version_reads_tags_and_git_describe():
    v = lifecycle.parse_version
    assert v("v0.2.0") > v("v0.1.0-5-gabc1234") > v("v0.1.0")
    assert v("not-a-version") is None


def test_check_reports_an_update_due(tmp_path: Path, app):
    repo = tagged_repo(tmp_path / "t", ["v0.1.0", "v0.2.0"])
    project = project_at(tmp_path / "p", str(repo), "v0.1.0")

    assert lifecycle.check(project) == lifecycle.CheckResult(
        "v0.1.0", "v0.2.0", True, str(repo), project
    )
    result = runner.invoke(app, ["check", str(project)])
    assert result.exit_code == EXIT_UPDATE_DUE == 4, result.output
    assert "v0.1.0" in result.stdout and "v0.2.0" in result.stdout
    assert "update available" in result.stdout

    result = runner.invoke(app, ["check", str(project), "--json"])
    assert result.exit_code == 4
    assert json.loads(result.stdout) == {
        "project": str(project),
        "current": "v0.1.0",
        "latest": "v0.2.0",
        "update_due": True,
        "source": str(repo),
    }


def test_check_up_to_date_exits_0(tmp_path: Path, app, monkeypatch):
    repo = tagged_repo(tmp_path / "t", ["v0.1.0", "v0.2.0"])
    project = project_at(tmp_path / "p", str(repo), "v0.2.0")
    monkeypatch.chdir(project)  # PATH defaults to the current directory
    result = runner.invoke(app, ["check", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["update_due"] is False


def test_check_unreachable_source_exits_1(tmp_path: Path, app):
    project = project_at(tmp_path / "p", str(tmp_path / "gone"), "v0.1.0")
    result = runner.invoke(app, ["check", str(project)])
    assert result.exit_code == 1
    assert result.stderr.startswith("error: cannot reach the template source")
    assert result.stderr.count("\n") == 1


def test_check_outside_a_project_exits_2(tmp_path: Path, app):
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a generated project" in result.stderr


def test_check_a_project_from_a_non_git_template_is_a_usage_error(tmp_path: Path):
    project = tmp_path / "demo"
    snapshot = tmp_path / "bundled"
    snapshot.mkdir()
    shutil.copy2(REPO_ROOT / "copier.yml", snapshot / "copier.yml")
    shutil.copytree(REPO_ROOT / "templates", snapshot / "templates")
    scaffold.render(project, ANSWERS, template=snapshot)
    with pytest.raises(UsageError, match="_commit"):
        lifecycle.check(project)


def test_lifecycle_cli_module_does_not_import_copier():
    code = (
        "import sys, typer; from mlscaffold.cli_lifecycle import register; "
        "register(typer.Typer()); import mlscaffold.sources; "
        "assert 'copier' not in sys.modules, 'copier imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
