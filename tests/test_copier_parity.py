"""Plain `copier copy` of this repository gives the same files as `mlscaffold new`."""

from __future__ import annotations

import datetime
import shutil
import subprocess
import sys

import pytest
import yaml
from typer.testing import CliRunner

from mlscaffold.cli import app
from tests.conftest import REPO_ROOT


def contents(project):
    """Every file's bytes; the answers file without the keys naming where the template was."""
    out = {}
    for path in sorted(project.rglob("*")):
        if path.is_file():
            out[path.relative_to(project).as_posix()] = path.read_bytes()
    answers = yaml.safe_load(out.pop(".copier-answers.yml"))
    out["answers"] = {k: v for k, v in answers.items() if k not in ("_src_path", "_commit")}
    return out


@pytest.mark.parametrize(
    ("task", "hardware", "data_size"),
    [("tabular-classification", "cpu", "small"), ("tabular-regression", "gpu", "large")],
)
def test_plain_copier_copy_matches_mlscaffold_new(tmp_path, task, hardware, data_size):
    template = tmp_path / "template"  # a plain copy: copier would clone a git checkout's HEAD tag
    template.mkdir()
    shutil.copy(REPO_ROOT / "copier.yml", template)
    shutil.copytree(REPO_ROOT / "templates", template / "templates")
    copier_dest = tmp_path / "by-copier" / "demo"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "copier",
            "copy",
            "--defaults",
            "--quiet",
            "--data",
            "project_name=demo",
            "--data",
            f"task={task}",
            # mlscaffold fills in the current year; plain copier's default is the release year
            "--data",
            f"copyright_year={datetime.date.today().year}",
            "--data",
            f"hardware={hardware}",
            "--data",
            f"data_size={data_size}",
            # mlscaffold proposes `git config user.name/email`; plain Copier cannot run git
            "--data",
            "author_name=Ada Lovelace",
            "--data",
            "author_email=ada@example.org",
            str(template),
            str(copier_dest),
        ],
        check=True,
    )
    ours = tmp_path / "by-mlscaffold" / "demo"
    result = CliRunner().invoke(
        app,
        [
            "new",
            str(ours),
            "--task",
            task,
            "--hardware",
            hardware,
            "--data-size",
            data_size,
            "--defaults",
            "-d",
            "author_name=Ada Lovelace",
            "-d",
            "author_email=ada@example.org",
        ],
    )
    assert result.exit_code == 0, result.output
    assert contents(copier_dest) == contents(ours)
