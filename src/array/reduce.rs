//! Reductions over any set of axes, as tree reductions.
//!
//! Each block is reduced to a partial (fused with the elementwise chain that produces it),
//! partials are combined `split_every` at a time in block order, and the last one is
//! finalised. The combine order is fixed by the graph, so results are bit-identical on any
//! number of threads. Result types follow NumPy: sums of integers and bools are `i64`, means,
//! variances and standard deviations of integers are `f64`, arg-reductions give `i64` flat
//! (or per-axis) indices.

use std::sync::Arc;

use crate::array::{Array, norm_axis};
use crate::core::chunks::Chunks;
use crate::core::dtype::{Element, Float};
use crate::core::error::{Error, Result};
use crate::graph::node::{Node, Op, ReduceSpec};
use crate::ir::kernel::ScanOp;
use crate::ir::reduce::{ReduceKind, ReduceOp, Reduction};

/// Which axes a reduction runs over.
///
/// Build from an axis (`0`, `-1`), a list (`[0, 2]`, `vec![1]`, `&[0, 1][..]`) or
/// [`Axes::All`]. Negative axes count from the end, as in NumPy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Axes {
    /// Every axis: the result is 0-d (or all ones with keepdims).
    All,
    /// These axes.
    List(Vec<isize>),
}
impl From<i32> for Axes {
    fn from(a: i32) -> Self {
        Axes::List(vec![a as isize])
    }
}
impl From<isize> for Axes {
    fn from(a: isize) -> Self {
        Axes::List(vec![a])
    }
}
impl From<usize> for Axes {
    fn from(a: usize) -> Self {
        Axes::List(vec![a as isize])
    }
}
impl<const N: usize> From<[i32; N]> for Axes {
    fn from(a: [i32; N]) -> Self {
        Axes::List(a.iter().map(|&x| x as isize).collect())
    }
}
/// `None`: every axis; `Some(a)`: axis `a` (NumPy's `axis=None` or `axis=a`).
impl From<Option<isize>> for Axes {
    fn from(a: Option<isize>) -> Self {
        a.map_or(Axes::All, |a| Axes::List(vec![a]))
    }
}

impl From<Vec<isize>> for Axes {
    fn from(a: Vec<isize>) -> Self {
        Axes::List(a)
    }
}
impl From<Vec<usize>> for Axes {
    fn from(a: Vec<usize>) -> Self {
        Axes::List(a.into_iter().map(|x| x as isize).collect())
    }
}
impl From<&[usize]> for Axes {
    fn from(a: &[usize]) -> Self {
        Axes::List(a.iter().map(|&x| x as isize).collect())
    }
}
impl From<&[isize]> for Axes {
    fn from(a: &[isize]) -> Self {
        Axes::List(a.to_vec())
    }
}

/// Options of a reduction.
#[derive(Debug, Clone, PartialEq)]
pub struct ReduceOptions {
    /// Keep reduced axes with length 1.
    pub keepdims: bool,
    /// Most partials combined by one task (at least 2). Fewer when partials are large: a
    /// combine task takes at most 64 MiB of partials (but always 2), so
    /// that a reduction keeping whole maps (the time mean of daily 720 × 1440 fields: 16 MB
    /// of f64 sums and counts per partial) does not hold 16 of them at once.
    pub split_every: usize,
    /// Delta degrees of freedom of `var` and `std`.
    pub ddof: f64,
}

/// Default fan-in of the reduction tree.
pub const DEFAULT_SPLIT_EVERY: usize = 16;

impl Default for ReduceOptions {
    fn default() -> Self {
        ReduceOptions { keepdims: false, split_every: DEFAULT_SPLIT_EVERY, ddof: 0.0 }
    }
}

impl ReduceOptions {
    /// With `keepdims`.
    #[must_use]
    pub fn keepdims(mut self, k: bool) -> Self {
        self.keepdims = k;
        self
    }
    /// With another tree fan-in.
    #[must_use]
    pub fn split_every(mut self, n: usize) -> Self {
        self.split_every = n;
        self
    }
    /// With `ddof` (for var/std).
    #[must_use]
    pub fn ddof(mut self, d: f64) -> Self {
        self.ddof = d;
        self
    }
}

/// Normalise axes: in range, no repeats, sorted.
pub(crate) fn norm_axes(op: &str, axes: &Axes, ndim: usize) -> Result<Vec<usize>> {
    let mut v = match axes {
        Axes::All => (0..ndim).collect::<Vec<_>>(),
        Axes::List(l) => l.iter().map(|&a| norm_axis(op, a, ndim)).collect::<Result<Vec<_>>>()?,
    };
    v.sort_unstable();
    for w in v.windows(2) {
        if w[0] == w[1] {
            return Err(Error::InvalidAxis {
                op: format!("{op} (repeated axis)"),
                axis: w[0] as isize,
                ndim,
            });
        }
    }
    Ok(v)
}

fn reduce_node(
    node: &Arc<Node>,
    kind: ReduceKind,
    nan: bool,
    axes: &Axes,
    opts: &ReduceOptions,
) -> Result<Arc<Node>> {
    let op = ReduceOp::new(kind, node.dtype, nan);
    let name = op.name();
    let ndim = node.shape.len();
    let ax = norm_axes(name, axes, ndim)?;
    if kind.is_arg() && ax.len() > 1 && ax.len() != ndim {
        return Err(Error::invalid(format!(
            "{name} reduces one axis or all of them, not the axes {ax:?} of a {ndim}-d array"
        )));
    }
    if opts.split_every < 2 {
        return Err(Error::invalid(format!(
            "{name}: split_every must be at least 2, not {}",
            opts.split_every
        )));
    }
    let out_empty = node.shape.iter().enumerate().any(|(d, &n)| n == 0 && !ax.contains(&d));
    if kind.needs_elements() && !out_empty && ax.iter().any(|&a| node.shape[a] == 0) {
        return Err(Error::invalid(format!(
            "{name} of an empty axis has no identity (shape {:?}, axes {ax:?})",
            node.shape
        )));
    }
    let mut out_axes = Vec::with_capacity(ndim);
    for d in 0..ndim {
        if ax.contains(&d) {
            if opts.keepdims {
                out_axes.push(vec![1]);
            }
        } else {
            out_axes.push(node.chunks.axis(d).to_vec());
        }
    }
    let spec = ReduceSpec { op, axes: ax.into(), keepdims: opts.keepdims, split_every: opts.split_every };
    Ok(Node::new(name, op.out_dtype(), Chunks::from_axes(out_axes), Op::Reduce(spec), vec![node.clone()]))
}

impl<T: Element> Array<T> {
    fn reduced<U: Element>(
        &self,
        kind: ReduceKind,
        nan: bool,
        axes: Axes,
        opts: &ReduceOptions,
    ) -> Result<Array<U>> {
        Ok(Array::from_node(reduce_node(self.node(), kind, nan, &axes, opts)?))
    }

    /// Sum over `axes` (integers and bools sum to `i64`).
    ///
    /// ```
    /// let x = tessera::ones::<i32>(&[4, 6], [3, 4]).unwrap();
    /// assert_eq!(x.sum(0).unwrap().to_vec().unwrap(), vec![4i64; 6]);
    /// ```
    pub fn sum(&self, axes: impl Into<Axes>) -> Result<Array<T::Sum>> {
        self.reduced(ReduceKind::Sum, false, axes.into(), &ReduceOptions::default())
    }
    /// Sum with options (keepdims, split_every).
    pub fn sum_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<T::Sum>> {
        self.reduced(ReduceKind::Sum, false, axes.into(), opts)
    }
    /// Product over `axes`.
    pub fn prod(&self, axes: impl Into<Axes>) -> Result<Array<T::Sum>> {
        self.reduced(ReduceKind::Prod, false, axes.into(), &ReduceOptions::default())
    }
    /// Product with options.
    pub fn prod_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<T::Sum>> {
        self.reduced(ReduceKind::Prod, false, axes.into(), opts)
    }
    /// Arithmetic mean over `axes` (NaN if the axes are empty).
    pub fn mean(&self, axes: impl Into<Axes>) -> Result<Array<T::Mean>> {
        self.reduced(ReduceKind::Mean, false, axes.into(), &ReduceOptions::default())
    }
    /// Mean with options.
    pub fn mean_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<T::Mean>> {
        self.reduced(ReduceKind::Mean, false, axes.into(), opts)
    }
    /// Variance with `ddof` delta degrees of freedom.
    pub fn var(&self, axes: impl Into<Axes>, ddof: f64) -> Result<Array<T::Mean>> {
        self.var_with(axes, &ReduceOptions::default().ddof(ddof))
    }
    /// Variance with options (ddof from the options).
    pub fn var_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<T::Mean>> {
        self.reduced(ReduceKind::Var { ddof: opts.ddof, std: false }, false, axes.into(), opts)
    }
    /// Standard deviation with `ddof` delta degrees of freedom.
    pub fn std(&self, axes: impl Into<Axes>, ddof: f64) -> Result<Array<T::Mean>> {
        self.std_with(axes, &ReduceOptions::default().ddof(ddof))
    }
    /// Standard deviation with options.
    pub fn std_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<T::Mean>> {
        self.reduced(ReduceKind::Var { ddof: opts.ddof, std: true }, false, axes.into(), opts)
    }
    /// Minimum (NaN propagates; an empty axis is an error).
    pub fn min(&self, axes: impl Into<Axes>) -> Result<Array<T>> {
        self.reduced(ReduceKind::Min, false, axes.into(), &ReduceOptions::default())
    }
    /// Minimum with options.
    pub fn min_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<T>> {
        self.reduced(ReduceKind::Min, false, axes.into(), opts)
    }
    /// Maximum (NaN propagates; an empty axis is an error).
    pub fn max(&self, axes: impl Into<Axes>) -> Result<Array<T>> {
        self.reduced(ReduceKind::Max, false, axes.into(), &ReduceOptions::default())
    }
    /// Maximum with options.
    pub fn max_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<T>> {
        self.reduced(ReduceKind::Max, false, axes.into(), opts)
    }
    /// Index of the minimum along one axis, or the flat index over the whole array with
    /// `Axes::All` or `None` (first occurrence; a NaN counts as the minimum, as in NumPy).
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::arr2(&[[3.0, 1.0], [0.0, 5.0]]).into_dyn(), [1, 2]).unwrap();
    /// assert_eq!(x.argmin(1).unwrap().to_vec().unwrap(), vec![1, 0]);
    /// assert_eq!(x.argmin(None).unwrap().item().unwrap(), 2);
    /// ```
    pub fn argmin(&self, axes: impl Into<Axes>) -> Result<Array<i64>> {
        self.reduced(ReduceKind::ArgMin, false, axes.into(), &ReduceOptions::default())
    }
    /// [`Array::argmin`] with options (keepdims).
    pub fn argmin_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<i64>> {
        self.reduced(ReduceKind::ArgMin, false, axes.into(), opts)
    }
    /// Index of the maximum along one axis, or the flat index with `Axes::All` or `None`.
    pub fn argmax(&self, axes: impl Into<Axes>) -> Result<Array<i64>> {
        self.reduced(ReduceKind::ArgMax, false, axes.into(), &ReduceOptions::default())
    }
    /// [`Array::argmax`] with options (keepdims).
    pub fn argmax_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<i64>> {
        self.reduced(ReduceKind::ArgMax, false, axes.into(), opts)
    }
    /// Whether any element over `axes` is non-zero.
    pub fn any(&self, axes: impl Into<Axes>) -> Result<Array<bool>> {
        self.reduced(ReduceKind::Any, false, axes.into(), &ReduceOptions::default())
    }
    /// Whether all elements over `axes` are non-zero.
    pub fn all(&self, axes: impl Into<Axes>) -> Result<Array<bool>> {
        self.reduced(ReduceKind::All, false, axes.into(), &ReduceOptions::default())
    }
    /// Number of non-zero elements over `axes`.
    pub fn count_nonzero(&self, axes: impl Into<Axes>) -> Result<Array<i64>> {
        self.reduced(ReduceKind::CountNonzero, false, axes.into(), &ReduceOptions::default())
    }
    /// Number of non-NaN elements over `axes` (xarray's `count`; for integers and bools, the
    /// number of elements).
    pub fn count(&self, axes: impl Into<Axes>) -> Result<Array<i64>> {
        self.reduced(ReduceKind::Count, false, axes.into(), &ReduceOptions::default())
    }
    /// Any reduction, with options (the typed methods are shorthands for this). `U` must be
    /// the reduction's result type ([`crate::ReduceOp::out_dtype`]), else this is an error.
    ///
    /// ```
    /// use tessera::{Reduction, ReduceKind, ReduceOptions};
    /// let x = tessera::from_array(ndarray::array![[1.0f64, f64::NAN], [3.0, 4.0]].into_dyn(), [1, 2])?;
    /// let m = x.reduce::<f64>("nanmax".parse::<Reduction>()?, 1, &ReduceOptions::default())?;
    /// assert_eq!(m.to_vec()?, vec![1.0, 4.0]);
    /// let n = x.reduce::<i64>(ReduceKind::Count, 0, &ReduceOptions::default())?;
    /// assert_eq!(n.to_vec()?, vec![2, 1]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn reduce<U: Element>(
        &self,
        op: impl Into<Reduction>,
        axes: impl Into<Axes>,
        opts: &ReduceOptions,
    ) -> Result<Array<U>> {
        let Reduction { kind, skip_nan } = op.into();
        let node = reduce_node(self.node(), kind, skip_nan, &axes.into(), opts)?;
        if node.dtype != U::DTYPE {
            return Err(Error::DTypeMismatch {
                context: format!("{} result", node.name),
                expected: U::DTYPE,
                found: node.dtype,
            });
        }
        Ok(Array::from_node(node))
    }

    fn scan(&self, op: ScanOp, axis: Axes) -> Result<Array<T::Sum>> {
        let name = match op {
            ScanOp::Sum => "cumsum",
            ScanOp::Prod => "cumprod",
        };
        let (x, ax) = match axis {
            // NumPy's axis=None: the flattened array, in C order.
            Axes::All => (self.reshape(&[-1])?.astype::<T::Sum>(), 0),
            Axes::List(l) if l.len() == 1 => (self.astype::<T::Sum>(), norm_axis(name, l[0], self.ndim())?),
            Axes::List(l) => {
                return Err(Error::invalid(format!(
                    "{name} runs along one axis or the flattened array, not axes {l:?}"
                )));
            }
        };
        let node = Node::new(
            name,
            <T::Sum as Element>::DTYPE,
            x.chunks().clone(),
            Op::Scan { op, axis: ax },
            vec![x.node().clone()],
        );
        Ok(Array::from_node(node))
    }
    /// Cumulative sum along an axis, or of the flattened array (C order) with `Axes::All` (NumPy's
    /// `axis=None`, a 1-d result).
    ///
    /// ```
    /// use tessera::Axes;
    /// let x = tessera::arange(1i64, 7, 1, [4])?.reshape(&[2, 3])?;
    /// assert_eq!(x.cumsum(1)?.to_vec()?, vec![1, 3, 6, 4, 9, 15]);
    /// assert_eq!(x.cumsum(Axes::All)?.to_vec()?, vec![1, 3, 6, 10, 15, 21]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn cumsum(&self, axis: impl Into<Axes>) -> Result<Array<T::Sum>> {
        self.scan(ScanOp::Sum, axis.into())
    }
    /// Cumulative product along an axis, or of the flattened array with `Axes::All`.
    pub fn cumprod(&self, axis: impl Into<Axes>) -> Result<Array<T::Sum>> {
        self.scan(ScanOp::Prod, axis.into())
    }
}

impl<T: Float> Array<T> {
    /// Cumulative sum treating NaN as 0 (NumPy's `nancumsum`), along an axis or of the
    /// flattened array with `Axes::All`.
    ///
    /// ```
    /// let x = tessera::from_array(ndarray::array![1.0f64, f64::NAN, 2.0].into_dyn(), [2])?;
    /// assert_eq!(x.nancumsum(0)?.to_vec()?, vec![1.0, 1.0, 3.0]);
    /// assert_eq!(x.nancumprod(0)?.to_vec()?, vec![1.0, 1.0, 2.0]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn nancumsum(&self, axis: impl Into<Axes>) -> Result<Array<T>> {
        Ok(crate::array::where_(&self.isnan(), T::zero(), self)?.cumsum(axis)?.astype::<T>())
    }
    /// Cumulative product treating NaN as 1 (NumPy's `nancumprod`).
    pub fn nancumprod(&self, axis: impl Into<Axes>) -> Result<Array<T>> {
        Ok(crate::array::where_(&self.isnan(), T::one(), self)?.cumprod(axis)?.astype::<T>())
    }
    /// Sum treating NaN as 0.
    pub fn nansum(&self, axes: impl Into<Axes>) -> Result<Array<T>> {
        self.nansum_with(axes, &ReduceOptions::default())
    }
    /// [`Array::nansum`] with options (keepdims, split_every).
    pub fn nansum_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<T>> {
        self.reduce(Reduction::nan(ReduceKind::Sum), axes, opts)
    }
    /// Mean of the non-NaN values (NaN where there are none).
    pub fn nanmean(&self, axes: impl Into<Axes>) -> Result<Array<T>> {
        self.nanmean_with(axes, &ReduceOptions::default())
    }
    /// [`Array::nanmean`] with options.
    pub fn nanmean_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<T>> {
        self.reduce(Reduction::nan(ReduceKind::Mean), axes, opts)
    }
    /// Minimum of the non-NaN values (NaN where there are none).
    pub fn nanmin(&self, axes: impl Into<Axes>) -> Result<Array<T>> {
        self.nanmin_with(axes, &ReduceOptions::default())
    }
    /// [`Array::nanmin`] with options.
    pub fn nanmin_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<T>> {
        self.reduce(Reduction::nan(ReduceKind::Min), axes, opts)
    }
    /// Maximum of the non-NaN values (NaN where there are none).
    pub fn nanmax(&self, axes: impl Into<Axes>) -> Result<Array<T>> {
        self.nanmax_with(axes, &ReduceOptions::default())
    }
    /// [`Array::nanmax`] with options.
    pub fn nanmax_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<T>> {
        self.reduce(Reduction::nan(ReduceKind::Max), axes, opts)
    }
    /// Index of the minimum of the non-NaN values along one axis, or the flat index with
    /// `Axes::All` or `None` (first occurrence). A slice of nothing but NaN fails the compute,
    /// as in NumPy.
    pub fn nanargmin(&self, axes: impl Into<Axes>) -> Result<Array<i64>> {
        self.nanargmin_with(axes, &ReduceOptions::default())
    }
    /// [`Array::nanargmin`] with options.
    pub fn nanargmin_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<i64>> {
        self.reduce(Reduction::nan(ReduceKind::ArgMin), axes, opts)
    }
    /// Index of the maximum of the non-NaN values along one axis, or the flat index with
    /// `Axes::All` or `None` (first occurrence). A slice of nothing but NaN fails the compute,
    /// as in NumPy.
    pub fn nanargmax(&self, axes: impl Into<Axes>) -> Result<Array<i64>> {
        self.nanargmax_with(axes, &ReduceOptions::default())
    }
    /// [`Array::nanargmax`] with options.
    pub fn nanargmax_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<i64>> {
        self.reduce(Reduction::nan(ReduceKind::ArgMax), axes, opts)
    }
    /// Variance of the non-NaN values.
    pub fn nanvar(&self, axes: impl Into<Axes>, ddof: f64) -> Result<Array<T>> {
        self.nanvar_with(axes, &ReduceOptions::default().ddof(ddof))
    }
    /// [`Array::nanvar`] with options (ddof from the options).
    pub fn nanvar_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<T>> {
        self.reduce(Reduction::nan(ReduceKind::Var { ddof: opts.ddof, std: false }), axes, opts)
    }
    /// Standard deviation of the non-NaN values.
    pub fn nanstd(&self, axes: impl Into<Axes>, ddof: f64) -> Result<Array<T>> {
        self.nanstd_with(axes, &ReduceOptions::default().ddof(ddof))
    }
    /// [`Array::nanstd`] with options (ddof from the options).
    pub fn nanstd_with(&self, axes: impl Into<Axes>, opts: &ReduceOptions) -> Result<Array<T>> {
        self.reduce(Reduction::nan(ReduceKind::Var { ddof: opts.ddof, std: true }), axes, opts)
    }
}
