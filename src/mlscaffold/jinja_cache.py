"""Compiled Jinja templates kept between runs.

Copier compiles every question's default, help and validator each time it renders them
(~400 compiles, ~125 distinct sources, ~85 ms of a 0.4 s `mlscaffold new`), plus each file
template once. The sources rarely change, so their compiled code is kept on disk with
Jinja's own `FileSystemBytecodeCache`, which checks each entry against a checksum of its
source and against the Python and Jinja bytecode versions.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import time
from pathlib import Path
from typing import Any

import copier
import jinja2
from jinja2 import Environment, FileSystemBytecodeCache, nodes
from jinja2.bccache import Bucket

MAX_AGE_DAYS = 30


class _CompileCache(FileSystemBytecodeCache):
    pruned = False

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001 - a damaged entry (truncated, foreign) is recompiled
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        if not self.pruned:  # only runs that compile something pay for the clean-up
            self.pruned = True
            prune(Path(self.directory))
        # A read-only or full cache costs speed, never the render.
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def prune(directory: Path, max_age_days: float = MAX_AGE_DAYS) -> None:
    """Drop entries written more than `max_age_days` ago, here and in the folders of other
    Jinja/Copier versions: sources the template no longer has would otherwise stay forever.
    An entry still in use is simply compiled and written again."""
    from mlscaffold.scaffold import CACHE_MARKER

    cutoff = time.time() - max_age_days * 86400
    # Only what this cache wrote: Jinja's own entry names, and folders holding our marker.
    ours = [
        *directory.glob("__jinja2_*.cache"),
        *(
            p
            for p in directory.parent.glob("*/")
            if not p.is_symlink() and (p / CACHE_MARKER).is_file()
        ),
    ]
    for path in ours:
        with contextlib.suppress(OSError):
            if path != directory and path.stat().st_mtime < cutoff:
                shutil.rmtree(path) if path.is_dir() else path.unlink()


def cache_directory(root: Path, env_options: dict[str, Any], extensions: list[Any]) -> Path:
    """One folder per Jinja/Copier version and environment setup: both change the code."""
    key = repr(
        (
            jinja2.__version__,
            copier.__version__,
            sorted((name, repr(value)) for name, value in env_options.items()),
            sorted(repr(extension) for extension in extensions),
        )
    )
    return root / "jinja" / hashlib.sha256(key.encode()).hexdigest()[:16]


def install(env: Environment, directory: Path) -> None:
    """Give `env` a persistent compile cache for file templates and `from_string` sources."""
    from mlscaffold.scaffold import mark_cache_folder

    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # no cache folder: render as plain Copier does
    mark_cache_folder(directory)
    cache = _CompileCache(str(directory))
    env.bytecode_cache = cache  # file templates: Jinja's loader uses it as it is
    compile_source = env.compile
    compiled: dict[str, Any] = {}

    def compile(  # noqa: A001 - Environment.compile's own name and signature
        source: Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        # Only anonymous sources (from_string); named ones come through the loader, which
        # already consults the bytecode cache. Copier also passes plain values (`True`),
        # which Jinja compiles as their text.
        if name is not None or raw or defer_init or isinstance(source, nodes.Template):
            return compile_source(source, name, filename, raw, defer_init)
        text = str(source)
        code = compiled.get(text)
        if code is None:
            digest = hashlib.sha1(text.encode("utf-8")).hexdigest()
            bucket = cache.get_bucket(env, f"from_string:{digest}", None, text)
            code = bucket.code
            if code is None:
                code = bucket.code = compile_source(text)
                cache.set_bucket(bucket)
            compiled[text] = code
        return code

    env.compile = compile  # type: ignore[method-assign]
