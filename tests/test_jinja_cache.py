"""The persistent Jinja compile cache: fewer compiles, never a different render."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from jinja2.sandbox import SandboxedEnvironment

from mlscaffold import jinja_cache, scaffold


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """Names of the templates Jinja really compiles (None for from_string sources)."""
    seen: list[str | None] = []
    original = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, raw=False, defer_init=False):
        seen.append(name)
        return original(self, source, name, filename, raw, defer_init)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    return seen


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def render(dest: Path) -> dict[str, bytes]:
    scaffold.render(dest, {"project_name": "demo", "task": "text-classification"})
    return tree(dest)


def test_second_render_compiles_nothing_and_matches(tmp_path, monkeypatch, compiles):
    monkeypatch.setenv("MLSCAFFOLD_CACHE", str(tmp_path / "cache"))
    first = render(tmp_path / "one")
    cold = len(compiles)
    compiles.clear()
    second = render(tmp_path / "two")
    assert cold > 100  # questions and files really were compiled the first time
    assert compiles == []
    assert first == second


def test_corrupt_cache_entries_are_recompiled(tmp_path, monkeypatch, compiles):
    monkeypatch.setenv("MLSCAFFOLD_CACHE", str(tmp_path / "cache"))
    first = render(tmp_path / "one")
    entries = list((tmp_path / "cache" / "jinja").rglob("*.cache"))
    assert entries
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:20])  # past the magic, into the code
    compiles.clear()
    assert render(tmp_path / "two") == first
    assert len(compiles) > 100


def test_unwritable_cache_still_renders(tmp_path, monkeypatch):
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("MLSCAFFOLD_CACHE", str(blocker))
    plain = render(tmp_path / "one")

    def refuse(self, bucket):
        raise OSError(28, "No space left on device")

    monkeypatch.setenv("MLSCAFFOLD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(jinja2.FileSystemBytecodeCache, "dump_bytecode", refuse)
    cached = render(tmp_path / "two")
    # The answers file names the template snapshot rendered from, which differs here.
    plain.pop(".copier-answers.yml"), cached.pop(".copier-answers.yml")
    assert plain == cached


def test_changed_source_is_not_served_stale(tmp_path):
    env = SandboxedEnvironment()
    jinja_cache.install(env, tmp_path)
    assert env.from_string("{{ 1 + 1 }}").render() == "2"
    assert env.from_string("{{ 1 + 2 }}").render() == "3"
    again = SandboxedEnvironment()
    jinja_cache.install(again, tmp_path)
    assert again.from_string("{{ 1 + 2 }}").render() == "3"
    assert again.from_string("{{ 1 + 1 }}").render() == "2"


def test_environment_setup_gets_its_own_folder(tmp_path):
    plain = jinja_cache.cache_directory(tmp_path, {}, ["jinja2.ext.do"])
    other_delimiters = jinja_cache.cache_directory(
        tmp_path, {"variable_start_string": "[["}, ["jinja2.ext.do"]
    )
    more_extensions = jinja_cache.cache_directory(tmp_path, {}, ["jinja2.ext.do", "x.Y"])
    assert len({plain, other_delimiters, more_extensions}) == 3
    assert plain == jinja_cache.cache_directory(tmp_path, {}, ["jinja2.ext.do"])


def test_old_entries_and_other_versions_are_pruned_when_compiling(tmp_path):
    import os
    import time

    current, other_version = tmp_path / "now", tmp_path / "old-jinja"
    other_version.mkdir()
    (other_version / ".mlscaffold-cache").touch()  # made by an earlier mlscaffold
    users_own = tmp_path / "users-own"  # same age, no marker: never ours to delete
    users_own.mkdir()
    env = SandboxedEnvironment()
    jinja_cache.install(env, current)
    env.from_string("{{ 'kept' }}")
    kept = list(current.glob("*.cache"))
    stale = current / "__jinja2_stale.cache"
    stale.write_bytes(b"x")
    month_ago = time.time() - 40 * 86400
    for path in (stale, other_version, users_own):
        os.utime(path, (month_ago, month_ago))
    again = SandboxedEnvironment()
    jinja_cache.install(again, current)
    assert again.from_string("{{ 'kept' }}").render() == "kept"  # a hit: no clean-up yet
    assert stale.exists()
    assert again.from_string("{{ 'new' }}").render() == "new"  # a miss writes, and prunes
    assert not stale.exists() and not other_version.exists()
    assert all(path.exists() for path in kept)
    assert users_own.is_dir()
