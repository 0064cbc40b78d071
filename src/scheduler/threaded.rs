//! The threaded scheduler: workers with crossbeam work-stealing deques.
//!
//! Policy: root tasks (no inputs) wait in a global injector in priority order; a worker that
//! finishes a task pushes the dependents it made ready onto its own deque, highest priority on
//! top, and pops from there first, so a worker goes depth-first and finishes what it started
//! (the combine step of a reduction runs as soon as its partials exist) before it takes a new
//! root. Idle workers steal from the injector, then from each other, then sleep on a condvar.
//! State: per task an atomic count of unfinished inputs and of remaining consumers; a result
//! is dropped when its consumer count reaches zero. The calling thread is worker 0.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use crossbeam_deque::{Injector, Steal, Stealer, Worker};

use crate::backend::Backend;
use crate::block::Value;
use crate::error::{Error, Result};
use crate::graph::{TaskGraph, TaskId};
use crate::scheduler::{OutputSink, RunReport, run_task};

struct Shared<'a> {
    graph: &'a TaskGraph,
    backend: &'a dyn Backend,
    sink: &'a dyn OutputSink,
    slots: Vec<Vec<(usize, usize)>>,
    prio: Vec<u32>,
    /// CSR lists of dependents.
    dep_offsets: Vec<usize>,
    dependents: Vec<TaskId>,
    inputs_left: Vec<AtomicU32>,
    consumers_left: Vec<AtomicU32>,
    results: Vec<Mutex<Option<Value>>>,
    injector: Injector<TaskId>,
    stealers: Vec<Stealer<TaskId>>,
    unfinished: AtomicUsize,
    abort: AtomicBool,
    error: Mutex<Option<Error>>,
    sleepers: AtomicUsize,
    idle: Mutex<()>,
    wake: Condvar,
    held: AtomicUsize,
    peak: AtomicUsize,
}

pub(crate) fn run(
    graph: &TaskGraph,
    backend: &dyn Backend,
    workers: usize,
    sink: &dyn OutputSink,
) -> Result<RunReport> {
    let n = graph.tasks.len();
    let prio = graph.priorities();
    let mut counts = vec![0usize; n + 1];
    for t in &graph.tasks {
        for &i in &t.inputs {
            counts[i + 1] += 1;
        }
    }
    for i in 0..n {
        counts[i + 1] += counts[i];
    }
    let mut fill = counts.clone();
    let mut dependents = vec![0; counts[n]];
    for (ti, t) in graph.tasks.iter().enumerate() {
        for &i in &t.inputs {
            dependents[fill[i]] = ti;
            fill[i] += 1;
        }
    }
    let locals: Vec<Worker<TaskId>> = (0..workers).map(|_| Worker::new_lifo()).collect();
    let shared = Shared {
        graph,
        backend,
        sink,
        slots: graph.output_slots(),
        prio,
        dep_offsets: counts,
        dependents,
        inputs_left: graph.tasks.iter().map(|t| AtomicU32::new(t.inputs.len() as u32)).collect(),
        consumers_left: graph.consumer_counts().into_iter().map(AtomicU32::new).collect(),
        results: (0..n).map(|_| Mutex::new(None)).collect(),
        injector: Injector::new(),
        stealers: locals.iter().map(|w| w.stealer()).collect(),
        unfinished: AtomicUsize::new(n),
        abort: AtomicBool::new(false),
        error: Mutex::new(None),
        sleepers: AtomicUsize::new(0),
        idle: Mutex::new(()),
        wake: Condvar::new(),
        held: AtomicUsize::new(0),
        peak: AtomicUsize::new(0),
    };
    let mut roots: Vec<TaskId> = (0..n).filter(|&t| graph.tasks[t].inputs.is_empty()).collect();
    roots.sort_unstable_by_key(|&t| shared.prio[t]);
    for t in roots {
        shared.injector.push(t);
    }
    let mut locals = locals.into_iter();
    let first = locals.next().expect("at least one worker");
    std::thread::scope(|s| {
        for (k, w) in locals.enumerate() {
            let sh = &shared;
            s.spawn(move || worker_loop(sh, w, k + 1));
        }
        worker_loop(&shared, first, 0);
    });
    if let Some(e) = shared.error.lock().map_err(|_| poisoned())?.take() {
        return Err(e);
    }
    let report = RunReport { tasks_run: n, peak_bytes: shared.peak.load(Ordering::Relaxed), workers };
    Ok(report)
}

fn poisoned() -> Error {
    Error::invalid("scheduler state poisoned by a panic")
}

fn find_task(sh: &Shared, local: &Worker<TaskId>, me: usize) -> Option<TaskId> {
    if let Some(t) = local.pop() {
        return Some(t);
    }
    loop {
        let mut retry = false;
        match sh.injector.steal_batch_with_limit_and_pop(local, 4) {
            Steal::Success(t) => return Some(t),
            Steal::Retry => retry = true,
            Steal::Empty => {}
        }
        for (k, st) in sh.stealers.iter().enumerate() {
            if k == me {
                continue;
            }
            match st.steal() {
                Steal::Success(t) => return Some(t),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
        }
        if !retry {
            return None;
        }
    }
}

fn worker_loop(sh: &Shared, local: Worker<TaskId>, me: usize) {
    let mut ready: Vec<TaskId> = Vec::new();
    let mut inputs: Vec<Value> = Vec::new();
    loop {
        if sh.abort.load(Ordering::Acquire) || sh.unfinished.load(Ordering::Acquire) == 0 {
            break;
        }
        let Some(t) = find_task(sh, &local, me) else {
            sh.sleepers.fetch_add(1, Ordering::SeqCst);
            if let Ok(g) = sh.idle.lock()
                && !sh.abort.load(Ordering::Acquire)
                && sh.unfinished.load(Ordering::Acquire) > 0
            {
                let _ = sh.wake.wait_timeout(g, Duration::from_micros(500));
            }
            sh.sleepers.fetch_sub(1, Ordering::SeqCst);
            continue;
        };
        let task = &sh.graph.tasks[t];
        inputs.clear();
        let mut missing = false;
        for &i in &task.inputs {
            match sh.results[i].lock().ok().and_then(|r| r.clone()) {
                Some(v) => inputs.push(v),
                None => missing = true,
            }
        }
        let r = if missing {
            Err(Error::TaskFailed { task: task.label(), cause: "an input result was lost".into() })
        } else {
            run_task(task, sh.backend, &inputs)
        };
        inputs.clear();
        let r = r.and_then(|v| {
            for &(o, b) in &sh.slots[t] {
                sh.sink.put(o, b, &v)?;
            }
            Ok(v)
        });
        match r {
            Ok(v) => {
                let b = v.nbytes();
                let now = sh.held.fetch_add(b, Ordering::Relaxed) + b;
                sh.peak.fetch_max(now, Ordering::Relaxed);
                if let Ok(mut slot) = sh.results[t].lock() {
                    *slot = Some(v);
                }
                release_inputs(sh, &task.inputs);
                for _ in &sh.slots[t] {
                    release_inputs(sh, &[t]);
                }
                ready.clear();
                for &d in &sh.dependents[sh.dep_offsets[t]..sh.dep_offsets[t + 1]] {
                    if sh.inputs_left[d].fetch_sub(1, Ordering::AcqRel) == 1 {
                        ready.push(d);
                    }
                }
                // Highest priority (lowest number) pushed last, popped first.
                ready.sort_unstable_by_key(|&d| std::cmp::Reverse(sh.prio[d]));
                for &d in &ready {
                    local.push(d);
                }
                let left = sh.unfinished.fetch_sub(1, Ordering::AcqRel) - 1;
                if (left == 0 || ready.len() > 1) && sh.sleepers.load(Ordering::SeqCst) > 0 {
                    let _g = sh.idle.lock();
                    sh.wake.notify_all();
                }
            }
            Err(e) => {
                if let Ok(mut slot) = sh.error.lock() {
                    slot.get_or_insert(e);
                }
                sh.abort.store(true, Ordering::Release);
                let _g = sh.idle.lock();
                sh.wake.notify_all();
            }
        }
    }
}

fn release_inputs(sh: &Shared, inputs: &[TaskId]) {
    for &i in inputs {
        if sh.consumers_left[i].fetch_sub(1, Ordering::AcqRel) == 1
            && let Ok(mut slot) = sh.results[i].lock()
            && let Some(v) = slot.take()
        {
            sh.held.fetch_sub(v.nbytes(), Ordering::Relaxed);
        }
    }
}
