//! Groupby-reduce and anomalies against an eager reference.

mod common;

use ndarray::{ArrayD, Axis, Dimension, IxDyn};
use proptest::prelude::*;
use tessera::groupby::GroupOptions;
use tessera::prelude::*;
use tessera::{ReduceKind, Reduction};

/// The reduction of `vals` (one group's values at one kept position), done the plain way.
fn reference(op: Reduction, vals: &[f64]) -> f64 {
    let clean: Vec<f64> = vals.iter().copied().filter(|v| !v.is_nan()).collect();
    let has_nan = clean.len() != vals.len();
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let var = |v: &[f64], d: f64| {
        if v.len() as f64 - d <= 0.0 {
            return f64::NAN;
        }
        let m = mean(v);
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - d)
    };
    let prop = |r: f64| if has_nan { f64::NAN } else { r };
    let r = match op.kind {
        ReduceKind::Sum => clean.iter().sum(),
        ReduceKind::Mean => mean(&clean),
        ReduceKind::Min => clean.iter().copied().fold(f64::NAN, f64::min),
        ReduceKind::Max => clean.iter().copied().fold(f64::NAN, f64::max),
        ReduceKind::Count => return clean.len() as f64,
        ReduceKind::Var { ddof, std: false } => var(&clean, ddof),
        ReduceKind::Var { ddof, std: true } => var(&clean, ddof).sqrt(),
        k => unreachable!("groupby does not compute {k:?}"),
    };
    if op.skip_nan { r } else { prop(r) }
}

fn eager(a: &ArrayD<f64>, axis: usize, labels: &[i64], op: Reduction) -> (ArrayD<f64>, Vec<i64>) {
    let mut groups: Vec<i64> = labels.iter().copied().filter(|&l| l >= 0).collect();
    groups.sort_unstable();
    groups.dedup();
    let mut shape = a.shape().to_vec();
    shape[axis] = groups.len();
    let mut out = ArrayD::<f64>::zeros(IxDyn(&shape));
    for (k, &g) in groups.iter().enumerate() {
        let pos: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == g).collect();
        let sel = a.select(Axis(axis), &pos);
        let mut dst = out.index_axis_mut(Axis(axis), k);
        for (idx, d) in dst.indexed_iter_mut() {
            let vals: Vec<f64> = sel
                .lanes(Axis(axis))
                .into_iter()
                .nth(lane_number(idx.slice(), sel.shape(), axis))
                .unwrap()
                .to_vec();
            *d = reference(op, &vals);
        }
    }
    (out, groups)
}

/// Index (C order) of the lane along `axis` through the kept position `idx`.
fn lane_number(idx: &[usize], shape: &[usize], axis: usize) -> usize {
    let kept: Vec<usize> = (0..shape.len()).filter(|&a| a != axis).map(|a| shape[a]).collect();
    idx.iter().zip(&kept).fold(0, |acc, (&i, &n)| acc * n + i)
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

/// Every reduction groupby computes, by name, and variances with `ddof = 1`.
fn ops() -> impl Strategy<Value = Reduction> {
    let names =
        ["sum", "nansum", "mean", "nanmean", "min", "max", "nanmin", "nanmax", "count", "var", "nanstd"];
    let ddof1 = [
        Reduction::nan(ReduceKind::Var { ddof: 1.0, std: false }),
        Reduction::new(ReduceKind::Var { ddof: 1.0, std: true }),
    ];
    let all: Vec<Reduction> = names.iter().map(|n| n.parse().unwrap()).chain(ddof1).collect();
    prop::sample::select(all)
}

fn case() -> impl Strategy<Value = (Vec<usize>, tessera::Chunks, usize, Vec<i64>, Vec<f64>)> {
    common::shape()
        .prop_filter("at least one axis", |s| !s.is_empty())
        .prop_flat_map(|s| {
            let nd = s.len();
            (Just(s.clone()), common::chunks_for(s), 0..nd)
        })
        .prop_flat_map(|(s, c, axis)| {
            let n: usize = s.iter().product();
            let labels = proptest::collection::vec(-1i64..6, s[axis]);
            (Just(s), Just(c), Just(axis), labels, common::values(n, true))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn groupby_matches_the_reference((shape, chunks, axis, labels, vals) in case(), op in ops(), per in 0usize..4) {
        let a = ArrayD::from_shape_vec(IxDyn(&shape), vals).unwrap();
        let x = tessera::from_array(a.clone(), ChunkSpec::Explicit(chunks)).unwrap();
        let opts = GroupOptions { groups_per_chunk: (per > 0).then_some(per), split_every: Some(2 + per) };
        let g = x.groupby_reduce_with(axis as isize, &labels, op, &opts).unwrap();
        let (want, groups) = eager(&a, axis, &labels, op);
        prop_assert_eq!(&g.groups, &groups);
        let got = common::compute_checked(&g.array);
        prop_assert_eq!(got.shape(), want.shape());
        for (p, q) in got.iter().zip(want.iter()) {
            prop_assert!(close(*p, *q), "{:?}: got {} want {}", op, p, q);
        }
    }
}

/// Blocks wider than one strip of accumulators (the fold works on a few hundred kept
/// elements at a time): every strip, the last partial one included, lands in its place, for
/// every reduction, with the grouped axis first or not, and through a two-level tree.
#[test]
fn groupby_of_blocks_wider_than_a_strip() {
    let shape = [20usize, 60, 30];
    let n: usize = shape.iter().product();
    let vals: Vec<f64> = (0..n)
        .map(|i| if i % 97 == 5 { f64::NAN } else { ((i * 7919) % 1000) as f64 / 10.0 - 30.0 })
        .collect();
    let a = ArrayD::from_shape_vec(IxDyn(&shape), vals).unwrap();
    let names = ["sum", "nansum", "nanmean", "mean", "nanmin", "max", "count", "var", "nanstd"];
    // Axis 0: 20 groups, strips of 819 of 1800 kept elements; axis 1: 40 groups, strips
    // of 409 of 600.
    for (axis, along) in [(0usize, vec![3, 3, 3, 3, 3, 3, 2]), (1, vec![7, 13, 40])] {
        let labels: Vec<i64> =
            (0..shape[axis] as i64).map(|i| if i % 11 == 3 { -1 } else { i % 40 }).collect();
        let mut chunks = vec![vec![20], vec![60], vec![30]];
        chunks[axis] = along;
        let spec = ChunkSpec::Explicit(tessera::Chunks::new(chunks).unwrap());
        let x = tessera::from_array(a.clone(), spec).unwrap();
        for name in names {
            let op: Reduction = name.parse().unwrap();
            let (want, groups) = eager(&a, axis, &labels, op);
            for split_every in [2, 16] {
                let opts = GroupOptions { groups_per_chunk: Some(40), split_every: Some(split_every) };
                let g = x.groupby_reduce_with(axis as isize, &labels, op, &opts).unwrap();
                assert_eq!(g.groups, groups);
                let got = common::compute_checked(&g.array);
                assert_eq!(got.shape(), want.shape());
                for (i, (p, q)) in got.iter().zip(want.iter()).enumerate() {
                    assert!(close(*p, *q), "{name} axis {axis} split {split_every} at {i}: got {p} want {q}");
                }
            }
        }
    }
}

/// Months from 30-day blocks: a block at a month boundary feeds two output chunks of
/// months. Visited region by region, such a block waits only for the next chunk of its own
/// region, so a budget of a few blocks never spills; visited in C order, every region's
/// shared block waited for the next chunk of months (and spilled).
#[test]
fn overlapping_cohorts_are_visited_region_by_region_and_do_not_spill() {
    let lengths = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    let month: Vec<i64> =
        lengths.iter().enumerate().flat_map(|(m, &n)| std::iter::repeat_n(m as i64, n)).collect();
    let (days, side) = (365, 8);
    let vals: Vec<f64> = (0..days * side * side).map(|i| ((i * 37) % 101) as f64).collect();
    let a = ArrayD::from_shape_vec(IxDyn(&[days, side, side]), vals).unwrap();
    let x = tessera::from_array(a.clone(), [30, 2, 2]).unwrap();
    let op = Reduction::nan(ReduceKind::Mean);
    let g = x.groupby_reduce(0, &month, op).unwrap();
    let block = 30 * 2 * 2 * 8;
    let opts = ComputeOptions::default()
        .scheduler(SchedulerKind::Sync)
        .progress(tessera::Progress::Off)
        .memory_budget(8 * block);
    let (got, report) = g.array.compute_report(&opts).unwrap();
    assert_eq!(report.spilled_bytes, 0, "{report:?}");
    let (want, _) = eager(&a, 0, &month, op);
    for (p, q) in got.iter().zip(want.iter()) {
        assert!(close(*p, *q), "got {p} want {q}");
    }
}

#[test]
fn daily_climatology_and_anomalies_of_a_synthetic_sst_cube() {
    // Three years of a small SST-like cube, chunked by 30 days.
    let days = 3 * 365;
    let x = tessera::datasets::sst(days, 12, 24, 9, [30, 12, 24]).unwrap();
    let doy: Vec<i64> = (0..days as i64).map(|d| d % 365).collect();
    let clim = x.groupby_reduce(0, &doy, Reduction::nan(ReduceKind::Mean)).unwrap();
    assert_eq!(clim.groups.len(), 365);
    let a = x.compute().unwrap().mapv(f64::from);
    let c = clim.array.compute().unwrap();
    for day in [0usize, 17, 200, 364] {
        for (i, j) in [(0usize, 0usize), (5, 7), (11, 23)] {
            let v: Vec<f64> = (0..3).map(|y| a[[y * 365 + day, i, j]]).collect();
            let want = reference(Reduction::nan(ReduceKind::Mean), &v);
            assert!(close(c[[day, i, j]] as f64, want) || (want - c[[day, i, j]] as f64).abs() < 1e-5);
        }
    }
    // Each output block reads only the input blocks that hold its days: 30-day chunks of
    // days give 30-group output chunks fed by about two input blocks per year.
    let g = clim.array.plan();
    assert!(g.tasks.len() < 13 * 3 * 3 * 3, "{} tasks", g.tasks.len());
    let anom = x.groupby_anomalies(0, &doy, Reduction::nan(ReduceKind::Mean)).unwrap();
    let an = anom.compute().unwrap();
    let (day, i, j) = (40usize, 5usize, 7usize);
    assert!(((an[[365 + day, i, j]] + c[[day, i, j]]) as f64 - a[[365 + day, i, j]]).abs() < 1e-4);
    // Anomalies average to zero per day of year (where there is ocean).
    let m = anom.groupby_reduce(0, &doy, Reduction::nan(ReduceKind::Mean)).unwrap().array.compute().unwrap();
    assert!(m.iter().filter(|v| !v.is_nan()).all(|v| v.abs() < 1e-4));
}

#[test]
fn groupby_errors() {
    let x = tessera::ones::<f64>(&[10, 4], [3, 4]).unwrap();
    let msg = x.groupby_reduce(0, &[0; 9], ReduceKind::Sum).unwrap_err().to_string();
    assert!(msg.contains("groupby_reduce labels"), "{msg}");
    assert!(x.groupby_reduce(2, &[0; 10], ReduceKind::Sum).is_err());
    // Reductions groupby does not compute are named in the error.
    let msg = x.groupby_reduce(0, &[0; 10], ReduceKind::ArgMax).unwrap_err().to_string();
    assert!(msg.contains("not argmax"), "{msg}");
    assert!(x.groupby_reduce(0, &[0; 10], Reduction::nan(ReduceKind::Prod)).is_err());
    // All labels negative: an empty group axis.
    let g = x.groupby_reduce(0, &[-1; 10], ReduceKind::Sum).unwrap();
    assert_eq!(g.array.shape(), &[0, 4]);
    assert_eq!(g.array.compute().unwrap().len(), 0);
}
