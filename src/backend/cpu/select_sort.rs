//! A sample sort of lines too long for one task, from the exact splitters of a radix
//! selection (`select`): each block's values dealt into the runs the splitters bound (per
//! line, in position order), then each run gathered from every block, in block order, and
//! sorted stably by the radix sort. The splitters are composites (key, then position), so a
//! run holds exactly the ranks `[r_b, r_{b+1})` of the line's stable order whatever the
//! ties, and concatenating the sorted runs is the stable sort of the line.

use crate::core::block::{HostArray, Value};
use crate::core::dtype::Element;
use crate::core::error::{Error, Result};
use crate::ir::order::OrderKernel;
use crate::ir::select::{SelectPlan, SelectStep, SelectTarget, split_ranks};
use crate::with_dtype;

use super::select::{SelectState, composite};

/// One block's values dealt into the runs: per line, per run, the values and their
/// positions along the axis, in position order.
pub(crate) struct SortParts<T> {
    grid: Vec<usize>,
    runs: Vec<Vec<(Vec<T>, Vec<i64>)>>,
}

impl<T> SortParts<T> {
    fn nbytes(&self) -> usize {
        let n: usize = self.runs.iter().flatten().map(|(v, _)| v.len()).sum();
        n * (std::mem::size_of::<T>() + 8) + 64
    }
}

/// Run a partition or a run's sort.
pub(crate) fn execute(
    k: &OrderKernel,
    plan: &SelectPlan,
    step: &SelectStep,
    inputs: &[Value],
) -> Result<Value> {
    match step {
        SelectStep::Partition { start } => {
            let a = inputs.first().ok_or_else(|| Error::internal("sort partition: no block"))?.array()?;
            let s = inputs.get(1).ok_or_else(|| Error::internal("sort partition: no splitters"))?;
            let s = s.get_state::<SelectState>()?;
            with_dtype!(k.dtype, T => {
                let p = partition::<T>(a, k.axis, plan, s, *start)?;
                let bytes = p.nbytes();
                Ok(Value::state(p, bytes))
            })
        }
        SelectStep::SortPart { part, len, arg } => {
            Ok(Value::Array(with_dtype!(k.dtype, T => sort_run::<T>(inputs, k.axis, *part, *len, *arg)?)))
        }
        _ => Err(Error::internal("sort: not a sort step")),
    }
}

fn partition<T: Element>(
    a: &HostArray,
    axis: usize,
    plan: &SelectPlan,
    s: &SelectState,
    start: usize,
) -> Result<SortParts<T>> {
    let SelectTarget::Splitters { parts } = plan.target else {
        return Err(Error::internal("sort partition: a selection of quantiles"));
    };
    let (std, grid, (outer, n, inner)) = super::order::layout::<T>(a, axis)?;
    let src = std.as_slice().ok_or_else(|| Error::internal("sort partition: block not contiguous"))?;
    let lines = outer * inner;
    if s.nlines() != lines {
        return Err(Error::internal("sort partition: the splitters' lines differ from the block's"));
    }
    // The splitters hold the ranks of a line of the axis's full length; every line has it.
    let len: usize = if lines == 0 { 0 } else { s.line_len(0) as usize };
    let ranks = split_ranks(len, parts);
    let splitters: Vec<Vec<u128>> = (0..lines)
        .map(|l| ranks.iter().map(|&r| s.found(l, r as u64)).collect::<Result<_>>())
        .collect::<Result<_>>()?;
    let mut runs: Vec<Vec<(Vec<T>, Vec<i64>)>> = vec![vec![(Vec::new(), Vec::new()); parts]; lines];
    for o in 0..outer {
        for t in 0..n {
            let row = &src[(o * n + t) * inner..(o * n + t + 1) * inner];
            for (i, &v) in row.iter().enumerate() {
                let l = o * inner + i;
                let c = composite(v, start + t, plan.index_bits);
                let run = splitters[l].partition_point(|&x| x <= c);
                let (vals, pos) = &mut runs[l][run];
                vals.push(v);
                pos.push((start + t) as i64);
            }
        }
    }
    Ok(SortParts { grid, runs })
}

fn sort_run<T: Element>(
    inputs: &[Value],
    axis: usize,
    part: usize,
    len: usize,
    arg: bool,
) -> Result<HostArray> {
    let blocks: Vec<&SortParts<T>> =
        inputs.iter().map(|v| v.get_state::<SortParts<T>>()).collect::<Result<_>>()?;
    let first = blocks.first().ok_or_else(|| Error::internal("sort run: no partition"))?;
    let lines = first.runs.len();
    let (mut vals, mut pos) = (Vec::with_capacity(len), Vec::with_capacity(len));
    let (mut pairs, mut spare) = (Vec::new(), Vec::new());
    let mut out_v: Vec<T> = Vec::with_capacity(if arg { 0 } else { lines * len });
    let mut out_i: Vec<i64> = Vec::with_capacity(if arg { lines * len } else { 0 });
    for l in 0..lines {
        vals.clear();
        pos.clear();
        for b in &blocks {
            let (v, p) = b
                .runs
                .get(l)
                .and_then(|r| r.get(part))
                .ok_or_else(|| Error::internal("sort run: a partition without the run"))?;
            vals.extend_from_slice(v);
            pos.extend_from_slice(p);
        }
        if vals.len() != len {
            return Err(Error::internal(format!("sort run {part}: {} values, expected {len}", vals.len())));
        }
        if len > u32::MAX as usize {
            return Err(Error::invalid(format!("sort: a run of {len} values is too long")));
        }
        // Gathered in position order, so the stable sort orders ties by position.
        super::radix::sorted_positions(&vals, &mut pairs, &mut spare);
        if arg {
            out_i.extend(pairs.iter().map(|&(_, i)| pos[i as usize]));
        } else {
            out_v.extend(pairs.iter().map(|&(_, i)| vals[i as usize]));
        }
    }
    if arg {
        super::order::lines_back(out_i, &first.grid, len, axis)
    } else {
        super::order::lines_back(out_v, &first.grid, len, axis)
    }
}
