//! Advanced indexing: integer lists along an axis (`take`), pointwise indexing (`vindex`)
//! and boolean masks (`compress`, `mask_select`).
//!
//! Output blocks never grow past the input's block size, whatever the indices. A `take` of
//! a source (or of an elementwise chain over sources) is pushed into the reads: each output
//! block reads only the slabs it picks (in runs of neighbouring indices), so the input blocks
//! are never made whole. Boolean masks are resolved by a counting pass when the op is built:
//! the mask's graph runs once to count the true elements of each of its blocks (only the
//! counts are kept), so the result's chunks are known, and each output block is then
//! selected lazily from its input block and mask block.

use std::ops::Range;
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};

use crate::array::elementwise::rebuild_over;
use crate::array::{Array, norm_axis};
use crate::core::block::HostArray;
use crate::core::chunks::Chunks;
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::core::source::BlockSource;
use crate::graph::node::{Node, Op};

impl<T: Element> Array<T> {
    /// The elements at `indices` along `axis` (NumPy's `x.take(indices, axis)`, i.e.
    /// `x[:, [3, 1, 2]]`): any order, repeats allowed, negative indices count from the end.
    /// Output blocks along the axis hold at most as many elements as the input's largest
    /// block there, whatever the indices, so no giant block appears.
    ///
    /// ```
    /// let x = tessera::arange(0i64, 10, 1, [4]).unwrap();
    /// let y = x.take(&[9, 0, 0, -2, 5], 0).unwrap();
    /// assert_eq!(y.to_vec().unwrap(), vec![9, 0, 0, 8, 5]);
    /// assert_eq!(y.chunks().axis(0), &[4, 1]);
    /// ```
    pub fn take(&self, indices: &[isize], axis: isize) -> Result<Array<T>> {
        let ax = norm_axis("take", axis, self.ndim())?;
        let n = self.shape()[ax];
        let mut flat = Vec::with_capacity(indices.len());
        for &i in indices {
            let j = if i < 0 { i + n as isize } else { i };
            if j < 0 || j >= n as isize {
                return Err(Error::IndexOutOfBounds { axis: ax, index: i, len: n });
            }
            flat.push(j as usize);
        }
        let size = self.chunks().axis(ax).iter().copied().max().unwrap_or(1).max(1);
        Ok(Array::from_node(take_node(self.node(), ax, &flat, size)))
    }

    /// Pointwise indexing (dask's `vindex`, NumPy's `x[i0, i1, …]` with integer arrays): one
    /// index list per axis, all of one length `L`; the result is 1-d with `L` elements,
    /// `x[i0[k], i1[k], …]`. Negative indices count from the end. Output blocks hold at most
    /// as many elements as the input's largest block.
    ///
    /// ```
    /// let x = tessera::arange(0i64, 12, 1, [5]).unwrap().reshape(&[3, 4]).unwrap();
    /// let y = x.vindex(&[&[0, 2, -1], &[3, 0, 1]]).unwrap();
    /// assert_eq!(y.to_vec().unwrap(), vec![3, 8, 9]);
    /// ```
    pub fn vindex(&self, indices: &[&[isize]]) -> Result<Array<T>> {
        let nd = self.ndim();
        if indices.len() != nd {
            return Err(Error::invalid(format!(
                "vindex: {} index lists for an array of {nd} dimension(s)",
                indices.len()
            )));
        }
        let len = indices.first().map_or(1, |l| l.len());
        if let Some(l) = indices.iter().find(|l| l.len() != len) {
            return Err(Error::invalid(format!(
                "vindex: index lists of lengths {len} and {} differ",
                l.len()
            )));
        }
        let c = self.chunks();
        let mut flat: Vec<(Vec<usize>, usize)> = Vec::with_capacity(len);
        for k in 0..len {
            let mut block = Vec::with_capacity(nd);
            let mut local = 0usize;
            for (ax, list) in indices.iter().enumerate() {
                let n = self.shape()[ax];
                let i = list[k];
                let j = if i < 0 { i + n as isize } else { i };
                if j < 0 || j >= n as isize {
                    return Err(Error::IndexOutOfBounds { axis: ax, index: i, len: n });
                }
                let j = j as usize;
                let offs = c.offsets(ax);
                let b = offs.partition_point(|&o| o <= j) - 1;
                block.push(b);
                local = local * c.axis(ax)[b] + (j - offs[b]);
            }
            flat.push((block, local));
        }
        let size = c.max_block_shape().iter().product::<usize>().max(1);
        let picks: Vec<Vec<(Vec<usize>, usize)>> =
            if flat.is_empty() { vec![vec![]] } else { flat.chunks(size).map(|p| p.to_vec()).collect() };
        let chunks = Chunks::from_axes(vec![picks.iter().map(|p| p.len()).collect()]);
        Ok(Array::from_node(Node::new(
            "vindex",
            T::DTYPE,
            chunks,
            Op::Points { picks },
            vec![self.node().clone()],
        )))
    }

    /// The elements where `mask` (same shape) is true, in C order, as a 1-d array (NumPy's
    /// `x[mask]`). Both are flattened (a reshape, so blocks hold whole rows) and the flat
    /// array is compressed block by block; the counting pass of [`Array::compress`] makes the
    /// result's length and chunks known.
    ///
    /// ```
    /// let x = tessera::arange(0i64, 6, 1, [2]).unwrap().reshape(&[2, 3]).unwrap();
    /// let keep = x.gt(2).unwrap();
    /// assert_eq!(x.mask_select(&keep).unwrap().to_vec().unwrap(), vec![3, 4, 5]);
    /// ```
    pub fn mask_select(&self, mask: &Array<bool>) -> Result<Array<T>> {
        if mask.shape() != self.shape() {
            return Err(Error::ShapeMismatch {
                op: "mask_select".into(),
                left: self.shape().to_vec(),
                right: mask.shape().to_vec(),
            });
        }
        let n = self.shape().iter().product::<usize>() as isize;
        if self.ndim() == 1 {
            return self.compress(mask, 0);
        }
        self.reshape(&[n])?.compress(&mask.reshape(&[n])?, 0)
    }

    /// The slabs along `axis` where the 1-d `mask` is true (NumPy's `x[:, mask]`, or
    /// `np.compress(mask, x, axis)`). A counting pass runs when this is called: the mask
    /// (cut like `x` along the axis) is computed once and only the number of true elements
    /// in each of its blocks is kept. Output block `k` along the axis is then the selection
    /// from input block `k` (blocks with nothing selected are left out), so no output block
    /// is larger than its input block and the chunks are known before anything runs.
    ///
    /// ```
    /// use tessera::prelude::*;
    /// let x = tessera::arange(0i64, 8, 1, [3]).unwrap();
    /// let mask = tessera::from_array(ndarray::arr1(&[true, false, false, true, true, false, false, true]).into_dyn(), [4]).unwrap();
    /// let y = x.compress(&mask, 0).unwrap();
    /// assert_eq!(y.chunks().axis(0), &[1, 2, 1]);
    /// assert_eq!(y.to_vec().unwrap(), vec![0, 3, 4, 7]);
    /// ```
    pub fn compress(&self, mask: &Array<bool>, axis: isize) -> Result<Array<T>> {
        let ax = norm_axis("compress", axis, self.ndim())?;
        if mask.shape() != [self.shape()[ax]] {
            return Err(Error::ShapeMismatch {
                op: format!("compress along axis {ax}"),
                left: self.shape().to_vec(),
                right: mask.shape().to_vec(),
            });
        }
        let along = self.chunks().axis(ax).to_vec();
        let mask = mask.rechunk(Chunks::from_axes(vec![along.clone()]))?;
        let one_each = Chunks::from_axes(vec![vec![1; along.len()]]);
        let counts = mask
            .map_blocks_with(one_each, |b, _| {
                let n = b.iter().filter(|&&v| v).count() as i64;
                Ok(ArrayD::from_elem(IxDyn(&[1]), n))
            })?
            .compute()?;
        let mut blocks = Vec::new();
        let mut sizes = Vec::new();
        for (b, &n) in counts.iter().enumerate() {
            if n > 0 {
                blocks.push(b);
                sizes.push(n as usize);
            }
        }
        if blocks.is_empty() {
            blocks.push(0);
            sizes.push(0);
        }
        let mut axes = self.chunks().axes().to_vec();
        axes[ax] = sizes;
        let op = Op::Compress { axis: ax, blocks };
        let inputs = vec![self.node().clone(), mask.node().clone()];
        Ok(Array::from_node(Node::new("compress", T::DTYPE, Chunks::from_axes(axes), op, inputs)))
    }
}

/// A take node, pushed through elementwise ops and into sources where it can be: `indices`
/// are in range, output blocks along `axis` hold `size` indices (the last fewer).
pub(crate) fn take_node(node: &Arc<Node>, axis: usize, indices: &[usize], size: usize) -> Arc<Node> {
    let sizes: Vec<usize> =
        if indices.is_empty() { vec![0] } else { indices.chunks(size).map(|c| c.len()).collect() };
    let mut axes = node.chunks.axes().to_vec();
    axes[axis] = sizes;
    let chunks = Chunks::from_axes(axes);
    match &node.op {
        Op::Source(src) => {
            let mut shape = node.shape.clone();
            shape[axis] = indices.len();
            let s = TakenSource { inner: src.clone(), axis, indices: indices.into(), shape };
            return Node::new(node.name.clone(), node.dtype, chunks, Op::Source(Arc::new(s)), vec![]);
        }
        Op::Elementwise(_) => {
            let rebuilt = rebuild_over(node, |input, off| {
                Ok(if axis < off || input.shape[axis - off] != node.shape[axis] {
                    input.clone() // broadcast along the axis: every index reads the same
                } else {
                    take_node(input, axis - off, indices, size)
                })
            });
            if let Ok(n) = rebuilt
                && n.chunks == chunks
            {
                return n;
            }
        }
        _ => {}
    }
    let offs = node.chunks.offsets(axis);
    let flat: Vec<(usize, usize)> = indices
        .iter()
        .map(|&j| {
            let b = offs.partition_point(|&o| o <= j) - 1;
            (b, j - offs[b])
        })
        .collect();
    let picks: Vec<Vec<(usize, usize)>> =
        if flat.is_empty() { vec![vec![]] } else { flat.chunks(size).map(|c| c.to_vec()).collect() };
    Node::new("take", node.dtype, chunks, Op::Take { axis, picks }, vec![node.clone()])
}

/// A source seen through a take along one axis: a read gets the picked slabs in runs of
/// neighbouring indices and copies them into place.
#[derive(Debug)]
struct TakenSource {
    inner: Arc<dyn BlockSource>,
    axis: usize,
    indices: Arc<[usize]>,
    shape: Vec<usize>,
}

impl BlockSource for TakenSource {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn dtype(&self) -> DType {
        self.inner.dtype()
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn is_cheap(&self) -> bool {
        self.inner.is_cheap()
    }
    fn read(&self, region: &[Range<usize>]) -> Result<HostArray> {
        self.inner.read_take(region, self.axis, &self.indices[region[self.axis].clone()])
    }
}
