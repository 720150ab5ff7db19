"""``python -m tools.ship_model``: a finished recipe run -> a shipped model folder ``keras_audiosr/pretrained/<name>/``.

From a run folder (``config.json``, ``metrics.json``, ``model.keras``, as ``python -m recipes.streaming_bwe``
writes it) this writes, into ``--out`` (default ``keras_audiosr/pretrained``):

    <name>/model.keras                           the run's model, copied
    <name>/<model>_stream_<mode>.tflite          the stateful streaming model per --modes (float, int8, ...),
    <name>/<model>_stream_<mode>.json            with its sidecar (metadata, every gate) and golden fixtures,
    <name>/<model>_stream_<mode>.{inputs,expected}.npz   exactly as ``python -m edge.convert --streaming`` writes them
    <name>/card.json                             rates, files, headline metrics, facts (keras_audiosr.pretrained)
    <name>/MODEL_CARD.md                         data, speakers, licences, command, cost, held-out table, limitations

Calibration uses the run's training split only; the held-out table comes from one evaluation
(:func:`keras_audiosr.evaluation.evaluate_suite`) of the run's test speakers under the model's own,
``resample``, ``butter:4`` (and, for 8 kHz input, ``telephone:mulaw``) input degradations: the Keras
model, the shipped int8 streaming ``.tflite`` fed 10 ms frames with its state tensors, sinc and spline.
The folder is built in a temporary folder beside the target and renamed over it: a rerun replaces a
shipped model whole, a failed one leaves it as it was.
"""
from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

__all__ = ["TARGETS", "build_parser", "main", "ship", "check_targets", "data_sources", "model_card", "readme_block",
           "update_readme"]

PROG = "python -m tools.ship_model"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "keras_audiosr" / "pretrained"
RUN_FILES = ("config.json", "metrics.json", "model.keras")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
SYSTEMS = ("model", "int8", "sinc", "spline")
METRICS = ("snr", "snr_lb", "lsd", "lsd_hf", "pesq")
#: The never-worse targets (against sinc on the same inputs), checked under every input degradation.
TARGETS = {"pesq": "PESQ-WB >= sinc + 0.1", "snr": "SNR >= sinc - 1 dB", "lsd": "LSD <= 0.6 x sinc"}
_SIZE_WARN_BYTES = 5 * 1024 * 1024
README_START = "<!-- shipped-models:start -->"
README_END = "<!-- shipped-models:end -->"

#: Sources recognised in the corpora's manifest licence column: (keywords, source, licence and attribution).
SOURCES = (
    (("vctk", "voicebank"), "VCTK",
     "CSTR VCTK Corpus (Christophe Veaux, Junichi Yamagishi, Kirsten MacDonald; Centre for Speech Technology Research "
     "(CSTR), University of Edinburgh), https://doi.org/10.7488/ds/2645: release 0.92 under CC BY 4.0 "
     "(https://creativecommons.org/licenses/by/4.0/), release 0.80 under ODC-By 1.0; attribution required "
     "(VoiceBank-DEMAND files: Valentini-Botinhao 2017, CC BY 4.0)"),
    (("lj speech", "ljspeech"), "LJ Speech",
     "LJ Speech 1.1 (Keith Ito and Linda Johnson, 2017), https://keithito.com/LJ-Speech-Dataset/: public domain"),
    (("libritts",), "LibriTTS", "LibriTTS (Zen et al. 2019), https://www.openslr.org/60/: CC BY 4.0; attribution required"),
    (("hi-fi tts", "hifitts"), "Hi-Fi TTS",
     "Hi-Fi TTS (Bakhturina et al., NVIDIA 2021), https://www.openslr.org/109/: CC BY 4.0; attribution required"),
    (("sms-tools",), "sms-tools",
     "sms-tools sounds (Xavier Serra, MTG; freesound.org pack 13038): CC BY 4.0; attribution required"),
    (("guitarset",), "GuitarSet", "GuitarSet (Xi et al. 2018): CC BY 4.0; attribution required"),
)


class ShipError(ValueError):
    """A run folder, corpus or argument that cannot make a shipped model (exit status 2, one line)."""


# ---- arguments ------------------------------------------------------------------------------------
def build_parser():
    from keras_audiosr.export.args import Parser, positive_float, positive_int

    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0] + "\n\n" + "\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("--run", required=True, help="finished recipe run folder (config.json, metrics.json, model.keras); "
                                                "required")
    p.add_argument("--name", required=True, help="shipped model name, e.g. telephony-8k-16k (lower case letters, "
                                                 "digits, '.', '_', '-'); required")
    p.add_argument("--data", nargs="+", default=None, metavar="DIR",
                   help="corpus folders holding the run's held-out speakers (and training files for calibration) "
                        "(default: the run's corpora as recorded in metrics.json / config.json)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help=f"folder of shipped models (default: {DEFAULT_OUT})")
    p.add_argument("--description", default=None, help="one-line description for card.json (default: generated)")
    p.add_argument("--modes", default="float,int8,int8-pcm16",
                   help="streaming .tflite modes, comma-separated, from: float, int8, int8-pcm16; float and int8 "
                        "are required (default: float,int8,int8-pcm16)")
    p.add_argument("--frame-ms", type=positive_float, default=10.0, help="streaming frame in ms (default: 10)")
    p.add_argument("--calibration-windows", type=positive_int, default=256,
                   help="training windows for int8 calibration (default: 256, as edge.convert --streaming)")
    p.add_argument("--max-seconds", type=positive_float, default=None,
                   help="score only the first seconds of each held-out file (default: whole files)")
    p.add_argument("--high-band-trim", default="auto", metavar="auto|none|DB",
                   help="level of the band the network adds (StreamingBWE.trim_high_band): auto chooses it on "
                        "training files only (evaluation.choose_high_band_trim by evaluation.high_band_trim_rule: "
                        "best PESQ-WB with LSD at most 0.6x sinc's for 8 kHz input, else lowest LSD within 1 dB of "
                        "sinc's SNR), none keeps the trained level, a number in dB applies it (default: auto)")
    p.add_argument("--no-pesq", action="store_true", help="skip PESQ-WB (default: computed when pesq is installed)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (default: off)")
    p.add_argument("--readme", default=None, metavar="README.md",
                   help=f"also rewrite the block between {README_START!r} and {README_END!r} in this file: every "
                        f"model shipped in --out with its held-out table and a link to its card (default: not "
                        f"written)")
    return p


def _read_json(path: Path) -> dict:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ShipError(f"{path}: not readable JSON ({e})") from e
    if not isinstance(doc, dict):
        raise ShipError(f"{path}: expected a JSON object")
    return doc


def _modes(text: str) -> list[str]:
    from keras_audiosr.export.modes import check_streaming_mode

    modes = list(dict.fromkeys(m.strip() for m in text.split(",") if m.strip()))
    for m in modes:
        check_streaming_mode(m)
    missing = [m for m in ("float", "int8") if m not in modes]
    if missing:
        raise ShipError(f"--modes {text}: must include {' and '.join(missing)}")
    return modes


def recorded_dirs(config: dict, metrics: dict) -> list[Path]:
    """The run's corpus folders: the roots metrics.json recorded, else config.json's data_dir, else the embedded
    corpus (a run without --data-dir trained on it). Relative paths are taken from the current folder."""
    recorded = [c.get("root") for c in (metrics.get("data") or {}).get("corpora", []) if c.get("root")]
    dirs = recorded or list(config.get("data_dir") or [])
    if not dirs:
        from keras_audiosr.data import embedded_corpus_dir

        return [embedded_corpus_dir()]
    return [Path(d).expanduser() for d in dirs]


def _corpus_dirs(args, recorded: list[Path]) -> list[Path]:
    """The folders the held-out files and the calibration audio are read from: --data, else the run's."""
    from keras_audiosr.export.args import existing_dir

    if args.data:
        return [existing_dir(d, "--data") for d in args.data]
    for d in recorded:
        if not d.is_dir():
            raise ShipError(f"corpus folder {d} (recorded in {args.run}) not found from {Path.cwd()}; "
                            f"pass the run's corpus folders with --data")
    return recorded


def validate(args) -> dict:
    """Every argument and file checked before any work; returns what :func:`ship` needs. Raises ShipError."""
    from keras_audiosr.export.args import UsageError, existing_dir, writable_dir

    try:
        run = existing_dir(args.run, "--run")
        if not NAME_RE.match(args.name):
            raise ShipError(f"--name {args.name!r}: use 1-64 lower-case letters, digits, '.', '_' or '-', starting "
                            f"with a letter or digit")
        missing = [f for f in RUN_FILES if not (run / f).is_file()]
        if missing:
            raise ShipError(f"--run {run}: no {', '.join(missing)} (is the run finished? a run writes model.keras "
                            f"after training and metrics.json after its evaluation)")
        config, metrics = _read_json(run / "config.json"), _read_json(run / "metrics.json")
        if not metrics.get("test_speakers"):
            raise ShipError(f"{run / 'metrics.json'}: no test_speakers: the run has no held-out speakers to score")
        out = writable_dir(args.out, "--out")
        if args.readme is not None:
            readme_text(args.readme)
        modes = _modes(args.modes)
        if str(args.high_band_trim).strip().lower() not in ("auto", "none"):
            try:
                float(args.high_band_trim)
            except ValueError:
                raise ShipError(f"--high-band-trim {args.high_band_trim!r}: use auto, none or a number of dB") from None
        recorded = recorded_dirs(config, metrics)
        dirs = _corpus_dirs(args, recorded)
    except (UsageError, ValueError) as e:
        raise ShipError(str(e)) from None
    return {"run": run, "config": config, "metrics": metrics, "out": out, "modes": modes, "dirs": dirs,
            "recorded": recorded if all(d.is_dir() for d in recorded) else None}


# ---- data: the run's split ------------------------------------------------------------------------
def run_split(dirs, config: dict, metrics: dict):
    """The run's speaker split over ``dirs`` (:func:`keras_audiosr.data.load_corpora` with the run's held-out
    speakers, those of corpora in ``dirs``); ShipError when none of them is there."""
    from keras_audiosr.data import load_corpora

    names = [Path(d).resolve().name for d in dirs]
    held = [str(s) for s in metrics["test_speakers"]]
    mine = [s for s in held if "/" not in s or s.split("/", 1)[0] in names]
    if not mine:
        raise ShipError(f"none of the run's held-out speakers ({', '.join(held)}) is in the corpus folders given "
                        f"({', '.join(str(d) for d in dirs)}); pass the run's corpora with --data")
    try:
        corpora = load_corpora(list(dirs), task=config.get("task") or "multi", test_speakers=mine)
    except (OSError, ValueError) as e:
        raise ShipError(f"corpus folders {', '.join(str(d) for d in dirs)}: {e}") from e
    if not corpora.test:
        raise ShipError(f"no held-out file of {', '.join(mine)} in {', '.join(str(d) for d in dirs)}")
    return corpora


def at_rate(corpora, hr_rate: int):
    """``(corpora with only the training files recorded at hr_rate Hz or more, [skipped paths])``: the files the
    prepared store skips (they lack the band the model learns), so the card lists what was really trained on."""
    import dataclasses

    import soundfile as sf

    keep, names, skipped = [], [], []
    for u, name in zip(corpora.train, corpora.train_corpora):
        try:
            ok = sf.info(str(u.path)).samplerate >= int(hr_rate)
        except RuntimeError as e:
            raise ShipError(f"{u.path}: not a readable sound file ({e})") from e
        if ok:
            keep.append(u)
            names.append(name)
        else:
            skipped.append(str(u.path))
    if not skipped:
        return corpora, []
    if not keep:
        raise ShipError(f"no training file reaches {hr_rate} Hz")
    return dataclasses.replace(corpora, train=keep, train_corpora=names), skipped


def _manifest(root: Path) -> dict:
    """``{relative path: licence}`` from a corpus's ``manifest.csv`` (column ``license`` or ``licence``)."""
    path = Path(root) / "manifest.csv"
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as f:
        return {row["path"]: (row.get("license") or row.get("licence") or "").strip() for row in csv.DictReader(f)
                if row.get("path")}


def data_sources(corpora, held_out=None) -> dict:
    """Where the training files of ``corpora`` and the held-out files of ``held_out`` (default: ``corpora``'s)
    come from: ``{"sources": [{"source", "licence", "train_files", "test_files"}], "licences": {manifest text:
    files}, "unknown": [files without a manifest licence]}``."""
    held_out = corpora if held_out is None else held_out
    manifests = {}
    counts, texts, unknown = {}, {}, []
    for part, cset, utts, names in (("train_files", corpora, corpora.train, corpora.train_corpora),
                                    ("test_files", held_out, held_out.test, held_out.test_corpora)):
        for u, name in zip(utts, names):
            c = next(c for c in cset.corpora if c.name == name)
            key = str(Path(c.root).resolve())
            if key not in manifests:
                manifests[key] = (Path(c.root), _manifest(c.root))
            root, manifest = manifests[key]
            try:
                rel = Path(u.path).resolve().relative_to(root.resolve()).as_posix()
            except ValueError:
                rel = Path(u.path).name
            text = manifest.get(rel, "")
            if not text:
                unknown.append(str(u.path))
                continue
            texts[text] = texts.get(text, 0) + 1
            low = text.lower()
            hit = next((s for s in SOURCES if any(k in low for k in s[0])), None)
            key = hit[1] if hit else text
            entry = counts.setdefault(key, {"source": key, "licence": hit[2] if hit else text,
                                            "train_files": 0, "test_files": 0})
            entry[part] += 1
    return {"sources": list(counts.values()), "licences": texts, "unknown": unknown}


# ---- evaluation and targets -----------------------------------------------------------------------
def check_targets(report: dict, system: str) -> dict:
    """``{label: {"pesq"|"snr"|"lsd": {"value", "sinc", "bound", "met"}, "met"}}`` for ``system`` under each input
    degradation of an :func:`~keras_audiosr.evaluation.evaluate_suite` report, and ``"met"`` overall.

    A metric that was not measured (PESQ without the pesq package) has ``met`` None; a degradation
    (and the whole) is met only when every measured metric is and none is missing.
    """
    out = {}
    for label in report["order"]:
        mean = report["degradations"][label]["mean"]
        got, sinc = mean.get(system, {}), mean.get("sinc", {})
        row = {}
        for key, bound in (("pesq", lambda s: s + 0.1), ("snr", lambda s: s - 1.0), ("lsd", lambda s: 0.6 * s)):
            v, s = got.get(key), sinc.get(key)
            if v is None or s is None:
                row[key] = {"value": v, "sinc": s, "bound": None, "met": None}
                continue
            b = bound(s)
            row[key] = {"value": v, "sinc": s, "bound": b, "met": bool(v <= b if key == "lsd" else v >= b)}
        flags = [r["met"] for r in row.values()]
        row["met"] = None if None in flags else all(flags)
        out[label] = row
    flags = [r["met"] for r in out.values()]
    return {"rule": dict(TARGETS), "system": system, "by_degradation": out,
            "met": None if None in flags else all(flags)}


def _stream_runner(path):
    from keras_audiosr.streaming import StreamingUpsampler

    up = StreamingUpsampler.from_tflite(path)
    return lambda low: up.run(low)


def evaluate_shipped(model, int8_path, corpora, *, with_pesq, max_seconds, progress):
    """One evaluation of the held-out files: the Keras model and the int8 stream beside sinc and spline, under the
    model's default input degradations; files grouped by corpus when several corpora hold some."""
    from keras_audiosr.evaluation import evaluate_suite

    groups = {k: [str(u.path) for u in v] for k, v in corpora.test_by_corpus().items() if v}
    paths = groups if len(groups) > 1 else [str(u.path) for u in corpora.test]
    return evaluate_suite(model, paths, degradations=None, baselines=("sinc", "spline"), with_pesq=with_pesq,
                          systems={"int8": _stream_runner(int8_path)}, relative_to="model", max_seconds=max_seconds,
                          progress=progress)


# ---- the model card -------------------------------------------------------------------------------
def _fmt(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def _n(count, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _speakers(utts) -> list[str]:
    return sorted({u.speaker for u in utts})


def _files_seconds(utts) -> float:
    import soundfile as sf

    total = 0.0
    for u in utts:
        try:
            total += sf.info(str(u.path)).duration
        except RuntimeError:
            pass
    return total


def _targets_md(targets: dict, label: str) -> list[str]:
    lines = [f"| input | {label}: PESQ-WB (bound) | SNR dB (bound) | LSD (bound) | met |", "|---|---:|---:|---:|---|"]
    for deg, row in targets["by_degradation"].items():
        cells = []
        for key, digits in (("pesq", 2), ("snr", 2), ("lsd", 3)):
            r = row[key]
            mark = "" if r["met"] is None else (" ✓" if r["met"] else " ✗")
            cells.append(f"{_fmt(r['value'], digits)} ({'>=' if key != 'lsd' else '<='} {_fmt(r['bound'], digits)})"
                         f"{mark}" if r["bound"] is not None else "not measured")
        met = "not measured" if row["met"] is None else ("yes" if row["met"] else "**no**")
        lines.append(f"| {deg} | " + " | ".join(cells) + f" | {met} |")
    return lines


def _failures(targets: dict) -> list[str]:
    out = []
    for deg, row in targets["by_degradation"].items():
        bad = [f"{TARGETS[k]} ({_fmt(row[k]['value'], 3 if k == 'lsd' else 2)} vs bound "
               f"{_fmt(row[k]['bound'], 3 if k == 'lsd' else 2)})" for k in ("pesq", "snr", "lsd")
               if row[k]["met"] is False]
        if bad:
            out.append(f"{deg}: " + "; ".join(bad))
    return out


def _trim_line(trim: dict) -> str:
    db = float(trim.get("trim_db") or 0.0)
    if trim.get("how") == "auto":
        return (f"- High-band level: the band the network adds is set {db:+.0f} dB from its trained level "
                f"(`StreamingBWE.trim_high_band`: a fixed offset of its output gain, exact in every frame), "
                f"chosen on {len(trim.get('files', []))} training files under "
                f"{', '.join(trim.get('degradations', []))} " + (
                    "as the lowest LSD with SNR within 1 dB of sinc's under each and PESQ-WB within 0.05 of "
                    "sinc's (PESQ-WB does not hear the band this model adds; a quieter band always scores closer "
                    "to sinc there)" if trim.get("objective") == "lsd" else
                    "as the best PESQ-WB with LSD at most 0.6x sinc's under each (PESQ-WB counts an invented "
                    "high band as noise, LSD rewards it)")
                + " (`keras_audiosr.pretrained.trim.choose_high_band_trim`).")
    if db:
        return f"- High-band level: set {db:+.1f} dB from its trained level (`StreamingBWE.trim_high_band`)."
    return "- High-band level: as trained."


def portable_command(config: dict, name: str) -> str:
    """The run's recipe command as a reader can type it: ``--out`` becomes ``runs/<name>`` and this machine's
    ``--cache-dir`` is dropped (neither changes the model)."""
    argv, out, skip = [str(a) for a in config.get("argv") or []], [], False
    for a in argv:
        if skip:
            skip = False
            continue
        flag = a.split("=", 1)[0]
        if flag in ("--out", "--cache-dir"):
            skip = "=" not in a
            if flag == "--out":
                out += ["--out", f"runs/{name}"]
            continue
        out.append(a)
    return "python -m recipes." + str(config.get("recipe")) + (" " + shlex.join(out) if out else "")


def _portable_text(command, name: str):
    """:func:`portable_command` of a recorded ``python -m recipes.NAME ARGS`` line (older cards kept it verbatim)."""
    words = shlex.split(str(command or ""))
    if len(words) < 3 or words[:2] != ["python", "-m"] or not words[2].startswith("recipes."):
        return command
    return portable_command({"recipe": words[2][len("recipes."):], "argv": words[3:]}, name)


def training_stages(config: dict, metrics: dict, out: Path, name: str) -> list[dict]:
    """How the shipped weights were trained, first stage first: a run warm-started (``--init-from``) from a
    model shipped in ``out`` inherits that model's stages (read from its ``card.json`` before it is replaced)."""
    stages = []
    source = config.get("init_from")
    card_path = out / str(source) / "card.json" if source and "/" not in str(source) else None
    if card_path is not None and card_path.is_file():
        previous = _read_json(card_path)
        stages = [dict(st) for st in previous.get("training_stages") or [
            {"command": _portable_text(previous.get("training_command"), str(source)),
             "train_seconds": previous.get("train_seconds"), "epochs_run": previous.get("epochs_run")}]]
        trim = (previous.get("high_band_trim") or {}).get("trim_db")
        stages[-1]["note"] = (f"shipped as `{source}`" + (f" with a {trim:+.0f} dB high-band trim" if trim else "")
                              + "; the next stage starts from its weights")
    for k, st in enumerate(stages, 1):  # each earlier stage its own folder (the same --out would resume it)
        st["command"] = re.sub(rf"--out runs/{re.escape(name)}(?=\s|$)", f"--out runs/{name}-stage{k}",
                               str(st["command"]))
    command = portable_command(config, name)
    if stages:  # the shipped name now means the new model: start from the previous stage's run instead
        command = re.sub(rf"--init-from(=| ){re.escape(str(source))}(?=\s|$)",
                         f"--init-from runs/{name}-stage{len(stages)}/model.keras", command)
    stages.append({"command": command, "train_seconds": metrics.get("train_seconds"),
                   "epochs_run": metrics.get("epochs_run")})
    return stages


def _stages_md(card: dict) -> list[str]:
    stages = card.get("training_stages") or [{"command": card["training_command"]}]
    if len(stages) == 1:
        lines = ["Command (from the repository root; the run's `config.json`, with `--out` shortened):", "",
                 "```bash", stages[0]["command"], "```", ""]
    else:
        total = sum(float(st.get("train_seconds") or 0) for st in stages)
        lines = [f"{len(stages)} stages, {total / 60:.0f} minutes of training in all (from the repository root; "
                 f"each run's `config.json`, with `--out` shortened):", ""]
        for k, st in enumerate(stages, 1):
            mins = float(st.get("train_seconds") or 0) / 60
            lines += [f"{k}. {_n(st.get('epochs_run') or 0, 'epoch')}, {mins:.0f} minutes"
                      + (f" ({st['note']})" if st.get("note") else "") + ":", "",
                      "   ```bash", "   " + st["command"], "   ```", ""]
    return lines


def model_card(card: dict, report: dict, facts: dict) -> str:
    """The markdown model card (``MODEL_CARD.md``) from ``card.json``'s content, the evaluation report and facts."""
    from keras_audiosr.evaluation import format_suite_markdown

    name, lr, hr = card["name"], card["lr_rate"], card["hr_rate"]
    t_int8, t_model = card["targets"]["int8"], card["targets"]["model"]
    tfl = card["tflite"]
    sizes = facts["file_sizes"]
    lines = [f"# {name}: {lr // 1000 if lr % 1000 == 0 else lr / 1000} kHz -> "
             f"{hr // 1000 if hr % 1000 == 0 else hr / 1000} kHz speech super-resolution", "",
             card["description"], "",
             "```bash",
             f"keras-audiosr upsample in_{lr // 1000}k.wav out.wav --model {name}     # the Keras model, offline",
             f"keras-audiosr upsample in_{lr // 1000}k.wav out.wav --model {name} --tflite   # the int8 stream (LiteRT)",
             "```", "",
             "```python",
             "from keras_audiosr import pretrained",
             f"model = pretrained.load({name!r})                 # a Keras model, {lr} Hz in, {hr} Hz out",
             f"path = pretrained.tflite_path({name!r}, \"int8\")  # the stateful streaming int8 .tflite",
             "```", "",
             "## Model", "",
             f"- {card['model_class']} `{card['model_size']}`, {card['parameters']:,} parameters; "
             f"{card['macs_per_second'] / 1e6:.1f} MMAC per second of audio (Keras graph, one "
             f"{card['frame_ms']:g} ms stream frame with its states, `keras_audiosr.models.complexity`).",
             f"- Algorithmic latency {card['algorithmic_latency_ms']:.2f} ms: a {card['frame_ms']:g} ms frame "
             f"({card['frame_length']} samples at {lr} Hz) plus {card['lookahead']} samples of lookahead.",
             "- Causal, band-preserving (the input band passes through exactly; the model adds the band above it).",
             _trim_line(card.get("high_band_trim") or {}),
             "- Files:", ""]
    lines.append(f"  - `{card['keras']}` ({sizes[card['keras']] / 1024:.0f} KiB): the Keras model.")
    for mode, f in tfl.items():
        io = "int16 PCM" if mode == "int8-pcm16" else "float32"
        what = "float32 throughout" if mode == "float" else f"int8 core with int8 state tensors, {io} audio in and out"
        lines.append(f"  - `{f}` ({sizes[f] / 1024:.0f} KiB): stateful streaming LiteRT model, {what}; "
                     f"`{Path(f).stem}.json` holds its metadata and gate results, `{Path(f).stem}.inputs.npz` / "
                     f"`.expected.npz` its golden fixtures.")
    lines += ["", f"Exported as `python -m edge.convert --model model.keras --mode MODE --streaming --frame-ms "
                  f"{card['frame_ms']:g}` does, int8 calibrated on {facts['calibration']} of the run's training audio"
                  f"{facts['calibration_from']}; "
                  f"every conversion gate passed (parity, static graph, Arm NN where installed).", ""]

    lines += ["## Training", ""] + _stages_md(card) + [
              ("Last stage: " if len(card.get("training_stages") or ()) > 1 else "")
              + f"{_n(facts['epochs_run'], 'epoch')}, {facts['train_seconds'] / 60:.0f} minutes of training"
              + (" (stopped by its `--max-minutes` time budget)" if facts["stopped_by_time_budget"] else "")
              + f", on {facts['training_inputs']}.", ""]

    lines += ["## Data and speakers", ""]
    for c in facts["corpora"]:
        lines.append(f"- `{c['name']}`: {_n(c['n_train'], 'training file')}, {_n(c['n_test'], 'held-out file')}")
    lines += ["", f"Training speakers ({len(card['train_speakers'])}): "
              + ", ".join(f"`{s}`" for s in card["train_speakers"]) + ".", "",
              f"Held-out speakers ({len(card['test_speakers'])}, never trained on): "
              + ", ".join(f"`{s}`" for s in card["test_speakers"])
              + f"; {_n(facts['n_test_files'], 'file')}, {facts['test_seconds']:.0f} s scored.", "",
              "Licences of the recordings (from each corpus's `manifest.csv`):", ""]
    for s in card["data_sources"]["sources"]:
        lines.append(f"- **{s['source']}** ({s['train_files']} training, {_n(s['test_files'], 'held-out file')}): "
                     f"{s['licence']}.")
    if card.get("not_trained_on"):
        skipped = card["not_trained_on"]["files"]
        lines.append(f"- Not trained on: {_n(len(skipped), 'file')} of the run's training split "
                     f"{card['not_trained_on']['reason']}: " + ", ".join(f"`{Path(f).name}`" for f in skipped) + ".")
    if card["data_sources"]["unknown"]:
        lines.append(f"- {len(card['data_sources']['unknown'])} files have no licence in a manifest: check their "
                     f"source before redistributing this model.")
    lines += ["", "The weights are derived from these recordings; redistributing them keeps the attributions above.", ""]

    lines += ["## Held-out evaluation", "",
              "One evaluation run (`keras_audiosr.evaluation.evaluate_suite`) on the held-out speakers: `model` is "
              "the Keras model, `int8` the shipped int8 streaming `.tflite` fed "
              f"{card['frame_ms']:g} ms frames with its state tensors (LiteRT), `sinc` and `spline` the baselines on "
              "the same inputs. SNR and LB-SNR in dB (higher is better), LSD and LSD-HF in log10 power "
              "(lower is better), PESQ-WB (higher is better).", "",
              format_suite_markdown(report, per_corpus=True, systems=list(SYSTEMS),
                                    metrics=[m for m in METRICS if m in report["metrics"]]), ""]
    snr_vs = card.get("int8_snr_vs_model")
    if snr_vs:
        lines += ["The int8 stream against the Keras model (SNR of the int8 output with the Keras output as "
                  "reference, dB): " + ", ".join(f"{k} {_fmt(v, 1)}" for k, v in snr_vs.items()) + ".", ""]

    lines += ["## Targets", "",
              "The never-worse targets, under every input degradation: " + "; ".join(TARGETS.values()) + ".", ""]
    lines += _targets_md(t_int8, "int8 stream") + [""] + _targets_md(t_model, "Keras model") + [""]

    lines += ["## Limitations", ""]
    for verdict, label in ((t_int8, "The int8 streaming model"), (t_model, "The Keras model")):
        if verdict["met"] is True:
            lines.append(f"- {label} meets every target under every input degradation above (on "
                         f"{_n(facts['n_test_files'], 'held-out file')} only).")
        elif verdict["met"] is None:
            lines.append(f"- {label}: the targets could not all be checked (PESQ-WB not measured).")
        else:
            lines.append(f"- {label} does **not** meet the targets: " + "; ".join(_failures(verdict)) + ".")
    lines += [
        f"- The held-out set is small: {_n(facts['n_test_files'], 'file')} of "
        f"{_n(len(card['test_speakers']), 'speaker')} "
        f"({facts['test_seconds']:.0f} s); the means carry the uncertainty of so few files.",
        f"- Trained on {facts['train_hours']:.2f} hours of read English speech from {len(card['train_speakers'])} "
        f"speakers{' for ' + _n(facts['epochs_run'], 'epoch') if facts['epochs_run'] else ''}; "
        f"music, noisy, reverberant or far-field audio, other languages and singing were not evaluated.",
        f"- The input must be at {lr} Hz (other rates: resample first). It was trained on inputs drawn from "
        f"`{card['training_degradations']}`; channels unlike those (e.g. heavy codecs other than G.711, packet loss) "
        f"were not evaluated.",
    ]
    if any(report["degradations"][lb]["spec"].startswith("telephone") for lb in report["order"]):
        lines.append("- Under the telephone channel the causal 300-3400 Hz band-pass shifts the phase of every "
                     "system's input alike, so SNR and LB-SNR there say little (compare PESQ-WB and LSD); the band "
                     "below 300 Hz that the channel removes is not restored.")
    lines += ["", f"Made by `{card['ship_command']}` (keras_audiosr {card['keras_audiosr_version']}).", ""]
    return "\n".join(lines)


# ---- the README block ----------------------------------------------------------------------------
def readme_text(path) -> str:
    """The text of ``path``; ShipError unless it holds the shipped-models markers once, in order."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise ShipError(f"--readme {p}: cannot read it ({e.strerror or e})") from None
    if text.count(README_START) != 1 or text.count(README_END) != 1 or text.index(README_START) > text.index(README_END):
        raise ShipError(f"--readme {p}: needs the lines {README_START} and {README_END} once each, in that order")
    return text


def readme_block(models_dir, readme) -> str:
    """Markdown for the README: each model shipped in ``models_dir`` (its ``card.json``) with its rates, cost,
    held-out means, the targets' verdict and a link to its MODEL_CARD.md, relative to ``readme``'s folder."""
    folders = sorted(d for d in Path(models_dir).iterdir() if not d.name.startswith(".") and (d / "card.json").is_file())
    if not folders:
        return "No model is shipped yet (`python -m tools.ship_model` adds one from a finished recipe run)."
    cards = [(d, _read_json(d / "card.json")) for d in folders]
    labels = {"snr": "SNR (dB)", "snr_lb": "LB-SNR (dB)", "lsd": "LSD", "lsd_hf": "LSD-HF", "pesq": "PESQ-WB"}
    lines = ["| model | rates | size | parameters | MMAC/s | algorithmic latency | int8 stream meets the targets |",
             "|---|---|---:|---:|---:|---:|---|"]
    for d, c in cards:
        met = {True: "yes", False: "no", None: "not measured"}[(c.get("targets") or {}).get("int8", {}).get("met")]
        size = sum(p.stat().st_size for p in d.iterdir() if p.is_file())
        lines.append(f"| `{c['name']}` | {c['lr_rate']} -> {c['hr_rate']} Hz | {size / 1e6:.1f} MB | "
                     f"{c.get('parameters', 0):,} | {c.get('macs_per_second', 0) / 1e6:.0f} | "
                     f"{c.get('algorithmic_latency_ms', 0):.1f} ms | {met} |")
    for d, c in cards:
        link = os.path.relpath(d.resolve() / "MODEL_CARD.md", Path(readme).resolve().parent)
        results = c.get("metrics") or {}
        metrics = [k for k in METRICS if any(k in s for deg in results.values() for s in deg.values())]
        lines += ["", f"**`{c['name']}`** ([model card]({link})): {c.get('description', '')} Held-out speakers "
                      f"{', '.join(f'`{s}`' for s in c.get('test_speakers', []))}; "
                      + (f"trained with `{c.get('training_command')}`." if len(c.get("training_stages") or ()) < 2
                         else f"trained in {len(c['training_stages'])} stages, the last `{c.get('training_command')}` "
                              f"(see its card)."), "",
                  "| input | system | " + " | ".join(labels[k] for k in metrics) + " |",
                  "|---|---|" + "---:|" * len(metrics)]
        for label, systems in results.items():
            ordered = [s for s in SYSTEMS if s in systems] + [s for s in systems if s not in SYSTEMS]
            for k, (system, values) in enumerate((s, systems[s]) for s in ordered):
                lines.append(f"| {label if k == 0 else ''} | {system} | "
                             + " | ".join(_fmt(values.get(x), 3 if x.startswith("lsd") else 2) for x in metrics) + " |")
    return "\n".join(lines)


def update_readme(readme, models_dir) -> Path:
    """Rewrites the shipped-models block of ``readme`` (atomically) from the models in ``models_dir``."""
    from keras_audiosr.utils import write_text_atomic

    text = readme_text(readme)
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    body = readme_block(models_dir, readme)
    return write_text_atomic(readme, f"{head}{README_START}\n{body}\n{README_END}{tail}")


# ---- the whole job --------------------------------------------------------------------------------
def _cleanup_leftovers(out: Path, name: str, log) -> None:
    for p in out.glob(f".{name}.partial-*"):
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
            log(f"[ship] removed {p} (left by an interrupted run)")


def _swap_in(tmp: Path, target: Path, aside: Path) -> None:
    """Rename ``tmp`` onto ``target``; an existing ``target`` is first renamed to ``aside`` (the caller removes it)
    and put back when the second rename fails."""
    moved = False
    if target.exists():
        os.rename(target, aside)
        moved = True
    try:
        os.rename(tmp, target)
    except OSError:
        if moved:
            os.rename(aside, target)
        raise


def choose_trim(model, train_utts, how: str, with_pesq: bool, log=print) -> dict:
    """Applies ``--high-band-trim`` to ``model``; returns ``{"trim_db", "how", ["calibration": rows]}``.

    ``auto`` scores trims on up to 8 training files (spread over the training speakers, 8 s each)
    under :func:`keras_audiosr.pretrained.trim.high_band_trim_rule`'s degradations, never on held-out audio."""
    from keras_audiosr.pretrained.trim import choose_high_band_trim, high_band_trim_rule

    how = str(how).strip().lower()
    if how == "none" or not callable(getattr(model, "trim_high_band", None)):
        return {"trim_db": 0.0, "how": "none"}
    if how != "auto":
        model.trim_high_band(float(how))
        return {"trim_db": float(how), "how": "given"}
    if not with_pesq:
        log("[ship] high-band level kept as trained: choosing it needs PESQ-WB (--no-pesq, or pesq not installed)")
        return {"trim_db": 0.0, "how": "none (no PESQ-WB)"}
    by_speaker = {}
    for u in train_utts:
        by_speaker.setdefault(getattr(u, "speaker", ""), []).append(u.path)
    files = [paths[len(paths) // 2] for _, paths in sorted(by_speaker.items())]
    files = files[:: max(1, len(files) // 8)][:8]
    degradations, objective = high_band_trim_rule(model)
    log(f"[ship] choosing the high-band level on {len(files)} training files under {', '.join(degradations)} "
        f"(objective: {objective})")
    best, rows = choose_high_band_trim(model, files, degradations=degradations, objective=objective,
                                       log=lambda t: log(f"[ship] {t}"))
    log(f"[ship] high-band trim {best:+.0f} dB")
    return {"trim_db": best, "how": "auto", "objective": objective, "degradations": list(degradations),
            "files": [str(f) for f in files], "calibration": rows}


def ship(args, checked: dict, log=print) -> dict:
    """Build the model folder (see the module docstring); returns its ``card.json`` content."""
    from keras_audiosr.export.stateful import StreamingExporter
    from keras_audiosr.streaming.plan import has_stateful_form, stateful_plan
    from keras_audiosr import __version__
    from keras_audiosr.evaluation import training_degradations
    from keras_audiosr.inference import load_model
    from keras_audiosr.metrics import pesq_available
    from keras_audiosr.models.complexity import macs_per_second
    from keras_audiosr.utils import write_json, write_text_atomic

    t0 = time.monotonic()
    run, config, metrics, out, modes = (checked[k] for k in ("run", "config", "metrics", "out", "modes"))
    model = load_model(run / "model.keras")
    if not has_stateful_form(model):
        raise ShipError(f"{run / 'model.keras'}: {type(model).__name__} has no stateful streaming form; the shipped "
                        f"models are StreamingBWE (python -m recipes.streaming_bwe)")
    plan = stateful_plan(model, frame_ms=args.frame_ms)
    corpora = run_split(checked["dirs"], config, metrics)  # the held-out files and the calibration audio
    training = corpora  # what the card lists as the training data: every corpus of the run, when reachable
    rec = checked.get("recorded")
    narrowed = rec is not None and {d.resolve() for d in rec} != {Path(d).resolve() for d in checked["dirs"]}
    if narrowed:
        training = run_split(rec, config, metrics)
    corpora, below_rate = at_rate(corpora, model.hr_rate)
    training, below_rate = at_rate(training, model.hr_rate) if narrowed else (corpora, below_rate)
    overlap = set(_speakers(training.train)) & set(_speakers(corpora.test))
    if overlap:
        raise ShipError(f"speakers {', '.join(sorted(overlap))} are both training and held-out speakers")
    log(f"[ship] {args.name}: {type(model).__name__} {model.lr_rate} -> {model.hr_rate} Hz from {run}; "
        f"{len(corpora.train)} training files (calibration), {len(corpora.test)} held-out files of "
        f"{', '.join(_speakers(corpora.test))}")
    with_pesq = False if args.no_pesq else pesq_available()
    trim = choose_trim(model, corpora.train, args.high_band_trim, with_pesq, log)

    out.mkdir(parents=True, exist_ok=True)
    _cleanup_leftovers(out, args.name, log)
    # Built in <out>/.<name>.partial-XXXX/<name> (a folder pretrained.list() does not see), then renamed onto
    # <out>/<name>; the replaced folder goes to the partial folder, removed at the end.
    partial = Path(tempfile.mkdtemp(prefix=f".{args.name}.partial-", dir=out))
    tmp = partial / args.name
    try:
        tmp.mkdir()
        if trim["trim_db"]:
            model.save(tmp / "model.keras")  # the trimmed weights
        else:
            shutil.copyfile(run / "model.keras", tmp / "model.keras")
        exporter = StreamingExporter(model, plan.frame, corpora.train, calibration_windows=args.calibration_windows,
                                     progress=not args.no_progress, log=log)
        results = {}
        for mode in modes:
            results[mode] = exporter.export(mode, tmp)
            log(f"[ship] {results[mode].path.name}: {results[mode].size_bytes / 1024:.1f} KiB")
        int8 = results["int8"]
        log(f"[ship] evaluating {len(corpora.test)} held-out files (Keras model, int8 stream, sinc, spline)")
        report = evaluate_shipped(model, int8.path, corpora, with_pesq=with_pesq, max_seconds=args.max_seconds,
                                  progress=not args.no_progress)
        headline = {lb: {s: {m: rep["mean"][s].get(m) for m in METRICS if m in rep["mean"][s]} for s in SYSTEMS}
                    for lb, rep in ((lb, report["degradations"][lb]) for lb in report["order"])}
        snr_vs = {lb: report["degradations"][lb]["mean"]["int8"].get("snr_vs_model") for lb in report["order"]}
        sources = data_sources(training, corpora)
        train_speakers, test_speakers = _speakers(training.train), _speakers(corpora.test)
        size = config.get("model_size") or metrics.get("model_size")
        desc = args.description or (
            f"{type(model).__name__} ({size}) speech bandwidth extension from {model.lr_rate} Hz "
            f"to {model.hr_rate} Hz: causal, {args.frame_ms:g} ms stateful streaming, int8 LiteRT; trained on "
            f"{len(train_speakers)} speakers of {', '.join(s['source'] for s in sources['sources'])}.")
        stages = training_stages(config, metrics, out, args.name)
        card = {
            "name": args.name,
            "lr_rate": int(model.lr_rate),
            "hr_rate": int(model.hr_rate),
            "description": desc,
            "keras": "model.keras",
            "tflite": {mode: res.path.name for mode, res in results.items()},
            "metrics": headline,
            "metrics_note": ("means over the held-out files per input degradation (own = the model's training "
                             "degradation set drawn per file); systems: model (Keras), int8 (the int8 streaming "
                             ".tflite), sinc, spline; snr/snr_lb in dB, lsd/lsd_hf log10 power, pesq = PESQ-WB"),
            "targets": {"int8": check_targets(report, "int8"), "model": check_targets(report, "model")},
            "int8_snr_vs_model": snr_vs,
            "high_band_trim": trim,
            "ratio": int(model.ratio),
            "model_class": type(model).__name__,
            "model_size": size,
            "parameters": int(model.count_params()),
            "macs_per_second": float(macs_per_second(model)),
            "frame_ms": float(args.frame_ms),
            "frame_length": int(plan.frame),
            "lookahead": int(plan.lookahead),
            "algorithmic_latency_ms": float(plan.latency_ms),
            "degradation": dict(model.degradation),
            "training_degradations": training_degradations(model) or config.get("degradations"),
            "recipe": config.get("recipe"),
            "training_command": stages[-1]["command"],
            "training_stages": stages,
            "train_speakers": train_speakers,
            "test_speakers": test_speakers,
            "n_test_files": len(corpora.test),
            "epochs_run": metrics.get("epochs_run"),
            "train_seconds": metrics.get("train_seconds"),
            "data_sources": sources,
            "not_trained_on": {"reason": f"recorded below {int(model.hr_rate)} Hz (the prepared store skips them)",
                               "files": below_rate} if below_rate else None,
            "evaluation": {"degradations": {lb: {"spec": report["degradations"][lb]["spec"],
                                                 "text": report["degradations"][lb]["degradation_text"],
                                                 "note": report["degradations"][lb].get("note")}
                                            for lb in report["order"]},
                           "pesq": bool(report["pesq"]), "n_files": report["n_files"],
                           "max_seconds": args.max_seconds},
            "keras_audiosr_version": __version__,
            "ship_command": f"{PROG} --run {args.run} --name {args.name}"
                            + (f" --data {' '.join(args.data)}" if args.data else ""),
        }
        from keras_audiosr.export.metadata import stamp_model_folder

        stamp_model_folder(tmp, card, log=log)  # name, version, licence, level contract into each .tflite
        sizes = {p.name: p.stat().st_size for p in tmp.iterdir() if p.is_file()}
        train_hours = sum(float(c.get("train_hours") or 0) for c in (metrics.get("data") or {}).get("corpora", []))
        facts = {
            "file_sizes": sizes,
            "calibration": f"{exporter.quantization['calibration_windows']} windows of "
                           f"{exporter.quantization['calibration_window_samples']} samples",
            "calibration_from": "" if not narrowed else
            " (the training files of " + ", ".join(c.name for c in corpora.corpora) + " only)",
            "epochs_run": metrics.get("epochs_run") or 0,
            "train_seconds": float(metrics.get("train_seconds") or 0.0),
            "stopped_by_time_budget": bool(metrics.get("stopped_by_time_budget")),
            "training_inputs": f"random crops with inputs drawn from `{card['training_degradations']}`, loss "
                               f"`{config.get('loss')}`",
            "corpora": [{"name": c.name, "n_train": training.train_corpora.count(c.name),
                         "n_test": len(corpora.test_by_corpus().get(c.name, []))} for c in training.corpora],
            "n_test_files": len(corpora.test),
            "test_seconds": float(sum(f["seconds"] for f in report["degradations"][report["order"][0]]["files"])),
            "train_hours": train_hours or _files_seconds(training.train) / 3600.0,
        }
        write_json(tmp / "card.json", card)
        write_text_atomic(tmp / "MODEL_CARD.md", model_card(card, report, facts))
        total = sum(p.stat().st_size for p in tmp.iterdir() if p.is_file())
        if total > _SIZE_WARN_BYTES:
            log(f"[ship] warning: {args.name} takes {total / 1e6:.1f} MB; the shipped models together must stay "
                f"under 20 MB")
        target = out / args.name
        _swap_in(tmp, target, partial / "replaced")
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    log(f"[ship] wrote {target} ({total / 1024:.0f} KiB: {', '.join(sorted(sizes) + ['card.json', 'MODEL_CARD.md'])}) "
        f"in {time.monotonic() - t0:.0f} s")
    return card


def _print_table(card: dict) -> None:
    for label, systems in card["metrics"].items():
        print(f"[{label}]")
        for s, m in systems.items():
            print(f"  {s:7s} " + "  ".join(f"{k} {_fmt(v, 3 if k.startswith('lsd') else 2)}" for k, v in m.items()))
    for system in ("int8", "model"):
        t = card["targets"][system]
        verdict = {True: "met", False: "NOT met", None: "not fully measured"}[t["met"]]
        print(f"targets ({system}): {verdict}")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        checked = validate(args)
    except ShipError as e:
        return parser.fail(str(e))
    from keras_audiosr.export.gates import GateFailed
    from keras_audiosr.export.logs import import_tensorflow

    import_tensorflow()
    try:
        card = ship(args, checked)
    except GateFailed as e:
        print(f"{PROG}: error: conversion gate failed: {e}", file=sys.stderr)
        return 1
    except (ShipError, OSError, ValueError) as e:
        return parser.fail(str(e))
    _print_table(card)
    if args.readme is not None:
        try:
            print(f"[ship] updated the shipped-models block of {update_readme(args.readme, checked['out'])}")
        except (ShipError, OSError) as e:
            return parser.fail(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
