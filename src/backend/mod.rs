//! Backends execute kernels; they know nothing of graphs.
//!
//! [`Backend`] is the seam every device plugs into: the CPU backend ([`cpu::CpuBackend`]) runs
//! every kernel and is the reference; the GPU backend ([`gpu`]) will run the kernels it
//! implements on wgpu with device-resident blocks ([`crate::core::block::Value`] gains a device
//! variant) and reports which kernels it supports so placement can choose per task.

pub mod cpu;
pub mod gpu;

use crate::core::block::Value;
use crate::core::error::Result;
use crate::ir::kernel::Kernel;

/// Something that executes kernels.
pub trait Backend: Send + Sync {
    /// A short name (`"cpu"`, `"gpu0"`).
    fn name(&self) -> &str;
    /// Run one kernel on its inputs (in the task's input order).
    fn execute(&self, kernel: &Kernel, inputs: &[Value]) -> Result<Value>;
    /// Run one kernel on inputs it owns: a kernel that overwrites an input
    /// ([`Kernel::in_place_input`]) may reuse that input's buffer when no one else holds it.
    /// The default lends the inputs to [`Backend::execute`].
    fn execute_owned(&self, kernel: &Kernel, inputs: Vec<Value>) -> Result<Value> {
        self.execute(kernel, &inputs)
    }
    /// Tasks this backend ran on a GPU so far.
    fn offloaded(&self) -> usize {
        0
    }
}
