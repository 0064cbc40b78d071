//! Delayed tasks: calls, sharing, bridges to arrays, explicit graphs, failures, random DAGs.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::ArrayD;
use proptest::prelude::*;
use tessera::delayed::{self, Delayed, GraphSpec};
use tessera::prelude::*;

#[test]
fn calls_build_tasks_and_shared_tasks_run_once() {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let slow = delayed::wrap1("slow", |x: &i64| {
        CALLS.fetch_add(1, Ordering::SeqCst);
        x * 2
    });
    let add = delayed::wrap2("add", |a: &i64, b: &i64| a + b);
    let s = slow.call(21);
    let y = add.call(&s, &s);
    let z = add.call(&y, 1);
    assert_eq!(CALLS.load(Ordering::SeqCst), 0, "nothing runs before compute");
    for kind in [SchedulerKind::Sync, SchedulerKind::Threaded] {
        CALLS.store(0, Ordering::SeqCst);
        let r = delayed::compute_all(&[&y, &z], &ComputeOptions::default().scheduler(kind)).unwrap();
        assert_eq!((*r[0], *r[1]), (84, 85));
        assert_eq!(CALLS.load(Ordering::SeqCst), 1, "the shared task ran once");
    }
    let v = delayed::gather("all", &[y.clone(), z.clone(), s.map("neg", |x| -x)]);
    assert_eq!(v.compute().unwrap(), vec![84, 85, -42]);
    let dot = z.to_dot();
    assert!(dot.contains("\"slow\"") && dot.contains("\"add\""), "{dot}");
}

#[test]
fn bridges_mix_delayed_steps_with_array_ops() {
    let a = ndarray::Array2::from_shape_fn((7, 5), |(i, j)| (i * 5 + j) as f64).into_dyn();
    let x = tessera::from_array(a.clone(), [3, 2]).unwrap();
    let twice = delayed::wrap1("twice", |b: &ArrayD<f64>| b.mapv(|v| v * 2.0));
    let blocks: Vec<Delayed<ArrayD<f64>>> = x.to_delayed().iter().map(|b| twice.call(b)).collect();
    assert_eq!(blocks.len(), x.nblocks());
    let y = Array::from_delayed(&blocks, x.chunks().clone()).unwrap();
    let total = (&y + 1.0).sum(Axes::All).unwrap().item().unwrap();
    assert_eq!(total, a.mapv(|v| v * 2.0 + 1.0).sum());
    assert_eq!(y.compute().unwrap(), a.mapv(|v| v * 2.0));
    // A block of the wrong shape is caught, naming the array.
    let bad: Vec<Delayed<ArrayD<f64>>> =
        (0..x.nblocks()).map(|_| delayed::value("b", ArrayD::zeros(vec![1, 1]))).collect();
    let e = Array::from_delayed(&bad, x.chunks().clone()).unwrap().compute().unwrap_err().to_string();
    assert!(e.contains("from_delayed") && e.contains("declared"), "{e}");
    assert!(Array::<f64>::from_delayed(&bad[..2], x.chunks().clone()).is_err());
}

#[test]
fn failures_name_the_task_and_stop_dependents() {
    static AFTER: AtomicUsize = AtomicUsize::new(0);
    let bad = delayed::try_wrap1("parse-file-3", |_: &i64| -> tessera::Result<i64> {
        Err(Error::InvalidArgument("corrupt header".into()))
    });
    let boom = delayed::wrap1("explode", |x: &i64| -> i64 {
        if *x > 0 { panic!("kaboom {x}") } else { 0 }
    });
    let after = delayed::wrap1("after", |x: &i64| {
        AFTER.fetch_add(1, Ordering::SeqCst);
        *x
    });
    for kind in [SchedulerKind::Sync, SchedulerKind::Threaded] {
        let opts = ComputeOptions::default().scheduler(kind);
        let e = after.call(bad.call(1)).compute_with(&opts).unwrap_err();
        assert!(matches!(&e, Error::TaskFailed { task, .. } if task == "parse-file-3"), "{e}");
        assert!(e.to_string().contains("corrupt header"));
        let e = after.call(boom.call(7)).compute_with(&opts).unwrap_err().to_string();
        assert!(e.contains("explode") && e.contains("kaboom 7"), "{e}");
        assert_eq!(AFTER.load(Ordering::SeqCst), 0, "dependents of a failed task never run");
        // The same options still work.
        assert_eq!(after.call(boom.call(0)).compute_with(&opts).unwrap(), 0);
        AFTER.store(0, Ordering::SeqCst);
    }
}

#[test]
fn graph_spec_validates_before_running() {
    static RAN: AtomicUsize = AtomicUsize::new(0);
    let mut g = GraphSpec::new();
    g.value("a", 1i64);
    g.task("b", &["a"], |v| {
        RAN.fetch_add(1, Ordering::SeqCst);
        Ok(Arc::new(v[0].downcast_ref::<i64>().unwrap() + 1))
    });
    g.task("c", &["b", "nope"], |v| Ok(v[0].clone()));
    let e = g.compute(&["c"], &Default::default()).unwrap_err().to_string();
    assert!(e.contains("\"c\"") && e.contains("\"nope\""), "{e}");
    assert!(g.compute(&["zzz"], &Default::default()).is_err());
    g.task("nope", &["c"], |v| Ok(v[0].clone()));
    let e = g.compute(&["c"], &Default::default()).unwrap_err().to_string();
    assert!(e.contains("cycle") && e.contains("c -> nope -> c"), "{e}");
    assert_eq!(RAN.load(Ordering::SeqCst), 0, "nothing ran");
    let dot = g.to_dot(&["b"]).unwrap();
    assert!(dot.contains("\"a\"") && dot.contains("\"b\""));
}

#[test]
fn deep_chains_do_not_overflow_the_stack() {
    let inc = delayed::wrap1("inc", |x: &u64| x + 1);
    let mut x = delayed::value("zero", 0u64);
    for _ in 0..20_000 {
        x = inc.call(&x);
    }
    assert_eq!(x.compute().unwrap(), 20_000);
    assert_eq!(x.compute_with(&ComputeOptions::default().scheduler(SchedulerKind::Sync)).unwrap(), 20_000);
    drop(x);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random DAGs: node i depends on a random subset of earlier nodes; both schedulers equal
    /// an eager evaluation.
    #[test]
    fn random_dags_match_eager(deps in proptest::collection::vec(proptest::collection::vec(any::<prop::sample::Index>(), 0..4), 1..60)) {
        let mut eager: Vec<u64> = Vec::new();
        let mut nodes: Vec<Delayed<u64>> = Vec::new();
        let mut spec = GraphSpec::new();
        for (i, d) in deps.iter().enumerate() {
            let parents: Vec<usize> = if i == 0 { vec![] } else { d.iter().map(|ix| ix.index(i)).collect() };
            let v = parents.iter().fold(i as u64 + 1, |acc, &p| acc.wrapping_mul(31).wrapping_add(eager[p]));
            eager.push(v);
            let inputs: Vec<Delayed<u64>> = parents.iter().map(|&p| nodes[p].clone()).collect();
            let k = i as u64 + 1;
            let node = delayed::gather(&format!("g{i}"), &inputs).map(&format!("n{i}"), move |xs: &Vec<u64>| {
                xs.iter().fold(k, |acc, &x| acc.wrapping_mul(31).wrapping_add(x))
            });
            nodes.push(node);
            let names: Vec<String> = parents.iter().map(|p| format!("n{p}")).collect();
            let refs: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
            spec.task(&format!("n{i}"), &refs, move |vals| {
                Ok(Arc::new(vals.iter().fold(k, |acc, x| acc.wrapping_mul(31).wrapping_add(*x.downcast_ref::<u64>().unwrap()))))
            });
        }
        let all: Vec<&Delayed<u64>> = nodes.iter().collect();
        for kind in [SchedulerKind::Sync, SchedulerKind::Threaded] {
            let opts = ComputeOptions::default().scheduler(kind).workers(3);
            let got: Vec<u64> = delayed::compute_all(&all, &opts).unwrap().iter().map(|v| **v).collect();
            prop_assert_eq!(&got, &eager);
            let keys: Vec<String> = (0..deps.len()).map(|i| format!("n{i}")).collect();
            let refs: Vec<&str> = keys.iter().map(|s| s.as_str()).collect();
            let got: Vec<u64> = spec.compute(&refs, &opts).unwrap().iter().map(|v| *v.downcast_ref::<u64>().unwrap()).collect();
            prop_assert_eq!(&got, &eager);
        }
    }
}
