//! Order statistics as plain data: what one task of a sort, an argsort, a quantile or a
//! top-k computes ([`OrderKernel`]), and NumPy's quantile methods ([`QuantileMethod`]).
//!
//! The per-line steps ([`OrderStep::Sort`], [`OrderStep::Argsort`],
//! [`OrderStep::Quantile`]) run on a block that holds whole lines of the axis; the top-k steps
//! ([`OrderStep::TopkPart`], [`OrderStep::TopkMerge`], [`OrderStep::TopkPick`]) form a tree
//! over the blocks along the axis, so a top-k never needs a whole line in one task. A
//! histogram is counted per block ([`OrderStep::Histogram`]), the counts added by a tree of
//! [`crate::ir::counting::CountStep::Add`], then finished ([`OrderStep::HistogramFinish`]).
//! Lines too long for one task are selected by counting over their blocks
//! ([`OrderStep::Select`], [`crate::ir::select`]).

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::core::dtype::DType;
use crate::core::error::Error;
use crate::ir::select::{SelectPlan, SelectStep};

/// How a quantile between two order statistics is chosen: NumPy's `method=` values (NumPy ≥
/// 1.22), the nine of Hyndman and Fan (1996) and NumPy's four older discrete ones.
///
/// For a sorted line `x[0..n]` and quantile `q`, each method names a virtual index `v`; the
/// result is `x[floor(v)] + (x[floor(v) + 1] − x[floor(v)]) · g` with `g` the method's
/// weight, `v` clipped to `[0, n − 1]`, exactly as `numpy.quantile` computes it.
///
/// ```
/// use tessera::QuantileMethod;
/// let m: QuantileMethod = "median_unbiased".parse()?;
/// assert_eq!(m, QuantileMethod::MedianUnbiased);
/// assert_eq!(QuantileMethod::default().to_string(), "linear");
/// # Ok::<(), tessera::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum QuantileMethod {
    /// H&F 1: the inverse of the empirical CDF (`v = nq − 1`, rounded up unless exact).
    InvertedCdf,
    /// H&F 2: as `InvertedCdf`, averaging the two neighbours where the CDF is flat.
    AveragedInvertedCdf,
    /// H&F 3: the nearest order statistic, ties to the even one (1-based).
    ClosestObservation,
    /// H&F 4: linear interpolation of the empirical CDF (`α = 0, β = 1`).
    InterpolatedInvertedCdf,
    /// H&F 5: piecewise linear, knots at the middles of the steps (`α = β = ½`).
    Hazen,
    /// H&F 6: `p(k) = E[F(x[k])]` (`α = β = 0`).
    Weibull,
    /// H&F 7, NumPy's default: `v = (n − 1) q`.
    #[default]
    Linear,
    /// H&F 8: approximately median-unbiased whatever the distribution (`α = β = ⅓`).
    MedianUnbiased,
    /// H&F 9: approximately unbiased for normal data (`α = β = ⅜`).
    NormalUnbiased,
    /// `x[floor((n − 1) q)]`.
    Lower,
    /// `x[ceil((n − 1) q)]`.
    Higher,
    /// The mean of `Lower` and `Higher`.
    Midpoint,
    /// `x[round((n − 1) q)]`, halves to even (NumPy's `around`).
    Nearest,
}

const NAMES: [(QuantileMethod, &str); 13] = [
    (QuantileMethod::InvertedCdf, "inverted_cdf"),
    (QuantileMethod::AveragedInvertedCdf, "averaged_inverted_cdf"),
    (QuantileMethod::ClosestObservation, "closest_observation"),
    (QuantileMethod::InterpolatedInvertedCdf, "interpolated_inverted_cdf"),
    (QuantileMethod::Hazen, "hazen"),
    (QuantileMethod::Weibull, "weibull"),
    (QuantileMethod::Linear, "linear"),
    (QuantileMethod::MedianUnbiased, "median_unbiased"),
    (QuantileMethod::NormalUnbiased, "normal_unbiased"),
    (QuantileMethod::Lower, "lower"),
    (QuantileMethod::Higher, "higher"),
    (QuantileMethod::Midpoint, "midpoint"),
    (QuantileMethod::Nearest, "nearest"),
];

impl QuantileMethod {
    /// Every method, in NumPy's documentation order.
    pub const ALL: [QuantileMethod; 13] = [
        QuantileMethod::InvertedCdf,
        QuantileMethod::AveragedInvertedCdf,
        QuantileMethod::ClosestObservation,
        QuantileMethod::InterpolatedInvertedCdf,
        QuantileMethod::Hazen,
        QuantileMethod::Weibull,
        QuantileMethod::Linear,
        QuantileMethod::MedianUnbiased,
        QuantileMethod::NormalUnbiased,
        QuantileMethod::Lower,
        QuantileMethod::Higher,
        QuantileMethod::Midpoint,
        QuantileMethod::Nearest,
    ];

    /// NumPy's name of the method.
    pub fn name(self) -> &'static str {
        NAMES.iter().find(|(m, _)| *m == self).map(|(_, n)| *n).unwrap_or("linear")
    }

    /// Where quantile `q` of `n` sorted values lies: the two order statistics `(lo, hi)`
    /// (0-based, `lo ≤ hi < n`) and the weight `g` of `hi`, as `numpy.quantile` computes
    /// them (`n ≥ 1`, `0 ≤ q ≤ 1`).
    ///
    /// ```
    /// use tessera::QuantileMethod;
    /// assert_eq!(QuantileMethod::Linear.position(5, 0.375), (1, 2, 0.5));
    /// assert_eq!(QuantileMethod::Lower.position(5, 0.375), (1, 1, 0.0));
    /// assert_eq!(QuantileMethod::Nearest.position(5, 0.375), (2, 2, 0.0)); // 1.5 → 2
    /// ```
    pub fn position(self, n: usize, q: f64) -> (usize, usize, f64) {
        let nf = n as f64;
        let last = n - 1;
        let at = |i: f64| -> (usize, usize, f64) {
            let i = if i < 0.0 { 0 } else { (i as usize).min(last) };
            (i, i, 0.0)
        };
        // Continuous methods: v = n q + α + q (1 − α − β) − 1.
        let virtual_index = |alpha: f64, beta: f64| nf * q + (alpha + q * (1.0 - alpha - beta)) - 1.0;
        let v = match self {
            QuantileMethod::InvertedCdf => {
                let v = nf * q - 1.0;
                let lo = v.floor();
                return at(if v - lo == 0.0 { lo } else { lo + 1.0 });
            }
            QuantileMethod::ClosestObservation => {
                let v = nf * q - 1.0 - 0.5;
                let lo = v.floor();
                let even = v - lo == 0.0 && lo.rem_euclid(2.0) == 1.0;
                return at(if even { lo } else { lo + 1.0 });
            }
            QuantileMethod::Lower => return at(((nf - 1.0) * q).floor()),
            QuantileMethod::Higher => return at(((nf - 1.0) * q).ceil()),
            QuantileMethod::Nearest => return at(((nf - 1.0) * q).round_ties_even()),
            QuantileMethod::AveragedInvertedCdf => nf * q - 1.0,
            QuantileMethod::Midpoint => {
                let v = (nf - 1.0) * q;
                0.5 * (v.floor() + v.ceil())
            }
            QuantileMethod::Linear => (nf - 1.0) * q,
            QuantileMethod::InterpolatedInvertedCdf => virtual_index(0.0, 1.0),
            QuantileMethod::Hazen => virtual_index(0.5, 0.5),
            QuantileMethod::Weibull => virtual_index(0.0, 0.0),
            QuantileMethod::MedianUnbiased => virtual_index(1.0 / 3.0, 1.0 / 3.0),
            QuantileMethod::NormalUnbiased => virtual_index(3.0 / 8.0, 3.0 / 8.0),
        };
        if v >= (nf - 1.0) {
            return (last, last, 0.0);
        }
        if v < 0.0 {
            return (0, 0, 0.0);
        }
        let lo = v.floor();
        let g = v - lo;
        let g = match self {
            QuantileMethod::AveragedInvertedCdf => {
                if g == 0.0 {
                    0.5
                } else {
                    1.0
                }
            }
            QuantileMethod::Midpoint => {
                if v.fract() == 0.0 {
                    0.0
                } else {
                    0.5
                }
            }
            _ => g,
        };
        let lo = lo as usize;
        (lo, (lo + 1).min(last), g)
    }
}

impl fmt::Display for QuantileMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for QuantileMethod {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        NAMES.iter().find(|(_, n)| *n == s).map(|(m, _)| *m).ok_or_else(|| {
            let names: Vec<&str> = NAMES.iter().map(|(_, n)| *n).collect();
            Error::invalid(format!("unknown quantile method {s:?}; one of {}", names.join(", ")))
        })
    }
}

/// `a + (b − a) g` as NumPy's `_lerp` computes it (from `b` when `g ≥ ½`, which is exact at
/// `g = 1`), except that a weight of 0 or two equal neighbours give the neighbour itself, so
/// an infinite order statistic is returned as it is (NumPy's `quantile([1, inf], 1)` is NaN,
/// from `inf − inf`).
pub fn lerp(a: f64, b: f64, g: f64) -> f64 {
    if g == 0.0 || a == b {
        return a;
    }
    if a.is_infinite() || b.is_infinite() {
        return a + (b - a) * g;
    }
    let d = b - a;
    if g >= 0.5 { b - d * (1.0 - g) } else { a + d * g }
}

/// One task of an order statistic along `axis` of blocks of `dtype`.
#[derive(Debug, Clone)]
pub struct OrderKernel {
    /// The axis (of the input block).
    pub axis: usize,
    /// Element type of the input.
    pub dtype: DType,
    /// What the task computes.
    pub step: OrderStep,
}

/// The steps of the order-statistic tasks. NaN sorts after every number, as in NumPy.
#[derive(Debug, Clone)]
pub enum OrderStep {
    /// The block (holding whole lines of the axis) with each line sorted ascending.
    Sort,
    /// The stable argsort of each line (indices along the axis, `i64`): equal values keep
    /// their order, NaNs last (NumPy's `kind="stable"`).
    Argsort,
    /// Quantiles of each line: an output block of shape `[q.len()] +` the block's shape
    /// without the axis, of the float type of the input (`f64` for integers).
    Quantile {
        /// The quantiles, each in `[0, 1]`.
        q: Arc<[f64]>,
        /// How a quantile between order statistics is chosen.
        method: QuantileMethod,
        /// Skip NaN (`nanquantile`); else a line holding NaN gives NaN.
        skip_nan: bool,
    },
    /// Per line, quantile `q` of each group's pooled values: group `g`'s output is the
    /// quantile of the line's values at positions `members[g]` (a groupby quantile, where
    /// a group may pool a window of labels: a day of the year with its neighbours). The
    /// axis of the output block has one entry per group.
    GroupQuantile {
        /// Per group, the positions along the axis it pools (each `< ` the axis length).
        members: Arc<[Arc<[u32]>]>,
        /// The quantile, in `[0, 1]`.
        q: f64,
        /// How a quantile between order statistics is chosen.
        method: QuantileMethod,
        /// Skip NaN; else a group holding NaN gives NaN.
        skip_nan: bool,
    },
    /// The top `k` of each line of one input block (a state: values and their indices along
    /// the whole axis, `start` being the block's first index).
    TopkPart {
        /// How many.
        k: usize,
        /// The largest (descending) or the smallest (ascending).
        largest: bool,
        /// The block's first index along the axis.
        start: usize,
    },
    /// Several top-k states (in axis order) merged into one.
    TopkMerge {
        /// How many.
        k: usize,
        /// The largest or the smallest.
        largest: bool,
    },
    /// A top-k state turned into an array block: the values, or their indices (`i64`).
    TopkPick {
        /// Indices rather than values.
        arg: bool,
    },
    /// Inputs `[x]` or `[x, weights]` (same shape): the count (or the weights' sum) of the
    /// block's values in each bin, a 1-d `f64` block of `edges.len() − 1` bins. Bins are
    /// half-open `[e_i, e_{i+1})`, the last closed; values outside, and NaN, are not counted.
    Histogram {
        /// The bin edges, increasing.
        edges: Arc<[f64]>,
        /// The edges are equally spaced (NumPy's fast path: the bin computed, then
        /// corrected against the edges).
        uniform: bool,
    },
    /// Histogram counts (`f64`) turned into the result: `i64` counts, or `f64` sums, or a
    /// density (counts / total / bin width).
    HistogramFinish {
        /// The bin edges.
        edges: Arc<[f64]>,
        /// Divide by the total and the bin widths.
        density: bool,
        /// Return `i64` counts (no weights, no density).
        integer: bool,
    },
    /// One task of an order statistic over lines too long for one task: radix selection by
    /// counting, quantiles or a sample sort from it ([`crate::ir::select`]).
    Select {
        /// What the whole selection looks for and how it counts.
        plan: Arc<SelectPlan>,
        /// This task's part.
        step: SelectStep,
    },
}

impl OrderKernel {
    /// A short name for labels and profiles.
    pub fn name(&self) -> &'static str {
        match self.step {
            OrderStep::Sort => "sort",
            OrderStep::Argsort => "argsort",
            OrderStep::Quantile { .. } => "quantile",
            OrderStep::GroupQuantile { .. } => "groupby-quantile",
            OrderStep::TopkPart { .. } => "topk-part",
            OrderStep::TopkMerge { .. } => "topk-merge",
            OrderStep::TopkPick { .. } => "topk-pick",
            OrderStep::Histogram { .. } => "histogram",
            OrderStep::HistogramFinish { .. } => "histogram-finish",
            OrderStep::Select { ref step, .. } => step.name(),
        }
    }
}
