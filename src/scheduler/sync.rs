//! The synchronous scheduler: every task on the calling thread, in priority order.

use crate::core::error::Result;
use crate::scheduler::diagnostics::RawRecord;
use crate::scheduler::{Run, hand_over, run_task};

/// Run every task on this thread; `cores` is how many cores a task may spread over (the
/// workers asked for: a lone task of a one-task graph may use them all).
pub(crate) fn run(r: &Run, cores: usize) -> Result<(usize, Vec<RawRecord>)> {
    let tokens = crate::runtime::cores::Cores::new(cores);
    tokens.acquire();
    crate::runtime::cores::set_current(Some(tokens));
    let out = run_all(r);
    crate::runtime::cores::set_current(None);
    out
}

fn run_all(r: &Run) -> Result<(usize, Vec<RawRecord>)> {
    let graph = r.graph;
    let mut order: Vec<usize> = (0..graph.tasks.len()).collect();
    order.sort_unstable_by_key(|&t| r.prio[t]);
    let mut consumers = graph.consumer_counts();
    let slots = graph.output_slots();
    let mut raw = Vec::new();
    for &t in &order {
        let task = &graph.tasks[t];
        r.store.make_room(r.need(t), &task.inputs)?;
        let start = r.start.elapsed();
        let mut inputs = Vec::with_capacity(task.inputs.len());
        for (p, &i) in task.inputs.iter().enumerate() {
            inputs.push(if hand_over(task, p, consumers[i]) {
                r.store.take(i, &task.inputs)?
            } else {
                r.store.get(i, &task.inputs)?
            });
        }
        let v = run_task(task, r.backend, inputs)?;
        for &(o, b) in &slots[t] {
            r.sink.put(o, b, &v)?;
        }
        if r.profile {
            raw.push(RawRecord { task: t, start, end: r.start.elapsed(), worker: 0, bytes: v.nbytes() });
        }
        // Free the inputs first: their room may be what the result needs.
        let outs = std::iter::repeat_n(t, slots[t].len());
        let mut release_self = false;
        for i in task.inputs.iter().copied().chain(outs) {
            consumers[i] -= 1;
            if consumers[i] == 0 {
                if i == t {
                    release_self = true;
                } else {
                    r.store.release(i);
                }
            }
        }
        if !release_self {
            r.store.put(t, v, &[])?;
        }
        r.progress.tick();
    }
    Ok((1, raw))
}
