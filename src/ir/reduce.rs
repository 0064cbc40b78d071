//! The one reduction vocabulary: which reduction ([`ReduceKind`]), over which element type and
//! whether NaN is skipped ([`ReduceOp`]), and the portable form of one partial state
//! ([`PartialState`]) that a GPU (or another process) hands back for a backend to merge.
//! Arrays, groupby and the CLI name reductions with these; backends implement them.

use crate::core::dtype::{DType, Element};
use crate::with_dtype;

/// Which reduction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReduceKind {
    /// Sum (`nan`: NaN counts as 0).
    Sum,
    /// Product (`nan`: NaN counts as 1).
    Prod,
    /// Arithmetic mean (`nan`: over the non-NaN values).
    Mean,
    /// Variance (`std`: its square root) with `ddof` delta degrees of freedom.
    Var {
        /// Delta degrees of freedom: the divisor is `n - ddof`.
        ddof: f64,
        /// Return the standard deviation instead.
        std: bool,
    },
    /// Minimum (NaN propagates unless `nan`).
    Min,
    /// Maximum (NaN propagates unless `nan`).
    Max,
    /// Index of the minimum (first occurrence; a NaN counts as the minimum unless `nan`:
    /// then NaN is skipped and an all-NaN slice is an error).
    ArgMin,
    /// Index of the maximum (first occurrence; a NaN counts as the maximum unless `nan`:
    /// then NaN is skipped and an all-NaN slice is an error).
    ArgMax,
    /// Whether any element is non-zero.
    Any,
    /// Whether all elements are non-zero.
    All,
    /// Number of non-zero elements.
    CountNonzero,
}

impl ReduceKind {
    /// Whether the result holds indices (then at most one axis, or all, may be reduced).
    pub fn is_arg(self) -> bool {
        matches!(self, ReduceKind::ArgMin | ReduceKind::ArgMax)
    }
    /// Whether reducing an empty axis is an error (no identity).
    pub fn needs_elements(self) -> bool {
        matches!(self, ReduceKind::Min | ReduceKind::Max | ReduceKind::ArgMin | ReduceKind::ArgMax)
    }
    /// The result dtype for an input dtype.
    pub fn out_dtype(self, dtype: DType) -> DType {
        match self {
            ReduceKind::Sum | ReduceKind::Prod => with_dtype!(dtype, T => <T as Element>::Sum::DTYPE),
            ReduceKind::Mean | ReduceKind::Var { .. } => {
                with_dtype!(dtype, T => <T as Element>::Mean::DTYPE)
            }
            ReduceKind::Min | ReduceKind::Max => dtype,
            ReduceKind::ArgMin | ReduceKind::ArgMax | ReduceKind::CountNonzero => DType::I64,
            ReduceKind::Any | ReduceKind::All => DType::Bool,
        }
    }
}

/// A reduction as plain data: what every backend implements and every front names.
///
/// ```
/// use tessera::{DType, ReduceKind, ReduceOp};
/// let op = ReduceOp::new(ReduceKind::Mean, DType::F32, true);
/// assert_eq!(op.name(), "nanmean");
/// assert_eq!(ReduceOp::new(ReduceKind::ArgMax, DType::F32, false).out_dtype(), DType::I64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReduceOp {
    /// Which reduction (a variance carries its `ddof`).
    pub kind: ReduceKind,
    /// Element type of the input.
    pub dtype: DType,
    /// Skip NaN values (NumPy's `nan*` reductions).
    pub skip_nan: bool,
}

impl ReduceOp {
    /// The reduction `kind` over `dtype`, skipping NaN when `skip_nan`.
    pub fn new(kind: ReduceKind, dtype: DType, skip_nan: bool) -> Self {
        ReduceOp { kind, dtype, skip_nan }
    }
    /// NumPy's name of the reduction (`"sum"`, `"nanmean"`, `"argmax"`, …).
    pub fn name(&self) -> &'static str {
        let (plain, nan) = match self.kind {
            ReduceKind::Sum => ("sum", "nansum"),
            ReduceKind::Prod => ("prod", "nanprod"),
            ReduceKind::Mean => ("mean", "nanmean"),
            ReduceKind::Var { std: false, .. } => ("var", "nanvar"),
            ReduceKind::Var { std: true, .. } => ("std", "nanstd"),
            ReduceKind::Min => ("min", "nanmin"),
            ReduceKind::Max => ("max", "nanmax"),
            ReduceKind::ArgMin => ("argmin", "nanargmin"),
            ReduceKind::ArgMax => ("argmax", "nanargmax"),
            ReduceKind::Any => ("any", "any"),
            ReduceKind::All => ("all", "all"),
            ReduceKind::CountNonzero => ("count_nonzero", "count_nonzero"),
        };
        if self.skip_nan { nan } else { plain }
    }
    /// Element type of the result.
    pub fn out_dtype(&self) -> DType {
        self.kind.out_dtype(self.dtype)
    }
}

/// One partial reduction state in a portable form (what a GPU reads back), before it becomes a
/// backend's own state:
/// `a`, `b`, `c` hold the float parts (sum; sum and count; count, mean and M2; a min/max
/// value), `i` the integer ones (an integer sum, a count, an arg-reduction's global index),
/// `found` whether a min/max/arg state has seen a value (or any/all's answer).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PartialState {
    /// First float part.
    pub a: f64,
    /// Second float part.
    pub b: f64,
    /// Third float part.
    pub c: f64,
    /// Integer part.
    pub i: i64,
    /// Flag part.
    pub found: bool,
}
