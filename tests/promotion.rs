//! Type promotion against NumPy 2: `result_type` (the table NumPy 2.4.6 printed),
//! Python-scalar weak typing for Rust literals, and the promoting ops, `where` and
//! `concatenate` over random shapes, broadcasting and irregular chunks.

mod common;

use common::*;
use ndarray::{ArrayD, IxDyn, Zip};
use proptest::prelude::*;
use tessera::{AnyArray, Array, DType, Element, Error, Promote, ScalarKind, WeakPromote, WeakScalar};
use tessera::{result_type, result_type_of, result_type_weak};

use DType::*;

/// Rows and columns in this order.
const ORDER: [DType; 11] = [Bool, I8, I16, I32, I64, U8, U16, U32, U64, F32, F64];

/// `np.result_type(a, b)` for every pair, printed by NumPy 2.4.6 (rows `a`, columns `b`).
const NUMPY_RESULT_TYPE: [[DType; 11]; 11] = [
    [Bool, I8, I16, I32, I64, U8, U16, U32, U64, F32, F64],
    [I8, I8, I16, I32, I64, I16, I32, I64, F64, F32, F64],
    [I16, I16, I16, I32, I64, I16, I32, I64, F64, F32, F64],
    [I32, I32, I32, I32, I64, I32, I32, I64, F64, F64, F64],
    [I64, I64, I64, I64, I64, I64, I64, I64, F64, F64, F64],
    [U8, I16, I16, I32, I64, U8, U16, U32, U64, F32, F64],
    [U16, I32, I32, I32, I64, U16, U16, U32, U64, F32, F64],
    [U32, I64, I64, I64, I64, U32, U32, U32, U64, F64, F64],
    [U64, F64, F64, F64, F64, U64, U64, U64, U64, F64, F64],
    [F32, F32, F32, F64, F64, F32, F32, F64, F64, F32, F64],
    [F64, F64, F64, F64, F64, F64, F64, F64, F64, F64, F64],
];

/// The dtype of `np.zeros(1, a) + s` for `s` = `True`, `1`, `2.5` (NumPy 2.4.6, NEP 50).
const NUMPY_WEAK: [[DType; 3]; 11] = [
    [Bool, I64, F64],
    [I8, I8, F64],
    [I16, I16, F64],
    [I32, I32, F64],
    [I64, I64, F64],
    [U8, U8, F64],
    [U16, U16, F64],
    [U32, U32, F64],
    [U64, U64, F64],
    [F32, F32, F32],
    [F64, F64, F64],
];

#[test]
fn result_type_is_numpys_table() {
    assert_eq!(ORDER.to_vec(), DType::ALL.to_vec());
    for (i, &a) in ORDER.iter().enumerate() {
        for (j, &b) in ORDER.iter().enumerate() {
            assert_eq!(result_type(a, b), NUMPY_RESULT_TYPE[i][j], "result_type({a}, {b})");
        }
    }
    assert_eq!(result_type_of(&[U8, I8, F32]), Some(F32));
    assert_eq!(result_type_of(&[U8, I8, U16]), Some(I32));
    assert_eq!(result_type_of(&[]), None);
    let names: Vec<&str> = ORDER.iter().map(|d| d.numpy_name()).collect();
    assert_eq!(
        names,
        [
            "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32",
            "float64"
        ]
    );
    assert!(ORDER.iter().all(|d| d.is_integer() == (d.is_signed_integer() || d.is_unsigned_integer())));
    assert_eq!(ORDER.iter().filter(|d| d.is_integer()).count(), 8);
}

#[test]
fn weak_scalars_follow_nep_50() {
    for (i, &a) in ORDER.iter().enumerate() {
        for (k, kind) in [ScalarKind::Bool, ScalarKind::Int, ScalarKind::Float].into_iter().enumerate() {
            assert_eq!(result_type_weak(a, kind), NUMPY_WEAK[i][k], "{a} with a {kind:?} scalar");
        }
    }
}

/// The type-level tables agree with the functions, for every pair.
#[test]
fn type_level_promotion_agrees() {
    fn weak<A: Element + WeakPromote<S::Kind>, S: WeakScalar>(s: S) -> DType {
        let _ = s;
        <A as WeakPromote<S::Kind>>::Output::DTYPE
    }
    macro_rules! rows {
        ($($a:ty)*) => {$(
            cols!($a; bool i8 i16 i32 i64 u8 u16 u32 u64 f32 f64);
            assert_eq!(weak::<$a, _>(true), result_type_weak(<$a>::DTYPE, ScalarKind::Bool));
            assert_eq!(weak::<$a, _>(1u8), result_type_weak(<$a>::DTYPE, ScalarKind::Int));
            assert_eq!(weak::<$a, _>(-1i64), result_type_weak(<$a>::DTYPE, ScalarKind::Int));
            assert_eq!(weak::<$a, _>(2.5f32), result_type_weak(<$a>::DTYPE, ScalarKind::Float));
            assert_eq!(weak::<$a, _>(2.5), result_type_weak(<$a>::DTYPE, ScalarKind::Float));
        )*};
    }
    macro_rules! cols {
        ($a:ty; $($b:ty)*) => {$(
            assert_eq!(<$a as Promote<$b>>::Output::DTYPE, result_type(<$a>::DTYPE, <$b>::DTYPE), "{} with {}", stringify!($a), stringify!($b));
        )*};
    }
    rows!(bool i8 i16 i32 i64 u8 u16 u32 u64 f32 f64);
}

fn v<T: Element>(a: &Array<T>) -> Vec<T> {
    compute_checked(a).iter().copied().collect()
}

#[test]
fn promoted_ops_give_numpys_type_and_values() {
    let a = tessera::from_array(ndarray::arr1(&[0u8, 200, 255, 7]), [3]).unwrap();
    let b = tessera::from_array(ndarray::arr1(&[-128i8, -1, 127, 7]), [1]).unwrap();
    let s: Array<i16> = a.add_promoted(&b).unwrap();
    assert_eq!(v(&s), vec![-128, 199, 382, 14]);
    assert_eq!(v(&a.sub_promoted(&b).unwrap()), vec![128i16, 201, 128, 0]);
    assert_eq!(v(&a.mul_promoted(&b).unwrap()), vec![0i16, -200, 32385, 49]);
    assert_eq!(v(&a.lt_promoted(&b).unwrap()), vec![false, false, false, false]);
    assert_eq!(v(&a.gt_promoted(&b).unwrap()), vec![true, true, true, false]);
    assert_eq!(v(&a.equal_promoted(&b).unwrap()), vec![false, false, false, true]);
    // u64 with i64 is f64 (no integer holds both).
    let u = tessera::full(&[2], u64::MAX, [1]).unwrap();
    let i = tessera::full(&[2], -1i64, [2]).unwrap();
    let f: Array<f64> = u.add_promoted(&i).unwrap();
    assert_eq!(v(&f), vec![u64::MAX as f64 - 1.0; 2]);
    // Comparisons of u64 with signed integers are exact (NumPy 2's `Qq->?` loops): through
    // f64, 2^63 would equal 2^63 − 1.
    let big = tessera::from_array(ndarray::arr1(&[1u64 << 63, u64::MAX, 0, 5, 5]), [2]).unwrap();
    let s = tessera::from_array(ndarray::arr1(&[i64::MAX, -1, -1, 5, 6]), [3]).unwrap();
    assert_eq!(v(&big.gt_promoted(&s).unwrap()), vec![true, true, true, false, false]);
    assert_eq!(v(&big.ge_promoted(&s).unwrap()), vec![true, true, true, true, false]);
    assert_eq!(v(&big.lt_promoted(&s).unwrap()), vec![false, false, false, false, true]);
    assert_eq!(v(&big.le_promoted(&s).unwrap()), vec![false, false, false, true, true]);
    assert_eq!(v(&big.equal_promoted(&s).unwrap()), vec![false, false, false, true, false]);
    assert_eq!(v(&big.not_equal_promoted(&s).unwrap()), vec![true, true, true, false, true]);
    assert_eq!(v(&s.lt_promoted(&big).unwrap()), vec![true, true, true, false, false], "signed on the left");
    let small = tessera::from_array(ndarray::arr1(&[-1i8, 0, 127, -128, 1]), [5]).unwrap();
    assert_eq!(v(&small.ge_promoted(&big).unwrap()), vec![false, false, true, false, false]);
    // i16 with f32 stays f32; i32 with f32 is f64.
    let h = tessera::full(&[2], 3i16, [2]).unwrap();
    let g = tessera::full(&[2], 0.5f32, [1]).unwrap();
    let hf: Array<f32> = h.div_promoted(&g).unwrap();
    assert_eq!(v(&hf), vec![6.0f32; 2]);
    let w = tessera::full(&[2], 16_777_217i32, [2]).unwrap();
    let wf: Array<f64> = w.add_promoted(&g).unwrap();
    assert_eq!(v(&wf), vec![16_777_217.5; 2], "f32 would have lost the 1");
    // Integer division of promoted integers is floor division, as tessera's `div`.
    let q: Array<i16> = b.div_promoted(&tessera::full(&[4], 2u8, [4]).unwrap()).unwrap();
    assert_eq!(v(&q), vec![-64, -1, 63, 3]);
}

#[test]
fn weak_scalars_keep_the_array_type() {
    let a = tessera::from_array(ndarray::arr1(&[0u8, 100, 250]), [2]).unwrap();
    let b: Array<u8> = a.add_scalar(3).unwrap();
    assert_eq!(v(&b), vec![3, 103, 253]);
    let w: Array<u8> = a.add_scalar(10).unwrap();
    assert_eq!(v(&w), vec![10, 110, 4], "u8 wraps, as NumPy's");
    assert_eq!(v(&a.rsub_scalar(1).unwrap()), vec![1u8, 157, 7]);
    // A Python int out of range: NumPy 2 raises OverflowError; tessera errors.
    for bad in [300i64, -1] {
        match a.add_scalar(bad) {
            Err(Error::InvalidArgument(m)) => assert!(m.contains("out of bounds for u8"), "{m}"),
            r => panic!("expected an error for {bad}, got {r:?}"),
        }
    }
    // Float scalars: an integer array becomes f64, an f32 array stays f32.
    let i = tessera::from_array(ndarray::arr1(&[1i32, -2]), [1]).unwrap();
    let f: Array<f64> = i.add_scalar(2.5).unwrap();
    assert_eq!(v(&f), vec![3.5, 0.5]);
    let g = tessera::from_array(ndarray::arr1(&[1.0f32, 0.1]), [1]).unwrap();
    let h: Array<f32> = g.mul_scalar(0.1f64).unwrap();
    assert_eq!(v(&h), vec![0.1f32, 0.1f32 * 0.1f32]);
    // A bool array with an integer is i64; with a bool it stays bool.
    let m = tessera::from_array(ndarray::arr1(&[true, false]), [1]).unwrap();
    let k: Array<i64> = m.add_scalar(3).unwrap();
    assert_eq!(v(&k), vec![4, 3]);
    let o: Array<bool> = m.add_scalar(true).unwrap();
    assert_eq!(v(&o), vec![true, true]);
    // u64 takes an integer above i64::MAX.
    let u = tessera::full(&[1], 1u64, [1]).unwrap();
    assert_eq!(v(&u.add_scalar(u64::MAX - 1).unwrap()), vec![u64::MAX]);
    assert_eq!(v(&i.pow_scalar(2).unwrap()), vec![1, 4]);
    assert_eq!(v(&i.rpow_scalar(2).unwrap()), vec![2, 0], "2 ** -2 is 0 for integers (NumPy errors)");
}

#[test]
fn comparisons_with_out_of_range_integers_are_exact() {
    // NumPy 2: `np.array([0, 255], np.uint8) < 300` is all true, `== -1` all false.
    let a = tessera::from_array(ndarray::arr1(&[0u8, 1, 255]), [2]).unwrap();
    assert_eq!(v(&a.lt_scalar(300).unwrap()), vec![true; 3]);
    assert_eq!(v(&a.le_scalar(300).unwrap()), vec![true; 3]);
    assert_eq!(v(&a.gt_scalar(300).unwrap()), vec![false; 3]);
    assert_eq!(v(&a.ge_scalar(300).unwrap()), vec![false; 3]);
    assert_eq!(v(&a.equal_scalar(300).unwrap()), vec![false; 3]);
    assert_eq!(v(&a.not_equal_scalar(300).unwrap()), vec![true; 3]);
    assert_eq!(v(&a.lt_scalar(-1).unwrap()), vec![false; 3]);
    assert_eq!(v(&a.ge_scalar(-1).unwrap()), vec![true; 3]);
    assert_eq!(v(&a.equal_scalar(-1).unwrap()), vec![false; 3]);
    assert_eq!(v(&a.not_equal_scalar(-1).unwrap()), vec![true; 3]);
    // In range: an ordinary comparison.
    assert_eq!(v(&a.lt_scalar(1).unwrap()), vec![true, false, false]);
    assert_eq!(v(&a.equal_scalar(255).unwrap()), vec![false, false, true]);
    let i = tessera::from_array(ndarray::arr1(&[i64::MIN, 0, i64::MAX]), [2]).unwrap();
    assert_eq!(v(&i.lt_scalar(u64::MAX).unwrap()), vec![true; 3]);
    assert_eq!(v(&i.gt_scalar(-1).unwrap()), vec![false, true, true]);
}

#[test]
fn where_and_concatenate_promote() {
    let c = tessera::from_array(ndarray::arr1(&[true, false, true]), [2]).unwrap();
    let a = tessera::from_array(ndarray::arr1(&[255u8, 0, 1]), [1]).unwrap();
    let b = tessera::from_array(ndarray::arr1(&[-1i8, -2, -3]), [3]).unwrap();
    let w: Array<i16> = tessera::where_promoted(&c, &a, &b).unwrap();
    assert_eq!(v(&w), vec![255, -2, 1]);
    let f = tessera::full(&[3], 0.5f32, [3]).unwrap();
    let wf: Array<f32> = tessera::where_promoted(&c, &a, &f).unwrap();
    assert_eq!(v(&wf), vec![255.0, 0.5, 1.0]);
    let arrays: [&dyn AnyArray; 3] = [&a, &b, &f];
    let cat: Array<f32> = tessera::concatenate_promoted(&arrays, 0).unwrap();
    assert_eq!(v(&cat), vec![255.0, 0.0, 1.0, -1.0, -2.0, -3.0, 0.5, 0.5, 0.5]);
    match tessera::concatenate_promoted::<i16>(&arrays, 0) {
        Err(Error::DTypeMismatch { expected, found, .. }) => assert_eq!((expected, found), (F32, I16)),
        r => panic!("a result type narrower than NumPy's must be refused, got {r:?}"),
    }
    let st: Array<i16> = tessera::stack_promoted(&[&a as &dyn AnyArray, &b], 0).unwrap();
    assert_eq!(st.shape(), &[2, 3]);
    assert_eq!(v(&st), vec![255, 0, 1, -1, -2, -3]);
    assert!(tessera::concatenate_promoted::<f64>(&[], 0).is_err());
}

/// A shape that broadcasts against `s`: some axes set to 1, some leading axes dropped.
fn broadcast_partner(s: Vec<usize>) -> impl Strategy<Value = Vec<usize>> {
    let nd = s.len();
    (0..=nd, proptest::collection::vec(any::<bool>(), nd)).prop_map(move |(drop, ones)| {
        s.iter().zip(&ones).skip(drop).map(|(&n, &one)| if one { 1 } else { n }).collect()
    })
}

/// A u8 array and an i8 array broadcasting against it, each in irregular chunks.
fn mixed_case() -> impl Strategy<Value = (ArrayD<u8>, tessera::Chunks, ArrayD<i8>, tessera::Chunks)> {
    shape().prop_flat_map(|sa| {
        broadcast_partner(sa.clone()).prop_flat_map(move |sb| {
            let (na, nb) = (sa.iter().product::<usize>(), sb.iter().product::<usize>());
            (
                proptest::collection::vec(any::<u8>(), na),
                chunks_for(sa.clone()),
                proptest::collection::vec(any::<i8>(), nb),
                chunks_for(sb.clone()),
            )
                .prop_map({
                    let (sa, sb) = (sa.clone(), sb.clone());
                    move |(va, ca, vb, cb)| {
                        let a = ArrayD::from_shape_vec(IxDyn(&sa), va).unwrap();
                        (a, ca, ArrayD::from_shape_vec(IxDyn(&sb), vb).unwrap(), cb)
                    }
                })
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn u8_with_i8_promotes_to_i16_with_broadcasting((a, ca, b, cb) in mixed_case()) {
        let x = tessera::from_array(a.clone(), ca).unwrap();
        let y = tessera::from_array(b.clone(), cb).unwrap();
        let nd = a.ndim().max(b.ndim());
        let shape: Vec<usize> = (0..nd).map(|d| {
            let p = if d + a.ndim() >= nd { a.shape()[d + a.ndim() - nd] } else { 1 };
            let q = if d + b.ndim() >= nd { b.shape()[d + b.ndim() - nd] } else { 1 };
            if p == 1 { q } else { p }
        }).collect();
        let (ea, eb) = (a.broadcast(IxDyn(&shape)).unwrap(), b.broadcast(IxDyn(&shape)).unwrap());
        let eager = |f: fn(i16, i16) -> i16| Zip::from(&ea).and(&eb).map_collect(|&p, &q| f(p as i16, q as i16));
        prop_assert_eq!(compute_checked(&x.add_promoted(&y).unwrap()), eager(|p, q| p + q));
        prop_assert_eq!(compute_checked(&x.mul_promoted(&y).unwrap()), eager(|p, q| p * q));
        prop_assert_eq!(compute_checked(&x.maximum_promoted(&y).unwrap()), eager(|p, q| p.max(q)));
        let lt = Zip::from(&ea).and(&eb).map_collect(|&p, &q| (p as i16) < (q as i16));
        prop_assert_eq!(compute_checked(&x.lt_promoted(&y).unwrap()), lt);
        // `where` and a weak float scalar on the same operands.
        let c = x.gt_scalar(127).unwrap();
        let w = compute_checked(&tessera::where_promoted(&c, &x, &y).unwrap());
        let ew = Zip::from(&ea).and(&eb).map_collect(|&p, &q| if p > 127 { p as i16 } else { q as i16 });
        prop_assert_eq!(w, ew);
        let h = compute_checked(&y.mul_scalar(0.5).unwrap());
        prop_assert_eq!(h, b.mapv(|q| q as f64 * 0.5));
    }
}
