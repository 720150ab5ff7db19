"""Named sets of degradations that training draws from, one per example, and the evaluation filters.

``--degradations NAME`` takes a set name (:data:`DEGRADATION_SETS`: ``speech-robust``, ``multi-filter``,
``telephone-any``) or any single spec (a set of one, no gain). The Sulun & Davies (2020) set of
Chebyshev/Bessel/elliptic filters trains models that do not overfit one filter
(:data:`~keras_audiosr.degrade.filters.MULTI_FILTER_DEFAULTS`), with an unseen Butterworth held out for
testing (:data:`~keras_audiosr.degrade.filters.UNSEEN_FILTER_DEFAULT`). A new set is added with
:func:`register_set`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from keras_audiosr.degrade.filters import (
    MULTI_FILTER_DEFAULTS,
    SEEN_FILTER_DEFAULT,
    UNSEEN_FILTER_DEFAULT,
    LowpassFilter,
)
from keras_audiosr.degrade.spec import Degradation, canonical_spec, parse_spec, spec_grammar

__all__ = [
    "DEGRADATION_SETS",
    "DegradationDraw",
    "DegradationSet",
    "SetMember",
    "evaluation_filters",
    "get_degradation_set",
    "register_set",
]


@dataclass(frozen=True)
class SetMember:
    """One member of a :class:`DegradationSet`: a spec, its probability weight and, for low-pass
    specs, an optional random cutoff range ``(lo, hi)`` (fractions of the low-rate Nyquist, drawn
    uniformly on a grid of 0.01 so that filter designs are cached)."""

    spec: str
    weight: float
    cutoff: tuple[float, float] | None = None

    def __post_init__(self):
        object.__setattr__(self, "spec", canonical_spec(self.spec))
        if not float(self.weight) > 0:
            raise ValueError(f"set member {self.spec}: weight must be positive, got {self.weight!r}")
        object.__setattr__(self, "weight", float(self.weight))
        if self.cutoff is not None:
            parsed = parse_spec(self.spec)
            if not isinstance(parsed, LowpassFilter) or parsed.aliased or parsed.cutoff is not None:
                raise ValueError(f"set member {self.spec}: a cutoff range needs a filter spec without its own cutoff")
            lo, hi = (float(c) for c in self.cutoff)
            if not 0.0 < lo <= hi <= 1.0:
                raise ValueError(
                    f"set member {self.spec}: cutoff range must satisfy 0 < lo <= hi <= 1, got {self.cutoff}"
                )
            object.__setattr__(self, "cutoff", (lo, hi))

    def label(self) -> str:
        if self.cutoff is None:
            return self.spec
        return f"{self.spec}:U({self.cutoff[0]:g}-{self.cutoff[1]:g})"


@dataclass(frozen=True)
class DegradationDraw:
    """What one training example gets: its degradation and the linear gain applied to its high-rate crop."""

    degradation: Degradation
    gain: float = 1.0


@dataclass(frozen=True)
class DegradationSet:
    """A named set of degradations that training draws from, one per example.

    :meth:`draw` takes a ``numpy.random.Generator`` and makes, in this order, one ``rng.random()``
    call to pick a member by weight, one ``rng.random()`` for the cutoff (members with a range
    only) and one for the gain (sets with ``gain_db`` only), so a draw depends on the generator
    alone. ``gain_db=(lo, hi)`` draws the gain uniformly in dB. Low-pass members are zero-phase
    when ``zero_phase`` (the named kinds never are).

    ``representative`` is the one spec that stands for the set where a single degradation is
    needed (a model's ``degradation`` config, a default evaluation input); it must be a member's
    spec and defaults to the first member of the highest weight (see :attr:`representative_spec`).
    """

    name: str
    members: tuple[SetMember, ...]
    gain_db: tuple[float, float] | None = None
    zero_phase: bool = True
    description: str = ""
    representative: str | None = None

    def __post_init__(self):
        members = tuple(m if isinstance(m, SetMember) else SetMember(*m) for m in self.members)
        if not members:
            raise ValueError(f"degradation set {self.name!r} has no members")
        object.__setattr__(self, "members", members)
        if self.gain_db is not None:
            lo, hi = (float(g) for g in self.gain_db)
            if lo > hi:
                raise ValueError(f"degradation set {self.name!r}: gain_db range {self.gain_db} is reversed")
            object.__setattr__(self, "gain_db", (lo, hi))
        total = sum(m.weight for m in members)
        object.__setattr__(self, "_cum", tuple(np.cumsum([m.weight / total for m in members])))
        if self.representative is not None:
            spec = canonical_spec(self.representative)
            if spec not in self.specs:
                raise ValueError(
                    f"degradation set {self.name!r}: representative {spec!r} is not a member ({', '.join(self.specs)})"
                )
            object.__setattr__(self, "representative", spec)

    @property
    def representative_spec(self) -> str:
        """The spec that stands for the set: :attr:`representative`, else the first member of the
        highest weight (a single-spec set: that spec)."""
        if self.representative is not None:
            return self.representative
        top = max(m.weight for m in self.members)
        return next(m.spec for m in self.members if m.weight == top)

    def representative_degradation(self, ratio: int) -> Degradation:
        """:attr:`representative_spec` as a :class:`Degradation` at ``ratio`` (the set's phase)."""
        return Degradation(ratio, self.representative_spec, self.zero_phase)

    @property
    def specs(self) -> tuple[str, ...]:
        """The members' canonical specs, in order."""
        return tuple(m.spec for m in self.members)

    def probabilities(self) -> dict[str, float]:
        """``{member label: probability}``; labels are specs, with ``:U(lo-hi)`` for a cutoff range."""
        total = sum(m.weight for m in self.members)
        return {m.label(): m.weight / total for m in self.members}

    def draw(self, rng: np.random.Generator, ratio: int) -> DegradationDraw:
        """One example's degradation (for ``ratio``) and gain, drawn from ``rng``."""
        k = min(int(np.searchsorted(self._cum, rng.random(), side="right")), len(self.members) - 1)
        m = self.members[k]
        spec = m.spec
        if m.cutoff is not None:
            lo, hi = m.cutoff
            steps = int(round((hi - lo) / 0.01))
            c = lo + 0.01 * min(int(rng.random() * (steps + 1)), steps)
            spec = str(parse_spec(spec).with_cutoff(round(c, 2)))
        gain = 1.0
        if self.gain_db is not None:
            lo, hi = self.gain_db
            gain = float(10.0 ** ((lo + (hi - lo) * rng.random()) / 20.0))
        return DegradationDraw(Degradation(ratio, spec, self.zero_phase), gain)

    def max_context(self, ratio: int) -> int:
        """The largest :attr:`Degradation.context` of any member (cutoff ranges at their ends)."""
        out = 0
        for m in self.members:
            cutoffs = [None] if m.cutoff is None else list(m.cutoff)
            for c in cutoffs:
                spec = m.spec if c is None else str(parse_spec(m.spec).with_cutoff(c))
                out = max(out, Degradation(ratio, spec).context)
        return out

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "members": [
                {"spec": m.spec, "weight": m.weight, "cutoff": None if m.cutoff is None else list(m.cutoff)}
                for m in self.members
            ],
            "gain_db": None if self.gain_db is None else list(self.gain_db),
            "zero_phase": self.zero_phase,
            "representative": self.representative_spec,
        }

    def markdown(self) -> str:
        """A markdown table of the members and their probabilities (for READMEs and model cards)."""
        gain = "none" if self.gain_db is None else f"uniform {self.gain_db[0]:g} to {self.gain_db[1]:g} dB"
        rows = [f"| `{m}` | {p:.1%} |" for m, p in self.probabilities().items()]
        return "\n".join([f"`{self.name}` (gain: {gain})", "", "| member | probability |", "|---|---|", *rows])


_SPEECH_CUTOFF = (0.8, 1.0)
_SPEECH_ROBUST = DegradationSet(
    "speech-robust",
    tuple(SetMember(s, 0.05, _SPEECH_CUTOFF) for s in MULTI_FILTER_DEFAULTS + ("butter:8",))
    + (
        SetMember("butter:2", 0.10, _SPEECH_CUTOFF),
        SetMember("resample", 0.20),
        SetMember("telephone", 0.25 / 3),
        SetMember("telephone:mulaw", 0.25 / 3),
        SetMember("telephone:alaw", 0.25 / 3),
    ),
    gain_db=(-18.0, 0.0),
    description="anti-alias IIR filters (45 %), a soft Butterworth-2 (10 %), the sinc resampler (20 %) and the "
    "telephone channel with and without G.711 (25 %), random gain -18..0 dB; Butterworth 4 and 6 "
    "are left out as the unseen filters of the evaluations",
    representative=SEEN_FILTER_DEFAULT,
)
_MULTI_FILTER = DegradationSet(
    "multi-filter",
    tuple(SetMember(s, 1.0) for s in MULTI_FILTER_DEFAULTS),
    description="Sulun & Davies (2020): Chebyshev-I, Bessel and elliptic filters of orders 6-12 at their "
    "default cutoffs, equally likely, no gain",
    representative=SEEN_FILTER_DEFAULT,
)
_TELEPHONE_ANY = DegradationSet(
    "telephone-any",
    (SetMember("telephone", 1.0), SetMember("telephone:mulaw", 1.0), SetMember("telephone:alaw", 1.0)),
    gain_db=(-18.0, 0.0),
    description="the telephone channel plain, with G.711 mu-law and with A-law, equally likely, random gain -18..0 dB",
    representative="telephone",
)

_TELEPHONY = DegradationSet(
    "telephony",
    (
        SetMember("telephone", 0.10),
        SetMember("telephone:mulaw", 0.10),
        SetMember("telephone:alaw", 0.10),
        SetMember("codec:gsm", 0.075),
        SetMember("codec:g726", 0.075),
        SetMember("codec:opus", 0.075),
        SetMember("codec:speex", 0.075),
        SetMember("resample", 0.15),
        SetMember("noise:20", 0.05),
    )
    + tuple(SetMember(s, 0.05, _SPEECH_CUTOFF) for s in ("cheby1:8", "ellip:12", "bessel:6", "butter:2")),
    gain_db=(-18.0, 0.0),
    description="8 kHz telephone speech as it arrives: the telephone channel with and without G.711 (30 %), the "
    "GSM, G.726, Opus and Speex narrow-band codecs (30 %), the sinc resampler (15 %), pink noise at "
    "20 dB SNR (5 %) and anti-alias filters with random cutoffs (20 %), random gain -18..0 dB; needs "
    "ffmpeg with those encoders and an 8 kHz low rate",
    representative="telephone",
)

DEGRADATION_SETS: dict[str, DegradationSet] = {
    s.name: s for s in (_SPEECH_ROBUST, _MULTI_FILTER, _TELEPHONE_ANY, _TELEPHONY)
}
"""Named degradation sets. Members and probabilities (``--degradations NAME``):

``speech-robust`` (gain uniform -18..0 dB; cutoffs drawn uniformly from 0.80, 0.81, .. 1.00 of the
low-rate Nyquist, zero-phase):

=====================================================================  ===========
member                                                                 probability
=====================================================================  ===========
``cheby1:6|8|10|12``, ``bessel:6|12``, ``ellip:6|12``, ``butter:8``,    5 % each
each with a random cutoff 0.8-1.0                                      (45 %)
``butter:2`` with a random cutoff 0.8-1.0 (the soft low-order IIR)     10 %
``resample`` (polyphase Kaiser sinc, as real low-rate files are made)  20 %
``telephone``, ``telephone:mulaw``, ``telephone:alaw``                 8.33 % each
=====================================================================  ===========

Butterworth order 4 (``butter:4``, the soft IIR the evaluations report as unseen) and order 6
(:data:`UNSEEN_FILTER_DEFAULT`, the music recipes' unseen filter) are deliberately not members.

``multi-filter``: :data:`MULTI_FILTER_DEFAULTS` (Sulun & Davies 2020), 12.5 % each, default
cutoffs, no gain.

``telephone-any``: ``telephone``, ``telephone:mulaw``, ``telephone:alaw``, 1/3 each, gain -18..0 dB.
(Not named ``telephone``, which is the single plain channel.)

``telephony`` (8 -> 16 and 8 -> 48 kHz models; gain -18..0 dB): ``telephone``, ``telephone:mulaw``,
``telephone:alaw`` 10 % each; ``codec:gsm``, ``codec:g726``, ``codec:opus``, ``codec:speex`` 7.5 % each;
``resample`` 15 %; ``noise:20`` 5 %; ``cheby1:8``, ``ellip:12``, ``bessel:6``, ``butter:2`` with random
cutoffs 0.8-1.0, 5 % each. Butterworth 4 stays unseen.

Representatives (:attr:`DegradationSet.representative_spec`, the single degradation a model trained
on the set records as its ``degradation``): ``cheby1:8`` (:data:`SEEN_FILTER_DEFAULT`, the papers'
filter) for ``speech-robust`` and ``multi-filter``, plain ``telephone`` for ``telephone-any``.

Any single spec is a set of one with no gain: ``get_degradation_set("cheby1:8")`` is the papers' setup.
"""


def register_set(degradation_set: DegradationSet) -> DegradationSet:
    """Add a named set to :data:`DEGRADATION_SETS` (its name lower-case, not a spec and not taken); returns it."""
    name = degradation_set.name
    if name != name.strip().lower() or name in DEGRADATION_SETS:
        raise ValueError(
            f"degradation set name {name!r} must be lower-case and not already registered "
            f"({', '.join(DEGRADATION_SETS)})"
        )
    try:
        parse_spec(name)
    except ValueError:
        DEGRADATION_SETS[name] = degradation_set
        return degradation_set
    raise ValueError(f"degradation set name {name!r} is a degradation spec; choose another name")


def get_degradation_set(name) -> DegradationSet:
    """The named set (:data:`DEGRADATION_SETS`), or a set of one for a single degradation spec
    (``"cheby1:8"``, ``"resample"``, ``"telephone:mulaw"``: no gain). A :class:`DegradationSet` is
    returned as is. ValueError listing the known set names and the spec grammar otherwise."""
    if isinstance(name, DegradationSet):
        return name
    if not isinstance(name, str):
        raise ValueError(f"degradation set must be a name or spec string, got {name!r}")
    key = name.strip().lower()
    if key in DEGRADATION_SETS:
        return DEGRADATION_SETS[key]
    try:
        spec = canonical_spec(key)
    except ValueError:
        raise ValueError(
            f"unknown degradation set {name!r}; known sets: {', '.join(DEGRADATION_SETS)}; or a single "
            f"degradation: {spec_grammar()}"
        ) from None
    return DegradationSet(spec, (SetMember(spec, 1.0),), description=f"the single degradation {spec}")


def evaluation_filters(
    training="multi-filter", seen: str | None = None, unseen: str = UNSEEN_FILTER_DEFAULT
) -> dict[str, str]:
    """``{"seen": spec, "unseen": spec}``: the low-pass filters an evaluation reports side by side
    (Sulun & Davies' seen/unseen-filter comparison).

    ``training`` is what the model trained on: a set name or spec (:func:`get_degradation_set`), a
    :class:`DegradationSet` or a sequence of specs. ``seen`` defaults to :data:`SEEN_FILTER_DEFAULT`
    when it is a training member, else the first low-pass member. ValueError if ``seen`` is not a
    training member, ``unseen`` is one, or the training set has no low-pass filter.
    """
    if isinstance(training, (str, DegradationSet)):
        specs = get_degradation_set(training).specs
    else:
        specs = tuple(canonical_spec(s) for s in training)
    filters = [s for s in specs if isinstance(parse_spec(s), LowpassFilter) and not parse_spec(s).aliased]
    if seen is None:
        if not filters:
            raise ValueError(
                f"no low-pass filter among the training degradations ({', '.join(specs)}) to report as the seen filter"
            )
        seen = SEEN_FILTER_DEFAULT if SEEN_FILTER_DEFAULT in filters else filters[0]
    seen, unseen = canonical_spec(seen), canonical_spec(unseen)
    if seen not in specs:
        raise ValueError(f"seen filter {seen} is not among the training degradations ({', '.join(specs)})")
    if unseen in specs:
        raise ValueError(f"unseen filter {unseen} is one of the training degradations ({', '.join(specs)})")
    return {"seen": seen, "unseen": unseen}
