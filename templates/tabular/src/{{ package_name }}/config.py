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
CV_STRATEGIES = ("kfold", "group", "time")
CALIBRATIONS = ("none", "sigmoid", "isotonic")


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
    # kfold (shuffled, stratified for classification) | group (no group in two folds, nor in
    # both the training split and the hold-out) | time (train on earlier rows, score later ones)
    strategy: str = "kfold"
    group_column: str | None = None
    time_column: str | None = None


THRESHOLDS = ("auto", "none")


@dataclass
class ModelConfig:
    name: str = "xgboost"
    params: dict[str, Any] = field(default_factory=dict)
    class_weight: str = "auto"
    # binary classification: "auto" (the F1-best cut on out-of-fold predictions), "none"
    # (argmax, i.e. 0.5) or a probability between 0 and 1
    threshold: Any = "auto"
    # XGBoost/LightGBM: stop adding trees once the validation score has not improved for
    # this many rounds (null: always train n_estimators trees)
    early_stopping_rounds: int | None = 50
    calibration: str = "none"  # classification: none | sigmoid | isotonic


@dataclass
class TuneConfig:
    n_trials: int = 0  # Optuna trials; 0 turns tuning off
    timeout_seconds: float | None = None  # stop starting trials after this long
    pruning: bool = True  # stop a trial whose first folds score below the median


@dataclass
class TrainConfig:
    task: str = "classification"
    seed: int = 42
    output_dir: str = "artifacts"
    refit_on_all_rows: bool = False
    data: DataConfig = field(default_factory=DataConfig)
    cv: CVConfig = field(default_factory=CVConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    tune: TuneConfig = field(default_factory=TuneConfig)
    cluster: dict[str, Any] = field(default_factory=dict)  # task clustering: clustering.py


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = set(values) - set(known)
    if unknown:
        raise ConfigError(f"unknown key(s) in {where}: {', '.join(sorted(unknown))}")
    nested = {"data": DataConfig, "cv": CVConfig, "model": ModelConfig, "tune": TuneConfig}
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
    validate_extras(config)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_extras(config: TrainConfig) -> None:
    """Early stopping, calibration, the CV strategy and the tune block."""
    rounds = config.model.early_stopping_rounds
    if rounds is not None and not (_is_int(rounds) and rounds >= 1):
        raise ConfigError(
            f"model.early_stopping_rounds must be a positive integer or null, got {rounds!r}"
        )
    if config.model.calibration not in CALIBRATIONS:
        raise ConfigError(
            f"model.calibration must be one of {CALIBRATIONS}, got {config.model.calibration!r}"
        )
    if config.model.calibration != "none" and config.task != "classification":
        raise ConfigError("model.calibration applies to classification only: set it to none")
    cv = config.cv
    if cv.strategy not in CV_STRATEGIES:
        raise ConfigError(f"cv.strategy must be one of {CV_STRATEGIES}, got {cv.strategy!r}")
    for key in ("group_column", "time_column"):
        value = getattr(cv, key)
        if value is not None and not (isinstance(value, str) and value):
            raise ConfigError(f"cv.{key} must be a column name or null, got {value!r}")
    needed = {"group": "group_column", "time": "time_column"}.get(cv.strategy)
    if needed and getattr(cv, needed) is None:
        raise ConfigError(f"cv.strategy {cv.strategy} needs cv.{needed}: the column to split on")
    for key in ("group_column", "time_column"):
        if getattr(cv, key) is not None and needed != key:
            raise ConfigError(f"cv.{key} is only read by cv.strategy {key.split('_')[0]}")
    if cv.strategy != "kfold" and cv.repeats != 1:
        raise ConfigError(
            f"cv.repeats applies to cv.strategy kfold only (group and time folds are fixed, "
            f"a reshuffle repeats the same splits): set it to 1, got {cv.repeats}"
        )
    tune = config.tune
    if not (_is_int(tune.n_trials) and tune.n_trials >= 0):
        raise ConfigError(f"tune.n_trials must be a whole number >= 0, got {tune.n_trials!r}")
    limit: Any = tune.timeout_seconds  # YAML may hold anything here
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, (int, float)) or limit <= 0
    ):
        raise ConfigError(f"tune.timeout_seconds must be a positive number or null, got {limit!r}")
    if not isinstance(tune.pruning, bool):
        raise ConfigError("tune.pruning must be true or false")
