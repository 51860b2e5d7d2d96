"""Layer 6 for the tabular stack: the README's "Your own data" steps on a messy table.

The table is built here (no download) the way users' exports look: their own column names, a
unique `customer_id`, a `signup_date`, missing values, a string in a numeric column, a class
with two rows, ~14% positives, non-ASCII cities, a UTF-8 byte-order mark, integer labels with
empty cells. Each step ends in a correct result or one clear error line naming the problem.
"""

from __future__ import annotations

import csv
import json
import random
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.stack_env import error_line, project_env, run_in, run_step

pytestmark = pytest.mark.integration

NAME = "messy_tab"
CITIES = ["Zürich", "São Paulo", "Kraków", "Москва", "東京", "Reykjavík", "Lyon", "Ōsaka"]
PLANS = ["basic", "pro", "família"]


def customer_rows(count: int, seed: int, first_id: int = 1) -> list[dict[str, str]]:
    """Rows whose churn follows income, tenure and plan (learnable), ~14% positives."""
    rng = random.Random(seed)
    rows = []
    for index in range(count):
        income = rng.gauss(52_000, 15_000)
        age = rng.randint(18, 80)
        plan = rng.choice(PLANS)
        tenure = rng.randint(0, 120)
        risk = -income / 15_000 - tenure / 40 + (1.2 if plan == "basic" else 0.0)
        churned = int(risk + rng.gauss(0, 0.35) > -3.3)
        day = 1 + (index * 7) % 900
        rows.append(
            {
                "customer_id": f"C{first_id + index:05d}",
                "signup_date": f"2023-{1 + day // 90 % 12:02d}-{1 + day % 28:02d}",
                "age": "" if index % 17 == 0 else str(age),
                "income": "" if index % 23 == 0 else f"{income:.2f}",
                "city": "" if index % 19 == 0 else rng.choice(CITIES),
                "plan": plan,
                "tenure_months": str(tenure),
                "churned": str(churned),
            }
        )
    return rows


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    # utf-8-sig: the byte-order mark Excel puts in front of the first column name
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def messy_table(path: Path) -> tuple[Path, list[dict[str, str]]]:
    rows = customer_rows(300, seed=7)
    rows[5]["income"] = "unknown"  # a string in a numeric column
    for index in (11, 42, 77, 150):
        rows[index]["churned"] = ""  # empty label cells
    rows[20]["churned"] = rows[21]["churned"] = "2"  # a class with two rows
    return write_csv(path, rows), rows


def test_messy_table_through_the_readme(render_project, tmp_path: Path) -> None:
    started = time.perf_counter()
    project = render_project(NAME, task="tabular-classification", hardware="cpu")
    python = project_env(project, tmp_path)
    readme = (project / "README.md").read_text(encoding="utf-8")
    # What the README promises is what this test holds it to.
    assert "id_columns" in readme and "passed through" in readme
    data = project / "data"
    table, rows = messy_table(data / "customers.csv")
    base = yaml.safe_load((project / "configs" / "train.yaml").read_text(encoding="utf-8"))

    def config(name: str, **data_keys: object) -> str:
        values = {**base, "data": {**base["data"], "path": "data/customers.csv", **data_keys}}
        path = project / "configs" / f"{name}.yaml"
        path.write_text(yaml.safe_dump(values, allow_unicode=True), encoding="utf-8")
        return str(path.relative_to(project))

    def train(cfg: str) -> subprocess.CompletedProcess:
        return run_in(python, ["-m", f"{NAME}.train", "--config", cfg], project)

    # 1. A typo in data.drop is an error, not silently ignored.
    line = error_line(train(config("typo", target="churned", drop=["custmer_id"])))
    assert "custmer_id" in line and "not in the data" in line

    # 2. A class with two rows: one line naming it, instead of nan scores and a ValueError.
    line = error_line(train(config("mine", target="churned")))
    assert "'2'" not in line and "2 (2 rows)" in line, line

    # 3. The user drops those rows, as the message suggests, and trains.
    write_csv(table, [row for row in rows if row["churned"] != "2"])
    run_step(python, ["-m", f"{NAME}.train", "--config", "configs/mine.yaml"], project, "train")
    out = project / "artifacts"
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    columns = metrics["columns"]
    assert columns["id_columns"] == ["customer_id"], columns  # not one-hot encoded
    assert columns["datetime"] == ["signup_date"], columns
    assert set(columns["numeric"]) == {"age", "income", "tenure_months"}, columns
    assert set(columns["categorical"]) == {"city", "plan"}, columns
    assert columns["coerced_to_missing"] == {"income": 1}, columns
    assert metrics["rows_without_target"] == 4
    assert metrics["encoded_features"] < 30, "IDs and dates must not become thousands of columns"
    assert metrics["class_weight"] == "balanced"  # ~14% positives
    assert metrics["holdout"]["roc_auc"] > 0.8, metrics["holdout"]
    assert metrics["holdout"]["recall"]["1"] > 0.5, "the minority class must be predicted"

    # 4. A second run of the same config gives the same scores (seeded) and overwrites cleanly.
    run_step(
        python, ["-m", f"{NAME}.train", "--config", "configs/mine.yaml"], project, "train again"
    )
    again = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert again["holdout"] == metrics["holdout"] and again["cv"] == metrics["cv"]

    # 5. New rows with a bad cell: one line naming the row, its ID and the column.
    new_rows = customer_rows(25, seed=99, first_id=90_001)
    for row in new_rows:
        del row["churned"]
    new_rows[3]["income"] = "lots"
    new_rows[4]["city"] = "Ushuaia"  # a city never seen in training: scored, not an error
    new_rows[6]["signup_date"] = ""
    new = write_csv(data / "new.csv", new_rows)
    predict = ["-m", f"{NAME}.predict", "--model", "artifacts/model.joblib", "--input", str(new)]
    line = error_line(run_in(python, [*predict, "--output", "artifacts/p.csv"], project))
    assert "row 4" in line and "customer_id=C90004" in line and "'income'" in line, line
    assert "'lots'" in line, line

    # 6. Fixed, the rows are scored; the ID comes through; labels stay integers.
    new_rows[3]["income"] = "48000"
    write_csv(new, new_rows)
    scored = run_step(
        python, [*predict, "--output", "artifacts/predictions.csv"], project, "predict"
    )
    assert "column 'city': 1 value(s) unseen in training: 'Ushuaia'" in scored.stderr
    with (out / "predictions.csv").open(encoding="utf-8") as handle:
        predictions = list(csv.DictReader(handle))
    assert [row["customer_id"] for row in predictions] == [r["customer_id"] for r in new_rows]
    assert list(predictions[0]) == ["customer_id", "prediction", "proba_0", "proba_1"]
    assert {row["prediction"] for row in predictions} <= {"0", "1"}
    print(f"\n{NAME}: scenario {time.perf_counter() - started:.1f} s")
