"""Layer 3 for hf-finetune's text-generation task (TRL SFT + PEFT LoRA): every hardware value
renders the exact file set, the code is clean, and the answers reach the files."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from mlscaffold import scaffold
from tests.render.checks import (
    HF_ACCELERATE_PRESETS,
    SHARED_FILES,
    assert_python_is_clean,
    assert_text_is_clean,
    file_set,
)

PKG = "tg_proj"
FILES = [
    *SHARED_FILES,
    "configs/hub-dataset.yaml",
    "configs/tiny.yaml",
    "configs/train.yaml",
    "data/test.jsonl",
    "data/text_train.jsonl",
    "data/text_validation.jsonl",
    "data/train.jsonl",
    "data/validation.jsonl",
    f"src/{PKG}/__init__.py",
    f"src/{PKG}/config.py",
    f"src/{PKG}/data.py",
    f"src/{PKG}/metrics.py",
    f"src/{PKG}/modeling.py",
    f"src/{PKG}/predict.py",
    f"src/{PKG}/reporting.py",
    f"src/{PKG}/train.py",
    "tests/conftest.py",
    "tests/test_config.py",
    "tests/test_data.py",
    "tests/test_distributed.py",
    "tests/test_train.py",
]
SERVING_FILES = [".dockerignore", "Dockerfile", f"src/{PKG}/serve.py", "tests/test_serve.py"]
CI_FILES = {"github": [".github/dependabot.yml", ".github/workflows/ci.yml"], "none": []}
CASES = [
    {"hardware": "cpu", "ci": "github", "goal": "prototype", "serving": "http"},
    {"hardware": "gpu", "ci": "none", "goal": "research"},
    {"hardware": "multi-gpu", "ci": "github", "goal": "research", "push_to_hub": True,
     "base_model": "Qwen/Qwen2.5-1.5B-Instruct", "serving": "http"},
    {"hardware": "tpu", "ci": "none", "goal": "prototype"},
]  # fmt: skip


def case_id(case: dict) -> str:
    return "-".join(str(v).replace("/", "_") for v in case.values())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("textgen")
    projects = {}
    for index, case in enumerate(CASES):
        dest = root / str(index) / PKG
        answers = {"project_name": PKG, "stack": "hf-finetune", "task": "text-generation"}
        scaffold.render(dest, {**answers, **case})
        projects[case_id(case)] = dest
    return projects


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_exact_file_set(rendered, case):
    extra = list(HF_ACCELERATE_PRESETS) if case["hardware"] == "multi-gpu" else []
    extra += ["tests/test_gpu.py"] if case["hardware"] in ("gpu", "multi-gpu") else []
    extra += SERVING_FILES if case.get("serving") == "http" else []
    expected = sorted(FILES + CI_FILES[case["ci"]] + extra)
    assert file_set(rendered[case_id(case)]) == expected


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_clean_code_and_data(rendered, case):
    project = rendered[case_id(case)]
    assert_text_is_clean(project)
    assert_python_is_clean(project)
    for path in (project / "data").glob("*.jsonl"):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        if path.name.startswith("text_"):
            assert rows and all(set(row) == {"text"} and row["text"] for row in rows)
        else:  # chats: roles in order, the assistant's answer last
            assert rows and all(row["messages"][-1]["role"] == "assistant" for row in rows)
            roles = {turn["role"] for row in rows for turn in row["messages"]}
            assert roles == {"system", "user", "assistant"}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_answers_reach_the_files(rendered, case):
    project = rendered[case_id(case)]
    hardware = case["hardware"]
    gpu = hardware in ("gpu", "multi-gpu")
    src = project / "src" / PKG
    train = yaml.safe_load((project / "configs/train.yaml").read_text())
    tiny = yaml.safe_load((project / "configs/tiny.yaml").read_text())
    hub = yaml.safe_load((project / "configs/hub-dataset.yaml").read_text())

    # base_model: chosen for size (a 135M model on CPU, 0.5B elsewhere), or the user's
    default = (
        "HuggingFaceTB/SmolLM2-135M-Instruct" if hardware == "cpu" else "Qwen/Qwen2.5-0.5B-Instruct"
    )
    base_model = case.get("base_model", default)
    assert train["model_name_or_path"] == base_model == hub["model_name_or_path"]
    assert json.dumps(base_model) in (src / "config.py").read_text()

    # the tiny preset: offline Llama, LoRA on every linear layer, fp32 on the CPU
    assert tiny["tiny_model"] is True and "model_name_or_path" not in tiny
    assert tiny["lora_target_modules"] == ["all-linear"] and tiny["quantization"] == "none"
    assert tiny["use_cpu"] is True and tiny["bf16"] is False and tiny["push_to_hub"] is False
    assert train["train_file"] == "data/train.jsonl" == tiny["train_file"]
    assert hub["dataset_name"] == "HuggingFaceH4/no_robots"
    assert "LlamaConfig" in (src / "modeling.py").read_text()
    assert "SFTTrainer" in (src / "train.py").read_text()
    assert "merge_and_unload" in (src / "modeling.py").read_text()
    assert 'TASK = "text-generation"' in (src / "predict.py").read_text()

    # hardware: QLoRA only where CUDA can be, bf16 decided at run time
    assert train["quantization"] == ("auto" if gpu else "none")
    assert train.get("use_cpu", False) is (hardware == "cpu")
    config_py = (src / "config.py").read_text()
    assert ("is_bf16_supported" in config_py) == gpu and ("torch_xla" in config_py) == (
        hardware == "tpu"
    )
    deps = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "trl>=1.16,<2" in deps and "peft>=0.21" in deps
    assert any(d.startswith("bitsandbytes") for d in deps) == gpu
    readme = (project / "README.md").read_text()
    assert ("torchrun --nproc_per_node 4" in readme) == (hardware == "multi-gpu")
    assert "<!-- cmd: train -->" in readme and "<!-- cmd: predict -->" in readme
    assert f"python -m {PKG}.predict --model artifacts/tiny/model --input data/test.jsonl" in readme
    assert "data/test.jsonl" in (project / "Makefile").read_text()

    # goal and push_to_hub
    assert ("full_determinism" in train) == (case["goal"] == "research")
    assert ("max_train_samples" in train) == (case["goal"] == "prototype")
    assert train["push_to_hub"] is case.get("push_to_hub", False) is hub["push_to_hub"]
