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

// sin, cos and tan of f32 over the whole range: drivers' own are accurate only near [-π, π]
// (lavapipe returned sin(-1e30) = 1), so the argument is reduced here, x = n·π/2 + r with
// |r| ≤ π/4, and r goes through Cephes' single-precision polynomials (about 2 ulps).
// Reduction: for |x| < 2, |x| − π/2 in 64-bit fixed point (n ≤ 1); above, Payne–Hanek: the 24-bit mantissa times a 96-bit window of 2/π's bits chosen by the exponent,
// as a 64-bit fixed-point number of quadrants (2⁶² to one) in 32-bit halves (ARM's
// optimized-routines sinf does the same with 64-bit integers).
const TWO_OVER_PI_BITS = array<u32, 24>(
    0xa2u, 0xa2f9u, 0xa2f983u, 0xa2f9836eu, 0xf9836e4eu, 0x836e4e44u, 0x6e4e4415u, 0x4e441529u,
    0x441529fcu, 0x1529fc27u, 0x29fc2757u, 0xfc2757d1u, 0x2757d1f5u, 0x57d1f534u, 0xd1f534ddu,
    0xf534ddc0u, 0x34ddc0dbu, 0xddc0db62u, 0xc0db6295u, 0xdb629599u, 0x6295993cu, 0x95993c43u,
    0x993c4390u, 0x3c439041u,
);

// The 64-bit product of two u32 as (low, high).
fn mul_wide_u32(a: u32, b: u32) -> vec2<u32> {
    let a0 = a & 0xffffu;
    let a1 = a >> 16u;
    let b0 = b & 0xffffu;
    let b1 = b >> 16u;
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
    return vec2<u32>((p00 & 0xffffu) | (mid << 16u), a1 * b1 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u));
}

fn add_u64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.x + b.x;
    return vec2<u32>(lo, a.y + b.y + select(0u, 1u, lo < a.x));
}

// A 64-bit magnitude (low, high) as f32 (rounded once; bits below the top 32 ignored).
fn u64_to_f32(v: vec2<u32>) -> f32 {
    var h = v.y;
    var l = v.x;
    var e = 32;
    if (h == 0u) {
        h = l;
        l = 0u;
        e = 0;
    }
    if (h == 0u) { return 0.0; }
    let z = countLeadingZeros(h);
    let top = select((h << z) | (l >> (32u - z)), h, z == 0u);
    return ldexp(f32(top >> 8u) * 256.0 + f32(top & 0xffu), e - i32(z));
}

// |x| = n·π/2 + r for finite x: (r, n mod 4). All in integers: a shader compiler may
// reassociate float steps such as (x − c1) − c2 and lose the digits they carry (lavapipe did).
fn rem_pio2_f32(x: f32) -> vec2<f32> {
    let ax = abs(x);
    if (ax <= 0.7853982) {
        return vec2<f32>(ax, 0.0);
    }
    let xi = bitcast<u32>(ax);
    let m = (xi & 0x7fffffu) | 0x800000u;
    if (ax < 2.0) {
        // n = 1: r = |x| − π/2 in fixed point, 2⁵⁵ to one (|x| = m·2⁻²³ or m·2⁻²⁴).
        let xv = select(vec2<u32>((m & 1u) << 31u, m >> 1u), vec2<u32>(0u, m), (xi >> 23u) == 127u);
        let p = vec2<u32>(0xa22168c2u, 0xc90fdau);
        let above = xv.y > p.y || (xv.y == p.y && xv.x >= p.x);
        let hi = select(p, xv, above);
        let lo = select(xv, p, above);
        let d = add_u64(hi, add_u64(vec2<u32>(~lo.x, ~lo.y), vec2<u32>(1u, 0u)));
        let r = ldexp(u64_to_f32(d), -55);
        return vec2<f32>(select(-r, r, above), 1.0);
    }
    let at = (xi >> 26u) & 15u;
    let shift = (xi >> 23u) & 7u;
    let mm = ((xi & 0xffffffu) | 0x800000u) << shift;
    let r0 = mm * TWO_OVER_PI_BITS[at];
    let r1 = mul_wide_u32(mm, TWO_OVER_PI_BITS[at + 4u]);
    let r2 = mul_wide_u32(mm, TWO_OVER_PI_BITS[at + 8u]);
    var f = add_u64(vec2<u32>(r2.y, r0), r1);
    // Round to the nearest quadrant; the rest, f − n·2⁶², is a signed fraction of one.
    let n = add_u64(f, vec2<u32>(0u, 0x20000000u)).y >> 30u;
    f.y = f.y - (n << 30u);
    let neg = (f.y & 0x80000000u) != 0u;
    if (neg) {
        f = add_u64(vec2<u32>(~f.x, ~f.y), vec2<u32>(1u, 0u));
    }
    // Quadrants to radians: π/2 · 2⁻⁶².
    let r = u64_to_f32(f) * 3.4061215800865545e-19;
    return vec2<f32>(select(r, -r, neg), f32(n & 3u));
}

fn sin_poly_f32(r: f32) -> f32 {
    let z = r * r;
    return r + r * z * (-1.6666654611e-1 + z * (8.3321608736e-3 + z * -1.9515295891e-4));
}

fn cos_poly_f32(r: f32) -> f32 {
    let z = r * r;
    return 1.0 - 0.5 * z + z * z * (4.166664568298827e-2 + z * (-1.388731625493765e-3 + z * 2.443315711809948e-5));
}

fn sin_f32(x: f32) -> f32 {
    if (!isfinite_f32(x)) { return nan_f32(); }
    let rq = rem_pio2_f32(x);
    let q = u32(rq.y);
    var v = select(sin_poly_f32(rq.x), cos_poly_f32(rq.x), (q & 1u) == 1u);
    v = select(v, -v, q >= 2u);
    // sin(−x) = −sin(x), and sin(−0) = −0.
    return select(v, -v, (bitcast<u32>(x) >> 31u) == 1u);
}

fn cos_f32(x: f32) -> f32 {
    if (!isfinite_f32(x)) { return nan_f32(); }
    let rq = rem_pio2_f32(x);
    let q = u32(rq.y);
    let v = select(cos_poly_f32(rq.x), sin_poly_f32(rq.x), (q & 1u) == 1u);
    return select(v, -v, q == 1u || q == 2u);
}

fn tan_f32(x: f32) -> f32 {
    if (!isfinite_f32(x)) { return nan_f32(); }
    let rq = rem_pio2_f32(x);
    let s = sin_poly_f32(rq.x);
    let c = cos_poly_f32(rq.x);
    let v = select(s / c, -c / s, (u32(rq.y) & 1u) == 1u);
    return select(v, -v, (bitcast<u32>(x) >> 31u) == 1u);
}
