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

/// `--lonlatbox LON1,LON2,LAT1,LAT2`: from LON1 east to LON2 (wrapping past 360°), latitudes
/// between LAT1 and LAT2 (either order), in degrees, as CDO's `sellonlatbox`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LonLatBox {
    /// West edge, east edge, and the two latitude bounds.
    pub lon1: f64,
    pub lon2: f64,
    pub lat1: f64,
    pub lat2: f64,
}

/// `--lonlatbox`: four numbers.
pub fn lonlatbox(s: &str) -> Result<LonLatBox, String> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("--lonlatbox {s}: give LON1,LON2,LAT1,LAT2 in degrees"))?;
    match v[..] {
        [lon1, lon2, lat1, lat2] if v.iter().all(|x| x.is_finite()) => {
            Ok(LonLatBox { lon1, lon2, lat1, lat2 })
        }
        _ => Err(format!("--lonlatbox {s}: give LON1,LON2,LAT1,LAT2 in degrees")),
    }
}

/// The positions of `lat` inside the box, in order, and of `lon`, from LON1 eastward; the
/// kept longitudes rewritten as LON1 + their distance east of it (monotonic, as CDO does).
pub fn in_box(
    b: &LonLatBox,
    lat: &[f64],
    lon: &[f64],
) -> tessera::Result<(Vec<usize>, Vec<usize>, Vec<f64>)> {
    let (lo, hi) = (b.lat1.min(b.lat2), b.lat1.max(b.lat2));
    let lats: Vec<usize> = (0..lat.len()).filter(|&i| (lo..=hi).contains(&lat[i])).collect();
    let span = if b.lon2 - b.lon1 >= 360.0 { 360.0 } else { (b.lon2 - b.lon1).rem_euclid(360.0) };
    let mut lons: Vec<(f64, usize)> = (0..lon.len())
        .map(|j| ((lon[j] - b.lon1).rem_euclid(360.0), j))
        .filter(|&(east, _)| east <= span && (span < 360.0 || east < 360.0))
        .collect();
    lons.sort_by(|a, b| a.0.total_cmp(&b.0));
    if lats.is_empty() || lons.is_empty() {
        return Err(tessera::Error::invalid(format!(
            "--lonlatbox {},{},{},{} holds no grid cell",
            b.lon1, b.lon2, b.lat1, b.lat2
        )));
    }
    let values = lons.iter().map(|&(east, _)| b.lon1 + east).collect();
    Ok((lats, lons.into_iter().map(|(_, j)| j).collect(), values))
}

/// `x` restricted to positions `keep` along `axis` (a slice when they are one increasing
/// run, a take otherwise).
pub fn restrict<T: Element>(x: &Array<T>, axis: usize, keep: &[usize]) -> tessera::Result<Array<T>> {
    if keep.len() == x.shape()[axis] && keep.iter().enumerate().all(|(i, &k)| i == k) {
        return Ok(x.clone());
    }
    let run = keep.windows(2).all(|w| w[1] == w[0] + 1);
    if run {
        let mut args = vec![SliceArg::full(); x.ndim()];
        args[axis] = SliceArg::new(Some(keep[0] as isize), Some(keep[keep.len() - 1] as isize + 1), 1);
        x.slice(&args)
    } else {
        let idx: Vec<isize> = keep.iter().map(|&k| k as isize).collect();
        x.take(&idx, axis as isize)
    }
}

#[cfg(test)]
mod box_tests {
    use super::*;

    #[test]
    fn lonlatbox_wraps_east_and_takes_latitudes_in_either_order() {
        let lon: Vec<f64> = (0..8).map(|j| j as f64 * 45.0 + 22.5).collect(); // 22.5 … 337.5
        let lat = [-67.5, -22.5, 22.5, 67.5];
        let b = lonlatbox("-50,50,30,-30").unwrap();
        let (la, lo, v) = in_box(&b, &lat, &lon).unwrap();
        assert_eq!(la, vec![1, 2]);
        // 337.5 (= -22.5) then 22.5: across the date line's opposite, in eastward order.
        assert_eq!(lo, vec![7, 0]);
        assert_eq!(v, vec![-22.5, 22.5]);
        let all = in_box(&lonlatbox("-180,180,-90,90").unwrap(), &lat, &lon).unwrap();
        assert_eq!((all.0.len(), all.1.len()), (4, 8));
        assert!(in_box(&lonlatbox("0,10,0,10").unwrap(), &lat, &lon).is_err());
        assert!(lonlatbox("1,2,3").is_err() && lonlatbox("a,b,c,d").is_err());
    }
}
