"""Prediction output: one JSON file for every image, and a PNG per image with its boxes drawn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import BasePredictionWriter
from PIL import Image, ImageDraw

PALETTE = [
    (230, 25, 75),
    (60, 180, 75),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
]


def draw_boxes(image: Image.Image, detections: list[dict[str, Any]]) -> Image.Image:
    """A copy of image with each detection's box and "class score" label drawn on it."""
    out = image.convert("RGB").copy()
    pen = ImageDraw.Draw(out)
    width = max(1, round(max(out.size) / 200))
    for det in detections:
        colour = PALETTE[det["label"] % len(PALETTE)]
        x0, y0, x1, y1 = det["box"]
        pen.rectangle([x0, y0, x1, y1], outline=colour, width=width)
        text = f"{det['class']} {det['score']:.2f}"
        left, top, right, bottom = pen.textbbox((x0, y0), text)
        lift = bottom - top + 2
        pen.rectangle([x0, y0 - lift, x0 + right - left + 4, y0], fill=colour)
        pen.text((x0 + 2, y0 - lift), text, fill=(255, 255, 255))
    return out


class DetectionWriter(BasePredictionWriter):
    """Writes `predict` results: `path` (JSON) and, if `image_dir` is set, PNGs with boxes.

    JSON: [{"image": name, "width", "height", "detections": [{"class", "label", "score",
    "box": [x0, y0, x1, y1]}]}], boxes in the original image's pixels, best first.
    """

    def __init__(
        self,
        path: str = "artifacts/predictions.json",
        image_dir: str | None = "artifacts/predictions",
    ) -> None:
        super().__init__(write_interval="batch")
        self.path = Path(path)
        self.image_dir = Path(image_dir) if image_dir else None
        self.rows: list[dict[str, Any]] = []

    def on_predict_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.world_size > 1:  # one file per process: ranks never write the same file
            self.path = self.path.with_stem(f"{self.path.stem}-rank{trainer.global_rank}")
        self.rows = []

    def write_on_batch_end(
        self, trainer, pl_module, prediction, batch_indices, batch, batch_idx, dataloader_idx=0
    ) -> None:
        datamodule = trainer.datamodule
        names = pl_module.class_names
        for item, size in zip(prediction, batch["sizes"].tolist(), strict=True):
            detections = [
                {
                    "class": names[label],
                    "label": label,
                    "score": round(score, 4),
                    "box": [round(v, 1) for v in box],
                }
                for label, score, box in zip(
                    item["labels"].tolist(),
                    item["scores"].tolist(),
                    item["boxes"].tolist(),
                    strict=True,
                )
            ]
            name = datamodule.predict_names[item["index"]]
            self.rows.append(
                {"image": name, "width": size[0], "height": size[1], "detections": detections}
            )
            if self.image_dir is not None:
                target = (self.image_dir / name).with_suffix(".png")
                target.parent.mkdir(parents=True, exist_ok=True)
                draw_boxes(datamodule.image(item["index"]), detections).save(target)

    def on_predict_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.rows, indent=1, ensure_ascii=False) + "\n"
        self.path.write_text(text, encoding="utf-8")
        where = f" and boxes drawn in {self.image_dir}/" if self.image_dir else ""
        print(f"wrote {len(self.rows)} image(s) to {self.path}{where}")
