//! Matrix helpers built from array ops and the factorisations: triangles, the diagonal,
//! trace, outer and inner products, norms, determinants and least squares.

use crate::array::creation::indexed;
use crate::array::{Array, Axes, where_};
use crate::core::chunks::ChunkSpec;
use crate::core::dtype::{Element, Float};
use crate::core::error::{Error, Result};
use crate::linalg::{check_matrix, eps, lu, matmul, svd};

/// A boolean matrix over `x`'s last two axes (their shape and chunks), `f(row, column)` per
/// element; it broadcasts over any leading axes.
fn mask2<T: Element>(
    x: &Array<T>,
    f: impl Fn(i64, i64) -> bool + Send + Sync + 'static,
) -> Result<Array<bool>> {
    let nd = x.ndim();
    let shape = x.shape()[nd - 2..].to_vec();
    let chunks = crate::core::chunks::Chunks::new(x.chunks().axes()[nd - 2..].to_vec())?;
    let n = shape[1].max(1) as u64;
    indexed("mask", shape, ChunkSpec::Explicit(chunks), move |flat| f((flat / n) as i64, (flat % n) as i64))
}

/// The upper triangle of a matrix: elements below diagonal `k` set to zero (NumPy's `triu`;
/// `k > 0` above the main diagonal, `k < 0` below). An array of more than two dimensions is a
/// stack of matrices on its last two axes, each cut the same way (NumPy broadcasts too).
///
/// ```
/// use tessera::prelude::*;
/// let x = tessera::ones::<f64>(&[3, 3], [2, 2])?;
/// assert_eq!(tessera::linalg::triu(&x, 1)?.to_vec()?, vec![0., 1., 1., 0., 0., 1., 0., 0., 0.]);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn triu<T: Element>(x: &Array<T>, k: isize) -> Result<Array<T>> {
    check_matrices("triu", x)?;
    let k = k as i64;
    where_(&mask2(x, move |i, j| j - i >= k)?, x, T::zero())
}

/// The lower triangle of a matrix: elements above diagonal `k` set to zero (NumPy's `tril`);
/// over the last two axes of an array of more dimensions.
///
/// ```
/// use tessera::prelude::*;
/// let x = tessera::ones::<i64>(&[2, 2, 3], [1, 2, 2])?;
/// assert_eq!(tessera::linalg::tril(&x, 0)?.to_vec()?, vec![1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0]);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn tril<T: Element>(x: &Array<T>, k: isize) -> Result<Array<T>> {
    check_matrices("tril", x)?;
    let k = k as i64;
    where_(&mask2(x, move |i, j| j - i <= k)?, x, T::zero())
}

fn check_matrices<T: Element>(op: &str, x: &Array<T>) -> Result<()> {
    if x.ndim() < 2 {
        return Err(Error::invalid(format!(
            "{op}: expected a matrix or a stack of them (2 or more dimensions), got shape {:?}",
            x.shape()
        )));
    }
    Ok(())
}

fn check_2d<T: Element>(op: &str, x: &Array<T>) -> Result<()> {
    if x.ndim() != 2 {
        return Err(Error::invalid(format!("{op}: expected a 2-d matrix, got shape {:?}", x.shape())));
    }
    Ok(())
}

/// The main diagonal of a matrix (`min(m, n)` elements), picked element by element.
pub fn diagonal<T: Element>(x: &Array<T>) -> Result<Array<T>> {
    check_2d("diagonal", x)?;
    let d: Vec<isize> = (0..x.shape()[0].min(x.shape()[1]) as isize).collect();
    x.vindex(&[&d, &d])
}

/// The sum of the main diagonal.
pub fn trace<T: Element>(x: &Array<T>) -> Result<Array<T::Sum>> {
    diagonal(x)?.sum(Axes::All)
}

/// The outer product of two vectors (flattened first, as NumPy's `outer`): `a[i] · b[j]`.
pub fn outer<T: Element>(a: &Array<T>, b: &Array<T>) -> Result<Array<T>> {
    let (a, b) = (a.reshape(&[-1])?, b.reshape(&[-1])?);
    a.expand_dims(1)?.try_mul(&b.expand_dims(0)?)
}

/// The dot product of two arrays flattened to vectors (NumPy's `vdot` for real numbers).
pub fn vdot<T: Element>(a: &Array<T>, b: &Array<T>) -> Result<Array<T::Sum>> {
    if a.size() != b.size() {
        return Err(Error::ShapeMismatch {
            op: "vdot (sizes differ)".into(),
            left: a.shape().to_vec(),
            right: b.shape().to_vec(),
        });
    }
    a.reshape(&[-1])?.try_mul(&b.reshape(&[-1])?)?.sum(Axes::All)
}

/// Which norm [`norm`] computes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Norm {
    /// Frobenius for a matrix (the 2-norm of the elements), Euclidean for a vector.
    Fro,
    /// Matrix: the largest column sum of |x|. Vector: the sum of |x|.
    One,
    /// Matrix: the largest singular value. Vector: Euclidean.
    Two,
    /// Matrix: the largest row sum of |x|. Vector: the largest |x|.
    Inf,
    /// Vector only: `(Σ |x|^p)^(1/p)`.
    P(f64),
}

/// A vector or matrix norm, as NumPy's `linalg.norm(x, ord)`; a 0-d array.
///
/// ```
/// use tessera::prelude::*;
/// use tessera::linalg::{Norm, norm};
/// let x = tessera::from_array(ndarray::array![[1.0f64, -2.0], [3.0, 4.0]], [1, 1])?;
/// assert_eq!(norm(&x, Norm::One)?.item()?, 6.0);
/// assert_eq!(norm(&x, Norm::Inf)?.item()?, 7.0);
/// assert!((norm(&x, Norm::Fro)?.item()? - 30f64.sqrt()).abs() < 1e-15);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn norm<T: Float + crate::core::dtype::Number + Element<Sum = T>>(
    x: &Array<T>,
    ord: Norm,
) -> Result<Array<T>> {
    let a = x.abs();
    match (x.ndim(), ord) {
        (_, Norm::Fro) | (1, Norm::Two) => a.try_mul(&a)?.sum(Axes::All).map(|s| s.sqrt()),
        (1, Norm::One) => a.sum(Axes::All),
        (1, Norm::Inf) => a.max(Axes::All),
        (1, Norm::P(p)) => {
            if p <= 0.0 || !p.is_finite() {
                return Err(Error::invalid(format!("norm: order {p} (use Norm::Inf for the maximum)")));
            }
            a.pow(T::cast_from(p))?.sum(Axes::All)?.pow(T::cast_from(1.0 / p))
        }
        (2, Norm::One) => a.sum(0)?.max(Axes::All),
        (2, Norm::Inf) => a.sum(1)?.max(Axes::All),
        (2, Norm::Two) => svd(x)?.1.max(Axes::All),
        (2, Norm::P(_)) => Err(Error::invalid("norm: Norm::P is for vectors")),
        (d, _) => Err(Error::invalid(format!("norm: a {d}-d array (vectors and matrices only)"))),
    }
}

/// The sign and the natural log of the absolute value of the determinant (NumPy's
/// `slogdet`), through [`lu`]; computed now. A singular matrix gives `(0, -inf)`.
pub fn slogdet<T: Float>(a: &Array<T>) -> Result<(f64, f64)> {
    let (perm, _, u) = lu(a)?;
    let d = diagonal(&u)?;
    let outs: [&dyn crate::AnyArray; 2] = [&perm, &d];
    let r = crate::compute_many(&outs, &crate::ComputeOptions::global())?;
    let perm: Vec<i64> = r[0].typed::<i64>()?.iter().copied().collect();
    let (mut sign, mut log) = (permutation_sign(&perm), 0.0);
    for &v in r[1].typed::<T>()?.iter() {
        let v = v.to_f64();
        if v == 0.0 {
            return Ok((0.0, f64::NEG_INFINITY));
        }
        sign *= v.signum();
        log += v.abs().ln();
    }
    Ok((sign, log))
}

/// The determinant (`sign · exp(logabsdet)` of [`slogdet`]); computed now.
pub fn det<T: Float>(a: &Array<T>) -> Result<f64> {
    let (s, l) = slogdet(a)?;
    Ok(s * l.exp())
}

fn permutation_sign(perm: &[i64]) -> f64 {
    let mut seen = vec![false; perm.len()];
    let mut sign = 1.0;
    for i in 0..perm.len() {
        let mut len = 0;
        let mut j = i;
        while !seen[j] {
            seen[j] = true;
            j = perm[j] as usize;
            len += 1;
        }
        if len > 0 && len % 2 == 0 {
            sign = -sign;
        }
    }
    sign
}

/// The least-squares solution of `a x ≈ b` with the smallest norm (NumPy's `lstsq`), through
/// the thin SVD of `a`: `x = V · diag(1/s) · Uᵀ b`, singular values at most `rcond · s_max`
/// treated as zero (`rcond: None` is NumPy's default, machine epsilon × max(m, n)), so a
/// rank-deficient `a` gives the minimum-norm solution. Suited to tall matrices (TSQR).
///
/// ```
/// use tessera::prelude::*;
/// // Fit y = 1 + 2 t exactly.
/// let t = ndarray::Array1::linspace(0.0f64, 1.0, 50);
/// let a = ndarray::stack![ndarray::Axis(1), t.mapv(|_| 1.0), t.clone()];
/// let y = t.mapv(|v| 1.0 + 2.0 * v);
/// let x = tessera::linalg::lstsq(&tessera::from_array(a, [10, 2])?, &tessera::from_array(y, [10])?, None)?;
/// let x = x.to_vec()?;
/// assert!((x[0] - 1.0).abs() < 1e-12 && (x[1] - 2.0).abs() < 1e-12);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn lstsq<T: Float + Element<Sum = T>>(
    a: &Array<T>,
    b: &Array<T>,
    rcond: Option<f64>,
) -> Result<Array<T>> {
    Ok(lstsq_parts(a, b, rcond)?.0)
}

/// The solution of [`lstsq`], `b` as a matrix, the singular values and `rcond`.
type LstsqParts<T> = (Array<T>, Array<T>, Array<T>, f64);

fn lstsq_parts<T: Float + Element<Sum = T>>(
    a: &Array<T>,
    b: &Array<T>,
    rcond: Option<f64>,
) -> Result<LstsqParts<T>> {
    check_matrix("lstsq", a)?;
    let vector = b.ndim() == 1;
    if b.ndim() == 0 || b.ndim() > 2 || b.shape()[0] != a.shape()[0] {
        return Err(Error::ShapeMismatch {
            op: "lstsq (b must have as many rows as a)".into(),
            left: a.shape().to_vec(),
            right: b.shape().to_vec(),
        });
    }
    let b2 = if vector { b.expand_dims(1)? } else { b.clone() };
    let (m, n) = (a.shape()[0], a.shape()[1]);
    let rcond = rcond.unwrap_or(eps::<T>() * m.max(n) as f64);
    let (u, s, vt) = svd(a)?;
    let keep = s.gt(&s.max(Axes::All)?.try_mul(T::cast_from(rcond))?)?;
    let safe = where_(&keep, &s, T::one())?;
    let ub = matmul(&u.transpose(), &b2)?;
    let y = where_(&keep.expand_dims(1)?, &ub.try_div(&safe.expand_dims(1)?)?, T::zero())?;
    let x = matmul(&vt.transpose(), &y)?;
    let x = if vector { x.squeeze(Some(&[1]))? } else { x };
    Ok((x, b2, s, rcond))
}

/// NumPy's `lstsq` four results, computed (by [`lstsq_full`]).
#[derive(Debug, Clone)]
pub struct Lstsq<T: Element> {
    /// The minimum-norm least-squares solution, as [`lstsq`] gives it (shape `(n,)` or
    /// `(n, k)`).
    pub solution: ndarray::ArrayD<T>,
    /// Per column of `b`, the sum of squared residuals `‖b − a x‖²` (shape `(1,)` for a
    /// vector `b`, `(k,)` for a matrix); empty (shape `(0,)`) when the rank is below `n` or
    /// `m <= n`, as in NumPy.
    pub residuals: ndarray::ArrayD<T>,
    /// The effective rank of `a`: the singular values above `rcond · s_max`.
    pub rank: usize,
    /// The singular values of `a`, largest first.
    pub singular_values: ndarray::ArrayD<T>,
}

/// NumPy's `lstsq(a, b, rcond)` with all four results: the solution of [`lstsq`], the sums of
/// squared residuals, the rank and the singular values. Computed now, in one run of the graph
/// (the shape of the residuals depends on the rank, a value); only `n`-sized results and the
/// solution are brought back.
///
/// ```
/// use tessera::prelude::*;
/// let a = ndarray::array![[1.0f64, 0.0], [0.0, 1.0], [1.0, 1.0]];
/// let b = ndarray::array![1.0f64, 1.0, 0.0];
/// let r = tessera::linalg::lstsq_full(&tessera::from_array(a, [2, 2])?, &tessera::from_array(b, [2])?, None)?;
/// assert_eq!(r.rank, 2);
/// assert_eq!(r.residuals.shape(), &[1]);
/// assert!((r.residuals[[0]] - 4.0 / 3.0).abs() < 1e-12);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn lstsq_full<T: Float + Element<Sum = T>>(
    a: &Array<T>,
    b: &Array<T>,
    rcond: Option<f64>,
) -> Result<Lstsq<T>> {
    let (x, b2, s, rcond) = lstsq_parts(a, b, rcond)?;
    let (m, n) = (a.shape()[0], a.shape()[1]);
    let x2 = if b.ndim() == 1 { x.expand_dims(1)? } else { x.clone() };
    let r = b2.try_sub(&matmul(a, &x2)?)?;
    let sums = r.try_mul(&r)?.sum(0)?;
    let outs: [&dyn crate::AnyArray; 3] = [&x, &sums, &s];
    let got = crate::compute_many(&outs, &crate::ComputeOptions::global())?;
    let sv = got[2].typed::<T>()?.to_owned();
    let smax = sv.iter().fold(f64::NEG_INFINITY, |acc, v| acc.max(v.to_f64()));
    let rank = sv.iter().filter(|v| v.to_f64() > smax * rcond).count();
    let residuals = if rank == n && m > n {
        got[1].typed::<T>()?.to_owned()
    } else {
        ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[0]), vec![]).expect("empty")
    };
    Ok(Lstsq { solution: got[0].typed::<T>()?.to_owned(), residuals, rank, singular_values: sv })
}
