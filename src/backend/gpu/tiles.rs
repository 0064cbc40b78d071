//! The tile steps of linear algebra a GPU runs: [`TileKernel::Gemm`], [`TileKernel::Syrk`]
//! (as a full product with `B = A`, which is exactly symmetric: both halves sum the same
//! products in the same order) and [`TileKernel::Trsm`], for 2-d `f32` tiles and `f64` ones
//! where the adapter has SHADER_F64 (shaders/gemm.wgsl, shaders/trsm.wgsl). The
//! factorisations of one tile or panel (potrf, panel LU, QR, SVD) stay on the CPU.

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use crate::core::block::Value;
use crate::core::dtype::DType;
use crate::core::error::{Error, Result};
use crate::ir::kernel::TileKernel;

use super::context::{Checks, Gpu};
use super::resident::GpuBlock;
use super::run::{
    Dispatch, Held, LeafData, STORAGE_IN, STORAGE_OUT, UNIFORM, grid_dims, keep_or_read, leaf_buffer, submit,
};

pub(crate) const GEMM: &str = include_str!("../../../shaders/gemm.wgsl");
const TRSM: &str = include_str!("../../../shaders/trsm.wgsl");
/// Rows and columns of C per workgroup.
const TILE: usize = 128;

/// The uniform of the GEMM kernel (WGSL twin: `Gemm` in shaders/gemm.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct GemmMeta {
    m: u32,
    n: u32,
    k: u32,
    accumulate: u32,
    a_row: u32,
    a_col: u32,
    b_row: u32,
    b_col: u32,
}

/// Whether the GPU has a kernel for this tile step.
pub(crate) fn handles(t: &TileKernel) -> bool {
    matches!(t, TileKernel::Gemm { .. } | TileKernel::Syrk { .. } | TileKernel::Trsm { .. })
}

/// `(ta, tb, alpha, accumulate)` of a product tile the GPU computes, if `t` is one.
fn product(t: &TileKernel) -> Option<(bool, bool, f64, bool)> {
    match *t {
        TileKernel::Gemm { ta, tb, alpha, accumulate } => Some((ta, tb, alpha, accumulate)),
        TileKernel::Syrk { alpha, accumulate } => Some((false, true, alpha, accumulate)),
        _ => None,
    }
}

/// Floating-point operations of a tile step `gpu` can run on these inputs (shapes and
/// dtypes), or why it cannot.
pub(crate) fn check(gpu: &Gpu, t: &TileKernel, shapes: &[&[usize]], dtypes: &[DType]) -> Result<usize> {
    if let TileKernel::Trsm { .. } = t {
        let (n, vectors, _, _) = trsm_layout(gpu, t, shapes, dtypes)?;
        return Ok(n * n * vectors);
    }
    let (m, n, k) = gemm_dims(gpu, t, shapes, dtypes)?;
    Ok(2 * m * n * k)
}

/// `(m, n, k)` of a product tile `gpu` can run, or why it cannot.
fn gemm_dims(
    gpu: &Gpu,
    t: &TileKernel,
    shapes: &[&[usize]],
    dtypes: &[DType],
) -> Result<(usize, usize, usize)> {
    let (ta, tb, _, acc) = product(t).ok_or_else(|| Error::invalid("not a product tile"))?;
    let syrk = matches!(t, TileKernel::Syrk { .. });
    let want = usize::from(acc) + if syrk { 1 } else { 2 };
    let dt = *dtypes.first().ok_or_else(|| Error::internal("gemm: no inputs"))?;
    if shapes.len() != want || shapes.iter().any(|s| s.len() != 2) || dtypes.iter().any(|&d| d != dt) {
        return Err(Error::invalid("product tile: not 2-d tiles of one dtype"));
    }
    float_ok(gpu, dt)?;
    let a = shapes[usize::from(acc)];
    let b = if syrk { a } else { shapes[usize::from(acc) + 1] };
    let (m, k) = if ta { (a[1], a[0]) } else { (a[0], a[1]) };
    let (kb, n) = if tb { (b[1], b[0]) } else { (b[0], b[1]) };
    if k != kb || (acc && shapes[0] != [m, n]) {
        return Err(Error::ShapeMismatch { op: "gemm".into(), left: a.to_vec(), right: b.to_vec() });
    }
    let limit = gpu.limits.max_storage_buffer_binding_size;
    let biggest = [m * k, k * n, m * n].into_iter().max().unwrap_or(0) * dt.size();
    if biggest as u64 > limit || m.div_ceil(TILE) > 65535 || n.div_ceil(TILE) > 65535 || m * n == 0 {
        return Err(Error::invalid("product tile too large (or empty) for one GPU dispatch"));
    }
    Ok((m, n, k))
}

fn float_ok(gpu: &Gpu, dt: DType) -> Result<()> {
    if dt == DType::F32 || (dt == DType::F64 && gpu.info.shader_f64) {
        Ok(())
    } else {
        Err(Error::invalid(format!("{dt} tiles run on the CPU")))
    }
}

/// The buffers of a tile task's inputs (uploaded, or in place on this GPU).
fn input_buffers(gpu: &Gpu, held: &mut Held, inputs: &[LeafData]) -> Result<Vec<wgpu::Buffer>> {
    inputs.iter().map(|l| leaf_buffer(gpu, held, l)).collect()
}

/// Run a tile step on the GPU; the result stays there when `keep`.
pub(crate) fn run(gpu: &Arc<Gpu>, t: &TileKernel, inputs: &[LeafData], keep: bool) -> Result<Value> {
    if let TileKernel::Trsm { .. } = t {
        return trsm(gpu, t, inputs, keep);
    }
    product_with(gpu, GEMM, Checks::None, t, inputs, keep)
}

/// Elements a buffer must hold for a `rows × cols` matrix read with these element strides.
fn extent(rows: usize, cols: usize, row_stride: u32, col_stride: u32) -> u64 {
    if rows == 0 || cols == 0 {
        return 0;
    }
    ((rows - 1) * row_stride as usize + (cols - 1) * col_stride as usize + 1) as u64
}

/// A product tile with the GEMM kernel `template` (shaders/gemm.wgsl, or a variant being
/// measured by the probe): same bindings, 128 × 128 tiles per 16 × 16 workgroup.
pub(crate) fn product_with(
    gpu: &Arc<Gpu>,
    template: &str,
    checks: Checks,
    t: &TileKernel,
    inputs: &[LeafData],
    keep: bool,
) -> Result<Value> {
    let shapes: Vec<&[usize]> = inputs.iter().map(|l| l.shape()).collect();
    let dtypes: Vec<DType> = inputs.iter().map(|l| l.dtype()).collect();
    let (m, n, k) = gemm_dims(gpu, t, &shapes, &dtypes)?;
    let (ta, tb, alpha, acc) = product(t).ok_or_else(|| Error::invalid("not a product tile"))?;
    let dt = dtypes[0];
    let off = usize::from(acc);
    let syrk = matches!(t, TileKernel::Syrk { .. });
    let (a_shape, b_shape) = (shapes[off], if syrk { shapes[off] } else { shapes[off + 1] });
    // Row-major uploads: op(A)[i, p] = A[i, p] or A[p, i].
    let strides = |s: &[usize], t: bool| if t { (1, s[1] as u32) } else { (s[1] as u32, 1) };
    let (a_row, a_col) = strides(a_shape, ta);
    let (b_row, b_col) = strides(b_shape, tb);
    let meta = GemmMeta {
        m: m as u32,
        n: n as u32,
        k: k as u32,
        accumulate: acc as u32,
        a_row,
        a_col,
        b_row,
        b_col,
    };
    let source = template.replace("ELEM", if dt == DType::F64 { "f64" } else { "f32" });
    let pipeline = gpu.pipeline_with(&source, "main", checks)?;
    let mut held = Held::new(gpu);
    let bufs = input_buffers(gpu, &mut held, inputs)?;
    let alpha_bytes: Vec<u8> =
        if dt == DType::F64 { alpha.to_le_bytes().to_vec() } else { (alpha as f32).to_le_bytes().to_vec() };
    let alpha_buf = held.upload(&alpha_bytes, STORAGE_IN);
    let ubuf = held.upload(bytemuck::bytes_of(&meta), UNIFORM);
    let out = gpu.buffer((m * n * dt.size()) as u64, STORAGE_OUT);
    let (a, b) = (&bufs[off], if syrk { &bufs[off] } else { &bufs[off + 1] });
    let cin = if acc { &bufs[0] } else { a };
    // Every element the kernel may touch lies inside its buffer (it may run unchecked).
    let es = dt.size() as u64;
    let fits = [
        (a, extent(m, k, a_row, a_col)),
        (b, extent(k, n, b_row, b_col)),
        (cin, if acc { extent(m, n, n as u32, 1) } else { 0 }),
        (&out, extent(m, n, n as u32, 1)),
        (&alpha_buf, 1),
    ]
    .iter()
    .all(|(buf, elems)| buf.size() >= elems * es);
    if !fits {
        return Err(Error::invalid(format!(
            "GPU product tile {m}×{k}·{k}×{n}: a buffer is smaller than its shape"
        )));
    }
    let bindings = vec![(0, &ubuf), (1, &out), (2, a), (3, b), (4, cin), (5, &alpha_buf)];
    let block = GpuBlock::new(gpu.clone(), out.clone(), dt, vec![m, n]);
    let groups = Some((n.div_ceil(TILE) as u32, m.div_ceil(TILE) as u32));
    submit(gpu, &[Dispatch { pipeline, bindings, threads: m * n, groups }], &[])?;
    keep_or_read(block, keep)
}

/// The uniform of the triangular-solve kernel (WGSL twin: `Trsm` in shaders/trsm.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct TrsmMeta {
    n: u32,
    vectors: u32,
    m_row: u32,
    m_col: u32,
    v_stride: u32,
    e_stride: u32,
    lower: u32,
    unit: u32,
    grid: u32,
    pad: [u32; 3],
}

/// `(n, right-hand sides, B's shape)` and the kernel's uniform for a triangular solve, or why
/// `gpu` cannot run it. Each solve becomes `M y = b` with `M` = op(T), or op(T)ᵀ from the
/// right (`X op(T) = B` ⇔ `op(T)ᵀ Xᵀ = Bᵀ`: the rows of B are the right-hand sides).
fn trsm_layout(
    gpu: &Gpu,
    t: &TileKernel,
    shapes: &[&[usize]],
    dtypes: &[DType],
) -> Result<(usize, usize, Vec<usize>, TrsmMeta)> {
    let TileKernel::Trsm { right, lower, trans, unit } = *t else {
        return Err(Error::invalid("not a triangular solve"));
    };
    // Inputs after the first two only order the task (a pivot check's empty block).
    if shapes.len() < 2 || shapes[..2].iter().any(|s| s.len() != 2) || dtypes[0] != dtypes[1] {
        return Err(Error::invalid("trsm: not two 2-d tiles of one dtype"));
    }
    float_ok(gpu, dtypes[0])?;
    let (tt, b) = (shapes[0], shapes[1]);
    let n = tt[0];
    let (rows, cols) = (b[0], b[1]);
    if tt[1] != n || (if right { cols } else { rows }) != n {
        return Err(Error::ShapeMismatch { op: "trsm".into(), left: tt.to_vec(), right: b.to_vec() });
    }
    let vectors = if right { rows } else { cols };
    if n == 0
        || vectors == 0
        || (n * n.max(vectors) * dtypes[0].size()) as u64 > gpu.limits.max_storage_buffer_binding_size
    {
        return Err(Error::invalid("trsm tile empty or too large for one GPU dispatch"));
    }
    // M = T (row-major: stride n along rows) or Tᵀ; transposing flips lower and upper.
    let m_is_t = right == trans;
    let (m_row, m_col) = if m_is_t { (n as u32, 1) } else { (1, n as u32) };
    let (v_stride, e_stride) = if right { (n as u32, 1) } else { (1, cols as u32) };
    let meta = TrsmMeta {
        n: n as u32,
        vectors: vectors as u32,
        m_row,
        m_col,
        v_stride,
        e_stride,
        lower: u32::from(lower == m_is_t),
        unit: u32::from(unit),
        grid: 0,
        pad: [0; 3],
    };
    Ok((n, vectors, b.to_vec(), meta))
}

fn trsm(gpu: &Arc<Gpu>, t: &TileKernel, inputs: &[LeafData], keep: bool) -> Result<Value> {
    let shapes: Vec<&[usize]> = inputs.iter().map(|l| l.shape()).collect();
    let dtypes: Vec<DType> = inputs.iter().map(|l| l.dtype()).collect();
    let (_, vectors, b_shape, mut meta) = trsm_layout(gpu, t, &shapes, &dtypes)?;
    let dt = dtypes[0];
    let maxd = gpu.limits.max_compute_workgroups_per_dimension.max(1) as usize;
    let (x, y) = grid_dims(vectors.div_ceil(64).max(1), maxd);
    meta.grid = (x * 64) as u32;
    let source = TRSM.replace("ELEM", if dt == DType::F64 { "f64" } else { "f32" });
    let pipeline = gpu.pipeline(&source, "main")?;
    let mut held = Held::new(gpu);
    let bufs = input_buffers(gpu, &mut held, &inputs[..2])?;
    let ubuf = held.upload(bytemuck::bytes_of(&meta), UNIFORM);
    let out = gpu.buffer((b_shape.iter().product::<usize>() * dt.size()) as u64, STORAGE_OUT);
    let bindings = vec![(0, &ubuf), (1, &out), (2, &bufs[0]), (3, &bufs[1])];
    let block = GpuBlock::new(gpu.clone(), out.clone(), dt, b_shape);
    let dispatch = Dispatch { pipeline, bindings, threads: vectors, groups: Some((x as u32, y as u32)) };
    submit(gpu, &[dispatch], &[])?;
    keep_or_read(block, keep)
}
