"""Sample losses, adversarial loss variants and the WGAN-GP gradient penalty.

Every function here returns one value PER EXAMPLE (shape ``[batch]``), never a batch mean, so
the caller decides the reduction. Under ``tf.distribute`` the right reduction is
``sum(per_example) / global_batch_size`` (see :func:`reduce_per_replica_loss`): Keras 3's
optimizer sums gradients over replicas, so replicas must each contribute their share of the
global mean.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import keras
from keras import ops

__all__ = [
    "ADVERSARIAL_LOSSES",
    "SAMPLE_LOSSES",
    "AdversarialLoss",
    "feature_distance",
    "get_adversarial_loss",
    "get_sample_loss",
    "gradient_penalty",
    "l1_loss",
    "l2_loss",
    "per_example_mean",
    "reduce_per_replica_loss",
]


def per_example_mean(x):
    """Mean over all non-batch axes: ``[B, ...] -> [B]`` (``[B]`` stays as is)."""
    if len(x.shape) <= 1:
        return x
    return ops.mean(ops.reshape(x, (ops.shape(x)[0], -1)), axis=1)


@keras.saving.register_keras_serializable(package="keras_audiosr")
def l2_loss(y_true, y_pred):
    """Per-example mean squared error over time and channels, ``[B]``."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    return per_example_mean(ops.square(y_true - y_pred))


@keras.saving.register_keras_serializable(package="keras_audiosr")
def l1_loss(y_true, y_pred):
    """Per-example mean absolute error over time and channels, ``[B]``."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    return per_example_mean(ops.abs(y_true - y_pred))


SAMPLE_LOSSES: dict[str, Callable] = {"l1": l1_loss, "l2": l2_loss}


def get_sample_loss(name) -> Callable:
    """The per-example sample-space loss named ``"l1"`` or ``"l2"`` (a callable passes through).

    The result is usable both inside :class:`~keras_audiosr.training.AdversarialTrainer` and as
    ``model.compile(loss=get_sample_loss("l2"))`` (Keras averages the ``[B]`` values).
    """
    if callable(name):
        return name
    if name not in SAMPLE_LOSSES:
        raise ValueError(f"unknown sample loss {name!r}; choose one of {tuple(SAMPLE_LOSSES)}")
    return SAMPLE_LOSSES[name]


def feature_distance(features_true, features_pred):
    """Per-example squared feature distance ``mean((phi(y) - phi(G(x)))**2)`` over non-batch axes."""
    return per_example_mean(ops.square(ops.convert_to_tensor(features_true) - ops.convert_to_tensor(features_pred)))


def _bce_with_logits(logits, label: float):
    """Binary cross-entropy of logits against a constant label, elementwise and numerically stable."""
    return ops.relu(logits) - logits * label + ops.log1p(ops.exp(-ops.abs(logits)))


def _wasserstein_critic(real, fake):
    return per_example_mean(fake) - per_example_mean(real)


def _wasserstein_generator(fake):
    return -per_example_mean(fake)


def _gan_critic(real, fake):
    return per_example_mean(_bce_with_logits(real, 1.0)) + per_example_mean(_bce_with_logits(fake, 0.0))


def _gan_generator(fake):
    return per_example_mean(_bce_with_logits(fake, 1.0))


@dataclass(frozen=True)
class AdversarialLoss:
    """One adversarial objective: per-example critic and generator losses from critic scores.

    Scores may have any shape ``[B, ...]`` (one score per example or per patch); they are
    averaged over the non-batch axes per example.

    Attributes:
        name: The registry name.
        critic_loss: ``(real_scores, fake_scores) -> [B]``, minimised by the critic.
        generator_loss: ``(fake_scores) -> [B]``, minimised by the generator.
        gradient_penalty: Whether the critic loss gets :func:`gradient_penalty` added.
        clip_weights: Whether critic weights are clipped after each critic update (WGAN).
        default_weight: The default generator weight of this term (see the trainer).
    """

    name: str
    critic_loss: Callable
    generator_loss: Callable
    gradient_penalty: bool
    clip_weights: bool
    default_weight: float


ADVERSARIAL_LOSSES: dict[str, AdversarialLoss] = {
    # WGAN-GP (Gulrajani et al. 2017): critic E[D(fake)] - E[D(real)] + lambda * GP; generator -E[D(fake)].
    "wgan-gp": AdversarialLoss("wgan-gp", _wasserstein_critic, _wasserstein_generator, True, False, 1e-3),
    # WGAN (Arjovsky et al. 2017): same objective, Lipschitz constraint by weight clipping.
    "wgan": AdversarialLoss("wgan", _wasserstein_critic, _wasserstein_generator, False, True, 1e-3),
    # Standard GAN with logits, non-saturating generator loss -log sigmoid(D(G(x))); weight 0.01 as in Retzloff.
    "gan": AdversarialLoss("gan", _gan_critic, _gan_generator, False, False, 1e-2),
}


def get_adversarial_loss(name) -> AdversarialLoss:
    """The adversarial variant named ``"wgan-gp"``, ``"wgan"`` or ``"gan"`` (an AdversarialLoss passes through)."""
    if isinstance(name, AdversarialLoss):
        return name
    if name not in ADVERSARIAL_LOSSES:
        raise ValueError(f"unknown adversarial loss {name!r}; choose one of {tuple(ADVERSARIAL_LOSSES)}")
    return ADVERSARIAL_LOSSES[name]


def gradient_penalty(critic, real, fake, epsilon, weight: float = 10.0, training: bool = True):
    """WGAN-GP penalty per example: ``weight * (||grad_xhat D(xhat)||_2 - 1)**2``.

    ``xhat = epsilon * real + (1 - epsilon) * fake`` with ``epsilon`` of shape ``[B]`` (one
    interpolation weight per example, usually uniform in [0, 1]); the gradient norm is taken over
    all non-batch axes. The critic's score is summed over its non-batch axes before
    differentiation, so a patch critic is penalised on its summed score. Differentiable with
    respect to the critic's weights (double back-propagation). TensorFlow backend only.
    """
    import tensorflow as tf

    real = ops.convert_to_tensor(real)
    fake = ops.cast(fake, real.dtype)
    eps = ops.reshape(ops.cast(epsilon, real.dtype), [-1] + [1] * (len(real.shape) - 1))
    xhat = eps * real + (1.0 - eps) * fake
    with tf.GradientTape() as tape:
        tape.watch(xhat)
        scores = critic(xhat, training=training)
        total = ops.sum(scores)
    grads = tape.gradient(total, xhat)
    norm = ops.sqrt(ops.sum(ops.reshape(ops.square(grads), (ops.shape(grads)[0], -1)), axis=1) + 1e-12)
    return weight * ops.square(norm - 1.0)


def reduce_per_replica_loss(per_example):
    """This replica's share of the global-batch mean: ``mean(per_example) / num_replicas_in_sync``.

    Summed over replicas (which is what Keras 3's optimizer does with gradients under
    ``tf.distribute``) this equals the mean over the global batch, so N replicas take the same step
    as one device fed the same global batch (with equal per-replica batches, as ``drop_remainder``
    gives).
    """
    import tensorflow as tf

    loss = ops.mean(per_example)
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    if replicas > 1:
        loss = loss / float(replicas)
    return loss
