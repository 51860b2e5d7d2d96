"""The stratified train / validation / test split, and the refusal of classes too small for it.

Validation drives early stopping and the best checkpoint, so its accuracy is optimistic; the
test split is held out from everything and read only once, for the final report
(`evaluate.py`). Each class is split on its own (stratified), with a seeded shuffle, so every
split sees every class in about the same proportions as the whole data.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


class DataError(ValueError):
    """A problem with the user's data: train.py reports it as one line, without a traceback."""


@dataclass(frozen=True)
class Split:
    """Indices into the examples, one array per split (disjoint, together all kept examples)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    dropped: tuple[str, ...] = ()  # classes left out (data.drop_rare_classes)


def _sizes(count: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    """Validation and test sizes of one class: rounded, at least 1 each, 1+ left to train."""
    n_val = max(1, round(count * val_fraction))
    n_test = max(1, round(count * test_fraction))
    while n_val + n_test > count - 1 and max(n_val, n_test) > 1:
        if n_val >= n_test:
            n_val -= 1
        else:
            n_test -= 1
    return n_val, n_test


MIN_CLASS_SIZE = 3  # one example in each of train, validation and test


def stratified_split(
    labels: np.ndarray,
    class_names: Sequence[str],
    val_fraction: float = 0.15,
    test_fraction: float = 0.15,
    seed: int = 42,
    drop_rare: bool = False,
) -> Split:
    """Split example indices by class into train / validation / test.

    A class with fewer than `MIN_CLASS_SIZE` examples cannot be in every split: it is
    refused with a `DataError` naming it (and its count), or, with `drop_rare`, left out of
    all three splits with a warning (the model then does not know that class).
    """
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1):
        raise DataError(
            f"data.validation_split ({val_fraction}) and data.test_split ({test_fraction}) "
            "must both be between 0 and 1: the report is measured on the test split"
        )
    if val_fraction + test_fraction >= 0.9:
        raise DataError(
            f"data.validation_split + data.test_split = {val_fraction + test_fraction:.2f} "
            "leaves under 10% of the data to train on"
        )
    labels = np.asarray(labels)
    needed = MIN_CLASS_SIZE
    counts = {index: int(np.sum(labels == index)) for index in range(len(class_names))}
    rare = {class_names[i]: n for i, n in counts.items() if n < needed}
    if rare and not drop_rare:
        shown = ", ".join(f"{name!r} ({n})" for name, n in sorted(rare.items())[:10])
        raise DataError(
            f"{len(rare)} class(es) with fewer than {needed} examples cannot be in the train, "
            f"validation and test splits: {shown}; add examples, or set "
            "data.drop_rare_classes: true to leave them out"
        )
    if len(class_names) - len(rare) < 2:
        raise DataError(
            f"{len(class_names) - len(rare)} class(es) with {needed}+ examples; 2 or more "
            "are needed"
        )
    if rare:
        log.warning(
            "left out %d class(es) with fewer than %d examples (data.drop_rare_classes): %s",
            len(rare),
            needed,
            ", ".join(sorted(rare)),
        )
    rng = np.random.default_rng(seed)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for index, count in counts.items():
        if class_names[index] in rare:
            continue
        members = rng.permutation(np.flatnonzero(labels == index))
        n_val, n_test = _sizes(count, val_fraction, test_fraction)
        parts["test"].append(members[:n_test])
        parts["val"].append(members[n_test : n_test + n_val])
        parts["train"].append(members[n_test + n_val :])
    # shuffled across classes, so batches of the validation/test pipelines mix classes
    train, val, test = (
        rng.permutation(np.concatenate(parts[name])) for name in ("train", "val", "test")
    )
    return Split(train=train, val=val, test=test, dropped=tuple(sorted(rare)))


def remap(
    labels: np.ndarray, class_names: Sequence[str], dropped: Sequence[str]
) -> tuple[np.ndarray, list[str]]:
    """Labels and class names without the `dropped` classes (indices renumbered from 0)."""
    if not dropped:
        return labels, list(class_names)
    kept = [name for name in class_names if name not in set(dropped)]
    new_index = {class_names.index(name): i for i, name in enumerate(kept)}
    return np.array([new_index.get(int(y), -1) for y in labels], dtype=np.int32), kept
