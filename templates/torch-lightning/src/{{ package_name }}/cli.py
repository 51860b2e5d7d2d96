"""The command line: LightningCLI builds the Trainer, model and data from configs/*.yaml.

python -m <package> fit                          # train into artifacts/runs/<timestamp>/
python -m <package> fit --run_name baseline      # ... into artifacts/runs/baseline/
python -m <package> fit --config configs/experiment/long.yaml   # an experiment on top
python -m <package> fit --ckpt_path last         # resume the latest run, in its folder
python -m <package> validate|test|predict        # the latest run's last.ckpt
python -m <package> predict --ckpt_path best     # its best checkpoint (--run_name: another run)
python -m <package> fit --print_config           # the full resolved config
python -m <package> fit --tune lr                # LR finder first (tune.py), then train
"""

from __future__ import annotations

import inspect
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI
from lightning.pytorch.utilities.exceptions import MisconfigurationException

from . import runs, tune
from .callbacks import ExportOnFitEnd
from .data import DataError, DataModule
from .module import Classifier

# Read from the current directory when present, so a plain `fit` uses the project's configs;
# any --config given on the command line is applied on top of them.
DEFAULT_CONFIGS = ["configs/trainer.yaml", "configs/model.yaml", "configs/data.yaml"]
SUBCOMMANDS = ("fit", "validate", "test", "predict")
# Loggers whose folder is the run folder (the others keep their own store and get its name).
FOLDER_LOGGERS = ("CSVLogger", "TensorBoardLogger")

# Emitted by lightning 2.6 itself on torch >= 2.13 and harmless: hidden so real warnings show.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).? is deprecated")


# Classifier arguments that shape the network or its state dict: taken from the checkpoint.
ARCHITECTURE_KEYS = (
    "model_kwargs",
    "backbone",
    "backbone_config",
    "hf_config",
    "backbone_normalization",
    "objective",
    "regression_loss",
    "class_weights",
)


class CheckpointMismatch(ValueError):
    """A command-line setting that contradicts what the checkpoint was trained with."""


def _get(node: Any, key: str, default: Any = None) -> Any:
    """`key` of a jsonargparse Namespace or a dict."""
    if isinstance(node, dict):
        return node.get(key, default)
    return getattr(node, key, default)


def _set(node: Any, key: str, value: Any) -> None:
    if isinstance(node, dict):
        node[key] = value
    else:
        setattr(node, key, value)


def _is_file_spec(ckpt_path: Any) -> bool:
    """A checkpoint path, not one of Lightning's names (`last`, `best`, `hpc`, `registry:`)."""
    if not ckpt_path or str(ckpt_path) in ("last", "best", "hpc"):
        return False
    return not str(ckpt_path).startswith("registry")


def _given_keys(args: list[str], group: str) -> set[str]:
    """Keys of `group` set by a command-line flag (`--data.image_size=32` or `... 32`)."""
    prefix = f"--{group}."
    return {arg[len(prefix) :].split("=", 1)[0] for arg in args if arg.startswith(prefix)}


class CLI(LightningCLI):
    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # The model's head and input follow the data, so swapping data never needs a model edit.
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        parser.link_arguments("data.input_shape", "model.input_shape", apply_on="instantiate")
        # Class names and preprocessing are stored in the checkpoint with the model's hparams.
        parser.link_arguments("data.classes", "model.class_names", apply_on="instantiate")
        parser.link_arguments("data.preprocessing", "model.preprocessing", apply_on="instantiate")
        # task=custom: model.objective also tells the data how to read and check `y`.
        if "objective" in inspect.signature(DataModule).parameters:
            parser.link_arguments("model.objective", "data.objective", apply_on="parse")
        # The project's own callbacks get their own config sections (checkpoint:,
        # early_stopping:, export: in trainer.yaml), outside `trainer.callbacks`: a config that
        # sets that list (an experiment) adds to them and can never drop them.
        parser.add_lightning_class_args(ModelCheckpoint, "checkpoint")
        parser.add_lightning_class_args(EarlyStopping, "early_stopping")
        parser.set_defaults({"early_stopping.monitor": "val_loss"})
        parser.add_lightning_class_args(ExportOnFitEnd, "export")
        parser.add_argument(
            "--run_name",
            type=str | None,
            default=None,
            help="fit: the run folder's name (default: the start time); other commands and "
            "`fit --ckpt_path last`: the run to use (default: the latest)",
        )
        parser.add_argument("--runs_dir", type=str, default=runs.RUNS_DIR, help="run folders")
        parser.add_argument(
            "--compile",
            type=bool | dict[str, Any],
            default=False,
            help="torch.compile the network: true, or torch.compile's options "
            '(\'{"mode": "max-autotune"}\'); in place, so checkpoints load without it',
        )
        # Lightning's Tuner before fit (tune.py): the finders' settings get config sections.
        parser.add_argument(
            "--tune",
            type=tune.TuneMode | None,
            default=None,
            help="fit: run the LR finder (lr), the batch-size finder (batch_size) or both "
            "before training, and train with what they found",
        )
        parser.add_argument(
            "--tune_only",
            type=bool,
            default=False,
            help="fit --tune: write the values found (run folder's tune/tuned.yaml), no training",
        )
        parser.add_class_arguments(tune.LRFinderSettings, "lr_finder", instantiate=False)
        parser.add_class_arguments(
            tune.BatchSizeFinderSettings, "batch_size_finder", instantiate=False
        )

    def parse_arguments(self, parser: LightningArgumentParser, args: ArgsType) -> None:
        # Remembered so that a flag given on the command line can be told from a config default.
        given = sys.argv[1:] if args is None else args
        self.given_args = [str(arg) for arg in given] if isinstance(given, list) else []
        super().parse_arguments(parser, args)

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        self._drop_lr_monitor_without_logger(config)
        self.stored_classes: list[str] | None = None
        self.starts_run: tuple[str, str] | None = None
        self.run_folder = self._place_run(config)
        checkpoint = Path(config.ckpt_path) if _is_file_spec(config.ckpt_path) else None
        if checkpoint is not None:
            self._data_from_checkpoint(config, checkpoint)

    def after_instantiate_classes(self) -> None:
        # Same number of classes but other names (another folder) would load without an error
        # and label every prediction wrongly.
        found = list(getattr(self.datamodule, "classes", []) or [])
        if self.stored_classes is not None and found != self.stored_classes:
            raise CheckpointMismatch(
                f"the data has classes {found}, the checkpoint was trained on {self.stored_classes}"
            )
        config = self.config[self.subcommand] if self.subcommand else self.config
        if self.starts_run and runs.is_rank_zero():
            # Only now: a config the Trainer refused (a GPU setting on a CPU machine) leaves
            # the latest run as it was; so does a tune-only run (no checkpoint to use).
            self.run_folder.mkdir(parents=True, exist_ok=True)
            if not (_get(config, "tune") and _get(config, "tune_only")):
                runs.set_latest(*self.starts_run)
            print(f"run folder: {self.run_folder}", file=sys.stderr)
        options = _get(config, "compile")
        if options:
            # nn.Module.compile works in place: parameter names (and so checkpoints) are those
            # of the plain network. The first steps are slow while it compiles.
            self.model.net.compile(**(options if isinstance(options, dict) else {}))

    def fit(self, model: Any, datamodule: Any = None, **kwargs: Any) -> None:
        """`fit` (LightningCLI calls this instead of Trainer.fit): the finders first when
        `--tune` asks (tune.py), on this fit's own Trainer, model and data."""
        config = self.config["fit"]
        mode = _get(config, "tune")
        if mode:
            if kwargs.get("ckpt_path"):
                raise tune.TuneError(
                    "--tune starts a new run: drop --ckpt_path (a resumed run keeps its "
                    "learning rate, optimizer state and batch size)"
                )
            tune.run_finders(
                self.trainer,
                model,
                datamodule,
                mode,
                tune.LRFinderSettings(**config.lr_finder.as_dict()),
                tune.BatchSizeFinderSettings(**config.batch_size_finder.as_dict()),
                self.run_folder,
            )
            if _get(config, "tune_only"):
                return
        self.trainer.fit(model, datamodule=datamodule, **kwargs)

    def _place_run(self, config: Any) -> Path:
        """Decide the run folder and the checkpoint, and point every output of the run there.

        fit: a new folder (`--run_name` or the start time), made the latest; with
        `--ckpt_path last|best` the latest run (or `--run_name`) continues in its own folder.
        validate/test/predict: `--ckpt_path` unset, `last` or `best` means that checkpoint of
        the latest run (or `--run_name`); a path is used as given.
        """
        root, name, ckpt = str(config.runs_dir), _get(config, "run_name"), config.ckpt_path
        resolvable = ckpt in ("last", "best") or (ckpt is None and self.subcommand != "fit")
        if resolvable:
            path = runs.checkpoint(ckpt or "last", root, name)
            config.ckpt_path = str(path)
            name = runs.owning_run(path, root)
        elif _is_file_spec(ckpt):
            name = runs.owning_run(Path(ckpt), root) or (name if self.subcommand == "fit" else None)
        if self.subcommand == "fit" and name is None:
            name = runs.new_run_name(root)
        elif self.subcommand == "fit" and ckpt is None and runs.is_rank_zero():
            if (Path(root) / name / "checkpoints").is_dir() and not os.environ.get(
                runs.RUN_NAME_ENV
            ):
                raise runs.RunError(
                    f"run {name!r} exists in {root}: resume it with --ckpt_path last, or "
                    "pick another --run_name"
                )
        folder = Path(root) / name if name else Path(_get(config.trainer, "default_root_dir"))
        config.trainer.default_root_dir = str(folder)
        config.checkpoint.dirpath = str(folder / "checkpoints")
        self._log_into(config, folder, name)
        if _get(config.trainer, "fast_dev_run"):
            return folder.absolute()  # a smoke test saves nothing: the latest stays the latest
        if self.subcommand == "fit" and name:
            # Every process of a launch (Lightning's DDP launcher re-runs this command) uses
            # the same folder; run() restores the variable afterwards.
            os.environ[runs.RUN_NAME_ENV] = name
            self.starts_run = (root, name)  # made the latest once the Trainer is built
        return folder.absolute()

    def _log_into(self, config: Any, folder: Path, name: str | None) -> None:
        """The logger writes into the run folder: logs/version_N (one per fit or resumed
        part, so a resume never overwrites the metrics before it), test/version_N, ..."""
        logger = _get(config.trainer, "logger")
        if not logger or isinstance(logger, list) or not _get(logger, "class_path"):
            return
        kind = str(_get(logger, "class_path")).rsplit(".", 1)[-1]
        init = _get(logger, "init_args")
        sub = "" if self.subcommand == "fit" else str(self.subcommand)
        if kind in FOLDER_LOGGERS:
            _set(init, "save_dir", str(folder))
            _set(init, "name", sub or "logs")
            _set(init, "version", None)
        elif kind == "MLFlowLogger" and name:
            _set(init, "run_name", f"{name}-{sub}" if sub else name)
        elif kind == "WandbLogger" and name:
            _set(init, "save_dir", str(folder))
            _set(init, "name", f"{name}-{sub}" if sub else name)

    def _data_from_checkpoint(self, config: Any, checkpoint: Path) -> None:
        """The checkpoint is the contract: its data settings decide the model's input.

        Keys in DataModule.CHECKPOINT_KEYS (the data and its preprocessing) are taken from
        the checkpoint unless given on the command line. A given preprocessing value that
        differs is refused; another data folder or file is accepted if its classes match.
        """
        stored = torch.load(checkpoint, map_location="cpu", weights_only=True)
        data_hparams = stored.get("datamodule_hyper_parameters") or {}
        model_hparams = stored.get("hyper_parameters") or {}
        if model_hparams.get("class_names"):
            self.stored_classes = list(model_hparams["class_names"])
        given = _given_keys(self.given_args, "data")
        taken = []
        for key in DataModule.CHECKPOINT_KEYS:
            if key not in data_hparams:
                continue
            value, current = data_hparams[key], _get(config.data, key)
            if key not in given:
                if current != value:
                    setattr(config.data, key, value)
                    taken.append(f"{key}={value}")
            elif current != value and not key.startswith("data_"):
                raise CheckpointMismatch(
                    f"--data.{key}={current} contradicts the checkpoint {checkpoint} "
                    f"(trained with {key}={value}); drop the flag to use the checkpoint's value"
                )
        if taken:
            print(f"data settings from {checkpoint}: {', '.join(taken)}", file=sys.stderr)
        self._architecture_from_checkpoint(config, checkpoint, model_hparams)

    def _architecture_from_checkpoint(
        self, config: Any, checkpoint: Path, model_hparams: dict[str, Any]
    ) -> None:
        """The network is built as the checkpoint's was, not from model.yaml: a project whose
        config names a hub backbone would otherwise download it (or fail offline) before the
        checkpoint's weights replace it, and a tiny-preset checkpoint would not fit the default
        network. Lightning applies a checkpoint's hparams only to a `--ckpt_path` file given
        on the command line; `last`, `best` and the default latest run are resolved here."""
        given = {key.split(".")[0] for key in _given_keys(self.given_args, "model")}
        missing = object()
        taken = []
        for key in ARCHITECTURE_KEYS:
            if key not in model_hparams or key in given:
                continue
            value, current = model_hparams[key], _get(config.model, key, missing)
            if current is missing or current == value:
                continue
            _set(config.model, key, value)
            if key == "objective" and _get(config.data, key, missing) is not missing:
                _set(config.data, key, value)  # linked at parse time: set it here too
            taken.append(key)
        if taken:
            print(f"network settings from {checkpoint}: {', '.join(taken)}", file=sys.stderr)

    @staticmethod
    def _drop_lr_monitor_without_logger(config: Any) -> None:
        # LearningRateMonitor refuses to run without a logger; `trainer.logger: false` is a
        # documented setting, so the monitor steps aside instead of crashing the run.
        if _get(config.trainer, "logger") is not False:
            return
        callbacks = _get(config.trainer, "callbacks") or []
        kept = [
            callback
            for callback in callbacks
            if not str(_get(callback, "class_path", "")).endswith("LearningRateMonitor")
        ]
        if len(kept) != len(callbacks):
            config.trainer.callbacks = kept
            print("trainer.logger=false: LearningRateMonitor is off (no logger)", file=sys.stderr)


def run(args: list[str] | None = None, callbacks: list[Any] | None = None) -> CLI:
    """Run one subcommand (`args` like sys.argv[1:]; None reads sys.argv) and return the CLI.

    `callbacks`: objects added to the config's callbacks (the search's pruning callback)."""
    # TF32 tensor cores for the matmuls that stay in fp32 (Ampere and newer GPUs; ignored on
    # CPU): much faster at a precision that training does not notice. "highest" turns it off.
    torch.set_float32_matmul_precision("high")
    inherited = os.environ.get(runs.RUN_NAME_ENV)
    try:
        return CLI(
            Classifier,
            DataModule,
            args=args,
            # Each run folder gets the resolved config; a resumed run rewrites it.
            save_config_kwargs={"overwrite": True},
            trainer_defaults={"callbacks": list(callbacks)} if callbacks else None,
            parser_kwargs={name: {"default_config_files": DEFAULT_CONFIGS} for name in SUBCOMMANDS},
        )
    finally:
        # The run name is handed to child processes only: the next run in this process
        # (tests, a search) picks its own.
        if inherited is None:
            os.environ.pop(runs.RUN_NAME_ENV, None)
        else:
            os.environ[runs.RUN_NAME_ENV] = inherited


def _one_line(error: BaseException) -> str:
    # An error raised in a DataLoader worker arrives with the worker's traceback in its text.
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    last = lines[-1] if lines else type(error).__name__
    for name in ("DataError", "CheckpointMismatch", "RunError", "TuneError"):
        last = last.split(f"{name}: ", 1)[-1]
    return last


def main() -> None:
    try:
        run()
    except (DataError, CheckpointMismatch, runs.RunError, tune.TuneError) as error:
        # Bad data, a contradicting flag, no run to use: one line naming it, no traceback.
        print(f"error: {_one_line(error)}", file=sys.stderr)
        raise SystemExit(2) from None
    except MisconfigurationException as error:
        # A setting the machine cannot run, above all a GPU config on a machine without one.
        hint = ""
        if "gpu" in str(error).lower() and not torch.cuda.is_available():
            hint = " (no GPU here: add --trainer.accelerator=cpu --trainer.precision=32-true)"
        print(f"error: {_one_line(error)}{hint}", file=sys.stderr)
        raise SystemExit(2) from None
