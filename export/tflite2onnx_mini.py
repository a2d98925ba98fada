"""A small TFLite -> ONNX converter for float CNNs (export-time only).

It reads the ``.tflite`` flatbuffer with a hand-written reader (no generated schema code),
folds the fp16 -> fp32 ``DEQUANTIZE`` of constant weights, and emits an ONNX graph with
``onnx.helper``. Activations are NCHW inside the ONNX graph (TFLite is NHWC); the graph
input and output keep TFLite's shapes but in NCHW order, with a free batch axis ``N``.

Ops handled (enough for MediaPipe's selfie-segmentation models and plain MobileNet-style
graphs): ADD, MUL, SUB, CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D, MAX_POOL_2D, MEAN,
RELU, RELU6, LOGISTIC, TANH, HARD_SWISH, RESIZE_BILINEAR, RESIZE_NEAREST_NEIGHBOR, PAD,
CONCATENATION, DEPTH_TO_SPACE, RESHAPE, DEQUANTIZE (constant fp16 only), and MediaPipe's
custom ``Convolution2DTransposeBias``. Quantized (int8/uint8) tensors, sparse (DENSIFY)
weights and control flow are refused with :class:`UnsupportedModel`.

Usage::

    from tflite2onnx_mini import read_tflite, convert
    model = read_tflite(open("m.tflite", "rb").read())
    onnx_model = convert(model, graph_name="selfie")

The TFLite schema facts used here (table field order, enum values) come from the public
``schema.fbs``; only the fields needed are read.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# ---------------------------------------------------------------------------
# Minimal flatbuffer reader
# ---------------------------------------------------------------------------


class _Table:
    """One flatbuffer table: field ``i`` is looked up through the vtable."""

    __slots__ = ("buf", "pos", "_vt", "_vtlen")

    def __init__(self, buf: bytes, pos: int):
        self.buf = buf
        self.pos = pos
        self._vt = pos - struct.unpack_from("<i", buf, pos)[0]
        self._vtlen = struct.unpack_from("<H", buf, self._vt)[0]

    def _off(self, i: int) -> int:
        o = 4 + 2 * i
        if o >= self._vtlen:
            return 0
        return struct.unpack_from("<H", self.buf, self._vt + o)[0]

    def has(self, i: int) -> bool:
        return self._off(i) != 0

    def scalar(self, i: int, fmt: str, default: Any = 0) -> Any:
        o = self._off(i)
        return struct.unpack_from("<" + fmt, self.buf, self.pos + o)[0] if o else default

    def _indirect(self, i: int) -> int | None:
        o = self._off(i)
        if not o:
            return None
        p = self.pos + o
        return p + struct.unpack_from("<I", self.buf, p)[0]

    def table(self, i: int) -> "_Table | None":
        p = self._indirect(i)
        return _Table(self.buf, p) if p is not None else None

    def string(self, i: int) -> str | None:
        p = self._indirect(i)
        if p is None:
            return None
        n = struct.unpack_from("<I", self.buf, p)[0]
        return self.buf[p + 4 : p + 4 + n].decode("utf-8", "replace")

    def array(self, i: int, dtype) -> np.ndarray:
        """A vector of scalars as a numpy array (empty when absent)."""
        p = self._indirect(i)
        if p is None:
            return np.zeros(0, dtype)
        n = struct.unpack_from("<I", self.buf, p)[0]
        return np.frombuffer(self.buf, dtype=np.dtype(dtype).newbyteorder("<"), count=n, offset=p + 4)

    def tables(self, i: int) -> list["_Table"]:
        p = self._indirect(i)
        if p is None:
            return []
        n = struct.unpack_from("<I", self.buf, p)[0]
        out = []
        for k in range(n):
            e = p + 4 + 4 * k
            out.append(_Table(self.buf, e + struct.unpack_from("<I", self.buf, e)[0]))
        return out


# ---------------------------------------------------------------------------
# TFLite model structure (only what the converter needs)
# ---------------------------------------------------------------------------

#: TensorType enum -> numpy dtype
TENSOR_TYPES = {
    0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64,
    6: np.bool_, 7: np.int16, 9: np.int8, 10: np.float64,
}

#: BuiltinOperator enum values that this module knows by name.
BUILTIN = {
    0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
    5: "DEPTH_TO_SPACE", 6: "DEQUANTIZE", 9: "FULLY_CONNECTED", 14: "LOGISTIC",
    17: "MAX_POOL_2D", 18: "MUL", 19: "RELU", 21: "RELU6", 22: "RESHAPE",
    23: "RESIZE_BILINEAR", 28: "TANH", 32: "CUSTOM", 34: "PAD", 40: "MEAN", 41: "SUB",
    97: "RESIZE_NEAREST_NEIGHBOR", 117: "HARD_SWISH", 124: "DENSIFY",
}

_ACT = {0: None, 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH"}


class UnsupportedModel(ValueError):
    """The .tflite uses a feature this converter does not handle."""


@dataclass
class TfTensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: Any
    data: np.ndarray | None  # constant data (from a buffer), else None
    quantized: bool


@dataclass
class TfOp:
    index: int
    name: str  # builtin name, or the custom code for CUSTOM ops
    inputs: list[int]
    outputs: list[int]
    options: _Table | None
    custom_options: bytes


@dataclass
class TfModel:
    tensors: list[TfTensor]
    ops: list[TfOp]
    inputs: list[int]
    outputs: list[int]
    description: str = ""
    version: int = 0
    op_counts: dict[str, int] = field(default_factory=dict)


def read_tflite(buf: bytes) -> TfModel:
    """Parse a ``.tflite`` flatbuffer (first subgraph)."""
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise UnsupportedModel("not a TFLite flatbuffer (missing 'TFL3' identifier)")
    root = _Table(buf, struct.unpack_from("<I", buf, 0)[0])
    # Model: 0 version, 1 operator_codes, 2 subgraphs, 3 description, 4 buffers
    version = root.scalar(0, "I")
    opnames = []
    for oc in root.tables(1):
        # OperatorCode: 0 deprecated_builtin_code (int8), 1 custom_code, 2 version, 3 builtin_code
        code = max(oc.scalar(0, "b", 0), oc.scalar(3, "i", 0))
        if code == 32:
            opnames.append(oc.string(1) or "CUSTOM")
        else:
            opnames.append(BUILTIN.get(code, f"BUILTIN_{code}"))
    buffers = []
    for b in root.tables(4):
        # Buffer: 0 data [ubyte], 1 offset (ulong), 2 size (ulong)
        data = b.array(0, np.uint8)
        if data.size == 0 and b.scalar(1, "Q", 0) > 1:
            off, size = b.scalar(1, "Q"), b.scalar(2, "Q")
            data = np.frombuffer(buf, np.uint8, count=size, offset=off)
        buffers.append(data)
    subgraphs = root.tables(2)
    if len(subgraphs) != 1:
        raise UnsupportedModel(f"expected one subgraph, found {len(subgraphs)}")
    sg = subgraphs[0]
    tensors = []
    for ti, t in enumerate(sg.tables(0)):
        # Tensor: 0 shape, 1 type, 2 buffer, 3 name, 4 quantization, 5 is_variable, 6 sparsity
        shape = tuple(int(v) for v in t.array(0, np.int32))
        ttype = t.scalar(1, "b", 0)
        if ttype not in TENSOR_TYPES:
            raise UnsupportedModel(f"tensor {ti} has unsupported type {ttype}")
        dtype = TENSOR_TYPES[ttype]
        bidx = t.scalar(2, "I", 0)
        raw = buffers[bidx] if bidx < len(buffers) else np.zeros(0, np.uint8)
        data = None
        if raw.size:
            data = np.frombuffer(raw.tobytes(), dtype=np.dtype(dtype).newbyteorder("<")).astype(dtype)
            data = data.reshape(shape) if shape else data.reshape(())
        q = t.table(4)
        quantized = bool(q is not None and q.array(2, np.float32).size)
        # sparse weights (field 6) only occur with a DENSIFY op, which the converter refuses
        tensors.append(TfTensor(ti, t.string(3) or f"t{ti}", shape, dtype, data, quantized))
    ops = []
    counts: dict[str, int] = {}
    for oi, o in enumerate(sg.tables(3)):
        # Operator: 0 opcode_index, 1 inputs, 2 outputs, 3 options type, 4 options, 5 custom_options
        name = opnames[o.scalar(0, "I", 0)]
        counts[name] = counts.get(name, 0) + 1
        ops.append(
            TfOp(
                oi,
                name,
                [int(v) for v in o.array(1, np.int32)],
                [int(v) for v in o.array(2, np.int32)],
                o.table(4),
                o.array(5, np.uint8).tobytes(),
            )
        )
    return TfModel(
        tensors=tensors,
        ops=ops,
        inputs=[int(v) for v in sg.array(1, np.int32)],
        outputs=[int(v) for v in sg.array(2, np.int32)],
        description=root.string(3) or "",
        version=version,
        op_counts=dict(sorted(counts.items())),
    )


# ---------------------------------------------------------------------------
# ONNX emission
# ---------------------------------------------------------------------------

_NHWC_TO_NCHW_AXIS = {0: 0, 1: 2, 2: 3, 3: 1}


def _same_or_valid(padding: int) -> str:
    # Padding enum: SAME = 0, VALID = 1
    if padding == 0:
        return "SAME"
    if padding == 1:
        return "VALID"
    raise UnsupportedModel(f"padding mode {padding}")


class _Builder:
    def __init__(
        self,
        model: TfModel,
        input_name: str,
        output_name: str,
        dynamic_batch: bool,
        opset: int = 17,
        dynamic_spatial: bool = False,
    ):
        import onnx  # noqa: F401  (export-time dependency)
        from onnx import helper

        self.h = helper
        self.m = model
        self.nodes: list = []
        self.inits: list = []
        self.names: dict[int, str] = {}
        self.consts: dict[int, np.ndarray] = {}
        self.shapes: dict[int, tuple] = {}  # TFLite (NHWC) static shapes of activations
        self.counter = 0
        self.input_name = input_name
        self.output_name = output_name
        self.dynamic_batch = dynamic_batch
        self.opset = opset
        self.dynamic_spatial = dynamic_spatial
        for t in model.tensors:
            if t.data is not None:
                if t.quantized and t.dtype != np.float16:
                    raise UnsupportedModel(f"quantized tensor {t.name} ({t.dtype}) not supported")
                self.consts[t.index] = t.data

    # -- helpers -----------------------------------------------------------
    def uniq(self, base: str) -> str:
        self.counter += 1
        return f"{base}_{self.counter}"

    def const(self, arr: np.ndarray, base: str) -> str:
        from onnx import numpy_helper

        name = self.uniq(base)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(self, op: str, inputs: list[str], base: str, **attrs) -> str:
        out = self.uniq(base)
        self.nodes.append(self.h.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def act(self, x: str, fused: int, base: str) -> str:
        kind = _ACT.get(fused)
        if fused not in _ACT:
            raise UnsupportedModel(f"fused activation {fused}")
        if kind is None:
            return x
        if kind == "RELU":
            return self.node("Relu", [x], base + "_relu")
        if kind == "TANH":
            return self.node("Tanh", [x], base + "_tanh")
        lo, hi = (0.0, 6.0) if kind == "RELU6" else (-1.0, 1.0)
        return self.node(
            "Clip",
            [x, self.const(np.array(lo, np.float32), "lo"), self.const(np.array(hi, np.float32), "hi")],
            base + "_clip",
        )

    def val(self, ti: int, base: str = "c") -> str:
        """ONNX name of tensor ``ti`` (constants become initializers, NCHW-broadcastable)."""
        if ti in self.names:
            return self.names[ti]
        if ti in self.consts:
            c = self.consts[ti].astype(np.float32) if self.consts[ti].dtype == np.float16 else self.consts[ti]
            if c.ndim == 4:  # NHWC constant -> NCHW
                c = c.transpose(0, 3, 1, 2)
            elif c.ndim == 1 and c.size > 1:  # per-channel vector -> [C,1,1]
                c = c.reshape(-1, 1, 1)
            name = self.const(c, base)
            self.names[ti] = name
            return name
        raise UnsupportedModel(f"tensor {ti} ({self.m.tensors[ti].name}) used before it is produced")

    def shape(self, ti: int) -> tuple:
        return self.m.tensors[ti].shape

    # -- conversion ------------------------------------------------------------
    def run(self):
        h = self.h
        from onnx import TensorProto

        if len(self.m.inputs) != 1:
            raise UnsupportedModel("only single-input graphs are supported")
        it = self.m.tensors[self.m.inputs[0]]
        if len(it.shape) != 4 or it.dtype != np.float32:
            raise UnsupportedModel("input must be float32 NHWC")
        n, hh, ww, c = it.shape
        batch = "N" if self.dynamic_batch else n
        if self.dynamic_spatial:
            hh, ww = "H", "W"
        graph_in = h.make_tensor_value_info(self.input_name, TensorProto.FLOAT, [batch, c, hh, ww])
        self.names[it.index] = self.input_name
        for op in self.m.ops:
            fn = getattr(self, "op_" + op.name, None)
            if fn is None:
                raise UnsupportedModel(f"op {op.name} is not handled")
            fn(op)
        outs = []
        for k, oi in enumerate(self.m.outputs):
            name = self.names[oi]
            shp = self.shape(oi)
            final = self.output_name if len(self.m.outputs) == 1 else f"{self.output_name}_{k}"
            self.nodes.append(h.make_node("Identity", [name], [final], name=final))
            if len(shp) == 4 and self.dynamic_spatial:
                oshape = [batch, shp[3], "H", "W"] if shp[1:3] == it.shape[1:3] else [batch, shp[3], None, None]
            elif len(shp) == 4:
                oshape = [batch, shp[3], shp[1], shp[2]]
            else:
                oshape = [batch] + list(shp[1:])
            outs.append(h.make_tensor_value_info(final, TensorProto.FLOAT, oshape))
        return graph_in, outs

    def set_out(self, op: TfOp, name: str, k: int = 0):
        self.names[op.outputs[k]] = name

    # elementwise
    def _binary(self, op: TfOp, onnx_op: str):
        a, b = op.inputs
        fused = op.options.scalar(0, "b", 0) if op.options else 0
        y = self.node(onnx_op, [self.val(a), self.val(b)], onnx_op.lower())
        self.set_out(op, self.act(y, fused, onnx_op.lower()))

    def op_ADD(self, op):
        self._binary(op, "Add")

    def op_MUL(self, op):
        self._binary(op, "Mul")

    def op_SUB(self, op):
        self._binary(op, "Sub")

    def op_DEQUANTIZE(self, op):
        src = op.inputs[0]
        if src not in self.consts or self.consts[src].dtype != np.float16:
            raise UnsupportedModel("DEQUANTIZE is only handled for constant fp16 weights")
        self.consts[op.outputs[0]] = self.consts[src].astype(np.float32)

    def _unary(self, op, onnx_op):
        self.set_out(op, self.node(onnx_op, [self.val(op.inputs[0])], onnx_op.lower()))

    def op_RELU(self, op):
        self._unary(op, "Relu")

    def op_LOGISTIC(self, op):
        self._unary(op, "Sigmoid")

    def op_TANH(self, op):
        self._unary(op, "Tanh")

    def op_HARD_SWISH(self, op):
        # x * relu6(x + 3) / 6  ==  ONNX HardSwish (alpha 1/6, beta 0.5)
        self._unary(op, "HardSwish")

    def op_RELU6(self, op):
        self.set_out(op, self.act(self.val(op.inputs[0]), 3, "relu6"))

    # convolutions
    def _pad_attrs(self, padding: int, in_hw, k_hw, s_hw, d_hw) -> dict:
        """Conv/pool padding attributes: explicit pads, or SAME_UPPER for a size-free graph."""
        if self.dynamic_spatial and _same_or_valid(padding) == "SAME":
            return {"auto_pad": "SAME_UPPER"}  # TF's SAME: the odd extra pixel goes at the end
        return {"pads": self._conv_pads(padding, in_hw, k_hw, s_hw, d_hw)}

    def _conv_pads(self, padding: int, in_hw, k_hw, s_hw, d_hw):
        if _same_or_valid(padding) == "VALID":
            return [0, 0, 0, 0]
        pads_b, pads_e = [], []
        for i, k, s, d in zip(in_hw, k_hw, s_hw, d_hw):
            out = -(-i // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - i, 0)
            pads_b.append(total // 2)
            pads_e.append(total - total // 2)
        return pads_b + pads_e

    def _bias(self, op, oc):
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            b = self.consts[op.inputs[2]].astype(np.float32).reshape(-1)
        else:
            b = np.zeros(oc, np.float32)
        return self.const(b, "bias")

    def op_CONV_2D(self, op):
        o = op.options
        # Conv2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 fused act, 4 dilation_w, 5 dilation_h
        pad, sw, sh, fused = o.scalar(0, "b"), o.scalar(1, "i", 1), o.scalar(2, "i", 1), o.scalar(3, "b")
        dw, dh = o.scalar(4, "i", 1), o.scalar(5, "i", 1)
        w = self.consts[op.inputs[1]].astype(np.float32)  # [O, kh, kw, I]
        oc, kh, kw, ic = w.shape
        in_shape = self.shape(op.inputs[0])
        groups = in_shape[3] // ic
        y = self.node(
            "Conv",
            [self.val(op.inputs[0]), self.const(w.transpose(0, 3, 1, 2), "w"), self._bias(op, oc)],
            "conv",
            kernel_shape=[kh, kw],
            strides=[sh, sw],
            dilations=[dh, dw],
            group=groups,
            **self._pad_attrs(pad, in_shape[1:3], (kh, kw), (sh, sw), (dh, dw)),
        )
        self.set_out(op, self.act(y, fused, "conv"))

    def op_DEPTHWISE_CONV_2D(self, op):
        o = op.options
        # DepthwiseConv2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 depth_multiplier,
        # 4 fused act, 5 dilation_w, 6 dilation_h
        pad, sw, sh, fused = o.scalar(0, "b"), o.scalar(1, "i", 1), o.scalar(2, "i", 1), o.scalar(4, "b")
        dw, dh = o.scalar(5, "i", 1), o.scalar(6, "i", 1)
        w = self.consts[op.inputs[1]].astype(np.float32)  # [1, kh, kw, I*M]
        _, kh, kw, oc = w.shape
        in_shape = self.shape(op.inputs[0])
        ic = in_shape[3]
        y = self.node(
            "Conv",
            [self.val(op.inputs[0]), self.const(w.transpose(3, 0, 1, 2), "dw"), self._bias(op, oc)],
            "dwconv",
            kernel_shape=[kh, kw],
            strides=[sh, sw],
            dilations=[dh, dw],
            group=ic,
            **self._pad_attrs(pad, in_shape[1:3], (kh, kw), (sh, sw), (dh, dw)),
        )
        self.set_out(op, self.act(y, fused, "dwconv"))

    def op_Convolution2DTransposeBias(self, op):
        # MediaPipe custom op; custom_options hold a raw TfLiteTransposeConvParams struct:
        # int32 padding (1 = SAME, 2 = VALID), int32 stride_width, int32 stride_height.
        if len(op.custom_options) < 12:
            raise UnsupportedModel("Convolution2DTransposeBias without its 12-byte parameters")
        padding, sw, sh = struct.unpack_from("<iii", op.custom_options, 0)
        w = self.consts[op.inputs[1]].astype(np.float32)  # [O, kh, kw, I]
        oc, kh, kw, ic = w.shape
        in_shape = self.shape(op.inputs[0])
        out_shape = self.shape(op.outputs[0])
        pads_b, pads_e = [], []
        for i, o_, k, s in zip(in_shape[1:3], out_shape[1:3], (kh, kw), (sh, sw)):
            if padding == 1:  # SAME: out = in * stride, so (in - 1) * s + k - out = k - s
                if o_ != i * s:
                    raise UnsupportedModel("Convolution2DTransposeBias SAME with out != in * stride")
                total = max(k - s, 0)
            elif padding == 2:  # VALID: out = (in - 1) * stride + k
                total = 0
            else:
                raise UnsupportedModel(f"Convolution2DTransposeBias padding {padding}")
            pads_b.append(total // 2)
            pads_e.append(total - total // 2)
        y = self.node(
            "ConvTranspose",
            [self.val(op.inputs[0]), self.const(w.transpose(3, 0, 1, 2), "wt"), self._bias(op, oc)],
            "deconv",
            kernel_shape=[kh, kw],
            strides=[sh, sw],
            pads=pads_b + pads_e,
        )
        self.set_out(op, y)

    # pooling / reductions
    def _pool(self, op, onnx_op):
        o = op.options
        # Pool2DOptions: 0 padding, 1 stride_w, 2 stride_h, 3 filter_w, 4 filter_h, 5 fused act
        pad, sw, sh = o.scalar(0, "b"), o.scalar(1, "i", 1), o.scalar(2, "i", 1)
        fw, fh, fused = o.scalar(3, "i", 1), o.scalar(4, "i", 1), o.scalar(5, "b")
        in_shape = self.shape(op.inputs[0])
        if _same_or_valid(pad) == "VALID" and (fh, fw) == tuple(in_shape[1:3]):
            # a pool over the whole map (squeeze-excitation): exact as a global pool, and it
            # keeps the graph independent of the input size.
            glob = "GlobalAveragePool" if onnx_op == "AveragePool" else "GlobalMaxPool"
            y = self.node(glob, [self.val(op.inputs[0])], glob.lower())
            self.set_out(op, self.act(y, fused, glob.lower()))
            return
        if self.dynamic_spatial:
            raise UnsupportedModel("a windowed pool cannot be converted with dynamic_spatial")
        attrs = dict(
            kernel_shape=[fh, fw],
            strides=[sh, sw],
            **self._pad_attrs(pad, in_shape[1:3], (fh, fw), (sh, sw), (1, 1)),
        )
        if onnx_op == "AveragePool":
            attrs["count_include_pad"] = 0  # TFLite averages over the valid pixels only
        y = self.node(onnx_op, [self.val(op.inputs[0])], onnx_op.lower(), **attrs)
        self.set_out(op, self.act(y, fused, onnx_op.lower()))

    def op_AVERAGE_POOL_2D(self, op):
        self._pool(op, "AveragePool")

    def op_MAX_POOL_2D(self, op):
        self._pool(op, "MaxPool")

    def op_MEAN(self, op):
        axes = self.consts[op.inputs[1]].reshape(-1).astype(np.int64)
        rank = len(self.shape(op.inputs[0]))
        keep = op.options.scalar(0, "b", 0) if op.options else 0
        if rank == 4:
            axes = np.array(sorted(_NHWC_TO_NCHW_AXIS[int(a) % 4] for a in axes), np.int64)
            if not keep and not set(axes.tolist()) >= {2, 3}:
                raise UnsupportedModel("MEAN without keep_dims over non-spatial axes")
        if self.opset >= 18:
            y = self.node("ReduceMean", [self.val(op.inputs[0]), self.const(axes, "axes")], "mean", keepdims=int(keep))
        else:
            y = self.node("ReduceMean", [self.val(op.inputs[0])], "mean", axes=axes.tolist(), keepdims=int(keep))
        self.set_out(op, y)

    # resampling
    def _resize(self, op, mode):
        o = op.options
        # ResizeBilinearOptions / ResizeNearestNeighborOptions: (0,1 deprecated sizes for bilinear)
        if op.name == "RESIZE_BILINEAR":
            align, half = o.scalar(2, "b", 0) if o else 0, o.scalar(3, "b", 0) if o else 0
        else:
            align, half = o.scalar(0, "b", 0) if o else 0, o.scalar(1, "b", 0) if o else 0
        ih, iw = self.shape(op.inputs[0])[1:3]
        oh, ow = self.shape(op.outputs[0])[1:3]
        if align:
            ctm = "align_corners"
        elif half:
            ctm = "half_pixel" if mode == "linear" else "tf_half_pixel_for_nn"
        else:
            ctm = "asymmetric"
        attrs = dict(mode=mode, coordinate_transformation_mode=ctm)
        if mode == "nearest":
            attrs["nearest_mode"] = "round_prefer_ceil" if align else "floor"
        scales = np.array([1.0, 1.0, oh / ih, ow / iw], np.float32)
        y = self.node("Resize", [self.val(op.inputs[0]), "", self.const(scales, "scales")], "resize", **attrs)
        self.set_out(op, y)

    def op_RESIZE_BILINEAR(self, op):
        self._resize(op, "linear")

    def op_RESIZE_NEAREST_NEIGHBOR(self, op):
        self._resize(op, "nearest")

    # shape ops
    def op_PAD(self, op):
        p = self.consts[op.inputs[1]].astype(np.int64)  # [rank, 2]
        if p.shape[0] == 4:
            p = p[[0, 3, 1, 2]]
        pads = np.concatenate([p[:, 0], p[:, 1]]).astype(np.int64)
        self.set_out(op, self.node("Pad", [self.val(op.inputs[0]), self.const(pads, "pads")], "pad"))

    def op_CONCATENATION(self, op):
        axis = op.options.scalar(0, "i", 0)
        fused = op.options.scalar(1, "b", 0)
        rank = len(self.shape(op.outputs[0]))
        axis %= rank
        if rank == 4:
            axis = _NHWC_TO_NCHW_AXIS[axis]
        y = self.node("Concat", [self.val(i) for i in op.inputs], "concat", axis=axis)
        self.set_out(op, self.act(y, fused, "concat"))

    def op_DEPTH_TO_SPACE(self, op):
        bs = op.options.scalar(0, "i", 1)
        # TFLite (NHWC) DEPTH_TO_SPACE orders channels like ONNX's DCR mode.
        self.set_out(op, self.node("DepthToSpace", [self.val(op.inputs[0])], "d2s", blocksize=bs, mode="DCR"))

    def op_RESHAPE(self, op):
        if self.dynamic_spatial:
            raise UnsupportedModel("RESHAPE cannot be converted with dynamic_spatial")
        src = self.val(op.inputs[0])
        in_rank = len(self.shape(op.inputs[0]))
        out_shape = list(self.shape(op.outputs[0]))
        if in_rank == 4:
            src = self.node("Transpose", [src], "to_nhwc", perm=[0, 2, 3, 1])
        tgt = np.array([-1 if self.dynamic_batch else out_shape[0]] + out_shape[1:], np.int64)
        if self.dynamic_batch and len(out_shape) == 1:
            tgt = np.array([-1], np.int64)
        y = self.node("Reshape", [src, self.const(tgt, "shape")], "reshape")
        if len(out_shape) == 4:
            y = self.node("Transpose", [y], "to_nchw", perm=[0, 3, 1, 2])
        self.set_out(op, y)


def convert(
    model: TfModel,
    *,
    graph_name: str = "converted",
    input_name: str = "image",
    output_name: str = "output",
    dynamic_batch: bool = True,
    dynamic_spatial: bool = False,
    opset: int = 17,
    doc: str = "",
):
    """Build an ``onnx.ModelProto`` from a parsed TFLite model (deterministic output).

    ``dynamic_spatial`` leaves the input height/width free (``H``, ``W``): only for fully
    convolutional graphs (global pools, scale-based resizes); sizes that are multiples of the
    network's total stride (32 for MobileNet-style nets) keep skip connections aligned.
    """
    import onnx
    from onnx import helper

    b = _Builder(model, input_name, output_name, dynamic_batch, opset, dynamic_spatial)
    graph_in, outs = b.run()
    graph = helper.make_graph(b.nodes, graph_name, [graph_in], outs, initializer=b.inits)
    m = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", opset)],
        producer_name="edge_app.export.tflite2onnx_mini",
        producer_version="1",
        doc_string=doc,
    )
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


# ---------------------------------------------------------------------------
# Slow numpy reference of the same TFLite graph (used when no TFLite interpreter is
# installable). Straight loops over the kernel taps; NHWC throughout.
# ---------------------------------------------------------------------------


def _np_act(x, fused):
    kind = _ACT[fused]
    if kind == "RELU":
        return np.maximum(x, 0)
    if kind == "RELU6":
        return np.clip(x, 0, 6)
    if kind == "RELU_N1_TO_1":
        return np.clip(x, -1, 1)
    if kind == "TANH":
        return np.tanh(x)
    return x


def _np_conv(x, w, b, stride, pads, groups, dil=(1, 1)):
    """x [N,H,W,C], w [O,kh,kw,C/groups] -> [N,OH,OW,O] (float64 accumulate)."""
    n, hgt, wid, c = x.shape
    o, kh, kw, cg = w.shape
    pt, pl, pb, pr = pads[0], pads[1], pads[2], pads[3]
    xp = np.pad(x, ((0, 0), (pt, pb), (pl, pr), (0, 0)))
    oh = (hgt + pt + pb - (kh - 1) * dil[0] - 1) // stride[0] + 1
    ow = (wid + pl + pr - (kw - 1) * dil[1] - 1) // stride[1] + 1
    og = o // groups
    out = np.zeros((n, oh, ow, o), np.float64)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i * dil[0] : i * dil[0] + stride[0] * (oh - 1) + 1 : stride[0],
                       j * dil[1] : j * dil[1] + stride[1] * (ow - 1) + 1 : stride[1], :]
            if groups == 1:
                out += patch.astype(np.float64) @ w[:, i, j, :].T.astype(np.float64)
            elif cg == 1 and og == 1:
                out += patch.astype(np.float64) * w[:, i, j, 0].astype(np.float64)
            else:
                for g in range(groups):
                    out[..., g * og : (g + 1) * og] += (
                        patch[..., g * cg : (g + 1) * cg].astype(np.float64)
                        @ w[g * og : (g + 1) * og, i, j, :].T.astype(np.float64)
                    )
    if b is not None:
        out += b.astype(np.float64)
    return out.astype(np.float32)


def _np_bilinear(x, oh, ow, align, half):
    n, ih, iw, c = x.shape

    def coords(o, i):
        if align and o > 1:
            src = np.arange(o) * ((i - 1) / (o - 1))
        elif half:
            src = (np.arange(o) + 0.5) * (i / o) - 0.5
        else:
            src = np.arange(o) * (i / o)
        f = np.floor(src)
        lo = np.clip(f, 0, i - 1).astype(int)
        hi = np.clip(np.ceil(src), 0, i - 1).astype(int)
        return lo, hi, (src - f)

    y0, y1, fy = coords(oh, ih)
    x0, x1, fx = coords(ow, iw)
    top = x[:, y0][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y0][:, :, x1] * fx[None, None, :, None]
    bot = x[:, y1][:, :, x0] * (1 - fx)[None, None, :, None] + x[:, y1][:, :, x1] * fx[None, None, :, None]
    return (top * (1 - fy)[None, :, None, None] + bot * fy[None, :, None, None]).astype(np.float32)


def reference_run(model: TfModel, x: np.ndarray) -> list[np.ndarray]:
    """Run the TFLite graph on ``x`` (NHWC float32) with plain numpy; returns NHWC outputs."""
    vals: dict[int, np.ndarray] = {}
    for t in model.tensors:
        if t.data is not None:
            vals[t.index] = t.data.astype(np.float32) if t.dtype == np.float16 else t.data
    vals[model.inputs[0]] = x.astype(np.float32)
    b = _Builder.__new__(_Builder)  # only for the padding helper
    for op in model.ops:
        ins = [vals.get(i) if i >= 0 else None for i in op.inputs]
        o = op.options
        name = op.name
        if name == "DEQUANTIZE":
            y = ins[0].astype(np.float32)
        elif name in ("ADD", "MUL", "SUB"):
            f = {"ADD": np.add, "MUL": np.multiply, "SUB": np.subtract}[name]
            y = _np_act(f(ins[0], ins[1]).astype(np.float32), o.scalar(0, "b", 0) if o else 0)
        elif name == "RELU":
            y = np.maximum(ins[0], 0)
        elif name == "RELU6":
            y = np.clip(ins[0], 0, 6)
        elif name == "LOGISTIC":
            y = (0.5 * (1.0 + np.tanh(0.5 * ins[0].astype(np.float64)))).astype(np.float32)
        elif name == "TANH":
            y = np.tanh(ins[0])
        elif name == "HARD_SWISH":
            y = ins[0] * np.clip(ins[0] + 3, 0, 6) / 6
        elif name == "CONV_2D":
            w = ins[1]
            s, d = (o.scalar(2, "i", 1), o.scalar(1, "i", 1)), (o.scalar(5, "i", 1), o.scalar(4, "i", 1))
            p = b._conv_pads(o.scalar(0, "b"), ins[0].shape[1:3], w.shape[1:3], s, d)
            y = _np_conv(ins[0], w, ins[2] if len(ins) > 2 else None, s, p, ins[0].shape[3] // w.shape[3], d)
            y = _np_act(y, o.scalar(3, "b"))
        elif name == "DEPTHWISE_CONV_2D":
            w = ins[1]
            s, d = (o.scalar(2, "i", 1), o.scalar(1, "i", 1)), (o.scalar(6, "i", 1), o.scalar(5, "i", 1))
            p = b._conv_pads(o.scalar(0, "b"), ins[0].shape[1:3], w.shape[1:3], s, d)
            y = _np_conv(ins[0], w.transpose(3, 1, 2, 0), ins[2], s, p, ins[0].shape[3], d)
            y = _np_act(y, o.scalar(4, "b"))
        elif name == "Convolution2DTransposeBias":
            padding, sw, sh = struct.unpack_from("<iii", op.custom_options, 0)
            xin, w, bias = ins  # w [O,kh,kw,I]
            n, ih, iw, _ = xin.shape
            oc, kh, kw, _ = w.shape
            full = np.zeros((n, (ih - 1) * sh + kh, (iw - 1) * sw + kw, oc), np.float64)
            for i in range(kh):
                for j in range(kw):
                    full[:, i : i + sh * (ih - 1) + 1 : sh, j : j + sw * (iw - 1) + 1 : sw, :] += (
                        xin.astype(np.float64) @ w[:, i, j, :].T.astype(np.float64)
                    )
            oh, ow = model.tensors[op.outputs[0]].shape[1:3]
            th, tw = (full.shape[1] - oh, full.shape[2] - ow) if padding == 1 else (0, 0)
            y = (full[:, th // 2 : th // 2 + oh, tw // 2 : tw // 2 + ow] + bias).astype(np.float32)
        elif name in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
            s, k = (o.scalar(2, "i", 1), o.scalar(1, "i", 1)), (o.scalar(4, "i", 1), o.scalar(3, "i", 1))
            p = b._conv_pads(o.scalar(0, "b"), ins[0].shape[1:3], k, s, (1, 1))
            xin = ins[0]
            n, hh, ww, c = xin.shape
            oh = (hh + p[0] + p[2] - k[0]) // s[0] + 1
            ow = (ww + p[1] + p[3] - k[1]) // s[1] + 1
            y = np.zeros((n, oh, ow, c), np.float32)
            for r in range(oh):
                for q in range(ow):
                    r0, q0 = r * s[0] - p[0], q * s[1] - p[1]
                    win = xin[:, max(r0, 0) : min(r0 + k[0], hh), max(q0, 0) : min(q0 + k[1], ww)]
                    y[:, r, q] = win.mean((1, 2)) if name == "AVERAGE_POOL_2D" else win.max((1, 2))
            y = _np_act(y, o.scalar(5, "b"))
        elif name == "MEAN":
            y = ins[0].mean(tuple(int(a) for a in ins[1].reshape(-1)), keepdims=bool(o.scalar(0, "b", 0)))
        elif name == "RESIZE_BILINEAR":
            oh, ow = (int(v) for v in ins[1])
            y = _np_bilinear(ins[0], oh, ow, o.scalar(2, "b", 0), o.scalar(3, "b", 0))
        else:
            raise UnsupportedModel(f"reference: op {name} not implemented")
        vals[op.outputs[0]] = y.astype(np.float32)
    return [vals[i] for i in model.outputs]
