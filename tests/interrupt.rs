//! `interrupt()` stops running computes at a task boundary; they unwind like after any error
//! (no output left) and later computes run again after `clear_interrupt()`. Alone in its own
//! test binary: the flag is process-wide.

use std::sync::atomic::{AtomicUsize, Ordering};

use tessera::{ComputeOptions, Progress, SchedulerKind};

#[test]
fn an_interrupt_stops_the_run_and_leaves_no_output() {
    static RAN: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!("tessera-interrupt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let x = tessera::ones::<f64>(&[4000, 10], [10, 10]).unwrap();
    // The tenth block's task asks for the stop, as a signal handler would.
    let y = x
        .map_blocks(|b| {
            if RAN.fetch_add(1, Ordering::SeqCst) == 9 {
                tessera::interrupt();
            }
            b.to_owned()
        })
        .unwrap();
    for kind in [SchedulerKind::Sync, SchedulerKind::Threaded] {
        RAN.store(0, Ordering::SeqCst);
        let opts = ComputeOptions::default().scheduler(kind).progress(Progress::Off);
        let e = y.to_npy(dir.join("y.npy"), &opts).unwrap_err();
        assert!(matches!(e, tessera::Error::Interrupted), "{kind:?}: {e}");
        assert!(RAN.load(Ordering::SeqCst) < 400, "{kind:?}: the run went on after the interrupt");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            0,
            "{kind:?}: an output or a temporary was left"
        );
        // Stopped until cleared; then the same run completes.
        assert!(matches!(x.sum(0).unwrap().compute_with(&opts), Err(tessera::Error::Interrupted)));
        tessera::clear_interrupt();
        assert_eq!(x.sum(0).unwrap().compute_with(&opts).unwrap()[0], 4000.0);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
