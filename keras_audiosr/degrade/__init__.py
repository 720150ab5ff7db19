"""Low-resolution inputs: how a high-rate signal becomes the model's low-rate input.

One spec string names any input degradation (``Degradation(2, "telephone:mulaw")``); the grammar is
parsed once into objects (:mod:`.spec`, a registry of kinds). The kinds live one per module:

* :mod:`.filters`: anti-alias low-pass ``family:order[:cutoff]`` then decimation, or ``aliased``
  (the papers' way; ``cheby1:8`` is ``scipy.signal.decimate``'s filter);
* :mod:`.resample`: ``resample``, the polyphase sinc resampler real low-rate files are made with;
* :mod:`.telephone`: ``telephone[:mulaw|:alaw]``, the telephone band-pass and G.711 companding;
* :mod:`.codecs`: ``codec:gsm|g726|opus|speex``, real narrow-band codecs through ffmpeg, and
  ``noise:SNR_DB``, background noise at a set SNR.

Named *sets* of degradations that training draws from per example (``speech-robust``,
``multi-filter``, ``telephone-any``, or any single spec as a set of one) are in :mod:`.sets`.
A new kind registers itself with :func:`register_kind` (see :mod:`.spec`) in a module imported here.
"""

# The kinds register in import order, which is the order error messages list them: keep spec and the
# filter families first.
from keras_audiosr.degrade.spec import (  # noqa: I001
    Degradation,
    DegradationSpec,
    canonical_spec,
    check_ratio,
    degrade,
    lowpass,
    parse_spec,
    register_kind,
    spec_grammar,
    spec_kinds,
    trim_to_multiple,
)
from keras_audiosr.degrade.filters import (
    ALIASED,
    FILTER_FAMILIES,
    MULTI_FILTER_DEFAULTS,
    SEEN_FILTER_DEFAULT,
    UNSEEN_FILTER_DEFAULT,
    LowpassFilter,
)
from keras_audiosr.degrade.resample import Resample
from keras_audiosr.degrade.telephone import COMPANDING, TELEPHONE_BAND, Telephone, g711
from keras_audiosr.degrade.codecs import CODECS, Codec, CodecUnavailable, Noise, check_low_rate, codec_available
from keras_audiosr.degrade.sets import (
    DEGRADATION_SETS,
    DegradationDraw,
    DegradationSet,
    SetMember,
    evaluation_filters,
    get_degradation_set,
    register_set,
)

# The kinds that are not low-pass filters (the filter families are FILTER_FAMILIES + ("aliased",)).
NAMED_KINDS = ("resample", "telephone", "codec", "noise")

__all__ = [
    "ALIASED",
    "CODECS",
    "COMPANDING",
    "Codec",
    "CodecUnavailable",
    "Noise",
    "check_low_rate",
    "codec_available",
    "DEGRADATION_SETS",
    "Degradation",
    "DegradationDraw",
    "DegradationSet",
    "DegradationSpec",
    "FILTER_FAMILIES",
    "LowpassFilter",
    "MULTI_FILTER_DEFAULTS",
    "NAMED_KINDS",
    "Resample",
    "SEEN_FILTER_DEFAULT",
    "SetMember",
    "TELEPHONE_BAND",
    "Telephone",
    "UNSEEN_FILTER_DEFAULT",
    "canonical_spec",
    "check_ratio",
    "degrade",
    "evaluation_filters",
    "g711",
    "get_degradation_set",
    "lowpass",
    "parse_spec",
    "register_kind",
    "register_set",
    "spec_grammar",
    "spec_kinds",
    "trim_to_multiple",
]
