//! The memory budget, spilling, and the run diagnostics (profile, predicted peak).

mod common;

use proptest::prelude::*;
use tessera::prelude::*;
use tessera::{Error, Progress};

/// `x - x.mean(0)` over a computed `x`: every block of a column of blocks must be held (or
/// spilled) until the column's mean is known.
fn centred(rows: usize, cols: usize, chunk: usize, seed: u64) -> Array<f64> {
    let x = tessera::random::normal::<f64>(seed, &[rows, cols], [chunk, chunk], 0.0, 1.0).unwrap();
    let x = (&x * 3.0).exp().sqrt();
    let m = x.mean_with([0], &ReduceOptions::default().keepdims(true)).unwrap();
    &x - &m
}

fn opts(kind: SchedulerKind) -> ComputeOptions {
    ComputeOptions::default().scheduler(kind).progress(Progress::Off)
}

#[test]
fn a_budget_ten_times_smaller_than_the_data_spills_and_gives_the_same_result() {
    let y = centred(2000, 400, 100, 7);
    let data = 2000 * 400 * 8;
    for kind in [SchedulerKind::Sync, SchedulerKind::Threaded] {
        let free = y.compute_with(&opts(kind)).unwrap();
        let budget = data / 10;
        let (tight, report) = y.compute_report(&opts(kind).memory_budget(budget)).unwrap();
        assert_eq!(free, tight, "{kind:?}");
        assert!(report.spilled_bytes > 0, "{kind:?}: nothing spilled: {report:?}");
        assert!(report.peak_bytes <= budget, "{kind:?}: held {} > budget {budget}", report.peak_bytes);
        assert_eq!(report.budget_bytes, budget);
    }
}

#[test]
fn without_pressure_nothing_spills() {
    let y = centred(400, 400, 100, 3);
    let (_, report) = y.compute_report(&opts(SchedulerKind::Threaded)).unwrap();
    assert_eq!(report.spilled_bytes, 0);
    assert!(report.peak_bytes > 0);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn accounting_never_exceeds_the_budget(
        rows in 1usize..600, cols in 1usize..120, chunk in 10usize..80, div in 2usize..20, seed in 0u64..100
    ) {
        let y = centred(rows, cols, chunk, seed);
        let free = y.compute_with(&opts(SchedulerKind::Sync)).unwrap();
        // Each of the (two) workers may be running its largest task at once.
        let need = y.plan().min_working_set().0;
        let budget = (rows * cols * 8 / div).max(2 * need);
        for kind in [SchedulerKind::Sync, SchedulerKind::Threaded] {
            let (tight, report) = y.compute_report(&opts(kind).memory_budget(budget)).unwrap();
            prop_assert_eq!(&free, &tight);
            prop_assert!(report.peak_bytes <= budget, "{:?}: {} > {}", kind, report.peak_bytes, budget);
        }
    }
}

#[test]
fn a_budget_below_one_task_is_refused_before_running() {
    let x = tessera::ones::<f64>(&[1000, 1000], [500, 500]).unwrap();
    let err = (&x + 1.0).compute_with(&opts(SchedulerKind::Threaded).memory_budget(1000)).unwrap_err();
    match err {
        Error::MemoryBudget { needed, budget, .. } => {
            assert_eq!(budget, 1000);
            assert!(needed >= 500 * 500 * 8, "{needed}");
        }
        e => panic!("expected MemoryBudget, got {e}"),
    }
    let msg =
        (&x + 1.0).compute_with(&opts(SchedulerKind::Sync).memory_budget(1000)).unwrap_err().to_string();
    assert!(msg.contains("memory budget"), "{msg}");
}

#[test]
fn a_spill_directory_that_cannot_be_made_is_an_error() {
    let y = centred(1000, 100, 50, 1);
    let o = opts(SchedulerKind::Threaded).memory_budget(100_000).spill_dir("/proc/tessera-cannot-be-here");
    let msg = y.compute_with(&o).unwrap_err().to_string();
    assert!(msg.contains("/proc/tessera-cannot-be-here"), "{msg}");
    // The pool and the process are fine afterwards.
    assert!(y.compute_with(&opts(SchedulerKind::Threaded)).is_ok());
}

#[test]
fn spill_files_are_removed_after_the_compute() {
    let dir = std::env::temp_dir().join(format!("tessera-spill-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let y = centred(2000, 100, 50, 2);
    let (_, report) =
        y.compute_report(&opts(SchedulerKind::Threaded).memory_budget(200_000).spill_dir(&dir)).unwrap();
    assert!(report.spilled_bytes > 0);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "spill files left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn predicted_peak_and_working_set() {
    let x = tessera::random::uniform::<f64>(1, &[1000, 1000], [100, 100]).unwrap();
    let g = (&x + 1.0).sum(Axes::All).unwrap().plan();
    let (ws, t) = g.min_working_set();
    // A block read inside its task is the largest need.
    assert_eq!(ws, 100 * 100 * 8 + g.tasks[t.unwrap()].out_bytes);
    let peak = g.predicted_peak_bytes();
    assert!(peak >= ws && peak < 10 * ws, "{peak} vs {ws}");
}

#[test]
fn the_profile_has_every_task_and_exports_a_chrome_trace() {
    let y = centred(400, 400, 100, 5);
    for kind in [SchedulerKind::Sync, SchedulerKind::Threaded] {
        let (_, report) = y.compute_report(&opts(kind).profile(true)).unwrap();
        let p = report.profile.expect("profile requested");
        assert_eq!(p.tasks.len(), report.tasks_run);
        assert!(p.tasks.iter().all(|t| t.device == "cpu" && !t.label.is_empty()));
        let json = p.to_chrome_trace();
        assert!(json.starts_with("{\"traceEvents\":[{\"name\":"), "{}", &json[..80]);
        assert_eq!(json.matches("\"ph\":\"X\"").count(), report.tasks_run);
    }
    let (_, report) = y.compute_report(&opts(SchedulerKind::Threaded)).unwrap();
    assert!(report.profile.is_none());
}
