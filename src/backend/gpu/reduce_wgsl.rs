//! WGSL of the reductions: a per-output state, its fold and merge, and the passes.
//!
//! Pass 1 folds segment `h` of output `m` (`fold_seg`): of the `K` reduced elements, `h, h + G,
//! h + 2G, …`, in index order, eight loads in flight. Where the reduced elements are contiguous
//! in memory, neighbouring threads take neighbouring segments of one output (their loads
//! coalesce); `main_wg` then merges the states of `md.seg` neighbouring segments in workgroup
//! memory (a tree of fan-in 4 in segment order, a barrier per level), `main` writes each one.
//! Where they are not (`md.across`), neighbouring threads take neighbouring outputs. The states
//! go to `dst[h·M + m]`; `combine` passes merge the states of each output in segment order, up
//! to `F` (`md.seg`) per thread per pass (four loads in flight), until one is left. Software
//! adapters, where barriers are slow, use `main` and combine passes only. The combine order is
//! fixed: the result does not depend on scheduling. Arg-reductions break ties by the smaller
//! index, so interleaved segments still report the first occurrence. States are plain structs;
//! [`StateLayout`] is their byte layout for reading them back into the CPU reducers' states.

use std::fmt::Write;

use crate::core::dtype::DType;
use crate::ir::reduce::{PartialState, ReduceKind};

use super::codegen::{WORKGROUP, store_ty, value_ty};

/// Whether the GPU computes this reduction of this dtype.
pub(crate) fn supported(kind: ReduceKind, dt: DType) -> bool {
    match kind {
        ReduceKind::Prod => false,
        ReduceKind::Var { .. } => dt.is_float(),
        _ => value_ty(dt).is_some(),
    }
}

/// One field of a state struct: name and WGSL scalar type (`f32`, `f64`, `i32`, `u32`).
type Field = (&'static str, &'static str);

/// The byte layout of a state struct under WGSL's rules (scalars aligned to their size).
#[derive(Debug, Clone)]
pub(crate) struct StateLayout {
    fields: Vec<(Field, usize)>,
    /// Bytes per state (the array stride).
    pub stride: usize,
}

impl StateLayout {
    fn new(fields: &[Field]) -> Self {
        let mut off = 0usize;
        let mut align = 4;
        let mut out = Vec::new();
        for &f in fields {
            let size = if f.1 == "f64" { 8 } else { 4 };
            align = align.max(size);
            off = off.next_multiple_of(size);
            out.push((f, off));
            off += size;
        }
        StateLayout { fields: out, stride: off.next_multiple_of(align) }
    }

    fn get(&self, bytes: &[u8], name: &str) -> f64 {
        let Some(&((_, ty), off)) = self.fields.iter().find(|((n, _), _)| *n == name) else {
            return 0.0;
        };
        let b = |n: usize| &bytes[off..off + n];
        match ty {
            "f32" => f32::from_le_bytes(b(4).try_into().expect("4 bytes")) as f64,
            "f64" => f64::from_le_bytes(b(8).try_into().expect("8 bytes")),
            "i32" => i32::from_le_bytes(b(4).try_into().expect("4 bytes")) as f64,
            _ => u32::from_le_bytes(b(4).try_into().expect("4 bytes")) as f64,
        }
    }

    fn get_u32(&self, bytes: &[u8], name: &str) -> u32 {
        self.get(bytes, name) as u32
    }

    fn wgsl(&self) -> String {
        let mut s = String::from("struct St {\n");
        for ((n, t), _) in &self.fields {
            let _ = writeln!(s, "    {n}: {t},");
        }
        s.push_str("}\n");
        s
    }
}

/// The state struct of a reduction over `dt`.
pub(crate) fn layout(kind: ReduceKind, dt: DType) -> StateLayout {
    let acc = if dt == DType::F64 { "f64" } else { "f32" };
    let st = store_ty(dt);
    let fields: Vec<Field> = match kind {
        ReduceKind::Sum | ReduceKind::Prod if dt.is_float() => vec![("v", acc), ("c", acc)],
        ReduceKind::Sum | ReduceKind::Prod => vec![("lo", "u32"), ("hi", "u32")],
        ReduceKind::Mean if dt.is_float() => vec![("v", acc), ("c", acc), ("n", "u32")],
        ReduceKind::Mean => vec![("lo", "u32"), ("hi", "u32"), ("n", "u32")],
        ReduceKind::Var { .. } => vec![("n", acc), ("mean", acc), ("m2", acc)],
        ReduceKind::Min | ReduceKind::Max => vec![("v", st), ("found", "u32")],
        ReduceKind::ArgMin | ReduceKind::ArgMax => vec![("v", st), ("idx", "u32"), ("found", "u32")],
        ReduceKind::Any | ReduceKind::All | ReduceKind::CountNonzero | ReduceKind::Count => {
            vec![("c", "u32")]
        }
    };
    StateLayout::new(&fields)
}

/// Read back every state of a buffer of them.
pub(crate) fn decode_all(kind: ReduceKind, dt: DType, data: &[u8]) -> Vec<PartialState> {
    let lay = layout(kind, dt);
    data.chunks_exact(lay.stride).map(|b| decode(kind, dt, &lay, b)).collect()
}

/// Read one state back (`idx` of arg-reductions is the index within the block's reduced
/// elements; the caller makes it global).
pub(crate) fn decode(kind: ReduceKind, dt: DType, lay: &StateLayout, b: &[u8]) -> PartialState {
    let wide = |b: &[u8]| ((lay.get_u32(b, "hi") as u64) << 32 | lay.get_u32(b, "lo") as u64) as i64;
    let mut s = PartialState::default();
    match kind {
        ReduceKind::Sum | ReduceKind::Prod if dt.is_float() => s.a = compensated(lay, b),
        ReduceKind::Sum | ReduceKind::Prod => s.i = wide(b),
        ReduceKind::Mean if dt.is_float() => (s.a, s.b) = (compensated(lay, b), lay.get(b, "n")),
        ReduceKind::Mean => (s.a, s.b) = (wide(b) as f64, lay.get(b, "n")),
        ReduceKind::Var { .. } => (s.a, s.b, s.c) = (lay.get(b, "n"), lay.get(b, "mean"), lay.get(b, "m2")),
        ReduceKind::Min | ReduceKind::Max => {
            (s.a, s.found) = (lay.get(b, "v"), lay.get_u32(b, "found") != 0);
        }
        ReduceKind::ArgMin | ReduceKind::ArgMax => {
            s.a = lay.get(b, "v");
            s.i = lay.get_u32(b, "idx") as i64;
            s.found = lay.get_u32(b, "found") != 0;
        }
        ReduceKind::Any => s.found = lay.get_u32(b, "c") != 0,
        ReduceKind::All => s.found = lay.get_u32(b, "c") == 0,
        ReduceKind::CountNonzero | ReduceKind::Count => s.i = lay.get_u32(b, "c") as i64,
    }
    s
}

/// A compensated sum's value: the sum plus its carried rounding error (which is NaN once an
/// infinity has been added; the sum itself is right then).
fn compensated(lay: &StateLayout, b: &[u8]) -> f64 {
    let (v, c) = (lay.get(b, "v"), lay.get(b, "c"));
    if c.is_finite() { v + c } else { v }
}

/// Append the state struct, its functions and both passes to a kernel whose `elem(p)`
/// yields values of `dt` (only the `combine` pass when not `with_main`: merging partials
/// that earlier tasks left on the GPU).
/// Which first pass [`reduction`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Main {
    /// None: only `combine` (merging partials of earlier tasks).
    None,
    /// Elements through `elem(p)`.
    Indexed,
    /// Elements through `leaf_base` and `elem_step` (see `codegen::linear_reduction`).
    Linear,
}

pub(crate) fn reduction(s: &mut String, kind: ReduceKind, nan: bool, dt: DType, main: Main) {
    let lay = layout(kind, dt);
    s.push_str(&lay.wgsl());
    // The float type of accumulators (and of the NaN tests' suffix).
    let f = if dt == DType::F64 { "f64" } else { "f32" };
    let acc = f;
    let ty = value_ty(dt).unwrap_or("f32");
    let skip =
        if nan && dt.is_float() { format!("if (isnan_{f}(x)) {{ return; }}\n") } else { String::new() };
    // The value as stored in a state (bools as 0/1).
    let stored = if dt == DType::Bool { "select(0u, 1u, x)" } else { "x" };
    let isnan_v = |v: &str| if dt.is_float() { format!("isnan_{f}({v})") } else { "false".into() };
    let nonzero = match dt {
        DType::Bool => "x",
        DType::I32 => "x != 0",
        DType::F64 => "!(x == 0.0lf)",
        _ => "!(x == 0.0)",
    };
    // The state's initial value, fold of one element, merge of a later state, and a helper
    // function they call (WGSL declarations may come in any order).
    let (init, fold, merge, helper) = match kind {
        // Compensated (Neumaier) sums: the error stays a few ulps however long the reduction,
        // as NumPy's pairwise sums and the CPU's f64 accumulators, with no f64 on the GPU.
        ReduceKind::Sum | ReduceKind::Prod if dt.is_float() => (
            format!("St({acc}(0), {acc}(0))"),
            format!("{skip}st_add(s, x);"),
            "st_add(a, b.v);\n    (*a).c = (*a).c + b.c;".to_string(),
            neumaier(acc),
        ),
        ReduceKind::Mean if dt.is_float() => (
            format!("St({acc}(0), {acc}(0), 0u)"),
            format!("{skip}st_add(s, x);\n    (*s).n = (*s).n + 1u;"),
            "st_add(a, b.v);\n    (*a).c = (*a).c + b.c;\n    (*a).n = (*a).n + b.n;".to_string(),
            neumaier(acc),
        ),
        ReduceKind::Sum | ReduceKind::Prod | ReduceKind::Mean => {
            let xi = if dt == DType::Bool { "select(0, 1, x)" } else { "x" };
            let n = if kind == ReduceKind::Mean {
                ("(*s).n = (*s).n + 1u;", "(*a).n = (*a).n + b.n;", ", 0u")
            } else {
                ("", "", "")
            };
            (
                format!("St(0u, 0u{})", n.2),
                format!(
                    "let xi: i32 = {xi};\n    let lo = (*s).lo + bitcast<u32>(xi);\n    \
                     (*s).hi = (*s).hi + select(0u, 1u, lo < (*s).lo) + select(0u, 0xffffffffu, xi < 0);\n    \
                     (*s).lo = lo;\n    {}",
                    n.0
                ),
                format!(
                    "let lo = (*a).lo + b.lo;\n    (*a).hi = (*a).hi + b.hi + select(0u, 1u, lo < (*a).lo);\n    \
                     (*a).lo = lo;\n    {}",
                    n.1
                ),
                String::new(),
            )
        }
        ReduceKind::Var { .. } => (
            format!("St({acc}(0), {acc}(0), {acc}(0))"),
            format!(
                "{skip}(*s).n = (*s).n + {acc}(1);\n    let d = x - (*s).mean;\n    \
                 (*s).mean = (*s).mean + d / (*s).n;\n    (*s).m2 = (*s).m2 + d * (x - (*s).mean);"
            ),
            "if (b.n == 0.0) { return; }\n    if ((*a).n == 0.0) { *a = b; return; }\n    \
             let n = (*a).n + b.n;\n    let d = b.mean - (*a).mean;\n    \
             (*a).mean = (*a).mean + d * b.n / n;\n    \
             (*a).m2 = (*a).m2 + b.m2 + d * d * (*a).n * b.n / n;\n    (*a).n = n;"
                .to_string(),
            String::new(),
        ),
        ReduceKind::Min | ReduceKind::Max => {
            let better = match (dt, kind == ReduceKind::Max) {
                (DType::F32 | DType::F64, true) => format!("maximum_{f}((*s).v, v)"),
                (DType::F32 | DType::F64, false) => format!("minimum_{f}((*s).v, v)"),
                (_, true) => "max((*s).v, v)".into(),
                (_, false) => "min((*s).v, v)".into(),
            };
            (
                format!("St({}(0), 0u)", store_ty(dt)),
                format!("{skip}st_put(s, {stored});"),
                "if (b.found != 0u) { st_put(a, b.v); }".to_string(),
                format!(
                    "fn st_put(s: ptr<function, St>, v: {st}) {{\n    \
                 if ((*s).found == 0u) {{ (*s).v = v; (*s).found = 1u; return; }}\n    \
                 (*s).v = {better};\n}}\n",
                    st = store_ty(dt)
                ),
            )
        }
        ReduceKind::ArgMin | ReduceKind::ArgMax => {
            let cmp = if kind == ReduceKind::ArgMax { ">" } else { "<" };
            (
                format!("St({}(0), 0u, 0u)", store_ty(dt)),
                format!("{skip}st_put(s, {stored}, k);"),
                "if (b.found != 0u) { st_put(a, b.v, b.idx); }".to_string(),
                format!(
                    "fn st_put(s: ptr<function, St>, v: {st}, k: u32) {{\n    \
                 if ((*s).found == 0u) {{ *s = St(v, k, 1u); return; }}\n    \
                 let an = {an};\n    \
                 let bn = {bn};\n    \
                 let tie = (an && bn) || (!an && !bn && v == (*s).v);\n    \
                 if (tie) {{ if (k < (*s).idx) {{ *s = St(v, k, 1u); }} return; }}\n    \
                 if (an) {{ return; }}\n    \
                 if (bn || v {cmp} (*s).v) {{ *s = St(v, k, 1u); }}\n}}\n",
                    st = store_ty(dt),
                    an = isnan_v("(*s).v"),
                    bn = isnan_v("v"),
                ),
            )
        }
        ReduceKind::Any | ReduceKind::CountNonzero => (
            "St(0u)".into(),
            format!("(*s).c = (*s).c + select(0u, 1u, {nonzero});"),
            "(*a).c = (*a).c + b.c;".into(),
            String::new(),
        ),
        ReduceKind::Count => (
            "St(0u)".into(),
            format!("(*s).c = (*s).c + select(1u, 0u, {});", isnan_v("x")),
            "(*a).c = (*a).c + b.c;".into(),
            String::new(),
        ),
        ReduceKind::All => (
            "St(0u)".into(),
            format!("(*s).c = (*s).c + select(1u, 0u, {nonzero});"),
            "(*a).c = (*a).c + b.c;".into(),
            String::new(),
        ),
    };
    s.push_str(&helper);
    let _ = write!(
        s,
        "\nfn st_init() -> St {{\n    return {init};\n}}\n\n\
         fn st_acc(s: ptr<function, St>, x: {ty}, k: u32) {{\n    {fold}\n}}\n\n\
         fn st_merge(a: ptr<function, St>, b: St) {{\n    {merge}\n}}\n\n\
         @group(0) @binding(1) var<storage, read_write> dst: array<St>;\n\
         @group(0) @binding(2) var<storage, read> src: array<St>;\n\n\
         @compute @workgroup_size({WORKGROUP})\n\
         fn combine(@builtin(global_invocation_id) gid: vec3<u32>) {{\n    \
         let t = gid.x + gid.y * md.grid;\n    \
         if (t >= md.n) {{ return; }}\n    \
         let m = t % md.m;\n    \
         let h = t / md.m;\n    \
         let g0 = h * md.seg;\n    \
         let g1 = min(g0 + md.seg, md.g);\n    \
         var s = src[g0 * md.m + m];\n    \
         var g = g0 + 1u;\n    \
         loop {{\n        \
         if (g + 3u >= g1) {{ break; }}\n        \
         let s0 = src[g * md.m + m];\n        let s1 = src[(g + 1u) * md.m + m];\n        \
         let s2 = src[(g + 2u) * md.m + m];\n        let s3 = src[(g + 3u) * md.m + m];\n        \
         st_merge(&s, s0);\n        st_merge(&s, s1);\n        st_merge(&s, s2);\n        st_merge(&s, s3);\n        \
         g = g + 4u;\n    }}\n    \
         for (; g < g1; g = g + 1u) {{\n        st_merge(&s, src[g * md.m + m]);\n    }}\n    \
         dst[h * md.m + m] = s;\n}}\n"
    );
    let (base, at) = match main {
        Main::None => return,
        Main::Indexed => ("", "elem(m * md.k + {k})"),
        Main::Linear => ("let b = leaf_base(m * md.k);\n    ", "elem_step(b, {k})"),
    };
    // UNROLL loads issued before the first is folded (enough bytes in flight to fill a large
    // GPU's memory system with one resident wave of threads).
    let at_k = |j: usize| {
        let k = if j == 0 { "k".to_string() } else { format!("k + {j}u * step") };
        (at.replace("{k}", &k), k)
    };
    let mut body = String::new();
    for j in 0..UNROLL {
        let _ = writeln!(body, "        let x{j} = {};", at_k(j).0);
    }
    for j in 0..UNROLL {
        let _ = writeln!(body, "        st_acc(&s, x{j}, {});", at_k(j).1);
    }
    // `fold_seg(m, h)`: segment `h` of output `m` (its elements h, h + G, h + 2G, …).
    // `main` writes each thread's state; `main_wg` merges the states of `md.seg` neighbouring
    // segments of one output in workgroup memory, four at a time in segment order (threads at
    // multiples of 4, then of 16, …; a barrier per level), and writes one per group.
    let _ = write!(
        s,
        "\
         fn fold_seg(m: u32, h: u32) -> St {{\n    \
         let step = md.g;\n    \
         var s = st_init();\n    \
         {base}var k = h;\n    \
         loop {{\n        \
         if (k + {last}u * step >= md.k) {{ break; }}\n\
         {body}        \
         k = k + {UNROLL}u * step;\n    }}\n    \
         for (; k < md.k; k = k + step) {{\n        st_acc(&s, {x0}, k);\n    }}\n    \
         return s;\n}}\n\n\
         @compute @workgroup_size({WORKGROUP})\n\
         fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\n    \
         let t = gid.x + gid.y * md.grid;\n    \
         if (t >= md.n) {{ return; }}\n    \
         var m = t / md.g;\n    \
         var h = t % md.g;\n    \
         if (md.across != 0u) {{\n        m = t % md.m;\n        h = t / md.m;\n    }}\n    \
         dst[h * md.m + m] = fold_seg(m, h);\n}}\n\n\
         var<workgroup> wst: array<St, {WORKGROUP}>;\n\n\
         @compute @workgroup_size({WORKGROUP})\n\
         fn main_wg(@builtin(global_invocation_id) gid: vec3<u32>, \
         @builtin(local_invocation_index) li: u32) {{\n    \
         let t = gid.x + gid.y * md.grid;\n    \
         let m = t / md.g;\n    \
         let h = t % md.g;\n    \
         var s = st_init();\n    \
         if (t < md.n) {{\n        s = fold_seg(m, h);\n    }}\n    \
         wst[li] = s;\n    \
         workgroupBarrier();\n    \
         var span = 1u;\n    \
         loop {{\n        \
         if (span >= md.seg) {{ break; }}\n        \
         let next = min(span * 4u, md.seg);\n        \
         if (h % next == 0u) {{\n            \
         for (var j = span; j < next; j = j + span) {{\n                st_merge(&s, wst[li + j]);\n            }}\n            \
         wst[li] = s;\n        }}\n        \
         workgroupBarrier();\n        \
         span = next;\n    }}\n    \
         if (t < md.n && h % md.seg == 0u) {{\n        \
         dst[(h / md.seg) * md.m + m] = s;\n    }}\n}}\n\n",
        last = UNROLL - 1,
        x0 = at_k(0).0,
    );
}

/// Elements a thread of a reduction's first pass loads before folding them.
const UNROLL: usize = 8;

/// `st_add`: add `x` to a compensated sum (Neumaier's variant of Kahan's: the larger operand
/// keeps the rounding error of the smaller). The sum `t` passes through a select on
/// `md.zero` (always 0, unknown to the compiler): knowing `t = v + x`, a shader compiler may
/// reassociate `(v − t) + x` to 0 and lose the compensation (NVIDIA's Vulkan compiler did).
fn neumaier(acc: &str) -> String {
    format!(
        "fn st_add(s: ptr<function, St>, x: {acc}) {{\n    \
         let t = select((*s).v + x, {acc}(0), md.zero != 0u);\n    \
         if (abs((*s).v) >= abs(x)) {{\n        (*s).c = (*s).c + (((*s).v - t) + x);\n    \
         }} else {{\n        (*s).c = (*s).c + ((x - t) + (*s).v);\n    }}\n    \
         (*s).v = t;\n}}\n"
    )
}
