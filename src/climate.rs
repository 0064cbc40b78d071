//! Climate indices over dated daily data: computations defined on calendar days, above the
//! collections (they take [`crate::calendar::Day`]s) as `io` is. Marine heatwaves (Hobday et
//! al. 2016) in `climate/heatwaves.rs`.

mod heatwaves;
pub use heatwaves::{
    MhwClimatology, MhwEvents, MhwOptions, MhwStats, marine_heatwaves, mhw_climatology, mhw_events,
};
