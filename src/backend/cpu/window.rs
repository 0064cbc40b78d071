//! Rolling statistics over one block extended by its halos ([`WindowKernel`]): each lane of
//! the rolled axis is copied into f64 once and swept in one pass, a window at a time, adding
//! the value that enters and removing the one that leaves (O(1) per position for sums,
//! means and variances; min and max by a monotonic deque, O(1) amortised).
//!
//! Sums are compensated (Neumaier) and keep infinities apart (a window holding +∞ sums to
//! +∞, both signs to NaN, as the sum of its values does); variances update the mean and the
//! sum of squared deviations by Welford's add and remove (pandas' `roll_var`), recomputed
//! from the window's values once every `window` positions so that rounding does not build up
//! along a lane (as in pandas, a standard deviation near 0 may still be off by about the square
//! root of the rounding, √(ε·x²) for values of size x); a window whose
//! non-NaN values are all the same value gives exactly that mean and a variance of 0 (pandas
//! does the same). NaN values are skipped and do not count toward `min_periods`.

use std::collections::VecDeque;

use ndarray::{ArrayD, Axis, IxDyn, Zip};

use crate::core::block::HostArray;
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::ir::window::{WindowKernel, WindowStat};

/// The rolling statistic `k` of one extended block.
pub(crate) fn rolling(k: &WindowKernel, input: &HostArray) -> Result<HostArray> {
    match k.dtype {
        DType::F32 => typed::<f32>(k, input),
        DType::F64 => typed::<f64>(k, input),
        d => Err(Error::internal(format!("rolling: a block of {d}, not f32 or f64"))),
    }
}

fn typed<T: Element>(k: &WindowKernel, input: &HostArray) -> Result<HostArray> {
    let a = input.typed::<T>()?;
    let ax = Axis(k.axis);
    let n_ext = a.shape()[k.axis];
    let after = k.window - 1 - k.before;
    if k.before > k.depth || after > k.depth || n_ext < 2 * k.depth {
        return Err(Error::internal(format!(
            "rolling: an extended block of {n_ext} along axis {} for halos of {} and a window of {} \
             ({} before)",
            k.axis, k.depth, k.window, k.before
        )));
    }
    let n = n_ext - 2 * k.depth;
    let mut shape = a.shape().to_vec();
    shape[k.axis] = n;
    let mut out = ArrayD::<T>::from_elem(IxDyn(&shape), T::zero());
    let mut lane = Vec::with_capacity(n_ext);
    let mut deque = VecDeque::new();
    Zip::from(a.lanes(ax)).and(out.lanes_mut(ax)).for_each(|src, mut dst| {
        lane.clear();
        lane.extend(src.iter().map(|v| v.to_f64()));
        let mut emit = |j: usize, v: f64| dst[j] = T::cast_from(v);
        deque.clear();
        match k.stat {
            WindowStat::Min => sweep(k, &lane, n, &mut Extreme { max: false, deque: &mut deque }, &mut emit),
            WindowStat::Max => sweep(k, &lane, n, &mut Extreme { max: true, deque: &mut deque }, &mut emit),
            stat => sweep(k, &lane, n, &mut Moments::new(stat, k.window), &mut emit),
        }
    });
    Ok(HostArray::new(out.into_shared()))
}

/// A window's running state: values enter at the right and leave at the left, each once.
trait Window {
    /// Value `x` (not NaN) at lane position `i` enters.
    fn add(&mut self, i: usize, x: f64, lane: &[f64]);
    /// Value `x` (not NaN) at lane position `i` leaves.
    fn remove(&mut self, i: usize, x: f64);
    /// The statistic of the window that starts at lane position `start` and holds `nobs`
    /// values that are not NaN (at least one).
    fn value(&mut self, start: usize, nobs: usize, lane: &[f64]) -> f64;
}

/// Emit the statistic of every output position of one lane.
fn sweep(k: &WindowKernel, lane: &[f64], n: usize, w: &mut impl Window, emit: &mut impl FnMut(usize, f64)) {
    let first = k.depth - k.before;
    let mut nobs = 0usize;
    for (i, &x) in lane.iter().enumerate().take(first + k.window - 1).skip(first) {
        if !x.is_nan() {
            nobs += 1;
            w.add(i, x, lane);
        }
    }
    for j in 0..n {
        let start = first + j;
        let last = start + k.window - 1;
        if !lane[last].is_nan() {
            nobs += 1;
            w.add(last, lane[last], lane);
        }
        let v = if nobs >= k.min_periods && nobs > 0 { w.value(start, nobs, lane) } else { f64::NAN };
        emit(j, v);
        if !lane[start].is_nan() {
            nobs -= 1;
            w.remove(start, lane[start]);
        }
    }
}

/// Sums, means, variances and counts.
struct Moments {
    stat: WindowStat,
    /// Finite values in the window.
    finite: usize,
    pos_inf: usize,
    neg_inf: usize,
    /// Neumaier's running sum of the finite values and its compensation.
    sum: f64,
    comp: f64,
    /// Welford's mean and sum of squared deviations of the finite values.
    mean: f64,
    m2: f64,
    /// The last value added and how many values in a row (NaN skipped) were equal to it.
    run_value: f64,
    run: usize,
    /// The window's length, and variances given since `mean` and `m2` were last computed
    /// afresh from the window's values.
    window: usize,
    since: usize,
}

impl Moments {
    fn new(stat: WindowStat, window: usize) -> Self {
        Moments {
            stat,
            finite: 0,
            pos_inf: 0,
            neg_inf: 0,
            sum: 0.0,
            comp: 0.0,
            mean: 0.0,
            m2: 0.0,
            run_value: f64::NAN,
            run: 0,
            window,
            since: 0,
        }
    }

    /// `mean` and `m2` computed afresh (two passes) from the finite values of `values`, the
    /// window: once every `window` variances, so that the rounding of earlier updates (of
    /// values long gone, perhaps much larger) does not build up along the lane.
    fn refresh(&mut self, values: &[f64]) {
        let finite = || values.iter().copied().filter(|x| x.is_finite());
        self.mean = finite().sum::<f64>() / self.finite as f64;
        self.m2 = finite().map(|x| (x - self.mean) * (x - self.mean)).sum();
        self.since = 0;
    }

    fn accumulate(&mut self, x: f64) {
        let t = self.sum + x;
        if self.sum.abs() >= x.abs() {
            self.comp += (self.sum - t) + x;
        } else {
            self.comp += (x - t) + self.sum;
        }
        self.sum = t;
    }

    /// The sum or mean when an infinity is in the window.
    fn infinite(&self) -> Option<f64> {
        match (self.pos_inf > 0, self.neg_inf > 0) {
            (false, false) => None,
            (true, false) => Some(f64::INFINITY),
            (false, true) => Some(f64::NEG_INFINITY),
            (true, true) => Some(f64::NAN),
        }
    }

    fn var(&mut self, nobs: usize, ddof: f64, values: &[f64]) -> f64 {
        let dof = nobs as f64 - ddof;
        if self.pos_inf + self.neg_inf > 0 || dof <= 0.0 {
            f64::NAN
        } else if self.run >= nobs {
            0.0
        } else {
            self.since += 1;
            if self.since >= self.window {
                self.refresh(values);
            }
            self.m2.max(0.0) / dof
        }
    }
}

impl Window for Moments {
    fn add(&mut self, _: usize, x: f64, _: &[f64]) {
        if x == self.run_value {
            self.run += 1;
        } else {
            self.run_value = x;
            self.run = 1;
        }
        if x == f64::INFINITY {
            self.pos_inf += 1;
        } else if x == f64::NEG_INFINITY {
            self.neg_inf += 1;
        } else {
            self.finite += 1;
            self.accumulate(x);
            let d = x - self.mean;
            self.mean += d / self.finite as f64;
            self.m2 += d * (x - self.mean);
        }
    }

    fn remove(&mut self, _: usize, x: f64) {
        if x == f64::INFINITY {
            self.pos_inf -= 1;
        } else if x == f64::NEG_INFINITY {
            self.neg_inf -= 1;
        } else {
            self.finite -= 1;
            if self.finite == 0 {
                // Start afresh: nothing of the values that left stays behind.
                (self.sum, self.comp, self.mean, self.m2) = (0.0, 0.0, 0.0, 0.0);
            } else {
                self.accumulate(-x);
                let d = x - self.mean;
                self.mean -= d / self.finite as f64;
                self.m2 -= d * (x - self.mean);
            }
        }
    }

    fn value(&mut self, start: usize, nobs: usize, lane: &[f64]) -> f64 {
        let values = &lane[start..start + self.window];
        match self.stat {
            WindowStat::Count => nobs as f64,
            WindowStat::Sum => self.infinite().unwrap_or(self.sum + self.comp),
            WindowStat::Mean => self.infinite().unwrap_or(if self.run >= nobs {
                self.run_value
            } else {
                (self.sum + self.comp) / nobs as f64
            }),
            WindowStat::Var { ddof } => self.var(nobs, ddof, values),
            WindowStat::Std { ddof } => self.var(nobs, ddof, values).sqrt(),
            WindowStat::Min | WindowStat::Max => f64::NAN,
        }
    }
}

/// Min or max: lane positions of the candidates, their values monotonic from the front.
struct Extreme<'a> {
    max: bool,
    deque: &'a mut VecDeque<usize>,
}

impl Window for Extreme<'_> {
    fn add(&mut self, i: usize, x: f64, lane: &[f64]) {
        while let Some(&b) = self.deque.back() {
            let dominated = if self.max { lane[b] <= x } else { lane[b] >= x };
            if !dominated {
                break;
            }
            self.deque.pop_back();
        }
        self.deque.push_back(i);
    }

    fn remove(&mut self, _: usize, _: f64) {}

    fn value(&mut self, start: usize, _: usize, lane: &[f64]) -> f64 {
        while self.deque.front().is_some_and(|&f| f < start) {
            self.deque.pop_front();
        }
        self.deque.front().map_or(f64::NAN, |&f| lane[f])
    }
}
