"""Sample losses (L1, L2, multi-resolution STFT, its overshoot term and weighted sums of them), adversarial
loss variants, feature matching and the WGAN-GP gradient penalty.

Every function here returns one value PER EXAMPLE (shape ``[batch]``), never a batch mean, so
the caller decides the reduction. Under ``tf.distribute`` the right reduction is
``sum(per_example) / global_batch_size`` (see :func:`reduce_per_replica_loss`): Keras 3's
optimizer sums gradients over replicas, so replicas must each contribute their share of the
global mean.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
from keras import ops

from keras_audiosr.layers.stft_magnitude import check_stft_args, stft_magnitude
from keras_audiosr.metrics import effective_stft_params
from keras_audiosr.models.critic import split_critic_outputs

__all__ = [
    "ADVERSARIAL_LOSSES",
    "MRSTFT_RESOLUTIONS",
    "SAMPLE_LOSSES",
    "AdversarialLoss",
    "MultiResolutionSTFTLoss",
    "OvershootSTFTLoss",
    "WeightedSampleLoss",
    "feature_distance",
    "feature_matching_loss",
    "get_adversarial_loss",
    "get_sample_loss",
    "gradient_penalty",
    "l1_loss",
    "l2_loss",
    "mrstft_loss",
    "overshoot_loss",
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


#: ``(n_fft, hop, window)`` of the default resolutions of :class:`MultiResolutionSTFTLoss`: Parallel
#: WaveGAN's three scales (its 24 kHz set is (512, 50, 240), (1024, 120, 600), (2048, 240, 1200)) as
#: powers of two with hop = window / 4, i.e. 32 / 64 / 128 ms windows at 16 kHz.
MRSTFT_RESOLUTIONS = ((512, 128, 512), (1024, 256, 1024), (2048, 512, 2048))


def _safe_norm(squares_sum):
    """``sqrt(s)`` with value 0 and gradient 0 at ``s = 0`` (a plain sqrt has an infinite gradient there)."""
    positive = squares_sum > 0
    return ops.where(positive, ops.sqrt(ops.where(positive, squares_sum, ops.ones_like(squares_sum))), 0.0)


def _per_example(values, batch):
    """``[B*C]`` per signal and channel -> ``[B]``, the mean over channels."""
    return ops.mean(ops.reshape(values, (batch, -1)), axis=1)


@keras.saving.register_keras_serializable(package="keras_audiosr")
class MultiResolutionSTFTLoss:
    """Multi-resolution STFT loss (Yamamoto et al. 2020, Parallel WaveGAN), per example ``[B]``.

    For each resolution ``(n_fft, hop, window)`` with magnitudes ``S = |STFT(y_true)|``,
    ``Ŝ = |STFT(y_pred)|`` (:func:`~keras_audiosr.layers.stft_magnitude`: centred frames,
    periodic Hann window, ``sqrt(max(|X|**2, 1e-7))``), per example and channel::

        L_sc  = ||S - Ŝ||_F / ||S||_F                       (spectral convergence)
        L_mag = mean_{t,k} |ln S[t,k] - ln Ŝ[t,k]|          (log-STFT-magnitude L1)

    and the loss is ``mean over resolutions of (L_sc + L_mag)``, averaged over channels. So
    identical signals give 0 and ``y_pred = a * y_true`` gives ``|1 - a| + |ln a|`` (where the
    magnitudes are above the floor). Patches shorter than ``n_fft`` (static length) shrink each
    resolution as :func:`~keras_audiosr.metrics.effective_stft_params` does (frame to the patch,
    hop and window by the same factor). Computed in float32, also under a mixed-precision policy.

    Args:
        resolutions: ``(n_fft, hop, window)`` triples.
        eps: Floor of the squared magnitude.
    """

    def __init__(self, resolutions=MRSTFT_RESOLUTIONS, eps=1e-7):
        resolutions = tuple(tuple(int(v) for v in r) for r in resolutions)
        if not resolutions or any(len(r) != 3 for r in resolutions):
            raise ValueError(
                f"MultiResolutionSTFTLoss: resolutions must be (n_fft, hop, window) triples, got {resolutions}"
            )
        for n_fft, hop, win in resolutions:
            check_stft_args(n_fft, hop, win)
        self.resolutions = resolutions
        self.eps = float(eps)
        self.__name__ = "mrstft"

    def _signals(self, y):
        y = ops.cast(y, "float32")
        if len(y.shape) == 2:
            y = y[..., None]
        shape = ops.shape(y)
        return ops.reshape(ops.transpose(y, (0, 2, 1)), (-1, shape[1])), shape[0]

    def magnitudes(self, y_true, y_pred):
        """``(S, Ŝ)`` per resolution, each ``[B*C, frames, bins]``, and the batch size ``B``."""
        ref, batch = self._signals(y_true)
        est, _ = self._signals(y_pred)
        length = ref.shape[1]
        pairs = []
        for n_fft, hop, win in self.resolutions:
            n_eff, hop_eff = effective_stft_params(length, n_fft, hop)
            win_eff = min(n_eff, max(1, win * n_eff // n_fft))
            pairs.append(
                (
                    stft_magnitude(ref, n_eff, hop_eff, win_eff, self.eps),
                    stft_magnitude(est, n_eff, hop_eff, win_eff, self.eps),
                )
            )
        return pairs, batch

    def terms(self, y_true, y_pred):
        """``(spectral_convergence, log_magnitude)``, each ``[B]`` and averaged over resolutions and channels."""
        pairs, batch = self.magnitudes(y_true, y_pred)
        sc_total, mag_total = 0.0, 0.0
        for s_ref, s_est in pairs:
            diff = s_ref - s_est
            sc = _safe_norm(ops.sum(diff * diff, axis=(1, 2))) / ops.sqrt(ops.sum(s_ref * s_ref, axis=(1, 2)))
            mag = ops.mean(ops.abs(ops.log(s_ref) - ops.log(s_est)), axis=(1, 2))
            sc_total, mag_total = sc_total + sc, mag_total + mag
        m = float(len(self.resolutions))
        return _per_example(sc_total / m, batch), _per_example(mag_total / m, batch)

    def __call__(self, y_true, y_pred):
        sc, mag = self.terms(y_true, y_pred)
        return sc + mag

    def get_config(self):
        return {"resolutions": [list(r) for r in self.resolutions], "eps": self.eps}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


mrstft_loss = MultiResolutionSTFTLoss()


@keras.saving.register_keras_serializable(package="keras_audiosr")
class OvershootSTFTLoss(MultiResolutionSTFTLoss):
    """The log-magnitude excess of the estimate, ``mean_{t,k} max(0, ln Ŝ[t,k] - ln S[t,k])``, per example ``[B]``.

    Added to ``mrstft`` it makes the log-magnitude L1 asymmetric: an estimate louder than the reference
    costs ``1 + w`` per neper, a quieter one 1. PESQ-WB's disturbance weighs added energy above missing
    energy (its asymmetry factor), so a model trained with it invents less where it is unsure (silence,
    unpredictable frames) instead of the whole band being trimmed afterwards. Same resolutions, floor and
    patch handling as :class:`MultiResolutionSTFTLoss`; identical signals and any quieter estimate give 0.
    """

    def __init__(self, resolutions=MRSTFT_RESOLUTIONS, eps=1e-7):
        super().__init__(resolutions, eps)
        self.__name__ = "over"

    def __call__(self, y_true, y_pred):
        pairs, batch = self.magnitudes(y_true, y_pred)
        total = 0.0
        for s_ref, s_est in pairs:
            total = total + ops.mean(ops.relu(ops.log(s_est) - ops.log(s_ref)), axis=(1, 2))
        return _per_example(total / float(len(pairs)), batch)


overshoot_loss = OvershootSTFTLoss()

SAMPLE_LOSSES: dict[str, Callable] = {"l1": l1_loss, "l2": l2_loss, "mrstft": mrstft_loss, "over": overshoot_loss}


@keras.saving.register_keras_serializable(package="keras_audiosr")
class WeightedSampleLoss:
    """``sum_k w_k * SAMPLE_LOSSES[name_k](y_true, y_pred)`` per example ``[B]``; its name is ``"l2+mrstft"`` etc.

    Made by :func:`get_sample_loss`; serialisable (``get_config`` holds the names and weights), so
    it can be a ``model.compile`` loss of a saved model and an :class:`AdversarialTrainer`'s
    ``sample_loss``.

    Args:
        weights: ``{name: weight}`` in the order of the terms; every name a key of :data:`SAMPLE_LOSSES`.
    """

    def __init__(self, weights):
        weights = {str(k): float(v) for k, v in dict(weights).items()}
        unknown = [k for k in weights if k not in SAMPLE_LOSSES]
        if not weights or unknown:
            raise ValueError(
                f"unknown sample loss {unknown[0] if unknown else ''!r}; choose from "
                f"{tuple(SAMPLE_LOSSES)}, "
                f"joined with '+' (e.g. 'l2+mrstft')"
            )
        self.weights = weights
        self.__name__ = "+".join(weights)

    def __call__(self, y_true, y_pred):
        total = 0.0
        for name, weight in self.weights.items():
            total = total + weight * SAMPLE_LOSSES[name](y_true, y_pred)
        return total

    def get_config(self):
        return {"weights": dict(self.weights)}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def get_sample_loss(name, weights=None) -> Callable:
    """The per-example sample loss ``name``: ``"l1"``, ``"l2"``, ``"mrstft"`` or a sum such as ``"l2+mrstft"``.

    A sum (or any name given ``weights``) is a :class:`WeightedSampleLoss` ``sum_k w_k * loss_k``
    with ``weights = {"l2": w1, "mrstft": w2}`` (missing terms weigh 1; keys must be terms of
    ``name``). A single name without weights is the plain loss (``"l1"`` is :func:`l1_loss`). A
    callable passes through. Every result maps ``(y_true, y_pred)`` to ``[B]`` and is usable both in
    :class:`~keras_audiosr.training.AdversarialTrainer` and as ``model.compile(loss=...)`` (Keras
    averages the ``[B]`` values).
    """
    if callable(name):
        if weights:
            raise ValueError("get_sample_loss: weights apply to loss names, not to a callable")
        return name
    if not isinstance(name, str):
        raise ValueError(f"sample loss must be a name or a callable, got {name!r}")
    terms = [t.strip() for t in name.split("+")]
    for term in terms:
        if term not in SAMPLE_LOSSES:
            raise ValueError(
                f"unknown sample loss {term!r} in {name!r}; choose from {tuple(SAMPLE_LOSSES)}, "
                f"joined with '+' (e.g. 'l2+mrstft')"
            )
    if len(set(terms)) != len(terms):
        raise ValueError(f"sample loss {name!r} names a term twice")
    weights = dict(weights or {})
    extra = [k for k in weights if k not in terms]
    if extra:
        raise ValueError(f"loss weights {extra} are not terms of {name!r} (its terms: {terms})")
    if len(terms) == 1 and not weights:
        return SAMPLE_LOSSES[terms[0]]
    return WeightedSampleLoss({t: weights.get(t, 1.0) for t in terms})


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


def _lsgan_critic(real, fake):
    return per_example_mean(ops.square(real - 1.0)) + per_example_mean(ops.square(fake))


def _lsgan_generator(fake):
    return per_example_mean(ops.square(fake - 1.0))


def _hinge_critic(real, fake):
    return per_example_mean(ops.relu(1.0 - real)) + per_example_mean(ops.relu(1.0 + fake))


def _hinge_generator(fake):
    return -per_example_mean(fake)


def feature_matching_loss(real_features, fake_features):
    """HiFi-GAN's feature matching, per example: ``sum_l mean(|D_l(y) - D_l(G(x))|)`` over the critic's feature maps.

    ``real_features`` and ``fake_features`` are equal-length lists of ``[B, ...]`` maps (the
    ``"features"`` of a critic's output, every sub-critic's maps in one list); each layer's mean
    absolute difference is taken per example and the layers are summed (HiFi-GAN weighs the sum by 2).
    """
    if len(real_features) != len(fake_features) or not real_features:
        raise ValueError(
            f"feature_matching_loss needs two equal, non-empty lists of feature maps, got "
            f"{len(real_features)} and {len(fake_features)}"
        )
    total = 0.0
    for r, f in zip(real_features, fake_features):
        f = ops.convert_to_tensor(f)
        total = total + per_example_mean(ops.abs(ops.cast(r, f.dtype) - f))
    return total


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
        default_n_critic: The default number of critic updates per generator update.
    """

    name: str
    critic_loss: Callable
    generator_loss: Callable
    gradient_penalty: bool
    clip_weights: bool
    default_weight: float
    default_n_critic: int = 5


ADVERSARIAL_LOSSES: dict[str, AdversarialLoss] = {
    # WGAN-GP (Gulrajani et al. 2017): critic E[D(fake)] - E[D(real)] + lambda * GP; generator -E[D(fake)].
    "wgan-gp": AdversarialLoss("wgan-gp", _wasserstein_critic, _wasserstein_generator, True, False, 1e-3),
    # WGAN (Arjovsky et al. 2017): same objective, Lipschitz constraint by weight clipping.
    "wgan": AdversarialLoss("wgan", _wasserstein_critic, _wasserstein_generator, False, True, 1e-3),
    # Standard GAN with logits, non-saturating generator loss -log sigmoid(D(G(x))); weight 0.01 as in Retzloff.
    "gan": AdversarialLoss("gan", _gan_critic, _gan_generator, False, False, 1e-2),
    # Least squares (Mao et al. 2017) as HiFi-GAN uses it: critic (D(y) - 1)^2 + D(G(x))^2, generator
    # (D(G(x)) - 1)^2, each summed over sub-critics; weight 1 and one critic update per generator update.
    "lsgan": AdversarialLoss("lsgan", _lsgan_critic, _lsgan_generator, False, False, 1.0, 1),
    # Hinge (Lim & Ye 2017; MelGAN): critic relu(1 - D(y)) + relu(1 + D(G(x))), generator -D(G(x)).
    "hinge": AdversarialLoss("hinge", _hinge_critic, _hinge_generator, False, False, 1.0, 1),
}


def get_adversarial_loss(name) -> AdversarialLoss:
    """The adversarial variant named ``"wgan-gp"``, ``"wgan"``, ``"gan"``, ``"lsgan"`` or ``"hinge"`` (an
    AdversarialLoss passes through)."""
    if isinstance(name, AdversarialLoss):
        return name
    if name not in ADVERSARIAL_LOSSES:
        raise ValueError(f"unknown adversarial loss {name!r}; choose one of {tuple(ADVERSARIAL_LOSSES)}")
    return ADVERSARIAL_LOSSES[name]


def gradient_penalty(critic, real, fake, epsilon, weight: float = 10.0, training: bool = True):
    """WGAN-GP penalty per example: ``weight * (||grad_xhat D(xhat)||_2 - 1)**2``.

    ``xhat = epsilon * real + (1 - epsilon) * fake`` with ``epsilon`` of shape ``[B]`` (one
    interpolation weight per example, usually uniform in [0, 1]); the gradient norm is taken over
    all non-batch axes. The critic's score is summed over its non-batch axes (and over its
    sub-critics' scores, for a critic that returns ``{"scores", "features"}``) before
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
        scores, _ = split_critic_outputs(critic(xhat, training=training))
        total = sum(ops.sum(ops.cast(score, "float32")) for score in scores)
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
