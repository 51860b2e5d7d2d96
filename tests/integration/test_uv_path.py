"""The generated projects' uv path, as a README reader with uv installed takes it.

`make install` must run `uv sync` (a project `.venv` with the `dev` group) and `make test`
must go through `uv run`. Tabular only: its packages come from PyPI, which these machines
reach; the torch stacks' CPU index (download.pytorch.org) is not reachable here, and the
pip path of every stack is what the other integration tests run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlscaffold import scaffold

pytestmark = pytest.mark.integration


def test_tabular_project_installs_and_passes_its_tests_with_uv(tmp_path: Path) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv, "uv comes with mlscaffold's test extra"
    project = tmp_path / "uvdemo"
    scaffold.render(project, {"project_name": "uvdemo"})
    env = {
        **os.environ,
        "PATH": f"{Path(uv).parent}:{os.environ.get('PATH', '')}",
        "UV_PYTHON": sys.executable,  # this Python: never a download of a managed one
        "UV_PYTHON_DOWNLOADS": "never",
        "HF_HUB_OFFLINE": "1",
        "VIRTUAL_ENV": "",
    }
    install = subprocess.run(
        ["make", "install"], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert "uv sync" in install.stdout or "sync" in install.stdout + install.stderr
    venv = project / ".venv"
    assert (venv / "bin" / "uvdemo-train").exists(), "uv sync installed the project"
    assert (venv / "bin" / "pytest").exists(), "uv sync installed the dev group"
    test = subprocess.run(
        ["make", "test"], cwd=project, env=env, capture_output=True, text=True, timeout=900
    )
    assert test.returncode == 0, test.stdout[-3000:] + test.stderr[-3000:]
    assert "uv run python -m pytest" in test.stdout
    assert " passed" in test.stdout.splitlines()[-1]
