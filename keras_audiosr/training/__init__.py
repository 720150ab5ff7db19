"""Training: strategy selection, callbacks, the adversarial model and its losses.

The adversarial trainer's ``train_step`` is written in TensorFlow: it is imported (and registered
with Keras) on the TensorFlow backend; on other backends (JAX) ``AdversarialTrainer`` and
``default_optimizers`` raise ImportError saying so, and everything else works.
"""

from keras_audiosr.training.strategy import describe_strategy, get_strategy, is_chief

__all__ = ["describe_strategy", "get_strategy", "is_chief"]
from keras_audiosr.training.losses import (  # noqa: E402
    ADVERSARIAL_LOSSES,
    MRSTFT_RESOLUTIONS,
    SAMPLE_LOSSES,
    AdversarialLoss,
    MultiResolutionSTFTLoss,
    OvershootSTFTLoss,
    WeightedSampleLoss,
    feature_distance,
    feature_matching_loss,
    get_adversarial_loss,
    get_sample_loss,
    gradient_penalty,
    l1_loss,
    l2_loss,
    reduce_per_replica_loss,
)

__all__ += [
    "ADVERSARIAL_LOSSES",
    "MRSTFT_RESOLUTIONS",
    "SAMPLE_LOSSES",
    "AdversarialLoss",
    "AdversarialTrainer",
    "MultiResolutionSTFTLoss",
    "OvershootSTFTLoss",
    "WeightedSampleLoss",
    "default_optimizers",
    "feature_distance",
    "feature_matching_loss",
    "get_adversarial_loss",
    "get_sample_loss",
    "gradient_penalty",
    "l1_loss",
    "l2_loss",
    "reduce_per_replica_loss",
    "require_tensorflow",
]


def require_tensorflow(what):
    """Raises ImportError naming ``what`` unless Keras runs on TensorFlow (the adversarial training needs it)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        raise ImportError(
            f"{what} needs the TensorFlow backend (AdversarialTrainer's train_step is TensorFlow code); "
            f"Keras runs on {keras.backend.backend()!r}: set KERAS_BACKEND=tensorflow with TensorFlow "
            f"installed"
        )


def _tensorflow_backend():
    import keras

    return keras.backend.backend() == "tensorflow"


if _tensorflow_backend():
    from keras_audiosr.training.adversarial import AdversarialTrainer, default_optimizers  # noqa: E402
else:

    def __getattr__(name):
        if name in ("AdversarialTrainer", "default_optimizers"):
            require_tensorflow(name)
        raise AttributeError(f"module 'keras_audiosr.training' has no attribute {name!r}")
