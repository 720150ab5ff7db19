"""A shipped model's cards: ``card.json`` facts judged against the targets, and ``MODEL_CARD.md`` from a template.

The markdown card is :data:`TEMPLATE` (``card_template.md`` beside this file, ``string.Template``
placeholders) filled by :func:`model_card` from the ``card.json`` content, the held-out evaluation
report and a few facts; edit the template to change the card's prose. :func:`check_targets` judges
a system against :func:`targets_for` its rates (ViSQOL and LSD against sinc on the same inputs, and the
:data:`GUARDS`);
:func:`training_stages` records how the weights were trained, as commands a reader can type.
"""

from __future__ import annotations

import re
import shlex
import string
from dataclasses import dataclass
from pathlib import Path

from keras_audiosr.degrade import parse_spec
from keras_audiosr.evaluation import format_suite_markdown
from keras_audiosr.evaluation.report import METRIC_COLUMNS
from keras_audiosr.pretrained.card_levels import level_lines, level_sweep_block, trim_sweep_table
from keras_audiosr.pretrained.provenance import read_json

__all__ = [
    "GUARDS",
    "METRICS",
    "SYSTEMS",
    "TEMPLATE",
    "Target",
    "check_targets",
    "model_card",
    "portable_command",
    "stages_markdown",
    "targets_for",
    "training_stages",
    "trim_sweep_table",
]

#: The markdown card's template (``string.Template``: ``${name}`` placeholders, ``$$`` for a dollar sign).
TEMPLATE = Path(__file__).resolve().parent / "card_template.md"
SYSTEMS = ("model", "int8", "sinc", "spline")
METRICS = ("snr", "snr_lb", "lsd", "lsd_hf", "pesq", "visqol", "visqol_speech", "dnsmos")


@dataclass(frozen=True)
class Target:
    """One bound against a reference system (``against``, default sinc) on the same inputs: ``metric >= ref +
    offset`` (``"add"``), ``metric <= factor x ref`` (``"times"``) or better than the reference (``"beats"``:
    higher, or lower for LSD); ``phase_free`` targets are not checked for telephone and codec inputs, whose
    channel shifts every system's phase alike."""

    metric: str
    op: str
    value: float = 0.0
    phase_free: bool = False
    against: str = "sinc"

    @property
    def lower_is_better(self) -> bool:
        return self.metric.startswith("lsd")

    @property
    def text(self) -> str:
        label = METRIC_COLUMNS[self.metric].short if self.metric in METRIC_COLUMNS else self.metric
        if self.op == "beats":
            return f"{label} {'<' if self.lower_is_better else '>'} {self.against}"
        if self.op == "times":
            return f"{label} <= {self.value:g} x {self.against}"
        sign = "+" if self.value >= 0 else "-"
        return (
            f"{label} >= {self.against}"
            + (f" {sign} {abs(self.value):g}" if self.value else "")
            + (" dB" if self.metric.startswith("snr") and self.value else "")
        )

    def bound(self, ref: float) -> float:
        if self.op == "beats":
            return ref
        return self.value * ref if self.op == "times" else ref + self.value

    def met(self, value: float, ref: float) -> bool:
        if self.op == "beats":
            return bool(value < ref if self.lower_is_better else value > ref)
        return bool(value <= self.bound(ref) if self.op == "times" else value >= self.bound(ref))


#: The guards every shipped model keeps (the input band comes through intact; never below sinc on PESQ-WB).
GUARDS = (Target("pesq", "add", 0.0), Target("snr", "add", -1.0, phase_free=True), Target("snr_lb", "add", -1.0))
#: PESQ-WB hears 50-7000 Hz of a 16 kHz signal: it guards the models whose input is narrower than that. A 16 kHz
#: input already holds all PESQ-WB hears, and the band a 16 -> 48 kHz model adds starts at 7.2 kHz, at PESQ-WB's
#: edge, where a louder band can only cost it (0.05 at the network's level, measured on training files): a guard
#: there picks the quietest band (-24 dB: ViSQOL sinc + 0.07). Those models keep the SNR guards (the
#: 16 -> 48 kHz targets guard SNR only); their PESQ-WB is reported.
PESQ_GUARD_BELOW_HZ = 16000


def pesq_guarded(lr_rate: int) -> bool:
    """Whether PESQ-WB >= sinc's guards a model of input rate ``lr_rate`` (see :data:`PESQ_GUARD_BELOW_HZ`)."""
    return int(lr_rate) < PESQ_GUARD_BELOW_HZ


def guards_for(lr_rate: int) -> tuple[Target, ...]:
    """:data:`GUARDS` that apply to a model of input rate ``lr_rate``."""
    return tuple(g for g in GUARDS if g.metric != "pesq" or pesq_guarded(lr_rate))


#: Shipped models a model of these rates must beat, run one after the other on the same inputs (their int8
#: streams): an 8 -> 48 kHz model has to be better than the two shipped models it could be replaced by.
REFERENCE_CASCADES = {(8000, 48000): ("telephony-8k-16k", "wideband-16k-48k")}


def targets_for(lr_rate: int, hr_rate: int) -> tuple[Target, ...]:
    """The quality targets of a shipped model (on held-out speakers, under every input): ViSQOL (audio mode,
    48 kHz) and LSD against sinc, set by the best published systems for that pair of rates; for 8 -> 48 kHz,
    better ViSQOL and LSD than the shipped cascade (:data:`REFERENCE_CASCADES`, system ``cascade``); and the
    guards."""
    rates = (int(lr_rate), int(hr_rate))
    guards = guards_for(rates[0])
    if rates == (8000, 16000):
        return (Target("visqol", "add", 0.35), Target("lsd", "times", 0.40), *guards)
    if rates == (16000, 48000):
        return (Target("visqol", "add", 1.2), Target("lsd", "times", 0.28), *guards)
    if rates in REFERENCE_CASCADES:
        return (Target("visqol", "beats", against="cascade"), Target("lsd", "beats", against="cascade"), *guards)
    return (Target("visqol", "add", 0.0), Target("lsd", "times", 0.6), *guards)


def target_origin(lr_rate: int, hr_rate: int) -> str:
    """Where a card's targets come from, in words (the model card's Targets section)."""
    names = REFERENCE_CASCADES.get((int(lr_rate), int(hr_rate)))
    source = (
        f"the shipped cascade `{'` -> `'.join(names)}` sets ViSQOL and LSD: better than it on both, on the same inputs"
        if names
        else "the best published systems set ViSQOL and LSD"
    )
    guards = (
        "PESQ-WB, SNR and low-band SNR are guards"
        if pesq_guarded(lr_rate)
        else "SNR and low-band SNR are guards; PESQ-WB, which hears only the input band, is reported"
    )
    return f"{source}; {guards}"


def cascade_runner(names, mode: str = "int8"):
    """``fn(low) -> high``: the shipped models ``names`` (their ``mode`` streams) one after the other."""
    from keras_audiosr import pretrained
    from keras_audiosr.streaming import StreamingUpsampler

    streams = [StreamingUpsampler.from_tflite(pretrained.tflite_path(n, mode)) for n in names]

    def run(low):
        for up in streams:
            low = up.run(low)
        return low

    return run


def reference_systems(lr_rate: int, hr_rate: int) -> dict:
    """``{"cascade": fn}`` for rates with a :data:`REFERENCE_CASCADES` entry (empty otherwise)."""
    names = REFERENCE_CASCADES.get((int(lr_rate), int(hr_rate)))
    return {"cascade": cascade_runner(names)} if names else {}


def _phase_shifting(spec: str) -> bool:
    try:
        return not parse_spec(spec).keeps_waveform
    except ValueError:  # a set's name
        return False


def check_targets(report: dict, system: str, targets=None) -> dict:
    """``{label: {metric: {"value", "sinc", "bound", "met"}, "met"}}`` for ``system`` under each input degradation
    (``"sinc"`` holds the value of the target's reference system, sinc unless ``against`` names another)
    of an :func:`~keras_audiosr.evaluation.evaluate_suite` report, and ``"met"`` overall.

    ``targets`` default to :func:`targets_for` the report's rates. A metric that was not measured (ViSQOL without
    the eval extra) has ``met`` None; a degradation (and the whole) is missed (False) when a measured target is
    missed, unknown (None) when none is missed but one was not measured, and met (True) otherwise; a
    ``phase_free`` target does not apply (``met`` None, not counted) to telephone and codec inputs.
    """
    targets = tuple(targets or targets_for(report["lr_rate"], report["hr_rate"]))
    out = {}
    for label in report["order"]:
        rep = report["degradations"][label]
        got, row, flags = rep["mean"].get(system, {}), {}, []
        for t in targets:
            v, s = got.get(t.metric), rep["mean"].get(t.against, {}).get(t.metric)
            if t.phase_free and _phase_shifting(rep["spec"]):
                row[t.metric] = {"value": v, "sinc": s, "bound": None, "met": None, "applies": False}
                continue
            if v is None or s is None:
                row[t.metric] = {"value": v, "sinc": s, "bound": None, "met": None}
                flags.append(None)
                continue
            row[t.metric] = {"value": v, "sinc": s, "bound": t.bound(s), "met": t.met(v, s)}
            flags.append(row[t.metric]["met"])
        row["met"] = _verdict(flags)
        out[label] = row
    return {
        "rule": {t.metric: t.text for t in targets},
        "system": system,
        "by_degradation": out,
        "met": _verdict([r["met"] for r in out.values()]),
    }


def _verdict(flags: list) -> bool | None:
    """False when a measured target is missed, else None when one was not measured, else True."""
    return False if False in flags else (None if None in flags else True)


def _fmt(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def _n(count, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _digits(metric: str) -> int:
    return 3 if metric.startswith("lsd") or metric.startswith("visqol") else 2


def _targets_md(targets: dict, label: str) -> list[str]:
    keys = list(targets["rule"])
    lines = [
        f"| input | {label}: " + " | ".join(f"{targets['rule'][k]}" for k in keys) + " | met |",
        "|---|" + "---:|" * len(keys) + "---|",
    ]
    for deg, row in targets["by_degradation"].items():
        cells = []
        for key in keys:
            r, d = row[key], _digits(key)
            if r.get("applies") is False:
                cells.append(f"{_fmt(r['value'], d)} (n/a)")
                continue
            mark = "" if r["met"] is None else (" ✓" if r["met"] else " ✗")
            cells.append(
                f"{_fmt(r['value'], d)} ({_fmt(r['bound'], d)}){mark}" if r["bound"] is not None else "not measured"
            )
        met = "not measured" if row["met"] is None else ("yes" if row["met"] else "**no**")
        lines.append(f"| {deg} | " + " | ".join(cells) + f" | {met} |")
    return lines


def _failures(targets: dict) -> list[str]:
    out = []
    for deg, row in targets["by_degradation"].items():
        bad = [
            f"{targets['rule'][k]} ({_fmt(row[k]['value'], _digits(k))} vs bound {_fmt(row[k]['bound'], _digits(k))})"
            for k in targets["rule"]
            if row[k]["met"] is False
        ]
        if bad:
            out.append(f"{deg}: " + "; ".join(bad))
    return out


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
    return portable_command({"recipe": words[2][len("recipes.") :], "argv": words[3:]}, name)


def _source_note(source: str, card: dict, matching: bool) -> str:
    stages = card.get("training_stages") or [card]
    minutes = sum(float(st.get("train_seconds") or 0) for st in stages) / 60
    trim = float((card.get("high_band_trim") or {}).get("trim_db") or 0)
    return (
        f"starting from the shipped `{source}` as it was then ({_n(len(stages), 'training stage')}, "
        f"{minutes:.0f} minutes, trim {trim:+.0f} dB; its card gives them)"
        + ("; only the layers that agree with this model's (`--init-matching`)" if matching else "")
    )


def _run_folder(source):
    """The run folder of an ``--init-from`` path (``runs/x/model.keras`` or ``runs/x``) that holds a ``config.json``."""
    if not source or "/" not in str(source):
        return None
    path = Path(str(source))
    folder = path.parent if path.suffix == ".keras" else path
    return folder if (folder / "config.json").is_file() else None


def _shipped_from(out: Path, run: Path):
    """The card in ``out`` whose ``ship_command`` names ``--run`` ``run`` (None when no shipped model came from it)."""
    if not Path(out).is_dir():
        return None
    for path in sorted(Path(out).glob("*/card.json")):
        card = read_json(path)
        found = re.search(r"--run[ =](\S+)", str(card.get("ship_command") or ""))
        if found and Path(found.group(1)).resolve() == run.resolve():
            return card
    return None


def _shipped_note(name, card: dict, starts_from: str) -> str:
    """The note of a stage that was shipped: its name, its trim, and what the next stage starts from."""
    trim = (card.get("high_band_trim") or {}).get("trim_db")
    return f"shipped as `{name}`" + (f" with a {trim:+.0f} dB high-band trim" if trim else "") + f"; {starts_from}"


def training_stages(config: dict, metrics: dict, out: Path, name: str) -> list[dict]:
    """How the shipped weights were trained, first stage first: a run warm-started (``--init-from``) from a
    model shipped in ``out`` inherits that model's stages (read from its ``card.json`` before it is replaced),
    one warm-started from another run's ``model.keras`` inherits that run's (its ``config.json``)."""
    if config.get("out"):  # shipping a run again: the stages its card recorded
        again = _shipped_from(out, Path(str(config["out"])))
        if again is not None and again.get("training_stages") and again.get("name") == name:
            return [dict(st) for st in again["training_stages"]]
    stages = []
    source = config.get("init_from")
    run = _run_folder(source)
    if run is not None:  # warm-started from another run's model: that run's stages come first
        shipped = _shipped_from(out, run)
        if shipped is not None:  # a shipped card was made from that run: its stages, as recorded then
            stages = [dict(st) for st in shipped.get("training_stages") or ()]
            if stages:
                stages[-1]["note"] = _shipped_note(
                    shipped.get("name"), shipped, "the next stage starts from the run's model"
                )
        if not stages:
            metrics_path = run / "metrics.json"
            run_metrics = read_json(metrics_path) if metrics_path.is_file() else {}
            stages = training_stages(read_json(run / "config.json"), run_metrics, out, name)
    card_path = out / str(source) / "card.json" if source and "/" not in str(source) else None
    if card_path is not None and card_path.is_file() and str(source) != name:  # another shipped model's layers
        previous = read_json(card_path)
        return [
            {
                "command": portable_command(config, name),
                "train_seconds": metrics.get("train_seconds"),
                "epochs_run": metrics.get("epochs_run"),
                "note": _source_note(source, previous, config.get("init_matching")),
            }
        ]
    if card_path is not None and card_path.is_file():
        previous = read_json(card_path)
        stages = [
            dict(st)
            for st in previous.get("training_stages")
            or [
                {
                    "command": _portable_text(previous.get("training_command"), str(source)),
                    "train_seconds": previous.get("train_seconds"),
                    "epochs_run": previous.get("epochs_run"),
                }
            ]
        ]
        stages[-1]["note"] = _shipped_note(source, previous, "the next stage starts from its weights")
    for k, st in enumerate(stages, 1):  # each earlier stage its own folder (the same --out would resume it)
        st["command"] = re.sub(
            rf"--out runs/{re.escape(name)}(?=\s|$)", f"--out runs/{name}-stage{k}", str(st["command"])
        )
    command = portable_command(config, name)
    if stages:  # the shipped name now means the new model: start from the previous stage's run instead
        command = re.sub(
            rf"--init-from(=| ){re.escape(str(source))}(?=\s|$)",
            f"--init-from runs/{name}-stage{len(stages)}/model.keras",
            command,
        )
    stages.append(
        {"command": command, "train_seconds": metrics.get("train_seconds"), "epochs_run": metrics.get("epochs_run")}
    )
    return stages


def stages_markdown(card: dict) -> list[str]:
    """The card's training section: the command of each stage with its epochs and minutes."""
    stages = card.get("training_stages") or [{"command": card["training_command"]}]
    if len(stages) == 1:
        note = stages[0].get("note")
        lines = [
            "Command (from the repository root; the run's `config.json`, with `--out` shortened"
            + (f"; {note}" if note else "")
            + "):",
            "",
            "```bash",
            stages[0]["command"],
            "```",
            "",
        ]
    else:
        total = sum(float(st.get("train_seconds") or 0) for st in stages)
        lines = [
            f"{len(stages)} stages, {total / 60:.0f} minutes of training in all (from the repository root; "
            f"each run's `config.json`, with `--out` shortened):",
            "",
        ]
        for k, st in enumerate(stages, 1):
            mins = float(st.get("train_seconds") or 0) / 60
            lines += [
                f"{k}. {_n(st.get('epochs_run') or 0, 'epoch')}, {mins:.0f} minutes"
                + (f" ({st['note']})" if st.get("note") else "")
                + ":",
                "",
                "   ```bash",
                "   " + st["command"],
                "   ```",
                "",
            ]
    return lines


def _khz(rate: int):
    return rate // 1000 if rate % 1000 == 0 else rate / 1000


def _files_md(card: dict, sizes: dict) -> list[str]:
    lines = [f"  - `{card['keras']}` ({sizes[card['keras']] / 1024:.0f} KiB): the Keras model."]
    for mode, f in card["tflite"].items():
        io = "int16 PCM" if mode == "int8-pcm16" else "float32"
        what = "float32 throughout" if mode == "float" else f"int8 core with int8 state tensors, {io} audio in and out"
        lines.append(
            f"  - `{f}` ({sizes[f] / 1024:.0f} KiB): stateful streaming LiteRT model, {what}; "
            f"`{Path(f).stem}.json` holds its metadata and gate results, `{Path(f).stem}.inputs.npz` / "
            f"`.expected.npz` its golden fixtures."
        )
    return lines


def _licences_md(card: dict) -> list[str]:
    lines = [
        f"- **{s['source']}** ({s['train_files']} training, {_n(s['test_files'], 'held-out file')}): {s['licence']}."
        for s in card["data_sources"]["sources"]
    ]
    if card.get("not_trained_on"):
        skipped = card["not_trained_on"]["files"]
        lines.append(
            f"- Not trained on: {_n(len(skipped), 'file')} of the run's training split "
            f"{card['not_trained_on']['reason']}: " + ", ".join(f"`{Path(f).name}`" for f in skipped) + "."
        )
    if card["data_sources"]["unknown"]:
        lines.append(
            f"- {len(card['data_sources']['unknown'])} files have no licence in a manifest: check their "
            f"source before redistributing this model."
        )
    return lines


def _is_telephone(spec: str) -> bool:
    try:
        return parse_spec(spec).kind == "telephone"
    except ValueError:  # a set's name
        return False


def _limitations_md(card: dict, report: dict, facts: dict) -> list[str]:
    lines = []
    for verdict, label in (
        (card["targets"]["int8"], "The int8 streaming model"),
        (card["targets"]["model"], "The Keras model"),
    ):
        if verdict["met"] is True:
            lines.append(
                f"- {label} meets every target under every input degradation above (on "
                f"{_n(facts['n_test_files'], 'held-out file')} only)."
            )
        elif verdict["met"] is None:
            lines.append(f"- {label}: the targets could not all be checked (PESQ-WB or ViSQOL not measured).")
        else:
            lines.append(f"- {label} does **not** meet the targets: " + "; ".join(_failures(verdict)) + ".")
    lines += [
        f"- The held-out set is small: {_n(facts['n_test_files'], 'file')} of "
        f"{_n(len(card['test_speakers']), 'speaker')} "
        f"({facts['test_seconds']:.0f} s); the means carry the uncertainty of so few files.",
        f"- Trained on {facts['train_hours']:.2f} hours of read English speech from {len(card['train_speakers'])} "
        f"speakers{' for ' + _n(facts['epochs_run'], 'epoch') if facts['epochs_run'] else ''}; "
        f"music, noisy, reverberant or far-field audio, other languages and singing were not evaluated.",
        f"- The input must be at {card['lr_rate']} Hz (other rates: resample first). It was trained on inputs drawn "
        f"from `{card['training_degradations']}`; channels unlike those (e.g. heavy codecs other than G.711, packet "
        f"loss) were not evaluated.",
    ]
    if any(_is_telephone(report["degradations"][lb]["spec"]) for lb in report["order"]):
        lines.append(
            "- Under the telephone channel the causal 300-3400 Hz band-pass shifts the phase of every "
            "system's input alike, so SNR and LB-SNR there say little (compare PESQ-WB and LSD); the band "
            "below 300 Hz that the channel removes is not restored."
        )
    return lines


def model_card(card: dict, report: dict, facts: dict, template: str | Path = TEMPLATE) -> str:
    """The markdown model card (``MODEL_CARD.md``): ``template`` filled from ``card.json``'s content, the
    held-out evaluation report (:func:`~keras_audiosr.evaluation.evaluate_suite`) and ``facts`` (file sizes,
    calibration, corpora, durations)."""
    name, lr, hr = card["name"], card["lr_rate"], card["hr_rate"]
    stages = card.get("training_stages") or ()
    training = stages_markdown(card) + [
        ("Last stage: " if len(stages) > 1 else "")
        + f"{_n(facts['epochs_run'], 'epoch')}, {facts['train_seconds'] / 60:.0f} minutes of training"
        + (" (stopped by its `--max-minutes` time budget)" if facts["stopped_by_time_budget"] else "")
        + f", on {facts['training_inputs']}."
    ]
    snr_vs = card.get("int8_snr_vs_model")
    int8_vs_model = (
        "The int8 stream against the Keras model (SNR of the int8 output with the Keras output as "
        "reference, dB): " + ", ".join(f"{k} {_fmt(v, 1)}" for k, v in snr_vs.items()) + ".\n\n"
        if snr_vs
        else ""
    )
    results = format_suite_markdown(
        report,
        per_corpus=True,
        systems=[s for s in (*SYSTEMS, "cascade") if s in report["systems"]],
        metrics=[m for m in METRICS if m in report["metrics"]],
    )
    values = {
        "name": name,
        "name_repr": repr(name),
        "lr_rate": lr,
        "hr_rate": hr,
        "lr_khz": _khz(lr),
        "hr_khz": _khz(hr),
        "lr_k": lr // 1000,
        "description": card["description"],
        "model_class": card["model_class"],
        "model_size": card["model_size"],
        "parameters": f"{card['parameters']:,}",
        "mmac": f"{card['macs_per_second'] / 1e6:.1f}",
        "frame_ms": f"{card['frame_ms']:g}",
        "latency_ms": f"{card['algorithmic_latency_ms']:.2f}",
        "frame_length": card["frame_length"],
        "lookahead": card["lookahead"],
        "trim_line": level_lines(card.get("high_band_trim") or {}),
        "trim_sweep": level_sweep_block(card.get("high_band_trim") or {}),
        "files": "\n".join(_files_md(card, facts["file_sizes"])),
        "calibration": facts["calibration"],
        "calibration_from": facts["calibration_from"],
        "training": "\n".join(training),
        "corpora": "\n".join(
            f"- `{c['name']}`: {_n(c['n_train'], 'training file')}, {_n(c['n_test'], 'held-out file')}"
            for c in facts["corpora"]
        ),
        "n_train_speakers": len(card["train_speakers"]),
        "train_speakers": ", ".join(f"`{s}`" for s in card["train_speakers"]),
        "n_test_speakers": len(card["test_speakers"]),
        "test_speakers": ", ".join(f"`{s}`" for s in card["test_speakers"]),
        "n_test_files": _n(facts["n_test_files"], "file"),
        "test_seconds": f"{facts['test_seconds']:.0f}",
        "licences": "\n".join(_licences_md(card)),
        "results": results,
        "int8_vs_model": int8_vs_model,
        "target_rules": "; ".join(card["targets"]["int8"]["rule"].values()),
        "target_origin": target_origin(lr, hr),
        "targets_int8": "\n".join(_targets_md(card["targets"]["int8"], "int8 stream")),
        "targets_model": "\n".join(_targets_md(card["targets"]["model"], "Keras model")),
        "limitations": "\n".join(_limitations_md(card, report, facts)),
        "ship_command": card["ship_command"],
        "version": card["keras_audiosr_version"],
    }
    return string.Template(Path(template).read_text(encoding="utf-8")).substitute(values)
