"""Checks of one shipped-model folder, shared by the ship_model tests (a tiny model) and the shipped-model tests.

* :func:`check_card`: card.json has what keras_audiosr.pretrained, the CLI and the model card rely on.
* :func:`check_fixtures`: each ``.tflite`` run once through ai_edge_litert on its golden inputs (a frame and
  the states reached) reproduces every golden output (state tensors included) within the sidecar's tolerance.
* :func:`check_stream`: each ``.tflite`` fed frame by frame with its state tensors (keras_audiosr.streaming) against the
  Keras model on the whole signal: float within 1e-4, quantized within ``min_int8_snr_db``.
"""

import json
from pathlib import Path

import numpy as np

SYSTEMS = ("model", "int8", "sinc", "spline")
METRICS = ("snr", "snr_lb", "lsd", "lsd_hf")
DEGRADATIONS_8K = ("own", "resample", "butter:4", "telephone:mulaw")
DEGRADATIONS = ("own", "resample", "butter:4")


def check_card(info) -> dict:
    """``info`` is a :class:`keras_audiosr.pretrained.ModelInfo`; returns the card as a dict."""
    folder = Path(info.folder)
    card = json.loads((folder / "card.json").read_text(encoding="utf-8"))
    assert card["name"] == info.name == folder.name
    assert info.hr_rate == info.lr_rate * card["ratio"]
    assert (folder / card["keras"]).is_file()
    assert {"float", "int8"} <= set(card["tflite"]), card["tflite"]
    for f in card["tflite"].values():
        assert (folder / f).is_file() and (folder / f"{Path(f).stem}.json").is_file(), f
    degradations = DEGRADATIONS_8K if info.lr_rate == 8000 else DEGRADATIONS
    got = [d for d in card["metrics"] if d in degradations]  # newer cards add cheby1:8 and the codecs
    assert got == list(degradations), list(card["metrics"])
    for label, systems in card["metrics"].items():
        # an 8 -> 48 kHz card also scores the shipped cascade it must beat
        assert set(systems) - {"cascade"} == set(SYSTEMS), (label, systems)
        for s, m in systems.items():
            assert all(isinstance(m[k], float) for k in METRICS), (label, s, m)
    for key in (
        "parameters",
        "macs_per_second",
        "algorithmic_latency_ms",
        "training_command",
        "train_speakers",
        "test_speakers",
        "targets",
        "data_sources",
    ):
        assert card.get(key) not in (None, "", [], {}), key
    assert not set(card["train_speakers"]) & set(card["test_speakers"])
    assert card["training_command"].startswith("python -m recipes.")
    assert set(card["targets"]) == {"int8", "model"}
    md = (folder / "MODEL_CARD.md").read_text(encoding="utf-8")
    for needle in (
        "## Training",
        "## Data and speakers",
        "## Held-out evaluation",
        "## Targets",
        "## Limitations",
        card["training_command"],
        *card["test_speakers"],
    ):
        assert needle in md, needle
    return card


def check_fixtures(path) -> list[str]:
    """Runs ``path`` (a stateful streaming .tflite) once on its golden inputs with ai_edge_litert; returns the
    names of the outputs compared."""
    from ai_edge_litert.interpreter import Interpreter

    path = Path(path)
    side = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    files = side["files"]
    inputs = dict(np.load(path.parent / files["inputs"]))
    expected = dict(np.load(path.parent / files["expected"]))
    runner = Interpreter(model_path=str(path)).get_signature_runner(side.get("signature", "serving_default"))
    got = runner(**inputs)
    assert set(got) == set(expected), (sorted(got), sorted(expected))
    for name, want in expected.items():
        assert got[name].dtype == want.dtype and got[name].shape == want.shape, name
        diff = np.max(np.abs(got[name].astype(np.float64) - want.astype(np.float64)))
        assert diff <= files["atol"][name], f"{path.name}: {name} differs from its fixture by {diff}"
    return sorted(expected)


def check_stream(model, path, seconds: float = 0.6, min_int8_snr_db: float = 20.0) -> float:
    """``path`` fed 10 ms frames of a speech-like signal with its states, against ``model`` on the whole signal;
    returns the SNR (dB) of the stream against Keras."""
    from keras_audiosr.data import synthesize_utterance
    from keras_audiosr.degrade import Degradation
    from keras_audiosr.streaming import StreamingUpsampler, read_metadata

    meta = read_metadata(path)
    assert (meta["lr_rate"], meta["hr_rate"]) == (int(model.lr_rate), int(model.hr_rate)), meta
    ref = synthesize_utterance(3, 1, 0, seconds=seconds, rate=int(model.hr_rate))
    low = Degradation(int(model.ratio))(ref).astype(np.float32)
    whole = np.asarray(model(low[None, :, None], training=False))[0, :, 0]
    streamed = StreamingUpsampler.from_tflite(path).run(low)
    assert streamed.shape == whole.shape
    err = streamed.astype(np.float64) - whole
    snr = 10 * np.log10(np.sum(whole.astype(np.float64) ** 2) / max(np.sum(err**2), 1e-30))
    if meta["mode"] == "float":
        assert np.max(np.abs(err)) <= 1e-4, (
            f"{Path(path).name}: float stream differs from Keras by {np.max(np.abs(err))}"
        )
    else:
        assert snr >= min_int8_snr_db, f"{Path(path).name}: {meta['mode']} stream at {snr:.1f} dB against Keras"
    return float(snr)
