"""Export a trained network to ONNX and to torch.export, each checked against the eager model.

    python -m <package>.export --out artifacts/export     # the latest run's last.ckpt
    python -m <package>.export --ckpt best --run_name baseline --out artifacts/export

Writes model.onnx (run it with onnxruntime, no PyTorch needed) and model.pt2 (load with
torch.export.load; AOTInductor can compile it). Both take a batch of any size and return
logits. Beside them: labels.txt (one class name per line, in logit order) and metadata.json
(input shape, preprocessing, class names), everything inference elsewhere needs.
TorchScript is deprecated in PyTorch, so it is not offered.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import runs
from .module import Classifier


def _dynamic_batch() -> tuple[dict[int, torch.export.Dim]]:
    # The first axis of the single input may take any size; every other axis stays fixed.
    return ({0: torch.export.Dim("batch", min=1, max=4096)},)


def export_onnx(net: nn.Module, example: torch.Tensor, path: Path) -> Path:
    torch.onnx.export(
        net,
        (example,),
        str(path),
        dynamo=True,  # the maintained exporter (torch.export based)
        input_names=["input"],
        output_names=["logits"],
        dynamic_shapes=_dynamic_batch(),
        external_data=False,  # one self-contained file; set True for models over 2 GB
        verbose=False,
    )
    return path


def export_program(net: nn.Module, example: torch.Tensor, path: Path) -> Path:
    program = torch.export.export(net, (example,), dynamic_shapes=_dynamic_batch())
    torch.export.save(program, str(path))
    return path


def onnx_max_diff(path: Path, net: nn.Module, inputs: list[torch.Tensor]) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    diffs = []
    for x in inputs:
        expected = net(x).numpy()
        (got,) = session.run(None, {name: x.numpy()})
        diffs.append(float(np.abs(got - expected).max()))
    return max(diffs)


def program_max_diff(path: Path, net: nn.Module, inputs: list[torch.Tensor]) -> float:
    loaded = torch.export.load(str(path)).module()
    return max(float((loaded(x) - net(x)).abs().max()) for x in inputs)


def write_metadata(module: Classifier, out_dir: Path) -> dict[str, Any]:
    """labels.txt and metadata.json from the checkpoint's hparams; returns the metadata."""
    hp = module.hparams
    objective = getattr(module, "objective", "classification")
    metadata = {
        "files": {"onnx": "model.onnx", "torch.export": "model.pt2", "labels": "labels.txt"},
        "input": {
            "name": "input",
            "shape": ["batch", *hp.input_shape],
            "dtype": "float32",
        },
        "output": {
            "name": "logits",
            "shape": ["batch", hp.num_classes],
            # How the outputs read (objectives.py): classification softmax + argmax,
            # regression the values themselves, multilabel sigmoid >= threshold per label.
            "objective": objective,
            "to_probs": {"regression": None, "multilabel": "sigmoid"}.get(objective, "softmax"),
            **({"threshold": hp.get("threshold", 0.5)} if objective == "multilabel" else {}),
        },
        "class_names": list(module.class_names),
        "preprocessing": dict(hp.get("preprocessing") or {}),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    # UTF-8 whatever the locale: class names are often not ASCII (folder names).
    labels = "".join(f"{name}\n" for name in module.class_names)
    (out_dir / "labels.txt").write_text(labels, encoding="utf-8")
    text = json.dumps(metadata, indent=2, ensure_ascii=False) + "\n"
    (out_dir / "metadata.json").write_text(text, encoding="utf-8")
    return metadata


@torch.no_grad()
def export_all(module: Classifier, out_dir: Path, atol: float = 1e-4) -> dict[str, float]:
    """Write model.onnx, model.pt2, labels.txt and metadata.json to out_dir.

    Returns each format's max |diff| vs eager.
    Raises if a format disagrees with the eager network by more than `atol` on batches of
    several sizes (which also proves the batch axis is really dynamic).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    # Export the bare network in float32 eval mode: no Lightning, dropout or autocast inside.
    net = module.net.float().eval().cpu()
    example = module.example_input_array.float().cpu()
    generator = torch.Generator().manual_seed(0)
    probes = [torch.randn(n, *example.shape[1:], generator=generator) for n in (1, 3, 8)]
    diffs = {
        "onnx": onnx_max_diff(export_onnx(net, example, out_dir / "model.onnx"), net, probes),
        "torch.export": program_max_diff(
            export_program(net, example, out_dir / "model.pt2"), net, probes
        ),
    }
    bad = {name: diff for name, diff in diffs.items() if diff > atol}
    if bad:
        raise RuntimeError(f"exported model disagrees with the eager model (atol={atol}): {bad}")
    write_metadata(module, out_dir)
    return diffs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--ckpt",
        default="last",
        help="a checkpoint file, or last/best of the latest run (default: last)",
    )
    parser.add_argument("--run_name", default=None, help="last/best of this run, not the latest")
    parser.add_argument("--runs_dir", default=runs.RUNS_DIR, help="folder of the run folders")
    parser.add_argument("--out", type=Path, default=Path("artifacts/export"), help="output folder")
    parser.add_argument("--atol", type=float, default=1e-4, help="max |exported - eager| allowed")
    args = parser.parse_args(argv)
    try:
        ckpt = runs.checkpoint(args.ckpt, args.runs_dir, args.run_name)
    except runs.RunError as error:
        parser.exit(2, f"error: {error}\n")
    module = Classifier.load_from_checkpoint(ckpt, map_location="cpu")
    for name, diff in export_all(module, args.out, args.atol).items():
        print(f"{name}: max |diff| vs eager = {diff:.2e}")
    print(f"wrote model.onnx, model.pt2, labels.txt and metadata.json to {args.out} from {ckpt}")


if __name__ == "__main__":
    main()
