//! CPU reductions: one generic [`Reducer`] per reduction, one adaptor to [`ReduceKernel`].
//!
//! A reducer defines a per-element state (`init`, `accumulate`), how two states merge, and the
//! final value. The per-block partial reduces the block's axes one at a time: the last reduced
//! axis first, over contiguous lanes when it is the block's last axis (pairwise sums in `f64`
//! or `i64`, eight accumulators wide), else by accumulating whole rows (vectorised over the
//! row); the remaining axes merge states slice by slice. Partials keep reduced axes with
//! length 1 so combining is elementwise, done in the fixed order the graph gives: results do
//! not depend on the number of threads. `f32` sums and means accumulate in `f64`.
//!
//! Files: `numeric.rs` (accumulator types and the vectorised inner loops), `reducers.rs` (one
//! [`Reducer`] per reduction), `block.rs` (the per-block partial: which axis first, lanes or
//! row tiles).

mod block;
mod numeric;
mod reducers;

use std::fmt::Debug;
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn, Zip};

use crate::backend::kernel::{PartialStep, ReduceKernel};
use crate::block::{HostArray, Value};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::with_dtype;

pub use numeric::{AccNum, Accumulate};
use reducers::*;

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
    /// Index of the minimum (first occurrence; a NaN counts as the minimum).
    ArgMin,
    /// Index of the maximum (first occurrence; a NaN counts as the maximum).
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

/// Build the reduction kernel of `kind` over `dtype` (`nan`: skip NaN values).
pub fn reduce_kernel(kind: ReduceKind, dtype: DType, nan: bool) -> Arc<dyn ReduceKernel> {
    fn mk<R: Reducer>(r: R) -> Arc<dyn ReduceKernel> {
        Arc::new(Kern(r))
    }
    with_dtype!(dtype, T => match kind {
        ReduceKind::Sum => mk(SumR::<T> { nan, prod: false, _t: Default::default() }),
        ReduceKind::Prod => mk(SumR::<T> { nan, prod: true, _t: Default::default() }),
        ReduceKind::Mean => mk(MeanR::<T> { nan, _t: Default::default() }),
        ReduceKind::Var { ddof, std } => mk(VarR::<T> { nan, ddof, std, _t: Default::default() }),
        ReduceKind::Min => mk(MinMaxR::<T> { nan, max: false, _t: Default::default() }),
        ReduceKind::Max => mk(MinMaxR::<T> { nan, max: true, _t: Default::default() }),
        ReduceKind::ArgMin => mk(ArgR::<T> { max: false, _t: Default::default() }),
        ReduceKind::ArgMax => mk(ArgR::<T> { max: true, _t: Default::default() }),
        ReduceKind::Any => mk(AnyAllR::<T> { all: false, _t: Default::default() }),
        ReduceKind::All => mk(AnyAllR::<T> { all: true, _t: Default::default() }),
        ReduceKind::CountNonzero => mk(CountR::<T> { _t: Default::default() }),
    })
}

/// One reduction state as a GPU reads it back, before it becomes a reducer's own state:
/// `a`, `b`, `c` hold the float parts (sum; sum and count; count, mean and M2; a min/max
/// value), `i` the integer ones (an integer sum, a count, an arg-reduction's global index),
/// `found` whether a min/max/arg state has seen a value (or any/all's answer).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct GpuState {
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

/// A reduction's element-level definition.
pub trait Reducer: Send + Sync + Debug + 'static {
    /// Input element type.
    type In: Element;
    /// Per-output-element state.
    type State: Copy + Send + Sync + Debug + 'static;
    /// Result element type.
    type Out: Element;
    /// Name for labels.
    fn name(&self) -> &'static str;
    /// Which reduction this is, and whether it skips NaN.
    fn kind(&self) -> (ReduceKind, bool);
    /// A state from the portable form a GPU reads back.
    fn state_from_gpu(&self, s: &GpuState) -> Self::State;
    /// Whether `accumulate` uses the element index.
    const NEEDS_INDEX: bool = false;
    /// The empty state.
    fn init(&self) -> Self::State;
    /// Fold one element (with its index along the reduced axis, or flat, for arg-reductions).
    fn accumulate(&self, s: &mut Self::State, x: Self::In, idx: i64);
    /// Fold `b` into `a`; `a` precedes `b` in index order.
    fn merge(&self, a: &mut Self::State, b: &Self::State);
    /// The result.
    fn finalize(&self, s: &Self::State) -> Self::Out;
    /// Fold a tile of rows into `out`, which holds `t` output rows of `width` states each;
    /// `rows[i * t + k]` is input row `k` of plane `i` (index `base + i`). Override with a
    /// vectorised loop.
    fn accumulate_tile(&self, out: &mut [Self::State], rows: &[&[Self::In]], width: usize, base: i64)
    where
        Self: Sized,
    {
        fold_tile(self, out, rows, width, base);
    }
    /// Reduce a contiguous lane (first index `base`); override for pairwise sums.
    fn reduce_slice(&self, xs: &[Self::In], base: i64) -> Self::State {
        let mut s = self.init();
        for (i, &x) in xs.iter().enumerate() {
            self.accumulate(&mut s, x, base + i as i64);
        }
        s
    }
}

/// Fold a tile of rows element by element (the generic [`Reducer::accumulate_tile`]).
pub(crate) fn fold_tile<R: Reducer>(r: &R, out: &mut [R::State], rows: &[&[R::In]], width: usize, base: i64) {
    if out.is_empty() || width == 0 {
        return;
    }
    let t = out.len() / width;
    for (j, row) in rows.iter().enumerate() {
        let (i, k) = (j / t, j % t);
        for (st, &v) in out[k * width..(k + 1) * width].iter_mut().zip(*row) {
            r.accumulate(st, v, base + i as i64);
        }
    }
}

/// The adaptor from a typed [`Reducer`] to the untyped [`ReduceKernel`].
#[derive(Debug)]
struct Kern<R>(R);

impl<R: Reducer> ReduceKernel for Kern<R> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn in_dtype(&self) -> DType {
        R::In::DTYPE
    }
    fn out_dtype(&self) -> DType {
        R::Out::DTYPE
    }
    fn spec(&self) -> Option<(ReduceKind, bool)> {
        Some(self.0.kind())
    }
    fn partial_from_gpu(&self, states: &[GpuState], shape: &[usize]) -> Result<Value> {
        let s: Vec<R::State> = states.iter().map(|g| self.0.state_from_gpu(g)).collect();
        let a = ArrayD::from_shape_vec(IxDyn(shape), s)
            .map_err(|e| Error::invalid(format!("gpu partial: {e}")))?;
        let nbytes = a.len() * std::mem::size_of::<R::State>();
        Ok(Value::state(a, nbytes))
    }
    fn partial(&self, block: &HostArray, step: &PartialStep) -> Result<Value> {
        let a = block.typed::<R::In>()?;
        let s = block::partial(&self.0, a.view(), step);
        let nbytes = s.len() * std::mem::size_of::<R::State>();
        Ok(Value::state(s, nbytes))
    }
    fn combine(&self, parts: &[&Value]) -> Result<Value> {
        let first = parts.first().ok_or_else(|| Error::invalid("combine of no partials"))?;
        let mut acc: ArrayD<R::State> = first.get_state::<ArrayD<R::State>>()?.clone();
        for p in &parts[1..] {
            let b = p.get_state::<ArrayD<R::State>>()?;
            if b.shape() != acc.shape() {
                return Err(Error::ShapeMismatch {
                    op: "reduce-combine".into(),
                    left: acc.shape().to_vec(),
                    right: b.shape().to_vec(),
                });
            }
            Zip::from(&mut acc).and(b).for_each(|a, b| self.0.merge(a, b));
        }
        let nbytes = acc.len() * std::mem::size_of::<R::State>();
        Ok(Value::state(acc, nbytes))
    }
    fn finalize(&self, part: &Value, out_shape: &[usize]) -> Result<HostArray> {
        let s = part.get_state::<ArrayD<R::State>>()?;
        let out: Vec<R::Out> = s.iter().map(|s| self.0.finalize(s)).collect();
        let a = ArrayD::from_shape_vec(IxDyn(out_shape), out)
            .map_err(|e| Error::invalid(format!("reduce-finalize: {e}")))?;
        Ok(HostArray::new(a.into_shared()))
    }
}
