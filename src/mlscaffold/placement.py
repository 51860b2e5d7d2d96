"""The one guarded writer: moves a rendered project into the user's destination.

Copier renders into a staging folder mlscaffold owns; only this module then touches the
destination. Every write is planned before the first one (so a merge that cannot finish fails
before it starts), no path is followed through a symbolic link, every parent is checked to lie
inside the destination's real path, and a failure or a signal undoes what was placed.

A symbolic link already in the destination is the user's file: `keep` keeps it, `overwrite`
replaces the link itself (never what it points to), and a link standing where the template
needs a directory is refused, naming the link.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlscaffold.errors import MlscaffoldError, UsageError

ANSWERS_FILE = ".copier-answers.yml"
EXISTING = ("refuse", "keep", "overwrite")
_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}

# errno -> the words a user reads; never the errno text or a staging path.
_REASONS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.ENAMETOOLONG: "a name in the path is too long",
    errno.ELOOP: "the path goes through a loop of symbolic links",
    errno.ENOTDIR: "a part of the path is a file, not a directory",
    errno.EISDIR: "a directory stands where a file must go",
    errno.ENOENT: "a part of the path does not exist",
    errno.EBUSY: "it is in use (a mount point?)",
    errno.EXDEV: "it is on another file system",
    errno.EIO: "an input/output error on the device",
}
# Problems with the path the user chose (exit 2); the rest are the machine's (exit 1).
_PATH_ERRORS = {
    errno.EACCES,
    errno.EPERM,
    errno.EROFS,
    errno.ENAMETOOLONG,
    errno.ELOOP,
    errno.ENOTDIR,
    errno.EISDIR,
    errno.ENOENT,
    errno.EBUSY,
}


def reason(exc: OSError) -> str:
    return _REASONS.get(exc.errno or 0, f"the system refused (error {exc.errno})")


def path_error(shown: object, exc: OSError) -> MlscaffoldError:
    """An OSError as one line about the user's path, with the documented exit code."""
    kind = UsageError if exc.errno in _PATH_ERRORS else MlscaffoldError
    return kind(f"cannot write {shown}: {reason(exc)}; nothing was written")


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT/SIGTERM/SIGHUP while undoing, so a second signal cannot cut the undo short."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def normalize(dest: Path) -> Path:
    """Absolute, `~` expanded, `.` and `..` folded (`new .` names the current directory)."""
    return Path(os.path.abspath(os.path.expanduser(dest)))


def _lstat(path: Path) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def _link_text(path: Path) -> str:
    with contextlib.suppress(OSError):
        return f" (to {os.readlink(path)})"
    return ""


def check_destination(dest: Path, existing: str = "refuse") -> None:
    """Refuse anything but a new or empty directory unless told how to treat existing files."""
    if existing not in EXISTING:
        raise UsageError(f"--existing must be one of: {', '.join(EXISTING)}")
    try:
        if dest.exists() and not dest.is_dir():
            raise UsageError(f"{dest} exists and is not a directory; choose a new path")
        if not dest.is_dir():
            if _lstat(dest) is not None:  # a dangling link: its target would be created
                raise UsageError(
                    f"{dest} is a symbolic link{_link_text(dest)} to nothing; choose a new path"
                )
            return
        entries = list(dest.iterdir())
    except OSError as exc:
        raise path_error(dest, exc) from None
    if not entries:
        return
    if existing == "refuse":
        raise UsageError(
            f"{dest} exists and is not empty; choose a new directory, or pass --existing keep "
            "(add missing files, keep yours) or --existing overwrite"
        )
    if _lstat(dest / ANSWERS_FILE) is not None:
        raise UsageError(
            f"{dest} already holds a generated project ({ANSWERS_FILE}); update it with "
            "`mlscaffold update`, or choose another directory"
        )


@dataclass(frozen=True)
class Step:
    rel: Path  # relative to the destination
    action: str  # "create", "replace" or "keep"


def plan(staged: Path, dest: Path, existing: str) -> list[Step]:
    """What placing `staged` into `dest` does to each file; refuses before any write."""
    steps: list[Step] = []
    for source in sorted(staged.rglob("*")):
        if source.is_dir() and not source.is_symlink():
            continue
        rel = source.relative_to(staged)
        here = dest
        for part in rel.parts[:-1]:
            here = here / part
            info = _lstat(here)
            if info is None:
                break  # missing: created with its children
            if stat.S_ISLNK(info.st_mode):
                raise UsageError(
                    f"{here} is a symbolic link{_link_text(here)} where the template writes "
                    f"{rel.as_posix()}; remove the link or choose another directory"
                )
            if not stat.S_ISDIR(info.st_mode):
                raise UsageError(
                    f"{here} is a file where the template needs a directory (for "
                    f"{rel.as_posix()}); move it or choose another directory"
                )
        info = _lstat(dest / rel)
        if info is None:
            steps.append(Step(rel, "create"))
        elif stat.S_ISDIR(info.st_mode):
            raise UsageError(
                f"{dest / rel} is a directory where the template writes a file; "
                "move it or choose another directory"
            )
        else:  # a file or a link: the user's; a link is replaced as a link, never followed
            steps.append(Step(rel, "keep" if existing == "keep" else "replace"))
    return steps


def _move(source: Path, target: Path) -> None:
    """rename(), or copy + unlink across file systems (a mount point inside the destination)."""
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        shutil.copy2(source, target, follow_symlinks=False)
        os.unlink(source)


def _inside(path: Path, root: Path) -> None:
    real = Path(os.path.realpath(path))
    if real != root and root not in real.parents:
        raise UsageError(f"{path} leads outside {root} (a symbolic link?); nothing was written")


def place(staged: Path, dest: Path, steps: list[Step], backups: Path) -> list[Path]:
    """Carry out `steps`; on any failure or signal, put everything back and re-raise."""
    root = Path(os.path.realpath(dest))
    made_dirs: list[Path] = []
    placed: list[Step] = []
    try:
        for step in steps:
            if step.action == "keep":
                continue
            target = dest / step.rel
            missing = [p for p in [target.parent, *target.parent.parents] if _lstat(p) is None]
            for directory in reversed(missing):
                _inside(directory.parent, root)
                directory.mkdir()
                made_dirs.append(directory)
            _inside(target.parent, root)
            if step.action == "replace":
                backup = backups / step.rel
                backup.parent.mkdir(parents=True, exist_ok=True)
                _move(target, backup)  # the link itself when it is one
            placed.append(step)
            _move(staged / step.rel, target)
    except BaseException as exc:
        with signals_held():
            lost = _undo(dest, placed, made_dirs, backups)
        if lost:
            raise RestoreFailed(_keep_originals(backups, dest), lost) from exc
        raise
    return [step.rel for step in steps if step.action != "keep"]


def _keep_originals(backups: Path, dest: Path) -> Path:
    """Move the backups out of the staging folder to a name the user sees in `dest`."""
    kept = dest / time.strftime("mlscaffold-originals-%Y%m%d-%H%M%S")
    try:
        os.rename(backups, kept)
    except OSError:
        return backups  # still there; the caller keeps the staging folder for it
    return kept


class RestoreFailed(MlscaffoldError):
    """Undoing a failed placement could not put some of the user's files back.

    Their originals stay in `backups` (the caller must not delete it) and the message says
    where, so nothing of the user's is lost even when the undo itself fails.
    """

    def __init__(self, backups: Path, lost: list[Path]) -> None:
        self.backups = backups
        names = ", ".join(p.as_posix() for p in lost[:3]) + (" ..." if len(lost) > 3 else "")
        super().__init__(
            f"generation failed and {len(lost)} of your files could not be put back "
            f"({names}); the originals are kept in {backups}: move them back by hand"
        )


def _undo(dest: Path, placed: list[Step], made_dirs: list[Path], backups: Path) -> list[Path]:
    """Put back what `place` did; returns the user's files it could not restore."""
    lost: list[Path] = []
    for step in reversed(placed):
        target = dest / step.rel
        backed_up = step.action == "replace" and _lstat(backups / step.rel) is not None
        try:
            if _lstat(target) is not None and (step.action == "create" or backed_up):
                os.unlink(target)
            if backed_up:
                _move(backups / step.rel, target)
        except OSError:
            if backed_up and _lstat(backups / step.rel) is not None:
                lost.append(step.rel)
    for directory in reversed(made_dirs):
        with contextlib.suppress(OSError):
            directory.rmdir()
    return lost
