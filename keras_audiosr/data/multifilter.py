"""Multi-filter augmentation (Sulun & Davies 2020): every training example gets a low-pass filter drawn
at random from a set, re-drawn every epoch, so a model cannot learn one filter's fingerprint.

Two kinds of input are made from a high-rate signal ``x`` with filter ``f``:

* decimating (``same_rate=False``, the VCTK models): ``Degradation(ratio, f)(x)``, i.e. filtered then
  every ``ratio``-th sample kept -- ``P // ratio`` samples per patch;
* same-rate (``same_rate=True``, the music ResNet/U-Net): ``lowpass(x, ratio, f)``, filtered at the
  cutoff of a ratio-``ratio`` decimation and NOT decimated -- ``P`` samples, aligned with the target.

Two ways to apply it, both deterministic for a given seed:

* **precompute** (default, fastest): :func:`extract_multifilter_patches` filters every WHOLE file
  with each of the K filters (no patch-edge transients, as :func:`~keras_audiosr.data.extract_patches`)
  and cuts all K versions at the same starts into a bank ``inputs [K, N, L, 1]`` (cached on disk).
  :func:`make_multifilter_dataset` then shuffles example indices and, per batch, draws one filter per
  example with a stateless RNG keyed by ``(seed, batch counter)`` and gathers ``inputs[k, i]``: no
  filtering at training time. Memory: ``K * L / P`` times the high-rate patches (4x for 8 filters at
  ratio 2, 8x same-rate), plus one more copy held by the dataset as a TF constant.
* **online** (:class:`MultiFilterAugment`): filters the high-rate PATCH of each example in a
  ``tf.numpy_function`` (``sosfiltfilt`` along the time axis of each group of examples sharing a
  filter); no extra memory, but costs CPU every step and filters patches, not files, so the first and
  last few hundred samples carry edge effects (odd-extension padding keeps them small).

``tools/bench_multifilter.py`` measures both against training speed. On the 2-core development machine
(VCTK-mini, 16 kHz, patches of 8192, ratio 2, batch 16, other jobs running) the precomputed bank served
about 35,000-46,000 patches/s, the online path 700-1,400, while the small AudioUNet trained on about
9 patches/s (0.56 steps/s): either keeps up on a CPU with a wide margin, and the bank is the one to
use beside an accelerator, whose step rate can be a hundred times higher.

Evaluation reports a seen filter and an unseen one side by side: :func:`evaluation_filters`.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import tensorflow as tf
from tqdm import tqdm

from keras_audiosr.data.corpus import Utterance
from keras_audiosr.data.patches import CACHE_FORMAT, PatchConfig, Patches, prepare_signal
from keras_audiosr.degrade import (MULTI_FILTER_DEFAULTS, UNSEEN_FILTER_DEFAULT, Degradation, LowpassFilter, lowpass,
                                   trim_to_multiple)

__all__ = [
    "CHANNEL_MODES", "MULTIFILTER_MODES", "SEEN_FILTER_DEFAULT", "MultiFilterPatches", "MultiFilterAugment",
    "canonical_filters", "evaluation_filters", "make_input", "filter_bank", "extract_multifilter_patches",
    "make_multifilter_dataset", "pipeline_throughput", "training_throughput",
]

CHANNEL_MODES = ("mix", "separate")
MULTIFILTER_MODES = ("precompute", "online")
# The seen filter evaluation reports by default: the scipy.signal.decimate filter of Kuleshov et al.
SEEN_FILTER_DEFAULT = "cheby1:8"
# Bump when the multi-filter extraction or its cache layout changes.
MULTIFILTER_CACHE_FORMAT = 1


def canonical_filters(filters) -> tuple[str, ...]:
    """Filter specs in canonical spelling, in order; ValueError for an empty set, a duplicate or a bad spec."""
    if isinstance(filters, (str, LowpassFilter)):
        filters = (filters,)
    out = tuple(str(LowpassFilter.parse(f)) for f in filters)
    if not out:
        raise ValueError("the filter set is empty; give at least one spec such as 'cheby1:8'")
    dup = sorted({f for f in out if out.count(f) > 1})
    if dup:
        raise ValueError(f"filter set names {', '.join(dup)} more than once: {', '.join(out)}")
    return out


def evaluation_filters(train_filters=MULTI_FILTER_DEFAULTS, seen: str | None = None,
                       unseen: str = UNSEEN_FILTER_DEFAULT) -> dict[str, str]:
    """``{"seen": spec, "unseen": spec}``: the filters an evaluation reports side by side.

    ``seen`` defaults to :data:`SEEN_FILTER_DEFAULT` when it is in ``train_filters``, else their first.
    ValueError if ``seen`` is not a training filter or ``unseen`` is one.
    """
    train = canonical_filters(train_filters)
    if seen is None:
        seen = SEEN_FILTER_DEFAULT if SEEN_FILTER_DEFAULT in train else train[0]
    seen, unseen = str(LowpassFilter.parse(seen)), str(LowpassFilter.parse(unseen))
    if seen not in train:
        raise ValueError(f"seen filter {seen} is not among the training filters ({', '.join(train)})")
    if unseen in train:
        raise ValueError(f"unseen filter {unseen} is one of the training filters ({', '.join(train)})")
    return {"seen": seen, "unseen": unseen}


def make_input(x, ratio: int, filter: str = SEEN_FILTER_DEFAULT, same_rate: bool = False, zero_phase: bool = True,
               axis: int = 0) -> np.ndarray:
    """The model input for high-rate ``x`` (float32): low-passed at the ratio-``ratio`` cutoff, then
    decimated unless ``same_rate``. Use it to degrade evaluation files as training did."""
    if same_rate:
        return lowpass(x, ratio, filter, zero_phase=zero_phase, axis=axis)
    return Degradation(ratio, filter, zero_phase)(x, axis=axis)


def _check_channels(channels: str) -> str:
    if channels not in CHANNEL_MODES:
        raise ValueError(f"unknown channels mode {channels!r}; valid: {', '.join(CHANNEL_MODES)}")
    return channels


@dataclass
class MultiFilterPatches:
    """High-rate patches with one input version per filter.

    ``hr`` float32 ``[N, P, 1]``; ``inputs`` float32 ``[K, N, L, 1]`` where ``inputs[k]`` was made with
    ``filters[k]`` and ``L`` is ``P`` (``same_rate``) or ``P // ratio``. ``channels`` says how
    multi-channel files became examples (``"mix"``: mono mix-down, ``"separate"``: one example per
    channel). ``n_files`` counts every file given.
    """

    hr: np.ndarray
    inputs: np.ndarray
    filters: tuple[str, ...]
    cfg: PatchConfig
    same_rate: bool = False
    channels: str = "mix"
    n_files: int = 0
    from_cache: bool = False
    cache_path: Path | None = None

    def __len__(self) -> int:
        return int(self.hr.shape[0])

    @property
    def ratio(self) -> int:
        return self.cfg.ratio

    def for_filter(self, filter: str) -> Patches:
        """The single-filter :class:`Patches` (``lr`` = the inputs made with ``filter``)."""
        spec = str(LowpassFilter.parse(filter))
        if spec not in self.filters:
            raise ValueError(f"filter {spec} is not in this bank ({', '.join(self.filters)})")
        k = self.filters.index(spec)
        return Patches(lr=self.inputs[k], hr=self.hr, cfg=self.cfg, n_files=self.n_files, from_cache=self.from_cache,
                       cache_path=self.cache_path)


def _signals(path, hr_rate: int, channels: str) -> list[np.ndarray]:
    """The 1-D high-rate signals one file contributes: its mono mix, or each channel."""
    x = prepare_signal(path, hr_rate, mix_down=channels == "mix")
    return [x] if x.ndim == 1 else [np.ascontiguousarray(x[:, c]) for c in range(x.shape[1])]


def _windows(x: np.ndarray, size: int, stride: int, count: int) -> np.ndarray:
    return np.lib.stride_tricks.sliding_window_view(x, size)[::stride][:count]


def _key(utts, cfg: PatchConfig, filters, same_rate: bool, channels: str) -> str:
    h = hashlib.sha1()
    h.update(json.dumps({"kind": "multifilter", "format": MULTIFILTER_CACHE_FORMAT, "patch_format": CACHE_FORMAT,
                         "files": cfg.key(utts), "filters": list(filters), "same_rate": same_rate,
                         "channels": channels}, sort_keys=True).encode())
    return "mf-" + h.hexdigest()


def _save(path: Path, p: MultiFilterPatches) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp-{secrets.token_hex(4)}.npz")
    try:
        np.savez(tmp, hr=p.hr, inputs=p.inputs, n_files=np.int64(p.n_files),
                 format=np.int64(MULTIFILTER_CACHE_FORMAT), filters=np.array(json.dumps(list(p.filters))))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _load(path: Path, cfg, filters, same_rate, channels) -> MultiFilterPatches | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if int(z["format"]) != MULTIFILTER_CACHE_FORMAT or tuple(json.loads(str(z["filters"]))) != filters:
                return None
            return MultiFilterPatches(hr=z["hr"], inputs=z["inputs"], filters=filters, cfg=cfg, same_rate=same_rate,
                                      channels=channels, n_files=int(z["n_files"]), from_cache=True, cache_path=path)
    except (OSError, KeyError, ValueError):
        return None  # unreadable or foreign: recompute and overwrite


def extract_multifilter_patches(utts: Sequence[Utterance], cfg: PatchConfig, filters=MULTI_FILTER_DEFAULTS, *,
                                same_rate: bool = False, channels: str = "mix", cache_dir=None,
                                progress: bool = True) -> MultiFilterPatches:
    """Patches of every file with one input version per filter, cut from whole filtered signals.

    Each file is read once, resampled to ``cfg.hr_rate`` (mixed to mono or split into channels, see
    ``channels``), trimmed to a multiple of ``cfg.ratio``, then filtered WHOLE with each filter
    (``cfg.zero_phase``; decimated unless ``same_rate``) and cut at the same starts (multiples of
    ``cfg.stride``). Silence is judged on the high-rate patch (``cfg.silence_db``), so all versions keep
    the same patches. ``cfg.filter`` is not used. With ``cache_dir`` the bank is stored as
    ``cache_dir/mf-<hash>.npz`` (atomically; the hash covers the config, the files' paths, sizes and
    mtimes, the filters, ``same_rate`` and ``channels``) and loaded on the next call.
    Raises ValueError when no patch survives, naming the files.
    """
    utts = list(utts)
    if not utts:
        raise ValueError("extract_multifilter_patches: no files given")
    filters = canonical_filters(filters)
    channels = _check_channels(channels)
    same_rate = bool(same_rate)
    cache_path = None
    if cache_dir is not None:
        cache_path = Path(cache_dir).expanduser() / f"{_key(utts, cfg, filters, same_rate, channels)}.npz"
        if cache_path.is_file():
            cached = _load(cache_path, cfg, filters, same_rate, channels)
            if cached is not None:
                return cached
    P, S, r = cfg.patch_size, cfg.stride, cfg.ratio
    L, Ls = (P, S) if same_rate else (P // r, S // r)
    hrs, banks = [], [[] for _ in filters]
    for u in tqdm(utts, desc="multi-filter patches", unit="file", disable=not progress):
        path = u.path if isinstance(u, Utterance) else u
        for x in _signals(path, cfg.hr_rate, channels):
            x = trim_to_multiple(x, r)
            if x.shape[0] < P:
                continue
            hp = np.lib.stride_tricks.sliding_window_view(x, P)[::S]
            keep = np.ones(hp.shape[0], bool)
            if cfg.silence_db is not None:
                with np.errstate(divide="ignore"):
                    keep = 10.0 * np.log10(np.mean(np.square(hp, dtype=np.float64), axis=-1)) >= cfg.silence_db
            if not keep.any():
                continue
            hrs.append(np.array(hp[keep], np.float32))
            for k, spec in enumerate(filters):
                y = make_input(x, r, spec, same_rate=same_rate, zero_phase=cfg.zero_phase)
                banks[k].append(np.array(_windows(y, L, Ls, hp.shape[0])[keep], np.float32))
    if not hrs:
        names = ", ".join(str(getattr(u, "path", u)) for u in utts[:5])
        names += f", ... ({len(utts)} files)" if len(utts) > 5 else ""
        raise ValueError(f"extract_multifilter_patches: no patch survived from {names} with {cfg} (files shorter "
                         f"than patch_size={P} samples at {cfg.hr_rate} Hz, or every patch below "
                         f"silence_db={cfg.silence_db} dBFS)")
    hr = np.concatenate(hrs)[..., None]
    inputs = np.stack([np.concatenate(b) for b in banks])[..., None]
    out = MultiFilterPatches(hr=hr, inputs=inputs, filters=filters, cfg=cfg, same_rate=same_rate, channels=channels,
                             n_files=len(utts), cache_path=cache_path)
    if cache_path is not None:
        _save(cache_path, out)
    return out


def _as_patches(hr) -> np.ndarray:
    hr = np.asarray(hr)
    if hr.ndim == 2:
        hr = hr[..., None]
    if hr.ndim != 3 or hr.shape[-1] != 1:
        raise ValueError(f"high-rate patches must be [N, P] or [N, P, 1], got shape {hr.shape}")
    if hr.shape[0] == 0:
        raise ValueError("no patches")
    return hr


def _filter_rows(hr2d: np.ndarray, ratio: int, spec: str, same_rate: bool, zero_phase: bool) -> np.ndarray:
    """``[B, P]`` high-rate rows -> ``[B, L]`` inputs with one filter (time on axis 1)."""
    return make_input(hr2d, ratio, spec, same_rate=same_rate, zero_phase=zero_phase, axis=1)


def filter_bank(hr, ratio: int, filters=MULTI_FILTER_DEFAULTS, *, same_rate: bool = False, zero_phase: bool = True,
                chunk: int = 512) -> np.ndarray:
    """``[K, N, L, 1]`` inputs from in-memory high-rate patches ``[N, P(, 1)]``, one version per filter.

    Filters each PATCH (edge effects at its ends); prefer :func:`extract_multifilter_patches` when the
    files are at hand. ``P`` must be a multiple of ``ratio``.
    """
    hr = _as_patches(hr)
    filters = canonical_filters(filters)
    if hr.shape[1] % ratio:
        raise ValueError(f"patch length {hr.shape[1]} is not a multiple of ratio={ratio}")
    L = hr.shape[1] if same_rate else hr.shape[1] // ratio
    out = np.empty((len(filters), hr.shape[0], L, 1), np.float32)
    for k, spec in enumerate(filters):
        for s in range(0, hr.shape[0], chunk):
            out[k, s:s + chunk, :, 0] = _filter_rows(hr[s:s + chunk, :, 0], ratio, spec, same_rate, zero_phase)
    return out


def _resolve_seed(seed) -> int:
    return int(np.random.SeedSequence().entropy % (2**62)) if seed is None else int(seed)


class MultiFilterAugment:
    """Re-degrade each example of a batch of high-rate patches with a filter drawn from ``filters``.

    ``aug(lr, hr) -> (new_input, hr)`` fits ``make_dataset(..., augment=aug)``: the incoming ``lr`` is
    ignored and every example of ``hr [B, P, 1]`` gets a random filter, applied to the patch on the
    CPU (``sosfiltfilt`` in a ``tf.numpy_function``, one call per filter present in the batch). The draw
    is keyed by ``seed`` and a fingerprint of the batch, so it is reproducible for a seeded dataset and
    changes every epoch when the batches are reshuffled (with ``shuffle=False`` an example would keep
    its filter: use :meth:`map` then). ``aug.map(ds)`` applies it to a dataset of ``hr`` batches or
    ``(anything, hr)`` batches, keyed by ``seed`` and the batch counter instead.

    ``same_rate=True`` gives same-length low-passed inputs, otherwise decimated ones.
    """

    def __init__(self, ratio: int, filters=MULTI_FILTER_DEFAULTS, zero_phase: bool = True, same_rate: bool = False,
                 seed: int | None = 0):
        self.ratio = Degradation(ratio).ratio
        self.filters = canonical_filters(filters)
        self.zero_phase = bool(zero_phase)
        self.same_rate = bool(same_rate)
        self.seed = _resolve_seed(seed)

    def __repr__(self) -> str:
        return (f"MultiFilterAugment(ratio={self.ratio}, filters={self.filters}, zero_phase={self.zero_phase}, "
                f"same_rate={self.same_rate}, seed={self.seed})")

    def apply_numpy(self, hr: np.ndarray, choice: np.ndarray) -> np.ndarray:
        """``hr [B, P(, 1)]`` filtered row by row with ``filters[choice[b]]`` -> ``[B, L, 1]`` float32."""
        hr = _as_patches(hr)
        choice = np.asarray(choice).reshape(-1)
        if choice.shape[0] != hr.shape[0]:
            raise ValueError(f"{choice.shape[0]} filter choices for {hr.shape[0]} examples")
        L = hr.shape[1] if self.same_rate else -(-hr.shape[1] // self.ratio)
        out = np.empty((hr.shape[0], L, 1), np.float32)
        for k in np.unique(choice):
            rows = choice == k
            out[rows, :, 0] = _filter_rows(hr[rows, :, 0], self.ratio, self.filters[int(k)], self.same_rate,
                                           self.zero_phase)
        return out

    def draw(self, key: tf.Tensor, n) -> tf.Tensor:
        """``n`` filter indices (int32) from the stateless RNG keyed by ``(seed, key)``."""
        seed = tf.stack([tf.constant(self.seed, tf.int64), tf.cast(key, tf.int64)])
        return tf.random.stateless_uniform(tf.reshape(n, [1]), seed=seed, minval=0, maxval=len(self.filters),
                                           dtype=tf.int32)

    def _degrade(self, hr: tf.Tensor, choice: tf.Tensor) -> tf.Tensor:
        hr = tf.convert_to_tensor(hr, tf.float32)
        y = tf.numpy_function(self.apply_numpy, [hr, choice], tf.float32, stateful=False)
        p = hr.shape[1]
        y.set_shape([hr.shape[0], p if (self.same_rate or p is None) else -(-p // self.ratio), 1])
        return y

    def __call__(self, lr, hr):
        hr = tf.convert_to_tensor(hr, tf.float32)
        if hr.shape.rank == 2:
            hr = hr[..., None]
        n = tf.shape(hr)[0]
        rows = tf.bitcast(tf.fingerprint(tf.reshape(hr, [n, -1])), tf.int64)
        key = tf.bitcast(tf.fingerprint(tf.reshape(rows, [1, -1])), tf.int64)[0]
        return self._degrade(hr, self.draw(key, n)), hr

    def map(self, ds: tf.data.Dataset, num_parallel_calls=tf.data.AUTOTUNE,
            deterministic: bool = True) -> tf.data.Dataset:
        """``ds`` of high-rate batches ``hr`` or ``(x, hr)`` -> ``(input, hr)``; draws keyed by the batch counter."""

        def _one(count, element):
            hr = element[-1] if isinstance(element, (tuple, list)) else element
            hr = tf.cast(hr, tf.float32)
            if hr.shape.rank == 2:
                hr = hr[..., None]
            return self._degrade(hr, self.draw(count, tf.shape(hr)[0])), hr

        return ds.enumerate().map(_one, num_parallel_calls=num_parallel_calls, deterministic=deterministic)


def _options(deterministic: bool) -> tf.data.Options:
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    options.deterministic = deterministic
    return options


def make_multifilter_dataset(patches, ratio: int | None, batch_size: int, *, filters=None,
                             same_rate: bool | None = None, seed: int | None = 0, shuffle: bool = True,
                             repeat: bool = True, drop_remainder: bool = True, mode: str = "precompute",
                             zero_phase: bool = True) -> tf.data.Dataset:
    """Batches of ``(input [B, L, 1], high_rate [B, P, 1])`` float32, each example with its own random
    filter, re-drawn every epoch.

    ``patches`` is a :class:`MultiFilterPatches` (from :func:`extract_multifilter_patches`: filters,
    ratio and same-rate come from it; ``ratio``/``filters``/``same_rate`` may be left ``None`` or must
    agree) or plain high-rate patches ``[N, P(, 1)]`` (``ratio`` required; ``filters`` default
    :data:`~keras_audiosr.degrade.MULTI_FILTER_DEFAULTS`, ``same_rate`` default False).

    ``mode="precompute"`` gathers each example's input from a bank of all K versions (built here by
    filtering the patches if only ``hr`` was given); ``"online"`` filters on the fly
    (:class:`MultiFilterAugment`), the only choice that needs no bank memory. Order: example indices
    ``shuffle`` (whole set, reshuffled each epoch) -> ``repeat`` -> ``batch`` -> per batch a stateless
    draw of one filter per example keyed by ``(seed, batch counter)`` -> gather/filter -> prefetch.
    A seed makes batches, filters and their order reproducible; ``seed=None`` picks one at random.
    Auto-sharding is by DATA, as :func:`~keras_audiosr.data.make_dataset`.
    """
    if mode not in MULTIFILTER_MODES:
        raise ValueError(f"unknown multi-filter mode {mode!r}; valid: {', '.join(MULTIFILTER_MODES)}")
    if isinstance(patches, MultiFilterPatches):
        if ratio is not None and int(ratio) != patches.ratio:
            raise ValueError(f"ratio={ratio} but the patches were made for ratio {patches.ratio}")
        if filters is not None and canonical_filters(filters) != patches.filters:
            raise ValueError(f"filters {canonical_filters(filters)} differ from the bank's {patches.filters}")
        if same_rate is not None and bool(same_rate) != patches.same_rate:
            raise ValueError(f"same_rate={same_rate} but the patches were made with same_rate={patches.same_rate}")
        hr, bank, ratio = patches.hr, patches.inputs, patches.ratio
        filters, same_rate, zero_phase = patches.filters, patches.same_rate, patches.cfg.zero_phase
    else:
        if ratio is None:
            raise ValueError("make_multifilter_dataset: ratio is required with plain high-rate patches")
        hr, bank = _as_patches(patches), None
        filters = canonical_filters(MULTI_FILTER_DEFAULTS if filters is None else filters)
        same_rate = bool(same_rate)
    n = int(hr.shape[0])
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"make_multifilter_dataset: batch_size must be a positive integer, got {batch_size!r}")
    batch_size = int(batch_size)
    if drop_remainder and not repeat and n < batch_size:
        raise ValueError(f"make_multifilter_dataset: {n} patches < batch_size {batch_size} with drop_remainder=True "
                         f"gives no batches; lower batch_size or pass drop_remainder=False")
    seed = _resolve_seed(seed)
    aug = MultiFilterAugment(ratio, filters, zero_phase=zero_phase, same_rate=same_rate, seed=seed)
    deterministic = True
    hr_t = tf.constant(np.asarray(hr, np.float32))
    if mode == "precompute":
        if bank is None:
            bank = filter_bank(hr, aug.ratio, filters, same_rate=same_rate, zero_phase=zero_phase)
        bank_t = tf.constant(np.asarray(bank, np.float32))

        def _batch(count, idx):
            k = tf.cast(aug.draw(count, tf.shape(idx)[0]), tf.int64)
            return tf.gather_nd(bank_t, tf.stack([k, idx], axis=-1)), tf.gather(hr_t, idx)
    else:
        def _batch(count, idx):
            y = tf.gather(hr_t, idx)
            return aug._degrade(y, aug.draw(count, tf.shape(idx)[0])), y

    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(buffer_size=n, seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.batch(batch_size, drop_remainder=drop_remainder).enumerate()
    ds = ds.map(_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=deterministic)
    return ds.prefetch(tf.data.AUTOTUNE).with_options(_options(deterministic))


def pipeline_throughput(dataset: tf.data.Dataset, batches: int = 50, warmup: int = 5) -> dict:
    """Iterate ``warmup`` then ``batches`` batches of ``dataset`` (elements ``(x, y)``) and time the latter.

    Returns ``{"patches_per_s", "batches_per_s", "seconds", "batches", "patches"}``.
    """
    if batches < 1:
        raise ValueError(f"batches must be >= 1, got {batches}")
    it = iter(dataset)
    for _ in range(warmup):
        next(it)
    n = 0
    start = time.perf_counter()
    for _ in range(batches):
        x, _y = next(it)
        n += int(x.shape[0])
    seconds = time.perf_counter() - start
    return {"patches_per_s": n / seconds, "batches_per_s": batches / seconds, "seconds": seconds,
            "batches": batches, "patches": n}


def training_throughput(model, batch, steps: int = 20, warmup: int = 2, optimizer="adam", loss="mse") -> dict:
    """Time ``steps`` ``train_on_batch`` calls on one fixed batch ``(x, y)`` (no input pipeline involved).

    The model is compiled with ``optimizer``/``loss`` if it is not compiled yet. Returns
    ``{"steps_per_s", "patches_per_s", "seconds", "steps", "batch_size"}``.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    x, y = batch
    if not getattr(model, "compiled", False):
        model.compile(optimizer=optimizer, loss=loss)
    for _ in range(max(1, warmup)):
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    seconds = time.perf_counter() - start
    b = int(x.shape[0])
    return {"steps_per_s": steps / seconds, "patches_per_s": steps * b / seconds, "seconds": seconds,
            "steps": steps, "batch_size": b}
