"""The prepared signal store: contents, memory-mapping, resume after a failure or a kill, skips, errors, progress."""

import json
import os
import signal as sig
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from keras_audiosr.audio import AudioError, read_audio, resample
from keras_audiosr.data import Utterance, find_vctk, prepare_store
from keras_audiosr.data import store as store_mod
from keras_audiosr.data.store import SignalStore
from tests.corpus_helpers import make_folder, make_vctk, signal

ROOT = Path(__file__).resolve().parents[1]


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _snapshot(store: SignalStore) -> tuple[str, dict]:
    """The index text and every array's bytes: what two stores must share to be the same."""
    return store.index_path.read_text(), {f.array: (store.root / f.array).read_bytes() for f in store.files}


@pytest.fixture
def corpus(tmp_path):
    return find_vctk(make_vctk(tmp_path / "c", per_speaker=2, seconds=0.5, rate=48000))


def test_store_holds_the_resampled_signals_memory_mapped(corpus, tmp_path):
    store = prepare_store(corpus, 16000, cache_dir=tmp_path / "cache", workers=1, progress=False)
    assert len(store) == len(corpus) == 10 and not store.from_cache
    assert [f.speaker for f in store.files] == [u.speaker for u in corpus]
    for i, u in enumerate(corpus):
        mm = store.signal(i)
        assert isinstance(mm, np.memmap) and mm.dtype == np.float16 and mm.shape == (1, 8000)
        x, rate = read_audio(u.path, mix_down=True)
        np.testing.assert_allclose(store.read(i, 0, 0, 8000), resample(x[:, 0], rate, 16000), atol=2e-3, rtol=1e-3)
        assert store.files[i].rate == 48000 and store.files[i].length == 8000
    assert store.seconds == pytest.approx(5.0)
    assert store.summary()["source_rates"] == {"48000": 10}
    idx = json.loads(store.index_path.read_text())
    assert idx["format"] == 1 and len(idx["files"]) == 10


def test_second_call_only_loads(corpus, tmp_path, monkeypatch):
    first = prepare_store(corpus, 16000, cache_dir=tmp_path, workers=1, progress=False)

    def boom(*a, **k):
        raise AssertionError("a prepared file was prepared again")

    monkeypatch.setattr(store_mod, "_prepare_file", boom)
    again = prepare_store(corpus, 16000, cache_dir=tmp_path, workers=1, progress=False)
    assert again.from_cache and _snapshot(again) == _snapshot(first)
    # A different list of the same files (another split) reuses every array.
    part = prepare_store(corpus[:4], 16000, cache_dir=tmp_path, workers=1, progress=False)
    assert [f.array for f in part.files] == [f.array for f in first.files[:4]]


def test_changed_file_or_rate_is_prepared_again(corpus, tmp_path):
    first = prepare_store(corpus, 16000, cache_dir=tmp_path, workers=1, progress=False)
    path = corpus[0].path
    from keras_audiosr.audio import write_audio

    write_audio(path, signal(99, 0.25, 48000), 48000)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    second = prepare_store(corpus, 16000, cache_dir=tmp_path, workers=1, progress=False)
    assert second.files[0].array != first.files[0].array and second.files[0].length == 4000
    assert second.files[1].array == first.files[1].array
    other = prepare_store(corpus, 8000, cache_dir=tmp_path, workers=1, progress=False)
    assert other.root != second.root and other.files[1].length == 4000


def test_resume_after_a_failure_gives_the_same_store(corpus, tmp_path, monkeypatch):
    whole = prepare_store(corpus, 16000, cache_dir=tmp_path / "whole", workers=1, progress=False)
    real = store_mod._prepare_file
    calls = []

    def fail_after_four(*args):
        if len(calls) == 4:
            raise KeyboardInterrupt  # as a kill would stop it: mid-way, nothing caught
        calls.append(args[0])
        return real(*args)

    monkeypatch.setattr(store_mod, "_prepare_file", fail_after_four)
    with pytest.raises(KeyboardInterrupt):
        prepare_store(corpus, 16000, cache_dir=tmp_path / "resumed", workers=1, progress=False)
    root = tmp_path / "resumed" / "store-v1" / "16000hz-mix"
    assert len(list(root.glob("arrays/*/*.npy"))) == 4 and not list(root.glob("indexes/*.json"))
    calls.clear()
    monkeypatch.setattr(store_mod, "_prepare_file", lambda *a: calls.append(a[0]) or real(*a))
    resumed = prepare_store(corpus, 16000, cache_dir=tmp_path / "resumed", workers=1, progress=False)
    assert len(calls) == 6  # only the files the first run did not finish
    assert _snapshot(resumed) == _snapshot(whole)


def _wait_until_group_is_dead(pgid: int, timeout: float = 30.0) -> None:
    """Waits until no process of group ``pgid`` runs (zombies count as dead: they write nothing)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = False
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2 :].split()
            if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
                alive = True
                break
        if not alive:
            return
        time.sleep(0.05)


def test_resume_after_sigkill_of_a_parallel_preparation(tmp_path):
    corpus_root = make_folder(tmp_path / "c", {f"s{k % 4}/f{k:02d}.wav": (4.0, 44100, 1) for k in range(24)})
    cache = tmp_path / "cache"
    script = textwrap.dedent(f"""
        from keras_audiosr.data import load_corpus, prepare_store
        prepare_store(load_corpus({str(corpus_root)!r}), 16000, cache_dir={str(cache)!r}, workers=2, progress=False)
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=_env(),
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    journal = cache / "store-v1" / "16000hz-mix" / "journal.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if journal.is_file() and len(journal.read_text().splitlines()) >= 3:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, sig.SIGKILL)
    proc.wait()
    _wait_until_group_is_dead(proc.pid)  # SIGKILL is delivered at once, but a loaded machine takes a while to end them
    done = len(journal.read_text().splitlines())
    if done >= 24:
        pytest.skip("the preparation finished before it could be killed")
    assert done >= 3, proc.stderr.read().decode()[-2000:]
    from keras_audiosr.data import load_corpus

    utts = load_corpus(corpus_root)
    resumed = prepare_store(utts, 16000, cache_dir=cache, workers=2, progress=False)
    whole = prepare_store(utts, 16000, cache_dir=tmp_path / "whole", workers=1, progress=False)
    assert _snapshot(resumed) == _snapshot(whole)
    assert not list((cache / "store-v1").rglob("*.tmp.npy"))


def test_files_below_the_high_rate_are_skipped_with_one_line(tmp_path, capsys):
    root = make_folder(
        tmp_path / "c", {"a/x.wav": (0.5, 48000, 1), "b/y.wav": (0.5, 8000, 1), "c/z.wav": (0.5, 22050, 1)}
    )
    from keras_audiosr.data import load_corpus

    utts = load_corpus(root)
    store = prepare_store(utts, 16000, cache_dir=tmp_path / "cache", workers=1, progress=False)
    assert [Path(f.path).name for f in store.files] == ["x.wav", "z.wav"]
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if "skipped" in line]
    assert len(warnings) == 1 and "y.wav (8000 Hz)" in warnings[0]
    assert store.skipped[0]["rate"] == 8000
    with pytest.raises(ValueError, match="none of the 3 files reaches the high rate 96000 Hz"):
        prepare_store(utts, 96000, cache_dir=tmp_path / "cache", workers=1, progress=False)


def test_separate_channels_and_bad_settings(tmp_path):
    root = make_folder(tmp_path / "c", {"a.wav": (0.5, 16000, 2), "b.wav": (0.5, 16000, 1)})
    utts = [Utterance(root / "a.wav", "a", "a"), Utterance(root / "b.wav", "b", "b")]
    store = prepare_store(utts, 16000, channels="separate", cache_dir=tmp_path, workers=1, progress=False)
    assert [f.channels for f in store.files] == [2, 1] and store.signal(0).shape == (2, 8000)
    x, _ = read_audio(root / "a.wav")
    np.testing.assert_allclose(store.read(0, 1, 0, 8000), x[:, 1], atol=1e-3)
    assert store.seconds == pytest.approx(1.5)
    with pytest.raises(ValueError, match="unknown channels mode 'stereo'; valid: mix, separate"):
        prepare_store(utts, 16000, channels="stereo", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="no files given"):
        prepare_store([], 16000, cache_dir=tmp_path)


def test_unreadable_file_is_named_and_progress_is_kept(corpus, tmp_path):
    bad = corpus[3].path
    bad.write_bytes(b"RIFF....WAVEfmt not really")
    with pytest.raises(AudioError, match=f"{bad.name}.*fix or remove the file") as info:
        prepare_store(corpus, 16000, cache_dir=tmp_path, workers=1, progress=False)
    assert str(bad) in str(info.value)
    assert len(list(tmp_path.glob("store-v1/*/arrays/*/*.npy"))) == 3


def test_progress_in_a_log_is_a_few_lines(tmp_path, capsys):
    root = make_folder(tmp_path / "c", {f"s/f{k:02d}.wav": (0.2, 16000, 1) for k in range(30)})
    from keras_audiosr.data import load_corpus

    prepare_store(load_corpus(root), 16000, cache_dir=tmp_path / "cache", workers=2, progress=True)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "\r" not in text
    lines = [line for line in text.splitlines() if line.startswith("[keras_audiosr]")]
    assert 3 <= len(lines) <= 13 and "30/30 files (100%" in text


_RSS_SCRIPT = """
import resource, sys
import numpy as np
from keras_audiosr.data.store import SignalStore
from keras_audiosr.data.stream import CropSampler

def rss_mb():
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith("VmRSS")) / 1024

store = SignalStore.load(sys.argv[1], max_open=4)
sampler = CropSampler(store, ratio=2, patch_size=8192, degradations="cheby1:8")
sampler.batch(0, range(20))
before = rss_mb()
for k in range(20):
    sampler.batch(0, range(20 + 20 * k, 40 + 20 * k))
print("RSS", before, rss_mb(), isinstance(store.signal(0), np.memmap), flush=True)
"""


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads VmRSS from /proc")
def test_reading_does_not_load_the_store(tmp_path):
    """400 random crops from a 115 MB store leave the resident size within a few MB of where it started."""
    from keras_audiosr.data.store import StoredFile, _index_dict

    rng = np.random.default_rng(0)
    files = []
    for k in range(12):  # 12 files of 5 minutes at 16 kHz, written straight into a store
        rel = f"arrays/{k:02d}/{k:040d}.npy"
        (tmp_path / "s" / rel).parent.mkdir(parents=True)
        np.save(tmp_path / "s" / rel, (0.1 * rng.standard_normal((1, 4_800_000))).astype(np.float16))
        files.append(StoredFile(f"f{k}.wav", "c", f"s{k}", "u", rel, 4_800_000, 1, 16000))
    (tmp_path / "s" / "indexes").mkdir()
    index = tmp_path / "s" / "indexes" / "i.json"
    index.write_text(json.dumps(_index_dict(16000, "mix", files, [])))
    store = SignalStore.load(index)
    size_mb = store.disk_bytes() / 2**20
    assert size_mb > 100
    out = subprocess.run(
        [sys.executable, "-c", _RSS_SCRIPT, str(store.index_path)],
        cwd=ROOT,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = next(line for line in out.stdout.splitlines() if line.startswith("RSS")), out.stderr[-2000:]
    _, before, after, memmap = line[0].split()
    assert memmap == "True"
    print(line[0])
    assert float(after) - float(before) < 0.1 * size_mb, line[0]


def test_default_cache_dir(monkeypatch, tmp_path):
    from keras_audiosr.data import default_cache_dir

    monkeypatch.setenv("KERAS_AUDIOSR_CACHE", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("KERAS_AUDIOSR_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "keras_audiosr"


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="zombies are read from /proc")
def test_a_killed_unreaped_writer_counts_as_gone():
    """A worker of a killed preparation can stay a zombie (its parent died too): its temporary file is stale."""
    from keras_audiosr.utils import process_gone as _process_gone

    proc = subprocess.Popen(["sleep", "30"])
    try:
        assert not _process_gone(proc.pid) and not _process_gone(os.getpid())
        proc.kill()
        deadline = time.monotonic() + 10
        while not _process_gone(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _process_gone(proc.pid)  # killed, not yet reaped
    finally:
        proc.wait()
    assert _process_gone(proc.pid)
