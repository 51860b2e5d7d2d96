"""Run folders: every `fit` writes into artifacts/runs/<name>/, and `latest` names the newest.

    artifacts/runs/
      20261201-231500/       one fit: checkpoints/, metrics, config.yaml, curves.png, export/
      baseline/              a fit started with --run_name baseline
      latest -> baseline     symlink (where the system allows one), for your shell
      latest.txt             the same name as text: what the code reads (works on Windows too)

validate, test, predict, export and a resumed fit (`--ckpt_path last`) use the latest run
unless `--run_name` (or an explicit checkpoint path) says otherwise.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

RUNS_DIR = "artifacts/runs"
LATEST = "latest"
LATEST_FILE = "latest.txt"
# A launcher's parent process hands its run name to the processes it starts (Lightning's
# DDP launcher re-runs the command line), so every rank writes into the same folder.
RUN_NAME_ENV = "LIGHTNING_RUN_NAME"


class RunError(ValueError):
    """No run (or no checkpoint) where the command expects one."""


def is_rank_zero() -> bool:
    """True in the process that owns files: rank 0 under torchrun/SLURM/DDP, or alone."""
    for var in ("RANK", "SLURM_PROCID", "LOCAL_RANK"):
        if os.environ.get(var, "0") != "0":
            return False
    return True


def new_run_name(runs_dir: str | Path = RUNS_DIR) -> str:
    """A fresh name: the launcher's (RUN_NAME_ENV) or the start time, never an existing one."""
    inherited = os.environ.get(RUN_NAME_ENV)
    if inherited:
        return inherited
    base = time.strftime("%Y%m%d-%H%M%S")
    name, n = base, 1
    while (Path(runs_dir) / name).exists():
        name, n = f"{base}-{n}", n + 1
    return name


def latest_run(runs_dir: str | Path = RUNS_DIR) -> str | None:
    """The name in latest.txt (written by the newest fit), or None before the first fit."""
    path = Path(runs_dir) / LATEST_FILE
    if not path.is_file():
        return None
    name = path.read_text(encoding="utf-8").strip()
    return name or None


def set_latest(runs_dir: str | Path, name: str) -> None:
    """Point `latest` (text file, and symlink where possible) at run `name`."""
    root = Path(runs_dir)
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{LATEST_FILE}.tmp"
    tmp.write_text(name + "\n", encoding="utf-8")
    tmp.replace(root / LATEST_FILE)  # atomic: a reader never sees half a name
    link = root / LATEST
    try:
        if link.is_symlink() or link.is_file():
            link.unlink()
        if not link.exists():
            link.symlink_to(name, target_is_directory=True)
    except OSError:
        pass  # no symlinks here (Windows without developer mode): latest.txt is enough


def run_dir(runs_dir: str | Path, name: str | None) -> Path:
    """Folder of run `name`, or of the latest run when `name` is None."""
    name = name or latest_run(runs_dir)
    if name is None:
        raise RunError(f"no run in {runs_dir} yet: train one first (`fit`) or give a checkpoint")
    folder = Path(runs_dir) / name
    if not folder.is_dir():
        raise RunError(f"no run {name!r} in {runs_dir}")
    return folder


def checkpoint(spec: str, runs_dir: str | Path = RUNS_DIR, name: str | None = None) -> Path:
    """`last` or `best` of a run (the latest unless `name`), or `spec` itself as a path.

    `best` is the lowest-val_loss checkpoint ModelCheckpoint kept (best-*.ckpt).
    """
    if spec not in ("last", "best"):
        path = Path(spec)
        if not path.is_file():
            raise RunError(f"checkpoint {spec}: no such file")
        return path
    folder = run_dir(runs_dir, name) / "checkpoints"
    found = sorted(folder.glob("last.ckpt" if spec == "last" else "best*.ckpt"))
    if not found:
        raise RunError(f"run {folder.parent.name!r} has no {spec} checkpoint in {folder}")
    return max(found, key=lambda p: p.stat().st_mtime)


def owning_run(path: Path, runs_dir: str | Path = RUNS_DIR) -> str | None:
    """Name of the run whose checkpoints/ folder holds `path`, if it lies in one."""
    try:
        relative = path.resolve().relative_to(Path(runs_dir).resolve())
    except ValueError:
        return None
    parts = relative.parts
    return parts[0] if len(parts) >= 3 and parts[1] == "checkpoints" else None
