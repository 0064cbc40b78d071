//! Just enough of the Gregorian calendar for daily data: the day-of-year and month labels a
//! groupby needs, as xarray's `time.dayofyear` and `time.month` give them.
//!
//! Labels are 0-based: day of year 0..=365 (in a leap year 29 February is day 59 and
//! 31 December day 365, so days after February shift by one, as in xarray), month 0..=11.

use std::path::Path;

use crate::core::error::{Error, Result};

/// Whether `year` is a leap year.
pub fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days in `year` (365 or 366).
pub fn days_in_year(year: i32) -> usize {
    if is_leap(year) { 366 } else { 365 }
}

/// A day: its year and its 0-based day of that year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day {
    /// The year.
    pub year: i32,
    /// Day of the year, from 0 (1 January).
    pub doy: usize,
}

const MONTH_DAYS: [usize; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

impl Day {
    /// The day of `year-month-day` (1-based month and day), checked.
    pub fn from_ymd(year: i32, month: usize, day: usize) -> Result<Day> {
        if !(1..=12).contains(&month) || day == 0 || day > month_len(year, month - 1) {
            return Err(Error::invalid(format!("{year:04}-{month:02}-{day:02} is not a date")));
        }
        let doy = (0..month - 1).map(|m| month_len(year, m)).sum::<usize>() + day - 1;
        Ok(Day { year, doy })
    }
    /// Parse `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Day> {
        let bad = || Error::invalid(format!("'{s}' is not a date of the form YYYY-MM-DD"));
        let mut it = s.split('-');
        let y = it.next().and_then(|v| v.parse::<i32>().ok()).ok_or_else(bad)?;
        let m = it.next().and_then(|v| v.parse::<usize>().ok()).ok_or_else(bad)?;
        let d = it.next().and_then(|v| v.parse::<usize>().ok()).ok_or_else(bad)?;
        if it.next().is_some() {
            return Err(bad());
        }
        Day::from_ymd(y, m, d)
    }
    /// The next day.
    pub fn next(self) -> Day {
        if self.doy + 1 < days_in_year(self.year) {
            Day { year: self.year, doy: self.doy + 1 }
        } else {
            Day { year: self.year + 1, doy: 0 }
        }
    }
    /// The 0-based month.
    pub fn month(self) -> usize {
        let mut d = self.doy;
        for m in 0..12 {
            let n = month_len(self.year, m);
            if d < n {
                return m;
            }
            d -= n;
        }
        11
    }
}

fn month_len(year: i32, m: usize) -> usize {
    if m == 1 && is_leap(year) { 29 } else { MONTH_DAYS[m] }
}

/// `n` consecutive days from `start`.
pub fn days_from(start: Day, n: usize) -> Vec<Day> {
    let mut out = Vec::with_capacity(n);
    let mut d = start;
    for _ in 0..n {
        out.push(d);
        d = d.next();
    }
    out
}

/// The years a [`Day`] may have: NumPy's `datetime64[D]` reaches further, but no climate
/// record does, and keeping years within ±1,000,000 leaves every day count in range of `i64`
/// arithmetic and every year in `i32`.
pub const YEARS: std::ops::RangeInclusive<i32> = -1_000_000..=1_000_000;

/// Days from 1970-01-01 to 1 January of `year` (proleptic Gregorian), in O(1): whole
/// 400-year eras of 146,097 days, then the years, leap days and centuries before it.
fn days_to_year(year: i64) -> i64 {
    let y = year - 1;
    365 * y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400) - DAYS_TO_1970
}

/// Days from 0001-01-01 to 1970-01-01.
const DAYS_TO_1970: i64 = 719_162;

impl Day {
    /// Days since 1970-01-01 (negative before it).
    pub fn days_since_epoch(self) -> i64 {
        days_to_year(self.year as i64) + self.doy as i64
    }

    /// The day `days` after 1970-01-01 (before it, for negative `days`), or an error when its
    /// year is outside [`YEARS`].
    pub fn from_days_since_epoch(days: i64) -> Result<Day> {
        // Estimate the year from the mean Gregorian year, then correct it by at most one.
        let est = 1970 + (days as f64 / 365.2425).floor() as i64;
        let out_of_range =
            || Error::invalid(format!("a date {days} days from 1970-01-01 is outside the years {YEARS:?}"));
        if !(*YEARS.start() as i64 - 1..=*YEARS.end() as i64 + 1).contains(&est) {
            return Err(out_of_range());
        }
        let mut year = est;
        while days_to_year(year) > days {
            year -= 1;
        }
        while days_to_year(year + 1) <= days {
            year += 1;
        }
        if !YEARS.contains(&(year as i32)) || year != year as i32 as i64 {
            return Err(out_of_range());
        }
        Ok(Day { year: year as i32, doy: (days - days_to_year(year)) as usize })
    }

    /// The day `n` days after this one (before it, for negative `n`); an error when it falls
    /// outside the years [`YEARS`]. O(1) whatever `n`.
    pub fn add_days(self, n: i64) -> Result<Day> {
        let days = self
            .days_since_epoch()
            .checked_add(n)
            .ok_or_else(|| Error::invalid(format!("{n} days after {self} is outside the years {YEARS:?}")))?;
        Day::from_days_since_epoch(days)
            .map_err(|_| Error::invalid(format!("{n} days after {self} is outside the years {YEARS:?}")))
    }
}

impl std::fmt::Display for Day {
    /// `YYYY-MM-DD` (ISO 8601; years beyond four digits or before year 0 with their sign).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.month();
        let before: usize = (0..m).map(|k| month_len(self.year, k)).sum();
        write!(f, "{:04}-{:02}-{:02}", self.year, m + 1, self.doy - before + 1)
    }
}

/// The days of a CF time coordinate: `values` in `units` such as `days since 1981-09-01`,
/// `hours since 1800-01-01 00:00:00` or `seconds since 1970-01-01T00:00:00Z`, each the day
/// its instant falls on. Only the Gregorian calendars (`standard`, `gregorian`,
/// `proleptic_gregorian`, or none given) are understood, taken as proleptic Gregorian;
/// `noleap`, `360_day` and the like give an error rather than wrong labels.
///
/// ```
/// use tessera::calendar::{Day, days_from_cf};
/// let d = days_from_cf(&[0.0, 59.0, 365.5], "days since 1984-01-01", None).unwrap();
/// assert_eq!(d, [Day { year: 1984, doy: 0 }, Day { year: 1984, doy: 59 }, Day { year: 1984, doy: 365 }]);
/// ```
pub fn days_from_cf(values: &[f64], units: &str, calendar: Option<&str>) -> Result<Vec<Day>> {
    if let Some(c) = calendar
        && !matches!(c.trim().to_ascii_lowercase().as_str(), "standard" | "gregorian" | "proleptic_gregorian")
    {
        return Err(Error::invalid(format!(
            "time calendar '{c}' is not supported (only the Gregorian calendars are); give the dates another way"
        )));
    }
    let bad = || {
        Error::invalid(format!(
            "time units '{units}' are not of the form '<days|hours|minutes|seconds> since YYYY-MM-DD[ hh:mm:ss]'"
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
    let epoch = Day::from_ymd(y as i32, m, d)?;
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

/// The year in a file name (`sst.1982.zarr`, `oisst-avhrr-v02r01.19820101.nc`): the first
/// run of four digits between 1800 and 2299.
pub fn year_in_name(path: &Path) -> Option<i32> {
    let name = path.file_name()?.to_str()?;
    let b = name.as_bytes();
    let mut i = 0;
    while i + 4 <= b.len() {
        if b[i..i + 4].iter().all(u8::is_ascii_digit) {
            let y: i32 = name[i..i + 4].parse().ok()?;
            if (1800..2300).contains(&y) {
                return Some(y);
            }
            i += 4;
        } else {
            i += 1;
        }
    }
    None
}

/// What to group days by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Day of the year (366 groups).
    DayOfYear,
    /// Month (12 groups).
    Month,
}

/// The label of each day.
pub fn labels(days: &[Day], by: GroupBy) -> Vec<i64> {
    days.iter()
        .map(|d| match by {
            GroupBy::DayOfYear => d.doy as i64,
            GroupBy::Month => d.month() as i64,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_facts() {
        assert!(is_leap(2000) && is_leap(1984) && !is_leap(1900) && !is_leap(1983));
        assert_eq!(Day::parse("1984-03-01").unwrap().doy, 60);
        assert_eq!(Day::parse("1983-03-01").unwrap().doy, 59);
        assert_eq!(Day::parse("1983-12-31").unwrap().next(), Day { year: 1984, doy: 0 });
        assert_eq!(Day::parse("1984-02-29").unwrap().month(), 1);
        assert_eq!(Day::parse("1984-12-31").unwrap().month(), 11);
        let d = Day::parse("1983-12-31").unwrap();
        assert_eq!(d.add_days(1).unwrap(), Day { year: 1984, doy: 0 });
        assert_eq!(d.add_days(366 + 1).unwrap(), Day { year: 1985, doy: 0 });
        assert_eq!(d.add_days(-365).unwrap(), Day { year: 1982, doy: 364 });
        assert_eq!(Day { year: 1984, doy: 0 }.add_days(-1).unwrap(), Day { year: 1983, doy: 364 });
        // OISST's netCDF: days since 1978-01-01 12:00:00; 1 January 1982 is day 1461.
        let oisst = days_from_cf(&[1461.0], "days since 1978-01-01 12:00:00", Some("standard")).unwrap();
        assert_eq!(oisst, [Day { year: 1982, doy: 0 }]);
        let s = days_from_cf(&[86400.0 * 366.0 - 1.0], "seconds since 1984-01-01T00:00:00Z", None).unwrap();
        assert_eq!(s, [Day { year: 1984, doy: 365 }]);
        let h = days_from_cf(&[24.0 * 31.0], "hours since 1800-1-1 00:00:00", Some("gregorian")).unwrap();
        assert_eq!(h, [Day { year: 1800, doy: 31 }]);
        assert!(days_from_cf(&[0.0], "days since 2000-01-01", Some("noleap")).is_err());
        assert!(days_from_cf(&[0.0], "fortnights since 2000-01-01", None).is_err());
        assert!(days_from_cf(&[f64::NAN], "days since 2000-01-01", None).is_err());
        assert!(Day::parse("1983-02-29").is_err() && Day::parse("1983-13-01").is_err());
        let d = days_from(Day::parse("1983-12-30").unwrap(), 3);
        assert_eq!(labels(&d, GroupBy::DayOfYear), vec![363, 364, 0]);
        assert_eq!(labels(&d, GroupBy::Month), vec![11, 11, 0]);
        assert_eq!(year_in_name(Path::new("/x/sst.1982.zarr")), Some(1982));
        assert_eq!(year_in_name(Path::new("oisst-avhrr-v02r01.19820101.nc")), Some(1982));
        assert_eq!(year_in_name(Path::new("run-0042.npy")), None);
    }

    /// The O(1) day arithmetic against stepping one day at a time, over 1600 years around the
    /// epoch and across the proleptic years before 1 AD.
    #[test]
    fn add_days_matches_stepping_day_by_day() {
        let start = Day::parse("1600-01-01").unwrap();
        assert_eq!(start.days_since_epoch(), -135_140);
        assert_eq!(Day::parse("1970-01-01").unwrap().days_since_epoch(), 0);
        assert_eq!(Day::parse("2000-03-01").unwrap().days_since_epoch(), 11_017);
        let mut d = start;
        for n in 0..(1600 * 366) {
            if n % 997 == 0 {
                assert_eq!(start.add_days(n).unwrap(), d, "{n} days after {start}");
                assert_eq!(d.add_days(-n).unwrap(), start, "{n} days before {d}");
                assert_eq!(Day::from_days_since_epoch(d.days_since_epoch()).unwrap(), d);
            }
            d = d.next();
        }
        // Year 0 is a leap year of the proleptic calendar; 1 AD is day -719,162.
        assert_eq!(Day { year: 1, doy: 0 }.days_since_epoch(), -719_162);
        assert_eq!(Day { year: 1, doy: 0 }.add_days(-1).unwrap(), Day { year: 0, doy: 365 });
        assert_eq!(Day { year: -1, doy: 364 }.add_days(1).unwrap(), Day { year: 0, doy: 0 });
        assert_eq!(Day::parse("1984-02-29").unwrap().to_string(), "1984-02-29");
    }

    /// Hostile CF times end at once with an error naming the value (they used to loop year by
    /// year, for hours with 1e15 days).
    #[test]
    fn hostile_times_are_errors_not_hangs() {
        for v in [1e15, -1e15, 1e300, -1e300, 4.0e8, -4.0e8] {
            let e = days_from_cf(&[v], "days since 1982-01-01", None).unwrap_err().to_string();
            assert!(e.contains(&format!("{v}")), "{v}: {e}");
        }
        assert!(days_from_cf(&[f64::INFINITY], "days since 1982-01-01", None).is_err());
        assert!(days_from_cf(&[1e15], "seconds since 1982-01-01", None).is_err(), "31.7 million years");
        let far = days_from_cf(&[3.0e8], "days since 1982-01-01", None).unwrap();
        assert_eq!(far[0].year, 1982 + (3.0e8 / 365.2425) as i32);
        assert!(Day { year: *YEARS.end(), doy: 365 }.add_days(1).is_err(), "year 1,000,000 is a leap year");
        assert!(Day { year: *YEARS.start(), doy: 0 }.add_days(-1).is_err());
        assert!(Day { year: 0, doy: 0 }.add_days(i64::MAX).is_err());
        assert!(Day { year: 0, doy: 0 }.add_days(i64::MIN).is_err());
    }
}
