//! The integer dtypes (i8, i16, i32, i64, u8, u16, u32, u64) against NumPy: elementwise ops,
//! reductions, sorts and casts over chunked arrays, compared with the answers NumPy 2.4
//! printed (tests/common/numpy_dtypes.rs, from numpy_dtypes.py beside it), and with eager
//! references over random shapes and irregular chunks.

mod common;
#[rustfmt::skip]
#[path = "common/numpy_dtypes.rs"]
mod numpy;

use common::*;
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use tessera::{Array, Axes, Chunks, DType, Element};

/// A 12-element 1-d array in irregular blocks (5, 1, 6).
fn chunked<T: Element>(v: &[T]) -> Array<T> {
    let c = Chunks::new(vec![vec![5, 1, 6]]).unwrap();
    tessera::from_array(ndarray::arr1(v), c).unwrap()
}

fn vec_of<T: Element>(a: &Array<T>) -> Vec<T> {
    compute_checked(a).iter().copied().collect()
}

/// NaN-aware equality of f32/f64 vectors, exact otherwise.
fn same<T: Element>(got: &[T], want: &[T]) -> bool {
    got.len() == want.len() && got.iter().zip(want).all(|(g, w)| g == w || (g.is_nan() && w.is_nan()))
}

macro_rules! numpy_ints {
    ($($t:ident),*) => {$(
        mod $t {
            use super::*;
            use crate::numpy::$t as np;

            #[test]
            fn elementwise_ops_match_numpy() {
                let (x, y, e) = (chunked(&np::X), chunked(&np::Y), chunked(&np::EXP));
                assert_eq!(vec_of(&(&x + &y)), np::ADD, "add");
                assert_eq!(vec_of(&(&x - &y)), np::SUB, "sub");
                assert_eq!(vec_of(&(&x * &y)), np::MUL, "mul");
                assert_eq!(vec_of(&(&x / &y)), np::FLOOR_DIV, "floor_divide");
                assert_eq!(vec_of(&(&x % &y)), np::REM, "remainder");
                assert_eq!(vec_of(&x.pow(&e).unwrap()), np::POW, "power");
                assert_eq!(vec_of(&x.minimum(&y).unwrap()), np::MINIMUM, "minimum");
                assert_eq!(vec_of(&x.maximum(&y).unwrap()), np::MAXIMUM, "maximum");
                assert_eq!(vec_of(&-&x), np::NEG, "negative");
                assert_eq!(vec_of(&x.abs()), np::ABS, "abs");
                assert_eq!(vec_of(&x.lt(&y).unwrap()), np::LT, "less");
                assert_eq!(vec_of(&x.equal(&y).unwrap()), np::EQ, "equal");
            }

            #[test]
            fn reductions_and_sorts_match_numpy() {
                let x = chunked(&np::X);
                let sum = x.sum(Axes::All).unwrap();
                assert_eq!(vec_of(&sum), vec![np::SUM], "sum (NumPy's type: {})", stringify!($t));
                assert_eq!(vec_of(&x.prod(Axes::All).unwrap()), vec![np::PROD], "prod");
                assert_eq!(vec_of(&x.cumsum(0).unwrap()), np::CUMSUM, "cumsum");
                let mean = vec_of(&x.mean(Axes::All).unwrap())[0];
                assert!((mean - np::MEAN).abs() <= 1e-12 * np::MEAN.abs().max(1.0), "mean {mean} vs {}", np::MEAN);
                assert_eq!(vec_of(&x.min(Axes::All).unwrap()), vec![np::MIN], "min");
                assert_eq!(vec_of(&x.max(Axes::All).unwrap()), vec![np::MAX], "max");
                assert_eq!(vec_of(&x.argmin(Axes::All).unwrap()), vec![np::ARGMIN], "argmin");
                assert_eq!(vec_of(&x.argmax(Axes::All).unwrap()), vec![np::ARGMAX], "argmax");
                assert_eq!(vec_of(&x.sort(0).unwrap()), np::SORT, "sort");
                assert_eq!(vec_of(&x.argsort(0).unwrap()), np::ARGSORT, "argsort (stable)");
                let q = vec_of(&x.quantile(0.3, 0).unwrap())[0];
                assert!((q - np::QUANTILE_30).abs() <= 1e-9 * np::QUANTILE_30.abs().max(1.0), "quantile {q} vs {}", np::QUANTILE_30);
            }

            #[test]
            fn casts_to_every_dtype_match_numpy() {
                let x = chunked(&np::X);
                assert_eq!(vec_of(&x.astype::<bool>()), np::AS_BOOL);
                assert_eq!(vec_of(&x.astype::<i8>()), np::AS_I8);
                assert_eq!(vec_of(&x.astype::<i16>()), np::AS_I16);
                assert_eq!(vec_of(&x.astype::<i32>()), np::AS_I32);
                assert_eq!(vec_of(&x.astype::<i64>()), np::AS_I64);
                assert_eq!(vec_of(&x.astype::<u8>()), np::AS_U8);
                assert_eq!(vec_of(&x.astype::<u16>()), np::AS_U16);
                assert_eq!(vec_of(&x.astype::<u32>()), np::AS_U32);
                assert_eq!(vec_of(&x.astype::<u64>()), np::AS_U64);
                assert!(same(&vec_of(&x.astype::<f32>()), &np::AS_F32), "f32");
                assert!(same(&vec_of(&x.astype::<f64>()), &np::AS_F64), "f64");
            }
        }
    )*};
}
numpy_ints!(i8, i16, i32, i64, u8, u16, u32, u64);

#[test]
fn sums_have_numpys_types() {
    // NumPy 2 on 64-bit Linux: signed integers and bool sum to int64, unsigned to uint64,
    // and every integer averages to float64.
    fn sum_dtype<T: Element>() -> (DType, DType, DType) {
        let x = tessera::zeros::<T>(&[3], [2]).unwrap();
        (x.sum(Axes::All).unwrap().dtype(), x.cumsum(0).unwrap().dtype(), x.mean(Axes::All).unwrap().dtype())
    }
    let (i, u, f) = (DType::I64, DType::U64, DType::F64);
    assert_eq!(sum_dtype::<bool>(), (i, i, f));
    assert_eq!(sum_dtype::<i8>(), (i, i, f));
    assert_eq!(sum_dtype::<i16>(), (i, i, f));
    assert_eq!(sum_dtype::<u8>(), (u, u, f));
    assert_eq!(sum_dtype::<u16>(), (u, u, f));
    assert_eq!(sum_dtype::<u32>(), (u, u, f));
    assert_eq!(sum_dtype::<u64>(), (u, u, f));
    // A u8 sum does not wrap at 255; a u64 sum wraps at 2^64, as NumPy's.
    let x = tessera::full(&[1000], 255u8, [7]).unwrap();
    assert_eq!(x.sum(Axes::All).unwrap().item().unwrap(), 255_000u64);
    let y = tessera::full(&[3], u64::MAX, [2]).unwrap();
    assert_eq!(y.sum(Axes::All).unwrap().item().unwrap(), u64::MAX - 2);
    // Means add 64-bit integers as f64, as NumPy: no wrap (one block, and several).
    for c in [3, 2] {
        let big = tessera::full(&[3], i64::MAX, [c]).unwrap();
        assert_eq!(big.mean(Axes::All).unwrap().item().unwrap(), i64::MAX as f64);
        let y = tessera::full(&[3], u64::MAX, [c]).unwrap();
        assert_eq!(y.mean(Axes::All).unwrap().item().unwrap(), u64::MAX as f64);
        assert_eq!(y.var(Axes::All, 0.0).unwrap().item().unwrap(), 0.0);
    }
}

#[test]
fn floats_to_integers_truncate_toward_zero_as_numpy() {
    use numpy::float_to_int as np;
    macro_rules! check {
        ($($t:ty: $src:ident, $f64:ident, $f32:ident;)*) => {$(
            let x = chunked(&np::$src);
            assert_eq!(vec_of(&x.astype::<$t>()), np::$f64, "f64 → {}", stringify!($t));
            assert_eq!(vec_of(&x.astype::<f32>().astype::<$t>()), np::$f32, "f32 → {}", stringify!($t));
        )*};
    }
    check! {
        i8: SIGNED, F64_TO_I8, F32_TO_I8;
        i16: SIGNED, F64_TO_I16, F32_TO_I16;
        i32: SIGNED, F64_TO_I32, F32_TO_I32;
        i64: SIGNED, F64_TO_I64, F32_TO_I64;
        u8: UNSIGNED, F64_TO_U8, F32_TO_U8;
        u16: UNSIGNED, F64_TO_U16, F32_TO_U16;
        u32: UNSIGNED, F64_TO_U32, F32_TO_U32;
        u64: UNSIGNED, F64_TO_U64, F32_TO_U64;
    }
}

#[test]
fn out_of_range_floats_saturate_as_documented() {
    // NumPy leaves these to the C cast (platform-dependent, with a RuntimeWarning); tessera
    // saturates as Rust's `as` does and sends NaN to 0 (see `Array::astype`).
    let v = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e30, -1e30, 300.7, -1.5, 2f64.powi(64)];
    let x = chunked(&[&v[..], &[0.0; 4]].concat());
    assert_eq!(vec_of(&x.astype::<i8>())[..8], [0, 127, -128, 127, -128, 127, -1, 127]);
    assert_eq!(vec_of(&x.astype::<u8>())[..8], [0, 255, 0, 255, 0, 255, 0, 255]);
    assert_eq!(
        vec_of(&x.astype::<i16>())[..8],
        [0, i16::MAX, i16::MIN, i16::MAX, i16::MIN, 300, -1, i16::MAX]
    );
    assert_eq!(vec_of(&x.astype::<u16>())[..8], [0, u16::MAX, 0, u16::MAX, 0, 300, 0, u16::MAX]);
    assert_eq!(vec_of(&x.astype::<u32>())[..8], [0, u32::MAX, 0, u32::MAX, 0, 300, 0, u32::MAX]);
    assert_eq!(
        vec_of(&x.astype::<i64>())[..8],
        [0, i64::MAX, i64::MIN, i64::MAX, i64::MIN, 300, -1, i64::MAX]
    );
    assert_eq!(vec_of(&x.astype::<u64>())[..8], [0, u64::MAX, 0, u64::MAX, 0, 300, 0, u64::MAX]);
    // To bool: `!= 0`, so NaN is true (as NumPy).
    assert_eq!(vec_of(&x.astype::<bool>())[..8], [true; 8]);
}

#[test]
fn wide_integers_to_f32_round_once() {
    // 2^60 + 2^36 + 1 lies just above the midpoint of two f32s (2^36 is half an f32 ulp at
    // 2^60): rounded once it goes up; through f64 it first drops the 1, then ties to even.
    let v: i64 = (1 << 60) + (1 << 36) + 1;
    let x = tessera::full(&[2], v, [1]).unwrap();
    assert_eq!(vec_of(&x.astype::<f32>()), vec![v as f32; 2]);
    assert_ne!(v as f32, (v as f64) as f32, "the case must tell one rounding from two");
    let u: u64 = (1 << 63) + (1 << 39) + 1;
    let y = tessera::full(&[2], u, [1]).unwrap();
    assert_eq!(vec_of(&y.astype::<f32>()), vec![u as f32; 2]);
    assert_ne!(u as f32, (u as f64) as f32);
}

#[test]
fn creation_and_scalars_on_the_left() {
    let top = tessera::arange(u64::MAX - 5, u64::MAX, 2, [2]).unwrap();
    assert_eq!(vec_of(&top), vec![u64::MAX - 5, u64::MAX - 3, u64::MAX - 1]);
    let x = tessera::arange(0u8, 255, 50, [4]).unwrap();
    assert_eq!(vec_of(&x), vec![0, 50, 100, 150, 200, 250]);
    // NumPy: `np.uint8(100) - x` wraps; `3 * x` stays uint8.
    assert_eq!(vec_of(&(100u8 - &x)), vec![100, 50, 0, 206, 156, 106]);
    assert_eq!(vec_of(&(3u8 * &x)), vec![0, 150, 44, 194, 88, 238]);
    let y = tessera::arange(-3i16, 3, 2, [2]).unwrap();
    assert_eq!(vec_of(&(7i16 / &y)), vec![-3, -7, 7], "floor division (NumPy 2.4)");
}

#[test]
fn counting_and_searching_match_numpy() {
    use numpy::kernels as np;
    let irregular = |n: usize| Chunks::new(vec![vec![3, 1, n - 4]]).unwrap();
    let d8 = tessera::from_array(ndarray::arr1(&np::D8), irregular(10)).unwrap();
    assert_eq!(vec_of(&d8.bincount(0).unwrap()), np::D8_BINCOUNT);
    let u = d8.unique_full().unwrap();
    assert_eq!(u.values, np::D8_UNIQUE);
    assert_eq!(u.counts, np::D8_UNIQUE_COUNTS);
    let (h, e) = d8.histogram(4, None).unwrap();
    assert_eq!(vec_of(&h), np::D8_HIST4);
    assert_eq!(e, np::D8_HIST4_EDGES);
    let d16 = tessera::from_array(ndarray::arr1(&np::D16), irregular(10)).unwrap();
    let (h, e) = d16.histogram(5, None).unwrap();
    assert_eq!(vec_of(&h), np::D16_HIST5);
    assert_eq!(e, np::D16_HIST5_EDGES);
    let u = d16.unique_full().unwrap();
    assert_eq!(u.values, np::D16_UNIQUE);
    assert_eq!(u.index, np::D16_UNIQUE_INDEX);
    assert_eq!(vec_of(&d16.isin(&[5, -1], false).unwrap()), np::D16_ISIN_5_MINUS_1);
    let d64 = tessera::from_array(ndarray::arr1(&np::D64), irregular(10)).unwrap();
    assert_eq!(d64.unique().unwrap(), np::D64_UNIQUE);
    assert_eq!(vec_of(&d64.argsort(0).unwrap()), np::D64_ARGSORT);
    assert_eq!(vec_of(&d64.sort(0).unwrap()), np::D64_SORTED);
    let table = tessera::from_array(ndarray::arr1(&np::D64_SORTED), [4]).unwrap();
    assert_eq!(vec_of(&table.searchsorted(&d64, tessera::Side::Left).unwrap()), np::D64_SEARCH_LEFT);
    assert_eq!(vec_of(&table.searchsorted(&d64, tessera::Side::Right).unwrap()), np::D64_SEARCH_RIGHT);
    assert_eq!(d64.argmax(Axes::All).unwrap().item().unwrap(), np::D64_ARGMAX);
    assert_eq!(d64.max(Axes::All).unwrap().item().unwrap(), np::D64_MAX);
    let median = d64.quantile(0.5, 0).unwrap().item().unwrap();
    assert!((median - np::D64_MEDIAN).abs() <= 1e-15 * np::D64_MEDIAN, "{median}");
}

/// Random integers of the full range of `T` (from random bits), as an ndarray and chunks.
fn int_case<T: Element>() -> impl Strategy<Value = (ArrayD<T>, Chunks)> {
    shape().prop_flat_map(|s| {
        let n: usize = s.iter().product();
        (proptest::collection::vec(any::<u64>(), n), chunks_for(s.clone())).prop_map(move |(bits, c)| {
            let v: Vec<T> = bits.into_iter().map(|b| T::cast_from(b as i64 >> (b % 61))).collect();
            (ArrayD::from_shape_vec(IxDyn(&s), v).unwrap(), c)
        })
    })
}

/// NumPy's floor division and remainder, in i128 (÷0 → 0), wrapped to the type by `wrap`.
fn floor_div_rem(a: i128, b: i128) -> (i128, i128) {
    if b == 0 {
        return (0, 0);
    }
    let (q, r) = (a / b, a % b);
    if r != 0 && ((r < 0) != (b < 0)) { (q - 1, r + b) } else { (q, r) }
}

macro_rules! random_ints {
    ($($name:ident: $t:ty;)*) => {$(
        proptest! {
            #![proptest_config(ProptestConfig::with_cases(24))]
            #[test]
            fn $name((a, ca) in int_case::<$t>(), (b, _) in int_case::<$t>()) {
                // `b` reshaped to `a`'s shape (or skipped when the sizes differ).
                let b = if b.len() >= a.len() {
                    ArrayD::from_shape_vec(a.raw_dim(), b.iter().copied().take(a.len()).collect()).unwrap()
                } else {
                    a.mapv(|v| v.wrapping_add(1))
                };
                let x = tessera::from_array(a.clone(), ca.clone()).unwrap();
                let y = tessera::from_array(b.clone(), ca).unwrap();
                let wrap = |v: i128| v as $t;
                let pairs: Vec<(i128, i128)> = a.iter().zip(b.iter()).map(|(&p, &q)| (p as i128, q as i128)).collect();
                let want = |f: &dyn Fn(i128, i128) -> i128| pairs.iter().map(|&(p, q)| wrap(f(p, q))).collect::<Vec<$t>>();
                prop_assert_eq!(vec_of(&(&x + &y)), want(&|p, q| p + q));
                prop_assert_eq!(vec_of(&(&x - &y)), want(&|p, q| p - q));
                prop_assert_eq!(vec_of(&(&x * &y)), want(&|p, q| p.wrapping_mul(q)));
                prop_assert_eq!(vec_of(&(&x / &y)), want(&|p, q| floor_div_rem(p, q).0));
                prop_assert_eq!(vec_of(&(&x % &y)), want(&|p, q| floor_div_rem(p, q).1));
                prop_assert_eq!(vec_of(&x.minimum(&y).unwrap()), want(&|p, q| p.min(q)));
                prop_assert_eq!(vec_of(&(-&x)), want(&|p, _| -p));
                let lt: Vec<bool> = pairs.iter().map(|&(p, q)| p < q).collect();
                prop_assert_eq!(vec_of(&x.lt(&y).unwrap()), lt);
                // Sorting along the last axis, against a stable sort of each line.
                if a.ndim() > 0 {
                    let last = a.ndim() - 1;
                    let mut want = a.clone();
                    for mut line in want.lanes_mut(ndarray::Axis(last)) {
                        let mut v: Vec<$t> = line.iter().copied().collect();
                        v.sort();
                        line.iter_mut().zip(v).for_each(|(o, s)| *o = s);
                    }
                    prop_assert_eq!(compute_checked(&x.sort(-1).unwrap()), want);
                }
                // Sums in NumPy's type (wrapping i64 / u64).
                let s = a.iter().fold(0i128, |acc, &v| acc + v as i128);
                let sum = compute_checked(&x.sum(Axes::All).unwrap()).iter().copied().next().unwrap();
                prop_assert_eq!(sum as i128 & 0xffff_ffff_ffff_ffff, s & 0xffff_ffff_ffff_ffff);
            }
        }
    )*};
}
random_ints! {
    random_i8: i8;
    random_i16: i16;
    random_u8: u8;
    random_u16: u16;
    random_u32: u32;
    random_u64: u64;
}
