"""Can an hf-finetune token classifier run on a device through LiteRT? (issue 14's decision)

Converts two Transformers BERT token classifiers built from configs (random weights: the
question is conversion fidelity, not accuracy) with litert-torch, runs them in the LiteRT
interpreter and compares with PyTorch on a 128-token input with 28 padded positions; then
quantizes to dynamic-range int8 with ai-edge-quantizer and compares again. Results and the
decision: docs/on-device-ner.md.

It needs its own environment (litert-torch is not a dependency of anything generated):

    python -m venv /tmp/ltvenv
    /tmp/ltvenv/bin/pip install torch==2.13.0 "litert-torch==0.10.0" "transformers==5.24.*"
    /tmp/ltvenv/bin/python benchmarks/ner_litert.py
"""

import json
import os
import tempfile
import time

import numpy as np
import torch
from transformers import BertConfig, BertForTokenClassification

MODELS = {
    "tiny (2 layers, 64 hidden)": BertConfig(
        vocab_size=1000,
        hidden_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=128,
        num_labels=9,
    ),
    "bert-small shape (4 layers, 512 hidden)": BertConfig(
        vocab_size=30522,
        hidden_size=512,
        num_hidden_layers=4,
        num_attention_heads=8,
        intermediate_size=2048,
        num_labels=9,
    ),
}
SEQ, REAL = 128, 100  # tokens fed, of which the first REAL are not padding


class Logits(torch.nn.Module):
    """(input_ids, attention_mask) -> logits: the signature a device app calls."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask).logits


def _run(path: str, ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, float]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=2)
    interpreter.allocate_tensors()
    first, second = interpreter.get_input_details()
    interpreter.set_tensor(first["index"], ids.astype(first["dtype"]))
    interpreter.set_tensor(second["index"], mask.astype(second["dtype"]))
    times = []
    for _ in range(30):
        started = time.perf_counter()
        interpreter.invoke()
        times.append(time.perf_counter() - started)
    out = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    return out, 1000 * float(np.median(times))


def measure(config: BertConfig, workdir: str) -> dict:
    import litert_torch
    from ai_edge_quantizer import quantizer, recipe

    torch.manual_seed(0)
    model = Logits(BertForTokenClassification(config).eval()).eval()
    ids = torch.randint(0, config.vocab_size, (1, SEQ))
    mask = torch.ones(1, SEQ, dtype=torch.long)
    mask[0, REAL:] = 0
    reference = model(ids, mask).detach().numpy()[0, :REAL]

    started = time.perf_counter()
    edge = litert_torch.convert(model, (ids, mask))
    convert_s = time.perf_counter() - started
    path = os.path.join(workdir, f"ner_{config.hidden_size}.tflite")
    edge.export(path)
    ids32, mask32 = ids.int().numpy(), mask.int().numpy()  # LiteRT takes int32 ids
    out, p50 = _run(path, ids32, mask32)
    out = out[0, :REAL]

    quantized = quantizer.Quantizer(path)
    quantized.load_quantization_recipe(recipe.dynamic_wi8_afp32())
    int8_path = path.replace(".tflite", "_int8.tflite")
    quantized.quantize().export_model(int8_path)
    int8, int8_p50 = _run(int8_path, ids32, mask32)
    int8 = int8[0, :REAL]
    return {
        "convert_s": round(convert_s, 1),
        "float32_kb": os.path.getsize(path) // 1024,
        "float32_max_abs_diff": float(np.abs(out - reference).max()),
        "float32_same_tag": float((out.argmax(-1) == reference.argmax(-1)).mean()),
        "float32_p50_ms": round(p50, 2),
        "int8_kb": os.path.getsize(int8_path) // 1024,
        "int8_max_abs_diff": float(np.abs(int8 - reference).max()),
        "int8_same_tag": float((int8.argmax(-1) == reference.argmax(-1)).mean()),
        "int8_p50_ms": round(int8_p50, 2),
    }


def main() -> None:
    with tempfile.TemporaryDirectory() as workdir:
        for name, config in MODELS.items():
            print(name, json.dumps(measure(config, workdir)), flush=True)


if __name__ == "__main__":
    main()
