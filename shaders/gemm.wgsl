// tessera: C = [C_in +] alpha · op(A) · op(B) for one tile. A 16 × 16 workgroup computes a
// 64 × 64 tile of C, 4 × 4 outputs per thread, staging 16-deep slices of op(A) and op(B) in
// workgroup memory (two barriers per slice). `ELEM` is replaced by f32 or f64 before compiling.

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

var<workgroup> tile_a: array<ELEM, 1024>;
var<workgroup> tile_b: array<ELEM, 1024>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let row0 = wg.y * 64u;
    let col0 = wg.x * 64u;
    let tid = lid.y * 16u + lid.x;
    var acc: array<ELEM, 16>;
    for (var k0 = 0u; k0 < g.k; k0 = k0 + 16u) {
        for (var i = 0u; i < 4u; i = i + 1u) {
            let e = tid + i * 256u;
            // op(A): 64 rows × 16 of k, stored k-major.
            let r = e / 16u;
            let ka = e % 16u;
            var v = ELEM(0);
            if (row0 + r < g.m && k0 + ka < g.k) {
                v = a[(row0 + r) * g.a_row + (k0 + ka) * g.a_col];
            }
            tile_a[ka * 64u + r] = v;
            // op(B): 16 of k × 64 columns.
            let kb = e / 64u;
            let cb = e % 64u;
            var w = ELEM(0);
            if (k0 + kb < g.k && col0 + cb < g.n) {
                w = b[(k0 + kb) * g.b_row + (col0 + cb) * g.b_col];
            }
            tile_b[kb * 64u + cb] = w;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < 16u; kk = kk + 1u) {
            var av: array<ELEM, 4>;
            var bv: array<ELEM, 4>;
            for (var i = 0u; i < 4u; i = i + 1u) {
                av[i] = tile_a[kk * 64u + lid.y * 4u + i];
                bv[i] = tile_b[kk * 64u + lid.x * 4u + i];
            }
            for (var i = 0u; i < 4u; i = i + 1u) {
                for (var j = 0u; j < 4u; j = j + 1u) {
                    acc[i * 4u + j] = fma(av[i], bv[j], acc[i * 4u + j]);
                }
            }
        }
        workgroupBarrier();
    }
    let s = alpha[0];
    for (var i = 0u; i < 4u; i = i + 1u) {
        let r = row0 + lid.y * 4u + i;
        for (var j = 0u; j < 4u; j = j + 1u) {
            let col = col0 + lid.x * 4u + j;
            if (r < g.m && col < g.n) {
                var v = s * acc[i * 4u + j];
                if (g.accumulate != 0u) {
                    v = cin[r * g.n + col] + v;
                }
                c[r * g.n + col] = v;
            }
        }
    }
}
