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
//! Device placement and a memory budget with spilling plug in here: the options carry them,
//! the accounting is already per task.

mod sync;
mod threaded;

use std::sync::{Mutex, RwLock};

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
    /// Chosen per task from cost and data location; the CPU when there is no GPU (today,
    /// always: the GPU backend is not built yet).
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
}

static DEFAULT_OPTIONS: RwLock<Option<ComputeOptions>> = RwLock::new(None);

impl Default for ComputeOptions {
    fn default() -> Self {
        DEFAULT_OPTIONS.read().ok().and_then(|o| o.clone()).unwrap_or(ComputeOptions {
            scheduler: SchedulerKind::Threaded,
            workers: None,
            device: Device::Auto,
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

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Tasks executed.
    pub tasks_run: usize,
    /// Most bytes of task results held at once.
    pub peak_bytes: usize,
    /// Workers used.
    pub workers: usize,
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
    if let Device::Gpu(i) = opts.device {
        crate::backend::gpu::open(i)?;
    }
    let workers = opts.worker_count();
    if workers == 1 || graph.tasks.len() <= 1 {
        sync::run(graph, backend, sink)
    } else {
        threaded::run(graph, backend, workers, sink)
    }
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

/// Run one task's kernel, turning an error or a panic into [`Error::TaskFailed`].
pub(crate) fn run_task(task: &Task, backend: &dyn Backend, inputs: &[Value]) -> Result<Value> {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| backend.execute(&task.kernel, inputs)));
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(match e {
            e @ Error::TaskFailed { .. } => e,
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
