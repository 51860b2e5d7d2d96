"""Layer 1: the rules, over the whole answer grid."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from mlscaffold import rules, scaffold

GRID = rules.answer_grid()


def test_grid_has_every_combination():
    values = rules.answer_values()
    expected = 1
    for key in rules.ANSWER_KEYS:
        expected *= len(values[key])
    # 7 hardware x 3 goals x 2 data sizes per task (tasks grow with the stacks)
    assert len(GRID) == expected == 42 * len(values["task"])


@pytest.mark.parametrize("answers", GRID, ids=lambda a: "/".join(a.values()))
def test_every_cell_maps_to_a_stack_that_serves_it_or_is_refused(answers):
    try:
        rec = rules.recommend(**answers)
    except rules.RefusedError as exc:
        message = str(exc)
        assert answers["hardware"] in message and "Choose" in message
        return
    assert rec.stack in rules.stacks()
    assert rules.stack_gap(rec.stack, answers) is None, (
        "the rules chose a stack whose template cannot serve the task"
    )
    assert rec.reasons and all(r.strip() for r in rec.reasons)
    assert "{" not in " ".join(rec.reasons), "unfilled placeholder in a reason"
    assert sorted(a.stack for a in rec.alternatives) == sorted(set(rules.stacks()) - {rec.stack})
    assert all(a.why_not.strip() and "{" not in a.why_not for a in rec.alternatives)


def test_every_stack_is_reachable_and_templated():
    chosen = set()
    for answers in GRID:
        with contextlib.suppress(rules.RefusedError):
            chosen.add(rules.recommend(**answers).stack)
    assert chosen == set(rules.stacks())
    assert scaffold.built_stacks() <= set(rules.stacks())


@pytest.mark.parametrize(
    ("answers", "stack"),
    [
        ({"task": "text-classification", "hardware": "gpu"}, "hf-finetune"),
        ({"task": "token-classification", "hardware": "multi-gpu"}, "hf-finetune"),
        ({"task": "text-classification", "hardware": "tpu"}, "hf-finetune"),
        ({"task": "summarization", "hardware": "gpu"}, "hf-finetune"),
        ({"task": "translation", "hardware": "multi-gpu", "goal": "research"}, "hf-finetune"),
        ({"task": "summarization", "hardware": "tpu", "goal": "production"}, "hf-finetune"),
        ({"task": "question-answering", "hardware": "cpu"}, "hf-finetune"),
        ({"task": "question-answering", "hardware": "tpu", "goal": "research"}, "hf-finetune"),
        ({"task": "text-generation", "hardware": "gpu"}, "hf-finetune"),
        ({"task": "text-generation", "hardware": "multi-gpu", "goal": "research"}, "hf-finetune"),
        ({"task": "image-classification", "hardware": "mobile"}, "tf-tflite"),
        ({"task": "image-classification", "hardware": "browser"}, "tf-tflite"),
        ({"task": "custom", "hardware": "edge"}, "tf-tflite"),
        ({"task": "image-classification", "hardware": "tpu", "goal": "production"}, "tf-tflite"),
        ({"task": "custom", "hardware": "gpu", "goal": "research"}, "torch-lightning"),
        ({"task": "image-classification", "hardware": "multi-gpu"}, "torch-lightning"),
        ({"task": "tabular-classification", "hardware": "cpu"}, "tabular"),
        ({"task": "tabular-regression", "hardware": "gpu"}, "tabular"),
    ],
)
def test_rules_md_examples(answers, stack):
    assert rules.recommend(**answers).stack == stack


def test_text_on_a_phone_says_the_deployment_rule_won():
    rec = rules.recommend(task="text-classification", hardware="mobile")
    assert rec.stack == "tf-tflite"
    assert rec.conflict and "deployment rule wins" in rec.conflict
    hf = next(a for a in rec.alternatives if a.stack == "hf-finetune")
    assert "litert-torch" in hf.why_not and "LiteRT" in hf.why_not


@pytest.mark.parametrize("task", ["summarization", "translation"])
def test_seq2seq_rules_say_why_and_refuse_devices_naming_what_runs_there(task):
    rec = rules.recommend(task=task, hardware="gpu")
    assert rec.stack == "hf-finetune"
    said = " ".join(rec.reasons)
    assert "Seq2SeqTrainer" in said and "ROUGE" in said and "BLEU" in said
    why_not = {a.stack: a.why_not for a in rec.alternatives}
    assert "Seq2SeqTrainer" in why_not["torch-lightning"]
    assert "Transformers 5 dropped TensorFlow" in why_not["tf-tflite"]
    for hardware in ("mobile", "edge", "browser"):
        with pytest.raises(rules.RefusedError) as refused:
            rules.recommend(task=task, hardware=hardware)
        message = str(refused.value)
        assert message.startswith(f"{task} on {hardware}:")
        assert "ONNX Runtime" in message and "Transformers.js" in message


def test_question_answering_says_why_and_refuses_devices_naming_what_runs_there():
    rec = rules.recommend(task="question-answering", hardware="gpu")
    assert rec.stack == "hf-finetune"
    assert "AutoModelForQuestionAnswering" in " ".join(rec.reasons)
    why_not = {a.stack: a.why_not for a in rec.alternatives}
    assert "windowing of long contexts" in why_not["torch-lightning"]
    assert "Transformers 5 dropped TensorFlow" in why_not["tf-tflite"]
    for hardware in ("mobile", "edge", "browser"):
        with pytest.raises(rules.RefusedError) as refused:
            rules.recommend(task="question-answering", hardware=hardware)
        message = str(refused.value)
        assert message.startswith(f"question-answering on {hardware}:")
        assert "ONNX Runtime" in message and "Transformers.js" in message
        assert "--hardware cpu or gpu" in message


def test_text_generation_says_why_and_refuses_devices_naming_what_runs_there():
    rec = rules.recommend(task="text-generation", hardware="gpu")
    assert rec.stack == "hf-finetune"
    said = " ".join(rec.reasons)
    assert "SFTTrainer" in said and "LoRA" in said and "chat template" in said
    why_not = {a.stack: a.why_not for a in rec.alternatives}
    assert "LoRA adapters" in why_not["torch-lightning"]
    assert "Transformers 5 dropped TensorFlow" in why_not["tf-tflite"]
    for hardware in ("mobile", "edge", "browser"):
        with pytest.raises(rules.RefusedError) as refused:
            rules.recommend(task="text-generation", hardware=hardware)
        message = str(refused.value)
        assert message.startswith(f"text-generation on {hardware}:")
        assert "llama.cpp" in message and "MediaPipe LLM Inference" in message
        assert "ONNX Runtime GenAI" in message and "WebLLM" in message
        assert "--hardware cpu or gpu" in message


STALE_CLAIMS = (
    "no maintained path",  # litert-torch and ExecuTorch are maintained PyTorch device paths
    "torchserve is unmaintained",  # it is in limited maintenance: say that, not more or less
    "pytorch-only and has no",
)


def test_rule_texts_hold_no_stale_claims():
    text = (Path(rules.__file__).with_name("rules.yml")).read_text().lower()
    for claim in STALE_CLAIMS:
        assert claim not in " ".join(text.split()), claim


@pytest.mark.parametrize("cell", [c for c in rules.answer_grid() if c["goal"] == "production"])
def test_production_reasons_name_the_serving_path_the_project_ships(cell):
    try:
        rec = rules.recommend(**cell)
    except rules.RefusedError:
        return
    said = " ".join(rec.reasons + [rec.conflict or ""]).lower()
    expected = {
        "torch-lightning": "onnx runtime",
        "tf-tflite": ("litert", "tf serving", "savedmodel"),
        "hf-finetune": None,
        "tabular": None,
    }[rec.stack]
    if rec.stack == "torch-lightning":
        assert expected in said, (cell, said)
    elif rec.stack == "tf-tflite":
        assert any(word in said for word in expected), (cell, said)


def test_research_on_tpu_says_the_hardware_rule_won():
    rec = rules.recommend(task="image-classification", hardware="tpu", goal="research")
    assert rec.stack == "tf-tflite"
    assert "hardware rule" in rec.conflict


@pytest.mark.parametrize("hardware", ["mobile", "edge", "browser"])
def test_tabular_on_a_device_is_refused_with_a_way_out(hardware):
    with pytest.raises(rules.RefusedError, match="--hardware cpu"):
        rules.recommend(task="tabular-classification", hardware=hardware)


def test_prototype_vision_names_the_conflict():
    rec = rules.recommend(task="image-classification", hardware="cpu", goal="prototype")
    assert rec.stack == "torch-lightning" and "prototype" in rec.conflict


@pytest.mark.parametrize(("data_size", "model"), [("small", "xgboost"), ("large", "lightgbm")])
def test_tabular_model_follows_data_size(data_size, model):
    rec = rules.recommend(task="tabular-classification", data_size=data_size)
    assert rec.options == {"tabular_model": model}


@pytest.mark.parametrize("data_size", ["small", "large"])
@pytest.mark.parametrize("hardware", ["cpu", "gpu", "multi-gpu", "tpu"])
def test_tabular_clustering_is_scikit_learn_on_every_server(hardware, data_size):
    rec = rules.recommend(task="tabular-clustering", hardware=hardware, data_size=data_size)
    assert rec.stack == "tabular" and rec.options == {"tabular_model": "sklearn"}
    said = " ".join(rec.reasons)
    assert "KMeans" in said and "HDBSCAN" in said
    assert ("task rule wins" in (rec.conflict or "")) == (hardware == "tpu")


@pytest.mark.parametrize("hardware", ["mobile", "edge", "browser"])
def test_tabular_clustering_on_a_device_is_refused(hardware):
    with pytest.raises(rules.RefusedError, match="--hardware cpu"):
        rules.recommend(task="tabular-clustering", hardware=hardware)


def test_json_has_exactly_the_documented_keys():
    data = rules.recommend(task="text-classification", hardware="gpu").to_json()
    assert list(data) == ["stack", "options", "reasons", "alternatives"]
    assert all(set(a) == {"stack", "why_not"} for a in data["alternatives"])


def test_unknown_value_names_the_valid_ones():
    with pytest.raises(rules.UnknownValueError, match="choose one of: cpu, gpu"):
        rules.recommend(hardware="quantum")


def test_object_detection_picks_lightning_and_refuses_devices_and_tpu():
    for hardware in ("cpu", "gpu", "multi-gpu"):
        rec = rules.recommend(task="object-detection", hardware=hardware)
        assert rec.stack == "torch-lightning"
        assert "RT-DETRv2" in " ".join(rec.reasons) and "mAP" in " ".join(rec.reasons)
        why_not = {a.stack: a.why_not for a in rec.alternatives}
        assert "box-aware augmentation" in why_not["hf-finetune"]
    for hardware in ("mobile", "edge", "browser", "tpu"):
        with pytest.raises(rules.RefusedError) as refused:
            rules.recommend(task="object-detection", hardware=hardware)
        assert str(refused.value).startswith(f"object-detection on {hardware}:")
