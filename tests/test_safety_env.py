"""Issue 12, class "environment": empty variables are unset, the cache deletes only its own
folders, org configs with YAML's surprises get one clear line."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml

from mlscaffold import jinja_cache, scaffold, sources
from tests.safety import new, one_line_error, snapshot


def _old_user_folders(root: Path) -> dict:
    """Folders a user keeps where a cache might prune, all older than any cache limit."""
    month_ago = time.time() - 90 * 86400
    for rel in ("jinja/thesis", "jinja/thesis/chapter1", "template-snapshots/photos"):
        (root / rel).mkdir(parents=True, exist_ok=True)
        (root / rel / "data.txt").write_text("the user's\n")
    for path in sorted(root.rglob("*"), reverse=True):
        os.utime(path, (month_ago, month_ago))
    return snapshot(root)


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_cache_variable_is_unset(tmp_path, monkeypatch, value) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MLSCAFFOLD_CACHE", value)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    before = _old_user_folders(work)
    assert scaffold.cache_root() == tmp_path / "home" / ".cache" / "mlscaffold"
    result = new(str(tmp_path / "demo"), "-y")
    assert result.exit_code == 0, result.output
    assert snapshot(work) == before, "the working directory was used as the cache"


def test_cache_root_on_a_users_folder_prunes_nothing_of_theirs(tmp_path, monkeypatch) -> None:
    users = tmp_path / "mine"
    users.mkdir()
    before = _old_user_folders(users)
    monkeypatch.setenv("MLSCAFFOLD_CACHE", str(users))
    result = new(str(tmp_path / "demo"), "-y")  # compiles, snapshots: both prune
    assert result.exit_code == 0, result.output
    after = snapshot(users)
    assert {k: v for k, v in after.items() if k in before} == before


def test_the_cache_still_prunes_its_own_old_folders(tmp_path) -> None:
    root = tmp_path / "cache"
    ours = jinja_cache.cache_directory(root, {}, [])
    stale = root / "jinja" / "0123456789abcdef"
    stale.mkdir(parents=True)
    scaffold.mark_cache_folder(stale)
    month_ago = time.time() - 40 * 86400
    os.utime(stale, (month_ago, month_ago))
    jinja_cache.prune(ours)
    assert not stale.exists()


def test_relative_cache_variable_is_made_absolute(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLSCAFFOLD_CACHE", "c")
    assert scaffold.cache_root() == tmp_path / "c"


def test_empty_config_and_xdg_variables_are_unset(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("MLSCAFFOLD_CONFIG", "")
    monkeypatch.setenv("XDG_CONFIG_HOME", "")
    assert sources.config_path() == tmp_path / ".config" / "mlscaffold" / "config.yml"
    assert sources.load_org_config() == sources.OrgConfig()


def test_empty_template_url_variable_records_the_default(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MLSCAFFOLD_TEMPLATE_URL", "")
    result = new(str(tmp_path / "demo"), "-y")
    assert result.exit_code == 0, result.output
    answers = yaml.safe_load((tmp_path / "demo" / ".copier-answers.yml").read_text())
    assert answers["_src_path"] == sources.DEFAULT_TEMPLATE_URL


# org config text -> the words the one-line error must hold (None: accepted)
ORG_CONFIGS = {
    "unquoted python_version": ("defaults:\n  python_version: 3.12\n", "quote it"),
    "unquoted 3.10 (YAML reads 3.1)": ("locked:\n  python_version: 3.10\n", "quote it"),
    "null default": ("defaults:\n  license: null\n", "empty (null)"),
    "tilde default": ("defaults:\n  license: ~\n", "empty (null)"),
    "ci: no (a YAML boolean)": ("defaults:\n  ci: no\n", "boolean"),
    "whole-number year": ("defaults:\n  copyright_year: 2026\n", None),
    "multi-line description": ('defaults:\n  description: "a\\nb"\n', "one line"),
    "private key": ("defaults:\n  _src_path: /tmp/x\n", "bookkeeping"),
}


@pytest.mark.parametrize("case", list(ORG_CONFIGS))
def test_org_config_values(tmp_path, monkeypatch, case) -> None:
    text, error = ORG_CONFIGS[case]
    config = tmp_path / "org.yml"
    config.write_text(text)
    monkeypatch.setenv("MLSCAFFOLD_CONFIG", str(config))
    result = new(str(tmp_path / "demo"), "-y")
    if error is None:
        assert result.exit_code == 0, result.output
        return
    assert result.exit_code == 2, result.output
    assert error in one_line_error(result)
    assert not (tmp_path / "demo").exists()
