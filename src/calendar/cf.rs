//! CF time coordinates: numbers in units such as `days since 1981-09-01` (or CDO's absolute
//! `day as %Y%m%d.%f`) in a calendar, turned into [`Day`]s.

use crate::calendar::{Calendar, Day, YEARS};
use crate::core::error::{Error, Result};

/// The days of a CF time coordinate: `values` in `units` such as `days since 1981-09-01`,
/// `hours since 1800-01-01 00:00:00` or `seconds since 1970-01-01T00:00:00Z`, each the day
/// its instant falls on, in `calendar` (a CF name: `standard` when `None`, as CF says; see
/// [`Calendar`]). The absolute form `day as %Y%m%d.%f` (CDO's default: 19820101.5 is noon of
/// 1 January 1982) is read too. An unknown calendar, unit or date, or a value that is not a
/// time within [`YEARS`], is an error naming it.
///
/// ```
/// use tessera::calendar::{Calendar, Day, days_from_cf};
/// let d = days_from_cf(&[0.0, 59.0, 365.5], "days since 1984-01-01", None).unwrap();
/// assert_eq!(d, [Day::new(1984, 0), Day::new(1984, 59), Day::new(1984, 365)]);
/// let n = days_from_cf(&[59.0], "days since 2000-01-01", Some("noleap")).unwrap();
/// assert_eq!(n[0].to_string(), "2000-03-01");
/// let a = days_from_cf(&[19820301.5], "day as %Y%m%d.%f", None).unwrap();
/// assert_eq!(a[0], Day::from_ymd(1982, 3, 1).unwrap());
/// ```
pub fn days_from_cf(values: &[f64], units: &str, calendar: Option<&str>) -> Result<Vec<Day>> {
    let cal = match calendar {
        Some(c) => c.parse::<Calendar>()?,
        None => Calendar::Standard,
    };
    if units.trim().to_ascii_lowercase().starts_with("day as %y%m%d") {
        return values.iter().map(|&v| absolute_day(v, units, cal)).collect();
    }
    let bad = || {
        Error::invalid(format!(
            "time units '{units}' are not of the form '<days|hours|minutes|seconds> since YYYY-MM-DD[ hh:mm:ss]' \
             or 'day as %Y%m%d.%f'"
        ))
    };
    let (unit, since) = units.split_once(" since ").ok_or_else(bad)?;
    let per_day = match unit.trim().to_ascii_lowercase().as_str() {
        "days" | "day" | "d" => 1.0,
        "hours" | "hour" | "hrs" | "hr" | "h" => 24.0,
        "minutes" | "minute" | "min" | "mins" => 1440.0,
        "seconds" | "second" | "secs" | "sec" | "s" => 86400.0,
        _ => return Err(bad()),
    };
    let since = since.trim();
    let (date, clock) = match since.split_once(['T', ' ']) {
        Some((d, c)) => (d, c.trim().trim_end_matches('Z')),
        None => (since, ""),
    };
    let mut ymd = date.split('-').map(|v| v.parse::<usize>().ok());
    let (Some(Some(y)), Some(Some(m)), Some(Some(d))) = (ymd.next(), ymd.next(), ymd.next()) else {
        return Err(bad());
    };
    let y = i32::try_from(y).map_err(|_| bad())?;
    let epoch = cal.from_ymd(y, m, d)?;
    // Time of day of the epoch, in days (a UTC offset after it is ignored).
    let mut frac = 0.0;
    for (part, scale) in clock.split(['+', ' ']).next().unwrap_or("").split(':').zip([24.0, 1440.0, 86400.0])
    {
        if !part.is_empty() {
            frac += part.parse::<f64>().map_err(|_| bad())? / scale;
        }
    }
    values
        .iter()
        .map(|&v| {
            // A hair of tolerance so that 86399.9999 s-style rounding lands on its day.
            let days = (v / per_day + frac + 1e-9).floor();
            // Beyond ±2^53 days no f64 is a whole day count, and far beyond any year a Day holds.
            if !days.is_finite() || days.abs() > 9.0e15 {
                return Err(Error::invalid(format!(
                    "time value {v} (in '{units}') is not a time tessera can date"
                )));
            }
            epoch.add_days(days as i64).map_err(|_| {
                Error::invalid(format!("time value {v} (in '{units}') falls outside the years {YEARS:?}"))
            })
        })
        .collect()
}

/// The day of an absolute time `YYYYMMDD.fraction` in `cal`.
fn absolute_day(v: f64, units: &str, cal: Calendar) -> Result<Day> {
    let bad = || Error::invalid(format!("time value {v} (in '{units}') is not a date YYYYMMDD[.fraction]"));
    let whole = v.floor();
    if !whole.is_finite() || whole.abs() > 1e13 {
        return Err(bad());
    }
    let n = whole as i64;
    let (y, m, d) = (n.div_euclid(10_000), n.div_euclid(100).rem_euclid(100), n.rem_euclid(100));
    let y = i32::try_from(y).map_err(|_| bad())?;
    cal.from_ymd(y, m as usize, d as usize).map_err(|_| bad())
}
