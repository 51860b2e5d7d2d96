"""Layer 3 for the hf-finetune stack: every choice value renders the exact file set it should,
the generated code is clean, and every answer reaches the files."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from mlscaffold import scaffold
from mlscaffold.errors import UsageError
from tests.render.checks import HF_ACCELERATE_PRESETS, SHARED_FILES, assert_text_is_clean, file_set

PKG = "hf_proj"
COMMON = [
    *SHARED_FILES,
    "configs/hub-dataset.yaml",
    "configs/tiny.yaml",
    "configs/train.yaml",
    "src/hf_proj/__init__.py",
    "src/hf_proj/config.py",
    "src/hf_proj/data.py",
    "src/hf_proj/metrics.py",
    "src/hf_proj/modeling.py",
    "src/hf_proj/predict.py",
    "src/hf_proj/reporting.py",
    "src/hf_proj/train.py",
    "tests/conftest.py",
    "tests/test_config.py",
    "tests/test_data.py",
    "tests/test_distributed.py",
    "tests/test_train.py",
]
DATA = {
    "text-classification": ["data/test.csv", "data/train.csv", "data/validation.csv"],
    "token-classification": ["data/test.jsonl", "data/train.jsonl", "data/validation.jsonl"],
}
CI_FILES = {
    "github": [".github/workflows/ci.yml", ".github/dependabot.yml"],
    "gitlab": [".gitlab-ci.yml"],
    "none": [],
}
DEFAULT_MODEL = {
    "text-classification": "distilbert/distilbert-base-uncased",
    "token-classification": "distilbert/distilbert-base-cased",
}

# Every task, hardware, push_to_hub and ci value at least once; base_model default and custom.
CASES = [
    {"task": "text-classification", "hardware": "cpu", "ci": "github"},
    {"task": "token-classification", "hardware": "cpu", "ci": "gitlab"},
    {
        "task": "text-classification",
        "hardware": "gpu",
        "ci": "none",
        "push_to_hub": True,
        "base_model": "FacebookAI/roberta-base",
    },
    {"task": "token-classification", "hardware": "gpu", "ci": "github"},
    {"task": "text-classification", "hardware": "multi-gpu", "ci": "github"},
    {
        "task": "token-classification",
        "hardware": "multi-gpu",
        "ci": "gitlab",
        "push_to_hub": True,
        "base_model": "./checkpoints/my-bert",
    },
    {"task": "text-classification", "hardware": "tpu", "ci": "github"},
    {"task": "token-classification", "hardware": "tpu", "ci": "none", "push_to_hub": False},
]


def case_id(case: dict) -> str:
    return "-".join(str(v).replace("/", "_") for v in case.values())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf")
    projects = {}
    for index, case in enumerate(CASES):
        dest = root / str(index) / PKG
        scaffold.render(dest, {"project_name": PKG, "stack": "hf-finetune", **case})
        projects[case_id(case)] = dest
    return projects


# text and token classification only: the per-class report, the ONNX export and their tests
CLASSIFIER_FILES = [
    "src/hf_proj/adapters.py",
    "src/hf_proj/class_report.py",
    "src/hf_proj/class_weights.py",
    "src/hf_proj/export.py",
    "tests/test_adapters.py",
    "tests/test_class_report.py",
    "tests/test_export.py",
]


def expected_files(case: dict) -> list[str]:
    extra = [*CLASSIFIER_FILES]
    extra += ["src/hf_proj/windows.py"] if case["task"] == "token-classification" else []
    # sentence pairs, multi-label and regression targets: text classification only
    text = case["task"] == "text-classification"
    extra += ["src/hf_proj/targets.py", "tests/test_targets.py"] if text else []
    extra += HF_ACCELERATE_PRESETS if case["hardware"] == "multi-gpu" else []
    extra += ["tests/test_gpu.py"] if case["hardware"] in ("gpu", "multi-gpu") else []
    return sorted(COMMON + DATA[case["task"]] + CI_FILES[case["ci"]] + extra)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_exact_file_set(rendered, case):
    assert file_set(rendered[case_id(case)]) == expected_files(case)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_files_parse_and_no_template_syntax_left(rendered, case):
    project = rendered[case_id(case)]
    assert_text_is_clean(project)
    for path in project.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".py":
            compile(text, str(path), "exec")
        elif path.suffix in (".yaml", ".yml"):
            yaml.safe_load(text)
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix == ".jsonl":
            rows = [json.loads(line) for line in text.splitlines()]
            assert rows and all(len(r["tokens"]) == len(r["ner_tags"]) for r in rows)
        elif path.suffix == ".csv":
            rows = list(csv.DictReader(text.splitlines()))
            assert rows and set(rows[0]) == {"text", "label"}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_generated_python_passes_ruff(rendered, case):
    project = rendered[case_id(case)]
    for args in (["check", "."], ["format", "--check", "."]):
        result = subprocess.run(
            [sys.executable, "-m", "ruff", *args], cwd=project, capture_output=True, text=True
        )
        assert result.returncode == 0, f"ruff {args}:\n{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_answers_reach_the_files(rendered, case):
    project = rendered[case_id(case)]
    task, hardware = case["task"], case["hardware"]
    ner = task == "token-classification"
    push = case.get("push_to_hub", False)
    base_model = case.get("base_model", DEFAULT_MODEL[task])
    src = project / "src" / PKG

    train = yaml.safe_load((project / "configs/train.yaml").read_text())
    tiny = yaml.safe_load((project / "configs/tiny.yaml").read_text())
    hub = yaml.safe_load((project / "configs/hub-dataset.yaml").read_text())

    # base_model
    assert train["model_name_or_path"] == base_model == hub["model_name_or_path"]
    assert json.dumps(base_model) in (src / "config.py").read_text()
    assert tiny["tiny_model"] is True and "model_name_or_path" not in tiny

    # task: data, columns, model class, metrics, pipeline
    ext = "jsonl" if ner else "csv"
    assert train["train_file"] == f"data/train.{ext}" == tiny["train_file"]
    assert ("tags_column" in train) == ner and ("label_column" in train) == (not ner)
    # parquet-backed (datasets >= 4 loads no scripts); the columns match the config
    assert hub["dataset_name"] == ("lukasgarbas/conll-03" if ner else "stanfordnlp/imdb")
    if ner:
        assert (hub["tokens_column"], hub["tags_column"]) == ("tokens", "ner_tags")
    # the tiny preset: fp32 on the CPU, model selection without f1 ties
    assert tiny["use_cpu"] is True and tiny["bf16"] is False and tiny["fp16"] is False
    assert tiny["metric_for_best_model"] == "eval_loss" and tiny["greater_is_better"] is False
    modeling = (src / "modeling.py").read_text()
    assert ("AutoModelForTokenClassification" in modeling) == ner
    assert ("AutoModelForSequenceClassification" in modeling) == (not ner)
    data = (src / "data.py").read_text()
    assert ("DataCollatorForTokenClassification" in data) == ner
    assert ("DataCollatorWithPadding" in data) == (not ner)
    assert ("def align_labels" in data) == ner
    metrics = (src / "metrics.py").read_text()
    assert ("def entity_scores" in metrics) == ner and ("f1_score" in metrics) == (not ner)
    # text classification: pairs and problem types are DataArguments, saved in the model config
    data_args = (src / "config.py").read_text()
    for name in ("text_pair_column", "problem_type", "label_separator"):
        assert (f"    {name}:" in data_args) == (not ner), name
    assert ("model.config.text_pair_column" in (src / "train.py").read_text()) == (not ner)
    assert f'TASK = "{task}"' in (src / "predict.py").read_text()
    assert ('aggregation_strategy="first"' in (src / "predict.py").read_text()) == ner
    assert (
        "test_align_labels_first_sub_token_only" in (project / "tests/test_data.py").read_text()
    ) == ner

    # hardware
    config_py = (src / "config.py").read_text()
    assert train.get("use_cpu", False) is (hardware == "cpu")
    assert ("is_bf16_supported" in config_py) == (hardware in ("gpu", "multi-gpu"))
    assert ("torch_xla" in config_py) == (hardware == "tpu")
    assert train["pad_to_max_length"] is (hardware == "tpu")
    assert train["train_sampling_strategy"] == (
        "random" if hardware == "tpu" else "group_by_length"
    )
    assert ("ddp_find_unused_parameters" in train) == (hardware == "multi-gpu")
    if hardware == "multi-gpu":
        assert train["ddp_find_unused_parameters"] is False
        accelerate = yaml.safe_load((project / "configs/accelerate.yaml").read_text())
        assert accelerate["distributed_type"] == "MULTI_GPU"
    readme = (project / "README.md").read_text()
    assert f"python -m {PKG}.predict --model artifacts/tiny/model" in readme
    assert "defaults = {} if training_args.use_cpu else hardware_defaults()" in config_py
    assert (
        "test_tiny_preset_is_fp32_with_cuda_present"
        in (project / "tests/test_config.py").read_text()
    ) == (hardware in ("gpu", "multi-gpu"))
    assert (f"torchrun --nproc_per_node 4 -m {PKG}.train" in readme) == (hardware == "multi-gpu")
    assert ("accelerate launch --config_file configs/accelerate.yaml" in readme) == (
        hardware == "multi-gpu"
    )
    makefile = (project / "Makefile").read_text()
    cpu_index = "--index-url https://download.pytorch.org/whl/cpu"
    assert (cpu_index in makefile) == (hardware == "cpu")
    for ci_file in CI_FILES[case["ci"]][:1]:  # CI machines have no GPU: always the CPU wheel
        assert cpu_index in (project / ci_file).read_text()

    # push_to_hub: the real presets follow the answer, the tiny one never pushes
    assert train["push_to_hub"] is push and hub["push_to_hub"] is push
    assert tiny["push_to_hub"] is False
    assert ("hub_model_id" in train) == push
    assert ("`push_to_hub: true` is set" in readme) == push

    # the pins that keep pip away from a CUDA build / from transformers 4
    deps = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "torch>=2.4,<2.14" in deps and "transformers>=5.0,<6" in deps
    assert not any(d.startswith(("evaluate", "seqeval")) for d in deps)


def test_invalid_base_model_is_refused(tmp_path):
    with pytest.raises(UsageError, match="base_model"):
        scaffold.render(
            tmp_path / "bad",
            {
                "project_name": "bad",
                "stack": "hf-finetune",
                "task": "text-classification",
                "hardware": "cpu",
                "base_model": 'x" y',
            },
        )
    assert not (tmp_path / "bad").exists()


# goal -> (num_train_epochs in train.yaml, max_train_samples, full_determinism)
GOALS = {"prototype": (2, 2000, None), "research": (5, None, True), "production": (5, None, None)}


@pytest.mark.parametrize("goal", list(GOALS))
def test_goal_sets_the_training_defaults(render_project, goal):
    root = render_project("demo-hf", task="text-classification", hardware="cpu", goal=goal)
    epochs, cap, determinism = GOALS[goal]
    train = yaml.safe_load((root / "configs/train.yaml").read_text())
    hub = yaml.safe_load((root / "configs/hub-dataset.yaml").read_text())
    assert (train["num_train_epochs"], hub["num_train_epochs"]) == (epochs, 3 if epochs == 5 else 1)
    for config in (train, hub):
        assert config.get("max_train_samples") == cap
        assert config.get("full_determinism") == determinism
    readme = (root / "README.md").read_text()
    assert f"## Defaults for your goal ({goal})" in readme


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_lora_and_class_weights_are_offered(rendered, case):
    """`finetune: auto` picks LoRA by size, with a threshold for the hardware; PEFT is declared."""
    project = rendered[case_id(case)]
    train = yaml.safe_load((project / "configs" / "train.yaml").read_text(encoding="utf-8"))
    assert train["finetune"] == "auto" and train["class_weights"] == "none"
    threshold = {"cpu": 200_000_000, "gpu": 1_000_000_000}.get(case["hardware"], 3_000_000_000)
    adapters = (project / "src" / PKG / "adapters.py").read_text(encoding="utf-8")
    assert f"AUTO_LORA_PARAMETERS = {threshold:_}" in adapters
    task_type = "TOKEN_CLS" if case["task"] == "token-classification" else "SEQ_CLS"
    assert f"TASK_TYPE = TaskType.{task_type}" in adapters
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert "peft>=0.21" in pyproject["project"]["dependencies"]
