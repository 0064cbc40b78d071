//! The GPU backend (wgpu + WGSL). Until its issue lands this is a stub: asking for a GPU gives
//! [`Error::BackendUnavailable`], and the automatic placement uses the CPU.

use crate::error::{Error, Result};

/// Information about one GPU adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    /// Adapter name.
    pub name: String,
    /// Graphics API backend (Vulkan, Metal, DX12).
    pub backend: String,
}

/// The GPU adapters tessera can use. Empty until the GPU backend is built.
pub fn devices() -> Vec<DeviceInfo> {
    Vec::new()
}

/// Open GPU `index`, or explain why there is none.
pub fn open(index: usize) -> Result<DeviceInfo> {
    devices().get(index).cloned().ok_or_else(|| {
        Error::BackendUnavailable(format!(
            "no GPU adapter {index}: this build of tessera has no GPU backend yet; \
             computations run on the CPU (for a software Vulkan adapter on Debian: \
             apt-get install mesa-vulkan-drivers)"
        ))
    })
}
