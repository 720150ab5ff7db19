"""Builds the packaged real-speech corpus (keras_audiosr/data/embedded/speech16k) from ../shared/data.

Public-domain LJ Speech and VCTK (CC BY 4.0 in release 0.92; ODC-By 1.0 in 0.80) recordings,
resampled to 16 kHz mono FLAC, at most ``--max-mb`` MB in all, with a manifest and an attribution
file. Speakers p258, p259 and p273 are the held-out speakers of every speech benchmark in this
project; p273 is kept here as the quickstart's held-out speaker.

    python tools/make_embedded_corpus.py [--src ../shared/data] [--out keras_audiosr/data/embedded/speech16k]
"""

import argparse
import csv
import shutil
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from keras_audiosr.audio import read_audio, resample  # noqa: E402

RATE = 16000
# (corpus folder, speaker, max seconds): training speakers, then the held-out one.
SELECTION = [
    ("ljspeech-mini", "LJ", 75.0),
    ("vctk-mini", "p225", 45.0),
    ("vctk-mini", "p226", 45.0),
    ("vctk-mini", "p227", 45.0),
    ("vctk-mini", "p228", 45.0),
    ("vctk-mini", "p230", 16.0),
    ("vctk-mini", "p233", 12.0),
    ("vctk-mini", "p236", 12.0),
    ("vctk-mini", "p243", 13.0),
    ("vctk-mini", "p244", 12.0),
    ("vctk-mini", "p273", 13.0),
]
ATTRIBUTION = """# Packaged speech: sources and licences

These recordings are the embedded default corpus of keras_audiosr (used by the recipes when no
`--data-dir` is given). They were resampled to 16 kHz mono 16-bit FLAC by
`tools/make_embedded_corpus.py`; `manifest.csv` lists every file with its source.

- `LJ/`: LJ Speech 1.1 (Keith Ito and Linda Johnson, 2017), public domain.
  https://keithito.com/LJ-Speech-Dataset/
- `p2xx/`: CSTR VCTK Corpus: English Multi-speaker Corpus for CSTR Voice Cloning Toolkit
  (Christophe Veaux, Junichi Yamagishi, Kirsten MacDonald; University of Edinburgh, Centre for
  Speech Technology Research). Release 0.92 is licensed under the Creative Commons Attribution 4.0
  International licence (CC BY 4.0, https://creativecommons.org/licenses/by/4.0/); release 0.80, from
  which these files were taken, under the Open Data Commons Attribution License (ODC-By 1.0).
  https://doi.org/10.7488/ds/2645. Changes: resampled from 48 kHz to 16 kHz, trimmed to at most
  the duration listed in the manifest, FLAC-encoded.
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", default=str(Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    ap.add_argument(
        "--out", default=str(Path(__file__).resolve().parents[1] / "keras_audiosr" / "data" / "embedded" / "speech16k")
    )
    ap.add_argument("--max-mb", type=float, default=8.0)
    args = ap.parse_args(argv)
    src, out = Path(args.src), Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rows = []
    for corpus, speaker, budget in SELECTION:
        manifest = {r["path"]: r for r in csv.DictReader(open(src / corpus / "manifest.csv"))}
        used = 0.0
        for rel, row in sorted(manifest.items()):
            if row["speaker"] != speaker or used >= budget:
                continue
            x, rate = read_audio(src / corpus / rel, mix_down=True)
            y = resample(x[:, 0], rate, RATE)
            y = y[: int((budget - used) * RATE) + 1] if used + len(y) / RATE > budget + 4.0 else y
            peak = float(np.max(np.abs(y)))
            if peak > 0.999:  # the resampler's overshoot must not clip
                y = y * (0.999 / peak)
            dest = out / speaker / (Path(rel).stem + ".flac")
            dest.parent.mkdir(exist_ok=True)
            sf.write(dest, y, RATE, subtype="PCM_16")
            used += len(y) / RATE
            rows.append(
                {
                    "path": f"{speaker}/{dest.name}",
                    "speaker": speaker,
                    "seconds": round(len(y) / RATE, 3),
                    "source": f"{corpus}/{rel}",
                    "licence": row["license"],
                }
            )
    with open(out / "manifest.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "ATTRIBUTION.md").write_text(ATTRIBUTION)
    mb = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 1e6
    secs = sum(r["seconds"] for r in rows)
    print(f"{len(rows)} files, {secs:.0f} s, {mb:.2f} MB in {out}")
    if mb > args.max_mb:
        sys.exit(f"error: {mb:.2f} MB exceeds --max-mb {args.max_mb}")


if __name__ == "__main__":
    main()
