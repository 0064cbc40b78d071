
// The shape and stride metadata of one dispatch (Rust twin: `Meta` in src/backend/gpu/run.rs).
struct Meta {
    // Threads with work: elements (elementwise), outputs × segments (reduction pass 1),
    // outputs (pass 2).
    n: u32,
    // Threads per row of the 2-D dispatch (a dispatch has at most 65535 workgroups per axis).
    grid: u32,
    // Reductions: output elements, reduced elements per output, segments (states per output
    // in `src` for a combine pass), and the states one combine thread merges (in pass 1: the
    // neighbouring segments whose states one thread of a workgroup merges, 1 for none).
    m: u32,
    k: u32,
    g: u32,
    seg: u32,
    // Always 0: hides values from the shader compiler's algebra (see reduce_wgsl.rs).
    zero: u32,
    // Reduction pass 1: 1 when neighbouring threads take neighbouring outputs (the reduced
    // axis is not the innermost in memory), 0 when they take neighbouring segments of one.
    across: u32,
    // The iteration space (at most 8 axes).
    shape: array<vec4<u32>, 2>,
    // Per leaf, its element strides along the iteration space's axes (0 where it broadcasts).
    strides: array<vec4<u32>, 12>,
}

