//! Marine heatwaves (Hobday et al. 2016) against an eager transcription of the authors'
//! reference (`marineHeatWaves.detect`): per cell, the pooled-window percentile and mean per
//! calendar day, 29 February from its neighbours, the circular running mean, then runs above
//! the threshold, the short ones dropped, events joined across short gaps (the reference's
//! while loop, one join at a time), and their statistics. Random series with NaN, planted
//! heatwaves and ties, random parameters, irregular chunks along time and cells.

mod common;

use common::XorShift;
use proptest::prelude::*;
use tessera::calendar::{Calendar, Day, days_from};
use tessera::climate::{MhwOptions, marine_heatwaves, mhw_climatology, mhw_events};

/// NumPy's `percentile(method="linear")` of values with no NaN (NaN when there are none).
fn percentile(mut v: Vec<f64>, q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let pos = (v.len() as f64 - 1.0) * q;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    lerp(v[lo], v[hi], pos - lo as f64)
}

/// NumPy's `_lerp` (the upper neighbour's form from a weight of ½ on), with a weight of 0 or
/// equal neighbours giving the neighbour itself.
fn lerp(a: f64, b: f64, g: f64) -> f64 {
    if g == 0.0 || a == b {
        return a;
    }
    let d = b - a;
    if g >= 0.5 { b - d * (1.0 - g) } else { a + d * g }
}

/// One cell's climatology (threshold, seasonal mean) per calendar row, as the reference.
fn reference_climatology(temp: &[f64], days: &[Day], o: &MhwOptions) -> (Vec<f64>, Vec<f64>) {
    let (year_len, feb29) = if days[0].calendar == Calendar::Day360 { (360, None) } else { (366, Some(59)) };
    let n = temp.len();
    let in_base = |t: usize| o.baseline.is_none_or(|(a, b)| (a..=b).contains(&days[t].year));
    let (mut thresh, mut seas) = (vec![f64::NAN; year_len], vec![f64::NAN; year_len]);
    for d in 0..year_len {
        if Some(d) == feb29 {
            continue;
        }
        let mut pool: Vec<usize> = Vec::new();
        for t in (0..n).filter(|&t| in_base(t) && days[t].month_day() == d) {
            let w = o.window_half_width;
            pool.extend(t.saturating_sub(w)..=(t + w).min(n - 1));
        }
        if pool.is_empty() {
            continue;
        }
        pool.sort_unstable();
        pool.dedup();
        let vals: Vec<f64> = pool.iter().map(|&t| temp[t]).filter(|v| !v.is_nan()).collect();
        thresh[d] = percentile(vals.clone(), o.percentile / 100.0);
        let sum = vals.iter().fold(0.0, |s, v| s + v);
        seas[d] = if vals.is_empty() { f64::NAN } else { sum / vals.len() as f64 };
    }
    for row in [&mut thresh, &mut seas] {
        if let Some(f) = feb29 {
            row[f] = 0.5 * row[f - 1] + 0.5 * row[f + 1];
        }
        if o.smooth_width > 1 {
            let (w, inv) = (o.smooth_width as isize, 1.0 / o.smooth_width as f64);
            let len = year_len as isize;
            let smoothed: Vec<f64> = (0..len)
                .map(|r| (0..w).fold(0.0, |acc, k| acc + row[(r + k - w / 2).rem_euclid(len) as usize] * inv))
                .collect();
            *row = smoothed;
        }
    }
    (thresh, seas)
}

/// One cell's events: (count, days, largest intensity, longest), as the reference.
fn reference_events(
    temp: &[f64],
    days: &[Day],
    thresh: &[f64],
    seas: &[f64],
    o: &MhwOptions,
) -> (i64, i64, f64, i64) {
    let n = temp.len();
    let rows: Vec<usize> = days.iter().map(|d| d.month_day()).collect();
    let t_sub: Vec<f64> = (0..n).map(|t| if temp[t].is_nan() { seas[rows[t]] } else { temp[t] }).collect();
    let above: Vec<bool> = (0..n).map(|t| t_sub[t] > thresh[rows[t]]).collect();
    // ndimage.label: maximal runs; keep those of at least min_duration days.
    let mut events: Vec<(usize, usize)> = Vec::new();
    let mut t = 0;
    while t < n {
        if above[t] {
            let s = t;
            while t < n && above[t] {
                t += 1;
            }
            if t - s >= o.min_duration {
                events.push((s, t - 1));
            }
        } else {
            t += 1;
        }
    }
    // Join across gaps, the first short gap first, until none is left.
    while let Some(i) = events.windows(2).position(|w| w[1].0 - w[0].1 - 1 <= o.max_gap) {
        events[i].1 = events[i + 1].1;
        events.remove(i + 1);
    }
    let mut out = (0i64, 0i64, f64::NAN, 0i64);
    for &(s, e) in &events {
        let dur = (e - s + 1) as i64;
        let peak = (s..=e).map(|t| t_sub[t] - seas[rows[t]]).fold(f64::NEG_INFINITY, f64::max);
        out.0 += 1;
        out.1 += dur;
        out.2 = out.2.max(peak);
        out.3 = out.3.max(dur);
    }
    out
}

/// A random daily series per cell: seasonal cycle, noise, some NaN, and planted warm spells
/// of random lengths (some shorter than an event, some separated by short gaps).
fn series(g: &mut XorShift, n: usize, cells: usize, nan_pct: usize) -> Vec<f32> {
    let mut out = vec![0f32; n * cells];
    for c in 0..cells {
        let base = 10.0 + g.below(20) as f32;
        let mut t = 0;
        let mut bump = vec![0f32; n];
        while t < n {
            t += g.below(60);
            let len = 1 + g.below(12);
            for b in bump.iter_mut().skip(t).take(len) {
                *b = 1.5;
            }
            t += len;
        }
        for (t, b) in bump.iter().enumerate() {
            let season = 3.0 * ((t as f32) * std::f32::consts::TAU / 365.0).cos();
            let noise = (g.below(1000) as f32 / 1000.0 - 0.5) * if g.chance(10) { 0.0 } else { 1.0 };
            let v = if g.chance(nan_pct) { f32::NAN } else { base + season + noise + b };
            out[t * cells + c] = v;
        }
    }
    out
}

/// Cuts of `n` into random irregular blocks (one-element blocks among them).
fn cuts(g: &mut XorShift, n: usize, max: usize) -> Vec<usize> {
    let mut v = Vec::new();
    let mut left = n;
    while left > 0 {
        let c = (1 + g.below(max)).min(left);
        v.push(c);
        left -= c;
    }
    v
}

fn check(seed: u64, calendar: Calendar, o: MhwOptions) {
    let mut g = XorShift(seed | 1);
    let start = calendar.from_ymd(1999 + g.below(3) as i32, 1 + g.below(12), 1 + g.below(28)).unwrap();
    let n = 400 + g.below(900);
    let days = days_from(start, n);
    let (ny, nx) = (1 + g.below(3), 1 + g.below(3));
    let cells = ny * nx;
    let nan_pct = if g.chance(50) { 0 } else { 3 };
    let data = series(&mut g, n, cells, nan_pct);
    let chunks =
        tessera::Chunks::new(vec![cuts(&mut g, n, 200), cuts(&mut g, ny, 2), cuts(&mut g, nx, 3)]).unwrap();
    let arr = ndarray::Array::from_shape_vec((n, ny, nx), data.clone()).unwrap().into_dyn();
    let x = tessera::from_array(arr, chunks).unwrap();
    if !days.iter().any(|d| o.baseline.is_none_or(|(a, b)| (a..=b).contains(&d.year))) {
        let err = marine_heatwaves(&x, &days, &o).unwrap_err().to_string();
        assert!(err.contains("baseline"), "{err}");
        return;
    }
    let (clim, ev) = marine_heatwaves(&x, &days, &o).unwrap();
    let (thresh, seas) = (clim.thresh.to_vec().unwrap(), clim.seas.to_vec().unwrap());
    let (count, total) = (ev.count.to_vec().unwrap(), ev.days.to_vec().unwrap());
    let (peak, longest) = (ev.max_intensity.to_vec().unwrap(), ev.longest.to_vec().unwrap());
    let year_len = thresh.len() / cells;
    for c in 0..cells {
        let temp: Vec<f64> = (0..n).map(|t| data[t * cells + c] as f64).collect();
        let (rt, rs) = reference_climatology(&temp, &days, &o);
        let got_t: Vec<f64> = (0..year_len).map(|r| thresh[r * cells + c]).collect();
        let got_s: Vec<f64> = (0..year_len).map(|r| seas[r * cells + c]).collect();
        let same = |a: &[f64], b: &[f64]| {
            a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()))
        };
        assert!(same(&got_t, &rt), "cell {c}: thresholds differ\n{got_t:?}\n{rt:?}");
        assert!(same(&got_s, &rs), "cell {c}: seasonal means differ");
        let want = reference_events(&temp, &days, &rt, &rs, &o);
        let got = (count[c], total[c], peak[c], longest[c]);
        assert_eq!(
            (got.0, got.1, got.3),
            (want.0, want.1, want.3),
            "cell {c} of {n} days from {start:?}, {o:?}"
        );
        assert!(
            got.2.to_bits() == want.2.to_bits() || (got.2.is_nan() && want.2.is_nan()),
            "cell {c}: peak {got:?} {want:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random series, chunks and parameters in the standard calendar: the reference's
    /// climatology bit for bit and its events exactly.
    #[test]
    fn events_match_the_reference(
        seed in any::<u64>(),
        min_duration in 1usize..7,
        max_gap in 0usize..4,
        window in 0usize..6,
        smooth in prop_oneof![Just(0usize), Just(3), Just(31)],
        percentile in prop_oneof![Just(90.0), Just(50.0), 0.0f64..=100.0],
        baseline in prop_oneof![Just(None), Just(Some((2000, 2000))), Just(Some((1999, 2001)))],
    ) {
        let o = MhwOptions { baseline, percentile, window_half_width: window, smooth_width: smooth, min_duration, max_gap };
        check(seed, Calendar::Standard, o);
    }
}

/// The defaults (Hobday's) in the calendars of model output.
#[test]
fn default_parameters_in_every_calendar() {
    for (i, cal) in
        [Calendar::Standard, Calendar::NoLeap, Calendar::AllLeap, Calendar::Day360, Calendar::Julian]
            .into_iter()
            .enumerate()
    {
        check(0x5eed + i as u64 * 7919, cal, MhwOptions::default());
    }
}

/// A planted heatwave in the synthetic SST is found where it was planted, with its length.
#[test]
fn planted_heatwave_is_found() {
    let days = days_from(Day::parse("2001-01-01").unwrap(), 4 * 365 + 1);
    let (ny, nx) = (6, 8);
    let base = tessera::datasets::sst(days.len(), ny, nx, 3, [200, 3, 8]).unwrap().compute().unwrap();
    let mut warm = base.clone();
    // +3 °C for 20 days in the fourth year over the cells of row 2 (ocean ones stay finite).
    for t in 1200..1220 {
        for j in 0..nx {
            warm[[t, 2, j]] += 3.0;
        }
    }
    let x = tessera::from_array(warm, [200, 3, 8]).unwrap();
    let (_, ev) = marine_heatwaves(&x, &days, &MhwOptions::default()).unwrap();
    let longest = ev.longest.compute().unwrap();
    let peak = ev.max_intensity.compute().unwrap();
    for j in 0..nx {
        if base[[0, 2, j]].is_nan() {
            assert_eq!(longest[[2, j]], 0, "land has no events");
            assert!(peak[[2, j]].is_nan());
        } else {
            assert!(longest[[2, j]] >= 20, "cell (2, {j}): longest {}", longest[[2, j]]);
            assert!(peak[[2, j]] > 2.5, "cell (2, {j}): peak {}", peak[[2, j]]);
        }
    }
}

/// The climatology of one series serves another (events of a later period against a
/// baseline), and a climatology of another grid is refused.
#[test]
fn climatology_reused_and_checked() {
    let days = days_from(Day::parse("2001-01-01").unwrap(), 3 * 365);
    let x = tessera::datasets::sst(days.len(), 4, 4, 9, [100, 4, 4]).unwrap();
    let o = MhwOptions { baseline: Some((2001, 2002)), ..Default::default() };
    let clim = mhw_climatology(&x, &days, &o).unwrap();
    let ev = mhw_events(&x, &days, &clim, &o).unwrap();
    assert_eq!(ev.count.shape(), &[4, 4]);
    let other = tessera::datasets::sst(days.len(), 4, 5, 9, [100, 4, 5]).unwrap();
    let err = mhw_events(&other, &days, &clim, &o).unwrap_err().to_string();
    assert!(err.contains("climatology"), "{err}");
}

/// Bad input: days that skip, days of another length, an empty baseline, bad parameters.
#[test]
fn errors_name_the_problem() {
    let days = days_from(Day::parse("2001-01-01").unwrap(), 400);
    let x = tessera::datasets::sst(400, 2, 2, 1, [100, 2, 2]).unwrap();
    let o = MhwOptions::default();
    let mut gappy = days.clone();
    gappy.remove(100);
    gappy.push(days[399].next());
    let e = |r: tessera::Result<tessera::climate::MhwClimatology>| r.unwrap_err().to_string();
    assert!(e(mhw_climatology(&x, &gappy, &o)).contains("follow one another"));
    assert!(e(mhw_climatology(&x, &days[..399], &o)).contains("days along axis 0"));
    let none = MhwOptions { baseline: Some((1990, 1995)), ..o };
    assert!(e(mhw_climatology(&x, &days, &none)).contains("baseline"));
    assert!(e(mhw_climatology(&x, &days, &MhwOptions { percentile: 120.0, ..o })).contains("percentile"));
    assert!(e(mhw_climatology(&x, &days, &MhwOptions { smooth_width: 30, ..o })).contains("odd"));
    assert!(e(mhw_climatology(&x, &days, &MhwOptions { min_duration: 0, ..o })).contains("one day"));
}
