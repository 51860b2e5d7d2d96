"""Fixtures shared by the generator's tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mlscaffold import scaffold

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def render_project(tmp_path: Path) -> Callable[..., Path]:
    """render_project(name, **answers) -> path of a project rendered from this checkout."""

    def render(name: str = "demo", **answers: Any) -> Path:
        dest = tmp_path / name
        scaffold.render(dest, {"project_name": name, **answers})
        return dest

    return render
