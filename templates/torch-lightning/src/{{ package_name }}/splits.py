"""The train/validation/test split, stratified by class for classification.

Each class is shuffled with the split seed and shares its rows in the same fractions, so a
9:1 dataset keeps 9:1 in validation and test (a plain shuffle can leave a rare class out of
them). A class too small for a share stays in training; without labels (regression,
multi-label) the rows are shuffled as one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def _shares(n: int, val_fraction: float, test_fraction: float) -> tuple[int, int]:
    n_val = max(1, round(n * val_fraction)) if val_fraction > 0 else 0
    n_test = max(1, round(n * test_fraction)) if test_fraction > 0 else 0
    return n_val, n_test


def split_indices(
    n: int,
    val_fraction: float,
    test_fraction: float,
    seed: int,
    labels: Sequence[int] | None = None,
) -> tuple[list[int], list[int], list[int]]:
    """(train, validation, test) row indices; the same for the same seed and data."""
    generator = torch.Generator().manual_seed(seed)
    if labels is None:
        order = torch.randperm(n, generator=generator).tolist()
        n_val, n_test = _shares(n, val_fraction, test_fraction)
        return order[n_val + n_test :], order[:n_val], order[n_val : n_val + n_test]
    train: list[int] = []
    val: list[int] = []
    test: list[int] = []
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(int(label), []).append(i)
    for label in sorted(by_class):
        rows = by_class[label]
        rows = [rows[j] for j in torch.randperm(len(rows), generator=generator).tolist()]
        n_val, n_test = round(len(rows) * val_fraction), round(len(rows) * test_fraction)
        val += rows[:n_val]
        test += rows[n_val : n_val + n_test]
        train += rows[n_val + n_test :]
    # every class too small for a share: still hold one row out for each split asked for
    for fraction, chosen in ((val_fraction, val), (test_fraction, test)):
        if fraction > 0 and not chosen and len(train) > 1:
            chosen.append(train.pop(0))
    order = torch.randperm(len(train), generator=generator).tolist()
    return [train[i] for i in order], sorted(val), sorted(test)
