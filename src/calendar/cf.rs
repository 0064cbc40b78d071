//! CF time coordinates: numbers in units such as `days since 1981-09-01` (or CDO's absolute
//! `day as %Y%m%d.%f`) in a calendar, turned into [`Day`]s.

use crate::calendar::{Calendar, Day, YEARS};
use crate::core::error::{Error, Result};

/// The days of a CF time coordinate: `values` in `units` such as `days since 1981-09-01`,
/// `hours since 1800-01-01 00:00:00` or `seconds since 1970-01-01T00:00:00Z`, each the day
/// its instant falls on (in UTC: a zone after the epoch's time, `-6:00`, `+0530`, `Z` or `UTC`,
/// is applied), in `calendar` (a CF name: `standard` when `None`, as CF says; see
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
    let (per_day, epoch, frac) = since(units, cal)?;
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

/// `<unit> since <date[ time][ zone]>`: units per day, the epoch's day, and its time of day
/// (less its UTC offset) in days.
fn since(units: &str, cal: Calendar) -> Result<(f64, Day, f64)> {
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
        Some((d, c)) => (d, c.trim()),
        None => (since, ""),
    };
    let mut ymd = date.split('-').map(|v| v.parse::<usize>().ok());
    let (Some(Some(y)), Some(Some(m)), Some(Some(d))) = (ymd.next(), ymd.next(), ymd.next()) else {
        return Err(bad());
    };
    let y = i32::try_from(y).map_err(|_| bad())?;
    let epoch = cal.from_ymd(y, m, d)?;
    // The epoch's time of day and UTC offset, in days: the instants are UTC, so a zone
    // east of Greenwich moves them earlier.
    let frac = clock_days(clock).ok_or_else(bad)?;
    Ok((per_day, epoch, frac))
}

/// The values of `days` in CF time `units` (the inverse of [`days_from_cf`], for writing a
/// time coordinate in the input's units and calendar): each day at its midnight UTC, counted
/// as `<unit> since <epoch>` counts it, or `YYYYMMDD` for `day as %Y%m%d.%f`. The days must be
/// in the calendar the epoch is read in (the days' own).
///
/// ```
/// use tessera::calendar::{cf_values, days_from_cf};
/// let d = days_from_cf(&[0.0, 59.0], "days since 2001-01-01", Some("noleap")).unwrap();
/// assert_eq!(cf_values(&d, "hours since 2001-01-01 00:00").unwrap(), vec![0.0, 59.0 * 24.0]);
/// assert_eq!(cf_values(&d[1..], "day as %Y%m%d.%f").unwrap(), vec![20010301.0]);
/// ```
pub fn cf_values(days: &[Day], units: &str) -> Result<Vec<f64>> {
    let Some(first) = days.first() else { return Ok(Vec::new()) };
    let cal = first.calendar;
    if units.trim().to_ascii_lowercase().starts_with("day as %y%m%d") {
        return Ok(days
            .iter()
            .map(|d| {
                let (m, dom) = d.month_and_day();
                f64::from(d.year) * 10000.0 + ((m + 1) * 100 + dom + 1) as f64
            })
            .collect());
    }
    let (per_day, epoch, frac) = since(units, cal)?;
    Ok(days
        .iter()
        .map(|d| ((d.days_since_epoch() - epoch.days_since_epoch()) as f64 - frac) * per_day)
        .collect())
}

/// `hh:mm[:ss[.f]]` then an optional zone (`Z`, `UTC`, `±h[h][:mm]`, `±hhmm`), as days from
/// midnight UTC; `None` when it is neither.
fn clock_days(clock: &str) -> Option<f64> {
    let c = clock.trim();
    let c =
        c.strip_suffix("UTC").or_else(|| c.strip_suffix("utc")).or_else(|| c.strip_suffix('Z')).unwrap_or(c);
    let c = c.trim();
    // A sign starts the zone (the time itself has none).
    let (time, zone) = match c.char_indices().find(|&(_, ch)| ch == '+' || ch == '-') {
        Some((i, _)) => (c[..i].trim(), Some(&c[i..])),
        None => (c, None),
    };
    let mut days = 0.0;
    for (part, scale) in time.split(':').zip([24.0, 1440.0, 86400.0]) {
        if !part.is_empty() {
            days += part.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)? / scale;
        }
    }
    if time.split(':').count() > 3 {
        return None;
    }
    if let Some(z) = zone {
        let sign = if z.starts_with('-') { -1.0 } else { 1.0 };
        let z = z[1..].trim();
        let (h, m) = match z.split_once(':') {
            Some((h, m)) => (h, m),
            None if z.len() == 4 => z.split_at(2),
            None => (z, "0"),
        };
        let (h, m) = (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?);
        if h > 14 || m > 59 {
            return None;
        }
        days -= sign * (h as f64 + m as f64 / 60.0) / 24.0;
    }
    Some(days)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn day(v: f64, units: &str) -> String {
        days_from_cf(&[v], units, None).unwrap()[0].to_string()
    }

    /// Instants are UTC: an epoch at 00:00 six hours west of Greenwich is 06:00 UTC.
    #[test]
    fn time_zones_in_units_move_the_instants() {
        assert_eq!(day(17.0, "hours since 1970-01-01 00:00:00 -6:00"), "1970-01-01");
        assert_eq!(day(18.0, "hours since 1970-01-01 00:00:00 -6:00"), "1970-01-02");
        assert_eq!(day(4.0, "hours since 1970-01-01T00:00:00+05:30"), "1969-12-31");
        assert_eq!(day(6.0, "hours since 1970-01-01 00:00:00 +0530"), "1970-01-01");
        assert_eq!(day(23.0, "hours since 1970-01-01 00:00 UTC"), "1970-01-01");
        assert_eq!(day(0.0, "days since 1970-01-01 +05:00"), "1969-12-31");
        assert_eq!(day(12.0, "hours since 2000-01-01 12:00:00.0"), "2000-01-02");
        for bad in [
            "days since 1970-01-01 00:00:00 +25:00",
            "days since 1970-01-01 ab:00",
            "days since 1970-01-01 1:2:3:4",
        ] {
            assert!(days_from_cf(&[0.0], bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn cf_values_invert_days_from_cf_in_every_calendar() {
        let units = [
            "days since 1850-01-01",
            "hours since 1979-06-15 12:00:00",
            "seconds since 2000-01-01T00:00:00Z",
            "minutes since 1582-10-15 00:00 +02:00",
            "day as %Y%m%d.%f",
        ];
        for cal in ["standard", "proleptic_gregorian", "noleap", "all_leap", "360_day", "julian"] {
            let c: Calendar = cal.parse().unwrap();
            let start = c.from_ymd(1579, 12, 30).unwrap();
            // Across the Gregorian reform, leap days and 360_day's 30 February.
            let days: Vec<Day> = (0..900).map(|k| start.add_days(k * 3).unwrap()).collect();
            for u in units {
                let v = cf_values(&days, u).unwrap();
                let back = days_from_cf(&v, u, Some(cal)).unwrap();
                assert_eq!(back, days, "{cal} in '{u}'");
            }
        }
    }
}
