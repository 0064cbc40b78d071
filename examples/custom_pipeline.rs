//! A load → clean → analyze → store pipeline over several files, as delayed tasks.
//!
//! Each call below builds a task instead of running; `compute()` runs the whole graph on the
//! threaded scheduler: the files are loaded, cleaned and analysed in parallel, and the report
//! is stored once every analysis is done. A file that cannot be read fails the run with an
//! error naming its task.
//!
//! ```text
//! cargo run --release --example custom_pipeline
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;

use tessera::Error;
use tessera::delayed::{self, Delayed};

/// Summary statistics of one file.
#[derive(Clone, Debug)]
struct Stats {
    file: String,
    kept: usize,
    dropped: usize,
    mean: f64,
    std: f64,
}

fn main() -> tessera::Result<()> {
    let dir = std::env::temp_dir().join(format!("tessera-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::InvalidArgument(format!("{}: {e}", dir.display())))?;
    let files = write_inputs(&dir, 8)?;

    let load = delayed::try_wrap1("load", |path: &PathBuf| {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
        Ok((path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), text))
    });
    let clean = delayed::wrap1("clean", |(name, text): &(String, String)| {
        // Parse; drop what is not a number, NaN, or a sensor glitch (|v| > 1000).
        let values: Vec<f64> = text.lines().filter_map(|l| l.trim().parse::<f64>().ok()).collect();
        let kept: Vec<f64> = values.iter().copied().filter(|v| v.is_finite() && v.abs() <= 1000.0).collect();
        let dropped = text.lines().count() - kept.len();
        (name.clone(), kept, dropped)
    });
    let analyze = delayed::wrap1("analyze", |(name, v, dropped): &(String, Vec<f64>, usize)| {
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let std = (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n).sqrt();
        Stats { file: name.clone(), kept: v.len(), dropped: *dropped, mean, std }
    });
    let out_path = dir.join("report.txt");
    let store = delayed::try_wrap2("store", |all: &Vec<Stats>, path: &PathBuf| {
        let mut s = String::from("file\tkept\tdropped\tmean\tstd\n");
        for st in all {
            let _ = writeln!(s, "{}\t{}\t{}\t{:.4}\t{:.4}", st.file, st.kept, st.dropped, st.mean, st.std);
        }
        std::fs::write(path, &s).map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
        Ok(all.len())
    });

    let per_file: Vec<Delayed<Stats>> =
        files.iter().map(|f| analyze.call(clean.call(load.call(f.clone())))).collect();
    let report = store.call(delayed::gather("gather", &per_file), out_path.clone());
    let plan = report.plan();
    println!(
        "{} tasks; the graph in DOT has {} lines (report.to_dot())",
        plan.stats.tasks,
        report.to_dot().lines().count()
    );

    let t = std::time::Instant::now();
    let n = report.compute()?;
    println!(
        "analysed {n} files in {:.1} ms; report at {}",
        t.elapsed().as_secs_f64() * 1e3,
        out_path.display()
    );
    print!("{}", std::fs::read_to_string(&out_path).unwrap_or_default());

    // A missing file fails the run, naming the task; nothing downstream of it runs.
    let missing = analyze.call(clean.call(load.call(dir.join("missing.txt"))));
    match missing.compute() {
        Err(e) => println!("as expected: {e}"),
        Ok(s) => println!("unexpected: {s:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Write `n` files of sensor readings, with some junk lines, NaNs and glitches.
fn write_inputs(dir: &std::path::Path, n: usize) -> tessera::Result<Vec<PathBuf>> {
    (0..n)
        .map(|i| {
            let mut s = String::new();
            for j in 0..10_000u64 {
                let r = tessera::random::bits(i as u64, 0, j);
                let v = 20.0 + i as f64 + ((r >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * 4.0;
                match r % 997 {
                    0 => s.push_str("n/a\n"),
                    1 => s.push_str("NaN\n"),
                    2 => s.push_str("99999\n"),
                    _ => {
                        let _ = writeln!(s, "{v:.3}");
                    }
                }
            }
            let p = dir.join(format!("sensor-{i:02}.txt"));
            std::fs::write(&p, s).map_err(|e| Error::InvalidArgument(format!("{}: {e}", p.display())))?;
            Ok(p)
        })
        .collect()
}
