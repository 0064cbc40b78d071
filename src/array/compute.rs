//! Computing arrays: plan the graph, run it, assemble the blocks.

use std::sync::{Arc, Mutex};

use ndarray::{ArrayD, Slice};

use crate::array::Array;
use crate::compute::{OutputSink, RunReport, run_blocks, run_into};
use crate::core::block::{HostArray, Value};
use crate::core::chunks::unravel;
use crate::core::dtype::Element;
use crate::core::error::Result;
use crate::graph::TaskGraph;
use crate::graph::node::Node;
use crate::graph::plan::{plan, plan_for};
use crate::runtime::ComputeOptions;
use crate::with_dtype;

/// Any array, whatever its element type (for computing several at once).
pub trait AnyArray {
    /// The graph node (internal: only the crate can make the key).
    #[doc(hidden)]
    fn any_node(&self, key: NodeKey) -> &Arc<Node>;
}
impl<T: Element> AnyArray for Array<T> {
    fn any_node(&self, _: NodeKey) -> &Arc<Node> {
        self.node()
    }
}

/// The key to [`AnyArray`]'s node, which only the crate can make.
#[doc(hidden)]
#[derive(Debug)]
pub struct NodeKey(());

/// The graph node of any array.
pub(crate) fn node_of(a: &dyn AnyArray) -> &Arc<Node> {
    a.any_node(NodeKey(()))
}

/// Compute several arrays in one graph: common subgraphs run once.
///
/// ```
/// use tessera::prelude::*;
/// let x = tessera::random::uniform::<f64>(1, &[1000], [100]).unwrap();
/// let s = x.sum(Axes::All).unwrap();
/// let m = x.max(Axes::All).unwrap();
/// let r = tessera::compute_many(&[&s, &m], &ComputeOptions::default()).unwrap();
/// assert_eq!(r.len(), 2);
/// ```
pub fn compute_many(arrays: &[&dyn AnyArray], opts: &ComputeOptions) -> Result<Vec<HostArray>> {
    let nodes: Vec<Arc<Node>> = arrays.iter().map(|a| node_of(*a).clone()).collect();
    Ok(run_assembled(&nodes, opts)?.0)
}

/// The task graph [`compute_many`] would run for `arrays`: planned together, so what they
/// share is computed once.
///
/// ```
/// use tessera::prelude::*;
/// let x = tessera::ones::<f64>(&[100], [10])?;
/// let y = x.exp();
/// let (s, m) = (y.sum(Axes::All)?, y.max(Axes::All)?);
/// let g = tessera::plan_many(&[&s, &m], &ComputeOptions::default());
/// // exp's blocks are tasks of their own (two consumers), each run once.
/// assert_eq!(g.tasks.iter().filter(|t| &*t.node == "exp").count(), 10);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn plan_many(arrays: &[&dyn AnyArray], opts: &ComputeOptions) -> TaskGraph {
    let nodes: Vec<Arc<Node>> = arrays.iter().map(|a| node_of(*a).clone()).collect();
    plan_for(&nodes, opts)
}

/// [`compute_many`], with the [`RunReport`] of the run.
pub fn compute_many_report(
    arrays: &[&dyn AnyArray],
    opts: &ComputeOptions,
) -> Result<(Vec<HostArray>, RunReport)> {
    let nodes: Vec<Arc<Node>> = arrays.iter().map(|a| node_of(*a).clone()).collect();
    run_assembled(&nodes, opts)
}

/// Plan and run `nodes`, copying each output block into its node's result as it arrives.
fn run_assembled(nodes: &[Arc<Node>], opts: &ComputeOptions) -> Result<(Vec<HostArray>, RunReport)> {
    check_results_fit(nodes)?;
    let sink = ManyAssembler { nodes, outs: nodes.iter().map(|_| Mutex::new(None)).collect() };
    let report = run_into(nodes, opts, &sink)?;
    let mut results = Vec::with_capacity(nodes.len());
    for (n, out) in nodes.iter().zip(sink.outs) {
        let out = out.into_inner().map_err(|_| crate::Error::internal("result poisoned"))?;
        results.push(out.unwrap_or_else(|| HostArray::zeros(n.dtype, &n.shape)));
    }
    Ok((results, report))
}

/// An error, before anything runs, when the results `compute` would return together have
/// more bytes than this machine's memory (they live outside the memory budget, in the
/// caller's hands).
fn check_results_fit(nodes: &[Arc<Node>]) -> Result<()> {
    let bytes = nodes.iter().fold(0usize, |acc, n| {
        let elems = n.shape.iter().fold(1usize, |p, &d| p.saturating_mul(d));
        acc.saturating_add(elems.saturating_mul(n.dtype.size()))
    });
    let memory = crate::runtime::physical_memory().unwrap_or(usize::MAX);
    if bytes > memory {
        let names: Vec<&str> = nodes.iter().map(|n| &*n.name).collect();
        return Err(crate::Error::InvalidArgument(format!(
            "the result of {} is {bytes} bytes, more than this machine's {memory} bytes of memory: \
             compute() returns it in memory; write it to a file block by block instead (to_npy, to_zarr)",
            names.join(", ")
        )));
    }
    Ok(())
}

/// Copies the output blocks of several arrays into their results as they arrive (each
/// block is dropped once copied, so the peak is the results plus the blocks in flight).
struct ManyAssembler<'a> {
    nodes: &'a [Arc<Node>],
    outs: Vec<Mutex<Option<HostArray>>>,
}

impl OutputSink for ManyAssembler<'_> {
    fn put(&self, output: usize, block: usize, value: &Value) -> Result<()> {
        let node = &self.nodes[output];
        check_blocks_at(node, block, value)?;
        let grid = node.chunks.numblocks();
        let mut g = self.outs[output].lock().map_err(|_| crate::Error::internal("result poisoned"))?;
        if grid.iter().product::<usize>() == 1 {
            *g = Some(value.array()?.clone());
            return Ok(());
        }
        let out = g.get_or_insert_with(|| HostArray::zeros(node.dtype, &node.shape));
        let region = node.chunks.block_region(&unravel(block, &grid));
        with_dtype!(node.dtype, T => {
            let src = value.array()?.typed::<T>()?;
            let dst = out.typed_mut::<T>()?;
            dst.slice_each_axis_mut(|ax| Slice::from(region[ax.axis.index()].clone())).assign(src);
            Ok(())
        })
    }
}

/// Check that each computed block has the shape the node's chunks declare.
fn check_blocks(node: &Node, blocks: &[Value]) -> Result<()> {
    for (lin, b) in blocks.iter().enumerate() {
        check_blocks_at(node, lin, b)?;
    }
    Ok(())
}

/// Check that block `lin` of `node` has the declared shape and dtype.
fn check_blocks_at(node: &Node, lin: usize, b: &Value) -> Result<()> {
    let idx = unravel(lin, &node.chunks.numblocks());
    let want = node.chunks.block_shape(&idx);
    let a = b.array()?;
    if a.shape() != want.as_slice() || a.dtype() != node.dtype {
        return Err(crate::Error::task_failed(
            format!("{} block {idx:?}", node.name),
            crate::Error::invalid(format!(
                "produced a {} block of shape {:?}; its chunks declare {} {want:?}",
                a.dtype(),
                a.shape(),
                node.dtype
            )),
        ));
    }
    Ok(())
}

impl<T: Element> Array<T> {
    /// Compute the array with the default options.
    pub fn compute(&self) -> Result<ArrayD<T>> {
        self.compute_with(&ComputeOptions::global())
    }
    /// Compute the array with the given options.
    pub fn compute_with(&self, opts: &ComputeOptions) -> Result<ArrayD<T>> {
        Ok(self.compute_report(opts)?.0)
    }
    /// Compute, and report what the run did (tasks, peak bytes held, workers). Blocks are
    /// copied into the result as soon as each is computed and then dropped, so the peak
    /// memory is the result plus the blocks in flight.
    pub fn compute_report(&self, opts: &ComputeOptions) -> Result<(ArrayD<T>, RunReport)> {
        let (mut results, report) = run_assembled(std::slice::from_ref(self.node()), opts)?;
        let out = results.pop().expect("one result").into_typed::<T>()?;
        Ok((out, report))
    }
    /// Compute every block, in C order of the block grid, without assembling them. Each
    /// block is checked against the shape its chunks declare.
    pub fn block_values(&self, opts: &ComputeOptions) -> Result<Vec<HostArray>> {
        let (mut outs, _) = run_blocks(std::slice::from_ref(self.node()), opts)?;
        let blocks = outs.pop().unwrap_or_default();
        check_blocks(self.node(), &blocks)?;
        blocks.into_iter().map(|v| v.array().cloned()).collect()
    }
    /// Compute a 0-d (or one-element) array to its value (NumPy's `a.item()`).
    pub fn item(&self) -> Result<T> {
        let a = self.compute()?;
        if a.len() != 1 {
            return Err(crate::Error::invalid(format!(
                "item() of an array of shape {:?} ({} elements)",
                a.shape(),
                a.len()
            )));
        }
        Ok(*a.iter().next().expect("one element"))
    }
    /// Compute and flatten in C order (NumPy's `a.ravel().tolist()`).
    pub fn to_vec(&self) -> Result<Vec<T>> {
        Ok(self.compute()?.iter().copied().collect())
    }
    /// The task graph `compute()` would run (culled and fused); `.stats` says what the
    /// planner did and `.to_dot()` draws it.
    pub fn plan(&self) -> TaskGraph {
        plan(std::slice::from_ref(self.node()))
    }
    /// The task graph `compute_with(opts)` would run (the memory budget in `opts` bounds
    /// the rechunk planner's stages).
    pub fn plan_with(&self, opts: &ComputeOptions) -> TaskGraph {
        plan_for(std::slice::from_ref(self.node()), opts)
    }
    /// The task graph in Graphviz DOT.
    pub fn to_dot(&self) -> String {
        self.plan().to_dot()
    }
}
