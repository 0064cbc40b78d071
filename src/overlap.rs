//! Ghost cells: `overlap`, `trim` and `map_overlap`.
//!
//! A stencil needs each block's neighbours' edges. [`Array::overlap`] extends every block by a
//! halo of `depth` elements per axis, gathered from the neighbouring blocks (as many as the
//! depth reaches, so a depth larger than a block is fine) or, beyond the array's edges, from
//! the [`Boundary`] condition; only the faces, edges and corners a block needs are copied.
//! [`Array::trim`] removes the halos again. [`Array::map_overlap`] does all three in one task
//! per block: gather, run the function on the extended block, trim.
//!
//! See [`Boundary`] for how each boundary condition maps to dask and `numpy.pad` modes.

use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD};

pub use crate::graph::halo::Boundary;

use crate::array::Array;
use crate::core::block::HostArray;
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};
use crate::graph::halo::extended_chunks;
use crate::graph::node::{Node, Op, SliceBlock, SliceSpec};
use crate::ir::kernel::{BlockFn, BlockInfo};

fn check(op: &str, ndim: usize, depth: &[usize], boundary: &[Boundary]) -> Result<()> {
    if depth.len() != ndim || boundary.len() != ndim {
        return Err(Error::invalid(format!(
            "{op}: {} depth(s) and {} boundary condition(s) for an array of {ndim} dimension(s)",
            depth.len(),
            boundary.len()
        )));
    }
    Ok(())
}

impl<T: Element> Array<T> {
    /// Every block extended by halos of `depth[a]` elements along axis `a`, with
    /// `boundary[a]` beyond the array's edges. The result's blocks overlap; its chunks are the
    /// extended block lengths.
    ///
    /// ```
    /// use tessera::overlap::Boundary;
    /// let x = tessera::arange(0i64, 6, 1, [3]).unwrap();
    /// let y = x.overlap(&[1], &[Boundary::Periodic]).unwrap();
    /// assert_eq!(y.chunks().axis(0), &[5, 5]);
    /// assert_eq!(y.to_vec().unwrap(), vec![5, 0, 1, 2, 3, 2, 3, 4, 5, 0]);
    /// ```
    pub fn overlap(&self, depth: &[usize], boundary: &[Boundary]) -> Result<Array<T>> {
        check("overlap", self.ndim(), depth, boundary)?;
        let chunks = extended_chunks(self.chunks(), depth, boundary);
        let op = Op::Overlap { depth: depth.to_vec(), boundary: boundary.to_vec() };
        Ok(Array::from_node(Node::new("overlap", T::DTYPE, chunks, op, vec![self.node().clone()])))
    }

    /// Remove the halos `overlap(depth, boundary)` added: `depth` on both sides of every
    /// block, except where a [`Boundary::None`] halo stopped at the array's edges. When this
    /// array was made from `overlap(depth, boundary)` by block-preserving ops (elementwise,
    /// `map_blocks`), the halos are known exactly, even for a `None` depth larger than the
    /// first or last block; `trim` of the overlap itself is the original array. Otherwise a
    /// `None` axis is taken to have no outer halo on its first and last blocks only.
    ///
    /// ```
    /// use tessera::overlap::Boundary;
    /// // Blocks of 2, 5, 5 and a depth of 4: block 1's left halo stops after 2 elements.
    /// let c = tessera::Chunks::new(vec![vec![2, 5, 5]]).unwrap();
    /// let x = tessera::arange(0i64, 12, 1, c).unwrap();
    /// let y = x.overlap(&[4], &[Boundary::None]).unwrap().map_blocks(|b| b.mapv(|v| v * 10)).unwrap();
    /// assert_eq!(y.trim(&[4], &[Boundary::None]).unwrap().to_vec().unwrap(), (0..12).map(|v| v * 10).collect::<Vec<_>>());
    /// ```
    pub fn trim(&self, depth: &[usize], boundary: &[Boundary]) -> Result<Array<T>> {
        check("trim", self.ndim(), depth, boundary)?;
        // The overlap this array's blocks come from, if any: its input's chunks give each
        // block's halos exactly.
        let mut n = self.node();
        let original = loop {
            match &n.op {
                Op::Overlap { depth: d, boundary: b } if d == depth && b == boundary => {
                    break Some(&n.inputs[0]);
                }
                Op::Elementwise(_) | Op::MapBlocks(_)
                    if n.inputs.first().is_some_and(|i| i.chunks == self.node().chunks) =>
                {
                    n = &n.inputs[0];
                }
                _ => break None,
            }
        };
        if let Some(x) = original
            && Arc::ptr_eq(n, self.node())
            && x.dtype == T::DTYPE
        {
            return Ok(Array::from_node(x.clone()));
        }
        let mut axes: Vec<Vec<SliceBlock>> = Vec::with_capacity(self.ndim());
        let mut out = Vec::with_capacity(self.ndim());
        for (a, blocks) in self.chunks().axes().iter().enumerate() {
            let mut v = Vec::with_capacity(blocks.len());
            let mut lens = Vec::with_capacity(blocks.len());
            for (i, &len) in blocks.iter().enumerate() {
                let none = boundary[a] == Boundary::None;
                let (l, r) = match original {
                    Some(x) => crate::graph::halo::halo(x.chunks.offsets(a), i, depth[a], boundary[a]),
                    None => (
                        if none && i == 0 { 0 } else { depth[a] },
                        if none && i + 1 == blocks.len() { 0 } else { depth[a] },
                    ),
                };
                if len < l + r || (len == l + r && blocks.len() > 1) {
                    return Err(Error::InvalidChunks(format!(
                        "trim: block {i} of axis {a} has {len} elements, fewer than its halos {l} + {r}"
                    )));
                }
                v.push((i, l, 1, len - l - r));
                lens.push(len - l - r);
            }
            axes.push(v);
            out.push(lens);
        }
        let chunks = crate::core::chunks::Chunks::from_axes(out);
        let spec = SliceSpec { axes, drop: vec![] };
        Ok(Array::from_node(Node::new("trim", T::DTYPE, chunks, Op::Slice(spec), vec![self.node().clone()])))
    }

    /// Apply `f` to every block extended by its halo and trim the result: one task per block.
    /// `f` must return a block of the shape it was given (elements near the halo's outer edge
    /// may be anything; they are trimmed). The result has this array's chunks.
    ///
    /// ```
    /// use tessera::overlap::Boundary;
    /// // A 3-point moving sum with the edge value repeated beyond the ends.
    /// let x = tessera::arange(0.0f64, 8.0, 1.0, [3]).unwrap();
    /// let y = x.map_overlap(&[1], &[Boundary::Nearest], |b| {
    ///     let mut out = b.to_owned();
    ///     for i in 1..b.len() - 1 {
    ///         out[i] = b[i - 1] + b[i] + b[i + 1];
    ///     }
    ///     out
    /// }).unwrap();
    /// assert_eq!(y.to_vec().unwrap(), vec![1.0, 3.0, 6.0, 9.0, 12.0, 15.0, 18.0, 20.0]);
    /// ```
    pub fn map_overlap<U, F>(&self, depth: &[usize], boundary: &[Boundary], f: F) -> Result<Array<U>>
    where
        U: Element,
        F: Fn(ArrayViewD<'_, T>) -> ArrayD<U> + Send + Sync + 'static,
    {
        check("map_overlap", self.ndim(), depth, boundary)?;
        let func: Arc<BlockFn> = Arc::new(move |blocks: &[HostArray], _: &BlockInfo| {
            let a = blocks[0].typed::<T>()?;
            Ok(HostArray::new(f(a.view()).into_shared()))
        });
        let op = Op::MapOverlap { depth: depth.to_vec(), boundary: boundary.to_vec(), func };
        let node = Node::new("map_overlap", U::DTYPE, self.chunks().clone(), op, vec![self.node().clone()]);
        Ok(Array::from_node(node))
    }
}
