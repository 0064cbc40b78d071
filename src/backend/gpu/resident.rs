//! Task results that stay in GPU memory between tasks.
//!
//! A GPU task's result is left in its buffer as a [`GpuBlock`]: a block of array data, or the
//! states of a reduction's partial. The next GPU task binds that buffer directly (an
//! elementwise or tile task reads a block; a reduction's combine merges states), so a chain of
//! GPU tasks never visits the host and nothing waits for the GPU until some CPU task (or the
//! result) reads the value, which copies it back once. The buffer returns to the pool when the
//! last reference to the block goes.

use std::any::Any;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};

use crate::core::block::{DeviceBlock, Value};
use crate::core::dtype::DType;
use crate::core::error::{Error, Result};
use crate::ir::reduce::ReduceOp;

use super::context::Gpu;
use super::reduce_wgsl;
use super::run::{host_from_bytes, read_back};

/// What a [`GpuBlock`] holds.
pub(crate) enum Content {
    /// Array data in standard layout (bools as `u32`).
    Array,
    /// One reduction state per element of the partial's shape (see `reduce_wgsl::layout`).
    States {
        /// The reduction (its CPU form turns the read-back states into its own).
        op: ReduceOp,
    },
}

/// A result held in a GPU buffer.
pub(crate) struct GpuBlock {
    pub(crate) gpu: Arc<Gpu>,
    /// `None` once evicted to the host.
    buffer: Mutex<Option<wgpu::Buffer>>,
    dtype: DType,
    shape: Vec<usize>,
    pub(crate) content: Content,
    host: OnceLock<std::result::Result<Value, String>>,
}

impl GpuBlock {
    /// Wrap a buffer of array data the GPU has written (or will write: the queue orders the
    /// work).
    pub(crate) fn new(gpu: Arc<Gpu>, buffer: wgpu::Buffer, dtype: DType, shape: Vec<usize>) -> Self {
        Self::with(gpu, buffer, dtype, shape, Content::Array)
    }

    /// Wrap a buffer of reduction states, one per element of the partial's `shape`.
    pub(crate) fn states(gpu: Arc<Gpu>, buffer: wgpu::Buffer, op: ReduceOp, shape: Vec<usize>) -> Self {
        Self::with(gpu, buffer, op.dtype, shape, Content::States { op })
    }

    fn with(gpu: Arc<Gpu>, buffer: wgpu::Buffer, dtype: DType, shape: Vec<usize>, content: Content) -> Self {
        gpu.resident.fetch_add(buffer.size(), Ordering::Relaxed);
        GpuBlock { gpu, buffer: Mutex::new(Some(buffer)), dtype, shape, content, host: OnceLock::new() }
    }

    /// The buffer, unless the block was evicted to the host.
    pub(crate) fn buffer(&self) -> Option<wgpu::Buffer> {
        self.buffer.lock().ok().and_then(|b| b.clone())
    }

    /// Copy the block to the host (kept for its readers) and give its GPU memory back; the
    /// bytes freed. The buffer is dropped, not pooled: a task may still hold it.
    pub(crate) fn evict(&self) -> u64 {
        if self.host_value().is_err() {
            return 0;
        }
        let Some(b) = self.buffer.lock().ok().and_then(|mut b| b.take()) else { return 0 };
        self.gpu.resident.fetch_sub(b.size(), Ordering::Relaxed);
        self.gpu.evicted.fetch_add(b.size(), Ordering::Relaxed);
        b.size()
    }

    /// Whether it holds array data (not states).
    pub(crate) fn is_array(&self) -> bool {
        matches!(self.content, Content::Array)
    }

    /// Elements (or states).
    pub(crate) fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// Bytes of data in the buffer.
    pub(crate) fn bytes(&self) -> u64 {
        let each = match &self.content {
            Content::Array => super::codegen::store_size(self.dtype),
            Content::States { op } => reduce_wgsl::layout(op.kind, self.dtype).stride,
        };
        (self.len() * each) as u64
    }

    fn read(&self) -> Result<Value> {
        let buf = self.buffer().ok_or_else(|| Error::internal("an evicted block without its host copy"))?;
        let data = read_back(&self.gpu, &buf, self.bytes())?;
        match &self.content {
            Content::Array => Ok(Value::Array(host_from_bytes(self.dtype, &self.shape, &data)?)),
            Content::States { op } => crate::backend::cpu::reduce::partial_from_gpu(
                op,
                &reduce_wgsl::decode_all(op.kind, self.dtype, &data),
                &self.shape,
            ),
        }
    }
}

impl DeviceBlock for GpuBlock {
    fn dtype(&self) -> DType {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn nbytes(&self) -> usize {
        self.bytes() as usize
    }
    fn host_value(&self) -> Result<&Value> {
        self.host
            .get_or_init(|| self.read().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| Error::invalid(format!("reading a result back from {}: {e}", self.gpu.info.name)))
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for GpuBlock {
    fn drop(&mut self) {
        if let Some(b) = self.buffer.get_mut().ok().and_then(|b| b.take()) {
            self.gpu.resident.fetch_sub(b.size(), Ordering::Relaxed);
            self.gpu.recycle(b);
        }
    }
}
