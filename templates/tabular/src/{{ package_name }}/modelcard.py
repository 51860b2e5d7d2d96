"""The model card: what the model is, what it was trained on, how good it is, and with what.

Written beside model.joblib as MODEL_CARD.md (the sections of Mitchell et al.'s "Model Cards
for Model Reporting", as Hugging Face model cards use them), from the same numbers as
metrics.json, so the card cannot disagree with the run. The library versions matter twice:
a joblib file only loads reliably under the scikit-learn it was saved with, and predict
warns when they differ (`versions_mismatch`).
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

# Distributions whose versions decide whether the saved pipeline loads and scores the same.
LIBRARIES = ("scikit-learn", "numpy", "pandas", "xgboost", "xgboost-cpu", "lightgbm", "joblib")


def library_versions() -> dict[str, str]:
    """Python and the installed versions of LIBRARIES (the ones that are installed)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def versions_mismatch(saved: dict[str, str]) -> list[str]:
    """'name trained X, here Y' for each library whose version differs from training."""
    here = library_versions()
    return [
        f"{name} trained {version}, here {here[name]}"
        for name, version in saved.items()
        if name != "python" and name in here and here[name] != version
    ]


def _cell(value: Any) -> str:
    """A Markdown table cell: pipes and line breaks in users' column names kept as data."""
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _score(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else _cell(value)


def _schema_rows(columns: dict[str, Any]) -> list[str]:
    roles = {
        "numeric": "numeric feature (median-imputed, scaled)",
        "categorical": "categorical feature (one-hot, rare values merged)",
        "datetime": "date feature (year, month, day, weekday, day of year)",
        "id_columns": "ID: not a feature, copied into predictions",
        "dropped": "dropped",
    }
    rows = ["| Column | Role |", "| --- | --- |"]
    for key, label in roles.items():
        rows += [f"| {_cell(name)} | {label} |" for name in columns.get(key, [])]
    coerced = columns.get("coerced_to_missing") or {}
    rows += [
        f"| {_cell(name)} | {count} cell(s) not valid, counted as missing |"
        for name, count in coerced.items()
    ]
    return rows


def _metric_rows(result: dict[str, Any]) -> list[str]:
    rows = ["| Model | Score | Value |", "| --- | --- | --- |"]
    model = _cell(result["model"])
    for name, value in result["cv"].items():
        rows.append(f"| {model} | cv {name} | {value['mean']:.4f} ± {value['std']:.4f} |")
    for name, value in result["holdout"].items():
        if not isinstance(value, dict):
            rows.append(f"| {model} | hold-out {name} | {_score(value)} |")
    for baseline, scores in result.get("baselines", {}).items():
        for name, value in scores.items():
            rows.append(f"| baseline: {_cell(baseline)} | cv {name} | {_score(value)} |")
    return rows


def render(result: dict[str, Any], target: str, versions: dict[str, str]) -> str:
    """The card's Markdown text, from the training result (metrics.json's content)."""
    lines = [
        f"# Model card: {_cell(result['model'])} {result['task']} of {_cell(target)}",
        "",
        f"Trained {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by this project's "
        "`train` command; every number below is also in `metrics.json`.",
        "",
        "## Model details",
        "",
        f"- Estimator: {_cell(result['model'])} in a scikit-learn `Pipeline` (model.joblib)",
        f"- Task: {result['task']}; target column {_cell(target)}",
        f"- Rows: {result['rows']['train']} train, {result['rows']['test']} hold-out; the "
        f"saved model saw {result['saved_model_rows']}",
        f"- Class weights: {result.get('class_weight', 'none')}",
    ]
    if result.get("threshold") is not None:
        lines.append(f"- Decision threshold on the positive class: {result['threshold']:.3f}")
    lines += ["", "## Data schema", "", *_schema_rows(result["columns"])]
    lines += ["", "## Metrics", "", *_metric_rows(result)]
    recall = result["holdout"].get("recall")
    if isinstance(recall, dict):
        lines += ["", "Hold-out recall per class:", ""]
        lines += [f"- {_cell(name)}: {value:.3f}" for name, value in recall.items()]
    margin = result.get("margin_over_best_baseline") or {}
    warnings = [
        f"The model does not beat the best baseline on cv {name} (margin {value:+.4f})."
        for name, value in margin.items()
        if value is not None and value <= 0
    ]
    if result.get("rows_without_target"):
        warnings.append(f"{result['rows_without_target']} row(s) had no target and were not used.")
    lines += ["", "## Caveats", ""]
    lines += [f"- {w}" for w in warnings] or ["- None found by the training run."]
    lines += [
        "- Scores hold for data like the training table: predict checks the schema above and "
        "warns about categories it has not seen.",
    ]
    explanations = result.get("explanations") or {}
    top = list((explanations.get("mean_abs_shap") or result.get("feature_importance", {})).items())
    if top:
        source = explanations.get("method", "permutation importance on the hold-out")
        lines += ["", f"## Most influential columns ({_cell(source)})", ""]
        lines += [f"{i}. {_cell(name)}: {value:.4f}" for i, (name, value) in enumerate(top[:10], 1)]
    lines += ["", "## Plots", ""] + [f"- ![{p}]({p})" for p in result.get("plots", [])]
    lines += ["", "## Software", "", "| Library | Version |", "| --- | --- |"]
    lines += [f"| {name} | {version} |" for name, version in versions.items()]
    return "\n".join(lines) + "\n"


def write(out: Path, result: dict[str, Any], target: str, versions: dict[str, str]) -> Path:
    path = out / "MODEL_CARD.md"
    path.write_text(render(result, target, versions), encoding="utf-8")
    return path
