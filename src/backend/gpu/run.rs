//! Running one fused task on a GPU: lay out the leaves, fill the metadata, dispatch, read back.

use std::borrow::Cow;
use std::sync::Arc;

use bytemuck::{Pod, Zeroable};
use ndarray::{ArrayD, IxDyn};

use crate::core::block::{DeviceBlock, HostArray, Value};
use crate::core::dtype::DType;
use crate::core::error::{Error, Result};
use crate::ir::kernel::FusedKernel;

use super::codegen::{self, KernelSpec, LeafIndex, MAX_LEAVES, MAX_RANK, WORKGROUP};
use super::context::Gpu;
use super::reduce_wgsl;
use super::resident::GpuBlock;

/// The uniform of one dispatch (WGSL twin: `Meta` in shaders/meta.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct Meta {
    pub(crate) n: u32,
    pub(crate) grid: u32,
    pub(crate) m: u32,
    pub(crate) k: u32,
    pub(crate) g: u32,
    pub(crate) seg: u32,
    zero: u32,
    pub(crate) across: u32,
    shape: [u32; 8],
    strides: [[u32; 8]; MAX_LEAVES],
}

/// Why this task cannot run on `gpu`, judged before its leaves are read. With `whole`
/// false the block's size is not judged (the task is to be split, see `split.rs`).
pub(crate) fn refuse(gpu: &Gpu, f: &FusedKernel, whole: bool) -> Option<String> {
    if f.leaves.len() > MAX_LEAVES {
        return Some(format!("{} leaves (the GPU kernels read at most {MAX_LEAVES})", f.leaves.len()));
    }
    if f.out_shape.len() > MAX_RANK {
        return Some(format!("rank {} (at most {MAX_RANK} on the GPU)", f.out_shape.len()));
    }
    let n: usize = f.out_shape.iter().product();
    if n == 0 {
        return Some("an empty block".into());
    }
    if whole && n >= u32::MAX as usize {
        return Some("a block of 2³² elements or more".into());
    }
    if whole && too_large(gpu, f) {
        return Some(format!(
            "a block of {} bytes (one binding holds at most {} on {})",
            n as u64 * widest_value(f),
            gpu.max_binding(),
            gpu.info.name
        ));
    }
    if let Some(why) = codegen::unsupported(&f.expr, gpu.info.shader_f64) {
        return Some(why);
    }
    if let Some(step) = &f.reduce {
        let kind = step.op.kind;
        if !reduce_wgsl::supported(kind, f.expr.dtype()) {
            return Some(format!("{} of {} runs on the CPU", step.op.name(), f.expr.dtype()));
        }
    }
    None
}

/// Bytes of the widest value the task's expression stores per element.
pub(crate) fn widest_value(f: &FusedKernel) -> u64 {
    f.expr.dtypes.iter().map(|&d| codegen::store_size(d)).max().unwrap_or(4) as u64
}

/// Whether the task's block is larger than one storage binding (so it is split, or runs on
/// the CPU).
pub(crate) fn too_large(gpu: &Gpu, f: &FusedKernel) -> bool {
    f.out_shape.iter().product::<usize>() as u64 * widest_value(f) > gpu.max_binding()
}

/// C-order strides of `shape`.
pub(crate) fn c_strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        s[d] = s[d + 1] * shape[d + 1];
    }
    s
}

/// A leaf of a GPU task: a host block to upload, or a block already on this GPU.
pub(crate) enum LeafData {
    /// On the host.
    Host(HostArray),
    /// On this GPU.
    Device(Arc<dyn DeviceBlock>),
}

impl LeafData {
    pub(crate) fn shape(&self) -> &[usize] {
        match self {
            LeafData::Host(h) => h.shape(),
            LeafData::Device(d) => d.shape(),
        }
    }
    pub(crate) fn dtype(&self) -> DType {
        match self {
            LeafData::Host(h) => h.dtype(),
            LeafData::Device(d) => d.dtype(),
        }
    }
    /// The host block (a device block is read back).
    pub(crate) fn to_host(&self) -> Result<HostArray> {
        match self {
            LeafData::Host(h) => Ok(h.clone()),
            LeafData::Device(d) => d.host_value()?.array().cloned(),
        }
    }
}

/// The GPU block behind a device value, if it lives on `gpu`.
pub(crate) fn own_block<'a>(gpu: &Gpu, d: &'a Arc<dyn DeviceBlock>) -> Option<&'a GpuBlock> {
    d.as_any().downcast_ref::<GpuBlock>().filter(|b| std::ptr::eq(Arc::as_ptr(&b.gpu), gpu))
}

/// The GPU array block behind a device value, if it lives on `gpu` (states are not leaves).
pub(crate) fn own_array<'a>(gpu: &Gpu, d: &'a Arc<dyn DeviceBlock>) -> Option<&'a GpuBlock> {
    own_block(gpu, d).filter(|b| b.is_array())
}

/// The buffer a task binds for a leaf: uploaded from the host, or the block's own (uploaded
/// again from its host copy if it was evicted).
pub(crate) fn leaf_buffer(gpu: &Gpu, held: &mut Held, leaf: &LeafData) -> Result<wgpu::Buffer> {
    let host = match leaf {
        LeafData::Host(h) => h,
        LeafData::Device(d) => match own_array(gpu, d).and_then(GpuBlock::buffer) {
            Some(b) => return Ok(b),
            None => d.host_value()?.array()?,
        },
    };
    let bytes = leaf_bytes(host);
    gpu.uploaded.fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
    Ok(held.upload(&bytes, STORAGE_IN))
}

/// A leaf's bytes in standard layout (bools widened to `u32`): borrowed from the block when
/// it already is (no copy before the upload's own).
pub(crate) fn leaf_bytes(l: &HostArray) -> Cow<'_, [u8]> {
    fn std_bytes<T: Pod + Clone>(a: &ndarray::ArcArray<T, IxDyn>) -> Cow<'_, [u8]> {
        match a.as_slice() {
            Some(s) => Cow::Borrowed(bytemuck::cast_slice(s)),
            None => Cow::Owned(
                bytemuck::cast_slice(a.as_standard_layout().as_slice().expect("standard layout")).to_vec(),
            ),
        }
    }
    match l {
        HostArray::Bool(a) => {
            let w: Vec<u32> = a.iter().map(|&b| b as u32).collect();
            Cow::Owned(bytemuck::cast_slice(&w).to_vec())
        }
        HostArray::I8(a) => std_bytes(a),
        HostArray::I16(a) => std_bytes(a),
        HostArray::I32(a) => std_bytes(a),
        HostArray::I64(a) => std_bytes(a),
        HostArray::U8(a) => std_bytes(a),
        HostArray::U16(a) => std_bytes(a),
        HostArray::U32(a) => std_bytes(a),
        HostArray::U64(a) => std_bytes(a),
        HostArray::F32(a) => std_bytes(a),
        HostArray::F64(a) => std_bytes(a),
    }
}

/// Evaluate a fused task on the GPU from its leaves (already read). An elementwise result
/// stays on the GPU when `keep`, else it is read back.
pub(crate) fn fused(gpu: &Arc<Gpu>, f: &FusedKernel, leaves: &[LeafData], keep: bool) -> Result<Value> {
    let shape = &f.out_shape;
    let rank = shape.len();
    let axes: Vec<usize> = f.reduce.as_ref().map(|s| s.axes.to_vec()).unwrap_or_default();
    // The iteration space P: kept axes, then reduced axes.
    let mut perm: Vec<usize> = (0..rank).filter(|d| !axes.contains(d)).collect();
    let kept = perm.len();
    perm.extend(&axes);
    let pshape: Vec<usize> = perm.iter().map(|&d| shape[d]).collect();
    let m: usize = pshape[..kept].iter().product();
    let k: usize = pshape[kept..].iter().product();
    let pc = c_strides(&pshape);

    let mut meta = Meta::zeroed();
    for (d, &n) in pshape.iter().enumerate() {
        meta.shape[d] = n as u32;
    }
    let mut leaf_index = Vec::with_capacity(leaves.len());
    // Whether every leaf steps by 0 or 1 element along the last axis of P (for a reduction
    // over one axis: its elements are contiguous).
    let mut unit_steps = true;
    for (j, l) in leaves.iter().enumerate() {
        let ls = l.shape();
        if ls.len() > rank {
            return Err(Error::invalid(format!("GPU leaf of shape {ls:?} does not broadcast to {shape:?}")));
        }
        let lc = c_strides(ls);
        let lead = rank - ls.len();
        let mut sstr = vec![0usize; rank];
        for d in lead..rank {
            let n = ls[d - lead];
            if n == shape[d] {
                sstr[d] = lc[d - lead];
            } else if n != 1 {
                return Err(Error::invalid(format!(
                    "GPU leaf of shape {ls:?} does not broadcast to {shape:?}"
                )));
            }
        }
        let pstr: Vec<usize> = perm.iter().map(|&d| sstr[d]).collect();
        for (d, &s) in pstr.iter().enumerate() {
            meta.strides[j][d] = s as u32;
        }
        unit_steps &= pstr.last().is_none_or(|&s| s <= 1);
        leaf_index.push(if pstr == pc && ls.iter().product::<usize>() == m * k {
            LeafIndex::Flat
        } else {
            LeafIndex::Strided
        });
    }
    let all_flat = leaf_index.iter().all(|&l| l == LeafIndex::Flat);
    let reduce = f.reduce.as_ref().map(|step| (step.op.kind, step.op.skip_nan));
    let spec = KernelSpec {
        expr: &f.expr,
        leaf_dtypes: leaves.iter().map(|l| l.dtype()).collect(),
        leaf_index,
        rank,
        reduce,
        reduced_axes: axes.len(),
    };
    let source = codegen::generate(&spec);
    let mut held = Held::new(gpu);
    let ins = leaves.iter().map(|l| leaf_buffer(gpu, &mut held, l)).collect::<Result<Vec<_>>>()?;
    match (&f.reduce, reduce) {
        (Some(step), Some((kind, _))) => {
            let contiguous = axes.len() == 1 && unit_steps || all_flat;
            super::reduce_run::reduction(
                gpu,
                keep,
                &mut held,
                &source,
                meta,
                &ins,
                (m, k, contiguous),
                step,
                kind,
                shape,
            )
        }
        _ => elementwise(gpu, &mut held, &source, meta, &ins, shape, f.expr.dtype(), keep),
    }
}

/// Workgroups for `n` threads as a 2-D grid, and the threads per grid row.
pub(crate) fn grid(gpu: &Gpu, n: usize) -> (u32, u32, u32) {
    let groups = n.div_ceil(WORKGROUP as usize).max(1);
    let (x, y) = grid_dims(groups, gpu.limits.max_compute_workgroups_per_dimension.max(1) as usize);
    (x as u32, y as u32, x as u32 * WORKGROUP)
}

/// `groups` workgroups as `x × y` with `x ≤ maxd`: as many rows as needed, each as short as it
/// can be, so at most `y − 1` workgroups idle (a full-width first row left up to 65534 empty
/// ones, ~60 µs a dispatch on an H100).
pub(crate) fn grid_dims(groups: usize, maxd: usize) -> (usize, usize) {
    let y = groups.div_ceil(maxd);
    (groups.div_ceil(y), y)
}

pub(crate) const STORAGE_IN: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_DST);
pub(crate) const STORAGE_OUT: wgpu::BufferUsages =
    wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_SRC);
pub(crate) const UNIFORM: wgpu::BufferUsages =
    wgpu::BufferUsages::UNIFORM.union(wgpu::BufferUsages::COPY_DST);
const STAGING: wgpu::BufferUsages = wgpu::BufferUsages::MAP_READ.union(wgpu::BufferUsages::COPY_DST);

/// Buffers of one task, returned to the pool when it ends.
pub(crate) struct Held<'g> {
    gpu: &'g Gpu,
    bufs: Vec<wgpu::Buffer>,
}

impl<'g> Held<'g> {
    pub(crate) fn new(gpu: &'g Gpu) -> Self {
        Held { gpu, bufs: Vec::new() }
    }
    pub(crate) fn take(&mut self, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        let b = self.gpu.buffer(size, usage);
        self.bufs.push(b.clone());
        b
    }
    pub(crate) fn upload(&mut self, bytes: &[u8], usage: wgpu::BufferUsages) -> wgpu::Buffer {
        let b = self.take(bytes.len().max(4) as u64, usage);
        if !bytes.is_empty() {
            self.gpu.queue.write_buffer(&b, 0, bytes);
        }
        b
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        for b in self.bufs.drain(..) {
            self.gpu.recycle(b);
        }
    }
}

/// One dispatch: a pipeline, its bindings (number, buffer) and its thread count.
pub(crate) struct Dispatch<'a> {
    pub(crate) pipeline: std::sync::Arc<wgpu::ComputePipeline>,
    pub(crate) bindings: Vec<(u32, &'a wgpu::Buffer)>,
    pub(crate) threads: usize,
    /// Workgroups to dispatch, when not one per `WORKGROUP` threads.
    pub(crate) groups: Option<(u32, u32)>,
}

/// A buffer-to-buffer copy before a task's dispatches: `bytes` from the start of `from` to
/// offset `at` of `to`.
pub(crate) struct Copy<'a> {
    pub(crate) from: &'a wgpu::Buffer,
    pub(crate) to: &'a wgpu::Buffer,
    pub(crate) at: u64,
    pub(crate) bytes: u64,
}

/// Encode the copies and dispatches into one command buffer and submit it, without waiting for it.
/// Validation and out-of-memory errors come back as errors.
pub(crate) fn submit(gpu: &Gpu, passes: &[Dispatch], copies: &[Copy]) -> Result<()> {
    if gpu.injected_failure() {
        return Err(Error::BackendUnavailable("GPU out of memory (injected by a test)".into()));
    }
    let oom = gpu.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
    let val = gpu.device.push_error_scope(wgpu::ErrorFilter::Validation);
    let mut enc =
        gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("tessera task") });
    for c in copies {
        enc.copy_buffer_to_buffer(c.from, 0, c.to, c.at, c.bytes);
    }
    // While the probe records GPU times: a timestamp before the first pass and after the last.
    let timed = !passes.is_empty() && gpu.timing.load(std::sync::atomic::Ordering::Relaxed);
    let stamps = if timed { gpu.stamps.lock().ok() } else { None };
    let timing = stamps.as_ref().and_then(|s| s.as_ref()).filter(|s| s.recording.is_some());
    let last = passes.len().saturating_sub(1);
    for (i, d) in passes.iter().enumerate() {
        let layout = d.pipeline.get_bind_group_layout(0);
        let entries: Vec<wgpu::BindGroupEntry> = d
            .bindings
            .iter()
            .map(|&(b, buf)| wgpu::BindGroupEntry { binding: b, resource: buf.as_entire_binding() })
            .collect();
        let group = gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &layout,
            entries: &entries,
        });
        let (x, y) = d.groups.unwrap_or_else(|| {
            let (x, y, _) = grid(gpu, d.threads);
            (x, y)
        });
        let timestamp_writes =
            timing.filter(|_| i == 0 || i == last).map(|s| wgpu::ComputePassTimestampWrites {
                query_set: &s.set,
                beginning_of_pass_write_index: (i == 0).then_some(0),
                end_of_pass_write_index: (i == last).then_some(1),
            });
        let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes });
        pass.set_pipeline(&d.pipeline);
        pass.set_bind_group(0, &group, &[]);
        pass.dispatch_workgroups(x, y, 1);
    }
    if let Some(s) = timing {
        enc.resolve_query_set(&s.set, 0..2, &s.resolve, 0);
    }
    gpu.queue.submit([enc.finish()]);
    let val_err = pollster::block_on(val.pop());
    if let Some(e) = pollster::block_on(oom.pop()) {
        return Err(Error::BackendUnavailable(format!("GPU out of memory: {e}")));
    }
    if let Some(e) = val_err {
        return Err(Error::invalid(format!("GPU task rejected: {e}")));
    }
    if let Some(mut stamps) = stamps
        && let Some(s) = stamps.as_mut()
        && let Some(r) = s.recording.as_mut()
    {
        let t = read_back(gpu, &s.resolve, 16)?;
        let tick = |i: usize| u64::from_le_bytes(t[i * 8..i * 8 + 8].try_into().expect("8 bytes"));
        r.push(tick(1).saturating_sub(tick(0)) as f64 * gpu.queue.get_timestamp_period() as f64 * 1e-9);
    }
    Ok(())
}

/// Copy the first `bytes` of `buf` to the host: waits for the work writing it.
pub(crate) fn read_back(gpu: &Gpu, buf: &wgpu::Buffer, bytes: u64) -> Result<Vec<u8>> {
    let copy = bytes.next_multiple_of(4).max(4);
    let staging = gpu.buffer(copy, STAGING);
    let mut enc = gpu
        .device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("tessera read-back") });
    enc.copy_buffer_to_buffer(buf, 0, &staging, 0, copy);
    gpu.queue.submit([enc.finish()]);
    let (tx, rx) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, 0..copy, move |r| {
        let _ = tx.send(r);
    });
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| Error::invalid(format!("GPU wait failed: {e}")))?;
    rx.recv()
        .map_err(|_| Error::invalid("GPU read-back was dropped"))?
        .map_err(|e| Error::invalid(format!("GPU read-back failed: {e}")))?;
    let data = staging
        .get_mapped_range(0..copy)
        .map_err(|e| Error::invalid(format!("GPU read-back failed: {e}")))?[..bytes as usize]
        .to_vec();
    staging.unmap();
    gpu.recycle(staging);
    Ok(data)
}

pub(crate) fn meta_for(mut meta: Meta, n: usize, gpu: &Gpu) -> Meta {
    meta.n = n as u32;
    meta.grid = grid(gpu, n).2;
    meta
}

#[allow(clippy::too_many_arguments)]
fn elementwise(
    gpu: &Arc<Gpu>,
    held: &mut Held,
    source: &str,
    meta: Meta,
    ins: &[wgpu::Buffer],
    shape: &[usize],
    dt: DType,
    keep: bool,
) -> Result<Value> {
    let n: usize = shape.iter().product();
    let pipeline = gpu.pipeline(source, "main")?;
    let meta = meta_for(meta, n, gpu);
    let ubuf = held.upload(bytemuck::bytes_of(&meta), UNIFORM);
    let bytes = (n * codegen::store_size(dt)) as u64;
    // The result's buffer is not the task's: it lives on as the block.
    let out = gpu.buffer(bytes, STORAGE_OUT);
    let mut bindings = vec![(0, &ubuf), (1, &out)];
    for (j, b) in ins.iter().enumerate() {
        bindings.push((3 + j as u32, b));
    }
    let block = GpuBlock::new(gpu.clone(), out.clone(), dt, shape.to_vec());
    submit(gpu, &[Dispatch { pipeline, bindings, threads: n, groups: None }], &[])?;
    keep_or_read(block, keep)
}

/// The result as a device value when `keep`, else read back now.
pub(crate) fn keep_or_read(block: GpuBlock, keep: bool) -> Result<Value> {
    if keep {
        let b = Arc::new(block);
        b.gpu.register(&b);
        return Ok(Value::Device(b));
    }
    block.host_value().cloned()
}

/// A host block from bytes the GPU wrote (bools as `u32`).
pub(crate) fn host_from_bytes(dt: DType, shape: &[usize], data: &[u8]) -> Result<HostArray> {
    fn typed<T: Pod + crate::core::dtype::Element>(shape: &[usize], data: &[u8]) -> Result<HostArray> {
        let v: Vec<T> = bytemuck::pod_collect_to_vec(data);
        let a = ArrayD::from_shape_vec(IxDyn(shape), v).map_err(|e| Error::invalid(e.to_string()))?;
        Ok(HostArray::new(a.into_shared()))
    }
    match dt {
        DType::Bool => {
            let w: Vec<u32> = bytemuck::pod_collect_to_vec(data);
            let a = ArrayD::from_shape_vec(IxDyn(shape), w.into_iter().map(|x| x != 0).collect())
                .map_err(|e| Error::invalid(e.to_string()))?;
            Ok(HostArray::new(a.into_shared()))
        }
        DType::I8 => typed::<i8>(shape, data),
        DType::I16 => typed::<i16>(shape, data),
        DType::I32 => typed::<i32>(shape, data),
        DType::I64 => typed::<i64>(shape, data),
        DType::U8 => typed::<u8>(shape, data),
        DType::U16 => typed::<u16>(shape, data),
        DType::U32 => typed::<u32>(shape, data),
        DType::U64 => typed::<u64>(shape, data),
        DType::F32 => typed::<f32>(shape, data),
        DType::F64 => typed::<f64>(shape, data),
    }
}

#[cfg(test)]
mod tests {
    use super::grid_dims;

    #[test]
    fn grids_cover_every_workgroup_with_fewer_idle_ones_than_rows() {
        for (groups, maxd) in [(1, 65535), (65535, 65535), (65536, 65535), (262_144, 65535), (10, 3), (7, 7)]
        {
            let (x, y) = grid_dims(groups, maxd);
            assert!(x <= maxd && x * y >= groups, "{groups} in rows of {maxd}: {x} × {y}");
            assert!(x * y - groups < y, "{groups} in rows of {maxd}: {} idle", x * y - groups);
        }
        assert_eq!(grid_dims(65536, 65535), (32768, 2));
    }
}
