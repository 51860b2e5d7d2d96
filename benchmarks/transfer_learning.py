"""Transfer learning against training from scratch, offline, in a generated torch-lightning project.

    .venv/bin/python benchmarks/transfer_learning.py --python PATH/TO/project-env/bin/python \
        [--seeds 0 1 2] [--epochs 30] [--per-class 10] [--out benchmarks/results]

No model hub is reachable here, so the mechanism is measured with a backbone pretrained on
the spot: an image-classification project is rendered (mlscaffold, this interpreter) and
driven through its own CLI (`--python`: an environment with the project's dependencies).

1. "Pretraining": the tiny ResNet of configs/tiny.yaml (random weights) is fitted on
   scikit-learn's digits 0-4 (all ~900 images, PNGs upscaled to 32 x 32), and its backbone
   (the Transformers ResNetModel, without the classification head) is saved with
   `save_pretrained` into a folder, with a preprocessor_config.json (mean/std).
2. Fine-tuning on a small sample of the disjoint classes 5-9 (`--per-class` images each for
   training, 2 for validation), with the same architecture, seed, steps and data:
   `model.backbone=<that folder>` (a new head; full fine-tune at the project's default
   backbone_lr_ratio 0.1, with FreezeBackbone for the first half, or a linear probe) against
   the same architecture from its config with random weights.
3. Each run predicts the held-out rest of digits 5-9 (~800 images, never seen) with
   `predict --data.predict_dir`; accuracy is read from predictions.csv.

A benchmark, not a test: it takes a few minutes on 2 CPU cores and asserts nothing.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PKG = "tlbench"
PRETRAIN_CLASSES = range(0, 5)
FINETUNE_CLASSES = range(5, 10)
SIZE = 32
CPU = [
    "--trainer.accelerator=cpu",
    "--trainer.devices=1",
    "--trainer.precision=32-true",
    "--trainer.enable_progress_bar=false",
    "--trainer.enable_model_summary=false",
    "--trainer.log_every_n_steps=1",
]
COMMON = [
    "--config",
    "configs/tiny.yaml",
    f"--data.image_size={SIZE}",
    "--data.channels=1",
    # digits: no mirror (a flipped 5 is no 5); the project's crop and jitter otherwise
    '--data.augment={"crop_scale": [0.8, 1.0], "hflip": false, "brightness": 0.1, "contrast": 0.1}',
    "--early_stopping.patience=100000",  # same number of steps for every variant
]
SAVE_BACKBONE = """
import json, sys
from pathlib import Path
from {pkg}.backbones import IMAGENET_MEAN, IMAGENET_STD
from {pkg}.module import Classifier

model = Classifier.load_from_checkpoint(sys.argv[1], map_location="cpu")
hf = model.net.model  # the Transformers ResNetForImageClassification
backbone = getattr(hf, hf.base_model_prefix)  # ResNetModel: no classification head
out = Path(sys.argv[2])
backbone.save_pretrained(out)
# the normalisation the backbone was trained with (a config build uses ImageNet's)
processor = {{"image_mean": IMAGENET_MEAN, "image_std": IMAGENET_STD, "size": {{"shortest_edge": {size}}}}}
(out / "preprocessor_config.json").write_text(json.dumps(processor))
print(sum(p.numel() for p in backbone.parameters()))
"""


def write_digits(root: Path, per_class_train: int, seed: int = 0) -> dict[str, int]:
    """PNG folders: pretrain/ (0-4), finetune/ (5-9, per_class_train + 2 each), heldout/."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    counts = {"pretrain": 0, "finetune": 0, "heldout": 0}
    for label in range(10):
        indices = rng.permutation(np.flatnonzero(digits.target == label))
        for rank, index in enumerate(indices):
            if label in PRETRAIN_CLASSES:
                split = "pretrain"
            else:
                split = "finetune" if rank < per_class_train + 2 else "heldout"
            folder = root / split / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            pixels = (digits.images[index] * (255.0 / 16.0)).astype("uint8")
            image = Image.fromarray(pixels, mode="L").resize((SIZE, SIZE), Image.BILINEAR)
            image.save(folder / f"{index:04d}.png")
            counts[split] += 1
    return counts


def cli(python: str, project: Path, *args: str) -> float:
    """Run the project's CLI (python -m <pkg> ...) in the project folder; seconds taken."""
    env = {**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1"}
    env["TRANSFORMERS_OFFLINE"] = "1"
    started = time.perf_counter()
    result = subprocess.run(
        [python, *args], cwd=project, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(args)}\n{result.stderr[-3000:]}")
    return time.perf_counter() - started


def heldout_accuracy(python: str, project: Path, run_name: str) -> float:
    cli(
        python,
        project,
        "-m",
        PKG,
        "predict",
        *CPU,
        f"--run_name={run_name}",
        "--data.predict_dir=data/heldout",
    )
    with open(project / "artifacts" / "predictions.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    right = sum(row["source"].split("/")[0] == row["class"] for row in rows)
    return right / len(rows)


def main() -> int:
    if sys.argv[1:2] == ["--write-digits"]:  # a helper step, run by the project's interpreter
        print(json.dumps(write_digits(Path(sys.argv[2]), int(sys.argv[3]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", required=True, help="interpreter with the project's deps")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30, help="fine-tuning epochs")
    parser.add_argument("--pretrain-epochs", type=int, default=15)
    parser.add_argument("--per-class", type=int, default=10, help="training images per class")
    parser.add_argument("--out", type=Path, default=None, help="folder for the JSON and table")
    parser.add_argument("--keep", type=Path, default=None, help="render here and keep it")
    args = parser.parse_args()

    from mlscaffold import scaffold

    with tempfile.TemporaryDirectory(prefix="transfer-") as tmp:
        project = args.keep or Path(tmp) / "tlbench"
        answers = {
            "project_name": "tlbench",
            "package_name": PKG,
            "stack": "torch-lightning",
            "task": "image-classification",
            "hardware": "cpu",
            "goal": "research",
            "tracking": "csv",
            "ci": "none",
        }
        scaffold.render(project, answers)
        # the images are written by --python (numpy, scikit-learn, Pillow are the project's)
        written = subprocess.run(
            [args.python, __file__, "--write-digits", str(project / "data"), str(args.per_class)],
            capture_output=True,
            text=True,
            check=True,
        )
        counts = json.loads(written.stdout.strip().splitlines()[-1])
        print(f"images: {counts}", flush=True)

        # 1. pretrain on digits 0-4, save the backbone
        pretrain_s = cli(
            args.python,
            project,
            "-m",
            PKG,
            "fit",
            *COMMON,
            *CPU,
            "--data.data_dir=data/pretrain",
            "--data.test_fraction=0",
            "--data.batch_size=32",
            f"--trainer.max_epochs={args.pretrain_epochs}",
            "--run_name=pretrain",
        )
        metrics = project / "artifacts" / "runs" / "pretrain" / "logs" / "version_0" / "metrics.csv"
        with open(metrics, newline="") as f:
            scores = [row["val_acc"] for row in csv.DictReader(f) if row.get("val_acc")]
        pretrain_acc = float(scores[-1])
        backbone_dir = project / "artifacts" / "pretrained-backbone"
        ckpt = project / "artifacts" / "runs" / "pretrain" / "checkpoints" / "last.ckpt"
        script = SAVE_BACKBONE.format(pkg=PKG, size=SIZE)
        env = {**os.environ, "PYTHONPATH": str(project / "src"), "HF_HUB_OFFLINE": "1"}
        saved = subprocess.run(
            [args.python, "-c", script, str(ckpt), str(backbone_dir)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        backbone_params = int(saved.stdout.strip().splitlines()[-1])
        print(
            f"pretrained on digits 0-4 in {pretrain_s:.0f} s (val_acc {pretrain_acc:.3f}); "
            "backbone saved",
            flush=True,
        )

        # 2. fine-tune on digits 5-9, per_class images each, four ways
        half = max(1, args.epochs // 2)
        variants = {
            "from scratch (same architecture, random weights)": [
                "--model.backbone_lr_ratio=1.0",
            ],
            "pretrained backbone, full fine-tune (backbone at 0.1 x lr)": [
                f"--model.backbone={backbone_dir}",
                "--model.freeze_backbone_epochs=0",
                "--model.backbone_lr_ratio=0.1",
            ],
            f"pretrained + FreezeBackbone ({half} head-only epochs, then 0.1 x lr)": [
                f"--model.backbone={backbone_dir}",
                f"--model.freeze_backbone_epochs={half}",
                "--model.backbone_lr_ratio=0.1",
            ],
            "pretrained, linear probe (backbone frozen throughout)": [
                f"--model.backbone={backbone_dir}",
                f"--model.freeze_backbone_epochs={args.epochs}",
            ],
        }
        results: dict[str, list[float]] = {name: [] for name in variants}
        seconds: dict[str, list[float]] = {name: [] for name in variants}
        for seed in args.seeds:
            for index, (name, flags) in enumerate(variants.items()):
                run_name = f"ft-{index}-seed{seed}"
                seconds[name].append(
                    cli(
                        args.python,
                        project,
                        "-m",
                        PKG,
                        "fit",
                        *COMMON,
                        *CPU,
                        *flags,
                        "--data.data_dir=data/finetune",
                        f"--data.val_fraction={2 / (args.per_class + 2)}",
                        "--data.test_fraction=0",
                        "--data.batch_size=10",
                        f"--trainer.max_epochs={args.epochs}",
                        f"--seed_everything={seed}",
                        f"--run_name={run_name}",
                    )
                )
                results[name].append(heldout_accuracy(args.python, project, run_name))
                print(f"seed {seed}: {name}: {results[name][-1]:.3f}", flush=True)

    steps = args.epochs * -(-(args.per_class * len(FINETUNE_CLASSES)) // 10)
    lines = [
        f"Fine-tuning on digits 5-9, {args.per_class} training images per class "
        f"({args.epochs} epochs, batch 10, {steps} steps, lr 0.003, seeds {args.seeds}); "
        f"held-out accuracy on {counts['heldout']} images of digits 5-9. Backbone "
        f"pretrained on digits 0-4 ({counts['pretrain']} images, {args.pretrain_epochs} "
        f"epochs, {backbone_params / 1e3:.0f} k parameters, validation accuracy on digits "
        f"0-4 {pretrain_acc:.3f}).",
        "",
        "| fine-tuning | held-out accuracy (mean) | per seed | fit time (s, mean) |",
        "|---|---|---|---|",
    ]
    for name in variants:
        accs = results[name]
        per_seed = " / ".join(f"{a:.3f}" for a in accs)
        lines.append(
            f"| {name} | {statistics.mean(accs):.3f} | {per_seed} | "
            f"{statistics.mean(seconds[name]):.0f} |"
        )
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        payload = {
            "results": results,
            "seconds": seconds,
            "counts": counts,
            "pretrain_accuracy": pretrain_acc,
            "args": {k: str(v) for k, v in vars(args).items()},
        }
        (args.out / "transfer_learning.json").write_text(json.dumps(payload, indent=2))
        (args.out / "transfer_learning.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
