"""The settings a training run fits with: Optuna's best parameters (tune block), then the
boosting rounds early stopping finds, then the calibration wrapper (model.calibration)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from . import calibration, early_stopping, splits, tuning
from .config import TrainConfig

log = logging.getLogger(__name__)


def settle(
    config: TrainConfig,
    make: Callable[[dict[str, Any]], Pipeline],
    x: Any,
    y: np.ndarray,
    weights: np.ndarray | None,
    folds: splits.Folds,
    groups: np.ndarray | None,
    scorer: str,
    fit_params: dict[str, Any],
    out: Path,
) -> tuple[Pipeline, dict[str, Any] | None, dict[str, Any] | None]:
    """(the unfitted pipeline to score and save, the tuning summary, the early-stopping
    result); `make(params)` builds the bare pipeline for model.params."""
    classify = config.task == "classification"
    name = config.model.name
    patience = config.model.early_stopping_rounds if name in early_stopping.BOOSTERS else None
    share = early_stopping.VALIDATION_SHARE
    split = (
        splits.validation(y, config.cv, groups, share, config.seed, classify) if patience else None
    )

    def stop(pipeline: Pipeline) -> dict[str, Any] | None:
        if patience is None or split is None:
            return None
        found = early_stopping.best_rounds(pipeline, name, x, y, weights, split, patience, classify)
        if found is not None:
            early_stopping.set_rounds(pipeline, found["best_rounds"])
        return found

    def rounds_for(pipeline: Pipeline) -> int | None:
        found = stop(pipeline)
        return None if found is None else found["best_rounds"]

    params = dict(config.model.params)
    tuned = None
    if config.tune.n_trials > 0:
        space = tuning.space_for(name, params, config.task)
        log.info(
            "tuning %s: %d Optuna trial(s) on the %d CV folds, %s (%s)",
            name,
            config.tune.n_trials,
            len(folds),
            ", ".join(space),
            "pruning on" if config.tune.pruning else "no pruning",
        )
        tuned = tuning.run_study(
            name,
            make,
            rounds_for,
            params,
            space,
            x,
            y,
            folds,
            scorer,
            fit_params,
            config.tune,
            config.seed,
            out / "tuning",
        )
        params.update(tuned["best_params"])
        log.info(
            "tuning: best CV %s %.4f (configured params %s) after %d trial(s), %d pruned; "
            "best params in %s",
            scorer,
            tuned["best_value"],
            "n/a" if tuned["default_value"] is None else f"{tuned['default_value']:.4f}",
            tuned["n_trials"],
            tuned["pruned"],
            out / "tuning" / "best_params.yaml",
        )
    pipeline = make(params)
    stopped = stop(pipeline)
    if stopped is not None:
        log.info(
            "early stopping: %d of %d rounds (validation %s, patience %d, %d validation rows)",
            stopped["best_rounds"],
            stopped["max_rounds"],
            stopped["metric"],
            stopped["patience"],
            stopped["validation_rows"],
        )
    if config.model.calibration != "none":
        log.info("calibration: %s (CalibratedClassifierCV)", config.model.calibration)
    return calibration.calibrated(pipeline, config.model.calibration, config.seed), tuned, stopped
