"""The command line: LightningCLI builds the Trainer, model and data from configs/*.yaml.

python -m <package> fit                          # train (configs/*.yaml are read by default)
python -m <package> fit --ckpt_path last         # resume from artifacts/checkpoints/last.ckpt
python -m <package> validate|test|predict --ckpt_path artifacts/checkpoints/last.ckpt
python -m <package> fit --print_config           # the full resolved config
"""

from __future__ import annotations

import inspect
import sys
import warnings
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI

from .data import DataError, DataModule
from .module import Classifier

# Read from the current directory when present, so a plain `fit` uses the project's configs;
# any --config given on the command line is applied on top of them.
DEFAULT_CONFIGS = ["configs/trainer.yaml", "configs/model.yaml", "configs/data.yaml"]
SUBCOMMANDS = ("fit", "validate", "test", "predict")

# Emitted by lightning 2.6 itself on torch >= 2.13 and harmless: hidden so real warnings show.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).? is deprecated")


class CheckpointMismatch(ValueError):
    """A command-line setting that contradicts what the checkpoint was trained with."""


def _get(node: Any, key: str, default: Any = None) -> Any:
    """`key` of a jsonargparse Namespace or a dict."""
    if isinstance(node, dict):
        return node.get(key, default)
    return getattr(node, key, default)


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

    def parse_arguments(self, parser: LightningArgumentParser, args: ArgsType) -> None:
        # Remembered so that a flag given on the command line can be told from a config default.
        given = sys.argv[1:] if args is None else args
        self.given_args = [str(arg) for arg in given] if isinstance(given, list) else []
        super().parse_arguments(parser, args)

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        self._drop_lr_monitor_without_logger(config)
        self.stored_classes: list[str] | None = None
        checkpoint = self._checkpoint_file(config)
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

    def _checkpoint_file(self, config: Any) -> Path | None:
        """The checkpoint this run starts from (`--ckpt_path`, `last` resolved), if any."""
        ckpt_path = _get(config, "ckpt_path")
        if not ckpt_path or ckpt_path in ("best", "hpc") or str(ckpt_path).startswith("registry"):
            return None  # Lightning's own names for checkpoints it tracks: it resolves them
        if ckpt_path != "last":
            path = Path(ckpt_path)
            if not path.is_file():
                raise CheckpointMismatch(f"--ckpt_path {ckpt_path}: no such file")
            return path
        # `last`: what Lightning resumes from, the newest last*.ckpt of the ModelCheckpoints.
        folders = [
            _get(_get(callback, "init_args", {}), "dirpath")
            for callback in _get(config.trainer, "callbacks") or []
            if str(_get(callback, "class_path", "")).endswith("ModelCheckpoint")
        ]
        found = [p for folder in folders if folder for p in Path(folder).glob("last*.ckpt")]
        return max(found, key=lambda p: p.stat().st_mtime) if found else None

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


def run(args: list[str] | None = None) -> CLI:
    """Run one subcommand (`args` like sys.argv[1:]; None reads sys.argv) and return the CLI."""
    # TF32 tensor cores for the matmuls that stay in fp32 (Ampere and newer GPUs; ignored on
    # CPU): much faster at a precision that training does not notice. "highest" turns it off.
    torch.set_float32_matmul_precision("high")
    return CLI(
        Classifier,
        DataModule,
        args=args,
        # Each run's logger folder gets the resolved config; reruns may overwrite it.
        save_config_kwargs={"overwrite": True},
        parser_kwargs={name: {"default_config_files": DEFAULT_CONFIGS} for name in SUBCOMMANDS},
    )


def _one_line(error: BaseException) -> str:
    # An error raised in a DataLoader worker arrives with the worker's traceback in its text.
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    last = lines[-1] if lines else type(error).__name__
    for name in ("DataError", "CheckpointMismatch"):
        last = last.split(f"{name}: ", 1)[-1]
    return last


def main() -> None:
    try:
        run()
    except (DataError, CheckpointMismatch) as error:
        # Bad data or a contradicting flag: one line naming the problem, no traceback.
        print(f"error: {_one_line(error)}", file=sys.stderr)
        raise SystemExit(2) from None
