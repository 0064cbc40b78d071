//! Counting: `histogram` (NumPy's bins, range, weights, density), `histogramdd`,
//! `histogram2d`, `bincount`.
//!
//! Each is counted per block (one task each, NumPy's rule for which bin a value falls in)
//! and the per-block counts added by a tree ([`Summed`]), so no task holds more than a block
//! and a few arrays of counts. What NumPy reads from the data before counting (a range's min
//! and max, `bincount`'s max) is computed first, in one eager pass for all of it.

use std::sync::Arc;

use crate::array::Array;
use crate::core::chunks::{Chunks, unravel};
use crate::core::dtype::{DType, Element, Number};
use crate::core::error::{Error, Result};
use crate::graph::node::{Node, Op};
use crate::graph::tiled::{TileBuilder, TiledOp, TiledSpec, next_group};
use crate::ir::counting::{CountKernel, CountStep};
use crate::ir::kernel::Kernel;
use crate::ir::order::{OrderKernel, OrderStep};
use crate::ir::task::TaskId;

/// Histogram bins: `n` equal bins over a range, or explicit increasing edges (NumPy's
/// `bins=` as an int or an array).
#[derive(Debug, Clone, PartialEq)]
pub enum Bins {
    /// Equal bins over the range (the data's min and max when none is given).
    Count(usize),
    /// The `n + 1` edges of `n` bins, non-decreasing.
    Edges(Vec<f64>),
}

impl From<usize> for Bins {
    fn from(n: usize) -> Self {
        Bins::Count(n)
    }
}
impl From<Vec<f64>> for Bins {
    fn from(e: Vec<f64>) -> Self {
        Bins::Edges(e)
    }
}
impl From<&[f64]> for Bins {
    fn from(e: &[f64]) -> Self {
        Bins::Edges(e.to_vec())
    }
}

/// How [`Array::histogram_with`] counts.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HistogramOptions {
    /// The range of equal bins (`None`: the data's min and max, one pass over it first).
    pub range: Option<(f64, f64)>,
    /// A probability density: counts / total / bin width (integrates to 1).
    pub density: bool,
}

/// NumPy's `linspace(first, last, n + 1)`: `i · step + first`, the last edge exactly `last`.
fn equal_edges(first: f64, last: f64, n: usize) -> Vec<f64> {
    let step = (last - first) / n as f64;
    let mut e: Vec<f64> =
        (0..=n).map(|i| if step == 0.0 { first } else { i as f64 * step + first }).collect();
    e[n] = last;
    e
}

/// Edges given as an array, checked: at least 2, non-decreasing, no NaN.
fn checked_edges(e: &[f64], what: &str) -> Result<Vec<f64>> {
    if e.len() < 2 {
        return Err(Error::invalid(format!("{what}: {} bin edge(s); at least 2 make a bin", e.len())));
    }
    if e.windows(2).any(|w| w[0].partial_cmp(&w[1]).is_none_or(|o| o.is_gt())) {
        return Err(Error::invalid(format!("{what}: bin edges must increase monotonically")));
    }
    Ok(e.to_vec())
}

/// `n` equal bins over `(lo, hi)` as NumPy's `_get_outer_edges` checks and widens them.
fn count_edges(n: usize, (lo, hi): (f64, f64), what: &str) -> Result<Vec<f64>> {
    if n == 0 {
        return Err(Error::invalid(format!("{what}: 0 bins; at least 1")));
    }
    if !lo.is_finite() || !hi.is_finite() {
        return Err(Error::invalid(format!(
            "{what}: the range [{lo}, {hi}] is not finite (NaN or ±inf in the data: give a range)"
        )));
    }
    if lo > hi {
        return Err(Error::invalid(format!("{what}: range ({lo}, {hi}): max must be larger than min")));
    }
    let (lo, hi) = if lo == hi { (lo - 0.5, hi + 0.5) } else { (lo, hi) };
    Ok(equal_edges(lo, hi, n))
}

/// The (min, max) of each array, all computed in one pass (`(0, 1)` for an empty one, NaN
/// when the data holds NaN).
pub(super) fn data_ranges<T: Number>(arrays: &[&Array<T>]) -> Result<Vec<(f64, f64)>> {
    let mut reds: Vec<Array<T>> = Vec::new();
    for a in arrays.iter().filter(|a| a.size() > 0) {
        reds.push(a.min(crate::array::Axes::All)?);
        reds.push(a.max(crate::array::Axes::All)?);
    }
    let refs: Vec<&dyn crate::array::AnyArray> =
        reds.iter().map(|r| r as &dyn crate::array::AnyArray).collect();
    let vals = if refs.is_empty() {
        Vec::new()
    } else {
        crate::array::compute_many(&refs, &crate::runtime::ComputeOptions::global())?
    };
    let mut it = vals.into_iter();
    let mut one = || -> Result<f64> {
        let h = it.next().ok_or_else(|| Error::internal("data range: a result missing"))?;
        Ok(h.into_typed::<T>()?.iter().next().map_or(f64::NAN, |x| x.to_f64()))
    };
    arrays.iter().map(|a| if a.size() == 0 { Ok((0.0, 1.0)) } else { Ok((one()?, one()?)) }).collect()
}

impl<T: Number> Array<T> {
    /// The edges `bins` stands for, as NumPy picks them (`range` checked; without one, the
    /// data's min and max, widened by ½ each way when equal, `(0, 1)` for no data).
    fn bin_edges(&self, bins: &Bins, range: Option<(f64, f64)>) -> Result<(Vec<f64>, bool)> {
        match bins {
            Bins::Edges(e) => Ok((checked_edges(e, "histogram")?, false)),
            Bins::Count(n) => {
                if *n == 0 {
                    return Err(Error::invalid("histogram: 0 bins; at least 1"));
                }
                let r = match range {
                    Some(r) => r,
                    None => data_ranges(&[self])?[0],
                };
                Ok((count_edges(*n, r, "histogram")?, true))
            }
        }
    }

    fn histogram_any<U: Element>(
        &self,
        bins: Bins,
        opts: &HistogramOptions,
        weights: Option<&Array<f64>>,
    ) -> Result<(Array<U>, Vec<f64>)> {
        let (edges, uniform) = self.bin_edges(&bins, opts.range)?;
        let mut inputs = vec![self.node().clone()];
        if let Some(w) = weights {
            inputs.push(aligned(w, self, "histogram weights")?.node().clone());
        }
        let shared: Arc<[f64]> = edges.clone().into();
        let order = |step| Kernel::Order(Arc::new(OrderKernel { axis: 0, dtype: T::DTYPE, step }));
        let op = Summed {
            name: "histogram",
            part: order(OrderStep::Histogram { edges: shared.clone(), uniform }),
            ninputs: inputs.len(),
            partial: DType::F64,
            finish: Some(order(OrderStep::HistogramFinish {
                edges: shared,
                density: opts.density,
                integer: U::DTYPE == DType::I64,
            })),
            bytes: (edges.len() - 1) * 8 + 64,
        };
        let spec = TiledSpec { op: Arc::new(op), group: next_group(), output: 0 };
        let chunks = Chunks::new(vec![vec![edges.len() - 1]])?;
        let node = Node::new("histogram", U::DTYPE, chunks, Op::Tiled(spec), inputs);
        Ok((Array::from_node(node), edges))
    }

    /// The counts of the values (all of them, flattened) in each bin, and the bin edges:
    /// `numpy.histogram(x, bins, range)`. Bins are `[e_i, e_{i+1})`, the last closed;
    /// values outside the range and NaN are not counted. Edges and bins are computed in
    /// `f64` (NumPy uses `f32` for `f32` data, so a value within an `f32` rounding of an
    /// edge may land in the neighbouring bin there).
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::arr1(&[1.0, 2.0, 2.0, 3.0, 9.0]).into_dyn(), [2])?;
    /// let (counts, edges) = x.histogram(4, Some((0.0, 4.0)))?;
    /// assert_eq!(counts.to_vec()?, vec![0, 1, 2, 1]);
    /// assert_eq!(edges, vec![0.0, 1.0, 2.0, 3.0, 4.0]);
    /// let (counts, _) = x.histogram(vec![0.0, 2.0, 9.0], None)?;
    /// assert_eq!(counts.to_vec()?, vec![1, 4]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn histogram(
        &self,
        bins: impl Into<Bins>,
        range: Option<(f64, f64)>,
    ) -> Result<(Array<i64>, Vec<f64>)> {
        self.histogram_any(bins.into(), &HistogramOptions { range, density: false }, None)
    }

    /// [`Array::histogram`] with weights (each value counts its weight; same shape) and/or
    /// as a density: `numpy.histogram(x, bins, range, weights=, density=)`.
    pub fn histogram_with(
        &self,
        bins: impl Into<Bins>,
        opts: &HistogramOptions,
        weights: Option<&Array<f64>>,
    ) -> Result<(Array<f64>, Vec<f64>)> {
        self.histogram_any(bins.into(), opts, weights)
    }
}

/// Per block of the inputs (all in input 0's chunks) one `part` task, the partials added by
/// a tree of [`CountStep::Add`] over `partial`, then `finish` if any: one output block.
struct Summed {
    name: &'static str,
    part: Kernel,
    ninputs: usize,
    partial: DType,
    finish: Option<Kernel>,
    bytes: usize,
}

impl TiledOp for Summed {
    fn name(&self) -> &str {
        self.name
    }

    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let chunks = b.chunks(0).clone();
        let grid = chunks.numblocks();
        let level: Vec<TaskId> = (0..chunks.nblocks())
            .map(|lin| {
                let idx = unravel(lin, &grid);
                let deps = (0..self.ninputs).map(|k| b.input(k, &idx)).collect();
                b.push_kernel(self.part.clone(), deps, &idx, self.bytes)
            })
            .collect();
        let add = || count_kernel(self.partial, CountStep::Add);
        let root = b.tree(level, 16, add, &[0], self.bytes);
        match &self.finish {
            None => vec![root],
            Some(k) => vec![vec![b.push_kernel(k.clone(), root, &[0], self.bytes)]],
        }
    }
}

/// A counting kernel.
pub(super) fn count_kernel(dtype: DType, step: CountStep) -> Kernel {
    Kernel::Count(Arc::new(CountKernel { dtype, step }))
}

/// `w` checked to have `x`'s shape and put in its chunks.
fn aligned<T: Element, W: Element>(w: &Array<W>, x: &Array<T>, op: &str) -> Result<Array<W>> {
    if w.shape() != x.shape() {
        return Err(Error::ShapeMismatch {
            op: op.into(),
            left: x.shape().to_vec(),
            right: w.shape().to_vec(),
        });
    }
    if w.chunks() == x.chunks() { Ok(w.clone()) } else { w.rechunk(x.chunks().clone()) }
}

/// How [`histogramdd`] and [`histogram2d`] bin.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HistogramDdOptions {
    /// The range of each dimension's equal bins (`None`: that dimension's min and max, one
    /// pass over the data for all of them). Empty: `None` for every dimension.
    pub ranges: Vec<Option<(f64, f64)>>,
    /// A probability density: counts / total / bin volume (integrates to 1).
    pub density: bool,
}

/// The multi-dimensional histogram of samples whose `d` coordinates are the arrays of
/// `sample` (any shape, all the same; element `k` of each array is sample `k`), and the edges
/// per dimension: `numpy.histogramdd(np.stack([x.ravel() for x in sample], -1), bins, range,
/// density=, weights=)` (dask's list of 1-d arrays, any shape accepted).
///
/// `bins` holds one [`Bins`] per dimension, or one for all; a count over that dimension's
/// range (its min and max when `opts` gives none, computed in one eager pass for all
/// dimensions), or edges. Bins are `[e_i, e_{i+1})`, the last closed; a sample outside the
/// edges of any dimension, or NaN in any coordinate, is not counted. The result is `f64`
/// (NumPy's too), of shape `[bins_0, …, bins_{d−1}]`: per block a task counts its samples
/// into all bins, the counts are added by a tree, so a task holds a block and a few arrays
/// of counts.
///
/// ```
/// use tessera::{Bins, HistogramDdOptions};
/// let x = tessera::from_array(ndarray::arr1(&[0.0, 1.0, 2.0, 3.0]).into_dyn(), [3])?;
/// let y = tessera::from_array(ndarray::arr1(&[1.0, 1.0, 1.0, 1.0]).into_dyn(), [2])?;
/// let (h, edges) = tessera::histogramdd(&[&x, &y], &[Bins::Count(2), Bins::Count(3)], &Default::default(), None)?;
/// assert_eq!(h.compute()?.into_raw_vec_and_offset().0, vec![0.0, 2.0, 0.0, 0.0, 2.0, 0.0]);
/// assert_eq!(edges[0], vec![0.0, 1.5, 3.0]);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn histogramdd<T: Number>(
    sample: &[&Array<T>],
    bins: &[Bins],
    opts: &HistogramDdOptions,
    weights: Option<&Array<f64>>,
) -> Result<(Array<f64>, Vec<Vec<f64>>)> {
    let d = sample.len();
    let x0 = *sample.first().ok_or_else(|| Error::invalid("histogramdd: no sample arrays"))?;
    if bins.len() != d && bins.len() != 1 {
        return Err(Error::invalid(format!(
            "histogramdd: {} bins for {d} dimensions (give 1 or {d})",
            bins.len()
        )));
    }
    if !opts.ranges.is_empty() && opts.ranges.len() != d {
        return Err(Error::invalid(format!("histogramdd: {} ranges for {d} dimensions", opts.ranges.len())));
    }
    let bins_of = |i: usize| &bins[if bins.len() == 1 { 0 } else { i }];
    let range_of = |i: usize| opts.ranges.get(i).copied().flatten();
    let unknown: Vec<usize> =
        (0..d).filter(|&i| matches!(bins_of(i), Bins::Count(_)) && range_of(i).is_none()).collect();
    let found = data_ranges(&unknown.iter().map(|&i| sample[i]).collect::<Vec<_>>())?;
    let mut edges = Vec::with_capacity(d);
    for i in 0..d {
        let what = format!("histogramdd dimension {i}");
        edges.push(match bins_of(i) {
            Bins::Edges(e) => checked_edges(e, &what)?,
            Bins::Count(n) => {
                let r = match range_of(i) {
                    Some(r) => r,
                    None => found[unknown.iter().position(|&u| u == i).unwrap_or(0)],
                };
                count_edges(*n, r, &what)?
            }
        });
    }
    let mut inputs = Vec::with_capacity(d + 1);
    for s in sample {
        inputs.push(aligned(s, x0, "histogramdd sample")?.node().clone());
    }
    if let Some(w) = weights {
        inputs.push(aligned(w, x0, "histogramdd weights")?.node().clone());
    }
    let nbins: Vec<usize> = edges.iter().map(|e| e.len() - 1).collect();
    let shared: Arc<[Vec<f64>]> = edges.clone().into();
    let op = Summed {
        name: "histogramdd",
        part: count_kernel(
            T::DTYPE,
            CountStep::HistogramDd { edges: shared.clone(), weighted: weights.is_some() },
        ),
        ninputs: inputs.len(),
        partial: DType::F64,
        finish: opts.density.then(|| count_kernel(DType::F64, CountStep::Density { edges: shared })),
        bytes: nbins.iter().product::<usize>() * 8 + 64,
    };
    let spec = TiledSpec { op: Arc::new(op), group: next_group(), output: 0 };
    let node = Node::new("histogramdd", DType::F64, Chunks::single(&nbins), Op::Tiled(spec), inputs);
    Ok((Array::from_node(node), edges))
}

/// The 2-d histogram of the samples `(x, y)` and the edges along `x` and `y`:
/// `numpy.histogram2d(x, y, bins, range, density, weights)` ([`histogramdd`] of two
/// dimensions; `bins` one [`Bins`] for both or one each). Rows of the result are `x`'s bins.
///
/// ```
/// let x = tessera::from_array(ndarray::arr1(&[0.0, 1.0, 2.0, 2.5, 3.0]).into_dyn(), [2])?;
/// let y = tessera::from_array(ndarray::arr1(&[0.0, 0.0, 1.0, 5.0, 1.0]).into_dyn(), [2])?;
/// let (h, ex, ey) = tessera::histogram2d(&x, &y, &[2.into()], &Default::default(), None)?;
/// assert_eq!(h.compute()?.into_raw_vec_and_offset().0, vec![2.0, 0.0, 2.0, 1.0]);
/// assert_eq!((ex, ey), (vec![0.0, 1.5, 3.0], vec![0.0, 2.5, 5.0]));
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn histogram2d<T: Number>(
    x: &Array<T>,
    y: &Array<T>,
    bins: &[Bins],
    opts: &HistogramDdOptions,
    weights: Option<&Array<f64>>,
) -> Result<(Array<f64>, Vec<f64>, Vec<f64>)> {
    if x.shape() != y.shape() {
        return Err(Error::ShapeMismatch {
            op: "histogram2d".into(),
            left: x.shape().to_vec(),
            right: y.shape().to_vec(),
        });
    }
    let (h, mut e) = histogramdd(&[x, y], bins, opts, weights)?;
    let ey = e.pop().unwrap_or_default();
    let ex = e.pop().unwrap_or_default();
    Ok((h, ex, ey))
}

/// The length of a [`Array::bincount`]'s result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinLength {
    /// NumPy's `minlength`: `max(x) + 1` bins, at least this many. The max (and min) is
    /// computed first, in one eager pass over `x`, unless `x` is empty.
    AtLeast(usize),
    /// Exactly this many bins, nothing computed before the graph runs (dask's
    /// `minlength`, when the caller knows the values' range): a value at or past it is an
    /// error when the graph runs.
    Exactly(usize),
}

impl From<usize> for BinLength {
    fn from(n: usize) -> Self {
        BinLength::AtLeast(n)
    }
}

impl<T: Number> Array<T> {
    fn bincount_any<U: Element>(&self, weights: Option<&Array<f64>>, length: BinLength) -> Result<Array<U>> {
        if !T::DTYPE.is_integer() {
            return Err(Error::invalid(format!("bincount: counts integers, not {}", T::DTYPE)));
        }
        let length = match length {
            BinLength::Exactly(n) => n,
            BinLength::AtLeast(n) if self.size() == 0 => n,
            BinLength::AtLeast(n) => {
                let (lo, hi) = data_ranges(&[self])?[0];
                if lo < 0.0 {
                    return Err(Error::invalid(format!(
                        "bincount: the value {lo} is negative; only values >= 0 can be counted"
                    )));
                }
                (hi as usize).checked_add(1).ok_or_else(|| Error::invalid("bincount: too many bins"))?.max(n)
            }
        };
        let mut inputs = vec![self.node().clone()];
        if let Some(w) = weights {
            inputs.push(aligned(w, self, "bincount weights")?.node().clone());
        }
        let op = Summed {
            name: "bincount",
            part: count_kernel(T::DTYPE, CountStep::Bincount { length, weighted: weights.is_some() }),
            ninputs: inputs.len(),
            partial: U::DTYPE,
            finish: None,
            bytes: length * 8 + 64,
        };
        let spec = TiledSpec { op: Arc::new(op), group: next_group(), output: 0 };
        let node = Node::new("bincount", U::DTYPE, Chunks::single(&[length]), Op::Tiled(spec), inputs);
        Ok(Array::from_node(node))
    }

    /// How many times each value `0..n` occurs (all elements, flattened): `numpy.bincount(x,
    /// minlength=)`, for `i32` and `i64` arrays. With [`BinLength::AtLeast`] (a plain
    /// number) `n` is `max(x) + 1` or the number given, whichever is larger, so the max is
    /// computed first (one eager pass; a negative value is an error then); with
    /// [`BinLength::Exactly`] nothing runs first. A negative value, or one past an exact
    /// length, is an [`Error`] naming it when the graph runs. Per block a task counts into
    /// all `n` bins; the counts are added by a tree.
    ///
    /// ```
    /// use tessera::BinLength;
    /// let x = tessera::from_array(ndarray::arr1(&[0i64, 3, 3, 1]).into_dyn(), [3])?;
    /// assert_eq!(x.bincount(2)?.to_vec()?, vec![1, 1, 0, 2]);
    /// assert_eq!(x.bincount(BinLength::Exactly(5))?.to_vec()?, vec![1, 1, 0, 2, 0]);
    /// assert!(x.bincount(BinLength::Exactly(3))?.compute().is_err()); // 3 does not fit
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn bincount(&self, length: impl Into<BinLength>) -> Result<Array<i64>> {
        self.bincount_any(None, length.into())
    }

    /// [`Array::bincount`] where each value counts its weight (`weights` of `x`'s shape):
    /// `numpy.bincount(x, weights, minlength)`.
    pub fn bincount_weighted(
        &self,
        weights: &Array<f64>,
        length: impl Into<BinLength>,
    ) -> Result<Array<f64>> {
        self.bincount_any(Some(weights), length.into())
    }
}
