"""Git for the lifecycle commands: run git quietly, read a template source's release tags."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

from mlscaffold.errors import MlscaffoldError
from mlscaffold.sources import is_url, normalize_source


class SourceError(MlscaffoldError):
    """The template source cannot be reached or read (exit 1)."""


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
