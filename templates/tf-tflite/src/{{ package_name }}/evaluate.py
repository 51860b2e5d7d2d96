"""The honest part of the report: per-class metrics on the held-out test split, and chance.

For the Keras model and every TFLite variant (each run under LiteRT by export.py) this gives
accuracy, macro-F1, scikit-learn's per-class precision / recall / F1 and a confusion matrix
PNG, all on the test split that neither early stopping nor the checkpoint saw. Agreement
with Keras only says a variant behaves like the Keras model, not that either is any good:
a model at chance agrees with itself perfectly. So the accuracy is also compared with
chance (the majority-class rate and 1 / number of classes) and a warning is raised, in the
log and in the report, when it is within `margin` of it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import classification_report, confusion_matrix  # noqa: E402

log = logging.getLogger(__name__)
CHANCE_MARGIN = 0.05  # accuracy points above chance below which the report warns
MAX_ACCURACY_COST = 0.02  # a variant losing more accuracy than this vs Keras is flagged


def cost_warning(name: str, cost: float, max_cost: float = MAX_ACCURACY_COST) -> str | None:
    """A warning sentence when a TFLite variant loses more than `max_cost` accuracy vs Keras."""
    if cost <= max_cost:
        return None
    return (
        f"{name}: test accuracy {cost:.4f} below Keras (more than export.max_accuracy_cost "
        f"{max_cost:.2f}): ship float16 or dynamic_range instead, or calibrate int8 on more "
        "representative samples (export.representative_samples); quantization-aware training "
        "(tensorflow-model-optimization) supports tf-keras (Keras 2) models only, not Keras 3"
    )


def chance_level(y_true: np.ndarray, num_classes: int) -> dict[str, float]:
    """What guessing scores on `y_true`: always the majority class, or uniformly at random."""
    counts = np.bincount(np.asarray(y_true, dtype=int), minlength=num_classes)
    majority = float(counts.max() / max(counts.sum(), 1))
    uniform = 1.0 / num_classes
    return {"majority_rate": majority, "uniform_rate": uniform, "chance": max(majority, uniform)}


def chance_warning(
    name: str, accuracy: float, chance: Mapping[str, float], margin: float = CHANCE_MARGIN
) -> str | None:
    """A warning sentence when `accuracy` is within `margin` of chance, else None."""
    if accuracy >= chance["chance"] + margin:
        return None
    return (
        f"{name}: test accuracy {accuracy:.4f} is within {margin:.2f} of chance "
        f"(majority class {chance['majority_rate']:.4f}, 1/{round(1 / chance['uniform_rate'])} "
        f"= {chance['uniform_rate']:.4f}): this model has not learned the task; agreement "
        "between variants says nothing about quality"
    )


def summarize(y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix."""
    labels = list(range(len(class_names)))
    report = classification_report(
        y_true,
        y_pred,
        labels=labels,
        target_names=list(class_names),
        output_dict=True,
        zero_division=0,
    )
    per_class = {
        name: {
            "precision": float(report[name]["precision"]),
            "recall": float(report[name]["recall"]),
            "f1": float(report[name]["f1-score"]),
            "support": int(report[name]["support"]),
        }
        for name in class_names
    }
    return {
        "accuracy": float(np.mean(np.asarray(y_true) == np.asarray(y_pred))),
        "macro_f1": float(report["macro avg"]["f1-score"]),
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def plot_confusion_matrix(
    matrix: Sequence[Sequence[int]], class_names: Sequence[str], path: Path, title: str
) -> Path:
    """The confusion matrix (rows: true class, columns: predicted) as a PNG, counts written."""
    counts = np.asarray(matrix)
    size = max(4.0, 0.5 * len(class_names) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(counts, cmap="Blues")
    ticks = range(len(class_names))
    ax.set_xticks(ticks, labels=class_names, rotation=45, ha="right")
    ax.set_yticks(ticks, labels=class_names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    threshold = counts.max() / 2 if counts.size else 0
    for (i, j), value in np.ndenumerate(counts):
        color = "white" if value > threshold else "black"  # readable on dark cells
        ax.text(j, i, str(value), ha="center", va="center", color=color, fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def evaluate_predictions(
    predictions: Mapping[str, np.ndarray],
    y_true: np.ndarray,
    class_names: Sequence[str],
    folder: Path,
    margin: float = CHANCE_MARGIN,
    max_cost: float = MAX_ACCURACY_COST,
) -> dict[str, Any]:
    """Summaries, PNGs and chance warnings for each model's predicted classes on `y_true`.

    `predictions` maps a model name ("keras", then the TFLite variants) to its predicted
    class ids; the first one is the reference the others' accuracy cost is measured from.
    `cost_warnings` names the variants that cost more than `max_cost` accuracy.
    """
    chance = chance_level(y_true, len(class_names))
    models: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    cost_warnings: list[str] = []
    reference: float | None = None
    for name, y_pred in predictions.items():
        summary = summarize(y_true, y_pred, class_names)
        reference = summary["accuracy"] if reference is None else reference
        summary["accuracy_cost"] = reference - summary["accuracy"]
        png = plot_confusion_matrix(
            summary["confusion_matrix"],
            class_names,
            folder / f"confusion_matrix_{name}.png",
            f"{name}: test accuracy {summary['accuracy']:.3f}",
        )
        summary["confusion_png"] = png.name
        warning = chance_warning(name, summary["accuracy"], chance, margin)
        if warning:
            log.warning(warning)
            warnings.append(warning)
        expensive = cost_warning(name, summary["accuracy_cost"], max_cost)
        if expensive:
            log.warning(expensive)
            cost_warnings.append(expensive)
        models[name] = summary
    return {
        "split": "test",
        "samples": len(y_true),
        "chance": {**chance, "margin": margin},
        "models": models,
        "warnings": warnings,
        "cost_warnings": cost_warnings,
    }


def markdown_section(evaluation: Mapping[str, Any]) -> str:
    """The report's test-split tables: one row per model, then F1 per class and model."""
    models = evaluation["models"]
    chance = evaluation["chance"]
    lines = [
        "## Test split",
        "",
        f"{evaluation['samples']} held-out samples (never used for early stopping or the "
        f"checkpoint). Chance: majority class {chance['majority_rate']:.4f}, uniform "
        f"{chance['uniform_rate']:.4f}.",
        "",
    ]
    flagged = [*evaluation["warnings"], *evaluation.get("cost_warnings", [])]
    lines += [f"> **Warning:** {warning}\n" for warning in flagged]
    lines += [
        "| model | accuracy | macro-F1 | accuracy cost vs Keras | confusion matrix |",
        "|---|---:|---:|---:|---|",
    ]
    for name, summary in models.items():
        lines.append(
            f"| {name} | {summary['accuracy']:.4f} | {summary['macro_f1']:.4f} "
            f"| {summary['accuracy_cost']:+.4f} | `{summary['confusion_png']}` |"
        )
    names = list(models)
    first = next(iter(models.values()))
    lines += [
        "",
        "F1 per class (support = test samples of the class):",
        "",
        "| class | support | " + " | ".join(names) + " |",
        "|---|---:|" + "---:|" * len(names),
    ]
    for label, row in first["per_class"].items():
        scores = " | ".join(f"{models[name]['per_class'][label]['f1']:.3f}" for name in names)
        lines.append(f"| {label} | {row['support']} | {scores} |")
    return "\n".join(lines) + "\n"
