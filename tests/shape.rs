//! Shape ops against ndarray: transposes, axis insertion and removal, flip, broadcast_to,
//! concatenate and stack, over random shapes and chunkings.

mod common;

use common::*;
use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;
use tessera::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn axis_ops((a, c) in array_case(true), seed in any::<u64>()) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        let nd = a.ndim();
        prop_assert!(same_f64(&compute_checked(&x.transpose()), &a.clone().reversed_axes()));
        // A permutation from the seed.
        let mut perm: Vec<usize> = (0..nd).collect();
        for i in (1..nd).rev() {
            perm.swap(i, (seed as usize >> (i * 3)) % (i + 1));
        }
        let p: Vec<isize> = perm.iter().map(|&v| v as isize).collect();
        prop_assert!(same_f64(&compute_checked(&x.permute_axes(&p).unwrap()), &a.clone().permuted_axes(IxDyn(&perm))));
        let ins = (seed as usize) % (nd + 1);
        let e = x.expand_dims(ins as isize).unwrap();
        prop_assert!(same_f64(&compute_checked(&e), &a.clone().insert_axis(Axis(ins))));
        prop_assert!(same_f64(&compute_checked(&e.squeeze(Some(&[ins as isize])).unwrap()), &a));
        let squeezed: Vec<usize> = a.shape().iter().copied().filter(|&n| n != 1).collect();
        let got = compute_checked(&x.squeeze(None).unwrap());
        prop_assert_eq!(got.shape(), squeezed.as_slice());
        if nd > 0 {
            let ax = (seed as usize >> 7) % nd;
            let mut want = a.clone();
            want.invert_axis(Axis(ax));
            prop_assert!(same_f64(&compute_checked(&x.flip(ax as isize).unwrap()), &want));
            let m = compute_checked(&x.moveaxis(ax as isize, -1).unwrap());
            let mut mp: Vec<usize> = (0..nd).filter(|&d| d != ax).collect();
            mp.push(ax);
            prop_assert!(same_f64(&m, &a.clone().permuted_axes(IxDyn(&mp))));
            let s = compute_checked(&x.swapaxes(0, ax as isize).unwrap());
            let mut sp: Vec<usize> = (0..nd).collect();
            sp.swap(0, ax);
            prop_assert!(same_f64(&s, &a.clone().permuted_axes(IxDyn(&sp))));
        }
        // Elementwise and reductions see through the views.
        prop_assert!(same_f64(&compute_checked(&(&x.transpose() * 2.0)), &(a.clone().reversed_axes() * 2.0)));
        let y = (&x.transpose() * 2.0).sum(Axes::All).unwrap().item().unwrap();
        prop_assert!(close_f64(&ndarray::arr0(y).into_dyn(), &ndarray::arr0(a.iter().map(|v| v * 2.0).sum::<f64>()).into_dyn(), 1e-9));
    }

    #[test]
    fn concatenate_and_stack((a, c) in array_case(false), cut in any::<prop::sample::Index>(), cs in any::<u64>()) {
        prop_assume!(a.ndim() > 0);
        let ax = cs as usize % a.ndim();
        let n = a.shape()[ax];
        let k = cut.index(n + 1);
        let (l, r) = (a.slice_axis(Axis(ax), (0..k).into()).to_owned(), a.slice_axis(Axis(ax), (k..n).into()).to_owned());
        // Parts chunked differently from each other.
        let cl = Chunks::uniform(l.shape(), &l.shape().iter().map(|&s| (s / 2).max(1)).collect::<Vec<_>>()).unwrap();
        let xl = tessera::from_array(l, cl).unwrap();
        let xr = tessera::from_array(r, c.clone().axes().iter().enumerate().map(|(d, v)| if d == ax { vec![n - k] } else { v.clone() }).collect::<Vec<_>>().pipe_chunks()).unwrap();
        let j = tessera::concatenate(&[&xl, &xr], ax as isize).unwrap();
        prop_assert!(same_f64(&compute_checked(&j), &a));
        let x = tessera::from_array(a.clone(), c).unwrap();
        let s = tessera::stack(&[&x, &x, &x], -1).unwrap();
        let v = a.view().insert_axis(Axis(a.ndim()));
        let want = ndarray::concatenate(Axis(a.ndim()), &[v.clone(), v.clone(), v]).unwrap();
        prop_assert!(same_f64(&compute_checked(&s), &want));
    }

    #[test]
    fn broadcast_to_matches_ndarray((a, c) in array_case(true), lead in 0usize..3, extra in 1usize..4) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        let mut shape: Vec<usize> = vec![extra; lead];
        shape.extend(a.shape().iter().map(|&n| if n == 1 { extra } else { n }));
        let want = a.broadcast(IxDyn(&shape)).unwrap().to_owned();
        prop_assert!(same_f64(&compute_checked(&x.broadcast_to(&shape).unwrap()), &want));
    }
}

trait PipeChunks {
    fn pipe_chunks(self) -> Chunks;
}
impl PipeChunks for Vec<Vec<usize>> {
    fn pipe_chunks(self) -> Chunks {
        let fixed =
            self.into_iter().map(|v| if v == vec![0] || !v.contains(&0) { v } else { vec![0] }).collect();
        Chunks::new(fixed).unwrap()
    }
}

#[test]
fn shape_errors() {
    let x = tessera::ones::<f64>(&[2, 3], [1, 2]).unwrap();
    let y = tessera::ones::<f64>(&[2, 4], [1, 2]).unwrap();
    let e = tessera::concatenate(&[&x, &y], 0).unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    assert!(tessera::concatenate(&[&x, &y], 1).is_ok());
    assert!(tessera::stack(&[&x, &y], 0).is_err());
    assert!(x.squeeze(Some(&[1])).is_err());
    assert!(x.permute_axes(&[0, 0]).is_err());
    assert!(x.broadcast_to(&[3, 3]).is_err());
    assert!(x.expand_dims(3).is_err());
    let _unused: ArrayD<f64> = ArrayD::zeros(vec![0]);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn take_and_roll((a, c) in array_case(true), idx in proptest::collection::vec(-45isize..45, 0..30), shift in -50isize..50, which in any::<prop::sample::Index>()) {
        prop_assume!(a.ndim() > 0);
        let ax = which.index(a.ndim());
        let n = a.shape()[ax] as isize;
        let x = tessera::from_array(a.clone(), c).unwrap();
        let valid: Vec<isize> = idx.iter().copied().filter(|&i| i >= -n && i < n).collect();
        let y = x.take(&valid, ax as isize).unwrap();
        let pos: Vec<usize> = valid.iter().map(|&i| if i < 0 { (i + n) as usize } else { i as usize }).collect();
        let want = a.select(Axis(ax), &pos);
        prop_assert!(same_f64(&compute_checked(&y), &want));
        // The same take pushed through an elementwise op, and on a computed array (a take
        // task over whole input blocks): all three paths agree.
        let pushed = (&x * 2.0).take(&valid, ax as isize).unwrap();
        prop_assert!(same_f64(&compute_checked(&pushed), &want.mapv(|v| v * 2.0)));
        let computed = x.map_blocks(|b| b.to_owned()).unwrap().take(&valid, ax as isize).unwrap();
        prop_assert!(computed.plan().tasks.iter().any(|t| t.kernel_name() == "take"));
        prop_assert!(same_f64(&compute_checked(&computed), &want));
        let biggest = x.chunks().axis(ax).iter().copied().max().unwrap_or(0).max(1);
        prop_assert!(y.chunks().axis(ax).iter().all(|&b| b <= biggest));
        if idx.iter().any(|&i| i < -n || i >= n) {
            prop_assert!(x.take(&idx, ax as isize).is_err());
        }
        let r = compute_checked(&x.roll(shift, ax as isize).unwrap());
        let order: Vec<usize> = (0..n).map(|i| (i - shift).rem_euclid(n.max(1)) as usize).collect();
        prop_assert!(same_f64(&r, &a.select(Axis(ax), &order)));
    }
}

/// A factorisation of `n` into `k` factors picked by `seed` (some may be 1).
fn factorise(mut n: usize, k: usize, mut seed: u64) -> Vec<usize> {
    let mut out = Vec::new();
    for _ in 0..k.saturating_sub(1) {
        let divisors: Vec<usize> = (1..=n).filter(|d| n.is_multiple_of(*d)).collect();
        let d = divisors[(seed % divisors.len() as u64) as usize];
        seed /= 7;
        out.push(d);
        n /= d;
    }
    out.push(n);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn reshape_matches_ndarray((a, c) in array_case(true), k in 0usize..5, seed in any::<u64>()) {
        let n = a.len();
        prop_assume!(n > 0);
        let shape = if k == 0 { if n == 1 { vec![] } else { vec![n] } } else { factorise(n, k, seed) };
        let x = tessera::from_array(a.clone(), c).unwrap();
        let s: Vec<isize> = shape.iter().map(|&v| v as isize).collect();
        let y = x.reshape(&s).unwrap();
        let want = a.to_shape(IxDyn(&shape)).unwrap().to_owned();
        prop_assert!(same_f64(&compute_checked(&y), &want), "{:?} -> {:?}: {:?}", a.shape(), shape, y.chunks());
        // And back, with -1.
        let mut back: Vec<isize> = a.shape().iter().map(|&v| v as isize).collect();
        if let Some(first) = back.first_mut() { *first = -1; }
        if a.ndim() > 0 && a.shape()[0] > 0 {
            prop_assert!(same_f64(&compute_checked(&y.reshape(&back).unwrap()), &a));
        }
    }
}

#[test]
fn reshape_keeps_blocks_where_it_can() {
    let x = tessera::ones::<f32>(&[100, 20, 30], [10, 20, 30]).unwrap();
    let y = x.reshape(&[100, 600]).unwrap();
    assert_eq!(y.chunks().axis(0).len(), 10, "merging full inner axes keeps the outer blocks");
    let z = y.reshape(&[1000, 60]).unwrap();
    assert!(z.nblocks() > 1);
    assert!(x.reshape(&[7, -1]).is_err());
    assert!(x.reshape(&[-1, -1]).is_err());
    assert_eq!(z.sum(Axes::All).unwrap().item().unwrap(), 60_000.0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn vindex_mask_select_and_compress((a, c) in array_case(true), seeds in proptest::collection::vec(any::<u64>(), 0..20), which in any::<prop::sample::Index>()) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        // Pointwise indices from the seeds (only when every axis is non-empty).
        if a.ndim() > 0 && a.shape().iter().all(|&n| n > 0) {
            let lists: Vec<Vec<isize>> = a.shape().iter().enumerate().map(|(ax, &n)| {
                seeds.iter().map(|s| ((s >> (ax * 8)) % n as u64) as isize - if s % 2 == 0 { n as isize } else { 0 }).collect()
            }).collect();
            let refs: Vec<&[isize]> = lists.iter().map(|l| l.as_slice()).collect();
            let got = compute_checked(&x.vindex(&refs).unwrap());
            let want: Vec<f64> = (0..seeds.len()).map(|k| {
                let idx: Vec<usize> = lists.iter().zip(a.shape()).map(|(l, &n)| (l[k] + if l[k] < 0 { n as isize } else { 0 }) as usize).collect();
                a[IxDyn(&idx)]
            }).collect();
            prop_assert!(same_f64(&got, &ArrayD::from_shape_vec(vec![want.len()], want).unwrap()));
        }
        let m = x.gt(0.0).unwrap();
        let got = compute_checked(&x.mask_select(&m).unwrap());
        let want: Vec<f64> = a.iter().copied().filter(|&v| v > 0.0).collect();
        prop_assert!(same_f64(&got, &ArrayD::from_shape_vec(vec![want.len()], want).unwrap()));
        if a.ndim() > 0 {
            let ax = which.index(a.ndim());
            let n = a.shape()[ax];
            let keep: Vec<bool> = (0..n).map(|i| i % 3 != 1).collect();
            let mask = tessera::from_array(ndarray::Array1::from(keep.clone()), [2]).unwrap();
            let pos: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
            let y = x.compress(&mask, ax as isize).unwrap();
            prop_assert!(same_f64(&compute_checked(&y), &a.select(Axis(ax), &pos)));
            // Known chunks, none larger than the input block it comes from.
            let biggest = x.chunks().axis(ax).iter().copied().max().unwrap_or(0);
            prop_assert!(y.chunks().axis(ax).iter().all(|&b| b <= biggest));
            prop_assert_eq!(y.chunks().axis(ax).iter().sum::<usize>(), pos.len());
        }
    }
}

#[test]
fn indexing_errors() {
    let x = tessera::ones::<f64>(&[3, 4], [2, 2]).unwrap();
    assert!(matches!(
        x.vindex(&[&[3], &[0]]).unwrap_err(),
        Error::IndexOutOfBounds { axis: 0, index: 3, len: 3 }
    ));
    assert!(x.vindex(&[&[0, 1], &[0]]).is_err());
    assert!(x.vindex(&[&[0]]).is_err());
    assert!(x.take(&[4], 1).is_err());
    let m = tessera::ones::<bool>(&[4, 3], [2, 2]).unwrap();
    assert!(x.mask_select(&m).is_err());
    let m1 = tessera::ones::<bool>(&[5], [2]).unwrap();
    assert!(x.compress(&m1, 1).is_err());
}

#[test]
fn block_matches_numpy_block() {
    let a = ndarray::Array2::from_shape_fn((3, 2), |(i, j)| (i * 2 + j) as f64);
    let b = ndarray::Array2::from_shape_fn((3, 4), |(i, j)| 100.0 + (i * 4 + j) as f64);
    let c = ndarray::Array2::from_shape_fn((2, 6), |(i, j)| -((i * 6 + j) as f64));
    let (xa, xb, xc) = (
        tessera::from_array(a.clone(), [2, 2]).unwrap(),
        tessera::from_array(b.clone(), [1, 3]).unwrap(),
        tessera::from_array(c.clone(), [2, 5]).unwrap(),
    );
    let m = tessera::block(&[&[&xa, &xb], &[&xc]]).unwrap();
    let top = ndarray::concatenate(Axis(1), &[a.view(), b.view()]).unwrap();
    let want = ndarray::concatenate(Axis(0), &[top.view(), c.view()]).unwrap().into_dyn();
    assert!(same_f64(&compute_checked(&m), &want));
    assert!(tessera::block::<f64>(&[]).is_err());
    let bad = tessera::from_array(ndarray::Array2::<f64>::zeros((2, 5)), [2, 5]).unwrap();
    assert!(tessera::block(&[&[&xa, &xb], &[&bad]]).is_err());
}

#[test]
fn a_take_of_a_source_reads_only_the_picked_slabs() {
    let x = tessera::random::uniform::<f64>(4, &[300, 400], [100, 100]).unwrap();
    let idx = [399isize, 3, 4, 5, 3, 250, 0, 398];
    let y = (&x + 1.0).take(&idx, 1).unwrap();
    let g = y.plan();
    assert!(g.tasks.iter().all(|t| t.kernel_name() != "take"), "pushed into the reads");
    assert_eq!(g.tasks.len(), 3, "one read per output block");
    let full = x.compute().unwrap();
    let pos: Vec<usize> = idx.iter().map(|&i| i.rem_euclid(400) as usize).collect();
    assert_eq!(y.compute().unwrap(), full.select(Axis(1), &pos).mapv(|v| v + 1.0));
    // Along the first axis too (the generator's outer loop), and for a 3-d normal source.
    let rows = [299isize, 0, 150, 150];
    let pos: Vec<usize> = rows.iter().map(|&i| i as usize).collect();
    assert_eq!(x.take(&rows, 0).unwrap().compute().unwrap(), full.select(Axis(0), &pos));
    let z = tessera::random::normal::<f32>(9, &[5, 6, 7], [2, 3, 4], 0.0, 1.0).unwrap();
    let zf = z.compute().unwrap();
    assert_eq!(z.take(&[5, 0, 3], 1).unwrap().compute().unwrap(), zf.select(Axis(1), &[5, 0, 3]));
}

#[test]
fn a_mask_from_the_data_selects_in_c_order_with_known_chunks() {
    let a = ndarray::Array2::from_shape_fn((7, 9), |(i, j)| ((i * 31 + j * 17) % 11) as f64 - 5.0).into_dyn();
    let x = tessera::from_array(a.clone(), [3, 4]).unwrap().map_blocks(|b| b.to_owned()).unwrap();
    let y = x.mask_select(&x.gt(0.0).unwrap()).unwrap();
    let want: Vec<f64> = a.iter().copied().filter(|&v| v > 0.0).collect();
    assert_eq!(y.shape(), &[want.len()]);
    assert_eq!(y.to_vec().unwrap(), want);
    let none = x.mask_select(&x.gt(100.0).unwrap()).unwrap();
    assert_eq!(none.shape(), &[0]);
    assert!(none.to_vec().unwrap().is_empty());
}

#[test]
fn block_nested_matches_numpy_at_depth_three() {
    use ndarray::{Array3, concatenate};
    use tessera::Nested::{Array as A, List as L};
    let mk = |shape: (usize, usize, usize), base: f64| {
        Array3::from_shape_fn(shape, |(i, j, k)| base + (i * 100 + j * 10 + k) as f64)
    };
    let (a, b, c, d) =
        (mk((2, 3, 2), 0.0), mk((2, 3, 1), 1000.0), mk((2, 1, 3), 2000.0), mk((1, 4, 3), 3000.0));
    let t = |x: &Array3<f64>, ch: [usize; 3]| tessera::from_array(x.clone().into_dyn(), ch).unwrap();
    let (xa, xb, xc, xd) = (t(&a, [1, 2, 2]), t(&b, [2, 2, 1]), t(&c, [1, 1, 2]), t(&d, [1, 3, 2]));
    // [[[a, b], [c]], [[d]]]: innermost along axis 2, then axis 1, then axis 0.
    let tree = L(vec![L(vec![L(vec![A(&xa), A(&xb)]), L(vec![A(&xc)])]), L(vec![L(vec![A(&xd)])])]);
    let got = tessera::block_nested(&tree).unwrap();
    let ab = concatenate(ndarray::Axis(2), &[a.view(), b.view()]).unwrap();
    let top = concatenate(ndarray::Axis(1), &[ab.view(), c.view()]).unwrap();
    let want = concatenate(ndarray::Axis(0), &[top.view(), d.view()]).unwrap().into_dyn();
    assert_eq!(got.compute().unwrap(), want);
    // Leaves with fewer dimensions than the depth get leading length-1 axes.
    let v = tessera::arange(0.0f64, 3.0, 1.0, [2]).unwrap();
    let flat = L(vec![L(vec![L(vec![A(&v), A(&v)])])]);
    let r = tessera::block_nested(&flat).unwrap();
    assert_eq!(r.shape(), &[1, 1, 6]);
    assert_eq!(r.to_vec().unwrap(), vec![0.0, 1.0, 2.0, 0.0, 1.0, 2.0]);
    // Mismatched depths and empty lists are errors.
    assert!(tessera::block_nested(&L(vec![A(&v), L(vec![A(&v)])])).is_err());
    assert!(tessera::block_nested::<f64>(&L(vec![])).is_err());
}
