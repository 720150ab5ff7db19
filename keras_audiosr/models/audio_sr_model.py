"""AudioSRModel: the base of every generator, carrying its sample rates and degradation."""

import keras

from keras_audiosr.layers import BAND_SINC_ZEROS, BandMerge, Interpolation1D


class AudioSRModel(keras.Model):
    """A functional Keras model that maps low-rate audio ``[B, T, C]`` to high-rate audio ``[B, ratio*T, C]``.

    The ratio, the high (target) sample rate and the degradation the model was trained on travel
    in its config, so a saved ``.keras`` file is all that inference, evaluation and the edge
    exporter need: nothing downstream guesses rates.

    Subclasses build their graph, call ``super().__init__(inputs=..., outputs=..., ratio=...,
    hr_rate=..., degradation=...)`` and add their own arguments to ``get_config``.

    **Band preservation.** Generators with ``supports_band_preserving`` take ``band_preserving``
    (default True for models built now): their output is then :class:`~keras_audiosr.layers.BandMerge`
    of a fixed linear-phase sinc interpolation of the input (:meth:`band_interpolation`) and the
    network's output, so below 0.875 of the input's Nyquist frequency the output IS that
    interpolation (up to float rounding) and the network only contributes above it. A config
    without the key (a ``.keras`` file saved before the option existed) loads with
    ``band_preserving=False``, i.e. exactly the model that was saved.

    **What it was trained on.** ``degradation`` is one :class:`~keras_audiosr.degrade.Degradation`
    dict (``{"ratio", "filter", "zero_phase"}``): the training degradation, or for a model trained
    on a degradation set the set's representative (``cheby1:8``, the papers' filter, for
    ``speech-robust`` and ``multi-filter``; plain ``telephone`` for ``telephone-any``; see
    :attr:`~keras_audiosr.degrade.DegradationSet.representative_spec`). ``training_degradations``
    names what training drew from: a set name (``"speech-robust"``) or a single spec, for
    :func:`~keras_audiosr.degrade.get_degradation_set`. A config without the key (older files) means
    the single ``degradation`` it carries, which the property then returns.
    """

    #: Whether the class takes ``band_preserving`` (``from_config`` then defaults a missing key to False).
    supports_band_preserving = False

    def __init__(
        self,
        *args,
        ratio=2,
        hr_rate=16000,
        degradation=None,
        band_preserving=False,
        training_degradations=None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        ratio, hr_rate = int(ratio), int(hr_rate)
        if ratio < 1:
            raise ValueError(f"ratio must be a positive integer, got {ratio}")
        if hr_rate % ratio:
            raise ValueError(f"hr_rate {hr_rate} Hz is not divisible by ratio {ratio}")
        self.ratio = ratio
        self.hr_rate = hr_rate
        self.degradation = (
            dict(degradation) if degradation else {"ratio": ratio, "filter": "cheby1:8", "zero_phase": True}
        )
        self.band_preserving = bool(band_preserving)
        if training_degradations is not None and not isinstance(training_degradations, str):
            name = getattr(training_degradations, "name", None)  # a DegradationSet
            if not isinstance(name, str):
                raise ValueError(
                    f"training_degradations must be a degradation set name or spec, got {training_degradations!r}"
                )
            training_degradations = name
        self._training_degradations = training_degradations

    @property
    def training_degradations(self):
        """The degradation set (name) or spec training drew from; for a model saved without it, the
        filter of its single ``degradation``."""
        return self._training_degradations or self.degradation["filter"]

    @property
    def lr_rate(self):
        """Sample rate (Hz) of the input the model takes."""
        return self.hr_rate // self.ratio

    #: Layer options of the fixed layers on a band-preserving model's kept path (input padding, band
    #: interpolation, merge, crop): float32 even under a mixed-precision policy, so the kept band is
    #: exact to float32 rounding while the network itself may run in float16.
    BAND_PATH = {"dtype": "float32"}

    @classmethod
    def band_interpolation(cls, ratio, name="interpolate"):
        """The fixed ``low`` branch of a band-preserving model: ``Interpolation1D(ratio, "sinc",
        sinc_zeros=BAND_SINC_ZEROS)``, flat to the transition (see :data:`~keras_audiosr.layers.BAND_SINC_ZEROS`)."""
        return Interpolation1D(ratio, "sinc", sinc_zeros=BAND_SINC_ZEROS, name=name, **cls.BAND_PATH)

    @classmethod
    def band_merge(cls, ratio, owner, name="band_merge"):
        """The :class:`~keras_audiosr.layers.BandMerge` of a band-preserving model; ``ratio`` (the
        up-sampling or bandwidth ratio) must be at least 2, since at ratio 1 there is no band above the input's."""
        if int(ratio) < 2:
            raise ValueError(
                f"{owner}: band_preserving needs a ratio >= 2 (at ratio {ratio} there is no band above "
                f"the input's to add); pass band_preserving=False"
            )
        return BandMerge(int(ratio), name=name, **cls.BAND_PATH)

    def audio_config(self):
        """The facts a user of a saved model needs: rates, ratio and the training degradation."""
        config = {
            "ratio": self.ratio,
            "lr_rate": self.lr_rate,
            "hr_rate": self.hr_rate,
            "degradation": dict(self.degradation),
            "training_degradations": self.training_degradations,
        }
        if self.supports_band_preserving:
            config["band_preserving"] = self.band_preserving
        return config

    def get_config(self):
        config = {
            "name": self.name,
            "trainable": self.trainable,
            "ratio": self.ratio,
            "hr_rate": self.hr_rate,
            "degradation": dict(self.degradation),
        }
        if self._training_degradations is not None:
            config["training_degradations"] = self._training_degradations
        if self.supports_band_preserving:
            config["band_preserving"] = self.band_preserving
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if cls.supports_band_preserving:
            config.setdefault("band_preserving", False)  # saved before the option existed: as it was
        return cls(**config)
