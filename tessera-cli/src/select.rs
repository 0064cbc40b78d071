//! `--years` and `--dates`: the time steps a run keeps, chosen by their dates before anything
//! is reduced (CDO's `selyear` and `seldate`), lazily: a slice of the joined series when the
//! kept steps are one run of it, a `take` otherwise.

use tessera::calendar::Day;
use tessera::prelude::*;
use tessera::{Element, SliceArg};

/// Years kept: single years and inclusive ranges (`1983`, `1983,1985`, `1983/1990`).
#[derive(Debug, Clone, PartialEq)]
pub struct Years(pub Vec<(i32, i32)>);

/// `--years`: comma-separated years or `FROM/TO` ranges.
pub fn years(s: &str) -> Result<Years, String> {
    let bad = || format!("'{s}' is not a list of years (1983, 1983,1985 or 1983/1990)");
    let mut v = Vec::new();
    for part in s.split(',') {
        let (a, b) = match part.split_once('/') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let (a, b): (i32, i32) = (a.trim().parse().map_err(|_| bad())?, b.trim().parse().map_err(|_| bad())?);
        if a > b {
            return Err(format!("--years {s}: {a}/{b} runs backwards"));
        }
        v.push((a, b));
    }
    Ok(Years(v))
}

/// Dates kept, both ends included, as written (read in the files' calendar when used).
#[derive(Debug, Clone, PartialEq)]
pub struct Dates(pub String, pub String);

/// `--dates FROM,TO` (YYYY-MM-DD each).
pub fn dates(s: &str) -> Result<Dates, String> {
    let (a, b) =
        s.split_once(',').ok_or_else(|| format!("--dates {s}: give FROM,TO (YYYY-MM-DD,YYYY-MM-DD)"))?;
    for d in [a, b] {
        Day::parse(d.trim()).map_err(|e| format!("--dates {s}: {e}"))?;
    }
    Ok(Dates(a.trim().to_string(), b.trim().to_string()))
}

/// The positions of `days` that pass both selections, in order; an error when none does.
pub fn kept(days: &[Day], years: Option<&Years>, dates: Option<&Dates>) -> tessera::Result<Vec<usize>> {
    let range = match (dates, days.first()) {
        (Some(Dates(a, b)), Some(first)) => {
            let (a, b) = (Day::parse_in(a, first.calendar)?, Day::parse_in(b, first.calendar)?);
            Some(((a.year, a.doy), (b.year, b.doy)))
        }
        _ => None,
    };
    let keep: Vec<usize> = days
        .iter()
        .enumerate()
        .filter(|(_, d)| years.is_none_or(|Years(ys)| ys.iter().any(|&(a, b)| (a..=b).contains(&d.year))))
        .filter(|(_, d)| range.is_none_or(|(a, b)| (a..=b).contains(&(d.year, d.doy))))
        .map(|(k, _)| k)
        .collect();
    if keep.is_empty() {
        let (first, last) = (days.first().map(|d| d.to_string()), days.last().map(|d| d.to_string()));
        return Err(tessera::Error::invalid(format!(
            "the selection keeps no time step (the data run from {} to {})",
            first.unwrap_or_default(),
            last.unwrap_or_default()
        )));
    }
    Ok(keep)
}

/// `x` (and its `days`) restricted to positions `keep` along `axis`.
pub fn apply<T: Element>(
    x: &Array<T>,
    days: &[Day],
    axis: usize,
    keep: &[usize],
) -> tessera::Result<(Array<T>, Vec<Day>)> {
    let kept_days: Vec<Day> = keep.iter().map(|&k| days[k]).collect();
    if keep.len() == days.len() {
        return Ok((x.clone(), kept_days));
    }
    let (first, last) = (keep[0], keep[keep.len() - 1]);
    let y = if last - first + 1 == keep.len() {
        let mut args = vec![SliceArg::full(); x.ndim()];
        args[axis] = SliceArg::new(Some(first as isize), Some(last as isize + 1), 1);
        x.slice(&args)?
    } else {
        let idx: Vec<isize> = keep.iter().map(|&k| k as isize).collect();
        x.take(&idx, axis as isize)?
    };
    Ok((y, kept_days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_and_dates_keep_what_cdo_would() {
        let days: Vec<Day> = tessera::calendar::days_from(Day::parse("1983-12-30").unwrap(), 5);
        let y = years("1984").unwrap();
        assert_eq!(kept(&days, Some(&y), None).unwrap(), vec![2, 3, 4]);
        let d = dates("1983-12-31,1984-01-01").unwrap();
        assert_eq!(kept(&days, None, Some(&d)).unwrap(), vec![1, 2]);
        assert_eq!(kept(&days, Some(&y), Some(&d)).unwrap(), vec![2]);
        assert_eq!(years("1983/1985,1990").unwrap(), Years(vec![(1983, 1985), (1990, 1990)]));
        assert!(years("1985/1983").is_err() && years("x").is_err() && dates("1983-01-01").is_err());
        assert!(kept(&days, Some(&years("1990").unwrap()), None).is_err());
    }
}
