//! The one entry from lazy nodes to results: plan → place → execute → sink.
//!
//! Arrays, io, delayed graphs and linear algebra all compute through here, so a new way of
//! running a graph (MPI ranks, a resident GPU pool) plugs in at one place. Planning culls and
//! fuses ([`crate::graph::plan`]); the scheduler places each task on a backend by the options'
//! device policy, runs the tasks inside the memory budget and hands every output block to the
//! caller's [`OutputSink`] as soon as it exists.

use std::path::Path;
use std::sync::Arc;

use crate::backend::cpu::CpuBackend;
use crate::core::block::Value;
use crate::core::error::Result;
use crate::core::source::BlockSource;
use crate::graph::node::Node;
use crate::graph::plan::plan_for;
use crate::runtime::ComputeOptions;
use crate::scheduler::{DiskArray, DiskSink, execute, execute_into};

pub use crate::scheduler::{OutputSink, RunReport};

/// Plan `nodes` for `opts` and run them, handing every output block to `sink` (output `i`
/// is `nodes[i]`, blocks in C order of its grid) as soon as it is computed.
pub fn run_into(nodes: &[Arc<Node>], opts: &ComputeOptions, sink: &dyn OutputSink) -> Result<RunReport> {
    opts.check()?;
    let graph = plan_for(nodes, opts);
    execute_into(&graph, &CpuBackend, opts, sink)
}

/// Plan `nodes` for `opts` and run them; every output's blocks, in C order of its grid.
pub fn run_blocks(nodes: &[Arc<Node>], opts: &ComputeOptions) -> Result<(Vec<Vec<Value>>, RunReport)> {
    opts.check()?;
    let graph = plan_for(nodes, opts);
    execute(&graph, &CpuBackend, opts)
}

/// Compute `nodes` once and keep their blocks on disk, in unlinked files under `dir` (their
/// space goes when the returned sources are dropped; a killed process leaves nothing):
/// sources for later graphs to read, in the nodes' own chunks.
pub fn persist_on_disk(
    nodes: &[Arc<Node>],
    dir: &Path,
    opts: &ComputeOptions,
) -> Result<Vec<Arc<dyn BlockSource>>> {
    let arrays: Vec<DiskArray> = nodes.iter().map(|n| DiskArray::new(dir, n.dtype, &n.chunks)).collect();
    run_into(nodes, opts, &DiskSink(&arrays))?;
    Ok(arrays.into_iter().map(|a| Arc::new(a) as Arc<dyn BlockSource>).collect())
}
