//! `tessera ydaypctl` and `tessera mhw` end to end: run by the binary on two years of the
//! synthetic data set (Zarr, dated by the files' time coordinates), and checked against the
//! library's `marine_heatwaves` on the same data (itself checked against a transcription of
//! Hobday et al.'s code in the library's tests/heatwaves.rs): the same numbers, in the
//! layout the help describes, with the options passed through.

mod common;

use common::*;
use ndarray::{ArrayD, Axis};
use tessera::calendar::{Day, days_from};
use tessera::climate::{MhwOptions, marine_heatwaves};

#[test]
fn thresholds_and_events_match_the_library() {
    let dir = tmpdir("heatwaves");
    let x = generate(&dir);
    let days = days_from(Day::parse("1983-01-01").unwrap(), x.dim().0);
    let input = dir.join("zarr/sst.*.zarr");
    let opts = MhwOptions { baseline: Some((1983, 1983)), min_duration: 3, max_gap: 1, ..Default::default() };
    let arr = tessera::from_array(x.clone().into_dyn(), [100, 12, 16]).unwrap();
    let (clim, ev) = marine_heatwaves(&arr, &days, &opts).unwrap();
    let thresh = clim.thresh.compute().unwrap();
    let stats = ev.compute(&Default::default()).unwrap();

    let out = dir.join("thresh.npy");
    let (code, _, err) = tessera(&["ydaypctl", s(&input), "--baseline", "1983/1983", "--out", s(&out)]);
    assert_eq!(code, 0, "{err}");
    check("ydaypctl", &read(&out), &thresh);

    let out = dir.join("mhw.npy");
    let args =
        ["mhw", s(&input), "--baseline", "1983/1983", "--min-duration", "3", "--max-gap", "1", s(&out)];
    let (code, _, err) = tessera(&args);
    assert_eq!(code, 0, "{err}");
    let got = read(&out);
    assert_eq!(got.shape(), &[4, 12, 16]);
    let want: Vec<ArrayD<f64>> = vec![
        stats.count.mapv(|v| v as f64),
        stats.days.mapv(|v| v as f64),
        stats.max_intensity.clone(),
        stats.longest.mapv(|v| v as f64),
    ];
    for (k, (name, w)) in ["count", "days", "max_intensity", "longest"].iter().zip(&want).enumerate() {
        check(name, &got.index_axis(Axis(0), k).to_owned(), w);
    }
    assert!(stats.count.sum() > 0, "the options find events in two years of noise");

    // Hobday's defaults find fewer events than 3-day minima joined across 1-day gaps.
    let out = dir.join("mhw_defaults.npy");
    let (code, _, err) = tessera(&["mhw", s(&input), "--out", s(&out)]);
    assert_eq!(code, 0, "{err}");
    let defaults = read(&out);
    let total = |a: &ArrayD<f32>| a.index_axis(Axis(0), 0).iter().map(|&v| v as f64).sum::<f64>();
    assert!(total(&defaults) < total(&got), "defaults {} vs {}", total(&defaults), total(&got));

    // Bad options are usage errors naming the option.
    let (code, _, err) = tessera(&["mhw", s(&input), "--baseline", "1990", "--out", s(&out)]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--baseline"), "{err}");
    let (code, _, err) = tessera(&["ydaypctl", s(&input), "--smooth", "30", "--out", s(&dir.join("t.npy"))]);
    assert_ne!(code, 0);
    assert!(err.contains("odd"), "{err}");
}
