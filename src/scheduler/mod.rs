//! Schedulers run a [`TaskGraph`] on a [`Backend`]; they never know what a kernel computes.
//!
//! Two are provided: [`SchedulerKind::Sync`] runs every task on the calling thread in priority
//! order (deterministic, for debugging), and [`SchedulerKind::Threaded`] runs them on a pool of
//! workers with crossbeam work-stealing deques. Both refcount results and drop each one as soon
//! as its last consumer has run, account the bytes held ([`RunReport::peak_bytes`]), and turn
//! a failing or panicking task into an [`Error::TaskFailed`] naming the task; the other tasks
//! stop being started, running ones finish, and nothing hangs. Results are bit-identical on
//! both schedulers and any number of workers: the graph fixes every combine order.
//!
//! Memory: results live in a store (`scheduler::store`) that accounts their bytes against
//! the budget ([`ComputeOptions::memory_budget`]) and spills the ones needed last to disk when a new
//! result would not fit; the threaded scheduler starts new root tasks (reads) only while the
//! budget has room for them, so loads never run far ahead of the reductions that consume
//! them. Before running, a compute whose smallest working set (one task's inputs, scratch
//! and result) exceeds the budget is refused with [`Error::MemoryBudget`].

pub(crate) mod cores;
mod diagnostics;
mod store;
mod sync;
mod threaded;

use std::path::PathBuf;
use std::sync::{Mutex, RwLock};
use std::time::Instant;

pub use diagnostics::{Profile, Progress, TaskRecord};

use crate::backend::Backend;
use crate::block::Value;
use crate::error::{Error, Result};
use crate::graph::{Task, TaskGraph};

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

/// Options of one `compute()` call. `Default` gives the process-wide defaults
/// ([`set_default_options`]).
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
    /// Worker threads for the threaded scheduler (`None`: all cores).
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
    /// Record a [`Profile`] of every task in the [`RunReport`].
    pub profile: bool,
    /// Most bytes of blocks kept in GPU memory between tasks (`None`:
    /// [`crate::gpu::DEFAULT_GPU_BUDGET`]); above it, GPU results go back to the host at once.
    pub gpu_memory_budget: Option<usize>,
}

static DEFAULT_OPTIONS: RwLock<Option<ComputeOptions>> = RwLock::new(None);

impl Default for ComputeOptions {
    fn default() -> Self {
        DEFAULT_OPTIONS.read().ok().and_then(|o| o.clone()).unwrap_or(ComputeOptions {
            scheduler: SchedulerKind::Threaded,
            workers: None,
            device: Device::Auto,
            memory_budget: None,
            spill_dir: None,
            progress: Progress::Auto,
            profile: false,
            gpu_memory_budget: None,
        })
    }
}

impl ComputeOptions {
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

/// Set the options every `compute()` without explicit options uses.
pub fn set_default_options(opts: ComputeOptions) {
    if let Ok(mut d) = DEFAULT_OPTIONS.write() {
        *d = Some(opts);
    }
}

/// Physical memory of this machine in bytes (Linux: `/proc/meminfo`), if known.
pub fn physical_memory() -> Option<usize> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The default memory budget: half the physical memory (4 GiB where that is unknown).
pub fn default_memory_budget() -> usize {
    physical_memory().map_or(4 << 30, |m| m / 2)
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Tasks executed.
    pub tasks_run: usize,
    /// Most bytes of task results held in memory at once (never above the budget unless
    /// the running tasks' working sets and the reduction states, which are never spilled,
    /// are).
    pub peak_bytes: usize,
    /// Bytes written to spill files.
    pub spilled_bytes: usize,
    /// The budget the run kept to.
    pub budget_bytes: usize,
    /// Workers used.
    pub workers: usize,
    /// Tasks that ran on a GPU.
    pub gpu_tasks: usize,
    /// Every task's timing, when [`ComputeOptions::profile`] asked for it.
    pub profile: Option<Profile>,
}

/// Everything a scheduler needs for one run.
pub(crate) struct Run<'a> {
    pub(crate) graph: &'a TaskGraph,
    pub(crate) backend: &'a dyn Backend,
    pub(crate) sink: &'a dyn OutputSink,
    pub(crate) prio: Vec<u32>,
    pub(crate) store: store::Store,
    pub(crate) progress: diagnostics::ProgressReporter,
    pub(crate) start: Instant,
    pub(crate) profile: bool,
}

impl Run<'_> {
    /// Bytes task `t` is expected to need while it runs (result and scratch).
    pub(crate) fn need(&self, t: usize) -> usize {
        let task = &self.graph.tasks[t];
        task.out_bytes + task.scratch_bytes
    }
}

/// Receives output blocks as soon as they are computed; the scheduler drops its own
/// reference right after, so a result larger than memory can be streamed to its destination.
/// Called from worker threads (never twice for the same slot).
pub trait OutputSink: Sync {
    /// Block `block` (C order of the output's block grid) of output `output` is ready.
    fn put(&self, output: usize, block: usize, value: &Value) -> Result<()>;
}

/// Run a graph, handing each output block to `sink` as soon as it is ready.
pub fn execute_into(
    graph: &TaskGraph,
    backend: &dyn Backend,
    opts: &ComputeOptions,
    sink: &dyn OutputSink,
) -> Result<RunReport> {
    let placed = crate::backend::gpu::backend_for(opts, backend)?;
    let backend: &dyn Backend = placed.as_deref().unwrap_or(backend);
    let budget = opts.budget_bytes();
    let (need, task) = graph.min_working_set();
    if need > budget {
        let what = task.map_or_else(|| "a task".into(), |t| graph.tasks[t].label());
        return Err(Error::MemoryBudget { what, needed: need, budget });
    }
    let prio = graph.priorities();
    let run = Run {
        graph,
        backend,
        sink,
        store: store::Store::new(graph, &prio, budget, opts.spill_dir.clone()),
        prio,
        progress: diagnostics::ProgressReporter::new(opts.progress, graph.tasks.len()),
        start: Instant::now(),
        profile: opts.profile,
    };
    let workers = opts.worker_count();
    let r = if workers == 1 || graph.tasks.len() <= 1 {
        sync::run(&run, workers)
    } else {
        threaded::run(&run, workers)
    };
    run.progress.finish();
    let (workers, raw) = r?;
    Ok(RunReport {
        tasks_run: graph.tasks.len(),
        peak_bytes: run.store.peak(),
        spilled_bytes: run.store.spilled(),
        budget_bytes: budget,
        workers,
        gpu_tasks: backend.offloaded(),
        profile: opts.profile.then(|| Profile::from_raw(graph, raw, backend.name())),
    })
}

/// Collects every output block.
struct Collect(Mutex<Vec<Vec<Option<Value>>>>);

impl OutputSink for Collect {
    fn put(&self, output: usize, block: usize, value: &Value) -> Result<()> {
        let mut g = self.0.lock().map_err(|_| Error::invalid("output sink poisoned"))?;
        g[output][block] = Some(value.clone());
        Ok(())
    }
}

/// Run a graph; returns the values of every output task (per output, in block order).
pub fn execute(
    graph: &TaskGraph,
    backend: &dyn Backend,
    opts: &ComputeOptions,
) -> Result<(Vec<Vec<Value>>, RunReport)> {
    let sink = Collect(Mutex::new(graph.outputs.iter().map(|ids| vec![None; ids.len()]).collect()));
    let report = execute_into(graph, backend, opts, &sink)?;
    let outs = sink.0.into_inner().map_err(|_| Error::invalid("output sink poisoned"))?;
    let outs = outs
        .into_iter()
        .map(|blocks| {
            blocks
                .into_iter()
                .map(|b| b.ok_or_else(|| Error::invalid("an output block was never computed")))
                .collect()
        })
        .collect::<Result<_>>()?;
    Ok((outs, report))
}

/// Whether input position `p` of `task` may be handed over to it ([`Store::take`]): the
/// kernel overwrites that input, the task names it once, and `left` (the input's consumers
/// still to run, this task included) is 1.
pub(crate) fn hand_over(task: &Task, p: usize, left: u32) -> bool {
    task.kernel.in_place_input() == Some(p)
        && left == 1
        && task.inputs.iter().filter(|&&i| i == task.inputs[p]).count() == 1
}

/// Run one task's kernel on the inputs it now owns, turning an error or a panic into
/// [`Error::TaskFailed`].
pub(crate) fn run_task(task: &Task, backend: &dyn Backend, inputs: Vec<Value>) -> Result<Value> {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        backend.execute_owned(&task.kernel, inputs)
    }));
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(match e {
            // Errors about the data itself reach the caller as they are.
            e @ (Error::TaskFailed { .. } | Error::NotPositiveDefinite { .. } | Error::Singular { .. }) => e,
            e => Error::TaskFailed { task: task.label(), cause: e.to_string() },
        }),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".into());
            Err(Error::TaskFailed { task: task.label(), cause: format!("panicked: {msg}") })
        }
    }
}
