"""Stamps shipped model folders' ``.tflite`` files with their full embedded description.

    python tools/stamp_metadata.py                      # every keras_audiosr/pretrained/<name>/ with a card.json
    python tools/stamp_metadata.py keras_audiosr/pretrained/telephony-8k-16k

Each ``.tflite`` listed in the folder's ``card.json`` gets the standard ``TFLITE_METADATA`` entry (a
TFLite ``ModelMetadata`` with the ``keras_audiosr`` JSON description inside), the same JSON in its
``keras_audiosr`` entry, the card's name, description and version, the level contract of its
``model.keras`` and the ``step`` signature (:func:`keras_audiosr.export.metadata.stamp_model_folder`;
``tools/ship_model.py`` does the same for every new folder). The numerics must not move: before and
after, every weight buffer is compared byte for byte and the golden fixture (``<stem>.inputs.npz``)
is run through LiteRT's builtin kernels, every output compared exactly; on any difference the
original file is put back and the exit status is 1.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _weights(data: bytes) -> list:
    """Every buffer that a tensor of the graph reads, as bytes (metadata buffers left out)."""
    from keras_audiosr.streaming.metadata import parse_model

    model = parse_model(data)
    used = {t.buffer for g in model.subgraphs for t in g.tensors}
    return [bytes(bytearray(model.buffers[i].data if model.buffers[i].data is not None else [])) for i in sorted(used)]


def _fixture_outputs(data: bytes, inputs_path: Path) -> dict | None:
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    if not inputs_path.is_file():
        return None
    inputs = dict(np.load(inputs_path))
    it = Interpreter(model_content=data, experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    runner = it.get_signature_runner("serving_default")
    return {k: np.asarray(v) for k, v in runner(**inputs).items()}


def stamp_folder(folder: Path) -> int:
    import json

    import numpy as np

    from keras_audiosr.export.metadata import stamp_model_folder

    card = json.loads((folder / "card.json").read_text())
    before = {}
    for file in (card.get("tflite") or {}).values():
        p = folder / file
        data = p.read_bytes()
        before[p] = (
            data,
            _weights(data),
            _fixture_outputs(data, p.with_name(p.stem + ".inputs.npz")),
            (p.with_suffix(".json").read_bytes() if p.with_suffix(".json").is_file() else None),
        )
    stamp_model_folder(folder, card)
    bad = 0
    for p, (data, weights, outputs, side) in before.items():
        new = p.read_bytes()
        same_weights = _weights(new) == weights
        after = _fixture_outputs(new, p.with_name(p.stem + ".inputs.npz"))
        same_outputs = outputs is None or (
            after.keys() == outputs.keys() and all(np.array_equal(after[k], outputs[k]) for k in outputs)
        )
        if same_weights and same_outputs:
            print(
                f"[stamp] {p.name}: weights byte-identical, fixture outputs identical "
                f"({'no fixture' if outputs is None else f'{len(outputs)} outputs'}); {len(data)} -> {len(new)} "
                "bytes"
            )
            continue
        bad += 1
        p.write_bytes(data)
        if side is not None:
            p.with_suffix(".json").write_bytes(side)
        print(
            f"[stamp] {p}: numerics changed (weights identical: {same_weights}, outputs identical: "
            f"{same_outputs}); the original is restored",
            file=sys.stderr,
        )
    return bad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folders", nargs="*", type=Path, help="model folders (default: every shipped one)")
    args = parser.parse_args(argv)
    folders = args.folders or sorted(
        d for d in (ROOT / "keras_audiosr" / "pretrained").iterdir() if (d / "card.json").is_file()
    )
    for folder in folders:
        if not (folder / "card.json").is_file():
            print(f"{folder}: no card.json (not a model folder)", file=sys.stderr)
            return 2
    return 1 if sum(stamp_folder(f) for f in folders) else 0


if __name__ == "__main__":
    sys.exit(main())
