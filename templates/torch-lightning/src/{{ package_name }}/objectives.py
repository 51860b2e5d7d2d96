"""What the network learns to predict (`model.objective`): loss, metrics, outputs, class weights.

- classification: one class per sample (int labels): cross-entropy (label smoothing, class
  weights); accuracy, balanced accuracy, macro F1; predict -> the class and its probability.
- regression: one or more numbers per sample (float targets, shape (N,) or (N, k)): MSE or
  Huber (`model.regression_loss`); MAE, RMSE, R2; predict -> the predicted values.
- multilabel: any number of labels per sample (0/1 targets, shape (N, labels)): binary
  cross-entropy on logits (class weights become each label's positive weight); micro F1 and
  F1 per label; predict -> the labels whose probability reaches `model.threshold`.

`model.class_weights`: null (none), `balanced` (from the training split's label counts:
n / (classes x count) per class; negatives / positives per label) or a list, one per class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torchmetrics import MeanAbsoluteError, MeanSquaredError, MetricCollection, R2Score
from torchmetrics.classification import (
    MulticlassAccuracy,
    MulticlassF1Score,
    MultilabelF1Score,
)

OBJECTIVES = ("classification", "regression", "multilabel")
REGRESSION_LOSSES = ("mse", "huber")


def check(objective: str, regression_loss: str = "mse") -> None:
    if objective not in OBJECTIVES:
        raise ValueError(f"model.objective must be one of {OBJECTIVES}, got {objective!r}")
    if regression_loss not in REGRESSION_LOSSES:
        raise ValueError(
            f"model.regression_loss must be one of {REGRESSION_LOSSES}, got {regression_loss!r}"
        )


def initial_class_weights(
    setting: str | Sequence[float] | None, objective: str, num_outputs: int
) -> torch.Tensor | None:
    """The weight tensor to register (ones for `balanced`: filled in by fit's setup)."""
    if setting is None:
        return None
    if objective == "regression":
        raise ValueError("model.class_weights apply to classification and multilabel only")
    if isinstance(setting, str):
        if setting != "balanced":
            raise ValueError(f"model.class_weights: null, balanced or a list, got {setting!r}")
        return torch.ones(num_outputs)
    weights = torch.as_tensor([float(w) for w in setting], dtype=torch.float32)
    if len(weights) != num_outputs or bool((weights < 0).any()):
        raise ValueError(
            f"model.class_weights: {len(weights)} weights for {num_outputs} classes "
            "(one non-negative weight per class, in class order)"
        )
    return weights


def balanced_weights(targets: torch.Tensor, objective: str, num_outputs: int) -> torch.Tensor:
    """Weights from the training targets: rarer classes (labels) weigh more."""
    n = len(targets)
    if objective == "multilabel":
        positives = targets.float().sum(dim=0)
        return (n - positives) / positives.clamp(min=1.0)
    counts = torch.bincount(targets.long().flatten(), minlength=num_outputs).float()
    return n / (num_outputs * counts.clamp(min=1.0))


def training_targets(datamodule: Any) -> torch.Tensor:
    """The labels of the data module's training split (without decoding any input)."""
    dataset = datamodule.train_set
    indices = getattr(dataset, "indices", None)
    base = getattr(dataset, "dataset", dataset)
    if hasattr(base, "tensors"):  # a (Subset of a) TensorDataset: inputs, targets
        targets = base.tensors[1]
        return targets[torch.as_tensor(indices)] if indices is not None else targets
    if hasattr(dataset, "samples"):  # an image folder: (path, label) pairs
        return torch.as_tensor([label for _, label in dataset.samples])
    return torch.stack([torch.as_tensor(dataset[i][1]) for i in range(len(dataset))])


def prepare_targets(objective: str, y: torch.Tensor) -> torch.Tensor:
    if objective == "classification":
        return y.long()
    y = y.float()
    return y.view(len(y), -1) if objective == "regression" else y


def compute_loss(
    objective: str,
    logits: torch.Tensor,
    y: torch.Tensor,
    weight: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
    regression_loss: str = "mse",
) -> torch.Tensor:
    if objective == "classification":
        return F.cross_entropy(logits, y, weight=weight, label_smoothing=label_smoothing)
    if objective == "multilabel":
        return F.binary_cross_entropy_with_logits(logits.float(), y, pos_weight=weight)
    if regression_loss == "huber":
        return F.huber_loss(logits.float(), y)
    return F.mse_loss(logits.float(), y)


def make_metrics(objective: str, num_outputs: int) -> MetricCollection:
    if objective == "regression":
        return MetricCollection(
            {
                "mae": MeanAbsoluteError(),
                "rmse": MeanSquaredError(squared=False),
                "r2": R2Score(multioutput="uniform_average"),
            }
        )
    if objective == "multilabel":
        # F1 per label comes from per_label_f1 (logged as <stage>_f1_<label> per epoch).
        return MetricCollection({"f1": MultilabelF1Score(num_labels=num_outputs, average="micro")})
    return MetricCollection(
        {
            # Plain accuracy (share of right answers): torchmetrics' default is the macro
            # average, which shows 0.5 for an all-majority model on 9:1 data.
            "acc": MulticlassAccuracy(num_classes=num_outputs, average="micro"),
            # Balanced accuracy (mean recall per class): the honest one on imbalanced data.
            "bal_acc": MulticlassAccuracy(num_classes=num_outputs, average="macro"),
            "f1": MulticlassF1Score(num_classes=num_outputs, average="macro"),
        }
    )


def per_label_f1(objective: str, num_outputs: int) -> MultilabelF1Score | None:
    """multilabel: F1 of each label (a vector metric, logged one value per label)."""
    if objective != "multilabel":
        return None
    return MultilabelF1Score(num_labels=num_outputs, average=None)


def metric_inputs(
    objective: str, logits: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    if objective == "regression":
        preds, y = logits.float(), y.float()
        # R2Score wants (N,) for one target, (N, k) for k.
        return (preds.squeeze(-1), y.squeeze(-1)) if preds.shape[-1] == 1 else (preds, y)
    if objective == "multilabel":
        return logits.float(), y.long()
    return logits, y


def predictions(objective: str, logits: torch.Tensor, threshold: float) -> dict[str, torch.Tensor]:
    """predict_step's output: what callbacks.PredictionWriter writes per sample."""
    logits = logits.float()
    if objective == "regression":
        return {"value": logits}
    if objective == "multilabel":
        probs = logits.sigmoid()
        return {"probs": probs, "labels": probs >= threshold}
    probs = logits.softmax(dim=-1)
    prob, pred = probs.max(dim=-1)
    return {"pred": pred, "prob": prob}


def _joined(values: Sequence[Any], fmt: str = "{}") -> str:
    return ";".join(fmt.format(v) for v in values)


def prediction_cells(
    prediction: dict[str, torch.Tensor], names: Sequence[str]
) -> list[tuple[str, str, str, str]]:
    """(label, pred, class, prob) cells of predictions.csv for regression and multilabel."""
    if "value" in prediction:  # regression: true and predicted values, target names
        values = prediction["value"].tolist()
        truths = (
            prediction["label"].float().view(len(values), -1).tolist()
            if "label" in prediction
            else None
        )
        return [
            (
                _joined(truths[i], "{:.6g}") if truths else "",
                _joined(row, "{:.6g}"),
                _joined(names),
                "",
            )
            for i, row in enumerate(values)
        ]
    probs = prediction["probs"].tolist()
    chosen = prediction["labels"].tolist()
    truths = prediction["label"].tolist() if "label" in prediction else None
    cells = []
    for i, (row, picks) in enumerate(zip(probs, chosen, strict=True)):
        on = [j for j, picked in enumerate(picks) if picked]
        true = _joined([j for j, t in enumerate(truths[i]) if t]) if truths else ""
        label_names = [names[j] if j < len(names) else str(j) for j in on]
        cells.append(
            (true, _joined(on), _joined(label_names), _joined([row[j] for j in on], "{:.6f}"))
        )
    return cells
