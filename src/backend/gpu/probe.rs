//! Kernel-only rates of one GPU: its own ceilings (a buffer copy, the simplest WGSL copy
//! kernel, an FMA loop) beside tessera's kernels (a fused elementwise expression, reductions,
//! the gemm tile) on data already in GPU memory, so host transfers stay out of the numbers.
//! What `tessera bench gpu-kernels` prints; BENCHMARKS.md quotes it.

use std::sync::Arc;
use std::time::Instant;

use bytemuck::{Pod, Zeroable};

use crate::core::block::DeviceBlock;
use crate::core::dtype::{DType, Scalar};
use crate::core::error::{Error, Result};
use crate::ir::expr::{BinaryOp, Expr, Instr};
use crate::ir::kernel::{FusedKernel, PartialStep, TileKernel};
use crate::ir::reduce::{ReduceKind, ReduceOp};

use super::context::{Checks, Gpu, open_gpu};
use super::resident::GpuBlock;
use super::run::{Dispatch, LeafData, STORAGE_IN, STORAGE_OUT, UNIFORM, fused, grid, submit};
use super::tiles;

const PROBE: &str = include_str!("../../../shaders/probe.wgsl");

/// The uniform of shaders/probe.wgsl (WGSL twin: `Probe`).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct ProbeMeta {
    n: u32,
    grid: u32,
    iters: u32,
    pad: u32,
}

/// One measured kernel: the median seconds per run and the rate it reaches.
#[derive(Debug, Clone)]
pub struct KernelRate {
    /// What ran.
    pub name: String,
    /// Median seconds per run: on the GPU's clock (timestamps before its first dispatch and
    /// after its last) where the adapter has timestamp queries, else wall-clock seconds of
    /// back-to-back runs.
    pub seconds: f64,
    /// Median wall-clock seconds per run of back-to-back runs (the host's cost of a task
    /// included, where it exceeds the GPU's).
    pub wall_seconds: f64,
    /// Bytes moved through device memory per run (each input read once, the output written
    /// once), or 0.
    pub bytes: f64,
    /// Floating-point operations per run, or 0.
    pub flops: f64,
}

impl KernelRate {
    /// A kernel measured by [`time`]: (GPU-clock or wall seconds, wall seconds).
    fn new(name: impl Into<String>, (seconds, wall_seconds): (f64, f64), bytes: f64, flops: f64) -> Self {
        KernelRate { name: name.into(), seconds, wall_seconds, bytes, flops }
    }
    /// GB/s (bytes / seconds / 1e9), when the kernel moves bytes.
    pub fn gb_per_s(&self) -> f64 {
        self.bytes / self.seconds / 1e9
    }
    /// GFLOP/s, when the kernel counts operations.
    pub fn gflop_per_s(&self) -> f64 {
        self.flops / self.seconds / 1e9
    }
}

/// A whole number from the environment variable `key`, else `default`.
fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Wait until the GPU has finished everything submitted.
fn wait(gpu: &Gpu) -> Result<()> {
    gpu.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map(|_| ())
        .map_err(|e| Error::invalid(format!("GPU wait failed: {e}")))
}

/// One run's seconds: on the GPU's clock where it can be read (the sum over the run's
/// submissions, median of `repeat` × `inner` runs, each waited for), and wall-clock (see
/// [`wall`]).
fn time(gpu: &Gpu, repeat: usize, inner: usize, mut f: impl FnMut() -> Result<()>) -> Result<(f64, f64)> {
    let w = wall(gpu, repeat, inner, &mut f)?;
    if gpu.record_gpu_times(true).is_err() {
        return Ok((w, w));
    }
    let mut runs = Vec::with_capacity(repeat * inner);
    let mut res = Ok(());
    for _ in 0..(repeat * inner).max(1) {
        res = f();
        let times = gpu.record_gpu_times(true)?;
        if res.is_err() || times.is_empty() {
            break;
        }
        runs.push(times.iter().sum::<f64>());
    }
    gpu.record_gpu_times(false)?;
    res?;
    if runs.is_empty() {
        return Ok((w, w));
    }
    runs.sort_by(f64::total_cmp);
    Ok((runs[runs.len() / 2], w))
}

/// Median seconds of one `f` over `repeat` samples of `inner` back-to-back runs each (one
/// warm-up first), waiting for the GPU at the end of each sample.
fn wall(gpu: &Gpu, repeat: usize, inner: usize, mut f: impl FnMut() -> Result<()>) -> Result<f64> {
    f()?;
    wait(gpu)?;
    let mut times = Vec::with_capacity(repeat);
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        for _ in 0..inner {
            f()?;
        }
        wait(gpu)?;
        times.push(t.elapsed().as_secs_f64() / inner as f64);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// A block of `shape` f32 values in GPU memory: pseudo-random in [0, 1), every 97th a NaN when
/// `nans`.
fn resident(gpu: &Arc<Gpu>, shape: &[usize], seed: u64, nans: bool) -> LeafData {
    let n: usize = shape.iter().product();
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let data: Vec<f32> = (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            if nans && i % 97 == 0 { f32::NAN } else { (s >> 40) as f32 / (1u64 << 24) as f32 }
        })
        .collect();
    let buf = gpu.buffer((n * 4).max(4) as u64, STORAGE_IN | STORAGE_OUT);
    gpu.queue.write_buffer(&buf, 0, bytemuck::cast_slice(&data));
    device_leaf(gpu, buf, DType::F32, shape)
}

fn leaf_buf(gpu: &Gpu, l: &LeafData) -> Result<wgpu::Buffer> {
    match l {
        LeafData::Device(d) => super::run::own_array(gpu, d)
            .and_then(GpuBlock::buffer)
            .ok_or_else(|| Error::invalid("probe block not on the GPU")),
        LeafData::Host(_) => Err(Error::invalid("probe block not on the GPU")),
    }
}

/// A block of `shape` and `dt` held in `buf` on the GPU, as a task's leaf.
fn device_leaf(gpu: &Arc<Gpu>, buf: wgpu::Buffer, dt: DType, shape: &[usize]) -> LeafData {
    let block: Arc<dyn DeviceBlock> = Arc::new(GpuBlock::new(gpu.clone(), buf, dt, shape.to_vec()));
    LeafData::Device(block)
}

/// A uniform buffer holding `meta`.
fn uniform(gpu: &Gpu, meta: ProbeMeta) -> wgpu::Buffer {
    let u = gpu.buffer(16, UNIFORM);
    gpu.queue.write_buffer(&u, 0, bytemuck::bytes_of(&meta));
    u
}

/// shaders/probe.wgsl's vec4 copy of `vecs` vec4s from `src` into `dst` (`meta` from
/// [`copy_meta`]), as one dispatch.
fn copy_dispatch<'a>(
    pipeline: &Arc<wgpu::ComputePipeline>,
    meta: &'a wgpu::Buffer,
    dst: &'a wgpu::Buffer,
    src: &'a wgpu::Buffer,
    vecs: usize,
) -> Dispatch<'a> {
    Dispatch {
        pipeline: pipeline.clone(),
        bindings: vec![(0, meta), (1, dst), (2, src)],
        threads: vecs,
        groups: None,
    }
}

/// The uniform of a copy of `vecs` vec4s.
fn copy_meta(gpu: &Gpu, vecs: usize) -> wgpu::Buffer {
    uniform(gpu, ProbeMeta { n: vecs as u32, grid: grid(gpu, vecs).2, iters: 0, pad: 0 })
}

/// A reduction's ceiling, timed: plain vec4 partial sums of the `vecs` vec4s of `src` into
/// `dst` (no compensation, no combine).
fn plain_sums(
    gpu: &Gpu,
    repeat: usize,
    name: String,
    src: &wgpu::Buffer,
    dst: &wgpu::Buffer,
    vecs: usize,
) -> Result<KernelRate> {
    let threads = (1usize << 17).min(vecs);
    let iters = vecs / threads;
    let meta = uniform(
        gpu,
        ProbeMeta { n: threads as u32, grid: grid(gpu, threads).2, iters: iters as u32, pad: 0 },
    );
    let plain = gpu.pipeline(PROBE, "sum_plain")?;
    let secs = time(gpu, repeat, 10, || {
        let bindings = vec![(0, &meta), (1, dst), (2, src)];
        submit(gpu, &[Dispatch { pipeline: plain.clone(), bindings, threads, groups: None }], &[])
    })?;
    Ok(KernelRate::new(name, secs, (threads * iters * 16) as f64, 0.0))
}

/// Bytes a reduction of an f32 block of `shape` over `axis` moves: every element read, one
/// f32 per output written.
fn reduced_bytes(shape: &[usize], axis: usize) -> f64 {
    let n: usize = shape.iter().product();
    (4 * n + 4 * (n / shape[axis].max(1))) as f64
}

/// `x * 2 + y` over two f32 inputs.
fn axpy_expr() -> Expr {
    use Instr::*;
    Expr {
        instrs: vec![
            Input(0),
            Const(Scalar::F32(2.0)),
            Binary(BinaryOp::Mul, 0, 1),
            Input(1),
            Binary(BinaryOp::Add, 2, 3),
        ],
        dtypes: vec![DType::F32; 5],
    }
}

/// `sin(x * 1e4)` over one f32 input.
fn sin_expr() -> Expr {
    use Instr::*;
    Expr {
        instrs: vec![
            Input(0),
            Const(Scalar::F32(1e4)),
            Binary(BinaryOp::Mul, 0, 1),
            Unary(crate::ir::expr::UnaryOp::Sin, 2),
        ],
        dtypes: vec![DType::F32; 4],
    }
}

fn reduce_task(kind: ReduceKind, nan: bool, shape: &[usize], axes: &[usize]) -> FusedKernel {
    FusedKernel {
        leaves: Vec::new(),
        expr: Arc::new(Expr::input(DType::F32)),
        out_shape: shape.to_vec(),
        reduce: Some(PartialStep {
            op: ReduceOp::new(kind, DType::F32, nan),
            axes: axes.into(),
            offset: vec![0; shape.len()],
            global_shape: shape.into(),
        }),
    }
}

/// Measure GPU `index`: `elements` f32 values per bandwidth probe (capped by the largest
/// binding) and an `n`² f32 gemm tile; each the median of `repeat` samples.
///
/// The rates are the kernels' own (data already on the GPU, a wait for the GPU at the end of
/// each sample); the end-to-end benchmarks (`tessera bench sst-nanmean-gpu`, …) include the
/// transfers a real compute pays.
pub fn kernel_rates(index: usize, elements: usize, n: usize, repeat: usize) -> Result<Vec<KernelRate>> {
    let gpu = open_gpu(index)?;
    let limit = (gpu.limits.max_storage_buffer_binding_size as usize / 4).min(u32::MAX as usize / 4);
    let len = elements.min(limit).max(1024) / 1024 * 1024;
    let fbytes = (len * 4) as f64;
    let mut out = Vec::new();
    // TESSERA_PROBE_KERNELS: which groups to measure (comma-separated: copy, fma, fused,
    // reduce, gemm, placement; all but placement by default). The warm-up copies run regardless.
    let groups = std::env::var("TESSERA_PROBE_KERNELS").unwrap_or_default();
    let group = |g: &str| (groups.is_empty() && g != "placement") || groups.split(',').any(|x| x.trim() == g);
    let x = resident(&gpu, &[len], 1, false);
    let y = resident(&gpu, &[len], 2, false);
    let xb = leaf_buf(&gpu, &x)?;
    let dst = gpu.buffer(len as u64 * 4, STORAGE_OUT | STORAGE_IN);

    if group("copy") {
        // The copy engine (or the driver's copy kernel).
        let secs = time(&gpu, repeat, 10, || {
            let mut enc = gpu.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None });
            enc.copy_buffer_to_buffer(&xb, 0, &dst, 0, len as u64 * 4);
            gpu.queue.submit([enc.finish()]);
            Ok(())
        })?;
        out.push(KernelRate::new("buffer copy (copy_buffer_to_buffer)", secs, 2.0 * fbytes, 0.0));
    }

    // The simplest WGSL copy: one vec4 per thread.
    let vecs = len / 4;
    let ubuf = copy_meta(&gpu, vecs);
    // Warm the GPU up (clocks rise under load) with a second of copies before measuring.
    let copy = gpu.pipeline_with(PROBE, "copy", Checks::Bounds)?;
    let dispatch = || copy_dispatch(&copy, &ubuf, &dst, &xb, vecs);
    let start = Instant::now();
    while start.elapsed().as_secs_f64() < 1.0 {
        submit(&gpu, &[dispatch(), dispatch(), dispatch(), dispatch()], &[])?;
        wait(&gpu)?;
    }
    if group("copy") {
        for checks in [Checks::All, Checks::Bounds, Checks::None] {
            let copy = gpu.pipeline_with(PROBE, "copy", checks)?;
            let secs = time(&gpu, repeat, 10, || {
                submit(&gpu, &[copy_dispatch(&copy, &ubuf, &dst, &xb, vecs)], &[])
            })?;
            let name = format!("WGSL copy kernel (vec4, checks {checks:?})");
            out.push(KernelRate::new(name, secs, 2.0 * fbytes, 0.0));
        }
        // The same, ten dispatches per submission: what one submission per task costs.
        let secs =
            time(&gpu, repeat, 1, || submit(&gpu, &(0..10).map(|_| dispatch()).collect::<Vec<_>>(), &[]))?;
        let per_dispatch = (secs.0 / 10.0, secs.1 / 10.0);
        out.push(KernelRate::new("WGSL copy kernel, 10 per submission", per_dispatch, 2.0 * fbytes, 0.0));
    }

    if group("fma") {
        // FMA throughput: 8 vec4 chains per thread.
        let threads = (1usize << 21).min(vecs);
        let iters = 1024u32;
        let fbuf = uniform(&gpu, ProbeMeta { n: threads as u32, grid: grid(&gpu, threads).2, iters, pad: 0 });
        let peak = gpu.pipeline(PROBE, "fma_peak")?;
        let secs = time(&gpu, repeat, 5, || {
            let bindings = vec![(0, &fbuf), (1, &dst)];
            submit(&gpu, &[Dispatch { pipeline: peak.clone(), bindings, threads, groups: None }], &[])
        })?;
        let flops = threads as f64 * iters as f64 * 32.0 * 2.0;
        out.push(KernelRate::new("WGSL f32 FMA loop", secs, 0.0, flops));
    }

    if group("fused") {
        // tessera's fused elementwise kernel, generated from the expression IR.
        let axpy = FusedKernel {
            leaves: Vec::new(),
            expr: Arc::new(axpy_expr()),
            out_shape: vec![len],
            reduce: None,
        };
        let leaves = [x, y];
        let secs = time(&gpu, repeat, 10, || fused(&gpu, &axpy, &leaves, true).map(drop))?;
        out.push(KernelRate::new("fused x * 2 + y (f32)", secs, 3.0 * fbytes, 2.0 * len as f64));
        let [x, _] = leaves;
        // sin(x) of values up to 1e4 (the argument reduced in integers: Payne–Hanek above 2).
        let sin = FusedKernel {
            leaves: Vec::new(),
            expr: Arc::new(sin_expr()),
            out_shape: vec![len],
            reduce: None,
        };
        let one = [x];
        let secs = time(&gpu, repeat, 10, || fused(&gpu, &sin, &one, true).map(drop))?;
        out.push(KernelRate::new("fused sin(x * 1e4) (f32)", secs, 2.0 * fbytes, 0.0));
        drop(one);
        // What one task costs beyond its kernel: a tiny fused task, back to back.
        let small = [resident(&gpu, &[1024], 7, false), resident(&gpu, &[1024], 8, false)];
        let tiny = FusedKernel { out_shape: vec![1024], ..axpy };
        let secs = time(&gpu, repeat, 100, || fused(&gpu, &tiny, &small, true).map(drop))?;
        out.push(KernelRate::new("one tiny task (x * 2 + y, 1024 f32)", secs, 0.0, 0.0));
    }

    // Reductions: the whole block; nanmean over the leading axis (sst-nanmean's shape); over
    // short and long rows. The NaN-skipping ones see every 97th value NaN.
    let cases: [(&str, ReduceKind, bool, [usize; 2], usize); 4] = [
        ("sum of all", ReduceKind::Sum, false, [1, len], 1),
        ("nanmean over axis 0 of", ReduceKind::Mean, true, [64, len / 64], 0),
        ("nanmean over axis 1 of", ReduceKind::Mean, true, [len / 64, 64], 1),
        ("nanmean over axis 1 of", ReduceKind::Mean, true, [len / 1024, 1024], 1),
    ];
    for (what, kind, nan, shape, axis) in cases.into_iter().filter(|_| group("reduce")) {
        let task = reduce_task(kind, nan, &shape, &[axis]);
        let one = [resident(&gpu, &shape, 3, nan)];
        let name = if shape[0] == 1 { format!("{what} (f32)") } else { format!("{what} {shape:?} (f32)") };
        // Both layouts of pass 1 side by side: segments merged in workgroup memory (hardware
        // GPUs' default) or by combine passes only (software adapters').
        for (merge, how) in [(true, ", workgroup merge"), (false, ", no workgroup merge")] {
            let default = gpu.set_merge_reductions(merge);
            let secs = time(&gpu, repeat, 10, || fused(&gpu, &task, &one, true).map(drop));
            gpu.set_merge_reductions(default);
            let secs = secs?;
            let name = format!("{name}{how}");
            out.push(KernelRate::new(name, secs, reduced_bytes(&shape, axis), len as f64));
        }
    }
    if group("placement") {
        let copies = env_usize("TESSERA_PROBE_BUFFERS", 4).max(1);
        placement(&gpu, len, repeat, copies, &mut out)?;
    }
    if group("reduce") {
        let xs = leaf_buf(&gpu, &resident(&gpu, &[len], 4, false))?;
        out.push(plain_sums(&gpu, repeat, "WGSL plain partial sums (vec4)".into(), &xs, &dst, vecs)?);
    }

    if group("gemm") {
        // The gemm tile.
        let gemm = TileKernel::Gemm { ta: false, tb: false, alpha: 1.0, accumulate: false };
        let ab = [resident(&gpu, &[n, n], 5, false), resident(&gpu, &[n, n], 6, false)];
        let secs = time(&gpu, repeat, 3, || tiles::run(&gpu, &gemm, &ab, true).map(drop))?;
        let rate = |name: String, secs| {
            KernelRate::new(name, secs, 3.0 * (n * n * 4) as f64, 2.0 * (n as f64).powi(3))
        };
        out.push(rate(format!("gemm tile {n}² (f32)"), secs));
        // Candidate kernels being tuned, from files named in TESSERA_PROBE_GEMM_SHADERS.
        let variants = std::env::var("TESSERA_PROBE_GEMM_SHADERS").unwrap_or_default();
        let reference = tiles::run(&gpu, &gemm, &ab, false)?.array()?.clone();
        let mut sources = vec![("built-in".to_string(), super::tiles::GEMM.to_string())];
        for path in variants.split(',').filter(|p| !p.is_empty()) {
            let source = std::fs::read_to_string(path)
                .map_err(|e| Error::invalid(format!("gemm variant {path}: {e}")))?;
            sources.push((path.to_string(), source));
        }
        for (i, (what, source)) in sources.iter().enumerate() {
            for checks in [Checks::Bounds, Checks::All, Checks::None] {
                if i == 0 && checks == Checks::None {
                    continue;
                }
                let run = |keep| tiles::product_with(&gpu, source, checks, &gemm, &ab, keep);
                let secs = time(&gpu, repeat, 3, || run(true).map(drop))?;
                // The same products as the built-in kernel's?
                let got = run(false)?.array()?.clone();
                let (p, q) = (got.typed::<f32>()?, reference.typed::<f32>()?);
                let diff = p.iter().zip(q).map(|(x, y)| (x - y).abs() / (1.0 + y.abs())).fold(0.0, f32::max);
                out.push(rate(format!("gemm {n}² f32 {what} {checks:?} (diff {diff:.0e})"), secs));
            }
        }
        if gpu.info.shader_f64 {
            let half = n / 2;
            let a64: Vec<f64> = (0..half * half).map(|i| ((i * 7919) % 1000) as f64 / 1000.0).collect();
            let up = |v: &[f64]| {
                let buf = gpu.buffer((v.len() * 8) as u64, STORAGE_IN | STORAGE_OUT);
                gpu.queue.write_buffer(&buf, 0, bytemuck::cast_slice(v));
                device_leaf(&gpu, buf, DType::F64, &[half, half])
            };
            let ab64 = [up(&a64), up(&a64)];
            let secs = time(&gpu, repeat, 3, || tiles::run(&gpu, &gemm, &ab64, true).map(drop))?;
            out.push(KernelRate::new(
                format!("gemm tile {half}² (f64)"),
                secs,
                3.0 * (half * half * 8) as f64,
                2.0 * (half as f64).powi(3),
            ));
        }
    }

    Ok(out)
}

/// The same kernels on `copies` fresh allocations of one input, each kept while the next is
/// made (`TESSERA_PROBE_KERNELS=placement`, `TESSERA_PROBE_BUFFERS` copies): on an H100 the
/// rate of some access patterns moved with the buffer, not the kernel or the process.
fn placement(
    gpu: &Arc<Gpu>,
    len: usize,
    repeat: usize,
    copies: usize,
    out: &mut Vec<KernelRate>,
) -> Result<()> {
    let fbytes = (len * 4) as f64;
    let vecs = len / 4;
    let dst = gpu.buffer(len as u64 * 4, STORAGE_OUT | STORAGE_IN);
    let ucopy = copy_meta(gpu, vecs);
    let copy = gpu.pipeline(PROBE, "copy")?;
    let rows = [len / 1024, 1024];
    let sum_all = reduce_task(ReduceKind::Sum, false, &[1, len], &[1]);
    let row_means = reduce_task(ReduceKind::Mean, true, &rows, &[1]);
    let mut kept = Vec::new();
    for c in 0..copies {
        let input = resident(gpu, &[len], 3, true);
        let buf = leaf_buf(gpu, &input)?;
        let secs =
            time(gpu, repeat, 10, || submit(gpu, &[copy_dispatch(&copy, &ucopy, &dst, &buf, vecs)], &[]))?;
        out.push(KernelRate::new(format!("buffer {c}: WGSL copy kernel (vec4)"), secs, 2.0 * fbytes, 0.0));
        out.push(plain_sums(
            gpu,
            repeat,
            format!("buffer {c}: WGSL plain partial sums (vec4)"),
            &buf,
            &dst,
            vecs,
        )?);
        let whole = [device_leaf(gpu, buf.clone(), DType::F32, &[1, len])];
        let secs = time(gpu, repeat, 10, || fused(gpu, &sum_all, &whole, true).map(drop))?;
        out.push(KernelRate::new(
            format!("buffer {c}: sum of all"),
            secs,
            reduced_bytes(&[1, len], 1),
            len as f64,
        ));
        let by_rows = [device_leaf(gpu, buf.clone(), DType::F32, &rows)];
        let secs = time(gpu, repeat, 10, || fused(gpu, &row_means, &by_rows, true).map(drop))?;
        let name = format!("buffer {c}: nanmean over axis 1 of {rows:?}");
        out.push(KernelRate::new(name, secs, reduced_bytes(&rows, 1), len as f64));
        kept.push(input);
    }
    Ok(())
}
