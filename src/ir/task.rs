//! [`TaskGraph`]: the flat list of tasks a plan lowers to, and its Graphviz export.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::ir::kernel::Kernel;

/// Index of a task in [`TaskGraph::tasks`].
pub type TaskId = usize;

/// One unit of work: a kernel applied to the results of other tasks.
#[derive(Clone, Debug)]
pub struct Task {
    /// What to compute.
    pub(crate) kernel: Kernel,
    /// The tasks whose results are the kernel's inputs, in order.
    pub inputs: Vec<TaskId>,
    /// Name of the graph node the task belongs to.
    pub node: Arc<str>,
    /// Block index of the node's block the task computes (or contributes to).
    pub block: Vec<usize>,
    /// Estimated bytes of the task's result (for memory planning; the scheduler accounts
    /// the real size once the result exists).
    pub out_bytes: usize,
    /// Estimated bytes the task allocates while it runs besides its result (a block it reads
    /// from a source inside the task).
    pub scratch_bytes: usize,
}

impl Task {
    /// The kernel's name (`"sum-partial"`, `"gemm"`, `"assemble"`, a map_blocks' node name…),
    /// as profiles and DOT call it.
    pub fn kernel_name(&self) -> &'static str {
        self.kernel.name()
    }
    /// `"name-kernel (i, j)"`, used in error messages and exports.
    pub fn label(&self) -> String {
        if let crate::ir::kernel::Kernel::Closure(_) = self.kernel
            && self.block.is_empty()
        {
            return self.node.to_string();
        }
        let idx: Vec<String> = self.block.iter().map(|i| i.to_string()).collect();
        format!("{}:{} ({})", self.node, self.kernel.name(), idx.join(", "))
    }
}

/// What the planner did, for users who want to see it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlanStats {
    /// Nodes of the expression DAG reachable from the outputs.
    pub nodes: usize,
    /// Blocks of all those nodes together: the tasks a plan without culling and fusion
    /// would run.
    pub blocks: usize,
    /// Nodes inlined into the tasks of their consumer (fused elementwise ops and reads).
    pub fused_nodes: usize,
    /// Tasks after culling and fusion.
    pub tasks: usize,
    /// Intermediate chunkings the rechunk planner put in to keep within the memory bound.
    pub rechunk_stages: usize,
}

/// Tasks in a topological order (inputs before consumers), and the output blocks.
#[derive(Clone, Debug, Default)]
pub struct TaskGraph {
    /// All tasks; a task's inputs always precede it.
    pub tasks: Vec<Task>,
    /// For each requested output, its block tasks in C order of the block grid.
    pub outputs: Vec<Vec<TaskId>>,
    /// For each output, the order in which [`TaskGraph::priorities`] visits its blocks
    /// (indices into its list), when its op prefers one to C order; empty: C order.
    pub(crate) visit: Vec<Vec<usize>>,
    /// What the planner did.
    pub stats: PlanStats,
}

impl TaskGraph {
    /// The graph in Graphviz DOT: one box per task, one edge per input.
    pub fn to_dot(&self) -> String {
        let mut s = String::from("digraph tessera {\n  rankdir=BT;\n  node [shape=box, fontsize=10];\n");
        let outputs: std::collections::HashSet<TaskId> = self.outputs.iter().flatten().copied().collect();
        for (i, t) in self.tasks.iter().enumerate() {
            let style = if outputs.contains(&i) { ", style=bold" } else { "" };
            let _ = writeln!(s, "  t{i} [label=\"{}\"{style}];", t.label().replace('"', "'"));
        }
        for (i, t) in self.tasks.iter().enumerate() {
            for &j in &t.inputs {
                let _ = writeln!(s, "  t{j} -> t{i};");
            }
        }
        s.push_str("}\n");
        s
    }

    /// How many tasks read each task's result (outputs count once more).
    pub fn consumer_counts(&self) -> Vec<u32> {
        let mut c = vec![0u32; self.tasks.len()];
        for t in &self.tasks {
            for &i in &t.inputs {
                c[i] += 1;
            }
        }
        for &o in self.outputs.iter().flatten() {
            c[o] += 1;
        }
        c
    }

    /// For each task, the `(output, block)` positions whose value it is.
    pub fn output_slots(&self) -> Vec<Vec<(usize, usize)>> {
        let mut slots = vec![Vec::new(); self.tasks.len()];
        for (o, ids) in self.outputs.iter().enumerate() {
            for (b, &t) in ids.iter().enumerate() {
                slots[t].push((o, b));
            }
        }
        slots
    }

    /// Static priorities in the spirit of dask's `order`: a depth-first post-order from the
    /// outputs, so the work that completes (and frees) an output's inputs runs before new
    /// roots are started. Lower runs first.
    pub fn priorities(&self) -> Vec<u32> {
        let n = self.tasks.len();
        let mut prio = vec![u32::MAX; n];
        let mut next = 0u32;
        let mut seen = vec![false; n];
        let mut stack: Vec<(TaskId, usize)> = Vec::new();
        let visit = self.outputs.iter().enumerate().flat_map(|(k, ids)| {
            let order = self.visit.get(k).filter(|v| v.len() == ids.len());
            (0..ids.len()).map(move |j| ids[order.map_or(j, |v| v[j])])
        });
        for o in visit {
            if seen[o] {
                continue;
            }
            seen[o] = true;
            stack.push((o, 0));
            while let Some(&mut (t, ref mut k)) = stack.last_mut() {
                let inputs = &self.tasks[t].inputs;
                if *k < inputs.len() {
                    let c = inputs[*k];
                    *k += 1;
                    if !seen[c] {
                        seen[c] = true;
                        stack.push((c, 0));
                    }
                } else {
                    prio[t] = next;
                    next += 1;
                    stack.pop();
                }
            }
        }
        // Tasks not reachable from an output (none, after culling) run last.
        for p in prio.iter_mut().filter(|p| **p == u32::MAX) {
            *p = next;
            next += 1;
        }
        prio
    }

    /// The most bytes one task needs at once: its inputs, its scratch and its result, by the
    /// planner's estimates; with the task's index. A memory budget below this cannot work.
    pub fn min_working_set(&self) -> (usize, Option<TaskId>) {
        let mut best = (0, None);
        for (i, t) in self.tasks.iter().enumerate() {
            let ins: usize = t.inputs.iter().map(|&j| self.tasks[j].out_bytes).sum();
            let need = ins + t.out_bytes + t.scratch_bytes;
            if need > best.0 {
                best = (need, Some(i));
            }
        }
        best
    }

    /// The peak bytes of results held at once if the tasks run one at a time in priority
    /// order with nothing spilled, by the planner's estimates: what a compute without a
    /// budget would hold (give or take the blocks in flight on other workers).
    pub fn predicted_peak_bytes(&self) -> usize {
        let prio = self.priorities();
        let mut order: Vec<TaskId> = (0..self.tasks.len()).collect();
        order.sort_unstable_by_key(|&t| prio[t]);
        let mut left = self.consumer_counts();
        let (mut held, mut peak) = (0usize, 0usize);
        for t in order {
            let task = &self.tasks[t];
            peak = peak.max(held + task.out_bytes + task.scratch_bytes);
            held += task.out_bytes;
            for &i in &task.inputs {
                left[i] -= 1;
                if left[i] == 0 {
                    held -= self.tasks[i].out_bytes;
                }
            }
        }
        peak
    }
}
