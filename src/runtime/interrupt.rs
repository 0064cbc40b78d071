//! Stopping runs from outside: [`interrupt`] asks every running compute to stop at its next
//! task boundary. The compute returns [`Error::Interrupted`](crate::Error::Interrupted) and
//! unwinds as after any error: outputs being written are removed, spill space is freed, the
//! process goes on. A signal handler may call `interrupt` (it only stores to an atomic).

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Ask running computes to stop at their next task boundary (and new ones to stop at their
/// first), until [`clear_interrupt`]. Safe to call from a signal handler. It is process-wide:
/// every compute of every thread stops (`tests/interrupt.rs` shows it).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Let computes run again after an [`interrupt`].
pub fn clear_interrupt() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}

/// Whether computes have been asked to stop.
pub(crate) fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}
