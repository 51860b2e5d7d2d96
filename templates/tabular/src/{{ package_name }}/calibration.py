"""Probability calibration (`model.calibration`) and the reliability diagram.

With sigmoid (Platt) or isotonic calibration the pipeline's model step becomes scikit-learn's
CalibratedClassifierCV around the estimator: each of CALIBRATION_FOLDS inner folds trains the
estimator on the rest and fits the calibrator on the fold it did not see, and predictions
average them. The saved model is still a Pipeline, CV scores the calibrated model, and the
decision threshold is tuned on its (calibrated) out-of-fold probabilities.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from sklearn import metrics
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV, CalibrationDisplay, calibration_curve
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

CALIBRATION_FOLDS = 3


def calibrated(pipeline: Pipeline, method: str, seed: int) -> Pipeline:
    """The pipeline with its estimator wrapped in CalibratedClassifierCV (method: sigmoid or
    isotonic); `none` returns it unchanged."""
    if method == "none":
        return pipeline
    inner = StratifiedKFold(n_splits=CALIBRATION_FOLDS, shuffle=True, random_state=seed)
    model = CalibratedClassifierCV(
        clone(pipeline.named_steps["model"]), method=method, cv=inner, ensemble=True
    )
    return Pipeline([("preprocess", clone(pipeline.named_steps["preprocess"])), ("model", model)])


def brier(y_true: np.ndarray, proba: np.ndarray) -> float:
    """Mean squared error of the class probabilities (lower is better; binary and multiclass)."""
    if proba.shape[1] == 2:
        return float(metrics.brier_score_loss(y_true, proba[:, 1]))
    onehot = np.eye(proba.shape[1])[y_true]
    return float(np.mean(np.sum((proba - onehot) ** 2, axis=1)))


def plot_reliability(
    y_true: np.ndarray,
    proba: np.ndarray,
    labels: list[str],
    out: Path,
    uncalibrated: np.ndarray | None = None,
) -> Path:
    """Predicted probability against observed frequency on the hold-out: calibration.png.
    Binary: the positive class (and the uncalibrated model when calibration is on);
    multiclass: one curve per class, one-vs-rest."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bins = max(3, min(10, len(y_true) // 20))
    fig, ax = plt.subplots(figsize=(5.5, 5))
    if proba.shape[1] == 2:
        if uncalibrated is not None:
            CalibrationDisplay.from_predictions(
                y_true, uncalibrated[:, 1], n_bins=bins, ax=ax, name="uncalibrated"
            )
        CalibrationDisplay.from_predictions(
            y_true, proba[:, 1], n_bins=bins, ax=ax, name=f"P({labels[1]})"
        )
    else:
        ax.plot([0, 1], [0, 1], "k:", label="perfectly calibrated")
        for index, label in enumerate(labels):
            observed, predicted = calibration_curve(
                (y_true == index).astype(int), proba[:, index], n_bins=bins
            )
            ax.plot(predicted, observed, "s-", label=f"P({label})")
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("fraction of positives")
        ax.legend()
    ax.set_title(f"Hold-out reliability (Brier {brier(y_true, proba):.4f})")
    fig.tight_layout()
    path = out / "calibration.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def uncalibrated(pipeline: Pipeline) -> Pipeline:
    """The same pipeline without the calibration wrapper (unfitted)."""
    model = pipeline.named_steps["model"]
    if isinstance(model, CalibratedClassifierCV):
        model = model.estimator
    return Pipeline(
        [("preprocess", clone(pipeline.named_steps["preprocess"])), ("model", clone(model))]
    )


def report(
    pipeline: Pipeline,
    method: str,
    x_train: Any,
    y_train: np.ndarray,
    fit_params: dict[str, Any],
    x_test: Any,
    y_test: np.ndarray,
    proba: np.ndarray,
    labels: list[str],
    out: Path,
) -> tuple[dict[str, Any], Path]:
    """The `calibration` entry of metrics.json (hold-out Brier score, and with calibration on
    the uncalibrated model's, fitted once more on the same rows) and calibration.png."""
    result: dict[str, Any] = {"method": method, "brier": brier(y_test, proba)}
    before = None
    if method != "none":
        bare = uncalibrated(pipeline).fit(x_train, y_train, **fit_params)
        before = bare.predict_proba(x_test)
        result["brier_uncalibrated"] = brier(y_test, before)
    return result, plot_reliability(y_test, proba, labels, out, before)
