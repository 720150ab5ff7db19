"""Op check gate: a deployable model uses TFLite builtin operators only (no Flex / SELECT_TF_OPS, no custom ops).

The operator codes are read from the flatbuffer itself, so the check covers any ``.tflite``,
whoever converted it. A Flex op appears as a custom op named ``Flex<TfOpName>``.
"""
from __future__ import annotations

import collections
import re

from edge.metadata import load_flatbuffer, parse_model

__all__ = ["NonBuiltinOpError", "op_counts", "non_builtin_ops", "check_builtin_ops", "flex_ops_in_error"]


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
        custom = code.customCode.decode("utf-8", "replace") if isinstance(code.customCode, bytes) else str(code.customCode)
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
            f"that produce them with builtin-friendly ops.", bad)
    return op_counts(source)


_TF_OP = re.compile(r"\btf\.([A-Z][A-Za-z0-9_]*)")


def flex_ops_in_error(message: str) -> list[str]:
    """TensorFlow op names (``tf.Foo`` -> ``Foo``) that a builtins-only conversion error reports as unsupported."""
    return sorted(set(_TF_OP.findall(str(message))))
