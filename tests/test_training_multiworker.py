"""MultiWorkerMirroredStrategy from TF_CONFIG: two local worker processes run tests/multiworker_worker.py."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.corpus_helpers import tiny_args

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 180


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def _free_ports(n):
    sockets = [socket.socket() for _ in range(n)]
    try:
        for sock in sockets:
            sock.bind(("localhost", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@pytest.mark.slow  # kept out of the default run for time (-m slow runs it)
def test_multi_worker_training_from_tf_config(tmp_path):
    """Two local workers, MultiWorkerMirroredStrategy from TF_CONFIG: plain and adversarial fit finish in sync."""
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    out = tmp_path / "chief.json"
    procs, logs = [], []
    for index in range(2):
        env = _env()
        env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        out_log, err_log = open(tmp_path / f"w{index}.out", "w+"), open(tmp_path / f"w{index}.err", "w+")
        logs.append((out_log, err_log))
        procs.append(
            subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "multiworker_worker.py"), str(out)],
                cwd=ROOT,
                env=env,
                stdout=out_log,
                stderr=err_log,
            )
        )
    deadline = time.monotonic() + TIMEOUT_S
    try:
        for proc in procs:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    outputs = []
    for out_log, err_log in logs:
        out_log.seek(0)
        err_log.seek(0)
        outputs.append((out_log.read(), err_log.read()))
        out_log.close()
        err_log.close()
    for index, (proc, (_, stderr)) in enumerate(zip(procs, outputs)):
        assert proc.returncode == 0, (
            f"worker {index} exited {proc.returncode} (timeout {TIMEOUT_S} s):\n{stderr[-4000:]}"
        )
    checksums = [
        float(line.split()[1]) for stdout, _ in outputs for line in stdout.splitlines() if line.startswith("CHECKSUM ")
    ]
    assert len(checksums) == 2 and checksums[0] == pytest.approx(checksums[1], rel=1e-6)
    report = json.loads(out.read_text())
    assert report["replicas"] == 2
    assert len(report["loss"]) == 1 and report["loss"][0] > 0
    assert (report["generator_steps"], report["critic_steps"]) == (2, 4)
    assert all(v[0] == v[0] for v in report["gan"].values()) and {"g_loss", "d_loss", "gp"} <= set(report["gan"])
    assert report["checksum"] == pytest.approx(checksums[0], rel=1e-6)
    assert not list(tmp_path.glob("*.tmp*"))


def test_multi_worker_recipe_runs_to_completion(tmp_path):
    """Two local workers run recipes.vctk_unet (tiny, two steps) under TF_CONFIG; the chief writes the outputs."""
    ports = _free_ports(2)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    out = tmp_path / "run"
    procs = []
    for index in range(2):
        env = _env()
        env["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        cmd = [
            sys.executable,
            "-m",
            "recipes.vctk_unet",
            *tiny_args(out, 1),
        ]
        procs.append(
            subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        )
    logs = []
    for proc in procs:
        try:
            logs.append(proc.communicate(timeout=TIMEOUT_S)[0])
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            raise
    for index, (proc, log) in enumerate(zip(procs, logs)):
        assert proc.returncode == 0, f"worker {index} exited {proc.returncode}:\n{log[-4000:]}"
        assert "MultiWorkerMirroredStrategy with 2 replica(s)" in log
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 1 and (out / "model.keras").is_file()
