"""Prints tests/common/numpy_dtypes.rs: NumPy's answers for the integer dtypes' ops.

Run from the crate root: python3 tests/common/numpy_dtypes.py > tests/common/numpy_dtypes.rs
"""
import warnings

import numpy as np

warnings.simplefilter("ignore")  # divide by zero, overflow: NumPy warns and gives the values kept here

INTS = ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]
ALL = ["bool"] + INTS + ["float32", "float64"]
RUST = {"bool": "bool", "int8": "i8", "int16": "i16", "int32": "i32", "int64": "i64", "uint8": "u8",
        "uint16": "u16", "uint32": "u32", "uint64": "u64", "float32": "f32", "float64": "f64"}


def lit(v, t):
    if t == "bool":
        return "true" if v else "false"
    if t.startswith("float"):
        v = float(v)
        if np.isnan(v):
            return f"{RUST[t]}::NAN"
        if np.isinf(v):
            return f"{RUST[t]}::{'INFINITY' if v > 0 else 'NEG_INFINITY'}"
        return repr(v)
    return str(int(v))


def arr(name, a, t):
    a = np.asarray(a)
    body = ", ".join(lit(v, t) for v in a.tolist())
    return f"    pub const {name}: [{RUST[t]}; {a.size}] = [{body}];"


def one(name, v, t):
    return f"    pub const {name}: {RUST[t]} = {lit(v, t)};"


def ints(t):
    info = np.iinfo(t)
    lo, hi = int(info.min), int(info.max)
    if lo < 0:
        x = [lo, hi, lo + 1, hi - 1, 0, 1, -1, 7, -7, 3, 100, -100]
        y = [-1, 2, -2, 0, 3, hi, lo, 1, 2, -3, 7, -5]
    else:
        x = [0, hi, 1, hi - 1, hi // 2, hi // 2 + 1, 2, 7, 128, 3, 100, 200]
        y = [1, 2, hi, 0, 3, hi, hi // 2, 1, 2, 5, 7, 0]
    return np.array(x, dtype=t), np.array(y, dtype=t)


print(f"//! NumPy {np.__version__}'s answers for the integer dtypes (printed by numpy_dtypes.py beside")
print("//! this file; do not edit by hand).")
print("#![allow(dead_code, clippy::all)]")
for t in INTS:
    x, y = ints(t)
    e = (np.abs(y.astype(np.int64)) % 5).astype(t)
    print(f"pub mod {RUST[t]} {{")
    print(arr("X", x, t))
    print(arr("Y", y, t))
    print(arr("EXP", e, t))
    print(arr("ADD", x + y, t))
    print(arr("SUB", x - y, t))
    print(arr("MUL", x * y, t))
    print(arr("FLOOR_DIV", np.floor_divide(x, y), t))
    print(arr("REM", np.remainder(x, y), t))
    print(arr("POW", np.power(x, e), t))
    print(arr("MINIMUM", np.minimum(x, y), t))
    print(arr("MAXIMUM", np.maximum(x, y), t))
    print(arr("NEG", np.negative(x), t))
    print(arr("ABS", np.abs(x), t))
    print(arr("LT", x < y, "bool"))
    print(arr("EQ", x == y, "bool"))
    s = str(np.sum(x).dtype)
    print(one("SUM", np.sum(x), s))
    print(one("PROD", np.prod(x), s))
    print(arr("CUMSUM", np.cumsum(x), s))
    print(one("MEAN", np.mean(x), "float64"))
    print(one("MIN", np.min(x), t))
    print(one("MAX", np.max(x), t))
    print(one("ARGMIN", np.argmin(x), "int64"))
    print(one("ARGMAX", np.argmax(x), "int64"))
    print(arr("SORT", np.sort(x), t))
    print(arr("ARGSORT", np.argsort(x, kind="stable"), "int64"))
    print(one("QUANTILE_30", np.quantile(x, 0.3), "float64"))
    for u in ALL:
        print(arr(f"AS_{RUST[u].upper()}", x.astype(u), u))
    print("}")

# Floats to integers, in range (truncation toward zero): the same on every platform.
signed = np.array([0.0, -0.0, 0.9, -0.9, 1.5, -1.5, 2.7, -2.7, 100.99, -100.99, 126.5, -127.9])
unsigned = np.abs(signed) + np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 100])
print("pub mod float_to_int {")
print(arr("SIGNED", signed, "float64"))
print(arr("UNSIGNED", unsigned, "float64"))
for t in INTS:
    src = signed if t.startswith("int") else unsigned
    print(arr(f"F64_TO_{RUST[t].upper()}", src.astype(t), t))
    print(arr(f"F32_TO_{RUST[t].upper()}", src.astype(np.float32).astype(t), t))
print("}")

# Counting and searching kernels over the narrow and unsigned types.
d8 = np.array([3, 250, 7, 3, 0, 255, 128, 7, 7, 1], dtype=np.uint8)
d16 = np.array([-300, 5, 32767, -32768, 5, 0, -1, 1000, 5, -300], dtype=np.int16)
d64 = np.array([2**64 - 1, 0, 2**63, 2**63 - 1, 5, 2**63, 2**64 - 1, 1, 0, 2**63 + 1], dtype=np.uint64)
print("pub mod kernels {")
print(arr("D8", d8, "uint8"))
print(arr("D16", d16, "int16"))
print(arr("D64", d64, "uint64"))
print(arr("D8_BINCOUNT", np.bincount(d8), "int64"))
u, c = np.unique(d8, return_counts=True)
print(arr("D8_UNIQUE", u, "uint8"))
print(arr("D8_UNIQUE_COUNTS", c, "int64"))
h, e = np.histogram(d8, 4)
print(arr("D8_HIST4", h, "int64"))
print(arr("D8_HIST4_EDGES", e, "float64"))
h, e = np.histogram(d16, 5)
print(arr("D16_HIST5", h, "int64"))
print(arr("D16_HIST5_EDGES", e, "float64"))
u, i = np.unique(d16, return_index=True)
print(arr("D16_UNIQUE", u, "int16"))
print(arr("D16_UNIQUE_INDEX", i, "int64"))
print(arr("D16_ISIN_5_MINUS_1", np.isin(d16, [5, -1]), "bool"))
print(arr("D64_UNIQUE", np.unique(d64), "uint64"))
print(arr("D64_ARGSORT", np.argsort(d64, kind="stable"), "int64"))
table = np.sort(d64)
print(arr("D64_SORTED", table, "uint64"))
print(arr("D64_SEARCH_LEFT", np.searchsorted(table, d64, side="left"), "int64"))
print(arr("D64_SEARCH_RIGHT", np.searchsorted(table, d64, side="right"), "int64"))
print(one("D64_ARGMAX", np.argmax(d64), "int64"))
print(one("D64_MAX", np.max(d64), "uint64"))
print(one("D64_MEDIAN", np.median(d64), "float64"))
print("}")
