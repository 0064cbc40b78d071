//! Windows along axes: rolling statistics across block boundaries (pandas' and xarray's
//! `rolling`) and block reductions by an integer factor (xarray's `coarsen`).
//!
//! A rolling statistic is one task per block: the block is extended by halos that reach as
//! many neighbouring blocks as the window needs (`overlap`, NaN beyond the array's edges),
//! and a named kernel ([`crate::ir::window::WindowKernel`]) sweeps each lane of the extended
//! block once and keeps the block's own positions. `coarsen` is composed of existing lazy
//! ops: a slice (`Trim`), a rechunk to multiples of the factors, a block-local reshape that
//! splits each coarsened axis in two, and a reduction over the new inner axes.

use std::sync::Arc;

use crate::array::{Array, Axes, SliceArg, norm_axis};
use crate::core::chunks::{Chunks, unravel};
use crate::core::dtype::{Element, Float};
use crate::core::error::{Error, Result};
use crate::graph::halo::Boundary;
use crate::graph::node::{Node, Op};
use crate::graph::tiled::{TileBuilder, TiledOp, TiledSpec, next_group};
use crate::ir::kernel::Kernel;
use crate::ir::task::TaskId;
use crate::ir::window::{WindowKernel, WindowStat};

/// A rolling window along one axis, made by [`Array::rolling`]; its methods (`mean`, `sum`,
/// `min`, `max`, `var`, `std`, `count`) give lazy arrays of the input's shape and chunks.
///
/// Conventions are pandas' and xarray's (`DataArray.rolling(dim=window, center=...,
/// min_periods=...)`):
///
/// - **Trailing** (default): position `i` is labelled by the window `i − window + 1 ..= i`.
/// - **Centred** ([`Rolling::center`]): the window `i − window / 2 ..= i + (window − 1) −
///   window / 2`. An odd window is symmetric; an even one has the extra element on the left
///   (a window of 4 covers `i − 2 ..= i + 1`), as pandas and xarray do.
/// - Positions of a window beyond the array's edges hold nothing; NaN values are skipped.
///   Neither counts toward **`min_periods`** (default: the window, so positions whose window
///   runs off the edge are NaN, as in pandas and xarray); a window with fewer non-NaN values
///   than `min_periods` gives NaN.
/// - The result is float: `f64` for integers and bools, the input's type for floats.
///
/// ```
/// let x = tessera::from_array(ndarray::array![1.0f64, 2.0, f64::NAN, 4.0, 5.0, 6.0].into_dyn(), [2])?;
/// let m = x.rolling(0, 3)?.mean()?.to_vec()?;
/// // Positions 0 and 1 run off the start; 2, 3 and 4 hold the NaN.
/// assert!(m[..5].iter().all(|v| v.is_nan()));
/// assert_eq!(m[5], 5.0);
/// let m = x.rolling(0, 3)?.min_periods(1).center(true).sum()?.to_vec()?;
/// assert_eq!(m, vec![3.0, 3.0, 6.0, 9.0, 15.0, 11.0]);
/// # Ok::<(), tessera::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Rolling<T: Element> {
    x: Array<T>,
    axis: usize,
    window: usize,
    center: bool,
    min_periods: Option<usize>,
}

impl<T: Element> Array<T> {
    /// A rolling window of `window` elements along `axis` (see [`Rolling`]); an error for an
    /// axis out of range or a window of 0.
    pub fn rolling(&self, axis: isize, window: usize) -> Result<Rolling<T>> {
        let axis = norm_axis("rolling", axis, self.ndim())?;
        if window == 0 {
            return Err(Error::invalid("rolling: the window must hold at least 1 element, not 0"));
        }
        Ok(Rolling { x: self.clone(), axis, window, center: false, min_periods: None })
    }
}

impl<T: Element> Rolling<T> {
    /// Centre the window on its position (`true`) or end it there (`false`, the default).
    #[must_use]
    pub fn center(mut self, center: bool) -> Self {
        self.center = center;
        self
    }

    /// The fewest non-NaN values a window needs to give a result (1 ..= window; default the
    /// window). Checked by the statistic's method.
    #[must_use]
    pub fn min_periods(mut self, n: usize) -> Self {
        self.min_periods = Some(n);
        self
    }

    /// Sum of each window's non-NaN values.
    pub fn sum(&self) -> Result<Array<T::Mean>> {
        self.apply(WindowStat::Sum)
    }
    /// Mean of each window's non-NaN values.
    pub fn mean(&self) -> Result<Array<T::Mean>> {
        self.apply(WindowStat::Mean)
    }
    /// Smallest non-NaN value of each window.
    pub fn min(&self) -> Result<Array<T::Mean>> {
        self.apply(WindowStat::Min)
    }
    /// Largest non-NaN value of each window.
    pub fn max(&self) -> Result<Array<T::Mean>> {
        self.apply(WindowStat::Max)
    }
    /// Number of non-NaN values of each window (NaN below `min_periods`, as xarray).
    pub fn count(&self) -> Result<Array<T::Mean>> {
        self.apply(WindowStat::Count)
    }
    /// Variance of each window's non-NaN values, dividing by `count − ddof` (NaN where that
    /// is not positive). pandas' default is `ddof = 1`, xarray's (NumPy's) `0`: tessera
    /// makes the caller choose.
    pub fn var(&self, ddof: f64) -> Result<Array<T::Mean>> {
        check_ddof(ddof)?;
        self.apply(WindowStat::Var { ddof })
    }
    /// Standard deviation of each window's non-NaN values: the square root of
    /// [`Rolling::var`] with the same `ddof`.
    ///
    /// ```
    /// let x = tessera::arange(0.0f64, 5.0, 1.0, [2])?;
    /// let s = x.rolling(0, 2)?.std(1.0)?.to_vec()?; // pandas' x.rolling(2).std()
    /// assert!(s[0].is_nan());
    /// assert_eq!(&s[1..], &[0.5f64.sqrt(); 4]);
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn std(&self, ddof: f64) -> Result<Array<T::Mean>> {
        check_ddof(ddof)?;
        self.apply(WindowStat::Std { ddof })
    }

    fn apply(&self, stat: WindowStat) -> Result<Array<T::Mean>> {
        let w = self.window;
        let min_periods = self.min_periods.unwrap_or(w);
        if min_periods == 0 || min_periods > w {
            return Err(Error::invalid(format!(
                "rolling {}: min_periods must be in 1..={w} for a window of {w}, not {min_periods}",
                stat.name()
            )));
        }
        let x = self.x.astype::<T::Mean>();
        if x.size() == 0 {
            return Ok(x);
        }
        let before = if self.center { w / 2 } else { w - 1 };
        let depth = before.max(w - 1 - before);
        let ext = if depth == 0 {
            x.clone()
        } else {
            let mut d = vec![0; x.ndim()];
            let mut b = vec![Boundary::None; x.ndim()];
            d[self.axis] = depth;
            b[self.axis] = Boundary::Constant(f64::NAN);
            x.overlap(&d, &b)?
        };
        let dtype = <T::Mean as Element>::DTYPE;
        let kernel = WindowKernel { axis: self.axis, window: w, before, depth, min_periods, stat, dtype };
        let lowering = WindowLowering { kernel: Arc::new(kernel), chunks: x.chunks().clone() };
        let spec = TiledSpec { op: Arc::new(lowering), group: next_group(), output: 0 };
        let name = format!("rolling-{}", stat.name());
        let node = Node::new(name, dtype, x.chunks().clone(), Op::Tiled(spec), vec![ext.node().clone()]);
        Ok(Array::from_node(node))
    }
}

fn check_ddof(ddof: f64) -> Result<()> {
    if ddof.is_finite() && ddof >= 0.0 {
        Ok(())
    } else {
        Err(Error::invalid(format!("rolling: ddof must be finite and not negative, not {ddof}")))
    }
}

/// A rolling statistic's tasks: one per block, on the block extended by its halos.
struct WindowLowering {
    kernel: Arc<WindowKernel>,
    /// The output's chunks (the input's).
    chunks: Chunks,
}

impl TiledOp for WindowLowering {
    fn name(&self) -> &str {
        "rolling"
    }

    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let grid = self.chunks.numblocks();
        let size = self.kernel.dtype.size();
        let blocks = (0..self.chunks.nblocks())
            .map(|lin| {
                let idx = unravel(lin, &grid);
                let input = b.input(0, &idx);
                let bytes = self.chunks.block_shape(&idx).iter().product::<usize>() * size;
                let t = b.push_kernel(Kernel::Window(self.kernel.clone()), vec![input], &idx, bytes);
                // One lane of the extended block in f64.
                b.set_scratch(t, b.chunks(0).block_shape(&idx)[self.kernel.axis] * 8);
                t
            })
            .collect();
        vec![blocks]
    }
}

/// What [`Array::coarsen`] does with an axis whose length is not a multiple of its factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CoarsenBoundary {
    /// An error naming the axis (xarray's `boundary="exact"`, its default).
    #[default]
    Exact,
    /// Drop the elements past the last whole group, at the end of the axis (xarray's
    /// `boundary="trim"` with `side="left"`).
    Trim,
}

/// Groups of `factor` neighbouring elements along some axes, made by [`Array::coarsen`]; its
/// methods reduce each group to one element (xarray's `coarsen(...).mean()` and friends).
#[derive(Debug, Clone)]
pub struct Coarsen<T: Element> {
    /// The array reshaped so that each coarsened axis is (groups, factor).
    split: Array<T>,
    /// The factor axes of `split`.
    inner: Vec<usize>,
}

impl<T: Element> Array<T> {
    /// Group `factor` neighbouring elements along each `(axis, factor)` of `factors` (xarray's
    /// `coarsen(dim=factor, boundary=...)`); reduce the groups with [`Coarsen`]'s methods. Axes
    /// not named keep their length. Errors: an axis out of range or named twice, a factor of
    /// 0, or (with [`CoarsenBoundary::Exact`]) a length that is not a multiple of its factor.
    ///
    /// ```
    /// use tessera::array::CoarsenBoundary;
    /// let x = tessera::arange(0.0f64, 12.0, 1.0, [5])?.reshape(&[3, 4])?;
    /// let m = x.coarsen(&[(1, 2)], CoarsenBoundary::Exact)?.mean()?;
    /// assert_eq!(m.to_vec()?, vec![0.5, 2.5, 4.5, 6.5, 8.5, 10.5]);
    /// let s = x.coarsen(&[(0, 2), (1, 2)], CoarsenBoundary::Trim)?.sum()?;
    /// assert_eq!(s.shape(), &[1, 2]);
    /// assert_eq!(s.to_vec()?, vec![10.0, 18.0]);
    /// assert!(x.coarsen(&[(0, 2)], CoarsenBoundary::Exact).is_err());
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn coarsen(&self, factors: &[(isize, usize)], boundary: CoarsenBoundary) -> Result<Coarsen<T>> {
        let nd = self.ndim();
        let mut factor = vec![1usize; nd];
        let mut named = vec![false; nd];
        for &(axis, f) in factors {
            let a = norm_axis("coarsen", axis, nd)?;
            if named[a] {
                return Err(Error::InvalidAxis { op: "coarsen (axis named twice)".into(), axis, ndim: nd });
            }
            if f == 0 {
                return Err(Error::invalid(format!(
                    "coarsen: the factor of axis {a} is 0; it must be at least 1"
                )));
            }
            named[a] = true;
            factor[a] = f;
        }
        let mut args = vec![SliceArg::full(); nd];
        let mut trimmed = false;
        for a in 0..nd {
            let (n, f) = (self.shape()[a], factor[a]);
            if n % f != 0 {
                if boundary == CoarsenBoundary::Exact {
                    return Err(Error::invalid(format!(
                        "coarsen: axis {a} has length {n}, not a multiple of its factor {f} \
                         (CoarsenBoundary::Trim drops the {} element(s) past the last group)",
                        n % f
                    )));
                }
                args[a] = SliceArg::new(None, Some((n - n % f) as isize), 1);
                trimmed = true;
            }
        }
        let x = if trimmed { self.slice(&args)? } else { self.clone() };
        // Blocks of whole groups: each block boundary moved down to a multiple of the factor,
        // so the reshape below stays within blocks.
        let axes: Vec<Vec<usize>> = (0..nd)
            .map(|a| {
                let (n, f) = (x.shape()[a], factor[a]);
                let offs = x.chunks().offsets(a);
                if f == 1 || n == 0 {
                    return x.chunks().axis(a).to_vec();
                }
                let mut cuts: Vec<usize> = offs[1..offs.len() - 1].iter().map(|&c| c - c % f).collect();
                cuts.retain(|&c| c > 0 && c < n);
                cuts.dedup();
                cuts.push(n);
                let mut prev = 0;
                cuts.into_iter()
                    .map(|c| {
                        let len = c - prev;
                        prev = c;
                        len
                    })
                    .collect()
            })
            .collect();
        let x = x.rechunk(Chunks::new(axes)?)?;
        let mut shape = Vec::with_capacity(nd + factors.len());
        let mut inner = Vec::with_capacity(factors.len());
        for a in 0..nd {
            let n = x.shape()[a];
            if named[a] {
                shape.push((n / factor[a]) as isize);
                inner.push(shape.len());
                shape.push(factor[a] as isize);
            } else {
                shape.push(n as isize);
            }
        }
        Ok(Coarsen { split: x.reshape(&shape)?, inner })
    }
}

impl<T: Element> Coarsen<T> {
    fn axes(&self) -> Axes {
        self.inner.clone().into()
    }
    /// Sum of each group (integers and bools sum to `i64`); NaN propagates.
    pub fn sum(&self) -> Result<Array<T::Sum>> {
        self.split.sum(self.axes())
    }
    /// Mean of each group (`f64` for integers); NaN propagates (NumPy's `mean`, xarray's
    /// `skipna=False`).
    pub fn mean(&self) -> Result<Array<T::Mean>> {
        self.split.mean(self.axes())
    }
    /// Smallest element of each group; NaN propagates.
    pub fn min(&self) -> Result<Array<T>> {
        self.split.min(self.axes())
    }
    /// Largest element of each group; NaN propagates.
    pub fn max(&self) -> Result<Array<T>> {
        self.split.max(self.axes())
    }
}

impl<T: Float> Coarsen<T> {
    /// Sum of each group's non-NaN values (xarray's default `skipna=True` for floats).
    pub fn nansum(&self) -> Result<Array<T>> {
        self.split.nansum(self.axes())
    }
    /// Mean of each group's non-NaN values, NaN where there are none (what xarray's
    /// `coarsen(...).mean()` gives for floats by default).
    pub fn nanmean(&self) -> Result<Array<T>> {
        self.split.nanmean(self.axes())
    }
    /// Smallest non-NaN value of each group.
    pub fn nanmin(&self) -> Result<Array<T>> {
        self.split.nanmin(self.axes())
    }
    /// Largest non-NaN value of each group.
    pub fn nanmax(&self) -> Result<Array<T>> {
        self.split.nanmax(self.axes())
    }
}
