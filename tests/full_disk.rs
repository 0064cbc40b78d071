//! A disk that fills up while a compute spills: the compute fails with an I/O error naming
//! the spill file, not a panic or a wrong result, and the spill directory is left as it was.
//!
//! A test binary of its own: it limits the size of every file this process writes
//! (`RLIMIT_FSIZE`; past it a write fails with EFBIG, as on a full disk it would with ENOSPC,
//! and needs no privileges where a small filesystem would) and ignores SIGXFSZ, which would
//! kill the process instead. Nothing else may run in this process meanwhile.

#![cfg(unix)]

use tessera::prelude::*;
use tessera::{Error, Progress};

#[test]
fn a_full_disk_while_spilling_is_an_error_naming_the_spill_file() {
    let dir = std::env::temp_dir().join(format!("tessera-full-disk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // `x - x.mean(0)`: every block of a column of blocks is held (or spilled) until the
    // column's mean is known; a budget a tenth of the data spills megabytes.
    let x = tessera::random::normal::<f64>(7, &[2000, 400], [100, 100], 0.0, 1.0).unwrap();
    let x = (&x * 3.0).exp().sqrt();
    let m = x.mean_with([0], &ReduceOptions::default().keepdims(true)).unwrap();
    let y = &x - &m;
    let base = ComputeOptions::default().progress(Progress::Off).spill_dir(dir.join("spill"));
    let want = y.compute_with(&base).unwrap();
    for kind in [SchedulerKind::Sync, SchedulerKind::Threaded] {
        let opts = base.clone().scheduler(kind).memory_budget(2000 * 400 * 8 / 10);
        // The same compute spills when the disk has room.
        let (got, report) = y.compute_report(&opts).unwrap();
        assert_eq!(got, want, "{kind:?}");
        assert!(report.spilled_bytes > 256 << 10, "{kind:?}: spilled only {} bytes", report.spilled_bytes);
        // Now with files limited to 256 KiB.
        let lim = libc::rlimit { rlim_cur: 256 << 10, rlim_max: libc::RLIM_INFINITY };
        // SAFETY: setting this process's own soft limit and ignoring a signal.
        unsafe {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
        }
        let r = y.compute_with(&opts);
        let unlimited = libc::rlimit { rlim_cur: libc::RLIM_INFINITY, rlim_max: libc::RLIM_INFINITY };
        // SAFETY: as above.
        unsafe {
            assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &unlimited), 0);
        }
        match r {
            Err(Error::Io { path, cause }) => {
                assert!(path.contains("tessera-spill"), "{kind:?}: {path}");
                assert!(cause.contains("spill file") && cause.contains("too large"), "{kind:?}: {cause}");
            }
            other => panic!("{kind:?}: expected an I/O error naming the spill file, got {other:?}"),
        }
        // The spill directory made for the run is gone again (its file was unlinked at once).
        assert!(!dir.join("spill").exists(), "{kind:?}: the spill directory was left");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
