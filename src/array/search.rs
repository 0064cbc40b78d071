//! Searching: `digitize`, `searchsorted`, `isin`, `unique` (NumPy's semantics).
//!
//! - `digitize` and `isin` are elementwise: one task per block of `x`, the bins or the test
//!   elements held sorted in the kernel's descriptor (small tables: they are copied into
//!   every task's descriptor by reference, not per element).
//! - `searchsorted(a, v)` never gathers `a`: for each pair of an `a` block and a `v` block a
//!   task counts, by binary search in the `a` block, the elements `< v` (`≤ v` for side
//!   right); the counts of one `v` block are added over `a`'s blocks by a tree. Cost:
//!   `nblocks(a) × nblocks(v)` tasks of `O(|v block| · log |a block|)` each, plus the trees;
//!   memory: a task holds one block of each and an `i64` block of `v`'s block shape.
//! - `unique` has a data-dependent length, so it is computed eagerly: per block a sorted set
//!   of distinct values (with counts and first flat indices), merged by a tree of sorted
//!   merges, so no task holds more than the distinct values of its blocks; the inverse is a
//!   lazy array of `x`'s shape and chunks built on the values found.
//!
//! Order is NumPy's: numbers ascending, NaN after every number; NaNs equal each other (one
//! NaN in `unique`, as NumPy 2's default `equal_nan=True`); `-0.0` equals `0.0`.

use std::str::FromStr;
use std::sync::Arc;

use ndarray::{Array1, ArrayD};

use crate::array::Array;
use crate::array::counting::count_kernel;
use crate::core::block::{HostArray, Value};
use crate::core::chunks::{Chunks, unravel};
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::graph::node::{Node, Op};
use crate::graph::tiled::{TileBuilder, TiledOp, TiledSpec, next_group};
use crate::ir::counting::CountStep;
use crate::ir::kernel::{Factors, Kernel};
use crate::ir::task::TaskId;

/// Which index `searchsorted` returns for a value equal to elements of the sorted array.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Side {
    /// The first suitable index: the number of elements `< v`.
    #[default]
    Left,
    /// The last suitable index: the number of elements `≤ v`.
    Right,
}

impl FromStr for Side {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "left" => Ok(Side::Left),
            "right" => Ok(Side::Right),
            _ => Err(Error::invalid(format!("searchsorted: side {s:?}; \"left\" or \"right\""))),
        }
    }
}

/// One kernel per block of input 0 (the other inputs in its chunks): an output in its chunks.
struct PerBlock {
    name: &'static str,
    kernel: Kernel,
    out_size: usize,
}

impl TiledOp for PerBlock {
    fn name(&self) -> &str {
        self.name
    }

    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let chunks = b.chunks(0).clone();
        let grid = chunks.numblocks();
        let out = (0..chunks.nblocks())
            .map(|lin| {
                let idx = unravel(lin, &grid);
                let dep = b.input(0, &idx);
                let bytes = chunks.block_shape(&idx).iter().product::<usize>() * self.out_size;
                b.push_kernel(self.kernel.clone(), vec![dep], &idx, bytes)
            })
            .collect();
        vec![out]
    }
}

/// A node of `x`'s shape and chunks, one `step` task per block.
fn per_block<T: Element, U: Element>(x: &Array<T>, name: &'static str, step: CountStep) -> Array<U> {
    let op = PerBlock { name, kernel: count_kernel(T::DTYPE, step), out_size: U::DTYPE.size() };
    let spec = TiledSpec { op: Arc::new(op), group: next_group(), output: 0 };
    Array::from_node(Node::new(name, U::DTYPE, x.chunks().clone(), Op::Tiled(spec), vec![x.node().clone()]))
}

/// A sorted 1-d block of `values` (NaN last).
fn sorted_block<T: Element>(mut values: Vec<T>) -> HostArray {
    values.sort_by(|a, b| match (a.is_nan(), b.is_nan()) {
        (false, false) => a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal),
        (x, y) => x.cmp(&y),
    });
    HostArray::new(Array1::from(values).into_dyn().into_shared())
}

/// Per pair of an `a` block and a `v` block a count, added over `a`'s blocks (see the module
/// documentation).
struct SearchSorted {
    dtype: DType,
    right: bool,
}

impl TiledOp for SearchSorted {
    fn name(&self) -> &str {
        "searchsorted"
    }

    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let (ac, vc) = (b.chunks(0).clone(), b.chunks(1).clone());
        let grid = vc.numblocks();
        let mut out = Vec::with_capacity(vc.nblocks());
        for lin in 0..vc.nblocks() {
            let idx = unravel(lin, &grid);
            let bytes = vc.block_shape(&idx).iter().product::<usize>() * 8;
            let level: Vec<TaskId> = (0..ac.nblocks())
                .map(|i| {
                    let deps = vec![b.input(0, &[i]), b.input(1, &idx)];
                    let k = count_kernel(self.dtype, CountStep::SearchCount { right: self.right });
                    b.push_kernel(k, deps, &idx, bytes)
                })
                .collect();
            let root = b.tree(level, 16, || count_kernel(DType::I64, CountStep::Add), &idx, bytes);
            out.push(root[0]);
        }
        vec![out]
    }
}

/// Where the elements of `v` would be inserted into the sorted 1-d array `a` to keep it
/// sorted: `numpy.searchsorted(a, v, side)`, an `i64` array of `v`'s shape and chunks.
///
/// `a` may have any chunking and is never gathered into one task (see the module
/// documentation for the cost: a task per pair of blocks, a tree per `v` block). NaN sorts
/// last, as in NumPy; `a` must be sorted that way (if it is not, the result is unspecified,
/// as NumPy's is).
///
/// ```
/// use tessera::Side;
/// let a = tessera::from_array(ndarray::arr1(&[1.0, 2.0, 2.0, 3.0, f64::NAN]).into_dyn(), [2])?;
/// let v = tessera::from_array(ndarray::arr1(&[2.0, 0.0, 9.0, f64::NAN]).into_dyn(), [3])?;
/// assert_eq!(tessera::searchsorted(&a, &v, Side::Left)?.to_vec()?, vec![1, 0, 4, 4]);
/// assert_eq!(tessera::searchsorted(&a, &v, Side::Right)?.to_vec()?, vec![3, 0, 4, 5]);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn searchsorted<T: Element>(a: &Array<T>, v: &Array<T>, side: Side) -> Result<Array<i64>> {
    if a.ndim() != 1 {
        return Err(Error::invalid(format!(
            "searchsorted: the sorted array must be 1-d, not of shape {:?}",
            a.shape()
        )));
    }
    let op = SearchSorted { dtype: T::DTYPE, right: side == Side::Right };
    let spec = TiledSpec { op: Arc::new(op), group: next_group(), output: 0 };
    let inputs = vec![a.node().clone(), v.node().clone()];
    Ok(Array::from_node(Node::new("searchsorted", DType::I64, v.chunks().clone(), Op::Tiled(spec), inputs)))
}

/// The distinct values of an array and what NumPy's `unique` returns beside them.
#[derive(Debug, Clone)]
pub struct Unique<T: Element> {
    /// The distinct values, sorted (NaN last, all NaNs as one).
    pub values: Vec<T>,
    /// How many times each occurs (`return_counts`).
    pub counts: Vec<i64>,
    /// The flat (C-order) index of each one's first occurrence (`return_index`).
    pub index: Vec<i64>,
    /// For each element of the array, the position of its value in `values`: a lazy array
    /// of the array's shape and chunks (`return_inverse`; `values[inverse]` is the array).
    pub inverse: Array<i64>,
}

impl<T: Element> Array<T> {
    /// Each element's bin among `bins`: `numpy.digitize(x, bins, right)`, an `i64` array of
    /// `x`'s shape and chunks. `bins` must be monotonic, increasing (then `i` with `bins[i−1]
    /// ≤ x < bins[i]`, or `bins[i−1] < x ≤ bins[i]` when `right`) or decreasing (the
    /// mirror); values below and above give `0` and `len(bins)`, NaN sorts above every bin.
    /// Comparisons are in `f64`. NaN in `bins` is refused (NumPy's result is unspecified).
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::arr1(&[0.2, 6.4, 3.0, 1.6, f64::NAN]).into_dyn(), [2])?;
    /// assert_eq!(x.digitize(&[0.0, 1.0, 2.5, 4.0, 10.0], false)?.to_vec()?, vec![1, 4, 3, 2, 5]);
    /// assert_eq!(x.digitize(&[10.0, 4.0, 2.5, 1.0, 0.0], false)?.to_vec()?, vec![4, 1, 2, 3, 0]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn digitize(&self, bins: &[f64], right: bool) -> Result<Array<i64>> {
        if bins.iter().any(|b| b.is_nan()) {
            return Err(Error::invalid("digitize: the bins hold NaN"));
        }
        let up = bins.windows(2).all(|w| w[0] <= w[1]);
        let down = bins.windows(2).all(|w| w[0] >= w[1]);
        if !up && !down {
            return Err(Error::invalid("digitize: bins must be monotonically increasing or decreasing"));
        }
        let step = CountStep::Digitize { bins: bins.into(), right, decreasing: !up };
        Ok(per_block(self, "digitize", step))
    }

    /// Whether each element is one of `test`: `numpy.isin(x, test, invert=invert)`, a `bool`
    /// array of `x`'s shape and chunks. The test elements are held sorted in each task's
    /// descriptor (meant for a small set); NaN is never found (NaN ≠ NaN), `-0.0` is `0.0`.
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::arr1(&[1i64, 5, 7, 2]).into_dyn(), [3])?;
    /// assert_eq!(x.isin(&[2, 7, 9], false)?.to_vec()?, vec![false, false, true, true]);
    /// assert_eq!(x.isin(&[2, 7, 9], true)?.to_vec()?, vec![true, true, false, false]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn isin(&self, test: &[T], invert: bool) -> Result<Array<bool>> {
        let test = sorted_block(test.iter().copied().filter(|t| !t.is_nan()).collect());
        Ok(per_block(self, "isin", CountStep::IsIn { test, invert }))
    }

    /// [`searchsorted`] with this (sorted, 1-d) array as `a`.
    pub fn searchsorted(&self, v: &Array<T>, side: Side) -> Result<Array<i64>> {
        searchsorted(self, v, side)
    }

    /// The sorted distinct values of the array (all elements, flattened): `numpy.unique(x)`,
    /// NaNs collapsed into one, last (NumPy 2's `equal_nan=True`). Computed now, not lazily
    /// (its length depends on the data): see [`Array::unique_full`].
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::arr1(&[3.0, 1.0, f64::NAN, 3.0, f64::NAN]).into_dyn(), [2])?;
    /// let u = x.unique()?;
    /// assert_eq!(u[..2], [1.0, 3.0]);
    /// assert!(u.len() == 3 && u[2].is_nan());
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn unique(&self) -> Result<Vec<T>> {
        Ok(self.unique_state()?.values)
    }

    /// [`Array::unique`] with the counts, first indices and inverse: `numpy.unique(x,
    /// return_index=True, return_inverse=True, return_counts=True)` (the inverse of `x`'s
    /// shape, as NumPy 2 gives it). The values, counts and indices are computed now, by a
    /// tree of sorted merges of per-block distinct values (a task holds at most the
    /// distinct values of the blocks it merges); the inverse is a lazy array (one binary
    /// search per element among the values, held in each task's descriptor). Of equal
    /// values (`-0.0` and `0.0`), the first occurring one is kept.
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::arr2(&[[2i64, 1], [2, 3]]).into_dyn(), [1, 2])?;
    /// let u = x.unique_full()?;
    /// assert_eq!((u.values, u.counts, u.index), (vec![1, 2, 3], vec![1, 2, 1], vec![1, 0, 3]));
    /// assert_eq!(u.inverse.to_vec()?, vec![1, 0, 1, 2]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn unique_full(&self) -> Result<Unique<T>> {
        let Found { values, counts, index, table } = self.unique_state()?;
        let inverse = per_block(self, "unique-inverse", CountStep::Locate { values: table });
        Ok(Unique { values, counts, index, inverse })
    }

    /// The eager pass of `unique`: values, counts, first indices, and the values as a block.
    fn unique_state(&self) -> Result<Found<T>> {
        let op = UniqueTree { dtype: T::DTYPE, shape: self.shape().into() };
        let spec = TiledSpec { op: Arc::new(op), group: next_group(), output: 0 };
        let node =
            Node::new("unique", T::DTYPE, Chunks::single(&[]), Op::Tiled(spec), vec![self.node().clone()]);
        let (outs, _) = crate::compute::run_blocks(&[node], &crate::runtime::ComputeOptions::global())?;
        let value: Value = outs
            .into_iter()
            .next()
            .and_then(|mut o| o.pop())
            .ok_or_else(|| Error::internal("unique: no result"))?;
        let f = value.get_state::<Factors>()?;
        let [v, c, i] = &f.0[..] else {
            return Err(Error::internal("unique: a state of other than three arrays"));
        };
        let vec_of =
            |h: &HostArray| -> Result<Vec<i64>> { Ok(h.clone().into_typed::<i64>()?.into_iter().collect()) };
        let values: ArrayD<T> = v.clone().into_typed::<T>()?;
        Ok(Found {
            values: values.into_iter().collect(),
            counts: vec_of(c)?,
            index: vec_of(i)?,
            table: v.clone(),
        })
    }
}

/// What the eager pass of `unique` found, and the values as a block (the inverse's table).
struct Found<T> {
    values: Vec<T>,
    counts: Vec<i64>,
    index: Vec<i64>,
    table: HostArray,
}

/// Per block its distinct values, merged by a tree: one state (see the module docs).
struct UniqueTree {
    dtype: DType,
    shape: Arc<[usize]>,
}

impl TiledOp for UniqueTree {
    fn name(&self) -> &str {
        "unique"
    }

    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let chunks = b.chunks(0).clone();
        let grid = chunks.numblocks();
        let level: Vec<TaskId> = (0..chunks.nblocks())
            .map(|lin| {
                let idx = unravel(lin, &grid);
                let offset = chunks.block_region(&idx).iter().map(|r| r.start).collect();
                let step = CountStep::UniquePart { offset, shape: self.shape.clone() };
                let dep = b.input(0, &idx);
                // At most the block's elements and two i64 per element.
                let bytes = chunks.block_shape(&idx).iter().product::<usize>() * (self.dtype.size() + 16);
                b.push_kernel(count_kernel(self.dtype, step), vec![dep], &idx, bytes)
            })
            .collect();
        let bytes = self.shape.iter().product::<usize>().min(1 << 20) * (self.dtype.size() + 16);
        vec![b.tree(level, 16, || count_kernel(self.dtype, CountStep::UniqueMerge), &[], bytes)]
    }
}
