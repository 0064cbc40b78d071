// tessera: f64 helpers, included only where the adapter offers SHADER_F64. Only exact
// operations (+ − × ÷ sqrt abs floor ceil min max, comparisons): transcendental f64 functions
// run on the CPU (Vulkan's GLSL.std.450 defines them for 16- and 32-bit floats only).

fn isnan_f64(x: f64) -> bool {
    return !(x == x);
}

fn isfinite_f64(x: f64) -> bool {
    return abs(x) <= 1.7976931348623157e308lf;
}

fn minimum_f64(a: f64, b: f64) -> f64 {
    if (isnan_f64(a)) { return a; }
    if (isnan_f64(b)) { return b; }
    return select(a, b, b < a);
}

fn maximum_f64(a: f64, b: f64) -> f64 {
    if (isnan_f64(a)) { return a; }
    if (isnan_f64(b)) { return b; }
    return select(a, b, b > a);
}

fn f64_to_i32(x: f64) -> i32 {
    if (isnan_f64(x)) { return 0; }
    if (x >= 2147483648.0lf) { return 2147483647; }
    if (x <= -2147483648.0lf) { return -2147483647 - 1; }
    return i32(x);
}
