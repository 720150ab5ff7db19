"""StreamingBWE: a causal, stateful, band-preserving bandwidth extender built for int8 streaming on the edge."""

import math

import keras
import numpy as np
from keras import ops

from keras_audiosr.layers import (
    BandMerge,
    CausalConv2D,
    CausalInterpolation,
    CropToLength,
    DecibelGain,
    LevelNormalization,
    PadToMultiple,
)
from keras_audiosr.layers._stateful import StreamingStep, static_reshape
from keras_audiosr.layers.band_merge import band_split_taps
from keras_audiosr.models._presets import build_from_size
from keras_audiosr.models.audio_sr_model import AudioSRModel

# Layers that belong to the float path around the integer core, in the order their states are listed.
_FLOAT_STATEFUL = ("interpolate", "level")
# The dtype of the fixed signal path under any policy (it stays float in an int8 export too).
_FIXED = "float32"


@keras.saving.register_keras_serializable(package="keras_audiosr")
class StreamingBWE(AudioSRModel):
    """Telephony-grade bandwidth extension in 10 ms frames: 8 -> 16 kHz (default) or 16 -> 48 kHz (``ratio=3``).

    Mono: ``[B, T, 1] -> [B, ratio * T, 1]``. Graph (every convolution a Conv2D over ``[B, T, 1, C]``,
    causal, with its past as explicit state)::

        x --CausalInterpolation (fixed sinc, delayed A samples)-------------------------------> low --+
        x --LevelNormalization--> x*g --fold--> [int8 core: CausalConv2D + LeakyReLU, dilated,        |
                              \\            at 1/fold of the low rate; last conv -> fold*ratio       BandMerge --> y
                               \\           shape channels + 1 gain (dB)] --> shape * gain --> h     (causal)
                                s ----------------------------------------- h*s --sub-pixel-----------+

    * **Band-preserving**: below ``transition[0]`` of the low-rate Nyquist the output is the fixed
      sinc interpolation of the input (the network's contribution is high-passed by ``BandMerge``,
      at least ``attenuation_db`` down); the network only adds the band above.
    * **Folded core**: ``fold`` consecutive low-rate samples are stacked as channels (a static
      reshape), so the core runs at ``lr_rate / fold`` steps per second with ``fold`` times the
      parameters per multiply-accumulate and a ``fold`` times longer reach; frames must be a
      multiple of ``fold`` samples (the model's shift period).
    * **Level-normalised core**: the core sees the input divided by its running level
      (``level_window_ms`` moving RMS, floor ``level_floor``) and its output is multiplied back, so
      int8 activations keep their resolution from whisper to full scale; the low band and the level
      path bypass the core and stay float in an int8 export. The normalised input is limited to
      ``+-level_clip`` (only onsets reach it).
    * **Gain-shape output**: the core emits the band above the input as a unit-scale shape and a
      gain in decibels (one per core step, :class:`DecibelGain`, ``gain_range_db``), multiplied in
      float: the high band is 20-40 dB below the level in voiced speech and near it in fricatives,
      and a linear int8 output would drown the quiet part in its step; gain-shape keeps a constant
      relative precision. Float training has no reason to prefer the gain over the shape, so it adds
      ``shape_penalty`` times the mean squared log10 of the shape's power per core step, which keeps
      the shape at unit scale and the level in the gain.
    * **Nothing wasted out of band**: ``BandMerge`` discards the core's output below the
      transition, so training adds ``band_penalty`` times the mean square of that discarded part
      (in the normalised domain) to the loss; left free it grows to dominate the core's output
      range and an int8 output would spend its 256 steps on it.
    * **Causal with a stated lookahead**: ``A = max(half, ceil(delay / ratio)) + extra_lookahead``
      low-rate samples (:attr:`lookahead`), with ``half`` the sinc's half-width and ``delay`` the
      band-merge FIR's (high-rate samples). The whole-signal model computes the causal stream of the
      input followed by ``A`` zeros and drops the first ``A * ratio`` outputs, so its output is
      aligned with the input; streamed, output lags input by ``A`` samples and the algorithmic
      latency is ``frame + A`` low-rate samples (:meth:`latency_ms`). (The core also sees the rest
      of its fold block, up to ``fold - 1`` later samples; frames are whole blocks, so those arrive
      within the same frame and add no latency.)
    * **Streaming**: :meth:`streaming_model` is the same layers (shared weights) taking one frame and
      every state tensor and returning the output frame and the new states; fed frame by frame from
      zero states it equals this model on the whole signal.
    * **int8**: :meth:`quantization_model` is the same layers with fake quantization of the core
      (``"calibrate"`` records ranges, ``"fake"`` simulates int8 and trains through it).
    * **Mixed precision**: the fixed signal path (interpolation, level normalisation and the gain
      that restores it, the dB gain, band merge, padding and crop) is pinned to float32, as it stays
      float in an int8 export; under a ``mixed_float16``/``mixed_bfloat16`` policy the learnt core
      computes in the policy's dtype and the output is float32.
    * **Edge-ready** (:attr:`edge_ready`): its exports must pass the static-graph and second-runtime
      (Arm NN) gates of ``edge.convert``.

    Args:
        ratio: Up-sampling ratio (2 for 8 -> 16 kHz, 3 for 16 -> 48 kHz).
        hr_rate: Output sample rate in Hz.
        channels: Width of the core.
        fold: Low-rate samples per core step.
        kernel_size: Taps of the dilated core convolutions.
        dilations: Dilation of each core convolution (one layer per entry).
        input_kernel, output_kernel: Taps of the first and last core convolutions.
        negative_slope: Leaky ReLU slope.
        transition: Band-merge ``(stop, pass)`` in fractions of the low-rate Nyquist.
        attenuation_db: Band-merge stopband attenuation.
        sinc_zeros: Zero crossings on each side of the interpolation kernel; ``None`` (default): the longest
            kernel that fits in the lookahead the band merge needs anyway (no added latency). A short
            kernel rolls the input band off from well below the low-rate Nyquist (8 zeros: -1.8 dB at
            3.6 kHz for 8 kHz input, where ``scipy.signal.resample_poly`` loses 0.7 dB) and lets
            images through above it; on held-out speech 8 -> 36 zeros alone raised PESQ-WB by 0.05-0.18.
        level_window_ms: Moving-RMS window of the level normalisation.
        level_floor: Lowest level tracked (full scale 1).
        level_clip: Limit of the normalised core input (None: none).
        band_penalty: Weight of the training penalty on the core's discarded (below-transition) output.
        gain_range_db: ``(min, max)`` of the core's output gain, 10 dB per unit of its gain channel.
        shape_penalty: Weight of the training penalty that keeps the core's output shape at unit scale.
        extra_lookahead: Low-rate samples of lookahead beyond the minimum, given to the network.
        degradation: The degradation the training inputs were made with.
        high_band_trim_db: Level of the band the network adds, in dB from its trained level: a fixed
            offset of the gain layer (:meth:`trim_high_band`), exact for every frame, no weight changed.
        upper_band_hz: Where an upper band starts (Hz), whose level is set apart (:meth:`set_upper_band`,
            in the band merge's FIR; None: the added band has one level).
        upper_band_trim_db: Level of the upper band, in dB from its trained level (None: ``high_band_trim_db``).
        weights_trim_db: A record: the trim that models saved before the trim became a gain offset
            carry in their weights (a shift of the gain channel's bias); loading one moves its
            ``high_band_trim_db`` here, so it is not applied twice.
    """

    edge_ready = True
    presets = {
        "small": dict(
            channels=64, fold=4, kernel_size=3, dilations=(1, 2, 4, 8, 16, 32), input_kernel=3, output_kernel=3
        ),
        "tiny": dict(channels=8, fold=2, kernel_size=3, dilations=(1, 2), input_kernel=3, output_kernel=3),
    }

    def __init__(
        self,
        ratio=2,
        hr_rate=16000,
        channels=64,
        fold=4,
        kernel_size=3,
        dilations=(1, 2, 4, 8, 16, 32),
        input_kernel=3,
        output_kernel=3,
        negative_slope=0.2,
        transition=(0.7, 1.0),
        attenuation_db=60.0,
        sinc_zeros=None,
        level_window_ms=20.0,
        level_floor=1e-3,
        level_clip=4.0,
        band_penalty=1.0,
        gain_range_db=(-40.0, 20.0),
        shape_penalty=0.01,
        extra_lookahead=0,
        degradation=None,
        high_band_trim_db=0.0,
        weights_trim_db=0.0,
        upper_band_hz=None,
        upper_band_trim_db=None,
        name="streaming_bwe",
        **kwargs,
    ):
        ratio, hr_rate = int(ratio), int(hr_rate)
        if ratio < 2:
            raise ValueError(f"StreamingBWE extends the band: ratio must be an integer >= 2, got {ratio}")
        if hr_rate % ratio:
            raise ValueError(f"hr_rate {hr_rate} Hz is not divisible by ratio {ratio}")
        dilations, fold = tuple(int(d) for d in dilations), int(fold)
        if fold < 1:
            raise ValueError(f"StreamingBWE fold must be a positive integer, got {fold}")
        if not dilations:
            raise ValueError("StreamingBWE needs at least one dilated core layer (dilations is empty)")
        window = max(1, round(float(level_window_ms) * (hr_rate // ratio) / 1000.0))
        merge = BandMerge(ratio, transition, attenuation_db, causal=True, name="band_merge", dtype=_FIXED)
        if sinc_zeros is None:  # the interpolation's half-width is sinc_zeros + 1 low-rate samples
            sinc_zeros = max(8, math.ceil(merge.delay / ratio) - 1)
        half = CausalInterpolation(ratio, "sinc", sinc_zeros).half
        lookahead = max(half, math.ceil(merge.delay / ratio)) + int(extra_lookahead)
        parts = {
            "interpolate": CausalInterpolation(
                ratio, "sinc", sinc_zeros, delay=lookahead, name="interpolate", dtype=_FIXED
            ),
            "level": LevelNormalization(window, level_floor, level_clip, name="level", dtype=_FIXED),
            "core": [CausalConv2D(channels, input_kernel, 1, "leaky_relu", negative_slope, name="core_in")]
            + [
                CausalConv2D(channels, kernel_size, d, "leaky_relu", negative_slope, name=f"core_d{d}_{i}")
                for i, d in enumerate(dilations)
            ]
            + [CausalConv2D(fold * ratio + 1, output_kernel, 1, None, name="core_out")],
            "gain": DecibelGain(
                10.0, gain_range_db[0], gain_range_db[1], offset_db=high_band_trim_db, name="gain", dtype=_FIXED
            ),
            "apply_gain": keras.layers.Multiply(name="apply_gain", dtype=_FIXED),
            "restore": keras.layers.Multiply(name="restore_level", dtype=_FIXED),
            "band_merge": merge,
            "penalty": _TrainingPenalties(
                ratio, transition, attenuation_db, band_penalty, shape_penalty, name="training_penalties", dtype=_FIXED
            ),
        }
        low_rate = keras.Input(shape=(None, 1), name="low_rate")
        high_rate = _offline(parts, ratio, fold, lookahead, low_rate)
        super().__init__(
            inputs=low_rate,
            outputs=high_rate,
            name=name,
            ratio=ratio,
            hr_rate=hr_rate,
            degradation=degradation,
            **kwargs,
        )
        self.channels = int(channels)
        self.fold = fold
        self.kernel_size = int(kernel_size)
        self.dilations = dilations
        self.input_kernel = int(input_kernel)
        self.output_kernel = int(output_kernel)
        self.negative_slope = float(negative_slope)
        self.transition = tuple(float(v) for v in transition)
        self.attenuation_db = float(attenuation_db)
        self.sinc_zeros = int(sinc_zeros)
        self.level_window_ms = float(level_window_ms)
        self.level_floor = float(level_floor)
        self.level_clip = None if level_clip is None else float(level_clip)
        self.band_penalty = float(band_penalty)
        self.gain_range_db = tuple(float(v) for v in gain_range_db)
        self.shape_penalty = float(shape_penalty)
        self.extra_lookahead = int(extra_lookahead)
        self.high_band_trim_db = float(high_band_trim_db)
        self.weights_trim_db = float(weights_trim_db)
        self.lookahead = lookahead
        self._layer_names = {"core": [layer.name for layer in parts["core"]]}
        self.upper_band_hz, self.upper_band_trim_db = None, None
        if upper_band_hz is not None:
            self.set_upper_band(upper_band_hz, upper_band_trim_db)

    @classmethod
    def from_size(cls, size, **kwargs):
        """Builds a named size: ``"small"`` (about 0.155 GMAC/s at 8 -> 16 kHz) or ``"tiny"`` (tests)."""
        return build_from_size(cls, size, kwargs)

    def trim_high_band(self, db):
        """Changes the level of the band the network adds by ``db`` decibels (negative: quieter), in place.

        Sets the fixed output offset of the core's dB gain (:class:`DecibelGain`, float in every export)
        to :attr:`high_band_trim_db` ``+ db``: the added band scales by ``10^(db/20)`` in every frame, the
        low band and the weights are untouched, and the int8 core keeps its ranges. Used after training to
        set the operating point between a louder high band (lower LSD) and a quieter one (PESQ-WB
        penalises an invented high band). Returns the model.
        """
        if not float(db):  # nothing moves: keep the traced functions
            return self
        self.high_band_trim_db += float(db)
        self.get_layer("gain").set_offset_db(self.high_band_trim_db)
        if self.upper_band_trim_db is not None:  # the whole band moves; the upper band's offset stays
            self.upper_band_trim_db += float(db)
        self._forget_traces()
        return self

    def set_upper_band(self, hz, trim_db=None):
        """Gives the band above ``hz`` its own level, ``trim_db`` dB from its trained level (None: the rest's,
        :attr:`high_band_trim_db`), in place; ``hz=None`` removes the upper band. Returns the model.

        The band merge's fixed FIR carries the difference (:class:`BandMerge` ``upper_split``): no weight, no
        state and no multiply-accumulate changes. For a model whose input is below 16 kHz and whose output is
        above it: PESQ-WB hears the added band only up to 8 kHz, a listener all of it, so the two parts may
        want different levels."""
        merge = self.get_layer("band_merge")
        if hz is None:
            if trim_db is not None:
                raise ValueError(f"{self.name}: an upper band level needs its start frequency (hz)")
            merge.set_upper_band(None)
            self.upper_band_hz, self.upper_band_trim_db = None, None
        else:
            hz = float(hz)
            level = self.high_band_trim_db if trim_db is None else float(trim_db)
            try:
                merge.set_upper_band(hz / (self.lr_rate / 2.0), level - self.high_band_trim_db)
            except ValueError as err:
                raise ValueError(
                    f"{self.name}: an upper band from {hz:g} Hz does not fit between the input's band "
                    f"({self.lr_rate / 2:g} Hz) and the output's Nyquist ({self.hr_rate / 2:g} Hz): {err}"
                ) from None
            self.upper_band_hz, self.upper_band_trim_db = hz, level
        self._forget_traces()
        return self

    def _forget_traces(self):
        for attr in ("predict_function", "test_function", "train_function"):  # traced with the old tables
            if getattr(self, attr, None) is not None:
                setattr(self, attr, None)

    # ---- geometry ---------------------------------------------------------------------------------
    def _parts(self):
        return {
            "interpolate": self.get_layer("interpolate"),
            "level": self.get_layer("level"),
            "core": [self.get_layer(n) for n in self._layer_names["core"]],
            "restore": self.get_layer("restore_level"),
            "band_merge": self.get_layer("band_merge"),
            "penalty": self.get_layer("training_penalties"),
            "gain": self.get_layer("gain"),
            "apply_gain": self.get_layer("apply_gain"),
        }

    def stateful_layers(self):
        """The layers that keep state between frames, in the order of :meth:`state_specs`."""
        parts = self._parts()
        core = [c for c in parts["core"] if c.state_length]
        return [parts[n] for n in _FLOAT_STATEFUL] + core + [parts["band_merge"]]

    def state_specs(self):
        """One dict per state tensor: ``name``, ``input`` / ``output`` (tensor names of :meth:`streaming_model`),
        ``shape`` (batch 1) and ``core`` (True: inside the int8 core, an int8 tensor in int8 exports)."""
        return [
            {
                "name": layer.name,
                "input": f"{layer.name}_state",
                "output": f"{layer.name}_state_out",
                "shape": list(layer.state_shape(1)),
                "core": isinstance(layer, CausalConv2D),
            }
            for layer in self.stateful_layers()
        ]

    def frame_length(self, frame_ms=10.0):
        """Low-rate samples in a frame of ``frame_ms`` milliseconds."""
        frame = round(float(frame_ms) * self.lr_rate / 1000.0)
        if frame < 1:
            raise ValueError(f"frame of {frame_ms} ms is shorter than one sample at {self.lr_rate} Hz")
        return self.check_frame(frame)

    def check_frame(self, frame):
        """``frame`` if it is a positive multiple of :attr:`fold` low-rate samples, else ValueError."""
        if int(frame) != frame or frame < 1 or frame % self.fold:
            raise ValueError(
                f"{self.name}: a streaming frame must be a positive multiple of fold={self.fold} "
                f"low-rate samples, got {frame}"
            )
        return int(frame)

    def latency_ms(self, frame):
        """Algorithmic latency of streaming ``frame`` low-rate samples at a time: ``(frame + lookahead) / lr_rate``."""
        return 1000.0 * (int(frame) + self.lookahead) / self.lr_rate

    # ---- the other forms of the same layers -------------------------------------------------------
    def streaming_model(self, frame, quantize=None):
        """``{"frame": [1, frame, 1], <state inputs>} -> {"output": [1, frame*ratio, 1], <new states>}``.

        Fully static shapes (batch 1, fixed frame); the layers (and weights) are this model's.
        ``quantize="fake"`` gives the int8 simulation that the converter turns into an int8 core.
        """
        frame = self.check_frame(frame)
        inputs = {"frame": keras.Input(batch_shape=(1, frame, 1), name="frame")}
        for spec in self.state_specs():
            inputs[spec["input"]] = keras.Input(batch_shape=tuple(spec["shape"]), name=spec["input"])
        states = {spec["name"]: inputs[spec["input"]] for spec in self.state_specs()}
        y, new_states = _run(self._parts(), self.ratio, self.fold, inputs["frame"], states, quantize)
        outputs = {"output": y}
        outputs.update({f"{name}_state_out": s for name, s in new_states.items()})
        suffix = "" if quantize is None else f"_{quantize}"
        return keras.Model(inputs, outputs, name=f"{self.name}_stream{frame}{suffix}")

    def quantization_model(self, quantize="fake"):
        """The whole-signal model with the core in ``quantize`` mode (``"calibrate"`` or ``"fake"``), same layers."""
        low_rate = keras.Input(shape=(None, 1), name="low_rate")
        high_rate = _offline(self._parts(), self.ratio, self.fold, self.lookahead, low_rate, quantize)
        return keras.Model(low_rate, high_rate, name=f"{self.name}_{quantize}")

    def reset_quantization_ranges(self):
        """Forget the core's calibrated int8 ranges (before a new calibration)."""
        for layer in self._parts()["core"]:
            layer.reset_quantization_ranges()

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "fold": self.fold,
                "kernel_size": self.kernel_size,
                "dilations": list(self.dilations),
                "input_kernel": self.input_kernel,
                "output_kernel": self.output_kernel,
                "negative_slope": self.negative_slope,
                "transition": list(self.transition),
                "attenuation_db": self.attenuation_db,
                "sinc_zeros": self.sinc_zeros,
                "level_window_ms": self.level_window_ms,
                "level_floor": self.level_floor,
                "level_clip": self.level_clip,
                "band_penalty": self.band_penalty,
                "gain_range_db": list(self.gain_range_db),
                "shape_penalty": self.shape_penalty,
                "extra_lookahead": self.extra_lookahead,
                "high_band_trim_db": self.high_band_trim_db,
                "weights_trim_db": self.weights_trim_db,
                "upper_band_hz": self.upper_band_hz,
                "upper_band_trim_db": self.upper_band_trim_db,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "weights_trim_db" not in config:  # saved before the trim became a gain offset: its weights carry it
            config["weights_trim_db"] = config.pop("high_band_trim_db", 0.0)
        return super().from_config(config)


def build(cfg, degradation=None, **overrides):
    """The model half of a recipe's build step (``recipes.streaming_bwe`` will call it; compiling with
    the losses is the runner's): ``StreamingBWE.from_size`` from a recipe config.

    ``cfg`` has ``ratio``, ``hr_rate`` and the size as ``resolved_size()`` or ``model_size``
    (default ``"small"``; the family has no ``"paper"`` size). ``degradation`` is a
    :class:`keras_audiosr.degrade.Degradation` or its dict; ``overrides`` go to the constructor.
    """
    size = cfg.resolved_size() if callable(getattr(cfg, "resolved_size", None)) else getattr(cfg, "model_size", None)
    size = "small" if size in (None, "paper") else size
    if degradation is not None and not isinstance(degradation, dict):
        degradation = degradation.to_dict()
    return StreamingBWE.from_size(
        size, ratio=int(cfg.ratio), hr_rate=int(cfg.hr_rate), degradation=degradation, **overrides
    )


def _offline(parts, ratio, fold, lookahead, x, quantize=None):
    """Whole signal: the causal graph on ``x`` followed by ``lookahead`` zeros (and up to the next
    multiple of ``fold``), its first ``lookahead * ratio`` outputs dropped: output aligned with input."""
    padded = ops.pad(x, [[0, 0], [0, lookahead], [0, 0]])
    padded = PadToMultiple(fold, dtype=_FIXED)(padded)  # repeats the last sample: a zero of the lookahead padding
    y, _ = _run(parts, ratio, fold, padded, None, quantize)
    return CropToLength(ratio, dtype=_FIXED)([y[:, lookahead * ratio :], x])


def _run(parts, ratio, fold, x, states=None, quantize=None):
    """The causal graph on ``x`` ``[B, T, 1]``: offline (``states`` None) or one streamed frame.

    Returns ``(y [B, T*ratio, 1], new_states)`` (``new_states`` empty offline).
    """
    new = {}

    def call(layer, inputs, **kwargs):
        if states is None:
            return layer(inputs, **kwargs)
        step = StreamingStep.wrap(layer)
        *outs, new[layer.name] = step(
            list(inputs if isinstance(inputs, list) else [inputs]) + [states[layer.name]], **kwargs
        )
        return outs[0] if len(outs) == 1 else outs

    steps = x.shape[1]
    x4 = static_reshape(x, (x.shape[0], steps, 1, 1))
    low = call(parts["interpolate"], x4)
    normalized, level = call(parts["level"], x4)
    h = static_reshape(normalized, (x.shape[0], None if steps is None else steps // fold, 1, fold))
    for layer in parts["core"]:
        h = call(layer, h, quantize=quantize) if layer.state_length else layer(h, quantize=quantize)
    shape, gain = h[..., : fold * ratio], h[..., fold * ratio :]
    h = parts["apply_gain"]([shape, parts["gain"](gain)])
    h = static_reshape(h, (x.shape[0], steps, 1, ratio))
    if states is None:
        h = parts["penalty"]([h, shape])
    h = parts["restore"]([h, level])
    high_steps = None if steps is None else steps * ratio
    h = static_reshape(h, (x.shape[0], high_steps, 1, 1))
    y = call(parts["band_merge"], [low, h])
    return static_reshape(y, (x.shape[0], high_steps, 1)), new


class _TrainingPenalties(keras.layers.Layer):
    """``[h, shape] -> h``, the identity; in training it adds to the model's losses

    * ``band_weight * mean(lowband^2)``, ``lowband`` being the part of the core's normalised output
      ``h`` ``[B, T, 1, ratio]`` (as a high-rate signal) that :class:`BandMerge`'s high-pass removes;
    * ``shape_weight * mean(log10(mean(shape^2 over a step) + 1e-4)^2)``: the core's output shape
      ``[B, steps, 1, fold * ratio]`` at unit power, so its gain carries the level."""

    def __init__(self, ratio, transition, attenuation_db, weight, shape_weight=0.0, **kwargs):
        super().__init__(**kwargs)
        self.ratio, self.transition, self.attenuation_db = int(ratio), tuple(transition), float(attenuation_db)
        self.weight = float(weight)
        self.shape_weight = float(shape_weight)
        taps = -band_split_taps(self.ratio, self.transition, self.attenuation_db)
        taps[len(taps) // 2] += 1.0  # delta - high-pass: the discarded band
        self._lowpass = taps.astype(np.float32).reshape(-1, 1, 1, 1)

    def call(self, inputs, training=False):
        h, shape = inputs
        if training and self.weight > 0:
            hr = ops.reshape(h, (ops.shape(h)[0], -1, 1, 1))
            low = ops.depthwise_conv(hr, ops.convert_to_tensor(self._lowpass, dtype=hr.dtype), 1, padding="same")
            self.add_loss(self.weight * ops.mean(ops.square(low)))
        if training and self.shape_weight > 0:
            power = ops.mean(ops.square(shape), axis=-1)
            self.add_loss(self.shape_weight * ops.mean(ops.square(ops.log(power + 1e-4) / np.log(10.0))))
        return h

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "ratio": self.ratio,
                "transition": list(self.transition),
                "attenuation_db": self.attenuation_db,
                "weight": self.weight,
                "shape_weight": self.shape_weight,
            }
        )
        return config
