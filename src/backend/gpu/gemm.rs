//! The matrix-product tiles of linear algebra on a GPU: [`TileKernel::Gemm`] and
//! [`TileKernel::Syrk`] (as a full product with `B = A`, which is exactly symmetric: both
//! halves sum the same products in the same order) for 2-d `f32` tiles, and `f64` where the
//! adapter has SHADER_F64. The kernel is shaders/gemm.wgsl.

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use crate::backend::kernel::TileKernel;
use crate::block::Value;
use crate::dtype::DType;
use crate::error::{Error, Result};

use super::context::Gpu;
use super::resident::GpuBlock;
use super::run::{Dispatch, Held, LeafData, STORAGE_IN, STORAGE_OUT, UNIFORM, leaf_bytes, own_block, submit};

const GEMM: &str = include_str!("../../../shaders/gemm.wgsl");
/// Rows and columns of C per workgroup.
const TILE: usize = 64;

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

/// `(ta, tb, alpha, accumulate)` of a product tile the GPU computes, if `t` is one.
pub(crate) fn product(t: &TileKernel) -> Option<(bool, bool, f64, bool)> {
    match *t {
        TileKernel::Gemm { ta, tb, alpha, accumulate } => Some((ta, tb, alpha, accumulate)),
        TileKernel::Syrk { alpha, accumulate } => Some((false, true, alpha, accumulate)),
        _ => None,
    }
}

/// Why `gpu` cannot run this product on these inputs (shapes and dtypes), if it cannot;
/// else its `(m, n, k)`.
pub(crate) fn check(
    gpu: &Gpu,
    t: &TileKernel,
    shapes: &[&[usize]],
    dtypes: &[DType],
) -> Result<(usize, usize, usize)> {
    let (ta, tb, _, acc) = product(t).ok_or_else(|| Error::invalid("not a product tile"))?;
    let syrk = matches!(t, TileKernel::Syrk { .. });
    let want = usize::from(acc) + if syrk { 1 } else { 2 };
    let dt = *dtypes.first().ok_or_else(|| Error::invalid("gemm: no inputs"))?;
    if shapes.len() != want || shapes.iter().any(|s| s.len() != 2) || dtypes.iter().any(|&d| d != dt) {
        return Err(Error::invalid("product tile: not 2-d tiles of one dtype"));
    }
    if !(dt == DType::F32 || (dt == DType::F64 && gpu.info.shader_f64)) {
        return Err(Error::invalid(format!("{dt} products run on the CPU")));
    }
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

/// Run a product tile on the GPU; the result stays there when `keep`.
pub(crate) fn run(gpu: &Arc<Gpu>, t: &TileKernel, inputs: &[LeafData], keep: bool) -> Result<Value> {
    let shapes: Vec<&[usize]> = inputs.iter().map(|l| l.shape()).collect();
    let dtypes: Vec<DType> = inputs.iter().map(|l| l.dtype()).collect();
    let (m, n, k) = check(gpu, t, &shapes, &dtypes)?;
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
    let source = GEMM.replace("ELEM", if dt == DType::F64 { "f64" } else { "f32" });
    let pipeline = gpu.pipeline(&source, "main")?;
    let mut held = Held::new(gpu);
    let mut bufs = Vec::with_capacity(inputs.len());
    for l in inputs {
        bufs.push(match l {
            LeafData::Host(h) => held.upload(&leaf_bytes(h), STORAGE_IN),
            LeafData::Device(d) => {
                own_block(gpu, d).ok_or_else(|| Error::invalid("a block of another GPU"))?.buffer().clone()
            }
        });
    }
    let alpha_bytes: Vec<u8> =
        if dt == DType::F64 { alpha.to_le_bytes().to_vec() } else { (alpha as f32).to_le_bytes().to_vec() };
    let alpha_buf = held.upload(&alpha_bytes, STORAGE_IN);
    let ubuf = held.upload(bytemuck::bytes_of(&meta), UNIFORM);
    let out = gpu.buffer((m * n * dt.size()) as u64, STORAGE_OUT);
    let (a, b) = (&bufs[off], if syrk { &bufs[off] } else { &bufs[off + 1] });
    let cin = if acc { &bufs[0] } else { a };
    let bindings = vec![(0, &ubuf), (1, &out), (2, a), (3, b), (4, cin), (5, &alpha_buf)];
    let block = GpuBlock::new(gpu.clone(), out.clone(), dt, vec![m, n]);
    let groups = Some((n.div_ceil(TILE) as u32, m.div_ceil(TILE) as u32));
    submit(gpu, &[Dispatch { pipeline, bindings, threads: m * n, groups }])?;
    if keep {
        return Ok(Value::Device(Arc::new(block)));
    }
    use crate::block::DeviceBlock;
    Ok(Value::Array(block.host()?.clone()))
}
