//! Finite differences along an axis: `diff` and `gradient`, as NumPy's, composed of lazy
//! slices, rechunks, elementwise arithmetic and concatenation (no graph node of their own).
//!
//! The shifted slices a difference needs (`x[1:]` beside `x[:-1]`) are cut at different
//! places; each is rechunked to the blocks of the result before the arithmetic, so the
//! result keeps the input's block boundaries instead of their common refinement (a slice of
//! a source is read in those blocks; elsewhere a block takes one element from its neighbour).

use ndarray::{ArrayD, IxDyn};

use crate::array::creation::{from_array, full};
use crate::array::{Array, Operand, SliceArg, concatenate, norm_axis};
use crate::core::chunks::Chunks;
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};

/// The distances between neighbouring positions of an axis, for [`Array::gradient`]: NumPy's
/// `varargs` of `numpy.gradient` (a scalar step, or the coordinates of the positions).
#[derive(Debug, Clone, PartialEq)]
pub enum Spacing {
    /// Every step is this long.
    Uniform(f64),
    /// The coordinate of each position along the axis (as many as the axis is long); steps
    /// may differ. Evenly spaced coordinates are taken as [`Spacing::Uniform`], as NumPy does.
    Coords(Vec<f64>),
}

impl From<f64> for Spacing {
    fn from(h: f64) -> Self {
        Spacing::Uniform(h)
    }
}
impl From<Vec<f64>> for Spacing {
    fn from(c: Vec<f64>) -> Self {
        Spacing::Coords(c)
    }
}
impl From<&[f64]> for Spacing {
    fn from(c: &[f64]) -> Self {
        Spacing::Coords(c.to_vec())
    }
}

/// `x[lo..hi]` along `ax`.
fn along<T: Element>(x: &Array<T>, ax: usize, lo: usize, hi: usize) -> Result<Array<T>> {
    let mut args = vec![SliceArg::full(); x.ndim()];
    args[ax] = SliceArg::new(Some(lo as isize), Some(hi as isize), 1);
    x.slice(&args)
}

/// `x`'s chunks with axis `ax` cut at `x`'s own block boundaries inside `lo..hi`, shifted to
/// start at 0: the blocks of a result that covers positions `lo..hi` of `x`.
fn chunks_within<T: Element>(x: &Array<T>, ax: usize, lo: usize, hi: usize) -> Result<Chunks> {
    let mut axes = x.chunks().axes().to_vec();
    let mut cuts: Vec<usize> = x.chunks().offsets(ax).iter().copied().filter(|&o| o > lo && o < hi).collect();
    cuts.push(hi);
    let mut prev = lo;
    axes[ax] = cuts
        .into_iter()
        .map(|c| {
            let len = c - prev;
            prev = c;
            len
        })
        .collect();
    Chunks::new(axes)
}

impl<T: Element> Array<T> {
    /// The `n`-th discrete difference along `axis`, as `numpy.diff`: `out[i] = x[i + 1] −
    /// x[i]`, applied `n` times, so the axis is `n` shorter (empty when `n` is at least its
    /// length); `n = 0` gives `x` itself. Bools give `x[i + 1] != x[i]`; integers wrap.
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::array![1i64, 2, 4, 7, 0].into_dyn(), [2])?;
    /// assert_eq!(x.diff(1, 0)?.to_vec()?, vec![1, 2, 3, -7]);
    /// assert_eq!(x.diff(2, -1)?.to_vec()?, vec![1, 1, -10]);
    /// assert_eq!(x.diff(9, 0)?.shape(), &[0]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn diff(&self, n: usize, axis: isize) -> Result<Array<T>> {
        self.diff_with(n, axis, None, None)
    }

    /// [`Array::diff`] of `x` with `prepend` before and `append` after it along `axis`
    /// (NumPy's `prepend=`/`append=`): a scalar stands for one element broadcast across the
    /// other axes; an array of `x`'s number of dimensions is joined as it is, its other axes
    /// broadcast to `x`'s (a 0-d array is a scalar). With `n = 0` both are ignored, as in
    /// NumPy.
    ///
    /// ```
    /// use tessera::Operand;
    /// let x = tessera::from_array(ndarray::array![1.0f64, 3.0, 6.0].into_dyn(), [2])?;
    /// let d = x.diff_with(1, 0, Some(Operand::Scalar(0.0)), None)?;
    /// assert_eq!(d.to_vec()?, vec![1.0, 2.0, 3.0]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn diff_with(
        &self,
        n: usize,
        axis: isize,
        prepend: Option<Operand<T>>,
        append: Option<Operand<T>>,
    ) -> Result<Array<T>> {
        let ax = norm_axis("diff", axis, self.ndim())?;
        if n == 0 {
            return Ok(self.clone());
        }
        let mut parts = Vec::with_capacity(3);
        if let Some(p) = prepend {
            parts.push(self.diff_edge("prepend", ax, p)?);
        }
        parts.push(self.clone());
        if let Some(a) = append {
            parts.push(self.diff_edge("append", ax, a)?);
        }
        let mut x = if parts.len() == 1 {
            self.clone()
        } else {
            concatenate(&parts.iter().collect::<Vec<_>>(), ax as isize)?
        };
        for _ in 0..n {
            let len = x.shape()[ax];
            if len == 0 {
                break;
            }
            let lo = along(&x, ax, 0, len - 1)?;
            let hi = along(&x, ax, 1, len)?.rechunk(lo.chunks())?;
            x = if T::DTYPE == DType::Bool { hi.not_equal(&lo)?.astype::<T>() } else { hi.try_sub(&lo)? };
        }
        Ok(x)
    }

    /// A `prepend` or `append` operand of `diff` as an array to join along `ax`.
    fn diff_edge(&self, what: &str, ax: usize, v: Operand<T>) -> Result<Array<T>> {
        let mut shape = self.shape().to_vec();
        let mut axes = self.chunks().axes().to_vec();
        shape[ax] = 1;
        axes[ax] = vec![1];
        match v {
            Operand::Scalar(s) => full(&shape, s, Chunks::new(axes)?),
            Operand::Array(a) if a.ndim() == 0 => a.broadcast_to(&shape),
            Operand::Array(a) => {
                if a.ndim() != self.ndim() {
                    return Err(Error::ShapeMismatch {
                        op: format!("diff {what} (an array of the same number of dimensions, or a scalar)"),
                        left: self.shape().to_vec(),
                        right: a.shape().to_vec(),
                    });
                }
                shape[ax] = a.shape()[ax];
                a.broadcast_to(&shape).map_err(|_| Error::ShapeMismatch {
                    op: format!("diff {what} along axis {ax}"),
                    left: self.shape().to_vec(),
                    right: a.shape().to_vec(),
                })
            }
        }
    }

    /// The gradient along `axis`, as `numpy.gradient(x, spacing, axis=axis, edge_order=...)`:
    /// second-order central differences inside (for uneven coordinates NumPy's formula from
    /// the two neighbouring steps), one-sided differences of order `edge_order` (1 or 2) at
    /// the two ends. The axis needs at least `edge_order + 1` elements. The result has the
    /// input's shape and chunks, in `f64` for integers and bools.
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::array![1.0f64, 2.0, 4.0, 7.0, 11.0].into_dyn(), [2])?;
    /// assert_eq!(x.gradient(0, 1.0, 1)?.to_vec()?, vec![1.0, 1.5, 2.5, 3.5, 4.0]);
    /// assert_eq!(x.gradient(0, 2.0, 2)?.to_vec()?, vec![0.25, 0.75, 1.25, 1.75, 2.25]);
    /// let at = vec![0.0, 1.0, 1.5, 3.5, 4.0];
    /// assert_eq!(x.gradient(0, at, 1)?.to_vec()?[0], 1.0);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn gradient(
        &self,
        axis: isize,
        spacing: impl Into<Spacing>,
        edge_order: usize,
    ) -> Result<Array<T::Mean>> {
        let ax = norm_axis("gradient", axis, self.ndim())?;
        gradient_along(&self.astype::<T::Mean>(), ax, spacing.into(), edge_order)
    }

    /// The gradient along every axis (`numpy.gradient(x, *spacing, edge_order=...)`), one
    /// array per axis: `spacing` is empty (steps of 1), one [`Spacing::Uniform`] for every
    /// axis, or one spacing per axis.
    pub fn gradient_all(&self, spacing: &[Spacing], edge_order: usize) -> Result<Vec<Array<T::Mean>>> {
        let nd = self.ndim();
        let per_axis: Vec<Spacing> = match spacing {
            [] => vec![Spacing::Uniform(1.0); nd],
            [Spacing::Uniform(h)] => vec![Spacing::Uniform(*h); nd],
            s if s.len() == nd => s.to_vec(),
            s => {
                return Err(Error::invalid(format!(
                    "gradient: {} spacings for an array of {nd} dimensions (give none, one step, or one per axis)",
                    s.len()
                )));
            }
        };
        let f = self.astype::<T::Mean>();
        per_axis.into_iter().enumerate().map(|(ax, s)| gradient_along(&f, ax, s, edge_order)).collect()
    }
}

/// `numpy.gradient` of the float array `f` along `ax`.
fn gradient_along<F: Element>(
    f: &Array<F>,
    ax: usize,
    spacing: Spacing,
    edge_order: usize,
) -> Result<Array<F>> {
    let n = f.shape()[ax];
    if !(1..=2).contains(&edge_order) {
        return Err(Error::invalid(format!("gradient: edge_order must be 1 or 2, not {edge_order}")));
    }
    if n < edge_order + 1 {
        return Err(Error::invalid(format!(
            "gradient: axis {ax} has {n} element(s); edge_order {edge_order} needs at least {}",
            edge_order + 1
        )));
    }
    // The steps: one for all (`Ok`), or one per neighbouring pair (`Err`).
    let steps: std::result::Result<f64, Vec<f64>> = match spacing {
        Spacing::Uniform(h) => Ok(h),
        Spacing::Coords(c) => {
            if c.len() != n {
                return Err(Error::invalid(format!(
                    "gradient: {} coordinates for axis {ax} of length {n}",
                    c.len()
                )));
            }
            let d: Vec<f64> = c.windows(2).map(|w| w[1] - w[0]).collect();
            if d.iter().all(|&s| s == d[0]) { Ok(d[0]) } else { Err(d) }
        }
    };
    let k = |v: f64| F::cast_from(v);
    let at = |i: usize| along(f, ax, i, i + 1);
    // The ends, as NumPy writes them.
    let (first, last) = match (&steps, edge_order) {
        (_, 1) => {
            let (h0, hn) = match &steps {
                Ok(h) => (*h, *h),
                Err(d) => (d[0], d[n - 2]),
            };
            (at(1)?.try_sub(&at(0)?)?.try_div(k(h0))?, at(n - 1)?.try_sub(&at(n - 2)?)?.try_div(k(hn))?)
        }
        (Ok(h), _) => {
            let h = *h;
            let three = |c: [f64; 3], i: usize| -> Result<Array<F>> {
                at(i)?
                    .try_mul(k(c[0]))?
                    .try_add(&at(i + 1)?.try_mul(k(c[1]))?)?
                    .try_add(&at(i + 2)?.try_mul(k(c[2]))?)
            };
            (three([-1.5 / h, 2.0 / h, -0.5 / h], 0)?, three([0.5 / h, -2.0 / h, 1.5 / h], n - 3)?)
        }
        (Err(d), _) => {
            let three = |c: [f64; 3], i: usize| -> Result<Array<F>> {
                at(i)?
                    .try_mul(k(c[0]))?
                    .try_add(&at(i + 1)?.try_mul(k(c[1]))?)?
                    .try_add(&at(i + 2)?.try_mul(k(c[2]))?)
            };
            let (a1, a2) = (d[0], d[1]);
            let head = [-(2.0 * a1 + a2) / (a1 * (a1 + a2)), (a1 + a2) / (a1 * a2), -a1 / (a2 * (a1 + a2))];
            let (b1, b2) = (d[n - 3], d[n - 2]);
            let tail = [b2 / (b1 * (b1 + b2)), -(b2 + b1) / (b1 * b2), (2.0 * b2 + b1) / (b2 * (b1 + b2))];
            (three(head, 0)?, three(tail, n - 3)?)
        }
    };
    if n == 2 {
        return concatenate(&[&first, &last], ax as isize)?.rechunk(f.chunks());
    }
    // Inside: positions 1 .. n − 1, in the blocks of f cut there.
    let inner = chunks_within(f, ax, 1, n - 1)?;
    let shifted = |lo: usize| -> Result<Array<F>> { along(f, ax, lo, lo + n - 2)?.rechunk(&inner) };
    let middle = match &steps {
        Ok(h) => shifted(2)?.try_sub(&shifted(0)?)?.try_div(k(2.0 * h))?,
        Err(d) => {
            // NumPy's coefficients per position, as arrays along the axis.
            let mut shape = vec![1usize; f.ndim()];
            shape[ax] = n - 2;
            let mut axes: Vec<Vec<usize>> = vec![vec![1]; f.ndim()];
            axes[ax] = inner.axis(ax).to_vec();
            let coef = |g: &dyn Fn(f64, f64) -> f64| -> Result<Array<F>> {
                let v: Vec<F> = d.windows(2).map(|w| k(g(w[0], w[1]))).collect();
                let a =
                    ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(|e| Error::internal(e.to_string()))?;
                from_array(a, Chunks::new(axes.clone())?)
            };
            let a = coef(&|d1, d2| -d2 / (d1 * (d1 + d2)))?;
            let b = coef(&|d1, d2| (d2 - d1) / (d1 * d2))?;
            let c = coef(&|d1, d2| d1 / (d2 * (d1 + d2)))?;
            a.try_mul(&shifted(0)?)?.try_add(&b.try_mul(&shifted(1)?)?)?.try_add(&c.try_mul(&shifted(2)?)?)?
        }
    };
    concatenate(&[&first, &middle, &last], ax as isize)?.rechunk(f.chunks())
}
