"""Graph checks of a ``.tflite``, read from the flatbuffer itself (so they cover any model, whoever converted it).

* :func:`check_builtin_ops`: TFLite builtin operators only (no Flex / SELECT_TF_OPS, no custom ops;
  a Flex op appears as a custom op named ``Flex<TfOpName>``).
* :func:`check_static_graph`: a graph that embedded runtimes, NPU and DSP delegates accept: every
  operator in :data:`EMBEDDED_OPS` and every tensor of fully static shape (no -1 in a tensor's
  shape or shape signature, so no shape is computed at run time).

:data:`EMBEDDED_OPS` starts from what Arm NN 20.08's TfLite parser accepts and holds only operators
verified here to parse AND to run on Arm NN 20.08 (Debian ``python3-pyarmnn`` 20.08, library
22.0.0, CpuRef backend) in float32 and int8, matching LiteRT (float: within 1e-6; int8: within one
quantization step), each in a one-operator model. Verified and left out: SHAPE, TILE, GATHER, CAST,
ABS, SQRT, RSQRT, SQUARE, SUM, REDUCE_MAX, PRELU, ELU, GELU, BATCH_MATMUL and DEPTH_TO_SPACE are
refused by the parser; PACK/UNPACK parse with static shapes but are left out because in exported
graphs they build shapes at run time; EXPAND_DIMS/SQUEEZE of a static graph become RESHAPE.
Caveats the operator name cannot show (the second-runtime gate, :mod:`keras_audiosr.export.armnn`, catches them):
SPLIT along the last axis crashes Arm NN 20.08 (use SPLIT_V or STRIDED_SLICE); int8 PAD pads with
0 instead of the zero point (up to 15 steps off); FULLY_CONNECTED runs on it only in float with a
2-D input; LEAKY_RELU int8 differs by one step.
"""

from __future__ import annotations

import collections
import re

from keras_audiosr.streaming.metadata import load_flatbuffer, parse_model

__all__ = [
    "EMBEDDED_OPS",
    "GraphReport",
    "NonBuiltinOpError",
    "StaticGraphError",
    "check_builtin_ops",
    "check_static_graph",
    "flex_ops_in_error",
    "non_builtin_ops",
    "op_counts",
    "operators",
    "static_graph_report",
]

# Operator -> what it is for / what was verified (see the module docstring).
EMBEDDED_OPS: dict[str, str] = {
    "CONV_2D": "convolution (Conv2D over [B, T, 1, C]; a static Conv1D lowers to RESHAPE + CONV_2D)",
    "DEPTHWISE_CONV_2D": "depthwise convolution",
    "TRANSPOSE_CONV": "transposed convolution",
    "FULLY_CONNECTED": "dense layer (Arm NN 20.08: float, 2-D input only)",
    "ADD": "elementwise sum",
    "SUB": "elementwise difference",
    "MUL": "elementwise product",
    "DIV": "elementwise quotient",
    "NEG": "negation",
    "MAXIMUM": "elementwise maximum (clipping)",
    "MINIMUM": "elementwise minimum (clipping)",
    "RESHAPE": "static reshape (the new shape is a constant; the static-shape check rejects a computed one)",
    "TRANSPOSE": "axis permutation",
    "CONCATENATION": "join along an axis",
    "PAD": "constant padding (Arm NN 20.08 int8 pads with 0, not the zero point)",
    "SLICE": "static slice",
    "STRIDED_SLICE": "static strided slice",
    "SPLIT": "equal split (Arm NN 20.08 crashes on a split along the last axis)",
    "SPLIT_V": "split into given sizes",
    "MEAN": "mean over axes",
    "AVERAGE_POOL_2D": "average pooling",
    "MAX_POOL_2D": "max pooling",
    "RELU": "activation",
    "RELU6": "activation",
    "LEAKY_RELU": "activation",
    "TANH": "activation",
    "LOGISTIC": "sigmoid activation",
    "HARD_SWISH": "activation",
    "SOFTMAX": "softmax",
    "EXP": "exponential",
    "QUANTIZE": "float -> integer at the boundary (or requantization)",
    "DEQUANTIZE": "integer -> float",
}


class NonBuiltinOpError(ValueError):
    """The model needs operators that a plain LiteRT runtime does not have; ``.ops`` lists them."""

    def __init__(self, message: str, ops: list[str]):
        super().__init__(message)
        self.ops = list(ops)


def _builtin_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as schema

    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_") and isinstance(v, int)}


def _op_name(code, names) -> tuple[str, bool]:
    """``(name, is_builtin)`` of one ``OperatorCodeT``."""
    from ai_edge_litert import schema_py_generated as schema

    builtin = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
    if builtin == schema.BuiltinOperator.CUSTOM:
        custom = (
            code.customCode.decode("utf-8", "replace") if isinstance(code.customCode, bytes) else str(code.customCode)
        )
        return custom, False
    if builtin not in names:
        return f"UNKNOWN_BUILTIN_{builtin}", False
    return names[builtin], True


def op_counts(source) -> collections.Counter:
    """How many times each operator appears in the model's subgraphs (custom ops by their custom name)."""
    model = parse_model(source)
    names = _builtin_names()
    labels = [_op_name(code, names)[0] for code in (model.operatorCodes or [])]
    counts = collections.Counter()
    for subgraph in model.subgraphs or []:
        for op in subgraph.operators or []:
            counts[labels[op.opcodeIndex]] += 1
    return counts


def non_builtin_ops(source) -> list[str]:
    """Sorted names of the operators that are not TFLite builtins (Flex ``Flex*`` and custom ops)."""
    model = parse_model(source)
    names = _builtin_names()
    return sorted({name for name, builtin in (_op_name(c, names) for c in (model.operatorCodes or [])) if not builtin})


def check_builtin_ops(source, what: str | None = None) -> collections.Counter:
    """Raise :class:`NonBuiltinOpError` naming the file and the offending ops; else return :func:`op_counts`."""
    _, name = load_flatbuffer(source, what)
    bad = non_builtin_ops(source)
    if bad:
        counts = op_counts(source)
        listed = ", ".join(f"{op} (x{counts[op]})" for op in bad)
        raise NonBuiltinOpError(
            f"{name}: uses operators that are not TFLite builtins: {listed}. Flex (SELECT_TF_OPS) and custom "
            f"ops need a larger runtime that phones and embedded targets do not ship; replace the layers "
            f"that produce them with builtin-friendly ops.",
            bad,
        )
    return op_counts(source)


_TF_OP = re.compile(r"\btf\.([A-Z][A-Za-z0-9_]*)")


def flex_ops_in_error(message: str) -> list[str]:
    """TensorFlow op names (``tf.Foo`` -> ``Foo``) that a builtins-only conversion error reports as unsupported."""
    return sorted(set(_TF_OP.findall(str(message))))


def operators(source):
    """``[(subgraph, index, op_name, input tensor indices, output tensor indices)]`` of every operator, in order."""
    model = parse_model(source)
    names = _builtin_names()
    labels = [_op_name(code, names)[0] for code in (model.operatorCodes or [])]
    out = []
    for g, subgraph in enumerate(model.subgraphs or []):
        for i, op in enumerate(subgraph.operators or []):
            ins = [int(t) for t in (op.inputs if op.inputs is not None else [])]
            outs = [int(t) for t in (op.outputs if op.outputs is not None else [])]
            out.append((g, i, labels[op.opcodeIndex], ins, outs))
    return out


def _name(tensor) -> str:
    n = tensor.name
    return n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n)


class GraphReport:
    """What :func:`static_graph_report` found: operator counts, operators outside the allowlist (with
    the output tensors of each, which name the layer they come from) and tensors of dynamic shape."""

    def __init__(self, name: str, ops, disallowed: dict, dynamic: list, allowed):
        self.name, self.ops, self.disallowed, self.dynamic, self.allowed = name, ops, disallowed, dynamic, allowed

    @property
    def ok(self) -> bool:
        return not self.disallowed and not self.dynamic

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "ops": dict(self.ops),
            "disallowed_ops": {k: v for k, v in self.disallowed.items()},
            "dynamic_tensors": [{"tensor": n, "shape_signature": s} for n, s in self.dynamic],
        }

    def describe(self, limit: int = 3) -> str:
        """One paragraph naming every offending operator (with up to ``limit`` of its tensors) and dynamic tensor."""
        if self.ok:
            return f"{self.name}: static graph, every operator allowed ({', '.join(sorted(self.ops))})"
        parts = []
        if self.disallowed:
            items = []
            for op, tensors in sorted(self.disallowed.items()):
                shown = "; ".join(tensors[:limit]) + (f"; +{len(tensors) - limit} more" if len(tensors) > limit else "")
                items.append(f"{op} (x{len(tensors)}: {shown})")
            parts.append("operators outside the embedded-runtime allowlist: " + ", ".join(items))
        if self.dynamic:
            shown = ", ".join(f"{n} {s}" for n, s in self.dynamic[:limit])
            more = f" and {len(self.dynamic) - limit} more" if len(self.dynamic) > limit else ""
            parts.append(f"{len(self.dynamic)} tensors of dynamic shape (-1 in the shape signature): {shown}{more}")
        return f"{self.name}: not a static graph: " + "; ".join(parts)


class StaticGraphError(ValueError):
    """A graph with operators outside the allowlist or tensors of dynamic shape; ``.report`` says which."""

    def __init__(self, report: GraphReport):
        super().__init__(report.describe())
        self.report = report


def static_graph_report(source, what: str | None = None, allowed=None) -> GraphReport:
    """Check every operator against ``allowed`` (default :data:`EMBEDDED_OPS`) and every tensor's shape."""
    _, name = load_flatbuffer(source, what)
    model = parse_model(source, what)
    allowed = set(EMBEDDED_OPS if allowed is None else allowed)
    counts = collections.Counter()
    disallowed: dict[str, list[str]] = {}
    for g, i, op, _, outs in operators(source):
        counts[op] += 1
        if op not in allowed:
            tensors = model.subgraphs[g].tensors
            label = ", ".join(_name(tensors[t]) for t in outs if t >= 0) or f"operator #{i}"
            disallowed.setdefault(op, []).append(label)
    dynamic = []
    for subgraph in model.subgraphs or []:
        for t in subgraph.tensors or []:
            sig = None if t.shapeSignature is None else [int(d) for d in t.shapeSignature]
            shape = None if t.shape is None else [int(d) for d in t.shape]
            if (sig is not None and any(d < 0 for d in sig)) or (shape is not None and any(d < 0 for d in shape)):
                dynamic.append((_name(t), sig if sig is not None else shape))
    return GraphReport(name, counts, disallowed, dynamic, allowed)


def check_static_graph(source, what: str | None = None, allowed=None) -> GraphReport:
    """:func:`static_graph_report`, raising :class:`StaticGraphError` naming every offender when it fails."""
    report = static_graph_report(source, what, allowed)
    if not report.ok:
        raise StaticGraphError(report)
    return report
