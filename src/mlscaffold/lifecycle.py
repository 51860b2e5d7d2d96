"""A generated project's lifecycle: create it updatable, check it, update it (one or many).

Copier's own `update` exits 0 when it leaves conflict markers, so conflicts slip into commits;
here every conflict that is left (inline markers, unmerged index entries, `*.rej` files) is
found and reported, and the CLI exits 3. Copier is imported inside the functions only.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlscaffold import update_guard
from mlscaffold.errors import MlscaffoldError, UsageError
from mlscaffold.placement import reason, signals_held
from mlscaffold.sources import (
    ANSWERS_FILE,
    OrgConfig,
    is_url,
    load_org_config,
    merge_answers,
    normalize_source,
    plan_template,
    read_answers,
    record_origin,
)

Conflict_ = Literal["inline", "rej"]


class NotAProjectError(UsageError):
    """The path has no `.copier-answers.yml`."""


class NotInGitError(UsageError):
    """The project is not inside a git work tree with a commit."""


class DirtyProjectError(UsageError):
    """The project has uncommitted changes."""


class SourceError(MlscaffoldError):
    """The template source cannot be reached or read (exit 1)."""


# ---------------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class Conflict:
    path: str  # relative to the project
    kind: str  # "inline markers", "unmerged", "rejected hunks (.rej)"


@dataclass
class UpdateResult:
    project: Path
    old: str | None
    new: str | None
    conflicts: list[Conflict] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)  # paths the update changed
    dry_run: bool = False
    diff: str | None = None  # dry run only: what the update would change

    @property
    def status(self) -> str:
        if self.conflicts:
            return "conflicts"
        return "updated" if (self.changed or self.old != self.new) else "current"

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": str(self.project),
            "status": self.status,
            "old": self.old,
            "new": self.new,
            "dry_run": self.dry_run,
            "changed": self.changed,
            "conflicts": [asdict(c) for c in self.conflicts],
            **({"diff": self.diff} if self.dry_run else {}),
        }


@dataclass(frozen=True)
class CheckResult:
    current: str | None
    latest: str | None
    update_due: bool
    source: str
    project: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "project": str(self.project) if self.project else None,
            "current": self.current,
            "latest": self.latest,
            "update_due": self.update_due,
            "source": self.source,
        }


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


# ---------------------------------------------------------------------------------------------
# git helpers


def _git(cwd: Path, *args: str, check: bool = True, timeout: float = 120) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise MlscaffoldError("git is not installed; updates need git") from None
    except subprocess.TimeoutExpired:
        raise SourceError(f"git {args[0]} timed out after {timeout:.0f} s") from None
    if check and proc.returncode != 0:
        raise subprocess.CalledProcessError(
            proc.returncode, ["git", *args], proc.stdout, proc.stderr
        )
    return proc.stdout


def _last_line(text: str | None) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    return lines[-1] if lines else "unknown error"


def _z(text: str) -> list[str]:
    return [p for p in text.split("\0") if p]


def parse_version(ref: str | None) -> Any:
    """A PEP 440 Version for a tag or a `git describe` string (`v1.2.0-3-gabc`), else None."""
    from packaging.version import InvalidVersion, Version

    if not ref:
        return None
    match = re.match(r"^(.+)-(\d+)-g([0-9a-f]+)$", ref)
    text = f"{match[1]}.post{match[2]}+g{match[3]}" if match else ref
    try:
        return Version(text)
    except InvalidVersion:
        return None


def _git_url(source: str) -> str:
    if source.startswith("gh:"):
        return f"https://github.com/{source[3:].removesuffix('.git')}.git"
    if source.startswith("gl:"):
        return f"https://gitlab.com/{source[3:].removesuffix('.git')}.git"
    if source.startswith("git+"):
        return source[4:]
    return source if is_url(source) else normalize_source(source)


def latest_tag(source: str, *, prereleases: bool = False) -> str | None:
    """The newest PEP 440 tag of a git source (`git ls-remote --tags`), None if it has none."""
    url = _git_url(source)
    try:
        out = _git(Path.cwd(), "ls-remote", "--tags", "--refs", "--", url, timeout=60)
    except subprocess.CalledProcessError as exc:
        raise SourceError(
            f"cannot reach the template source {source}: {_last_line(exc.stderr)}"
        ) from None
    best: tuple[Any, str] | None = None
    for line in out.splitlines():
        tag = line.partition("\t")[2].removeprefix("refs/tags/")
        version = parse_version(tag)
        if version is None or (version.is_prerelease and not prereleases):
            continue
        if best is None or version > best[0]:
            best = (version, tag)
    return best[1] if best else None


# ---------------------------------------------------------------------------------------------
# preconditions


@dataclass(frozen=True)
class _Project:
    path: Path  # absolute
    top: Path  # git work-tree root
    answers: dict[str, Any]


def is_project(path: Path) -> bool:
    return (path / ANSWERS_FILE).is_file()


def _preflight(project: Path) -> _Project:
    """Refuse (UsageError subclasses) before anything is touched."""
    path = project.expanduser().absolute()
    if not path.is_dir():
        raise NotAProjectError(f"{project} is not a directory")
    if not is_project(path):
        raise NotAProjectError(
            f"{project} is not a generated project (no {ANSWERS_FILE}); "
            "run the command in the project's directory or pass its path"
        )
    answers = read_answers(path)
    try:
        top = Path(_git(path, "rev-parse", "--show-toplevel").strip())
    except subprocess.CalledProcessError:
        raise NotInGitError(
            f"{project} is not in a git repository; run "
            "`git init && git add -A && git commit -m 'Generated by mlscaffold'` there first"
        ) from None
    try:
        _git(path, "rev-parse", "--verify", "--quiet", "HEAD")
    except subprocess.CalledProcessError:
        raise NotInGitError(
            f"{project} has no git commit yet; run `git add -A && git commit` there first"
        ) from None
    dirty = _z(_git(path, "status", "--porcelain", "-z", "--untracked-files=all", "--", "."))
    if dirty:
        names = [entry[3:] for entry in dirty if len(entry) > 3][:3]
        raise DirtyProjectError(
            f"{project} has uncommitted changes ({', '.join(names)}"
            f"{', ...' if len(dirty) > 3 else ''}); commit or stash them, then update again"
        )
    if not answers.get("_src_path") or not answers.get("_commit"):
        raise UsageError(
            f"{project} records no template git source and version (_src_path, _commit in "
            f"{ANSWERS_FILE}); it was rendered from a non-git template and cannot be updated"
        )
    _check_writable(project, path, top)
    return _Project(path, top, answers)


def _check_writable(shown: Path, path: Path, top: Path) -> None:
    """An update may rewrite any tracked file and git's index: all must be writable first,
    or a half-done update could not be undone."""
    tracked = _z(_git(path, "ls-files", "-z", "--", "."))
    git_dir = Path(_git(path, "rev-parse", "--absolute-git-dir").strip())
    dirs = {path, git_dir} | {(path / rel).parent for rel in tracked}
    for candidate in [*sorted(dirs), *(path / rel for rel in tracked)]:
        if candidate.is_symlink() or not candidate.exists():
            continue
        # the mode bits too: root may write anyway, but a read-only file says "don't"
        if not os.access(candidate, os.W_OK) or not candidate.stat().st_mode & 0o222:
            rel = os.path.relpath(candidate, path)
            raise UsageError(
                f"{shown}: {rel} is not writable and an update may need to change it; "
                "fix its permissions (chmod u+w), then update again"
            )


# ---------------------------------------------------------------------------------------------
# conflicts

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


def _changed_paths(path: Path) -> list[str]:
    out = _git(path, "status", "--porcelain", "-z", "--untracked-files=all", "--", ".")
    return sorted({entry[3:] for entry in _z(out) if len(entry) > 3})


def _restore(project: _Project) -> None:
    """Undo a failed update: the project was clean before, so HEAD is its previous state."""
    for args in (
        ("reset", "-q", "--", "."),
        ("checkout", "-q", "--", "."),
        ("clean", "-fdq", "--", "."),
    ):
        _git(project.path, *args, check=False)


# ---------------------------------------------------------------------------------------------
# update


def _copier_update(
    project: _Project,
    *,
    vcs_ref: str | None,
    conflict: str,
    defaults: bool,
    trust: bool,
    data: dict[str, Any] | None,
) -> update_guard.Guard:
    """Run Copier's update under the guard; on any failure or signal, restore HEAD."""
    import copier
    from copier.errors import (
        CopierError,
        ForbiddenPathError,
        UnsafeTemplateError,
        UserMessageError,
    )
    from plumbum import ProcessExecutionError

    from mlscaffold.scaffold import worker_class

    options = dict(
        data=data or {},
        vcs_ref=vcs_ref,
        defaults=defaults,
        overwrite=True,
        skip_answered=True,
        conflict=conflict,
        unsafe=trust,
        quiet=True,
    )
    guard = None
    try:
        with update_guard.guarding(project.path) as guard:
            worker = worker_class()
            if worker is None:
                copier.run_update(str(project.path), **options)  # type: ignore[arg-type]
            else:
                with worker(dst_path=project.path, **options) as running:
                    running.run_update()
        return guard
    except BaseException as exc:
        with signals_held():
            _restore(project)
            if guard is not None:
                guard.remove_created()
        if isinstance(exc, MlscaffoldError):
            raise
        if isinstance(exc, UnsafeTemplateError):
            raise UsageError(
                "the template runs tasks, migrations or Jinja extensions: review it, then "
                "pass --trust"
            ) from None
        if isinstance(exc, ForbiddenPathError):
            raise UsageError(
                f"the update would write {_last_line(str(exc)).split(' is forbidden')[0]} "
                "outside the project (through a symbolic link?); nothing was changed"
            ) from None
        if isinstance(exc, UserMessageError):
            raise UsageError(f"cannot update {project.path}: {_last_line(str(exc))}") from None
        if isinstance(exc, ProcessExecutionError):
            raise SourceError(
                f"update of {project.path} failed in git: {_last_line(exc.stderr)}"
            ) from None
        if isinstance(exc, ValueError) and "revision" in str(exc).lower():
            raise UsageError(
                f"--vcs-ref {vcs_ref}: no such tag or branch in the template source "
                f"{project.answers.get('_src_path')}"
            ) from None
        if isinstance(exc, OSError):
            raise MlscaffoldError(
                f"update of {project.path} failed: {reason(exc)}; the project was restored"
            ) from None
        if isinstance(exc, CopierError):
            raise MlscaffoldError(
                f"update of {project.path} failed: {_last_line(str(exc))}"
            ) from None
        raise


def update(
    project: Path,
    *,
    vcs_ref: str | None = None,
    conflict: str = "inline",
    defaults: bool = True,
    dry_run: bool = False,
    trust: bool = False,
    data: dict[str, Any] | None = None,
    _latest: dict[str, str | None] | None = None,
) -> UpdateResult:
    """Update one project to the newest template release (or `vcs_ref`).

    Refuses, touching nothing, a path without `.copier-answers.yml`, a project outside git or
    with uncommitted changes. On a Copier or git failure the project is restored to HEAD.
    `dry_run` updates a temporary clone and returns its diff; the project is not touched.
    """
    if conflict not in ("inline", "rej"):
        raise UsageError(f"--conflict must be 'inline' or 'rej', not {conflict!r}")
    proj = _preflight(project)
    old = str(proj.answers["_commit"])
    if vcs_ref is None and not data:
        source = str(proj.answers["_src_path"])
        cache = _latest if _latest is not None else {}
        if source not in cache:
            cache[source] = latest_tag(source)
        newest, current = parse_version(cache[source]), parse_version(old)
        if newest is not None and current is not None and newest <= current:
            return UpdateResult(proj.path, old, old, dry_run=dry_run, diff="" if dry_run else None)
    if dry_run:
        return _dry_run(
            proj, vcs_ref=vcs_ref, conflict=conflict, defaults=defaults, trust=trust, data=data
        )
    guard = _copier_update(
        proj, vcs_ref=vcs_ref, conflict=conflict, defaults=defaults, trust=trust, data=data
    )
    new = read_answers(proj.path).get("_commit")
    return UpdateResult(
        proj.path,
        old,
        str(new) if new is not None else None,
        conflicts=_merge_conflicts(find_conflicts(proj.path), guard),
        changed=_changed_paths(proj.path),
    )


def _merge_conflicts(found: list[Conflict], guard: update_guard.Guard) -> list[Conflict]:
    """Copier's conflicts and the guard's (a path in both gets both kinds)."""
    kinds: dict[str, list[str]] = {c.path: [c.kind] for c in found}
    for rel, kind in guard.conflicts():
        kinds.setdefault(rel, []).append(kind)
    return [Conflict(rel, "; ".join(k)) for rel, k in sorted(kinds.items())]


def _dry_run(proj: _Project, **kw: Any) -> UpdateResult:
    with tempfile.TemporaryDirectory(prefix="mlscaffold-dry-run-") as tmp:
        clone = Path(tmp) / "clone"
        try:
            _git(Path(tmp), "clone", "-q", "--", str(proj.top), str(clone))
        except subprocess.CalledProcessError as exc:
            raise MlscaffoldError(
                f"dry run: cannot clone {proj.top}: {_last_line(exc.stderr)}"
            ) from None
        sub = clone / proj.path.relative_to(proj.top)
        inner = _Project(sub, clone, proj.answers)
        guard = _copier_update(inner, **kw)
        conflicts = _merge_conflicts(find_conflicts(sub), guard)
        changed = _changed_paths(sub)
        _git(sub, "add", "-A", "--", ".")
        diff = _git(sub, "diff", "--cached", "--no-color", "--relative", "HEAD", "--", ".")
        new = read_answers(sub).get("_commit")
    return UpdateResult(
        proj.path,
        str(proj.answers["_commit"]),
        str(new) if new is not None else None,
        conflicts=conflicts,
        changed=changed,
        dry_run=True,
        diff=diff,
    )


# ---------------------------------------------------------------------------------------------
# check


def check(project: Path) -> CheckResult:
    """The project's template version, the newest release of its source, and whether it is due."""
    path = project.expanduser().absolute()
    if not is_project(path):
        raise NotAProjectError(f"{project} is not a generated project (no {ANSWERS_FILE})")
    answers = read_answers(path)
    source = answers.get("_src_path")
    current = answers.get("_commit")
    if not source or not current:
        raise UsageError(
            f"{project} records no template git source and version (_src_path, _commit); "
            "it cannot be checked or updated"
        )
    have = parse_version(str(current))
    if have is None:
        raise UsageError(
            f"{project}: _commit {str(current)!r} in {ANSWERS_FILE} is not a release version "
            "(like v0.1.0); restore it from git history, then check again"
        )
    latest = latest_tag(str(source))
    newest = parse_version(latest)
    due = newest is not None and have is not None and newest > have
    return CheckResult(str(current), latest, due, str(source), path)


# ---------------------------------------------------------------------------------------------
# bulk

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
    if is_project(path):
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
        if is_project(root):
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
            result = update(path, _latest=latest, **kw)
        except DirtyProjectError as exc:
            rows.append(BulkRow(path, "dirty", message=str(exc)))
        except NotAProjectError as exc:
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


# ---------------------------------------------------------------------------------------------
# new: render updatable


@dataclass(frozen=True)
class NewResult:
    files: list[Path]
    src_path: str | None  # as recorded in .copier-answers.yml
    commit: str | None


def new_project(
    dest: Path,
    data: dict[str, Any],
    *,
    template: str | os.PathLike[str] | None = None,
    vcs_ref: str | None = None,
    org: OrgConfig | None = None,
    defaults: bool = True,
    trust: bool = False,
) -> NewResult:
    """Render a project that `mlscaffold update` / `copier update` can update later.

    Answers: org defaults < `data` < org locked (a contradiction is a UsageError, nothing
    written). Source: `template` > the org template > the bundled copy; the bundled copy is
    recorded as the canonical source at tag `v{version}` (see sources.record_origin).
    """
    from mlscaffold import scaffold

    org = load_org_config() if org is None else org
    answers = merge_answers(org, data)
    plan = plan_template(template, vcs_ref, org)
    record = plan.record
    files = scaffold.render(
        dest,
        answers,
        template=plan.render_from,
        vcs_ref=plan.vcs_ref,
        defaults=defaults,
        trust=trust,
        finish=(lambda staged: record_origin(staged, *record)) if record else None,
    )
    recorded = read_answers(dest.absolute())
    src, commit = recorded.get("_src_path"), recorded.get("_commit")
    return NewResult(files, str(src) if src else None, str(commit) if commit else None)
