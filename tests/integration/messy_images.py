"""Messy image folders, drawn with numpy and Pillow (no download), for the user's-path tests.

What users' folders really hold: mixed sizes and modes (RGB, L, RGBA, P), several formats
(.png, .jpg, .webp), one corrupt `.jpg`, an empty class folder, non-ASCII class names (one of
them in NFD, as macOS writes names) and a stray non-image file. The two classes are easy to
tell apart (bright vs dark pictures), so a correct pipeline learns them in an epoch or two and
a pipeline that scrambles labels or preprocessing shows up as wrong predictions.

The generator's own environment has neither numpy nor Pillow: the tests run this file as a
script with the generated project's python (`python messy_images.py folder|new ROOT`), which
prints what it wrote as JSON.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path
from typing import Any

# Sorted order of the NFC names: "café" < "日本". The "café" folder is written in NFD.
BRIGHT, DARK = "café", "日本"
CLASSES = [BRIGHT, DARK]
EMPTY = "empty-class"
CORRUPT = "broken.jpg"
MODES = ("RGB", "L", "RGBA", "P")
FORMATS = (".png", ".jpg", ".webp")


def draw(rng: Any, bright: bool, index: int) -> Any:
    """A noisy picture, bright or dark, of a size, mode and layout that vary with `index`."""
    import numpy as np
    from PIL import Image

    height, width = (18 + 7 * (index % 4), 15 + 9 * (index % 3))
    base = rng.integers(170, 256) if bright else rng.integers(0, 70)
    pixels = np.clip(base + rng.normal(0, 25, size=(height, width, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    mode = MODES[index % len(MODES)]
    if mode == "RGBA":
        image = image.convert("RGBA")
        image.putalpha(255)  # opaque: converting to RGB must keep the picture
    elif mode == "P":
        image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    elif mode == "L":
        image = image.convert("L")
    return image


def save(image: Any, path: Path) -> None:
    if path.suffix == ".jpg" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")  # JPEG has no alpha or palette
    image.save(path)


def write_messy_folder(root: Path, per_class: int = 16, seed: int = 0) -> dict[str, int]:
    """root/<class>/<images>; returns how many readable images each class holds."""
    import numpy as np

    rng = np.random.default_rng(seed)
    counts = {}
    for name in CLASSES:
        folder = root / unicodedata.normalize("NFD" if name == BRIGHT else "NFC", name)
        folder.mkdir(parents=True)
        for i in range(per_class):
            suffix = FORMATS[i % len(FORMATS)]
            save(draw(rng, name == BRIGHT, i), folder / f"img-{i:02d}{suffix}")
        counts[name] = per_class
    # Garbage bytes with an image suffix: what an interrupted download or sync leaves behind.
    (root / DARK / CORRUPT).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg" + bytes(200))
    (root / DARK / "notes.txt").write_text("not an image", encoding="utf-8")
    (root / EMPTY).mkdir()
    return counts


def write_new_images(root: Path, per_class: int = 4, seed: int = 1) -> dict[str, str]:
    """Unlabelled images to predict (in a sub-folder too); returns relative path -> true class."""
    import numpy as np

    rng = np.random.default_rng(seed)
    (root / "batch-2").mkdir(parents=True)
    truth = {}
    for name in CLASSES:
        for i in range(per_class):
            # Shapes, modes and formats the training set did not have in that combination.
            relative = f"{'batch-2/' if i % 2 else ''}{name}-nouvelle-{i}{FORMATS[(i + 1) % 3]}"
            save(draw(rng, name == BRIGHT, i + 5), root / relative)
            truth[relative] = name
    return truth


if __name__ == "__main__":
    kind, where = sys.argv[1], Path(sys.argv[2])
    written = write_messy_folder(where) if kind == "folder" else write_new_images(where)
    print(json.dumps(written, ensure_ascii=False))
