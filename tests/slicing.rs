//! Slicing against eager references: random steps (negative too), integer indices, on sources,
//! on elementwise expressions (pushed down) and on other nodes (sliced block by block).

mod common;

use common::*;
use ndarray::{ArrayD, Axis};
use proptest::prelude::*;
use tessera::{Axes, Error, SliceArg, sl};

/// Python's slice selection on an axis of length n, as explicit indices.
fn py_indices(arg: SliceArg, n: usize) -> Option<(Vec<usize>, bool)> {
    let ni = n as isize;
    match arg {
        SliceArg::Index(i) => {
            let j = if i < 0 { i + ni } else { i };
            (0..ni).contains(&j).then(|| (vec![j as usize], true))
        }
        SliceArg::Range { start, stop, step } => Some((py_range(start, stop, step, n), false)),
    }
}

fn eager_slice(a: &ArrayD<f64>, args: &[SliceArg]) -> Option<ArrayD<f64>> {
    let mut out = a.clone();
    let mut ax = 0;
    for (d, &arg) in args.iter().enumerate() {
        let (idx, drop) = py_indices(arg, a.shape()[d])?;
        out = out.select(Axis(ax), &idx);
        if drop {
            out = out.index_axis_move(Axis(ax), 0);
        } else {
            ax += 1;
        }
    }
    Some(out)
}

fn arg() -> impl Strategy<Value = SliceArg> {
    let bound = prop::option::of(-50isize..50);
    let step = prop_oneof![Just(1isize), Just(-1), 2isize..5, -5isize..-1];
    prop_oneof![
        4 => (bound.clone(), bound, step).prop_map(|(a, b, s)| SliceArg::new(a, b, s)),
        1 => (-45isize..45).prop_map(SliceArg::Index),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn slices_match_numpy((a, c) in array_case(true), args in proptest::collection::vec(arg(), 0..=4)) {
        let args: Vec<SliceArg> = args.into_iter().take(a.ndim()).collect();
        let x = tessera::from_array(a.clone(), c).unwrap();
        let want = eager_slice(&a, &args);
        // On a source.
        match (x.slice(&args), &want) {
            (Ok(y), Some(w)) => prop_assert!(same_f64(&compute_checked(&y), w)),
            (Err(Error::IndexOutOfBounds { .. }), None) => {}
            (r, w) => prop_assert!(false, "{:?} vs {:?}", r.map(|y| y.shape().to_vec()), w),
        }
        if let Some(w) = &want {
            // On an elementwise expression: pushed below it.
            let e = (&x * 2.0 + 1.0).slice(&args).unwrap();
            prop_assert!(same_f64(&compute_checked(&e), &w.mapv(|v| v * 2.0 + 1.0)));
            // On a node that cannot take the slice (a scan): sliced block by block.
            if a.ndim() > 0 {
                let s = x.cumsum(0).unwrap().slice(&args).unwrap();
                let mut cs = a.clone();
                cs.accumulate_axis_inplace(Axis(0), |&p, c| *c += p);
                prop_assert!(close_f64(&compute_checked(&s), &eager_slice(&cs, &args).unwrap(), 1e-12));
            }
        }
    }
}

#[test]
fn errors() {
    let x = tessera::ones::<f64>(&[5, 6], [2, 2]).unwrap();
    assert_eq!(x.slice(&sl![5]).unwrap_err(), Error::IndexOutOfBounds { axis: 0, index: 5, len: 5 });
    assert_eq!(x.slice(&sl![.., -7]).unwrap_err(), Error::IndexOutOfBounds { axis: 1, index: -7, len: 6 });
    assert!(x.slice(&sl![(None, None, 0)]).is_err(), "step 0");
    assert!(x.slice(&sl![0, 0, 0]).is_err(), "too many indices");
}

#[test]
fn lazy_slice_computes_only_what_it_touches() {
    let x = tessera::ones::<f64>(&[10_000, 10_000], [1000, 1000]).unwrap();
    let y = x.exp().slice(&sl![1..100, 1..100]).unwrap();
    assert_eq!(y.numblocks(), vec![1, 1]);
    let g = y.plan();
    assert_eq!(g.stats.tasks, 1, "one fused task: read 99 × 99 ones, exp");
    let v = y.compute().unwrap();
    assert_eq!(v.shape(), &[99, 99]);
    assert!(v.iter().all(|&e| e == 1f64.exp()));
}

#[test]
fn culling_a_million_blocks() {
    // Building ops over a million blocks is O(1) in blocks; asking for one block plans a few tasks.
    let x = tessera::random::uniform::<f32>(1, &[1000, 1000], [1, 1]).unwrap();
    assert_eq!(x.nblocks(), 1_000_000);
    let y = (&x * 2.0f32 + 1.0f32).sqrt().sum(1).unwrap();
    let one = y.slice(&sl![500..501]).unwrap();
    let g = one.plan();
    // The reduction over axis 1 needs the 1000 blocks of row 500, fused, plus the tree.
    assert!(g.stats.tasks < 1100, "{:?}", g.stats);
    let full: f32 =
        x.slice(&sl![500]).unwrap().compute().unwrap().iter().map(|v| (v * 2.0 + 1.0).sqrt()).sum();
    let got = one.to_vec().unwrap()[0];
    assert!((got - full).abs() < 1e-3 * full, "{got} vs {full}");
    let _ = y.sum(Axes::All).unwrap();
}
