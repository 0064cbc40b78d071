//! Adapters, devices, the buffer pool and the pipeline cache.
//!
//! Discovery asks wgpu for the primary backends only (Vulkan, Metal, DX12): with no Vulkan
//! driver, wgpu's default set would silently pick an OpenGL adapter instead. Each adapter is
//! opened at most once per process ([`open_gpu`]) with every limit it offers and SHADER_F64
//! where it has it. Errors the device reports outside an error scope are printed, never
//! turned into panics.
//!
//! Vulkan drivers and layers write to stderr while the instance is created and the adapters
//! are enumerated: on a machine without a display session, Mesa's device-select layer (which
//! opens a Wayland connection because wgpu enables `VK_KHR_wayland_surface`, whenever the
//! loader offers it) printed "error: XDG_RUNTIME_DIR is invalid or not set in the
//! environment." twice per process. wgpu 30 has no option to leave the surface extensions
//! out (its Vulkan instance enables every one available; the instance-creation callback of
//! `wgpu-hal` must not remove any), so discovery runs with the process's stderr (fd 2)
//! pointed at /dev/null (`quiet_stderr`); `TESSERA_GPU_DEBUG=1` lets it through.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use crate::core::error::{Error, Result};

use super::resident::GpuBlock;
use super::{DeviceInfo, DeviceKind};

/// How to get an adapter, for error messages.
pub(crate) const HOW_TO_GET_ONE: &str = "for a software Vulkan adapter on Debian or Ubuntu: \
     apt-get install mesa-vulkan-drivers; computations run on the CPU with Device::Auto or Device::Cpu";

/// The backends tessera asks for (never GL: see the module docs).
const PRIMARY: wgpu::Backends =
    wgpu::Backends::VULKAN.union(wgpu::Backends::METAL).union(wgpu::Backends::DX12);

/// Pooled bytes kept for reuse at most: this, or two of the largest bindings where that is
/// more (so a stream of tasks on blocks that size reuses their buffers instead of allocating,
/// and zero-filling, new ones: 59 ms instead of 1.2 for a 1 GiB elementwise task on an H100).
const POOL_CAP: u64 = 512 << 20;

struct Adapters {
    /// Kept alive with the adapters it found.
    _instance: wgpu::Instance,
    list: Vec<(wgpu::Adapter, DeviceInfo)>,
    opened: Mutex<Vec<Option<Arc<Gpu>>>>,
}

fn adapters() -> &'static Adapters {
    static A: OnceLock<Adapters> = OnceLock::new();
    A.get_or_init(|| {
        let desc = wgpu::InstanceDescriptor {
            backends: PRIMARY,
            flags: wgpu::InstanceFlags::empty().with_env(),
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        };
        let (instance, found) = quiet_stderr(|| {
            let instance = wgpu::Instance::new(desc);
            let found = pollster::block_on(instance.enumerate_adapters(PRIMARY));
            (instance, found)
        });
        let list: Vec<_> = found
            .into_iter()
            .enumerate()
            .map(|(index, a)| {
                let info = describe(index, &a);
                (a, info)
            })
            .collect();
        let opened = Mutex::new(vec![None; list.len()]);
        Adapters { _instance: instance, list, opened }
    })
}

/// Run `f` with the process's stderr (fd 2) on /dev/null, unless `TESSERA_GPU_DEBUG=1`: what
/// Vulkan drivers and layers print during discovery stays out of the user's terminal (see the
/// module docs). fd 2 is the process's: another thread writing to stderr meanwhile (discovery
/// runs once, before a compute's first task) is silenced too.
fn quiet_stderr<R>(f: impl FnOnce() -> R) -> R {
    if std::env::var_os("TESSERA_GPU_DEBUG").is_some_and(|v| v == "1") {
        return f();
    }
    #[cfg(unix)]
    {
        /// Puts the saved stderr back, also when `f` panics.
        struct Restore(libc::c_int);
        impl Drop for Restore {
            fn drop(&mut self) {
                // SAFETY: `self.0` is a descriptor this guard owns (a duplicate of fd 2).
                unsafe {
                    libc::dup2(self.0, 2);
                    libc::close(self.0);
                }
            }
        }
        // SAFETY: plain descriptor calls on fd 2 and descriptors opened here.
        let saved = unsafe { libc::fcntl(2, libc::F_DUPFD_CLOEXEC, 3) };
        let null = unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        if saved < 0 || null < 0 {
            // SAFETY: closing descriptors opened here, if they were.
            unsafe {
                if saved >= 0 {
                    libc::close(saved);
                }
                if null >= 0 {
                    libc::close(null);
                }
            }
            return f();
        }
        let _restore = Restore(saved);
        // SAFETY: `null` is open; fd 2 is restored from `saved` by the guard.
        unsafe {
            libc::dup2(null, 2);
            libc::close(null);
        }
        f()
    }
    #[cfg(not(unix))]
    f()
}

fn describe(index: usize, a: &wgpu::Adapter) -> DeviceInfo {
    let i = a.get_info();
    let l = a.limits();
    let kind = match i.device_type {
        wgpu::DeviceType::DiscreteGpu => DeviceKind::Discrete,
        wgpu::DeviceType::IntegratedGpu => DeviceKind::Integrated,
        wgpu::DeviceType::VirtualGpu => DeviceKind::Virtual,
        wgpu::DeviceType::Cpu => DeviceKind::Software,
        wgpu::DeviceType::Other => DeviceKind::Other,
    };
    DeviceInfo {
        index,
        name: i.name,
        backend: format!("{:?}", i.backend),
        kind,
        driver: format!("{} {}", i.driver, i.driver_info).trim().to_string(),
        max_buffer_size: l.max_buffer_size,
        max_binding_size: l.max_storage_buffer_binding_size,
        max_workgroups_per_dimension: l.max_compute_workgroups_per_dimension,
        shader_f64: a.features().contains(wgpu::Features::SHADER_F64),
    }
}

/// Every adapter wgpu finds on the primary backends.
pub(crate) fn list() -> Vec<DeviceInfo> {
    adapters().list.iter().map(|(_, i)| i.clone()).collect()
}

/// Open adapter `index` (once per process).
pub(crate) fn open_gpu(index: usize) -> Result<Arc<Gpu>> {
    let ad = adapters();
    let Some((adapter, info)) = ad.list.get(index) else {
        let have = if ad.list.is_empty() {
            "no GPU adapter was found (Vulkan, Metal or DX12)".to_string()
        } else {
            format!("only {} adapter(s): {}", ad.list.len(), names(&ad.list))
        };
        return Err(Error::BackendUnavailable(format!("no GPU {index}: {have}; {HOW_TO_GET_ONE}")));
    };
    let mut opened = ad.opened.lock().map_err(|_| Error::internal("GPU registry poisoned"))?;
    if let Some(g) = &opened[index] {
        return Ok(g.clone());
    }
    let mut features = wgpu::Features::empty();
    if info.shader_f64 {
        features |= wgpu::Features::SHADER_F64;
    }
    // Timestamps, for `tessera bench gpu-kernels` to time kernels on the GPU's own clock.
    let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
    if timestamps {
        features |= wgpu::Features::TIMESTAMP_QUERY;
    }
    let desc = wgpu::DeviceDescriptor {
        label: Some("tessera"),
        required_features: features,
        required_limits: adapter.limits(),
        ..Default::default()
    };
    let (device, queue) = pollster::block_on(adapter.request_device(&desc)).map_err(|e| {
        Error::BackendUnavailable(format!("GPU {index} ({}) could not be opened: {e}", info.name))
    })?;
    device
        .on_uncaptured_error(Arc::new(|e: wgpu::Error| eprintln!("tessera: GPU error outside a task: {e}")));
    let gpu = Arc::new(Gpu {
        info: info.clone(),
        limits: device.limits(),
        device,
        queue,
        pipelines: Mutex::new(HashMap::new()),
        pool: Mutex::new(Pool::default()),
        resident: AtomicU64::new(0),
        uploaded: AtomicU64::new(0),
        evicted: AtomicU64::new(0),
        kept: Mutex::new(Vec::new()),
        fail_submits: Mutex::new((0, 0)),
        binding_cap: AtomicU64::new(0),
        merge_reductions: AtomicBool::new(info.kind != super::DeviceKind::Software),
        stamps: Mutex::new(None),
        timing: AtomicBool::new(false),
    });
    if timestamps {
        let set = gpu.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("tessera timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count: 2,
        });
        let usage = wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC;
        let resolve = gpu.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tessera timestamps"),
            size: 16,
            usage,
            mapped_at_creation: false,
        });
        *gpu.stamps.lock().map_err(|_| Error::internal("GPU timestamps poisoned"))? =
            Some(Stamps { set, resolve, recording: None });
    }
    opened[index] = Some(gpu.clone());
    Ok(gpu)
}

fn names(list: &[(wgpu::Adapter, DeviceInfo)]) -> String {
    list.iter().map(|(_, i)| format!("{} ({})", i.name, i.backend)).collect::<Vec<_>>().join(", ")
}

/// Which of wgpu's runtime checks a compiled kernel keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Checks {
    /// Buffer bounds checks, but no counter injected into every loop: tessera's kernels. Their
    /// loops are all bounded (counters stepping by ≥ 1 to limits below 2³²), and the counters
    /// cost a fifth of the gemm kernel's speed on an H100.
    Bounds,
    /// wgpu's defaults: bounds checks and a bound on every loop (the probe compares).
    All,
    /// Neither: the gemm tile (whose accesses the host checks against its buffers, +4 % on an
    /// H100) and the probe's copy kernel.
    None,
}

/// An opened GPU: device, queue, pools.
pub(crate) struct Gpu {
    pub(crate) info: DeviceInfo,
    pub(crate) limits: wgpu::Limits,
    pub(crate) device: wgpu::Device,
    pub(crate) queue: wgpu::Queue,
    /// Compiled pipelines by source, then entry point (looked up without copying the source).
    pipelines: Mutex<HashMap<String, HashMap<&'static str, Arc<wgpu::ComputePipeline>>>>,
    pool: Mutex<Pool<wgpu::Buffer>>,
    /// Bytes of blocks kept on the device between tasks.
    pub(crate) resident: AtomicU64,
    /// Bytes of leaves uploaded from the host so far.
    pub(crate) uploaded: AtomicU64,
    /// Bytes of blocks evicted to the host so far.
    pub(crate) evicted: AtomicU64,
    /// The blocks kept on the device (to evict on out-of-memory).
    kept: Mutex<Vec<Weak<GpuBlock>>>,
    /// Test hook: (submissions to let through, then submissions to fail as out of memory).
    fail_submits: Mutex<(usize, usize)>,
    /// Test hook: a smaller storage-binding limit than the adapter's (0: none).
    binding_cap: AtomicU64,
    /// Whether a reduction's first pass merges neighbouring segments in workgroup memory
    /// (a barrier per level of a tree): on hardware GPUs; software adapters, where barriers are
    /// slow, leave the merging to combine passes.
    merge_reductions: AtomicBool,
    /// Timestamp queries, where the adapter has them (for the probe's kernel timings).
    pub(crate) stamps: Mutex<Option<Stamps>>,
    /// Whether submissions are being timed (checked before `stamps` is locked).
    pub(crate) timing: AtomicBool,
}

/// A query set of two timestamps and the buffer they are resolved into; `recording` holds
/// the GPU seconds of each submission while the probe records them.
pub(crate) struct Stamps {
    pub(crate) set: wgpu::QuerySet,
    pub(crate) resolve: wgpu::Buffer,
    pub(crate) recording: Option<Vec<f64>>,
}

/// Free buffers (`B`: a wgpu buffer; anything in tests) by (size class, usage), each with
/// when it was returned; at most `cap` bytes, the least recently returned dropped first.
struct Pool<B> {
    free: HashMap<(u64, u32), Vec<(u64, B)>>,
    bytes: u64,
    /// Returns so far (the clock of `free`).
    returned: u64,
}

impl<B> Default for Pool<B> {
    fn default() -> Self {
        Pool { free: HashMap::new(), bytes: 0, returned: 0 }
    }
}

impl<B> Pool<B> {
    /// A free buffer of `size` bytes and `usage`, if one is pooled.
    fn take(&mut self, size: u64, usage: u32) -> Option<B> {
        let (_, b) = self.free.get_mut(&(size, usage))?.pop()?;
        self.bytes -= size;
        Some(b)
    }

    /// Keep `b` (of `size` bytes), dropping the least recently returned buffers to make room
    /// within `cap`; a buffer larger than `cap` is dropped.
    fn put(&mut self, size: u64, usage: u32, b: B, cap: u64) {
        if size > cap {
            return;
        }
        while self.bytes + size > cap && self.drop_oldest() {}
        self.bytes += size;
        self.returned += 1;
        let t = self.returned;
        self.free.entry((size, usage)).or_default().push((t, b));
    }

    /// Drop the least recently returned buffer; false when there is none.
    fn drop_oldest(&mut self) -> bool {
        let oldest = self.free.iter().filter_map(|(k, v)| v.first().map(|(t, _)| (*t, *k))).min();
        let Some((_, key)) = oldest else { return false };
        if let Some(v) = self.free.get_mut(&key) {
            v.remove(0);
            self.bytes -= key.0;
        }
        true
    }
}

/// Buffer sizes are rounded up to a class: 4 significant bits (at most 1/8 wasted), ≥ 256 B.
pub(crate) fn size_class(bytes: u64) -> u64 {
    let b = bytes.max(256);
    let shift = (64 - b.leading_zeros()).saturating_sub(4);
    b.div_ceil(1 << shift) << shift
}

impl Gpu {
    /// A compute pipeline for `entry` of `source`, compiled once. A shader that does not
    /// compile comes back as an error with the compiler's message.
    pub(crate) fn pipeline(&self, source: &str, entry: &'static str) -> Result<Arc<wgpu::ComputePipeline>> {
        self.pipeline_with(source, entry, Checks::Bounds)
    }

    /// [`Gpu::pipeline`] with the given runtime checks (the probe compares them).
    pub(crate) fn pipeline_with(
        &self,
        source: &str,
        entry: &'static str,
        checks: Checks,
    ) -> Result<Arc<wgpu::ComputePipeline>> {
        // tessera's own kernels are keyed by their source alone (no copy to look one up).
        let key: Cow<str> = match checks {
            Checks::Bounds => Cow::Borrowed(source),
            other => Cow::Owned(format!("// {other:?}\n{source}")),
        };
        let found = self
            .pipelines
            .lock()
            .map_err(|_| poisoned())?
            .get(key.as_ref())
            .and_then(|e| e.get(entry))
            .cloned();
        if let Some(p) = found {
            return Ok(p);
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let desc = wgpu::ShaderModuleDescriptor {
            label: Some("tessera kernel"),
            source: wgpu::ShaderSource::Wgsl(Cow::Borrowed(source)),
        };
        let module = match checks {
            Checks::All => self.device.create_shader_module(desc),
            Checks::Bounds | Checks::None => {
                let mut c = wgpu::ShaderRuntimeChecks::checked();
                c.force_loop_bounding = false;
                c.bounds_checks = checks == Checks::Bounds;
                // SAFETY: tessera's kernels have no unbounded loops, and `Checks::None` is
                // only for the probe's copy kernel, whose indices stay inside its buffers.
                unsafe { self.device.create_shader_module_trusted(desc, c) }
            }
        };
        let pipeline = self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(entry),
            layout: None,
            module: &module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            cache: None,
        });
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(Error::invalid(format!("GPU kernel failed to compile: {e}")));
        }
        let p = Arc::new(pipeline);
        self.pipelines
            .lock()
            .map_err(|_| poisoned())?
            .entry(key.into_owned())
            .or_default()
            .insert(entry, p.clone());
        Ok(p)
    }

    /// Number of compiled pipelines (for tests of the cache).
    pub(crate) fn pipelines_compiled(&self) -> usize {
        self.pipelines.lock().map(|p| p.values().map(HashMap::len).sum()).unwrap_or(0)
    }

    /// A buffer of at least `size` bytes with `usage`, reused from the pool when one is free.
    pub(crate) fn buffer(&self, size: u64, usage: wgpu::BufferUsages) -> wgpu::Buffer {
        let class = size_class(size);
        if let Ok(mut p) = self.pool.lock()
            && let Some(b) = p.take(class, usage.bits())
        {
            return b;
        }
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("tessera block"),
            size: class,
            usage,
            mapped_at_creation: false,
        })
    }

    /// Return a buffer to the pool, dropping the least recently returned ones to make room
    /// (a buffer larger than the whole pool is dropped).
    pub(crate) fn recycle(&self, b: wgpu::Buffer) {
        let cap = POOL_CAP.max(2 * self.limits.max_storage_buffer_binding_size);
        if let Ok(mut p) = self.pool.lock() {
            p.put(b.size(), b.usage().bits(), b, cap);
        }
    }

    /// Remember a block kept on the device.
    pub(crate) fn register(&self, b: &Arc<GpuBlock>) {
        if let Ok(mut k) = self.kept.lock() {
            if k.len() >= 64 && k.len().is_power_of_two() {
                k.retain(|w| w.strong_count() > 0);
            }
            k.push(Arc::downgrade(b));
        }
    }

    /// Evict every block kept on the device to the host (after device out-of-memory); the
    /// bytes freed. The free pool is emptied too.
    pub(crate) fn evict_all(&self) -> u64 {
        let blocks: Vec<Arc<GpuBlock>> = match self.kept.lock() {
            Ok(mut k) => k.drain(..).filter_map(|w| w.upgrade()).collect(),
            Err(_) => return 0,
        };
        let mut freed: u64 = blocks.iter().map(|b| b.evict()).sum();
        if let Ok(mut p) = self.pool.lock() {
            freed += p.bytes;
            p.free.clear();
            p.bytes = 0;
        }
        freed
    }

    /// The most bytes one storage binding may hold here (the adapter's limit, or the test
    /// hook's smaller one).
    pub(crate) fn max_binding(&self) -> u64 {
        let cap = self.binding_cap.load(Ordering::Relaxed);
        let limit = self.limits.max_storage_buffer_binding_size;
        if cap == 0 { limit } else { limit.min(cap) }
    }

    /// Whether reductions merge segments in workgroup memory (see `reduce_run::pass_plan`).
    pub(crate) fn merges_reductions(&self) -> bool {
        self.merge_reductions.load(Ordering::Relaxed)
    }

    /// Test and probe hook: merge reduction segments in workgroup memory, or not; the setting
    /// it replaces.
    pub(crate) fn set_merge_reductions(&self, on: bool) -> bool {
        self.merge_reductions.swap(on, Ordering::Relaxed)
    }

    /// Start (`true`) or stop recording each submission's GPU time; what was recorded since
    /// the last call. Err when the adapter has no timestamp queries.
    pub(crate) fn record_gpu_times(&self, on: bool) -> Result<Vec<f64>> {
        let mut st = self.stamps.lock().map_err(|_| Error::internal("GPU timestamps poisoned"))?;
        let st = st.as_mut().ok_or_else(|| Error::BackendUnavailable("no timestamp queries".into()))?;
        let was = std::mem::replace(&mut st.recording, on.then(Vec::new));
        self.timing.store(on, Ordering::Relaxed);
        Ok(was.unwrap_or_default())
    }

    /// Test hook: pretend one binding holds at most `bytes` (0: the adapter's limit).
    #[cfg(feature = "testing")]
    pub(crate) fn cap_binding(&self, bytes: u64) {
        self.binding_cap.store(bytes, Ordering::Relaxed);
    }

    /// Test hook: let `after` submissions through, then fail `count` as out of memory.
    #[cfg(feature = "testing")]
    pub(crate) fn fail_submits(&self, after: usize, count: usize) {
        if let Ok(mut f) = self.fail_submits.lock() {
            *f = (after, count);
        }
    }

    /// Whether this submission is to fail (the test hook).
    pub(crate) fn injected_failure(&self) -> bool {
        let Ok(mut f) = self.fail_submits.lock() else { return false };
        if f.0 > 0 {
            f.0 -= 1;
            return false;
        }
        if f.1 > 0 {
            f.1 -= 1;
            return true;
        }
        false
    }

    /// Bytes held by free pooled buffers.
    pub(crate) fn pooled_bytes(&self) -> u64 {
        self.pool.lock().map(|p| p.bytes).unwrap_or(0)
    }
}

fn poisoned() -> Error {
    Error::internal("GPU pipeline cache poisoned")
}

#[cfg(test)]
mod tests {
    use super::{Pool, size_class};

    #[test]
    fn the_pool_drops_the_least_recently_returned_buffers_to_make_room() {
        let mut p: Pool<&str> = Pool::default();
        p.put(200, 1, "a", 500);
        p.put(100, 2, "b", 500);
        p.put(200, 1, "c", 500);
        assert_eq!(p.bytes, 500);
        // A 300-byte buffer displaces "a" and "b" (the oldest), not itself.
        p.put(300, 1, "d", 500);
        assert_eq!(p.bytes, 500);
        assert_eq!(p.take(100, 2), None);
        assert_eq!(p.take(200, 1), Some("c"));
        assert_eq!(p.take(200, 1), None);
        assert_eq!(p.take(300, 1), Some("d"));
        assert_eq!(p.bytes, 0);
        // Larger than the whole pool: not kept.
        p.put(600, 1, "e", 500);
        assert_eq!((p.bytes, p.take(600, 1)), (0, None));
        // Usage is part of the key.
        p.put(100, 1, "f", 500);
        assert_eq!((p.take(100, 2), p.take(100, 1)), (None, Some("f")));
    }

    #[test]
    fn size_classes_round_up_by_at_most_an_eighth() {
        assert_eq!(size_class(0), 256);
        assert_eq!(size_class(256), 256);
        assert_eq!(size_class(257), 288);
        for b in [1000u64, 4097, 1 << 20, (1 << 20) + 1, 123_456_789] {
            let c = size_class(b);
            assert!(c >= b && c <= b + b / 8 + 16, "{b} -> {c}");
            assert_eq!(size_class(c), c, "a class is its own class");
        }
    }
}
