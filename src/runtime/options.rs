//! The options of one run and the device vocabulary.

use std::path::PathBuf;
use std::sync::RwLock;

use crate::core::error::{Error, Result};

/// Which scheduler runs a compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchedulerKind {
    /// One thread, tasks in priority order: deterministic, easy to debug.
    Sync,
    /// A pool of worker threads with work stealing.
    #[default]
    Threaded,
}

/// Where tasks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// Every task on the CPU.
    Cpu,
    /// Tasks the GPU backend implements on GPU `index`; an error if there is no such GPU.
    Gpu(usize),
    /// Chosen per task by a cost model on the first hardware GPU (never a software adapter);
    /// the CPU when there is none. See [`crate::gpu`].
    #[default]
    Auto,
}

/// Options of one `compute()` call. `Default` gives the built-in defaults; calls without
/// options use [`ComputeOptions::global`] ([`set_default_options`]).
///
/// ```
/// use tessera::{ComputeOptions, SchedulerKind};
/// let opts = ComputeOptions::default().scheduler(SchedulerKind::Sync);
/// assert_eq!(opts.scheduler, SchedulerKind::Sync);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputeOptions {
    /// The scheduler.
    pub scheduler: SchedulerKind,
    /// Worker threads for the threaded scheduler (`None`: all cores); 1 to [`max_workers`],
    /// else the compute is refused.
    pub workers: Option<usize>,
    /// Device placement policy.
    pub device: Device,
    /// Most bytes of task results held in memory at once (`None`: half the physical memory,
    /// [`default_memory_budget`]). Above it, results are spilled to disk.
    pub memory_budget: Option<usize>,
    /// Where spill files go (`None`: a new directory under the system's temporary directory,
    /// removed when the compute ends).
    pub spill_dir: Option<PathBuf>,
    /// When to draw a progress bar.
    pub progress: Progress,
    /// Record a [`Profile`](crate::Profile) of every task in the [`RunReport`](crate::RunReport).
    pub profile: bool,
    /// Most bytes of blocks kept in GPU memory between tasks (`None`:
    /// [`DEFAULT_GPU_BUDGET`]); above it, GPU results go back to the host at once.
    pub gpu_memory_budget: Option<usize>,
}

static DEFAULT_OPTIONS: RwLock<Option<ComputeOptions>> = RwLock::new(None);

impl Default for ComputeOptions {
    /// The built-in defaults (threaded on every core, Auto device, half the memory as budget),
    /// whatever [`set_default_options`] said: see [`ComputeOptions::global`].
    fn default() -> Self {
        ComputeOptions {
            scheduler: SchedulerKind::Threaded,
            workers: None,
            device: Device::Auto,
            memory_budget: None,
            spill_dir: None,
            progress: Progress::Auto,
            profile: false,
            gpu_memory_budget: None,
        }
    }
}

impl ComputeOptions {
    /// The options a call without options uses (`compute()`, `plan()`, …): the last ones given
    /// to [`set_default_options`], else [`ComputeOptions::default`].
    pub fn global() -> Self {
        DEFAULT_OPTIONS.read().ok().and_then(|o| o.clone()).unwrap_or_default()
    }
    /// These options with another scheduler.
    #[must_use]
    pub fn scheduler(mut self, kind: SchedulerKind) -> Self {
        self.scheduler = kind;
        self
    }
    /// These options with `n` workers (threaded scheduler).
    #[must_use]
    pub fn workers(mut self, n: usize) -> Self {
        self.workers = Some(n);
        self
    }
    /// These options with another device policy.
    #[must_use]
    pub fn device(mut self, device: Device) -> Self {
        self.device = device;
        self
    }
    /// These options keeping at most `bytes` of blocks in GPU memory between tasks.
    #[must_use]
    pub fn gpu_memory_budget(mut self, bytes: usize) -> Self {
        self.gpu_memory_budget = Some(bytes);
        self
    }
    /// These options with a memory budget of `bytes`.
    #[must_use]
    pub fn memory_budget(mut self, bytes: usize) -> Self {
        self.memory_budget = Some(bytes);
        self
    }
    /// These options with spill files under `dir`.
    #[must_use]
    pub fn spill_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.spill_dir = Some(dir.into());
        self
    }
    /// These options with another progress-bar policy.
    #[must_use]
    pub fn progress(mut self, p: Progress) -> Self {
        self.progress = p;
        self
    }
    /// These options recording (or not) a task profile.
    #[must_use]
    pub fn profile(mut self, on: bool) -> Self {
        self.profile = on;
        self
    }
    /// The budget these options give on this machine.
    pub fn budget_bytes(&self) -> usize {
        self.memory_budget.unwrap_or_else(default_memory_budget)
    }
    /// An error naming what is wrong with these options (checked before a compute plans
    /// anything): workers outside 1..=[`max_workers`].
    pub fn check(&self) -> Result<()> {
        if let Some(n) = self.workers {
            let most = max_workers();
            if n == 0 || n > most {
                return Err(Error::invalid(format!(
                    "workers = {n}: give 1 to {most} (16 per core; this machine has {})",
                    most / 16
                )));
            }
        }
        Ok(())
    }
    /// The number of workers these options give on this machine.
    pub fn worker_count(&self) -> usize {
        match self.scheduler {
            SchedulerKind::Sync => 1,
            SchedulerKind::Threaded => self
                .workers
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
                .max(1),
        }
    }
}

/// Set the options every call without explicit options uses ([`ComputeOptions::global`]);
/// `ComputeOptions::default()` stays the built-in defaults.
pub fn set_default_options(opts: ComputeOptions) {
    if let Ok(mut d) = DEFAULT_OPTIONS.write() {
        *d = Some(opts);
    }
}

/// The most workers a compute accepts: 16 per core the process may use (threads beyond that
/// only contend for the cores and the memory budget).
pub fn max_workers() -> usize {
    16 * std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Physical memory of this machine in bytes (Linux: `/proc/meminfo`), if known.
/// Read once per process: every compute asks (for the default budget and to refuse a result
/// larger than memory).
pub fn physical_memory() -> Option<usize> {
    static MEMORY: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *MEMORY.get_or_init(|| {
        let info = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
        let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    })
}

/// The default memory budget: half the physical memory (4 GiB where that is unknown).
pub fn default_memory_budget() -> usize {
    physical_memory().map_or(4 << 30, |m| m / 2)
}

/// When a compute draws a progress bar (on stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Progress {
    /// When stderr is a terminal and the compute has run for more than a second.
    #[default]
    Auto,
    /// Always (after the first second: short computes never flash a bar).
    On,
    /// Never.
    Off,
}

/// GPU memory that blocks kept between tasks may use, unless the options say otherwise.
pub const DEFAULT_GPU_BUDGET: usize = 4 << 30;

/// What kind of device an adapter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    /// A discrete GPU with its own memory.
    Discrete,
    /// A GPU sharing the CPU's memory.
    Integrated,
    /// A virtual or hosted GPU.
    Virtual,
    /// A software rasteriser on the CPU (Mesa's lavapipe, WARP, SwiftShader): correct, slow;
    /// never chosen by [`Device::Auto`].
    Software,
    /// Unknown.
    Other,
}

/// One GPU adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Its index for [`Device::Gpu`].
    pub index: usize,
    /// Adapter name.
    pub name: String,
    /// Graphics API backend (Vulkan, Metal, Dx12).
    pub backend: String,
    /// Kind of device.
    pub kind: DeviceKind,
    /// Driver name and version.
    pub driver: String,
    /// Largest buffer, in bytes.
    pub max_buffer_size: u64,
    /// Largest storage binding, in bytes: bigger blocks are split into pieces that fit.
    pub max_binding_size: u64,
    /// Most workgroups per dispatch dimension.
    pub max_workgroups_per_dimension: u32,
    /// Whether the adapter offers 64-bit floats in shaders.
    pub shader_f64: bool,
}
