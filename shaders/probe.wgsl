// tessera: the device's own ceilings, measured with the simplest kernels WGSL can write.
// `copy` moves 16 bytes per thread (read + write); `fma_peak` runs 8 independent vec4 FMA
// chains per thread and stores their sum so nothing is optimised away.

struct Probe {
    n: u32,
    grid: u32,
    iters: u32,
    pad: u32,
}

@group(0) @binding(0) var<uniform> p: Probe;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> src: array<vec4<f32>>;

@compute @workgroup_size(256)
fn copy(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.y * p.grid + id.x;
    if (i < p.n) {
        dst[i] = src[i];
    }
}

@compute @workgroup_size(256)
fn fma_peak(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.y * p.grid + id.x;
    let x = f32(i) * 1e-9;
    var a0 = vec4<f32>(x, x + 0.1, x + 0.2, x + 0.3);
    var a1 = a0 + 0.01;
    var a2 = a0 + 0.02;
    var a3 = a0 + 0.03;
    var a4 = a0 + 0.04;
    var a5 = a0 + 0.05;
    var a6 = a0 + 0.06;
    var a7 = a0 + 0.07;
    let m = vec4<f32>(0.9999999);
    let s = vec4<f32>(1e-7);
    for (var k = 0u; k < p.iters; k = k + 1u) {
        a0 = fma(a0, m, s);
        a1 = fma(a1, m, s);
        a2 = fma(a2, m, s);
        a3 = fma(a3, m, s);
        a4 = fma(a4, m, s);
        a5 = fma(a5, m, s);
        a6 = fma(a6, m, s);
        a7 = fma(a7, m, s);
    }
    if (i < p.n) {
        dst[i] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
    }
}

// The simplest partial sum: each of `n` threads adds every n-th vec4 of `src` (`iters` of
// them) and writes its partial, so a reduction's first pass has a ceiling to compare with.
@compute @workgroup_size(256)
fn sum_plain(@builtin(global_invocation_id) id: vec3<u32>) {
    let i = id.y * p.grid + id.x;
    if (i >= p.n) {
        return;
    }
    var a = vec4<f32>(0.0);
    var b = vec4<f32>(0.0);
    var k = 0u;
    for (; k + 1u < p.iters; k = k + 2u) {
        a = a + src[i + k * p.n];
        b = b + src[i + (k + 1u) * p.n];
    }
    if (k < p.iters) {
        a = a + src[i + k * p.n];
    }
    dst[i] = a + b;
}
