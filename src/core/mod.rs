//! The bottom layer: what every other layer speaks in, and nothing else.
//!
//! Element types ([`dtype`]) and their promotion ([`promote`]), the one error type ([`error`]), host blocks and task values
//! ([`block`]), chunk geometry and block index math ([`chunks`]), the traits through which
//! blocks are read and written ([`source`]), host-level block helpers ([`host`]) and
//! positioned file reads and writes (`file_at`). Nothing
//! here knows about graphs, kernels, schedulers or devices.

pub mod block;
pub mod chunks;
pub mod dtype;
pub mod error;
pub(crate) mod file_at;
pub mod host;
pub mod promote;
pub mod source;
