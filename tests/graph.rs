//! The graph and the schedulers: sharing, DOT, failures, random graphs on both schedulers,
//! map_blocks and rechunk.

mod common;

use common::*;
use ndarray::ArrayD;
use proptest::prelude::*;
use tessera::prelude::*;

#[test]
fn compute_many_shares_common_subgraphs() {
    let x = tessera::random::uniform::<f64>(5, &[200, 300], [50, 100]).unwrap();
    let y = (&x * 3.0).exp();
    let a = y.sum(0).unwrap();
    let b = y.max(Axes::All).unwrap();
    let together = tessera::plan_many(&[&a, &b], &ComputeOptions::default());
    // y has two consumers: its blocks become tasks of their own, each computed once.
    let y_tasks = together.tasks.iter().filter(|t| &*t.node == "exp").count();
    assert_eq!(y_tasks, y.nblocks());
    // Planned alone, each reduction fuses its own copy of y into its partials.
    assert_eq!(a.plan().tasks.iter().filter(|t| &*t.node == "exp").count(), 0);
    let r = tessera::compute_many(&[&a, &b], &ComputeOptions::default()).unwrap();
    assert_eq!(r[0].clone().into_typed::<f64>().unwrap(), a.compute().unwrap());
    assert_eq!(r[1].clone().into_typed::<f64>().unwrap(), b.compute().unwrap());
}

#[test]
fn dot_export_names_tasks() {
    let x = tessera::ones::<f32>(&[4, 4], [2, 2]).unwrap();
    let dot = (&x + 1.0f32).sum(0).unwrap().to_dot();
    assert!(dot.starts_with("digraph"));
    assert!(dot.contains("fused-reduce-partial") && dot.contains("reduce-finalize"), "{dot}");
    assert!(dot.contains(" -> "));
}

#[test]
fn failing_and_panicking_tasks_become_errors_and_the_pool_survives() {
    let x = tessera::arange(0.0f64, 100.0, 1.0, [10]).unwrap();
    let bad = x
        .map_blocks_with(x.chunks().clone(), |b, info| {
            if info.index == vec![3] {
                Err(Error::InvalidArgument("block three is cursed".into()))
            } else {
                Ok(b.to_owned())
            }
        })
        .unwrap();
    let panicky = x.map_blocks(|b| {
        if b[0] == 50.0 {
            panic!("boom at fifty");
        }
        b.to_owned()
    });
    for kind in [SchedulerKind::Sync, SchedulerKind::Threaded] {
        let opts = ComputeOptions::default().scheduler(kind);
        let e = bad.sum(Axes::All).unwrap().compute_with(&opts).unwrap_err().to_string();
        assert!(e.contains("map_blocks") && e.contains("(3)") && e.contains("cursed"), "{e}");
        let e = panicky.as_ref().unwrap().compute_with(&opts).unwrap_err().to_string();
        assert!(e.contains("panicked") && e.contains("boom at fifty") && e.contains("(5)"), "{e}");
        // The cause is kept as the error's source (a boxed Error), as an error, not only text.
        let cause_of = |e: &Error| {
            std::error::Error::source(e).and_then(|c| c.downcast_ref::<Box<Error>>()).map(|b| (**b).clone())
        };
        let e = bad.compute_with(&opts).unwrap_err();
        assert!(matches!(cause_of(&e), Some(Error::InvalidArgument(m)) if m.contains("cursed")), "{e:?}");
        let e = panicky.as_ref().unwrap().compute_with(&opts).unwrap_err();
        assert!(matches!(cause_of(&e), Some(Error::Panicked(m)) if m.contains("boom at fifty")), "{e:?}");
        // The same options still compute.
        assert_eq!(x.sum(Axes::All).unwrap().compute_with(&opts).unwrap().sum(), 4950.0);
    }
}

#[test]
fn map_blocks_checks_declared_shapes() {
    let x = tessera::ones::<f64>(&[6, 4], [3, 4]).unwrap();
    // Declared: each block keeps its rows and one column.
    let c = Chunks::new(vec![vec![3, 3], vec![1]]).unwrap();
    let y =
        x.map_blocks_with(c, |b, _| Ok(b.sum_axis(ndarray::Axis(1)).insert_axis(ndarray::Axis(1)))).unwrap();
    assert_eq!(y.compute().unwrap(), ArrayD::from_elem(vec![6, 1], 4.0));
    let wrong = x.map_blocks(|b| b.sum_axis(ndarray::Axis(0))).unwrap();
    let e = wrong.compute().unwrap_err().to_string();
    assert!(e.contains("declared"), "{e}");
    let grid = Chunks::new(vec![vec![6], vec![4]]).unwrap();
    assert!(x.map_blocks_with(grid, |b, _| Ok(b.to_owned())).is_err(), "block grid differs");
}

/// A random expression over three arrays with the same shape and different chunks.
#[derive(Debug, Clone)]
enum E {
    Leaf(usize),
    Add(Box<E>, Box<E>),
    Mul(Box<E>, Box<E>),
    Exp(Box<E>),
    Sub(Box<E>, f32),
    Where(Box<E>, Box<E>),
}

fn expr() -> impl Strategy<Value = E> {
    let leaf = (0usize..3).prop_map(E::Leaf);
    leaf.prop_recursive(5, 24, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| E::Add(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| E::Mul(Box::new(a), Box::new(b))),
            inner.clone().prop_map(|a| E::Exp(Box::new(a))),
            (inner.clone(), -2.0f32..2.0).prop_map(|(a, s)| E::Sub(Box::new(a), s)),
            (inner.clone(), inner).prop_map(|(a, b)| E::Where(Box::new(a), Box::new(b))),
        ]
    })
}

fn build(e: &E, xs: &[Array<f32>]) -> Array<f32> {
    match e {
        E::Leaf(i) => xs[*i].clone(),
        E::Add(a, b) => &build(a, xs) + &build(b, xs),
        E::Mul(a, b) => &build(a, xs) * &build(b, xs),
        E::Exp(a) => (&build(a, xs) * 0.1f32).exp(),
        E::Sub(a, s) => &build(a, xs) - *s,
        E::Where(a, b) => {
            let (a, b) = (build(a, xs), build(b, xs));
            tessera::where_(&a.gt(&b).unwrap(), &a, &b).unwrap()
        }
    }
}

fn eval(e: &E, xs: &[ArrayD<f32>]) -> ArrayD<f32> {
    match e {
        E::Leaf(i) => xs[*i].clone(),
        E::Add(a, b) => eval(a, xs) + eval(b, xs),
        E::Mul(a, b) => eval(a, xs) * eval(b, xs),
        E::Exp(a) => eval(a, xs).mapv(|v| (v * 0.1).exp()),
        E::Sub(a, s) => eval(a, xs).mapv(|v| v - *s),
        E::Where(a, b) => {
            let (a, b) = (eval(a, xs), eval(b, xs));
            ndarray::Zip::from(&a).and(&b).map_collect(|&p, &q| if p > q { p } else { q })
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random graphs: fused expressions, a reduction and a slice; threaded equals sync bit
    /// for bit, and both equal the eager reference.
    #[test]
    fn random_graphs_threaded_equals_sync(
        s in shape(), e in expr(), seed in 0u64..1000, axes_mask in any::<u8>(),
    ) {
        let cs: Vec<Chunks> = (0..3).map(|k| {
            let sizes: Vec<usize> = s.iter().map(|&n| (n / (k + 2)).max(1)).collect();
            Chunks::uniform(&s, &sizes).unwrap()
        }).collect();
        let xs: Vec<Array<f32>> = (0..3).map(|k| tessera::random::normal::<f32>(seed + k as u64, &s, cs[k].clone(), 0.0, 1.0).unwrap()).collect();
        let eager: Vec<ArrayD<f32>> = xs.iter().map(|x| x.compute().unwrap()).collect();
        let y = build(&e, &xs);
        let want = eval(&e, &eager);
        let got = compute_checked(&y);
        prop_assert!(got.iter().zip(want.iter()).all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())));
        let axes: Vec<isize> = (0..s.len()).filter(|d| axes_mask & (1 << d) != 0).map(|d| d as isize).collect();
        let r = y.sum(Axes::List(axes)).unwrap();
        compute_checked(&r);
    }

    #[test]
    fn rechunk_round_trips((a, c) in array_case(true), seed in any::<u64>()) {
        let x = tessera::from_array(a.clone(), c).unwrap();
        let target: Vec<usize> = a.shape().iter().enumerate().map(|(i, &n)| 1 + (seed as usize >> (i * 8)) % (n + 2)).collect();
        let y = x.rechunk(target.as_slice()).unwrap();
        prop_assert!(same_f64(&compute_checked(&y), &a));
        prop_assert!(same_f64(&compute_checked(&(&y + &x)), &(&a + &a)));
    }
}

#[test]
fn rechunk_to_same_chunks_vanishes() {
    let x = tessera::ones::<f64>(&[10, 10], [5, 5]).unwrap();
    let y = x.rechunk([5, 5]).unwrap();
    assert!(tessera::testing::same_node(&x, &y));
}

#[test]
fn default_options_are_process_wide() {
    let before = ComputeOptions::global();
    tessera::set_default_options(ComputeOptions::default().scheduler(SchedulerKind::Sync));
    assert_eq!(ComputeOptions::global().scheduler, SchedulerKind::Sync);
    // Default stays the built-in defaults: options built from it do not depend on a global.
    assert_eq!(ComputeOptions::default().scheduler, SchedulerKind::Threaded);
    tessera::set_default_options(before);
}

#[test]
fn asking_for_a_missing_gpu_is_a_clear_error() {
    let x = tessera::ones::<f32>(&[10], [5]).unwrap();
    let e = x.compute_with(&ComputeOptions::default().device(Device::Gpu(99))).unwrap_err();
    assert!(matches!(e, Error::BackendUnavailable(_)), "{e}");
    assert!(e.to_string().contains("mesa-vulkan-drivers"), "{e}");
    // Auto runs on the CPU when there is no hardware GPU.
    assert_eq!(x.compute_with(&ComputeOptions::default().device(Device::Auto)).unwrap().sum(), 10.0);
}

#[test]
fn rechunk_is_pushed_into_sources_and_through_elementwise_ops() {
    let x = tessera::random::uniform::<f64>(3, &[400, 400], [400, 10]).unwrap();
    let y = (&x * 2.0 + 1.0).rechunk([10, 400]).unwrap();
    let g = y.sum(Axes::All).unwrap().plan();
    assert!(
        g.tasks.iter().all(|t| t.kernel_name() != "assemble"),
        "no assembled blocks: each reads its own region"
    );
    let direct = (&x * 2.0 + 1.0).sum(Axes::All).unwrap().item().unwrap();
    let via = y.sum(Axes::All).unwrap().item().unwrap();
    assert!((direct - via).abs() < 1e-9 * direct.abs());
    // A computed node still rechunks by assembling pieces.
    let z = x.cumsum(0).unwrap().rechunk([10, 400]).unwrap();
    assert!(z.plan().tasks.iter().any(|t| t.kernel_name() == "assemble"));
    assert_eq!(z.compute().unwrap(), x.cumsum(0).unwrap().compute().unwrap());
}
