//! NumPy's weighted average, covariance and correlation matrices, lazily: `average` is two
//! reductions over one pass of the data; `cov` and `corrcoef` centre the variables and take
//! the blocked product `X · Xᵀ` (`linalg::matmul`, a symmetric rank-k update per tile).

use crate::array::creation::{full, zeros};
use crate::array::elementwise::broadcast_shapes;
use crate::array::{Array, Axes, ReduceOptions, concatenate};
use crate::core::chunks::ChunkSpec;
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};

/// `numpy.average(x, axis=axes, weights=weights)`: Σ w·x / Σ w over `axes` (the mean without
/// weights). `weights` has `x`'s shape, or is 1-d along the one axis averaged (cos(latitude)
/// for the latitude axis), or broadcasts to `x`'s shape; NaN propagates (see
/// [`super::nanaverage`] to skip it). In `f64`; where the weights sum to 0 the result is NaN
/// or ±∞ (NumPy raises `ZeroDivisionError`, which a lazy array cannot).
///
/// ```
/// let x = tessera::from_array(ndarray::array![[1.0f64, 2.0], [3.0, 4.0]].into_dyn(), [1, 2])?;
/// let w = tessera::from_array(ndarray::array![1.0f64, 3.0].into_dyn(), [1])?;
/// // Rows weighted 1 and 3: down axis 0.
/// let a = tessera::stats::average(&x, 0, Some(&w))?;
/// assert_eq!(a.to_vec()?, vec![2.5, 3.5]);
/// let (a, sw) = tessera::stats::average_returned(&x, tessera::Axes::All, None)?;
/// assert_eq!((a.item()?, sw.item()?), (2.5, 4.0));
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn average<T: Element>(
    x: &Array<T>,
    axes: impl Into<Axes>,
    weights: Option<&Array<f64>>,
) -> Result<Array<f64>> {
    Ok(average_returned(x, axes, weights)?.0)
}

/// [`average`] and the sum of the weights over `axes` (NumPy's `returned=True`), the latter
/// with the average's shape (the number of elements averaged when there are no weights).
pub fn average_returned<T: Element>(
    x: &Array<T>,
    axes: impl Into<Axes>,
    weights: Option<&Array<f64>>,
) -> Result<(Array<f64>, Array<f64>)> {
    let axes = axes.into();
    let xf = x.astype::<f64>();
    let Some(w) = weights else {
        let avg = xf.mean(axes.clone())?;
        let n: usize =
            crate::array::norm_axes("average", &axes, x.ndim())?.iter().map(|&a| x.shape()[a]).product();
        let count = full(avg.shape(), n as f64, avg.chunks())?;
        return Ok((avg, count));
    };
    let w = if w.shape() == x.shape() {
        w.clone()
    } else if let (1, Axes::List(l)) = (w.ndim(), &axes)
        && l.len() == 1
        && x.ndim() > 1
    {
        let ax = crate::array::norm_axis("average", l[0], x.ndim())?;
        if w.shape()[0] != x.shape()[ax] {
            return Err(Error::invalid(format!(
                "average: {} weights along axis {ax} of length {}",
                w.shape()[0],
                x.shape()[ax]
            )));
        }
        let mut shape = vec![1isize; x.ndim()];
        shape[ax] = w.shape()[0] as isize;
        w.reshape(&shape)?.broadcast_to(x.shape())?
    } else {
        match broadcast_shapes("average weights", &[x.shape(), w.shape()]) {
            Ok(s) if s == x.shape() => w.broadcast_to(x.shape())?,
            _ => {
                return Err(Error::ShapeMismatch {
                    op: "average weights (x's shape, 1-d along the one axis averaged, or broadcast to x)"
                        .into(),
                    left: x.shape().to_vec(),
                    right: w.shape().to_vec(),
                });
            }
        }
    };
    let sum_w = w.sum(axes.clone())?;
    let avg = xf.try_mul(&w)?.sum(axes)?.try_div(&sum_w)?;
    Ok((avg, sum_w))
}

/// Options of [`cov`] (NumPy's `rowvar`, `bias`, `ddof`).
#[derive(Debug, Clone, PartialEq)]
pub struct CovOptions {
    /// Each row is a variable, each column an observation (default `true`); `false`: the
    /// other way round.
    pub rowvar: bool,
    /// Normalise by `N` rather than `N − 1` (when `ddof` is not given).
    pub bias: bool,
    /// Normalise by `N − ddof`; overrides `bias`.
    pub ddof: Option<f64>,
}

impl Default for CovOptions {
    fn default() -> Self {
        CovOptions { rowvar: true, bias: false, ddof: None }
    }
}

impl CovOptions {
    /// With `rowvar`.
    #[must_use]
    pub fn rowvar(mut self, rowvar: bool) -> Self {
        self.rowvar = rowvar;
        self
    }
    /// With `bias`.
    #[must_use]
    pub fn bias(mut self, bias: bool) -> Self {
        self.bias = bias;
        self
    }
    /// With `ddof`.
    #[must_use]
    pub fn ddof(mut self, ddof: f64) -> Self {
        self.ddof = Some(ddof);
        self
    }
}

/// The variables of `m` as the rows of an f64 matrix, as NumPy's `cov` reads them.
fn variables<T: Element>(what: &str, m: &Array<T>, rowvar: bool) -> Result<Array<f64>> {
    let x = m.astype::<f64>();
    match m.ndim() {
        1 => x.reshape(&[1, m.shape()[0] as isize]),
        2 if !rowvar && m.shape()[0] != 1 => Ok(x.transpose()),
        2 => Ok(x),
        nd => Err(Error::invalid(format!("cov: {what} has {nd} dimensions; it must have 1 or 2"))),
    }
}

/// The covariance matrix of the variables of `m` (and of `y`, stacked after them), as
/// `numpy.cov(m, y, rowvar, bias, ddof)`: rows are variables unless `rowvar` is false; a
/// 1-d `m` is one variable. The result is `f64`, squeezed as NumPy squeezes it (0-d for one
/// variable); where `N − ddof ≤ 0` it is ±∞ or NaN (NumPy warns). Lazy: the variables are
/// centred and multiplied blockwise (`X · Xᵀ`).
///
/// ```
/// use tessera::stats::{CovOptions, cov};
/// let x = tessera::from_array(ndarray::array![[0.0f64, 1.0, 2.0], [2.0, 1.0, 0.0]].into_dyn(), [1, 2])?;
/// assert_eq!(cov(&x, None, &CovOptions::default())?.to_vec()?, vec![1.0, -1.0, -1.0, 1.0]);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn cov<T: Element>(m: &Array<T>, y: Option<&Array<T>>, opts: &CovOptions) -> Result<Array<f64>> {
    let mut x = variables("m", m, opts.rowvar)?;
    if x.shape()[0] == 0 {
        return zeros(&[0, 0], ChunkSpec::from(vec![1, 1]));
    }
    if let Some(y) = y {
        let y = variables("y", y, opts.rowvar)?;
        x = concatenate(&[&x, &y], 0)?;
    }
    let ddof = opts.ddof.unwrap_or(if opts.bias { 0.0 } else { 1.0 });
    let fact = (x.shape()[1] as f64 - ddof).max(0.0);
    let avg = x.mean_with(1, &ReduceOptions::default().keepdims(true))?;
    let xc = x.try_sub(&avg)?;
    let c = crate::linalg::matmul(&xc, &xc.transpose())?.try_mul(1.0 / fact)?;
    c.squeeze(None)
}

/// Pearson's correlation coefficients of the variables of `m` (and `y`), as
/// `numpy.corrcoef(m, y, rowvar)`: [`cov`] divided by the standard deviations of both
/// variables, clipped to `[-1, 1]`. One variable gives 0-d `c / c` (1, or NaN for a constant
/// variable), as NumPy does.
///
/// ```
/// let x = tessera::from_array(ndarray::array![[1.0f64, 2.0, 3.0, 4.0], [8.0, 6.0, 4.0, 2.0]].into_dyn(), [2, 2])?;
/// let r = tessera::stats::corrcoef(&x, None, true)?.to_vec()?;
/// assert!((r[1] + 1.0).abs() < 1e-12 && (r[0] - 1.0).abs() < 1e-12);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn corrcoef<T: Element>(m: &Array<T>, y: Option<&Array<T>>, rowvar: bool) -> Result<Array<f64>> {
    let c = cov(m, y, &CovOptions::default().rowvar(rowvar))?;
    if c.ndim() == 0 {
        return c.try_div(&c);
    }
    let k = c.shape()[0] as isize;
    let s = crate::linalg::diagonal(&c)?.sqrt();
    c.try_div(&s.reshape(&[k, 1])?)?.try_div(&s.reshape(&[1, k])?)?.clip(-1.0, 1.0)
}
