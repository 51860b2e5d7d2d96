"""Box-aware preprocessing and augmentation: every change to the image moves its boxes.

Boxes are float xyxy pixels (x0, y0, x1, y1) until `to_target`, which gives the detector
what Transformers' DETR-family models take: class labels and (cx, cy, w, h) relative to the
image size.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

# A box that keeps less than this share of its area after a crop is dropped, not clipped:
# a sliver of an object teaches the model nothing but noise.
MIN_VISIBLE = 0.4


def to_tensor(image: Image.Image, size: int) -> torch.Tensor:
    """RGB float[3, size, size] in [0, 1]: the image resized (not letterboxed) to size x size.

    The RT-DETR image processor's default too (640 x 640, rescale 1/255, no normalisation).
    """
    resized = image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
    array = np.asarray(resized, dtype=np.float32) / 255.0
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def resize_boxes(boxes: np.ndarray, width: int, height: int, size: int) -> np.ndarray:
    """Boxes of a width x height image, in the size x size resized image."""
    scale = np.array([size / width, size / height] * 2, dtype=np.float32)
    return boxes.reshape(-1, 4).astype(np.float32) * scale


def hflip(image: torch.Tensor, boxes: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """Mirror left-right: x0' = W - x1, x1' = W - x0."""
    width = image.shape[-1]
    flipped = boxes.copy()
    flipped[:, 0], flipped[:, 2] = width - boxes[:, 2], width - boxes[:, 0]
    return image.flip(-1), flipped


def clip_boxes(
    boxes: np.ndarray, labels: np.ndarray, width: float, height: float, min_side: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clip to the image; drop boxes thinner than min_side. Returns (boxes, labels, kept mask)."""
    clipped = boxes.copy()
    clipped[:, [0, 2]] = clipped[:, [0, 2]].clip(0, width)
    clipped[:, [1, 3]] = clipped[:, [1, 3]].clip(0, height)
    keep = ((clipped[:, 2] - clipped[:, 0]) >= min_side) & (
        (clipped[:, 3] - clipped[:, 1]) >= min_side
    )
    return clipped[keep], labels[keep], keep


def random_scale(
    image: torch.Tensor,
    boxes: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    scale: tuple[float, float] = (0.75, 1.25),
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """Zoom by a random factor, keeping the image size: crop when zoomed in, pad when out.

    Boxes are scaled and shifted with the pixels; a box left with less than MIN_VISIBLE of
    its area inside the image is dropped.
    """
    _, height, width = image.shape
    factor = float(rng.uniform(*scale))
    new_h, new_w = max(1, round(height * factor)), max(1, round(width * factor))
    zoomed = torch.nn.functional.interpolate(
        image[None], size=(new_h, new_w), mode="bilinear", align_corners=False
    )[0]
    moved = boxes * np.array([new_w / width, new_h / height] * 2, dtype=np.float32)
    if factor >= 1.0:  # crop a window of the original size at a random place
        top, left = (
            int(rng.integers(0, new_h - height + 1)),
            int(rng.integers(0, new_w - width + 1)),
        )
        out = zoomed[:, top : top + height, left : left + width]
    else:  # paste onto a grey canvas at a random place
        top, left = (
            -int(rng.integers(0, height - new_h + 1)),
            -int(rng.integers(0, width - new_w + 1)),
        )
        out = torch.full_like(image, 0.5)
        out[:, -top : -top + new_h, -left : -left + new_w] = zoomed
    moved = moved - np.array([left, top, left, top], dtype=np.float32)
    area = (moved[:, 2] - moved[:, 0]) * (moved[:, 3] - moved[:, 1])
    clipped, kept_labels, keep = clip_boxes(moved, labels, width, height)
    visible = (clipped[:, 2] - clipped[:, 0]) * (clipped[:, 3] - clipped[:, 1])
    enough = visible >= MIN_VISIBLE * np.maximum(area[keep], 1e-6)
    return out.contiguous(), clipped[enough], kept_labels[enough]


def to_target(boxes: np.ndarray, labels: np.ndarray, size: int) -> dict[str, torch.Tensor]:
    """{"class_labels": int64[N], "boxes": float[N, 4] as (cx, cy, w, h) / size}."""
    boxes = boxes.reshape(-1, 4)
    cxcywh = np.stack(
        [
            (boxes[:, 0] + boxes[:, 2]) / 2,
            (boxes[:, 1] + boxes[:, 3]) / 2,
            boxes[:, 2] - boxes[:, 0],
            boxes[:, 3] - boxes[:, 1],
        ],
        axis=1,
    )
    return {
        "class_labels": torch.as_tensor(labels, dtype=torch.int64).reshape(-1),
        "boxes": torch.as_tensor(cxcywh / size, dtype=torch.float32).reshape(-1, 4),
    }


def cxcywh_to_xyxy(boxes: torch.Tensor) -> torch.Tensor:
    cx, cy, w, h = boxes.unbind(-1)
    return torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1)
