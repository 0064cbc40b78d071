//! Host-level block helpers that every layer may use: strided views, slab picks, typed access
//! to task inputs. The CPU kernels build on them; sources use them to answer reads.

use ndarray::{ArcArray, ArrayD, Axis, IxDyn, Slice};

use crate::core::block::{HostArray, Value};
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::with_dtype;

/// A strided view of a block: per axis `(start, step, len)` (NumPy's slice, the step non-zero,
/// negative to walk down), then the `drop` axes (each of length 1) removed. No copy: the
/// result shares the input's buffer.
pub fn slice_view(input: &HostArray, axes: &[(usize, isize, usize)], drop: &[usize]) -> Result<HostArray> {
    crate::map_host!(input, a => {
        let mut v = a.clone();
        for (ax, &(start, step, len)) in axes.iter().enumerate() {
            let n = a.shape()[ax];
            let sl = ndarray_slice(start, step, len, n)?;
            v.slice_axis_inplace(Axis(ax), sl);
        }
        for &ax in drop.iter().rev() {
            v.index_axis_inplace(Axis(ax), 0);
        }
        Ok(HostArray::new(v))
    })
}

/// NumPy-style `(start, step, len)` on an axis of length `n` as an ndarray [`Slice`].
///
/// ndarray applies a negative step from the end of the range, so a NumPy slice that starts
/// at `start` and walks down is the range `[start - (len-1)*|step|, start]` with that step.
pub fn ndarray_slice(start: usize, step: isize, len: usize, n: usize) -> Result<Slice> {
    let oob = || Error::invalid(format!("slice start {start} step {step} len {len} outside {n}"));
    if len == 0 {
        return Ok(Slice::new(0, Some(0), 1));
    }
    let span = (len - 1) * step.unsigned_abs();
    if step > 0 {
        if start + span >= n {
            return Err(oob());
        }
        Ok(Slice::new(start as isize, Some((start + span + 1) as isize), step))
    } else {
        if start >= n || span > start {
            return Err(oob());
        }
        Ok(Slice::new((start - span) as isize, Some(start as isize + 1), step))
    }
}

/// Input `pos` as a typed array, or an error naming the kernel.
pub fn typed_input<'a, T: Element>(
    inputs: &'a [Value],
    pos: usize,
    kernel: &str,
) -> Result<&'a ArcArray<T, IxDyn>> {
    inputs
        .get(pos)
        .ok_or_else(|| Error::invalid(format!("{kernel}: missing input {pos}")))?
        .array()?
        .typed::<T>()
}

/// Integer-list indexing of one output block of `out_shape` along `axis`: position `p` copies
/// the slab `picks[p] = (input position, index in that input)`.
pub fn take(
    axis: usize,
    dtype: DType,
    out_shape: &[usize],
    picks: &[(usize, usize)],
    inputs: &[Value],
) -> Result<HostArray> {
    with_dtype!(dtype, T => {
        let mut out = ArrayD::<T>::from_elem(IxDyn(out_shape), T::zero());
        for (p, &(pos, local)) in picks.iter().enumerate() {
            let input = typed_input::<T>(inputs, pos, "take")?;
            out.index_axis_mut(Axis(axis), p).assign(&input.index_axis(Axis(axis), local));
        }
        Ok(HostArray::new(out.into_shared()))
    })
}
