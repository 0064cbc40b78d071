//! Order statistics of lines too long for one task, as plain data: radix selection by
//! counting over the blocks along the axis ([`SelectStep::Count`], [`SelectStep::Merge`],
//! [`SelectStep::Decide`]), finished as quantiles ([`SelectStep::Quantiles`]) or as the
//! splitters of a sample sort ([`SelectStep::Partition`], [`SelectStep::SortPart`]).
//!
//! Every value of a line is seen as a *composite*: its order-preserving 64-bit key (NaN
//! last) followed by `index_bits` bits of its position along the axis, so composites are
//! distinct and ordered as a stable sort orders the values. A selection pass counts, per
//! line and per *bucket* still holding a wanted rank (the composites sharing the bits decided
//! so far), the next `radix` bits; a bucket of at most `gather` composites is gathered
//! instead and its ranks picked exactly.

use std::sync::Arc;

use crate::ir::order::QuantileMethod;

/// What a selection looks for in each line.
#[derive(Debug, Clone)]
pub enum SelectTarget {
    /// The order statistics that quantiles `q` need (NumPy's method), over the line's values
    /// without NaN (a line holding NaN gives NaN unless `skip_nan`).
    Quantiles {
        /// The quantiles, each in `[0, 1]`.
        q: Arc<[f64]>,
        /// How a quantile between order statistics is chosen.
        method: QuantileMethod,
        /// Skip NaN (`nanquantile`).
        skip_nan: bool,
    },
    /// The `parts − 1` composites at ranks [`split_ranks`]`(n, parts)` of every value (NaN
    /// included, last): they cut each line's stable order into `parts` runs.
    Splitters {
        /// How many runs (`1 ≤ parts ≤ n`).
        parts: usize,
    },
}

/// The parameters one selection shares among its tasks.
#[derive(Debug, Clone)]
pub struct SelectPlan {
    /// What is selected.
    pub target: SelectTarget,
    /// Bits counted per pass (a histogram of `2^radix` counts per bucket).
    pub radix: u32,
    /// A bucket of at most this many composites is gathered rather than counted.
    pub gather: u64,
    /// Bits of the position appended to each key (0 for quantiles: only values matter).
    pub index_bits: u32,
}

impl SelectPlan {
    /// Bits of a composite: the key's 64 and the position's.
    pub fn total_bits(&self) -> u32 {
        64 + self.index_bits
    }

    /// Passes that decide every composite in the worst case (a bucket never small enough
    /// to gather): `⌈total_bits / radix⌉`.
    pub fn passes(&self) -> usize {
        self.total_bits().div_ceil(self.radix.max(1)) as usize
    }
}

/// The first rank of each of `parts` runs of `n` sorted values after the first:
/// `⌊b·n / parts⌋` for `b` in `1..parts`; run `b` holds ranks `[r_b, r_{b+1})`.
pub fn split_ranks(n: usize, parts: usize) -> Vec<usize> {
    (1..parts).map(|b| (b as u128 * n as u128 / parts as u128) as usize).collect()
}

/// One task of a selection over the blocks of a line (see the module documentation).
#[derive(Debug, Clone)]
pub enum SelectStep {
    /// Inputs `[x]` (the first pass) or `[x, state]`: per line of the block, each active
    /// bucket's counts of the next digit, or its composites when it is small enough to
    /// gather (a state). `start` is the block's first position along the axis.
    Count {
        /// The block's first position along the axis.
        start: usize,
    },
    /// Several [`SelectStep::Count`] results of one pass: counts added, composites joined.
    Merge,
    /// Inputs `[counts]` (the first pass) or `[counts, state]`: the next state (each wanted
    /// rank's bucket narrowed by a digit, or picked from its gathered composites).
    Decide,
    /// Input `[state]` after the last pass: the quantiles, a block of shape `[q.len()] +`
    /// the lines' grid, of the input's float type (`f64` for integers).
    Quantiles,
    /// Inputs `[x, state]` (the splitters): the block's values and positions dealt into the
    /// runs, per line in position order (a state). `start` as in [`SelectStep::Count`].
    Partition {
        /// The block's first position along the axis.
        start: usize,
    },
    /// Inputs: the [`SelectStep::Partition`] of every block along the axis, in order. Run
    /// `part` of every line sorted stably: its values, or their positions (`i64`, `arg`),
    /// a block `len` long along the axis.
    SortPart {
        /// Which run.
        part: usize,
        /// Its length (the same in every line).
        len: usize,
        /// Positions rather than values.
        arg: bool,
    },
}

impl SelectStep {
    /// A short name for labels and profiles.
    pub fn name(&self) -> &'static str {
        match self {
            SelectStep::Count { .. } => "select-count",
            SelectStep::Merge => "select-merge",
            SelectStep::Decide => "select-decide",
            SelectStep::Quantiles => "select-quantiles",
            SelectStep::Partition { .. } => "sort-partition",
            SelectStep::SortPart { .. } => "sort-part",
        }
    }
}
