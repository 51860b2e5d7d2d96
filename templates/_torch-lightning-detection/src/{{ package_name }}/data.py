"""The LightningDataModule: the drawn shapes sample, a COCO-JSON or a YOLO-txt dataset.

`format` chooses the reader (configs/data.yaml). Every box is checked against its image
once, before training: boxes reaching outside are clipped, boxes outside are dropped (both
counted in one warning), an image without boxes stays as a negative example, and a file
that cannot be decoded stops the run with one line naming it (DataError).
Batches are {"pixel_values": float[B, 3, S, S], "labels": [{"class_labels", "boxes"}...],
"sizes": int[B, 2] (original width, height), "index": int[B]}.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any, Literal

import lightning as L
import numpy as np
import torch
import yaml
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset

from . import boxes as B
from . import shapes

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
log = logging.getLogger(__name__)

# num_workers=0 is chosen on purpose for the in-memory sample; Lightning's hint is noise there.
warnings.filterwarnings("ignore", message=r".*does not have many workers.*")


class DataError(ValueError):
    """A problem with the user's data, reported by the CLI as one line (no traceback)."""


def _open(record: dict) -> Image.Image:
    if record.get("image") is not None:
        return record["image"]
    try:
        with Image.open(record["path"]) as image:
            image.load()  # decode now: a truncated file fails here, not mid-epoch
            return image.convert("RGB")
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as error:
        raise DataError(f"{record['path']}: cannot decode the image ({error})") from None


def read_coco(path: Path, image_root: str | Path | None = None) -> tuple[list[dict], list[str]]:
    """Records and class names (categories in id order) of a COCO-JSON file.

    `file_name` is relative to image_root (default: the JSON file's folder); `bbox` is
    [x, y, width, height] in pixels; crowd annotations are skipped.
    """
    try:
        coco = json.loads(Path(path).read_text(encoding="utf-8"))
        categories = sorted(coco["categories"], key=lambda c: c["id"])
        images = coco["images"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as error:
        raise DataError(f"{path}: not a COCO annotations file ({error})") from None
    index = {c["id"]: i for i, c in enumerate(categories)}
    root = Path(image_root) if image_root else Path(path).parent
    records = {
        img["id"]: {
            "path": root / img["file_name"],
            "name": img["file_name"],
            "boxes": [],
            "labels": [],
        }
        for img in images
    }
    for ann in coco.get("annotations", []):
        if ann.get("iscrowd"):
            continue
        where = f"{path}: annotation {ann.get('id')}"
        if ann.get("category_id") not in index:
            raise DataError(f"{where} has unknown category_id {ann.get('category_id')}")
        if ann.get("image_id") not in records:
            raise DataError(f"{where} points to unknown image_id {ann.get('image_id')}")
        x, y, w, h = (float(v) for v in ann["bbox"])
        records[ann["image_id"]]["boxes"].append([x, y, x + w, y + h])
        records[ann["image_id"]]["labels"].append(index[ann["category_id"]])
    return list(records.values()), [str(c.get("name", c["id"])) for c in categories]


def yolo_classes(folder: Path) -> list[str] | None:
    """Class names from a data.yaml / dataset.yaml (`names`) or classes.txt near the images."""
    for parent in [folder, *list(folder.parents)[:2]]:
        for name in ("data.yaml", "dataset.yaml"):
            if (parent / name).is_file():
                names = (yaml.safe_load((parent / name).read_text(encoding="utf-8")) or {}).get(
                    "names"
                )
                if isinstance(names, dict):
                    return [str(names[k]) for k in sorted(names)]
                if names:
                    return [str(n) for n in names]
        if (parent / "classes.txt").is_file():
            text = (parent / "classes.txt").read_text(encoding="utf-8")
            return [line.strip() for line in text.splitlines() if line.strip()]
    return None


def _label_file(image: Path, folder: Path) -> Path:
    """YOLO's layout: .../images/x.jpg -> .../labels/x.txt; else x.txt beside the image."""
    parts = list(image.parts)
    for i in range(len(parts) - 1, -1, -1):
        if parts[i] == "images":
            candidate = Path(*parts[:i], "labels", *parts[i + 1 :]).with_suffix(".txt")
            if candidate.is_file():
                return candidate
            break
    return image.with_suffix(".txt")


def read_yolo(folder: Path, num_classes: int) -> list[dict]:
    """Records of a YOLO-txt image folder; boxes stay relative (cx, cy, w, h) until checked."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such image folder")
    records = []
    for image in sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS):
        label_file, rows = _label_file(image, folder), []
        if label_file.is_file():  # no label file: an image without objects
            for n, line in enumerate(label_file.read_text(encoding="utf-8").splitlines(), 1):
                fields = line.split()
                if not fields:
                    continue
                try:
                    label, cx, cy, w, h = int(fields[0]), *(float(v) for v in fields[1:5])
                    assert len(fields) == 5
                except (ValueError, AssertionError):
                    raise DataError(
                        f"{label_file}:{n}: expected 'class cx cy w h', got {line!r}"
                    ) from None
                if not 0 <= label < num_classes:
                    raise DataError(f"{label_file}:{n}: class {label} outside 0..{num_classes - 1}")
                rows.append((label, cx, cy, w, h))
        records.append(
            {
                "path": image,
                "name": image.relative_to(folder).as_posix(),
                "relative": [r[1:] for r in rows],
                "labels": [r[0] for r in rows],
            }
        )
    return records


def check(records: list[dict], source: str) -> list[dict]:
    """Decode every image once; clip boxes to it, drop the ones outside; count in one warning."""
    clipped = dropped = empty = 0
    for record in records:
        image = _open(record)
        width, height = image.size
        record["size"] = (width, height)
        if "relative" in record:  # YOLO: relative centre boxes -> pixels
            rel = np.asarray(record.pop("relative"), dtype=np.float32).reshape(-1, 4)
            record["boxes"] = np.stack(
                [
                    rel[:, 0] - rel[:, 2] / 2,
                    rel[:, 1] - rel[:, 3] / 2,
                    rel[:, 0] + rel[:, 2] / 2,
                    rel[:, 1] + rel[:, 3] / 2,
                ],
                axis=1,
            ) * np.array([width, height, width, height], dtype=np.float32)
        boxes = np.asarray(record["boxes"], dtype=np.float32).reshape(-1, 4)
        labels = np.asarray(record["labels"], dtype=np.int64).reshape(-1)
        kept_boxes, kept_labels, keep = B.clip_boxes(boxes, labels, width, height)
        clipped += int((np.abs(kept_boxes - boxes[keep]) > 1e-3).any(axis=1).sum())
        dropped += int((~keep).sum())
        record["boxes"], record["labels"] = kept_boxes, kept_labels
        empty += int(len(kept_labels) == 0)
    if clipped or dropped:
        log.warning(
            "%s: %d box(es) clipped to their image, %d outside it dropped", source, clipped, dropped
        )
    if empty:
        log.info("%s: %d image(s) without boxes, kept as negative examples", source, empty)
    return records


class DetectionDataset(Dataset):
    def __init__(self, records: list[dict], size: int, augment: dict | None = None) -> None:
        self.records, self.size, self.augment = records, size, augment

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, Any]:
        record = self.records[index]
        image = _open(record)
        width, height = image.size
        pixels = B.to_tensor(image, self.size)
        boxes = B.resize_boxes(np.asarray(record["boxes"]), width, height, self.size)
        labels = np.asarray(record["labels"], dtype=np.int64)
        if self.augment:  # torch's RNG: seeded by seed_everything, per worker by Lightning
            rng = np.random.default_rng(int(torch.randint(0, 2**31 - 1, ())))
            if rng.uniform() < self.augment["hflip"]:
                pixels, boxes = B.hflip(pixels, boxes)
            if self.augment["scale"] is not None:
                pixels, boxes, labels = B.random_scale(
                    pixels, boxes, labels, rng, self.augment["scale"]
                )
        return {
            "pixel_values": pixels,
            "labels": B.to_target(boxes, labels, self.size),
            "sizes": torch.tensor([width, height]),
            "index": torch.tensor(index),
        }


def collate(items: list[dict]) -> dict[str, Any]:
    return {
        "pixel_values": torch.stack([i["pixel_values"] for i in items]),
        "labels": [i["labels"] for i in items],
        "sizes": torch.stack([i["sizes"] for i in items]),
        "index": torch.stack([i["index"] for i in items]),
    }


class DataModule(L.LightningDataModule):
    """format: shapes (the drawn sample), coco (train/val = annotation JSON files) or yolo
    (train/val = image folders; labels in the sibling labels/ folder or beside each image)."""

    # Read back from the checkpoint by cli.py: the data the model was trained on.
    CHECKPOINT_KEYS = ("format", "train", "val", "image_root", "classes", "image_size")

    def __init__(
        self,
        format: Literal["shapes", "coco", "yolo"] = "shapes",
        train: str | None = None,
        val: str | None = None,
        image_root: str | None = None,
        classes: list[str] | None = None,
        image_size: int = 640,
        predict_dir: str | None = None,
        batch_size: int = 8,
        val_fraction: float = 0.2,
        split_seed: int = 0,
        samples: int = 300,
        hflip: float = 0.5,
        scale: tuple[float, float] | None = (0.75, 1.25),
        num_workers: int | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters()
        if format == "shapes":
            self.classes = list(shapes.CLASSES)
        elif train is None:
            raise DataError(f"data.format={format} needs data.train (and optionally data.val)")
        elif format == "coco":
            self.classes = read_coco(Path(train), image_root)[1]
        else:
            self.classes = list(classes or yolo_classes(Path(train)) or [])
            if not self.classes:
                raise DataError(
                    f"{train}: set data.classes or add a data.yaml (names) or classes.txt"
                )
        if len(set(self.classes)) != len(self.classes):
            raise DataError(f"duplicate class names: {self.classes}")
        self.num_classes = len(self.classes)
        self.image_size = image_size
        self.predict_names: list[str] = []

    def _read(self, source: str) -> list[dict]:
        if self.hparams.format == "coco":
            records, names = read_coco(Path(source), self.hparams.image_root)
            if names != self.classes:
                raise DataError(
                    f"{source}: categories {names} differ from the training set's {self.classes}"
                )
            return check(records, source)
        return check(read_yolo(Path(source), self.num_classes), source)

    def setup(self, stage: str) -> None:
        hp = self.hparams
        if stage == "predict" and hp.predict_dir:
            folder = Path(hp.predict_dir)
            if not folder.is_dir():
                raise DataError(f"data.predict_dir {folder}: no such folder")
            paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
            records: list[dict[str, Any]] = [
                {"path": p, "name": p.relative_to(folder).as_posix(), "boxes": [], "labels": []}
                for p in paths
            ]
            self.predict_records = check(records, str(folder))
            self.predict_names = [r["name"] for r in self.predict_records]
            return
        if hp.format == "shapes":
            records = shapes.sample(hp.samples, seed=hp.split_seed)
            for record in records:
                record["size"] = record["image"].size
        else:
            records = self._read(hp.train)
        if hp.format != "shapes" and hp.val:
            self.train_records, self.val_records = records, self._read(hp.val)
        else:
            order = np.random.default_rng(hp.split_seed).permutation(len(records))
            n_val = max(1, round(len(records) * hp.val_fraction))
            self.val_records = [records[i] for i in sorted(order[:n_val])]
            self.train_records = [records[i] for i in sorted(order[n_val:])]
        if not self.train_records:
            raise DataError(f"no training images in {hp.train}")
        self.predict_records = self.val_records
        self.predict_names = [r["name"] for r in self.val_records]

    def image(self, index: int) -> Image.Image:
        """The original image of predict row `index` (callbacks draw boxes on it)."""
        return _open(self.predict_records[index])

    def _loader(self, records: list[dict], train: bool) -> DataLoader:
        hp = self.hparams
        augment = {"hflip": hp.hflip, "scale": hp.scale} if train else None
        workers = hp.num_workers
        if workers is None:  # decoding files benefits from workers; the in-memory sample does not
            workers = 0 if hp.format == "shapes" else min(4, os.cpu_count() or 1)
        return DataLoader(
            DetectionDataset(records, hp.image_size, augment),
            batch_size=hp.batch_size,
            shuffle=train,
            num_workers=workers,
            collate_fn=collate,
            persistent_workers=workers > 0,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_records, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_records, train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.val_records, train=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self.predict_records, train=False)
