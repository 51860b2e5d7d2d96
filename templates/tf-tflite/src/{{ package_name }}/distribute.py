"""The `tf.distribute` strategy, chosen from the config (set from the hardware answer).

`default` uses one device; `mirrored` copies the model to every local GPU; `tpu` connects to
a Cloud TPU. The same code runs unchanged on a laptop CPU: when the asked-for hardware is
absent, it logs one line and falls back to the default strategy.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import tensorflow as tf

log = logging.getLogger(__name__)


def _tpu_available(address: str) -> bool:
    # Look for a TPU without touching the network: an explicit address, the TPU_NAME set on
    # Cloud TPU hosts, or the accelerator device files of a TPU VM.
    return bool(address or os.environ.get("TPU_NAME") or list(Path("/dev").glob("accel*")))


def make_strategy(config: dict[str, Any] | None = None) -> tf.distribute.Strategy:
    """The strategy named by `config["strategy"]` (default | mirrored | tpu), or the default."""
    config = config or {}
    kind = config.get("strategy", "default")
    if kind == "tpu":
        address = config.get("tpu_address") or ""
        if _tpu_available(address):
            try:
                resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
                tf.config.experimental_connect_to_cluster(resolver)
                tf.tpu.experimental.initialize_tpu_system(resolver)
                strategy = tf.distribute.TPUStrategy(resolver)
                log.info("TPUStrategy with %d cores", strategy.num_replicas_in_sync)
                return strategy
            except (ValueError, RuntimeError, tf.errors.OpError) as err:
                log.warning("TPU not reachable (%s); using the default strategy", err)
        else:
            log.warning("no TPU found on this machine; using the default strategy (one device)")
    elif kind == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        if len(gpus) > 1:
            strategy = tf.distribute.MirroredStrategy()
            log.info("MirroredStrategy over %d GPUs", strategy.num_replicas_in_sync)
            return strategy
        log.warning(
            "%d GPU(s) found; MirroredStrategy needs 2+: using the default strategy", len(gpus)
        )
    elif kind != "default":
        raise ValueError(f"unknown distribute.strategy {kind!r} (default, mirrored or tpu)")
    return tf.distribute.get_strategy()
