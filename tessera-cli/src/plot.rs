//! Colour maps of 2-D results as PNG, drawn with plotters.
//!
//! [`map_png`] draws a grid (a mean SST map, a climatology day) with a diverging palette in
//! the style of matplotlib's `RdBu_r` (blue low, white middle, red high), NaN cells (land) in
//! grey, a colour bar with its values, and a title. Text uses DejaVu Sans, compiled in
//! (assets/, under its own free licence), so no system font is needed.

use std::path::Path;

use ndarray::ArrayView2;
use plotters::prelude::*;
use plotters::style::FontStyle;

use tessera::{Error, Result};

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

/// ColorBrewer RdBu, reversed: low values blue, high values red.
const RDBU_R: [(u8, u8, u8); 11] = [
    (5, 48, 97),
    (33, 102, 172),
    (67, 147, 195),
    (146, 197, 222),
    (209, 229, 240),
    (247, 247, 247),
    (253, 219, 199),
    (244, 165, 130),
    (214, 96, 77),
    (178, 24, 43),
    (103, 0, 31),
];

/// The palette's colour at `t` in `[0, 1]`.
pub fn rdbu_r(t: f64) -> (u8, u8, u8) {
    let t = if t.is_nan() { 0.5 } else { t.clamp(0.0, 1.0) };
    let x = t * (RDBU_R.len() - 1) as f64;
    let i = (x.floor() as usize).min(RDBU_R.len() - 2);
    let f = x - i as f64;
    let (a, b) = (RDBU_R[i], RDBU_R[i + 1]);
    let mix = |p: u8, q: u8| (p as f64 + (q as f64 - p as f64) * f).round() as u8;
    (mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Grey for NaN (land).
pub const NAN_GREY: (u8, u8, u8) = (160, 160, 160);

/// How to draw a map.
#[derive(Debug, Clone)]
pub struct MapStyle {
    /// Title above the map.
    pub title: String,
    /// Label of the colour bar (units).
    pub units: String,
    /// Row 0 at the bottom (latitudes ascending, as in OISST); otherwise at the top.
    pub origin_lower: bool,
    /// Colour range; `None`: the 2nd to 98th percentile of the finite values.
    pub range: Option<(f64, f64)>,
}

impl Default for MapStyle {
    fn default() -> Self {
        MapStyle { title: String::new(), units: String::new(), origin_lower: true, range: None }
    }
}

/// The colour range of `data`: 2nd to 98th percentile of its finite values.
fn auto_range(data: &ArrayView2<'_, f64>) -> (f64, f64) {
    let mut v: Vec<f64> = data.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return (0.0, 1.0);
    }
    v.sort_unstable_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    let (lo, hi) = (q(0.02), q(0.98));
    if hi > lo { (lo, hi) } else { (lo - 0.5, lo + 0.5) }
}

/// Draw `data` (rows × columns) as a colour map into a PNG at `path`.
///
/// ```
/// let a = ndarray::Array2::from_shape_fn((30, 60), |(i, j)| if j < 10 { f64::NAN } else { (i + j) as f64 });
/// let path = std::env::temp_dir().join("tessera-doc-map.png");
/// let style = tessera_cli::plot::MapStyle { title: "demo".into(), ..Default::default() };
/// tessera_cli::plot::map_png(&a.view(), &path, &style)?;
/// assert!(std::fs::metadata(&path)?.len() > 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn map_png(data: &ArrayView2<'_, f64>, path: impl AsRef<Path>, style: &MapStyle) -> Result<()> {
    let path = path.as_ref();
    let (rows, cols) = data.dim();
    if rows == 0 || cols == 0 {
        return Err(Error::invalid(format!("cannot draw an empty {rows} × {cols} map")));
    }
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    // One pixel per cell for large grids; small grids are scaled up to about 720 px wide.
    let scale = (720 / cols).clamp(1, 40);
    let (mw, mh) = ((cols * scale) as u32, (rows * scale) as u32);
    let (margin, top, bar) = (40u32, 50u32, 70u32);
    let (w, h) = (mw + 2 * margin, mh + top + bar + 20);
    let err = |e: String| Error::io(path, format!("cannot draw the map: {e}"));
    // Drawn under a temporary name with the same extension, renamed into place when whole.
    let staged = tessera::io::staged::Staged::new(path, tessera::io::staged::Kind::File)?;
    let root = BitMapBackend::new(staged.path(), (w, h)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let (lo, hi) = style.range.unwrap_or_else(|| auto_range(data));
    let text = |size: u32| TextStyle::from(("sans-serif", size).into_font()).color(&BLACK);
    if !style.title.is_empty() {
        root.draw_text(&style.title, &text(22), (margin as i32, 14)).map_err(|e| err(e.to_string()))?;
    }
    for r in 0..rows {
        let row = if style.origin_lower { rows - 1 - r } else { r };
        for c in 0..cols {
            let v = data[[row, c]];
            let (cr, cg, cb) = if v.is_nan() { NAN_GREY } else { rdbu_r((v - lo) / (hi - lo)) };
            let color = RGBColor(cr, cg, cb);
            let (x0, y0) = ((margin as usize + c * scale) as i32, (top as usize + r * scale) as i32);
            if scale == 1 {
                root.draw_pixel((x0, y0), &color).map_err(|e| err(e.to_string()))?;
            } else {
                let rect = Rectangle::new([(x0, y0), (x0 + scale as i32, y0 + scale as i32)], color.filled());
                root.draw(&rect).map_err(|e| err(e.to_string()))?;
            }
        }
    }
    // Colour bar with five labelled ticks.
    let (bx, by, bw, bh) = (margin as i32, (top + mh + 15) as i32, mw as i32, 16);
    for x in 0..bw {
        let (cr, cg, cb) = rdbu_r(x as f64 / (bw - 1).max(1) as f64);
        let line = Rectangle::new([(bx + x, by), (bx + x + 1, by + bh)], RGBColor(cr, cg, cb).filled());
        root.draw(&line).map_err(|e| err(e.to_string()))?;
    }
    for k in 0..5 {
        let t = k as f64 / 4.0;
        let x = bx + (t * (bw - 1) as f64) as i32;
        let digits = if hi - lo >= 10.0 {
            1
        } else if hi - lo >= 1.0 {
            2
        } else {
            3
        };
        let label = format!("{:.*}", digits, lo + t * (hi - lo));
        root.draw(&PathElement::new(vec![(x, by + bh), (x, by + bh + 4)], BLACK))
            .map_err(|e| err(e.to_string()))?;
        root.draw_text(&label, &text(13), (x - 4 * label.len() as i32, by + bh + 6))
            .map_err(|e| err(e.to_string()))?;
    }
    if !style.units.is_empty() {
        root.draw_text(&style.units, &text(13), (bx + bw - 60, by - 14)).map_err(|e| err(e.to_string()))?;
    }
    root.present().map_err(|e| err(e.to_string()))?;
    drop(root);
    staged.commit()
}
