//! Block-level ops: `map_blocks` (user closures per block, the escape hatch for custom
//! kernels) and `rechunk`.

use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD};

use crate::array::Array;
use crate::array::elementwise::rechunk_node;
use crate::core::block::HostArray;
use crate::core::chunks::{ChunkSpec, Chunks};
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};
use crate::graph::node::{Node, Op};
use crate::ir::kernel::{BlockFn, BlockInfo};

impl<T: Element> Array<T> {
    /// Apply `f` to every block; the output has the same chunks. `f` sees each block as an
    /// ndarray view and returns a block of the same shape.
    ///
    /// ```
    /// let x = tessera::arange(0.0f64, 10.0, 1.0, [4]).unwrap();
    /// let y = x.map_blocks(|b| b.mapv(|v| v * v)).unwrap();
    /// assert_eq!(y.compute().unwrap()[3], 9.0);
    /// ```
    pub fn map_blocks<U, F>(&self, f: F) -> Result<Array<U>>
    where
        U: Element,
        F: Fn(ArrayViewD<'_, T>) -> ArrayD<U> + Send + Sync + 'static,
    {
        let chunks = self.chunks().clone();
        self.map_blocks_with(chunks, move |b, _| Ok(f(b)))
    }

    /// Apply a fallible `f` to every block, declaring the output chunks (same block grid as
    /// the input; block shapes may differ). `f` also gets the block's index and region. A
    /// block of another shape than declared, or an `Err`, fails the compute with an error
    /// naming the block.
    pub fn map_blocks_with<U, F>(&self, chunks: impl Into<ChunkSpec>, f: F) -> Result<Array<U>>
    where
        U: Element,
        F: Fn(ArrayViewD<'_, T>, &BlockInfo) -> Result<ArrayD<U>> + Send + Sync + 'static,
    {
        let spec = chunks.into();
        let out_chunks = match &spec {
            ChunkSpec::Explicit(c) => c.clone(),
            other => other.resolve(self.shape(), U::DTYPE)?,
        };
        if out_chunks.numblocks() != self.numblocks() {
            return Err(Error::InvalidChunks(format!(
                "map_blocks output block grid {:?} differs from the input's {:?}",
                out_chunks.numblocks(),
                self.numblocks()
            )));
        }
        let func: Arc<BlockFn> = Arc::new(move |blocks: &[HostArray], info: &BlockInfo| {
            let a = blocks[0].typed::<T>()?;
            let out = f(a.view(), info)?;
            Ok(HostArray::new(out.into_shared()))
        });
        let node =
            Node::new("map_blocks", U::DTYPE, out_chunks, Op::MapBlocks(func), vec![self.node().clone()]);
        Ok(Array::from_node(node))
    }

    /// The same values cut into other blocks. A rechunk to the current chunks is a no-op.
    ///
    /// ```
    /// let x = tessera::ones::<f32>(&[10, 10], [10, 1]).unwrap();
    /// let y = x.rechunk([1, 10]).unwrap();
    /// assert_eq!(y.numblocks(), vec![10, 1]);
    /// ```
    pub fn rechunk(&self, chunks: impl Into<ChunkSpec>) -> Result<Array<T>> {
        let c: Chunks = chunks.into().resolve(self.shape(), T::DTYPE)?;
        Ok(Array::from_node(rechunk_node(self.node(), c)))
    }
}
