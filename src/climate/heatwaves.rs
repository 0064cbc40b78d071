//! Marine heatwaves as Hobday et al. (2016) define them, per grid cell of a daily series,
//! after the authors' reference code (`marineHeatWaves.detect`, ecjoliver/marineHeatWaves).
//!
//! **Climatology** ([`mhw_climatology`]). Each day carries its calendar-day label (the day of a
//! leap year with its month and day: 29 February is 59 and 1 March is 60 in every year; see
//! [`GroupBy::MonthDay`]). For each label but 29 February, the days of the baseline years
//! with that label each pool the days up to `window_half_width` either side of them (which
//! may lie outside the baseline, as in the reference): the threshold is the `percentile` of the
//! pooled values (NumPy's `nanpercentile`, linear), the seasonal mean their NaN-skipping mean.
//! 29 February takes the mean of 28 February and 1 March; then both are smoothed by a running
//! mean of `smooth_width` days around the year, circularly (`runavg`). All in `f64`.
//!
//! **Events** ([`mhw_events`]). A day is above the threshold when its temperature exceeds its
//! label's threshold (a missing day takes the seasonal mean, as in the reference); runs of at
//! least `min_duration` such days are events, and two events at most `max_gap` days apart join
//! into one, the days between included. Per cell: the number of events, their days, the
//! largest intensity (temperature minus seasonal mean) over their days (NaN without events;
//! a day whose seasonal mean is missing is skipped, where the reference's `max` would give
//! NaN), and the longest event.
//!
//! **How it runs.** The climatology works on blocks of whole time series over the baseline
//! (the other axes cut to 64 MiB blocks, as [`Array::quantile`] does): one
//! `groupby_quantile` task and one pooled-mean task per block, then one task that lays the
//! groups out as the calendar year and smooths it. The events are a scan along time that never
//! gathers the series: each block of days updates a per-cell state (the run in progress, the
//! event that may still be joined, the totals so far; ten numbers per cell) left by the block
//! before, one chain of tasks per spatial block, all chains in parallel; a last task closes
//! what is open. Memory per task: a block of days, the climatology rows of its cells (2 × 366
//! `f64` per cell) and two states.

use std::sync::Arc;

use crate::array::order::{LINE_BLOCK_BYTES, MAX_LINE_BYTES, pooled_members};
use crate::array::order_long::line_chunks;
use crate::array::{AnyArray, Array, Idx, compute_many};
use crate::calendar::{Calendar, Day, GroupBy, labels};
use crate::core::chunks::{Chunks, unravel};
use crate::core::dtype::{DType, Float};
use crate::core::error::{Error, Result};
use crate::graph::node::{Node, Op};
use crate::graph::tiled::{TileBuilder, TiledOp, TiledSpec, next_group};
use crate::ir::heatwave::{HeatwaveKernel, HeatwaveStep, STAT_FIELDS, state};
use crate::ir::kernel::Kernel;
use crate::ir::task::TaskId;
use crate::runtime::ComputeOptions;

/// Hobday et al.'s parameters (the defaults are theirs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MhwOptions {
    /// Baseline years, first and last included (`None`: every year of the series).
    pub baseline: Option<(i32, i32)>,
    /// Percentile of the threshold (90).
    pub percentile: f64,
    /// Days pooled either side of each day for the climatology (5: an 11-day window).
    pub window_half_width: usize,
    /// Width of the circular running mean smoothing the climatology (31; 0 or 1: none). Odd.
    pub smooth_width: usize,
    /// Shortest event, in days (5).
    pub min_duration: usize,
    /// Longest gap between two events that joins them (2).
    pub max_gap: usize,
}

impl Default for MhwOptions {
    fn default() -> Self {
        MhwOptions {
            baseline: None,
            percentile: 90.0,
            window_half_width: 5,
            smooth_width: 31,
            min_duration: 5,
            max_gap: 2,
        }
    }
}

/// The per-cell climatology of [`mhw_climatology`]: rows indexed by calendar-day label (366
/// rows; 360 in the 360-day calendar), the cells after them.
#[derive(Debug, Clone)]
pub struct MhwClimatology {
    /// The threshold (the percentile).
    pub thresh: Array<f64>,
    /// The seasonal mean.
    pub seas: Array<f64>,
}

/// Per-cell event statistics of [`mhw_events`] (each of the input's shape without time).
#[derive(Debug, Clone)]
pub struct MhwEvents {
    /// Number of events.
    pub count: Array<i64>,
    /// Days in events (their durations summed).
    pub days: Array<i64>,
    /// Largest temperature minus seasonal mean over the days of any event (NaN without events).
    pub max_intensity: Array<f64>,
    /// Duration of the longest event (0 without events).
    pub longest: Array<i64>,
}

/// [`MhwEvents`] computed, in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct MhwStats {
    /// Number of events.
    pub count: ndarray::ArrayD<i64>,
    /// Days in events.
    pub days: ndarray::ArrayD<i64>,
    /// Largest intensity (NaN without events).
    pub max_intensity: ndarray::ArrayD<f64>,
    /// Longest event.
    pub longest: ndarray::ArrayD<i64>,
}

impl MhwEvents {
    /// The four statistics computed in one graph (the series is read once for them all).
    pub fn compute(&self, opts: &ComputeOptions) -> Result<MhwStats> {
        let all: [&dyn AnyArray; 4] = [&self.count, &self.days, &self.max_intensity, &self.longest];
        let mut r = compute_many(&all, opts)?.into_iter();
        let mut next = || r.next().ok_or_else(|| Error::internal("mhw: a statistic is missing"));
        Ok(MhwStats {
            count: next()?.into_typed()?,
            days: next()?.into_typed()?,
            max_intensity: next()?.into_typed()?,
            longest: next()?.into_typed()?,
        })
    }
}

impl MhwOptions {
    fn check(&self) -> Result<()> {
        let bad = |what: String| Err(Error::invalid(format!("marine heatwaves: {what}")));
        if !(0.0..=100.0).contains(&self.percentile) {
            return bad(format!("the percentile must lie in [0, 100], got {}", self.percentile));
        }
        if self.smooth_width > 1 && self.smooth_width.is_multiple_of(2) {
            return bad(format!("the smoothing width must be odd, got {}", self.smooth_width));
        }
        if self.min_duration == 0 {
            return bad("the shortest event must last at least one day".into());
        }
        if let Some((a, b)) = self.baseline
            && a > b
        {
            return bad(format!("the baseline {a}..={b} has no year"));
        }
        Ok(())
    }
}

/// Rows of a climatological year in `calendar`, and the row of 29 February if it is filled
/// from its neighbours.
fn year_rows(calendar: Calendar) -> (usize, Option<usize>) {
    if calendar == Calendar::Day360 { (360, None) } else { (366, Some(59)) }
}

/// Check the time axis (axis 0) against `days`: as long, consecutive, one calendar.
fn check_days<T: Float>(sst: &Array<T>, days: &[Day]) -> Result<Calendar> {
    let n = *sst
        .shape()
        .first()
        .ok_or_else(|| Error::invalid("marine heatwaves: a 0-d array has no time axis"))?;
    if days.len() != n {
        return Err(Error::ShapeMismatch {
            op: "marine heatwaves: days along axis 0".into(),
            left: sst.shape().to_vec(),
            right: vec![days.len()],
        });
    }
    let first = days.first().ok_or_else(|| Error::invalid("marine heatwaves: the series has no day"))?;
    for w in days.windows(2) {
        if w[1] != w[0].next() || w[1].calendar != first.calendar {
            return Err(Error::invalid(format!(
                "marine heatwaves: the days must follow one another; {}-{} is followed by {}-{}",
                w[0].year, w[0].doy, w[1].year, w[1].doy
            )));
        }
    }
    if n > u32::MAX as usize {
        return Err(Error::invalid(format!("marine heatwaves: {n} days are too many")));
    }
    Ok(first.calendar)
}

/// The threshold and seasonal mean per calendar day and cell of a daily series `sst`
/// (time on axis 0, `days` its dates), as Hobday et al. (2016) compute them (see the module
/// documentation).
///
/// ```
/// use tessera::calendar::{Day, days_from};
/// use tessera::climate::{MhwOptions, mhw_climatology};
/// let days = days_from(Day::parse("2001-01-01")?, 3 * 365);
/// let sst = tessera::datasets::sst(days.len(), 4, 8, 1, [100, 4, 8])?;
/// let clim = mhw_climatology(&sst, &days, &MhwOptions::default())?;
/// assert_eq!(clim.thresh.shape(), &[366, 4, 8]);
/// # Ok::<(), tessera::Error>(())
/// ```
pub fn mhw_climatology<T: Float>(sst: &Array<T>, days: &[Day], opts: &MhwOptions) -> Result<MhwClimatology> {
    opts.check()?;
    let calendar = check_days(sst, days)?;
    let (year_len, feb29) = year_rows(calendar);
    let in_base = |d: &Day| opts.baseline.is_none_or(|(a, b)| (a..=b).contains(&d.year));
    let first = days.iter().position(in_base);
    let last = days.iter().rposition(in_base);
    let (Some(first), Some(last)) = (first, last) else {
        return Err(Error::invalid(format!(
            "marine heatwaves: no day of the series lies in the baseline {:?}",
            opts.baseline
        )));
    };
    // The baseline's days and the days their windows reach.
    let w = opts.window_half_width;
    let (lo, hi) = (first.saturating_sub(w), (last + w + 1).min(days.len()));
    let labels: Vec<i64> = labels(&days[lo..hi], GroupBy::MonthDay)
        .into_iter()
        .zip(&days[lo..hi])
        .map(|(l, d)| if in_base(d) && Some(l as usize) != feb29 { l } else { -1 })
        .collect();
    let mut window = vec![Idx::Slice { start: Some(lo as isize), stop: Some(hi as isize), step: 1 }];
    window.extend((1..sst.ndim()).map(|_| Idx::full()));
    let series = sst.index(&window)?;
    let lines = series.rechunk(line_chunks(
        series.chunks(),
        0,
        T::DTYPE.size(),
        LINE_BLOCK_BYTES,
        MAX_LINE_BYTES,
    )?)?;
    let (groups, members) = pooled_members(&labels, w);
    let ng = groups.len();
    let pooled = HeatwaveStep::Pooled { members, q: opts.percentile / 100.0 };
    let both = per_block("mhw-pooled", &lines, pooled, 2 * ng)?;
    let step = HeatwaveStep::Calendar { groups: groups.into(), year_len, feb29, smooth: opts.smooth_width };
    let year = per_block("mhw-climatology", &both, step, 2 * year_len)?;
    let rows = |r: std::ops::Range<usize>| {
        let mut at = vec![Idx::Slice { start: Some(r.start as isize), stop: Some(r.end as isize), step: 1 }];
        at.extend((1..sst.ndim()).map(|_| Idx::full()));
        year.index(&at)
    };
    Ok(MhwClimatology { thresh: rows(0..year_len)?, seas: rows(year_len..2 * year_len)? })
}

/// The marine heatwaves of a daily series `sst` (time on axis 0, `days` its dates) above the
/// climatology `clim` of [`mhw_climatology`], per cell (see the module documentation).
pub fn mhw_events<T: Float>(
    sst: &Array<T>,
    days: &[Day],
    clim: &MhwClimatology,
    opts: &MhwOptions,
) -> Result<MhwEvents> {
    opts.check()?;
    let calendar = check_days(sst, days)?;
    let (year_len, _) = year_rows(calendar);
    let cells = &sst.shape()[1..];
    for (name, c) in [("threshold", &clim.thresh), ("seasonal mean", &clim.seas)] {
        if c.shape().first() != Some(&year_len) || &c.shape()[1..] != cells {
            return Err(Error::ShapeMismatch {
                op: format!("marine heatwaves: the climatology's {name} for the series"),
                left: c.shape().to_vec(),
                right: sst.shape().to_vec(),
            });
        }
    }
    // The scan's blocks: the series' days, the climatology's cells.
    let whole = |c: &Chunks| {
        let mut axes: Vec<Vec<usize>> = (0..c.ndim()).map(|a| c.axis(a).to_vec()).collect();
        axes[0] = vec![year_len];
        Chunks::new(axes)
    };
    let thresh = clim.thresh.rechunk(whole(clim.thresh.chunks())?)?;
    let seas = clim.seas.rechunk(thresh.chunks().clone())?;
    let mut axes: Vec<Vec<usize>> = (0..sst.ndim()).map(|a| thresh.chunks().axis(a).to_vec()).collect();
    axes[0] = sst.chunks().axis(0).to_vec();
    let series = sst.rechunk(Chunks::new(axes)?)?;
    let rows: Vec<u16> = days.iter().map(|d| d.month_day() as u16).collect();
    let mut out_axes: Vec<Vec<usize>> = (0..sst.ndim()).map(|a| thresh.chunks().axis(a).to_vec()).collect();
    out_axes[0] = vec![STAT_FIELDS];
    let chunks = Chunks::new(out_axes)?;
    let op = Scan { rows: rows.into(), dtype: T::DTYPE, opts: *opts, chunks: chunks.clone() };
    let node = Node::new(
        "mhw",
        DType::F64,
        chunks,
        Op::Tiled(TiledSpec { op: Arc::new(op), group: next_group(), output: 0 }),
        vec![series.node().clone(), thresh.node().clone(), seas.node().clone()],
    );
    let stats = Array::<f64>::from_node(node);
    let field = |k: usize| {
        let mut at = vec![Idx::Int(k as isize)];
        at.extend((1..sst.ndim()).map(|_| Idx::full()));
        stats.index(&at)
    };
    Ok(MhwEvents {
        count: field(0)?.astype::<i64>(),
        days: field(1)?.astype::<i64>(),
        max_intensity: field(2)?,
        longest: field(3)?.astype::<i64>(),
    })
}

/// [`mhw_climatology`] then [`mhw_events`] over the same series.
///
/// ```
/// use tessera::calendar::{Day, days_from};
/// use tessera::climate::{MhwOptions, marine_heatwaves};
/// let days = days_from(Day::parse("2001-01-01")?, 3 * 365);
/// // A cell at 20 °C with a bump of 10 days at 25 °C in the third year.
/// let t: Vec<f32> = (0..days.len()).map(|i| if (800..810).contains(&i) { 25.0 } else { 20.0 + (i % 7) as f32 * 0.1 }).collect();
/// let sst = tessera::from_array(ndarray::Array::from_shape_vec((days.len(), 1), t)?.into_dyn(), [100, 1])?;
/// let (_, ev) = marine_heatwaves(&sst, &days, &MhwOptions::default())?;
/// assert_eq!(ev.count.to_vec()?, vec![1]);
/// assert_eq!(ev.longest.to_vec()?, vec![10]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn marine_heatwaves<T: Float>(
    sst: &Array<T>,
    days: &[Day],
    opts: &MhwOptions,
) -> Result<(MhwClimatology, MhwEvents)> {
    let clim = mhw_climatology(sst, days, opts)?;
    let events = mhw_events(sst, days, &clim, opts)?;
    Ok((clim, events))
}

/// One heatwave step per block of an input whose axis 0 is one block; the output's axis 0
/// has `rows` rows and its other axes the input's chunks.
fn per_block<T: Float>(name: &str, input: &Array<T>, step: HeatwaveStep, rows: usize) -> Result<Array<f64>> {
    let c = input.chunks();
    if c.axis(0).len() != 1 {
        return Err(Error::internal("heatwave: axis 0 is not one block"));
    }
    let mut axes: Vec<Vec<usize>> = (0..c.ndim()).map(|a| c.axis(a).to_vec()).collect();
    axes[0] = vec![rows];
    let chunks = Chunks::new(axes)?;
    let kernel = Arc::new(HeatwaveKernel { step, dtype: T::DTYPE });
    let op = PerBlock { kernel, chunks: chunks.clone() };
    let spec = TiledSpec { op: Arc::new(op), group: next_group(), output: 0 };
    Ok(Array::from_node(Node::new(name, DType::F64, chunks, Op::Tiled(spec), vec![input.node().clone()])))
}

struct PerBlock {
    kernel: Arc<HeatwaveKernel>,
    chunks: Chunks,
}

impl TiledOp for PerBlock {
    fn name(&self) -> &str {
        self.kernel.name()
    }

    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let grid = self.chunks.numblocks();
        let out = (0..self.chunks.nblocks())
            .map(|lin| {
                let idx = unravel(lin, &grid);
                let dep = b.input(0, &idx);
                let bytes = self.chunks.block_shape(&idx).iter().product::<usize>() * 8;
                b.push_kernel(Kernel::Heatwave(self.kernel.clone()), vec![dep], &idx, bytes)
            })
            .collect();
        vec![out]
    }
}

/// The event scan: per spatial block, a chain of scan tasks along the time blocks, then a
/// finish. Inputs: the series, the thresholds, the seasonal means (same cells' chunks).
struct Scan {
    rows: Arc<[u16]>,
    dtype: DType,
    opts: MhwOptions,
    chunks: Chunks,
}

impl TiledOp for Scan {
    fn name(&self) -> &str {
        "mhw"
    }

    fn lower(&self, b: &mut TileBuilder<'_>) -> Vec<Vec<TaskId>> {
        let (min_duration, max_gap) = (self.opts.min_duration, self.opts.max_gap);
        let grid = self.chunks.numblocks();
        let times = b.chunks(0).axis(0).to_vec();
        let mut out = Vec::with_capacity(self.chunks.nblocks());
        for lin in 0..self.chunks.nblocks() {
            let idx = unravel(lin, &grid);
            let cells: usize = self.chunks.block_shape(&idx)[1..].iter().product();
            let state_bytes = cells * state::FIELDS * 8;
            let (thresh, seas) = (b.input(1, &idx), b.input(2, &idx));
            let mut prior: Option<TaskId> = None;
            let mut start = 0;
            for (j, &len) in times.iter().enumerate() {
                let mut at = idx.clone();
                at[0] = j;
                let day_block = b.input(0, &at);
                let step =
                    HeatwaveStep::Scan { rows: self.rows[start..start + len].into(), min_duration, max_gap };
                let kernel = Kernel::Heatwave(Arc::new(HeatwaveKernel { step, dtype: self.dtype }));
                let mut deps: Vec<TaskId> = prior.into_iter().collect();
                deps.extend([day_block, thresh, seas]);
                let t = b.push_kernel(kernel, deps, &at, state_bytes);
                // The prior state copied to be updated (the day block and the climatology are
                // read where they lie when contiguous).
                b.set_scratch(t, state_bytes);
                prior = Some(t);
                start += len;
            }
            let step = HeatwaveStep::Finish { min_duration, max_gap };
            let kernel = Kernel::Heatwave(Arc::new(HeatwaveKernel { step, dtype: self.dtype }));
            let bytes = cells * STAT_FIELDS * 8;
            let t = match prior {
                Some(p) => b.push_kernel(kernel, vec![p], &idx, bytes),
                None => b.push_kernel(kernel, vec![], &idx, bytes),
            };
            out.push(t);
        }
        vec![out]
    }
}
