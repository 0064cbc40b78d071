//! CPU kernels that move data between blocks: strided slices, assembly from pieces, user
//! closures and the steps of blocked scans.

use ndarray::{ArcArray, ArrayD, Axis, IxDyn, Slice};

use crate::backend::kernel::{
    AssembleKernel, GatherKernel, MapBlocksKernel, MapOverlapKernel, RelayoutKernel, ScanKernel, ScanOp,
    ScanStep, SliceKernel, TakeKernel,
};
use crate::block::{HostArray, Value};
use crate::dtype::Element;
use crate::error::{Error, Result};
use crate::with_dtype;

/// A strided view of one block (no copy: the result shares the input's buffer).
pub(crate) fn slice(k: &SliceKernel, input: &HostArray) -> Result<HostArray> {
    crate::map_host!(input, a => {
        let mut v = a.clone();
        for (ax, &(start, step, len)) in k.axes.iter().enumerate() {
            let n = a.shape()[ax];
            let sl = ndarray_slice(start, step, len, n)?;
            v.slice_axis_inplace(Axis(ax), sl);
        }
        for &ax in k.drop.iter().rev() {
            v.index_axis_inplace(Axis(ax), 0);
        }
        Ok(HostArray::new(v))
    })
}

/// NumPy-style `(start, step, len)` on an axis of length `n` as an ndarray [`Slice`].
///
/// ndarray applies a negative step from the end of the range, so a NumPy slice that starts
/// at `start` and walks down is the range `[start - (len-1)*|step|, start]` with that step.
pub(crate) fn ndarray_slice(start: usize, step: isize, len: usize, n: usize) -> Result<Slice> {
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
fn typed_input<'a, T: Element>(
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

/// A block assembled from pieces of the inputs.
pub(crate) fn assemble(k: &AssembleKernel, inputs: &[Value]) -> Result<HostArray> {
    with_dtype!(k.dtype, T => {
        let mut out = ArrayD::<T>::from_elem(IxDyn(&k.out_shape), T::zero());
        for (pos, src, dst) in &k.pieces {
            let input = typed_input::<T>(inputs, *pos, "assemble")?;
            let sv = input.slice_each_axis(|d| to_slice(&src[d.axis.index()]));
            out.slice_each_axis_mut(|d| to_slice(&dst[d.axis.index()])).assign(&sv);
        }
        Ok(HostArray::new(out.into_shared()))
    })
}

fn to_slice(r: &std::ops::Range<usize>) -> Slice {
    Slice::from(r.start..r.end)
}

/// A block gathered from strided pieces of the inputs; the rest is the fill value.
pub(crate) fn gather(k: &GatherKernel, inputs: &[Value]) -> Result<HostArray> {
    with_dtype!(k.dtype, T => {
        let n: usize = k.out_shape.iter().product();
        let buf = crate::backend::cpu::pool::take::<T>(n);
        let mut out = ArrayD::from_shape_vec(IxDyn(&k.out_shape), buf).map_err(|e| Error::invalid(e.to_string()))?;
        if !k.covered {
            out.fill(k.fill.get::<T>());
        }
        for (pos, runs, dst) in &k.pieces {
            let input = typed_input::<T>(inputs, *pos, "gather")?;
            let mut v = input.view();
            for (ax, &(start, step, len)) in runs.iter().enumerate() {
                let n = v.shape()[ax];
                if step == 0 {
                    v.slice_axis_inplace(Axis(ax), Slice::from(start..start + 1));
                } else {
                    v.slice_axis_inplace(Axis(ax), ndarray_slice(start, step, len, n)?);
                }
            }
            let shape: Vec<usize> = dst.iter().map(|r| r.len()).collect();
            let src = v.broadcast(IxDyn(&shape)).ok_or_else(|| Error::invalid("gather: piece shape"))?;
            out.slice_each_axis_mut(|d| to_slice(&dst[d.axis.index()])).assign(&src);
        }
        Ok(HostArray::new(out.into_shared()))
    })
}

/// Integer-list indexing: each position along the axis copies one slab of an input block.
pub(crate) fn take(k: &TakeKernel, inputs: &[Value]) -> Result<HostArray> {
    with_dtype!(k.dtype, T => {
        let mut out = ArrayD::<T>::from_elem(IxDyn(&k.out_shape), T::zero());
        for (p, &(pos, local)) in k.picks.iter().enumerate() {
            let input = typed_input::<T>(inputs, pos, "take")?;
            out.index_axis_mut(Axis(k.axis), p).assign(&input.index_axis(Axis(k.axis), local));
        }
        Ok(HostArray::new(out.into_shared()))
    })
}

/// Drop length-1 axes, permute, insert length-1 axes: a view, no copy.
pub(crate) fn relayout(k: &RelayoutKernel, input: &HostArray) -> Result<HostArray> {
    crate::map_host!(input, a => {
        let mut v = a.clone();
        for &ax in k.drop.iter().rev() {
            if v.shape()[ax] != 1 {
                return Err(Error::invalid(format!("relayout: axis {ax} has length {}, not 1", v.shape()[ax])));
            }
            v.index_axis_inplace(Axis(ax), 0);
        }
        let mut v = v.permuted_axes(IxDyn(&k.perm));
        for &ax in &k.insert {
            v.insert_axis_inplace(Axis(ax));
        }
        Ok(HostArray::new(v))
    })
}

/// Gather a block with its halo, run the user's function, trim the halo.
pub(crate) fn map_overlap(k: &MapOverlapKernel, inputs: &[Value]) -> Result<HostArray> {
    let ext = match &k.gather {
        Some(g) => gather(g, inputs)?,
        None => inputs.first().ok_or_else(|| Error::invalid("map_overlap: no input"))?.array()?.clone(),
    };
    let out = (k.func)(std::slice::from_ref(&ext), &k.info);
    let ext_shape = ext.shape().to_vec();
    // A gathered block goes back to the pool unless the function kept a reference to it.
    if k.gather.is_some() {
        crate::map_host!(ext, a => {
            if let Ok(a) = a.try_into_owned_nocopy() {
                crate::backend::cpu::pool::give(a.into_raw_vec_and_offset().0);
            }
        });
    }
    let out = out?;
    if out.dtype() != k.dtype || out.shape() != ext_shape.as_slice() {
        return Err(Error::ShapeMismatch {
            op: format!(
                "map_overlap: block {:?} must return a {} block of the shape it was given",
                k.info.index, k.dtype
            ),
            left: out.shape().to_vec(),
            right: ext_shape,
        });
    }
    crate::map_host!(out, a => {
        let mut v = a.clone();
        for (ax, &(lo, hi)) in k.trim.iter().enumerate() {
            let n = v.shape()[ax];
            v.slice_axis_inplace(Axis(ax), Slice::from(lo..n - hi));
        }
        Ok(HostArray::new(v))
    })
}

/// Run a user closure; check what it returns against the declared dtype and shape.
pub(crate) fn map_blocks(k: &MapBlocksKernel, inputs: &[Value]) -> Result<HostArray> {
    let arrays: Vec<HostArray> = inputs.iter().map(|v| v.array().cloned()).collect::<Result<_>>()?;
    let out = (k.func)(&arrays, &k.info)?;
    if out.dtype() != k.dtype {
        return Err(Error::DTypeMismatch {
            context: format!("map_blocks output block {:?}", k.info.index),
            expected: k.dtype,
            found: out.dtype(),
        });
    }
    if out.shape() != k.out_shape.as_slice() {
        return Err(Error::ShapeMismatch {
            op: format!(
                "map_blocks: block {:?} returned a block whose shape differs from the declared chunks",
                k.info.index
            ),
            left: out.shape().to_vec(),
            right: k.out_shape.clone(),
        });
    }
    Ok(out)
}

/// One step of a blocked scan.
pub(crate) fn scan(k: &ScanKernel, inputs: &[Value]) -> Result<HostArray> {
    with_dtype!(k.dtype, T => {
        let combine = |a: T, b: T| match k.op {
            ScanOp::Sum => a.add(b),
            ScanOp::Prod => a.mul(b),
        };
        match k.step {
            ScanStep::Local => {
                let x = inputs[0].array()?;
                let mut out: ArrayD<T> = crate::map_host!(x, a => a.mapv(T::cast_from));
                let ax = Axis(k.axis);
                let n = out.len_of(ax);
                for i in 1..n {
                    let (prev, mut cur) = out.view_mut().split_at(ax, i);
                    let prev = prev.index_axis(ax, i - 1);
                    let mut cur = cur.index_axis_mut(ax, 0);
                    ndarray::Zip::from(&mut cur).and(&prev).for_each(|c, &p| *c = combine(p, *c));
                }
                Ok(HostArray::new(out.into_shared()))
            }
            ScanStep::Carry => {
                // inputs: [previous carry,] previous local scan.
                let local = inputs.last().expect("carry has inputs").array()?.typed::<T>()?;
                let n = local.len_of(Axis(k.axis));
                let last = local.index_axis(Axis(k.axis), n - 1).insert_axis(Axis(k.axis));
                let out = if inputs.len() == 2 {
                    let prev = inputs[0].array()?.typed::<T>()?;
                    let mut o = prev.to_owned();
                    ndarray::Zip::from(&mut o).and(&last).for_each(|o, &l| *o = combine(*o, l));
                    o
                } else {
                    last.to_owned()
                };
                Ok(HostArray::new(out.into_shared()))
            }
            ScanStep::Apply => {
                let local = inputs[0].array()?.typed::<T>()?;
                let carry = inputs[1].array()?.typed::<T>()?;
                let mut o: ArcArray<T, IxDyn> = local.clone();
                let b = carry.broadcast(o.raw_dim()).ok_or_else(|| Error::invalid("scan carry shape"))?;
                ndarray::Zip::from(&mut o).and(&b).for_each(|o, &c| *o = combine(c, *o));
                Ok(HostArray::new(o))
            }
        }
    })
}
