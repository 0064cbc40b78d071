//! Creation functions against ndarray, chunk specifications, random reproducibility.

mod common;

use common::*;
use ndarray::{Array1, Array2, ArrayD, IxDyn};
use proptest::prelude::*;
use tessera::prelude::*;

#[test]
fn fills_and_ranges_match_ndarray() {
    assert_eq!(
        compute_checked(&tessera::zeros::<i32>(&[3, 0, 2], [2, 1, 1]).unwrap()),
        ArrayD::<i32>::zeros(IxDyn(&[3, 0, 2]))
    );
    assert_eq!(
        compute_checked(&tessera::ones::<bool>(&[5], [2]).unwrap()),
        ArrayD::from_elem(IxDyn(&[5]), true)
    );
    assert_eq!(
        compute_checked(&tessera::full::<f32>(&[2, 3], 1.5, [1, 2]).unwrap()),
        ArrayD::from_elem(IxDyn(&[2, 3]), 1.5f32)
    );
    let a = compute_checked(&tessera::arange(1.0f64, 2.0, 0.1, [3]).unwrap());
    let want: Vec<f64> = (0..10).map(|i| 1.0 + i as f64 * 0.1).collect();
    assert_eq!(a.iter().copied().collect::<Vec<_>>(), want);
    let a = compute_checked(&tessera::arange(10i64, -3, -4, [2]).unwrap());
    assert_eq!(a.iter().copied().collect::<Vec<_>>(), vec![10, 6, 2, -2]);
    assert_eq!(tessera::arange(5i32, 5, 1, [2]).unwrap().shape(), &[0]);
    assert!(tessera::arange(0.0f64, 1.0, 0.0, [2]).is_err());
    let l = compute_checked(&tessera::linspace::<f64>(0.0, 1.0, 11, [4]).unwrap());
    assert_eq!(l, Array1::linspace(0.0, 1.0, 11).into_dyn());
    for k in [-2isize, 0, 1, 5] {
        let e = compute_checked(&tessera::eye::<f64>(4, 6, k, [3, 4]).unwrap());
        let want =
            Array2::from_shape_fn((4, 6), |(i, j)| if j as isize - i as isize == k { 1.0 } else { 0.0 });
        assert_eq!(e, want.into_dyn(), "k = {k}");
    }
}

#[test]
fn from_array_and_views_any_layout() {
    let a = Array2::from_shape_fn((7, 5), |(i, j)| (i * 10 + j) as i64);
    let t = a.t();
    let x = tessera::from_view(&t, [2, 3]).unwrap();
    assert_eq!(compute_checked(&x), t.to_owned().into_dyn());
    let f = a.clone().reversed_axes();
    let y = tessera::from_array(f.clone(), [4, 4]).unwrap();
    assert_eq!(compute_checked(&(&y * 2)), (f * 2).into_dyn());
    let zero_d = tessera::from_array(ndarray::arr0(7i64), ChunkSpec::Auto).unwrap();
    assert_eq!(zero_d.ndim(), 0);
    assert_eq!(zero_d.nblocks(), 1);
    assert_eq!(zero_d.item().unwrap(), 7);
}

#[test]
fn metadata() {
    let x = tessera::zeros::<f32>(&[10, 7], [4, 3]).unwrap();
    assert_eq!(x.dtype(), DType::F32);
    assert_eq!(x.nbytes(), 280);
    assert_eq!(x.numblocks(), vec![3, 3]);
    assert_eq!(x.nblocks(), 9);
    assert_eq!(x.block_shape(&[2, 2]).unwrap(), vec![2, 1]);
    assert!(x.block_shape(&[3, 0]).is_err());
    assert_eq!(x.block_shapes().len(), 9);
    let auto = tessera::zeros::<f64>(&[4000, 4000], ChunkSpec::AutoBytes(8 << 20)).unwrap();
    assert!(auto.chunks().max_block_shape().iter().product::<usize>() * 8 <= 8 << 20);
    let e = tessera::zeros::<f64>(&[4], Chunks::new(vec![vec![1, 2]]).unwrap()).unwrap_err().to_string();
    assert!(e.contains("add up to 3") && e.contains("axis length 4"), "{e}");
    assert!(tessera::zeros::<f64>(&[4, 4], [2]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn random_is_independent_of_chunking(s in shape(), seed in any::<u64>()) {
        let c1 = Chunks::single(&s);
        let c2 = Chunks::uniform(&s, &s.iter().map(|&n| (n / 3).max(1)).collect::<Vec<_>>()).unwrap();
        let a = tessera::random::normal::<f64>(seed, &s, c1.clone(), 1.0, 2.0).unwrap().compute().unwrap();
        let b = tessera::random::normal::<f64>(seed, &s, c2.clone(), 1.0, 2.0).unwrap().compute().unwrap();
        prop_assert_eq!(&a, &b);
        let u = tessera::random::uniform_range::<f32>(seed, &s, c2.clone(), -1.0, 1.0).unwrap().compute().unwrap();
        prop_assert!(u.iter().all(|&v| (-1.0..1.0).contains(&v)));
        let i = tessera::random::integers::<i32>(seed, &s, c1, -3, 4).unwrap().compute().unwrap();
        let j = tessera::random::integers::<i32>(seed, &s, c2, -3, 4).unwrap().compute().unwrap();
        prop_assert_eq!(&i, &j);
        prop_assert!(i.iter().all(|&v| (-3..4).contains(&v)));
    }
}

#[test]
fn random_moments() {
    let x = tessera::random::normal::<f64>(11, &[1_000_000], [100_000], 3.0, 2.0).unwrap();
    let m = x.mean(Axes::All).unwrap().item().unwrap();
    let s = x.std(Axes::All, 0.0).unwrap().item().unwrap();
    assert!((m - 3.0).abs() < 0.01 && (s - 2.0).abs() < 0.01, "mean {m} std {s}");
    let other = tessera::random::normal::<f64>(12, &[1_000_000], [100_000], 3.0, 2.0).unwrap();
    assert_ne!(
        x.slice(&sl![0..10]).unwrap().compute().unwrap(),
        other.slice(&sl![0..10]).unwrap().compute().unwrap()
    );
    assert!(tessera::random::integers::<i64>(0, &[3], [3], 5, 5).is_err());
    assert!(tessera::random::normal::<f64>(0, &[3], [3], 0.0, -1.0).is_err());
}
