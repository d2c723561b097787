#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Generates test/tensor/fixtures.bin: NumPy (the oracle) inputs and expected outputs for the tensor tests.
#
# Run with Debian's python (it has numpy):  /usr/bin/python3 test/tensor/gen_fixtures.py
# The output is committed; the tests read it and never run Python. Every expected value is computed by NumPy
# in float64 from the float32 inputs (then stored as float32), except BF16 rounding, which NumPy lacks: that is
# computed here with exact rational arithmetic (fractions.Fraction), independently of the C++ bit tricks.
#
# File format (little endian): "LFFX" u32 count, then per array: u32 name length, name bytes, u8 dtype
# (0 f32, 1 i32, 2 u8/bool, 3 f16 bits, 4 u16 bf16 bits), u32 rank, u64 dims[rank], raw data (row-major).
import struct
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

rng = np.random.default_rng(20261125)
arrays = {}


def put(name, a):
    assert name not in arrays, name
    arrays[name] = a


def f32(a):
    return np.asarray(a, dtype=np.float32)


def randn(*shape, scale=1.0):
    return f32(rng.standard_normal(shape) * scale)


# ---- binary broadcasting: (name, shape a, shape b) ----
BIN_SHAPES = [
    ("b34_4", (3, 4), (4,)),
    ("b214_31", (2, 1, 4), (3, 1)),
    ("b03_3", (0, 3), (3,)),
    ("b1_51", (1,), (5, 1)),
    ("b5_s", (5,), ()),
    ("b231_114", (2, 3, 1), (1, 1, 4)),
    ("b11_11", (1, 1), (1, 1)),
    ("b2x37_37", (2, 37), (37,)),
]
BIN_OPS = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
           "maximum": np.maximum, "minimum": np.minimum}
for name, sa, sb in BIN_SHAPES:
    a, b = randn(*sa), randn(*sb)
    if name == "b2x37_37":
        b = np.where(np.abs(b) < 0.1, f32(0.5), b)
    put(f"bin.{name}.a", a)
    put(f"bin.{name}.b", b)
    for op, fn in BIN_OPS.items():
        put(f"bin.{name}.{op}", f32(fn(a.astype(np.float64), b.astype(np.float64))))

# ---- random broadcast-compatible shapes (ranks 0-4, extents 0, 1, 2, 3, 5) ----
RANDOM_CASES = 24
for i in range(RANDOM_CASES):
    rank = int(rng.integers(0, 5))
    out = [int(rng.choice([0, 1, 2, 3, 5])) for _ in range(rank)]
    def operand():
        r = rank if rng.random() < 0.6 else int(rng.integers(0, rank + 1))
        return tuple(d if rng.random() < 0.6 else 1 for d in out[rank - r:])
    a, b = randn(*operand()), randn(*operand())
    put(f"rnd.{i}.a", a)
    put(f"rnd.{i}.b", b)
    put(f"rnd.{i}.add", f32(a.astype(np.float64) + b))
    put(f"rnd.{i}.mul", f32(a.astype(np.float64) * b))
    if a.ndim:
        put(f"rnd.{i}.sum_last", f32(a.astype(np.float64).sum(axis=-1, keepdims=True)))
        if a.shape[-1]:
            put(f"rnd.{i}.softmax", f32(np.exp(a - a.max(axis=-1, keepdims=True).astype(np.float64))
                                        / np.exp(a - a.max(axis=-1, keepdims=True).astype(np.float64)).sum(axis=-1, keepdims=True)))

# ---- non-contiguous views: base x [6, 8], y [8, 6]; the C++ test builds the same views ----
x = randn(6, 8)
y = randn(8, 6)
put("view.x", x)
put("view.y", y)
# x.T[::2, 1:5] (shape [4, 4]) + y[1:8:2, 2:6] (shape [4, 4])
put("view.add", f32(x.T[::2, 1:5].astype(np.float64) + y[1:8:2, 2:6]))
# exp of a transposed view
put("view.exp_t", f32(np.exp(x.T.astype(np.float64))))
# sum over axis 0 of x[:, ::3]
put("view.sum_step", f32(x[:, ::3].astype(np.float64).sum(axis=0)))
# matmul of transposed views: x.T @ y.T -> [8, 8]
put("view.matmul_tt", f32(x.T.astype(np.float64) @ y.T.astype(np.float64)))
# softmax along axis 0 of x.T[:, 1:4]
xv = x.T[:, 1:4].astype(np.float64)
e = np.exp(xv - xv.max(axis=0, keepdims=True))
put("view.softmax_axis0", f32(e / e.sum(axis=0, keepdims=True)))
# broadcast_to view then multiply: broadcast_to(x[0], [3, 8]) * x[1:4]
put("view.bcast_mul", f32(np.broadcast_to(x[0].astype(np.float64), (3, 8)) * x[1:4]))

# ---- unary math ----
u = np.concatenate([randn(61, scale=3.0), f32([0.0, -0.0, 1e-30, -1e-30, 20.0, -20.0, 80.0, -80.0])])
put("unary.x", u)
u64 = u.astype(np.float64)
erfc = np.vectorize(__import__("math").erfc)
put("unary.exp", f32(np.exp(np.minimum(u64, 88.0))))  # inputs above 88 are clipped in the test as well
put("unary.tanh", f32(np.tanh(u64)))
put("unary.neg", f32(-u64))
put("unary.abs", f32(np.abs(u64)))
put("unary.relu", f32(np.maximum(u64, 0.0)))
put("unary.sigmoid", f32(1.0 / (1.0 + np.exp(-u64))))
put("unary.silu", f32(u64 / (1.0 + np.exp(-u64))))
put("unary.gelu", f32(0.5 * u64 * erfc(-u64 / np.sqrt(2.0))))
put("unary.gelu_tanh", f32(0.5 * u64 * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (u64 + 0.044715 * u64 ** 3)))))
pos = f32(np.abs(u) + f32(1e-3))
put("unary.pos", pos)
put("unary.log", f32(np.log(pos.astype(np.float64))))
put("unary.sqrt", f32(np.sqrt(pos.astype(np.float64))))

# ---- reductions over a [3, 4, 5] tensor ----
r = randn(3, 4, 5)
put("red.x", r)
r64 = r.astype(np.float64)
RED_AXES = {"all": None, "a0": 0, "a1": 1, "a2": 2, "a02": (0, 2), "am1": -1}
for an, ax in RED_AXES.items():
    for keep in (False, True):
        k = "k" if keep else "n"
        put(f"red.sum.{an}.{k}", f32(np.sum(r64, axis=ax, keepdims=keep)))
        put(f"red.mean.{an}.{k}", f32(np.mean(r64, axis=ax, keepdims=keep)))
        put(f"red.max.{an}.{k}", f32(np.max(r64, axis=ax, keepdims=keep)))
        put(f"red.min.{an}.{k}", f32(np.min(r64, axis=ax, keepdims=keep)))
        put(f"red.var.{an}.{k}", f32(np.var(r64, axis=ax, keepdims=keep)))
for ax in (0, 1, 2):
    put(f"red.argmax.a{ax}", np.argmax(r, axis=ax).astype(np.int32))
put("red.argmax.all", np.asarray(np.argmax(r), dtype=np.int32))
z = np.zeros((0, 3), dtype=np.float32)
put("red.empty.sum0", f32(np.sum(z.astype(np.float64), axis=0)))
put("red.empty.sum1", f32(np.sum(z.astype(np.float64), axis=1)))
one = randn(1, 1, 4)
put("red.one.x", one)
put("red.one.sum1", f32(np.sum(one.astype(np.float64), axis=1)))
put("red.one.var2", f32(np.var(one.astype(np.float64), axis=2)))


# ---- softmax ----
def softmax(v, axis=-1):
    v = v.astype(np.float64)
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(v, axis=-1):
    v = v.astype(np.float64)
    m = v.max(axis=axis, keepdims=True)
    return v - m - np.log(np.exp(v - m).sum(axis=axis, keepdims=True))


SOFTMAX_INPUTS = {
    "large": f32([[1000.0, 1001.0, 1002.0, 999.0, 1000.5] * 7]),
    "negative": f32([[-1000.0, -1001.0, -1003.0, -999.5, -1000.0] * 7]),
    "uniform": f32(np.full((3, 19), 4.25)),
    "single": f32([[7.5], [-3.0]]),
    "random": randn(5, 33, scale=4.0),
}
for name, v in SOFTMAX_INPUTS.items():
    put(f"softmax.{name}.x", v)
    put(f"softmax.{name}.out", f32(softmax(v)))
    put(f"softmax.{name}.log", f32(log_softmax(v)))
put("softmax.random.axis0", f32(softmax(SOFTMAX_INPUTS["random"], axis=0)))

# ---- norms ----
nx, nw, nb = randn(4, 19), randn(19), randn(19)
put("norm.x", nx)
put("norm.w", nw)
put("norm.b", nb)
x64 = nx.astype(np.float64)
mu = x64.mean(axis=-1, keepdims=True)
va = x64.var(axis=-1, keepdims=True)
put("norm.layer", f32((x64 - mu) / np.sqrt(va + 1e-5) * nw + nb))
put("norm.rms", f32(x64 / np.sqrt((x64 ** 2).mean(axis=-1, keepdims=True) + 1e-6) * nw))

# ---- matmul ----
MM_SHAPES = {
    "2d": ((5, 7), (7, 3)),
    "batch_rhs2d": ((2, 3, 4), (4, 5)),
    "batch_bcast": ((2, 1, 3, 4), (3, 4, 2)),
    "vec_mat": ((7,), (7, 3)),
    "mat_vec": ((5, 7), (7,)),
    "empty_m": ((0, 4), (4, 3)),
    "empty_k": ((3, 0), (0, 2)),
    "tiles": ((67, 300), (300, 71)),
    "one": ((1, 1), (1, 1)),
}
for name, (sa, sb) in MM_SHAPES.items():
    a, b = randn(*sa), randn(*sb)
    put(f"mm.{name}.a", a)
    put(f"mm.{name}.b", b)
    put(f"mm.{name}.out", f32(np.matmul(a.astype(np.float64), b.astype(np.float64))))
    put(f"mm.{name}.mag", f32(np.matmul(np.abs(a.astype(np.float64)), np.abs(b.astype(np.float64)))))

# ---- joins, where, topk, gather, embedding ----
ca, cb = randn(2, 3), randn(2, 5)
put("join.a", ca)
put("join.b", cb)
put("join.concat1", np.concatenate([ca, cb], axis=1))
put("join.stack1", np.stack([ca, ca * 2], axis=1).astype(np.float32))
wc = rng.integers(0, 2, size=(3, 1)).astype(np.uint8)
wa, wb = randn(3, 4), randn(4)
put("where.cond", wc)
put("where.a", wa)
put("where.b", wb)
put("where.out", np.where(wc.astype(bool), wa, wb).astype(np.float32))
tk = randn(4, 9)
tk[1, 3] = tk[1, 5] = tk[1, 7] = f32(5.0)  # ties: lower index first
put("topk.x", tk)
order = np.argsort(-tk.astype(np.float64), axis=-1, kind="stable")[:, :3]
put("topk.idx", order.astype(np.int32))
put("topk.val", np.take_along_axis(tk, order, axis=-1))
gx = randn(3, 5)
gi = rng.integers(-5, 5, size=(3, 4)).astype(np.int32)
put("gather.x", gx)
put("gather.idx", gi)
put("gather.out", np.take_along_axis(gx, np.where(gi < 0, gi + 5, gi), axis=1))
table = randn(10, 6)
ids = np.array([[3, 0, 9], [9, 1, 2]], dtype=np.int32)
put("emb.table", table)
put("emb.ids", ids)
put("emb.out", table[ids])

# ---- dtype conversion at the precision bounds ----
f16_edges = f32([0.0, -0.0, 1.0, -1.0, 65504.0, 65519.996, 65520.0, -65520.0, 1e6, 2.0 ** -14, 2.0 ** -24,
                 2.0 ** -25, 3 * 2.0 ** -26, 2.0 ** -25 * 1.0000001, 5.9604645e-08, 6.097555e-05, 0.1, 1.0009765625,
                 1.00048828125, 1.00146484375, 2049.0, 2051.0, np.inf, -np.inf, 1e-45, -3e-39])
f16_in = np.concatenate([f16_edges, randn(40, scale=100.0)])
put("conv.f16.in", f16_in)
put("conv.f16.bits", f16_in.astype(np.float16))
all_f16 = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
put("conv.f16.all_widened", all_f16.astype(np.float32))


def bf16_rne_bits(v):
    """Round a float32 to bfloat16 (nearest, ties to even) with exact rational arithmetic."""
    bits = int(np.float32(v).view(np.uint32))
    if np.isinf(v):
        return bits >> 16
    sign, mag = bits & 0x80000000, bits & 0x7FFFFFFF
    lo = mag & 0x7FFF0000          # truncation toward zero
    hi = lo + 0x10000              # next bfloat16 away from zero
    x = Fraction(float(abs(np.float32(v))))
    vlo = Fraction(float(np.uint32(lo).view(np.float32)))
    # Rounding past the largest finite value gives infinity; the step up then behaves like 2^128.
    vhi = Fraction(2) ** 128 if hi >= 0x7F800000 else Fraction(float(np.uint32(hi).view(np.float32)))
    dlo, dhi = x - vlo, vhi - x
    pick = lo if (dlo < dhi or (dlo == dhi and ((lo >> 16) & 1) == 0)) else hi
    return (sign | pick) >> 16


bf_in = np.concatenate([f32([0.0, -0.0, 1.0, 1.00390625, 1.005859375, 1.0078125, 3.3895314e38, 3.4028235e38,
                             -3.4028235e38, 1e-40, -1e-40, 9.2e-41, 1.1754944e-38, np.inf, -np.inf, 0.1, -0.1]),
                        randn(40, scale=1000.0)])
put("conv.bf16.in", bf_in)
put("conv.bf16.bits", np.array([bf16_rne_bits(v) for v in bf_in], dtype=np.uint16))

# ---- write ----
CODES = {np.dtype(np.float32): 0, np.dtype(np.int32): 1, np.dtype(np.uint8): 2, np.dtype(np.float16): 3,
         np.dtype(np.uint16): 4}
out = bytearray(b"LFFX")
out += struct.pack("<I", len(arrays))
for name, a in arrays.items():
    a = np.array(a, order="C")  # (ascontiguousarray would turn 0-d arrays into 1-d)
    if a.dtype == np.int64:
        a = a.astype(np.int32)
    nb_ = name.encode()
    out += struct.pack("<I", len(nb_)) + nb_
    out += struct.pack("<BI", CODES[a.dtype], a.ndim)
    out += struct.pack(f"<{a.ndim}Q", *a.shape)
    out += a.astype(a.dtype.newbyteorder("<")).tobytes()
path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("fixtures.bin")
path.write_bytes(bytes(out))
print(f"wrote {len(arrays)} arrays, {len(out)} bytes to {path}")
