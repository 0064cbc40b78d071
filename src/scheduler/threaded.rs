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
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crossbeam_deque::{Steal, Stealer, Worker};

use crate::core::error::{Error, Result};
use crate::ir::TaskId;
use crate::runtime::cores::{self, Cores};
use crate::scheduler::diagnostics::RawRecord;
use crate::scheduler::{Run, hand_over, run_task};

struct Shared<'a> {
    run: &'a Run<'a>,
    slots: Vec<Vec<(usize, usize)>>,
    /// CSR lists of dependents.
    dep_offsets: Vec<usize>,
    dependents: Vec<TaskId>,
    inputs_left: Vec<AtomicU32>,
    consumers_left: Vec<AtomicU32>,
    /// Root tasks in priority order, and how many have been started.
    roots: Mutex<(Vec<TaskId>, usize)>,
    roots_left: AtomicUsize,
    stealers: Vec<Stealer<TaskId>>,
    /// Tasks running now, and the bytes they are expected to need (changed together under
    /// `gate`).
    running: AtomicUsize,
    running_need: AtomicUsize,
    gate: Mutex<()>,
    /// Workers holding a task that waits for memory.
    waiting: AtomicUsize,
    unfinished: AtomicUsize,
    abort: AtomicBool,
    error: Mutex<Option<Error>>,
    sleepers: AtomicUsize,
    idle: Mutex<()>,
    wake: Condvar,
    raw: Mutex<Vec<RawRecord>>,
    /// One token per worker, held while it runs a task (see [`crate::runtime::cores`]).
    cores: Arc<Cores>,
}

pub(crate) fn run(r: &Run, workers: usize) -> Result<(usize, Vec<RawRecord>)> {
    let graph = r.graph;
    let n = graph.tasks.len();
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
    let mut roots: Vec<TaskId> = (0..n).filter(|&t| graph.tasks[t].inputs.is_empty()).collect();
    roots.sort_unstable_by_key(|&t| r.prio[t]);
    let locals: Vec<Worker<TaskId>> = (0..workers).map(|_| Worker::new_lifo()).collect();
    let shared = Shared {
        run: r,
        slots: graph.output_slots(),
        dep_offsets: counts,
        dependents,
        inputs_left: graph.tasks.iter().map(|t| AtomicU32::new(t.inputs.len() as u32)).collect(),
        consumers_left: graph.consumer_counts().into_iter().map(AtomicU32::new).collect(),
        roots_left: AtomicUsize::new(roots.len()),
        roots: Mutex::new((roots, 0)),
        stealers: locals.iter().map(|w| w.stealer()).collect(),
        running: AtomicUsize::new(0),
        running_need: AtomicUsize::new(0),
        gate: Mutex::new(()),
        waiting: AtomicUsize::new(0),
        unfinished: AtomicUsize::new(n),
        abort: AtomicBool::new(false),
        error: Mutex::new(None),
        sleepers: AtomicUsize::new(0),
        idle: Mutex::new(()),
        wake: Condvar::new(),
        raw: Mutex::new(Vec::new()),
        cores: Cores::new(workers),
    };
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
    let raw = shared.raw.into_inner().map_err(|_| poisoned())?;
    Ok((workers, raw))
}

fn poisoned() -> Error {
    Error::internal("scheduler state poisoned by a panic")
}

/// Count task `t` as running if the memory budget has room for what it will allocate
/// besides its inputs (its result and scratch) next to the results held and the other
/// running tasks' needs, or if nothing runs (waiting would free nothing; the store spills
/// to make room before it starts). Returns the bytes counted for it, given back when it
/// ends.
fn try_start(sh: &Shared, t: TaskId) -> Option<usize> {
    let need = sh.run.need(t);
    let _g = sh.gate.lock().ok();
    let running = sh.running.load(Ordering::Acquire);
    let busy = sh.running_need.load(Ordering::Acquire);
    // A sixteenth of the budget stays free for what no task declares (I/O buffers, the
    // allocator's own pages), so that the process, not only the store, keeps within it.
    let budget = sh.run.store.budget();
    if running > 0 && sh.run.store.held() + busy + need > budget - budget / 16 {
        return None;
    }
    sh.running.fetch_add(1, Ordering::AcqRel);
    sh.running_need.fetch_add(need, Ordering::AcqRel);
    Some(need)
}

/// Start the next root task if it fits the budget (see [`try_start`]).
fn take_root(sh: &Shared) -> Option<(TaskId, usize)> {
    if sh.roots_left.load(Ordering::Acquire) == 0 {
        return None;
    }
    let mut q = sh.roots.lock().ok()?;
    let &t = q.0.get(q.1)?;
    let need = try_start(sh, t)?;
    q.1 += 1;
    sh.roots_left.fetch_sub(1, Ordering::AcqRel);
    Some((t, need))
}

/// A task this worker may start now: its own newest ready task, else the next root, else
/// one stolen from another worker. A ready task that does not fit the budget goes back on
/// the worker's deque and the worker waits for a running task to finish (`None`); no new
/// root starts meanwhile, so reads never run ahead of the work that frees memory.
fn find_task(sh: &Shared, local: &Worker<TaskId>, me: usize) -> Option<(TaskId, usize)> {
    if let Some(t) = local.pop() {
        return started(sh, local, t);
    }
    if let Some(started) = take_root(sh) {
        return Some(started);
    }
    loop {
        let mut retry = false;
        for (k, st) in sh.stealers.iter().enumerate() {
            if k == me {
                continue;
            }
            match st.steal() {
                Steal::Success(t) => return started(sh, local, t),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
        }
        if !retry {
            return None;
        }
    }
}

/// `t` and its counted need if it starts now, else `t` back on the deque and `None`.
fn started(sh: &Shared, local: &Worker<TaskId>, t: TaskId) -> Option<(TaskId, usize)> {
    if let Some(need) = try_start(sh, t) {
        return Some((t, need));
    }
    local.push(t);
    sh.waiting.fetch_add(1, Ordering::AcqRel);
    None
}

fn worker_loop(sh: &Shared, local: Worker<TaskId>, me: usize) {
    cores::set_current(Some(sh.cores.clone()));
    let mut ready: Vec<TaskId> = Vec::new();
    let mut raw: Vec<RawRecord> = Vec::new();
    let run = sh.run;
    loop {
        if sh.abort.load(Ordering::Acquire) || sh.unfinished.load(Ordering::Acquire) == 0 {
            break;
        }
        let Some((t, need)) = find_task(sh, &local, me) else {
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
        sh.cores.acquire();
        let began = run.start.elapsed();
        let r = run.store.make_room(need, &run.graph.tasks[t].inputs).and_then(|()| execute(sh, t));
        sh.cores.release(1);
        sh.running.fetch_sub(1, Ordering::AcqRel);
        sh.running_need.fetch_sub(need, Ordering::AcqRel);
        match r {
            Ok(bytes) => {
                if run.profile {
                    raw.push(RawRecord {
                        task: t,
                        start: began,
                        end: run.start.elapsed(),
                        worker: me,
                        bytes,
                    });
                }
                run.progress.tick();
                ready.clear();
                for &d in &sh.dependents[sh.dep_offsets[t]..sh.dep_offsets[t + 1]] {
                    if sh.inputs_left[d].fetch_sub(1, Ordering::AcqRel) == 1 {
                        ready.push(d);
                    }
                }
                // Highest priority (lowest number) pushed last, popped first.
                ready.sort_unstable_by_key(|&d| std::cmp::Reverse(run.prio[d]));
                for &d in &ready {
                    local.push(d);
                }
                let left = sh.unfinished.fetch_sub(1, Ordering::AcqRel) - 1;
                let roots_waiting = sh.roots_left.load(Ordering::Acquire) > 0;
                // A worker waiting for memory may start now that this task's need is gone.
                let memory_waiting = sh.waiting.swap(0, Ordering::AcqRel) > 0;
                if (left == 0 || ready.len() > 1 || roots_waiting || memory_waiting)
                    && sh.sleepers.load(Ordering::SeqCst) > 0
                {
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
    cores::set_current(None);
    if !raw.is_empty()
        && let Ok(mut all) = sh.raw.lock()
    {
        all.append(&mut raw);
    }
}

/// Run task `t`: fetch its inputs, run the kernel, hand outputs to the sink, release the
/// inputs and store the result. Returns the result's bytes.
fn execute(sh: &Shared, t: TaskId) -> Result<usize> {
    let run = sh.run;
    let task = &run.graph.tasks[t];
    let mut inputs = Vec::with_capacity(task.inputs.len());
    for (p, &i) in task.inputs.iter().enumerate() {
        let got = if hand_over(task, p, sh.consumers_left[i].load(Ordering::Acquire)) {
            run.store.take(i, &task.inputs)
        } else {
            run.store.get(i, &task.inputs)
        };
        inputs.push(got.map_err(|e| Error::task_failed(task.label(), e))?);
    }
    let v = run_task(task, run.backend, inputs)?;
    for &(o, b) in &sh.slots[t] {
        run.sink.put(o, b, &v)?;
    }
    let bytes = v.nbytes();
    release(sh, &task.inputs);
    // The sink has the output uses; keep the result only if a task still needs it.
    let uses = sh.slots[t].len() as u32;
    let left = sh.consumers_left[t].fetch_sub(uses, Ordering::AcqRel) - uses;
    if left > 0 {
        run.store.put(t, v, &[])?;
    }
    Ok(bytes)
}

fn release(sh: &Shared, inputs: &[TaskId]) {
    for &i in inputs {
        if sh.consumers_left[i].fetch_sub(1, Ordering::AcqRel) == 1 {
            sh.run.store.release(i);
        }
    }
}
