//! CPU reductions: one generic [`Reducer`] per reduction, one adaptor to [`ReduceKernel`].
//!
//! A reducer defines a per-element state (`init`, `accumulate`), how two states merge, and the
//! final value. The per-block partial reduces the block's axes one at a time: the last reduced
//! axis first, over contiguous lanes when it is the block's last axis (pairwise sums in `f64`
//! or `i64`, eight accumulators wide), else by accumulating whole rows (vectorised over the
//! row); the remaining axes merge states slice by slice. Partials keep reduced axes with
//! length 1 so combining is elementwise, done in the fixed order the graph gives: results do
//! not depend on the number of threads.
//!
//! `f32` sums and means accumulate in `f64`, with one bounded exception: reducing a block's
//! non-last axis adds up to `FLUSH_PLANES` = 32 planes in `f32` before flushing them into the
//! `f64` states. Each `f32` partial sum has at most 32 terms, so its error is at most
//! 31·2⁻²⁴ of the sum of its terms' magnitudes; with the final rounding to `f32`, a result
//! is within 32·2⁻²⁴ ≈ 1.9e-6 of the sum of magnitudes of the exact value (tests/reductions.rs
//! checks this bound on 1e7 values of 1e4 + noise over axis 0: about 7e-8 measured, 3e-5
//! with f32 throughout). Partials in `f64` instead made `tessera bench sst-nanmean` about
//! 10–20 % slower (BENCHMARKS.md, "f32 accumulation (issue 19)").
//!
//! Files: `numeric.rs` (accumulator types and the vectorised inner loops), `reducers.rs` (one
//! [`Reducer`] per reduction), `block.rs` (the per-block partial: which axis first, lanes or
//! row tiles).

mod block;
mod numeric;
mod reducers;

use std::fmt::Debug;

use ndarray::{ArrayD, IxDyn, Zip};

use crate::core::block::{HostArray, Value};
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};
use crate::ir::kernel::PartialStep;
use crate::ir::reduce::{PartialState, ReduceKind, ReduceOp};
use crate::with_dtype;

pub(crate) use numeric::chan_merge;
use reducers::*;

/// A reduction as the CPU runs it: per-block partial, combine, finalize, over opaque states.
///
/// Partials ([`Value::State`]) always keep the reduced axes with length 1, so combining is
/// elementwise.
pub(crate) trait ReduceKernel {
    /// Reduce `axes` of one block to a partial (reduced axes kept, length 1).
    fn partial(&self, block: &HostArray, step: &PartialStep) -> Result<Value>;
    /// A partial of `shape` from portable states (a GPU's, in C order).
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    fn partial_from_gpu(&self, states: &[PartialState], shape: &[usize]) -> Result<Value>;
    /// Combine partials in the given order.
    fn combine(&self, parts: &[&Value]) -> Result<Value>;
    /// The final values of a partial, reshaped to `out_shape`.
    fn finalize(&self, part: &Value, out_shape: &[usize]) -> Result<HostArray>;
}

/// Run `f` on the CPU kernel of `op` (built on the stack: no allocation per task).
pub(crate) fn with_kernel<O>(op: &ReduceOp, f: impl FnOnce(&dyn ReduceKernel) -> O) -> O {
    let nan = op.skip_nan;
    with_dtype!(op.dtype, T => match op.kind {
        ReduceKind::Sum => f(&Kern(SumR::<T> { nan, prod: false, _t: Default::default() })),
        ReduceKind::Prod => f(&Kern(SumR::<T> { nan, prod: true, _t: Default::default() })),
        ReduceKind::Mean => f(&Kern(MeanR::<T> { nan, _t: Default::default() })),
        ReduceKind::Var { ddof, std } => f(&Kern(VarR::<T> { nan, ddof, std, _t: Default::default() })),
        ReduceKind::Min => f(&Kern(MinMaxR::<T> { nan, max: false, _t: Default::default() })),
        ReduceKind::Max => f(&Kern(MinMaxR::<T> { nan, max: true, _t: Default::default() })),
        ReduceKind::ArgMin => f(&Kern(ArgR::<T> { nan, max: false, _t: Default::default() })),
        ReduceKind::ArgMax => f(&Kern(ArgR::<T> { nan, max: true, _t: Default::default() })),
        ReduceKind::Any => f(&Kern(AnyAllR::<T> { all: false, _t: Default::default() })),
        ReduceKind::All => f(&Kern(AnyAllR::<T> { all: true, _t: Default::default() })),
        ReduceKind::CountNonzero => f(&Kern(CountR::<T> { non_nan: false, _t: Default::default() })),
        ReduceKind::Count => f(&Kern(CountR::<T> { non_nan: true, _t: Default::default() })),
    })
}

/// The partial of one block for a reduction's per-block step.
pub(crate) fn partial(block: &HostArray, step: &PartialStep) -> Result<Value> {
    with_kernel(&step.op, |k| k.partial(block, step))
}

/// Combine partials of `op` in the given order.
pub(crate) fn combine(op: &ReduceOp, parts: &[&Value]) -> Result<Value> {
    with_kernel(op, |k| k.combine(parts))
}

/// The final values of a partial of `op`, reshaped to `out_shape`.
pub(crate) fn finalize(op: &ReduceOp, part: &Value, out_shape: &[usize]) -> Result<HostArray> {
    with_kernel(op, |k| k.finalize(part, out_shape))
}

/// A partial of `op` and `shape` from portable states (a GPU's, in C order).
#[cfg_attr(not(feature = "gpu"), allow(dead_code))]
pub(crate) fn partial_from_gpu(op: &ReduceOp, states: &[PartialState], shape: &[usize]) -> Result<Value> {
    with_kernel(op, |k| k.partial_from_gpu(states, shape))
}

/// A reduction's element-level definition.
pub trait Reducer: Send + Sync + Debug + 'static {
    /// Input element type.
    type In: Element;
    /// Per-output-element state.
    type State: Copy + Send + Sync + Debug + 'static;
    /// Result element type.
    type Out: Element;
    /// A state from the portable form a GPU reads back.
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    fn state_from_gpu(&self, s: &PartialState) -> Self::State;
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
    /// The result, or why a state has none (a NaN-skipping arg-reduction that met only NaN).
    fn try_finalize(&self, s: &Self::State) -> Result<Self::Out> {
        Ok(self.finalize(s))
    }
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
struct Kern<R>(R);

impl<R: Reducer> ReduceKernel for Kern<R> {
    fn partial_from_gpu(&self, states: &[PartialState], shape: &[usize]) -> Result<Value> {
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
        let first = parts.first().ok_or_else(|| Error::internal("combine of no partials"))?;
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
        let out: Vec<R::Out> = s.iter().map(|s| self.0.try_finalize(s)).collect::<Result<_>>()?;
        let a = ArrayD::from_shape_vec(IxDyn(out_shape), out)
            .map_err(|e| Error::invalid(format!("reduce-finalize: {e}")))?;
        Ok(HostArray::new(a.into_shared()))
    }
}
