"""The command line: LightningCLI builds the Trainer, model and data from configs/*.yaml.

python -m <package> fit                          # train (configs/*.yaml are read by default)
python -m <package> fit --ckpt_path last         # resume from artifacts/checkpoints/last.ckpt
python -m <package> validate|test|predict --ckpt_path artifacts/checkpoints/last.ckpt
python -m <package> fit --print_config           # the full resolved config
"""

from __future__ import annotations

import warnings

import torch
from lightning.pytorch.cli import LightningArgumentParser, LightningCLI

from .data import DataModule
from .module import Classifier

# Read from the current directory when present, so a plain `fit` uses the project's configs;
# any --config given on the command line is applied on top of them.
DEFAULT_CONFIGS = ["configs/trainer.yaml", "configs/model.yaml", "configs/data.yaml"]
SUBCOMMANDS = ("fit", "validate", "test", "predict")

# Emitted by lightning 2.6 itself on torch >= 2.13 and harmless: hidden so real warnings show.
warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\).? is deprecated")


class CLI(LightningCLI):
    def add_arguments_to_parser(self, parser: LightningArgumentParser) -> None:
        # The model's head and input follow the data, so swapping data never needs a model edit.
        parser.link_arguments("data.num_classes", "model.num_classes", apply_on="instantiate")
        parser.link_arguments("data.input_shape", "model.input_shape", apply_on="instantiate")
        # Class names and preprocessing are stored in the checkpoint with the model's hparams.
        parser.link_arguments("data.classes", "model.class_names", apply_on="instantiate")
        parser.link_arguments("data.preprocessing", "model.preprocessing", apply_on="instantiate")


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


def main() -> None:
    run()
