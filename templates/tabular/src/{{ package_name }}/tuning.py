"""Optuna tuning of `model.params`: a seeded TPE search on the report's own CV folds.

Each trial samples parameters from the model's search space (SPACES), finds its boosting
rounds by early stopping when that is on, and scores the CV mean of the main metric on the
same folds the report uses; with `tune.pruning` a MedianPruner stops a trial whose running
fold mean falls below the median of earlier trials at the same fold. The first trial is the
configured parameters, so the best is never worse than the untuned model on CV.

Written to <output_dir>/tuning/: study.db (Optuna's SQLite storage: `optuna.load_study(
study_name="tune", storage="sqlite:///artifacts/tuning/study.db")`), trials.csv,
best_params.yaml (paste into model.params); the plot is <output_dir>/optimization_history.png.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.base import clone
from sklearn.metrics import get_scorer
from sklearn.pipeline import Pipeline

from .config import TuneConfig
from .pipeline import DEFAULT_PARAMS

log = logging.getLogger(__name__)

# name -> (kind, low, high, log scale, the library's default when the config sets none)
Space = dict[str, tuple[str, float, float, bool, float]]
SPACES: dict[str, Space] = {
    "xgboost": {
        "learning_rate": ("float", 0.01, 0.3, True, 0.3),
        "max_depth": ("int", 2, 10, False, 6),
        "min_child_weight": ("float", 1.0, 20.0, True, 1.0),
        "subsample": ("float", 0.5, 1.0, False, 1.0),
        "colsample_bytree": ("float", 0.5, 1.0, False, 1.0),
        "reg_lambda": ("float", 1e-3, 10.0, True, 1.0),
    },
    "lightgbm": {
        "learning_rate": ("float", 0.01, 0.3, True, 0.1),
        "num_leaves": ("int", 7, 127, True, 31),
        "min_child_samples": ("int", 5, 100, True, 20),
        "colsample_bytree": ("float", 0.5, 1.0, False, 1.0),
        "reg_lambda": ("float", 0.0, 10.0, False, 0.0),
    },
    "hist_gradient_boosting": {
        "learning_rate": ("float", 0.01, 0.3, True, 0.1),
        "max_leaf_nodes": ("int", 7, 127, True, 31),
        "min_samples_leaf": ("int", 5, 100, True, 20),
        "l2_regularization": ("float", 0.0, 10.0, False, 0.0),
    },
    "linear": {"alpha_or_C": ("float", 1e-3, 100.0, True, 1.0)},
}


def space_for(name: str, params: dict[str, Any], task: str) -> Space:
    """The search space of `model.name` (sklearn: of its `estimator`)."""
    key = name if name != "sklearn" else params.get("estimator", "hist_gradient_boosting")
    space = dict(SPACES[key])
    if key == "linear":  # LogisticRegression's C, Ridge's alpha
        space = {("C" if task == "classification" else "alpha"): space.pop("alpha_or_C")}
    return space


def start_point(name: str, space: Space, params: dict[str, Any]) -> dict[str, Any]:
    """The configured (else pipeline.py's, else the library's) value of every searched
    parameter."""
    params = {**DEFAULT_PARAMS.get(name, {}), **params}
    return {key: params.get(key, spec[4]) for key, spec in space.items()}


def _widened(spec: tuple[str, float, float, bool, float], value: Any) -> tuple[float, float]:
    """The range, stretched to hold the configured value (it is the first trial)."""
    _, low, high, log_scale, _ = spec
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not (log_scale and value <= 0):
            low, high = min(low, value), max(high, value)
    return low, high


def suggest(trial: Any, space: Space, start: dict[str, Any]) -> dict[str, Any]:
    params = {}
    for key, spec in space.items():
        low, high = _widened(spec, start[key])
        if spec[0] == "int":
            params[key] = trial.suggest_int(key, int(low), int(high), log=spec[3])
        else:
            params[key] = trial.suggest_float(key, float(low), float(high), log=spec[3])
    return params


def run_study(
    name: str,
    make_pipeline: Callable[[dict[str, Any]], Pipeline],
    rounds_for: Callable[[Pipeline], int | None],
    params: dict[str, Any],
    space: Space,
    x: Any,
    y: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    scorer_name: str,
    fit_params: dict[str, Any],
    tune: TuneConfig,
    seed: int,
    out: Path,
) -> dict[str, Any]:
    """Run the study; returns the `tuning` entry of metrics.json (best_params included)."""
    import optuna

    optuna.logging.disable_default_handler()  # trial lines go through the training log
    optuna.logging.enable_propagation()
    scorer = get_scorer(scorer_name)
    weights = fit_params.get("model__sample_weight")
    out.mkdir(parents=True, exist_ok=True)
    db = out / "study.db"
    db.unlink(missing_ok=True)  # one study per training run
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)
        if tune.pruning
        else optuna.pruners.NopPruner()
    )
    study = optuna.create_study(
        study_name="tune",
        storage=f"sqlite:///{db}",
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=pruner,
    )
    start = start_point(name, space, params)
    study.enqueue_trial(start)

    def objective(trial: optuna.Trial) -> float:
        pipeline = make_pipeline({**params, **suggest(trial, space, start)})
        rounds = rounds_for(pipeline)
        if rounds is not None:
            trial.set_user_attr("best_rounds", rounds)
        scores = []
        for step, (fit_rows, test_rows) in enumerate(folds):
            model = clone(pipeline)
            extra = {} if weights is None else {"model__sample_weight": weights[fit_rows]}
            model.fit(x.iloc[fit_rows], y[fit_rows], **extra)
            scores.append(scorer(model, x.iloc[test_rows], y[test_rows]))
            trial.report(float(np.mean(scores)), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return float(np.mean(scores))

    started = time.perf_counter()
    study.optimize(
        objective, n_trials=tune.n_trials, timeout=tune.timeout_seconds, catch=(ValueError,)
    )
    trials = study.trials
    states = optuna.trial.TrialState
    done = [t for t in trials if t.state == states.COMPLETE and not math.isnan(t.value or 0)]
    if not done:
        raise ValueError("no tuning trial completed: raise tune.timeout_seconds or n_trials")
    best = max(done, key=lambda t: t.value)
    default = trials[0].value if trials[0].state == states.COMPLETE else None
    best_params = dict(best.params)
    study.trials_dataframe().to_csv(out / "trials.csv", index=False)
    write_overlay(out / "best_params.yaml", best_params, best.value, scorer_name, best)
    plot = plot_history(trials, scorer_name, out.parent / "optimization_history.png")
    return {
        "n_trials": len(trials),
        "completed": len(done),
        "pruned": sum(t.state == states.PRUNED for t in trials),
        "failed": sum(t.state == states.FAIL for t in trials),
        "metric": scorer_name,
        "default_value": default,
        "best_value": float(best.value),
        "best_trial": best.number,
        "best_params": best_params,
        "best_rounds": best.user_attrs.get("best_rounds"),
        "seconds": time.perf_counter() - started,
        "files": ["study.db", "trials.csv", "best_params.yaml"],
        "plot": plot.name,
    }


def write_overlay(
    path: Path, best_params: dict[str, Any], value: float, metric: str, trial: Any
) -> None:
    rounds = trial.user_attrs.get("best_rounds")
    header = (
        f"# Optuna's best trial ({trial.number}): CV {metric} {value:.4f}.\n"
        "# Paste under model.params in configs/train.yaml (and set tune.n_trials: 0 to keep\n"
        "# them fixed)."
        + (f" Early stopping chose {rounds} rounds for these settings.\n" if rounds else "\n")
    )
    clean = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in best_params.items()}
    path.write_text(header + yaml.safe_dump({"model": {"params": clean}}, sort_keys=False))


def plot_history(trials: list[Any], metric: str, path: Path) -> Path:
    """Each trial's CV score and the best so far (drawn with matplotlib: Optuna's own
    matplotlib plots are experimental and warn)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    complete = [(t.number, t.value) for t in trials if t.value is not None]
    pruned = [
        (t.number, t.intermediate_values[max(t.intermediate_values)])
        for t in trials
        if t.value is None and t.intermediate_values
    ]
    if complete:
        numbers, values = zip(*complete, strict=True)
        ax.scatter(numbers, values, label="trial (CV mean)")
        ax.step(numbers, np.maximum.accumulate(values), where="post", color="tab:red", label="best")
    if pruned:
        numbers, values = zip(*pruned, strict=True)
        ax.scatter(numbers, values, marker="x", color="grey", label="pruned (last fold mean)")
    ax.set_xlabel("trial")
    ax.set_ylabel(f"CV {metric}")
    ax.set_title("Optuna optimization history")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
