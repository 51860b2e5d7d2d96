"""Hyperparameter search with Optuna over the LightningCLI config (make search).

    python -m <package>.search                                   # configs/search/default.yaml
    python -m <package>.search --study lr-wd --n_trials 30       # another study, 30 more trials
    python -m <package>.search --config configs/experiment/long.yaml --trainer.max_epochs=5

Each trial is one real `fit` of the configs (configs/*.yaml, then every --config and flag
given here) with the trial's values on top, in its own run folder. Options this command
does not know are passed to every trial's fit. In artifacts/search/<study>/:

    study.db       the Optuna study (SQLite): the same --study resumes it, adding trials
    trial-N/       trial N's run folder (checkpoints, logs, curves.png, config.yaml)
    best.yaml      the best trial's complete config: `fit --config .../best.yaml` retrains it
    history.png    the metric of every trial and the best so far
    trials.csv     one row per trial: number, state, value, parameters

A trial is judged by its best checkpoint's value of the space file's `monitor`; a trial
whose metric, epoch after epoch, is worse than the median of earlier trials at that epoch is
stopped early (pruned).
"""

from __future__ import annotations

import argparse
import csv
import inspect
import json
import math
import sys
from pathlib import Path
from typing import Any

import lightning as L
import yaml
from lightning.pytorch.callbacks import Callback, EarlyStopping, ModelCheckpoint

from .cli import DEFAULT_CONFIGS, CheckpointMismatch, DataError, run
from .data import DataModule
from .module import Classifier
from .runs import RunError
from .tune import TuneError

SEARCH_DIR = "artifacts/search"
DEFAULT_SPACE = "configs/search/default.yaml"
# A config section -> the class whose arguments it holds (what a dotted key may name).
SECTIONS: dict[str, Any] = {
    "model": Classifier,
    "data": DataModule,
    "trainer": L.Trainer,
    "checkpoint": ModelCheckpoint,
    "early_stopping": EarlyStopping,
}
TYPES = ("float", "int", "categorical")
# Settings of a trial's run that point at the trial itself: best.yaml resets them, so that
# `fit --config best.yaml` starts a fresh run in artifacts/runs/.
RESET = {
    "run_name": None,
    "runs_dir": "artifacts/runs",
    "ckpt_path": None,
    "tune": None,
    "tune_only": False,
}


class SearchError(ValueError):
    """A search-space file or search option that cannot be used: one line for the user."""


def load_space(path: Path) -> dict[str, Any]:
    """The search-space file, checked: every parameter a real config key with a valid range."""
    if not path.is_file():
        raise SearchError(f"search space {path}: no such file")
    space = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    params = space.get("params") or {}
    if not isinstance(params, dict) or not params:
        raise SearchError(f"{path}: `params` must map config keys (model.lr, ...) to ranges")
    for key, spec in params.items():
        check_key(path, key)
        check_spec(path, key, spec)
    if space.get("direction", "minimize") not in ("minimize", "maximize"):
        raise SearchError(f"{path}: direction must be minimize or maximize")
    return space


def check_key(path: Path, key: str) -> None:
    """`key` must be a setting of the CLI: section.argument[.sub-key of a mapping argument]."""
    parts = str(key).split(".")
    if parts[0] == "seed_everything" and len(parts) == 1:
        return
    cls = SECTIONS.get(parts[0])
    if cls is None or len(parts) < 2:
        sections = ", ".join([*SECTIONS, "seed_everything"])
        raise SearchError(f"{path}: {key!r} is not a config key (it starts with one of {sections})")
    arguments = [name for name in inspect.signature(cls.__init__).parameters if name != "self"]
    if parts[1] not in arguments:
        raise SearchError(
            f"{path}: {key!r} is not a setting: {parts[0]} takes {', '.join(arguments)}"
        )


def check_spec(path: Path, key: str, spec: Any) -> None:
    if not isinstance(spec, dict) or spec.get("type") not in TYPES:
        raise SearchError(f"{path}: {key}: give `type: float|int|categorical` and its range")
    if spec["type"] == "categorical":
        if not isinstance(spec.get("choices"), list) or not spec["choices"]:
            raise SearchError(f"{path}: {key}: categorical needs a list of `choices`")
        return
    low, high = spec.get("low"), spec.get("high")
    if not isinstance(low, (int, float)) or not isinstance(high, (int, float)) or low >= high:
        raise SearchError(f"{path}: {key}: {spec['type']} needs numbers low < high")
    if spec.get("log") and low <= 0:
        raise SearchError(f"{path}: {key}: log: true needs low > 0")


def check_one_process(base: dict[str, Any], fit_args: list[str]) -> None:
    """Trials run in this process; a DDP launch would re-run the whole search in each rank."""
    strategy = (base.get("trainer") or {}).get("strategy")
    name = strategy.get("class_path", "") if isinstance(strategy, dict) else str(strategy or "")
    for arg in fit_args:
        if arg.startswith("--trainer.strategy="):
            name = arg.split("=", 1)[1]
    if "ddp" in name.lower():
        raise SearchError(
            "the search runs its trials in this process, on one device each: add "
            "--trainer.devices=1 --trainer.strategy=auto (to use several GPUs, start one "
            "search per GPU with CUDA_VISIBLE_DEVICES=N and the same --study: they share it)"
        )


def sample(trial: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The trial's value for every parameter of the space."""
    values = {}
    for key, spec in params.items():
        if spec["type"] == "categorical":
            values[key] = trial.suggest_categorical(key, spec["choices"])
        elif spec["type"] == "int":
            values[key] = trial.suggest_int(
                key, int(spec["low"]), int(spec["high"]), log=bool(spec.get("log"))
            )
        else:
            values[key] = trial.suggest_float(
                key, float(spec["low"]), float(spec["high"]), log=bool(spec.get("log"))
            )
    return values


def base_values(configs: list[str]) -> dict[str, Any]:
    """The configs merged in order (mappings key by key): where a parameter inside a mapping
    argument (model.model_kwargs.dropout) gets the rest of that mapping from."""
    merged: dict[str, Any] = {}

    def merge(into: dict[str, Any], new: dict[str, Any]) -> None:
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value

    for config in configs:
        if Path(config).is_file():
            merge(merged, yaml.safe_load(Path(config).read_text(encoding="utf-8")) or {})
    return merged


def as_flags(values: dict[str, Any], base: dict[str, Any]) -> list[str]:
    """Command-line flags for the trial's values: `--model.lr=0.001`; a key inside a mapping
    argument sets that mapping whole (the base config's, with the key replaced)."""
    mappings: dict[str, dict[str, Any]] = {}
    flags = []
    for key, value in values.items():
        parts = key.split(".")
        if len(parts) <= 2:
            flags.append(f"--{key}={json.dumps(value)}")
            continue
        head = ".".join(parts[:2])
        if head not in mappings:
            node: Any = base
            for part in parts[:2]:
                node = node.get(part) if isinstance(node, dict) else None
            mappings[head] = json.loads(json.dumps(node)) if isinstance(node, dict) else {}
        target = mappings[head]
        for part in parts[2:-1]:
            target = target.setdefault(part, {})
        target[parts[-1]] = value
    flags += [f"--{head}={json.dumps(mapping)}" for head, mapping in mappings.items()]
    return flags


class TrialPruning(Callback):
    """Reports the monitored metric to the trial after each validation; stops a bad trial.

    The run ends normally (its checkpoints stay), then the trial is marked pruned.
    """

    def __init__(self, trial: Any, monitor: str) -> None:
        self.trial = trial
        self.monitor = monitor
        self.pruned = False

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        value = trainer.callback_metrics.get(self.monitor)
        if value is None:
            return
        self.trial.report(float(value), step=trainer.current_epoch)
        if self.trial.should_prune():
            self.pruned = True
            trainer.should_stop = True


def best_config(cli: Any, base: dict[str, Any]) -> dict[str, Any]:
    """The trial's complete resolved config, its run-folder settings reset (RESET) and the
    export at the end of fit as the base configs have it (trials skip it)."""
    text = cli._parser("fit").dump(cli.config["fit"], skip_none=False)
    config = yaml.safe_load(text)
    config.pop("config", None)
    config.update(RESET)
    config.setdefault("trainer", {})["default_root_dir"] = "artifacts"
    config.setdefault("checkpoint", {})["dirpath"] = None
    exporting = (base.get("export") or {}).get("enabled", False)
    config.setdefault("export", {})["enabled"] = bool(exporting)
    logger = config["trainer"].get("logger")
    init = logger.get("init_args") if isinstance(logger, dict) else None
    if isinstance(init, dict) and "save_dir" in init:
        init["save_dir"] = "artifacts/runs"
    return config


def plot_history(study: Any, path: Path, monitor: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    done = [t for t in study.trials if t.value is not None and t.state.name == "COMPLETE"]
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    if done:
        better = min if study.direction.name == "MINIMIZE" else max
        best, running = [], None
        for t in done:
            running = t.value if running is None else better(running, t.value)
            best.append(running)
        axes.plot([t.number for t in done], [t.value for t in done], "o", label="trial")
        axes.step([t.number for t in done], best, where="post", color="red", label="best so far")
    for t in pruned:
        last = t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None
        if last is not None:
            axes.plot([t.number], [last], "x", color="gray")
    if pruned:
        axes.plot([], [], "x", color="gray", label="pruned (last value)")
    axes.set_xlabel("trial")
    axes.set_ylabel(monitor)
    axes.set_title(f"study {study.study_name}: {len(study.trials)} trials")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write_trials(study: Any, path: Path) -> None:
    keys = sorted({key for t in study.trials for key in t.params})
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["number", "state", "value", *keys])
        for t in study.trials:
            writer.writerow([t.number, t.state.name, t.value, *(t.params.get(k) for k in keys)])


def search(
    space_path: Path,
    study_name: str,
    n_trials: int | None,
    fit_args: list[str],
    search_dir: Path = Path(SEARCH_DIR),
) -> Any:
    """Run the trials of the study (created, or resumed from its study.db) and write its files."""
    import optuna

    space = load_space(space_path)
    monitor = str(space.get("monitor", "val_loss"))
    direction = space.get("direction", "minimize")
    out = search_dir / study_name
    out.mkdir(parents=True, exist_ok=True)
    pruner_cfg = space.get("pruner") or {}
    study = optuna.create_study(
        study_name=study_name,
        storage=f"sqlite:///{(out / 'study.db').as_posix()}",
        load_if_exists=True,
        direction=direction,
        sampler=optuna.samplers.TPESampler(seed=space.get("seed")),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=int(pruner_cfg.get("n_startup_trials", 5)),
            n_warmup_steps=int(pruner_cfg.get("n_warmup_steps", 1)),
        ),
    )
    if study.direction.name.lower() != direction:
        raise SearchError(f"study {study_name} was created to {study.direction.name.lower()}")
    configs = list(DEFAULT_CONFIGS)
    configs += [fit_args[i + 1] for i, arg in enumerate(fit_args[:-1]) if arg == "--config"]
    configs += [arg.split("=", 1)[1] for arg in fit_args if arg.startswith("--config=")]
    base = base_values(configs)
    check_one_process(base, fit_args)
    mode = "min" if direction == "minimize" else "max"
    configs_of: dict[int, dict[str, Any]] = {}  # trial number -> its complete config

    def objective(trial: Any) -> float:
        values = sample(trial, space["params"])
        pruning = TrialPruning(trial, monitor)
        args = [
            "fit",
            *fit_args,
            *as_flags(values, base),
            f"--runs_dir={out.as_posix()}",
            f"--run_name=trial-{trial.number}",
            f"--checkpoint.monitor={monitor}",
            f"--checkpoint.mode={mode}",
            "--export.enabled=false",
        ]
        shown = ", ".join(f"{key}={value}" for key, value in values.items())
        print(f"trial {trial.number}: {shown}", file=sys.stderr)
        cli = run(args, callbacks=[pruning])
        score = cli.trainer.checkpoint_callback.best_model_score
        if score is None or not math.isfinite(float(score)):
            logged = ", ".join(sorted(cli.trainer.callback_metrics)) or "nothing"
            raise SearchError(f"trial {trial.number}: {monitor} was not logged (logged: {logged})")
        configs_of[trial.number] = best_config(cli, base)
        if pruning.pruned:
            raise optuna.TrialPruned(f"{monitor} worse than the median at this epoch")
        return float(score)

    n = int(n_trials if n_trials is not None else space.get("n_trials", 20))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    argv, sys.argv = sys.argv, sys.argv[:1]  # trials get their arguments, not the search's
    try:
        study.optimize(objective, n_trials=n, catch=())
    finally:
        sys.argv = argv
    write_trials(study, out / "trials.csv")
    plot_history(study, out / "history.png", monitor)
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    if not complete:
        raise SearchError(f"study {study_name}: no trial completed (all pruned or failed)")
    best = study.best_trial
    if best.number in configs_of:  # a trial of this run (else best.yaml is already its)
        config = configs_of[best.number]
        header = f"# Study {study_name}, trial {best.number}: {monitor}={best.value:.6g}"
        lines = [header, f"# Retrain: python -m {__package__} fit --config {out / 'best.yaml'}"]
        text = yaml.safe_dump(config, sort_keys=False)
        (out / "best.yaml").write_text("\n".join(lines) + "\n" + text, encoding="utf-8")
    shown = ", ".join(f"{key}={value}" for key, value in best.params.items())
    print(
        f"best of {len(study.trials)} trials: trial {best.number}, {monitor}={best.value:.4g} "
        f"({shown}); config: {out / 'best.yaml'}",
        file=sys.stderr,
    )
    return study


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description="Optuna search over the fit's config; other options go to every trial's fit."
    )
    parser.add_argument("--space", default=DEFAULT_SPACE, help="search-space file")
    parser.add_argument("--study", default="default", help="study name (the same name resumes)")
    parser.add_argument("--n_trials", type=int, default=None, help="trials to run now")
    parser.add_argument("--search_dir", default=SEARCH_DIR, help="where studies are kept")
    own, fit_args = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    try:
        search(Path(own.space), own.study, own.n_trials, fit_args, Path(own.search_dir))
    except (SearchError, DataError, CheckpointMismatch, RunError, TuneError) as error:
        print(f"error: {str(error).strip().splitlines()[-1]}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
