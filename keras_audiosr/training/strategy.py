"""Picks how training is distributed: a tf.distribute strategy on TensorFlow, a keras.distribution elsewhere.

TensorFlow is imported only on the TensorFlow backend, so recipes run where it is not installed
(``KERAS_BACKEND=jax``).
"""

import contextlib
import json
import os
import types

__all__ = [
    "KerasDistribution",
    "accelerators",
    "backend",
    "describe_strategy",
    "get_strategy",
    "is_chief",
    "patch_multi_worker_reduce",
]


def backend():
    """The Keras backend in use (``"tensorflow"``, ``"jax"``, ``"torch"``)."""
    import keras

    return keras.backend.backend()


def accelerators():
    """Names of the visible GPUs (or other accelerators) of the Keras backend in use."""
    if backend() == "tensorflow":
        import tensorflow as tf

        return [getattr(d, "name", d) for d in tf.config.list_logical_devices("GPU")]
    import keras

    return [d for d in keras.distribution.list_devices() if not d.lower().startswith("cpu")]


class KerasDistribution:
    """The strategy of a backend without ``tf.distribute`` (JAX): data parallel over ``devices``.

    With more than one device it installs ``keras.distribution.DataParallel`` (Keras then splits
    each global batch over the devices and keeps the weights replicated); ``scope()`` is a no-op
    context, as building a model needs no strategy scope there.
    """

    def __init__(self, devices):
        import keras

        self.devices = list(devices)
        self.distribution = None
        if len(self.devices) > 1:
            self.distribution = keras.distribution.DataParallel(devices=self.devices)
            keras.distribution.set_distribution(self.distribution)

    @property
    def num_replicas_in_sync(self):
        return max(1, len(self.devices))

    def scope(self):
        return contextlib.nullcontext()


def _workers():
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    return config.get("cluster", {}).get("worker", [])


def get_strategy(devices=None, verbose=True):
    """Returns the strategy a training run should build its model and optimizers under.

    TensorFlow backend:

    - ``TF_CONFIG`` names more than one worker: ``MultiWorkerMirroredStrategy`` (each machine runs
      the same command with its own ``TF_CONFIG``; see the README).
    - ``devices`` given, or more than one GPU visible: ``MirroredStrategy`` over them.
    - one GPU: ``OneDeviceStrategy`` on it; no GPU: the default strategy.

    Create it before any other TensorFlow work in the process (multi-worker needs that).

    Other backends (JAX): a :class:`KerasDistribution`, ``DataParallel`` over every visible
    accelerator (or ``devices``) when there are several. Multi-worker ``TF_CONFIG`` is TensorFlow
    only (a RuntimeError says so).
    """
    if backend() != "tensorflow":
        if len(_workers()) > 1:
            raise RuntimeError(
                f"TF_CONFIG names {len(_workers())} workers, but multi-worker training needs the "
                f"TensorFlow backend (KERAS_BACKEND is {backend()!r})"
            )
        strategy = KerasDistribution(devices if devices else accelerators())
    else:
        import tensorflow as tf

        if len(_workers()) > 1:
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
    if isinstance(strategy, KerasDistribution):
        what = (
            f"keras.distribution.DataParallel over {', '.join(strategy.devices)}"
            if strategy.distribution
            else f"one device ({strategy.devices[0] if strategy.devices else 'cpu'})"
        )
        return f"{what} on the {backend()} backend, {strategy.num_replicas_in_sync} replica(s)"
    import tensorflow as tf

    names = {
        tf.distribute.MultiWorkerMirroredStrategy: "MultiWorkerMirroredStrategy",
        tf.distribute.MirroredStrategy: "MirroredStrategy",
        tf.distribute.OneDeviceStrategy: "OneDeviceStrategy",
    }
    name = next((n for cls, n in names.items() if isinstance(strategy, cls)), "default strategy")
    return f"{name} with {strategy.num_replicas_in_sync} replica(s)"


def is_chief():
    """True on the worker that should write files (the only one when not multi-worker)."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}")
    task = config.get("task", {})
    if not config.get("cluster", {}).get("worker") or len(config["cluster"]["worker"]) <= 1:
        return True
    return task.get("type") in ("chief", None) or (
        task.get("type") == "worker" and task.get("index", 0) == 0 and "chief" not in config.get("cluster", {})
    )


def patch_multi_worker_reduce(strategy):
    """Works around Keras 3 + MultiWorkerMirroredStrategy ``fit`` failures (keras-team/keras#20585).

    Keras calls ``strategy.reduce`` on the whole ``(x, y)`` batch structure and with ``axis=0`` on
    scalar metric results; MirroredStrategy copes, MultiWorkerMirroredStrategy's reduce takes one
    value and fails on both. The patched ``reduce`` maps over the structure and reduces scalars
    across replicas only. Idempotent; a no-op for other strategies.
    """
    if isinstance(strategy, KerasDistribution):
        return strategy
    import tensorflow as tf

    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) or getattr(
        strategy, "_keras_audiosr_reduce_patched", False
    ):
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
