"""Export a trained detector to ONNX, checked against the eager model in ONNX Runtime.

    python -m <package>.export --ckpt artifacts/checkpoints/last.ckpt --out artifacts/export

Writes model.onnx: input `pixel_values` float[1, 3, S, S] (one RGB image in [0, 1], resized
to S x S), outputs `logits` [1, queries, classes] and `boxes` [1, queries, 4] (cx, cy, w, h
relative to the image). The batch axis is fixed at 1: Transformers' RT-DETR code specialises
it while tracing (measured: a dynamic batch axis is exported but fails at batch 3 in ONNX
Runtime), and one image per call is how detectors are usually served. Beside it:
labels.txt and metadata.json (image size, preprocessing, score function and box format),
everything inference elsewhere needs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .module import Detector


class Raw(nn.Module):
    """The detector without Lightning or post-processing: pixels in, (logits, boxes) out."""

    def __init__(self, detector: Detector) -> None:
        super().__init__()
        self.model = detector.model

    def forward(self, pixel_values: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.model(pixel_values=pixel_values)
        return out.logits, out.pred_boxes


def export_onnx(net: nn.Module, example: torch.Tensor, path: Path) -> Path:
    torch.onnx.export(
        net,
        (example,),
        str(path),
        dynamo=True,  # the maintained exporter (torch.export based)
        input_names=["pixel_values"],
        output_names=["logits", "boxes"],
        external_data=False,
        verbose=False,
    )
    return path


def onnx_max_diff(path: Path, net: nn.Module, inputs: list[torch.Tensor]) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    diffs = []
    for x in inputs:
        expected = [t.numpy() for t in net(x)]
        got = session.run(None, {"pixel_values": x.numpy()})
        diffs += [float(np.abs(g - e).max()) for g, e in zip(got, expected, strict=True)]
    return max(diffs)


def write_metadata(detector: Detector, out_dir: Path) -> dict[str, Any]:
    size = int(detector.hparams.image_size)
    metadata = {
        "files": {"onnx": "model.onnx", "labels": "labels.txt"},
        "input": {"name": "pixel_values", "shape": [1, 3, size, size], "dtype": "float32"},
        "preprocessing": {
            "resize": [size, size],
            "color": "RGB",
            "scale": 1 / 255,
            "layout": "NCHW",
        },
        "outputs": {
            "logits": {
                "shape": [1, "queries", "classes"],
                "to_scores": "sigmoid" if detector.focal else "softmax, last column = no object",
            },
            "boxes": {
                "shape": [1, "queries", 4],
                "format": "cx, cy, w, h relative to the image",
            },
        },
        "class_names": list(detector.class_names),
        "score_threshold": float(detector.hparams.score_threshold),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "labels.txt").write_text(
        "".join(f"{n}\n" for n in detector.class_names), encoding="utf-8"
    )
    (out_dir / "metadata.json").write_text(
        json.dumps(metadata, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return metadata


@torch.no_grad()
def export_all(detector: Detector, out_dir: Path, atol: float = 1e-4) -> dict[str, float]:
    """Write model.onnx, labels.txt and metadata.json; raise if ONNX Runtime disagrees.

    Checked on three images: random pixels, all black and all white.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    net = Raw(detector).float().eval().cpu()
    size = int(detector.hparams.image_size)
    generator = torch.Generator().manual_seed(0)
    probes = [
        torch.rand(1, 3, size, size, generator=generator),
        torch.zeros(1, 3, size, size),
        torch.ones(1, 3, size, size),
    ]
    diff = onnx_max_diff(export_onnx(net, probes[0], out_dir / "model.onnx"), net, probes)
    if diff > atol:
        raise RuntimeError(
            f"ONNX Runtime disagrees with the eager model: max |diff| {diff:.2e} > atol {atol}"
        )
    write_metadata(detector, out_dir)
    return {"onnx": diff}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ckpt", type=Path, required=True, help="Lightning checkpoint")
    parser.add_argument("--out", type=Path, default=Path("artifacts/export"), help="output folder")
    parser.add_argument("--atol", type=float, default=1e-4, help="max |onnx - eager| allowed")
    args = parser.parse_args(argv)
    if not args.ckpt.is_file():
        raise SystemExit(f"error: --ckpt {args.ckpt}: no such file")
    detector = Detector.load_from_checkpoint(args.ckpt, map_location="cpu")
    for name, diff in export_all(detector, args.out, args.atol).items():
        print(f"{name}: max |diff| vs eager = {diff:.2e}")
    print(f"wrote model.onnx, labels.txt and metadata.json to {args.out}")


if __name__ == "__main__":
    main()
