"""Training configuration: a YAML file read into typed dataclasses, checked before training."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from importlib import import_module
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import yaml

# clustering.py is generated for task=tabular-clustering only
CLUSTERING = find_spec(f"{__package__}.clustering") is not None
TASKS = ("classification", "regression") + (("clustering",) if CLUSTERING else ())
CLASS_WEIGHTS = ("auto", "balanced", "none")
MODELS = ("xgboost", "lightgbm", "sklearn")


class ConfigError(ValueError):
    """The configuration file is missing, malformed or names an unknown key."""


@dataclass
class DataConfig:
    path: str = "data/sample.csv"
    target: str | None = "target"  # null for clustering
    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    datetime: list[str] = field(default_factory=list)
    id_columns: list[str] = field(default_factory=list)
    drop: list[str] = field(default_factory=list)
    test_size: float = 0.2


@dataclass
class CVConfig:
    folds: int = 5
    repeats: int = 1
    baselines: bool = True  # also score a constant and a linear model on the same folds


THRESHOLDS = ("auto", "none")


@dataclass
class ModelConfig:
    name: str = "xgboost"
    params: dict[str, Any] = field(default_factory=dict)
    class_weight: str = "auto"
    # binary classification: "auto" (the F1-best cut on out-of-fold predictions), "none"
    # (argmax, i.e. 0.5) or a probability between 0 and 1
    threshold: Any = "auto"


@dataclass
class TrainConfig:
    task: str = "classification"
    seed: int = 42
    output_dir: str = "artifacts"
    refit_on_all_rows: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    cv: CVConfig = field(default_factory=CVConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    cluster: dict[str, Any] = field(default_factory=dict)  # task clustering: clustering.py


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown key(s) in {where}: {', '.join(sorted(unknown))}")
    nested = {"data": DataConfig, "cv": CVConfig, "model": ModelConfig}
    kwargs = {}
    for name, value in values.items():
        if name in nested and cls is TrainConfig:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}.{name} must be a mapping")
            value = _build(nested[name], value, f"{where}.{name}")
        kwargs[name] = value
    return cls(**kwargs)


def load_config(path: str | Path) -> TrainConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must hold a mapping at the top level")
    config = _build(TrainConfig, raw, "config")
    validate(config)
    return config


def validate(config: TrainConfig) -> None:
    if config.task not in TASKS:
        raise ConfigError(f"task must be one of {TASKS}, got {config.task!r}")
    if config.task == "clustering":
        import_module(f"{__package__}.clustering").validate_cluster(config)
    elif not (isinstance(config.data.target, str) and config.data.target):
        raise ConfigError(f"data.target must name the column to predict: {config.data.target!r}")
    if config.model.name not in MODELS:
        raise ConfigError(f"model.name must be one of {MODELS}, got {config.model.name!r}")
    if config.model.class_weight not in CLASS_WEIGHTS:
        raise ConfigError(
            f"model.class_weight must be one of {CLASS_WEIGHTS}, got {config.model.class_weight!r}"
        )
    for key in ("numeric", "categorical", "datetime", "id_columns", "drop"):
        names = getattr(config.data, key)
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"data.{key} must be a list of column names")
    if not 0.0 < config.data.test_size < 1.0:
        raise ConfigError("data.test_size must be between 0 and 1")
    if config.cv.folds < 2:
        raise ConfigError("cv.folds must be at least 2")
    if config.cv.repeats < 1:
        raise ConfigError("cv.repeats must be at least 1")
    threshold = config.model.threshold
    fixed = isinstance(threshold, (int, float)) and not isinstance(threshold, bool)
    if not (threshold in THRESHOLDS or (fixed and 0.0 < threshold < 1.0)):
        raise ConfigError(
            f"model.threshold must be auto, none or a probability in (0, 1), got {threshold!r}"
        )
    if not isinstance(config.cv.baselines, bool):
        raise ConfigError("cv.baselines must be true or false")
    if not isinstance(config.refit_on_all_rows, bool):
        raise ConfigError("refit_on_all_rows must be true or false")
