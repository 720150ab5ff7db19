"""Runs a ``.tflite`` under Arm NN (pyarmnn); executed by the SYSTEM Python in a subprocess (see :mod:`edge.armnn`).

Usage: ``/usr/bin/python3 -I armnn_runner.py MODEL.tflite INPUTS.npz OUTPUTS.npz [BACKEND]``, or
``armnn_runner.py --probe`` (prints the Arm NN version and its backends).

``INPUTS.npz`` holds ``in0, in1, ...`` in the order of the model's subgraph inputs, each already in the
input tensor's dtype and shape. ``OUTPUTS.npz`` receives ``out0, out1, ...`` in the order of the
subgraph outputs, plus ``input_names`` and ``output_names``. Exit status: 0 done; 3 Arm NN refused the
model (parse or optimise error: the message names the operator); 4 the inputs do not fit; 5 pyarmnn is
missing. Errors are one line on stderr. Only numpy and pyarmnn are imported, so this file must stay
independent of the rest of the package.
"""
import sys


def main(argv):
    if argv != ["--probe"] and len(argv) not in (3, 4):
        sys.stderr.write("usage: armnn_runner.py MODEL.tflite INPUTS.npz OUTPUTS.npz [BACKEND]\n")
        return 2
    import numpy as np

    import contextlib
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            import pyarmnn as ann  # prints a line for each parser it was built without
    except ImportError as e:
        sys.stderr.write(f"pyarmnn is not importable by {sys.executable}: {e}\n")
        return 5
    if len(argv) == 1 and argv[0] == "--probe":
        runtime = ann.IRuntime(ann.CreationOptions())
        backends = [str(b) for b in runtime.GetDeviceSpec().GetSupportedBackends()]
        print(f"{ann.ARMNN_VERSION} {','.join(backends)}")
        return 0
    model_path, inputs_path, outputs_path = argv[:3]
    backend = argv[3] if len(argv) == 4 else "CpuRef"
    inputs = np.load(inputs_path)
    try:
        parser = ann.ITfLiteParser()
        network = parser.CreateNetworkFromBinaryFile(model_path)
        in_names = list(parser.GetSubgraphInputTensorNames(0))
        out_names = list(parser.GetSubgraphOutputTensorNames(0))
        in_infos = [parser.GetNetworkInputBindingInfo(0, n) for n in in_names]
        out_infos = [parser.GetNetworkOutputBindingInfo(0, n) for n in out_names]
        runtime = ann.IRuntime(ann.CreationOptions())
        optimized, messages = ann.Optimize(network, [ann.BackendId(backend)], runtime.GetDeviceSpec(),
                                           ann.OptimizerOptions())
        net_id, _ = runtime.LoadNetwork(optimized)
    except Exception as e:  # pyarmnn raises RuntimeError with Arm NN's own message
        sys.stderr.write(" ".join(str(e).split()) + "\n")
        return 3
    arrays = []
    for i, (name, info) in enumerate(zip(in_names, in_infos)):
        key = f"in{i}"
        if key not in inputs:
            sys.stderr.write(f"no array {key} for input {name!r} in {inputs_path}\n")
            return 4
        tensor_info = info[1]
        shape = tuple(tensor_info.GetShape()[d] for d in range(tensor_info.GetNumDimensions()))
        a = np.ascontiguousarray(inputs[key])
        if a.size != int(np.prod(shape)):
            sys.stderr.write(f"input {name!r}: {a.size} values for a tensor of shape {shape}\n")
            return 4
        arrays.append(a.reshape(shape))
    in_tensors = ann.make_input_tensors(in_infos, arrays)
    out_tensors = ann.make_output_tensors(out_infos)
    runtime.EnqueueWorkload(net_id, in_tensors, out_tensors)
    results = ann.workload_tensors_to_ndarray(out_tensors)
    np.savez(outputs_path, input_names=np.array(in_names), output_names=np.array(out_names),
             **{f"out{i}": r for i, r in enumerate(results)})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
