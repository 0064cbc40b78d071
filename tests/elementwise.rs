//! Elementwise ops against eager ndarray, over random shapes, chunkings and broadcasting.

mod common;

use common::*;
use ndarray::{ArrayD, IxDyn, Zip};
use proptest::prelude::*;
use tessera::{Array, Error};

/// A shape that broadcasts against `s`: some axes set to 1, some leading axes dropped.
fn broadcast_partner(s: Vec<usize>) -> impl Strategy<Value = Vec<usize>> {
    let nd = s.len();
    (0..=nd, proptest::collection::vec(any::<bool>(), nd)).prop_map(move |(drop, ones)| {
        s.iter().zip(&ones).skip(drop).map(|(&n, &one)| if one { 1 } else { n }).collect()
    })
}

fn binary_case() -> impl Strategy<Value = (ArrayD<f64>, tessera::Chunks, ArrayD<f64>, tessera::Chunks)> {
    array_case(true).prop_flat_map(|(a, ca)| {
        broadcast_partner(a.shape().to_vec()).prop_flat_map(move |sb| {
            let n: usize = sb.iter().product();
            let (a, ca) = (a.clone(), ca.clone());
            (values(n, true), chunks_for(sb.clone())).prop_map(move |(v, cb)| {
                (a.clone(), ca.clone(), ArrayD::from_shape_vec(IxDyn(&sb), v).unwrap(), cb)
            })
        })
    })
}

fn eager_binary(a: &ArrayD<f64>, b: &ArrayD<f64>, f: impl Fn(f64, f64) -> f64) -> ArrayD<f64> {
    let shape = tessera_broadcast(a.shape(), b.shape());
    let (a, b) = (a.broadcast(IxDyn(&shape)).unwrap(), b.broadcast(IxDyn(&shape)).unwrap());
    Zip::from(&a).and(&b).map_collect(|&x, &y| f(x, y))
}

fn tessera_broadcast(a: &[usize], b: &[usize]) -> Vec<usize> {
    let nd = a.len().max(b.len());
    (0..nd)
        .map(|i| {
            let x = if i + a.len() >= nd { a[i + a.len() - nd] } else { 1 };
            let y = if i + b.len() >= nd { b[i + b.len() - nd] } else { 1 };
            if x == 1 { y } else { x }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn arithmetic_with_broadcasting((a, ca, b, cb) in binary_case()) {
        let x = tessera::from_array(a.clone(), ca).unwrap();
        let y = tessera::from_array(b.clone(), cb).unwrap();
        let got = compute_checked(&(&(&x + &y) * &y - &x / 3.0));
        let want = eager_binary(&a, &b, |p, q| (p + q) * q - p / 3.0);
        prop_assert!(same_f64(&got, &want), "{got:?} vs {want:?}");
        let got = compute_checked(&x.try_rem(&y).unwrap().pow(&y).unwrap());
        let want = eager_binary(&a, &b, |p, q| {
            let m = p % q;
            let m = if m != 0.0 && ((m < 0.0) != (q < 0.0)) { m + q } else { m };
            m.powf(q)
        });
        prop_assert!(same_f64(&got, &want));
        let got = compute_checked(&x.minimum(&y).unwrap().maximum(0.5).unwrap());
        let want = eager_binary(&a, &b, |p, q| {
            let m = if p.is_nan() || q.is_nan() { f64::NAN } else { p.min(q) };
            if m.is_nan() { m } else { m.max(0.5) }
        });
        prop_assert!(same_f64(&got, &want));
    }

    #[test]
    fn comparisons_and_where((a, ca, b, cb) in binary_case()) {
        let x = tessera::from_array(a.clone(), ca).unwrap();
        let y = tessera::from_array(b.clone(), cb).unwrap();
        let c = x.lt(&y).unwrap();
        let got = compute_checked(&tessera::where_(&c, &x, &y).unwrap());
        let want = eager_binary(&a, &b, |p, q| if p < q { p } else { q });
        prop_assert!(same_f64(&got, &want));
        let m = (&x.ge(0.0).unwrap() & &y.isnan()) | &x.equal(&y).unwrap();
        let got = compute_checked(&m.astype::<f64>());
        let want = eager_binary(&a, &b, |p, q| (((p >= 0.0) && q.is_nan()) || p == q) as u8 as f64);
        prop_assert!(same_f64(&got, &want));
    }

    #[test]
    fn unary_float_ops((a, c) in array_case(true)) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        type F = fn(f64) -> f64;
        let cases: Vec<(Array<f64>, F)> = vec![
            (x.sqrt(), f64::sqrt), (x.exp(), f64::exp), (x.log(), f64::ln), (x.log1p(), f64::ln_1p),
            (x.expm1(), f64::exp_m1), (x.sin(), f64::sin), (x.cos(), f64::cos), (x.tan(), f64::tan),
            (x.tanh(), f64::tanh), (x.floor(), f64::floor), (x.ceil(), f64::ceil),
            (x.round(), f64::round_ties_even), (x.abs(), f64::abs), (-&x, |v: f64| -v),
            (x.clip(-3.0, 7.5).unwrap(), |v: f64| if v.is_nan() { v } else { v.clamp(-3.0, 7.5) }),
            (2.0 - &x, |v: f64| 2.0 - v),
            (x.isfinite().astype::<f64>(), |v: f64| v.is_finite() as u8 as f64),
        ];
        for (arr, f) in cases {
            let got = compute_checked(&arr);
            prop_assert!(same_f64(&got, &a.mapv(f)), "{:?}", arr);
        }
    }

    #[test]
    fn f32_chains_fuse_and_match((a, c) in array_case(true)) {
        let a32 = a.mapv(|v| v as f32);
        let x = tessera::from_array(a32.clone(), c).unwrap();
        let y = ((&x * 0.5f32).exp() + 1.0f32).ln();
        let got = compute_checked(&y);
        let want = a32.mapv(|v| ((v * 0.5).exp() + 1.0).ln());
        prop_assert!(got.iter().zip(want.iter()).all(|(p, q)| p.to_bits() == q.to_bits() || (p.is_nan() && q.is_nan())));
    }

    #[test]
    fn integer_semantics((a, c) in array_case(false)) {
        let ai = a.mapv(|v| v as i64);
        let x = tessera::from_array(ai.clone(), c).unwrap();
        let got = compute_checked(&(&x / 7i64));
        prop_assert_eq!(got, ai.mapv(|v| (v as f64 / 7.0).floor() as i64));
        let got = compute_checked(&(&x % -7i64));
        prop_assert_eq!(got, ai.mapv(|v| { let r = v % -7; if r != 0 && (r < 0) != (-7 < 0) { r - 7 } else { r } }));
        let got = compute_checked(&x.astype::<i32>().astype::<bool>().astype::<f32>());
        prop_assert_eq!(got, ai.mapv(|v| (v != 0) as u8 as f32));
    }
}

#[test]
fn shape_mismatch_names_op_and_shapes() {
    let x = tessera::ones::<f64>(&[3, 4], [2, 2]).unwrap();
    let y = tessera::ones::<f64>(&[3, 5], [2, 2]).unwrap();
    let e = x.try_add(&y).unwrap_err();
    assert_eq!(e, Error::ShapeMismatch { op: "add".into(), left: vec![3, 4], right: vec![3, 5] });
    let msg = e.to_string();
    assert!(msg.contains("add") && msg.contains("[3, 4]") && msg.contains("[3, 5]"), "{msg}");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| &x + &y));
    assert!(r.is_err(), "the operator panics on a mismatch");
}

#[test]
fn different_chunks_are_unified() {
    let a = ndarray::Array::from_shape_fn((10, 6), |(i, j)| (i * 6 + j) as f64).into_dyn();
    let x = tessera::from_array(a.clone(), [3, 6]).unwrap();
    let y = tessera::from_array(a.clone(), [4, 2]).unwrap();
    let z = &x + &y;
    assert_eq!(z.chunks().axis(0), &[3, 1, 2, 2, 1, 1]);
    assert_eq!(z.chunks().axis(1), &[2, 2, 2]);
    assert_eq!(compute_checked(&z), &a * 2.0);
}

#[test]
fn zero_d_and_empty_arrays() {
    let s = tessera::from_array(ndarray::arr0(2.5f64), tessera::ChunkSpec::Auto).unwrap();
    let x = tessera::ones::<f64>(&[0, 3], [5, 2]).unwrap();
    let y = &x + &s;
    assert_eq!(y.shape(), &[0, 3]);
    assert_eq!(compute_checked(&y).shape(), &[0, 3]);
    assert_eq!((&s * 2.0).item().unwrap(), 5.0);
}

#[test]
fn integer_floor_division_examples() {
    // NumPy: np.array([-7, 7, -7, 7]) // np.array([2, 2, -2, -2]) == [-4, 3, 3, -4]
    let a = tessera::from_array(ndarray::arr1(&[-7i32, 7, -7, 7]), [3]).unwrap();
    let b = tessera::from_array(ndarray::arr1(&[2i32, 2, -2, -2]), [2]).unwrap();
    let q = (&a / &b).to_vec().unwrap();
    let r = (&a % &b).to_vec().unwrap();
    // Identity a == q*b + r with r having b's sign, checked rather than hard-coded.
    for i in 0..4 {
        let (x, y) = ([-7, 7, -7, 7][i], [2, 2, -2, -2][i]);
        assert_eq!(q[i] * y + r[i], x);
        assert!(r[i] == 0 || (r[i] < 0) == (y < 0));
    }
}

#[test]
fn integer_powers_wrap_like_repeated_multiplication() {
    // i32 exponents were once clamped through `u32::MAX as i32` (= -1): 3 ** 5 gave garbage.
    let base = [3i32, -5, 2, 7, -1, 0, 1, 2];
    let exp = [5i32, 7, 31, 0, -3, 2, -4, 40];
    let b = tessera::from_array(ndarray::arr1(&base).into_dyn(), [3]).unwrap();
    let e = tessera::from_array(ndarray::arr1(&exp).into_dyn(), [5]).unwrap();
    let want: Vec<i32> = base
        .iter()
        .zip(&exp)
        .map(|(&b, &e)| {
            if e < 0 {
                [0, 1, -1][(b == 1) as usize + 2 * (b == -1) as usize]
                    * if b == -1 && e % 2 == 0 { -1 } else { 1 }
            } else {
                b.wrapping_pow(e as u32)
            }
        })
        .collect();
    assert_eq!(b.pow(&e).unwrap().to_vec().unwrap(), want);
    assert_eq!(want[..4], [243, -78125, i32::MIN, 1]);
    let b64 = b.astype::<i64>();
    let e64 = e.astype::<i64>();
    let w64: Vec<i64> = want
        .iter()
        .zip(&base)
        .zip(&exp)
        .map(|((&w, &b), &e)| if e >= 0 { (b as i64).wrapping_pow(e as u32) } else { w as i64 })
        .collect();
    assert_eq!(b64.pow(&e64).unwrap().to_vec().unwrap(), w64);
}

#[test]
fn integer_division_of_min_by_minus_one_wraps() {
    // NumPy wraps i32::MIN // -1 to i32::MIN; the remainder check once overflowed and panicked.
    let a = tessera::from_array(ndarray::arr1(&[i32::MIN, i32::MIN, 7]).into_dyn(), [2]).unwrap();
    let b = tessera::from_array(ndarray::arr1(&[-1, 2, -1]).into_dyn(), [2]).unwrap();
    assert_eq!((&a / &b).to_vec().unwrap(), vec![i32::MIN, i32::MIN / 2, -7]);
    assert_eq!((&a % &b).to_vec().unwrap(), vec![0, 0, 0]);
}

#[test]
fn a_transposed_operand_is_laid_out_exactly() {
    // A transposed operand is read through its strides and laid out in C order block by
    // block (irregular blocks, ragged edges); a sum would not notice elements out of place.
    let a = common::arr2(3, 130, 201).into_dyn();
    let b = common::arr2(4, 201, 130).into_dyn();
    let x = tessera::from_array(a.clone(), [45, 70]).unwrap();
    let y = tessera::from_array(b.clone(), [70, 45]).unwrap();
    let got = compute_checked(&x.transpose().try_add(&y).unwrap().try_mul(2.0).unwrap());
    let want = (a.reversed_axes() + &b) * 2.0;
    assert!(same_f64(&got, &want));
}
