//! Accumulator arithmetic and the vectorised inner loops of the reductions.

use std::fmt::Debug;

use crate::core::dtype::Element;

/// Accumulator arithmetic: `f64` for floats, wrapping `i64` for signed integers and bools,
/// wrapping `u64` for unsigned integers (NumPy's sum types).
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
    /// The accumulator from a GPU's read-back sum: `f` for `f64`, `i` for `i64`.
    #[cfg_attr(not(feature = "gpu"), allow(dead_code))]
    fn from_gpu(f: f64, i: i64) -> Self;
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
    fn from_gpu(f: f64, _: i64) -> Self {
        f
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
    fn from_gpu(_: f64, i: i64) -> Self {
        i
    }
}

impl AccNum for u64 {
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
    fn from_gpu(_: f64, i: i64) -> Self {
        i as u64
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
accumulate!(i8, i64);
accumulate!(i16, i64);
accumulate!(i32, i64);
accumulate!(u8, u64);
accumulate!(u16, u64);
accumulate!(u32, u64);
accumulate!(u64, u64);
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
/// each such partial sum has at most this many terms, so for `f32` its error is at most
/// (FLUSH_PLANES − 1)·2⁻²⁴ of the sum of its terms' magnitudes (see the module docs of
/// `reduce`).
pub(crate) const FLUSH_PLANES: usize = 32;

/// Rows ahead whose cache lines are prefetched while a tile of rows is accumulated: rows of
/// a block are short runs at a large stride, which hardware prefetchers (that stop at page
/// boundaries) do not follow far enough.
pub(crate) const PREFETCH_ROWS: usize = 4;

/// Ask the CPU to start loading a row into cache.
#[inline(always)]
pub(crate) fn prefetch_row<T>(r: &[T]) {
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
pub(crate) fn float_tile<T: Element>(
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
pub(crate) fn lane_sum<T: Accumulate>(xs: &[T], nan: bool) -> (T::Acc, usize) {
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
pub(crate) type Ph<T> = std::marker::PhantomData<fn() -> T>;

/// Chan, Golub and LeVeque's merge of two `(count, mean, M2)` moments: `a` absorbs `b`,
/// which follows it in index order. The one merge of variances: the reducers' and groupby's.
#[inline]
pub(crate) fn chan_merge(a: &mut (f64, f64, f64), b: (f64, f64, f64)) {
    if b.0 == 0.0 {
        return;
    }
    if a.0 == 0.0 {
        *a = b;
        return;
    }
    let n = a.0 + b.0;
    let d = b.1 - a.1;
    a.1 += d * b.0 / n;
    a.2 += b.2 + d * d * a.0 * b.0 / n;
    a.0 = n;
}
