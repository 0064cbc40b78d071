//! CPU kernels that move data between blocks: strided slices, assembly from pieces, user
//! closures and the steps of blocked scans.

use ndarray::{ArcArray, ArrayD, Axis, IxDyn, Slice};

use crate::core::block::{HostArray, Value};
use crate::core::chunks::unravel;
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::core::host::{self, ndarray_slice, typed_input};
use crate::ir::kernel::{
    AssembleKernel, GatherKernel, MapBlocksKernel, MapOverlapKernel, PointsKernel, RelayoutKernel,
    ScanKernel, ScanOp, ScanStep, SliceKernel, TakeKernel,
};
use crate::with_dtype;

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

/// A strided view of one block (no copy: the result shares the input's buffer).
pub(crate) fn slice(k: &SliceKernel, input: &HostArray) -> Result<HostArray> {
    host::slice_view(input, &k.axes, &k.drop)
}

/// Integer-list indexing: each position along the axis copies one slab of an input block.
pub(crate) fn take(k: &TakeKernel, inputs: &[Value]) -> Result<HostArray> {
    host::take(k.axis, k.dtype, &k.out_shape, &k.picks, inputs)
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
        None => inputs.first().ok_or_else(|| Error::internal("map_overlap: no input"))?.array()?.clone(),
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

/// Boolean-mask indexing of one block: the slabs of input 0 along `axis` where the 1-d mask
/// block (input 1) is true.
pub(crate) fn compress(axis: usize, dtype: DType, inputs: &[Value]) -> Result<HostArray> {
    let mask = inputs.get(1).ok_or_else(|| Error::internal("compress: no mask block"))?.array()?;
    let mask = mask.typed::<bool>()?;
    let keep: Vec<usize> = mask.iter().enumerate().filter(|(_, v)| **v).map(|(i, _)| i).collect();
    with_dtype!(dtype, T => {
        let a = typed_input::<T>(inputs, 0, "compress")?;
        Ok(HostArray::new(a.select(Axis(axis), &keep).into_shared()))
    })
}

/// Point indexing: each output element copied from one element of an input block.
pub(crate) fn points(k: &PointsKernel, inputs: &[Value]) -> Result<HostArray> {
    with_dtype!(k.dtype, T => {
        let mut out: Vec<T> = Vec::with_capacity(k.picks.len());
        for &(p, flat) in &k.picks {
            let a = typed_input::<T>(inputs, p, "points")?;
            let i = unravel(flat, a.shape());
            out.push(a[IxDyn(&i)]);
        }
        let a = ArrayD::from_shape_vec(IxDyn(&[out.len()]), out).map_err(|e| Error::internal(e.to_string()))?;
        Ok(HostArray::new(a.into_shared()))
    })
}

/// A block's elements, in C order, as a block of `shape`.
pub(crate) fn reshape(shape: &[usize], input: &HostArray) -> Result<HostArray> {
    crate::map_host!(input, x => {
        let y = x
            .to_shape(IxDyn(shape))
            .map_err(|e| Error::internal(format!("reshape of a block of {:?} to {shape:?}: {e}", x.shape())))?
            .into_owned()
            .into_shared();
        Ok(HostArray::new(y))
    })
}
