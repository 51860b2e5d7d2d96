"""Project callbacks: throughput, training-curve PNG and a CSV prediction writer."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import BasePredictionWriter, Callback


def _batch_size(batch: Any) -> int:
    first = batch[0] if isinstance(batch, (list, tuple)) else batch
    return len(first)


class Throughput(Callback):
    """Logs `train_samples_per_sec` per epoch (all processes), training steps only.

    The clock stops at the last training batch, so validation time does not count.
    """

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._start = self._end = time.perf_counter()
        self._samples = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._samples += _batch_size(batch)
        self._end = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        elapsed = self._end - self._start
        if self._samples and elapsed > 0:
            # Each process timed its own share; the global rate assumes balanced shards (DDP).
            rate = self._samples * trainer.world_size / elapsed
            pl_module.log("train_samples_per_sec", rate, on_step=False, on_epoch=True)


class PlotCurves(Callback):
    """Plots loss and accuracy per epoch to a PNG at the end of `fit`, whatever the logger.

    The history is part of the checkpoint, so a resumed run plots the whole training.
    """

    def __init__(self, path: str = "artifacts/curves.png") -> None:
        self.path = Path(path)
        self.history: list[dict[str, float]] = []

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.sanity_checking or trainer.fast_dev_run:
            return
        row = {"epoch": float(trainer.current_epoch)}
        row.update({k: float(v) for k, v in trainer.callback_metrics.items() if v.numel() == 1})
        self.history.append(row)

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero and self.history:
            self.plot()

    def plot(self) -> Path:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed on servers and in CI
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ax, name in zip(axes, ("loss", "acc"), strict=True):
            for stage in ("train", "val"):
                points = [
                    (r["epoch"], r[f"{stage}_{name}"])
                    for r in self.history
                    if f"{stage}_{name}" in r
                ]
                if points:
                    ax.plot(*zip(*points, strict=True), marker="o", label=stage)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(name)
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(self.path, dpi=100)
        plt.close(fig)
        return self.path

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))


class PredictionWriter(BasePredictionWriter):
    """Writes `predict` output as CSV rows (index, label, pred, prob) while predicting."""

    def __init__(self, path: str = "artifacts/predictions.csv") -> None:
        super().__init__(write_interval="batch")
        self.path = Path(path)

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # One file per process: ranks never write to the same file.
        if trainer.world_size > 1:
            self.path = self.path.with_stem(f"{self.path.stem}-rank{trainer.global_rank}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("index,label,pred,prob\n")
        self._index = 0

    def write_on_batch_end(
        self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx=0
    ) -> None:
        preds = prediction["pred"].tolist()
        probs = prediction["prob"].tolist()
        labels = prediction["label"].tolist() if "label" in prediction else [""] * len(preds)
        with self.path.open("a", newline="") as f:
            writer = csv.writer(f)
            for label, pred, prob in zip(labels, preds, probs, strict=True):
                writer.writerow([self._index, label, pred, f"{prob:.6f}"])
                self._index += 1
