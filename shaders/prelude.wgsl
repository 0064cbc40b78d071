// tessera: helpers shared by every generated kernel. They give the GPU the semantics of the
// CPU backend (NumPy's): NaN-propagating minimum/maximum, floor division and a remainder with
// the divisor's sign for integers, saturating float-to-int casts, C's pow special cases.
// NaN and infinity tests look at the bits, so no fast-math assumption can remove them.

fn isnan_f32(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u;
}

fn isfinite_f32(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn nan_f32() -> f32 {
    return bitcast<f32>(0x7fc00000u);
}

fn inf_f32() -> f32 {
    return bitcast<f32>(0x7f800000u);
}

fn minimum_f32(a: f32, b: f32) -> f32 {
    if (isnan_f32(a)) { return a; }
    if (isnan_f32(b)) { return b; }
    return select(a, b, b < a);
}

fn maximum_f32(a: f32, b: f32) -> f32 {
    if (isnan_f32(a)) { return a; }
    if (isnan_f32(b)) { return b; }
    return select(a, b, b > a);
}

// log(1 + x) without losing the digits of a small x: 2·atanh(x / (2 + x)) by its series
// near 0 (drivers' log is accurate only in absolute terms near 1).
fn log1p_f32(x: f32) -> f32 {
    if (abs(x) < 0.25) {
        let s = x / (2.0 + x);
        let s2 = s * s;
        return 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (0.2 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0)))));
    }
    return log(1.0 + x);
}

// exp(x) - 1 without losing the digits of a small x: its Taylor series to x⁹/9! near 0.
fn expm1_f32(x: f32) -> f32 {
    if (abs(x) < 0.5) {
        let p = 1.0 / 5040.0 + x * (1.0 / 40320.0 + x * (1.0 / 362880.0));
        return x * (1.0 + x * (0.5 + x * (1.0 / 6.0 + x * (1.0 / 24.0 + x * (1.0 / 120.0 + x * (1.0 / 720.0 + x * p))))));
    }
    return exp(x) - 1.0;
}

// tanh saturates to ±1 where f32 cannot tell it from 1 (some drivers overflow exp there).
fn tanh_f32(x: f32) -> f32 {
    if (abs(x) > 10.0) { return sign(x); }
    return tanh(x);
}

fn is_odd_integer_f32(b: f32) -> bool {
    return abs(b) < 16777216.0 && floor(b) == b && (i32(b) & 1) == 1;
}

// C's pow (as Rust's powf), special cases included.
fn pow_f32(a: f32, b: f32) -> f32 {
    if (b == 0.0 || a == 1.0) { return 1.0; }
    if (isnan_f32(a) || isnan_f32(b)) { return nan_f32(); }
    let ax = abs(a);
    if (ax == 1.0 && !isfinite_f32(b)) { return 1.0; }
    var r: f32;
    if (ax == 0.0) {
        r = select(0.0, inf_f32(), b < 0.0);
    } else if (!isfinite_f32(ax)) {
        r = select(inf_f32(), 0.0, b < 0.0);
    } else {
        r = pow(ax, b);
    }
    let negative = (bitcast<u32>(a) & 0x80000000u) != 0u;
    if (negative) {
        if (isfinite_f32(a) && a != 0.0 && floor(b) != b) { return nan_f32(); }
        if (is_odd_integer_f32(b)) { r = -r; }
    }
    return r;
}

// NumPy's remainder for floats: the result has the divisor's sign.
fn rem_f32(a: f32, b: f32) -> f32 {
    var m = a - b * trunc(a / b);
    if (isfinite_f32(a) && !isfinite_f32(b) && !isnan_f32(b)) { m = a; }
    if (m != 0.0 && ((m < 0.0) != (b < 0.0))) { return m + b; }
    return m;
}

// Truncating, saturating, NaN to 0 (Rust's `as`).
fn f32_to_i32(x: f32) -> i32 {
    if (isnan_f32(x)) { return 0; }
    if (x >= 2147483648.0) { return 2147483647; }
    if (x <= -2147483648.0) { return -2147483647 - 1; }
    return i32(x);
}

// NumPy's floor_divide for integers (÷0 gives 0; MIN / -1 wraps).
fn floordiv_i32(a: i32, b: i32) -> i32 {
    if (b == 0) { return 0; }
    if (b == -1) { return 0 - a; }
    let q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) { return q - 1; }
    return q;
}

// NumPy's remainder for integers (÷0 gives 0).
fn rem_i32(a: i32, b: i32) -> i32 {
    if (b == 0 || b == -1) { return 0; }
    let r = a % b;
    if (r != 0 && ((r < 0) != (b < 0))) { return r + b; }
    return r;
}

// Integer power with wrapping; negative exponents give 0 unless the base is ±1.
fn pow_i32(a: i32, b: i32) -> i32 {
    if (b < 0) {
        if (a == 1) { return 1; }
        if (a == -1) { return select(-1, 1, (b & 1) == 0); }
        return 0;
    }
    var r = 1;
    var base = a;
    var e = u32(b);
    loop {
        if (e == 0u) { break; }
        if ((e & 1u) == 1u) { r = r * base; }
        base = base * base;
        e = e >> 1u;
    }
    return r;
}
