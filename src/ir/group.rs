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

    /// Accumulators per element of a state: count and sum or extremum, plus M2 for moments.
    pub(crate) fn accumulators(&self) -> usize {
        if self.fold == GroupFold::Moments { 3 } else { 2 }
    }

    /// Bytes of a combine's state for `ng` groups of `rest` kept elements (at most).
    pub(crate) fn state_bytes(&self, ng: usize, rest: usize) -> usize {
        ng.saturating_mul(rest).saturating_mul(8 * self.accumulators())
    }

    /// Kept elements a fold handles at a time for `ng` groups: its accumulators (and a
    /// block's own moments) stay within a few hundred kB, in cache, whatever the block.
    pub(crate) fn strip_width(ng: usize) -> usize {
        (16384 / ng.max(1)).max(256)
    }

    /// Bytes of a fold's accumulators for one strip of `ng` groups of at most `rest` kept
    /// elements (twice for moments: a block's own moments before they are merged).
    pub(crate) fn strip_bytes(&self, ng: usize, rest: usize) -> usize {
        let per = ng.max(1) * Self::strip_width(ng).min(rest) * 8 * self.accumulators();
        if self.fold == GroupFold::Moments { 2 * per } else { per }
    }
}

impl std::fmt::Debug for GroupSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "groupby({} along axis {}, {} groups)", self.op, self.axis, self.groups.len())
    }
}

/// One step of a groupby-reduce block. Its inputs are input blocks (the grouped axis's
/// positions `start..start + len`, folded position by position) or the states of earlier
/// combines, in input order: `starts[i]` is `Some(start)` for an input block, `None` for a
/// state. There is no per-block partial task: a block is folded where it is consumed, so
/// what waits between tasks is the block itself (an array the scheduler can spill), never a
/// state several times its size.
#[derive(Clone, Debug)]
pub enum GroupStep {
    /// Fold the inputs into one state of the groups of output chunk `chunk` (per group
    /// present and kept element: count, then sum, mean and M2, or the extremum).
    Combine {
        /// The output chunk of groups.
        chunk: usize,
        /// Elements per group (the block's size over the other axes).
        rest: usize,
        /// Per input: where its block starts on the grouped axis, or `None` for a state.
        starts: Vec<Option<usize>>,
    },
    /// The output block of `shape` (chunk `chunk` of groups) from the inputs, folded a strip
    /// of kept elements at a time (nothing from nothing: an empty block).
    Finalize {
        /// The output chunk of groups.
        chunk: usize,
        /// Shape of the output block.
        shape: Vec<usize>,
        /// Per input: where its block starts on the grouped axis, or `None` for a state.
        starts: Vec<Option<usize>>,
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
