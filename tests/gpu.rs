//! GPU parity: every GPU kernel against its CPU twin, on the first adapter wgpu finds.
//!
//! Without an adapter these tests print a notice and pass, unless `TESSERA_REQUIRE_GPU=1`
//! (CI sets it, with Mesa's lavapipe installed): then they fail. Each check also asserts that
//! the GPU really ran the tasks it should (`RunReport::gpu_tasks`), so a silent fallback to
//! the CPU cannot pass for parity.

mod gpu_common;

use gpu_common::*;
use ndarray::{ArrayD, IxDyn};
use tessera::{Array, ComputeOptions, SliceArg, sl};

#[test]
fn unary_f32_ops_match_the_cpu() {
    let Some((_lock, g)) = gpu() else { return };
    type Op = (&'static str, fn(&Array<f32>) -> Array<f32>, f32, f32);
    let ops: [Op; 13] = [
        ("neg", |x| -x, 0.0, 0.0),
        ("abs", |x| x.abs(), 0.0, 0.0),
        ("floor", |x| x.floor(), 0.0, 0.0),
        ("ceil", |x| x.ceil(), 0.0, 0.0),
        ("round", |x| x.round(), 0.0, 0.0),
        ("sqrt", |x| x.sqrt(), 3.0, 0.0),
        ("exp", |x| x.exp(), 64.0, 1e-30),
        ("ln", |x| x.ln(), 16.0, 1e-6),
        ("ln_1p", |x| x.ln_1p(), 16.0, 1e-6),
        ("exp_m1", |x| x.exp_m1(), 64.0, 1e-6),
        ("tanh", |x| x.tanh(), 16.0, 1e-6),
        // A GPU compiler may fuse x * x + 1 into one fma (one rounding instead of two): 1 ulp.
        ("x*x+1", |x| x * x + 1.0f32, 1.0, 0.0),
        ("clip", |x| x.clip(-2.0, 3.0).unwrap(), 0.0, 0.0),
    ];
    for n in SIZES {
        let x = arr1(floats(n, -10.0, 10.0, true, n as u64 + 7));
        for (name, f, ulps, abs) in ops {
            let (a, b, on_gpu) = both(&f(&x), &g);
            assert_close(&a.mapv(|v| v), &b, ulps, abs, &format!("{name} n={n}"));
            assert_eq!(on_gpu > 0, n > 0, "{name} n={n}: GPU tasks {on_gpu}");
        }
        for (name, y) in [("sin", x.sin()), ("cos", x.cos()), ("tan", x.tan())] {
            let (a, b, on_gpu) = both(&y, &g);
            assert_close(&a, &b, 4.0, 0.0, &format!("{name} n={n}"));
            assert_eq!(on_gpu > 0, n > 0, "{name} n={n}: GPU tasks {on_gpu}");
        }
        let (a, b, _) = both(&x.isnan(), &g);
        assert_eq!(a, b, "isnan n={n}");
        let (a, b, _) = both(&x.isfinite(), &g);
        assert_eq!(a, b, "isfinite n={n}");
    }
    // Small arguments keep their digits in ln_1p and exp_m1.
    let tiny = arr1(vec![1e-10f32, -3e-9, 2e-7, 1e-4]);
    for (f, name) in [(Array::ln_1p as fn(&Array<f32>) -> Array<f32>, "ln_1p"), (Array::exp_m1, "exp_m1")] {
        let (a, b, _) = both(&f(&tiny), &g);
        assert_close(&a, &b, 8.0, 0.0, name);
    }
}

#[test]
fn sin_cos_tan_reduce_arguments_over_the_whole_f32_range() {
    let Some((_lock, g)) = gpu() else { return };
    // Magnitudes from 1e-30 to f32::MAX, both signs, ±0, and the f32 values nearest to
    // multiples of π/2 (where the reduction cancels most digits).
    let mut r = Rng(99);
    let mut v: Vec<f32> = (0..20000)
        .map(|_| {
            let m = 10f64.powf(-30.0 + 68.5 * r.unit()) as f32;
            if r.unit() < 0.5 { -m } else { m }
        })
        .collect();
    for k in 1..2000i64 {
        let t = k as f64 * std::f64::consts::FRAC_PI_2;
        let x = t as f32;
        v.extend([x, f32::from_bits(x.to_bits() + 1), f32::from_bits(x.to_bits() - 1), -x]);
    }
    let quarter = std::f32::consts::FRAC_PI_4;
    let around = |x: f32| [f32::from_bits(x.to_bits() - 1), x, f32::from_bits(x.to_bits() + 1)];
    v.extend(around(quarter));
    v.extend([0.0, -0.0, 2.0, 1.9999999, f32::MAX, -f32::MAX, 1e22, 8.5e37]);
    let neg_zero = v.len() - 7;
    let x = arr1(v);
    for (name, y) in [("sin", x.sin()), ("cos", x.cos()), ("tan", x.tan())] {
        let (a, b, on_gpu) = both(&y, &g);
        // A few ulps of the result, or of 1e-6 where it passes through 0 (the ulps of the
        // argument's last bit, reduced, already exceed that of the result there).
        assert_close(&a, &b, 4.0, 1e-6 * f32::EPSILON, name);
        assert!(on_gpu > 0, "{name} ran on the CPU");
        // The signs of zeros survive: sin(−0) = −0.
        if name != "cos" {
            assert!(a.iter().nth(neg_zero).is_some_and(|z| z.is_sign_negative()), "{name}(-0)");
        }
    }
}

#[test]
fn binary_f32_ops_broadcast_like_the_cpu() {
    let Some((_lock, g)) = gpu() else { return };
    type Op = (&'static str, fn(&Array<f32>, &Array<f32>) -> Array<f32>, f32);
    let ops: [Op; 8] = [
        ("add", |a, b| a + b, 0.0),
        ("sub", |a, b| a - b, 0.0),
        ("mul", |a, b| a * b, 0.0),
        ("div", |a, b| a / b, 3.0),
        ("rem", |a, b| a % b, 0.0),
        ("pow", |a, b| a.pow(b).unwrap(), 256.0),
        ("minimum", |a, b| a.minimum(b).unwrap(), 0.0),
        ("maximum", |a, b| a.maximum(b).unwrap(), 0.0),
    ];
    // b: a row of 7 with zeros, negatives, NaN and infinities, broadcast down the rows of a.
    let row = vec![0.0f32, -2.0, 3.0, f32::NAN, f32::INFINITY, -0.5, 2.5];
    let b = tessera::from_array(ArrayD::from_shape_vec(IxDyn(&[7]), row).unwrap(), [4]).unwrap();
    for n in [0usize, 1, 31, 257, 9363] {
        let data = floats(n * 7, -4.0, 4.0, true, 3 + n as u64);
        let a = tessera::from_array(
            ArrayD::from_shape_vec(IxDyn(&[n, 7]), data).unwrap(),
            tessera::Chunks::new(vec![irregular(n), vec![3, 4]]).unwrap(),
        )
        .unwrap();
        for (name, f, ulps) in ops {
            let (x, y, on_gpu) = both(&f(&a, &b), &g);
            // rem is exact on the CPU (fmod) and a − b·trunc(a/b) on the GPU: close for these magnitudes.
            let abs = if name == "rem" { 4e-6 } else { 0.0 };
            assert_close(&x, &y, ulps, abs, &format!("{name} n={n}"));
            assert_eq!(on_gpu > 0, n > 0, "{name} n={n}");
        }
        type Cmp = fn(&Array<f32>, &Array<f32>) -> tessera::Result<Array<bool>>;
        let cmps: [(&str, Cmp); 6] = [
            ("lt", |a, b| a.lt(b)),
            ("le", |a, b| a.le(b)),
            ("gt", |a, b| a.gt(b)),
            ("ge", |a, b| a.ge(b)),
            ("eq", |a, b| a.equal(b)),
            ("ne", |a, b| a.not_equal(b)),
        ];
        for (name, f) in cmps {
            let (x, y, _) = both(&f(&a, &b).unwrap(), &g);
            assert_eq!(x, y, "{name} n={n}");
        }
        let w = tessera::where_(&a.gt(&b).unwrap(), &a, 0.0f32).unwrap();
        let (x, y, _) = both(&w, &g);
        assert_close(&x, &y, 0.0, 0.0, "where");
    }
}

#[test]
fn integer_ops_wrap_and_floor_like_numpy() {
    let Some((_lock, g)) = gpu() else { return };
    let mut r = Rng(99);
    for n in [1usize, 31, 257, 65537] {
        let big: Vec<i32> = (0..n).map(|_| r.next() as i32).collect();
        let small: Vec<i32> = (0..n).map(|_| (r.next() % 21) as i32 - 10).collect();
        let (a, b) = (arr1(big), arr1(small));
        type Op = (&'static str, fn(&Array<i32>, &Array<i32>) -> Array<i32>);
        let ops: [Op; 8] = [
            ("add", |a, b| a + b),
            ("sub", |a, b| a - b),
            ("mul", |a, b| a * b),
            ("floordiv", |a, b| a / b),
            ("rem", |a, b| a % b),
            ("pow", |a, b| b.pow(&(a % 13)).unwrap()),
            ("min", |a, b| a.minimum(b).unwrap()),
            ("max", |a, b| a.maximum(b).unwrap()),
        ];
        for (name, f) in ops {
            let (x, y, on_gpu) = both(&f(&a, &b), &g);
            assert_eq!(x, y, "{name} n={n}");
            assert!(on_gpu > 0, "{name} n={n}");
        }
        for (name, y) in [("neg", -&a), ("abs", a.abs()), ("min-div", &a / -1)] {
            let (x, y, _) = both(&y, &g);
            assert_eq!(x, y, "{name} n={n}");
        }
        let (x, y, _) = both(&a.lt(&b).unwrap(), &g);
        assert_eq!(x, y, "lt n={n}");
    }
    // The corners: MIN / -1 wraps, division by zero gives 0, negative powers.
    let a = arr1(vec![i32::MIN, i32::MIN, 7, -7, 7, -7, 1, -1, 2, 0]);
    let b = arr1(vec![-1, 0, 0, 2, -2, -2, -5, -5, -1, -3]);
    for y in [&a / &b, &a % &b, a.pow(&b).unwrap(), -&a, a.abs()] {
        let (x, y, _) = both(&y, &g);
        assert_eq!(x, y);
    }
}

#[test]
fn bools_and_casts_match_the_cpu() {
    let Some((_lock, g)) = gpu() else { return };
    for n in [1usize, 127, 65537] {
        let f = arr1(floats(n, -3e9, 3e9, true, 5));
        let small = arr1(floats(n, -3.0, 3.0, true, 6));
        let (x, y, on_gpu) = both(&f.astype::<i32>(), &g);
        assert_eq!(x, y, "f32 -> i32 (saturating, NaN -> 0) n={n}");
        assert!(on_gpu > 0);
        let i = small.astype::<i32>();
        let (x, y, _) = both(&i.astype::<f32>(), &g);
        assert_eq!(x, y, "i32 -> f32");
        let p = small.gt(0.5f32).unwrap();
        let q = small.isnan().logical_or(i.equal(0).unwrap()).unwrap();
        for (name, z) in [
            ("and", p.logical_and(&q).unwrap()),
            ("or", &p | &q),
            ("not", !&p),
            ("xor", &p - &q),
            ("lt", p.lt(&q).unwrap()),
            ("ge", p.ge(&q).unwrap()),
            ("f32 -> bool", small.astype::<bool>()),
        ] {
            let (x, y, _) = both(&z, &g);
            assert_eq!(x, y, "{name} n={n}");
        }
        let (x, y, _) = both(&p.astype::<f32>(), &g);
        assert_eq!(x, y, "bool -> f32");
        let (x, y, _) = both(&tessera::where_(&p, &i, -1).unwrap(), &g);
        assert_eq!(x, y, "where");
    }
}

#[test]
fn transposed_and_strided_inputs_are_read_through_their_strides() {
    let Some((_lock, g)) = gpu() else { return };
    let data = floats(37 * 300, -5.0, 5.0, true, 11);
    let x = tessera::from_array(ArrayD::from_shape_vec(IxDyn(&[37, 300]), data).unwrap(), [10, 128]).unwrap();
    let t = x.transpose();
    let ys = [
        &t * 2.0f32 + t.abs().sqrt(),
        x.slice(&sl![(None, None, 2), (Some(-1), None, -3)]).unwrap() + 1.0f32,
        &x.slice(&sl![SliceArg::full(), (Some(5), Some(6), 1)]).unwrap() * &x,
    ];
    for (k, y) in ys.iter().enumerate() {
        let (a, b, on_gpu) = both(y, &g);
        // Terms up to 10 in size (Vulkan allows sqrt 3 ulp, and fma contraction): the error is
        // ulps of the terms, not of a result that cancels.
        assert_close(&a, &b, 3.0, 4.0 * f32::EPSILON * 10.0, &format!("case {k}"));
        assert!(on_gpu > 0, "case {k}");
    }
}

/// Compare GPU and CPU results of a reduction (f64 results: within `rtol`, NaN for NaN).
#[test]
fn f64_runs_exact_ops_on_the_gpu_and_transcendentals_on_the_cpu() {
    let Some((_lock, g)) = gpu() else { return };
    if !tessera::gpu::devices()[0].shader_f64 {
        eprintln!("notice: adapter without SHADER_F64; f64 tasks run on the CPU");
    }
    let f64_on_gpu = tessera::gpu::devices()[0].shader_f64;
    let v: Vec<f64> =
        floats(65537, -1e3, 1e3, true, 31).into_iter().map(|x| x as f64 * 1.000000123).collect();
    let x = arr1(v);
    // + − × ÷ sqrt min max are correctly rounded in f64 on the adapters we know, but a
    // compiler may fuse x * 3 − 1.5 into one fma: a few ulps of the terms (|3x| ≤ 3e3; the
    // + 1 keeps sqrt's slope ≤ ½), far below what a broken f64 unit returns.
    let exact = ((&x * 3.0 - 1.5).abs() + 1.0).sqrt().maximum(&(&x / 7.0)).unwrap();
    let (a, b, on_gpu) = both(&exact, &g);
    let close = |p: f64, q: f64| {
        (p - q).abs() <= 4.0 * f64::EPSILON * (3e3 + q.abs()) || (p.is_nan() && q.is_nan()) || p == q
    };
    let bad = a.iter().zip(&b).position(|(&p, &q)| !close(p, q));
    assert!(bad.is_none(), "f64 arithmetic differs from the CPU at {bad:?}");
    assert_eq!(on_gpu > 0, f64_on_gpu);
    let (a, b, _) = both(&x.isnan().logical_or(x.isfinite().logical_not()).unwrap(), &g);
    assert_eq!(a, b, "f64 isnan / isfinite");
    // exp of f64 is not available on Vulkan GPUs (GLSL.std.450 has 32-bit exp only): CPU.
    let (a, b, on_gpu) = both(&x.exp(), &g);
    assert_eq!(on_gpu, 0);
    assert!(a.iter().zip(&b).all(|(p, q)| p.to_bits() == q.to_bits()));
    let (a, b, _) = both(&x.nansum(0).unwrap(), &g);
    let (p, q) = (a.into_iter().next().unwrap(), b.into_iter().next().unwrap());
    // The data hold both infinities: both sums are NaN.
    assert!((p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-12 * q.abs(), "f64 nansum: {p} vs {q}");
    let (a, b, _) = both(&(&x * 1e-3).clip(-1.0, 1.0).unwrap().nansum(0).unwrap(), &g);
    let (p, q) = (a.into_iter().next().unwrap(), b.into_iter().next().unwrap());
    assert!((p - q).abs() <= 1e-12 * q.abs().max(1.0), "f64 nansum of clipped values: {p} vs {q}");
}

#[test]
fn pipelines_are_compiled_once_and_buffers_pooled() {
    let Some((_lock, g)) = gpu() else { return };
    let x = tessera::from_array(ArrayD::from_elem(IxDyn(&[1000, 50]), 1.5f32), [300, 50]).unwrap();
    let y = (&x * 2.5f32 - 1.0f32).sum(1).unwrap();
    y.compute_with(&g).unwrap();
    let pipelines = tessera::gpu::stats(0).unwrap().pipelines;
    for _ in 0..3 {
        let r = y.compute_with(&g).unwrap();
        assert!(r.iter().all(|&v| v == 137.5), "(1.5 × 2.5 − 1) × 50");
    }
    let st = tessera::gpu::stats(0).unwrap();
    assert_eq!(pipelines, st.pipelines, "the same kernels compiled again");
    assert!(st.pooled_bytes > 0, "no buffer went back to the pool");
}

#[test]
fn gpu_results_stay_on_the_gpu_for_the_next_gpu_task() {
    let Some((_lock, g)) = gpu() else { return };
    let x = tessera::random::uniform::<f32>(8, &[512, 256], [128, 256]).unwrap();
    let a = (&x * 2.0f32 + 1.0f32).sqrt();
    let s = a.sum(1).unwrap();
    let run = |opts: &ComputeOptions| {
        let before = tessera::gpu::stats(0).unwrap().uploaded_bytes;
        let outs = tessera::compute_many(&[&a, &s], opts).unwrap();
        (outs, tessera::gpu::stats(0).unwrap().uploaded_bytes - before)
    };
    let want = tessera::compute_many(&[&a, &s], &cpu()).unwrap();
    // `a`'s blocks are outputs and the sum's inputs: the sum reads them where they are.
    let (outs, uploaded) = run(&g);
    assert_eq!(uploaded, 512 * 256 * 4, "only x is uploaded");
    // With no room on the GPU, results come back at once and the sum uploads them again.
    let (outs0, uploaded0) = run(&g.clone().gpu_memory_budget(0));
    assert_eq!(uploaded0, 2 * 512 * 256 * 4);
    for o in [&outs, &outs0] {
        assert_close(
            &o[0].clone().into_typed::<f32>().unwrap(),
            &want[0].clone().into_typed::<f32>().unwrap(),
            3.0,
            0.0,
            "a",
        );
        assert_close(
            &o[1].clone().into_typed::<f32>().unwrap(),
            &want[1].clone().into_typed::<f32>().unwrap(),
            0.0,
            1e-3,
            "sum",
        );
    }
    assert_eq!(tessera::gpu::stats(0).unwrap().resident_bytes, 0, "blocks left on the GPU after the compute");
}

/// `|GPU − CPU| ≤ 4·k·ε·(|A|·|B|)` for every element of a product with inner size `k`.

#[test]
fn reduction_trees_combine_on_the_gpu_and_read_back_once() {
    let Some((_lock, g)) = gpu() else { return };
    let x = tessera::random::uniform::<f32>(9, &[400, 300], [25, 30]).unwrap();
    let s = (&x * 2.0f32).nanmean(tessera::Axes::All).unwrap();
    let (a, rep) = s.compute_report(&g).unwrap();
    let b = s.compute_with(&cpu()).unwrap();
    assert_close(&a, &b, 16.0, 0.0, "nanmean");
    // 160 partials and the combine tree run on the GPU; only the finalize reads back.
    assert_eq!(rep.gpu_tasks, rep.tasks_run - 1, "{rep:?}");
}

#[test]
fn blocks_larger_than_a_binding_are_split_on_the_gpu() {
    let Some((_lock, g)) = gpu() else { return };
    let limit = tessera::gpu::devices()[0].max_binding_size as usize;
    // One f32 block just over the adapter's largest storage binding (128 MiB on lavapipe).
    let n = limit / 4 + 1024;
    if n > 300 << 20 {
        eprintln!("notice: binding limit {limit} too large to test here");
        return;
    }
    let x = tessera::ones::<f32>(&[n], [n]).unwrap();
    let (s, rep) = (&x * 3.0f32).sum(0).unwrap().compute_report(&g).unwrap();
    assert_eq!(s.into_iter().next(), Some(3.0 * n as f32));
    assert_eq!(rep.gpu_tasks, 1, "the block over the binding limit ran on the GPU in pieces");
    let (e, rep) = (&x * 3.0f32).compute_report(&g).unwrap();
    assert!(e.iter().all(|&v| v == 3.0));
    assert_eq!(rep.gpu_tasks, 1);
    // Split into blocks that fit, the same graph runs on the GPU.
    let y = tessera::ones::<f32>(&[n], [n / 2 + 1]).unwrap();
    let (s, rep) = (&y * 3.0f32).sum(0).unwrap().compute_report(&g).unwrap();
    assert_eq!(s.into_iter().next(), Some(3.0 * n as f32));
    assert!(rep.gpu_tasks > 0);
}

#[test]
fn device_out_of_memory_evicts_then_falls_back_to_the_cpu() {
    let Some((_lock, g)) = gpu() else { return };
    let g = g.scheduler(tessera::SchedulerKind::Sync);
    let x = tessera::random::uniform::<f32>(12, &[256, 256], [128, 256]).unwrap();
    let a = (&x * 2.0f32 + 1.0f32).sqrt();
    let b = (&a * 3.0f32).exp();
    let want = tessera::compute_many(&[&a, &b], &cpu()).unwrap();
    let check = |outs: &[tessera::block::HostArray]| {
        for (o, w) in outs.iter().zip(&want) {
            let (o, w) = (o.clone().into_typed::<f32>().unwrap(), w.clone().into_typed::<f32>().unwrap());
            assert_close(&o, &w, 64.0, 0.0, "after out-of-memory");
        }
    };
    // The second submission fails: `a`'s first block is on the GPU, gets evicted to the host,
    // and the retry reads it from there. Every task still runs on the GPU.
    tessera::testing::inject_out_of_memory(0, 1, 1).unwrap();
    let before = tessera::gpu::stats(0).unwrap().evicted_bytes;
    let (outs, rep) = tessera::compute_many_report(&[&a, &b], &g).unwrap();
    check(&outs);
    assert_eq!(rep.gpu_tasks, 4, "{rep:?}");
    assert_eq!(
        tessera::gpu::stats(0).unwrap().evicted_bytes - before,
        128 * 256 * 4,
        "a's first block evicted"
    );
    // A GPU that keeps failing: the tasks run on the CPU, with a warning, and nothing is lost.
    tessera::testing::inject_out_of_memory(0, 0, 1000).unwrap();
    let (outs, rep) = tessera::compute_many_report(&[&a, &b], &g).unwrap();
    tessera::testing::inject_out_of_memory(0, 0, 0).unwrap();
    check(&outs);
    assert_eq!(rep.gpu_tasks, 0);
}

#[test]
fn the_kernel_probe_measures_every_kernel() {
    let Some((_lock, _)) = gpu() else { return };
    let rates = tessera::gpu::kernel_rates(0, 1 << 14, 64, 1).unwrap();
    for name in ["buffer copy", "FMA", "fused", "sum of all", "nanmean over axis 0", "gemm tile"] {
        assert!(rates.iter().any(|r| r.name.contains(name)), "no {name} in {rates:?}");
    }
    for r in &rates {
        assert!(r.seconds.is_finite() && r.seconds > 0.0, "{r:?}");
        assert!(r.bytes > 0.0 || r.flops > 0.0 || r.name.contains("tiny"), "{r:?}");
    }
}
