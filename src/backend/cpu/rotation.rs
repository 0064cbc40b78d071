//! The rotation step of one-sided block Jacobi ([`TileKernel::JacobiRotation`]): the
//! eigenvectors of the Gram matrix of one or two column panels, with faer.
//!
//! [`TileKernel::JacobiRotation`]: crate::ir::kernel::TileKernel::JacobiRotation

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::evd::{self, ComputeEigenvectors};
use faer::{Mat, Par};
use ndarray::{Array1, Array2, ArrayView2};

use crate::backend::cpu::tiles::{TileFloat, product};
use crate::core::block::{HostArray, Value};
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};
use crate::ir::kernel::Factors;

/// Inputs: the upper blocks of a symmetric Gram matrix `G = [X_p X_q]ᵀ [X_p X_q]`, row by
/// row (`[G_pp]` for one panel, `[G_pp, G_pq, G_qq]` for two). Output: a [`Factors`] state
/// holding first a one-element array, the largest `|g_ij| / (scale · max(‖x_i‖, ‖x_j‖))`
/// over `i ≠ j`: how far the panels are from orthogonal relative to the matrix (what a
/// backward-stable SVD needs; cosines between columns far below `scale` cannot be resolved
/// from a Gram matrix, and need not be). When that is above `tol`, the blocks of the
/// rotation `W` follow, row by row (`[W]`, or `[W_pp, W_pq, W_qp, W_qq]` split where `G`
/// is): `G`'s eigenvectors by descending eigenvalue. When it is not, nothing follows and
/// the panels stay as they are: rotating panels already orthogonal enough would only
/// scramble their small columns.
pub(crate) fn jacobi_rotation<T: TileFloat>(
    blocks: &[ArrayView2<'_, T>],
    scale: f64,
    tol: f64,
    par: Par,
) -> Result<Value> {
    let (gpp, gpq) = match blocks {
        [g] => (g, None),
        [g, h, _] => (g, Some(h)),
        _ => {
            return Err(Error::invalid(format!(
                "jacobi rotation: {} Gram blocks, expected 1 or 3",
                blocks.len()
            )));
        }
    };
    let split = gpp.nrows();
    let n = split + gpq.map_or(0, |h| h.ncols());
    let g = Mat::<T>::from_fn(n, n, |i, j| {
        let (i, j) = if i <= j { (i, j) } else { (j, i) };
        match (i < split, j < split) {
            (true, true) => gpp[(i, j)],
            (true, false) => gpq.map_or(<T as Element>::zero(), |h| h[(i, j - split)]),
            _ => blocks[2][(i - split, j - split)],
        }
    });
    let at = |i: usize, j: usize| Element::to_f64(g[(i, j)]);
    let mut off = 0.0f64;
    for j in 0..n {
        if !at(j, j).is_finite() {
            return Err(Error::invalid("svd: the matrix holds NaN or infinite values"));
        }
        for i in 0..j {
            let d = scale * at(i, i).max(at(j, j)).sqrt();
            if d > 0.0 {
                off = off.max(at(i, j).abs() / d);
            }
        }
    }
    let mut u = Mat::<T>::identity(n, n);
    let rotate = off > tol;
    if rotate {
        let params = Default::default();
        let req = evd::self_adjoint_evd_scratch::<T>(n, ComputeEigenvectors::Yes, par, params);
        let mut s = faer::diag::Diag::<T>::zeros(n);
        let mut stack = MemBuffer::new(req);
        evd::self_adjoint_evd(
            g.as_ref(),
            s.as_mut(),
            Some(u.as_mut()),
            par,
            MemStack::new(&mut stack),
            params,
        )
        .map_err(|e| Error::invalid(format!("svd: the eigendecomposition of a Gram block failed: {e:?}")))?;
    }
    // faer sorts eigenvalues up; the rotation puts the largest first.
    let col = |j: usize| if rotate { n - 1 - j } else { j };
    let block = |r: std::ops::Range<usize>, c: std::ops::Range<usize>| {
        let a = Array2::from_shape_fn((r.len(), c.len()), |(i, j)| u[(r.start + i, col(c.start + j))]);
        HostArray::new(a.into_dyn().into_shared())
    };
    let off = Array1::from_elem(1, <T as Element>::cast_from(off));
    let mut out = vec![HostArray::new(off.into_dyn().into_shared())];
    if rotate && split == n {
        out.push(block(0..n, 0..n));
    } else if rotate {
        out.extend([block(0..split, 0..split), block(0..split, split..n)]);
        out.extend([block(split..n, 0..split), block(split..n, split..n)]);
    }
    let bytes = out.iter().map(HostArray::nbytes).sum();
    Ok(Value::state(Factors(out), bytes))
}

/// [`TileKernel::JacobiApply`]: inputs `[B_p, B_q, rotation]` or `[B_p, rotation]`.
///
/// [`TileKernel::JacobiApply`]: crate::ir::kernel::TileKernel::JacobiApply
pub(crate) fn jacobi_apply<T: TileFloat>(inputs: &[Value], second: bool, par: Par) -> Result<Value> {
    let (rot, blocks) = inputs.split_last().ok_or_else(|| Error::internal("jacobi apply: no input"))?;
    let w = &rot.get_state::<Factors>()?.0[1..];
    let block = |i: usize| -> Result<&ndarray::ArcArray<T, ndarray::IxDyn>> {
        blocks.get(i).ok_or_else(|| Error::invalid("jacobi apply: missing block"))?.array()?.typed::<T>()
    };
    if w.is_empty() {
        return Ok(Value::Array(blocks[usize::from(second && blocks.len() == 2)].array()?.clone()));
    }
    let (first, other) = match (w.len(), second) {
        (1, _) => (&w[0], None),
        (_, false) => (&w[0], Some(&w[2])),
        (_, true) => (&w[1], Some(&w[3])),
    };
    let (bp, w1) = (block(0)?, first.typed::<T>()?);
    let mut out = Array2::<T>::zeros((bp.shape()[0], w1.shape()[1]));
    product(&mut out, false, bp, w1, par);
    if let Some(w2) = other {
        product(&mut out, true, block(1)?, w2.typed::<T>()?, par);
    }
    Ok(Value::Array(HostArray::new(out.into_dyn().into_shared())))
}
