"""Losses, gradient penalty and AdversarialTrainer: schedule, composition, clipping, saving, resume."""

import json
import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_audiosr.models.audio_unet import AudioUNet
from keras_audiosr.training import (
    AdversarialTrainer,
    get_adversarial_loss,
    get_sample_loss,
    gradient_penalty,
)
from tests.datasets import make_dataset

T = 32  # high-rate patch length


def _critic(kernel_initializer="glorot_uniform", name="critic"):
    inputs = keras.Input((None, 1))
    h = keras.layers.Conv1D(4, 5, strides=2, activation="relu", kernel_initializer=kernel_initializer)(inputs)
    h = keras.layers.GlobalAveragePooling1D()(h)
    return keras.Model(inputs, keras.layers.Dense(1, kernel_initializer=kernel_initializer)(h), name=name)


def _data(n=8, seed=0):
    rng = np.random.default_rng(seed)
    hr = rng.standard_normal((n, T, 1)).astype("float32")
    return hr[:, ::2], hr


def _trainer(**kwargs):
    return AdversarialTrainer(AudioUNet.from_size("tiny", ratio=2), kwargs.pop("critic", None) or _critic(), **kwargs)


# ---------------------------------------------------------------- losses
def test_sample_losses_match_hand_computed_values():
    y = np.array([[[1.0], [2.0]], [[0.0], [0.0]]], "float32")
    p = np.array([[[0.0], [4.0]], [[1.0], [-1.0]]], "float32")
    np.testing.assert_allclose(np.asarray(get_sample_loss("l2")(y, p)), [(1 + 4) / 2, (1 + 1) / 2])
    np.testing.assert_allclose(np.asarray(get_sample_loss("l1")(y, p)), [(1 + 2) / 2, 1.0])
    fn = lambda a, b: a  # noqa: E731
    assert get_sample_loss(fn) is fn
    with pytest.raises(ValueError, match="'l1', 'l2'"):
        get_sample_loss("l3")


def test_adversarial_losses_match_hand_computed_values():
    real = np.array([[2.0], [0.0]], "float32")
    fake = np.array([[-1.0], [0.0]], "float32")
    for name in ("wgan", "wgan-gp"):
        v = get_adversarial_loss(name)
        np.testing.assert_allclose(np.asarray(v.critic_loss(real, fake)), [-3.0, 0.0])
        np.testing.assert_allclose(np.asarray(v.generator_loss(fake)), [1.0, 0.0])
    gan = get_adversarial_loss("gan")
    softplus = lambda z: math.log1p(math.exp(z))  # noqa: E731  BCE(1, z) = softplus(-z), BCE(0, z) = softplus(z)
    np.testing.assert_allclose(
        np.asarray(gan.critic_loss(real, fake)), [softplus(-2.0) + softplus(-1.0), 2 * math.log(2.0)], rtol=1e-6
    )
    np.testing.assert_allclose(np.asarray(gan.generator_loss(fake)), [softplus(1.0), math.log(2.0)], rtol=1e-6)
    # Large logits stay finite (stable formulation).
    assert np.all(
        np.isfinite(np.asarray(gan.critic_loss(np.full((1, 1), 200.0, "float32"), np.full((1, 1), -200.0, "float32"))))
    )
    assert get_adversarial_loss("wgan-gp").gradient_penalty and get_adversarial_loss("wgan").clip_weights
    with pytest.raises(ValueError, match="'wgan-gp', 'wgan', 'gan', 'lsgan', 'hinge'"):
        get_adversarial_loss("relativistic")


def _linear_critic(w):
    """D(x) = <w, x> over time and channels: gradient w everywhere, so GP = lambda (||w|| - 1)^2."""
    inputs = keras.Input((w.shape[0], 1))
    out = keras.layers.Dense(1, use_bias=False)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, out)
    model.set_weights([w.reshape(-1, 1)])
    return model


def test_gradient_penalty_norm_over_non_batch_axes_and_double_backprop():
    w = np.array([0.5, -1.0, 2.0, 0.0], "float32")
    critic = _linear_critic(w)
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((3, 4, 1)).astype("float32"), rng.standard_normal((3, 4, 1)).astype("float32")
    norm = float(np.linalg.norm(w))
    with tf.GradientTape() as tape:
        gp = gradient_penalty(critic, real, fake, epsilon=np.array([0.0, 0.3, 1.0], "float32"), weight=10.0)
        total = tf.reduce_sum(gp)
    np.testing.assert_allclose(np.asarray(gp), [10.0 * (norm - 1.0) ** 2] * 3, rtol=1e-5)
    grad = np.asarray(tape.gradient(total, critic.trainable_variables[0])).ravel()
    np.testing.assert_allclose(grad, 3 * 20.0 * (norm - 1.0) * w / norm, rtol=1e-4, atol=1e-6)


def test_gradient_penalty_evaluates_at_interpolates():
    """D(x) = sum(x^2)/2 has gradient x, so the norm is ||eps*real + (1-eps)*fake||."""
    inputs = keras.Input((3, 1))
    critic = keras.Model(inputs, keras.layers.Lambda(lambda x: 0.5 * keras.ops.sum(x * x, axis=(1, 2)))(inputs))
    real = np.array([[[3.0], [0.0], [4.0]]], "float32")
    fake = np.zeros_like(real)
    for eps in (1.0, 0.5, 0.2):
        gp = gradient_penalty(critic, real, fake, epsilon=np.array([eps], "float32"), weight=2.0)
        np.testing.assert_allclose(np.asarray(gp), [2.0 * (5.0 * eps - 1.0) ** 2], rtol=1e-5)


# ---------------------------------------------------------------- trainer
@pytest.mark.parametrize("loss,n_critic,eager", [("wgan-gp", 3, False), ("gan", 2, True), ("wgan", 1, True)])
def test_schedule_metrics_and_predict(loss, n_critic, eager):
    """n_critic critic updates per generator update, in compiled (tf.function) and eager mode."""
    lr, hr = _data(12)
    trainer = _trainer(loss=loss, n_critic=n_critic)
    trainer.compile(run_eagerly=eager)
    ds = make_dataset(lr, hr, batch_size=6, shuffle=False)
    history = trainer.fit(ds, epochs=1, verbose=0, validation_data=ds if not eager else None)
    steps = 2
    assert int(trainer.g_optimizer.iterations) == steps
    assert int(trainer.d_optimizer.iterations) == n_critic * steps
    assert trainer.optimizer is trainer.g_optimizer
    expected = {"g_loss", "d_loss", "sample_loss", "adv_loss", "snr"} | ({"gp"} if loss == "wgan-gp" else set())
    if not eager:
        expected |= {"val_g_loss", "val_sample_loss", "val_adv_loss", "val_snr"}
    assert set(history.history) == expected
    assert all(np.isfinite(v[0]) for v in history.history.values())
    if loss == "wgan-gp":
        assert history.history["gp"][0] > 0
        np.testing.assert_allclose(trainer.predict(lr, verbose=0), np.asarray(trainer.generator(lr)), atol=1e-6)


def test_generator_update_is_the_plain_sample_loss_step_when_adversarial_weight_is_zero():
    lr, hr = _data(8)
    trainer = _trainer(loss="gan", n_critic=1, adversarial_weight=0.0, sample_loss="l1", sample_weight=2.0)
    trainer.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05), run_eagerly=True)
    plain = AudioUNet.from_config(trainer.generator.get_config())
    plain.set_weights(trainer.generator.get_weights())
    plain.compile(keras.optimizers.SGD(0.1), loss=get_sample_loss("l1"))  # 2 * l1 at lr 0.05 == l1 at lr 0.1
    before = trainer.generator.get_weights()
    history = trainer.fit(make_dataset(lr, hr, 8, shuffle=False), epochs=1, verbose=0)
    plain.fit(lr, hr, batch_size=8, epochs=1, shuffle=False, verbose=0)
    moved = [not np.allclose(a, b) for a, b in zip(before, trainer.generator.get_weights())]
    assert any(moved)
    for a, b in zip(trainer.generator.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
    assert history.history["g_loss"][0] == pytest.approx(2 * history.history["sample_loss"][0], rel=1e-5)


def test_feature_loss_with_frozen_extractor():
    lr, hr = _data(8)
    inputs = keras.Input((None, 1))
    phi = keras.Model(inputs, keras.layers.Conv1D(1, 1, use_bias=False, kernel_initializer="ones")(inputs), name="phi")
    phi_before = phi.get_weights()
    trainer = _trainer(loss="gan", n_critic=1, feature_extractor=phi, feature_weight=1.0, adversarial_weight=0.0)
    trainer.compile(run_eagerly=True)
    assert not any(v is w for v in trainer.trainable_variables for w in phi.weights)
    history = trainer.fit(make_dataset(lr, hr, 8, shuffle=False), epochs=1, verbose=0)
    # phi is the identity, so the feature loss is the L2 sample loss and g_loss = 1 * l2 + 1 * feature.
    assert history.history["feature_loss"][0] == pytest.approx(history.history["sample_loss"][0], rel=1e-5)
    assert history.history["g_loss"][0] == pytest.approx(2 * history.history["sample_loss"][0], rel=1e-5)
    np.testing.assert_array_equal(phi.get_weights()[0], phi_before[0])
    with pytest.raises(ValueError, match="feature_extractor"):
        _trainer(feature_weight=1.0)


def test_wgan_clips_critic_weights():
    lr, hr = _data(4)
    trainer = _trainer(loss="wgan", n_critic=2, clip_value=0.01, critic=_critic(kernel_initializer="ones"))
    trainer.compile(run_eagerly=True)
    trainer.fit(make_dataset(lr, hr, 4, shuffle=False), epochs=1, verbose=0)
    assert max(float(np.max(np.abs(w))) for w in trainer.critic.get_weights()) <= 0.01 + 1e-7


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown adversarial loss"):
        _trainer(loss="relativistic")
    with pytest.raises(ValueError, match="n_critic"):
        _trainer(n_critic=0)
    trainer = _trainer(n_critic=5)
    opt = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="different"):
        trainer.compile(opt, opt)
    trainer.compile(run_eagerly=True)
    lr, hr = _data(4)
    with pytest.raises(ValueError, match="smaller than n_critic"):
        trainer.fit(make_dataset(lr, hr, 4), epochs=1, verbose=0)


def test_config_round_trip_and_save_load(tmp_path):
    trainer = _trainer(loss="wgan-gp", n_critic=2, gp_weight=5.0, sample_loss="l1", adversarial_weight=0.02, seed=7)
    trainer.compile(keras.optimizers.Adam(3e-4), keras.optimizers.Adam(2e-4), run_eagerly=True)
    lr, hr = _data(4)
    trainer.fit(make_dataset(lr, hr, 4), epochs=1, verbose=0)
    config = trainer.get_config()
    json.dumps(config)
    clone = AdversarialTrainer.from_config(config)
    assert clone.get_config() == config
    assert clone.adversarial_weight == 0.02 and _trainer(loss="gan").adversarial_weight == 0.01

    path = str(tmp_path / "trainer.keras")
    trainer.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(np.asarray(loaded(lr)), np.asarray(trainer(lr)), atol=1e-6)
    assert float(loaded.g_optimizer.learning_rate) == pytest.approx(3e-4)
    assert int(loaded.d_optimizer.iterations) == 2

    gen_path = str(tmp_path / "model.keras")
    trainer.generator.save(gen_path)
    generator = keras.models.load_model(gen_path)
    assert isinstance(generator, AudioUNet) and generator.hr_rate == trainer.generator.hr_rate
    np.testing.assert_allclose(np.asarray(generator(lr)), np.asarray(trainer(lr)), atol=1e-6)


def test_backup_and_restore_resumes_weights_and_optimizer_state(tmp_path):
    lr, hr = _data(8)
    ds = make_dataset(lr, hr, 4)
    backup = str(tmp_path / "backup")

    keras.utils.set_random_seed(1)
    first = _trainer(loss="wgan-gp", n_critic=2)
    first.compile()
    first.fit(ds, epochs=1, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False)])
    assert os.path.exists(os.path.join(backup, "latest.weights.h5"))

    keras.utils.set_random_seed(2)
    second = _trainer(loss="wgan-gp", n_critic=2)
    second.compile()
    assert not np.allclose(second.critic.get_weights()[0], first.critic.get_weights()[0])
    seen = {}

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["weights"] = [np.array(v) for v in self.model.weights]
            seen["iterations"] = (int(self.model.g_optimizer.iterations), int(self.model.d_optimizer.iterations))
            seen["d_slots"] = [np.array(v) for v in self.model.d_optimizer.variables]

    history = second.fit(
        ds, epochs=2, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False), Probe()]
    )
    assert seen["iterations"] == (2, 4)
    for a, b in zip(seen["weights"], first.weights):
        np.testing.assert_array_equal(a, np.array(b))
    for a, b in zip(seen["d_slots"], first.d_optimizer.variables):
        np.testing.assert_array_equal(a, np.array(b))
    assert len(history.history["g_loss"]) == 1  # only epoch 2 ran
    assert (int(second.g_optimizer.iterations), int(second.d_optimizer.iterations)) == (4, 8)


# ---------------------------------------------------------------- modern critics: lsgan / hinge, feature matching
from keras_audiosr.models import MultiPeriodCritic, MultiResolutionCritic, WaveGANCritic  # noqa: E402
from keras_audiosr.models.critic_ensemble import CriticEnsemble  # noqa: E402
from keras_audiosr.training import feature_matching_loss  # noqa: E402


def test_lsgan_hinge_and_feature_matching_values():
    real = np.array([[2.0, 0.0], [1.0, 1.0]], "float32")
    fake = np.array([[-1.0, 0.5], [0.0, 0.0]], "float32")
    ls = get_adversarial_loss("lsgan")
    np.testing.assert_allclose(np.asarray(ls.critic_loss(real, fake)), [(1 + 1) / 2 + (1 + 0.25) / 2, 0.0])
    np.testing.assert_allclose(np.asarray(ls.generator_loss(fake)), [(4 + 0.25) / 2, 1.0])
    hinge = get_adversarial_loss("hinge")
    np.testing.assert_allclose(np.asarray(hinge.critic_loss(real, fake)), [(0 + 1) / 2 + (0 + 1.5) / 2, 0 + 1.0])
    np.testing.assert_allclose(np.asarray(hinge.generator_loss(fake)), [0.25, 0.0])
    assert (ls.default_weight, ls.default_n_critic, get_adversarial_loss("wgan-gp").default_n_critic) == (1.0, 1, 5)
    a = [np.ones((2, 3, 1), "float32"), np.zeros((2, 4), "float32")]
    b = [np.zeros((2, 3, 1), "float32"), np.stack([np.full(4, 2.0), np.zeros(4)]).astype("float32")]
    np.testing.assert_allclose(np.asarray(feature_matching_loss(a, b)), [1.0 + 2.0, 1.0 + 0.0])
    with pytest.raises(ValueError, match="equal"):
        feature_matching_loss(a, b[:1])


def _modern_trainer(**kwargs):
    keras.utils.set_random_seed(kwargs.pop("seed_", 0))
    kwargs.setdefault("loss", "lsgan")
    kwargs.setdefault("feature_matching_weight", 2.0)
    kwargs.setdefault("sample_loss", "l1+mrstft")
    critics = kwargs.pop("critics", None) or [
        MultiPeriodCritic.from_size("tiny", periods=(3,)),
        MultiResolutionCritic.from_size("tiny", resolutions=((64, 16, 64),)),
    ]
    return AdversarialTrainer(AudioUNet.from_size("tiny", ratio=2), critics, **kwargs)


def _long_data(n=8, t=128, seed=0):
    hr = 0.3 * np.random.default_rng(seed).standard_normal((n, t, 1)).astype("float32")
    return hr[:, ::2], hr


def test_modern_critics_train_with_fit():
    lr, hr = _long_data(8)
    trainer = _modern_trainer(loss="lsgan")
    assert isinstance(trainer.critic, CriticEnsemble) and trainer.n_critic == 1
    trainer.compile()
    assert isinstance(trainer.g_optimizer, keras.optimizers.AdamW)
    critic_before = [np.array(w) for w in trainer.critic.get_weights()]
    gen_before = [np.array(w) for w in trainer.generator.get_weights()]
    ds = make_dataset(lr, hr, batch_size=4, shuffle=False)
    history = trainer.fit(ds, epochs=1, verbose=0, validation_data=ds)
    assert (int(trainer.g_optimizer.iterations), int(trainer.d_optimizer.iterations)) == (2, 2)
    assert set(history.history) == {
        "g_loss",
        "d_loss",
        "sample_loss",
        "adv_loss",
        "fm_loss",
        "snr",
        "val_g_loss",
        "val_sample_loss",
        "val_adv_loss",
        "val_fm_loss",
        "val_snr",
    }
    assert all(np.isfinite(v[0]) for v in history.history.values())
    assert history.history["fm_loss"][0] > 0
    for critic in trainer.critic.critics:  # both sub-models learn
        assert critic.trainable_weights
    assert (
        sum(not np.allclose(a, b) for a, b in zip(critic_before, trainer.critic.get_weights()))
        >= len(critic_before) // 2
    )
    assert any(not np.allclose(a, b) for a, b in zip(gen_before, trainer.generator.get_weights()))


def test_generator_objective_is_the_weighted_sum():
    lr, hr = _long_data(4)
    trainer = _modern_trainer(sample_weight=3.0, adversarial_weight=0.5, feature_matching_weight=2.0)
    trainer.compile(run_eagerly=True)
    x, y = lr, hr
    _, terms = trainer._generator_terms(x, y, training=False)
    total = (
        3.0 * np.asarray(terms["sample_loss"])
        + 0.5 * np.asarray(terms["adv_loss"])
        + 2.0 * np.asarray(terms["fm_loss"])
    )
    np.testing.assert_allclose(np.asarray(terms["g_loss"]), total, rtol=1e-6)
    # The adversarial term sums the lsgan generator loss over the two sub-critics.
    out = trainer.critic(trainer.generator(x, training=False), training=False)
    expected = sum(np.mean((np.asarray(s).reshape(4, -1) - 1.0) ** 2, axis=1) for s in out["scores"])
    np.testing.assert_allclose(np.asarray(terms["adv_loss"]), expected, rtol=1e-5)
    np.testing.assert_allclose(
        np.asarray(terms["sample_loss"]),
        np.asarray(get_sample_loss("l1+mrstft")(y, trainer.generator(x, training=False))),
        rtol=1e-5,
    )


def test_feature_matching_needs_feature_maps_and_gp_works_on_multi_critics():
    with pytest.raises(ValueError, match="returns no feature maps"):
        AdversarialTrainer(
            AudioUNet.from_size("tiny"), WaveGANCritic.from_size("tiny"), loss="lsgan", feature_matching_weight=2.0
        )
    lr, hr = _long_data(4)
    trainer = _modern_trainer(
        loss="wgan-gp",
        n_critic=2,
        feature_matching_weight=0.0,
        sample_loss="l2",
        critics=[MultiPeriodCritic.from_size("tiny", periods=(2, 3))],
    )
    trainer.compile()
    history = trainer.fit(make_dataset(lr, hr, 4, shuffle=False), epochs=1, verbose=0)
    assert history.history["gp"][0] > 0 and np.isfinite(history.history["d_loss"][0])
    # A plain single critic in a list is used as is (no ensemble), so the seeds' setups are unchanged.
    single = AdversarialTrainer(AudioUNet.from_size("tiny"), [_critic()], loss="gan")
    assert not isinstance(single.critic, CriticEnsemble) and single.n_critic == 5


def test_modern_trainer_save_load_backup_and_generator(tmp_path):
    lr, hr = _long_data(8)
    ds = make_dataset(lr, hr, 4)
    trainer = _modern_trainer()
    trainer.compile(keras.optimizers.Adam(3e-4), keras.optimizers.Adam(2e-4))
    backup = str(tmp_path / "backup")
    trainer.fit(ds, epochs=1, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False)])
    config = trainer.get_config()
    json.dumps(config)
    assert AdversarialTrainer.from_config(config).get_config() == config

    path = str(tmp_path / "trainer.keras")
    trainer.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded.critic, CriticEnsemble) and loaded.feature_matching_weight == 2.0
    np.testing.assert_allclose(np.asarray(loaded(lr)), np.asarray(trainer(lr)), atol=1e-6)
    for a, b in zip(loaded.critic.get_weights(), trainer.critic.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(loaded.d_optimizer.iterations) == 2

    resumed = _modern_trainer(seed_=5)
    resumed.compile(keras.optimizers.Adam(3e-4), keras.optimizers.Adam(2e-4))
    seen = {}

    class Probe(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["weights"] = [np.array(v) for v in self.model.weights]

    resumed.fit(
        ds, epochs=2, verbose=0, callbacks=[keras.callbacks.BackupAndRestore(backup, delete_checkpoint=False), Probe()]
    )
    for a, b in zip(seen["weights"], trainer.weights):
        np.testing.assert_array_equal(a, np.array(b))

    gen_path = str(tmp_path / "model.keras")
    trainer.generator.save(gen_path)
    generator = keras.models.load_model(gen_path)
    assert isinstance(generator, AudioUNet) and generator.band_preserving
    np.testing.assert_allclose(np.asarray(generator(lr)), np.asarray(trainer(lr)), atol=1e-6)
