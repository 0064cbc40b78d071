//! CPU reductions: one generic [`Reducer`] per reduction, one adaptor to [`ReduceKernel`].
//!
//! A reducer defines a per-element state (`init`, `accumulate`), how two states merge, and the
//! final value. The per-block partial reduces the block's axes one at a time: the last reduced
//! axis first, over contiguous lanes when it is the block's last axis (pairwise sums in `f64`
//! or `i64`, eight accumulators wide), else by accumulating whole rows (vectorised over the
//! row); the remaining axes merge states slice by slice. Partials keep reduced axes with
//! length 1 so combining is elementwise, done in the fixed order the graph gives: results do
//! not depend on the number of threads. `f32` sums and means accumulate in `f64`.

use std::fmt::Debug;
use std::sync::Arc;

use ndarray::{ArrayD, ArrayViewD, ArrayViewMutD, Axis, Ix2, IxDyn, Zip};

use crate::backend::kernel::{PartialStep, ReduceKernel};
use crate::block::{HostArray, Value};
use crate::dtype::{DType, Element};
use crate::error::{Error, Result};
use crate::with_dtype;

/// Which reduction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ReduceKind {
    /// Sum (`nan`: NaN counts as 0).
    Sum,
    /// Product (`nan`: NaN counts as 1).
    Prod,
    /// Arithmetic mean (`nan`: over the non-NaN values).
    Mean,
    /// Variance (`std`: its square root) with `ddof` delta degrees of freedom.
    Var {
        /// Delta degrees of freedom: the divisor is `n - ddof`.
        ddof: f64,
        /// Return the standard deviation instead.
        std: bool,
    },
    /// Minimum (NaN propagates unless `nan`).
    Min,
    /// Maximum (NaN propagates unless `nan`).
    Max,
    /// Index of the minimum (first occurrence; a NaN counts as the minimum).
    ArgMin,
    /// Index of the maximum (first occurrence; a NaN counts as the maximum).
    ArgMax,
    /// Whether any element is non-zero.
    Any,
    /// Whether all elements are non-zero.
    All,
    /// Number of non-zero elements.
    CountNonzero,
}

impl ReduceKind {
    /// Whether the result holds indices (then at most one axis, or all, may be reduced).
    pub fn is_arg(self) -> bool {
        matches!(self, ReduceKind::ArgMin | ReduceKind::ArgMax)
    }
    /// Whether reducing an empty axis is an error (no identity).
    pub fn needs_elements(self) -> bool {
        matches!(self, ReduceKind::Min | ReduceKind::Max | ReduceKind::ArgMin | ReduceKind::ArgMax)
    }
    /// The result dtype for an input dtype.
    pub fn out_dtype(self, dtype: DType) -> DType {
        match self {
            ReduceKind::Sum | ReduceKind::Prod => with_dtype!(dtype, T => <T as Element>::Sum::DTYPE),
            ReduceKind::Mean | ReduceKind::Var { .. } => {
                with_dtype!(dtype, T => <T as Element>::Mean::DTYPE)
            }
            ReduceKind::Min | ReduceKind::Max => dtype,
            ReduceKind::ArgMin | ReduceKind::ArgMax | ReduceKind::CountNonzero => DType::I64,
            ReduceKind::Any | ReduceKind::All => DType::Bool,
        }
    }
}

/// Build the reduction kernel of `kind` over `dtype` (`nan`: skip NaN values).
pub fn reduce_kernel(kind: ReduceKind, dtype: DType, nan: bool) -> Arc<dyn ReduceKernel> {
    fn mk<R: Reducer>(r: R) -> Arc<dyn ReduceKernel> {
        Arc::new(Kern(r))
    }
    with_dtype!(dtype, T => match kind {
        ReduceKind::Sum => mk(SumR::<T> { nan, prod: false, _t: Default::default() }),
        ReduceKind::Prod => mk(SumR::<T> { nan, prod: true, _t: Default::default() }),
        ReduceKind::Mean => mk(MeanR::<T> { nan, _t: Default::default() }),
        ReduceKind::Var { ddof, std } => mk(VarR::<T> { nan, ddof, std, _t: Default::default() }),
        ReduceKind::Min => mk(MinMaxR::<T> { nan, max: false, _t: Default::default() }),
        ReduceKind::Max => mk(MinMaxR::<T> { nan, max: true, _t: Default::default() }),
        ReduceKind::ArgMin => mk(ArgR::<T> { max: false, _t: Default::default() }),
        ReduceKind::ArgMax => mk(ArgR::<T> { max: true, _t: Default::default() }),
        ReduceKind::Any => mk(AnyAllR::<T> { all: false, _t: Default::default() }),
        ReduceKind::All => mk(AnyAllR::<T> { all: true, _t: Default::default() }),
        ReduceKind::CountNonzero => mk(CountR::<T> { _t: Default::default() }),
    })
}

/// A reduction's element-level definition.
pub trait Reducer: Send + Sync + Debug + 'static {
    /// Input element type.
    type In: Element;
    /// Per-output-element state.
    type State: Copy + Send + Sync + Debug + 'static;
    /// Result element type.
    type Out: Element;
    /// Name for labels.
    fn name(&self) -> &'static str;
    /// Whether `accumulate` uses the element index.
    const NEEDS_INDEX: bool = false;
    /// The empty state.
    fn init(&self) -> Self::State;
    /// Fold one element (with its index along the reduced axis, or flat, for arg-reductions).
    fn accumulate(&self, s: &mut Self::State, x: Self::In, idx: i64);
    /// Fold `b` into `a`; `a` precedes `b` in index order.
    fn merge(&self, a: &mut Self::State, b: &Self::State);
    /// The result.
    fn finalize(&self, s: &Self::State) -> Self::Out;
    /// Fold a tile of rows into `out`, which holds `t` output rows of `width` states each;
    /// `rows[i * t + k]` is input row `k` of plane `i` (index `base + i`). Override with a
    /// vectorised loop.
    fn accumulate_tile(&self, out: &mut [Self::State], rows: &[&[Self::In]], width: usize, base: i64) {
        if out.is_empty() || width == 0 {
            return;
        }
        let t = out.len() / width;
        for (j, row) in rows.iter().enumerate() {
            let (i, k) = (j / t, j % t);
            for (st, &v) in out[k * width..(k + 1) * width].iter_mut().zip(*row) {
                self.accumulate(st, v, base + i as i64);
            }
        }
    }
    /// Reduce a contiguous lane (first index `base`); override for pairwise sums.
    fn reduce_slice(&self, xs: &[Self::In], base: i64) -> Self::State {
        let mut s = self.init();
        for (i, &x) in xs.iter().enumerate() {
            self.accumulate(&mut s, x, base + i as i64);
        }
        s
    }
}

/// Accumulator arithmetic: `f64` for floats, wrapping `i64` for integers and bools.
pub trait AccNum: Copy + Send + Sync + Debug + PartialEq + 'static {
    /// 0.
    const ZERO: Self;
    /// 1.
    const ONE: Self;
    /// a + b.
    fn add(self, b: Self) -> Self;
    /// a * b.
    fn mul(self, b: Self) -> Self;
    /// As f64.
    fn f64(self) -> f64;
}
impl AccNum for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    fn add(self, b: Self) -> Self {
        self + b
    }
    fn mul(self, b: Self) -> Self {
        self * b
    }
    fn f64(self) -> f64 {
        self
    }
}
impl AccNum for i64 {
    const ZERO: Self = 0;
    const ONE: Self = 1;
    fn add(self, b: Self) -> Self {
        self.wrapping_add(b)
    }
    fn mul(self, b: Self) -> Self {
        self.wrapping_mul(b)
    }
    fn f64(self) -> f64 {
        self as f64
    }
}

/// Element types with an accumulator type.
pub trait Accumulate: Element {
    /// The accumulator.
    type Acc: AccNum;
    /// Widen to the accumulator.
    fn acc(self) -> Self::Acc;
    /// Narrow an accumulated sum to the result type.
    fn from_acc(a: Self::Acc) -> Self::Sum;
}
macro_rules! accumulate {
    ($t:ty, $acc:ty) => {
        impl Accumulate for $t {
            type Acc = $acc;
            #[allow(clippy::unnecessary_cast)]
            fn acc(self) -> $acc {
                self as $acc
            }
            #[allow(clippy::unnecessary_cast)]
            fn from_acc(a: $acc) -> Self::Sum {
                a as Self::Sum
            }
        }
    };
}
accumulate!(f32, f64);
accumulate!(f64, f64);
accumulate!(i32, i64);
accumulate!(i64, i64);
impl Accumulate for bool {
    type Acc = i64;
    fn acc(self) -> i64 {
        self as i64
    }
    fn from_acc(a: i64) -> i64 {
        a
    }
}

/// Planes summed in the input's own float type before they are added to the `f64` states:
/// each such partial sum has at most this many terms, so it is as accurate as a pairwise sum
/// of the same length.
const FLUSH_PLANES: usize = 32;

/// Rows ahead whose cache lines are prefetched while a tile of rows is accumulated: rows of
/// a block are short runs at a large stride, which hardware prefetchers (that stop at page
/// boundaries) do not follow far enough.
const PREFETCH_ROWS: usize = 4;

/// Ask the CPU to start loading a row into cache.
#[inline(always)]
fn prefetch_row<T>(r: &[T]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let p = r.as_ptr() as *const i8;
        let bytes = std::mem::size_of_val(r);
        let mut o = 0;
        while o < bytes {
            // SAFETY: prefetching is a hint; `p + o` lies inside the row.
            #[allow(unused_unsafe)]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(p.add(o));
            }
            o += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}

/// Vectorised accumulation of a tile of rows (layout as in [`Reducer::accumulate_tile`]) in the
/// input's float type: `add(local_row, input_row)` for every row, and every [`FLUSH_PLANES`]
/// planes `flush(j, local, planes)` for each state `j`.
fn float_tile<T: Element>(
    len: usize,
    rows: &[&[T]],
    width: usize,
    add: impl Fn(&mut [T], &[T]),
    mut flush: impl FnMut(usize, &[T], usize),
) {
    let t = len / width.max(1);
    if t == 0 {
        return;
    }
    let n = rows.len() / t;
    let mut loc = vec![T::zero(); len];
    let mut i0 = 0;
    while i0 < n {
        let i1 = (i0 + FLUSH_PLANES).min(n);
        loc.fill(T::zero());
        for i in i0..i1 {
            for k in 0..t {
                if let Some(ahead) = rows.get(i * t + k + PREFETCH_ROWS) {
                    prefetch_row(ahead);
                }
                add(&mut loc[k * width..(k + 1) * width], rows[i * t + k]);
            }
        }
        for j in 0..len {
            flush(j, &loc, i1 - i0);
        }
        i0 = i1;
    }
}

/// Pairwise sum of a lane (eight accumulators, halves above 512 elements); NaN skipped if
/// `nan`. Also returns the number of values counted.
fn lane_sum<T: Accumulate>(xs: &[T], nan: bool) -> (T::Acc, usize) {
    if xs.len() > 512 {
        let (a, b) = xs.split_at(xs.len() / 2);
        let (sa, na) = lane_sum(a, nan);
        let (sb, nb) = lane_sum(b, nan);
        return (sa.add(sb), na + nb);
    }
    let mut acc = [T::Acc::ZERO; 8];
    let mut count = xs.len();
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    if nan && T::DTYPE.is_float() {
        for c in chunks {
            for k in 0..8 {
                let v = c[k];
                acc[k] = acc[k].add(if v.is_nan() { T::Acc::ZERO } else { v.acc() });
            }
        }
        count -= xs.iter().filter(|v| v.is_nan()).count();
    } else {
        for c in chunks {
            for k in 0..8 {
                acc[k] = acc[k].add(c[k].acc());
            }
        }
    }
    let mut s =
        ((acc[0].add(acc[1])).add(acc[2].add(acc[3]))).add((acc[4].add(acc[5])).add(acc[6].add(acc[7])));
    for &v in rest {
        if !(nan && v.is_nan()) {
            s = s.add(v.acc());
        }
    }
    (s, count)
}

/// Marker for the element type of a reducer.
type Ph<T> = std::marker::PhantomData<fn() -> T>;

/// Sum or product.
#[derive(Debug)]
pub struct SumR<T> {
    nan: bool,
    prod: bool,
    _t: Ph<T>,
}
impl<T: Accumulate> Reducer for SumR<T> {
    type In = T;
    type State = T::Acc;
    type Out = T::Sum;
    fn name(&self) -> &'static str {
        match (self.prod, self.nan) {
            (false, false) => "sum",
            (false, true) => "nansum",
            (true, false) => "prod",
            (true, true) => "nanprod",
        }
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
    fn accumulate_tile(&self, out: &mut [T::Acc], rows: &[&[T]], width: usize, _: i64) {
        if self.prod || !T::DTYPE.is_float() {
            if out.is_empty() || width == 0 {
                return;
            }
            let t = out.len() / width;
            for (j, row) in rows.iter().enumerate() {
                for (st, &v) in out[(j % t) * width..][..width].iter_mut().zip(*row) {
                    self.accumulate(st, v, 0);
                }
            }
            return;
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

/// Mean: state (sum, count).
#[derive(Debug)]
pub struct MeanR<T> {
    nan: bool,
    _t: Ph<T>,
}
impl<T: Accumulate> Reducer for MeanR<T> {
    type In = T;
    type State = (f64, f64);
    type Out = T::Mean;
    fn name(&self) -> &'static str {
        if self.nan { "nanmean" } else { "mean" }
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
    fn accumulate_tile(&self, out: &mut [(f64, f64)], rows: &[&[T]], width: usize, _: i64) {
        if !T::DTYPE.is_float() {
            if out.is_empty() || width == 0 {
                return;
            }
            let t = out.len() / width;
            for (j, row) in rows.iter().enumerate() {
                for (st, &v) in out[(j % t) * width..][..width].iter_mut().zip(*row) {
                    self.accumulate(st, v, 0);
                }
            }
            return;
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
        let (s, n) = lane_sum(xs, self.nan);
        (s.f64(), n as f64)
    }
}

/// Variance / standard deviation: state (count, mean, sum of squared deviations), merged with
/// Chan et al.'s formula; lanes use two passes.
#[derive(Debug)]
pub struct VarR<T> {
    nan: bool,
    ddof: f64,
    std: bool,
    _t: Ph<T>,
}
impl<T: Accumulate> Reducer for VarR<T> {
    type In = T;
    type State = (f64, f64, f64);
    type Out = T::Mean;
    fn name(&self) -> &'static str {
        match (self.std, self.nan) {
            (false, false) => "var",
            (false, true) => "nanvar",
            (true, false) => "std",
            (true, true) => "nanstd",
        }
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
        if b.0 == 0.0 {
            return;
        }
        if a.0 == 0.0 {
            *a = *b;
            return;
        }
        let n = a.0 + b.0;
        let d = b.1 - a.1;
        a.1 += d * b.0 / n;
        a.2 += b.2 + d * d * a.0 * b.0 / n;
        a.0 = n;
    }
    fn finalize(&self, s: &(f64, f64, f64)) -> T::Mean {
        let v = s.2 / (s.0 - self.ddof);
        let v = if s.0 - self.ddof <= 0.0 { f64::NAN } else { v };
        T::Mean::cast_from(if self.std { v.sqrt() } else { v })
    }
    fn reduce_slice(&self, xs: &[T], _: i64) -> (f64, f64, f64) {
        let (s, n) = lane_sum(xs, self.nan);
        if n == 0 {
            return self.init();
        }
        let mean = s.f64() / n as f64;
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
    nan: bool,
    max: bool,
    _t: Ph<T>,
}
impl<T: Element> Reducer for MinMaxR<T> {
    type In = T;
    type State = (T, bool);
    type Out = T;
    fn name(&self) -> &'static str {
        match (self.max, self.nan) {
            (false, false) => "min",
            (false, true) => "nanmin",
            (true, false) => "max",
            (true, true) => "nanmax",
        }
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
/// first NaN wins (NumPy).
#[derive(Debug)]
pub struct ArgR<T> {
    max: bool,
    _t: Ph<T>,
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
    fn name(&self) -> &'static str {
        if self.max { "argmax" } else { "argmin" }
    }
    const NEEDS_INDEX: bool = true;
    fn init(&self) -> (T, i64, bool) {
        (T::zero(), 0, false)
    }
    #[inline]
    fn accumulate(&self, s: &mut (T, i64, bool), x: T, idx: i64) {
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
}

/// any / all: state 0/1.
#[derive(Debug)]
pub struct AnyAllR<T> {
    all: bool,
    _t: Ph<T>,
}
impl<T: Element> Reducer for AnyAllR<T> {
    type In = T;
    type State = bool;
    type Out = bool;
    fn name(&self) -> &'static str {
        if self.all { "all" } else { "any" }
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
    _t: Ph<T>,
}
impl<T: Element> Reducer for CountR<T> {
    type In = T;
    type State = i64;
    type Out = i64;
    fn name(&self) -> &'static str {
        "count_nonzero"
    }
    fn init(&self) -> i64 {
        0
    }
    #[inline]
    fn accumulate(&self, s: &mut i64, x: T, _: i64) {
        *s += (x != T::zero()) as i64;
    }
    fn merge(&self, a: &mut i64, b: &i64) {
        *a += *b;
    }
    fn finalize(&self, s: &i64) -> i64 {
        *s
    }
}

/// The adaptor from a typed [`Reducer`] to the untyped [`ReduceKernel`].
#[derive(Debug)]
struct Kern<R>(R);

impl<R: Reducer> ReduceKernel for Kern<R> {
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn in_dtype(&self) -> DType {
        R::In::DTYPE
    }
    fn out_dtype(&self) -> DType {
        R::Out::DTYPE
    }
    fn partial(&self, block: &HostArray, step: &PartialStep) -> Result<Value> {
        let a = block.typed::<R::In>()?;
        let s = partial(&self.0, a.view(), step);
        let nbytes = s.len() * std::mem::size_of::<R::State>();
        Ok(Value::state(s, nbytes))
    }
    fn combine(&self, parts: &[&Value]) -> Result<Value> {
        let first = parts.first().ok_or_else(|| Error::invalid("combine of no partials"))?;
        let mut acc: ArrayD<R::State> = first.get_state::<ArrayD<R::State>>()?.clone();
        for p in &parts[1..] {
            let b = p.get_state::<ArrayD<R::State>>()?;
            if b.shape() != acc.shape() {
                return Err(Error::ShapeMismatch {
                    op: "reduce-combine".into(),
                    left: acc.shape().to_vec(),
                    right: b.shape().to_vec(),
                });
            }
            Zip::from(&mut acc).and(b).for_each(|a, b| self.0.merge(a, b));
        }
        let nbytes = acc.len() * std::mem::size_of::<R::State>();
        Ok(Value::state(acc, nbytes))
    }
    fn finalize(&self, part: &Value, out_shape: &[usize]) -> Result<HostArray> {
        let s = part.get_state::<ArrayD<R::State>>()?;
        let out: Vec<R::Out> = s.iter().map(|s| self.0.finalize(s)).collect();
        let a = ArrayD::from_shape_vec(IxDyn(out_shape), out)
            .map_err(|e| Error::invalid(format!("reduce-finalize: {e}")))?;
        Ok(HostArray::new(a.into_shared()))
    }
}

/// Reduce `step.axes` of one block to states, keeping the reduced axes with length 1.
pub(crate) fn partial<R: Reducer>(r: &R, x: ArrayViewD<R::In>, step: &PartialStep) -> ArrayD<R::State> {
    let axes = &step.axes[..];
    if axes.is_empty() {
        return x.map(|&v| {
            let mut s = r.init();
            r.accumulate(&mut s, v, 0);
            s
        });
    }
    if R::NEEDS_INDEX && axes.len() > 1 {
        // Flat C-order index in the whole array.
        let mut s = r.init();
        let gs = &step.global_shape;
        for (idx, &v) in x.indexed_iter() {
            let mut flat = 0i64;
            for d in 0..gs.len() {
                flat = flat * gs[d] as i64 + (step.offset[d] + idx[d]) as i64;
            }
            r.accumulate(&mut s, v, flat);
        }
        let shape: Vec<usize> = vec![1; x.ndim()];
        return ArrayD::from_elem(IxDyn(&shape), s);
    }
    let last = *axes.last().expect("non-empty");
    let base = step.offset.get(last).copied().unwrap_or(0) as i64;
    let mut states = first_pass(r, x, last, base).insert_axis(Axis(last));
    for &ax in axes[..axes.len() - 1].iter().rev() {
        states = merge_axis(r, states, ax);
    }
    states
}

/// Reduce one axis of the data to states (the axis removed).
fn first_pass<R: Reducer>(r: &R, x: ArrayViewD<R::In>, ax: usize, base: i64) -> ArrayD<R::State> {
    let mut out_shape = x.shape().to_vec();
    let n = out_shape.remove(ax);
    let mut out = ArrayD::from_elem(IxDyn(&out_shape), r.init());
    if ax == x.ndim() - 1 {
        Zip::from(&mut out).and(x.lanes(Axis(ax))).for_each(|s, lane| {
            *s = match lane.as_slice() {
                Some(sl) => r.reduce_slice(sl, base),
                None => {
                    let mut st = r.init();
                    for (i, &v) in lane.iter().enumerate() {
                        r.accumulate(&mut st, v, base + i as i64);
                    }
                    st
                }
            }
        });
        return out;
    }
    // Move the reduced axis next to the last one, then accumulate row by row: each output
    // row stays in L1 while all `n` input rows are added to it.
    let nd = x.ndim();
    let mut perm: Vec<usize> = (0..nd).filter(|&d| d != ax).collect();
    perm.insert(nd - 2, ax);
    let xp = x.permuted_axes(IxDyn(&perm));
    debug_assert_eq!(n, xp.shape()[nd - 2]);
    accumulate_into(r, out.view_mut(), xp, base);
    out
}

/// Add every row of `x` (shape `[outer.., n, L]`) into the matching row of `out`
/// (`[outer.., L]`).
///
/// The innermost three axes `(K, n, L)` are walked in tiles of output rows small enough for
/// the tile's states to stay in L2: for each tile, input plane `i` is read row after row (a
/// constant stride the prefetcher follows), and each row is folded into its output row.
fn accumulate_into<R: Reducer>(r: &R, mut out: ArrayViewMutD<R::State>, x: ArrayViewD<R::In>, base: i64) {
    if x.ndim() > 3 {
        for k in 0..x.shape()[0] {
            accumulate_into(r, out.index_axis_mut(Axis(0), k), x.index_axis(Axis(0), k), base);
        }
        return;
    }
    if x.ndim() == 2 {
        let x = x.insert_axis(Axis(0));
        let out = out.insert_axis(Axis(0));
        return accumulate_into(r, out, x.into_dyn(), base);
    }
    let mut o = out.into_dimensionality::<Ix2>().expect("rows of states");
    let x = x.into_dimensionality::<ndarray::Ix3>().expect("planes of rows");
    let (kk, n, l) = x.dim();
    let tile = (L2_TILE_BYTES / (l.max(1) * 8)).clamp(1, kk.max(1));
    let mut rows: Vec<&[R::In]> = Vec::with_capacity(n * tile);
    let mut k0 = 0;
    while k0 < kk {
        let k1 = (k0 + tile).min(kk);
        rows.clear();
        for i in 0..n {
            for k in k0..k1 {
                match x.slice_move(ndarray::s![k, i, ..]).to_slice() {
                    Some(r) => rows.push(r),
                    None => break,
                }
            }
        }
        let mut ot = o.slice_mut(ndarray::s![k0..k1, ..]);
        match ot.as_slice_mut() {
            Some(os) if rows.len() == n * (k1 - k0) => r.accumulate_tile(os, &rows, l, base),
            _ => {
                for i in 0..n {
                    let idx = base + i as i64;
                    let xi = x.slice(ndarray::s![k0..k1, i, ..]);
                    Zip::from(&mut ot).and(&xi).for_each(|st, &v| r.accumulate(st, v, idx));
                }
            }
        }
        k0 = k1;
    }
}

/// Bytes of reduction states kept hot while rows are folded into them.
const L2_TILE_BYTES: usize = 64 << 10;

/// Merge the states along `ax` into one (the axis kept with length 1).
fn merge_axis<R: Reducer>(r: &R, states: ArrayD<R::State>, ax: usize) -> ArrayD<R::State> {
    let n = states.len_of(Axis(ax));
    if n == 0 {
        let mut shape = states.shape().to_vec();
        shape[ax] = 1;
        return ArrayD::from_elem(IxDyn(&shape), r.init());
    }
    let mut acc = states.index_axis(Axis(ax), 0).to_owned();
    for i in 1..n {
        Zip::from(&mut acc).and(states.index_axis(Axis(ax), i)).for_each(|a, b| r.merge(a, b));
    }
    acc.insert_axis(Axis(ax))
}
