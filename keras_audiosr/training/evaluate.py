"""What a recipe run evaluates when training ends: its test split, under the model's default input degradations
(and any seen/unseen filters), beside sinc and spline, grouped per corpus. :func:`keras_audiosr.training.runner.finish`
writes the results."""

from __future__ import annotations

from keras_audiosr import evaluation
from keras_audiosr.degrade import canonical_spec
from keras_audiosr.evaluation import SUITE_BASELINES, resolve_degradations

__all__ = ["corpus_groups", "evaluate", "evaluate_test_suite"]


def evaluate(generator, data, cfg, progress=True, filter=None):
    """Model and baselines (spline, sinc) on every test file, degraded as in training (or with ``filter``)."""
    return evaluation.evaluate_files(
        generator,
        data.test_files,
        baselines=("spline", "sinc"),
        with_pesq=None if cfg.pesq else False,
        progress=progress,
        filter=filter,
        perceptual=bool(getattr(cfg, "perceptual", False)),
    )


def corpus_groups(data, groups=None) -> dict | None:
    """``{corpus: [test files]}`` when the test split spans several corpora, else ``None``.

    ``groups`` (a mapping) wins; else the data's own grouping (``data.test_by_corpus``, a mapping or a
    method returning one, of paths or utterances); else the corpus namespace of the test speakers
    (``vctk-mini/p225`` -> ``vctk-mini``, as :func:`keras_audiosr.data.load_corpora` names them)."""
    if groups is None:
        groups = getattr(data, "test_by_corpus", None)
        if groups is None:
            groups = getattr(getattr(data, "corpora", None), "test_by_corpus", None)
        groups = groups() if callable(groups) else groups
    if groups is None:
        split = getattr(data, "split", None)
        groups = {}
        for u in getattr(split, "test", None) or []:
            corpus, sep, _ = str(getattr(u, "speaker", "")).partition("/")
            if not sep:
                return None
            groups.setdefault(corpus, []).append(u)
    groups = {str(g): [str(getattr(u, "path", u)) for u in us] for g, us in (groups or {}).items() if us}
    return groups if len(groups) > 1 else None


def evaluate_test_suite(generator, data, cfg, filters=None, groups=None, progress=True):
    """The test split under the model's default input degradations
    (:func:`keras_audiosr.evaluation.default_degradations`) plus each of ``filters`` ``{label: spec}``
    not already among them (one evaluation serves both), beside sinc and spline; per-corpus means when
    :func:`corpus_groups` finds several corpora. Returns ``(suite report, {filter label: suite label})``."""
    inputs = resolve_degradations(generator)
    names = {i.label: i.label for i in inputs}
    where = {}
    for label, spec in (filters or {}).items():
        spec = canonical_spec(spec)
        same = next((i.label for i in inputs if not i.drawn and i.degradation.filter == spec), None)
        if same is None:
            names[label] = spec
        where[label] = same or label
    paths = corpus_groups(data, groups) or data.test_files
    suite = evaluation.evaluate_suite(
        generator,
        paths,
        degradations=names,
        baselines=SUITE_BASELINES,
        with_pesq=None if cfg.pesq else False,
        progress=progress,
        perceptual=bool(getattr(cfg, "perceptual", False)),
    )
    return suite, where
