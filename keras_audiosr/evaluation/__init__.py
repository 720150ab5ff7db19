"""Evaluation: a model against its high-rate references, beside the sinc and spline baselines.

* :mod:`.inputs`: which degradations make the inputs (``own``, a spec, a set drawn per file);
* :mod:`.suite`: the scoring loop (:func:`evaluate_signal`, :func:`evaluate_files`, :func:`evaluate_suite`);
* :mod:`.report`: text and markdown tables, the ``metrics.json`` summary, the metric columns.

Every estimate is scored with :func:`keras_audiosr.metrics.evaluate_pair` (SNR, low-band SNR, LSD,
LSD-HF and, when available, PESQ-WB; with ``perceptual=True`` ViSQOL and DNSMOS P.808 too). The
ship-time high-band trim search lives in
:mod:`keras_audiosr.pretrained.trim`.
"""

from keras_audiosr.evaluation.inputs import (
    OWN,
    SuiteInput,
    check_degradation_names,
    default_degradations,
    draw_for_file,
    quality_degradations,
    resolve_degradations,
    training_degradations,
)
from keras_audiosr.evaluation.report import (
    METRIC_COLUMNS,
    MetricColumn,
    format_suite,
    format_suite_markdown,
    format_table,
    suite_summary,
)
from keras_audiosr.evaluation.suite import (
    SUITE_BASELINES,
    SUITE_METRICS,
    evaluate_files,
    evaluate_signal,
    evaluate_suite,
    finite_mean,
)

__all__ = [
    "METRIC_COLUMNS",
    "MetricColumn",
    "OWN",
    "SUITE_BASELINES",
    "SUITE_METRICS",
    "SuiteInput",
    "check_degradation_names",
    "default_degradations",
    "draw_for_file",
    "evaluate_files",
    "evaluate_signal",
    "evaluate_suite",
    "finite_mean",
    "format_suite",
    "format_suite_markdown",
    "format_table",
    "quality_degradations",
    "resolve_degradations",
    "suite_summary",
    "training_degradations",
]
