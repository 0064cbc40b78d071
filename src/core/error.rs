//! The one error type of tessera.
//!
//! Every fallible call returns [`Result<T>`]. Messages name what was wrong (the op, the shapes,
//! the axis, the block or task) so a user can act on them without reading the source.

use crate::core::dtype::DType;

/// Everything that can go wrong in tessera.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Two operands whose shapes cannot be combined (broadcast, concatenated, multiplied, …).
    #[error("{op}: shapes {left:?} and {right:?} are not compatible")]
    ShapeMismatch {
        /// The operation that was attempted.
        op: String,
        /// Shape of the left (first) operand.
        left: Vec<usize>,
        /// Shape of the right (second) operand.
        right: Vec<usize>,
    },
    /// An axis outside `-ndim..ndim`, or repeated.
    #[error("{op}: axis {axis} is invalid for an array of {ndim} dimension(s)")]
    InvalidAxis {
        /// The operation that was attempted.
        op: String,
        /// The axis as the user gave it.
        axis: isize,
        /// Number of dimensions of the array.
        ndim: usize,
    },
    /// A chunk specification that does not fit the shape.
    #[error("invalid chunks: {0}")]
    InvalidChunks(String),
    /// An integer index outside the axis.
    #[error("index {index} is out of bounds for axis {axis} of length {len}")]
    IndexOutOfBounds {
        /// The axis being indexed.
        axis: usize,
        /// The index as the user gave it.
        index: isize,
        /// Length of that axis.
        len: usize,
    },
    /// Any other argument that makes no sense (zero step, negative count, …).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// A value of one dtype where another was expected.
    #[error("{context}: expected dtype {expected}, found {found}")]
    DTypeMismatch {
        /// Where the mismatch happened.
        context: String,
        /// The dtype that was expected.
        expected: DType,
        /// The dtype that was found.
        found: DType,
    },
    /// A task failed (returned an error or panicked) during `compute()`.
    #[error("task {task} failed: {cause}")]
    TaskFailed {
        /// The task's label: the op and the block index.
        task: String,
        /// What went wrong ([`Error::Panicked`] for a panic); the error's `source()` is this box.
        #[source]
        cause: Box<Error>,
    },
    /// Code run by a task (a kernel or a user's closure) panicked; the message it gave.
    #[error("panicked: {0}")]
    Panicked(String),
    /// The run was asked to stop ([`crate::interrupt`]: Ctrl-C in the command line).
    #[error("interrupted: the run stopped at a task boundary and wrote no output")]
    Interrupted,
    /// A requested backend (a GPU) is not available.
    #[error("backend unavailable: {0}")]
    BackendUnavailable(String),
    /// Reading or writing a file failed (missing, no permission, disk full, …).
    #[error("{path}: {cause}")]
    Io {
        /// The file or directory.
        path: String,
        /// What the operating system said.
        cause: String,
    },
    /// A file whose contents are not what its format promises (corrupt, truncated, an
    /// unsupported dtype, a shape that disagrees with its neighbours, …).
    #[error("{path}: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A matrix that should be symmetric positive definite is not (Cholesky).
    #[error(
        "matrix is not positive definite: the Cholesky factorisation of diagonal tile {tile:?} \
         met a non-positive pivot at row {pivot} of the matrix"
    )]
    NotPositiveDefinite {
        /// The diagonal tile `(k, k)` whose factorisation failed.
        tile: (usize, usize),
        /// The failing row of the whole matrix.
        pivot: usize,
    },
    /// A matrix that must be invertible is singular (to working precision).
    #[error("{op}: matrix is singular ({detail})")]
    Singular {
        /// The operation.
        op: String,
        /// Where it showed.
        detail: String,
    },
    /// Even the smallest working set of a compute does not fit the memory budget.
    #[error(
        "memory budget of {budget} bytes is too small: {what} needs {needed} bytes at once \
         (raise ComputeOptions::memory_budget or use smaller chunks)"
    )]
    MemoryBudget {
        /// What needs the memory (a task's label).
        what: String,
        /// Bytes it needs.
        needed: usize,
        /// The budget.
        budget: usize,
    },
    /// An invariant of tessera itself was broken: a bug, not a problem with the input.
    #[error("internal error (a bug in tessera, please report it): {0}")]
    Internal(String),
}

/// `std::result::Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An [`Error::InvalidArgument`].
    pub fn invalid(msg: impl Into<String>) -> Self {
        Error::InvalidArgument(msg.into())
    }
    /// An [`Error::Internal`]: an invariant of tessera broken, never the user's input.
    pub fn internal(msg: impl Into<String>) -> Self {
        Error::Internal(msg.into())
    }
    /// An [`Error::TaskFailed`]: `task` failed with `cause`.
    pub fn task_failed(task: impl Into<String>, cause: Error) -> Self {
        Error::TaskFailed { task: task.into(), cause: Box::new(cause) }
    }
    /// An [`Error::Io`] for `path`.
    pub fn io(path: impl AsRef<std::path::Path>, e: impl std::fmt::Display) -> Self {
        Error::Io { path: path.as_ref().display().to_string(), cause: e.to_string() }
    }
    /// An [`Error::Format`] for `path`.
    pub fn format(path: impl AsRef<std::path::Path>, reason: impl Into<String>) -> Self {
        Error::Format { path: path.as_ref().display().to_string(), reason: reason.into() }
    }
}
