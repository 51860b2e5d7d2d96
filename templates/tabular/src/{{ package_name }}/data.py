"""Loading tables with clear errors, deciding each column's role, and the offline sample."""

from __future__ import annotations

import logging
import math
import re
import warnings
from dataclasses import asdict, dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import DataConfig

log = logging.getLogger(__name__)

# An object column whose filled cells parse as numbers (or dates) at least this often is
# numeric (or a date) with a few typos, not a category: the bad cells become missing values.
PARSE_SHARE = 0.9
ID_NAME = re.compile(r"(^|[_\s-])id$|^id([_\s-]|$)|[a-z]Id$", re.IGNORECASE)
MAX_REPORTED = 10  # violations listed one per line; the rest are counted


class DataError(ValueError):
    """The data cannot be trained on; the message says what to fix."""


def load_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV (UTF-8, with or without a byte-order mark) or Parquet file."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            # utf-8-sig drops a BOM (Excel writes one), which would otherwise stick to the
            # first column's name.
            frame = pd.read_csv(path, encoding="utf-8-sig")
        elif suffix in {".parquet", ".pq"}:
            frame = pd.read_parquet(path)
        else:
            raise DataError(f"unsupported data format {suffix!r} ({path}): use .csv or .parquet")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from exc
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else "no columns"
        raise DataError(f"{path} cannot be parsed as CSV: {first_line}") from exc
    if frame.empty:
        raise DataError(f"{path} has no rows")
    frame.columns = [str(column).strip() for column in frame.columns]
    return frame


@dataclass
class Schema:
    """What training decided about each column; saved with the model and checked at predict."""

    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    datetime: list[str] = field(default_factory=list)
    id_columns: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    # column -> how many filled cells were not numbers / dates and became missing (training)
    coerced_to_missing: dict[str, int] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return [*self.numeric, *self.categorical, *self.datetime]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series)


def _parse_numbers(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce") if _is_text(series) else series


def _parse_dates(series: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    with warnings.catch_warnings():  # "could not infer format": mixed formats are expected
        warnings.simplefilter("ignore", UserWarning)
        return pd.to_datetime(series, errors="coerce", format="mixed")


def _parse_share(series: pd.Series, parsed: pd.Series) -> float:
    filled = series.notna().sum()
    return float(parsed.notna().sum() / filled) if filled else 0.0


def _check_lists(frame: pd.DataFrame, config: DataConfig) -> None:
    lists = {
        "numeric": config.numeric,
        "categorical": config.categorical,
        "datetime": config.datetime,
        "id_columns": config.id_columns,
        "drop": config.drop,
    }
    unknown = sorted({c for names in lists.values() for c in names if c not in frame.columns})
    if unknown:
        columns = ", ".join(map(str, frame.columns))
        raise DataError(
            f"configured column(s) not in the data: {', '.join(unknown)}; columns are: {columns}"
        )
    seen: dict[str, str] = {}
    for key, names in lists.items():
        for name in names:
            if name == config.target:
                raise DataError(f"data.{key} lists the target column {name!r}")
            if name in seen:
                raise DataError(f"column {name!r} is in both data.{seen[name]} and data.{key}")
            seen[name] = key


def infer_schema(frame: pd.DataFrame, config: DataConfig) -> Schema:
    """Each column's role: as configured, else inferred from its values.

    IDs (unique per row: text, or named like an id) are not features but are passed through
    to predictions; text columns that are mostly dates become date features; text columns
    that are mostly numbers are numeric (the stray strings become missing values).
    """
    _check_lists(frame, config)
    schema = Schema(
        numeric=list(config.numeric),
        categorical=list(config.categorical),
        datetime=list(config.datetime),
        id_columns=list(config.id_columns),
        dropped=list(config.drop),
    )
    decided = {config.target, *schema.numeric, *schema.categorical, *schema.datetime}
    decided |= {*schema.id_columns, *schema.dropped}
    for column in (c for c in frame.columns if c not in decided):
        series = frame[column]
        filled = series.dropna()
        unique_per_row = len(filled) == len(series) and filled.nunique() == len(series)
        if pd.api.types.is_float_dtype(series) or pd.api.types.is_bool_dtype(series):
            schema.numeric.append(column)
        elif pd.api.types.is_numeric_dtype(series):
            is_id = unique_per_row and len(series) > 1 and ID_NAME.search(column)
            (schema.id_columns if is_id else schema.numeric).append(column)
        elif pd.api.types.is_datetime64_any_dtype(series):
            schema.datetime.append(column)
        elif not _is_text(series):  # e.g. a Parquet category column
            schema.categorical.append(column)
        elif _parse_share(series, _parse_numbers(series)) >= PARSE_SHARE:
            schema.numeric.append(column)
        elif _parse_share(sample := filled.head(500), _parse_dates(sample)) >= PARSE_SHARE:
            # a sample decides: parsing free-form dates is slow on millions of rows
            schema.datetime.append(column)
        elif unique_per_row and len(series) > 1:
            schema.id_columns.append(column)
        else:
            schema.categorical.append(column)
    if not schema.features:
        raise DataError("no feature columns left after removing the target, IDs and drops")
    return schema


def _as_categories(series: pd.Series) -> pd.Series:
    # One type per column (the encoders refuse a mix of numbers and strings); NaN stays missing.
    return series.astype(object).map(str).where(series.notna(), np.nan)


def _row_name(frame: pd.DataFrame, position: int, id_columns: list[str]) -> str:
    ids = [f"{c}={frame[c].iloc[position]}" for c in id_columns if c in frame.columns]
    return f"row {position + 1}" + (f" ({', '.join(ids)})" if ids else "")


def prepare_features(
    frame: pd.DataFrame, schema: Schema
) -> tuple[pd.DataFrame, list[str], dict[str, int]]:
    """The feature columns typed for the pipeline, the cells that did not parse (one line
    each, row numbers 1-based as in a spreadsheet without its header) and a count per column."""
    missing = [c for c in schema.features if c not in frame.columns]
    if missing:
        raise DataError(f"input lacks the model's feature column(s): {', '.join(missing)}")
    features = pd.DataFrame(index=frame.index)
    problems: list[str] = []
    counts: dict[str, int] = {}
    for kind, columns, parse in (
        ("a number", schema.numeric, _parse_numbers),
        ("a date", schema.datetime, _parse_dates),
    ):
        for column in columns:
            raw = frame[column]
            parsed = parse(raw)
            if kind == "a number":
                parsed = parsed.astype(float)
            bad = np.flatnonzero(raw.notna().to_numpy() & parsed.isna().to_numpy())
            if len(bad):
                counts[column] = len(bad)
            for position in bad:
                name = _row_name(frame, position, schema.id_columns)
                value = raw.iloc[position]
                problems.append(f"{name}: column {column!r} expects {kind}, got {value!r}")
            features[column] = parsed
    for column in schema.categorical:
        features[column] = _as_categories(frame[column])
    return features[schema.features], problems, counts


def summarize(problems: list[str]) -> str:
    shown = problems[:MAX_REPORTED]
    more = len(problems) - len(shown)
    return "\n".join(shown + ([f"... and {more} more"] if more else []))


def min_class_rows(folds: int, test_size: float) -> int:
    """Rows a class needs so that every CV fold of the training split and the hold-out see it
    (a fold without the class scores ROC-AUC as nan; a hold-out without it cannot be scored)."""
    return max(math.ceil(folds / (1.0 - test_size)) + 1, math.ceil(1.0 / test_size))


def split_target(
    frame: pd.DataFrame, config: DataConfig, task: str, folds: int = 3
) -> tuple[pd.DataFrame, pd.Series]:
    """Features and target, after checking the target can be learned.

    Rows with an empty target are dropped (and logged). Integer class labels read as floats
    (a column with empty cells) become integers again, so predictions say `1`, not `1.0`.
    """
    if config.target not in frame.columns:
        columns = ", ".join(map(str, frame.columns))
        raise DataError(f"target column {config.target!r} not found; columns are: {columns}")
    empty = frame[config.target].isna()
    if _is_text(frame[config.target]):
        empty |= frame[config.target].astype(str).str.strip().eq("")
    if empty.any():
        log.warning("dropped %d row(s) with an empty %r (target) cell", empty.sum(), config.target)
    frame = frame.loc[~empty]
    if frame.empty:
        raise DataError(f"target column {config.target!r} has no values")
    target = frame[config.target]
    if task == "classification":
        if pd.api.types.is_float_dtype(target) and (target % 1 == 0).all():
            target = target.astype("int64")
        counts = target.value_counts()
        if len(counts) < 2:
            raise DataError(f"target {config.target!r} has a single class ({counts.index[0]!r})")
        needed = min_class_rows(folds, config.test_size)
        rare = counts[counts < needed]
        if len(rare):
            listed = ", ".join(f"{label!r} ({n} rows)" for label, n in rare.items())
            raise DataError(
                f"class(es) of {config.target!r} with fewer than {needed} rows: {listed}; each "
                f"class needs {needed} ({folds} CV folds plus the hold-out): add rows, merge "
                "the class into another, or drop its rows"
            )
    else:
        target = _parse_numbers(target)
        if not pd.api.types.is_numeric_dtype(target) or target.isna().any():
            raise DataError(f"regression target {config.target!r} must be numeric")
    return frame.drop(columns=[config.target]), target


def make_sample(path: str | Path, task: str) -> Path:
    """Write a sample table built from scikit-learn's bundled data (no download).

    Classification: breast-cancer diagnosis; regression: diabetes progression. One column is
    turned categorical so both branches of the preprocessing are exercised.
    """
    if task == "clustering":  # customer segments, drawn by clustering.py (that task only)
        return Path(import_module(f"{__package__}.clustering").make_sample(path))
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
