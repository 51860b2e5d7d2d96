"""Per-row explanations: SHAP values from the model's own exact algorithm, drawn as PNGs.

XGBoost (`pred_contribs`) and LightGBM (`pred_contrib`) compute exact TreeSHAP values
themselves; a linear model's SHAP values are its coefficients times the centred inputs. So
no extra package is needed, and the values add up to the model's raw output (log-odds for
classifiers): row contributions + base value == margin, which the tests check. Scikit-learn's
HistGradientBoosting has no such algorithm: its projects keep permutation importance only.

Values are computed on the encoded columns and summed back to the user's columns (a one-hot
column's share goes to its categorical column, date parts to their date): additivity makes
that exact.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)
MAX_ROWS = 2000  # rows explained (a seeded sample): plots and values stay cheap on big tables
TOP = 15  # features shown in the summary plot
DEPENDENCE = 3  # numeric features with a dependence plot


@dataclass
class Explanation:
    """SHAP values per row (rows x classes x columns; one "class" for binary and regression)."""

    values: np.ndarray
    base: np.ndarray  # per class: the model's raw output with no feature information
    columns: list[str]  # the user's feature columns, in `values`' last-axis order
    method: str
    output: str  # what the values add up to: "log-odds" or the prediction
    classes: list[str] | None = None  # class names (the positive class last for binary)


def final_estimator(pipeline: Pipeline) -> Any:
    """The fitted model under wrappers (calibration, frozen estimators)."""
    model = pipeline.steps[-1][1]
    for _ in range(5):
        if hasattr(model, "calibrated_classifiers_"):
            model = model.calibrated_classifiers_[0].estimator
        elif type(model).__name__ == "FrozenEstimator":
            model = model.estimator
        else:
            break
    return model


def column_groups(preprocess: Any) -> list[tuple[str, slice]]:
    """Which encoded columns belong to which user column, from the fitted ColumnTransformer."""
    groups: list[tuple[str, slice]] = []
    for name, transformer, columns in preprocess.transformers_:
        if name == "remainder" or transformer == "drop" or not len(columns):
            continue
        block = preprocess.output_indices_[name]
        width = block.stop - block.start
        encoder = transformer.steps[-1][1] if hasattr(transformer, "steps") else transformer
        if hasattr(encoder, "categories_"):  # one-hot: categories per column, rare ones merged
            infrequent = getattr(encoder, "infrequent_categories_", [None] * len(columns))
            sizes = [
                len(cats) - (len(rare) - 1 if rare is not None else 0)
                for cats, rare in zip(encoder.categories_, infrequent, strict=True)
            ]
        elif width % len(columns) == 0:  # one or a fixed number of parts per column (dates)
            sizes = [width // len(columns)] * len(columns)
        else:
            raise ValueError(f"cannot map the encoded columns of {name!r} back to {columns}")
        if sum(sizes) != width:
            raise ValueError(f"encoded width of {name!r} is {width}, expected {sum(sizes)}")
        start = block.start
        for column, size in zip(columns, sizes, strict=True):
            groups.append((str(column), slice(start, start + size)))
            start += size
    return groups


def _encoded_values(model: Any, encoded: np.ndarray) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(rows x classes x encoded columns, base per class, method), or None for a model
    without an exact algorithm."""
    kind = type(model).__module__.split(".")[0]
    rows, width = encoded.shape
    if kind == "xgboost":
        import xgboost

        raw = model.get_booster().predict(xgboost.DMatrix(encoded), pred_contribs=True)
        raw = raw.reshape(rows, -1, width + 1)
        return raw[..., :-1], raw[0, :, -1], "XGBoost TreeSHAP (pred_contribs)"
    if kind == "lightgbm":
        raw = np.asarray(model.predict(encoded, pred_contrib=True)).reshape(rows, -1, width + 1)
        return raw[..., :-1], raw[0, :, -1], "LightGBM TreeSHAP (pred_contrib)"
    if hasattr(model, "coef_") and hasattr(model, "intercept_"):
        # Linear SHAP: coef * (x - E[x]); the expectation over the explained rows.
        coef = np.atleast_2d(model.coef_)
        centred = encoded - encoded.mean(axis=0)
        values = centred[:, None, :] * coef[None, :, :]
        base = np.atleast_1d(model.intercept_) + coef @ encoded.mean(axis=0)
        return values, base, "linear SHAP (coefficients x centred inputs)"
    return None


def explain(
    pipeline: Pipeline, x: pd.DataFrame, seed: int = 0, classes: list[str] | None = None
) -> Explanation | None:
    """SHAP values of `x`'s rows per user column, or None for models without an exact algorithm."""
    model = final_estimator(pipeline)
    if len(x) > MAX_ROWS:
        x = x.sample(MAX_ROWS, random_state=seed)
    preprocess = pipeline.named_steps["preprocess"]
    encoded = np.asarray(preprocess.transform(x), dtype=float)
    computed = _encoded_values(model, encoded)
    if computed is None:
        name = type(model).__name__
        log.info("explanations: no exact SHAP algorithm for %s; permutation importance only", name)
        return None
    values, base, method = computed
    groups = column_groups(preprocess)
    summed = np.stack([values[..., part].sum(axis=-1) for _, part in groups], axis=-1)
    classifier = hasattr(model, "classes_")
    return Explanation(
        values=summed,
        base=base,
        columns=[column for column, _ in groups],
        method=method,
        output="log-odds" if classifier else "prediction",
        classes=classes,
    )


def mean_abs(explanation: Explanation) -> dict[str, float]:
    """Mean |SHAP| per column (summed over classes), largest first: a global importance."""
    scores = np.abs(explanation.values).mean(axis=0).sum(axis=0)
    order = np.argsort(scores)[::-1]
    return {explanation.columns[i]: float(scores[i]) for i in order}


def _numeric_values(x: pd.DataFrame, column: str) -> np.ndarray | None:
    values = pd.to_numeric(x[column], errors="coerce") if column in x else None
    if values is None or values.notna().sum() < 2:
        return None
    return values.to_numpy(dtype=float)


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_summary(explanation: Explanation, x: pd.DataFrame, out: Path, seed: int = 0) -> Path:
    """The beeswarm SHAP summary: one dot per row and column, coloured by the column's value.

    Multi-class models get a bar chart of mean |SHAP| per class instead (one swarm per class
    would be one plot per class).
    """
    ranking = list(mean_abs(explanation))[:TOP][::-1]  # most important on top
    index = [explanation.columns.index(c) for c in ranking]
    fig, ax = plt.subplots(figsize=(8, max(3.0, 0.35 * len(ranking) + 1.2)))
    values = explanation.values
    if values.shape[1] > 1:
        left = np.zeros(len(ranking))
        for k in range(values.shape[1]):
            widths = np.abs(values[:, k, index]).mean(axis=0)
            name = explanation.classes[k] if explanation.classes else f"class {k}"
            ax.barh(ranking, widths, left=left, label=name)
            left += widths
        ax.legend(loc="lower right", fontsize="small")
        ax.set_xlabel(f"mean |SHAP value| ({explanation.output})")
    else:
        rng = np.random.default_rng(seed)
        rows = x.iloc[: len(values)]
        for position, (column, i) in enumerate(zip(ranking, index, strict=True)):
            shap = values[:, -1, i]
            raw = _numeric_values(rows, column)
            colour = np.full(len(shap), 0.5) if raw is None else _rank_colour(raw)
            jitter = position + rng.uniform(-0.3, 0.3, len(shap))
            dots = ax.scatter(shap, jitter, c=colour, cmap="coolwarm", s=8, vmin=0, vmax=1)
        ax.set_yticks(range(len(ranking)), ranking)
        ax.axvline(0, color="grey", linewidth=0.8)
        bar = fig.colorbar(dots, ax=ax, ticks=[0, 1])
        bar.ax.set_yticklabels(["low", "high"])
        bar.set_label("feature value (grey: not a number)")
        ax.set_xlabel(f"SHAP value (effect on the {_target(explanation)})")
    ax.set_title(f"SHAP summary: {explanation.method}")
    return _save(fig, out / "shap_summary.png")


def _target(explanation: Explanation) -> str:
    """What a value moves: the prediction, or the log-odds of the positive class."""
    if explanation.classes and len(explanation.classes) == 2:
        return f"log-odds of {explanation.classes[1]}"
    return explanation.output


def _rank_colour(raw: np.ndarray) -> np.ndarray:
    """Values as 0..1 by rank (robust to outliers); missing values grey (0.5)."""
    ranks = pd.Series(raw).rank(pct=True).to_numpy()
    return np.where(np.isnan(ranks), 0.5, ranks)


def plot_dependence(explanation: Explanation, x: pd.DataFrame, out: Path) -> Path | None:
    """SHAP value against the column's value for the most important numeric columns."""
    rows = x.iloc[: len(explanation.values)]
    numeric = [c for c in mean_abs(explanation) if _numeric_values(rows, c) is not None]
    chosen = numeric[:DEPENDENCE]
    if not chosen:
        return None
    fig, axes = plt.subplots(1, len(chosen), figsize=(4.5 * len(chosen), 4), squeeze=False)
    for ax, column in zip(axes[0], chosen, strict=True):
        i = explanation.columns.index(column)
        # multi-class: the class this column moves most (a sum over classes would cancel out)
        k = int(np.abs(explanation.values[:, :, i]).mean(axis=0).argmax())
        ax.scatter(_numeric_values(rows, column), explanation.values[:, k, i], s=8, alpha=0.6)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xlabel(column)
        names = explanation.classes
        many = explanation.values.shape[1] > 1 and names is not None
        label = f"log-odds of {names[k]}" if names is not None and many else _target(explanation)
        ax.set_ylabel(f"SHAP value ({label})")
    fig.suptitle("SHAP dependence: how each value moves the prediction")
    return _save(fig, out / "shap_dependence.png")


def explain_and_plot(
    pipeline: Pipeline,
    x: pd.DataFrame,
    out: Path,
    seed: int = 0,
    classes: list[str] | None = None,
) -> tuple[list[Path], dict[str, Any]]:
    """The PNGs and the metrics.json entry for the hold-out rows (empty for unsupported models)."""
    if len(x) > MAX_ROWS:
        x = x.sample(MAX_ROWS, random_state=seed)
    explanation = explain(pipeline, x, seed, classes)
    if explanation is None:
        return [], {}
    plots = [plot_summary(explanation, x, out, seed)]
    dependence = plot_dependence(explanation, x, out)
    if dependence is not None:
        plots.append(dependence)
    summary = {
        "method": explanation.method,
        "output": _target(explanation),
        "rows": len(x),
        "mean_abs_shap": mean_abs(explanation),
    }
    return plots, summary
