"""Picks the tf.distribute strategy: several workers, several GPUs, or the default one."""
import json
import os
import types

import tensorflow as tf


def get_strategy(devices=None, verbose=True):
    """Returns the strategy a training run should build its model and optimizers under.

    - ``TF_CONFIG`` names more than one worker: ``MultiWorkerMirroredStrategy`` (each machine runs
      the same command with its own ``TF_CONFIG``; see the README).
    - ``devices`` given, or more than one GPU visible: ``MirroredStrategy`` over them.
    - one GPU: ``OneDeviceStrategy`` on it; no GPU: the default strategy.

    Create it before any other TensorFlow work in the process (multi-worker needs that).
    """
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    workers = config.get("cluster", {}).get("worker", [])
    if len(workers) > 1:
        strategy = patch_multi_worker_reduce(tf.distribute.MultiWorkerMirroredStrategy())
    elif devices:
        strategy = tf.distribute.MirroredStrategy(devices=list(devices))
    else:
        gpus = tf.config.list_logical_devices("GPU")
        if len(gpus) > 1:
            strategy = tf.distribute.MirroredStrategy()
        elif len(gpus) == 1:
            strategy = tf.distribute.OneDeviceStrategy(gpus[0].name)
        else:
            strategy = tf.distribute.get_strategy()
    if verbose:
        print(f"[keras_audiosr] strategy: {describe_strategy(strategy)}")
    return strategy


def describe_strategy(strategy):
    """One line: strategy class and replica count."""
    names = {tf.distribute.MultiWorkerMirroredStrategy: "MultiWorkerMirroredStrategy",
             tf.distribute.MirroredStrategy: "MirroredStrategy", tf.distribute.OneDeviceStrategy: "OneDeviceStrategy"}
    name = next((n for cls, n in names.items() if isinstance(strategy, cls)), "default strategy")
    return f"{name} with {strategy.num_replicas_in_sync} replica(s)"


def is_chief():
    """True on the worker that should write files (the only one when not multi-worker)."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    task = config.get("task", {})
    if not config.get("cluster", {}).get("worker") or len(config["cluster"]["worker"]) <= 1:
        return True
    return task.get("type") in ("chief", None) or (task.get("type") == "worker" and task.get("index", 0) == 0 and "chief" not in config.get("cluster", {}))


def patch_multi_worker_reduce(strategy):
    """Works around Keras 3 + MultiWorkerMirroredStrategy ``fit`` failures (keras-team/keras#20585).

    Keras calls ``strategy.reduce`` on the whole ``(x, y)`` batch structure and with ``axis=0`` on
    scalar metric results; MirroredStrategy copes, MultiWorkerMirroredStrategy's reduce takes one
    value and fails on both. The patched ``reduce`` maps over the structure and reduces scalars
    across replicas only. Idempotent; a no-op for other strategies.
    """
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or getattr(
            strategy, "_keras_audiosr_reduce_patched", False):
        return strategy
    original = strategy.reduce

    def rank(v):
        v = v.values[0] if isinstance(v, tf.distribute.DistributedValues) else v
        return getattr(v, "shape", tf.TensorShape(None)).rank

    def reduce(self, reduce_op, value, axis=None):
        return tf.nest.map_structure(lambda v: original(reduce_op, v, axis=None if rank(v) == 0 else axis), value)

    strategy.reduce = types.MethodType(reduce, strategy)
    strategy._keras_audiosr_reduce_patched = True
    return strategy
