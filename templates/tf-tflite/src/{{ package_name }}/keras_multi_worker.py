"""Two fixes that let Keras 3's `model.fit` train under `MultiWorkerMirroredStrategy`.

Keras 3 (3.15, TensorFlow backend) breaks twice in `fit` when the strategy spans 2+
workers (keras-team/keras#20585, open):

1. before the first step it averages the first input batch with `strategy.reduce`, which
   takes one tensor, not an `(x, y)` structure, across workers: "Attempt to convert a value
   (PerReplica...) with an unsupported type"; the batch is only read for its shapes, so this
   worker's local part is as good;
2. after each step it averages the scalar logs (loss, accuracy) with
   `strategy.reduce("MEAN", v, axis=0)`, and a scalar has no axis 0: "Invalid reduction
   dimension 0 for input with 0 dimensions"; `axis=None` averages them across the replicas,
   which is what one machine's MirroredStrategy reports.

`patch()` wraps those two Keras functions so that only the multi-worker case changes; every
other strategy runs Keras's own code. If a Keras release renames them, `patch()` logs a
warning and changes nothing (a fixed Keras needs nothing; tests/test_distribute.py trains
two local workers and fails if fit breaks again).
"""

from __future__ import annotations

import logging
from typing import Any

import tensorflow as tf

log = logging.getLogger(__name__)
_PATCHED = "_multi_worker_fit_patched"


def _local_part(strategy: tf.distribute.Strategy, value: Any) -> Any:
    if isinstance(value, tf.distribute.DistributedValues):
        return strategy.experimental_local_results(value)[0]
    return value


def patch() -> bool:
    """Apply both fixes once; True when they are in place."""
    try:
        from keras.src.backend.tensorflow import trainer
    except ImportError:  # another backend or layout: nothing to fix here
        return False
    needed = ("reduce_per_replica", "_collective_all_reduce_multi_worker", "TensorFlowTrainer")
    if not all(hasattr(trainer, name) for name in needed) or not hasattr(
        trainer.TensorFlowTrainer, "_maybe_symbolic_build"
    ):
        log.warning("this Keras has no reduce_per_replica/_maybe_symbolic_build: not patched")
        return False
    if getattr(trainer, _PATCHED, False):
        return True
    multi_worker = trainer._collective_all_reduce_multi_worker
    reduce_per_replica = trainer.reduce_per_replica
    symbolic_build = trainer.TensorFlowTrainer._maybe_symbolic_build

    def reduce_logs(values: Any, strategy: tf.distribute.Strategy, reduction: str) -> Any:
        if reduction in ("auto", "mean") and multi_worker(strategy):
            return tf.nest.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return reduce_per_replica(values, strategy, reduction)

    def build_from_local_batch(self: Any, iterator: Any = None, data_batch: Any = None) -> None:
        strategy = self._distribute_strategy
        if iterator is None or strategy is None or not multi_worker(strategy):
            return symbolic_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            data_batch = tf.nest.map_structure(lambda v: _local_part(strategy, v), next(batches))
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    trainer.reduce_per_replica = reduce_logs
    trainer.TensorFlowTrainer._maybe_symbolic_build = build_from_local_batch
    setattr(trainer, _PATCHED, True)
    log.info("Keras fit patched for MultiWorkerMirroredStrategy (keras-team/keras#20585)")
    return True
