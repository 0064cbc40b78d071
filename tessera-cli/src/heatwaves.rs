//! `tessera ydaypctl` (the percentile threshold per calendar day) and `tessera mhw` (marine
//! heatwaves per cell), Hobday et al. (2016)'s method with its parameters as options. Both run
//! as a [`Job`] (inputs joined in time, dates, selections, budget, output, map, trace), their
//! computation being [`Compute::Threshold`] and [`Compute::Heatwaves`].

use tessera::calendar::{Calendar, Day, days_from};
use tessera::climate::MhwOptions;

use crate::Failure;
use crate::args::{Io, RunOptions};
use crate::reduce::{Compute, Job};

/// Hobday et al.'s parameters (their defaults).
#[derive(clap::Args, Debug, Clone)]
pub struct MhwArgs {
    /// The percentile of the threshold.
    #[arg(long, value_name = "P", default_value_t = 90.0)]
    pub percentile: f64,
    /// Days pooled either side of each day of the baseline (5: an 11-day window).
    #[arg(long, value_name = "DAYS", default_value_t = 5)]
    pub window: usize,
    /// Width of the circular running mean smoothing the climatology (odd; 0: none).
    #[arg(long, value_name = "DAYS", default_value_t = 31)]
    pub smooth: usize,
    /// The baseline years, first and last included: 1983/2012 (default: every year).
    #[arg(long, value_name = "FROM/TO", value_parser = baseline)]
    pub baseline: Option<(i32, i32)>,
    /// Shortest event, in days (mhw).
    #[arg(long, value_name = "DAYS", default_value_t = 5)]
    pub min_duration: usize,
    /// Longest gap joining two events, in days (mhw).
    #[arg(long, value_name = "DAYS", default_value_t = 2)]
    pub max_gap: usize,
}

impl MhwArgs {
    fn options(&self) -> MhwOptions {
        MhwOptions {
            baseline: self.baseline,
            percentile: self.percentile,
            window_half_width: self.window,
            smooth_width: self.smooth,
            min_duration: self.min_duration,
            max_gap: self.max_gap,
        }
    }
}

/// `--baseline FROM/TO`.
fn baseline(s: &str) -> Result<(i32, i32), String> {
    let bad = || format!("'{s}' is not a range of years FROM/TO (1983/2012)");
    let (a, b) = s.split_once('/').ok_or_else(bad)?;
    let (a, b) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
    if a > b {
        return Err(format!("the baseline {a}/{b} ends before it starts"));
    }
    Ok((a, b))
}

/// The options of `ydaypctl` and `mhw`.
#[derive(clap::Args, Debug)]
pub struct HeatwaveArgs {
    #[command(flatten)]
    pub io: Io,
    #[command(flatten)]
    pub mhw: MhwArgs,
    #[command(flatten)]
    pub run: RunOptions,
}

/// `tessera ydaypctl`.
pub fn ydaypctl(a: HeatwaveArgs) -> Result<(), Failure> {
    Job::new(&a.io, &a.run, 0, 0, Compute::Threshold(a.mhw.options()))?.execute()
}

/// `tessera mhw`.
pub fn mhw(a: HeatwaveArgs) -> Result<(), Failure> {
    Job::new(&a.io, &a.run, 0, 0, Compute::Heatwaves(a.mhw.options()))?.execute()
}

/// The days that date the rows of a climatology by calendar day, and their labels: a leap
/// year of `calendar` (2000; the 360 days of a 360-day year).
pub fn climatology_year(calendar: Calendar) -> tessera::Result<(Vec<Day>, Vec<i64>)> {
    let days =
        days_from(calendar.from_ymd(2000, 1, 1)?, if calendar == Calendar::Day360 { 360 } else { 366 });
    let labels = (0..days.len() as i64).collect();
    Ok((days, labels))
}

/// The statistics `mhw` writes, in the order of their axis.
pub const STATISTICS: &str = "count days max_intensity longest";

/// The metadata of `mhw`'s output: a first axis `statistic` before the grid's, and
/// attributes that say what each entry is (the input's units and names do not apply).
pub fn stats_meta(m: &mut tessera::io::NcMeta) {
    m.dims.insert(0, "statistic".into());
    m.attrs.retain(|(k, _)| {
        !matches!(
            k.as_str(),
            "units"
                | "long_name"
                | "standard_name"
                | "cell_methods"
                | "valid_min"
                | "valid_max"
                | "scale_factor"
                | "add_offset"
        )
    });
    m.attrs.push((
        "long_name".into(),
        "marine heatwaves (Hobday et al. 2016): number of events, days in events, largest intensity \
         (degrees above the seasonal mean), longest event (days)"
            .into(),
    ));
    m.attrs.push(("statistics".into(), STATISTICS.into()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baseline_parses_ranges_only() {
        assert_eq!(baseline("1983/2012"), Ok((1983, 2012)));
        assert!(baseline("2012/1983").unwrap_err().contains("ends before"));
        assert!(baseline("1983").is_err() && baseline("a/b").is_err());
        let (d, l) = climatology_year(Calendar::NoLeap).unwrap();
        assert_eq!((d.len(), l[365]), (366, 365), "a no-leap calendar's year 2000 is a leap template");
    }
}
