//! Marine-heatwave detection (Hobday et al. 2016) as data: the steps of a per-cell
//! climatology and of the event scan along time ([`HeatwaveKernel`]). The CPU implementation
//! is `backend/cpu/heatwave.rs`; `climate/heatwaves.rs` builds the graph and documents the
//! method.

use std::sync::Arc;

use crate::core::dtype::DType;

/// Fields of the scan's state block, its leading axis (all `f64`; counts are exact).
pub mod state {
    /// Days of the run of exceedances in progress.
    pub const RUN_LEN: usize = 0;
    /// Largest anomaly of the run in progress.
    pub const RUN_MAX: usize = 1;
    /// Days of the event that a later run may still join (0: none).
    pub const EVENT_LEN: usize = 2;
    /// Largest anomaly of that event.
    pub const EVENT_MAX: usize = 3;
    /// Days since that event's last day (short runs included).
    pub const GAP_LEN: usize = 4;
    /// Largest anomaly over those days.
    pub const GAP_MAX: usize = 5;
    /// Events closed so far.
    pub const COUNT: usize = 6;
    /// Their days.
    pub const DAYS: usize = 7;
    /// Their largest anomaly (NaN before the first).
    pub const MAX_INTENSITY: usize = 8;
    /// Their longest duration.
    pub const LONGEST: usize = 9;
    /// Fields in a state block.
    pub const FIELDS: usize = 10;
}

/// The per-cell results of [`HeatwaveStep::Finish`], its leading axis.
pub const STAT_FIELDS: usize = 4;

/// One step of a marine-heatwave computation. Every block has time (or the climatology's
/// days) as axis 0 and the grid cells after it.
#[derive(Debug, Clone, PartialEq)]
pub enum HeatwaveStep {
    /// Input: a block holding whole time series (`dtype`). Output `(2 · groups, cells…)`
    /// (`f64`): for each group, the `q` quantile (NumPy's linear method, NaN skipped) of the
    /// values at its `members` positions, then for each group their NaN-skipping mean, summed
    /// in ascending position order (NaN where a cell has no value).
    Pooled {
        /// Positions along time pooled by each group, ascending.
        members: Arc<[Arc<[u32]>]>,
        /// The quantile, in [0, 1].
        q: f64,
    },
    /// Input `(parts · groups, cells…)`: `parts` climatologies stacked, each a row per group
    /// of labels `groups` (`f64`). Output `(parts · year_len, cells…)`: in each part, row `g`
    /// the group labelled `g` (NaN when none is), row `feb29` (when set) the mean of its two
    /// neighbours, then every row the circular running mean of `smooth` rows centred on it
    /// (`smooth ≤ 1`: none), Hobday's `runavg`.
    Calendar {
        /// The label of each input row, ascending, each below `year_len`.
        groups: Arc<[i64]>,
        /// Rows of the output: 366, or 360 in the 360-day calendar.
        year_len: usize,
        /// The row filled from its neighbours (29 February), if any.
        feb29: Option<usize>,
        /// Width of the running mean (odd).
        smooth: usize,
    },
    /// Inputs `[state,] sst, thresh, seas`: `sst` a block of days (`dtype`), `thresh` and
    /// `seas` the climatology rows `(year_len, cells…)` (`f64`), `state` the scan's state
    /// after the earlier days (absent for the first block). Output: the state after this
    /// block's days (`(state::FIELDS, cells…)`, `f64`).
    Scan {
        /// The climatology row of each day of the block.
        rows: Arc<[u16]>,
        /// Shortest run of days above the threshold that makes an event.
        min_duration: usize,
        /// Longest gap between two events that joins them into one.
        max_gap: usize,
    },
    /// Input: the state after the last day. Output `(STAT_FIELDS, cells…)` (`f64`): events,
    /// heatwave days, largest intensity (NaN without events), longest event, with the run in
    /// progress and the pending event closed.
    Finish {
        /// As in [`HeatwaveStep::Scan`].
        min_duration: usize,
        /// As in [`HeatwaveStep::Scan`].
        max_gap: usize,
    },
}

/// A marine-heatwave task: one [`HeatwaveStep`] over blocks of element type `dtype` (the
/// type of the temperatures a scan reads; other inputs are `f64`).
#[derive(Debug, Clone, PartialEq)]
pub struct HeatwaveKernel {
    /// What the task computes.
    pub step: HeatwaveStep,
    /// Element type of the temperatures.
    pub dtype: DType,
}

impl HeatwaveKernel {
    /// The step's name, for profiles.
    pub fn name(&self) -> &'static str {
        match self.step {
            HeatwaveStep::Pooled { .. } => "mhw-pooled",
            HeatwaveStep::Calendar { .. } => "mhw-calendar",
            HeatwaveStep::Scan { .. } => "mhw-scan",
            HeatwaveStep::Finish { .. } => "mhw-finish",
        }
    }
}
