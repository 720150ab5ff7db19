"""Training: strategy selection, callbacks, the adversarial model and its losses."""
from keras_audiosr.training.strategy import describe_strategy, get_strategy, is_chief

__all__ = ["describe_strategy", "get_strategy", "is_chief"]
