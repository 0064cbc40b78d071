//! Per-thread pools of block buffers.
//!
//! Fresh memory is slow to touch on these machines (every page faults and is zeroed), so
//! kernels that need a large scratch block every task (the halo gather of `map_overlap`) take
//! a buffer from the worker thread's pool and give it back when the task is done. A pool keeps
//! at most [`KEEP`] buffers per thread.

use std::any::Any;
use std::cell::RefCell;

use crate::core::dtype::Element;

/// Buffers kept per thread.
const KEEP: usize = 4;

thread_local! {
    static POOL: RefCell<Vec<Box<dyn Any>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of exactly `n` initialised elements (contents unspecified: a reused buffer holds
/// old values).
pub(crate) fn take<T: Element>(n: usize) -> Vec<T> {
    let reused = POOL.with(|p| {
        let mut p = p.borrow_mut();
        let i = p.iter().position(|b| b.downcast_ref::<Vec<T>>().is_some_and(|v| v.capacity() >= n))?;
        p.swap_remove(i).downcast::<Vec<T>>().ok().map(|b| *b)
    });
    match reused {
        Some(mut v) => {
            v.resize(n, T::zero());
            v.truncate(n);
            v
        }
        None => vec![T::zero(); n],
    }
}

/// Return a buffer to this thread's pool.
pub(crate) fn give<T: Element>(v: Vec<T>) {
    if v.capacity() == 0 {
        return;
    }
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() >= KEEP {
            p.remove(0);
        }
        p.push(Box::new(v));
    });
}
