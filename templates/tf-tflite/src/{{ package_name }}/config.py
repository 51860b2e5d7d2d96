"""The training configuration: `configs/train.yaml`, plus overrides from code or tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG = Path("configs/train.yaml")


def deep_update(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """A copy of `base` with `overrides` merged in, nested dicts key by key."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_update(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(
    path: str | Path = DEFAULT_CONFIG, overrides: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Read the YAML config at `path` and merge `overrides` into it."""
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    return deep_update(config, overrides or {})
