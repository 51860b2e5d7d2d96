"""Project callbacks: throughput, training curves, CSV predictions, export when fit ends."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import BasePredictionWriter, Callback

from .objectives import prediction_cells


def _batch_size(batch: Any) -> int:
    first = batch[0] if isinstance(batch, (list, tuple)) else batch
    return len(first)


class Throughput(Callback):
    """Logs `train_samples_per_sec` per epoch (summed over processes), training steps only.

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
        rate = self._samples / elapsed if elapsed > 0 else 0.0
        # Every process logs (a collective), and the global rate is the sum of each one's own:
        # one all-reduce per epoch under DDP, nothing on one device.
        pl_module.log(
            "train_samples_per_sec",
            rate,
            on_step=False,
            on_epoch=True,
            sync_dist=True,
            reduce_fx="sum",
        )


class PlotCurves(Callback):
    """Plots loss and accuracy per epoch to a PNG at the end of `fit`, whatever the logger.

    The history is part of the checkpoint, so a resumed run plots the whole training.
    `path` None: curves.png in the run folder (the trainer's default_root_dir).
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = Path(path) if path else None
        self.history: list[dict[str, float]] = []

    def setup(self, trainer: L.Trainer, pl_module: L.LightningModule, stage: str) -> None:
        if self.path is None:
            self.path = Path(trainer.default_root_dir) / "curves.png"

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

        # The second panel: accuracy, or the objective's own score (objectives.py).
        logged = {key for row in self.history for key in row}
        score = next((m for m in ("acc", "r2", "f1") if f"val_{m}" in logged), "acc")
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for ax, name in zip(axes, ("loss", score), strict=True):
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
            if ax.get_legend_handles_labels()[0]:
                ax.legend()
        fig.tight_layout()
        path = self.path or Path("curves.png")
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
        plt.close(fig)
        return path

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))


class PredictionWriter(BasePredictionWriter):
    """Writes `predict` output as CSV rows while predicting.

    Columns: index (row of the predicted data), source (the file, for an image folder),
    label (true label index, empty for unlabelled data), pred (predicted index), class (its
    name, from the checkpoint's class_names) and prob (its probability). Regression: label
    and pred hold the true and predicted values, class the target names; multilabel: label
    and pred the indices of the true and predicted labels, class their names, prob their
    probabilities (several values in a cell are joined by ";").
    """

    COLUMNS = ("index", "source", "label", "pred", "class", "prob")

    def __init__(self, path: str = "artifacts/predictions.csv") -> None:
        super().__init__(write_interval="batch")
        self.path = Path(path)

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # One file per process: ranks never write to the same file.
        if trainer.world_size > 1:
            self.path = self.path.with_stem(f"{self.path.stem}-rank{trainer.global_rank}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerow(self.COLUMNS)
        self._index = 0
        names = getattr(pl_module, "class_names", None)
        self.class_names = list(names) if names else None
        datamodule = getattr(trainer, "datamodule", None)
        self.sources = getattr(datamodule, "predict_names", None)

    def write_on_batch_end(
        self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx=0
    ) -> None:
        if "pred" in prediction:  # classification: the class and its probability
            preds = prediction["pred"].tolist()
            probs = prediction["prob"].tolist()
            labels = prediction["label"].tolist() if "label" in prediction else [""] * len(preds)
            cells = [
                (label, pred, self.class_names[pred] if self.class_names else str(pred), f"{p:.6f}")
                for label, pred, p in zip(labels, preds, probs, strict=True)
            ]
        else:  # regression values or multilabel labels (objectives.prediction_cells)
            cells = prediction_cells(prediction, self.class_names or [])
        # Dataset rows of this batch (tracked by Lightning, also under a distributed sampler).
        if batch_indices is None or len(batch_indices) != len(cells):
            batch_indices = list(range(self._index, self._index + len(cells)))
        self._index += len(cells)
        with self.path.open("a", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            for row, cell in zip(batch_indices, cells, strict=True):
                source = self.sources[row] if self.sources else ""
                writer.writerow([row, source, *cell])


class ExportOnFitEnd(Callback):
    """At the end of `fit`, exports the best checkpoint (ONNX + torch.export + metadata).

    export_all checks each format against the eager model, so a fit whose model does not
    export cleanly fails here instead of at deployment time. `out_dir` None: export/ in the
    run folder. `enabled` false: nothing (the `export:` section of trainer.yaml switches it).
    """

    def __init__(
        self, enabled: bool = True, out_dir: str | None = None, atol: float = 1e-4
    ) -> None:
        self.enabled = enabled
        self.out_dir = Path(out_dir) if out_dir else None
        self.atol = atol

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if not self.enabled or trainer.fast_dev_run or not trainer.is_global_zero:
            return
        if self.out_dir is None:
            self.out_dir = Path(trainer.default_root_dir) / "export"
        from .export import export_all
        from .module import Classifier

        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        module = Classifier.load_from_checkpoint(best, map_location="cpu") if best else pl_module
        diffs = export_all(module, self.out_dir, self.atol)
        summary = ", ".join(f"{name} {diff:.1e}" for name, diff in diffs.items())
        print(f"exported {best or 'the final model'} to {self.out_dir} (max |diff|: {summary})")
