//! Moving-window statistics along one axis, as data: what a rolling task computes over a
//! block extended by its halos ([`WindowKernel`]). The CPU implementation is
//! `backend/cpu/window.rs`; `array/window.rs` builds the graph.

use crate::core::dtype::DType;

/// The statistic of each window (pandas' and xarray's rolling methods).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WindowStat {
    /// Sum of the non-NaN values.
    Sum,
    /// Mean of the non-NaN values.
    Mean,
    /// Smallest non-NaN value.
    Min,
    /// Largest non-NaN value.
    Max,
    /// Variance of the non-NaN values, dividing by `count − ddof`.
    Var {
        /// Delta degrees of freedom.
        ddof: f64,
    },
    /// Standard deviation: the square root of [`WindowStat::Var`].
    Std {
        /// Delta degrees of freedom.
        ddof: f64,
    },
    /// How many values of the window are not NaN.
    Count,
}

impl WindowStat {
    /// The method's name (`"mean"`, `"std"`).
    pub fn name(self) -> &'static str {
        match self {
            WindowStat::Sum => "sum",
            WindowStat::Mean => "mean",
            WindowStat::Min => "min",
            WindowStat::Max => "max",
            WindowStat::Var { .. } => "var",
            WindowStat::Std { .. } => "std",
            WindowStat::Count => "count",
        }
    }
}

/// One block of a rolling statistic: the input is the block extended by `depth` elements on
/// both sides of `axis` (NaN beyond the array's edges), the output the block itself. Output
/// position `j` of a lane reads the extended positions `depth + j − before ..= depth + j −
/// before + window − 1`; it is NaN when fewer than `min_periods` of them are not NaN.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowKernel {
    /// The rolled axis.
    pub axis: usize,
    /// Elements per window.
    pub window: usize,
    /// Elements of the window before the labelled position (`window − 1` trailing,
    /// `window / 2` centred).
    pub before: usize,
    /// Halo on each side of the input block along `axis` (at least `before` and
    /// `window − 1 − before`).
    pub depth: usize,
    /// Fewest non-NaN values that give a result (1 ..= window).
    pub min_periods: usize,
    /// What each window computes.
    pub stat: WindowStat,
    /// Element type of input and output (`f32` or `f64`).
    pub dtype: DType,
}
