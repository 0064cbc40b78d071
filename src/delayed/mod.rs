//! Custom task graphs of Rust closures, on the same planner and schedulers as arrays.
//!
//! A [`Delayed<T>`] is a lazy value: calling a wrapped function on values or other delayed
//! values adds a task to the graph instead of running it, and [`Delayed::compute`] runs the
//! graph (sync or threaded, as for arrays), sharing common subgraphs. Delayed values mix with
//! arrays: [`Array::to_delayed`] gives an array's blocks as delayed ndarrays and
//! [`Array::from_delayed`] assembles an array from delayed blocks. A failing or panicking
//! task stops the compute with an error naming it; tasks that depend on it never run.
//!
//! ```
//! use tessera::delayed::{self, Delayed};
//! let inc = delayed::wrap1("inc", |x: &i64| x + 1);
//! let add = delayed::wrap2("add", |a: &i64, b: &i64| a + b);
//! let a = inc.call(1);
//! let b = inc.call(&a);
//! let c: Delayed<i64> = add.call(&a, &b);
//! assert_eq!(c.compute().unwrap(), 5);
//! ```
//!
//! Values live in the graph as `Arc<T>`: a value read by several tasks is shared, not
//! cloned; [`Delayed::compute`] clones the final one (use [`Delayed::compute_arc`] to avoid
//! that).

mod spec;

use std::any::Any;
use std::marker::PhantomData;
use std::sync::Arc;

use ndarray::ArrayD;

pub use spec::{AnyValue, GraphSpec};

use crate::array::Array;
use crate::core::block::{HostArray, Value};
use crate::core::chunks::Chunks;
use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};
use crate::graph::TaskGraph;
use crate::graph::node::{Node, Op};
use crate::graph::plan::plan;
use crate::ir::kernel::ValueFn;
use crate::runtime::ComputeOptions;

/// A lazy value of type `T`, computed by a task graph.
#[must_use = "delayed values are lazy: call compute() to run them"]
pub struct Delayed<T> {
    node: Arc<Node>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Delayed<T> {
    fn clone(&self) -> Self {
        Delayed { node: self.node.clone(), _t: PhantomData }
    }
}

impl<T> std::fmt::Debug for Delayed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Delayed<{}>({})", std::any::type_name::<T>(), self.node.name)
    }
}

/// Bytes a value of `T` occupies, for memory accounting (its heap parts are not seen).
fn size_of_val<T>() -> usize {
    std::mem::size_of::<T>().max(1)
}

/// Wrap a value as a task result.
pub(crate) fn state<T: Send + Sync + 'static>(v: T) -> Value {
    Value::state(v, size_of_val::<T>())
}

/// A delayed node of `func` over `inputs` (reading block `input_blocks[k]` of input `k`).
pub(crate) fn delayed_node(
    name: &str,
    func: Arc<ValueFn>,
    inputs: Vec<Arc<Node>>,
    input_blocks: Vec<Vec<usize>>,
) -> Arc<Node> {
    Node::new(name, DType::Bool, Chunks::single(&[]), Op::Delayed { func, input_blocks }, inputs)
}

impl<T: Send + Sync + 'static> Delayed<T> {
    pub(crate) fn from_node(node: Arc<Node>) -> Self {
        Delayed { node, _t: PhantomData }
    }
    /// The task's name.
    pub fn name(&self) -> &str {
        &self.node.name
    }
    /// Compute with the default options and return a shared reference to the value.
    pub fn compute_arc(&self) -> Result<Arc<T>> {
        self.compute_arc_with(&ComputeOptions::global())
    }
    /// Compute with the given options and return a shared reference to the value.
    pub fn compute_arc_with(&self, opts: &ComputeOptions) -> Result<Arc<T>> {
        let mut v = compute_values(std::slice::from_ref(&self.node), opts)?;
        downcast::<T>(v.pop().expect("one output"), &self.node.name)
    }
    /// Compute with the default options.
    pub fn compute(&self) -> Result<T>
    where
        T: Clone,
    {
        Ok((*self.compute_arc()?).clone())
    }
    /// Compute with the given options.
    pub fn compute_with(&self, opts: &ComputeOptions) -> Result<T>
    where
        T: Clone,
    {
        Ok((*self.compute_arc_with(opts)?).clone())
    }
    /// The task graph `compute()` would run.
    pub fn plan(&self) -> TaskGraph {
        plan(std::slice::from_ref(&self.node))
    }
    /// The task graph in Graphviz DOT, one box per task named after it.
    pub fn to_dot(&self) -> String {
        self.plan().to_dot()
    }
    /// A new delayed value: `f` applied to this one.
    pub fn map<R: Send + Sync + 'static>(
        &self,
        name: &str,
        f: impl Fn(&T) -> R + Send + Sync + 'static,
    ) -> Delayed<R> {
        wrap1(name, f).call(self)
    }
}

/// Plan several nodes together and return one value per node (arrays: their single block).
pub(crate) fn compute_values(nodes: &[Arc<Node>], opts: &ComputeOptions) -> Result<Vec<Value>> {
    let (outs, _) = crate::compute::run_blocks(nodes, opts)?;
    outs.into_iter()
        .map(|mut blocks| blocks.pop().ok_or_else(|| Error::invalid("output without blocks")))
        .collect()
}

fn downcast<T: Send + Sync + 'static>(v: Value, name: &str) -> Result<Arc<T>> {
    match v {
        Value::State { data, .. } => data.downcast::<T>().map_err(|_| {
            Error::invalid(format!(
                "task {name} holds a value of another type than {}",
                std::any::type_name::<T>()
            ))
        }),
        Value::Array(_) | Value::Device(_) => {
            Err(Error::invalid(format!("task {name} holds an array block, not a value")))
        }
    }
}

/// Compute several delayed values of one type together (common subgraphs run once).
pub fn compute_all<T: Send + Sync + 'static>(
    items: &[&Delayed<T>],
    opts: &ComputeOptions,
) -> Result<Vec<Arc<T>>> {
    let nodes: Vec<Arc<Node>> = items.iter().map(|d| d.node.clone()).collect();
    let vals = compute_values(&nodes, opts)?;
    vals.into_iter().zip(items).map(|(v, d)| downcast::<T>(v, d.name())).collect()
}

/// Any delayed value, whatever its type (for computing values of several types at once).
pub trait AnyDelayed {
    /// The graph node.
    fn delayed_node(&self) -> &Arc<Node>;
}
impl<T: Send + Sync + 'static> AnyDelayed for Delayed<T> {
    fn delayed_node(&self) -> &Arc<Node> {
        &self.node
    }
}

/// Compute delayed values of different types in one graph; downcast each result with
/// `Arc::downcast` or `downcast_ref`.
///
/// ```
/// use tessera::delayed;
/// let n = delayed::value("n", 3usize);
/// let s = n.map("label", |n| format!("{n} items"));
/// let r = delayed::compute_many(&[&n, &s], &Default::default()).unwrap();
/// assert_eq!(r[1].downcast_ref::<String>().unwrap(), "3 items");
/// ```
pub fn compute_many(items: &[&dyn AnyDelayed], opts: &ComputeOptions) -> Result<Vec<AnyValue>> {
    let nodes: Vec<Arc<Node>> = items.iter().map(|d| d.delayed_node().clone()).collect();
    compute_values(&nodes, opts)?
        .into_iter()
        .zip(&nodes)
        .map(|(v, n)| match v {
            Value::State { data, .. } => Ok(data),
            Value::Array(_) | Value::Device(_) => {
                Err(Error::invalid(format!("task {} holds an array block, not a value", n.name)))
            }
        })
        .collect()
}

/// Something usable as the argument of a delayed call: a `Delayed<T>`, a `&Delayed<T>`, or a
/// plain `T` (which becomes a constant task).
pub trait IntoDelayed<T> {
    /// Convert.
    fn into_delayed(self) -> Delayed<T>;
}
impl<T: Send + Sync + 'static> IntoDelayed<T> for Delayed<T> {
    fn into_delayed(self) -> Delayed<T> {
        self
    }
}
impl<T: Send + Sync + 'static> IntoDelayed<T> for &Delayed<T> {
    fn into_delayed(self) -> Delayed<T> {
        self.clone()
    }
}
impl<T: Send + Sync + 'static> IntoDelayed<T> for T {
    fn into_delayed(self) -> Delayed<T> {
        value(std::any::type_name::<T>().rsplit("::").next().unwrap_or("value"), self)
    }
}

/// A constant: a task with no inputs that returns `v` (shared, never cloned by the graph).
pub fn value<T: Send + Sync + 'static>(name: &str, v: T) -> Delayed<T> {
    let data: Arc<dyn Any + Send + Sync> = Arc::new(v);
    let n = size_of_val::<T>();
    let func: Arc<ValueFn> = Arc::new(move |_: &[Value]| Ok(Value::State { data: data.clone(), nbytes: n }));
    Delayed::from_node(delayed_node(name, func, vec![], vec![]))
}

/// Collect delayed values into one delayed `Vec`, in order.
pub fn gather<T: Clone + Send + Sync + 'static>(name: &str, items: &[Delayed<T>]) -> Delayed<Vec<T>> {
    let nodes: Vec<Arc<Node>> = items.iter().map(|d| d.node.clone()).collect();
    let func: Arc<ValueFn> = Arc::new(|inputs: &[Value]| {
        let v: Vec<T> = inputs.iter().map(|x| x.get_state::<T>().cloned()).collect::<Result<_>>()?;
        Ok(state(v))
    });
    let blocks = vec![Vec::new(); nodes.len()];
    Delayed::from_node(delayed_node(name, func, nodes, blocks))
}

macro_rules! wrap_n {
    ($Fn:ident, $wrap:ident, $try_wrap:ident, $($A:ident $a:ident $i:tt),+) => {
        /// A function wrapped so that calling it builds a task.
        pub struct $Fn<$($A,)+ R> {
            name: Arc<str>,
            #[allow(clippy::type_complexity)]
            f: Arc<dyn Fn($(&$A),+) -> Result<R> + Send + Sync>,
        }

        impl<$($A: Send + Sync + 'static,)+ R: Send + Sync + 'static> $Fn<$($A,)+ R> {
            /// Build the task `f(args)`; arguments may be values or delayed values.
            #[allow(clippy::too_many_arguments)]
            pub fn call(&self, $($a: impl IntoDelayed<$A>),+) -> Delayed<R> {
                let inputs = vec![$($a.into_delayed().node.clone()),+];
                let f = self.f.clone();
                let func: Arc<ValueFn> = Arc::new(move |inputs: &[Value]| {
                    let r = f($(inputs[$i].get_state::<$A>()?),+)?;
                    Ok(state(r))
                });
                let blocks = vec![Vec::new(); inputs.len()];
                Delayed::from_node(delayed_node(&self.name, func, inputs, blocks))
            }
        }

        /// Wrap an infallible function of references to its arguments.
        pub fn $wrap<$($A: Send + Sync + 'static,)+ R: Send + Sync + 'static>(
            name: &str,
            f: impl Fn($(&$A),+) -> R + Send + Sync + 'static,
        ) -> $Fn<$($A,)+ R> {
            $Fn { name: name.into(), f: Arc::new(move |$($a: &$A),+| Ok(f($($a),+))) }
        }

        /// Wrap a fallible function: an `Err` fails the compute with an error naming the task.
        pub fn $try_wrap<$($A: Send + Sync + 'static,)+ R: Send + Sync + 'static>(
            name: &str,
            f: impl Fn($(&$A),+) -> Result<R> + Send + Sync + 'static,
        ) -> $Fn<$($A,)+ R> {
            $Fn { name: name.into(), f: Arc::new(f) }
        }
    };
}
wrap_n!(Fn1, wrap1, try_wrap1, A a 0);
wrap_n!(Fn2, wrap2, try_wrap2, A a 0, B b 1);
wrap_n!(Fn3, wrap3, try_wrap3, A a 0, B b 1, C c 2);
wrap_n!(Fn4, wrap4, try_wrap4, A a 0, B b 1, C c 2, D d 3);

impl<T: Element> Array<T> {
    /// The array's blocks as delayed ndarrays, in C order of the block grid
    /// ([`Array::numblocks`] gives its shape). Each block is computed by the array's graph.
    pub fn to_delayed(&self) -> Vec<Delayed<ArrayD<T>>> {
        let grid = self.numblocks();
        (0..self.nblocks())
            .map(|lin| {
                let idx = crate::core::chunks::unravel(lin, &grid);
                let func: Arc<ValueFn> = Arc::new(|inputs: &[Value]| {
                    let a = inputs[0].array()?.typed::<T>()?;
                    Ok(state(a.to_owned()))
                });
                let name = format!("{}-block", self.node().name);
                Delayed::from_node(delayed_node(&name, func, vec![self.node().clone()], vec![idx]))
            })
            .collect()
    }

    /// An array whose blocks are delayed ndarrays (C order of the block grid of `chunks`).
    /// Each block is checked against its declared shape when it is computed.
    pub fn from_delayed(blocks: &[Delayed<ArrayD<T>>], chunks: Chunks) -> Result<Array<T>> {
        if blocks.len() != chunks.nblocks() {
            return Err(Error::InvalidChunks(format!(
                "from_delayed: {} blocks for chunks with {} blocks",
                blocks.len(),
                chunks.nblocks()
            )));
        }
        let conv: Arc<crate::graph::node::ConvertFn> = Arc::new(|v: &Value, shape: &[usize]| {
            let a = v.get_state::<ArrayD<T>>()?;
            if a.shape() != shape {
                return Err(Error::ShapeMismatch {
                    op: "from_delayed: a delayed block's shape differs from the declared chunks".into(),
                    left: a.shape().to_vec(),
                    right: shape.to_vec(),
                });
            }
            Ok(Value::Array(HostArray::new(a.clone().into_shared())))
        });
        let inputs = blocks.iter().map(|b| b.node.clone()).collect();
        Ok(Array::from_node(Node::new("from_delayed", T::DTYPE, chunks, Op::FromDelayed(conv), inputs)))
    }
}
