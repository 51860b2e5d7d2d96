"""Layer 6 for hf-finetune's text-generation task: the README's "Your own data" steps on a
user's messy files, built here (no download), with the tiny preset's offline model.

- chats in a column with the user's own name (`dialog`), non-ASCII turns, a system prompt
  in some rows; one malformed row (a turn with role `bot`) stops training with one line
  naming its row and turn; without it, training and prediction work;
- plain-text documents in a CSV with its own column name (`body`), a BOM, empty cells and
  one very long document (far past max_length: truncated, not an error).
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

ANSWERS = {
    "Wo finde ich meine Rechnung?": "Unter Abrechnung, dann Verlauf: jede Rechnung als PDF.",
    "¿Cómo cambio mi contraseña?": "Ajustes, Seguridad y Restablecer contraseña.",
    "Как удалить аккаунт?": "Настройки, Аккаунт, Удалить аккаунт.",
    "パスワードを忘れました": "設定からセキュリティを開いてください。",
}


def preset(project: Path, name: str, **values: object) -> str:
    """configs/<name>.yaml: the tiny preset with the user's own files, as the README says."""
    config = yaml.safe_load((project / "configs" / "tiny.yaml").read_text(encoding="utf-8"))
    config.pop("validation_file", None)
    config.update(values)
    path = project / "configs" / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    return str(path.relative_to(project))


def test_messy_text_generation(render_project, tmp_path: Path) -> None:
    started = time.perf_counter()
    name = "messy_hf_textgen"
    project = render_project(name, stack="hf-finetune", task="text-generation")
    python = project_env(project, tmp_path)
    rng = random.Random(5)
    chats = []
    for _ in range(60):
        question = rng.choice(sorted(ANSWERS))
        turns = [
            {"role": "user", "content": question},
            {"role": "assistant", "content": ANSWERS[question]},
        ]
        if rng.random() < 0.5:
            turns.insert(0, {"role": "system", "content": "Réponds brièvement."})
        chats.append({"dialog": turns, "id": len(chats)})
    bad = [*chats[:7], {"dialog": [{"role": "bot", "content": "hi"}], "id": 99}, *chats[7:]]
    data = project / "data"
    (data / "bad.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in bad), "utf-8"
    )
    (data / "mine.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in chats), "utf-8"
    )
    out = project / "artifacts" / "mine"
    values = {"messages_column": "dialog", "output_dir": "artifacts/mine", "num_train_epochs": 4}

    bad_config = preset(project, "bad", train_file="data/bad.jsonl", **values)
    line = error_line(run_in(python, ["-m", f"{name}.train", "--config", bad_config], project))
    assert line.startswith("error: train row 8, turn 1: role 'bot'"), line

    config = preset(project, "mine", train_file="data/mine.jsonl", **values)
    run_step(python, ["-m", f"{name}.train", "--config", config], project, "train chats")
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["eval_loss"] < metrics["before_loss"] - 1, metrics
    generations = (out / "generations.jsonl").read_text(encoding="utf-8")
    assert "Rechnung" in generations or "Настройки" in generations or "Ajustes" in generations
    predictions = out / "predictions.jsonl"
    run_step(
        python,
        ["-m", f"{name}.predict", "--model", str(out / "model"), "--input", "data/mine.jsonl",
         "--column", "dialog", "--output", str(predictions)],
        project,
        "predict chats",
    )  # fmt: skip
    rows = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(chats) and rows[0]["prompt"][-1]["role"] == "user"
    assert "Wo finde ich" in predictions.read_text(encoding="utf-8")  # not \\u escapes

    # Plain documents: a BOM CSV, the user's column name, empty cells, one very long text.
    docs = [f"Clause {i}. Le fournisseur informe le client sous trente jours." for i in range(40)]
    docs += ["", "  ", " ".join(["La résiliation prend effet après préavis."] * 2000)]
    with (data / "docs.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["doc_id", "body"])
        writer.writerows([i, doc] for i, doc in enumerate(docs))
    text_values = {"text_column": "body", "output_dir": "artifacts/docs", "num_train_epochs": 2}
    text_config = preset(project, "docs", train_file="data/docs.csv", **text_values)
    trained = run_step(
        python, ["-m", f"{name}.train", "--config", text_config], project, "train text"
    )
    assert "dropped 2 empty text row(s)" in trained.stdout + trained.stderr
    text_metrics = json.loads((project / "artifacts/docs/metrics.json").read_text(encoding="utf-8"))
    assert text_metrics["eval_loss"] < text_metrics["before_loss"], text_metrics
    assert time.perf_counter() - started < 240, "the messy scenario should stay near 2 minutes"
