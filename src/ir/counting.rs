//! Counting and searching as plain data: what one task of a multi-dimensional histogram, a
//! bincount, a digitize, a searchsorted, an isin or a unique computes ([`CountKernel`]).
//!
//! Sums over blocks (histograms, bincounts, searchsorted's counts over the blocks of the
//! sorted array) are per-block partials added by a tree of [`CountStep::Add`]; `unique` is a
//! tree of sorted sets of distinct values ([`CountStep::UniquePart`],
//! [`CountStep::UniqueMerge`]); the elementwise steps ([`CountStep::Digitize`],
//! [`CountStep::IsIn`], [`CountStep::Locate`]) hold their small sorted table in the
//! descriptor. Order is NumPy's: numbers ascending, every NaN after them and equal to each
//! other.

use std::sync::Arc;

use crate::core::block::HostArray;
use crate::core::dtype::DType;

/// One task of a counting or searching op over blocks of `dtype`.
#[derive(Debug, Clone)]
pub struct CountKernel {
    /// Element type of the task's first input (of the partials, for [`CountStep::Add`]).
    pub dtype: DType,
    /// What the task computes.
    pub step: CountStep,
}

/// The steps of the counting and searching tasks.
#[derive(Debug, Clone)]
pub enum CountStep {
    /// Inputs `[x_0, …, x_{d−1}]` or `[x_0, …, x_{d−1}, weights]` (blocks of one shape, the
    /// `d` coordinates of each sample): the count (or the weights' sum) of the samples in
    /// each bin, an `f64` block of shape `[edges[0].len() − 1, …]`. Bins are `[e_i, e_{i+1})`
    /// per dimension, the last closed; a sample outside any dimension's edges, or NaN in
    /// any coordinate, is not counted (NumPy's `histogramdd`).
    HistogramDd {
        /// Increasing edges per dimension.
        edges: Arc<[Vec<f64>]>,
        /// The last input is the weights (`f64`).
        weighted: bool,
    },
    /// Blocks of one shape and dtype (`i64` or `f64`) added elementwise.
    Add,
    /// Input one `f64` block of counts (shape: the bins): divided by each dimension's bin
    /// widths in turn, then by the total (NumPy's `density=True`).
    Density {
        /// The edges per dimension.
        edges: Arc<[Vec<f64>]>,
    },
    /// Inputs `[x]` or `[x, weights]` (an integer block): the count (`i64`) or the weights'
    /// sum (`f64`) of each value `0..length`, a 1-d block of `length`. A negative value, or
    /// one at or past `length`, is an error naming it.
    Bincount {
        /// The number of bins.
        length: usize,
        /// The second input is the weights.
        weighted: bool,
    },
    /// Input `[x]`: the index of each element's bin (`i64`, the block's shape), as
    /// `numpy.digitize`: with increasing `bins`, the number of bins `≤ x` (`< x` when
    /// `right`); with decreasing bins, `len − ` that count over the reversed bins.
    Digitize {
        /// The bin edges, monotonic, no NaN.
        bins: Arc<[f64]>,
        /// Intervals closed on the right.
        right: bool,
        /// The bins decrease.
        decreasing: bool,
    },
    /// Inputs `[a, v]`, `a` a 1-d block of a sorted array: for each element of `v` the number
    /// of `a`'s elements `< v` (`≤ v` when `right`), an `i64` block of `v`'s shape (binary
    /// search). Summed over `a`'s blocks it is `numpy.searchsorted(a, v, side)`.
    SearchCount {
        /// Count `a ≤ v` (side `"right"`) rather than `a < v`.
        right: bool,
    },
    /// Input `[x]`: whether each element equals one of `test` (a 1-d block of `x`'s dtype,
    /// sorted, without NaN), a `bool` block; negated when `invert`. NaN equals nothing.
    IsIn {
        /// The test elements, sorted ascending, NaN removed.
        test: HostArray,
        /// Return `true` where the element is not among them.
        invert: bool,
    },
    /// Input `[x]`: for each element its position among `values` (a 1-d block of `x`'s
    /// dtype, sorted, distinct, NaN at most once and last), an `i64` block: the inverse of a
    /// `unique`.
    Locate {
        /// The sorted distinct values.
        values: HostArray,
    },
    /// Input `[x]`: the block's distinct values, sorted, NaNs as one (a `Factors` state of
    /// three 1-d arrays: values, their counts `i64`, the flat index in the whole array of
    /// each one's first occurrence `i64`).
    UniquePart {
        /// The block's first index along each axis of the array.
        offset: Vec<usize>,
        /// The whole array's shape (for flat indices).
        shape: Arc<[usize]>,
    },
    /// Several `UniquePart` states merged into one (sorted merge; counts added, the
    /// earliest first index kept).
    UniqueMerge,
}

impl CountKernel {
    /// A short name for labels and profiles.
    pub fn name(&self) -> &'static str {
        match self.step {
            CountStep::HistogramDd { .. } => "histogramdd",
            CountStep::Add => "add-counts",
            CountStep::Density { .. } => "density",
            CountStep::Bincount { .. } => "bincount",
            CountStep::Digitize { .. } => "digitize",
            CountStep::SearchCount { .. } => "searchsorted",
            CountStep::IsIn { .. } => "isin",
            CountStep::Locate { .. } => "unique-inverse",
            CountStep::UniquePart { .. } => "unique-part",
            CountStep::UniqueMerge => "unique-merge",
        }
    }
}
