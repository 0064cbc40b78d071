//! # tessera
//!
//! Blocked, out-of-core, parallel n-dimensional arrays for Rust: an array is cut into blocks,
//! every operation builds a task graph over the blocks, and a scheduler runs the graph on all
//! cores. It is what dask.array is to NumPy, rebuilt in Rust.
//!
//! ```
//! use tessera::prelude::*;
//!
//! // A lazy 4000 × 4000 array of random numbers in 1000 × 1000 blocks.
//! let x = tessera::random::normal::<f64>(42, &[4000, 4000], [1000, 1000], 0.0, 1.0)?;
//! // Nothing runs yet: each op adds a node to the graph.
//! let y = ((&x * 2.0).exp() - 1.0).mean(0)?;
//! // compute() plans (culls and fuses: one task per block here), then runs on all cores.
//! let v = y.compute()?;
//! assert_eq!(v.shape(), &[4000]);
//! # Ok::<(), tessera::Error>(())
//! ```
//!
//! ## For NumPy and dask users
//!
//! | NumPy / dask | tessera |
//! |---|---|
//! | `da.from_array(a, chunks=(1000, 1000))` | `tessera::from_array(a, [1000, 1000])?` |
//! | `da.ones((n, m), chunks="auto")` | `tessera::ones::<f64>(&[n, m], ChunkSpec::Auto)?` |
//! | `x + y`, `x * 2` | `&x + &y`, `&x * 2.0` (or `x.try_add(&y)?`) |
//! | `np.where(c, a, b)` | `tessera::where_(&c, &a, &b)?` |
//! | `x.sum(axis=0)`, `x.sum()` | `x.sum(0)?`, `x.sum(Axes::All)?` |
//! | `x.sum(axis=(0, 2), keepdims=True)` | `x.sum_with([0, 2], &ReduceOptions::default().keepdims(true))?` |
//! | `x.std(ddof=1)` | `x.std(Axes::All, 1.0)?` |
//! | `x[10:, 100:50:-2]` | `x.slice(&sl![10.., (Some(100), Some(50), -2)])?` |
//! | `x.map_blocks(f)` | `x.map_blocks(f)?` |
//! | `x.compute()` | `x.compute()?` → `ndarray::ArrayD` |
//! | `dask.compute(a, b)` | `tessera::compute_many(&[&a, &b], &opts)?` |
//! | `x.visualize()` | `x.to_dot()` |
//! | CuPy / JAX on a GPU | `x.compute_with(&ComputeOptions::default().device(Device::Gpu(0)))?` (see [`gpu`]) |
//!
//! Differences worth knowing: integer `/` is NumPy's floor division (`//`), `%` follows
//! NumPy's sign rule; range bounds in slices are clamped like NumPy, integer indices out of
//! range are errors; reductions are bit-identical whatever the number of threads.
//!
//! ## Modules
//!
//! What most programs use is re-exported at the top (`Array`, the creation functions,
//! `ComputeOptions`, `Error`, …) and in [`prelude`]. The modules, by layer (each uses only the
//! ones above it in this table; ARCHITECTURE.md has the rules):
//!
//! | module | what it holds |
//! |---|---|
//! | [`core`](crate::core) | element types ([`dtype`]), [`Error`] ([`error`]), host blocks ([`block`]), chunk geometry, the `BlockSource`/`BlockSink` traits |
//! | [`ir`] | what a task computes, as data: `Expr`, kernel descriptors, [`ReduceOp`], `TaskGraph` (DOT, task counts, predicted peak) |
//! | [`runtime`] | [`ComputeOptions`], [`Device`], devices' descriptions, memory defaults |
//! | [`backend`] | the CPU kernels and the GPU backend ([`gpu`]: adapters, placement, kernel rates) |
//! | [`graph`] | graph nodes and the planner (culling, fusion, lowering, rechunk plans) |
//! | [`compute`] | the one entry from nodes to results: `run_into`, `run_blocks`, `persist_on_disk`; run reports and profiles (the schedulers themselves are internal) |
//! | [`array`], [`linalg`], [`groupby`], [`delayed`], [`overlap`], [`random`], [`datasets`] | the lazy collections and what builds them |
//! | [`io`] | .npy, raw binary, Zarr, netCDF (feature `netcdf`), datasets of many files |
//! | [`calendar`] | day-of-year and month labels, CF dates |
//!
//! The command line (`tessera reduce`, `generate-sst`, `bench`) and PNG maps are the
//! `tessera-cli` crate of this workspace.

#![warn(missing_docs)]

pub mod array;
pub mod backend;
pub use backend::gpu;
pub mod calendar;
pub mod compute;
pub mod core;
pub mod datasets;
pub use crate::core::{block, dtype, error};
pub mod delayed;
pub mod graph;
pub mod groupby;
pub mod io;
pub mod ir;
pub mod linalg;
pub mod overlap;
pub mod random;
pub mod runtime;
pub(crate) mod scheduler;

pub use crate::core::block::HostArray;
pub use crate::core::chunks::{ChunkSpec, Chunks, DEFAULT_CHUNK_BYTES};
pub use crate::core::dtype::{DType, Element, Float, Number};
pub use crate::core::error::{Error, Result};
pub use array::creation::{arange, eye, from_array, from_view, full, linspace, ones, zeros};
pub use array::{
    AnyArray, Array, Axes, IntoOperand, Nested, Operand, ReduceOptions, SliceArg, block, block_nested,
    compute_many, compute_many_report, concatenate, stack, where_,
};
pub use ir::reduce::{ReduceKind, ReduceOp};
pub use runtime::{ComputeOptions, Device, Progress, SchedulerKind, set_default_options};
pub use scheduler::{Profile, RunReport};

/// The names most programs need.
pub mod prelude {
    pub use crate::{
        Array, Axes, ChunkSpec, Chunks, ComputeOptions, DType, Device, Element, Error, ReduceOptions, Result,
        SchedulerKind, SliceArg, sl,
    };
}
