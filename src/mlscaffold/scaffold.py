"""The only module that talks to Copier: render a project atomically."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from mlscaffold import placement
from mlscaffold.errors import Interrupted, MlscaffoldError, UsageError

TEMPLATE_FILES = ("copier.yml", "templates")


def cache_root() -> Path:
    """Where mlscaffold keeps what it can rebuild: template snapshots, compiled templates.

    An empty `$MLSCAFFOLD_CACHE` counts as unset (it would otherwise mean the current directory).
    """
    explicit = os.environ.get("MLSCAFFOLD_CACHE", "").strip()
    root = Path(explicit).expanduser() if explicit else Path.home() / ".cache" / "mlscaffold"
    return root.absolute()


def bundled_template() -> Path:
    """The template this mlscaffold ships: the checkout's root in development, else the wheel's copy."""
    here = Path(__file__).resolve().parent
    checkout = here.parents[1]
    if (checkout / "copier.yml").is_file() and (checkout / "templates").is_dir():
        return checkout
    return here / "_template"


def _is_git_root(path: Path) -> bool:
    return (path / ".git").exists()


def _template_files(src: Path) -> list[Path]:
    files = [src / "copier.yml"]
    for path in sorted((src / "templates").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            files.append(path)
    return files


def _snapshot_key(src: Path, files: list[Path]) -> str:
    digest = hashlib.sha256(str(src).encode())
    for path in files:
        info = path.stat()
        digest.update(f"{path.relative_to(src)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


# Written into every folder mlscaffold's caches create: pruning removes only folders that
# hold it, never one it did not make (a cache root set to a user's own directory).
CACHE_MARKER = ".mlscaffold-cache"


def mark_cache_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):
        (folder / CACHE_MARKER).touch()


def _prune(folder: Path, keep: Path, max_age_s: float = 86_400) -> None:
    """Drop day-old snapshots of earlier template states (they pile up while developing)."""
    import time

    for entry in folder.iterdir():
        with contextlib.suppress(OSError):
            if (
                entry != keep
                and not entry.is_symlink()
                and (entry / CACHE_MARKER).is_file()
                and time.time() - entry.stat().st_mtime > max_age_s
            ):
                shutil.rmtree(entry, ignore_errors=True)


@contextlib.contextmanager
def plain_template(src: Path) -> Iterator[Path]:
    """A non-git view of a local template, so Copier renders the files as they are.

    Copier clones a local git repo (and picks its newest tag); mlscaffold's bundled template
    must render exactly the files on disk, so a git checkout is rendered from a plain snapshot.
    The snapshot is cached, keyed by every file's path, size and mtime: copying ~200 files on
    each `new` cost more than Copier's whole render of them.
    """
    if not _is_git_root(src):
        yield src
        return
    files = _template_files(src)
    snapshot = cache_root() / "template-snapshots" / _snapshot_key(src, files)
    if snapshot.is_dir():
        yield snapshot
        return
    try:
        snapshot.parent.mkdir(parents=True, exist_ok=True)
    except OSError:  # no usable cache: a throwaway snapshot, slower but the same render
        with tempfile.TemporaryDirectory(prefix="mlscaffold-template-") as tmp:
            yield _copy_files(src, files, Path(tmp) / "template")
        return
    building = _copy_files(
        src, files, Path(tempfile.mkdtemp(prefix=".building-", dir=snapshot.parent))
    )
    mark_cache_folder(building)
    try:
        os.rename(building, snapshot)  # atomic: a concurrent builder's copy is identical
    except OSError:
        shutil.rmtree(building, ignore_errors=True)
    _prune(snapshot.parent, keep=snapshot)
    yield snapshot


def _copy_files(src: Path, files: list[Path], into: Path) -> Path:
    for path in files:
        target = into / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return into


EXISTING = placement.EXISTING
check_destination = placement.check_destination


def _missing_ancestor(path: Path) -> Path | None:
    """The topmost directory of `path` that does not exist yet (to remove on failure)."""
    top = None
    for parent in [path, *path.parents]:
        if os.path.lexists(parent):
            break
        top = parent
    return top


def built_stacks(root: Path | None = None) -> set[str]:
    """Stacks whose template exists in the bundled template."""
    templates = (root or bundled_template()) / "templates"
    return {
        p.name
        for p in templates.iterdir()
        if not p.name.startswith("_") and (p / "pyproject.toml.jinja").is_file()
    }


def questions(root: Path) -> dict[str, dict[str, Any]]:
    """The template's questions (copier.yml with its !include files), settings left out."""
    import yaml

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml when available
        pass

    def include(loader: yaml.SafeLoader, node: yaml.Node) -> list[Any]:
        docs: list[Any] = []
        for path in sorted(root.glob(loader.construct_scalar(node))):
            docs.extend(d for d in yaml.load_all(path.read_text(encoding="utf-8"), Loader) if d)
        return docs

    Loader.add_constructor("!include", include)
    found: dict[str, dict[str, Any]] = {}
    text = (root / "copier.yml").read_text(encoding="utf-8")
    for doc in yaml.load_all(text, Loader):
        for part in doc if isinstance(doc, list) else [doc]:
            for key, value in (part or {}).items():
                if not key.startswith("_"):
                    found[key] = value if isinstance(value, dict) else {"default": value}
    return found


def worker_class() -> type | None:
    """Copier's Worker, minus work it repeats on every render.

    Its Jinja environment keeps compiled templates between runs (see jinja_cache). After
    writing each file Copier asks git for `core.fileMode` to keep a git index's
    executable bits in sync; that only matters where the setting is `false`. This subclass
    asks once per destination and skips the per-file call elsewhere (~2 ms a file, three
    renders per update). Falls back to the public API if the internal is gone.
    """
    try:
        from copier._main import Worker
    except ImportError:  # pragma: no cover - a Copier without that internal
        return None

    from mlscaffold import jinja_cache, update_guard

    class FastWorker(Worker):
        @cached_property
        def jinja_env(self) -> Any:
            env = super().jinja_env
            directory = jinja_cache.cache_directory(
                cache_root(), dict(self.template.envops), list(env.extensions)
            )
            jinja_cache.install(env, directory)
            return env

        def _render_allowed(
            self,
            dst_relpath: Path,
            is_dir: bool = False,
            is_symlink: bool = False,
            expected_contents: bytes | Path = b"",
            expected_mode: int | None = None,
        ) -> bool:
            # An update never overwrites a file of the user's that git cannot bring back.
            if not update_guard.render_allowed(self, dst_relpath, expected_contents, is_dir):
                return False
            return super()._render_allowed(
                dst_relpath, is_dir, is_symlink, expected_contents, expected_mode
            )

        def _sync_git_index_executable_bit(self, *args: Any, **kwargs: Any) -> None:
            root = self.subproject.local_abspath
            cache = FastWorker._file_mode
            if root not in cache:
                probe = subprocess.run(
                    ["git", "config", "--type=bool", "--get", "core.fileMode"],
                    cwd=root,
                    capture_output=True,
                    text=True,
                )
                cache[root] = probe.returncode == 0 and probe.stdout.strip() == "false"
            if cache[root]:
                super()._sync_git_index_executable_bit(*args, **kwargs)

    FastWorker._file_mode = {}
    return FastWorker


def _copy(src: str, dst: Path, **options: Any) -> None:
    """copier.run_copy through the faster Worker (see worker_class)."""
    worker = worker_class()
    if worker is None:
        import copier

        copier.run_copy(src, dst, **options)
        return
    with worker(src_path=src, dst_path=dst, **options) as running:
        running.run_copy()


def _copier_error(exc: Exception) -> MlscaffoldError:
    """Copier's exceptions as one-line mlscaffold errors (bad input is exit 2)."""
    from copier import errors
    from jinja2 import TemplateError

    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, errors.UnsafeTemplateError):
        return UsageError(f"{message}; pass --trust only if you trust this template")
    if isinstance(exc, (ValueError, errors.UserMessageError)):
        return UsageError(message)
    if isinstance(exc, TemplateError):
        return MlscaffoldError(f"the template failed to render: {message}")
    return MlscaffoldError(message)


def render(
    dest: Path,
    data: dict[str, Any],
    *,
    template: str | Path | None = None,
    vcs_ref: str | None = None,
    defaults: bool = True,
    trust: bool = False,
    existing: str = "refuse",
    finish: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Render the template into `dest`, all or nothing; returns the files written.

    The project is rendered into a staging folder (beside a new `dest`, inside an existing
    one, so moves stay on one file system) and placed by mlscaffold.placement: a new `dest`
    in one rename, an existing directory file by file after every write was planned. A
    failure, Ctrl-C, SIGTERM or SIGHUP leaves the destination as it was. `finish` may edit
    the staged project (the answers file) before it is placed.
    """
    shown = dest
    dest = placement.normalize(dest)
    placement.check_destination(dest, existing)
    fresh = not os.path.lexists(dest)
    created = _missing_ancestor(dest.parent) if fresh else None
    staging: Path | None = None
    done = False
    keep_staging = False  # it holds originals an undo could not put back
    try:
        try:
            if fresh:
                dest.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(
                tempfile.mkdtemp(prefix=".mlscaffold-", dir=dest.parent if fresh else dest)
            )
        except OSError as exc:
            raise placement.path_error(shown, exc) from None
        project = staging / (dest.name if fresh else "project")
        try:
            _render_into(project, data, template, vcs_ref, defaults, trust)
            if finish is not None:
                finish(project)
            if fresh:
                files = sorted(p.relative_to(project) for p in project.rglob("*") if p.is_file())
                os.rename(project, dest)
            else:
                steps = placement.plan(project, dest, existing)
                try:
                    files = placement.place(project, dest, steps, staging / "backups")
                except placement.RestoreFailed as exc:
                    keep_staging = exc.backups.is_relative_to(staging)
                    raise
        except OSError as exc:
            raise placement.path_error(shown, exc) from None
        done = True
        return files
    finally:
        with placement.signals_held():
            if staging is not None and not keep_staging:
                shutil.rmtree(staging, ignore_errors=True)
            if not done and created is not None:
                shutil.rmtree(created, ignore_errors=True)


def _render_into(
    project: Path,
    data: dict[str, Any],
    template: str | Path | None,
    vcs_ref: str | None,
    defaults: bool,
    trust: bool,
) -> None:
    from copier import errors as copier_errors
    from jinja2 import TemplateError

    with contextlib.ExitStack() as stack:
        src = (
            str(template)
            if template is not None
            else str(stack.enter_context(plain_template(bundled_template())))
        )
        try:
            _copy(
                src,
                project,
                data=data,
                defaults=defaults,
                unsafe=trust,
                quiet=True,
                vcs_ref=vcs_ref,
            )
        except KeyboardInterrupt:  # Copier's CopierAnswersInterrupt too: its text is internals
            raise Interrupted() from None
        except OSError:
            raise
        except (copier_errors.CopierError, ValueError, TemplateError) as exc:
            raise _copier_error(exc) from exc
