"""Loading tables with clear errors, choosing features, and the offline sample."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .config import DataConfig


class DataError(ValueError):
    """The data cannot be trained on; the message says what to fix."""


def load_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(path)
    elif suffix in {".parquet", ".pq"}:
        frame = pd.read_parquet(path)
    else:
        raise DataError(f"unsupported data format {suffix!r} ({path}): use .csv or .parquet")
    if frame.empty:
        raise DataError(f"{path} has no rows")
    return frame


def feature_columns(frame: pd.DataFrame, config: DataConfig) -> tuple[list[str], list[str]]:
    """Numeric and categorical feature columns: as configured, else inferred from dtypes."""
    excluded = {config.target, *config.drop}
    candidates = [c for c in frame.columns if c not in excluded]
    numeric = list(config.numeric) or [
        c
        for c in candidates
        if pd.api.types.is_numeric_dtype(frame[c]) and c not in config.categorical
    ]
    categorical = list(config.categorical) or [c for c in candidates if c not in numeric]
    missing = [c for c in [*numeric, *categorical] if c not in frame.columns]
    if missing:
        raise DataError(f"configured feature column(s) not in the data: {', '.join(missing)}")
    if not numeric and not categorical:
        raise DataError("no feature columns left after removing the target and dropped columns")
    return numeric, categorical


def split_target(
    frame: pd.DataFrame, config: DataConfig, task: str
) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target, after checking the target can be learned."""
    if config.target not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise DataError(f"target column {config.target!r} not found; columns are: {columns}")
    frame = frame.dropna(subset=[config.target])
    if frame.empty:
        raise DataError(f"target column {config.target!r} has no values")
    target = frame[config.target]
    if task == "classification":
        counts = target.value_counts()
        if len(counts) < 2:
            raise DataError(f"target {config.target!r} has a single class ({counts.index[0]!r})")
    elif not pd.api.types.is_numeric_dtype(target):
        raise DataError(f"regression target {config.target!r} must be numeric")
    return frame.drop(columns=[config.target]), target


def make_sample(path: str | Path, task: str) -> Path:
    """Write a sample table built from scikit-learn's bundled data (no download).

    Classification: breast-cancer diagnosis; regression: diabetes progression. One column is
    turned categorical so both branches of the preprocessing are exercised.
    """
    from sklearn.datasets import load_breast_cancer, load_diabetes

    path = Path(path)
    if task == "classification":
        bunch = load_breast_cancer(as_frame=True)
        frame = bunch.frame.rename(columns={"target": "target"})
        frame["target"] = frame["target"].map(dict(enumerate(bunch.target_names)))
        frame["size_band"] = pd.qcut(frame["mean radius"], 3, labels=["small", "medium", "large"])
        frame = frame.drop(columns=["mean radius"])
    else:
        frame = load_diabetes(as_frame=True, scaled=False).frame
        frame["sex"] = frame["sex"].map({1.0: "female", 2.0: "male"})
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return path
