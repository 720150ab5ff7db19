"""The scale of ``recipes.streaming_bwe``'s reconstruction loss against HiFi-GAN's log-mel L1, on a model's output.

    python -m tools.gan_loss_scales --model telephony-8k-16k [--files F.flac ...] [--degradation resample]

HiFi-GAN weighs its generator's terms 1 (LSGAN) : 2 (feature matching) : 45 (log-mel L1); the recipe's
``--adversarial`` defaults carry that balance over to its own reconstruction loss (``--loss l2+mrstft``,
waveform weight 1000) through the ratio of the two on a trained model's output, which this prints: per file
the MR-STFT loss, 1000 x the waveform MSE and HiFi-GAN's mel L1 (80 mels, n_fft 1024, hop 256, up to the
Nyquist, natural log clamped at 1e-5), then their means. Files: every sixth recording of the embedded corpus
unless ``--files`` (at the model's high rate). Needs librosa (the ``eval`` extra).
"""

from __future__ import annotations

import argparse

PROG = "python -m tools.gan_loss_scales"


def hifigan_mel_l1(reference, estimate, rate):
    """HiFi-GAN's reconstruction term: mean |log mel(reference) - log mel(estimate)| (1-D float arrays)."""
    import librosa
    import numpy as np

    def log_mel(y):
        mel = librosa.feature.melspectrogram(
            y=y, sr=rate, n_fft=1024, hop_length=256, win_length=1024, n_mels=80, fmin=0, fmax=rate / 2, power=1.0
        )
        return np.log(np.clip(mel, 1e-5, None))

    return float(np.mean(np.abs(log_mel(reference) - log_mel(estimate))))


def main(argv=None):
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--model", required=True, help="a .keras model or a shipped model's name")
    parser.add_argument("--files", nargs="+", help="high-rate recordings (default: the embedded corpus, 1 in 6)")
    parser.add_argument("--degradation", default="resample", help="how the low-rate input is made (default: resample)")
    args = parser.parse_args(argv)

    import numpy as np

    from keras_audiosr.audio import read_audio
    from keras_audiosr.data import embedded_corpus_dir
    from keras_audiosr.degrade import Degradation
    from keras_audiosr.models.saving import load_model
    from keras_audiosr.pretrained import resolve
    from keras_audiosr.training.losses import l2_loss, mrstft_loss

    model = load_model(resolve(args.model)[0])
    files = args.files or sorted(embedded_corpus_dir().glob("*/*.flac"))[::6]
    degradation = Degradation(model.ratio, args.degradation)
    rows = []
    print("file\tmrstft\t1000*mse\thifigan_mel_l1")
    for path in files:
        y, rate = read_audio(path)
        if rate != model.hr_rate:
            parser.error(f"{path}: {rate} Hz, the model's high rate is {model.hr_rate} Hz")
        y = y[:, :1]
        y = y[: len(y) // model.ratio * model.ratio]
        estimate = np.asarray(model.predict(degradation(y)[None].astype("float32"), verbose=0))[0]
        n = min(len(y), len(estimate))
        a, b = y[None, :n].astype("float32"), estimate[None, :n]
        row = (
            float(mrstft_loss(a, b)[0]),
            1000 * float(l2_loss(a, b)[0]),
            hifigan_mel_l1(a[0, :, 0], b[0, :, 0], rate),
        )
        rows.append(row)
        print(f"{path}\t" + "\t".join(f"{v:.3f}" for v in row))
    mrstft, mse, mel = np.mean(rows, axis=0)
    print(
        f"mean\t{mrstft:.3f}\t{mse:.3f}\t{mel:.3f}\nreconstruction (mrstft + 1000*mse) / HiFi-GAN mel L1 = "
        f"{(mrstft + mse) / mel:.2f} over {len(rows)} files"
    )


if __name__ == "__main__":
    main()
