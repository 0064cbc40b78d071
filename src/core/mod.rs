//! The bottom layer: what every other layer speaks in, and nothing else.
//!
//! Element types ([`dtype`]), the one error type ([`error`]), host blocks and task values
//! ([`block`]), chunk geometry and block index math ([`chunks`]), the traits through which
//! blocks are read and written ([`source`]) and host-level block helpers ([`host`]). Nothing
//! here knows about graphs, kernels, schedulers or devices.

pub mod block;
pub mod chunks;
pub mod dtype;
pub mod error;
pub mod host;
pub mod source;
