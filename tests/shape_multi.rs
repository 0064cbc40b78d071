//! Shape ops over several axes and odd chunkings against NumPy: `flip_axes`, `roll_axes`,
//! `pad_constants`, n-d `triu`/`tril`, common ops over chunkings with blocks of length 0,
//! and `lstsq_full`.

mod common;

use common::*;
use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;
use tessera::{Axes, Chunks};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn roll_and_flip_over_axes((a, c) in case_with_empty_blocks(), seed in any::<u64>()) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        let nd = a.ndim();
        let mut g = XorShift(seed | 1);
        // Flip a random subset of axes (negative spellings too).
        let axes: Vec<usize> = (0..nd).filter(|_| g.chance(50)).collect();
        let spelled: Vec<isize> = axes.iter().map(|&d| if g.chance(50) { d as isize - nd as isize } else { d as isize }).collect();
        let mut want = a.clone();
        for &d in &axes {
            want.invert_axis(Axis(d));
        }
        prop_assert!(same_f64(&compute_checked(&x.flip_axes(Axes::List(spelled)).unwrap()), &want));
        let mut all = a.clone();
        for d in 0..nd {
            all.invert_axis(Axis(d));
        }
        prop_assert!(same_f64(&compute_checked(&x.flip_axes(Axes::All).unwrap()), &all));
        // Roll with repeated axes and shifts of any sign.
        if nd > 0 {
            let k = 1 + g.below(3);
            let raxes: Vec<isize> = (0..k).map(|_| g.below(nd) as isize).collect();
            let shifts: Vec<isize> = (0..k).map(|_| g.int(-50, 50)).collect();
            let mut want = a.clone();
            for (&ax, &s) in raxes.iter().zip(&shifts) {
                want = roll_ref(&want, s, Some(ax as usize));
            }
            prop_assert!(same_f64(&compute_checked(&x.roll_axes(&shifts, Some(&raxes)).unwrap()), &want));
        }
        let s = g.int(-30, 30);
        prop_assert!(same_f64(&compute_checked(&x.roll_axes(&[s], None).unwrap()), &roll_ref(&a, s, None)));
    }

    #[test]
    fn pad_with_constants_per_side((a, c) in case_with_empty_blocks(), seed in any::<u64>()) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        let nd = a.ndim();
        let mut g = XorShift(seed | 1);
        let width: Vec<(usize, usize)> = (0..nd).map(|_| (g.below(3), g.below(3))).collect();
        let values: Vec<(f64, f64)> = (0..nd).map(|_| (g.int(-9, 9) as f64, g.int(-9, 9) as f64)).collect();
        let got = compute_checked(&x.pad_constants(&width, &values).unwrap());
        prop_assert!(same_f64(&got, &pad_ref(&a, &width, &values)));
    }

    #[test]
    fn triangles_of_stacks((a, c) in array_case(false), k in -4isize..5) {
        prop_assume!(a.ndim() >= 2);
        let x = tessera::from_array(a.clone(), c).unwrap();
        let nd = a.ndim();
        let tri = |upper: bool| {
            let mut w = a.clone();
            for (i, v) in w.indexed_iter_mut() {
                let d = i[nd - 1] as isize - i[nd - 2] as isize;
                if (upper && d < k) || (!upper && d > k) {
                    *v = 0.0;
                }
            }
            w
        };
        prop_assert!(same_f64(&compute_checked(&tessera::linalg::triu(&x, k).unwrap()), &tri(true)));
        prop_assert!(same_f64(&compute_checked(&tessera::linalg::tril(&x, k).unwrap()), &tri(false)));
    }

    #[test]
    fn common_ops_over_empty_blocks((a, c) in case_with_empty_blocks(), seed in any::<u64>()) {
        let x = tessera::from_array(a.clone(), c.clone()).unwrap();
        prop_assert_eq!(x.chunks(), &c);
        prop_assert!(same_f64(&compute_checked(&x), &a));
        // Elementwise, with another operand of other chunks (empty blocks too).
        let y = (&x * 3.0 + 1.0).exp();
        prop_assert!(close_f64(&compute_checked(&y), &a.mapv(|v| (v * 3.0 + 1.0).exp()), 1e-12));
        let nd = a.ndim();
        if nd == 0 {
            return Ok(());
        }
        let mut g = XorShift(seed | 1);
        // Reductions over every axis, over one axis, and arg-reductions.
        let s = x.sum(Axes::All).unwrap().compute().unwrap();
        prop_assert!((s[IxDyn(&[])] - a.sum()).abs() <= 1e-9 * (1.0 + a.iter().map(|v| v.abs()).sum::<f64>()));
        let ax = g.below(nd);
        let got = compute_checked(&x.sum(ax as isize).unwrap());
        prop_assert!(close_f64(&got, &a.sum_axis(Axis(ax)), 1e-12));
        if a.shape()[ax] > 0 {
            let got = compute_checked(&x.max(ax as isize).unwrap());
            let want = a.fold_axis(Axis(ax), f64::NEG_INFINITY, |m, &v| m.max(v));
            prop_assert!(same_f64(&got, &want));
            let got = compute_checked(&x.argmin(ax as isize).unwrap());
            let want = a.map_axis(Axis(ax), |l| {
                l.iter().enumerate().fold(0, |b, (i, &v)| if v < l[b] { i } else { b }) as i64
            });
            prop_assert_eq!(got, want);
        }
        // Slices with negative steps; rechunk to and from empty blocks; concatenate.
        let args: Vec<tessera::SliceArg> = (0..nd).map(|_| tessera::SliceArg::new(None, None, if g.chance(50) { -1 } else { 2 })).collect();
        let sl = compute_checked(&x.slice(&args).unwrap());
        let mut want = a.clone();
        for (d, arg) in args.iter().enumerate() {
            if let tessera::SliceArg::Range { step, .. } = arg {
                want = want.select(Axis(d), &py_range(None, None, *step, a.shape()[d]));
            }
        }
        prop_assert!(same_f64(&sl, &want));
        // A rechunk of a node that is not pushed into its input (a relayout), to and from
        // chunkings with empty blocks.
        let other = chunks_with_empty_fixed(a.shape(), &mut g);
        let viewed = x.expand_dims(0).unwrap().squeeze(Some(&[0])).unwrap();
        let r = viewed.rechunk(other.clone()).unwrap();
        prop_assert_eq!(r.chunks(), &other);
        prop_assert!(same_f64(&compute_checked(&r), &a));
        let back = r.expand_dims(0).unwrap().squeeze(Some(&[0])).unwrap().rechunk(c.clone()).unwrap();
        prop_assert!(same_f64(&compute_checked(&back), &a));
        let cat = tessera::concatenate(&[&x, &r], ax as isize).unwrap();
        let want = ndarray::concatenate(Axis(ax), &[a.view(), a.view()]).unwrap();
        prop_assert!(same_f64(&compute_checked(&cat), &want));
        let sum2 = compute_checked(&x.try_add(&r).unwrap());
        prop_assert!(same_f64(&sum2, &a.mapv(|v| v + v)));
    }
}

/// Random chunks with empty blocks, from a generator (for a second chunking in one case).
fn chunks_with_empty_fixed(shape: &[usize], g: &mut XorShift) -> Chunks {
    let axes: Vec<Vec<usize>> = shape
        .iter()
        .map(|&n| {
            let mut v = Vec::new();
            let mut left = n;
            while left > 0 {
                let l = (1 + g.below(left.min(5))).min(left);
                v.push(l);
                left -= l;
                if g.chance(25) {
                    v.push(0);
                }
            }
            if v.is_empty() || g.chance(20) {
                v.insert(0, 0);
            }
            v
        })
        .collect();
    Chunks::new(axes).unwrap()
}

/// NumPy's roll of one axis (or of the flattened array with `None`).
fn roll_ref(a: &ArrayD<f64>, shift: isize, axis: Option<usize>) -> ArrayD<f64> {
    match axis {
        None => {
            let flat: Vec<f64> = a.iter().copied().collect();
            let n = flat.len() as isize;
            let v: Vec<f64> = (0..n).map(|i| flat[(i - shift).rem_euclid(n.max(1)) as usize]).collect();
            ArrayD::from_shape_vec(a.raw_dim(), v).unwrap()
        }
        Some(ax) => {
            let n = a.shape()[ax] as isize;
            let idx: Vec<usize> = (0..n).map(|i| (i - shift).rem_euclid(n.max(1)) as usize).collect();
            a.select(Axis(ax), &idx)
        }
    }
}

/// NumPy's constant pad: axes in order, each pad covering the earlier axes' pads too.
fn pad_ref(a: &ArrayD<f64>, width: &[(usize, usize)], values: &[(f64, f64)]) -> ArrayD<f64> {
    let mut x = a.clone();
    for (d, (&(b, e), &(vb, ve))) in width.iter().zip(values).enumerate() {
        let mut sb = x.shape().to_vec();
        sb[d] = b;
        let mut se = x.shape().to_vec();
        se[d] = e;
        let before = ArrayD::from_elem(IxDyn(&sb), vb);
        let after = ArrayD::from_elem(IxDyn(&se), ve);
        x = ndarray::concatenate(Axis(d), &[before.view(), x.view(), after.view()]).unwrap();
    }
    x
}

#[test]
fn rolls_pads_and_flips_as_numpy() {
    let x = tessera::from_array(ndarray::array![[0i64, 1, 2], [3, 4, 5]].into_dyn(), [1, 2]).unwrap();
    check(x.roll_axes(&[1, -2], Some(&[0, 1])).unwrap(), &[2, 3], &[5, 3, 4, 2, 0, 1]);
    check(x.roll_axes(&[1], Some(&[0, 1])).unwrap(), &[2, 3], &[5, 3, 4, 2, 0, 1]);
    check(x.roll_axes(&[1], None).unwrap(), &[2, 3], &[5, 0, 1, 2, 3, 4]);
    check(x.roll_axes(&[1, 1], Some(&[0, 0])).unwrap(), &[2, 3], &[0, 1, 2, 3, 4, 5]);
    assert!(x.roll_axes(&[1, 2], None).is_err());
    assert!(x.roll_axes(&[1, 2, 3], Some(&[0, 1])).is_err());
    assert!(x.flip_axes([0, -2]).is_err());
    check(
        x.pad_constants(&[(1, 2), (0, 3)], &[(7, 8), (9, 10)]).unwrap(),
        &[5, 6],
        &[
            7, 7, 7, 10, 10, 10, 0, 1, 2, 10, 10, 10, 3, 4, 5, 10, 10, 10, 8, 8, 8, 10, 10, 10, 8, 8, 8, 10,
            10, 10,
        ],
    );
    assert!(x.pad_constants(&[(1, 1)], &[(0, 0)]).is_err());
    let s = tessera::from_array(
        ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]), (0..24).collect::<Vec<i64>>()).unwrap(),
        [1, 2, 3],
    )
    .unwrap();
    check(
        tessera::linalg::triu(&s, -1).unwrap(),
        &[2, 3, 4],
        &[0, 1, 2, 3, 4, 5, 6, 7, 0, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 0, 21, 22, 23],
    );
    check(
        tessera::linalg::tril(&s, 1).unwrap(),
        &[2, 3, 4],
        &[0, 1, 0, 0, 4, 5, 6, 0, 8, 9, 10, 11, 12, 13, 0, 0, 16, 17, 18, 0, 20, 21, 22, 23],
    );
}

#[test]
fn lstsq_full_as_numpy() {
    use tessera::linalg::{lstsq, lstsq_full};
    let a = ndarray::array![[1., 2., 0.5], [3., -1., 2.], [0., 1., 1.], [2., 2., -1.], [1., 0., 3.]];
    let b = ndarray::array![[1., 0.], [2., 1.], [0., -1.], [3., 2.], [1., 1.]];
    let close = |got: &ArrayD<f64>, want: &[f64]| {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 1e-12 * (1.0 + w.abs()), "{got:?} vs {want:?}");
        }
    };
    let ta = tessera::from_array(a.clone(), [2, 3]).unwrap();
    let sv = [4.760761736107197, 3.5379899917465125, 2.2511718082632215];
    // Full rank, m > n: residuals per column.
    let r = lstsq_full(&ta, &tessera::from_array(b.clone(), [3, 2]).unwrap(), None).unwrap();
    close(
        &r.solution,
        &[
            0.9389671361502346,
            0.6291079812206571,
            0.29264475743348994,
            -0.025039123630672816,
            -0.1283255086071988,
            -0.18153364632237848,
        ],
    );
    close(&r.residuals, &[0.6760563380281683, 2.3802816901408455]);
    assert_eq!(r.rank, 3);
    close(&r.singular_values, &sv);
    // A vector b: residuals of shape (1,); the solution equals lstsq's.
    let bv = tessera::from_array(b.column(0).to_owned(), [4]).unwrap();
    let r = lstsq_full(&ta, &bv, None).unwrap();
    assert_eq!(r.residuals.shape(), &[1]);
    close(&r.residuals, &[0.6760563380281683]);
    close(
        &r.solution,
        &lstsq(&ta, &bv, None).unwrap().compute().unwrap().iter().copied().collect::<Vec<_>>(),
    );
    // Rank-deficient (third column = first + second): no residuals, rank 2.
    let mut d = a.clone();
    let c = &a.column(0) + &a.column(1);
    d.column_mut(2).assign(&c);
    let r =
        lstsq_full(&tessera::from_array(d, [5, 3]).unwrap(), &tessera::from_array(b, [5, 2]).unwrap(), None)
            .unwrap();
    assert_eq!(r.rank, 2);
    assert_eq!(r.residuals.shape(), &[0]);
    close(
        &r.solution,
        &[
            0.4633569739952721,
            0.33569739952718675,
            -0.06146572104018938,
            -0.14657210401891263,
            0.4018912529550828,
            0.18912529550827423,
        ],
    );
    assert!((r.singular_values[0] - 6.855654600401046).abs() < 1e-12 && r.singular_values[2].abs() < 1e-12);
}

#[test]
fn empty_blocks_in_explicit_chunks() {
    let a = ArrayD::from_shape_vec(IxDyn(&[5, 3]), (0..15).map(f64::from).collect()).unwrap();
    let c = Chunks::new(vec![vec![2, 0, 3], vec![0, 3, 0]]).unwrap();
    let x = tessera::from_array(a.clone(), c).unwrap();
    assert_eq!(x.numblocks(), vec![3, 3]);
    assert_eq!(x.block_shape(&[1, 1]).unwrap(), vec![0, 3]);
    assert!(same_f64(&compute_checked(&x), &a));
    assert_eq!(x.sum(Axes::All).unwrap().item().unwrap(), 105.0);
    assert_eq!(
        compute_checked(&x.max(0).unwrap()).iter().copied().collect::<Vec<_>>(),
        vec![12.0, 13.0, 14.0]
    );
    assert_eq!(
        compute_checked(&x.mean(1).unwrap()).iter().copied().collect::<Vec<_>>(),
        vec![1., 4., 7., 10., 13.]
    );
    assert!(Chunks::new(vec![vec![]]).is_err());
}
