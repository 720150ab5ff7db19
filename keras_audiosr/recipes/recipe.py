"""A training system as data: :class:`Recipe` (defaults, own flags, build step); :meth:`Recipe.main` runs it.

The recipe's command line is parsed and checked first, with no Keras or TensorFlow loaded, so
``--help`` and every argument error answer at once; only then is the backend chosen and started and
the training runner (:func:`keras_audiosr.training.runner.run`) imported.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from keras_audiosr.recipes.config import DataSpec, RecipeConfig, parse_config
from keras_audiosr.utils import configured_backend, quiet_tensorflow

__all__ = ["Recipe"]


@dataclass
class Recipe:
    """A training system: its defaults, its own flags and its build function; :meth:`main` runs it.

    Attributes:
        name: The module name under ``keras_audiosr/recipes/`` (``python -m recipes.<name>`` from a clone,
            ``keras-audiosr train <name>`` installed).
        description: ``--help`` text (the module docstring).
        defaults: The recipe's :class:`RecipeConfig` (core flag defaults).
        build: ``build(cfg, degradation, **stage_outputs)`` -> the compiled training model; called in the
            strategy scope. ``cfg.model_size`` is resolved; the recipe's flags are in ``cfg.extra``;
            :func:`keras_audiosr.training.runner.generator_args` gives the generator's run arguments.
        epochs: Default epochs ``(on the embedded corpus, on a real corpus)`` when ``--epochs`` is unset.
        embedded: Other defaults on the embedded corpus (no ``--data-dir``), e.g. a shorter epoch
            ``{"steps_per_epoch": 40}``; flags given on the command line still win.
        flags: The recipe's own flags, ``{name: argparse keyword arguments}`` (values in ``cfg.extra[name]``).
        data: A :class:`DataSpec`, or ``data(cfg) -> DataSpec``.
        check: ``check(cfg) -> message or None``: the recipe's own argument rules (exit 2 before any work;
            they run before Keras is imported, so they use no Keras).
        before_build: ``before_build(cfg, data, strategy) -> dict`` of extra ``build`` arguments: a stage
            that has to train first (MU-GAN's autoencoder). Skipped when the run's training is finished.
        evaluation_filters: ``evaluation_filters(cfg) -> {label: filter}``: extra evaluations side by side.
        extra_metrics: ``extra_metrics(cfg) -> dict`` merged into ``metrics.json``.
        backends: The Keras backends the recipe runs on (None: any; the adversarial recipes: TensorFlow), or
            ``backends(cfg)`` giving them for a run (``streaming_bwe``: TensorFlow with ``--adversarial`` only).
        command: How the user runs it, for messages (default ``python -m recipes.<name>``).
    """

    name: str
    description: str
    defaults: RecipeConfig
    build: Callable
    epochs: tuple = (6, 50)
    embedded: dict = field(default_factory=dict)
    flags: dict = field(default_factory=dict)
    data: object = DataSpec()
    check: Callable | None = None
    before_build: Callable | None = None
    evaluation_filters: Callable | None = None
    extra_metrics: Callable | None = None
    backends: tuple | Callable | None = None
    command: str | None = None

    @property
    def prog(self):
        return self.command or f"python -m recipes.{self.name}"

    def data_spec(self, cfg):
        return self.data(cfg) if callable(self.data) else self.data

    def backends_for(self, cfg):
        """The Keras backends the run ``cfg`` needs (None: any)."""
        return self.backends(cfg) if callable(self.backends) else self.backends

    def parse(self, argv=None) -> RecipeConfig:
        """The run's :class:`RecipeConfig` from the command line ``argv``; ``--help`` and argument errors exit."""
        embedded_epochs, corpus_epochs = self.epochs
        helps = {f.name: f.metadata.get("help", "") for f in dataclasses.fields(RecipeConfig)}
        overrides = {
            "epochs": (
                f"training epochs (default: {embedded_epochs} on the embedded corpus, {corpus_epochs} with --data-dir)"
            )
        }
        for key, value in self.embedded.items():
            default = getattr(self.defaults, key)
            overrides[key] = (
                f"{helps[key]} (default: {value} on the embedded corpus, "
                f"{'unset' if default is None else default} with --data-dir)"
            )
        kwargs = dict(
            description=self.description, flags=self.flags, check=self.check, prog=self.prog, help_overrides=overrides
        )
        cfg = parse_config(self.defaults, argv, **kwargs)
        if not cfg.data_dir and self.embedded:  # the embedded corpus's own defaults; given flags still win
            cfg = parse_config(dataclasses.replace(self.defaults, **self.embedded), argv, **kwargs)
        cfg.epochs = cfg.epochs or self.epochs[bool(cfg.data_dir)]
        return cfg

    def main(self, argv=None):
        """Parse ``argv`` (default ``sys.argv[1:]``), then start the backend and train; returns the metrics."""
        argv = sys.argv[1:] if argv is None else list(argv)
        self.parse(argv)  # --help and argument errors: before Keras
        start_backend(self.prog)
        from keras_audiosr.training.runner import run

        return run(self, argv)


def start_backend(prog: str = "keras-audiosr train") -> None:
    """Choose and start the Keras backend for a training run (exit status 2 and one line when Keras or its
    backend is not installed).

    Where TensorFlow is not installed and ``KERAS_BACKEND`` is not set, Keras's JAX backend is chosen
    when JAX is there (and the run says so), so the recipes train on machines that carry JAX only.
    On TensorFlow its start-up lines are hidden (``KERAS_AUDIOSR_VERBOSE=1`` shows them).
    """
    if (
        "KERAS_BACKEND" not in os.environ
        and configured_backend() == "tensorflow"
        and importlib.util.find_spec("tensorflow") is None
        and importlib.util.find_spec("jax") is not None
    ):
        os.environ["KERAS_BACKEND"] = "jax"
        print(
            "[keras_audiosr] TensorFlow is not installed: using Keras's JAX backend (set KERAS_BACKEND to choose)",
            flush=True,
        )
    missing = [name for name in ("keras", configured_backend()) if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(
            f"{prog}: error: training needs {' and '.join(missing)} (not installed): pip install 'keras-audiosr[train]'"
        )
    if configured_backend() == "tensorflow":
        quiet_tensorflow(verbose=os.environ.get("KERAS_AUDIOSR_VERBOSE") == "1")
