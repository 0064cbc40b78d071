//! Groupby-reduce as plain data: how a group's values accumulate ([`GroupFold`]), a groupby node's
//! parameters ([`GroupSpec`]: labels, output chunks of groups and their cohorts) and the
//! steps of its tasks ([`GroupStep`]), which backends implement.

use std::sync::Arc;

use crate::core::dtype::DType;
use crate::ir::reduce::{ReduceKind, Reduction};

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
    /// How `kind` accumulates a group's values; `None` for the reductions groupby does not
    /// compute (products, arg-reductions, any/all, count_nonzero).
    pub(crate) fn of(kind: ReduceKind) -> Option<GroupFold> {
        Some(match kind {
            ReduceKind::Sum | ReduceKind::Mean | ReduceKind::Count => GroupFold::Sum,
            ReduceKind::Var { .. } => GroupFold::Moments,
            ReduceKind::Min => GroupFold::Min,
            ReduceKind::Max => GroupFold::Max,
            _ => return None,
        })
    }
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
    pub(crate) op: Reduction,
    /// How the groups' values accumulate (from `op`).
    pub(crate) fold: GroupFold,
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
        write!(f, "groupby({} along axis {}, {} groups)", self.op, self.axis, self.groups.len())
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
