//! The CPU backend: executes every [`Kernel`] with ndarray (and faer where matrices appear).

#[cfg(feature = "blas")]
pub(crate) mod blas;
#[cfg(not(feature = "blas"))]
#[path = "blas_off.rs"]
pub(crate) mod blas;
pub(crate) mod blocks;
pub(crate) mod counting;
pub(crate) mod elementwise;
pub(crate) mod groupby;
pub(crate) mod heatwave;
pub(crate) mod order;
pub(crate) mod pool;
pub(crate) mod radix;
pub mod reduce;
pub(crate) mod rotation;
pub(crate) mod search;
pub(crate) mod select;
pub(crate) mod select_sort;
#[cfg(test)]
mod tile_tests;
pub(crate) mod tiles;
pub(crate) mod window;

use crate::backend::Backend;
use crate::core::block::{HostArray, Value};
use crate::core::error::{Error, Result};
use crate::ir::kernel::{FusedKernel, Kernel, Leaf};

/// Tile products OpenBLAS ran in this process (feature `blas`), for tests.
#[cfg(all(feature = "blas", any(test, feature = "testing")))]
pub fn blas_products() -> usize {
    blas::PRODUCTS.load(std::sync::atomic::Ordering::Relaxed)
}

/// The CPU backend. Stateless; kernels run on the calling worker thread.
#[derive(Debug, Default, Clone, Copy)]
pub struct CpuBackend;

impl Backend for CpuBackend {
    fn name(&self) -> &str {
        "cpu"
    }

    fn execute(&self, kernel: &Kernel, inputs: &[Value]) -> Result<Value> {
        Ok(match kernel {
            Kernel::Fused(f) => return fused(f, inputs),
            Kernel::ReduceCombine(op) => {
                let parts: Vec<&Value> = inputs.iter().collect();
                return reduce::combine(op, &parts);
            }
            Kernel::ReduceFinalize { op, out_shape } => {
                let part = inputs.first().ok_or_else(|| Error::internal("finalize: no input"))?;
                Value::Array(reduce::finalize(op, part, out_shape)?)
            }
            Kernel::Slice(k) => Value::Array(blocks::slice(k, first_array(inputs)?)?),
            Kernel::Assemble(k) => Value::Array(blocks::assemble(k, inputs)?),
            Kernel::Gather(k) => Value::Array(blocks::gather(k, inputs)?),
            Kernel::Take(k) => Value::Array(blocks::take(k, inputs)?),
            Kernel::Relayout(k) => Value::Array(blocks::relayout(k, first_array(inputs)?)?),
            Kernel::MapOverlap(k) => {
                let block = blocks::map_overlap(k, inputs)?;
                match &k.reduce {
                    Some(step) => return reduce::partial(&block, step),
                    None => Value::Array(block),
                }
            }
            Kernel::MapBlocks(k) => Value::Array(blocks::map_blocks(k, inputs)?),
            Kernel::Scan(k) => Value::Array(blocks::scan(k, inputs)?),
            Kernel::Closure(f) => return f(inputs),
            Kernel::Group(k) => return groupby::execute(k, inputs),
            Kernel::Order(k) => return order::execute(k, inputs),
            Kernel::Compress { axis, dtype } => Value::Array(blocks::compress(*axis, *dtype, inputs)?),
            Kernel::Points(k) => Value::Array(blocks::points(k, inputs)?),
            Kernel::Reshape { shape } => Value::Array(blocks::reshape(shape, first_array(inputs)?)?),
            Kernel::FromDelayed(k) => {
                let v = inputs.first().ok_or_else(|| Error::internal("from_delayed: no input"))?;
                return (k.convert)(v, &k.shape);
            }
            Kernel::Tile(k) => return tiles::execute(k, inputs.to_vec()),
            Kernel::Window(k) => Value::Array(window::rolling(k, first_array(inputs)?)?),
            Kernel::Count(k) => return counting::execute(k, inputs),
            Kernel::Heatwave(k) => Value::Array(heatwave::execute(k, inputs)?),
        })
    }

    fn execute_owned(&self, kernel: &Kernel, inputs: Vec<Value>) -> Result<Value> {
        match kernel {
            Kernel::Tile(k) => tiles::execute(k, inputs),
            _ => self.execute(kernel, &inputs),
        }
    }
}

fn first_array(inputs: &[Value]) -> Result<&HostArray> {
    inputs.first().ok_or_else(|| Error::internal("kernel: no input"))?.array()
}

/// Read the leaves, evaluate the expression, reduce if asked.
fn fused(f: &FusedKernel, inputs: &[Value]) -> Result<Value> {
    let leaves = read_leaves(f, inputs)?;
    fused_on_leaves(f, leaves)
}

/// The leaves of a fused task: its inputs, or regions read from sources.
fn read_leaves(f: &FusedKernel, inputs: &[Value]) -> Result<Vec<HostArray>> {
    let mut leaves = Vec::with_capacity(f.leaves.len());
    for leaf in &f.leaves {
        leaves.push(match leaf {
            Leaf::Input(i) => {
                inputs.get(*i).ok_or_else(|| Error::internal("fused kernel: missing input"))?.array()?.clone()
            }
            Leaf::Source { source, region } => source.read(region)?,
        });
    }
    Ok(leaves)
}

/// Evaluate a fused task on leaves already read.
pub(crate) fn fused_on_leaves(f: &FusedKernel, mut leaves: Vec<HostArray>) -> Result<Value> {
    let block = if f.expr.is_identity() && leaves[0].shape() == f.out_shape.as_slice() {
        leaves.swap_remove(0)
    } else {
        elementwise::eval(&f.expr, &leaves, &f.out_shape)?
    };
    match &f.reduce {
        None => Ok(Value::Array(block)),
        Some(step) => reduce::partial(&block, step),
    }
}
