//! The synchronous scheduler: every task on the calling thread, in priority order.

use crate::backend::Backend;
use crate::block::Value;
use crate::error::Result;
use crate::graph::TaskGraph;
use crate::scheduler::{OutputSink, RunReport, run_task};

pub(crate) fn run(graph: &TaskGraph, backend: &dyn Backend, sink: &dyn OutputSink) -> Result<RunReport> {
    let prio = graph.priorities();
    let mut order: Vec<usize> = (0..graph.tasks.len()).collect();
    order.sort_unstable_by_key(|&t| prio[t]);
    let mut consumers = graph.consumer_counts();
    let slots = graph.output_slots();
    let mut results: Vec<Option<Value>> = vec![None; graph.tasks.len()];
    let (mut held, mut peak) = (0usize, 0usize);
    let mut inputs = Vec::new();
    for &t in &order {
        let task = &graph.tasks[t];
        inputs.clear();
        for &i in &task.inputs {
            inputs.push(results[i].clone().expect("priorities are a topological order"));
        }
        let v = run_task(task, backend, &inputs)?;
        held += v.nbytes();
        peak = peak.max(held);
        for &(o, b) in &slots[t] {
            sink.put(o, b, &v)?;
        }
        results[t] = Some(v);
        let outs = std::iter::repeat_n(t, slots[t].len());
        for i in task.inputs.iter().copied().chain(outs) {
            consumers[i] -= 1;
            if consumers[i] == 0
                && let Some(v) = results[i].take()
            {
                held -= v.nbytes();
            }
        }
    }
    let report = RunReport { tasks_run: order.len(), peak_bytes: peak, workers: 1 };
    Ok(report)
}
