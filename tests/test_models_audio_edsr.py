import numpy as np
import pytest

from keras_audiosr.models import AudioEDSR
from tests.contracts import build_without_weights, check_tflite, preset_kwargs, run_model_test


def _data(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype("float32")


def test_audio_edsr_contract_and_tflite():
    model = run_model_test(
        AudioEDSR, preset_kwargs(AudioEDSR, "tiny", ratio=4, hr_rate=16000), _data((2, 32, 1)), _data((2, 128, 1), 1)
    )
    check_tflite(model, _data((1, 40, 1), 2), atol=1e-4)


@pytest.mark.parametrize("ratio,length", [(1, 5), (2, 1), (2, 37), (4, 33), (8, 16)])
def test_any_length(ratio, length):
    if ratio > 1:
        model = AudioEDSR.from_size("tiny", ratio=ratio, hr_rate=48000)
        assert tuple(model(_data((3, length, 1))).shape) == (3, length * ratio, 1)
    else:
        with pytest.raises(ValueError, match="band_preserving=False"):
            AudioEDSR.from_size("tiny", ratio=ratio, hr_rate=48000)
    plain = AudioEDSR.from_size("tiny", ratio=ratio, hr_rate=48000, band_preserving=False)
    assert tuple(plain(_data((3, length, 1))).shape) == (3, length * ratio, 1)
    assert not any("interpolat" in layer.name for layer in plain.layers)  # the published post-upsampling graph


@pytest.mark.parametrize("ratio", [3, 6, 0])
def test_non_power_of_two_ratio_is_rejected(ratio):
    with pytest.raises(ValueError, match="power of two"):
        AudioEDSR.from_size("tiny", ratio=ratio, hr_rate=48000)


def test_interpolation_skip_starts_as_the_interpolation():
    with pytest.raises(ValueError, match="alternatives"):
        AudioEDSR.from_size("tiny", ratio=2, interpolation_skip=True)
    model = AudioEDSR.from_size("tiny", ratio=2, interpolation_skip=True, channels=2, band_preserving=False)
    x = _data((1, 30, 2), 3)
    y = np.asarray(model(x))
    assert y.shape == (1, 60, 2)
    np.testing.assert_allclose(y[:, ::2], x, atol=1e-5)
    assert model.get_config()["interpolation_skip"] is True


@pytest.mark.parametrize("ratio", [2, 4, 8])
def test_paper_size_has_about_9_6m_parameters(ratio):
    count = build_without_weights(AudioEDSR, preset_kwargs(AudioEDSR, "paper", ratio=ratio)).count_params()
    assert abs(count - 9.6e6) < 0.1 * 9.6e6, count


def test_sizes_and_unknown_size():
    small, tiny = AudioEDSR.from_size("small"), AudioEDSR.from_size("tiny")
    assert tiny.count_params() < small.count_params() < 1_000_000
    assert (small.filters, small.num_blocks, small.residual_scaling) == (32, 8, 0.1)
    with pytest.raises(ValueError, match="unknown model size"):
        AudioEDSR.from_size("huge")
