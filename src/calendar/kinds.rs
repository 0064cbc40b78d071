//! The CF calendars ([`Calendar`]) and their day arithmetic, O(1) whatever the distance: each
//! day has a number (days from 1970-01-01 of the proleptic Gregorian calendar, so the
//! Gregorian, Julian and standard calendars share one count) from which its year and day of
//! year follow.

use crate::calendar::{Day, YEARS};
use crate::core::error::{Error, Result};

/// A calendar of the CF conventions (the `calendar` attribute of a time coordinate).
///
/// ```
/// use tessera::calendar::Calendar;
/// let c: Calendar = "365_day".parse()?;
/// assert_eq!(c, Calendar::NoLeap);
/// assert_eq!(c.to_string(), "noleap");
/// assert_eq!(Calendar::Day360.days_in_year(2001), 360);
/// # Ok::<(), tessera::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Calendar {
    /// `standard` (or `gregorian`): Julian up to 1582-10-04, Gregorian from the next day,
    /// 1582-10-15. CF's default when a file names none.
    #[default]
    Standard,
    /// `proleptic_gregorian`: the Gregorian rules in every year.
    ProlepticGregorian,
    /// `noleap` (or `365_day`): no 29 February.
    NoLeap,
    /// `all_leap` (or `366_day`): a 29 February every year.
    AllLeap,
    /// `360_day`: twelve months of 30 days.
    Day360,
    /// `julian`: a leap year every four years.
    Julian,
}

const MONTH_DAYS: [usize; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// The first Gregorian day of the standard calendar, 1582-10-15 (day 287 of 1582).
const REFORM_YEAR: i32 = 1582;
const REFORM_DOY: usize = 287;

/// Days from 1970-01-01 to 1 January of `year`, proleptic Gregorian.
fn gregorian_year_start(year: i64) -> i64 {
    let y = year - 1;
    365 * y + y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400) - 719_162
}

/// Days from 1970-01-01 (Gregorian) to 1 January of `year` of the Julian calendar (whose
/// 0001-01-01 is the Gregorian 0000-12-30).
fn julian_year_start(year: i64) -> i64 {
    let y = year - 1;
    365 * y + y.div_euclid(4) - 719_164
}

impl std::str::FromStr for Calendar {
    type Err = Error;
    /// A CF calendar name, any case: `standard`, `gregorian`, `proleptic_gregorian`,
    /// `noleap`, `365_day`, `all_leap`, `366_day`, `360_day`, `julian`.
    fn from_str(s: &str) -> Result<Calendar> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "standard" | "gregorian" => Calendar::Standard,
            "proleptic_gregorian" => Calendar::ProlepticGregorian,
            "noleap" | "365_day" => Calendar::NoLeap,
            "all_leap" | "366_day" => Calendar::AllLeap,
            "360_day" => Calendar::Day360,
            "julian" => Calendar::Julian,
            _ => {
                return Err(Error::invalid(format!(
                    "time calendar '{s}' is not one of CF's: standard (gregorian), proleptic_gregorian, \
                     noleap (365_day), all_leap (366_day), 360_day, julian"
                )));
            }
        })
    }
}

impl std::fmt::Display for Calendar {
    /// The CF name (`standard`, `proleptic_gregorian`, `noleap`, `all_leap`, `360_day`,
    /// `julian`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Calendar::Standard => "standard",
            Calendar::ProlepticGregorian => "proleptic_gregorian",
            Calendar::NoLeap => "noleap",
            Calendar::AllLeap => "all_leap",
            Calendar::Day360 => "360_day",
            Calendar::Julian => "julian",
        })
    }
}

impl Calendar {
    /// Whether `year` has a 29 February (never in `noleap` and `360_day`).
    pub fn is_leap(self, year: i32) -> bool {
        let gregorian = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        match self {
            Calendar::ProlepticGregorian => gregorian,
            Calendar::Standard if year > REFORM_YEAR => gregorian,
            Calendar::Standard | Calendar::Julian => year.rem_euclid(4) == 0,
            Calendar::AllLeap => true,
            Calendar::NoLeap | Calendar::Day360 => false,
        }
    }

    /// Length of month `m` (0-based) of `year`.
    pub fn month_len(self, year: i32, m: usize) -> usize {
        match self {
            Calendar::Day360 => 30,
            _ if m == 1 && self.is_leap(year) => 29,
            _ => MONTH_DAYS[m % 12],
        }
    }

    /// Days of `year` (355 for 1582 in the standard calendar, which skips 5–14 October).
    pub fn days_in_year(self, year: i32) -> usize {
        match self {
            Calendar::Day360 => 360,
            Calendar::Standard if year == REFORM_YEAR => 355,
            _ => 365 + usize::from(self.is_leap(year)),
        }
    }

    /// The day `year-month-day` (1-based month and day), checked against this calendar
    /// (`360_day` has a 30 February; the standard calendar has no 1582-10-05 to 10-14).
    pub fn from_ymd(self, year: i32, month: usize, day: usize) -> Result<Day> {
        let bad =
            || Error::invalid(format!("{year:04}-{month:02}-{day:02} is not a date of the {self} calendar"));
        if !(1..=12).contains(&month)
            || day == 0
            || day > self.month_len(year, month - 1)
            || !YEARS.contains(&year)
        {
            return Err(bad());
        }
        let doy = (0..month - 1).map(|m| self.month_len(year, m)).sum::<usize>() + day - 1;
        if self == Calendar::Standard && year == REFORM_YEAR && (277..REFORM_DOY).contains(&doy) {
            return Err(bad());
        }
        Ok(Day { year, doy, calendar: self })
    }

    /// The day number of `(year, doy)`: days from 1970-01-01, counted in this calendar (the
    /// Gregorian 1970-01-01 for the Gregorian, Julian and standard calendars).
    pub(crate) fn number(self, year: i32, doy: usize) -> i64 {
        let (y, d) = (year as i64, doy as i64);
        match self {
            Calendar::ProlepticGregorian => gregorian_year_start(y) + d,
            Calendar::Julian => julian_year_start(y) + d,
            Calendar::Standard if (year, doy) >= (REFORM_YEAR, REFORM_DOY) => gregorian_year_start(y) + d,
            Calendar::Standard => julian_year_start(y) + d,
            Calendar::NoLeap => (y - 1970) * 365 + d,
            Calendar::AllLeap => (y - 1970) * 366 + d,
            Calendar::Day360 => (y - 1970) * 360 + d,
        }
    }

    /// The day numbered `n` (see [`Calendar::number`]), or an error when its year is outside
    /// [`YEARS`].
    pub(crate) fn day(self, n: i64) -> Result<Day> {
        let out =
            || Error::invalid(format!("a date {n} days from 1970-01-01 is outside the years {YEARS:?}"));
        let fixed = |len: i64| (1970 + n.div_euclid(len), n.rem_euclid(len));
        let (year, doy) = match self {
            Calendar::NoLeap => fixed(365),
            Calendar::AllLeap => fixed(366),
            Calendar::Day360 => fixed(360),
            Calendar::ProlepticGregorian => {
                by_year_start(n, 365.2425, gregorian_year_start).ok_or_else(out)?
            }
            Calendar::Julian => by_year_start(n, 365.25, julian_year_start).ok_or_else(out)?,
            Calendar::Standard => {
                if n >= gregorian_year_start(REFORM_YEAR as i64) + REFORM_DOY as i64 {
                    by_year_start(n, 365.2425, gregorian_year_start).ok_or_else(out)?
                } else {
                    by_year_start(n, 365.25, julian_year_start).ok_or_else(out)?
                }
            }
        };
        if !(*YEARS.start() as i64..=*YEARS.end() as i64).contains(&year) {
            return Err(out());
        }
        Ok(Day { year: year as i32, doy: doy as usize, calendar: self })
    }
}

/// The year holding day `n` and the day's place in it, for a calendar whose years start on
/// `start(year)` and last `mean` days on average: an estimate, corrected by a step or two.
fn by_year_start(n: i64, mean: f64, start: fn(i64) -> i64) -> Option<(i64, i64)> {
    let est = 1970 + (n as f64 / mean).floor() as i64;
    if !(*YEARS.start() as i64 - 1..=*YEARS.end() as i64 + 1).contains(&est) {
        return None;
    }
    let mut year = est;
    while start(year) > n {
        year -= 1;
    }
    while start(year + 1) <= n {
        year += 1;
    }
    Some((year, n - start(year)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{GroupBy, days_from, days_from_cf, labels};

    const ALL: [Calendar; 6] = [
        Calendar::Standard,
        Calendar::ProlepticGregorian,
        Calendar::NoLeap,
        Calendar::AllLeap,
        Calendar::Day360,
        Calendar::Julian,
    ];

    /// 1 January 2100 as `days since 1970-01-01` in each calendar (counts checked by hand:
    /// 130 years of 365, 366 or 360 days, plus 32 leap days from 1972 to 2096 in the
    /// Gregorian and Julian ones).
    #[test]
    fn day_one_of_2100_in_every_calendar() {
        let want = [47_482.0, 47_482.0, 47_450.0, 47_580.0, 46_800.0, 47_482.0];
        for (cal, v) in ALL.into_iter().zip(want) {
            let name = cal.to_string();
            let d = days_from_cf(&[v, v - 1.0], "days since 1970-01-01", Some(&name)).unwrap();
            assert_eq!(d[0].to_string(), "2100-01-01", "{cal}");
            assert_eq!((d[0].doy, d[0].calendar), (0, cal));
            let last = ["2099-12-31", "2099-12-31", "2099-12-31", "2099-12-31", "2099-12-30", "2099-12-31"];
            assert_eq!(d[1].to_string(), last[ALL.iter().position(|&c| c == cal).unwrap()], "{cal}");
        }
    }

    #[test]
    fn month_lengths_and_leap_years_per_calendar() {
        // 360_day has a 30 February, day 59 of its year.
        let feb30 = Calendar::Day360.from_ymd(2001, 2, 30).unwrap();
        assert_eq!((feb30.doy, feb30.month(), feb30.to_string()), (59, 1, "2001-02-30".into()));
        assert_eq!(feb30.next().to_string(), "2001-03-01");
        assert!(Calendar::Standard.from_ymd(2001, 2, 30).is_err());
        assert!(Calendar::NoLeap.from_ymd(2000, 2, 29).is_err());
        assert_eq!(Calendar::AllLeap.from_ymd(2001, 2, 29).unwrap().next().to_string(), "2001-03-01");
        // Julian: every fourth year leaps, 1900 too; Gregorian: not 1900, but 2000.
        assert!(Calendar::Julian.is_leap(1900) && !Calendar::ProlepticGregorian.is_leap(1900));
        assert!(Calendar::Standard.is_leap(1500) && !Calendar::Standard.is_leap(1700));
        assert_eq!(Calendar::Standard.days_in_year(1582), 355);
        assert_eq!(Calendar::Day360.days_in_year(2000), 360);
        // Labels: noleap's 1 March is day 59 every year, all_leap's day 60.
        let nl = days_from(Calendar::NoLeap.from_ymd(2000, 2, 28).unwrap(), 2);
        assert_eq!(labels(&nl, GroupBy::DayOfYear), [58, 59]);
        assert_eq!(labels(&nl, GroupBy::Month), [1, 2]);
        let al = days_from(Calendar::AllLeap.from_ymd(2001, 2, 29).unwrap(), 2);
        assert_eq!(labels(&al, GroupBy::DayOfYear), [59, 60]);
        let d360 = days_from(Calendar::Day360.from_ymd(2001, 12, 30).unwrap(), 2);
        assert_eq!(labels(&d360, GroupBy::DayOfYear), [359, 0]);
        assert_eq!(labels(&d360, GroupBy::Month), [11, 0]);
    }

    /// The standard calendar jumps from the Julian 1582-10-04 to the Gregorian 1582-10-15;
    /// the proleptic Gregorian and the Julian calendars go on day by day.
    #[test]
    fn standard_is_julian_before_the_reform() {
        let next =
            |cal: &str| days_from_cf(&[1.0], "days since 1582-10-04", Some(cal)).unwrap()[0].to_string();
        assert_eq!(next("standard"), "1582-10-15");
        assert_eq!(next("gregorian"), "1582-10-15");
        assert_eq!(next("proleptic_gregorian"), "1582-10-05");
        assert_eq!(next("julian"), "1582-10-05");
        assert!(Calendar::Standard.from_ymd(1582, 10, 10).is_err());
        // 1000 leaps in the Julian rules the standard calendar follows then.
        let feb =
            |cal: &str| days_from_cf(&[1.0], "days since 1000-02-28", Some(cal)).unwrap()[0].to_string();
        assert_eq!(feb("standard"), "1000-02-29");
        assert_eq!(feb("proleptic_gregorian"), "1000-03-01");
        // A day count across the reform: 1582-10-15 is 10 days after 1582-10-01 there.
        let oct1 = Calendar::Standard.from_ymd(1582, 10, 1).unwrap();
        assert_eq!(oct1.add_days(4).unwrap().to_string(), "1582-10-15");
        assert_eq!(
            Calendar::Standard.from_ymd(1582, 10, 15).unwrap().add_days(-1).unwrap().to_string(),
            "1582-10-04"
        );
    }

    /// The O(1) arithmetic against stepping through the years month by month's days, for
    /// every calendar, across 1582 and over 1200 years.
    #[test]
    fn every_calendar_counts_like_stepping() {
        for cal in ALL {
            let start = cal.from_ymd(1000, 1, 1).unwrap();
            let mut n = start.days_since_epoch();
            for year in 1000..2200 {
                for m in 0..12 {
                    for d in 0..cal.month_len(year, m) {
                        let Ok(day) = cal.from_ymd(year, m + 1, d + 1) else { continue }; // 1582's gap
                        assert_eq!(day.days_since_epoch(), n, "{cal} {day}");
                        assert_eq!(cal.day(n).unwrap(), day, "{cal} {n}");
                        n += 1;
                    }
                }
            }
            assert_eq!(
                start.add_days(n - start.days_since_epoch()).unwrap(),
                cal.from_ymd(2200, 1, 1).unwrap()
            );
        }
    }

    #[test]
    fn cdo_absolute_times_and_calendar_names() {
        let d = days_from_cf(&[19820101.0, 19820101.5, 19821231.25], "day as %Y%m%d.%f", None).unwrap();
        let s: Vec<String> = d.iter().map(|d| d.to_string()).collect();
        assert_eq!(s, ["1982-01-01", "1982-01-01", "1982-12-31"]);
        assert!(days_from_cf(&[19820230.0], "day as %Y%m%d.%f", None).is_err());
        let f30 = days_from_cf(&[19820230.0], "day as %Y%m%d.%f", Some("360_day")).unwrap();
        assert_eq!(f30[0].to_string(), "1982-02-30");
        let e = days_from_cf(&[19821301.0], "day as %Y%m%d.%f", None).unwrap_err().to_string();
        assert!(e.contains("19821301"), "{e}");
        assert!(days_from_cf(&[f64::NAN], "day as %Y%m%d.%f", None).is_err());
        for (name, cal) in
            [("GREGORIAN", Calendar::Standard), ("365_day", Calendar::NoLeap), ("366_day", Calendar::AllLeap)]
        {
            assert_eq!(name.parse::<Calendar>().unwrap(), cal);
        }
        let e = "none".parse::<Calendar>().unwrap_err().to_string();
        assert!(e.contains("'none'") && e.contains("360_day"), "{e}");
    }
}
