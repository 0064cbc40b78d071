//! Graphs assembled explicitly from named tasks and their dependencies (dask's dict of tasks).
//!
//! Every task is validated before anything runs: a dependency on a missing key or a cycle is
//! an [`Error::InvalidArgument`] naming the keys involved.

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::core::block::Value;
use crate::core::error::{Error, Result};
use crate::delayed::{compute_values, delayed_node};
use crate::graph::TaskGraph;
use crate::graph::node::Node;
use crate::graph::plan::plan;
use crate::ir::kernel::ValueFn;
use crate::runtime::ComputeOptions;

/// A value of any type, as the tasks of a [`GraphSpec`] pass them.
pub type AnyValue = Arc<dyn Any + Send + Sync>;

/// The function of a [`GraphSpec`] task: its dependencies' values, in order, to its value.
pub type SpecFn = dyn Fn(&[AnyValue]) -> Result<AnyValue> + Send + Sync;

/// A graph of named tasks, each a function of the values of the tasks it names.
///
/// ```
/// use std::sync::Arc;
/// use tessera::delayed::GraphSpec;
/// let mut g = GraphSpec::new();
/// g.value("x", 2i64);
/// g.task("y", &["x"], |v| Ok(Arc::new(v[0].downcast_ref::<i64>().unwrap() * 10)));
/// g.task("z", &["x", "y"], |v| {
///     Ok(Arc::new(v[0].downcast_ref::<i64>().unwrap() + v[1].downcast_ref::<i64>().unwrap()))
/// });
/// let out = g.compute(&["z"], &Default::default()).unwrap();
/// assert_eq!(out[0].downcast_ref::<i64>(), Some(&22));
/// g.task("x", &["z"], |v| Ok(v[0].clone()));
/// assert!(g.compute(&["z"], &Default::default()).unwrap_err().to_string().contains("cycle"));
/// ```
#[derive(Clone, Default)]
pub struct GraphSpec {
    tasks: BTreeMap<String, (Vec<String>, Arc<SpecFn>)>,
}

impl GraphSpec {
    /// An empty graph.
    pub fn new() -> Self {
        Self::default()
    }
    /// Add (or replace) task `key`, computed by `f` from the values of `deps`.
    pub fn task(
        &mut self,
        key: &str,
        deps: &[&str],
        f: impl Fn(&[AnyValue]) -> Result<AnyValue> + Send + Sync + 'static,
    ) -> &mut Self {
        self.tasks.insert(key.to_string(), (deps.iter().map(|d| d.to_string()).collect(), Arc::new(f)));
        self
    }
    /// Add (or replace) a constant task.
    pub fn value<T: Send + Sync + 'static>(&mut self, key: &str, v: T) -> &mut Self {
        let v: AnyValue = Arc::new(v);
        self.task(key, &[], move |_| Ok(v.clone()))
    }
    /// Number of tasks.
    pub fn len(&self) -> usize {
        self.tasks.len()
    }
    /// Whether there are no tasks.
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// Check the graph reachable from `keys` and build its nodes (keys in order).
    fn nodes(&self, keys: &[&str]) -> Result<Vec<Arc<Node>>> {
        // Iterative depth-first search with colours: 1 = on the path, 2 = done.
        let mut colour: HashMap<&str, u8> = HashMap::new();
        let mut built: HashMap<&str, Arc<Node>> = HashMap::new();
        for &root in keys {
            let mut stack: Vec<(&str, usize)> = vec![(self.key(root, None)?, 0)];
            colour.entry(root).or_insert(0);
            if colour[root] == 2 {
                continue;
            }
            colour.insert(root, 1);
            while let Some(&mut (key, ref mut next)) = stack.last_mut() {
                let (deps, f) = &self.tasks[key];
                if *next < deps.len() {
                    let d = self.key(&deps[*next], Some(key))?;
                    *next += 1;
                    match colour.get(d).copied().unwrap_or(0) {
                        0 => {
                            colour.insert(d, 1);
                            stack.push((d, 0));
                        }
                        1 => {
                            let mut path: Vec<&str> =
                                stack.iter().map(|(k, _)| *k).skip_while(|k| *k != d).collect();
                            path.push(d);
                            return Err(Error::invalid(format!(
                                "the task graph has a cycle: {}",
                                path.join(" -> ")
                            )));
                        }
                        _ => {}
                    }
                } else {
                    let inputs: Vec<Arc<Node>> = deps.iter().map(|d| built[d.as_str()].clone()).collect();
                    let f = f.clone();
                    let func: Arc<ValueFn> = Arc::new(move |vals: &[Value]| {
                        let args: Vec<AnyValue> = vals
                            .iter()
                            .map(|v| match v {
                                Value::State { data, .. } => Ok(data.clone()),
                                Value::Array(_) | Value::Device(_) => {
                                    Err(Error::invalid("a graph task received an array block"))
                                }
                            })
                            .collect::<Result<_>>()?;
                        let out = f(&args)?;
                        Ok(Value::State { data: out, nbytes: 8 })
                    });
                    let blocks = vec![Vec::new(); inputs.len()];
                    built.insert(key, delayed_node(key, func, inputs, blocks));
                    colour.insert(key, 2);
                    stack.pop();
                }
            }
        }
        Ok(keys.iter().map(|k| built[k].clone()).collect())
    }

    fn key<'a>(&'a self, k: &str, from: Option<&str>) -> Result<&'a str> {
        self.tasks.get_key_value(k).map(|(k, _)| k.as_str()).ok_or_else(|| match from {
            Some(f) => Error::invalid(format!("task {f:?} depends on {k:?}, which is not in the graph")),
            None => Error::invalid(format!("no task {k:?} in the graph")),
        })
    }

    /// The task graph that computing `keys` runs (validated).
    pub fn plan(&self, keys: &[&str]) -> Result<TaskGraph> {
        Ok(plan(&self.nodes(keys)?))
    }
    /// Graphviz DOT of the tasks `keys` need, one box per task named by its key.
    pub fn to_dot(&self, keys: &[&str]) -> Result<String> {
        Ok(self.plan(keys)?.to_dot())
    }
    /// Validate, then compute the values of `keys` (shared tasks run once).
    pub fn compute(&self, keys: &[&str], opts: &ComputeOptions) -> Result<Vec<AnyValue>> {
        let nodes = self.nodes(keys)?;
        compute_values(&nodes, opts)?
            .into_iter()
            .map(|v| match v {
                Value::State { data, .. } => Ok(data),
                Value::Array(_) | Value::Device(_) => {
                    Err(Error::invalid("a graph task produced an array block"))
                }
            })
            .collect()
    }
}
