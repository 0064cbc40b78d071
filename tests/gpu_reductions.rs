//! GPU parity of reductions: every reduction against its CPU twin (and NumPy's semantics for
//! the NaN-skipping arg-reductions), float sums within their error bound, integer sums carried
//! into 64 bits. Without an adapter these pass with a notice, unless `TESSERA_REQUIRE_GPU=1`.

mod gpu_common;

use gpu_common::*;
use ndarray::{ArrayD, IxDyn};
use tessera::{Array, ComputeOptions, Element};

fn same_reduction<T: Element + Into<f64>>(y: &Array<T>, g: &ComputeOptions, rtol: f64, what: &str) {
    let (a, b, on_gpu) = both(y, g);
    for (i, (&p, &q)) in a.iter().zip(&b).enumerate() {
        let (p, q): (f64, f64) = (p.into(), q.into());
        let ok = (p.is_nan() && q.is_nan()) || p == q || (p - q).abs() <= rtol * q.abs();
        assert!(ok, "{what}: element {i}: GPU {p:e}, CPU {q:e}");
    }
    assert!(on_gpu > 0, "{what}: no task ran on the GPU");
}

#[test]
fn reductions_over_any_axes_match_the_cpu() {
    let Some((_lock, g)) = gpu() else { return };
    // Both layouts of a reduction's first pass: segments merged in workgroup memory (hardware
    // GPUs' default) and by combine passes alone (software adapters').
    for merge in [true, false] {
        let default = tessera::testing::merge_reductions(0, merge).unwrap();
        reductions_match_the_cpu(&g);
        tessera::testing::merge_reductions(0, default).unwrap();
    }
}

fn reductions_match_the_cpu(g: &ComputeOptions) {
    let cases: [(Vec<usize>, Vec<Vec<usize>>); 7] = [
        (vec![1], vec![vec![1]]),
        (vec![257], vec![vec![100, 1, 156]]),
        (vec![65537], vec![vec![40000, 25537]]),
        (vec![31, 127], vec![vec![10, 21], vec![127]]),
        (vec![5, 33, 7], vec![vec![2, 3], vec![1, 32], vec![7]]),
        (vec![2, 1, 70000], vec![vec![1, 1], vec![1], vec![70000]]),
        // Few outputs of many strided elements: neighbouring threads take neighbouring outputs.
        (vec![9000, 3], vec![vec![9000], vec![3]]),
    ];
    for (shape, chunks) in cases {
        let n: usize = shape.iter().product();
        let mut r = Rng(n as u64 + 17);
        // Integer values: f32 sums stay exact, so a lost or doubled element cannot hide.
        let ints: Vec<f32> = (0..n).map(|_| (r.next() % 17) as f32 - 8.0).collect();
        let with_nan: Vec<f32> =
            ints.iter().enumerate().map(|(i, &v)| if i % 11 == 4 { f32::NAN } else { v }).collect();
        let mk = |v: Vec<f32>| {
            tessera::from_array(
                ArrayD::from_shape_vec(IxDyn(&shape), v).unwrap(),
                tessera::Chunks::new(chunks.clone()).unwrap(),
            )
            .unwrap()
        };
        let (x, xn) = (mk(ints), mk(with_nan));
        let xi = x.astype::<i32>() * 1_000_003;
        let nd = shape.len() as isize;
        let mut axis_sets: Vec<tessera::Axes> = (0..nd).map(|a| tessera::Axes::List(vec![a])).collect();
        if nd > 1 {
            axis_sets.push(tessera::Axes::List(vec![0, nd - 1]));
        }
        axis_sets.push(tessera::Axes::All);
        for axes in axis_sets {
            let w = format!("shape {shape:?} axes {axes:?}");
            let ax = || axes.clone();
            same_reduction(&x.sum(ax()).unwrap(), g, 0.0, &format!("sum {w}"));
            same_reduction(&x.mean(ax()).unwrap(), g, 0.0, &format!("mean {w}"));
            same_reduction(&xn.nansum(ax()).unwrap(), g, 0.0, &format!("nansum {w}"));
            same_reduction(&xn.nanmean(ax()).unwrap(), g, 0.0, &format!("nanmean {w}"));
            same_reduction(&xn.sum(ax()).unwrap(), g, 0.0, &format!("sum with NaN {w}"));
            same_reduction(&x.var(ax(), 0.0).unwrap(), g, 1e-5, &format!("var {w}"));
            same_reduction(&xn.nanstd(ax(), 1.0).unwrap(), g, 1e-5, &format!("nanstd {w}"));
            same_reduction(&x.min(ax()).unwrap(), g, 0.0, &format!("min {w}"));
            same_reduction(&xn.max(ax()).unwrap(), g, 0.0, &format!("max with NaN {w}"));
            same_reduction(&xn.nanmin(ax()).unwrap(), g, 0.0, &format!("nanmin {w}"));
            same_reduction(&xi.sum(ax()).unwrap().astype::<f64>(), g, 0.0, &format!("i32 sum {w}"));
            same_reduction(&xi.mean(ax()).unwrap(), g, 0.0, &format!("i32 mean {w}"));
            same_reduction(&xi.max(ax()).unwrap(), g, 0.0, &format!("i32 max {w}"));
            let pos = x.gt(0.0f32).unwrap();
            for (name, y) in [
                ("any", pos.any(ax()).unwrap()),
                ("all", pos.all(ax()).unwrap()),
                ("any NaN", xn.isnan().any(ax()).unwrap()),
                ("all finite", xn.isfinite().all(ax()).unwrap()),
            ] {
                let (a, b, on_gpu) = both(&y, g);
                assert_eq!(a, b, "{name} {w}");
                assert!(on_gpu > 0);
            }
            let (a, b, _) = both(&xn.count_nonzero(ax()).unwrap(), g);
            assert_eq!(a, b, "count_nonzero {w}");
            for (name, y) in [("count", xn.count(ax()).unwrap()), ("count i32", xi.count(ax()).unwrap())] {
                let (a, b, on_gpu) = both(&y, g);
                assert_eq!(a, b, "{name} {w}");
                assert!(on_gpu > 0, "{name} {w} ran on the GPU");
            }
        }
        for axis in (0..nd).map(Some).chain([None]) {
            for (name, y) in [
                ("argmin", x.argmin(axis).unwrap()),
                ("argmax", xn.argmax(axis).unwrap()),
                ("argmax i32", xi.argmax(axis).unwrap()),
                ("argmin bool", x.gt(2.0f32).unwrap().argmin(axis).unwrap()),
            ] {
                let (a, b, on_gpu) = both(&y, g);
                assert_eq!(a, b, "{name} axis {axis:?} shape {shape:?}");
                assert!(on_gpu > 0);
            }
        }
    }
}

/// NumPy's nanargmax / nanargmin of one slice (first maximum / minimum of the non-NaN values;
/// `None` when all are NaN).
fn nan_arg(v: impl IntoIterator<Item = f32>, max: bool) -> Option<i64> {
    let mut best: Option<(usize, f32)> = None;
    for (i, x) in v.into_iter().enumerate() {
        if x.is_nan() {
            continue;
        }
        match best {
            Some((_, b)) if !((max && x > b) || (!max && x < b)) => {}
            _ => best = Some((i, x)),
        }
    }
    best.map(|b| b.0 as i64)
}

#[test]
fn nan_skipping_arg_reductions_match_the_cpu_and_numpy() {
    let Some((_lock, g)) = gpu() else { return };
    let cases: [(Vec<usize>, Vec<Vec<usize>>); 5] = [
        (vec![257], vec![vec![100, 1, 156]]),
        (vec![65537], vec![vec![40000, 25537]]),
        (vec![31, 127], vec![vec![10, 21], vec![127]]),
        (vec![5, 33, 7], vec![vec![2, 3], vec![1, 32], vec![7]]),
        (vec![9000, 3], vec![vec![9000], vec![3]]),
    ];
    let opts = tessera::ReduceOptions::default();
    for merge in [true, false] {
        let default = tessera::testing::merge_reductions(0, merge).unwrap();
        for (shape, chunks) in &cases {
            let n: usize = shape.iter().product();
            let mut r = Rng(n as u64 + 5);
            // Few distinct values (ties everywhere: the first occurrence must win across the
            // GPU's interleaved segments), NaN first and at every fifth element: no slice of
            // these shapes is all NaN.
            let v: Vec<f32> = (0..n)
                .map(|i| if i == 0 || i % 5 == 1 { f32::NAN } else { (r.next() % 17) as f32 - 8.0 })
                .collect();
            let a = ArrayD::from_shape_vec(IxDyn(shape), v).unwrap();
            let x = tessera::from_array(a.clone(), tessera::Chunks::new(chunks.clone()).unwrap()).unwrap();
            for axis in (0..shape.len()).map(Some).chain([None]) {
                for (kind, max) in [(tessera::ReduceKind::ArgMax, true), (tessera::ReduceKind::ArgMin, false)]
                {
                    let w = format!("{kind:?} skip_nan axis {axis:?} shape {shape:?} merge {merge}");
                    let axes = axis.map_or(tessera::Axes::All, tessera::Axes::from);
                    let y = x.reduce::<i64>(tessera::Reduction::nan(kind), axes, &opts).unwrap();
                    let (got, cpu, on_gpu) = both(&y, &g);
                    assert_eq!(got, cpu, "{w}");
                    assert!(on_gpu > 0, "{w}: no task ran on the GPU");
                    let want = match axis {
                        None => ArrayD::from_elem(IxDyn(&[]), nan_arg(a.iter().copied(), max).unwrap()),
                        Some(d) => a.map_axis(ndarray::Axis(d), |l| nan_arg(l.iter().copied(), max).unwrap()),
                    };
                    assert_eq!(got, want, "{w}");
                }
            }
        }
        // An all-NaN slice (column 1) fails on the GPU as on the CPU.
        let mut a = ArrayD::from_shape_vec(IxDyn(&[40, 3]), (0..120).map(|i| i as f32).collect()).unwrap();
        a.index_axis_mut(ndarray::Axis(1), 1).fill(f32::NAN);
        let x = tessera::from_array(a, tessera::Chunks::new(vec![vec![15, 25], vec![3]]).unwrap()).unwrap();
        let y = x.reduce::<i64>(tessera::Reduction::nan(tessera::ReduceKind::ArgMax), 0, &opts).unwrap();
        for o in [g.clone(), cpu()] {
            let e = y.compute_with(&o).unwrap_err().to_string();
            assert!(e.contains("All-NaN slice"), "{:?}: {e}", o.device);
        }
        tessera::testing::merge_reductions(0, default).unwrap();
    }
}

#[test]
fn float_sums_of_real_data_are_within_the_error_bound() {
    let Some((_lock, g)) = gpu() else { return };
    for n in [31usize, 65537, 1 << 20] {
        let v = floats(n, -1.0, 1e3, false, 23);
        // Compensated sums: a few ulps of Σ|x| whatever the length (a plain f32 loop would
        // drift by up to n ulps).
        let bound: f64 = v.iter().map(|x| x.abs() as f64).sum::<f64>() * f32::EPSILON as f64 * 2.0;
        let x = arr1(v);
        let (a, b, on_gpu) = both(&x.sum(0).unwrap(), &g);
        let (a, b) = (a.into_iter().next().unwrap() as f64, b.into_iter().next().unwrap() as f64);
        assert!((a - b).abs() <= bound, "n={n}: GPU {a}, CPU {b}, bound {bound}");
        assert!(on_gpu > 0);
    }
}

#[test]
fn float_sums_keep_their_compensation() {
    // ±1e8 (cancelling) in every segment among ones: an uncompensated f32 sum loses each one
    // added to 1e8 (its ulp is 8), so only a sum whose compensation survived the shader
    // compiler (no reassociation) gets the count of ones exactly.
    let Some((_lock, g)) = gpu() else { return };
    let n = 1usize << 16;
    let v: Vec<f32> =
        (0..n).map(|i| if i % 64 == 0 { if i % 128 == 0 { 1e8 } else { -1e8 } } else { 1.0 }).collect();
    let x = arr1(v);
    for y in [x.sum(0).unwrap(), x.nansum(0).unwrap()] {
        let (a, b, on_gpu) = both(&y, &g);
        assert_eq!(b.into_iter().next(), Some((n - n / 64) as f32));
        assert_eq!(a.into_iter().next(), Some((n - n / 64) as f32), "GPU sum lost its compensation");
        assert!(on_gpu > 0);
    }
    let (a, _, _) = both(&x.mean(0).unwrap(), &g);
    assert_eq!(a.into_iter().next(), Some((n - n / 64) as f32 / n as f32));
}

#[test]
fn i32_sums_carry_into_64_bits() {
    let Some((_lock, g)) = gpu() else { return };
    let mut r = Rng(5);
    let v: Vec<i32> = (0..65537).map(|_| r.next() as i32).collect();
    let want: i64 = v.iter().map(|&x| x as i64).sum();
    let x = arr1(v);
    let (a, b, on_gpu) = both(&x.sum(0).unwrap(), &g);
    assert_eq!(a.into_iter().next(), Some(want));
    assert_eq!(b.into_iter().next(), Some(want));
    assert!(on_gpu > 0);
}
