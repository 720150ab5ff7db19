"""Training: strategy selection, callbacks, the adversarial model and its losses."""
from keras_audiosr.training.strategy import describe_strategy, get_strategy, is_chief

__all__ = ["describe_strategy", "get_strategy", "is_chief"]
from keras_audiosr.training.losses import (  # noqa: E402
    ADVERSARIAL_LOSSES,
    MRSTFT_RESOLUTIONS,
    SAMPLE_LOSSES,
    AdversarialLoss,
    MultiResolutionSTFTLoss,
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
from keras_audiosr.training.adversarial import AdversarialTrainer, default_optimizers  # noqa: E402

__all__ += [
    "ADVERSARIAL_LOSSES", "MRSTFT_RESOLUTIONS", "SAMPLE_LOSSES", "AdversarialLoss", "AdversarialTrainer",
    "MultiResolutionSTFTLoss", "WeightedSampleLoss", "default_optimizers", "feature_distance",
    "feature_matching_loss", "get_adversarial_loss", "get_sample_loss", "gradient_penalty", "l1_loss", "l2_loss",
    "reduce_per_replica_loss",
]
