"""Conflicts an update leaves: unmerged paths, `*.rej` files, inline markers.

Copier's own `update` exits 0 when it leaves conflict markers, so conflicts slip into
commits; `find_conflicts` finds every kind so the CLI can list them and exit 3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mlscaffold.gitops import _git, _z


@dataclass(frozen=True)
class Conflict:
    path: str  # relative to the project
    kind: str  # "inline markers", "unmerged", "rejected hunks (.rej)"


_START = re.compile(rb"^<{7}(?: |$)")
_MID = re.compile(rb"^={7}\s*$")
_END = re.compile(rb"^>{7}(?: |$)")
_COPIER_LABEL = b"before updating"


def _has_markers(data: bytes, *, copier_only: bool) -> bool:
    state = 0
    for line in data.splitlines():
        if state == 0 and _START.match(line):
            if copier_only and _COPIER_LABEL not in line:
                continue
            state = 1
        elif state == 1 and _MID.match(line):
            state = 2
        elif state == 2 and _END.match(line):
            return True
    return False


def find_conflicts(project: Path) -> list[Conflict]:
    """Every conflict left in a project: unmerged paths, `*.rej` files, inline markers.

    Files the working tree changed (against HEAD) are searched for any git conflict block;
    unchanged files only for Copier's (`<<<<<<< before updating`), so a committed doc that
    shows generic markers is not a false alarm, while a Copier conflict committed by mistake
    is still found.
    """
    path = project.absolute()
    found: dict[str, set[str]] = {}

    def add(rel: str, kind: str) -> None:
        found.setdefault(rel, set()).add(kind)

    for entry in _z(_git(path, "ls-files", "-u", "-z", "--", ".")):
        add(entry.partition("\t")[2], "unmerged")
    # tracked, untracked and ignored .rej files (a project may gitignore *.rej)
    for rel in _z(_git(path, "ls-files", "-z", "--cached", "--others", "--", "*.rej")):
        add(rel, "rejected hunks (.rej)")
    changed = set(_z(_git(path, "diff", "--name-only", "--relative", "-z", "HEAD", "--", ".")))
    files = _z(
        _git(path, "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", ".")
    )
    for rel in dict.fromkeys(files):
        file = path / rel
        try:
            if not file.is_file() or file.is_symlink() or file.stat().st_size > 5_000_000:
                continue
            data = file.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue
        if _has_markers(data, copier_only=rel not in changed):
            add(rel, "inline markers")
    order = ("inline markers", "unmerged", "rejected hunks (.rej)")
    return [
        Conflict(rel, ", ".join(k for k in order if k in kinds))
        for rel, kinds in sorted(found.items())
    ]
