"""Streaming: frame-by-frame output equals whole-signal (offline) output, with Keras and with the .tflite.

Tolerance (stated in the README, "Streaming"): away from the first ``context`` and the last ``lookahead``
low-rate samples of the signal, streaming and offline outputs agree to 1e-5 (Keras, float32) and
1e-4 (float .tflite); over the whole signal, edges included, the SNR between them is at least 40 dB
on speech (the edges differ because the offline model pads its own boundaries while the stream
starts from a zero buffer).
"""

import keras
import numpy as np
import pytest

from keras_audiosr.data import synthesize_utterance
from keras_audiosr.degrade import Degradation
from keras_audiosr.models import AudioUNet
from keras_audiosr.models.geometry import receptive_field, shift_period
from keras_audiosr.streaming import StreamingPlan, StreamingUpsampler, make_plan

INTERIOR_ATOL_KERAS = 1e-5
INTERIOR_ATOL_TFLITE = 1e-4
WHOLE_SNR_DB = 40.0


def model_of(size, seed=0):
    keras.utils.set_random_seed(seed)
    model = AudioUNet.from_size(size, ratio=2, hr_rate=16000)
    layer = model.get_layer("final_conv")
    kernel, bias = layer.get_weights()
    layer.set_weights([np.random.default_rng(seed).normal(0, 0.05, kernel.shape).astype("float32"), bias])
    return model


def speech_like(seconds=1.5, seed=3):
    hr = synthesize_utterance(7, 1, seed, seconds=seconds, rate=16000)
    return Degradation(2)(hr)


def offline(model, low):
    return np.asarray(model(low[None, :, None], training=False))[0, :, 0]


def snr_db(est, ref):
    return 10 * np.log10(np.sum(ref.astype(np.float64) ** 2) / np.sum((ref.astype(np.float64) - est) ** 2))


def check_stream(y, ref, plan, atol):
    r = plan.ratio
    assert y.shape == ref.shape
    interior = slice(plan.context * r, ref.size - plan.lookahead * r)
    assert np.max(np.abs(y[interior] - ref[interior])) <= atol
    assert snr_db(y, ref) >= WHOLE_SNR_DB


@pytest.mark.parametrize("size", ["tiny", "small"])
def test_streaming_equals_offline_synthetic(size):
    model = model_of(size)
    low = speech_like()
    plan = make_plan(model, frame_ms=20)
    assert plan.exact and plan.frame == 160
    y = StreamingUpsampler.from_keras(model, plan=plan).run(low)
    check_stream(y, offline(model, low), plan, INTERIOR_ATOL_KERAS)


def test_streaming_tflite_equals_offline_on_real_audio(shared_data, tmp_path):
    from keras_audiosr.audio import read_at_rate as prepare_signal
    from keras_audiosr.data import load_corpus
    from keras_audiosr.export.window import Exporter

    pytest.importorskip("ai_edge_litert")
    model = model_of("tiny")
    utts = load_corpus(shared_data / "vctk-mini")
    hr = prepare_signal(utts[0].path, 16000)[: 16000 * 3]
    low = Degradation(2)(hr[: hr.size - hr.size % 2])
    plan = make_plan(model, frame_ms=20)
    res = Exporter(model, plan, utts[:1], parity_files=1, parity_seconds=1.0, progress=False, log=None).export(
        "float", tmp_path, name="streaming"
    )
    stream = StreamingUpsampler.from_tflite(res.path)
    assert stream.plan == plan
    check_stream(stream.run(low), offline(model, low), plan, INTERIOR_ATOL_TFLITE)


def test_frame_by_frame_calls_match_run():
    model = model_of("tiny")
    low = speech_like(0.5)
    up = StreamingUpsampler.from_keras(model, frame=80)
    f, r = up.plan.frame, up.plan.ratio
    n = low.size // f
    pieces = [up.process(low[k * f : (k + 1) * f]) for k in range(n)]
    assert all(p.shape == (f * r,) for p in pieces)
    streamed = np.concatenate(pieces)[up.delay :]
    whole = up.run(low)
    assert np.allclose(streamed, whole[: streamed.size], atol=1e-6)
    with pytest.raises(ValueError, match="frame of 79 samples; the stream takes 80"):
        up.process(np.zeros(79))


def test_feed_in_any_blocks_and_forks_are_independent():
    """feed()/finish() in blocks of any size give the aligned whole-signal output; forks keep separate pasts."""
    model = model_of("tiny")
    low, other = speech_like(0.5), speech_like(0.5, seed=5)
    up = StreamingUpsampler.from_keras(model, frame=80)
    ref = offline(model, low)
    twin = up.fork()
    parts, start = [], 0
    for size in (1, 37, 80, 0, 203, 1000, 3000):
        parts.append(up.feed(low[start : start + size]))
        twin.feed(other[start : start + size])  # interleaved with the first stream: must not disturb it
        start += size
    assert start > low.size  # the last block ran past the end
    y = np.concatenate(parts + [up.finish()])
    check_stream(y, ref, up.plan, INTERIOR_ATOL_KERAS)
    assert np.array_equal(y, up.run(low))
    assert up.finish().size == 0  # finish() reset the stream: nothing fed, nothing out


def test_receptive_field_bounds_influence():
    model = model_of("tiny")
    context, lookahead = receptive_field(model)
    # Band preservation (the default) adds BandMerge's FIR (+-63 low-rate samples) and the 24-zero sinc.
    assert 0 < context < 160 and 0 < lookahead < 160
    x = (0.1 * np.random.default_rng(0).standard_normal(512)).astype("float32")
    base = offline(model, x)
    for t in (200, 201, 202, 203):
        for p, _inside in ((t + lookahead + 1, False), (t - context - 1, False)):
            x2 = x.copy()
            x2[p] += 1.0
            changed = np.abs(offline(model, x2)[2 * t : 2 * t + 2] - base[2 * t : 2 * t + 2]).max()
            assert changed <= 1e-6, (t, p, changed)


def test_plan_geometry_and_latency():
    model = model_of("small")
    period = shift_period(model)
    assert period == 16
    plan = make_plan(model, frame=150)
    assert plan.frame == 160 and plan.context % period == 0 and plan.lookahead % period == 0
    assert plan.latency_ms == pytest.approx(1000 * (plan.frame + plan.lookahead) / 8000)
    assert plan.window == plan.context + plan.frame + plan.lookahead
    short = make_plan(model, frame_ms=10, lookahead=32)
    assert short.frame == 80 and short.lookahead == 32 and not short.exact
    assert StreamingPlan.from_dict(plan.to_dict()) == plan
    with pytest.raises(ValueError, match="multiple of the model's shift period 16"):
        StreamingPlan(ratio=2, lr_rate=8000, frame=100, context=0, lookahead=0, period=16)
    with pytest.raises(ValueError, match="frame"):
        make_plan(model, frame=160, frame_ms=20)


def test_load_system_names_each_kind_and_refuses_an_unknown_one(tmp_path):
    from keras_audiosr.pretrained import load_system

    for bad in (tmp_path / "missing.tflite", "no-such-model"):
        with pytest.raises((OSError, ValueError), match="missing.tflite|no-such-model"):
            load_system(bad)
