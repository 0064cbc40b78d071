//! Core tokens: how a task may use more than its worker's core without the process ever
//! running more compute threads than the scheduler has workers.
//!
//! Each worker of the threaded scheduler holds one token while it runs a task. A kernel that
//! can split its work (a large faer factorisation on the critical path, a lone product of
//! two single-block matrices) borrows the tokens of idle workers for the length of its call
//! and runs on that many threads of a pool of our own; while the tokens are lent, workers
//! that find new work wait for one. So workers × threads per task never exceeds the
//! workers, and a lone large task uses all of them.

use std::cell::RefCell;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The tokens of one run: one per worker.
#[derive(Debug)]
pub(crate) struct Cores {
    free: AtomicIsize,
}

impl Cores {
    /// `n` tokens, all free.
    pub(crate) fn new(n: usize) -> Arc<Self> {
        Arc::new(Cores { free: AtomicIsize::new(n as isize) })
    }

    /// Take one token, waiting while all are lent.
    pub(crate) fn acquire(&self) {
        loop {
            if self.free.fetch_sub(1, Ordering::AcqRel) > 0 {
                return;
            }
            self.free.fetch_add(1, Ordering::AcqRel);
            std::thread::sleep(Duration::from_micros(50));
        }
    }

    /// Give back `n` tokens.
    pub(crate) fn release(&self, n: usize) {
        self.free.fetch_add(n as isize, Ordering::AcqRel);
    }

    /// Take up to `max` free tokens without waiting; how many were taken.
    fn try_take(&self, max: usize) -> usize {
        let mut cur = self.free.load(Ordering::Acquire);
        loop {
            let n = cur.clamp(0, max.min(isize::MAX as usize) as isize);
            if n == 0 {
                return 0;
            }
            match self.free.compare_exchange_weak(cur, cur - n, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return n as usize,
                Err(c) => cur = c,
            }
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Cores>>> = const { RefCell::new(None) };
}

/// Make `cores` the tokens this thread's tasks borrow from (a worker, at its start).
pub(crate) fn set_current(cores: Option<Arc<Cores>>) {
    CURRENT.with(|c| *c.borrow_mut() = cores);
}

/// Tokens borrowed for one call; given back on drop.
pub(crate) struct Loan {
    cores: Option<Arc<Cores>>,
    extra: usize,
}

impl Loan {
    /// Threads the call may use: its own core plus the borrowed ones.
    pub(crate) fn threads(&self) -> usize {
        1 + self.extra
    }
}

impl Drop for Loan {
    fn drop(&mut self) {
        if let Some(c) = &self.cores
            && self.extra > 0
        {
            c.release(self.extra);
        }
    }
}

/// Borrow the cores of idle workers (at most `max_extra`) for a call that can use them.
/// Outside a threaded run (the synchronous scheduler, user code) nothing is borrowed.
pub(crate) fn borrow(max_extra: usize) -> Loan {
    let cores = CURRENT.with(|c| c.borrow().clone());
    let extra = cores.as_ref().map_or(0, |c| c.try_take(max_extra));
    Loan { cores, extra }
}

/// The pool borrowed cores run on (as many threads as the machine has cores; a call uses
/// only as many as its loan allows).
pub(crate) fn pool() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let n = std::thread::available_parallelism().map_or(1, |n| n.get());
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("tessera-linalg-{i}"))
            .build()
            .ok()
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loans_take_only_idle_cores_and_give_them_back() {
        let c = Cores::new(4);
        c.acquire(); // this worker's task
        set_current(Some(c.clone()));
        {
            let loan = borrow(usize::MAX);
            assert_eq!(loan.threads(), 4);
            assert_eq!(borrow(8).threads(), 1, "nothing left to lend");
        }
        assert_eq!(borrow(2).threads(), 3, "the loan came back; at most 2 extra asked");
        set_current(None);
        assert_eq!(borrow(8).threads(), 1, "outside a run nothing is lent");
        c.release(1);
        assert_eq!(c.free.load(Ordering::Acquire), 4);
    }
}
