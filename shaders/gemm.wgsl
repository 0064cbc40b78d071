// tessera: C = [C_in +] alpha · op(A) · op(B) for one tile. A 16 × 16 workgroup computes a
// 128 × 128 tile of C, 8 × 8 outputs per thread held in sixteen vec4 registers (named, not an
// array: a run-time index into a register array sends it to slow local memory), from 8-deep
// slices of op(A) and op(B) staged in workgroup memory as vec4s (one 16-byte load feeds four
// outputs). Each thread's rows are 4·ty + 0..4 and 64 + 4·ty + 0..4, its columns
// 4·tx + 0..4 and 64 + 4·tx + 0..4, so a warp's workgroup loads do not conflict. A tile
// inside C reads its slices unguarded from addresses computed once (+7 % on an H100); edge
// tiles go through the guarded `fetch_a` / `fetch_b`. Every access stays inside the buffers
// the host validated (`tiles::product_with`), so the kernel runs without wgpu's bounds checks.
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
    // Where this thread's four elements of each slice come from and go to: element
    // tid + 256·j is j steps on from element tid, in memory and in workgroup memory alike.
    let a_cont = g.a_col == 1u;
    let qa = place(tid, a_cont);
    let a_base = (row0 + qa.x) * g.a_row + qa.y * g.a_col;
    let a_step = select(2u * g.a_col, 32u * g.a_row, a_cont);
    let a_st = qa.y * 32u + qa.x / 4u;
    let a_st_step = select(64u, 8u, a_cont);
    let a_c = qa.x % 4u;
    let b_cont = g.b_row == 1u;
    let qb = place(tid, b_cont);
    let b_base = qb.y * g.b_row + (col0 + qb.x) * g.b_col;
    let b_step = select(2u * g.b_row, 32u * g.b_col, b_cont);
    let b_st = qb.y * 32u + qb.x / 4u;
    let b_st_step = select(64u, 8u, b_cont);
    let b_c = qb.x % 4u;
    // A tile inside C on both axes reads its slices unguarded.
    let inside = row0 + 128u <= g.m && col0 + 128u <= g.n;
    // The next slice is fetched into registers while this one is multiplied.
    var pa0 = fetch_a(tid, row0, 0u);
    var pa1 = fetch_a(tid + 256u, row0, 0u);
    var pa2 = fetch_a(tid + 512u, row0, 0u);
    var pa3 = fetch_a(tid + 768u, row0, 0u);
    var pb0 = fetch_b(tid, col0, 0u);
    var pb1 = fetch_b(tid + 256u, col0, 0u);
    var pb2 = fetch_b(tid + 512u, col0, 0u);
    var pb3 = fetch_b(tid + 768u, col0, 0u);
    tile_a[a_st][a_c] = pa0;
    tile_a[a_st + a_st_step][a_c] = pa1;
    tile_a[a_st + 2u * a_st_step][a_c] = pa2;
    tile_a[a_st + 3u * a_st_step][a_c] = pa3;
    tile_b[b_st][b_c] = pb0;
    tile_b[b_st + b_st_step][b_c] = pb1;
    tile_b[b_st + 2u * b_st_step][b_c] = pb2;
    tile_b[b_st + 3u * b_st_step][b_c] = pb3;
    workgroupBarrier();
    // Two slices in workgroup memory: this one is multiplied while the next is stored, one
    // barrier per slice.
    var o = 0u;
    for (var k0 = 0u; k0 < g.k; k0 = k0 + 8u) {
        let k1 = k0 + 8u;
        let more = k1 < g.k;
        if (inside && k1 + 8u <= g.k) {
            let ka = a_base + k1 * g.a_col;
            pa0 = a[ka];
            pa1 = a[ka + a_step];
            pa2 = a[ka + 2u * a_step];
            pa3 = a[ka + 3u * a_step];
            let kb = b_base + k1 * g.b_row;
            pb0 = b[kb];
            pb1 = b[kb + b_step];
            pb2 = b[kb + 2u * b_step];
            pb3 = b[kb + 3u * b_step];
        } else if (more) {
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
            tile_a[o + a_st][a_c] = pa0;
            tile_a[o + a_st + a_st_step][a_c] = pa1;
            tile_a[o + a_st + 2u * a_st_step][a_c] = pa2;
            tile_a[o + a_st + 3u * a_st_step][a_c] = pa3;
            tile_b[o + b_st][b_c] = pb0;
            tile_b[o + b_st + b_st_step][b_c] = pb1;
            tile_b[o + b_st + 2u * b_st_step][b_c] = pb2;
            tile_b[o + b_st + 3u * b_st_step][b_c] = pb3;
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
