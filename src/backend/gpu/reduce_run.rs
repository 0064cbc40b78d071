//! Running a reduction's passes on a GPU (the fold and the combine tree of one task, and the
//! merge of partials that earlier tasks left there); their WGSL is in `reduce_wgsl`.

use std::sync::Arc;

use bytemuck::Zeroable;

use crate::core::block::{DeviceBlock, Value};
use crate::core::error::{Error, Result};
use crate::ir::kernel::PartialStep;
use crate::ir::reduce::ReduceKind;
use crate::ir::reduce::ReduceOp;

use super::codegen;
use super::context::Gpu;
use super::reduce_wgsl;
use super::resident::GpuBlock;
use super::run::{
    Copy, Dispatch, Held, Meta, STORAGE_IN, STORAGE_OUT, UNIFORM, c_strides, keep_or_read, meta_for,
    read_back, submit,
};

/// Threads a reduction's first pass aims for (outputs × segments): enough loads in flight to
/// fill a large GPU's memory system.
const TARGET_THREADS: usize = 1 << 18;
/// Fewest elements a reduction segment folds (so the states written stay a small fraction of
/// the elements read).
const MIN_SEGMENT: usize = 64;
/// Segment states one thread of a combine pass merges.
const COMBINE_FAN: usize = 32;

/// How pass 1 of a reduction of `m` outputs of `k` elements each is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PassPlan {
    /// Segments per output (threads of pass 1 per output).
    pub g: usize,
    /// Neighbouring segments merged in workgroup memory before writing (1: none); divides `g`.
    pub merged: usize,
    /// Neighbouring threads take neighbouring outputs (else neighbouring segments of one).
    pub across: bool,
}

/// Pass 1's layout. Segments: enough threads to fill the device, each folding at least
/// MIN_SEGMENT values. Where the reduced elements are contiguous, neighbouring threads share
/// an output and read its neighbouring elements (a warp's loads coalesce); with `merge`, a
/// power of two of them, up to 32 of at least PER_THREAD elements each, whose states are merged
/// in workgroup memory (so the states written stay few). Without `merge` (software adapters),
/// the barrier-free layout: up to 32 threads of at least 16 elements per contiguous output,
/// every state written. With `merge` and strided elements, neighbouring threads take
/// neighbouring outputs, whose elements are neighbours in memory.
pub(crate) fn pass_plan(m: usize, k: usize, contiguous: bool, merge: bool) -> PassPlan {
    let (target, per_thread) = tuning();
    let g = target.div_ceil(m.max(1)).min(k.div_ceil(MIN_SEGMENT)).max(1);
    if !merge {
        let g = if contiguous { g.max((k / 16).min(32)) } else { g };
        return PassPlan { g, merged: 1, across: false };
    }
    let pow2_below = |x: usize| if x <= 1 { 1 } else { 1 << (usize::BITS - 1 - x.leading_zeros()) };
    if !contiguous {
        return PassPlan { g, merged: 1, across: true };
    }
    let g = pow2_below(g).max(pow2_below((k / per_thread).min(32)));
    PassPlan { g, merged: g.min(super::codegen::WORKGROUP as usize), across: false }
}

/// TARGET_THREADS and the fewest elements per thread of a merged contiguous pass, unless
/// `TESSERA_PROBE_REDUCE_THREADS` / `TESSERA_PROBE_REDUCE_PER_THREAD` say otherwise (read
/// once; for sweeping them with `tessera bench gpu-kernels` on a real GPU).
fn tuning() -> (usize, usize) {
    static T: std::sync::OnceLock<(usize, usize)> = std::sync::OnceLock::new();
    *T.get_or_init(|| {
        let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d).max(1);
        (
            env("TESSERA_PROBE_REDUCE_THREADS", TARGET_THREADS),
            env("TESSERA_PROBE_REDUCE_PER_THREAD", PER_THREAD),
        )
    })
}

/// Fewest elements one thread of a merged contiguous pass folds (16 measured best on an H100:
/// 4, 8, 16 gave 946, 2062, 2507 GB/s for 64-element rows).
const PER_THREAD: usize = 16;

#[allow(clippy::too_many_arguments)]
pub(crate) fn reduction(
    gpu: &Arc<Gpu>,
    keep: bool,
    held: &mut Held,
    source: &str,
    meta: Meta,
    ins: &[wgpu::Buffer],
    (m, k, contiguous): (usize, usize, bool),
    step: &PartialStep,
    kind: ReduceKind,
    shape: &[usize],
) -> Result<Value> {
    let dt = step.op.dtype;
    let lay = reduce_wgsl::layout(kind, dt);
    let plan = pass_plan(m, k, contiguous, gpu.merges_reductions());
    let mut meta = meta;
    (meta.m, meta.k, meta.g, meta.seg, meta.across) =
        (m as u32, k as u32, plan.g as u32, plan.merged as u32, plan.across as u32);
    let main = gpu.pipeline(source, if plan.merged > 1 { "main_wg" } else { "main" })?;
    let u1 = held.upload(bytemuck::bytes_of(&meta_for(meta, m * plan.g, gpu)), UNIFORM);
    let g = plan.g / plan.merged;
    let out_bytes = (m * lay.stride) as u64;
    let out = gpu.buffer(out_bytes, STORAGE_OUT);
    // The states of pass 1, then of each combine pass (COMBINE_FAN merged per thread) until
    // one per output is left in `out`.
    let mut levels = vec![g];
    while levels[levels.len() - 1] > 1 {
        levels.push(levels[levels.len() - 1].div_ceil(COMBINE_FAN));
    }
    let mut bufs = Vec::with_capacity(levels.len());
    for &gl in &levels[..levels.len() - 1] {
        bufs.push(held.take((m * gl * lay.stride) as u64, STORAGE_OUT));
    }
    bufs.push(out.clone());
    let mut uniforms = Vec::new();
    for w in levels.windows(2) {
        let mut mc = meta_for(meta, m * w[1], gpu);
        (mc.g, mc.seg) = (w[0] as u32, COMBINE_FAN as u32);
        uniforms.push(held.upload(bytemuck::bytes_of(&mc), UNIFORM));
    }
    let mut first = vec![(0, &u1), (1, &bufs[0])];
    for (j, b) in ins.iter().enumerate() {
        first.push((3 + j as u32, b));
    }
    let mut passes = vec![Dispatch { pipeline: main, bindings: first, threads: m * plan.g, groups: None }];
    if levels.len() > 1 {
        let combine = gpu.pipeline(source, "combine")?;
        for (i, u) in uniforms.iter().enumerate() {
            passes.push(Dispatch {
                pipeline: combine.clone(),
                bindings: vec![(0, u), (1, &bufs[i + 1]), (2, &bufs[i])],
                threads: m * levels[i + 1],
                groups: None,
            });
        }
    }
    let pshape: Vec<usize> =
        shape.iter().enumerate().map(|(d, &n)| if step.axes.contains(&d) { 1 } else { n }).collect();
    let block = GpuBlock::states(gpu.clone(), out.clone(), step.op, pshape.clone());
    submit(gpu, &passes, &[])?;
    // Arg-reductions' indices are made global on the host, so their partials come back now.
    if !kind.is_arg() {
        return keep_or_read(block, keep);
    }
    let mut states = reduce_wgsl::decode_all(kind, dt, &read_back(gpu, &out, out_bytes)?);
    globalize_arg_indices(&mut states, step, shape);
    crate::backend::cpu::reduce::partial_from_gpu(&step.op, &states, &pshape)
}

/// Arg-reduction indices as the CPU reports them: along the one reduced axis from the
/// array's start, or flat in the whole array when every axis is reduced.
fn globalize_arg_indices(
    states: &mut [crate::ir::reduce::PartialState],
    step: &PartialStep,
    shape: &[usize],
) {
    match step.axes.len() {
        0 => {}
        1 => {
            let base = step.offset.get(step.axes[0]).copied().unwrap_or(0) as i64;
            for s in states {
                s.i += base;
            }
        }
        _ => {
            let gs = &step.global_shape;
            let cs = c_strides(shape);
            for s in states {
                let mut rem = s.i as usize;
                let mut flat = 0i64;
                for d in 0..shape.len() {
                    let c = rem / cs[d];
                    rem %= cs[d];
                    flat = flat * gs[d] as i64 + (step.offset[d] + c) as i64;
                }
                s.i = flat;
            }
        }
    }
}

/// Merge reduction partials that earlier tasks left on the GPU, in input order (one
/// `combine` dispatch over the partials copied side by side); the result stays on the GPU
/// when `keep`.
pub(crate) fn combine(gpu: &Arc<Gpu>, op: &ReduceOp, parts: &[&GpuBlock], keep: bool) -> Result<Value> {
    let (kind, nan, dt) = (op.kind, op.skip_nan, op.dtype);
    let first = parts.first().ok_or_else(|| Error::internal("combine of no partials"))?;
    let shape = first.shape().to_vec();
    let m = first.len();
    let each = first.bytes();
    if parts.iter().any(|p| p.len() != m || p.bytes() != each || p.is_array()) {
        return Err(Error::invalid("GPU combine: partials of different shapes"));
    }
    let source = codegen::combine_source(kind, nan, dt);
    let pipeline = gpu.pipeline(&source, "combine")?;
    let mut held = Held::new(gpu);
    let stacked = held.take(each * parts.len() as u64, STORAGE_IN);
    let bufs = parts
        .iter()
        .map(|p| {
            p.buffer().ok_or_else(|| Error::BackendUnavailable("a partial was evicted from the GPU".into()))
        })
        .collect::<Result<Vec<_>>>()?;
    let copies: Vec<Copy> = bufs
        .iter()
        .enumerate()
        .map(|(i, b)| Copy { from: b, to: &stacked, at: i as u64 * each, bytes: each })
        .collect();
    let mut meta = meta_for(Meta::zeroed(), m, gpu);
    (meta.m, meta.g, meta.seg) = (m as u32, parts.len() as u32, parts.len() as u32);
    let ubuf = held.upload(bytemuck::bytes_of(&meta), UNIFORM);
    let out = gpu.buffer(each, STORAGE_OUT);
    let block = GpuBlock::states(gpu.clone(), out.clone(), *op, shape);
    let bindings = vec![(0, &ubuf), (1, &out), (2, &stacked)];
    submit(gpu, &[Dispatch { pipeline, bindings, threads: m, groups: None }], &copies)?;
    keep_or_read(block, keep)
}
