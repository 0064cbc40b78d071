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
        // Each of the (two) workers may be running its largest task at once, and the mean's
        // partial states (never spilled: opaque, a few bytes per column) need a little room.
        let need = y.plan().min_working_set().0;
        let budget = (rows * cols * 8 / div).max(2 * need + need / 2);
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
    // While the compute runs, the spill file is already unlinked (a killed process leaves
    // nothing); directories the spill directory needed are removed after it.
    static SEEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let deep = dir.join("a").join("b");
    let look = dir.clone();
    let probe = y
        .map_blocks(move |b| {
            let n = walk_count(&look);
            SEEN.fetch_max(n, std::sync::atomic::Ordering::Relaxed);
            b.to_owned()
        })
        .unwrap();
    let (_, report) =
        probe.compute_report(&opts(SchedulerKind::Threaded).memory_budget(200_000).spill_dir(&deep)).unwrap();
    assert!(report.spilled_bytes > 0);
    assert_eq!(SEEN.load(std::sync::atomic::Ordering::Relaxed), 0, "a spill file was visible");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "the directories made for spilling stay");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Files under `d`, recursively.
fn walk_count(d: &std::path::Path) -> usize {
    std::fs::read_dir(d)
        .map(|r| r.flatten().map(|e| if e.path().is_dir() { walk_count(&e.path()) } else { 1 }).sum())
        .unwrap_or(0)
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

/// `x * 2` over random `x` in `chunks`, computed by `map_blocks`: nothing for a rechunk to be
/// pushed into, so the rechunk planner has to assemble the new blocks.
fn computed(shape: &[usize], chunks: &[usize], seed: u64) -> Array<f64> {
    let x = tessera::random::uniform::<f64>(seed, shape, chunks).unwrap();
    x.map_blocks(|b| b.mapv(|v| v * 2.0)).unwrap()
}

/// Each assembly task's inputs and result, in bytes, and the most of them.
fn worst_assembly(g: &tessera::TaskGraph) -> usize {
    g.tasks
        .iter()
        .filter(|t| t.kernel_name() == "assemble")
        .map(|t| t.out_bytes + t.inputs.iter().map(|&i| g.tasks[i].out_bytes).sum::<usize>())
        .max()
        .unwrap_or(0)
}

#[test]
fn a_rechunk_too_big_for_the_budget_goes_through_stages_and_stays_within_it() {
    // Column blocks to row blocks: directly, every row block reads every column block (1.28 MB).
    let (n, data) = (400, 400 * 400 * 8);
    let y = computed(&[n, n], &[n, 4], 11).rechunk([4, n]).unwrap();
    let want = computed(&[n, n], &[n, 4], 11).compute().unwrap();
    let budget = data / 4;
    for kind in [SchedulerKind::Sync, SchedulerKind::Threaded] {
        let o = opts(kind).workers(2).memory_budget(budget);
        let limit = tessera::testing::rechunk_limit(&o);
        let direct = y.plan_with(&opts(kind).memory_budget(4 * data));
        assert_eq!(direct.stats.rechunk_stages, 0, "a direct rechunk when it fits");
        assert!(worst_assembly(&direct) > data);
        let g = y.plan_with(&o);
        assert!(g.stats.rechunk_stages >= 1, "{:?}", g.stats);
        assert!(worst_assembly(&g) <= limit, "{kind:?}: {} > {limit}", worst_assembly(&g));
        let (got, report) = y.compute_report(&o).unwrap();
        assert_eq!(got, want, "{kind:?}");
        assert!(report.peak_bytes <= budget, "{kind:?}: held {} > budget {budget}", report.peak_bytes);
        assert!(report.spilled_bytes > 0, "{kind:?}: {report:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Any chunking to any other under any budget: the right values, each assembly within
    /// the planner's bound whenever a plan that fits exists, and within the budget otherwise
    /// refused before running.
    #[test]
    fn staged_rechunks_give_the_same_values(
        shape in proptest::collection::vec(1usize..60, 1..4),
        from in proptest::collection::vec(1usize..30, 3),
        to in proptest::collection::vec(1usize..30, 3),
        div in 1usize..40,
        seed in 0u64..100,
    ) {
        let nd = shape.len();
        let x = computed(&shape, &from[..nd], seed);
        let want = x.compute().unwrap();
        let y = x.rechunk(&to[..nd]).unwrap();
        let data = shape.iter().product::<usize>() * 8;
        let o = opts(SchedulerKind::Threaded).workers(2).memory_budget((3 * data / div).max(64));
        let limit = tessera::testing::rechunk_limit(&o);
        let g = y.plan_with(&o);
        let stages = tessera::testing::rechunk_stages(x.chunks(), y.chunks(), 8, limit);
        prop_assert_eq!(g.stats.rechunk_stages, stages.len());
        // (A rechunk to the same chunks vanishes: no assembly at all.)
        let worst = if x.chunks() == y.chunks() {
            0
        } else {
            tessera::testing::staged_working_set(x.chunks(), &stages, y.chunks(), 8)
        };
        // The planner's estimate bounds every assembly (worst cover and largest block may be
        // different blocks).
        prop_assert!(worst_assembly(&g) <= worst);
        // Direct whenever direct fits.
        let direct = tessera::testing::working_set(x.chunks(), y.chunks(), 8);
        prop_assert!(direct > limit || stages.is_empty());
        match y.compute_report(&o) {
            Ok((got, report)) => {
                prop_assert_eq!(got, want);
                prop_assert!(report.peak_bytes <= report.budget_bytes);
            }
            Err(Error::MemoryBudget { needed, budget, .. }) => prop_assert!(needed > budget),
            Err(e) => prop_assert!(false, "{}", e),
        }
    }
}

#[test]
fn consumers_reading_back_the_same_spilled_block_at_once_all_get_it() {
    // Found by the proptest above: several assembly tasks read one spilled block back at the
    // same time; the first removed the file under the others ("No such file").
    for seed in 0..40 {
        let x = computed(&[54, 35, 17], &[6, 1, 25], seed);
        let want = x.compute().unwrap();
        let y = x.rechunk([15, 7, 9]).unwrap();
        let data = 54 * 35 * 17 * 8;
        let o = opts(SchedulerKind::Threaded).workers(2).memory_budget(3 * data / 24);
        let (got, report) = y.compute_report(&o).unwrap();
        assert_eq!(got, want);
        assert!(report.spilled_bytes > 0);
    }
}
