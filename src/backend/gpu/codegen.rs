//! WGSL generated from the graph's expression IR ([`Expr`]): one kernel per fused task.
//!
//! A kernel evaluates the expression at a flat index `p` of the task's iteration space `P`
//! (the block's shape, its reduced axes moved last), reading each leaf through its own
//! strides in `P` order (0 on broadcast axes). Elementwise kernels store the value at `p`;
//! reduction kernels fold a segment of the reduced axes into a state (pass 1) and merge the
//! segments in a fixed order (pass 2, `combine`). The source text is the pipeline cache's key,
//! so two tasks with the same expression, dtypes, rank and layout share one pipeline.

use std::fmt::Write;

use crate::core::dtype::{DType, Scalar};
use crate::ir::expr::{BinaryOp, Expr, Instr, UnaryOp};
use crate::ir::reduce::ReduceKind;

use super::reduce_wgsl::Main;

/// Most axes a GPU kernel handles (more: the task runs on the CPU).
pub(crate) const MAX_RANK: usize = 8;
/// Most leaves a GPU kernel reads (storage bindings per stage are limited to 8 by default).
pub(crate) const MAX_LEAVES: usize = 6;
/// Threads per workgroup.
pub(crate) const WORKGROUP: u32 = 256;

const PRELUDE: &str = include_str!("../../../shaders/prelude.wgsl");
const PRELUDE_F64: &str = include_str!("../../../shaders/prelude_f64.wgsl");
const META: &str = include_str!("../../../shaders/meta.wgsl");

/// The WGSL value type of a dtype (`None`: not on the GPU; tasks with such a dtype run on
/// the CPU: `i64` and the 8-, 16-bit and unsigned integers).
pub(crate) fn value_ty(dt: DType) -> Option<&'static str> {
    match dt {
        DType::Bool => Some("bool"),
        DType::I32 => Some("i32"),
        DType::F32 => Some("f32"),
        DType::F64 => Some("f64"),
        DType::I64 | DType::I8 | DType::I16 | DType::U8 | DType::U16 | DType::U32 | DType::U64 => None,
    }
}

/// The WGSL storage type of a dtype (bools are stored as `u32`).
pub(crate) fn store_ty(dt: DType) -> &'static str {
    match dt {
        DType::Bool => "u32",
        DType::I32 => "i32",
        DType::F32 => "f32",
        DType::F64 => "f64",
        DType::I64 => "i64",
        // Never stored: these dtypes have no value type (see `value_ty`).
        DType::I8 | DType::I16 | DType::U8 | DType::U16 => "u32",
        DType::U32 => "u32",
        DType::U64 => "u64",
    }
}

/// Bytes per element of a dtype in GPU memory (bools are stored as `u32`).
pub(crate) fn store_size(dt: DType) -> usize {
    dt.size().max(4)
}

/// Why an expression cannot run on the GPU, if it cannot.
pub(crate) fn unsupported(expr: &Expr, f64_ok: bool) -> Option<String> {
    for (i, ins) in expr.instrs.iter().enumerate() {
        let dt = expr.dtypes[i];
        let arg_dt = match *ins {
            Instr::Unary(_, a) | Instr::Cast(a) | Instr::Binary(_, a, _) => expr.dtypes[a],
            _ => dt,
        };
        for d in [dt, arg_dt] {
            if value_ty(d).is_none() || (d == DType::F64 && !f64_ok) {
                return Some(format!("dtype {d} is not available on this GPU"));
            }
        }
        match *ins {
            Instr::Unary(op, _) => {
                let float_fn = !matches!(
                    op,
                    UnaryOp::Neg | UnaryOp::Abs | UnaryOp::Not | UnaryOp::IsNan | UnaryOp::IsFinite
                );
                if float_fn && !arg_dt.is_float() {
                    return Some(format!("{op:?} of {arg_dt} runs on the CPU"));
                }
                let exact_f64 = matches!(
                    op,
                    UnaryOp::Neg
                        | UnaryOp::Abs
                        | UnaryOp::Sqrt
                        | UnaryOp::Floor
                        | UnaryOp::Ceil
                        | UnaryOp::IsNan
                        | UnaryOp::IsFinite
                );
                if arg_dt == DType::F64 && !exact_f64 {
                    return Some(format!("f64 {op:?} runs on the CPU"));
                }
            }
            Instr::Binary(op @ (BinaryOp::Pow | BinaryOp::Rem), _, _) if arg_dt == DType::F64 => {
                return Some(format!("f64 {op:?} runs on the CPU"));
            }
            Instr::Const(Scalar::F64(v)) if !v.is_finite() => {
                return Some("a non-finite f64 constant".into());
            }
            _ => {}
        }
    }
    None
}

/// How the kernel indexes one leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum LeafIndex {
    /// The leaf is laid out exactly as `P`: its index is `p`.
    Flat,
    /// Through its strides in the uniform.
    Strided,
}

/// What a generated kernel computes.
#[derive(Clone, Debug)]
pub(crate) struct KernelSpec<'a> {
    /// The expression.
    pub expr: &'a Expr,
    /// Dtype of each leaf (the expression's inputs).
    pub leaf_dtypes: Vec<DType>,
    /// How each leaf is indexed.
    pub leaf_index: Vec<LeafIndex>,
    /// Rank of the iteration space.
    pub rank: usize,
    /// The reduction folded over the last axes of `P`, with its NaN-skipping flag.
    pub reduce: Option<(ReduceKind, bool)>,
    /// How many of `P`'s last axes the reduction folds.
    pub reduced_axes: usize,
}

/// WGSL source of a kernel.
pub(crate) fn generate(spec: &KernelSpec) -> String {
    let e = spec.expr;
    let uses_f64 = e.dtypes.contains(&DType::F64) || spec.leaf_dtypes.contains(&DType::F64);
    let mut s = String::with_capacity(8192);
    s.push_str(PRELUDE);
    if uses_f64 {
        s.push_str(PRELUDE_F64);
    }
    s.push_str(META);
    s.push_str("@group(0) @binding(0) var<uniform> md: Meta;\n");
    for (k, &dt) in spec.leaf_dtypes.iter().enumerate() {
        let _ =
            writeln!(s, "@group(0) @binding({}) var<storage, read> in{k}: array<{}>;", 3 + k, store_ty(dt));
    }
    element_fn(&mut s, spec);
    match spec.reduce {
        None => {
            let out = e.dtype();
            let store = if out == DType::Bool { "select(0u, 1u, elem(t))" } else { "elem(t)" };
            let _ = write!(
                s,
                "@group(0) @binding(1) var<storage, read_write> dst: array<{st}>;\n\n\
                 @compute @workgroup_size({WORKGROUP})\n\
                 fn main(@builtin(global_invocation_id) gid: vec3<u32>) {{\n\
                 \x20   let t = gid.x + gid.y * md.grid;\n\
                 \x20   if (t >= md.n) {{ return; }}\n\
                 \x20   dst[t] = {store};\n}}\n",
                st = store_ty(out),
            );
        }
        Some((kind, nan)) => {
            let main = if linear_reduction(spec) { Main::Linear } else { Main::Indexed };
            super::reduce_wgsl::reduction(&mut s, kind, nan, e.dtype(), main)
        }
    }
    s
}

/// WGSL source merging reduction partials of `dt` in order (the `combine` pass alone).
pub(crate) fn combine_source(kind: ReduceKind, nan: bool, dt: DType) -> String {
    let mut s = String::from(PRELUDE);
    if dt == DType::F64 {
        s.push_str(PRELUDE_F64);
    }
    s.push_str(META);
    s.push_str("@group(0) @binding(0) var<uniform> md: Meta;\n");
    super::reduce_wgsl::reduction(&mut s, kind, nan, dt, Main::None);
    s
}

/// The leaf indices at flat index `p` of `P` (`let i{k} = …;` lines).
fn leaf_indices(s: &mut String, spec: &KernelSpec) {
    if spec.leaf_index.contains(&LeafIndex::Strided) {
        s.push_str("    var r = p;\n");
        for d in (0..spec.rank).rev() {
            let _ = writeln!(s, "    let c{d} = r % md.shape[{}][{}];", d / 4, d % 4);
            let _ = writeln!(s, "    r = r / md.shape[{}][{}];", d / 4, d % 4);
        }
    }
    for (k, li) in spec.leaf_index.iter().enumerate() {
        match li {
            LeafIndex::Flat => {
                let _ = writeln!(s, "    let i{k} = p;");
            }
            LeafIndex::Strided => {
                let terms: Vec<String> = (0..spec.rank)
                    .map(|d| format!("c{d} * md.strides[{}][{}]", k * 2 + d / 4, d % 4))
                    .collect();
                let sum = if terms.is_empty() { "0u".to_string() } else { terms.join(" + ") };
                let _ = writeln!(s, "    let i{k} = {sum};");
            }
        }
    }
}

/// Whether a reduction's elements lie at a fixed step per leaf along the reduced index `k`
/// (every leaf flat, or one reduced axis): then `leaf_base` and `elem_step` replace the
/// per-element index arithmetic of `elem`.
pub(crate) fn linear_reduction(spec: &KernelSpec) -> bool {
    spec.reduce.is_some() && (spec.reduced_axes == 1 || spec.leaf_index.iter().all(|&l| l == LeafIndex::Flat))
}

/// `fn value(i0, …) -> T`: the expression from its leaves' indices; `fn elem(p: u32) -> T`:
/// at flat index `p` of `P`; for a linear reduction also `fn leaf_base(p) -> array<u32, L>`
/// and `fn elem_step(base, k) -> T`: at `p + k` from the indices at `p`.
fn element_fn(s: &mut String, spec: &KernelSpec) {
    let e = spec.expr;
    let out_ty = value_ty(e.dtype()).unwrap_or("f32");
    let nl = spec.leaf_index.len();
    let params: Vec<String> = (0..nl).map(|k| format!("i{k}: u32")).collect();
    let args: Vec<String> = (0..nl).map(|k| format!("i{k}")).collect();
    let _ = writeln!(s, "\nfn value({}) -> {out_ty} {{", params.join(", "));
    for (i, ins) in e.instrs.iter().enumerate() {
        let ty = value_ty(e.dtypes[i]).unwrap_or("f32");
        let v = instr(e, i, ins);
        let _ = writeln!(s, "    let v{i}: {ty} = {v};");
    }
    let _ = writeln!(s, "    return v{};\n}}", e.instrs.len() - 1);
    let _ = writeln!(s, "\nfn elem(p: u32) -> {out_ty} {{");
    leaf_indices(s, spec);
    let _ = writeln!(s, "    return value({});\n}}", args.join(", "));
    if linear_reduction(spec) {
        let nb = nl.max(1);
        let _ = writeln!(s, "\nfn leaf_base(p: u32) -> array<u32, {nb}> {{");
        leaf_indices(s, spec);
        let list = if nl == 0 { "0u".to_string() } else { args.join(", ") };
        let _ = writeln!(s, "    return array<u32, {nb}>({list});\n}}");
        let last = spec.rank.saturating_sub(1);
        let stepped: Vec<String> = spec
            .leaf_index
            .iter()
            .enumerate()
            .map(|(k, li)| match li {
                LeafIndex::Flat => format!("b[{k}] + k"),
                LeafIndex::Strided => {
                    format!("b[{k}] + k * md.strides[{}][{}]", k * 2 + last / 4, last % 4)
                }
            })
            .collect();
        let _ = writeln!(
            s,
            "\nfn elem_step(b: array<u32, {nb}>, k: u32) -> {out_ty} {{\n    return value({});\n}}",
            stepped.join(", ")
        );
    }
}

/// The WGSL expression of instruction `i`.
fn instr(e: &Expr, i: usize, ins: &Instr) -> String {
    let dt = e.dtypes[i];
    match *ins {
        Instr::Input(k) => {
            if dt == DType::Bool {
                format!("in{k}[i{k}] != 0u")
            } else {
                format!("in{k}[i{k}]")
            }
        }
        Instr::Const(c) => constant(c),
        Instr::Unary(op, a) => unary(op, e.dtypes[a], &format!("v{a}")),
        Instr::Binary(op, a, b) => binary(op, e.dtypes[a], &format!("v{a}"), &format!("v{b}")),
        Instr::Where(c, a, b) => format!("select(v{b}, v{a}, v{c})"),
        Instr::Cast(a) => cast(e.dtypes[a], dt, &format!("v{a}")),
    }
}

/// A constant, exactly (floats through their bits).
fn constant(c: Scalar) -> String {
    match c {
        Scalar::Bool(v) => format!("{v}"),
        Scalar::I32(v) => format!("bitcast<i32>({:#010x}u)", v as u32),
        Scalar::I64(v) => format!("{v}"),
        // Never generated: these dtypes have no value type (see `value_ty`).
        Scalar::I8(v) => format!("{v}"),
        Scalar::I16(v) => format!("{v}"),
        Scalar::U8(v) => format!("{v}u"),
        Scalar::U16(v) => format!("{v}u"),
        Scalar::U32(v) => format!("{v}u"),
        Scalar::U64(v) => format!("{v}"),
        Scalar::F32(v) => format!("bitcast<f32>({:#010x}u)", v.to_bits()),
        Scalar::F64(v) => format!("{v:e}lf"),
    }
}

fn suffix(dt: DType) -> &'static str {
    if dt == DType::F64 { "f64" } else { "f32" }
}

fn unary(op: UnaryOp, dt: DType, a: &str) -> String {
    let f = suffix(dt);
    match (op, dt) {
        (UnaryOp::Neg | UnaryOp::Not, DType::Bool) => format!("!{a}"),
        (UnaryOp::Abs, DType::Bool) => a.to_string(),
        (UnaryOp::Not, _) => format!("select({z}, {o}, {a} == {z})", z = zero(dt), o = one(dt)),
        (UnaryOp::Neg, DType::I32) => format!("0 - {a}"),
        (UnaryOp::Neg, _) => format!("-{a}"),
        (UnaryOp::Abs, _) => format!("abs({a})"),
        (UnaryOp::IsNan, DType::F32 | DType::F64) => format!("isnan_{f}({a})"),
        (UnaryOp::IsFinite, DType::F32 | DType::F64) => format!("isfinite_{f}({a})"),
        (UnaryOp::IsNan, _) => "false".into(),
        (UnaryOp::IsFinite, _) => "true".into(),
        (UnaryOp::Sqrt, _) => format!("sqrt({a})"),
        (UnaryOp::Exp, _) => format!("exp({a})"),
        (UnaryOp::Log, _) => format!("log({a})"),
        (UnaryOp::Log1p, _) => format!("log1p_f32({a})"),
        (UnaryOp::Expm1, _) => format!("expm1_f32({a})"),
        // Full-range argument reduction (shaders/prelude.wgsl); f64 ones run on the CPU.
        (UnaryOp::Sin, _) => format!("sin_f32({a})"),
        (UnaryOp::Cos, _) => format!("cos_f32({a})"),
        (UnaryOp::Tan, _) => format!("tan_f32({a})"),
        (UnaryOp::Tanh, _) => format!("tanh_f32({a})"),
        (UnaryOp::Floor, _) => format!("floor({a})"),
        (UnaryOp::Ceil, _) => format!("ceil({a})"),
        // WGSL's round is half to even, as NumPy's.
        (UnaryOp::Round, _) => format!("round({a})"),
    }
}

fn zero(dt: DType) -> &'static str {
    match dt {
        DType::Bool => "false",
        DType::I32 => "0",
        DType::F64 => "0.0lf",
        _ => "0.0",
    }
}

fn binary(op: BinaryOp, dt: DType, a: &str, b: &str) -> String {
    let f = suffix(dt);
    if dt == DType::Bool {
        return match op {
            BinaryOp::Add | BinaryOp::Or | BinaryOp::Maximum => format!("{a} || {b}"),
            BinaryOp::Mul | BinaryOp::Div | BinaryOp::And | BinaryOp::Minimum => format!("{a} && {b}"),
            BinaryOp::Sub | BinaryOp::Ne => format!("{a} != {b}"),
            BinaryOp::Rem => "false".into(),
            BinaryOp::Pow => format!("{a} || !{b}"),
            BinaryOp::Eq => format!("{a} == {b}"),
            BinaryOp::Lt => format!("!{a} && {b}"),
            BinaryOp::Le => format!("!{a} || {b}"),
            BinaryOp::Gt => format!("{a} && !{b}"),
            BinaryOp::Ge => format!("{a} || !{b}"),
        };
    }
    let int = dt == DType::I32;
    match op {
        BinaryOp::Add => format!("{a} + {b}"),
        BinaryOp::Sub => format!("{a} - {b}"),
        BinaryOp::Mul => format!("{a} * {b}"),
        BinaryOp::Div if int => format!("floordiv_i32({a}, {b})"),
        BinaryOp::Div => format!("{a} / {b}"),
        BinaryOp::Rem if int => format!("rem_i32({a}, {b})"),
        BinaryOp::Rem => format!("rem_f32({a}, {b})"),
        BinaryOp::Pow if int => format!("pow_i32({a}, {b})"),
        BinaryOp::Pow => format!("pow_f32({a}, {b})"),
        BinaryOp::Minimum if int => format!("min({a}, {b})"),
        BinaryOp::Maximum if int => format!("max({a}, {b})"),
        BinaryOp::Minimum => format!("minimum_{f}({a}, {b})"),
        BinaryOp::Maximum => format!("maximum_{f}({a}, {b})"),
        BinaryOp::Eq => format!("{a} == {b}"),
        // Drivers may compile `!=` as an ordered comparison (false for NaN): spell it as `!(==)`.
        BinaryOp::Ne => format!("!({a} == {b})"),
        BinaryOp::Lt => format!("{a} < {b}"),
        BinaryOp::Le => format!("{a} <= {b}"),
        BinaryOp::Gt => format!("{a} > {b}"),
        BinaryOp::Ge => format!("{a} >= {b}"),
        BinaryOp::And => format!("select({o}, {z}, {a} == {z} || {b} == {z})", z = zero(dt), o = one(dt)),
        BinaryOp::Or => format!("select({z}, {o}, !({a} == {z} && {b} == {z}))", z = zero(dt), o = one(dt)),
    }
}

fn cast(from: DType, to: DType, a: &str) -> String {
    match (from, to) {
        _ if from == to => a.to_string(),
        (_, DType::Bool) => format!("!({a} == {})", zero(from)),
        (DType::Bool, _) => format!("select({z}, {one}, {a})", z = zero(to), one = one(to)),
        (DType::F32, DType::I32) => format!("f32_to_i32({a})"),
        (DType::F64, DType::I32) => format!("f64_to_i32({a})"),
        (_, t) => format!("{}({a})", value_ty(t).unwrap_or("f32")),
    }
}

fn one(dt: DType) -> &'static str {
    match dt {
        DType::Bool => "true",
        DType::I32 => "1",
        DType::F64 => "1.0lf",
        _ => "1.0",
    }
}
