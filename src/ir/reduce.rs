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
    /// Number of non-NaN elements (xarray's and pandas' `count`; every element of an integer
    /// or bool array counts).
    Count,
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
            ReduceKind::ArgMin | ReduceKind::ArgMax | ReduceKind::CountNonzero | ReduceKind::Count => {
                DType::I64
            }
            ReduceKind::Any | ReduceKind::All => DType::Bool,
        }
    }
}

/// A reduction named by a front (arrays, groupby, the CLI): which kind, and whether NaN is
/// skipped. Parses from NumPy's names (`"nanmean"`, `"std"`, `"argmax"`, …) and xarray's
/// `"count"`; `var` and `std` parsed from a name have `ddof = 0`, as in NumPy.
///
/// ```
/// use tessera::{ReduceKind, Reduction};
/// let r: Reduction = "nanstd".parse()?;
/// assert_eq!(r, Reduction::nan(ReduceKind::Var { ddof: 0.0, std: true }));
/// assert_eq!(r.to_string(), "nanstd");
/// assert!("median".parse::<Reduction>().is_err());
/// # Ok::<(), tessera::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reduction {
    /// Which reduction (a variance carries its `ddof`).
    pub kind: ReduceKind,
    /// Skip NaN values (NumPy's `nan*` reductions).
    pub skip_nan: bool,
}

/// Every name [`Reduction`] parses, with the reduction it names.
const NAMES: [(&str, ReduceKind, bool); 22] = {
    use ReduceKind::*;
    const VAR: ReduceKind = Var { ddof: 0.0, std: false };
    const STD: ReduceKind = Var { ddof: 0.0, std: true };
    [
        ("sum", Sum, false),
        ("nansum", Sum, true),
        ("prod", Prod, false),
        ("nanprod", Prod, true),
        ("mean", Mean, false),
        ("nanmean", Mean, true),
        ("var", VAR, false),
        ("nanvar", VAR, true),
        ("std", STD, false),
        ("nanstd", STD, true),
        ("min", Min, false),
        ("nanmin", Min, true),
        ("max", Max, false),
        ("nanmax", Max, true),
        ("argmin", ArgMin, false),
        ("nanargmin", ArgMin, true),
        ("argmax", ArgMax, false),
        ("nanargmax", ArgMax, true),
        ("any", Any, false),
        ("all", All, false),
        ("count_nonzero", CountNonzero, false),
        ("count", Count, false),
    ]
};

impl Reduction {
    /// The reduction `kind`, NaN propagating (`sum`, `mean`, …).
    pub const fn new(kind: ReduceKind) -> Self {
        Reduction { kind, skip_nan: false }
    }
    /// The reduction `kind`, NaN skipped (`nansum`, `nanmean`, …).
    pub const fn nan(kind: ReduceKind) -> Self {
        Reduction { kind, skip_nan: true }
    }
    /// NumPy's name of the reduction (`"sum"`, `"nanmean"`, `"argmax"`, …; `"count"` for
    /// [`ReduceKind::Count`]). Kinds without a NaN form (`any`, `all`, the counts) have one name.
    pub fn name(&self) -> &'static str {
        let same = |k: ReduceKind| match (k, self.kind) {
            (ReduceKind::Var { std: a, .. }, ReduceKind::Var { std: b, .. }) => a == b,
            (a, b) => a == b,
        };
        let skip = self.skip_nan && self.kind.has_nan_form();
        NAMES.iter().find(|(_, k, nan)| same(*k) && *nan == skip).map_or("?", |(n, ..)| *n)
    }
    /// All names that parse, in NumPy's order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(n, ..)| *n)
    }
    /// This reduction over elements of `dtype`.
    pub fn over(self, dtype: DType) -> ReduceOp {
        ReduceOp { kind: self.kind, dtype, skip_nan: self.skip_nan }
    }
}

impl ReduceKind {
    /// Whether NaN-skipping changes the result (false for any, all and the counts).
    pub fn has_nan_form(self) -> bool {
        !matches!(self, ReduceKind::Any | ReduceKind::All | ReduceKind::CountNonzero | ReduceKind::Count)
    }
}

impl std::str::FromStr for Reduction {
    type Err = crate::core::error::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let name = s.trim().to_ascii_lowercase();
        NAMES
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|&(_, kind, skip_nan)| Reduction { kind, skip_nan })
            .ok_or_else(|| {
                crate::core::error::Error::invalid(format!(
                    "unknown reduction '{s}' (known: {})",
                    Reduction::names().collect::<Vec<_>>().join(", ")
                ))
            })
    }
}

impl std::fmt::Display for Reduction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl From<ReduceKind> for Reduction {
    fn from(kind: ReduceKind) -> Self {
        Reduction::new(kind)
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
    /// The reduction without its dtype.
    pub fn reduction(&self) -> Reduction {
        Reduction { kind: self.kind, skip_nan: self.skip_nan }
    }
    /// NumPy's name of the reduction (`"sum"`, `"nanmean"`, `"argmax"`, …).
    pub fn name(&self) -> &'static str {
        self.reduction().name()
    }
    /// Element type of the result.
    pub fn out_dtype(&self) -> DType {
        self.kind.out_dtype(self.dtype)
    }
    /// Bytes of one partial state per kept element (the CPU reducers' states, padding
    /// included): what the planner counts for a partial.
    pub fn state_bytes(&self) -> usize {
        match self.kind {
            ReduceKind::Sum | ReduceKind::Prod | ReduceKind::CountNonzero | ReduceKind::Count => 8,
            ReduceKind::Any | ReduceKind::All => 1,
            ReduceKind::Mean => 16,
            ReduceKind::Var { .. } => 24,
            // (value, found) and (value, index, found).
            ReduceKind::Min | ReduceKind::Max => 2 * self.dtype.size().max(1),
            ReduceKind::ArgMin | ReduceKind::ArgMax => 8 + 2 * self.dtype.size().max(8),
        }
    }
}

/// One partial reduction state in a portable form (what a GPU reads back), before it becomes a
/// backend's own state:
/// `a`, `b`, `c` hold the float parts (sum; sum and count; count, mean and M2; a min/max
/// value), `i` the integer ones (an integer sum, a count, an arg-reduction's global index),
/// `found` whether a min/max/arg state has seen a value (or any/all's answer).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
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
