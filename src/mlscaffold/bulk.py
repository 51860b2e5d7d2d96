"""`mlscaffold update --all`: find the projects under some directories, update each one.

One broken project never stops the other forty-nine: every directory gets a row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlscaffold import lifecycle
from mlscaffold.errors import MlscaffoldError
from mlscaffold.sources import ANSWERS_FILE

BULK_STATUSES = ("updated", "current", "conflicts", "dirty", "not-a-project", "error")


@dataclass
class BulkRow:
    path: Path
    status: str  # one of BULK_STATUSES
    old: str | None = None
    new: str | None = None
    message: str = ""
    conflicts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "status": self.status,
            "old": self.old,
            "new": self.new,
            "message": self.message,
            "conflicts": self.conflicts,
        }


_SKIP_DIRS = {"node_modules", "__pycache__", "site-packages", "venv", "build", "dist"}


def _subdirs(path: Path) -> list[Path]:
    try:
        return sorted(
            p
            for p in path.iterdir()
            if p.is_dir()
            and not p.is_symlink()
            and not p.name.startswith(".")
            and p.name not in _SKIP_DIRS
        )
    except OSError:
        return []


def _find(path: Path, depth: int) -> Iterator[Path]:
    if lifecycle.is_project(path):
        yield path
        return
    if depth > 0:
        for sub in _subdirs(path):
            yield from _find(sub, depth - 1)


def discover(roots: Iterable[Path], *, depth: int = 3) -> list[tuple[Path, str | None]]:
    """(path, None) for each project under the roots; (path, why) for each skipped directory.

    A root that is a project is taken as is. Otherwise each of its subdirectories is a
    candidate: the projects in it (up to `depth` levels down), or one not-a-project row.
    """
    out: dict[Path, str | None] = {}
    for root in roots:
        root = root.expanduser().absolute()
        if not root.is_dir():
            out.setdefault(root, "no such directory")
            continue
        if lifecycle.is_project(root):
            out[root] = None
            continue
        children = _subdirs(root)
        if not children:
            out.setdefault(root, f"no {ANSWERS_FILE} here")
        for child in children:
            found = list(_find(child, depth))
            for project in found:
                out[project] = None
            if not found:
                out.setdefault(child, f"no {ANSWERS_FILE}")
    return list(out.items())


def update_all(roots: list[Path], **kw: Any) -> list[BulkRow]:
    """Update every project under the roots; never stops at a failure; one row per directory."""
    rows: list[BulkRow] = []
    latest: dict[str, str | None] = {}
    for path, why in discover(roots):
        if why is not None:
            rows.append(BulkRow(path, "not-a-project", message=why))
            continue
        try:
            result = lifecycle.update(path, _latest=latest, **kw)
        except lifecycle.DirtyProjectError as exc:
            rows.append(BulkRow(path, "dirty", message=str(exc)))
        except lifecycle.NotAProjectError as exc:
            rows.append(BulkRow(path, "not-a-project", message=str(exc)))
        except MlscaffoldError as exc:
            rows.append(BulkRow(path, "error", message=str(exc)))
        except Exception as exc:  # one broken project must not stop the other 49
            rows.append(BulkRow(path, "error", message=f"{type(exc).__name__}: {exc}"))
        else:
            rows.append(
                BulkRow(
                    path,
                    result.status,
                    result.old,
                    result.new,
                    message="dry run" if result.dry_run else "",
                    conflicts=[c.path for c in result.conflicts],
                )
            )
    return rows
