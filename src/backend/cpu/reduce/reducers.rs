//! One [`Reducer`] per reduction kind.

use crate::backend::cpu::reduce::numeric::{
    AccNum, Accumulate, FLUSH_PLANES, PREFETCH_ROWS, Ph, chan_merge, float_tile, lane_sum, prefetch_row,
};
use crate::backend::cpu::reduce::{Reducer, fold_tile};
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};
use crate::ir::reduce::PartialState;

/// Sum or product.
#[derive(Debug)]
pub struct SumR<T> {
    pub(crate) nan: bool,
    pub(crate) prod: bool,
    pub(crate) _t: Ph<T>,
}
impl<T: Accumulate> Reducer for SumR<T> {
    type In = T;
    type State = T::Acc;
    type Out = T::Sum;
    fn state_from_gpu(&self, s: &PartialState) -> T::Acc {
        T::Acc::from_gpu(s.a, s.i)
    }
    fn init(&self) -> T::Acc {
        if self.prod { T::Acc::ONE } else { T::Acc::ZERO }
    }
    #[inline]
    fn accumulate(&self, s: &mut T::Acc, x: T, _: i64) {
        if self.nan && x.is_nan() {
            return;
        }
        *s = if self.prod { s.mul(x.acc()) } else { s.add(x.acc()) };
    }
    fn merge(&self, a: &mut T::Acc, b: &T::Acc) {
        *a = if self.prod { a.mul(*b) } else { a.add(*b) };
    }
    fn finalize(&self, s: &T::Acc) -> T::Sum {
        T::from_acc(*s)
    }
    fn accumulate_tile(&self, out: &mut [T::Acc], rows: &[&[T]], width: usize, base: i64) {
        if self.prod || !T::DTYPE.is_float() {
            return fold_tile(self, out, rows, width, base);
        }
        float_tile(
            out.len(),
            rows,
            width,
            |loc: &mut [T], r: &[T]| {
                if self.nan {
                    for (a, &v) in loc.iter_mut().zip(r) {
                        *a = a.add(if v.is_nan() { T::zero() } else { v });
                    }
                } else {
                    for (a, &v) in loc.iter_mut().zip(r) {
                        *a = a.add(v);
                    }
                }
            },
            |j, loc: &[T], _| out[j] = out[j].add(loc[j].acc()),
        );
    }
    fn reduce_slice(&self, xs: &[T], base: i64) -> T::Acc {
        if self.prod {
            let mut s = self.init();
            for (i, &x) in xs.iter().enumerate() {
                self.accumulate(&mut s, x, base + i as i64);
            }
            s
        } else {
            lane_sum(xs, self.nan).0
        }
    }
}

/// The sum of a lane for a mean, as f64, and its count: 64-bit integers are added as f64
/// (as NumPy averages integers: their sum would wrap in i64/u64); narrower integers and
/// floats in their accumulator (exact for the integers).
fn mean_sum<T: Accumulate>(xs: &[T], nan: bool) -> (f64, usize) {
    if T::DTYPE.is_integer() && T::DTYPE.size() == 8 {
        return (xs.iter().map(|x| x.to_f64()).sum(), xs.len());
    }
    let (s, n) = lane_sum(xs, nan);
    (s.f64(), n)
}

/// Mean: state (sum, count).
#[derive(Debug)]
pub struct MeanR<T> {
    pub(crate) nan: bool,
    pub(crate) _t: Ph<T>,
}
impl<T: Accumulate> Reducer for MeanR<T> {
    type In = T;
    type State = (f64, f64);
    type Out = T::Mean;
    fn state_from_gpu(&self, s: &PartialState) -> (f64, f64) {
        (s.a, s.b)
    }
    fn init(&self) -> (f64, f64) {
        (0.0, 0.0)
    }
    #[inline]
    fn accumulate(&self, s: &mut (f64, f64), x: T, _: i64) {
        let skip = self.nan && x.is_nan();
        s.0 += if skip { 0.0 } else { x.to_f64() };
        s.1 += if skip { 0.0 } else { 1.0 };
    }
    fn merge(&self, a: &mut (f64, f64), b: &(f64, f64)) {
        a.0 += b.0;
        a.1 += b.1;
    }
    fn finalize(&self, s: &(f64, f64)) -> T::Mean {
        T::Mean::cast_from(s.0 / s.1)
    }
    fn accumulate_tile(&self, out: &mut [(f64, f64)], rows: &[&[T]], width: usize, base: i64) {
        if !T::DTYPE.is_float() {
            return fold_tile(self, out, rows, width, base);
        }
        if !self.nan {
            float_tile(
                out.len(),
                rows,
                width,
                |loc: &mut [T], r: &[T]| {
                    for (a, &v) in loc.iter_mut().zip(r) {
                        *a = a.add(v);
                    }
                },
                |j, loc: &[T], planes| {
                    out[j].0 += loc[j].to_f64();
                    out[j].1 += planes as f64;
                },
            );
            return;
        }
        // Sums and counts of the non-NaN values in one pass, in the input's float type.
        let len = out.len();
        let t = len / width.max(1);
        let n = rows.len().checked_div(t).unwrap_or(0);
        let (mut sum, mut cnt) = (vec![T::zero(); len], vec![T::zero(); len]);
        let mut i0 = 0;
        while i0 < n {
            let i1 = (i0 + FLUSH_PLANES).min(n);
            sum.fill(T::zero());
            cnt.fill(T::zero());
            for i in i0..i1 {
                for k in 0..t {
                    if let Some(ahead) = rows.get(i * t + k + PREFETCH_ROWS) {
                        prefetch_row(ahead);
                    }
                    let (s, c) = (&mut sum[k * width..(k + 1) * width], &mut cnt[k * width..(k + 1) * width]);
                    for ((s, c), &v) in s.iter_mut().zip(c.iter_mut()).zip(rows[i * t + k]) {
                        let ok = !v.is_nan();
                        *s = s.add(if ok { v } else { T::zero() });
                        *c = c.add(if ok { T::one() } else { T::zero() });
                    }
                }
            }
            for ((o, s), c) in out.iter_mut().zip(&sum).zip(&cnt) {
                o.0 += s.to_f64();
                o.1 += c.to_f64();
            }
            i0 = i1;
        }
    }
    fn reduce_slice(&self, xs: &[T], _: i64) -> (f64, f64) {
        let (s, n) = mean_sum(xs, self.nan);
        (s, n as f64)
    }
}

/// Variance / standard deviation: state (count, mean, sum of squared deviations), merged with
/// Chan et al.'s formula; lanes use two passes.
#[derive(Debug)]
pub struct VarR<T> {
    pub(crate) nan: bool,
    pub(crate) ddof: f64,
    pub(crate) std: bool,
    pub(crate) _t: Ph<T>,
}
impl<T: Accumulate> Reducer for VarR<T> {
    type In = T;
    type State = (f64, f64, f64);
    type Out = T::Mean;
    fn state_from_gpu(&self, s: &PartialState) -> (f64, f64, f64) {
        (s.a, s.b, s.c)
    }
    fn init(&self) -> (f64, f64, f64) {
        (0.0, 0.0, 0.0)
    }
    #[inline]
    fn accumulate(&self, s: &mut (f64, f64, f64), x: T, _: i64) {
        if self.nan && x.is_nan() {
            return;
        }
        let x = x.to_f64();
        s.0 += 1.0;
        let d = x - s.1;
        s.1 += d / s.0;
        s.2 += d * (x - s.1);
    }
    fn merge(&self, a: &mut (f64, f64, f64), b: &(f64, f64, f64)) {
        chan_merge(a, *b);
    }
    fn finalize(&self, s: &(f64, f64, f64)) -> T::Mean {
        let v = s.2 / (s.0 - self.ddof);
        let v = if s.0 - self.ddof <= 0.0 { f64::NAN } else { v };
        T::Mean::cast_from(if self.std { v.sqrt() } else { v })
    }
    fn reduce_slice(&self, xs: &[T], _: i64) -> (f64, f64, f64) {
        let (s, n) = mean_sum(xs, self.nan);
        if n == 0 {
            return self.init();
        }
        let mean = s / n as f64;
        let mut m2 = 0.0;
        for &x in xs {
            if !(self.nan && x.is_nan()) {
                let d = x.to_f64() - mean;
                m2 += d * d;
            }
        }
        (n as f64, mean, m2)
    }
}

/// Minimum or maximum: state (value, seen).
#[derive(Debug)]
pub struct MinMaxR<T> {
    pub(crate) nan: bool,
    pub(crate) max: bool,
    pub(crate) _t: Ph<T>,
}
impl<T: Element> Reducer for MinMaxR<T> {
    type In = T;
    type State = (T, bool);
    type Out = T;
    fn state_from_gpu(&self, s: &PartialState) -> (T, bool) {
        (T::cast_from(s.a), s.found)
    }
    fn init(&self) -> (T, bool) {
        (T::zero(), false)
    }
    #[inline]
    fn accumulate(&self, s: &mut (T, bool), x: T, _: i64) {
        if self.nan && x.is_nan() {
            return;
        }
        if !s.1 {
            *s = (x, true);
        } else {
            s.0 = if self.max { s.0.maximum(x) } else { s.0.minimum(x) };
        }
    }
    fn merge(&self, a: &mut (T, bool), b: &(T, bool)) {
        if b.1 {
            self.accumulate(a, b.0, 0);
        }
    }
    fn finalize(&self, s: &(T, bool)) -> T {
        if s.1 { s.0 } else { T::cast_from(f64::NAN) }
    }
}

/// Arg-min or arg-max: state (value, index, seen); ties go to the smaller index, and the
/// first NaN wins (NumPy's argmin/argmax). With `nan`, NaN values are skipped and a slice of
/// nothing but NaN is an error (NumPy's nanargmin/nanargmax).
#[derive(Debug)]
pub struct ArgR<T> {
    pub(crate) nan: bool,
    pub(crate) max: bool,
    pub(crate) _t: Ph<T>,
}
impl<T: Element> ArgR<T> {
    fn better(&self, a: &(T, i64, bool), b: &(T, i64, bool)) -> bool {
        if !b.2 {
            return false;
        }
        if !a.2 {
            return true;
        }
        match (a.0.is_nan(), b.0.is_nan()) {
            (true, true) => b.1 < a.1,
            (true, false) => false,
            (false, true) => true,
            _ => {
                let strictly = if self.max { b.0 > a.0 } else { b.0 < a.0 };
                strictly || (b.0 == a.0 && b.1 < a.1)
            }
        }
    }
}
impl<T: Element> Reducer for ArgR<T> {
    type In = T;
    type State = (T, i64, bool);
    type Out = i64;
    fn state_from_gpu(&self, s: &PartialState) -> (T, i64, bool) {
        (T::cast_from(s.a), s.i, s.found)
    }
    const NEEDS_INDEX: bool = true;
    fn init(&self) -> (T, i64, bool) {
        (T::zero(), 0, false)
    }
    #[inline]
    fn accumulate(&self, s: &mut (T, i64, bool), x: T, idx: i64) {
        if self.nan && x.is_nan() {
            return;
        }
        let b = (x, idx, true);
        if self.better(s, &b) {
            *s = b;
        }
    }
    fn merge(&self, a: &mut (T, i64, bool), b: &(T, i64, bool)) {
        if self.better(a, b) {
            *a = *b;
        }
    }
    fn finalize(&self, s: &(T, i64, bool)) -> i64 {
        s.1
    }
    fn try_finalize(&self, s: &(T, i64, bool)) -> Result<i64> {
        if !s.2 {
            // Only a NaN-skipping reduction gets here: empty axes are refused when it is built.
            let name = if self.max { "nanargmax" } else { "nanargmin" };
            return Err(Error::invalid(format!("{name}: All-NaN slice encountered")));
        }
        Ok(s.1)
    }
}

/// any / all: state 0/1.
#[derive(Debug)]
pub struct AnyAllR<T> {
    pub(crate) all: bool,
    pub(crate) _t: Ph<T>,
}
impl<T: Element> Reducer for AnyAllR<T> {
    type In = T;
    type State = bool;
    type Out = bool;
    fn state_from_gpu(&self, s: &PartialState) -> bool {
        s.found
    }
    fn init(&self) -> bool {
        self.all
    }
    #[inline]
    fn accumulate(&self, s: &mut bool, x: T, _: i64) {
        let nz = x != T::zero();
        *s = if self.all { *s & nz } else { *s | nz };
    }
    fn merge(&self, a: &mut bool, b: &bool) {
        *a = if self.all { *a & *b } else { *a | *b };
    }
    fn finalize(&self, s: &bool) -> bool {
        *s
    }
}

/// count_nonzero: state i64.
#[derive(Debug)]
pub struct CountR<T> {
    /// Count the non-NaN elements (`count`) instead of the non-zero ones (`count_nonzero`).
    pub(crate) non_nan: bool,
    pub(crate) _t: Ph<T>,
}
impl<T: Element> Reducer for CountR<T> {
    type In = T;
    type State = i64;
    type Out = i64;
    fn state_from_gpu(&self, s: &PartialState) -> i64 {
        s.i
    }
    fn init(&self) -> i64 {
        0
    }
    #[inline]
    fn accumulate(&self, s: &mut i64, x: T, _: i64) {
        *s += if self.non_nan { !x.is_nan() } else { x != T::zero() } as i64;
    }
    fn merge(&self, a: &mut i64, b: &i64) {
        *a += *b;
    }
    fn finalize(&self, s: &i64) -> i64 {
        *s
    }
}
