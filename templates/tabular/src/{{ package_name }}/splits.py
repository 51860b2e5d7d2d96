"""Where rows go: the hold-out split, the CV folds and the early-stopping validation part.

`cv.strategy` decides all three the same way, so no score is ever computed on rows that
leak from the rows it was trained on:

- kfold: shuffled (stratified for classification) splits, repeated `cv.repeats` times;
- group: every row of one group (a customer, a patient, a store) is on one side only;
  StratifiedGroupKFold for classification, GroupKFold for regression, GroupShuffleSplit for
  the hold-out;
- time: rows sorted by `cv.time_column`; the hold-out is the latest rows and each
  TimeSeriesSplit fold trains on earlier rows and validates on the later ones.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import (
    GroupKFold,
    GroupShuffleSplit,
    RepeatedKFold,
    RepeatedStratifiedKFold,
    StratifiedGroupKFold,
    TimeSeriesSplit,
    train_test_split,
)

from .config import ConfigError, CVConfig, DataConfig

Folds = list[tuple[np.ndarray, np.ndarray]]


def split_column(cv: CVConfig) -> str | None:
    """The column the splits read: the group or the time column (None for kfold)."""
    return {"group": cv.group_column, "time": cv.time_column}.get(cv.strategy)


def exclude_split_column(frame: pd.DataFrame, data: DataConfig, cv: CVConfig) -> DataConfig:
    """The data config with the group/time column dropped from the features, unless the
    config lists it under a role itself. An unknown column name is a config error."""
    column = split_column(cv)
    if column is None:
        return data
    if column not in frame.columns:
        key = "group_column" if cv.strategy == "group" else "time_column"
        raise ConfigError(
            f"cv.{key} {column!r} is not a column of the data; columns are: "
            + ", ".join(map(str, frame.columns))
        )
    if column == data.target:
        raise ConfigError(f"cv.strategy {cv.strategy} cannot split on the target {column!r}")
    listed = [*data.numeric, *data.categorical, *data.datetime, *data.id_columns, *data.drop]
    return data if column in listed else dataclasses.replace(data, drop=[*data.drop, column])


def split_values(frame: pd.DataFrame, cv: CVConfig) -> pd.Series | None:
    """The groups, or the times as sortable values (dates or numbers), per row."""
    column = split_column(cv)
    if column is None:
        return None
    values = frame[column]
    if cv.strategy == "group":
        if values.isna().any():
            raise ConfigError(
                f"cv.group_column {column!r} has empty cells: every row needs a group"
            )
        return values.astype(str)
    if not pd.api.types.is_numeric_dtype(values):
        values = pd.to_datetime(values, errors="coerce", format="mixed")
    if values.isna().any():
        bad = int(values.isna().sum())
        raise ConfigError(
            f"cv.time_column {column!r}: {bad} cell(s) are empty or not dates/numbers"
        )
    return values


def holdout(
    n_rows: int,
    y: np.ndarray,
    cv: CVConfig,
    values: pd.Series | None,
    test_size: float,
    seed: int,
    stratify: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the training rows and of the hold-out rows.

    For the time strategy both come back in time order, which TimeSeriesSplit relies on.
    """
    positions = np.arange(n_rows)
    if cv.strategy == "group":
        assert values is not None
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        train, test = next(splitter.split(positions, y, groups=values.to_numpy()))
        return train, test
    if cv.strategy == "time":
        assert values is not None
        order = np.argsort(values.to_numpy(), kind="stable")
        cut = n_rows - max(1, round(n_rows * test_size))
        return order[:cut], order[cut:]
    train, test = train_test_split(
        positions, test_size=test_size, random_state=seed, stratify=y if stratify else None
    )
    return train, test


def folds(
    x: Any,
    y: np.ndarray,
    cv: CVConfig,
    groups: np.ndarray | None,
    seed: int,
    classify: bool,
) -> Folds:
    """The CV folds of the training split as (train, validation) positions: the same list
    scores the model, the baselines and every tuning trial."""
    if cv.strategy == "group":
        if classify:
            splitter: Any = StratifiedGroupKFold(n_splits=cv.folds, shuffle=True, random_state=seed)
        else:
            splitter = GroupKFold(n_splits=cv.folds, shuffle=True, random_state=seed)
        n_groups = len(np.unique(groups))
        if n_groups < cv.folds:
            raise ConfigError(
                f"cv.strategy group: {n_groups} group(s) in the training split, fewer than "
                f"cv.folds={cv.folds}"
            )
        return list(splitter.split(x, y, groups=groups))
    if cv.strategy == "time":
        return list(TimeSeriesSplit(n_splits=cv.folds).split(x))
    repeated = RepeatedStratifiedKFold if classify else RepeatedKFold
    splitter = repeated(n_splits=cv.folds, n_repeats=cv.repeats, random_state=seed)
    return list(splitter.split(x, y))


def validation(
    y: np.ndarray,
    cv: CVConfig,
    groups: np.ndarray | None,
    share: float,
    seed: int,
    classify: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """A validation part of the training split for early stopping, carved the way the
    hold-out is: whole groups for the group strategy, the latest rows for the time strategy
    (the training split is in time order)."""
    if cv.strategy == "time":
        cut = len(y) - max(1, round(len(y) * share))
        return np.arange(cut), np.arange(cut, len(y))
    values = None if groups is None else pd.Series(groups)
    return holdout(len(y), y, cv, values, share, seed, stratify=classify)
