//! How a run is asked for: [`ComputeOptions`] (scheduler, workers, memory budget, spill
//! directory, progress, profile), the device policy ([`Device`]) and what a device is
//! ([`DeviceInfo`]), and the core tokens that keep workers × kernel threads within the cores.
//! The scheduler and the backends read these; nothing here runs a task.

pub(crate) mod cores;
mod interrupt;
mod options;

pub(crate) use interrupt::interrupted;
pub use interrupt::{clear_interrupt, interrupt};
pub use options::{
    ComputeOptions, DEFAULT_GPU_BUDGET, Device, DeviceInfo, DeviceKind, Progress, SchedulerKind,
    default_memory_budget, max_workers, physical_memory, set_default_options,
};
