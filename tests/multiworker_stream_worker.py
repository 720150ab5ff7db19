"""One worker of a two-process MultiWorkerMirroredStrategy run fed by the streaming pipeline.

Usage: ``TF_CONFIG=... python tests/multiworker_stream_worker.py CORPUS CACHE OUT_JSON``. Both workers
prepare the same corpus into the same cache at once (the store tolerates concurrent preparers), build
``TrainingData.distribute(strategy, 8)`` and fit a tiny AudioUNet for three steps. Prints
``CHECKSUM <float>`` of the final weights and ``FILES <json list>`` of the store files this worker read;
only the chief writes ``OUT_JSON``.
"""

import json
import os
import sys


def main(corpus, cache, out_path):
    from keras_audiosr.training import get_strategy, is_chief

    strategy = get_strategy(verbose=False)

    import keras
    import numpy as np

    from keras_audiosr.data import prepare_training_data
    from keras_audiosr.models.audio_unet import AudioUNet

    keras.utils.set_random_seed(0)
    data = prepare_training_data(
        corpus,
        hr_rate=16000,
        ratio=2,
        patch_size=1024,
        degradations="speech-robust",
        cache_dir=cache,
        workers=1,
        progress=False,
        seed=3,
    )
    read = set()
    original = data.store.read

    def logged(i, channel, start, stop):
        read.add(int(i))
        return original(i, channel, start, stop)

    data.store.read = logged
    with strategy.scope():
        model = AudioUNet.from_size("tiny", ratio=2)
        model.compile(keras.optimizers.Adam(1e-3), loss="mse")
    history = model.fit(data.distribute(strategy, 8), epochs=1, steps_per_epoch=3, verbose=0)
    checksum = float(sum(np.sum(np.abs(w.astype("float64"))) for w in model.get_weights()))
    print(f"CHECKSUM {checksum!r}", flush=True)
    print(f"FILES {json.dumps(sorted(read))}", flush=True)
    if is_chief():
        tmp = f"{out_path}.tmp{os.getpid()}"
        with open(tmp, "w") as f:
            json.dump(
                {
                    "replicas": strategy.num_replicas_in_sync,
                    "loss": history.history["loss"],
                    "n_files": len(data.store),
                    "steps": int(model.optimizer.iterations.numpy()),
                },
                f,
            )
        os.replace(tmp, out_path)


if __name__ == "__main__":
    main(*sys.argv[1:4])
