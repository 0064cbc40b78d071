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

use super::radix::{key, value};
use crate::core::block::{HostArray, Value};
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::ir::heatwave::{HeatwaveKernel, HeatwaveStep, STAT_FIELDS, state};
use crate::ir::order::{QuantileMethod, lerp};

/// Run one heatwave step.
pub(crate) fn execute(k: &HeatwaveKernel, inputs: &[Value]) -> Result<HostArray> {
    let arrays: Vec<&HostArray> = inputs.iter().map(|v| v.array()).collect::<Result<_>>()?;
    let first = || arrays.first().copied().ok_or_else(|| Error::internal("heatwave: no input"));
    match &k.step {
        HeatwaveStep::Pooled { members, q } => match k.dtype {
            DType::F32 => pooled::<f32>(first()?, members, *q),
            DType::F64 => pooled::<f64>(first()?, members, *q),
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

/// Lines gathered at a time from a block of time series: a strip of this many cells' series
/// (contiguous copies) stays in cache while their groups are pooled.
const STRIP: usize = 64;

/// How group `k`'s pool follows from group `k − 1`'s: the positions that leave and those that
/// join it, or `None` when sorting its pool afresh is cheaper.
type Slide = Option<(Vec<u32>, Vec<u32>)>;

/// The slides between consecutive groups' members (both ascending): a window moving one day
/// per year drops and adds one position per year.
fn slides(members: &[std::sync::Arc<[u32]>]) -> Vec<Slide> {
    let mut out: Vec<Slide> = vec![None];
    for w in members.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (mut gone, mut new) = (Vec::new(), Vec::new());
        let (mut i, mut j) = (0, 0);
        while i < a.len() || j < b.len() {
            match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if x == y => (i, j) = (i + 1, j + 1),
                (Some(x), Some(y)) if x < y => (gone.push(*x), i += 1).1,
                (Some(x), None) => (gone.push(*x), i += 1).1,
                (_, Some(y)) => (new.push(*y), j += 1).1,
                (None, None) => unreachable!("the loop runs while either has positions"),
            }
        }
        // Each change moves about half the pool: past a quarter of it, sort afresh.
        out.push((4 * (gone.len() + new.len()) <= b.len()).then_some((gone, new)));
    }
    out
}

/// Sums of four lines (`lines[r * n..]`, `r` < 4) at `positions`, each in position order, NaN
/// adding 0 (as `nansum`): four independent additions per position, branch-free.
#[inline(never)]
fn nansum4(lines: &[f64], n: usize, positions: &[u32]) -> [f64; 4] {
    let mut s = [0.0; 4];
    let (l0, l1, l2, l3) = (&lines[..n], &lines[n..2 * n], &lines[2 * n..3 * n], &lines[3 * n..4 * n]);
    for &p in positions {
        let p = p as usize;
        let v = [l0[p], l1[p], l2[p], l3[p]];
        for r in 0..4 {
            s[r] += if v[r].is_nan() { 0.0 } else { v[r] };
        }
    }
    s
}

/// The sum of `line` at `positions` in their order, NaN adding 0 (as `nansum`).
fn nansum_at(line: &[f64], positions: &[u32]) -> f64 {
    positions.iter().map(|&p| line[p as usize]).fold(0.0, |s, v| s + if v.is_nan() { 0.0 } else { v })
}

/// Replace key `old` (present) by `new` in ascending `sorted`, moving only the keys between.
fn replace(sorted: &mut [u64], old: u64, new: u64) {
    let i = sorted.partition_point(|&b| b < old);
    if new >= old {
        let j = i + 1 + sorted[i + 1..].partition_point(|&b| b < new);
        sorted.copy_within(i + 1..j, i);
        sorted[j - 1] = new;
    } else {
        let j = sorted[..i].partition_point(|&b| b < new);
        sorted.copy_within(j..i, j + 1);
        sorted[j] = new;
    }
}

/// Move `sorted` (the keys of a line's values at one group's positions, NaN left out) to the
/// next group's by `slide`, or sort that group's afresh.
fn advance(sorted: &mut Vec<u64>, line: &[f64], members: &[u32], slide: &Slide) {
    let Some((gone, new)) = slide else {
        sorted.clear();
        sorted.extend(members.iter().map(|&p| line[p as usize]).filter(|v| !v.is_nan()).map(key));
        sorted.sort_unstable();
        return;
    };
    let at = |p: &u32| line[*p as usize];
    let paired = gone.len().min(new.len());
    for (o, v) in gone[..paired].iter().map(at).zip(new[..paired].iter().map(at)) {
        match (o.is_nan(), v.is_nan()) {
            (false, false) => replace(sorted, key(o), key(v)),
            (false, true) => {
                let i = sorted.partition_point(|&b| b < key(o));
                sorted.remove(i);
            }
            (true, false) => {
                let k = key(v);
                sorted.insert(sorted.partition_point(|&b| b < k), k);
            }
            (true, true) => {}
        }
    }
    for o in gone[paired..].iter().map(at).filter(|v| !v.is_nan()) {
        let i = sorted.partition_point(|&b| b < key(o));
        sorted.remove(i);
    }
    for v in new[paired..].iter().map(at).filter(|v| !v.is_nan()) {
        let k = key(v);
        sorted.insert(sorted.partition_point(|&b| b < k), k);
    }
}

/// For each group (in order), the `q` quantile and the mean of each line's values at the
/// group's positions. Lines are taken `STRIP` at a time; each keeps its quantile's pool sorted
/// (as order-preserving keys) from one group to the next, replacing the values that leave it
/// by those that join it (one per year for consecutive days), so a quantile is a lookup
/// rather than a selection; the mean is summed afresh in position order (NumPy's `nanmean`
/// order), four lines at a time.
fn pooled<T: Element>(a: &HostArray, members: &[std::sync::Arc<[u32]>], q: f64) -> Result<HostArray> {
    let (x, n, grid) = rows_of::<T>(a)?;
    let x = flat(&x)?;
    let cells: usize = grid.iter().product();
    if members.iter().flat_map(|m| m.iter()).any(|&p| p as usize >= n) {
        return Err(Error::internal("heatwave: a pooled position outside the block"));
    }
    let g = members.len();
    let slides = slides(members);
    let mut out = vec![f64::NAN; 2 * g * cells];
    let mut strip = vec![0.0f64; n * STRIP.min(cells)];
    let mut sorted: Vec<Vec<u64>> = vec![Vec::new(); STRIP];
    let mut sums = [0.0; STRIP];
    for c0 in (0..cells).step_by(STRIP) {
        let width = STRIP.min(cells - c0);
        for t in 0..n {
            for (j, v) in x[t * cells + c0..t * cells + c0 + width].iter().enumerate() {
                strip[j * n + t] = v.to_f64();
            }
        }
        for (k, m) in members.iter().enumerate() {
            for j in (0..width).step_by(4) {
                if j + 4 <= width {
                    sums[j..j + 4].copy_from_slice(&nansum4(&strip[j * n..(j + 4) * n], n, m));
                } else {
                    for r in j..width {
                        sums[r] = nansum_at(&strip[r * n..(r + 1) * n], m);
                    }
                }
            }
            for j in 0..width {
                let pool = &mut sorted[j];
                advance(pool, &strip[j * n..(j + 1) * n], m, &slides[k]);
                let len = pool.len();
                if len == 0 {
                    continue;
                }
                let (lo, hi, w) = QuantileMethod::Linear.position(len, q);
                out[k * cells + c0 + j] = lerp(value::<f64>(pool[lo]), value::<f64>(pool[hi]), w);
                out[(g + k) * cells + c0 + j] = sums[j] / len as f64;
            }
        }
    }
    block(2 * g, &grid, out)
}

fn calendar(
    a: &HostArray,
    groups: &[i64],
    year_len: usize,
    feb29: Option<usize>,
    smooth: usize,
) -> Result<HostArray> {
    let (x, rows, grid) = rows_of::<f64>(a)?;
    let x = flat(&x)?;
    let cells: usize = grid.iter().product();
    let g = groups.len();
    if g == 0 || rows % g != 0 || groups.iter().any(|&l| l < 0 || l as usize >= year_len) {
        return Err(Error::internal("heatwave: climatology rows and their labels disagree"));
    }
    let parts = rows / g;
    let mut out = Vec::with_capacity(parts * year_len * cells);
    for part in x.chunks_exact(g * cells) {
        out.extend(calendar_year(part, groups, cells, year_len, feb29, smooth));
    }
    block(parts * year_len, &grid, out)
}

/// One climatology's group rows laid out as the calendar year, 29 February filled, smoothed.
fn calendar_year(
    x: &[f64],
    groups: &[i64],
    cells: usize,
    year_len: usize,
    feb29: Option<usize>,
    smooth: usize,
) -> Vec<f64> {
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
    if smooth <= 1 {
        return year;
    }
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
    out
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
    // Day by day over all cells (each row read in order); a cell with no run in progress and
    // no open event that stays below its threshold needs no update.
    for (t, &r) in rows.iter().enumerate() {
        let r = r as usize;
        let (day, th, se) = (&x[t * cells..(t + 1) * cells], &thresh[r * cells..], &seas[r * cells..]);
        for c in 0..cells {
            let v = day[c].to_f64();
            // A missing day takes the climatological mean (Hobday's `temp[isnan] = seas`).
            let v = if v.is_nan() { se[c] } else { v };
            let above = v > th[c];
            if !above && st[state::RUN_LEN * cells + c] == 0.0 && st[state::EVENT_LEN * cells + c] == 0.0 {
                continue;
            }
            let mut cell = Cell(std::array::from_fn(|f| st[f * cells + c]));
            cell.day(above, v - se[c], rule);
            for (f, v) in cell.0.iter().enumerate() {
                st[f * cells + c] = *v;
            }
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

#[cfg(test)]
mod tests {
    use super::{pooled, slides};
    use crate::core::block::HostArray;
    use std::sync::Arc;

    /// Groups that slide by one, jump, overlap wholly or not at all, with NaN, ties and ±0.0
    /// among the values: each group's quantile and mean against sorting its pool afresh.
    #[test]
    fn sliding_pools_match_fresh_sorts() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let n = 120;
        let lines = 6;
        let values: Vec<f64> = (0..n * lines)
            .map(|_| match next() % 16 {
                0 => f64::NAN,
                1 => 0.0,
                2 => -0.0,
                r => (r % 5) as f64 + (next() % 100) as f64 / 100.0,
            })
            .collect();
        let mut members: Vec<Arc<[u32]>> = Vec::new();
        let mut start = 0u32;
        for _ in 0..60 {
            start = (start + (next() % 4) as u32) % 100;
            let width = 1 + (next() % 20) as u32;
            let mut m: Vec<u32> = (start..start + width).chain(start / 2..start / 2 + 3).collect();
            m.sort_unstable();
            m.dedup();
            members.push(m.into());
        }
        assert!(slides(&members).iter().skip(1).any(Option::is_some), "some groups slide");
        let a = ndarray::Array::from_shape_vec((n, lines), values.clone()).unwrap().into_dyn();
        let q = 0.9;
        let got = pooled::<f64>(&HostArray::new(a.into_shared()), &members, q).unwrap();
        let got = got.typed::<f64>().unwrap();
        let g = members.len();
        for c in 0..lines {
            for (k, m) in members.iter().enumerate() {
                let mut pool: Vec<f64> =
                    m.iter().map(|&p| values[p as usize * lines + c]).filter(|v| !v.is_nan()).collect();
                let (want_q, want_m) = if pool.is_empty() {
                    (f64::NAN, f64::NAN)
                } else {
                    let mean = pool.iter().sum::<f64>() / pool.len() as f64;
                    pool.sort_by(|a, b| a.partial_cmp(b).unwrap());
                    let (lo, hi, w) = crate::ir::order::QuantileMethod::Linear.position(pool.len(), q);
                    (crate::ir::order::lerp(pool[lo], pool[hi], w), mean)
                };
                let (qv, mv) = (got[[k, c]], got[[g + k, c]]);
                assert!(
                    qv == want_q || (qv.is_nan() && want_q.is_nan()),
                    "group {k} line {c}: {qv} vs {want_q}"
                );
                assert!(
                    mv == want_m || (mv.is_nan() && want_m.is_nan()),
                    "group {k} line {c}: mean {mv} vs {want_m}"
                );
            }
        }
    }
}
