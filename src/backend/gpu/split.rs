//! Blocks larger than one storage binding (128 MiB on lavapipe and many drivers): the fused
//! task is cut along its first axis into pieces that fit, each piece runs as a kernel of its
//! own, and the pieces come together on the host: an elementwise result is assembled, the
//! partials of a reduction over the first axis are combined (reductions that keep the first
//! axis are not split; they run on the CPU).

use std::ops::Range;
use std::sync::Arc;

use ndarray::{ArrayD, Axis, IxDyn, Slice};

use crate::core::block::{HostArray, Value};
use crate::core::error::Result;
use crate::ir::kernel::{FusedKernel, PartialStep};

use super::context::Gpu;
use super::run::{self, LeafData};

/// The pieces (ranges of the first axis) task `f` is split into, when its block is too
/// large for one binding and splitting it along the first axis helps.
pub(crate) fn pieces(gpu: &Gpu, f: &FusedKernel) -> Option<Vec<Range<usize>>> {
    if !run::too_large(gpu, f) || f.out_shape.is_empty() {
        return None;
    }
    if let Some(step) = &f.reduce
        && !step.axes.contains(&0)
    {
        return None;
    }
    let rows = f.out_shape[0];
    let row_bytes = f.out_shape[1..].iter().product::<usize>() as u64 * run::widest_value(f);
    let per = (gpu.max_binding() / row_bytes.max(1)) as usize;
    if per == 0 || rows < 2 {
        return None;
    }
    Some((0..rows).step_by(per).map(|s| s..(s + per).min(rows)).collect())
}

/// Run `f` piece by piece (see [`pieces`]); every piece's result comes back to the host.
pub(crate) fn run_pieces(
    gpu: &Arc<Gpu>,
    f: &FusedKernel,
    leaves: &[LeafData],
    pieces: &[Range<usize>],
) -> Result<Value> {
    let rank = f.out_shape.len();
    let host: Vec<HostArray> = leaves.iter().map(LeafData::to_host).collect::<Result<_>>()?;
    let mut outs = Vec::with_capacity(pieces.len());
    for r in pieces {
        // Leaves broadcast to the block from the right: slice the ones that have the first
        // axis at full length; the others read the same for every piece.
        let sub: Vec<LeafData> = host
            .iter()
            .map(|h| {
                let full = h.shape().len() == rank && h.shape()[0] == f.out_shape[0];
                LeafData::Host(if full { slice_rows(h, r.clone()) } else { h.clone() })
            })
            .collect();
        let mut shape = f.out_shape.clone();
        shape[0] = r.len();
        let reduce = f.reduce.as_ref().map(|s| {
            let mut offset = s.offset.clone();
            offset[0] += r.start;
            PartialStep { offset, ..s.clone() }
        });
        let k = FusedKernel { leaves: f.leaves.clone(), expr: f.expr.clone(), out_shape: shape, reduce };
        outs.push(run::fused(gpu, &k, &sub, false)?);
    }
    match &f.reduce {
        Some(step) => {
            let parts: Vec<&Value> = outs.iter().collect();
            crate::backend::cpu::reduce::combine(&step.op, &parts)
        }
        None => {
            let dtype = f.expr.dtype();
            crate::with_dtype!(dtype, T => {
                let mut out = ArrayD::<T>::from_elem(IxDyn(&f.out_shape), T::default());
                for (r, v) in pieces.iter().zip(&outs) {
                    let piece = v.array()?.typed::<T>()?;
                    out.slice_axis_mut(Axis(0), Slice::from(r.clone())).assign(piece);
                }
                Ok(Value::Array(HostArray::new(out.into_shared())))
            })
        }
    }
}

/// Rows `r` of `h` (a view, no copy).
fn slice_rows(h: &HostArray, r: Range<usize>) -> HostArray {
    crate::map_host!(h, a => {
        let mut v = a.clone();
        v.slice_axis_inplace(Axis(0), Slice::from(r));
        HostArray::new(v)
    })
}
