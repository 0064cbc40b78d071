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
//! result would not fit; the threaded scheduler starts a task (a read or any other) only while
//! the budget has room for its need next to the results held and the running tasks' needs
//! (or when nothing runs), so loads never run far ahead of the reductions that consume them
//! and the bytes allocated, not only those held, stay within the budget. Before running, a
//! compute whose smallest working set (one task's inputs, scratch and result) exceeds the
//! budget is refused with [`Error::MemoryBudget`].

mod diagnostics;
mod disk_array;
mod store;
mod sync;
mod threaded;

use std::sync::Mutex;
use std::time::Instant;

pub use diagnostics::{Profile, TaskRecord};
pub use disk_array::{DiskArray, DiskSink};

use crate::backend::Backend;
use crate::core::block::Value;
use crate::core::error::{Error, Result};
use crate::ir::{Task, TaskGraph};
use crate::runtime::ComputeOptions;

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
    /// Bytes task `t` is expected to allocate while it runs: its result, its scratch and
    /// the inputs it must read back from the spill file.
    pub(crate) fn need(&self, t: usize) -> usize {
        let task = &self.graph.tasks[t];
        task.out_bytes + task.scratch_bytes + self.store.spilled_bytes_of(&task.inputs)
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
    let placed = crate::backend::gpu::backend_for(opts, backend, graph)?;
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
        let mut g = self.0.lock().map_err(|_| Error::internal("output sink poisoned"))?;
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
    let outs = sink.0.into_inner().map_err(|_| Error::internal("output sink poisoned"))?;
    let outs = outs
        .into_iter()
        .map(|blocks| {
            blocks
                .into_iter()
                .map(|b| b.ok_or_else(|| Error::internal("an output block was never computed")))
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
    if crate::runtime::interrupted() {
        return Err(Error::Interrupted);
    }
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        backend.execute_owned(&task.kernel, inputs)
    }));
    match r {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(match e {
            // Errors about the data itself reach the caller as they are.
            e @ (Error::TaskFailed { .. }
            | Error::NotPositiveDefinite { .. }
            | Error::Singular { .. }
            | Error::Interrupted) => e,
            e => Error::task_failed(task.label(), e),
        }),
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic payload".into());
            Err(Error::task_failed(task.label(), Error::Panicked(msg)))
        }
    }
}
