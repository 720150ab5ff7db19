"""One runner for every recipe: parse -> validate -> prepare data -> build in strategy scope -> fit -> evaluate ->
write.

A recipe (``keras_audiosr/recipes/<name>.py``) is a :class:`keras_audiosr.recipes.recipe.Recipe`: its
defaults, its own flags and its build function, plus a hook where it really differs (MU-GAN's autoencoder
stage, the music recipe's
seen/unseen-filter evaluation). :func:`run` does the rest::

    cfg = parse_config(...)                 # flags -> RecipeConfig; a bad value exits 2, nothing written
    strategy = get_strategy()               # before any other TensorFlow work (a keras.distribution on JAX)
    data = prepare_data(cfg, spec)          # the one data step: corpora -> splits -> prepared store -> stream
    with strategy.scope():
        model = recipe.build(cfg, data.degradation)
    fit(model, data, cfg, out=...)          # random crops drawn on the fly; resumable at every kill point
    save_model(generator, out/model.keras)  # before evaluating: a kill during evaluation loses no training
    finish(generator, data, cfg, state)     # evaluate the test split, write eval.json and metrics.json

Run the same command again with the same ``--out`` and it resumes: mid-training from the newest
intact backup (the example stream continues where that backup's epoch ended), after training
straight at the evaluation.

Backends: on TensorFlow the input is ``tf.data`` (``TrainingData.distribute``: under
``MultiWorkerMirroredStrategy`` each worker reads its own files); on JAX (``KERAS_BACKEND=jax``, no
TensorFlow needed) it is a ``keras.utils.PyDataset`` over the same sampler, batches made in worker
processes, and several devices train data-parallel through ``keras.distribution.DataParallel``.
TensorBoard logs and the adversarial recipes need TensorFlow.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import keras

from keras_audiosr.data import prepare_training_data
from keras_audiosr.degrade import Degradation, DegradationSet
from keras_audiosr.evaluation import OWN, format_suite, suite_summary
from keras_audiosr.models.saving import load_model, save_model
from keras_audiosr.recipes.config import DataSpec, resolve_init_from
from keras_audiosr.training.callbacks import (
    BACKUP_DIR,
    CHECKPOINT,
    BackupError,
    EpochTimer,
    LastWeights,
    ResumableBackup,
    TimeBudget,
    TrainState,
)
from keras_audiosr.training.evaluate import corpus_groups, evaluate, evaluate_test_suite
from keras_audiosr.training.generator import (
    carry_high_band_trim,
    choose_model_size,
    compile_with_sample_loss,
    generator_args,
    generator_of,
    sample_loss,
    warm_start,
)
from keras_audiosr.training.lock import RunLock, RunLockError
from keras_audiosr.training.resume import (
    Terminated,
    _error_text,
    _fail,
    _no_space,
    _recorded_config,
    _stop_on_sigterm,
    _stopped,
)
from keras_audiosr.training.strategy import backend, get_strategy, is_chief
from keras_audiosr.utils import write_json, write_text_atomic

__all__ = [
    "DataSpec",
    "PreparedData",
    "choose_model_size",
    "compile_with_sample_loss",
    "corpus_groups",
    "evaluate",
    "evaluate_test_suite",
    "finish",
    "fit",
    "generator_args",
    "generator_of",
    "prepare_data",
    "run",
    "sample_loss",
    "train_stage",
    "warm_start",
]


def _say(text):
    print(f"[keras_audiosr] {text}", flush=True)


# ----------------------------------------------------------------------------------------- data
@dataclass
class PreparedData:
    """What a recipe trains and evaluates on; :func:`prepare_data` makes it.

    Attributes:
        training: The :class:`~keras_audiosr.data.TrainingData` (corpora, splits, store, stream).
        corpus_root, corpus_label, embedded: The (first) corpus folder and how reports name the data.
        split: The pooled speaker- (or piece-) disjoint split of every corpus: ``task``, ``note``,
            ``train``, ``test``, ``test_speakers``; per corpus: ``corpora.test_by_corpus()``.
        degradation: The single degradation that stands for the training set (its representative;
            the model records it as ``degradation``).
        degradations: The :class:`~keras_audiosr.degrade.DegradationSet` training draws from.
        n_train: Examples in one epoch (the training audio over ``--stride``); the default steps per
            epoch is ``n_train // batch_size``.
        same_rate: Whether inputs stay at the high rate.
        details: JSON facts for ``metrics.json``: ``data`` (``TrainingData.summary()``: corpora,
            speakers and hours per split, store, degradation set), ``patch_size``, ``examples_per_epoch``.
    """

    training: object
    corpus_root: Path
    corpus_label: str
    embedded: bool
    split: object
    degradation: Degradation
    degradations: DegradationSet
    n_train: int
    same_rate: bool = False
    details: dict = field(default_factory=dict)

    @property
    def corpora(self):
        """The :class:`~keras_audiosr.data.CorpusSet`: ``corpora.test_by_corpus()`` is ``{corpus name:
        [Utterance, ...]}`` (test utterances of each corpus, speaker ids namespaced ``<corpus>/<speaker>``)."""
        return self.training.corpora

    @property
    def test_files(self):
        return [u.path for u in self.split.test]

    def input(self, cfg, strategy=None, start_batch=0, map_batch=None):
        """The training input of ``model.fit`` for ``cfg`` under ``strategy``: ``TrainingData.distribute``
        with the global batch ``cfg.batch_size``, seed ``cfg.seed``, continuing at ``start_batch``."""
        return self.training.distribute(
            strategy,
            cfg.batch_size,
            seed=cfg.seed,
            start_batch=start_batch,
            processes=data_processes(cfg),
            map_batch=map_batch,
        )


def data_processes(cfg):
    """``--data-processes``, or its default: 0 (tf.data's threads) on TensorFlow, else up to 4, one per CPU."""
    if cfg.data_processes is not None:
        return cfg.data_processes
    return 0 if backend() == "tensorflow" else min(4, len(os.sched_getaffinity(0)))


def prepare_data(cfg, spec: DataSpec | None = None, progress=True):
    """The runner's one data step: :func:`keras_audiosr.data.prepare_training_data` for the recipe's corpora.

    Idempotent and resumable: the training files are prepared once into the store under
    ``--cache-dir`` (shared by every ratio, patch size and degradation), so a second run (or a
    resumed one) only loads the index. Bad data (an empty folder, an unknown test speaker or
    degradation, a high rate the corpus cannot give) raises ValueError / FileNotFoundError naming it.
    """
    spec = DataSpec() if spec is None else spec
    training = prepare_training_data(
        cfg.data_dir or None,
        hr_rate=cfg.hr_rate,
        ratio=cfg.ratio,
        patch_size=cfg.patch_size,
        degradations=cfg.degradations,
        task=cfg.task,
        test_speakers=cfg.test_speakers,
        seed=cfg.seed,
        cache_dir=cfg.cache_dir,
        progress=progress,
        weights=cfg.corpus_weights,
        kind=spec.corpus,
        same_rate=spec.same_rate,
    )
    split = training.split
    stride = cfg.stride or max(cfg.ratio, (cfg.patch_size // 2) // cfg.ratio * cfg.ratio)
    n_train = max(1, int(training.store.seconds * cfg.hr_rate) // stride)
    _say(f"corpus: {training.label}")
    for corpus in training.corpora.corpora:
        _say(f"split of {corpus.name} ({corpus.split.task}): {corpus.split.note}")
    summary = training.summary()
    # One definition of an epoch in metrics.json: the training audio over --stride (the data summary's own
    # figure tiles it at the patch size, half as many with the default stride of half a patch).
    summary.update(examples_per_epoch=n_train, stride=stride)
    how = "loaded from cache" if training.store.from_cache else "prepared and stored"
    _say(
        f"{len(split.train)} training files ({summary['store']['hours']:.2f} h at {cfg.hr_rate} Hz, {how}: "
        f"{training.store.index_path}) and {len(split.test)} test files"
    )
    members = training.degradations.probabilities()
    _say(
        f"training inputs: --degradations {training.degradations.name} ({len(members)} member"
        f"{'s' if len(members) != 1 else ''}{', random gain' if training.degradations.gain_db else ''}); "
        f"random crops of {cfg.patch_size} samples, {n_train} per epoch"
    )
    details = {"data": summary, "patch_size": cfg.patch_size, "examples_per_epoch": n_train}
    first = training.corpora.corpora[0].root
    return PreparedData(
        training,
        first,
        training.label,
        training.embedded,
        split,
        training.degradation,
        training.degradations,
        n_train,
        spec.same_rate,
        details,
    )


# ----------------------------------------------------------------------------------------- model
def _init_from_problem(cfg):
    """Checks ``--init-from`` against the run's rates from its ``config.json`` (no model is loaded)."""
    if not cfg.init_from:
        return None
    path = resolve_init_from(cfg.init_from)
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json")).get("config", {})
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        return f"--init-from {cfg.init_from}: {path} is not a readable .keras model ({err})"
    ratio, hr_rate = config.get("ratio", config.get("bandwidth_ratio")), config.get("hr_rate")
    rates_differ = ratio is not None and hr_rate is not None and (int(ratio), int(hr_rate)) != (cfg.ratio, cfg.hr_rate)
    if rates_differ and not getattr(cfg, "init_matching", False):
        return (
            f"--init-from {cfg.init_from}: that model up-samples by {ratio} to {hr_rate} Hz, this run by "
            f"{cfg.ratio} to {cfg.hr_rate} Hz (--init-matching copies only the layers that agree)"
        )
    try:  # the whole model, now: a model that fails to load must fail before anything is written
        load_model(path)
    except Exception as err:  # Keras raises many types for a model it cannot rebuild
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        reason = reason if str(path) in reason else f"{path}: cannot be loaded ({type(err).__name__}: {reason})"
        return f"--init-from {cfg.init_from}: {reason[:400]}"
    return None


# ----------------------------------------------------------------------------------------- fit
def _out_dirs(out):
    out = Path(out)
    if is_chief():
        return out, out
    # Non-chief multi-worker replicas read the chief's state but write their logs to a private folder.
    return out, Path(tempfile.mkdtemp(prefix="keras_audiosr-worker-"))


def steps_per_epoch(cfg, data):
    return cfg.steps_per_epoch or max(1, data.n_train // cfg.batch_size)


def _trim_log(path, epochs):
    """Keeps the rows of ``train_log.csv`` for the first ``epochs`` epochs (those the backup holds)."""
    if not path.is_file():
        return
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    kept = [rows[0]] + [r for r in rows[1:] if r and r[0].isdigit() and int(r[0]) < epochs]
    if len(kept) != len(rows):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(kept)
        write_text_atomic(path, buf.getvalue())


def fit(
    model, data, cfg, *, out, strategy=None, map_batch=None, epochs=None, callbacks=(), verbose=None, init_from=None
):
    """``model.fit`` on the data's stream that resumes at every kill point; returns the run's :class:`TrainState`.

    Each epoch ends with the full training state in ``out/backup`` and ``out/train_state.json``
    (see :class:`~keras_audiosr.training.callbacks.ResumableBackup`); a process started again on the
    same ``out`` continues from the newest intact state, with ``train_log.csv`` trimmed to the epochs
    it holds and the example stream continued at the batch after them (``start_batch``). Also
    writes ``checkpoints/last.weights.h5`` and (TensorFlow only) TensorBoard ``logs/``, and stops at
    ``--max-minutes`` of training time summed over the run's processes. The input is
    ``data.input(cfg, strategy, ...)``, each batch passed through ``map_batch`` when given;
    ``epochs`` defaults to ``cfg.epochs``. ``init_from`` (a ``.keras`` path) warm-starts the
    generator when the run starts afresh.
    """
    out, scratch = _out_dirs(out)
    chief = is_chief()
    epochs = epochs or cfg.epochs
    prior = TrainState.read(out)
    if prior.trained:  # model.keras is gone: train again from the start
        prior = TrainState()
    entry = ResumableBackup.resume_entry(out, prior) if prior.backup else None
    resume_at = (entry or {}).get("epoch", 0)  # a damaged newest backup: the one before it, and its log rows
    if chief:
        out.mkdir(parents=True, exist_ok=True)
        _trim_log(out / "train_log.csv", resume_at)
    (scratch / "checkpoints").mkdir(parents=True, exist_ok=True)
    if init_from and not resume_at:
        warm_start(generator_of(model), init_from, matching=getattr(cfg, "init_matching", False))
    budget = TimeBudget(cfg.max_minutes, prior.train_seconds) if cfg.max_minutes else None
    backup = ResumableBackup(out, prior, write=chief)
    logs = []
    if backend() == "tensorflow":
        logs = [keras.callbacks.TensorBoard(str(scratch / "logs"), write_graph=False, update_freq="epoch")]
    elif chief:
        _say(f"no TensorBoard logs on the {backend()} backend (they need TensorFlow); train_log.csv has every epoch")
    cbs = [
        EpochTimer(),
        keras.callbacks.CSVLogger(str(scratch / "train_log.csv"), append=True),
        *logs,
        LastWeights(scratch / CHECKPOINT),  # atomic: a kill during the write keeps the previous file
        backup,  # after the CSV row, so a kill between them leaves a row that the restart trims
        *([budget] if budget else []),
        *callbacks,
    ]
    if budget and budget.exhausted:
        _say(
            f"the --max-minutes {cfg.max_minutes:g} budget is spent ({prior.train_seconds:.0f} s); not training further"
        )
        epochs = resume_at
    steps = steps_per_epoch(cfg, data)
    _say(
        f"training {epochs} epoch(s) x {steps} steps, batch {cfg.batch_size}"
        + (f"; the example stream continues at batch {resume_at * steps}" if resume_at else "")
    )
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    # shuffle=False: the stream draws its own random crops (Keras warns that its default shuffle=True is ignored).
    model.fit(
        data.input(cfg, strategy, start_batch=resume_at * steps, map_batch=map_batch),
        epochs=epochs,
        steps_per_epoch=steps,
        callbacks=cbs,
        verbose=verbose,
        shuffle=False,
    )
    state = backup.state
    state.train_seconds = round(backup.elapsed(), 3)
    state.stopped_by_time_budget = bool(budget and (budget.stopped_early or budget.exhausted))
    return state


def _load_trained(out, what="training"):
    """The saved generator when ``out`` holds a finished training, else None."""
    state, path = TrainState.read(out), Path(out) / "model.keras"
    if not (state.trained and path.is_file()):
        return None, state
    _say(f"{what} finished already ({state.epochs} epochs, {state.train_seconds:.0f} s of training): loading {path}")
    if is_chief():  # a kill right after training may have left the backup behind
        shutil.rmtree(Path(out) / BACKUP_DIR, ignore_errors=True)
    return load_model(path), state


def train_stage(
    build, data, cfg, strategy, *, out, size_note="", map_batch=None, epochs=None, what="training", init_from=None
):
    """Builds (in the strategy scope), fits and saves one model into ``out``; returns ``(generator, state)``.

    ``build()`` returns the compiled training model. The trained generator is saved to
    ``out/model.keras`` (no optimizer state; warm-started from ``init_from``, with that model's high-band
    trim: :func:`~keras_audiosr.training.generator.carry_high_band_trim`) and ``train_state.json`` marked
    ``trained`` before the backup is removed, so a later process loads it instead of training again. ``map_batch`` and
    ``init_from`` go to :func:`fit`.
    """
    out = Path(out)
    generator, state = _load_trained(out, what)
    if generator is not None:
        return generator, state
    with strategy.scope():
        model = build()
    generator = generator_of(model)
    _say(f"{what}: {type(generator).__name__} {cfg.model_size} ({generator.count_params():,} parameters){size_note}")
    state = fit(model, data, cfg, out=out, strategy=strategy, map_batch=map_batch, epochs=epochs, init_from=init_from)
    if init_from:  # trained untrimmed; saved (and evaluated) at the source's high-band trim
        carry_high_band_trim(generator, init_from)
    if is_chief():
        save_model(generator, out / "model.keras")
        state.status, state.backup = "trained", {}
        state.write(out)
        shutil.rmtree(out / BACKUP_DIR, ignore_errors=True)
    return generator, state


# ----------------------------------------------------------------------------------------- write
def finish(generator, data, cfg, state, recipe=None, extra_metrics=None, filters=None, groups=None):
    """Evaluates on the test split and writes ``eval.json`` and ``metrics.json`` (the chief only).

    The evaluation is :func:`evaluate_test_suite`: the model's own degradation, a sinc resampler, an
    unseen Butterworth 4 (and the telephone channel for an 8 kHz input), each beside sinc and spline.
    ``eval.json`` is the whole suite report (:func:`keras_audiosr.evaluation.evaluate_suite`);
    ``metrics.json`` keeps ``metrics["test"]`` (the means under the model's own degradation) and
    ``metrics["degradations"]`` (:func:`keras_audiosr.evaluation.suite_summary`, with ``by_corpus``
    means when the test split spans several corpora; ``groups`` overrides :func:`corpus_groups`).
    ``filters`` (e.g. ``{"seen": "cheby1:8", "unseen": "butter:6"}``) are evaluated in the suite too and
    also reported under ``metrics["filters"]`` (``{label: {"filter", "degradation_text", "test"}}``).
    """
    out = Path(cfg.out)
    if not data.split.test:  # a folder of one or two recordings: all of it trains
        _say(
            "no held-out files, so no evaluation (add recordings to hold some out, or evaluate the model with "
            "keras-audiosr evaluate on files it did not train on)"
        )
        report = {"degradations": {OWN: {"mean": None}}, "note": "no held-out files"}
    else:
        report, where = evaluate_test_suite(generator, data, cfg, filters=filters, groups=groups)
        print(format_suite(report))
    by_filter = {}
    for label in (filters or {}) if data.split.test else ():
        rep = report["degradations"][where[label]]
        by_filter[label] = {"filter": rep["spec"], "degradation_text": rep["degradation_text"], "test": rep["mean"]}
    extra_metrics = {
        **(extra_metrics or {}),
        "degradations": suite_summary(report) if data.split.test else {},
        **({"filters": by_filter} if by_filter else {}),
    }
    if not is_chief():
        return report
    metrics = {
        "recipe": recipe,
        "corpus": data.corpus_label,
        "embedded_default": data.embedded,
        "task": data.split.task,
        "split_note": data.split.note,
        "test_speakers": list(data.split.test_speakers),
        "n_test_files": len(data.split.test),
        **data.details,
        "ratio": cfg.ratio,
        "lr_rate": cfg.hr_rate // cfg.ratio,
        "hr_rate": cfg.hr_rate,
        "degradation": data.degradation.to_dict(),
        "degradation_text": data.degradation.describe(cfg.hr_rate),
        "model": type(generator).__name__,
        "model_size": cfg.model_size,
        "parameters": int(generator.count_params()),
        "epochs_run": state.epochs,
        "train_seconds": round(state.train_seconds, 1),
        "training_processes": state.runs,
        "stopped_by_time_budget": state.stopped_by_time_budget,
        "test": report["degradations"][OWN]["mean"],
        **(extra_metrics or {}),
    }
    if data.split.test:
        write_json(out / "eval.json", report)
    write_json(out / "metrics.json", metrics)
    _say(
        f"wrote {out / 'eval.json'} and " * bool(data.split.test) + f"{out / 'metrics.json'} "
        f"(the model: {out / 'model.keras'})"
    )
    return metrics


# ----------------------------------------------------------------------------------------- recipe
def _strategy(recipe):
    try:
        return get_strategy()
    except RuntimeError as err:
        _fail(recipe.prog, str(err))


def _prepare(recipe, cfg):
    try:
        return prepare_data(cfg, recipe.data_spec(cfg))
    except (ValueError, FileNotFoundError, NotADirectoryError) as err:
        dirs = ",".join(cfg.data_dir or [])
        where = f"--data-dir {dirs}: " if dirs and not any(str(d) in str(err) for d in cfg.data_dir) else ""
        _fail(recipe.prog, f"{where}{err}")


def run(recipe, argv=None):
    """Runs ``recipe`` with the command line ``argv`` (default ``sys.argv[1:]``); returns the metrics.

    The run holds the lock of its ``--out`` (:class:`~keras_audiosr.training.lock.RunLock`) throughout:
    a second run on the same folder exits 2 naming the holder. Ctrl-C or SIGTERM stop it with one line
    saying that the same command resumes it (status 130 / 143), a full disk with one line naming the
    file (status 1); what was saved stays.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    cfg = recipe.parse(argv)
    backends = recipe.backends_for(cfg)
    if backends and backend() not in backends:
        _fail(
            recipe.prog,
            f"this recipe needs the {' or '.join(backends)} backend (its adversarial training "
            f"step is TensorFlow code); Keras runs on {backend()!r} (KERAS_BACKEND)",
        )
    problem = _init_from_problem(cfg)
    if problem:
        _fail(recipe.prog, problem)
    lock = RunLock(Path(cfg.out).expanduser()) if is_chief() else None
    try:
        if lock is not None:
            try:
                lock.acquire()
            except (RunLockError, OSError) as err:
                _fail(recipe.prog, f"--out {_error_text(err)}")
            if lock.took_over:
                _say(f"took over the lock of a run that is no longer running ({lock.took_over})")
        with _stop_on_sigterm():
            return _run_locked(recipe, cfg, argv)
    except KeyboardInterrupt as err:
        how, status = ("SIGTERM", 143) if isinstance(err, Terminated) else ("Ctrl-C", 130)
        _stopped(recipe, cfg, f"stopped by {how}", status)
    except OSError as err:
        if not _no_space(err):
            raise
        _stopped(recipe, cfg, f"error: no space left on device writing {err.filename or _error_text(err)}", 1)
    finally:
        if lock is not None:
            lock.release()


def _run_locked(recipe, cfg, argv):
    recorded = _recorded_config(recipe, cfg)
    keras.utils.set_random_seed(cfg.seed)
    tensorflow = backend() == "tensorflow"
    if tensorflow:  # the strategy comes before any other TensorFlow work (multi-worker needs that)
        strategy = _strategy(recipe)
    data = _prepare(recipe, cfg)
    if not tensorflow:
        # Fork the batch-making processes before JAX starts its threads (forking after is unsafe).
        if data_processes(cfg):
            data.training.sampler().pool(data_processes(cfg))
        strategy = _strategy(recipe)
    cfg.model_size, why = choose_model_size(cfg, (recorded or {}).get("model_size"))
    out = Path(cfg.out)
    if is_chief():
        write_json(out / "config.json", {"recipe": recipe.name, **cfg.to_dict(), "argv": argv})
    try:
        generator, state = _load_trained(out)
        if generator is None:
            stage = recipe.before_build(cfg, data, strategy) if recipe.before_build else {}
            generator, state = train_stage(
                lambda: recipe.build(cfg, data.degradation, **stage),
                data,
                cfg,
                strategy,
                out=out,
                size_note=f": {why}",
                init_from=resolve_init_from(cfg.init_from),
            )
    except BackupError as err:
        _fail(recipe.prog, str(err))
    except ValueError as err:
        if "--init-from" not in str(err):
            raise
        _fail(recipe.prog, str(err))
    return finish(
        generator,
        data,
        cfg,
        state,
        recipe=recipe.name,
        extra_metrics=recipe.extra_metrics(cfg) if recipe.extra_metrics else None,
        filters=recipe.evaluation_filters(cfg) if recipe.evaluation_filters else None,
    )
