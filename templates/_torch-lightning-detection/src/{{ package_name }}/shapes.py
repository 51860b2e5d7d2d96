"""The bundled sample: coloured shapes drawn on the fly, with their exact boxes.

Nothing is downloaded: `DataModule(format="shapes")` draws it in memory, and `write_coco` /
`write_yolo` save the same kind of images as a COCO-JSON or YOLO-txt dataset on disk (to try
the real readers, or as a template for your own export).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

CLASSES = ["square", "circle", "triangle"]
COLOURS = [(220, 40, 40), (40, 170, 60), (50, 80, 220)]


def draw(
    rng: np.random.Generator, size: int = 64, max_objects: int = 3
) -> tuple[Image.Image, np.ndarray, np.ndarray]:
    """One RGB image with 1..max_objects shapes: (image, boxes xyxy float[N, 4], labels int[N])."""
    background = tuple(int(v) for v in rng.integers(200, 256, 3))
    image = Image.new("RGB", (size, size), background)
    pen = ImageDraw.Draw(image)
    boxes, labels = [], []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        label = int(rng.integers(0, len(CLASSES)))
        side = int(rng.integers(size // 5, int(size / 2.5)))
        x0, y0 = (int(v) for v in rng.integers(0, size - side, 2))
        x1, y1 = x0 + side - 1, y0 + side - 1
        colour = tuple(int(np.clip(c + rng.integers(-25, 26), 0, 255)) for c in COLOURS[label])
        if label == 0:
            pen.rectangle([x0, y0, x1, y1], fill=colour)
        elif label == 1:
            pen.ellipse([x0, y0, x1, y1], fill=colour)
        else:
            pen.polygon([((x0 + x1) / 2, y0), (x0, y1), (x1, y1)], fill=colour)
        boxes.append([x0, y0, x0 + side, y0 + side])
        labels.append(label)
    return image, np.asarray(boxes, dtype=np.float32), np.asarray(labels, dtype=np.int64)


def sample(n: int, seed: int = 0, size: int = 64) -> list[dict]:
    """n drawn records: {"image": PIL image, "boxes": xyxy, "labels": ..., "name": ...}."""
    rng = np.random.default_rng(seed)
    records = []
    for i in range(n):
        image, boxes, labels = draw(rng, size)
        records.append({"image": image, "boxes": boxes, "labels": labels, "name": f"{i:04d}.png"})
    return records


def write_coco(folder: Path, n: int, seed: int = 0, size: int = 64) -> Path:
    """Save n drawn images and `annotations.json` (COCO: bbox = [x, y, width, height])."""
    folder.mkdir(parents=True, exist_ok=True)
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    for i, record in enumerate(sample(n, seed, size)):
        record["image"].save(folder / record["name"])
        images.append({"id": i, "file_name": record["name"], "width": size, "height": size})
        for box, label in zip(record["boxes"].tolist(), record["labels"].tolist(), strict=True):
            x0, y0, x1, y1 = box
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i,
                    "category_id": label + 1,  # COCO category ids usually start at 1
                    "bbox": [x0, y0, x1 - x0, y1 - y0],
                    "area": (x1 - x0) * (y1 - y0),
                    "iscrowd": 0,
                }
            )
    categories = [{"id": i + 1, "name": name} for i, name in enumerate(CLASSES)]
    path = folder / "annotations.json"
    coco = {"images": images, "annotations": annotations, "categories": categories}
    path.write_text(json.dumps(coco), encoding="utf-8")
    return path


def write_yolo(root: Path, n: int, seed: int = 0, size: int = 64) -> Path:
    """Save n drawn images to root/images/ and YOLO labels to root/labels/, names in data.yaml.

    A label line is `class cx cy w h`, all but the class relative to the image size.
    """
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    for record in sample(n, seed, size):
        record["image"].save(root / "images" / record["name"])
        lines = []
        for box, label in zip(record["boxes"].tolist(), record["labels"].tolist(), strict=True):
            x0, y0, x1, y1 = (v / size for v in box)
            lines.append(
                f"{label} {(x0 + x1) / 2:.6f} {(y0 + y1) / 2:.6f} {x1 - x0:.6f} {y1 - y0:.6f}"
            )
        (root / "labels" / record["name"]).with_suffix(".txt").write_text("\n".join(lines) + "\n")
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(CLASSES))
    (root / "data.yaml").write_text(f"names:\n{names}\n", encoding="utf-8")
    return root / "images"
