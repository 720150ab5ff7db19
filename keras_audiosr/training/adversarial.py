"""AdversarialTrainer: a keras.Model that trains a generator against a critic with plain ``fit``."""

from __future__ import annotations

import copy

import keras
import tensorflow as tf
from keras import ops

from keras_audiosr.models.critic import split_critic_outputs
from keras_audiosr.models.critic_ensemble import CriticEnsemble
from keras_audiosr.training.losses import (
    feature_distance,
    feature_matching_loss,
    get_adversarial_loss,
    get_sample_loss,
    gradient_penalty,
    reduce_per_replica_loss,
)
from keras_audiosr.training.metrics import SNRMetric

__all__ = ["AdversarialTrainer", "default_optimizers"]


def default_optimizers(loss: str = "wgan-gp", learning_rate: float | None = None):
    """Fresh ``(g_optimizer, d_optimizer)`` for an adversarial variant.

    - ``"wgan-gp"`` and ``"gan"``: Adam, learning rate 1e-4, beta_1 0.9, beta_2 0.999 (King et al.'s
      WGAN-GP settings, also used for the plain GAN).
    - ``"wgan"``: RMSprop 5e-5 (Arjovsky et al.: momentum destabilises a weight-clipped critic).
    - ``"lsgan"`` and ``"hinge"``: AdamW, learning rate 2e-4, beta_1 0.8, beta_2 0.99, weight decay
      0.01 (HiFi-GAN's settings; it decays the rate by 0.999 per epoch, a callback's job).

    ``learning_rate`` replaces the variant's learning rate for both.
    """
    name = get_adversarial_loss(loss).name
    if name == "wgan":
        lr = learning_rate or 5e-5
        return (keras.optimizers.RMSprop(lr, name="g_optimizer"), keras.optimizers.RMSprop(lr, name="d_optimizer"))
    if name in ("lsgan", "hinge"):
        lr = learning_rate or 2e-4
        return tuple(
            keras.optimizers.AdamW(lr, weight_decay=0.01, beta_1=0.8, beta_2=0.99, name=n)
            for n in ("g_optimizer", "d_optimizer")
        )
    lr = learning_rate or 1e-4
    return (
        keras.optimizers.Adam(lr, beta_1=0.9, beta_2=0.999, name="g_optimizer"),
        keras.optimizers.Adam(lr, beta_1=0.9, beta_2=0.999, name="d_optimizer"),
    )


def _deserialize(obj):
    return keras.saving.deserialize_keras_object(obj) if isinstance(obj, dict) else obj


@keras.saving.register_keras_serializable(package="keras_audiosr")
class AdversarialTrainer(keras.Model):
    """Trains ``generator`` (low-rate -> high-rate audio) adversarially against ``critic`` with ``fit``.

    Example (HiFi-GAN-style critics and losses)::

        trainer = AdversarialTrainer(generator, [MultiPeriodCritic.from_size("small"),
                                                 MultiResolutionCritic.from_size("small")],
                                     loss="lsgan", feature_matching_weight=2.0,
                                     sample_loss=get_sample_loss("l1+mrstft", weights={"mrstft": 1.0}))
        trainer.compile()
        trainer.fit(data.dataset(16), epochs=..., steps_per_epoch=...)

    Data: ``fit`` batches of ``(low_rate, high_rate)`` (e.g. ``data.dataset(16)`` of
    :func:`keras_audiosr.data.prepare_training_data`). TensorFlow backend only (the training step
    uses ``tf.GradientTape`` and ``tf.distribute``).

    **Update schedule.** One ``fit`` step makes ``n_critic`` critic updates and then one generator
    update, so the ratio is always ``n_critic : 1``. The batch is split into ``n_critic`` nearly
    equal consecutive chunks; critic update k uses chunk k (fresh examples for every critic update,
    as King et al. draw fresh minibatches), and the generator update uses the whole batch. So pick
    ``batch_size = n_critic * critic_minibatch``; batches smaller than ``n_critic`` are refused.
    Under ``tf.distribute`` each replica splits its own share of the batch, so critic update k sees
    chunk k of every replica. ``g_optimizer.iterations`` counts generator updates (= ``fit`` steps)
    and ``d_optimizer.iterations`` critic updates (= ``n_critic`` times as many).

    **Losses** (per example; see :mod:`keras_audiosr.training.losses`):

    - critic: the variant's critic loss, plus ``gp_weight * (||grad D(xhat)|| - 1)**2`` for
      ``"wgan-gp"`` (``xhat`` a random per-example interpolate of real and generated audio);
      ``"wgan"`` clips every critic weight to ``[-clip_value, clip_value]`` after each update.
    - generator: ``sample_weight * sample_loss(y, G(x)) + adversarial_weight * adv(D(G(x)))
      [+ feature_weight * mean((phi(y) - phi(G(x)))**2)]
      [+ feature_matching_weight * sum_l mean|D_l(y) - D_l(G(x))|]`` with ``phi`` the frozen
      ``feature_extractor`` (a Keras model; MU-GAN uses L2 + 1.0 * feature + 0.001 * adversarial)
      and ``D_l`` the critic's feature maps (HiFi-GAN's feature matching, weight 2).

    **Critics.** One Keras model, or a list of them (wrapped in a
    :class:`~keras_audiosr.models.CriticEnsemble`, trained by one optimizer). A critic returns a
    score tensor (the seeds' critics) or ``{"scores": [...], "features": [...]}`` (the
    multi-critics :class:`~keras_audiosr.models.MultiPeriodCritic` and
    :class:`~keras_audiosr.models.MultiResolutionCritic`); the adversarial losses are summed
    over all scores, so one plain critic trains exactly as before.

    Default ``adversarial_weight``: 0.01 for ``"gan"`` (the GAN variant of the Retzloeff report);
    1e-3 for ``"wgan-gp"`` and ``"wgan"`` (King et al. do not state one that could be checked here;
    1e-3 matches MU-GAN's adversarial weight); 1.0 for ``"lsgan"`` and ``"hinge"`` (HiFi-GAN, whose
    other terms are 2 x feature matching and 45 x mel L1: weigh the sample loss to match).
    Default ``n_critic``: 5 for ``"wgan-gp"``, ``"wgan"`` and ``"gan"``, 1 for ``"lsgan"`` and ``"hinge"``.

    **Distribution.** Each replica reduces its per-example losses to
    ``mean / num_replicas_in_sync`` (the global-batch mean's share); Keras 3's optimizer sums
    gradients over replicas, so N replicas take the same step as one device with the same global
    batch. Build and ``compile`` the trainer inside ``strategy.scope()``: ``compile`` builds both
    optimizers there, which a custom ``train_step`` under ``tf.distribute`` requires.

    **Metrics.** ``g_loss`` (generator objective), ``d_loss`` (critic objective incl. penalty),
    ``sample_loss``, ``adv_loss`` (the unweighted generator adversarial term), ``gp`` (weighted
    penalty, WGAN-GP only), ``feature_loss`` (when a feature extractor is given), ``fm_loss``
    (unweighted feature matching, when ``feature_matching_weight`` > 0) and ``snr`` (dB, of
    the generator output on the batch before its update). There is no ``loss`` entry: monitor e.g.
    ``val_sample_loss`` or ``val_snr`` (mode ``"max"``) in callbacks. ``evaluate`` reports every
    metric but ``d_loss`` and ``gp``.

    **Saving.** ``trainer.save("trainer.keras")`` and ``BackupAndRestore`` keep both models and
    optimizers (to resume training). For inference and export save the generator alone:
    ``trainer.generator.save("model.keras")``. ``trainer(x)`` and ``trainer.predict`` run the generator.

    Args:
        generator: Built Keras model ``[B, T, C] -> [B, r*T, C]``.
        critic: Keras model scoring high-rate audio ``[B, r*T, C] -> [B, ...]`` (unbounded logits
            for ``"gan"``) or ``{"scores", "features"}``, or a list of such models. Avoid batch
            normalisation with ``"wgan-gp"`` (the penalty is per example).
        loss: ``"wgan-gp"``, ``"wgan"``, ``"gan"``, ``"lsgan"`` or ``"hinge"``.
        n_critic: Critic updates per generator update (None: the variant's default).
        gp_weight: lambda of the gradient penalty (``"wgan-gp"``).
        clip_value: Weight clipping bound (``"wgan"``).
        sample_loss: A name for :func:`~keras_audiosr.training.get_sample_loss` (``"l1"``, ``"l2"``,
            ``"mrstft"``, ``"l1+mrstft"``, ...) or a per-example callable ``(y_true, y_pred) -> [B]``
            (e.g. ``get_sample_loss("l1+mrstft", weights=...)``).
        sample_weight: Weight of the sample loss.
        adversarial_weight: Weight of the generator's adversarial term (None: the variant's default).
        feature_extractor: Optional Keras model ``phi``; frozen (``trainable`` set to False).
        feature_weight: Weight of the feature loss.
        feature_matching_weight: Weight of feature matching over the critic's feature maps (0: off;
            HiFi-GAN: 2.0); needs a critic that returns features.
        seed: Seed of the gradient-penalty interpolation weights.
    """

    def __init__(
        self,
        generator,
        critic,
        *,
        loss="wgan-gp",
        n_critic=None,
        gp_weight=10.0,
        clip_value=0.01,
        sample_loss="l2",
        sample_weight=1.0,
        adversarial_weight=None,
        feature_extractor=None,
        feature_weight=0.0,
        feature_matching_weight=0.0,
        seed=0,
        name="adversarial_trainer",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        generator, feature_extractor = _deserialize(generator), _deserialize(feature_extractor)
        if isinstance(critic, (list, tuple)):
            critic = CriticEnsemble(list(critic)) if len(critic) != 1 else _deserialize(critic[0])
        critic = _deserialize(critic)
        variant = get_adversarial_loss(loss)
        if n_critic is None:
            n_critic = variant.default_n_critic
        if int(n_critic) != n_critic or n_critic < 1:
            raise ValueError(f"n_critic must be a positive integer, got {n_critic!r}")
        if feature_matching_weight and not getattr(critic, "returns_features", False):
            raise ValueError(
                f"feature_matching_weight is non-zero but critic {critic.name!r} returns no feature maps; "
                f"use critics such as MultiPeriodCritic or MultiResolutionCritic"
            )
        sample_loss = _deserialize(sample_loss)
        self._sample_loss_fn = get_sample_loss(sample_loss)
        if not generator.built:
            raise ValueError(f"generator {generator.name!r} is not built; give it an Input or call it on a batch first")
        if not critic.built:
            try:
                critic.build(tuple(generator.output.shape))
            except Exception as e:
                raise ValueError(
                    f"critic {critic.name!r} is not built and could not be built for the generator's output shape: {e}"
                ) from e
        if feature_extractor is not None:
            if not feature_extractor.built:
                raise ValueError(f"feature_extractor {feature_extractor.name!r} is not built")
            feature_extractor.trainable = False
        elif feature_weight:
            raise ValueError("feature_weight is non-zero but no feature_extractor was given")

        self.generator = generator
        self.critic = critic
        self.feature_extractor = feature_extractor
        self.adversarial_loss = variant.name
        self._variant = variant
        self.n_critic = int(n_critic)
        self.gp_weight = float(gp_weight)
        self.clip_value = float(clip_value)
        self.sample_loss = sample_loss
        self.sample_weight = float(sample_weight)
        self.adversarial_weight = float(variant.default_weight if adversarial_weight is None else adversarial_weight)
        self.feature_weight = float(feature_weight)
        self.feature_matching_weight = float(feature_matching_weight)
        self.seed = int(seed)
        self.g_optimizer = None
        self.d_optimizer = None

        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.sample_loss_tracker = keras.metrics.Mean(name="sample_loss")
        self.adv_loss_tracker = keras.metrics.Mean(name="adv_loss")
        self.gp_tracker = keras.metrics.Mean(name="gp") if variant.gradient_penalty else None
        self.feature_loss_tracker = keras.metrics.Mean(name="feature_loss") if feature_extractor is not None else None
        self.fm_loss_tracker = keras.metrics.Mean(name="fm_loss") if self.feature_matching_weight else None
        self.snr_metric = SNRMetric(name="snr")
        self.built = True

    # ----------------------------------------------------------------- compile
    def compile(
        self, g_optimizer=None, d_optimizer=None, *, run_eagerly=False, steps_per_execution=1, jit_compile="auto"
    ):
        """Sets the two optimizers (defaults: :func:`default_optimizers`) and builds them in the strategy scope.

        ``g_optimizer`` also becomes ``self.optimizer``, which learning-rate callbacks adjust and
        whose ``iterations`` count generator updates.
        """
        default_g, default_d = default_optimizers(self.adversarial_loss)
        g_optimizer = keras.optimizers.get(g_optimizer) if g_optimizer is not None else default_g
        d_optimizer = keras.optimizers.get(d_optimizer) if d_optimizer is not None else default_d
        if g_optimizer is d_optimizer:
            raise ValueError("g_optimizer and d_optimizer must be two different optimizer objects")
        super().compile(
            optimizer=g_optimizer,
            run_eagerly=run_eagerly,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            auto_scale_loss=False,
        )
        self._loss_tracker = None
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        with self.distribute_strategy.scope():
            if not g_optimizer.built:
                g_optimizer.build(self.generator.trainable_variables)
            if not d_optimizer.built:
                d_optimizer.build(self.critic.trainable_variables)
        self._compile_options = {
            "run_eagerly": run_eagerly,
            "steps_per_execution": steps_per_execution,
            "jit_compile": jit_compile,
        }

    def get_compile_config(self):
        if not self.compiled or self.g_optimizer is None:
            return {}
        return {
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
            **self._compile_options,
        }

    def compile_from_config(self, config):
        config = dict(config)
        config["g_optimizer"] = keras.optimizers.deserialize(config["g_optimizer"])
        config["d_optimizer"] = keras.optimizers.deserialize(config["d_optimizer"])
        self.compile(**config)

    # ----------------------------------------------------------------- steps
    def call(self, inputs, training=None):
        return self.generator(inputs, training=training)

    def interpolation_weights(self, batch_size):
        """Per-example weights in [0, 1) for the gradient-penalty interpolates, shape ``[batch_size]``.

        Stateless: seeded by ``seed``, the replica id and ``d_optimizer.iterations``, so each critic
        update and replica draws its own values and a resumed run continues the sequence.
        """
        replica = tf.distribute.get_replica_context()
        replica_id = replica.replica_id_in_sync_group if replica is not None else 0
        seed = tf.stack(
            [
                tf.cast(self.seed, tf.int64) + tf.cast(replica_id, tf.int64),
                tf.cast(self.d_optimizer.iterations, tf.int64),
            ]
        )
        return tf.random.stateless_uniform([batch_size], seed=seed, dtype=tf.float32)

    def _scaled_model_losses(self, model):
        if not model.losses:
            return 0.0
        return reduce_per_replica_loss(ops.sum(ops.stack(model.losses)))

    def _critic_update(self, x, y):
        fake = ops.stop_gradient(self.generator(x, training=True))
        with tf.GradientTape() as tape:
            real_scores, _ = split_critic_outputs(self.critic(y, training=True))
            fake_scores, _ = split_critic_outputs(self.critic(fake, training=True))
            per_example = self._sum(self._variant.critic_loss(r, f) for r, f in zip(real_scores, fake_scores))
            if self._variant.gradient_penalty:
                epsilon = self.interpolation_weights(ops.shape(y)[0])
                penalty = gradient_penalty(self.critic, y, fake, epsilon, self.gp_weight)
                per_example = per_example + penalty
                self.gp_tracker.update_state(ops.mean(penalty))
            loss = reduce_per_replica_loss(per_example) + self._scaled_model_losses(self.critic)
        variables = self.critic.trainable_variables
        self.d_optimizer.apply(tape.gradient(loss, variables), variables)
        if self._variant.clip_weights:
            for v in variables:
                v.assign(ops.clip(v, -self.clip_value, self.clip_value))
        self.d_loss_tracker.update_state(ops.mean(per_example))

    @staticmethod
    def _sum(per_example_terms):
        """Sum of per-example terms (one per sub-critic), in float32 whatever the critics' dtype."""
        total = None
        for term in per_example_terms:
            term = ops.cast(term, "float32")
            total = term if total is None else total + term
        return total

    def _generator_terms(self, x, y, training):
        fake = self.generator(x, training=training)
        sample = ops.cast(self._sample_loss_fn(y, fake), "float32")
        fake_scores, fake_features = split_critic_outputs(self.critic(fake, training=training))
        adversarial = self._sum(self._variant.generator_loss(s) for s in fake_scores)
        total = self.sample_weight * sample + self.adversarial_weight * adversarial
        terms = {"sample_loss": sample, "adv_loss": adversarial}
        if self.feature_extractor is not None:
            feature = feature_distance(
                self.feature_extractor(y, training=False), self.feature_extractor(fake, training=False)
            )
            total = total + self.feature_weight * feature
            terms["feature_loss"] = feature
        if self.fm_loss_tracker is not None:
            _, real_features = split_critic_outputs(self.critic(y, training=training))
            matching = ops.cast(
                feature_matching_loss([ops.stop_gradient(f) for f in real_features], fake_features), "float32"
            )
            total = total + self.feature_matching_weight * matching
            terms["fm_loss"] = matching
        terms["g_loss"] = total
        return fake, terms

    def _update_generator_metrics(self, y, fake, terms):
        self.g_loss_tracker.update_state(ops.mean(terms["g_loss"]))
        self.sample_loss_tracker.update_state(ops.mean(terms["sample_loss"]))
        self.adv_loss_tracker.update_state(ops.mean(terms["adv_loss"]))
        if self.feature_loss_tracker is not None:
            self.feature_loss_tracker.update_state(ops.mean(terms["feature_loss"]))
        if self.fm_loss_tracker is not None:
            self.fm_loss_tracker.update_state(ops.mean(terms["fm_loss"]))
        self.snr_metric.update_state(y, fake)

    def _unpack(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if y is None:
            raise ValueError("AdversarialTrainer needs (low_rate, high_rate) pairs; got inputs only")
        if sample_weight is not None:
            raise ValueError("AdversarialTrainer does not support sample weights")
        return x, ops.cast(y, "float32")

    def train_step(self, data):
        if self.g_optimizer is None:
            raise RuntimeError("call compile() before fit()")
        x, y = self._unpack(data)
        n = self.n_critic
        static_batch = x.shape[0]
        if static_batch is not None:
            if static_batch < n:
                raise ValueError(
                    f"batch of {static_batch} examples (per replica) is smaller than n_critic={n}; "
                    f"use batch_size >= n_critic * replicas"
                )
            bounds = [k * static_batch // n for k in range(n + 1)]
        else:
            batch = ops.shape(x)[0]
            bounds = [(k * batch) // n for k in range(n + 1)]
        for k in range(n):
            self._critic_update(x[bounds[k] : bounds[k + 1]], y[bounds[k] : bounds[k + 1]])

        with tf.GradientTape() as tape:
            fake, terms = self._generator_terms(x, y, training=True)
            loss = reduce_per_replica_loss(terms["g_loss"]) + self._scaled_model_losses(self.generator)
        variables = self.generator.trainable_variables
        self.g_optimizer.apply(tape.gradient(loss, variables), variables)
        self._update_generator_metrics(y, fake, terms)
        return self._results(training=True)

    def test_step(self, data):
        x, y = self._unpack(data)
        fake, terms = self._generator_terms(x, y, training=False)
        self._update_generator_metrics(y, fake, terms)
        return self._results(training=False)

    def _results(self, training):
        trackers = [self.g_loss_tracker]
        if training:
            trackers += [self.d_loss_tracker, self.gp_tracker]
        trackers += [
            self.sample_loss_tracker,
            self.adv_loss_tracker,
            self.feature_loss_tracker,
            self.fm_loss_tracker,
            self.snr_metric,
        ]
        return {m.name: m.result() for m in trackers if m is not None}

    # ----------------------------------------------------------------- config
    def get_config(self):
        sample_loss = self.sample_loss
        if not isinstance(sample_loss, str):
            sample_loss = keras.saving.serialize_keras_object(sample_loss)
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "critic": keras.saving.serialize_keras_object(self.critic),
            "loss": self.adversarial_loss,
            "n_critic": self.n_critic,
            "gp_weight": self.gp_weight,
            "clip_value": self.clip_value,
            "sample_loss": sample_loss,
            "sample_weight": self.sample_weight,
            "adversarial_weight": self.adversarial_weight,
            "feature_extractor": (
                keras.saving.serialize_keras_object(self.feature_extractor)
                if self.feature_extractor is not None
                else None
            ),
            "feature_weight": self.feature_weight,
            "feature_matching_weight": self.feature_matching_weight,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**copy.deepcopy(config))
