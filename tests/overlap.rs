//! Ghost cells against a hand-written eager pad (numpy.pad's modes, built by concatenation).

mod common;

use common::*;
use ndarray::{ArrayD, Axis, IxDyn, Slice};
use proptest::prelude::*;
use tessera::overlap::Boundary;
use tessera::prelude::*;

/// The input indices of an axis of length n padded by d on each side, built by repeating a
/// pattern (not by modular arithmetic). `None` = constant.
fn padded_indices(n: usize, d: usize, b: Boundary) -> Vec<Option<usize>> {
    let fwd: Vec<usize> = (0..n).collect();
    let pattern: Vec<usize> = match b {
        Boundary::Periodic => fwd.clone(),
        Boundary::Reflect => fwd.iter().copied().chain(fwd.iter().rev().copied()).collect(),
        Boundary::Mirror if n > 1 => fwd.iter().copied().chain((1..n - 1).rev()).collect(),
        Boundary::Mirror => vec![0],
        _ => {
            let edge = |i: usize| if matches!(b, Boundary::Nearest) { Some(i) } else { None };
            let mut v: Vec<Option<usize>> = vec![edge(0); d];
            v.extend(fwd.iter().map(|&i| Some(i)));
            v.extend(vec![edge(n - 1); d]);
            return v;
        }
    };
    // Repeat the pattern enough times on both sides, then cut the window around one copy of
    // the array: for mirror patterns the copy starting at a multiple of the period is forward.
    let p = pattern.len();
    let reps = d / p + 2;
    let big: Vec<usize> = (0..2 * reps + 1).flat_map(|_| pattern.iter().copied()).collect();
    let start = reps * p;
    big[start - d..start + n + d].iter().map(|&i| Some(i)).collect()
}

fn pad(a: &ArrayD<f64>, depth: &[usize], boundary: &[Boundary]) -> ArrayD<f64> {
    let mut out = a.clone();
    for (ax, (&d, &b)) in depth.iter().zip(boundary).enumerate() {
        let n = a.shape()[ax];
        let b2 = if b == Boundary::None { Boundary::Constant(0.0) } else { b };
        let idx = padded_indices(n, d, b2);
        let fill = if let Boundary::Constant(v) = b { v } else { 0.0 };
        let cols: Vec<ArrayD<f64>> = idx
            .iter()
            .map(|i| match i {
                Some(i) => out.index_axis(Axis(ax), *i).to_owned(),
                None => ArrayD::from_elem(out.index_axis(Axis(ax), 0).raw_dim(), fill),
            })
            .collect();
        let views: Vec<_> = cols.iter().map(|c| c.view().insert_axis(Axis(ax))).collect();
        out = ndarray::concatenate(Axis(ax), &views).unwrap();
    }
    out
}

fn boundary() -> impl Strategy<Value = Boundary> {
    prop_oneof![
        Just(Boundary::Periodic),
        Just(Boundary::Reflect),
        Just(Boundary::Mirror),
        Just(Boundary::Nearest),
        Just(Boundary::Constant(-7.5)),
        Just(Boundary::None),
    ]
}

fn case() -> impl Strategy<Value = (ArrayD<f64>, Chunks, Vec<usize>, Vec<Boundary>)> {
    (1usize..=3).prop_flat_map(|nd| proptest::collection::vec(1usize..=12, nd)).prop_flat_map(|s| {
        let n: usize = s.iter().product();
        let nd = s.len();
        (
            values(n, false),
            chunks_for(s.clone()),
            proptest::collection::vec(0usize..=6, nd),
            proptest::collection::vec(boundary(), nd),
        )
            .prop_map(move |(v, c, d, b)| (ArrayD::from_shape_vec(IxDyn(&s), v).unwrap(), c, d, b))
    })
}

/// The window of the padded reference that extended block `idx` covers.
fn window(
    p: &ArrayD<f64>,
    chunks: &Chunks,
    idx: &[usize],
    depth: &[usize],
    boundary: &[Boundary],
) -> ArrayD<f64> {
    let mut v = p.view();
    for ax in 0..idx.len() {
        let offs = chunks.offsets(ax);
        let n = offs[offs.len() - 1];
        let none = boundary[ax] == Boundary::None;
        // With no boundary, halos stop at the array's edges.
        let l = if none { depth[ax].min(offs[idx[ax]]) } else { depth[ax] };
        let r = if none { depth[ax].min(n - offs[idx[ax] + 1]) } else { depth[ax] };
        let (s, e) = (offs[idx[ax]] + depth[ax] - l, offs[idx[ax] + 1] + depth[ax] + r);
        v.slice_axis_inplace(Axis(ax), Slice::from(s..e));
    }
    v.to_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn overlap_trim_and_map_overlap_match_the_reference((a, c, depth, bnd) in case()) {
        let x = tessera::from_array(a.clone(), c.clone()).unwrap();
        let p = pad(&a, &depth, &bnd);
        let y = x.overlap(&depth, &bnd).unwrap();
        let blocks = y.block_values(&ComputeOptions::default()).unwrap();
        let grid = c.numblocks();
        for (lin, b) in blocks.iter().enumerate() {
            let idx = tessera_unravel(lin, &grid);
            let got = b.clone().into_typed::<f64>().unwrap();
            prop_assert!(same_f64(&got, &window(&p, &c, &idx, &depth, &bnd)), "block {:?}", idx);
        }
        // Trimmed exactly, even where a None halo was clipped at the array's edges (depth
        // larger than the first or last block): directly (the original array back) and
        // after a block-preserving op (a trim of every block).
        prop_assert!(same_f64(&compute_checked(&y.trim(&depth, &bnd).unwrap()), &a));
        let mapped = y.map_blocks(|b| b.mapv(|v| v * 2.0)).unwrap().trim(&depth, &bnd).unwrap();
        prop_assert!(same_f64(&compute_checked(&mapped), &a.mapv(|v| v * 2.0)));
        // map_overlap: each element becomes the sum of its extended block's corner and itself,
        // which depends on the halo; checked against the reference windows.
        let z = x.map_overlap(&depth, &bnd, |b| {
            let corner = b.iter().next().copied().unwrap_or(0.0);
            b.mapv(|v| v + corner)
        }).unwrap();
        let got = compute_checked(&z);
        let mut want = a.clone();
        for lin in 0..c.nblocks() {
            let idx = tessera_unravel(lin, &grid);
            let w = window(&p, &c, &idx, &depth, &bnd);
            let corner = w.iter().next().copied().unwrap_or(0.0);
            let region = c.block_region(&idx);
            let mut dst = want.slice_each_axis_mut(|d| Slice::from(region[d.axis.index()].clone()));
            dst.mapv_inplace(|v| v + corner);
        }
        prop_assert!(same_f64(&got, &want));
        // The same from a computed input: every extended block gathered from neighbours
        // (from memory, interior blocks are read as views of the array instead).
        let computed = x.map_blocks(|b| b.to_owned()).unwrap();
        let zc = computed.map_overlap(&depth, &bnd, |b| {
            let corner = b.iter().next().copied().unwrap_or(0.0);
            b.mapv(|v| v + corner)
        }).unwrap();
        prop_assert!(same_f64(&compute_checked(&zc), &want));
        prop_assert!(same_f64(&compute_checked(&computed.overlap(&depth, &bnd).unwrap().trim(&depth, &bnd).unwrap()), &a));
    }
}

fn tessera_unravel(mut lin: usize, grid: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; grid.len()];
    for d in (0..grid.len()).rev() {
        idx[d] = lin % grid[d];
        lin /= grid[d];
    }
    idx
}

#[test]
fn laplacian_stencil_matches_numpy_pad_symmetric() {
    let a = tessera::random::normal::<f64>(4, &[37, 53], [10, 16], 0.0, 1.0).unwrap().compute().unwrap();
    let x = tessera::from_array(a.clone(), [10, 16]).unwrap();
    let lap = |b: ndarray::ArrayViewD<'_, f64>| {
        let b = b.into_dimensionality::<ndarray::Ix2>().unwrap();
        let mut out = ndarray::Array2::<f64>::zeros(b.raw_dim());
        let (n, m) = b.dim();
        for i in 1..n - 1 {
            for j in 1..m - 1 {
                out[[i, j]] = b[[i - 1, j]] + b[[i + 1, j]] + b[[i, j - 1]] + b[[i, j + 1]] - 4.0 * b[[i, j]];
            }
        }
        out.into_dyn()
    };
    let y = x.map_overlap(&[1, 1], &[Boundary::Reflect, Boundary::Reflect], lap).unwrap();
    let want = lap(pad(&a, &[1, 1], &[Boundary::Reflect; 2]).view());
    let want = want.slice_each_axis(|d| Slice::from(1..want.shape()[d.axis.index()] - 1)).to_owned();
    assert!(same_f64(&compute_checked(&y), &want));
    // One task per block, plus the reads of the input blocks it gathers from.
    assert_eq!(y.plan().tasks.iter().filter(|t| t.kernel_name() == "map_overlap").count(), x.nblocks());
}

#[test]
fn overlap_errors() {
    let x = tessera::ones::<f64>(&[4, 4], [2, 2]).unwrap();
    assert!(x.overlap(&[1], &[Boundary::Periodic]).is_err());
    assert!(x.map_overlap(&[1, 1], &[Boundary::None], |b| b.to_owned()).is_err());
    let bad = x.map_overlap(&[1, 1], &[Boundary::Nearest; 2], |b| b.sum_axis(Axis(0))).unwrap();
    let e = bad.compute().unwrap_err().to_string();
    assert!(e.contains("map_overlap") && e.contains("shape"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// `pad` against the same hand-built reference, with unequal widths before and after.
    #[test]
    fn pad_matches_numpy_modes((a, c, _d, bnd) in case(), widths in proptest::collection::vec((0usize..6, 0usize..6), 3)) {
        let nd = a.ndim();
        let mode = if bnd[0] == Boundary::None { Boundary::Nearest } else { bnd[0] };
        let w: Vec<(usize, usize)> = widths[..nd].to_vec();
        let x = tessera::from_array(a.clone(), c).unwrap();
        let got = compute_checked(&x.pad(&w, mode).unwrap());
        let d: Vec<usize> = w.iter().map(|&(b, e)| b.max(e)).collect();
        let full = pad(&a, &d, &vec![mode; nd]);
        let want = full.slice_each_axis(|ax| {
            let i = ax.axis.index();
            Slice::from(d[i] - w[i].0..d[i] + a.shape()[i] + w[i].1)
        });
        prop_assert!(same_f64(&got, &want.to_owned()));
    }
}

#[test]
fn interior_blocks_of_an_in_memory_array_are_read_with_their_halo_not_gathered() {
    let a = ndarray::Array2::from_shape_fn((30, 30), |(i, j)| (i * 30 + j) as f64).into_dyn();
    let x = tessera::from_array(a.clone(), [10, 10]).unwrap();
    let bnd = [Boundary::Reflect, Boundary::Reflect];
    let f = |b: ndarray::ArrayViewD<'_, f64>| b.to_owned();
    let inputs_of_centre = |y: &tessera::Array<f64>| {
        let g = y.plan();
        let t = g.tasks.iter().find(|t| t.node.as_ref() == "map_overlap" && t.block == [1, 1]).unwrap();
        t.inputs.len()
    };
    let direct = x.map_overlap(&[1, 1], &bnd, f).unwrap();
    assert_eq!(inputs_of_centre(&direct), 1, "one read of the extended region");
    let computed = x.map_blocks(|b| b.to_owned()).unwrap().map_overlap(&[1, 1], &bnd, f).unwrap();
    assert_eq!(inputs_of_centre(&computed), 9, "the block and its eight neighbours");
    assert_eq!(direct.compute().unwrap(), a);
    assert_eq!(computed.compute().unwrap(), a);
}

#[test]
fn a_reduction_of_a_map_overlap_reduces_each_block_in_the_same_task() {
    let a = tessera::random::normal::<f64>(8, &[60, 45], [20, 15], 0.0, 1.0).unwrap().compute().unwrap();
    let x = tessera::from_array(a.clone(), [20, 15]).unwrap();
    let bnd = [Boundary::Reflect, Boundary::Periodic];
    let f = |b: ndarray::ArrayViewD<'_, f64>| b.mapv(|v| v * v + 1.0);
    let y = x.map_overlap(&[2, 3], &bnd, f).unwrap();
    let want = y.compute().unwrap();
    for (s, axes) in [
        (y.sum(Axes::All).unwrap(), "all"),
        (y.max(0).unwrap(), "0"),
        (y.argmin(Some(1)).unwrap().astype::<f64>(), "arg 1"),
    ] {
        let g = s.plan();
        let names: Vec<&str> = g.tasks.iter().map(|t| t.kernel_name()).collect();
        assert_eq!(names.iter().filter(|n| **n == "map_overlap").count(), 9, "{axes}: {names:?}");
        assert!(
            !names.iter().any(|n| n.contains("partial")),
            "{axes}: the partials ride in the map_overlap tasks"
        );
        let got = s.compute().unwrap();
        let reference = match axes {
            "all" => ndarray::arr0(want.sum()).into_dyn(),
            "0" => want.fold_axis(ndarray::Axis(0), f64::NEG_INFINITY, |m, &v| m.max(v)),
            _ => want.map_axis(ndarray::Axis(1), |r| {
                r.iter().enumerate().fold((0, f64::INFINITY), |b, (i, &v)| if v < b.1 { (i, v) } else { b }).0
                    as f64
            }),
        };
        assert!(
            got.iter().zip(reference.iter()).all(|(p, q)| (p - q).abs() <= 1e-9 * (1.0 + q.abs())),
            "{axes}"
        );
    }
    // Used twice, the map_overlap keeps its own tasks.
    let two = tessera::compute_many(&[&y.sum(Axes::All).unwrap(), &y], &ComputeOptions::default()).unwrap();
    assert_eq!(two[1].clone().into_typed::<f64>().unwrap(), want);
}
