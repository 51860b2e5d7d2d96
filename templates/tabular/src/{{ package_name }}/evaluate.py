"""Metrics and the pictures people look at: confusion matrix, ROC, residuals, importance."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: training runs on servers without a display

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn import metrics
from sklearn.inspection import permutation_importance
from sklearn.pipeline import Pipeline

from .calibration import brier


def cv_scoring(task: str, n_classes: int) -> dict[str, str]:
    if task == "regression":
        return {
            "r2": "r2",
            "rmse": "neg_root_mean_squared_error",
            "mae": "neg_mean_absolute_error",
        }
    auc = "roc_auc" if n_classes == 2 else "roc_auc_ovr"
    return {"roc_auc": auc, "accuracy": "accuracy", "f1_macro": "f1_macro"}


def holdout_metrics(
    task: str, y_true: np.ndarray, y_pred: np.ndarray, proba=None, classes: list | None = None
) -> dict[str, float | dict[str, float]]:
    if task == "regression":
        return {
            "r2": float(metrics.r2_score(y_true, y_pred)),
            "rmse": float(metrics.root_mean_squared_error(y_true, y_pred)),
            "mae": float(metrics.mean_absolute_error(y_true, y_pred)),
        }
    result: dict[str, float | dict[str, float]] = {
        "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
        "f1_macro": float(metrics.f1_score(y_true, y_pred, average="macro")),
    }
    if classes is not None:
        # Recall per class: an overall accuracy of 0.86 can hide a class never predicted.
        recall = metrics.recall_score(
            y_true, y_pred, labels=range(len(classes)), average=None, zero_division=0
        )
        pairs = zip(classes, recall, strict=True)
        result["recall"] = {str(name): float(value) for name, value in pairs}
    if proba is not None:
        if proba.shape[1] == 2:
            result["roc_auc"] = float(metrics.roc_auc_score(y_true, proba[:, 1]))
        else:
            result["roc_auc"] = float(metrics.roc_auc_score(y_true, proba, multi_class="ovr"))
        result["brier"] = brier(y_true, proba)  # probability quality (calibration.py)
    return result


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_classification(y_true, y_pred, proba, labels: list[str], out: Path) -> list[Path]:
    fig, ax = plt.subplots(figsize=(5, 4.5))
    metrics.ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, display_labels=labels, ax=ax, colorbar=False
    )
    ax.set_title("Hold-out confusion matrix")
    written = [_save(fig, out / "confusion_matrix.png")]
    if proba is not None and proba.shape[1] == 2:
        fig, ax = plt.subplots(figsize=(5, 4.5))
        metrics.RocCurveDisplay.from_predictions(y_true, proba[:, 1], ax=ax, name=labels[1])
        ax.set_title("Hold-out ROC curve")
        written.append(_save(fig, out / "roc_curve.png"))
    return written


def plot_regression(y_true, y_pred, out: Path) -> list[Path]:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    metrics.PredictionErrorDisplay.from_predictions(
        y_true, y_pred, kind="actual_vs_predicted", ax=axes[0]
    )
    axes[0].set_title("Predicted vs actual")
    metrics.PredictionErrorDisplay.from_predictions(
        y_true, y_pred, kind="residual_vs_predicted", ax=axes[1]
    )
    axes[1].set_title("Residuals")
    return [_save(fig, out / "residuals.png")]


def plot_importance(
    pipeline: Pipeline, x: pd.DataFrame, y, scoring: str, seed: int, out: Path, top: int = 20
) -> tuple[Path, dict[str, float]]:
    """Permutation importance of the original columns: model-agnostic and honest on hold-out."""
    result = permutation_importance(
        pipeline, x, y, scoring=scoring, n_repeats=5, random_state=seed, n_jobs=1
    )
    importance = pd.Series(result.importances_mean, index=x.columns).sort_values()
    shown = importance.tail(top)
    fig, ax = plt.subplots(figsize=(7, max(3.0, 0.3 * len(shown) + 1)))
    ax.barh(shown.index.astype(str), shown.to_numpy())
    ax.set_xlabel(f"drop in {scoring} when the column is shuffled")
    ax.set_title("Permutation feature importance (hold-out)")
    path = _save(fig, out / "feature_importance.png")
    return path, {str(k): float(v) for k, v in importance.sort_values(ascending=False).items()}
