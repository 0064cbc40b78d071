//! Block storage: the untyped values that flow between tasks.
//!
//! A block on the host is a [`HostArray`]: an `ArcArray` of one of the eleven element types, so a
//! block can be a zero-copy view into a larger in-memory array (slices of an `ArcArray` share
//! its buffer) and cloning a block is a reference-count increment. Reduction partials and other
//! intermediate states travel as [`Value::State`]. Device-resident results (GPU buffers) are
//! [`Value::Device`], owned by the GPU backend and read back to the host on first use; nothing
//! above the backend looks inside a value except through these methods.

use std::any::Any;
use std::sync::Arc;

use ndarray::{ArcArray, ArrayD, IxDyn};

use crate::core::dtype::{DType, Element};
use crate::core::error::{Error, Result};

/// Run `$body` with the type alias `$T` bound to the Rust type of `$dtype`.
#[macro_export]
#[doc(hidden)]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::Bool => {
                type $T = bool;
                $body
            }
            $crate::DType::I8 => {
                type $T = i8;
                $body
            }
            $crate::DType::I16 => {
                type $T = i16;
                $body
            }
            $crate::DType::U8 => {
                type $T = u8;
                $body
            }
            $crate::DType::U16 => {
                type $T = u16;
                $body
            }
            $crate::DType::U32 => {
                type $T = u32;
                $body
            }
            $crate::DType::U64 => {
                type $T = u64;
                $body
            }
            $crate::DType::I32 => {
                type $T = i32;
                $body
            }
            $crate::DType::I64 => {
                type $T = i64;
                $body
            }
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}

/// An n-dimensional block on the host, of any element type.
#[derive(Debug, Clone)]
pub enum HostArray {
    /// `bool` elements.
    Bool(ArcArray<bool, IxDyn>),
    /// `i8` elements.
    I8(ArcArray<i8, IxDyn>),
    /// `i16` elements.
    I16(ArcArray<i16, IxDyn>),
    /// `u8` elements.
    U8(ArcArray<u8, IxDyn>),
    /// `u16` elements.
    U16(ArcArray<u16, IxDyn>),
    /// `u32` elements.
    U32(ArcArray<u32, IxDyn>),
    /// `u64` elements.
    U64(ArcArray<u64, IxDyn>),
    /// `i32` elements.
    I32(ArcArray<i32, IxDyn>),
    /// `i64` elements.
    I64(ArcArray<i64, IxDyn>),
    /// `f32` elements.
    F32(ArcArray<f32, IxDyn>),
    /// `f64` elements.
    F64(ArcArray<f64, IxDyn>),
}

/// Apply one generic expression to whichever array a [`HostArray`] holds.
#[macro_export]
#[doc(hidden)]
macro_rules! map_host {
    ($h:expr, $a:ident => $body:expr) => {
        match $h {
            $crate::HostArray::Bool($a) => $body,
            $crate::HostArray::I8($a) => $body,
            $crate::HostArray::I16($a) => $body,
            $crate::HostArray::U8($a) => $body,
            $crate::HostArray::U16($a) => $body,
            $crate::HostArray::U32($a) => $body,
            $crate::HostArray::U64($a) => $body,
            $crate::HostArray::I32($a) => $body,
            $crate::HostArray::I64($a) => $body,
            $crate::HostArray::F32($a) => $body,
            $crate::HostArray::F64($a) => $body,
        }
    };
}

impl HostArray {
    /// Wrap a typed array.
    pub fn new<T: Element>(a: ArcArray<T, IxDyn>) -> Self {
        T::host(a)
    }
    /// The element type.
    pub fn dtype(&self) -> DType {
        match self {
            HostArray::Bool(_) => DType::Bool,
            HostArray::I8(_) => DType::I8,
            HostArray::I16(_) => DType::I16,
            HostArray::U8(_) => DType::U8,
            HostArray::U16(_) => DType::U16,
            HostArray::U32(_) => DType::U32,
            HostArray::U64(_) => DType::U64,
            HostArray::I32(_) => DType::I32,
            HostArray::I64(_) => DType::I64,
            HostArray::F32(_) => DType::F32,
            HostArray::F64(_) => DType::F64,
        }
    }
    /// The shape.
    pub fn shape(&self) -> &[usize] {
        map_host!(self, a => a.shape())
    }
    /// Bytes held by this block's elements.
    pub fn nbytes(&self) -> usize {
        map_host!(self, a => a.len()) * self.dtype().size()
    }
    /// The typed array, or a dtype error.
    pub fn typed<T: Element>(&self) -> Result<&ArcArray<T, IxDyn>> {
        T::unhost(self).ok_or_else(|| Error::DTypeMismatch {
            context: "block".into(),
            expected: T::DTYPE,
            found: self.dtype(),
        })
    }
    /// Borrow the typed array mutably (an error if the dtype differs).
    pub fn typed_mut<T: Element>(&mut self) -> Result<&mut ArcArray<T, IxDyn>> {
        let found = self.dtype();
        T::unhost_mut(self).ok_or_else(|| Error::DTypeMismatch {
            context: "block".into(),
            expected: T::DTYPE,
            found,
        })
    }
    /// Consume into a typed owned array (copies only if the buffer is shared or strided).
    pub fn into_typed<T: Element>(mut self) -> Result<ArrayD<T>> {
        let a = std::mem::replace(self.typed_mut::<T>()?, ArcArray::from_elem(IxDyn(&[0]), T::zero()));
        Ok(a.into_owned())
    }
    /// A block of `shape` filled with zeros of `dtype`.
    pub fn zeros(dtype: DType, shape: &[usize]) -> Self {
        crate::with_dtype!(dtype, T => HostArray::new(ArcArray::<T, IxDyn>::from_elem(IxDyn(shape), T::zero())))
    }
}

/// Conversions between typed arrays and [`HostArray`], one per element type.
pub trait HostElement: Sized {
    /// Wrap a typed array.
    fn host(a: ArcArray<Self, IxDyn>) -> HostArray;
    /// Borrow the typed array if the dtype matches.
    fn unhost(h: &HostArray) -> Option<&ArcArray<Self, IxDyn>>;
    /// Borrow the typed array mutably if the dtype matches.
    fn unhost_mut(h: &mut HostArray) -> Option<&mut ArcArray<Self, IxDyn>>;
}

macro_rules! host_element {
    ($t:ty, $v:ident) => {
        impl HostElement for $t {
            fn host(a: ArcArray<Self, IxDyn>) -> HostArray {
                HostArray::$v(a)
            }
            fn unhost(h: &HostArray) -> Option<&ArcArray<Self, IxDyn>> {
                match h {
                    HostArray::$v(a) => Some(a),
                    _ => None,
                }
            }
            fn unhost_mut(h: &mut HostArray) -> Option<&mut ArcArray<Self, IxDyn>> {
                match h {
                    HostArray::$v(a) => Some(a),
                    _ => None,
                }
            }
        }
    };
}
host_element!(bool, Bool);
host_element!(i8, I8);
host_element!(i16, I16);
host_element!(u8, U8);
host_element!(u16, U16);
host_element!(u32, U32);
host_element!(u64, U64);
host_element!(i32, I32);
host_element!(i64, I64);
host_element!(f32, F32);
host_element!(f64, F64);

/// A task result held by a device (a GPU buffer), owned by the backend that made it: a block
/// of array data, or reduction states. Other backends read it through
/// [`DeviceBlock::host_value`], which copies it to the host once.
pub trait DeviceBlock: Send + Sync {
    /// The element type (of a reduction's input, for states).
    fn dtype(&self) -> DType;
    /// The shape (of the partial, for states).
    fn shape(&self) -> &[usize];
    /// Bytes it will occupy on the host.
    fn nbytes(&self) -> usize;
    /// The value on the host ([`Value::Array`] or [`Value::State`]): read back on the first
    /// call, then kept.
    fn host_value(&self) -> Result<&Value>;
    /// For the owning backend to recognise its own blocks.
    fn as_any(&self) -> &dyn Any;
}

/// A value produced by a task.
#[derive(Clone)]
pub enum Value {
    /// A block of array data on the host.
    Array(HostArray),
    /// A block of array data or reduction states on a device; [`Value::array`] and
    /// [`Value::get_state`] read it back to the host.
    Device(Arc<dyn DeviceBlock>),
    /// An intermediate state (a reduction partial, a scan carry): opaque to everything but
    /// the kernel that made it. `nbytes` is what it occupies, for memory accounting.
    State {
        /// The state itself.
        data: Arc<dyn Any + Send + Sync>,
        /// Bytes it holds.
        nbytes: usize,
    },
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Array(a) => write!(f, "Array({}, {:?})", a.dtype(), a.shape()),
            Value::Device(d) => write!(f, "Device({}, {:?})", d.dtype(), d.shape()),
            Value::State { nbytes, .. } => write!(f, "State({nbytes} bytes)"),
        }
    }
}

impl Value {
    /// Bytes held by the value.
    pub fn nbytes(&self) -> usize {
        match self {
            Value::Array(a) => a.nbytes(),
            // Counted at full size: it comes to the host when a CPU task reads it.
            Value::Device(d) => d.nbytes(),
            Value::State { nbytes, .. } => *nbytes,
        }
    }
    /// The host array (a device block is read back once), or an error naming what was found
    /// instead.
    pub fn array(&self) -> Result<&HostArray> {
        match self {
            Value::Array(a) => Ok(a),
            Value::Device(d) => d.host_value()?.array(),
            Value::State { .. } => Err(Error::invalid("expected an array block, found a state")),
        }
    }
    /// Wrap a state.
    pub fn state<S: Any + Send + Sync>(s: S, nbytes: usize) -> Self {
        Value::State { data: Arc::new(s), nbytes }
    }
    /// Borrow a state of type `S`.
    pub fn get_state<S: Any + Send + Sync>(&self) -> Result<&S> {
        match self {
            Value::State { data, .. } => data
                .downcast_ref::<S>()
                .ok_or_else(|| Error::invalid("task input holds a state of another type")),
            Value::Device(d) => d.host_value()?.get_state(),
            Value::Array(_) => Err(Error::invalid("expected a state, found an array block")),
        }
    }
}
