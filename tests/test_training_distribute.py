"""tf.distribute correctness: MirroredStrategy over two logical CPUs takes the same step as one device.

The two logical CPUs must be configured before TensorFlow initialises its devices, so the
comparison runs in a fresh interpreter: this file doubles as that script
(``python tests/test_training_distribute.py equivalence`` prints one ``RESULT {json}`` line).
The multi-worker test lives in tests/test_training_multiworker.py.
Every comparison uses SGD: Adam's first step is about ``lr * sign(g)`` and would hide a gradient
scaled by the replica count. Weights are randomised first (AudioUNet's last convolution starts at
zero, which would leave every other gradient zero on the first step).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RTOL = 1e-4


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.pop("TF_CONFIG", None)
    return env


# ---------------------------------------------------------------- subprocess side
def _equivalence():
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

    import keras
    import numpy as np
    from keras import ops

    from keras_audiosr.models import MultiPeriodCritic, MultiResolutionCritic
    from keras_audiosr.models.audio_unet import AudioUNet
    from keras_audiosr.training import AdversarialTrainer, get_sample_loss
    from tests.datasets import make_dataset

    mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    single = tf.distribute.get_strategy()
    assert mirrored.num_replicas_in_sync == 2
    rng = np.random.default_rng(0)
    hr = rng.standard_normal((4, 32, 1)).astype("float32")
    lr = hr[:, ::2]

    class FixedEpsilonTrainer(AdversarialTrainer):
        """Deterministic interpolates, so the penalty is comparable across replica layouts."""

        def interpolation_weights(self, batch_size):
            return ops.full((batch_size,), 0.3)

    def critic():
        inputs = keras.Input((None, 1))
        h = keras.layers.Conv1D(4, 5, strides=2, activation="tanh")(inputs)
        h = keras.layers.GlobalAveragePooling1D()(h)
        return keras.Model(inputs, keras.layers.Dense(1)(h), name="critic")

    def randomise(model):
        model.set_weights([0.2 * rng.standard_normal(w.shape).astype("float32") for w in model.get_weights()])

    def step(build, strategy, initial, order):
        with strategy.scope():
            model = build()
            if initial is None:
                randomise(model)
            else:
                model.set_weights(initial)
        before = [np.array(w) for w in model.get_weights()]
        model.fit(make_dataset(lr[order], hr[order], 4, shuffle=False), epochs=1, verbose=0)
        return before, [np.array(w) - b for w, b in zip(model.get_weights(), before)]

    def compare(build, mirrored_order=(0, 1, 2, 3), extra=None):
        initial, single_delta = step(build, single, None, [0, 1, 2, 3])
        _, mirrored_delta = step(build, mirrored, initial, list(mirrored_order))
        scale = max(float(np.max(np.abs(d))) for d in single_delta)
        err = max(float(np.max(np.abs(a - b))) for a, b in zip(single_delta, mirrored_delta))
        moved = sum(bool(np.any(d != 0)) for d in single_delta)
        return {"scale": scale, "rel_err": err / scale, "moved": moved, "weights": len(single_delta)}

    def plain():
        model = AudioUNet.from_size("tiny", ratio=2)
        model.compile(keras.optimizers.SGD(0.1), loss=get_sample_loss("l2"))
        return model

    def gan(cls=AdversarialTrainer, **kwargs):
        def build():
            trainer = cls(AudioUNet.from_size("tiny", ratio=2), critic(), adversarial_weight=0.5, **kwargs)
            trainer.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
            return trainer

        return build

    def plain_mrstft():
        model = AudioUNet.from_size("tiny", ratio=2)
        model.compile(keras.optimizers.SGD(0.1), loss=get_sample_loss("l2+mrstft", weights={"mrstft": 0.5}))
        return model

    def modern():
        """HiFi-GAN-style: MPD + MRD in one ensemble, least squares, feature matching, L1 + MR-STFT."""
        critics = [
            MultiPeriodCritic.from_size("tiny"),
            MultiResolutionCritic.from_size("tiny", resolutions=((16, 4, 16), (32, 8, 32))),
        ]
        trainer = AdversarialTrainer(
            AudioUNet.from_size("tiny", ratio=2),
            critics,
            loss="lsgan",
            feature_matching_weight=2.0,
            sample_loss="l1+mrstft",
        )
        trainer.compile(keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.01))
        return trainer

    results = {
        "plain": compare(plain),
        "plain_mrstft": compare(plain_mrstft),
        "lsgan_mpd_mrd_fm": compare(modern),
        "gan": compare(gan(loss="gan", n_critic=1)),
        # Replica r gets rows 2r, 2r+1 and splits them into critic chunks; this order makes critic
        # update k see rows {2k, 2k+1} in both layouts, as the single device does.
        "wgan_gp_ncritic2": compare(gan(FixedEpsilonTrainer, loss="wgan-gp", n_critic=2), mirrored_order=(0, 2, 1, 3)),
    }
    print("RESULT " + json.dumps(results), flush=True)


# ---------------------------------------------------------------- pytest side
@pytest.fixture(scope="module")
def equivalence():
    proc = subprocess.run(
        [sys.executable, __file__, "equivalence"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, f"equivalence script failed (rc {proc.returncode}):\n{proc.stderr[-4000:]}"
    return json.loads(lines[-1][len("RESULT ") :])


# Weights with an exactly-zero gradient: the Wasserstein critic loss and the penalty ignore the
# critic's output bias.
UNMOVED = {"plain": 0, "plain_mrstft": 0, "gan": 0, "wgan_gp_ncritic2": 1, "lsgan_mpd_mrd_fm": 0}


@pytest.mark.parametrize("case", sorted(UNMOVED))
def test_mirrored_step_equals_single_device_step(equivalence, case):
    """Weight updates agree to RTOL of the largest update (a replica-count scaling error gives ~1)."""
    r = equivalence[case]
    assert r["scale"] > 1e-3, r
    assert r["moved"] == r["weights"] - UNMOVED[case], r
    assert r["rel_err"] < RTOL, r


if __name__ == "__main__":
    if sys.argv[1:] == ["equivalence"]:
        _equivalence()
    else:
        sys.exit("usage: test_training_distribute.py equivalence")
