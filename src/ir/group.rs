//! Groupby-reduce as plain data: the reduction per group ([`GroupOp`]), a groupby node's
//! parameters ([`GroupSpec`]: labels, output chunks of groups and their cohorts) and the
//! steps of its tasks ([`GroupStep`]), which backends implement.

use std::sync::Arc;

use crate::core::dtype::DType;

/// The reduction applied to each group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum GroupOp {
    /// Sum (NaN propagates).
    Sum,
    /// Sum of the non-NaN values.
    NanSum,
    /// Mean (NaN propagates).
    Mean,
    /// Mean of the non-NaN values (NaN where a group has none).
    NanMean,
    /// Smallest value (NaN propagates).
    Min,
    /// Largest value (NaN propagates).
    Max,
    /// Smallest non-NaN value.
    NanMin,
    /// Largest non-NaN value.
    NanMax,
    /// Number of non-NaN values.
    Count,
    /// Variance with `ddof` (NaN propagates).
    Var(f64),
    /// Variance of the non-NaN values with `ddof`.
    NanVar(f64),
    /// Standard deviation with `ddof`.
    Std(f64),
    /// Standard deviation of the non-NaN values with `ddof`.
    NanStd(f64),
}

impl GroupOp {
    /// Whether NaN values are skipped.
    pub fn skips_nan(self) -> bool {
        matches!(
            self,
            GroupOp::NanSum
                | GroupOp::NanMean
                | GroupOp::NanMin
                | GroupOp::NanMax
                | GroupOp::Count
                | GroupOp::NanVar(_)
                | GroupOp::NanStd(_)
        )
    }
    /// How the groups' values are accumulated.
    pub(crate) fn kind(self) -> GroupFold {
        match self {
            GroupOp::Min | GroupOp::NanMin => GroupFold::Min,
            GroupOp::Max | GroupOp::NanMax => GroupFold::Max,
            GroupOp::Var(_) | GroupOp::NanVar(_) | GroupOp::Std(_) | GroupOp::NanStd(_) => GroupFold::Moments,
            _ => GroupFold::Sum,
        }
    }
}

/// How a group's values are accumulated: summed (with counts), as moments for Chan's merge,
/// or as an extremum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum GroupFold {
    Sum,
    Moments,
    Min,
    Max,
}

impl GroupFold {
    /// The accumulator's starting value.
    pub(crate) fn init(self) -> f64 {
        match self {
            GroupFold::Min => f64::INFINITY,
            GroupFold::Max => f64::NEG_INFINITY,
            GroupFold::Sum | GroupFold::Moments => 0.0,
        }
    }
}

/// A groupby-reduce node's parameters, shared by its tasks.
pub struct GroupSpec {
    pub(crate) axis: usize,
    pub(crate) dtype: DType,
    pub(crate) op: GroupOp,
    pub(crate) labels: Arc<[i64]>,
    /// Output chunk `g` holds the groups `groups[chunk_start[g]..chunk_start[g + 1]]`.
    pub(crate) groups: Arc<[i64]>,
    pub(crate) chunk_start: Vec<usize>,
    /// Per output chunk: the input blocks along the axis holding one of its labels.
    pub(crate) cohorts: Vec<Vec<usize>>,
    pub(crate) split_every: usize,
}

impl GroupSpec {
    /// The input blocks along the axis that feed output chunk `g`.
    pub(crate) fn cohort(&self, g: usize) -> &[usize] {
        &self.cohorts[g]
    }
}

impl std::fmt::Debug for GroupSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "groupby({:?} along axis {}, {} groups)", self.op, self.axis, self.groups.len())
    }
}

/// One step of a groupby-reduce block.
#[derive(Clone, Debug)]
pub enum GroupStep {
    /// The partial of output chunk `chunk` from one input block starting at `start` on the
    /// grouped axis.
    Partial {
        /// The output chunk of groups.
        chunk: usize,
        /// The input block's first position on the axis.
        start: usize,
    },
    /// Combine partials in input order; `rest` kept elements per group.
    Combine {
        /// Elements per group (the block's size over the other axes).
        rest: usize,
    },
    /// The output block of `shape` from the combined partial (or from nothing, for an empty
    /// block).
    Finalize {
        /// Shape of the output block.
        shape: Vec<usize>,
    },
}

/// A task of a groupby-reduce: its node's spec and the step.
#[derive(Clone, Debug)]
pub struct GroupKernel {
    /// The groupby's parameters.
    pub spec: Arc<GroupSpec>,
    /// What this task does.
    pub step: GroupStep,
}
