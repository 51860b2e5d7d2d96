"""Layer 6 for the hf-finetune stack: the README's "Your own data" steps on messy files.

Built here, no download, the tiny preset's offline model:
- text classification: a BOM-prefixed CSV with the user's column names, integer labels 0-11
  (id2label must follow numeric order), empty label cells, empty texts, a class with one
  row, non-ASCII texts; resume with `--resume_from_checkpoint`; predict on new rows with an
  empty and a very long text.
- token classification: JSONL (and the same data as CSV, space-separated) with non-ASCII
  names and a validation tag absent from training; predict on a text longer than the model's
  window.
Each step ends in a correct result or one clear error line naming the problem.
"""

from __future__ import annotations

import csv
import json
import random
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.stack_env import error_line, project_env, run_in, run_step

pytestmark = pytest.mark.integration

# One word per class, in several scripts: the class is learnable from it.
CLASS_WORDS = [
    "rouge", "grün", "azul", "żółty", "чёрный", "白い",
    "rosa", "naranja", "violeta", "gris", "marrón", "dorado",
]  # fmt: skip
FILLER = ["the", "parcel", "arrived", "on", "time", "and", "was", "café", "fine", "today"]


def review(rng: random.Random, label: int) -> str:
    words = rng.sample(FILLER, 5)
    words.insert(rng.randrange(len(words) + 1), CLASS_WORDS[label])
    return " ".join(words)


def preset(project: Path, name: str, **values: object) -> str:
    """configs/<name>.yaml: the tiny preset with the user's own files, as the README says."""
    config = yaml.safe_load((project / "configs" / "tiny.yaml").read_text(encoding="utf-8"))
    for key in ("validation_file", "test_file"):
        config.pop(key, None)
    config.update(values)
    path = project / "configs" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return str(path.relative_to(project))


def test_messy_text_classification(render_project, tmp_path: Path) -> None:
    started = time.perf_counter()
    name = "messy_hf_text"
    project = render_project(name, stack="hf-finetune", task="text-classification")
    python = project_env(project, tmp_path)
    rng = random.Random(3)
    rows = [(review(rng, label), str(label)) for label in range(11) for _ in range(14)]
    rows.append((review(rng, 11), "11"))  # a class with a single row
    rows += [(review(rng, 1), ""), (review(rng, 2), ""), ("", "3"), ("  ", "4")]
    rng.shuffle(rows)
    data = project / "data" / "reviews.csv"
    with data.open("w", encoding="utf-8-sig", newline="") as handle:  # Excel's BOM
        writer = csv.writer(handle)
        writer.writerow(["review_text", "rating"])
        writer.writerows(rows)
    out = project / "artifacts" / "mine"
    config = preset(
        project,
        "mine",
        train_file="data/reviews.csv",
        text_column="review_text",
        label_column="rating",
        output_dir="artifacts/mine",
        num_train_epochs=3,
        learning_rate=1.0e-2,
        per_device_train_batch_size=8,
        seed=4,  # the seed whose unstratified hold-out took the one-row class from training
    )
    train = ["-m", f"{name}.train", "--config", config]

    # Resuming with nothing to resume from: one line, not a traceback.
    line = error_line(run_in(python, [*train, "--resume_from_checkpoint", "true"], project))
    assert "no checkpoint" in line and "artifacts/mine" in line, line

    first = run_step(python, train, project, "train")
    log = first.stdout + first.stderr
    assert "dropped 2 row(s) with an empty label" in log, log[-3000:]
    assert "dropped 2 row(s) with an empty text" in log, log[-3000:]
    assert "class(es) with one row, kept out of the hold-out: 11" in log, log[-3000:]
    model_config = json.loads((out / "model" / "config.json").read_text(encoding="utf-8"))
    # integer labels in numeric order: id 10 is label "10", not "2"; no class "None"
    assert model_config["id2label"] == {str(i): str(i) for i in range(12)}
    steps = json.loads((out / "trainer_state.json").read_text(encoding="utf-8"))["global_step"]

    # Resume: the step count, optimizer and schedule continue from the last checkpoint.
    resumed = run_step(
        python,
        [*train, "--num_train_epochs", "6", "--resume_from_checkpoint", "true"],
        project,
        "resume",
    )
    assert "resuming from" in resumed.stdout + resumed.stderr
    state = json.loads((out / "trainer_state.json").read_text(encoding="utf-8"))
    assert state["global_step"] == 2 * steps, (steps, state["global_step"])
    # epochs 1-3 evaluated by the first run (kept in the checkpoint), 4-6 by the resumed one
    epochs = sorted({entry["epoch"] for entry in state["log_history"] if "eval_loss" in entry})
    assert epochs == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], epochs
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["eval_accuracy"] > 0.5, metrics  # chance is 1/12

    # Predict: new rows, one empty, one far longer than max_seq_length.
    new = project / "data" / "new.csv"
    texts = [review(rng, label) for label in range(11)]
    texts += ["", " ".join([review(rng, 5)] + FILLER * 300)]
    with new.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["review_text"])
        writer.writerows([text] for text in texts)
    predictions = out / "predictions.jsonl"
    run_step(
        python,
        [
            "-m",
            f"{name}.predict",
            "--model",
            str(out / "model"),
            "--input",
            str(new),
            "--column",
            "review_text",
            "--output",
            str(predictions),
        ],
        project,
        "predict",
    )
    written = predictions.read_text(encoding="utf-8")
    assert "żółty" in written, "non-ASCII stays readable (not \\u-escaped)"
    results = [json.loads(line) for line in written.splitlines()]
    assert [row["text"] for row in results] == texts
    assert results[11]["label"] is None  # the empty text is not scored
    labels = [row["label"] for row in results[:11]] + [results[12]["label"]]
    assert set(labels) <= {str(i) for i in range(12)}
    correct = sum(label == str(i) for i, label in enumerate(labels[:11]))
    assert correct >= 7, labels
    print(f"\n{name}: scenario {time.perf_counter() - started:.1f} s")


PEOPLE = ["Søren Ødegaard", "Zoë Šimić", "Joaquín Muñoz", "Łucja Wójcik", "Ana Díaz"]
PLACES = ["Kraków", "Århus", "São Paulo", "Reykjavík", "Łódź"]
ORGS = ["Škoda Labs", "Nordisk Ørsted", "Café Müller"]


def sentence(rng: random.Random) -> tuple[list[str], list[str]]:
    tokens: list[str] = []
    tags: list[str] = []
    for kind, names, verb in (
        ("PER", PEOPLE, ["met", "works", "with"]),
        ("ORG", ORGS, ["at", "near"]),
        ("LOC", PLACES, ["in"]),
    ):
        words = rng.choice(names).split()
        tokens += words
        tags += [f"B-{kind}"] + [f"I-{kind}"] * (len(words) - 1)
        verb_word = rng.choice(verb)
        tokens.append(verb_word)
        tags.append("O")
    return tokens + ["."], tags + ["O"]


def test_messy_token_classification(render_project, tmp_path: Path) -> None:
    started = time.perf_counter()
    name = "messy_hf_ner"
    project = render_project(name, stack="hf-finetune", task="token-classification")
    python = project_env(project, tmp_path)
    rng = random.Random(5)
    train_rows = [sentence(rng) for _ in range(120)]
    validation_rows = [sentence(rng) for _ in range(15)]
    # a tag the training data never has: a KeyError before, a missed entity now
    validation_rows.append(
        (["Eurovision", "was", "in", "Łódź", "."], ["B-MISC", "O", "O", "B-LOC", "O"])
    )
    data = project / "data"

    def jsonl(path: Path, rows: list[tuple[list[str], list[str]]]) -> str:
        lines = [json.dumps({"words": t, "labels": g}, ensure_ascii=False) for t, g in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return str(path.relative_to(project))

    common = {
        "tokens_column": "words",
        "tags_column": "labels",
        "learning_rate": 1.0e-2,
        "per_device_train_batch_size": 8,
    }
    config = preset(
        project,
        "mine",
        train_file=jsonl(data / "mine.jsonl", train_rows),
        validation_file=jsonl(data / "mine-validation.jsonl", validation_rows),
        output_dir="artifacts/mine",
        num_train_epochs=8,
        **common,
    )
    result = run_step(python, ["-m", f"{name}.train", "--config", config], project, "train")
    log = result.stdout + result.stderr
    assert "tag(s) in validation but not in training: B-MISC" in log, log[-3000:]
    out = project / "artifacts" / "mine"
    model_config = json.loads((out / "model" / "config.json").read_text(encoding="utf-8"))
    assert "B-MISC" in model_config["label2id"]
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert 0.5 < metrics["eval_recall"] < 1.0, metrics  # the MISC entity counts as missed

    # The README documents CSV too: words and tags as space-separated cells.
    with (data / "mine.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["words", "labels"])
        writer.writerows([" ".join(t), " ".join(g)] for t, g in train_rows)
        writer.writerow(["Ana Díaz works", "B-PER I-PER"])  # one tag short
    csv_config = preset(
        project, "mine-csv", train_file="data/mine.csv", output_dir="artifacts/csv",
        num_train_epochs=1, **common,
    )  # fmt: skip
    line = error_line(run_in(python, ["-m", f"{name}.train", "--config", csv_config], project))
    assert "row 121" in line and "3 words but 2 tags" in line, line
    # the user fixes the file (drops the bad row) and trains again
    with (data / "mine.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["words", "labels"])
        writer.writerows([" ".join(t), " ".join(g)] for t, g in train_rows)
    run_step(python, ["-m", f"{name}.train", "--config", csv_config], project, "train csv")
    csv_labels = json.loads((project / "artifacts/csv/model/config.json").read_text())["label2id"]
    assert set(csv_labels) == {f"{p}-{k}" for p in "BI" for k in ("PER", "ORG", "LOC")} | {"O"}

    # A text far longer than the model's window: entities are found to its very end.
    long_text = " ".join(" ".join(sentence(rng)[0]) for _ in range(60))
    predictions = out / "predictions.jsonl"
    run_step(
        python,
        [
            "-m",
            f"{name}.predict",
            "--model",
            str(out / "model"),
            "--text",
            long_text,
            "--output",
            str(predictions),
        ],
        project,
        "predict",
    )
    written = predictions.read_text(encoding="utf-8")
    entities = json.loads(written)["entities"]
    assert max(entity["end"] for entity in entities) > 0.95 * len(long_text), entities[-3:]
    found = {entity["word"] for entity in entities if entity["entity_group"] == "PER"}
    assert found & set(PEOPLE), found
    assert "Ø" in written or "ó" in written, "non-ASCII stays readable (not \\u-escaped)"
    print(f"\n{name}: scenario {time.perf_counter() - started:.1f} s")
