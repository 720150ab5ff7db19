"""One worker of a two-process MultiWorkerMirroredStrategy run (used by tests/test_training_multiworker.py).

Usage: ``TF_CONFIG=... python tests/multiworker_worker.py OUT_JSON``. Builds the strategy from
``TF_CONFIG`` with :func:`keras_audiosr.training.get_strategy`, trains a tiny AudioUNet for three
``fit`` steps and an :class:`~keras_audiosr.training.AdversarialTrainer` for two, on synthetic sine
patches, and prints ``CHECKSUM <float>`` of the final weights (equal on every worker when training
is synchronous). Only the chief writes ``OUT_JSON`` (atomically).
"""

import sys


def main(out_path):
    from keras_audiosr.training import get_strategy, is_chief
    from keras_audiosr.training.strategy import patch_multi_worker_reduce
    from keras_audiosr.utils import write_json

    strategy = patch_multi_worker_reduce(get_strategy(verbose=False))  # before any other TensorFlow work

    import keras
    import numpy as np
    import tensorflow as tf

    from keras_audiosr.models.audio_unet import AudioUNet
    from keras_audiosr.training import AdversarialTrainer, get_sample_loss

    keras.utils.set_random_seed(0)
    t = np.arange(64) / 16000.0
    freqs = np.linspace(200.0, 6000.0, 32)
    hr = (0.5 * np.sin(2 * np.pi * freqs[:, None] * t[None, :]))[..., None].astype("float32")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    dataset = (
        tf.data.Dataset.from_tensor_slices((hr[:, ::2], hr)).shuffle(32, seed=0).repeat().batch(8).with_options(options)
    )

    with strategy.scope():
        model = AudioUNet.from_size("tiny", ratio=2)
        model.compile(keras.optimizers.Adam(1e-3), loss=get_sample_loss("l2"))
    history = model.fit(dataset, epochs=1, steps_per_epoch=3, verbose=0)

    with strategy.scope():
        inputs = keras.Input((None, 1))
        h = keras.layers.GlobalAveragePooling1D()(keras.layers.Conv1D(4, 5, strides=2, activation="relu")(inputs))
        critic = keras.Model(inputs, keras.layers.Dense(1)(h), name="critic")
        trainer = AdversarialTrainer(AudioUNet.from_size("tiny", ratio=2), critic, loss="wgan-gp", n_critic=2)
        trainer.compile()
    gan_history = trainer.fit(dataset, epochs=1, steps_per_epoch=2, verbose=0)

    weights = model.get_weights() + trainer.get_weights()
    checksum = float(sum(np.sum(np.abs(w.astype("float64"))) for w in weights))
    print(f"CHECKSUM {checksum!r}", flush=True)
    if is_chief():
        write_json(
            out_path,
            {
                "replicas": strategy.num_replicas_in_sync,
                "loss": history.history["loss"],
                "gan": {k: v for k, v in gan_history.history.items()},
                "generator_steps": int(trainer.g_optimizer.iterations.numpy()),
                "critic_steps": int(trainer.d_optimizer.iterations.numpy()),
                "checksum": checksum,
            },
        )


if __name__ == "__main__":
    main(sys.argv[1])
