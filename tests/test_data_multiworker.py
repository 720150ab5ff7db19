"""The streaming pipeline under MultiWorkerMirroredStrategy: two local workers, each reading its own files."""

import json
import subprocess
import sys
import time

import pytest

from tests.corpus_helpers import make_vctk
from tests.test_training_multiworker import ROOT, TIMEOUT_S, _env, _free_ports


def test_two_workers_train_on_disjoint_files(tmp_path):
    corpus = make_vctk(tmp_path / "corpus", speakers=tuple(f"p{k:03d}" for k in range(10)), per_speaker=2, seconds=0.5)
    cluster = {"worker": [f"localhost:{p}" for p in _free_ports(2)]}
    out = tmp_path / "chief.json"
    procs = []
    for index in range(2):
        env = _env()
        env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "tests" / "multiworker_stream_worker.py"),
                    str(corpus),
                    str(tmp_path / "cache"),
                    str(out),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    deadline = time.monotonic() + TIMEOUT_S
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=max(1.0, deadline - time.monotonic())))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for index, (proc, (_, err)) in enumerate(zip(procs, outputs)):
        assert proc.returncode == 0, f"worker {index} exited {proc.returncode}:\n{err[-4000:]}"

    def value(stdout, tag):
        return next(line.split(" ", 1)[1] for line in stdout.splitlines() if line.startswith(tag + " "))

    checksums = [float(value(o, "CHECKSUM")) for o, _ in outputs]
    assert checksums[0] == pytest.approx(checksums[1], rel=1e-6)  # synchronous training
    files = [set(json.loads(value(o, "FILES"))) for o, _ in outputs]
    report = json.loads(out.read_text())
    assert report["replicas"] == 2 and report["steps"] == 3 and report["loss"][0] > 0
    assert files[0] and files[1] and not files[0] & files[1]  # each worker reads its own share
    assert files[0] | files[1] <= set(range(report["n_files"]))
