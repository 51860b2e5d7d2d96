"""The command line: LightningCLI builds the Trainer, detector and data from configs/*.yaml.

python -m <package> fit                                   # train (configs/*.yaml by default)
python -m <package> fit --config configs/tiny.yaml        # the offline tiny preset
python -m <package> validate|test --ckpt_path artifacts/checkpoints/last.ckpt
python -m <package> predict --ckpt_path artifacts/checkpoints/last.ckpt --data.predict_dir DIR
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import torch
from lightning.pytorch.cli import ArgsType, LightningArgumentParser, LightningCLI

from .data import DataError, DataModule
from .module import Detector

DEFAULT_CONFIGS = ["configs/trainer.yaml", "configs/model.yaml", "configs/data.yaml"]
SUBCOMMANDS = ("fit", "validate", "test", "predict")
# Model settings that only change inference: given on the command line, they win over the
# checkpoint's (LightningCLI puts a checkpoint's hyperparameters over the command line).
INFERENCE_KEYS = ("score_threshold",)

# Emitted by lightning 2.6 itself on torch >= 2.13 and harmless: hidden so real warnings show.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).? is deprecated")


class CheckpointMismatch(ValueError):
    """A checkpoint that does not fit the data or the command line."""


def _get(node: Any, key: str, default: Any = None) -> Any:
    return node.get(key, default) if isinstance(node, dict) else getattr(node, key, default)


def _given(args: list[str], flag: str) -> str | None:
    """The last value of `flag` on the command line (`--flag=value` or `--flag value`)."""
    found = None
    for index, arg in enumerate(args):
        if arg.startswith(flag + "="):
            found = arg.split("=", 1)[1]
        elif arg == flag and index + 1 < len(args):
            found = args[index + 1]
    return found


class CLI(LightningCLI):
    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # The detector's head follows the data: new data never needs a model edit.
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        parser.link_arguments("data.classes", "model.class_names", apply_on="instantiate")
        parser.link_arguments("data.image_size", "model.image_size", apply_on="instantiate")

    def parse_arguments(self, parser: LightningArgumentParser, args: ArgsType) -> None:
        given = sys.argv[1:] if args is None else args
        self.given_args = [str(arg) for arg in given] if isinstance(given, list) else []
        super().parse_arguments(parser, args)

    def before_instantiate_classes(self) -> None:
        """A checkpoint is the contract: its data settings and architecture are used.

        The data keys in DataModule.CHECKPOINT_KEYS come from the checkpoint unless given on
        the command line, and the detector is rebuilt from the stored architecture
        (`hf_config`), so validate/test/predict/resume need neither data flags nor the hub.
        """
        config = self.config[self.subcommand] if self.subcommand else self.config
        self.stored_classes = None
        for key in INFERENCE_KEYS:  # floats, already type-checked by the parser
            value = _given(self.given_args, f"--model.{key}")
            if value is not None:
                setattr(config.model, key, float(value))
        path = _get(config, "ckpt_path")
        if not path or path in ("best", "hpc") or str(path).startswith("registry"):
            return
        if path == "last":
            found = sorted(
                Path("artifacts/checkpoints").glob("last*.ckpt"), key=lambda p: p.stat().st_mtime
            )
            if not found:
                return
            path = found[-1]
        if not Path(path).is_file():
            raise CheckpointMismatch(f"--ckpt_path {path}: no such file")
        stored = torch.load(path, map_location="cpu", weights_only=True)
        data_hp = stored.get("datamodule_hyper_parameters") or {}
        model_hp = stored.get("hyper_parameters") or {}
        given = {
            a[len("--data.") :].split("=", 1)[0] for a in self.given_args if a.startswith("--data.")
        }
        for key in DataModule.CHECKPOINT_KEYS:
            if key in data_hp and key not in given:
                setattr(config.data, key, data_hp[key])
        if model_hp.get("hf_config"):
            config.model.hf_config = model_hp["hf_config"]
        self.stored_classes = model_hp.get("class_names")

    def after_instantiate_classes(self) -> None:
        found = list(getattr(self.datamodule, "classes", []) or [])
        if self.stored_classes is not None and found != list(self.stored_classes):
            raise CheckpointMismatch(
                f"the data has classes {found}, the checkpoint was trained on {self.stored_classes}"
            )


def run(args: list[str] | None = None) -> CLI:
    """Run one subcommand (`args` like sys.argv[1:]; None reads sys.argv) and return the CLI."""
    torch.set_float32_matmul_precision("high")  # TF32 on Ampere+ GPUs; no effect on CPU
    return CLI(
        Detector,
        DataModule,
        args=args,
        save_config_kwargs={"overwrite": True},
        parser_kwargs={name: {"default_config_files": DEFAULT_CONFIGS} for name in SUBCOMMANDS},
    )


def _one_line(error: BaseException) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    last = lines[-1] if lines else type(error).__name__
    for name in ("DataError", "CheckpointMismatch"):
        last = last.split(f"{name}: ", 1)[-1]
    return last


def main() -> None:
    try:
        run()
    except (DataError, CheckpointMismatch) as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        raise SystemExit(2) from None
