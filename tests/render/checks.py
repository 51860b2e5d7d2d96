"""What every rendered project is checked for, whatever its stack (one place, all stacks)."""

from __future__ import annotations

import compileall
import re
import subprocess
import sys
from pathlib import Path

# The files every stack renders from templates/_shared (CI files depend on the `ci` answer).
SHARED_FILES = [
    ".copier-answers.yml",
    ".gitignore",
    ".pre-commit-config.yaml",
    ".readthedocs.yaml",
    "LICENSE",
    "Makefile",
    "README.md",
    "conftest.py",
    "docs/conf.py",
    "docs/configuration.md",
    "docs/index.md",
    "pyproject.toml",
    "tests/test_offline.py",
]
# hf-finetune, hardware multi-gpu: the Accelerate launch configs (every task)
HF_ACCELERATE_PRESETS = [
    "configs/accelerate.yaml",
    "configs/accelerate-deepspeed.yaml",
    "configs/accelerate-fsdp.yaml",
    "configs/accelerate-multi-node.yaml",
]
LEFTOVER_JINJA = re.compile(r"(?<!\$)\{\{|\{%|%\}|\{#")  # `${{ }}` is GitHub Actions syntax


def file_set(project: Path) -> list[str]:
    return sorted(p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file())


def assert_text_is_clean(project: Path) -> None:
    """No template syntax left, and every text file ends with exactly one newline."""
    for relative in file_set(project):
        text = (project / relative).read_text(encoding="utf-8")
        assert not LEFTOVER_JINJA.search(text), f"template syntax left in {relative}"
        if text:
            assert text.endswith("\n") and not text.endswith("\n\n"), f"{relative}: end newline"


def assert_python_is_clean(project: Path) -> None:
    """The project's Python compiles and passes its own `ruff check` and `ruff format --check`."""
    assert compileall.compile_dir(project, quiet=1, force=True, legacy=False)
    for args in (["check", "--no-cache", "."], ["format", "--check", "--no-cache", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args], cwd=project, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr


def read(project: Path, relative: str) -> str:
    """A rendered file; `{pkg}` in `relative` is the project's package (its folder name)."""
    return (project / relative.format(pkg=project.name)).read_text(encoding="utf-8")


def render_all(root: Path, stack: str, cases: dict[str, dict]) -> dict[str, Path]:
    """Render each case (answers by project name) under `root`; the projects by name."""
    from mlscaffold import scaffold

    for name, answers in cases.items():
        scaffold.render(root / name, {"project_name": name, "stack": stack, **answers})
    return {name: root / name for name in cases}
