"""Nothing partial, nothing outside the destination, nothing evaluated: the promises of `new`."""

from __future__ import annotations

import string

import copier
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from mlscaffold import scaffold
from mlscaffold.cli import app
from mlscaffold.errors import MlscaffoldError, UsageError

runner = CliRunner()


def tree(path):
    return sorted(p.relative_to(path).as_posix() for p in path.rglob("*"))


def test_interrupt_during_render_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        dest = args[1]
        dest.mkdir(parents=True)
        (dest / "half-written.py").write_text("x = ")
        raise KeyboardInterrupt

    monkeypatch.setattr("mlscaffold.scaffold._copy", interrupted)
    result = runner.invoke(app, ["new", str(tmp_path / "demo"), "-y"])
    assert result.exit_code == 130 and "interrupted" in result.stderr
    assert tree(tmp_path) == []


def test_template_error_leaves_nothing(tmp_path):
    template = tmp_path / "broken"
    (template / "t").mkdir(parents=True)
    (template / "copier.yml").write_text("_subdirectory: t\nname:\n  type: str\n  default: x\n")
    (template / "t" / "ok.txt").write_text("fine")
    (template / "t" / "bad.txt.jinja").write_text("{{ undefined_function() }}")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(MlscaffoldError):
        scaffold.render(work / "demo", {}, template=str(template))
    assert tree(work) == []


def test_untrusted_template_features_are_refused_with_a_hint(tmp_path):
    template = tmp_path / "tasks"
    (template / "t").mkdir(parents=True)
    (template / "copier.yml").write_text(
        "_subdirectory: t\n_tasks:\n  - touch pwned\nname:\n  type: str\n  default: x\n"
    )
    (template / "t" / "a.txt").write_text("a")
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(UsageError, match="--trust"):
        scaffold.render(work / "demo", {}, template=str(template))
    assert tree(work) == []
    result = runner.invoke(app, ["new", str(work / "demo"), "-y", "--template", str(template)])
    assert result.exit_code == 2 and "--trust" in result.stderr
    assert tree(work) == []


@pytest.mark.parametrize(
    "description",
    ["{{ 7 * 7 }}", "{% raw %}x", 'quote " and \\ backslash', "$(rm -rf ~); `id` | tee"],
)
def test_answers_are_rendered_literally(render_project, description):
    project = render_project("lit", description=description)
    import tomllib

    assert (
        tomllib.loads((project / "pyproject.toml").read_text())["project"]["description"]
        == description
    )
    assert (
        yaml.safe_load((project / ".copier-answers.yml").read_text())["description"] == description
    )
    assert "49" not in (project / "README.md").read_text().split("\n")[2]


@pytest.mark.parametrize(
    "name", ["../evil", "a/b", "/abs", "..", "x y", "-rf", "évil", "name\nnext", "{{x}}"]
)
def test_names_that_could_escape_are_refused(tmp_path, name):
    work = tmp_path / "work"
    work.mkdir()
    result = runner.invoke(app, ["new", str(work / "ok"), "-y", "--data", f"project_name={name}"])
    assert result.exit_code == 2
    assert tree(work) == [] and tree(tmp_path) == ["work"]


NAME = st.text(
    alphabet=string.ascii_letters + string.digits + "._-/ {}%$\\", min_size=0, max_size=12
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(project=NAME, package=st.one_of(st.none(), NAME))
def test_any_name_gives_a_valid_project_or_exit_2_with_nothing_written(
    tmp_path_factory, project, package
):
    work = tmp_path_factory.mktemp("prop")
    args = ["new", str(work / "dest"), "-y", "--data", f"project_name={project}"]
    if package is not None:
        args += ["--data", f"package_name={package}"]
    result = runner.invoke(app, args)
    if result.exit_code == 0:
        answers = yaml.safe_load((work / "dest" / ".copier-answers.yml").read_text())
        assert answers["project_name"] == project
        assert (work / "dest" / "src" / answers["package_name"] / "train.py").is_file()
        assert all(p.resolve().is_relative_to(work / "dest") for p in (work / "dest").rglob("*"))
    else:
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
        assert tree(work) == []


def test_existing_keep_adds_missing_files_and_leaves_the_users_alone(tmp_path):
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "README.md").write_text("my readme")
    (dest / "notes.txt").write_text("my notes")
    result = runner.invoke(app, ["new", str(dest), "-y", "--existing", "keep"])
    assert result.exit_code == 0, result.output
    assert (dest / "README.md").read_text() == "my readme"
    assert (dest / "notes.txt").read_text() == "my notes"
    assert (dest / "pyproject.toml").is_file()


def test_existing_overwrite_replaces_template_files_but_deletes_nothing(tmp_path):
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "README.md").write_text("my readme")
    (dest / "notes.txt").write_text("my notes")
    result = runner.invoke(app, ["new", str(dest), "-y", "--existing", "overwrite"])
    assert result.exit_code == 0, result.output
    assert (dest / "README.md").read_text() != "my readme"
    assert (dest / "notes.txt").read_text() == "my notes"


def test_failure_removes_parent_directories_it_created(tmp_path, monkeypatch):
    def failing(*args, **kwargs):
        raise copier.errors.CopierError("boom")

    monkeypatch.setattr("mlscaffold.scaffold._copy", failing)
    result = runner.invoke(app, ["new", str(tmp_path / "a" / "b" / "demo"), "-y"])
    assert result.exit_code == 1 and "boom" in result.stderr
    assert tree(tmp_path) == []


def test_full_disk_during_render_leaves_nothing(tmp_path, monkeypatch):
    import errno

    def disk_full(src, dst, **options):
        dst.mkdir(parents=True)
        (dst / "partial.txt").write_text("x")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("mlscaffold.scaffold._copy", disk_full)
    result = runner.invoke(app, ["new", str(tmp_path / "demo"), "-y"])
    assert result.exit_code == 1 and "no space left" in result.stderr
    assert result.stderr.count("\n") == 1
    assert tree(tmp_path) == []
