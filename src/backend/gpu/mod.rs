//! The GPU backend: wgpu (Vulkan, Metal, DX12) with kernels generated in WGSL.
//!
//! A GPU is a worker in the same graph as the CPU: the GPU backend runs the tasks it has
//! kernels for (fused elementwise expressions and the reductions they feed, for `f32`, `i32`
//! and `bool`, and `f64` where the adapter offers SHADER_F64 and the operation is exact; the
//! gemm, syrk and trsm tiles of linear algebra for `f32`, and `f64` with SHADER_F64) and hands
//! every other task to the CPU backend. Which device a compute uses is
//! [`crate::ComputeOptions::device`]:
//!
//! - [`Device::Cpu`]: the CPU only.
//! - [`Device::Gpu(i)`](Device::Gpu): every task GPU `i` can run runs there; the rest on the
//!   CPU. No such GPU: [`Error::BackendUnavailable`] saying how to get one.
//! - [`Device::Auto`]: the first hardware GPU (a software adapter such as Mesa's lavapipe is
//!   never chosen), per task by a cost model ([`prefers_gpu`]); the CPU when there is none.
//!
//! A GPU task's result (a block, or a reduction's partial states) stays in GPU memory
//! ([`crate::core::block::Value::Device`]) while the blocks kept there fit the GPU memory budget
//! ([`crate::ComputeOptions::gpu_memory_budget`], 4 GiB by default); the next GPU task reads
//! it in place (a reduction's combine tree merges partials there), and nothing waits for the
//! GPU until a CPU task or the result reads the value back (once). Leaves on the host are
//! uploaded per task, which [`prefers_gpu`] charges. On device out-of-memory the kept blocks
//! are evicted to the host and the task is retried once, else it runs on the CPU with a
//! warning.
//!
//! ```
//! // Lists what wgpu finds; empty on a machine without a Vulkan/Metal/DX12 driver.
//! for d in tessera::gpu::devices() {
//!     println!("{}: {} ({}, {:?})", d.index, d.name, d.backend, d.kind);
//! }
//! ```

#[cfg(feature = "gpu")]
mod codegen;
#[cfg(feature = "gpu")]
mod context;
#[cfg(feature = "gpu")]
mod probe;
#[cfg(feature = "gpu")]
mod reduce_run;
#[cfg(feature = "gpu")]
mod reduce_wgsl;
#[cfg(feature = "gpu")]
mod resident;
#[cfg(feature = "gpu")]
mod run;
#[cfg(feature = "gpu")]
mod split;
#[cfg(feature = "gpu")]
mod tiles;

use crate::backend::Backend;
use crate::core::error::{Error, Result};
#[cfg(feature = "gpu")]
use crate::ir::kernel::FusedKernel;
#[cfg(feature = "gpu")]
use crate::runtime::DEFAULT_GPU_BUDGET;
use crate::runtime::{ComputeOptions, Device};
pub use crate::runtime::{DeviceInfo, DeviceKind};

#[cfg(feature = "gpu")]
pub use probe::{KernelRate, kernel_rates};

/// The GPU adapters tessera can use (Vulkan, Metal or DX12), in [`Device::Gpu`] index order.
/// Empty when there is none, or when tessera was built without the `gpu` feature.
pub fn devices() -> Vec<DeviceInfo> {
    #[cfg(feature = "gpu")]
    {
        context::list()
    }
    #[cfg(not(feature = "gpu"))]
    {
        Vec::new()
    }
}

/// Whether the automatic placement would send a task of `elements` elements doing
/// `ops_per_element` operations (transcendental functions count 8) and moving `bytes` from
/// the host to a device of `kind`: the GPU's time (the transfer at ~12 GB/s plus 30 µs of
/// launch) must beat the CPU's (its memory at ~20 GB/s, arithmetic at ~4 Gop/s). Work whose
/// inputs already live on the GPU moves nothing. A software adapter never wins. (Measured on
/// an H100's host: uploads at 13–17 GB/s end to end, 29 µs per GPU task.)
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub fn prefers_gpu(kind: DeviceKind, elements: usize, ops_per_element: usize, bytes: usize) -> bool {
    if matches!(kind, DeviceKind::Software | DeviceKind::Other) {
        return false;
    }
    let cpu = (bytes as f64 / 20e9).max(elements as f64 * ops_per_element as f64 / 4e9);
    let gpu = bytes as f64 / 12e9 + 30e-6;
    gpu < cpu
}

/// Whether any task of `graph` is of a kind a GPU runs (an elementwise expression or a
/// reduction's partial, a gemm/syrk/trsm tile): else [`Device::Auto`] needs no adapter, and
/// does not look for one.
fn may_use_gpu(graph: &crate::ir::TaskGraph) -> bool {
    use crate::ir::kernel::Kernel;
    graph.tasks.iter().any(|t| match &t.kernel {
        Kernel::Fused(f) => f.reduce.is_some() || !f.expr.is_identity(),
        #[cfg(feature = "gpu")]
        Kernel::Tile(k) => tiles::handles(k),
        _ => false,
    })
}

/// The backend for a compute of `graph` with `opts`: `None` means the CPU backend alone.
/// Adapters are enumerated only where a GPU may be chosen: never for [`Device::Cpu`], and for
/// [`Device::Auto`] only when the graph has a task a GPU could run.
pub(crate) fn backend_for<'a>(
    opts: &ComputeOptions,
    cpu: &'a dyn Backend,
    graph: &crate::ir::TaskGraph,
) -> Result<Option<Box<dyn Backend + 'a>>> {
    #[cfg(feature = "gpu")]
    let budget = opts.gpu_memory_budget.unwrap_or(DEFAULT_GPU_BUDGET) as u64;
    match opts.device {
        Device::Cpu => Ok(None),
        Device::Gpu(i) => {
            #[cfg(feature = "gpu")]
            {
                Ok(Some(Box::new(GpuBackend::new(context::open_gpu(i)?, cpu, false, budget))))
            }
            #[cfg(not(feature = "gpu"))]
            {
                let _ = cpu;
                Err(no_gpu_backend(i))
            }
        }
        Device::Auto if !may_use_gpu(graph) => Ok(None),
        Device::Auto => {
            #[cfg(feature = "gpu")]
            {
                let hw = devices()
                    .into_iter()
                    .find(|d| !matches!(d.kind, DeviceKind::Software | DeviceKind::Other));
                match hw.map(|d| context::open_gpu(d.index)) {
                    Some(Ok(g)) => Ok(Some(Box::new(GpuBackend::new(g, cpu, true, budget)))),
                    _ => Ok(None),
                }
            }
            #[cfg(not(feature = "gpu"))]
            {
                let _ = cpu;
                Ok(None)
            }
        }
    }
}

/// Runs the tasks a GPU has kernels for there, the others on the CPU backend.
#[cfg(feature = "gpu")]
pub(crate) struct GpuBackend<'a> {
    gpu: std::sync::Arc<context::Gpu>,
    cpu: &'a dyn Backend,
    /// Choose per task by [`prefers_gpu`] (else: every task the GPU can run).
    auto: bool,
    /// Bytes of blocks that may stay on the GPU between tasks.
    budget: u64,
    name: String,
    offloaded: std::sync::atomic::AtomicUsize,
}

#[cfg(feature = "gpu")]
impl<'a> GpuBackend<'a> {
    fn new(gpu: std::sync::Arc<context::Gpu>, cpu: &'a dyn Backend, auto: bool, budget: u64) -> Self {
        let name = format!("gpu{}+{}", gpu.info.index, cpu.name());
        GpuBackend { gpu, cpu, auto, budget, name, offloaded: Default::default() }
    }

    /// A task input as a GPU leaf: a block already on this GPU stays there.
    fn leaf(&self, v: &crate::core::block::Value) -> Result<run::LeafData> {
        match v {
            crate::core::block::Value::Device(d) if run::own_array(&self.gpu, d).is_some() => {
                Ok(run::LeafData::Device(d.clone()))
            }
            v => Ok(run::LeafData::Host(v.array()?.clone())),
        }
    }

    /// The leaves of a fused task.
    fn leaves(&self, f: &FusedKernel, inputs: &[crate::core::block::Value]) -> Result<Vec<run::LeafData>> {
        use crate::ir::kernel::Leaf;
        f.leaves
            .iter()
            .map(|leaf| match leaf {
                Leaf::Input(i) => {
                    self.leaf(inputs.get(*i).ok_or_else(|| Error::internal("fused kernel: missing input"))?)
                }
                Leaf::Source { source, region } => Ok(run::LeafData::Host(source.read(region)?)),
            })
            .collect()
    }

    /// Run `task` on the GPU. On device out-of-memory, evict the blocks kept there to the
    /// host and try once more; `None` (with a warning) when it still fails: the caller runs
    /// the task on the CPU.
    fn on_gpu(
        &self,
        task: impl Fn() -> Result<crate::core::block::Value>,
    ) -> Option<Result<crate::core::block::Value>> {
        use std::sync::atomic::Ordering;
        let mut why = String::new();
        for attempt in 0..2 {
            match task() {
                Ok(v) => {
                    self.offloaded.fetch_add(1, Ordering::Relaxed);
                    return Some(Ok(v));
                }
                Err(Error::BackendUnavailable(w)) => {
                    why = w;
                    if attempt == 0 && self.gpu.evict_all() == 0 {
                        break;
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
        eprintln!(
            "tessera: warning: {why} (after evicting the GPU's blocks to the host); running the task on the CPU"
        );
        None
    }

    /// The partials of a combine, when they are all states this GPU computed for `k`.
    fn device_partials<'v>(
        &self,
        k: &crate::ir::reduce::ReduceOp,
        inputs: &'v [crate::core::block::Value],
    ) -> Option<Vec<&'v resident::GpuBlock>> {
        inputs
            .iter()
            .map(|v| match v {
                crate::core::block::Value::Device(d) => {
                    run::own_block(&self.gpu, d).filter(|b| match &b.content {
                        resident::Content::States { op } => op.kind == k.kind && op.dtype == k.dtype,
                        resident::Content::Array => false,
                    })
                }
                _ => None,
            })
            .collect()
    }

    /// Run a tile step on the GPU if it goes there ([`Self::takes_tile`]); `None` when it
    /// does not or the GPU gave it back (the CPU runs it then).
    fn tile_on_gpu(
        &self,
        t: &crate::ir::kernel::TileKernel,
        inputs: &[crate::core::block::Value],
    ) -> Option<Result<crate::core::block::Value>> {
        if !self.takes_tile(t, inputs) {
            return None;
        }
        let leaves = match inputs.iter().map(|v| self.leaf(v)).collect::<Result<Vec<_>>>() {
            Ok(l) => l,
            Err(e) => return Some(Err(e)),
        };
        let shape: usize = leaves.iter().map(|l| l.shape().iter().product::<usize>()).max().unwrap_or(0);
        let keep = self.room((shape * 8) as u64);
        self.on_gpu(|| tiles::run(&self.gpu, t, &leaves, keep))
    }

    /// Whether `bytes` more would fit the GPU memory budget (results are kept there if so).
    fn room(&self, bytes: u64) -> bool {
        self.gpu.resident.load(std::sync::atomic::Ordering::Relaxed) + bytes <= self.budget
    }

    /// Whether this tile step goes to the GPU.
    fn takes_tile(&self, t: &crate::ir::kernel::TileKernel, inputs: &[crate::core::block::Value]) -> bool {
        use crate::core::block::Value;
        if !tiles::handles(t) {
            return false;
        }
        let mut shapes = Vec::new();
        let mut dtypes = Vec::new();
        let mut host_bytes = 0;
        for v in inputs {
            match v {
                Value::Array(a) => {
                    shapes.push(a.shape());
                    dtypes.push(a.dtype());
                    host_bytes += a.nbytes();
                }
                Value::Device(d) => {
                    shapes.push(d.shape());
                    dtypes.push(d.dtype());
                }
                Value::State { .. } => return false,
            }
        }
        let Ok(flops) = tiles::check(&self.gpu, t, &shapes, &dtypes) else { return false };
        let out: usize = shapes.iter().map(|s| s.iter().product::<usize>()).max().unwrap_or(1);
        !self.auto || prefers_gpu(self.gpu.info.kind, out, flops / out.max(1), host_bytes)
    }

    /// Whether this fused task goes to the GPU (`whole`: as one kernel; else split into
    /// pieces that each fit a binding).
    fn takes(&self, f: &FusedKernel, inputs: &[crate::core::block::Value], whole: bool) -> bool {
        if f.reduce.is_none() && f.expr.is_identity() {
            return false;
        }
        if run::refuse(&self.gpu, f, whole).is_some() {
            return false;
        }
        if !self.auto {
            return true;
        }
        use crate::ir::expr::{Instr, UnaryOp};
        let ops: usize = f
            .expr
            .instrs
            .iter()
            .map(|i| match i {
                Instr::Input(_) | Instr::Const(_) => 0,
                Instr::Unary(UnaryOp::Exp | UnaryOp::Log | UnaryOp::Sin | UnaryOp::Cos | UnaryOp::Tan, _)
                | Instr::Unary(UnaryOp::Tanh | UnaryOp::Log1p | UnaryOp::Expm1, _) => 8,
                _ => 1,
            })
            .sum();
        // Inputs already on this GPU move nothing.
        let resident = inputs
            .iter()
            .filter(|v| matches!(v, crate::core::block::Value::Device(d) if run::own_array(&self.gpu, d).is_some()))
            .count();
        let n: usize = f.out_shape.iter().product();
        let width = codegen::store_size(f.expr.dtype());
        let bytes = n * width * f.leaves.len().saturating_sub(resident);
        prefers_gpu(self.gpu.info.kind, n, ops, bytes)
    }
}

#[cfg(feature = "gpu")]
impl Backend for GpuBackend<'_> {
    fn name(&self) -> &str {
        &self.name
    }

    fn execute(
        &self,
        kernel: &crate::ir::kernel::Kernel,
        inputs: &[crate::core::block::Value],
    ) -> Result<crate::core::block::Value> {
        use crate::backend::cpu;
        use crate::ir::kernel::Kernel;
        if let Kernel::ReduceCombine(k) = kernel
            && let Some(parts) = self.device_partials(k, inputs)
        {
            let keep = self.room(parts[0].bytes());
            if let Some(r) = self.on_gpu(|| reduce_run::combine(&self.gpu, k, &parts, keep)) {
                return r;
            }
        }
        if let Kernel::Tile(t) = kernel
            && let Some(r) = self.tile_on_gpu(t, inputs)
        {
            return r;
        }
        // A block larger than one binding runs in pieces that each fit (`split.rs`).
        let pieces = match kernel {
            Kernel::Fused(f) => split::pieces(&self.gpu, f),
            _ => None,
        };
        if let Kernel::Fused(f) = kernel
            && self.takes(f, inputs, pieces.is_none())
        {
            let leaves = self.leaves(f, inputs)?;
            let r = match &pieces {
                Some(p) => self.on_gpu(|| split::run_pieces(&self.gpu, f, &leaves, p)),
                None => {
                    let out_bytes =
                        (f.out_shape.iter().product::<usize>() * codegen::store_size(f.expr.dtype())) as u64;
                    let keep = self.room(out_bytes);
                    self.on_gpu(|| run::fused(&self.gpu, f, &leaves, keep))
                }
            };
            if let Some(r) = r {
                return r;
            }
            // The leaves are read: the CPU evaluates them rather than reading the sources again.
            let host = leaves.iter().map(run::LeafData::to_host).collect::<Result<Vec<_>>>()?;
            return cpu::fused_on_leaves(f, host);
        }
        self.cpu.execute(kernel, inputs)
    }

    fn execute_owned(
        &self,
        kernel: &crate::ir::kernel::Kernel,
        inputs: Vec<crate::core::block::Value>,
    ) -> Result<crate::core::block::Value> {
        // A tile kernel the GPU does not run goes to the CPU with its inputs, where it may
        // reuse the one it overwrites.
        if let crate::ir::kernel::Kernel::Tile(t) = kernel {
            return match self.tile_on_gpu(t, &inputs) {
                Some(r) => r,
                None => self.cpu.execute_owned(kernel, inputs),
            };
        }
        self.execute(kernel, &inputs)
    }

    fn offloaded(&self) -> usize {
        self.offloaded.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Test hook: GPU `index` pretends one storage binding holds at most `bytes` (0: the
/// adapter's own limit), so tests can split blocks without allocating 128 MiB of them.
#[cfg(all(feature = "gpu", feature = "testing"))]
pub fn cap_binding(index: usize, bytes: u64) -> Result<()> {
    context::open_gpu(index)?.cap_binding(bytes);
    Ok(())
}

/// Test hook: GPU `index`'s reductions merge neighbouring segments in workgroup memory (the
/// default on hardware GPUs) or leave that to combine passes (software adapters' default), so
/// tests run both layouts on any adapter; returns the setting it replaces.
#[cfg(all(feature = "gpu", feature = "testing"))]
pub fn merge_reductions(index: usize, on: bool) -> Result<bool> {
    Ok(context::open_gpu(index)?.set_merge_reductions(on))
}

/// Test hook: GPU `index` lets `after` submissions through, then fails `count` of them as
/// out of memory (to exercise eviction and the CPU fallback).
#[cfg(all(feature = "gpu", feature = "testing"))]
pub fn inject_out_of_memory(index: usize, after: usize, count: usize) -> Result<()> {
    context::open_gpu(index)?.fail_submits(after, count);
    Ok(())
}

/// Counters of an opened GPU, for tests and diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuStats {
    /// Compute pipelines compiled (each generated kernel once).
    pub pipelines: usize,
    /// Bytes of free buffers held by the pool for reuse.
    pub pooled_bytes: u64,
    /// Bytes of blocks kept on the GPU between tasks now.
    pub resident_bytes: u64,
    /// Bytes of task inputs uploaded from the host so far.
    pub uploaded_bytes: u64,
    /// Bytes of kept blocks evicted to the host (after device out-of-memory) so far.
    pub evicted_bytes: u64,
}

/// The counters of GPU `index` (opening it if needed).
#[cfg(not(feature = "gpu"))]
pub fn stats(index: usize) -> Result<GpuStats> {
    Err(no_gpu_backend(index))
}

/// Why GPU `index` cannot be used by a build without the `gpu` feature.
#[cfg(not(feature = "gpu"))]
fn no_gpu_backend(index: usize) -> Error {
    Error::BackendUnavailable(format!(
        "no GPU {index}: this build of tessera has no GPU backend (build with the `gpu` feature)"
    ))
}

/// The counters of GPU `index` (opening it if needed).
#[cfg(feature = "gpu")]
pub fn stats(index: usize) -> Result<GpuStats> {
    use std::sync::atomic::Ordering;
    let g = context::open_gpu(index)?;
    Ok(GpuStats {
        pipelines: g.pipelines_compiled(),
        pooled_bytes: g.pooled_bytes(),
        resident_bytes: g.resident.load(Ordering::Relaxed),
        uploaded_bytes: g.uploaded.load(Ordering::Relaxed),
        evicted_bytes: g.evicted.load(Ordering::Relaxed),
    })
}

#[cfg(test)]
mod tests {
    use super::{DeviceKind, prefers_gpu};

    #[test]
    fn the_cost_model_sends_only_heavy_work_to_a_hardware_gpu() {
        // A software adapter never wins, however heavy the task.
        assert!(!prefers_gpu(DeviceKind::Software, 1 << 24, 1000, 0));
        assert!(!prefers_gpu(DeviceKind::Other, 1 << 24, 1000, 0));
        // Memory-bound work with its data on the host: the transfer costs more than the work.
        assert!(!prefers_gpu(DeviceKind::Discrete, 1 << 20, 2, 8 << 20));
        // The same work with its inputs already on the GPU (nothing to move): the GPU.
        assert!(prefers_gpu(DeviceKind::Discrete, 1 << 20, 2, 0));
        // A tile product (2k operations per element) is worth its transfer.
        assert!(prefers_gpu(DeviceKind::Discrete, 1 << 20, 2000, 3 * (4 << 20)));
        // A tiny task is not worth the launch.
        assert!(!prefers_gpu(DeviceKind::Integrated, 100, 10, 0));
    }
}
