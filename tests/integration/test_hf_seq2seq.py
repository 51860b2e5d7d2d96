"""Layers 5 and 6 for hf-finetune's sequence-to-sequence tasks.

- summarization and translation: installed from their own declarations, then the README's
  commands as written (tests, the tiny preset, predict), offline;
- a user's own data (summarization): a BOM-prefixed CSV with their own column names, Greek,
  Cyrillic and accented text, empty cells, a document far longer than max_seq_length; a
  missing column is one error line; predict on new documents, one empty and one very long.
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from tests.integration.stack_env import project_env, run_in, run_readme, run_step
from tests.integration.test_hf_question_answering import assert_passed
from tests.integration.test_messy_hf_finetune import error_line, preset

pytestmark = pytest.mark.integration

VARIANTS = [
    (
        "hf_summarization_cpu",
        {"stack": "hf-finetune", "task": "summarization", "hardware": "cpu", "goal": "production"},
    ),
    ("hf_translation_cpu", {"stack": "hf-finetune", "task": "translation", "hardware": "cpu"}),
]
# the project's own service tests (serving: http)
SERVE_TESTS = [
    "test_service_generates_as_the_predict_command_does",
    "test_bad_requests_get_a_4xx_json_error",
    "test_concurrent_load_has_no_errors",
]
FLOOR = {"summarization": ("eval_rougeL", 60), "translation": ("eval_chrf", 30)}


@pytest.mark.parametrize(("name", "answers"), VARIANTS, ids=[v[0] for v in VARIANTS])
def test_readme_installs_tests_trains_and_predicts(render_project, tmp_path, name, answers):
    project = render_project(name, **answers)
    python = project_env(project, tmp_path)
    timings: dict[str, float] = {}
    # PYTEST_ADDOPTS=-v only makes pytest name each test in its output.
    result = run_readme(python, project, "test", timings, extra_env={"PYTEST_ADDOPTS": "-v"})
    assert " passed" in result.stdout and "failed" not in result.stdout
    # Speed is a measurement, not an assertion: the time shows in pytest's --durations and
    # here with -s (a timed assert failed the multi-gpu project at 185 s of a 180 s bound).
    print(f"\n{project.name}: generated suite {timings['test']:.1f} s")
    if answers.get("goal") == "production":  # serving: http by default
        assert_passed(result.stdout, "tests/test_serve.py", SERVE_TESTS)

    run_readme(python, project, "train")
    out = project / "artifacts" / "tiny"
    for required in ("config.json", "generation_config.json", "model.safetensors", "README.md"):
        assert (out / "model" / required).is_file(), required
    assert (out / "training_curves.png").stat().st_size > 5000
    metrics = json.loads((out / "metrics.json").read_text())
    key, floor = FLOOR[answers["task"]]
    assert metrics[key] > floor, metrics
    samples = (out / "generated_samples.jsonl").read_text(encoding="utf-8").splitlines()
    assert samples and all(json.loads(line)["generated"] for line in samples)

    run_readme(python, project, "predict")
    rows = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(rows) == len((project / "data" / "test.jsonl").read_text().splitlines())
    assert all(row["generated"] for row in rows)


PLACES = [
    "Αθήνα",
    "Москва",
    "Łódź",
    "Zürich",
    "Київ",
    "Thessaloníki",
    "São Paulo",
    "Санкт-Петербург",
]
THINGS = ["μουσείο", "библиотека", "café", "парк", "θέατρο", "школа"]
FILLER = ["Η απόφαση ελήφθη χθες.", "Жители встретили новость спокойно.", "Ça coûte cher."]


def document(rng: random.Random) -> tuple[str, str]:
    place, thing = rng.choice(PLACES), rng.choice(THINGS)
    sentences = [f"In {place} the new {thing} opened.", *rng.sample(FILLER, 2)]
    rng.shuffle(sentences)
    return " ".join(sentences), f"{place}: {thing}"


def test_messy_summarization(render_project, tmp_path: Path) -> None:
    name = "messy_hf_summary"
    project = render_project(name, stack="hf-finetune", task="summarization")
    python = project_env(project, tmp_path)
    rng = random.Random(5)
    rows = [document(rng) for _ in range(120)]
    long_doc = " ".join([rows[0][0]] + FILLER * 400)
    rows += [(long_doc, rows[0][1]), ("", "no text"), ("a text, no summary", "")]
    data = project / "data" / "articles.csv"
    with data.open("w", encoding="utf-8-sig", newline="") as handle:  # Excel's BOM
        writer = csv.writer(handle)
        writer.writerow(["article_body", "headline"])
        writer.writerows(rows)
    values = {"train_file": "data/articles.csv", "output_dir": "artifacts/mine"}
    wrong = preset(project, "wrong", **values)
    line = error_line(run_in(python, ["-m", f"{name}.train", "--config", wrong], project))
    assert "has no column 'document'" in line and "article_body, headline" in line, line

    config = preset(
        project,
        "mine",
        **values,
        source_column="article_body",
        target_column="headline",
        num_train_epochs=8,
    )
    result = run_step(python, ["-m", f"{name}.train", "--config", config], project, "train")
    log = result.stdout + result.stderr
    assert "dropped 2 row(s) with an empty source or target" in log, log[-3000:]
    assert "truncated to 64 tokens" in log, log[-3000:]
    out = project / "artifacts" / "mine"
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["eval_rouge1"] > 30, metrics  # Greek and Cyrillic words count in ROUGE
    samples = (out / "generated_samples.jsonl").read_text(encoding="utf-8")
    assert "Αθήνα" in samples or "Москва" in samples or "Київ" in samples  # not \\u escapes

    new = project / "data" / "new.csv"
    with new.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["article_body"])
        writer.writerows([[document(rng)[0]] for _ in range(5)] + [[""], [long_doc]])
    predictions = out / "predictions.jsonl"
    args = ["-m", f"{name}.predict", "--model", str(out / "model"), "--input", str(new)]
    args += ["--column", "article_body", "--output", str(predictions)]
    result = run_step(python, args, project, "predict")
    assert "empty text(s) skipped: row(s) 6" in result.stderr
    lines = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 7 and lines[5]["generated"] is None and lines[6]["generated"]
    line = error_line(run_in(python, [*args[:-4], "--output", str(predictions)], project))
    assert "has no column 'document' (set --column)" in line, line
