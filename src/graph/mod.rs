//! The graph: the expression DAG ([`node`]), the fusable elementwise IR ([`expr`]), the
//! planner that culls, fuses and lowers ([`plan`]) and the flat [`task::TaskGraph`] it makes.

pub mod halo;
mod lower;
pub mod node;
pub mod plan;
pub mod rechunk;
pub mod tiled;

pub use crate::ir::task::TaskGraph;
