"""Early stopping for XGBoost and LightGBM: how many boosting rounds the data supports.

A validation part is carved out of the training split (never the hold-out), the column
pipeline is fitted on the rest, and the booster adds trees until the validation loss has not
improved for `model.early_stopping_rounds` rounds. The best round count then replaces
`n_estimators` for every later fit (CV folds, tuning trials, the final model), so all fits
are comparable and the saved model stays a plain scikit-learn Pipeline.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

log = logging.getLogger(__name__)
BOOSTERS = ("xgboost", "lightgbm")
VALIDATION_SHARE = 0.2  # of the training split, for the early-stopping validation part


def booster(pipeline: Pipeline) -> Any:
    """The estimator inside the pipeline's model step (unwrapping a calibration wrapper)."""
    model = pipeline.named_steps["model"]
    return getattr(model, "estimator", None) or model


def set_rounds(pipeline: Pipeline, rounds: int) -> Pipeline:
    booster(pipeline).set_params(n_estimators=int(rounds))
    return pipeline


def best_rounds(
    pipeline: Pipeline,
    name: str,
    x: Any,
    y: np.ndarray,
    weights: np.ndarray | None,
    split: tuple[np.ndarray, np.ndarray],
    patience: int,
    classify: bool,
) -> dict[str, Any] | None:
    """Fit once with an eval set; {best_rounds, max_rounds, metric, curve} or None when the
    validation part cannot be used (a class missing from it)."""
    fit_rows, valid_rows = split
    if classify and len(np.unique(y[fit_rows])) < len(np.unique(y)):
        log.warning("early stopping skipped: a class is missing from its training part")
        return None
    preprocess = clone(pipeline.named_steps["preprocess"]).fit(x.iloc[fit_rows])
    x_fit = preprocess.transform(x.iloc[fit_rows])
    x_valid = preprocess.transform(x.iloc[valid_rows])
    model = clone(booster(pipeline))
    max_rounds = int(model.get_params()["n_estimators"])
    w_fit = None if weights is None else weights[fit_rows]
    w_valid = None if weights is None else [weights[valid_rows]]
    if name == "xgboost":
        model.set_params(early_stopping_rounds=patience)
        model.fit(
            x_fit,
            y[fit_rows],
            sample_weight=w_fit,
            eval_set=[(x_valid, y[valid_rows])],
            sample_weight_eval_set=w_valid,
            verbose=False,
        )
        history = model.evals_result()["validation_0"]
        best = int(model.best_iteration) + 1
    else:
        import lightgbm

        history_store: dict[str, Any] = {}
        model.fit(
            x_fit,
            y[fit_rows],
            sample_weight=w_fit,
            eval_X=x_valid,  # LightGBM 4.7: eval_set is deprecated
            eval_y=y[valid_rows],
            eval_sample_weight=w_valid,
            callbacks=[
                lightgbm.early_stopping(patience, verbose=False),
                lightgbm.record_evaluation(history_store),
            ],
        )
        history = history_store["valid_0"]
        best = int(model.best_iteration_ or max_rounds)
    metric, curve = next(iter(history.items()))
    return {
        "best_rounds": best,
        "max_rounds": max_rounds,
        "metric": str(metric),
        "patience": patience,
        "validation_rows": len(valid_rows),
        "curve": [float(v) for v in curve],
    }


def plot_curve(result: dict[str, Any], out: Path) -> Path:
    """The validation metric per round, the chosen round marked: training_curve.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = result["curve"]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, len(curve) + 1), curve, label=f"validation {result['metric']}")
    ax.axvline(result["best_rounds"], color="tab:red", linestyle="--", label="best round")
    ax.set_xlabel("boosting round")
    ax.set_ylabel(result["metric"])
    ax.set_title(
        f"Early stopping: {result['best_rounds']} of {result['max_rounds']} rounds "
        f"(patience {result['patience']})"
    )
    ax.legend()
    fig.tight_layout()
    path = out / "training_curve.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
