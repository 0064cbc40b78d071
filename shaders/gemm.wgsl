// tessera: C = [C_in +] alpha · op(A) · op(B) for one tile. A 16 × 16 workgroup computes a
// 128 × 128 tile of C, 8 × 8 outputs per thread held in sixteen vec4 registers (named, not an
// array: a run-time index into a register array sends it to slow local memory), from 8-deep
// slices of op(A) and op(B) staged in workgroup memory as vec4s (one 16-byte load feeds four
// outputs). Each thread's rows are 4·ty + 0..4 and 64 + 4·ty + 0..4, its columns
// 4·tx + 0..4 and 64 + 4·tx + 0..4, so a warp's workgroup loads do not conflict.
// `ELEM` is replaced by f32 or f64 before compiling.

struct Gemm {
    m: u32,
    n: u32,
    k: u32,
    accumulate: u32,
    // Element strides of op(A) along its rows and columns, and of op(B).
    a_row: u32,
    a_col: u32,
    b_row: u32,
    b_col: u32,
}

@group(0) @binding(0) var<uniform> g: Gemm;
@group(0) @binding(1) var<storage, read_write> c: array<ELEM>;
@group(0) @binding(2) var<storage, read> a: array<ELEM>;
@group(0) @binding(3) var<storage, read> b: array<ELEM>;
// C_in when accumulating (any buffer otherwise) and alpha.
@group(0) @binding(4) var<storage, read> cin: array<ELEM>;
@group(0) @binding(5) var<storage, read> alpha: array<ELEM>;

// Slice kk of op(A): rows 4j..4j+4 of the tile in tile_a[kk * 32 + j]; likewise op(B)'s columns.
var<workgroup> tile_a: array<vec4<ELEM>, 512>;
var<workgroup> tile_b: array<vec4<ELEM>, 512>;

// The (row or column, k) of element e (0..1024) of an 8-deep slice, along whichever axis of
// the matrix is contiguous so neighbouring threads read neighbouring addresses.
fn place(e: u32, k_contiguous: bool) -> vec2<u32> {
    if (k_contiguous) {
        return vec2<u32>(e / 8u, e % 8u);
    }
    return vec2<u32>(e % 128u, e / 128u);
}

fn fetch_a(e: u32, row0: u32, k0: u32) -> ELEM {
    let p = place(e, g.a_col == 1u);
    if (row0 + p.x < g.m && k0 + p.y < g.k) {
        return a[(row0 + p.x) * g.a_row + (k0 + p.y) * g.a_col];
    }
    return ELEM(0);
}

fn fetch_b(e: u32, col0: u32, k0: u32) -> ELEM {
    let p = place(e, g.b_row == 1u);
    if (k0 + p.y < g.k && col0 + p.x < g.n) {
        return b[(k0 + p.y) * g.b_row + (col0 + p.x) * g.b_col];
    }
    return ELEM(0);
}

fn stage_a(e: u32, v: ELEM, o: u32) {
    let p = place(e, g.a_col == 1u);
    tile_a[o + p.y * 32u + p.x / 4u][p.x % 4u] = v;
}

fn stage_b(e: u32, v: ELEM, o: u32) {
    let p = place(e, g.b_row == 1u);
    tile_b[o + p.y * 32u + p.x / 4u][p.x % 4u] = v;
}

// Write four outputs of row r from column c0 on.
fn put(r: u32, c0: u32, v: vec4<ELEM>, s: ELEM) {
    if (r >= g.m) {
        return;
    }
    for (var j = 0u; j < 4u; j = j + 1u) {
        let col = c0 + j;
        if (col < g.n) {
            var x = s * v[j];
            if (g.accumulate != 0u) {
                x = cin[r * g.n + col] + x;
            }
            c[r * g.n + col] = x;
        }
    }
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row0 = wg.y * 128u;
    let col0 = wg.x * 128u;
    let tid = lid.y * 16u + lid.x;
    let z = vec4<ELEM>(ELEM(0));
    var c00 = z; var c01 = z; var c10 = z; var c11 = z;
    var c20 = z; var c21 = z; var c30 = z; var c31 = z;
    var c40 = z; var c41 = z; var c50 = z; var c51 = z;
    var c60 = z; var c61 = z; var c70 = z; var c71 = z;
    // The next slice is fetched into registers while this one is multiplied.
    var pa0 = fetch_a(tid, row0, 0u);
    var pa1 = fetch_a(tid + 256u, row0, 0u);
    var pa2 = fetch_a(tid + 512u, row0, 0u);
    var pa3 = fetch_a(tid + 768u, row0, 0u);
    var pb0 = fetch_b(tid, col0, 0u);
    var pb1 = fetch_b(tid + 256u, col0, 0u);
    var pb2 = fetch_b(tid + 512u, col0, 0u);
    var pb3 = fetch_b(tid + 768u, col0, 0u);
    stage_a(tid, pa0, 0u);
    stage_a(tid + 256u, pa1, 0u);
    stage_a(tid + 512u, pa2, 0u);
    stage_a(tid + 768u, pa3, 0u);
    stage_b(tid, pb0, 0u);
    stage_b(tid + 256u, pb1, 0u);
    stage_b(tid + 512u, pb2, 0u);
    stage_b(tid + 768u, pb3, 0u);
    workgroupBarrier();
    // Two slices in workgroup memory: this one is multiplied while the next is stored, one
    // barrier per slice.
    var o = 0u;
    for (var k0 = 0u; k0 < g.k; k0 = k0 + 8u) {
        let k1 = k0 + 8u;
        let more = k1 < g.k;
        if (more) {
            pa0 = fetch_a(tid, row0, k1);
            pa1 = fetch_a(tid + 256u, row0, k1);
            pa2 = fetch_a(tid + 512u, row0, k1);
            pa3 = fetch_a(tid + 768u, row0, k1);
            pb0 = fetch_b(tid, col0, k1);
            pb1 = fetch_b(tid + 256u, col0, k1);
            pb2 = fetch_b(tid + 512u, col0, k1);
            pb3 = fetch_b(tid + 768u, col0, k1);
        }
        for (var kk = 0u; kk < 8u; kk = kk + 1u) {
            let al = tile_a[o + kk * 32u + lid.y];
            let ah = tile_a[o + kk * 32u + 16u + lid.y];
            let bl = tile_b[o + kk * 32u + lid.x];
            let bh = tile_b[o + kk * 32u + 16u + lid.x];
            c00 = fma(vec4<ELEM>(al.x), bl, c00);
            c01 = fma(vec4<ELEM>(al.x), bh, c01);
            c10 = fma(vec4<ELEM>(al.y), bl, c10);
            c11 = fma(vec4<ELEM>(al.y), bh, c11);
            c20 = fma(vec4<ELEM>(al.z), bl, c20);
            c21 = fma(vec4<ELEM>(al.z), bh, c21);
            c30 = fma(vec4<ELEM>(al.w), bl, c30);
            c31 = fma(vec4<ELEM>(al.w), bh, c31);
            c40 = fma(vec4<ELEM>(ah.x), bl, c40);
            c41 = fma(vec4<ELEM>(ah.x), bh, c41);
            c50 = fma(vec4<ELEM>(ah.y), bl, c50);
            c51 = fma(vec4<ELEM>(ah.y), bh, c51);
            c60 = fma(vec4<ELEM>(ah.z), bl, c60);
            c61 = fma(vec4<ELEM>(ah.z), bh, c61);
            c70 = fma(vec4<ELEM>(ah.w), bl, c70);
            c71 = fma(vec4<ELEM>(ah.w), bh, c71);
        }
        o = 256u - o;
        if (more) {
            stage_a(tid, pa0, o);
            stage_a(tid + 256u, pa1, o);
            stage_a(tid + 512u, pa2, o);
            stage_a(tid + 768u, pa3, o);
            stage_b(tid, pb0, o);
            stage_b(tid + 256u, pb1, o);
            stage_b(tid + 512u, pb2, o);
            stage_b(tid + 768u, pb3, o);
        }
        workgroupBarrier();
    }
    let s = alpha[0];
    let r0 = row0 + lid.y * 4u;
    let r1 = row0 + 64u + lid.y * 4u;
    let cl = col0 + lid.x * 4u;
    let ch = col0 + 64u + lid.x * 4u;
    put(r0, cl, c00, s);
    put(r0, ch, c01, s);
    put(r0 + 1u, cl, c10, s);
    put(r0 + 1u, ch, c11, s);
    put(r0 + 2u, cl, c20, s);
    put(r0 + 2u, ch, c21, s);
    put(r0 + 3u, cl, c30, s);
    put(r0 + 3u, ch, c31, s);
    put(r1, cl, c40, s);
    put(r1, ch, c41, s);
    put(r1 + 1u, cl, c50, s);
    put(r1 + 1u, ch, c51, s);
    put(r1 + 2u, cl, c60, s);
    put(r1 + 2u, ch, c61, s);
    put(r1 + 3u, cl, c70, s);
    put(r1 + 3u, ch, c71, s);
}
