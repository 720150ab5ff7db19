"""Fine-tune a shipped model on a folder of your own recordings, from Python, end to end.

    python docs/examples/finetune_own_voice.py --data-dir ~/my_voice --out runs/my_voice_py

Loads the shipped ``telephony-8k-16k`` model, upsamples an 8 kHz array with it, fine-tunes it with
``model.fit`` on a folder of recordings (16 kHz or above; files directly in it or one sub-folder per
speaker), saves it, exports the int8 stateful stream and runs that export on the same array. Without
``--data-dir`` it makes a folder of one speaker from the speech packaged with keras_audiosr.
The command-line form of the fine-tuning (resumable, with an evaluation on held-out files) is
``python -m recipes.streaming_bwe --data-dir DIR --init-from telephony-8k-16k --out runs/mine``.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import numpy as np

from keras_audiosr.utils import quiet_tensorflow

quiet_tensorflow()  # before Keras starts TensorFlow: no start-up log lines

import keras  # noqa: E402

from keras_audiosr import pretrained  # noqa: E402
from keras_audiosr.audio import read_audio, resample, write_audio  # noqa: E402
from keras_audiosr.data import embedded_corpus_dir, folder_data  # noqa: E402
from keras_audiosr.export.stateful import export_streaming  # noqa: E402
from keras_audiosr.inference import upsample_array  # noqa: E402
from keras_audiosr.metrics import snr  # noqa: E402
from keras_audiosr.models.saving import save_model  # noqa: E402
from keras_audiosr.streaming import StreamingUpsampler  # noqa: E402


def demo_folder(out: Path, files: int = 8) -> Path:
    """A folder of one speaker's recordings: LJ Speech files of the packaged corpus."""
    folder = out / "my-voices"
    folder.mkdir(parents=True, exist_ok=True)
    for f in sorted((embedded_corpus_dir() / "LJ").glob("*.flac"))[:files]:
        shutil.copy(f, folder / f.name)
    return folder


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="folder of your recordings (default: a demonstration folder)")
    parser.add_argument("--out", default="runs/finetune_own_voice", help="output folder")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=50, help="batches per epoch")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--calibration-windows", type=int, default=256, help="int8 calibration windows")
    args = parser.parse_args(argv)
    out = Path(args.out)
    folder = Path(args.data_dir).expanduser() if args.data_dir else demo_folder(out)

    # 1. A shipped model, and an 8 kHz array upsampled with it.
    model = pretrained.load("telephony-8k-16k")
    data = folder_data(folder, model, cache_dir=out / "cache")  # rates and input degradations from the model
    print(f"split: {data.split.note}")
    test_file = (data.split.test or data.split.train)[0].path
    hr, rate = read_audio(test_file, mix_down=True)
    hr = resample(hr, rate, model.hr_rate)
    lr = resample(hr, model.hr_rate, model.lr_rate)  # what an 8 kHz recording of it would be
    before = upsample_array(model, lr)

    # 2. Fine-tune with model.fit on (low, high) pairs drawn from the folder's training files.
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
    model.fit(
        data.dataset(args.batch_size, seed=0), epochs=args.epochs, steps_per_epoch=args.steps, verbose=2, shuffle=False
    )  # the stream draws its own random crops
    after = upsample_array(model, lr)
    n = min(len(hr), len(before), len(after))
    print(
        f"{Path(test_file).name}: SNR {snr(before[:n], hr[:n]):.2f} dB before, {snr(after[:n], hr[:n]):.2f} dB "
        f"after fine-tuning"
    )

    # 3. Save, export the int8 10 ms stream (calibrated on the same folder), run the export.
    save_model(model, out / "mine.keras")
    result = export_streaming(
        model,
        "int8",
        out / "edge",
        frame_ms=10,
        train_data=folder,
        calibration_windows=args.calibration_windows,
        progress=False,
    )
    stream = StreamingUpsampler.from_tflite(result.path)
    y = stream.run(lr)
    write_audio(out / "mine_int8.wav", y, model.hr_rate)
    m = min(len(y), len(after))
    print(
        f"int8 stream {result.path} ({result.size_bytes} bytes): SNR against the Keras model "
        f"{snr(y[:m], after[:m]):.1f} dB; wrote {out / 'mine_int8.wav'}"
    )
    return {"before": before, "after": after, "int8": np.asarray(y), "tflite": result.path}


if __name__ == "__main__":
    main()
