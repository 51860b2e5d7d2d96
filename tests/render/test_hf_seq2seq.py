"""Layer 3 for hf-finetune's sequence-to-sequence tasks (summarization, translation): the exact
file set, clean generated code, and the answers reaching the files."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from mlscaffold import scaffold
from tests.render.checks import HF_ACCELERATE_PRESETS, assert_text_is_clean, file_set
from tests.render.test_hf_finetune import CI_FILES, COMMON, PKG
from tests.render.test_hf_question_answering import SERVING_FILES, served

DATA = ["data/test.jsonl", "data/train.jsonl", "data/validation.jsonl"]
DEFAULT_MODEL = {"summarization": "google-t5/t5-small", "translation": "Helsinki-NLP/opus-mt-en-de"}
COLUMNS = {"summarization": ("document", "summary"), "translation": ("en", "de")}

# both tasks on every hardware; ci and push_to_hub values; a custom base model
CASES = [
    {"task": "summarization", "hardware": "cpu", "ci": "github"},
    {"task": "translation", "hardware": "cpu", "ci": "gitlab"},
    {"task": "summarization", "hardware": "gpu", "ci": "none", "push_to_hub": True},
    {
        "task": "translation",
        "hardware": "multi-gpu",
        "ci": "github",
        "base_model": "google-t5/t5-small",
        "serving": "http",
    },
    {"task": "summarization", "hardware": "tpu", "ci": "none", "base_model": "facebook/bart-base"},
]


def case_id(case: dict) -> str:
    return "-".join(str(v).replace("/", "_") for v in case.values())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hf-seq2seq")
    projects = {}
    for index, case in enumerate(CASES):
        dest = root / str(index) / PKG
        scaffold.render(dest, {"project_name": PKG, "stack": "hf-finetune", **case})
        projects[case_id(case)] = dest
    return projects


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_exact_file_set(rendered, case):
    extra = list(HF_ACCELERATE_PRESETS) if case["hardware"] == "multi-gpu" else []
    extra += ["tests/test_gpu.py"] if case["hardware"] in ("gpu", "multi-gpu") else []
    extra += SERVING_FILES if served(case) else []
    expected = sorted(COMMON + DATA + CI_FILES[case["ci"]] + extra)
    assert file_set(rendered[case_id(case)]) == expected


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_files_parse_and_no_template_syntax_left(rendered, case):
    project = rendered[case_id(case)]
    assert_text_is_clean(project)
    source, target = COLUMNS[case["task"]]
    for path in project.rglob("*"):
        if not path.is_file() or ".git" in path.parts:
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
            assert rows and all(set(row) == {source, target} for row in rows), path


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
    src = project / "src" / PKG
    base_model = case.get("base_model", DEFAULT_MODEL[task])
    train = yaml.safe_load((project / "configs/train.yaml").read_text())
    tiny = yaml.safe_load((project / "configs/tiny.yaml").read_text())
    hub = yaml.safe_load((project / "configs/hub-dataset.yaml").read_text())

    assert train["model_name_or_path"] == base_model == hub["model_name_or_path"]
    assert json.dumps(base_model) in (src / "config.py").read_text()
    assert tiny["tiny_model"] is True and tiny["tiny_hidden_size"] == 32
    source, target = COLUMNS[task]
    assert (train["source_column"], train["target_column"]) == (source, target)
    assert (tiny["source_column"], tiny["target_column"]) == (source, target)
    assert ("source_lang" in train) == (task == "translation")
    assert hub["dataset_name"] == (
        "abisee/cnn_dailymail" if task == "summarization" else "wmt/wmt16"
    )
    assert train["metric_for_best_model"] == ("rougeL" if task == "summarization" else "chrf")
    for config in (train, tiny, hub):
        assert isinstance(config["num_beams"], int) and config["max_new_tokens"] > 0

    config_py = (src / "config.py").read_text()
    assert "Seq2SeqTrainingArguments)" in config_py
    assert ("is_bf16_supported" in config_py) == (hardware in ("gpu", "multi-gpu"))
    assert "T5Config" in (src / "modeling.py").read_text()
    assert "AutoModelForSeq2SeqLM" in (src / "modeling.py").read_text()
    assert "DataCollatorForSeq2Seq" in (src / "data.py").read_text()
    assert "Seq2SeqTrainer(" in (src / "train.py").read_text()
    metrics = (src / "metrics.py").read_text()
    assert "rouge_scorer" in metrics and "sacrebleu.corpus_bleu" in metrics
    assert ".generate(" in (src / "predict.py").read_text()
    for name in ("label_list", "id2label", "AutoModelForSequenceClassification"):
        assert name not in (src / "train.py").read_text() + (src / "modeling.py").read_text()
    assert train["pad_to_max_length"] is (hardware == "tpu")
    assert train.get("use_cpu", False) is (hardware == "cpu")
    assert train["push_to_hub"] is case.get("push_to_hub", False) and tiny["push_to_hub"] is False

    readme = (project / "README.md").read_text()
    for block in ("<!-- cmd: test -->", "<!-- cmd: train -->", "<!-- cmd: predict -->"):
        assert block in readme
    assert "Seq2SeqTrainer" in readme and "id2label" not in readme
    assert (f"torchrun --nproc_per_node 4 -m {PKG}.train" in readme) == (hardware == "multi-gpu")
    tests = (project / "tests/test_train.py").read_text()
    assert "test_rouge_on_known_strings" in tests and "test_tiny_fine_tune_learns" in tests

    deps = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
    assert "rouge-score>=0.1.2" in deps and "sacrebleu>=2.4" in deps
    assert not any(d.startswith(("evaluate", "trl", "peft")) for d in deps)


def test_classification_projects_do_not_get_the_seq2seq_code(tmp_path):
    dest = tmp_path / PKG
    scaffold.render(
        dest, {"project_name": PKG, "stack": "hf-finetune", "task": "text-classification"}
    )
    assert "Seq2Seq" not in (dest / "src" / PKG / "train.py").read_text()
    deps = tomllib.loads((dest / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.startswith(("rouge-score", "sacrebleu")) for d in deps)
