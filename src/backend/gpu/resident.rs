//! Blocks that stay in GPU memory between tasks.
//!
//! A GPU task's elementwise result is left in its buffer as a [`GpuBlock`]: the next GPU task
//! binds that buffer directly, so a chain of GPU tasks never visits the host and nothing waits
//! for the GPU until some CPU task (or the result) reads the block, which copies it back once.
//! The buffer returns to the pool when the last reference to the block goes.

use std::any::Any;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use crate::block::{DeviceBlock, HostArray};
use crate::dtype::DType;
use crate::error::{Error, Result};

use super::context::Gpu;
use super::run::{host_from_bytes, read_back};

/// A block held in a GPU buffer in standard layout (bools as `u32`).
pub(crate) struct GpuBlock {
    pub(crate) gpu: Arc<Gpu>,
    buffer: Option<wgpu::Buffer>,
    dtype: DType,
    shape: Vec<usize>,
    host: OnceLock<std::result::Result<HostArray, String>>,
}

impl GpuBlock {
    /// Wrap a buffer the GPU has written (or will write: the queue orders the work).
    pub(crate) fn new(gpu: Arc<Gpu>, buffer: wgpu::Buffer, dtype: DType, shape: Vec<usize>) -> Self {
        gpu.resident.fetch_add(buffer.size(), Ordering::Relaxed);
        GpuBlock { gpu, buffer: Some(buffer), dtype, shape, host: OnceLock::new() }
    }

    /// The buffer.
    pub(crate) fn buffer(&self) -> &wgpu::Buffer {
        self.buffer.as_ref().expect("a live block has its buffer")
    }

    /// Bytes of data (bools count 4 each).
    pub(crate) fn bytes(&self) -> u64 {
        let elem = if self.dtype == DType::Bool { 4 } else { self.dtype.size() };
        (self.shape.iter().product::<usize>() * elem) as u64
    }
}

impl DeviceBlock for GpuBlock {
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn host(&self) -> Result<&HostArray> {
        self.host
            .get_or_init(|| {
                let data = read_back(&self.gpu, self.buffer(), self.bytes()).map_err(|e| e.to_string())?;
                host_from_bytes(self.dtype, &self.shape, &data).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| Error::invalid(format!("reading a block back from {}: {e}", self.gpu.info.name)))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for GpuBlock {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.take() {
            self.gpu.resident.fetch_sub(b.size(), Ordering::Relaxed);
            self.gpu.recycle(b);
        }
    }
}
