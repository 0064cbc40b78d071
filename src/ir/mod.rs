//! What a task computes, as plain data: the fusable elementwise IR ([`expr`]), the kernel
//! descriptors a backend implements ([`kernel`]), the reduction vocabulary and its portable
//! partial-state layout ([`reduce`]), and the flat [`task::TaskGraph`] the planner makes
//! (priorities, working sets, DOT). Nothing here runs anything.

pub mod counting;
pub mod expr;
pub mod group;
pub mod heatwave;
pub mod kernel;
pub mod order;
pub mod reduce;
pub mod select;
pub mod task;
pub mod window;

pub use task::{Task, TaskGraph, TaskId};
