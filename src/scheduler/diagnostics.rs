//! What a run shows and records: the progress bar and the task profile.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ir::{TaskGraph, TaskId};
use crate::runtime::Progress;

/// Counts finished tasks on a bar that appears once a compute has run for a while.
pub(crate) struct ProgressReporter {
    bar: Option<ProgressBar>,
    start: Instant,
    shown: AtomicBool,
}

/// How long a compute runs before its bar appears.
const SHOW_AFTER: Duration = Duration::from_secs(1);

impl ProgressReporter {
    pub(crate) fn new(mode: Progress, tasks: usize) -> Self {
        let on = match mode {
            Progress::Off => false,
            Progress::On => true,
            Progress::Auto => std::io::stderr().is_terminal(),
        };
        let bar = on.then(|| {
            let bar = ProgressBar::with_draw_target(Some(tasks as u64), ProgressDrawTarget::hidden());
            if let Ok(style) =
                ProgressStyle::with_template("[{elapsed_precise}] {bar:40} {pos}/{len} tasks ({eta} left)")
            {
                bar.set_style(style);
            }
            bar
        });
        ProgressReporter { bar, start: Instant::now(), shown: AtomicBool::new(false) }
    }

    /// One more task finished.
    pub(crate) fn tick(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if !self.shown.load(Ordering::Relaxed)
                && self.start.elapsed() > SHOW_AFTER
                && !self.shown.swap(true, Ordering::Relaxed)
            {
                bar.set_draw_target(ProgressDrawTarget::stderr());
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// One task of a profiled run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// The task's label (node, kernel, block).
    pub label: String,
    /// Start, in microseconds since the run began.
    pub start_us: u64,
    /// Duration in microseconds.
    pub duration_us: u64,
    /// The worker thread that ran it (0 is the calling thread).
    pub worker: usize,
    /// Where it ran (`"cpu"`).
    pub device: String,
    /// Bytes of its result.
    pub bytes: usize,
}

/// The task profile of a run ([`crate::ComputeOptions::profile`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// Every task, in the order they finished per worker.
    pub tasks: Vec<TaskRecord>,
}

/// Raw timing of one task, before labels are made.
#[derive(Clone, Copy)]
pub(crate) struct RawRecord {
    pub(crate) task: TaskId,
    pub(crate) start: Duration,
    pub(crate) end: Duration,
    pub(crate) worker: usize,
    pub(crate) bytes: usize,
}

impl Profile {
    pub(crate) fn from_raw(graph: &TaskGraph, raw: Vec<RawRecord>, device: &str) -> Self {
        let tasks = raw
            .into_iter()
            .map(|r| TaskRecord {
                label: graph.tasks[r.task].label(),
                start_us: r.start.as_micros() as u64,
                duration_us: (r.end.saturating_sub(r.start)).as_micros() as u64,
                worker: r.worker,
                device: device.to_string(),
                bytes: r.bytes,
            })
            .collect();
        Profile { tasks }
    }

    /// The profile as Chrome trace JSON (the "Trace Event Format"): one complete event per
    /// task, one row per worker. Open it in <https://ui.perfetto.dev> or chrome://tracing.
    ///
    /// ```
    /// use tessera::prelude::*;
    /// let x = tessera::ones::<f64>(&[100], [10])?;
    /// let opts = ComputeOptions::default().profile(true);
    /// let (_, report) = x.sum(Axes::All)?.compute_report(&opts)?;
    /// let json = report.profile.unwrap().to_chrome_trace();
    /// assert!(json.starts_with("{\"traceEvents\":["));
    /// # Ok::<(), tessera::Error>(())
    /// ```
    pub fn to_chrome_trace(&self) -> String {
        let mut s = String::from("{\"traceEvents\":[");
        for (i, t) in self.tasks.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            let _ = write!(
                s,
                "{{\"name\":\"{}\",\"cat\":\"{}\",\"ph\":\"X\",\"ts\":{},\"dur\":{},\"pid\":1,\"tid\":{},\
                 \"args\":{{\"bytes\":{}}}}}",
                json_escape(&t.label),
                json_escape(&t.device),
                t.start_us,
                t.duration_us.max(1),
                t.worker,
                t.bytes
            );
        }
        s.push_str("],\"displayTimeUnit\":\"ms\"}");
        s
    }
}

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}
