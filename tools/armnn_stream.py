"""Streams int16 PCM through a stateful streaming ``.tflite`` with pyarmnn, frame by frame (the SYSTEM Python).

    /usr/bin/python3 tools/armnn_stream.py MODEL.tflite IN.npy OUT.npy DESCRIPTION.json [BACKEND]

``IN.npy``: the int16 frames already cut, ``[frames, frame_length]``; ``DESCRIPTION.json``: the
model's embedded description (``keras_audiosr.streaming.metadata.read_metadata``), which names the
audio tensors and the states. ``OUT.npy`` receives ``[frames, output_length]`` int16: the raw stream,
states carried from call to call exactly as ``edge/native/bwe_stream`` carries them, so the two must
agree bit for bit (same Arm NN kernels). Imports only numpy and pyarmnn (Debian's ``python3-pyarmnn``
is built for the system Python); exit status 5 when pyarmnn is missing.
"""

import contextlib
import io
import json
import sys


def main(argv):
    if len(argv) not in (4, 5):
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    import numpy as np

    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            import pyarmnn as ann
    except ImportError as e:
        sys.stderr.write(f"pyarmnn is not importable by {sys.executable}: {e}\n")
        return 5
    model, frames_path, out_path, desc_path = argv[:4]
    backend = argv[4] if len(argv) == 5 else "CpuRef"
    with open(desc_path) as f:
        desc = json.load(f)
    frames = np.load(frames_path)
    parser = ann.ITfLiteParser()
    network = parser.CreateNetworkFromBinaryFile(model)
    runtime = ann.IRuntime(ann.CreationOptions())
    optimized, _ = ann.Optimize(network, [ann.BackendId(backend)], runtime.GetDeviceSpec(), ann.OptimizerOptions())
    net_id, _ = runtime.LoadNetwork(optimized)
    audio_in = parser.GetNetworkInputBindingInfo(0, desc["input"]["name"])
    audio_out = parser.GetNetworkOutputBindingInfo(0, desc["output"]["name"])
    state_in = [parser.GetNetworkInputBindingInfo(0, s["input"]) for s in desc["states"]]
    state_out = [parser.GetNetworkOutputBindingInfo(0, s["output"]) for s in desc["states"]]
    states = [np.full(s["shape"], s["initial_value"], np.dtype(s["dtype"])) for s in desc["states"]]
    out = []
    for frame in frames:
        ins = ann.make_input_tensors(
            [audio_in] + state_in, [np.ascontiguousarray(frame.reshape(desc["input"]["shape"]))] + states
        )
        outs = ann.make_output_tensors([audio_out] + state_out)
        runtime.EnqueueWorkload(net_id, ins, outs)
        results = ann.workload_tensors_to_ndarray(outs)
        out.append(np.asarray(results[0]).reshape(-1))
        states = [np.asarray(r).reshape(s["shape"]).astype(s["dtype"]) for r, s in zip(results[1:], desc["states"])]
    np.save(out_path, np.stack(out).astype(np.int16))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
