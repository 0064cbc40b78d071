//! Hooks into tessera's internals for its own tests (feature `testing`, which the crate's
//! dev-dependency on itself turns on for test builds). Nothing here is a stable API.

use std::path::Path;
use std::sync::Arc;

use crate::array::AnyArray;
use crate::core::error::Result;
use crate::core::source::BlockSource;
use crate::graph::node::Node;
use crate::runtime::ComputeOptions;

#[cfg(feature = "blas")]
pub use crate::backend::cpu::blas_products;
#[cfg(feature = "gpu")]
pub use crate::backend::gpu::{cap_binding, inject_out_of_memory, merge_reductions};
pub use crate::graph::plan::rechunk_limit;
pub use crate::graph::rechunk::{rechunk_stages, staged_working_set, working_set};

/// Compute `arrays` once and keep their blocks in unlinked files under `dir`
/// (`compute::persist_on_disk`): sources in the arrays' own chunks.
pub fn persist_on_disk(
    arrays: &[&dyn AnyArray],
    dir: &Path,
    opts: &ComputeOptions,
) -> Result<Vec<Arc<dyn BlockSource>>> {
    let nodes: Vec<Arc<Node>> = arrays.iter().map(|a| crate::array::node_of(*a).clone()).collect();
    crate::compute::persist_on_disk(&nodes, dir, opts)
}

/// Variable `var` of a netCDF file read always through libnetcdf (the reference the
/// direct storage-chunk reader is tested against).
#[cfg(feature = "netcdf")]
pub fn open_netcdf_through_library<T: crate::core::dtype::Element>(
    path: &Path,
    var: &str,
    chunks: impl Into<crate::ChunkSpec>,
) -> Result<crate::Array<T>> {
    crate::io::netcdf::open_with(path, var, chunks.into(), false)
}

/// Whether variable `var` of a netCDF file is read storage chunk by storage chunk, outside
/// libnetcdf.
#[cfg(feature = "netcdf")]
pub fn netcdf_reads_storage_chunks(path: &Path, var: &str) -> Result<bool> {
    crate::io::netcdf::reads_storage_chunks(path, var)
}

/// Whether two arrays are the same graph node (an op that changes nothing returns its input).
pub fn same_node(a: &dyn AnyArray, b: &dyn AnyArray) -> bool {
    Arc::ptr_eq(crate::array::node_of(a), crate::array::node_of(b))
}
