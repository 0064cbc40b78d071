//! Marine-heatwave steps on the CPU ([`HeatwaveKernel`]): pooled means and the calendar
//! finish of a climatology, and the per-cell event scan along time. Every block has time (or
//! climatology rows) as axis 0 and its cells flattened after it in C order.
//!
//! The scan is a small state machine per cell, fed one day at a time, that reproduces
//! Hobday et al.'s `detect` without seeing the whole series: a run of days above the
//! threshold becomes an event when it lasts `min_duration` days; an event stays open while
//! the days since its end (short runs included) are at most `max_gap`, and a later event
//! within that gap joins it (gap days count in its duration and its intensity, as in the
//! reference). Its state after a block is the next block's input, so a series is scanned
//! block by block in time order.

use ndarray::{ArrayD, IxDyn};

use crate::core::block::{HostArray, Value};
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::ir::heatwave::{HeatwaveKernel, HeatwaveStep, STAT_FIELDS, state};

/// Run one heatwave step.
pub(crate) fn execute(k: &HeatwaveKernel, inputs: &[Value]) -> Result<HostArray> {
    let arrays: Vec<&HostArray> = inputs.iter().map(|v| v.array()).collect::<Result<_>>()?;
    let first = || arrays.first().copied().ok_or_else(|| Error::internal("heatwave: no input"));
    match &k.step {
        HeatwaveStep::PooledMean { members } => match k.dtype {
            DType::F32 => pooled_mean::<f32>(first()?, members),
            DType::F64 => pooled_mean::<f64>(first()?, members),
            d => Err(Error::internal(format!("heatwave: temperatures of {d}"))),
        },
        HeatwaveStep::Calendar { groups, year_len, feb29, smooth } => {
            calendar(first()?, groups, *year_len, *feb29, *smooth)
        }
        HeatwaveStep::Scan { rows, min_duration, max_gap } => {
            let rule = Rule { min_duration: *min_duration as f64, max_gap: *max_gap as f64 };
            match k.dtype {
                DType::F32 => scan::<f32>(&arrays, rows, rule),
                DType::F64 => scan::<f64>(&arrays, rows, rule),
                d => Err(Error::internal(format!("heatwave: temperatures of {d}"))),
            }
        }
        HeatwaveStep::Finish { min_duration, max_gap } => {
            let rule = Rule { min_duration: *min_duration as f64, max_gap: *max_gap as f64 };
            finish(first()?, rule)
        }
    }
}

/// A block's values in C order (borrowed when contiguous), its rows (axis 0) and the shape of
/// its cells (the other axes).
type Rows<'a, T> = (ndarray::CowArray<'a, T, IxDyn>, usize, Vec<usize>);

fn rows_of<T: Element>(a: &HostArray) -> Result<Rows<'_, T>> {
    let v = a.typed::<T>()?;
    if v.ndim() == 0 {
        return Err(Error::internal("heatwave: a 0-d block"));
    }
    Ok((v.as_standard_layout(), v.shape()[0], v.shape()[1..].to_vec()))
}

fn flat<'a, T>(a: &'a ndarray::CowArray<'_, T, IxDyn>) -> Result<&'a [T]> {
    a.as_slice().ok_or_else(|| Error::internal("heatwave: a block not in C order"))
}

fn block(rows: usize, cells: &[usize], data: Vec<f64>) -> Result<HostArray> {
    let mut shape = vec![rows];
    shape.extend_from_slice(cells);
    let a = ArrayD::from_shape_vec(IxDyn(&shape), data).map_err(|e| Error::internal(e.to_string()))?;
    Ok(HostArray::new(a.into_shared()))
}

fn pooled_mean<T: Element>(a: &HostArray, members: &[std::sync::Arc<[u32]>]) -> Result<HostArray> {
    let (x, n, grid) = rows_of::<T>(a)?;
    let x = flat(&x)?;
    let cells: usize = grid.iter().product();
    let mut out = vec![0.0; members.len() * cells];
    let (mut sum, mut count) = (vec![0.0f64; cells], vec![0u32; cells]);
    for (g, m) in members.iter().enumerate() {
        sum.fill(0.0);
        count.fill(0);
        for &p in m.iter() {
            let p = p as usize;
            if p >= n {
                return Err(Error::internal("heatwave: a pooled position outside the block"));
            }
            for ((s, c), v) in sum.iter_mut().zip(&mut count).zip(&x[p * cells..(p + 1) * cells]) {
                let v = v.to_f64();
                if !v.is_nan() {
                    *s += v;
                    *c += 1;
                }
            }
        }
        for ((o, s), c) in out[g * cells..(g + 1) * cells].iter_mut().zip(&sum).zip(&count) {
            *o = if *c == 0 { f64::NAN } else { s / f64::from(*c) };
        }
    }
    block(members.len(), &grid, out)
}

fn calendar(
    a: &HostArray,
    groups: &[i64],
    year_len: usize,
    feb29: Option<usize>,
    smooth: usize,
) -> Result<HostArray> {
    let (x, g, grid) = rows_of::<f64>(a)?;
    let x = flat(&x)?;
    let cells: usize = grid.iter().product();
    if g != groups.len() || groups.iter().any(|&l| l < 0 || l as usize >= year_len) {
        return Err(Error::internal("heatwave: climatology rows and their labels disagree"));
    }
    let mut year = vec![f64::NAN; year_len * cells];
    for (i, &l) in groups.iter().enumerate() {
        let l = l as usize;
        year[l * cells..(l + 1) * cells].copy_from_slice(&x[i * cells..(i + 1) * cells]);
    }
    if let Some(f) = feb29.filter(|&f| f > 0 && f + 1 < year_len) {
        for c in 0..cells {
            year[f * cells + c] = 0.5 * year[(f - 1) * cells + c] + 0.5 * year[(f + 1) * cells + c];
        }
    }
    if smooth > 1 {
        let inv = 1.0 / smooth as f64;
        let half = smooth / 2;
        let mut out = vec![0.0; year_len * cells];
        for r in 0..year_len {
            let acc = &mut out[r * cells..(r + 1) * cells];
            for k in 0..smooth {
                let src = (r + year_len * (smooth / year_len + 1) + k - half) % year_len;
                for (o, v) in acc.iter_mut().zip(&year[src * cells..(src + 1) * cells]) {
                    *o += v * inv;
                }
            }
        }
        year = out;
    }
    block(year_len, &grid, year)
}

/// Hobday's event rule.
#[derive(Clone, Copy)]
struct Rule {
    min_duration: f64,
    max_gap: f64,
}

/// One cell's scan state (see [`state`] for the fields).
#[derive(Clone, Copy)]
struct Cell([f64; state::FIELDS]);

impl Cell {
    fn new() -> Cell {
        let mut s = [0.0; state::FIELDS];
        s[state::RUN_MAX] = f64::NEG_INFINITY;
        s[state::EVENT_MAX] = f64::NEG_INFINITY;
        s[state::GAP_MAX] = f64::NEG_INFINITY;
        s[state::MAX_INTENSITY] = f64::NAN;
        Cell(s)
    }

    /// One day: above the threshold or not, and its anomaly from the climatological mean.
    fn day(&mut self, above: bool, anomaly: f64, rule: Rule) {
        let s = &mut self.0;
        if above {
            s[state::RUN_LEN] += 1.0;
            s[state::RUN_MAX] = s[state::RUN_MAX].max(anomaly);
            return;
        }
        self.close_run(rule);
        let s = &mut self.0;
        if s[state::EVENT_LEN] > 0.0 {
            s[state::GAP_LEN] += 1.0;
            s[state::GAP_MAX] = s[state::GAP_MAX].max(anomaly);
            if s[state::GAP_LEN] > rule.max_gap {
                self.close_event();
            }
        }
    }

    /// The run of days above the threshold has ended: an event (joined to the open one when
    /// the gap allows: an open event's gap is never over `max_gap`), or gap days.
    fn close_run(&mut self, rule: Rule) {
        let s = &mut self.0;
        let (len, max) = (s[state::RUN_LEN], s[state::RUN_MAX]);
        if len == 0.0 {
            return;
        }
        s[state::RUN_LEN] = 0.0;
        s[state::RUN_MAX] = f64::NEG_INFINITY;
        if len >= rule.min_duration {
            if s[state::EVENT_LEN] > 0.0 {
                s[state::EVENT_LEN] += s[state::GAP_LEN] + len;
                s[state::EVENT_MAX] = s[state::EVENT_MAX].max(s[state::GAP_MAX]).max(max);
            } else {
                s[state::EVENT_LEN] = len;
                s[state::EVENT_MAX] = max;
            }
            s[state::GAP_LEN] = 0.0;
            s[state::GAP_MAX] = f64::NEG_INFINITY;
        } else if s[state::EVENT_LEN] > 0.0 {
            s[state::GAP_LEN] += len;
            s[state::GAP_MAX] = s[state::GAP_MAX].max(max);
            if s[state::GAP_LEN] > rule.max_gap {
                self.close_event();
            }
        }
    }

    /// The open event can no longer grow: count it.
    fn close_event(&mut self) {
        let s = &mut self.0;
        let len = s[state::EVENT_LEN];
        s[state::COUNT] += 1.0;
        s[state::DAYS] += len;
        s[state::MAX_INTENSITY] = s[state::MAX_INTENSITY].max(s[state::EVENT_MAX]);
        s[state::LONGEST] = s[state::LONGEST].max(len);
        s[state::EVENT_LEN] = 0.0;
        s[state::EVENT_MAX] = f64::NEG_INFINITY;
        s[state::GAP_LEN] = 0.0;
        s[state::GAP_MAX] = f64::NEG_INFINITY;
    }
}

fn scan<T: Element>(arrays: &[&HostArray], rows: &[u16], rule: Rule) -> Result<HostArray> {
    let (prior, rest) = match arrays.len() {
        3 => (None, arrays),
        4 => (Some(arrays[0]), &arrays[1..]),
        n => return Err(Error::internal(format!("heatwave scan: {n} inputs"))),
    };
    let (x, days, grid) = rows_of::<T>(rest[0])?;
    let (thresh, year_len, tgrid) = rows_of::<f64>(rest[1])?;
    let (seas, slen, sgrid) = rows_of::<f64>(rest[2])?;
    let (x, thresh, seas) = (flat(&x)?, flat(&thresh)?, flat(&seas)?);
    let cells: usize = grid.iter().product();
    if tgrid != grid || sgrid != grid || slen != year_len || rows.len() != days {
        return Err(Error::internal("heatwave scan: blocks of different grids"));
    }
    if rows.iter().any(|&r| r as usize >= year_len) {
        return Err(Error::internal("heatwave scan: a day's climatology row is missing"));
    }
    let mut st = match prior {
        Some(p) => {
            let (s, f, pgrid) = rows_of::<f64>(p)?;
            if f != state::FIELDS || pgrid != grid {
                return Err(Error::internal("heatwave scan: a state of another grid"));
            }
            flat(&s)?.to_vec()
        }
        None => {
            let init = Cell::new().0;
            let mut s = vec![0.0; state::FIELDS * cells];
            for (f, v) in init.iter().enumerate() {
                s[f * cells..(f + 1) * cells].fill(*v);
            }
            s
        }
    };
    for c in 0..cells {
        let mut cell = Cell(std::array::from_fn(|f| st[f * cells + c]));
        for (t, &r) in rows.iter().enumerate() {
            let at = r as usize * cells + c;
            let (th, se) = (thresh[at], seas[at]);
            let v = x[t * cells + c].to_f64();
            // A missing day takes the climatological mean (Hobday's `temp[isnan] = seas`).
            let v = if v.is_nan() { se } else { v };
            cell.day(v > th, v - se, rule);
        }
        for (f, v) in cell.0.iter().enumerate() {
            st[f * cells + c] = *v;
        }
    }
    block(state::FIELDS, &grid, st)
}

fn finish(a: &HostArray, rule: Rule) -> Result<HostArray> {
    let (st, f, grid) = rows_of::<f64>(a)?;
    let st = flat(&st)?;
    if f != state::FIELDS {
        return Err(Error::internal("heatwave finish: not a scan state"));
    }
    let cells: usize = grid.iter().product();
    let mut out = vec![0.0; STAT_FIELDS * cells];
    for c in 0..cells {
        let mut cell = Cell(std::array::from_fn(|f| st[f * cells + c]));
        cell.close_run(rule);
        if cell.0[state::EVENT_LEN] > 0.0 {
            cell.close_event();
        }
        let picks = [state::COUNT, state::DAYS, state::MAX_INTENSITY, state::LONGEST];
        for (k, &p) in picks.iter().enumerate() {
            out[k * cells + c] = cell.0[p];
        }
    }
    block(STAT_FIELDS, &grid, out)
}
