//! Counting: `histogram` (NumPy's bins, range, weights, density).
//!
//! A histogram is counted per block (one task each, NumPy's rule for which bin a value
//! falls in) and the per-block counts added by a tree, so no task holds more than a block
//! and a few arrays of counts.

use std::sync::Arc;

use crate::array::Array;
use crate::core::chunks::{Chunks, unravel};
use crate::core::dtype::{DType, Element, Number};
use crate::core::error::{Error, Result};
use crate::graph::node::{Node, Op};
use crate::graph::tiled::{TileBuilder, TiledOp, TiledSpec, next_group};
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

/// The per-block counts added, then finished.
struct Histogram {
    edges: Arc<[f64]>,
    uniform: bool,
    dtype: DType,
    density: bool,
    integer: bool,
    weighted: bool,
}

impl TiledOp for Histogram {
    fn name(&self) -> &str {
        "histogram"
    }

    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let kernel = |step| Kernel::Order(Arc::new(OrderKernel { axis: 0, dtype: self.dtype, step }));
        let nbins = self.edges.len() - 1;
        let bytes = nbins * 8 + 64;
        let chunks = b.chunks(0).clone();
        let grid = chunks.numblocks();
        let mut level = Vec::with_capacity(chunks.nblocks());
        for lin in 0..chunks.nblocks() {
            let idx = unravel(lin, &grid);
            let mut deps = vec![b.input(0, &idx)];
            if self.weighted {
                deps.push(b.input(1, &idx));
            }
            let step = OrderStep::Histogram { edges: self.edges.clone(), uniform: self.uniform };
            level.push(b.push_kernel(kernel(step), deps, &idx, bytes));
        }
        let root = b.tree(level, 16, || kernel(OrderStep::AddCounts), &[0], bytes);
        let fin = OrderStep::HistogramFinish {
            edges: self.edges.clone(),
            density: self.density,
            integer: self.integer,
        };
        vec![vec![b.push_kernel(kernel(fin), root, &[0], bytes)]]
    }
}

/// NumPy's `linspace(first, last, n + 1)`: `i · step + first`, the last edge exactly `last`.
fn equal_edges(first: f64, last: f64, n: usize) -> Vec<f64> {
    let step = (last - first) / n as f64;
    let mut e: Vec<f64> =
        (0..=n).map(|i| if step == 0.0 { first } else { i as f64 * step + first }).collect();
    e[n] = last;
    e
}

impl<T: Number> Array<T> {
    /// The edges `bins` stands for, as NumPy picks them (`range` checked; without one, the
    /// data's min and max, widened by ½ each way when equal, `(0, 1)` for no data).
    fn bin_edges(&self, bins: &Bins, range: Option<(f64, f64)>) -> Result<(Vec<f64>, bool)> {
        match bins {
            Bins::Edges(e) => {
                if e.len() < 2 {
                    return Err(Error::invalid(format!(
                        "histogram: {} bin edge(s); at least 2 make a bin",
                        e.len()
                    )));
                }
                if e.windows(2).any(|w| w[0].partial_cmp(&w[1]).is_none_or(|o| o.is_gt())) {
                    return Err(Error::invalid("histogram: bin edges must increase monotonically"));
                }
                Ok((e.clone(), false))
            }
            Bins::Count(0) => Err(Error::invalid("histogram: 0 bins; at least 1")),
            Bins::Count(n) => {
                let (lo, hi) = match range {
                    Some(r) => r,
                    None if self.size() == 0 => (0.0, 1.0),
                    None => {
                        let (mn, mx) =
                            (self.min(crate::array::Axes::All)?, self.max(crate::array::Axes::All)?);
                        let both = crate::array::compute_many(
                            &[&mn, &mx],
                            &crate::runtime::ComputeOptions::global(),
                        )?;
                        let v = |i: usize| -> Result<f64> {
                            Ok(both[i]
                                .clone()
                                .into_typed::<T>()?
                                .iter()
                                .next()
                                .map_or(f64::NAN, |x| x.to_f64()))
                        };
                        (v(0)?, v(1)?)
                    }
                };
                if !lo.is_finite() || !hi.is_finite() {
                    return Err(Error::invalid(format!(
                        "histogram: the range [{lo}, {hi}] is not finite (NaN or ±inf in the data: give a range)"
                    )));
                }
                if lo > hi {
                    return Err(Error::invalid(format!(
                        "histogram: range ({lo}, {hi}): max must be larger than min"
                    )));
                }
                let (lo, hi) = if lo == hi { (lo - 0.5, hi + 0.5) } else { (lo, hi) };
                Ok((equal_edges(lo, hi, *n), true))
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
            if w.shape() != self.shape() {
                return Err(Error::ShapeMismatch {
                    op: "histogram weights".into(),
                    left: self.shape().to_vec(),
                    right: w.shape().to_vec(),
                });
            }
            let w = if w.chunks() == self.chunks() { w.clone() } else { w.rechunk(self.chunks().clone())? };
            inputs.push(w.node().clone());
        }
        let op = Histogram {
            edges: edges.clone().into(),
            uniform,
            dtype: T::DTYPE,
            density: opts.density,
            integer: U::DTYPE == DType::I64,
            weighted: weights.is_some(),
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
