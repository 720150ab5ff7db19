"""Runs ``.tflite`` models under Arm NN (pyarmnn); executed by the SYSTEM Python in a subprocess (see
:mod:`keras_audiosr.export.armnn`).

Usage::

    /usr/bin/python3 -I armnn_runner.py MODEL.tflite INPUTS.npz OUTPUTS.npz [BACKEND]
    /usr/bin/python3 -I armnn_runner.py --batch MANIFEST.json RESULTS.jsonl [BACKEND]
    /usr/bin/python3 -I armnn_runner.py --probe        # prints the Arm NN version and its backends

``INPUTS.npz`` holds ``in0, in1, ...`` and, optionally, ``input_names``: the tensor each ``in<i>`` is
bound to, by name (the parser's ``GetNetworkInputBindingInfo``); without names they follow the
subgraph's input order. Each array must already be in its tensor's dtype. ``OUTPUTS.npz`` receives
``out0, out1, ...`` in the order of the subgraph outputs, plus ``input_names`` and ``output_names``.

``--batch`` runs every ``[model, inputs, outputs]`` triple of the JSON list ``MANIFEST.json`` in this
one process and appends one JSON line per model to ``RESULTS.jsonl`` as it goes (``{"index", "status":
"ok" | "refused" | "bad_inputs", "message"}``), so a crash leaves the results before it.

Exit status: 0 done; 3 Arm NN refused the model (parse or optimise error: the message names the
operator); 4 the inputs do not fit; 5 pyarmnn is missing. Errors are one line on stderr. Only numpy
and pyarmnn are imported, so this file must stay independent of the rest of the package.
"""

import json
import sys


class _Refused(Exception):
    pass


class _BadInputs(Exception):
    pass


def _import_armnn():
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        import pyarmnn as ann  # prints a line for each parser it was built without
    return ann


def _run(ann, runtime, model_path, inputs_path, outputs_path, backend):
    import numpy as np

    inputs = np.load(inputs_path)
    try:
        parser = ann.ITfLiteParser()
        network = parser.CreateNetworkFromBinaryFile(model_path)
        in_names = list(parser.GetSubgraphInputTensorNames(0))
        out_names = list(parser.GetSubgraphOutputTensorNames(0))
        given = [str(n) for n in inputs["input_names"]] if "input_names" in inputs.files else in_names
        unknown = sorted(set(given) - set(in_names))
        if unknown or len(given) != len(in_names):
            raise _BadInputs(f"inputs named {given} do not match the model's inputs {in_names}")
        in_infos = [parser.GetNetworkInputBindingInfo(0, n) for n in given]
        out_infos = [parser.GetNetworkOutputBindingInfo(0, n) for n in out_names]
        optimized, _ = ann.Optimize(network, [ann.BackendId(backend)], runtime.GetDeviceSpec(), ann.OptimizerOptions())
        net_id, _ = runtime.LoadNetwork(optimized)
    except _BadInputs:
        raise
    except Exception as e:  # pyarmnn raises RuntimeError with Arm NN's own message
        raise _Refused(" ".join(str(e).split())) from None
    try:
        arrays = []
        for i, (name, info) in enumerate(zip(given, in_infos)):
            key = f"in{i}"
            if key not in inputs.files:
                raise _BadInputs(f"no array {key} for input {name!r} in {inputs_path}")
            tensor_info = info[1]
            shape = tuple(tensor_info.GetShape()[d] for d in range(tensor_info.GetNumDimensions()))
            a = np.ascontiguousarray(inputs[key])
            if a.size != int(np.prod(shape)):
                raise _BadInputs(f"input {name!r}: {a.size} values for a tensor of shape {shape}")
            arrays.append(a.reshape(shape))
        in_tensors = ann.make_input_tensors(in_infos, arrays)
        out_tensors = ann.make_output_tensors(out_infos)
        runtime.EnqueueWorkload(net_id, in_tensors, out_tensors)
        results = ann.workload_tensors_to_ndarray(out_tensors)
    finally:
        runtime.UnloadNetwork(net_id)
    np.savez(
        outputs_path,
        input_names=np.array(given),
        output_names=np.array(out_names),
        **{f"out{i}": r for i, r in enumerate(results)},
    )


def main(argv):
    batch = bool(argv) and argv[0] == "--batch"
    if argv != ["--probe"] and not (batch and len(argv) in (3, 4)) and not (not batch and len(argv) in (3, 4)):
        sys.stderr.write(
            "usage: armnn_runner.py MODEL.tflite INPUTS.npz OUTPUTS.npz [BACKEND] | "
            "--batch MANIFEST.json RESULTS.jsonl [BACKEND] | --probe\n"
        )
        return 2
    try:
        ann = _import_armnn()
    except ImportError as e:
        sys.stderr.write(f"pyarmnn is not importable by {sys.executable}: {e}\n")
        return 5
    runtime = ann.IRuntime(ann.CreationOptions())
    if argv == ["--probe"]:
        backends = [str(b) for b in runtime.GetDeviceSpec().GetSupportedBackends()]
        print(f"{ann.ARMNN_VERSION} {','.join(backends)}")
        return 0
    if batch:
        manifest_path, results_path = argv[1:3]
        backend = argv[3] if len(argv) == 4 else "CpuRef"
        with open(manifest_path) as f:
            manifest = json.load(f)
        with open(results_path, "a") as log:
            for index, (model, inputs, outputs) in enumerate(manifest):
                try:
                    _run(ann, runtime, model, inputs, outputs, backend)
                    status, message = "ok", ""
                except _Refused as e:
                    status, message = "refused", str(e)
                except _BadInputs as e:
                    status, message = "bad_inputs", str(e)
                log.write(json.dumps({"index": index, "status": status, "message": message}) + "\n")
                log.flush()
        return 0
    model_path, inputs_path, outputs_path = argv[:3]
    backend = argv[3] if len(argv) == 4 else "CpuRef"
    try:
        _run(ann, runtime, model_path, inputs_path, outputs_path, backend)
    except _Refused as e:
        sys.stderr.write(f"{e}\n")
        return 3
    except _BadInputs as e:
        sys.stderr.write(f"{e}\n")
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
