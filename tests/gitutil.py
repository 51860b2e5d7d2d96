"""Git helpers shared by the lifecycle tests (update, check, org kits)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ANSWERS = {"project_name": "demo", "task": "tabular-classification", "hardware": "cpu"}

# Commits in temp repos need an identity; a CI machine may have none configured.
for _key, _value in {
    "GIT_AUTHOR_NAME": "mlscaffold tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "mlscaffold tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}.items():
    os.environ.setdefault(_key, _value)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
