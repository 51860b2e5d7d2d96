"""Command-line pieces shared by the tests (imported by name: tests/ is on sys.path)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [ROOT / "configs" / name for name in ("trainer.yaml", "model.yaml", "data.yaml")]
# Image classification: the offline tiny preset (the same backbone architecture from its
# config, random weights) on top, so no test downloads the pretrained backbone.
CONFIGS += [path for path in [ROOT / "configs" / "tiny.yaml"] if path.is_file()]

# On top of the shipped configs, whatever hardware they target: one CPU process, float32,
# no progress bar, a log line every step (tests run a handful of batches: with the shipped
# interval Lightning warns, and warnings are errors); tests then add their own limits.
CPU = [
    "--trainer.accelerator=cpu",
    "--trainer.devices=1",
    "--trainer.strategy=auto",
    "--trainer.precision=32-true",
    "--trainer.enable_progress_bar=false",
    "--trainer.enable_model_summary=false",
    "--trainer.log_every_n_steps=1",
]


def config_args(subcommand: str) -> list[str]:
    """`subcommand --config configs/trainer.yaml --config ... ` with absolute paths."""
    args = [subcommand]
    for path in CONFIGS:
        args += ["--config", str(path)]
    return args


def runs_root(workdir: Path) -> Path:
    """The run folders of a project run from `workdir` (runs_dir in configs/trainer.yaml)."""
    return workdir / "artifacts" / "runs"


def last_checkpoint(workdir: Path) -> Path:
    """last.ckpt of the latest run (artifacts/runs/latest.txt names it)."""
    name = (runs_root(workdir) / "latest.txt").read_text(encoding="utf-8").strip()
    return runs_root(workdir) / name / "checkpoints" / "last.ckpt"
