"""What Copier's update would lose without saying so, kept and reported as conflicts.

Copier's update renders the new release straight over the project, then re-applies the
user's changes from git. Two kinds of the user's bytes are not in git's reach there:

- a file the release adds that the project already has but git ignores: Copier overwrites it
  (exit 0, unrecoverable). The guard keeps the user's file, writes the release's version
  beside it as `FILE.new`, and reports a conflict;
- a file the user edited that the release deletes: Copier deletes it. The guard keeps it
  when it differs from the old release's rendering, and reports a conflict.

It also remembers the files the update created that git does not track, so a failed or
interrupted update can remove them (`git clean` leaves ignored files alone).
"""

from __future__ import annotations

import contextlib
import filecmp
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from filecmp import dircmp
from pathlib import Path
from typing import Any

from mlscaffold.errors import UsageError

NEW_SUFFIX = ".new"
ADDED_KIND = "added by the release, but you have your own (ignored by git): yours kept, the release's is {new}"
DELETED_KIND = "deleted by the release, but you edited it: yours kept"


@dataclass
class Guard:
    project: Path  # the subproject's absolute path
    ignored: set[str]  # project-relative POSIX paths of ignored files present before
    kept_added: list[str] = field(default_factory=list)
    kept_deleted: list[str] = field(default_factory=list)
    created: list[Path] = field(default_factory=list)
    created_dirs: set[Path] = field(default_factory=set)

    @property
    def real(self) -> Path:
        return Path(os.path.realpath(self.project))

    def conflicts(self) -> list[tuple[str, str]]:
        return [(rel, ADDED_KIND.format(new=rel + NEW_SUFFIX)) for rel in self.kept_added] + [
            (rel, DELETED_KIND) for rel in self.kept_deleted
        ]

    def remove_created(self) -> None:
        for path in reversed(self.created):
            with contextlib.suppress(OSError):
                if path.is_file() or path.is_symlink():
                    path.unlink()
        for folder in sorted(self.created_dirs, key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: made by the update, for its files


_ACTIVE: list[Guard] = []


def ignored_files(project: Path) -> set[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--", "."],
        cwd=project,
        capture_output=True,
        check=True,
    ).stdout
    return {os.fsdecode(p) for p in out.split(b"\0") if p}


def render_allowed(worker: Any, dst_relpath: Path, expected: bytes | Path, is_dir: bool) -> bool:
    """False to skip a write the guard takes over; True to let Copier decide as usual."""
    guard = _ACTIVE[-1] if _ACTIVE else None
    if guard is None:
        return True
    if Path(worker.subproject.local_abspath).absolute() != guard.project:
        return True  # Copier's own temporary renderings of the old and new release
    if is_dir:
        folder = guard.project / dst_relpath
        if not os.path.lexists(folder):
            guard.created_dirs.add(folder)
        return True
    rel = dst_relpath.as_posix()
    target = guard.project / dst_relpath
    parent = Path(os.path.realpath(target.parent))
    if parent != guard.real and guard.real not in parent.parents:
        raise UsageError(
            f"the update would write {rel} through a symbolic link that leads outside the "
            "project; nothing was changed"
        )
    if not os.path.lexists(target):
        guard.created.append(target)
        for folder in target.parents:
            if folder == guard.project or os.path.lexists(folder):
                break
            guard.created_dirs.add(folder)
        return True
    if rel not in guard.ignored or target.is_symlink() or not isinstance(expected, bytes):
        return True
    if target.read_bytes() == expected:
        return True
    new = target.with_name(target.name + NEW_SUFFIX)
    if not os.path.lexists(new):
        new.write_bytes(expected)
        guard.created.append(new)
    guard.kept_added.append(rel)
    return False


def _remove_old_files(
    guard: Guard, prefix: Path, cmp: dircmp[str], rm_common: bool = False
) -> None:
    """Copier's `_remove_old_files`, except that a file the user changed is kept."""
    to_rm: list[str] = []
    subdirs: dict[str, Any] = {}
    with contextlib.suppress(NotADirectoryError, FileNotFoundError):
        to_rm = list(cmp.left_only)
        if rm_common:
            to_rm += list(cmp.common_files) + list(cmp.common_dirs)
        subdirs = cmp.subdirs
    for name in to_rm:
        target = prefix / name
        if target.is_symlink():
            continue
        if target.is_file():
            old = Path(cmp.left, name)
            if old.is_file() and filecmp.cmp(old, target, shallow=False):
                target.unlink()
            else:
                with contextlib.suppress(ValueError):
                    guard.kept_deleted.append(target.relative_to(guard.project).as_posix())
        else:
            _remove_old_files(guard, target, dircmp(Path(cmp.left, name), target), True)
            with contextlib.suppress(OSError):
                target.rmdir()
    for key, value in subdirs.items():
        subdir = prefix / key
        if subdir.is_symlink():
            continue
        _remove_old_files(guard, subdir, value)
        with contextlib.suppress(OSError):
            subdir.rmdir()


@contextlib.contextmanager
def guarding(project: Path) -> Iterator[Guard]:
    """Install the guard for one `copier update` of `project`."""
    import copier._main as copier_main

    guard = Guard(project.absolute(), ignored_files(project))
    original = copier_main._remove_old_files
    copier_main._remove_old_files = lambda prefix, cmp, rm_common=False: _remove_old_files(
        guard, prefix, cmp, rm_common
    )
    _ACTIVE.append(guard)
    try:
        yield guard
    finally:
        _ACTIVE.pop()
        copier_main._remove_old_files = original
