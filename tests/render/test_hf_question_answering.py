"""Layer 3 for hf-finetune's question-answering task: the exact file set of every hardware and
CI value, clean generated code, and the answers reaching the files."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
import yaml

from mlscaffold import rules, scaffold
from tests.render.checks import (
    HF_ACCELERATE_PRESETS,
    assert_python_is_clean,
    assert_text_is_clean,
    file_set,
)
from tests.render.test_hf_finetune import CI_FILES, COMMON, PKG

SERVING_FILES = [".dockerignore", "Dockerfile", f"src/{PKG}/serve.py", "tests/test_serve.py"]

QA_FILES = [
    "data/test.jsonl",
    "data/train.jsonl",
    "data/validation.jsonl",
    "src/hf_proj/answers.py",
    "tests/test_answers.py",
]
DEFAULT_MODEL = "distilbert/distilbert-base-cased-distilled-squad"

CASES = [
    {"hardware": "cpu", "ci": "github"},
    {"hardware": "gpu", "ci": "gitlab", "push_to_hub": True},
    {"hardware": "multi-gpu", "ci": "none", "goal": "research"},
    {
        "hardware": "tpu",
        "ci": "github",
        "goal": "production",  # serving: http by default
        "base_model": "deepset/roberta-base-squad2",
    },
]


def case_id(case: dict) -> str:
    return "-".join(str(v).replace("/", "_") for v in case.values())


def served(case: dict) -> bool:
    """serving: http, given or by goal=production's default."""
    return case.get("serving", "http" if case.get("goal") == "production" else "none") == "http"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf-qa")
    projects = {}
    for index, case in enumerate(CASES):
        dest = root / str(index) / PKG
        answers = {"project_name": PKG, "stack": "hf-finetune", "task": "question-answering"}
        scaffold.render(dest, {**answers, **case})
        projects[case_id(case)] = dest
    return projects


def test_question_answering_is_a_task_of_hf_finetune() -> None:
    assert "question-answering" in rules.stacks()["hf-finetune"]["tasks"]
    assert rules.recommend(task="question-answering", hardware="gpu").stack == "hf-finetune"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_exact_file_set(rendered, case):
    extra = list(HF_ACCELERATE_PRESETS) if case["hardware"] == "multi-gpu" else []
    extra += ["tests/test_gpu.py"] if case["hardware"] in ("gpu", "multi-gpu") else []
    extra += SERVING_FILES if served(case) else []
    expected = sorted(COMMON + QA_FILES + CI_FILES[case["ci"]] + extra)
    assert file_set(rendered[case_id(case)]) == expected


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_generated_files_are_clean(rendered, case):
    project = rendered[case_id(case)]
    assert_text_is_clean(project)
    assert_python_is_clean(project)
    for path in project.rglob("*.y*ml"):
        yaml.safe_load(path.read_text(encoding="utf-8"))
    tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    for split in ("train", "validation", "test"):
        lines = (project / "data" / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
        for row in map(json.loads, lines):
            (text,), (start,) = row["answers"]["text"], row["answers"]["answer_start"]
            assert row["context"][start : start + len(text)] == text


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_answers_reach_the_files(rendered, case):
    project = rendered[case_id(case)]
    src = project / "src" / PKG
    hardware = case["hardware"]
    train = yaml.safe_load((project / "configs/train.yaml").read_text())
    tiny = yaml.safe_load((project / "configs/tiny.yaml").read_text())
    hub = yaml.safe_load((project / "configs/hub-dataset.yaml").read_text())
    base_model = case.get("base_model", DEFAULT_MODEL)
    assert train["model_name_or_path"] == base_model == hub["model_name_or_path"]
    assert hub["dataset_name"] == "rajpurkar/squad"
    assert train["train_file"] == "data/train.jsonl" == tiny["train_file"]
    assert (train["max_seq_length"], train["doc_stride"]) == (384, 128)
    assert train["version_2_with_negative"] is False and train["metric_for_best_model"] == "f1"
    assert tiny["tiny_model"] is True and tiny["use_cpu"] is True and tiny["push_to_hub"] is False
    assert train["push_to_hub"] is case.get("push_to_hub", False)
    assert train.get("use_cpu", False) is (hardware == "cpu")
    assert train["pad_to_max_length"] is (hardware == "tpu")
    assert ("ddp_find_unused_parameters" in train) == (hardware == "multi-gpu")
    assert train.get("full_determinism") == (True if case.get("goal") == "research" else None)

    assert "AutoModelForQuestionAnswering" in (src / "modeling.py").read_text()
    assert "QuestionAnsweringTrainer(" in (src / "train.py").read_text()
    assert "return_overflowing_tokens=True" in (src / "data.py").read_text()
    assert "def squad_scores" in (src / "metrics.py").read_text()
    predict = (src / "predict.py").read_text()
    assert "QuestionAnswerer" in predict and "import pipeline" not in predict
    config_py = (src / "config.py").read_text()
    assert "version_2_with_negative: bool" in config_py and "doc_stride: int" in config_py
    assert ("is_bf16_supported" in config_py) == (hardware in ("gpu", "multi-gpu"))

    readme = (project / "README.md").read_text()
    assert "<!-- cmd: train -->" in readme and "<!-- cmd: predict -->" in readme
    assert f"python -m {PKG}.predict --model artifacts/tiny/model --input data/test.jsonl" in readme
    assert (f"torchrun --nproc_per_node 4 -m {PKG}.train" in readme) == (hardware == "multi-gpu")
    makefile = (project / "Makefile").read_text()
    assert "--input data/test.jsonl" in makefile
    deps = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.startswith(("evaluate", "seqeval")) for d in deps)
