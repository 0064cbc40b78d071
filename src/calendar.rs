//! Dates of daily data in the CF calendars ([`Calendar`]: standard, proleptic Gregorian,
//! noleap, all_leap, 360_day, julian), CF time coordinates ([`days_from_cf`]), and the
//! day-of-year and month labels a groupby needs, as xarray's `time.dayofyear` and
//! `time.month` give them.
//!
//! Labels are 0-based: month 0..=11; day of year 0..days_in_year − 1 of the day's own
//! calendar, by position in its year, as xarray counts `dayofyear`: in a Gregorian or Julian
//! leap year 29 February is day 59 and every later day shifts by one (1 March is day 60, not
//! 59; 31 December is day 365, a group of the leap years alone); `noleap` has days 0..=364,
//! `all_leap` 0..=365 every year (1 March always 60), `360_day` 0..=359 (30 February is day
//! 59). The standard calendar's 1582 skips days 277..=286 (5–14 October).

mod cf;
mod kinds;

use std::path::Path;

use crate::core::error::{Error, Result};

pub use cf::{cf_values, days_from_cf};
pub use kinds::Calendar;

/// Whether `year` is a leap year of the Gregorian calendar.
pub fn is_leap(year: i32) -> bool {
    Calendar::ProlepticGregorian.is_leap(year)
}

/// Days in `year` of the Gregorian calendar (365 or 366).
pub fn days_in_year(year: i32) -> usize {
    Calendar::ProlepticGregorian.days_in_year(year)
}

/// A day: its year and its 0-based day of that year, in its calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day {
    /// The year.
    pub year: i32,
    /// Day of the year, from 0 (1 January).
    pub doy: usize,
    /// The calendar the year and day count in.
    pub calendar: Calendar,
}

impl Day {
    /// Day `doy` (from 0) of `year` in the standard calendar (Gregorian from 1582-10-15).
    pub fn new(year: i32, doy: usize) -> Day {
        Day { year, doy, calendar: Calendar::Standard }
    }
    /// The day of `year-month-day` (1-based month and day) in the standard calendar, checked.
    pub fn from_ymd(year: i32, month: usize, day: usize) -> Result<Day> {
        Calendar::Standard.from_ymd(year, month, day)
    }
    /// Parse `YYYY-MM-DD` (standard calendar).
    pub fn parse(s: &str) -> Result<Day> {
        Day::parse_in(s, Calendar::Standard)
    }
    /// Parse `YYYY-MM-DD` as a date of `calendar`.
    pub fn parse_in(s: &str, calendar: Calendar) -> Result<Day> {
        let bad = || Error::invalid(format!("'{s}' is not a date of the form YYYY-MM-DD"));
        let (neg, t) = match s.strip_prefix('-') {
            Some(t) => (true, t),
            None => (false, s),
        };
        let mut it = t.split('-');
        let y = it.next().and_then(|v| v.parse::<i32>().ok()).ok_or_else(bad)?;
        let m = it.next().and_then(|v| v.parse::<usize>().ok()).ok_or_else(bad)?;
        let d = it.next().and_then(|v| v.parse::<usize>().ok()).ok_or_else(bad)?;
        if it.next().is_some() {
            return Err(bad());
        }
        calendar.from_ymd(if neg { -y } else { y }, m, d)
    }
    /// The next day.
    pub fn next(self) -> Day {
        self.add_days(1).unwrap_or(Day { year: self.year.saturating_add(1), doy: 0, ..self })
    }
    /// The 0-based month.
    pub fn month(self) -> usize {
        self.month_and_day().0
    }
    /// The 0-based month and 0-based day of the month.
    pub(crate) fn month_and_day(self) -> (usize, usize) {
        // The standard calendar's 1582 numbers its days by the usual month lengths; the
        // reform's skipped days (doy 277..=286) never occur.
        let mut d = self.doy;
        for m in 0..12 {
            let n = self.calendar.month_len(self.year, m);
            if d < n {
                return (m, d);
            }
            d -= n;
        }
        (11, d)
    }
}

/// `n` consecutive days from `start`, in its calendar.
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

impl Day {
    /// Days since 1970-01-01 (negative before it), counted in the day's calendar (from the
    /// Gregorian 1970-01-01 for the standard, Gregorian and Julian calendars).
    pub fn days_since_epoch(self) -> i64 {
        self.calendar.number(self.year, self.doy)
    }

    /// The day `days` after 1970-01-01 of the standard calendar (before it, for negative
    /// `days`), or an error when its year is outside [`YEARS`].
    pub fn from_days_since_epoch(days: i64) -> Result<Day> {
        Calendar::Standard.day(days)
    }

    /// The day `n` days after this one (before it, for negative `n`) in its calendar; an
    /// error when it falls outside the years [`YEARS`]. O(1) whatever `n`.
    pub fn add_days(self, n: i64) -> Result<Day> {
        let err = || Error::invalid(format!("{n} days after {self} is outside the years {YEARS:?}"));
        let days = self.days_since_epoch().checked_add(n).ok_or_else(err)?;
        self.calendar.day(days).map_err(|_| err())
    }
}

impl std::fmt::Display for Day {
    /// `YYYY-MM-DD` (ISO 8601; years beyond four digits or before year 0 with their sign).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (m, d) = self.month_and_day();
        write!(f, "{:04}-{:02}-{:02}", self.year, m + 1, d + 1)
    }
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

/// The times that date a coordinate's cells: the middles of its CF cell `bounds` (two per
/// value, start and end, in the coordinate's units) when there are two per value, else the
/// values themselves. A daily mean stamped at its day's end (bounds `[0, 1]`, value 1) is
/// then dated by its own day, not the next.
pub fn cell_middles(values: Vec<f64>, bounds: Option<&[f64]>) -> Vec<f64> {
    match bounds {
        Some(b) if b.len() == 2 * values.len() => b.chunks_exact(2).map(|c| (c[0] + c[1]) / 2.0).collect(),
        _ => values,
    }
}

/// What to group days by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Day of the year (366 groups).
    DayOfYear,
    /// Month (12 groups).
    Month,
    /// Year (one group per year of the record; the label is the year).
    Year,
    /// Calendar month of each year (one group per month of the record, in time order; the
    /// label is `year * 12 + month`, month from 0, as xarray's `resample(time="MS")` groups).
    YearMonth,
    /// Calendar date, month and day (366 groups): the day of a leap year with the same month
    /// and day, from 0, so 29 February is 59 and 1 March is 60 in every year, leap or not (CDO's
    /// `ydaymean` and Hobday et al.'s marine-heatwave climatology group so). In the `360_day`
    /// calendar, whose months all have 30 days, the label is the day of its 360-day year.
    MonthDay,
}

/// Days before each month (from 0) in a leap year.
const LEAP_MONTH_START: [usize; 12] = [0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335];

impl Day {
    /// The [`GroupBy::MonthDay`] label: the day of a leap year with this day's month and day.
    pub fn month_day(self) -> usize {
        if self.calendar == Calendar::Day360 {
            return self.doy;
        }
        let (m, d) = self.month_and_day();
        LEAP_MONTH_START[m] + d
    }
}

/// The label of each day. Year and year-month labels of years before 1 AD are negative,
/// which a groupby takes for "no group".
pub fn labels(days: &[Day], by: GroupBy) -> Vec<i64> {
    days.iter()
        .map(|d| match by {
            GroupBy::DayOfYear => d.doy as i64,
            GroupBy::Month => d.month() as i64,
            GroupBy::Year => d.year as i64,
            GroupBy::YearMonth => d.year as i64 * 12 + d.month() as i64,
            GroupBy::MonthDay => d.month_day() as i64,
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
        assert_eq!(Day::parse("1983-12-31").unwrap().next(), Day::new(1984, 0));
        assert_eq!(Day::parse("1984-02-29").unwrap().month(), 1);
        assert_eq!(Day::parse("1984-12-31").unwrap().month(), 11);
        let d = Day::parse("1983-12-31").unwrap();
        assert_eq!(d.add_days(1).unwrap(), Day::new(1984, 0));
        assert_eq!(d.add_days(366 + 1).unwrap(), Day::new(1985, 0));
        assert_eq!(d.add_days(-365).unwrap(), Day::new(1982, 364));
        assert_eq!(Day::new(1984, 0).add_days(-1).unwrap(), Day::new(1983, 364));
        // OISST's netCDF: days since 1978-01-01 12:00:00; 1 January 1982 is day 1461.
        let oisst = days_from_cf(&[1461.0], "days since 1978-01-01 12:00:00", Some("standard")).unwrap();
        assert_eq!(oisst, [Day::new(1982, 0)]);
        let s = days_from_cf(&[86400.0 * 366.0 - 1.0], "seconds since 1984-01-01T00:00:00Z", None).unwrap();
        assert_eq!(s, [Day::new(1984, 365)]);
        let h = days_from_cf(&[24.0 * 31.0], "hours since 1800-1-1 00:00:00", Some("gregorian")).unwrap();
        assert_eq!(h, [Day::new(1800, 31)]);
        assert!(days_from_cf(&[0.0], "days since 2000-01-01", Some("none")).is_err());
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

    /// Month-day labels: 1 March is 60 in leap and common years; 31 December is 365.
    #[test]
    fn month_day_labels() {
        let d = |s: &str| Day::parse(s).unwrap();
        let l = |s: &str| labels(&[d(s)], GroupBy::MonthDay)[0];
        assert_eq!((l("1983-02-28"), l("1983-03-01"), l("1983-12-31")), (58, 60, 365));
        assert_eq!((l("1984-02-28"), l("1984-02-29"), l("1984-03-01")), (58, 59, 60));
        assert_eq!(l("1984-01-01"), 0);
        let nl = Calendar::NoLeap.from_ymd(2001, 3, 1).unwrap();
        assert_eq!(nl.month_day(), 60);
        let d360 = Calendar::Day360.from_ymd(2001, 3, 1).unwrap();
        assert_eq!(d360.month_day(), 60, "60 days of 30-day months before 1 March");
        assert_eq!(Calendar::Day360.from_ymd(2001, 12, 30).unwrap().month_day(), 359);
        // Every label of a leap year once, of a common year all but 59.
        let all: Vec<i64> = labels(&days_from(d("1984-01-01"), 366), GroupBy::MonthDay);
        assert_eq!(all, (0..366).collect::<Vec<i64>>());
        let common = labels(&days_from(d("1985-01-01"), 365), GroupBy::MonthDay);
        assert!(!common.contains(&59) && common.len() == 365 && common[364] == 365);
    }

    /// Year and year-month labels across a leap day and a new year.
    #[test]
    fn year_and_year_month_labels() {
        let d = days_from(Day::parse("1983-12-31").unwrap(), 61);
        let years = labels(&d, GroupBy::Year);
        assert_eq!(years[0], 1983);
        assert!(years[1..].iter().all(|&y| y == 1984));
        let ym = labels(&d, GroupBy::YearMonth);
        assert_eq!(ym[0], 1983 * 12 + 11);
        assert_eq!(ym[1], 1984 * 12);
        assert_eq!(ym[31], 1984 * 12, "31 January");
        assert_eq!(ym[32], 1984 * 12 + 1, "1 February");
        assert_eq!(ym[60], 1984 * 12 + 1, "29 February 1984");
        let feb = ym.iter().filter(|&&l| l == 1984 * 12 + 1).count();
        assert_eq!(feb, 29);
        // One label per month of the record, ascending: groups come out in time order.
        let mut distinct = ym.clone();
        distinct.dedup();
        assert_eq!(distinct, [1983 * 12 + 11, 1984 * 12, 1984 * 12 + 1]);
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
        let pg = |year, doy| Day { year, doy, calendar: Calendar::ProlepticGregorian };
        assert_eq!(pg(1, 0).days_since_epoch(), -719_162);
        assert_eq!(pg(1, 0).add_days(-1).unwrap(), pg(0, 365));
        assert_eq!(pg(-1, 364).add_days(1).unwrap(), pg(0, 0));
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
        assert!(Day::new(*YEARS.end(), 365).add_days(1).is_err(), "year 1,000,000 is a leap year");
        assert!(Day::new(*YEARS.start(), 0).add_days(-1).is_err());
        assert!(Day::new(0, 0).add_days(i64::MAX).is_err());
        assert!(Day::new(0, 0).add_days(i64::MIN).is_err());
    }
}
