//! Shape ops over several axes at once, as NumPy spells them: `np.flip(x, axis=(0, 2))`,
//! `np.roll(x, (1, -2), axis=(0, 1))`, `np.roll(x, 3)` (flattened) and `np.pad` with a
//! constant per side of each axis.
//!
//! All are compositions of the one-axis ops: a flip is one slice with step −1 on each axis, a
//! roll is two slices and a concatenation per axis (a flattened roll goes through a reshape),
//! and a constant pad concatenates constant arrays (cheap sources) before and after each axis
//! in turn, as dask's `pad` does, so later axes fill the corners, as in NumPy.

use crate::array::reduce::Axes;
use crate::array::shape::concatenate;
use crate::array::slice::SliceArg;
use crate::array::{Array, norm_axis};
use crate::core::chunks::Chunks;
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};

impl<T: Element> Array<T> {
    /// The elements of each of `axes` in reverse order (NumPy's `np.flip(x, axis)`;
    /// [`Axes::All`] flips every axis). One slice with step −1 on those axes.
    ///
    /// ```
    /// use tessera::Axes;
    /// let x = tessera::arange(0i64, 6, 1, [2]).unwrap().reshape(&[2, 3]).unwrap();
    /// assert_eq!(x.flip_axes([0, 1]).unwrap().to_vec().unwrap(), vec![5, 4, 3, 2, 1, 0]);
    /// assert_eq!(x.flip_axes(Axes::All).unwrap().to_vec().unwrap(), vec![5, 4, 3, 2, 1, 0]);
    /// ```
    pub fn flip_axes(&self, axes: impl Into<Axes>) -> Result<Array<T>> {
        let nd = self.ndim();
        let list: Vec<usize> = match axes.into() {
            Axes::All => (0..nd).collect(),
            Axes::List(l) => l.iter().map(|&a| norm_axis("flip", a, nd)).collect::<Result<_>>()?,
        };
        let mut args = vec![SliceArg::full(); nd];
        for &a in &list {
            if args[a] == SliceArg::reversed() {
                return Err(Error::InvalidAxis {
                    op: "flip (repeated axis)".into(),
                    axis: a as isize,
                    ndim: nd,
                });
            }
            args[a] = SliceArg::reversed();
        }
        self.slice(&args)
    }

    /// Elements rolled by `shifts[i]` along `axes[i]` (NumPy's `np.roll(x, shift, axis)`):
    /// one shift applies to every axis listed; a repeated axis rolls by the sum of its
    /// shifts. With `axes: None` the array is rolled as if flattened (C order) by the one
    /// shift, then given its shape back.
    ///
    /// ```
    /// let x = tessera::arange(0i64, 6, 1, [1]).unwrap().reshape(&[2, 3]).unwrap();
    /// let y = x.roll_axes(&[1, -2], Some(&[0, 1])).unwrap();
    /// assert_eq!(y.to_vec().unwrap(), vec![5, 3, 4, 2, 0, 1]);
    /// let f = x.roll_axes(&[1], None).unwrap();
    /// assert_eq!(f.to_vec().unwrap(), vec![5, 0, 1, 2, 3, 4]);
    /// ```
    pub fn roll_axes(&self, shifts: &[isize], axes: Option<&[isize]>) -> Result<Array<T>> {
        let nd = self.ndim();
        let Some(axes) = axes else {
            let [s] = shifts else {
                return Err(Error::invalid(format!(
                    "roll: {} shifts without axes (a flattened roll takes one shift)",
                    shifts.len()
                )));
            };
            if nd == 1 {
                return self.roll(*s, 0);
            }
            let shape: Vec<isize> = self.shape().iter().map(|&n| n as isize).collect();
            return self.reshape(&[self.size() as isize])?.roll(*s, 0)?.reshape(&shape);
        };
        if shifts.len() != axes.len() && shifts.len() != 1 {
            return Err(Error::invalid(format!(
                "roll: {} shifts for {} axes (give one shift, or one per axis)",
                shifts.len(),
                axes.len()
            )));
        }
        let mut total = vec![0isize; nd];
        for (i, &a) in axes.iter().enumerate() {
            let a = norm_axis("roll", a, nd)?;
            let s = shifts[if shifts.len() == 1 { 0 } else { i }];
            let n = self.shape()[a].max(1) as isize;
            total[a] = (total[a] + s.rem_euclid(n)).rem_euclid(n);
        }
        let mut x = self.clone();
        for (a, &s) in total.iter().enumerate() {
            if s != 0 {
                x = x.roll(s, a as isize)?;
            }
        }
        Ok(x)
    }

    /// Padded by `width[a] = (before, after)` elements along each axis, with the constants
    /// `values[a] = (before, after)` (NumPy's `np.pad(x, width, constant_values=values)`; one
    /// pair in `values` serves every axis). Axes are padded in order, so the corners take the
    /// later axis's values, as in NumPy. The new elements are constant arrays concatenated
    /// before and after: blocks of their own, computed from nothing.
    ///
    /// ```
    /// let x = tessera::zeros::<i64>(&[1, 1], [1, 1]).unwrap();
    /// let y = x.pad_constants(&[(1, 1), (1, 1)], &[(1, 2), (3, 4)]).unwrap();
    /// assert_eq!(y.to_vec().unwrap(), vec![3, 1, 4, 3, 0, 4, 3, 2, 4]);
    /// ```
    pub fn pad_constants(&self, width: &[(usize, usize)], values: &[(T, T)]) -> Result<Array<T>> {
        let nd = self.ndim();
        if width.len() != nd {
            return Err(Error::invalid(format!(
                "pad: {} widths for an array of {nd} dimension(s)",
                width.len()
            )));
        }
        if values.len() != nd && values.len() != 1 {
            return Err(Error::invalid(format!(
                "pad: {} constant pairs for an array of {nd} dimension(s) (give one pair, or one per axis)",
                values.len()
            )));
        }
        let mut x = self.clone();
        for (a, &(before, after)) in width.iter().enumerate() {
            let (vb, va) = values[if values.len() == 1 { 0 } else { a }];
            let side = |len: usize, v: T| -> Result<Array<T>> {
                let mut axes = x.chunks().axes().to_vec();
                let mut shape = x.shape().to_vec();
                axes[a] = vec![len];
                shape[a] = len;
                crate::array::creation::full(&shape, v, Chunks::new(axes)?)
            };
            let mut parts = Vec::with_capacity(3);
            if before > 0 {
                parts.push(side(before, vb)?);
            }
            parts.push(x.clone());
            if after > 0 {
                parts.push(side(after, va)?);
            }
            if parts.len() > 1 {
                let refs: Vec<&Array<T>> = parts.iter().collect();
                x = concatenate(&refs, a as isize)?;
            }
        }
        Ok(x)
    }
}
