// tessera: triangular solves for one tile, one thread per right-hand side. Every solve is
// written as M y = b with M triangular: element (i, j) of M is t[i * m_row + j * m_col] and
// element i of right-hand side v is at v * v_stride + i * e_stride (in b and in x alike).
// Forward substitution when M is lower, backward when upper. `ELEM` is f32 or f64.

struct Trsm {
    n: u32,
    vectors: u32,
    m_row: u32,
    m_col: u32,
    v_stride: u32,
    e_stride: u32,
    lower: u32,
    unit: u32,
    grid: u32,
    pad0: u32,
    pad1: u32,
    pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Trsm;
@group(0) @binding(1) var<storage, read_write> x: array<ELEM>;
@group(0) @binding(2) var<storage, read> t: array<ELEM>;
@group(0) @binding(3) var<storage, read> b: array<ELEM>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let v = gid.x + gid.y * p.grid;
    if (v >= p.vectors) { return; }
    let base = v * p.v_stride;
    for (var s = 0u; s < p.n; s = s + 1u) {
        let i = select(p.n - 1u - s, s, p.lower != 0u);
        var acc = b[base + i * p.e_stride];
        if (p.lower != 0u) {
            for (var j = 0u; j < i; j = j + 1u) {
                acc = acc - t[i * p.m_row + j * p.m_col] * x[base + j * p.e_stride];
            }
        } else {
            for (var j = i + 1u; j < p.n; j = j + 1u) {
                acc = acc - t[i * p.m_row + j * p.m_col] * x[base + j * p.e_stride];
            }
        }
        if (p.unit == 0u) {
            acc = acc / t[i * p.m_row + i * p.m_col];
        }
        x[base + i * p.e_stride] = acc;
    }
}
