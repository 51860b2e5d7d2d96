"""What a score means and where to cut: the baselines a model must beat, and the decision
threshold of a binary classifier chosen on out-of-fold predictions (never on the hold-out)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn import metrics
from sklearn.base import clone
from sklearn.dummy import DummyClassifier, DummyRegressor
from sklearn.model_selection import cross_validate
from sklearn.pipeline import Pipeline

from .pipeline import make_estimator


def baseline_pipelines(pipeline: Pipeline, task: str, seed: int) -> dict[str, Pipeline]:
    """The same preprocessing with a constant predictor and with a linear model."""
    classify = task == "classification"
    dummy = DummyClassifier(strategy="prior") if classify else DummyRegressor(strategy="mean")
    linear = make_estimator("sklearn", task, {"estimator": "linear"}, seed)
    return {
        name: Pipeline([("preprocess", clone(pipeline.named_steps["preprocess"])), ("model", est)])
        for name, est in (("dummy", dummy), ("linear", linear))
    }


def cv_means(cv: dict[str, np.ndarray], scoring: dict[str, str]) -> dict[str, dict[str, float]]:
    """cross_validate's test scores as {metric: {mean, std}}, errors turned back positive."""
    summary = {}
    for name, scorer in scoring.items():
        values = cv[f"test_{name}"]
        values = -values if scorer.startswith("neg_") else values
        summary[name] = {"mean": float(np.mean(values)), "std": float(np.std(values))}
    return summary


def baselines(
    pipeline: Pipeline,
    task: str,
    seed: int,
    x: Any,
    y: np.ndarray,
    splitter: Any,
    scoring: dict[str, str],
    fit_params: dict[str, Any],
) -> dict[str, dict[str, float]]:
    """CV means of the dummy and linear baselines, on the folds the model was scored on."""
    result = {}
    for name, candidate in baseline_pipelines(pipeline, task, seed).items():
        cv = cross_validate(candidate, x, y, cv=splitter, scoring=scoring, params=fit_params)
        result[name] = {metric: value["mean"] for metric, value in cv_means(cv, scoring).items()}
    return result


def margin(
    model_cv: dict[str, dict[str, float]], baseline: dict, metric: str, lower: bool
) -> float:
    """How far the model's CV mean is ahead of the best baseline (positive = ahead)."""
    best = [scores[metric] for scores in baseline.values()]
    ahead = model_cv[metric]["mean"] - (min(best) if lower else max(best))
    return float(-ahead if lower else ahead)


def out_of_fold_proba(cv: dict[str, Any], n_rows: int, x: Any) -> np.ndarray:
    """Positive-class probabilities of every row from the fold model that did not see it.

    Uses the first round of folds cross_validate fitted (return_estimator/return_indices):
    no model is fitted again.
    """
    proba = np.full(n_rows, np.nan)
    for estimator, rows in zip(cv["estimator"], cv["indices"]["test"], strict=True):
        if not np.isnan(proba[rows]).all():
            break  # a repeat: the first round already covered every row
        proba[rows] = estimator.predict_proba(x.iloc[rows])[:, 1]
    return proba


def tune_threshold(y: np.ndarray, proba: np.ndarray) -> float:
    """The cut on P(positive) that maximises the positive class's F1 on out-of-fold rows.

    0.5 is right only for balanced classes and calibrated scores; on skewed data the F1-best
    cut is usually lower, which is what recovers the rare class's recall.
    """
    precision, recall, thresholds = metrics.precision_recall_curve(y, proba)
    f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
    return float(thresholds[int(np.argmax(f1))])


def apply_threshold(proba: np.ndarray, threshold: float | None) -> np.ndarray:
    """Class indices from class probabilities: the tuned cut for binary, argmax otherwise."""
    if threshold is None or proba.shape[1] != 2:
        return np.argmax(proba, axis=1)
    return (proba[:, 1] >= threshold).astype(int)
