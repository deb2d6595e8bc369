//! The tensor type: constructors and accessors.

use std::fmt;
use std::sync::Arc;

use crate::engine::Buffer;
use crate::error::or_panic;
use crate::layout::{self, Shape};
use crate::size::{self, checked_numel};
use crate::{Result, Scalar, TensorError};

/// An n-dimensional array of `T` in contiguous row-major order.
///
/// Cloning is cheap: the buffer is shared (`Arc`) and copied only when a
/// shared buffer is written through [`Tensor::data_mut`]. A reshape, and a
/// narrow to a contiguous block (of leading-axis rows), share the buffer
/// too: the tensor is then a window of it, which keeps all of it alive. Every operation
/// returns a new tensor; none mutates its inputs.
///
/// ```
/// use tapegrad_tensor::Tensor;
/// let a = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
/// let b = Tensor::full(&[2], 10.0f32);
/// let c = &a + &b; // broadcasts b across rows
/// assert_eq!(c.data(), &[11.0, 12.0, 13.0, 14.0]);
/// assert_eq!((-(&a * 2.0)).data(), &[-2.0, -4.0, -6.0, -8.0]); // scalar operands cannot fail
/// assert!(a.try_add(&Tensor::ones(&[3])).is_err()); // `&a + &Tensor::ones(&[3])` would panic
/// ```
#[derive(Clone)]
pub struct Tensor<T: Scalar> {
    data: Arc<Buffer<T>>,
    /// Where this tensor's elements start in `data` (they are contiguous).
    offset: usize,
    shape: Shape,
}

impl<T: Scalar> PartialEq for Tensor<T> {
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape && self.data() == other.data()
    }
}

impl<T: Scalar> Tensor<T> {
    /// Wraps `data` (row-major) as a tensor of shape `shape`.
    ///
    /// ```
    /// use tapegrad_tensor::{Tensor, TensorError};
    /// assert_eq!(Tensor::try_from_vec(vec![1.0f64; 6], &[2, 3]).unwrap().shape(), &[2, 3]);
    /// assert!(matches!(Tensor::<f64>::try_from_vec(vec![], &[1 << 32, 1 << 32]), Err(TensorError::ShapeOverflow { .. })));
    /// ```
    ///
    /// # Errors
    /// [`TensorError::ShapeOverflow`] if the shape's element count
    /// overflows; [`TensorError::DataLength`] if `data.len()` is not it.
    pub fn try_from_vec(data: Vec<T>, shape: &[usize]) -> Result<Self> {
        let n = checked_numel("from_vec", shape)?;
        if data.len() != n {
            return Err(TensorError::DataLength { op: "from_vec", len: data.len(), shape: layout::shape(shape) });
        }
        Ok(Tensor { data: Arc::new(Buffer::new(data)), offset: 0, shape: layout::shape(shape) })
    }

    /// Panicking form of [`Tensor::try_from_vec`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::from_vec(vec![1.0f64; 6], &[2, 3]);
    /// assert_eq!(t.shape(), &[2, 3]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_from_vec`] returns.
    #[track_caller]
    pub fn from_vec(data: Vec<T>, shape: &[usize]) -> Self {
        or_panic(Self::try_from_vec(data, shape))
    }

    /// Internal constructor for buffers whose length is known to match a
    /// valid shape.
    pub(crate) fn from_parts(data: Vec<T>, shape: Shape) -> Self {
        debug_assert_eq!(Ok(data.len()), checked_numel("from_parts", &shape));
        Tensor { data: Arc::new(Buffer::new(data)), offset: 0, shape }
    }

    /// The same buffer under another shape of the same size.
    pub(crate) fn with_shape(&self, shape: Shape) -> Self {
        debug_assert_eq!(Ok(self.numel()), checked_numel("with_shape", &shape));
        Tensor { data: Arc::clone(&self.data), offset: self.offset, shape }
    }

    /// The `shape`d block of this tensor's elements starting `start`
    /// elements in, sharing the buffer.
    pub(crate) fn window(&self, start: usize, shape: Shape) -> Self {
        debug_assert!(start + shape.iter().product::<usize>() <= self.numel());
        Tensor { data: Arc::clone(&self.data), offset: self.offset + start, shape }
    }

    /// A tensor of `shape` filled with `value` (`op` names the constructor).
    fn try_filled(op: &'static str, shape: &[usize], value: T) -> Result<Self> {
        Ok(Self::from_parts(size::filled(op, shape, value)?, layout::shape(shape)))
    }

    /// A tensor of `shape` filled with `value`.
    ///
    /// ```
    /// use tapegrad_tensor::{Tensor, TensorError};
    /// assert_eq!(Tensor::try_full(&[2, 2], 7.0f32).unwrap().data(), &[7.0; 4]);
    /// assert!(matches!(Tensor::try_full(&[1 << 62], 0.0f32), Err(TensorError::TooLarge { .. })));
    /// ```
    ///
    /// # Errors
    /// [`TensorError::ShapeOverflow`] if the shape's element count
    /// overflows; [`TensorError::TooLarge`] if its buffer cannot be
    /// allocated.
    pub fn try_full(shape: &[usize], value: T) -> Result<Self> {
        Self::try_filled("full", shape, value)
    }
    /// Panicking form of [`Tensor::try_full`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::full(&[2, 2], 7.0f32);
    /// assert_eq!(t.data(), &[7.0; 4]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_full`] returns.
    #[track_caller]
    pub fn full(shape: &[usize], value: T) -> Self {
        or_panic(Self::try_full(shape, value))
    }

    /// A tensor of shape `shape` filled with zeros.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::try_zeros(&[3]).unwrap().sum_all(), 0.0);
    /// assert!(Tensor::<f64>::try_zeros(&[1 << 32, 1 << 32]).is_err());
    /// ```
    ///
    /// # Errors
    /// As [`Tensor::try_full`], naming `zeros`.
    pub fn try_zeros(shape: &[usize]) -> Result<Self> {
        Self::try_filled("zeros", shape, T::zero())
    }
    /// Panicking form of [`Tensor::try_zeros`].
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::<f64>::zeros(&[3]).sum_all(), 0.0);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_zeros`] returns.
    #[track_caller]
    pub fn zeros(shape: &[usize]) -> Self {
        or_panic(Self::try_zeros(shape))
    }

    /// A tensor of shape `shape` filled with ones.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::try_ones(&[2, 3]).unwrap().sum_all(), 6.0);
    /// ```
    ///
    /// # Errors
    /// As [`Tensor::try_full`], naming `ones`.
    pub fn try_ones(shape: &[usize]) -> Result<Self> {
        Self::try_filled("ones", shape, T::one())
    }
    /// Panicking form of [`Tensor::try_ones`].
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::<f64>::ones(&[2, 3]).sum_all(), 6.0);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_ones`] returns.
    #[track_caller]
    pub fn ones(shape: &[usize]) -> Self {
        or_panic(Self::try_ones(shape))
    }

    /// A rank-0 tensor holding `value`.
    ///
    /// ```
    /// let s = tapegrad_tensor::Tensor::scalar(2.5f64);
    /// assert_eq!((s.shape().len(), s.item()), (0, 2.5));
    /// ```
    pub fn scalar(value: T) -> Self {
        Self::from_parts(vec![value], Shape::new())
    }

    /// The `n`×`n` identity matrix.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// assert_eq!(Tensor::<f32>::try_eye(2).unwrap().data(), &[1.0, 0.0, 0.0, 1.0]);
    /// assert!(Tensor::<f32>::try_eye(1 << 32).is_err());
    /// ```
    ///
    /// # Errors
    /// As [`Tensor::try_full`] for shape `[n, n]`, naming `eye`.
    pub fn try_eye(n: usize) -> Result<Self> {
        let mut d = size::filled("eye", &[n, n], T::zero())?;
        for i in 0..n {
            d[i * n + i] = T::one();
        }
        Ok(Self::from_parts(d, layout::shape(&[n, n])))
    }
    /// Panicking form of [`Tensor::try_eye`].
    ///
    /// ```
    /// let i = tapegrad_tensor::Tensor::<f32>::eye(2);
    /// assert_eq!(i.data(), &[1.0, 0.0, 0.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_eye`] returns.
    #[track_caller]
    pub fn eye(n: usize) -> Self {
        or_panic(Self::try_eye(n))
    }

    /// `[0, 1, ..., n-1]` as a 1-D tensor of shape `[n]` (in `f32`, integers
    /// past 2²⁴ round to the nearest representable value).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::try_arange(3).unwrap().data(), &[0.0, 1.0, 2.0]);
    /// ```
    ///
    /// # Errors
    /// [`TensorError::TooLarge`] naming `arange` if the buffer cannot be
    /// allocated.
    pub fn try_arange(n: usize) -> Result<Self> {
        let mut d = size::alloc("arange", &[n])?;
        d.extend((0..n).map(|i| T::from_usize(i).unwrap_or_else(T::nan)));
        Ok(Self::from_parts(d, layout::shape(&[n])))
    }
    /// Panicking form of [`Tensor::try_arange`].
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::<f64>::arange(3).data(), &[0.0, 1.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_arange`] returns.
    #[track_caller]
    pub fn arange(n: usize) -> Self {
        or_panic(Self::try_arange(n))
    }

    /// The size of each axis, outermost first (`[]` for a scalar).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::zeros(&[2, 3]).shape(), &[2, 3]);
    /// assert_eq!(Tensor::scalar(1.0f64).shape(), &[] as &[usize]);
    /// ```
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of axes (0 for a scalar).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::zeros(&[2, 3, 4]).ndim(), 3);
    /// assert_eq!(Tensor::scalar(1.0f64).ndim(), 0);
    /// ```
    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// The number of elements: the product of the shape (1 for a scalar, 0
    /// if any axis is 0).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// assert_eq!(Tensor::<f64>::zeros(&[2, 3]).numel(), 6);
    /// assert_eq!(Tensor::<f64>::zeros(&[2, 0, 3]).numel(), 0);
    /// ```
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// The elements in row-major order (the last axis varies fastest).
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::<f64>::arange(6).reshape(&[2, 3]);
    /// assert_eq!(t.data(), &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    /// assert_eq!(t.narrow(0, 1, 1).data(), &[3.0, 4.0, 5.0]);
    /// ```
    pub fn data(&self) -> &[T] {
        &self.data[self.offset..self.offset + self.numel()]
    }

    /// Mutable access to the elements; copies the buffer first if it is
    /// shared with another tensor (copy-on-write).
    ///
    /// ```
    /// let a = tapegrad_tensor::Tensor::from_vec(vec![1.0f32, 2.0], &[2]);
    /// let mut b = a.clone();
    /// b.data_mut()[0] = 5.0;
    /// assert_eq!((a.data()[0], b.data()[0]), (1.0, 5.0));
    /// ```
    pub fn data_mut(&mut self) -> &mut [T] {
        let n = self.numel();
        if self.offset != 0 || self.data.len() != n {
            // A window: its elements move to a buffer of their own.
            let mut v = crate::engine::alloc(n);
            v.extend_from_slice(self.data());
            *self = Tensor::from_parts(v, std::mem::take(&mut self.shape));
        }
        let buffer: &mut Buffer<T> = Arc::make_mut(&mut self.data);
        buffer
    }

    /// The elements as an owned vector in row-major order (copied only if
    /// the buffer is shared or this tensor is a window of it).
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::from_vec(vec![1.0f32, 2.0, 3.0], &[3]);
    /// assert_eq!(t.into_vec(), vec![1.0, 2.0, 3.0]);
    /// ```
    pub fn into_vec(self) -> Vec<T> {
        if self.offset != 0 || self.data.len() != self.numel() {
            return self.data().to_vec();
        }
        Arc::try_unwrap(self.data).map_or_else(|a| a.to_vec(), Buffer::into_vec)
    }

    /// The shared buffer itself (for the cache of packed GEMM operands;
    /// the elements start at its beginning only if this is not a window).
    pub(crate) fn buffer(&self) -> &Arc<Buffer<T>> {
        &self.data
    }

    /// Whether two tensors share one buffer (a cheap clone, a reshape, or a
    /// narrow to a contiguous block).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::<f64>::zeros(&[2, 3]);
    /// assert!(a.reshape(&[6]).shares_buffer(&a));
    /// assert!(!a.transpose(0, 1).shares_buffer(&a)); // a copy
    /// ```
    pub fn shares_buffer(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.data, &other.data)
    }

    /// The element at a multi-index (one index per axis; `&[]` for a
    /// scalar).
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], &[2, 2]);
    /// assert_eq!(t.try_get(&[1, 0]).unwrap(), 3.0);
    /// assert!(t.try_get(&[2, 0]).is_err());
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Rank`] for an index of the wrong length,
    /// [`TensorError::Index`] for an index past an axis.
    pub fn try_get(&self, index: &[usize]) -> Result<T> {
        if index.len() != self.ndim() {
            return Err(TensorError::Rank { op: "get", shape: self.shape.clone(), expected: "equal to the index length" });
        }
        let st = layout::strides(&self.shape);
        let mut off = 0;
        for (axis, (&i, &n)) in index.iter().zip(self.shape.iter()).enumerate() {
            if i >= n {
                return Err(TensorError::Index { op: "get", index: i, axis, size: n, shape: self.shape.clone() });
            }
            off += i * st[axis];
        }
        Ok(self.data()[off])
    }

    /// Panicking form of [`Tensor::try_get`].
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::<f64>::arange(6).reshape(&[2, 3]);
    /// assert_eq!(t.get(&[1, 2]), 5.0);
    /// ```
    ///
    /// # Panics
    /// With the message of the error [`Tensor::try_get`] returns.
    #[track_caller]
    pub fn get(&self, index: &[usize]) -> T {
        or_panic(self.try_get(index))
    }

    /// The single value of a one-element tensor.
    ///
    /// ```
    /// assert_eq!(tapegrad_tensor::Tensor::from_vec(vec![3.0f64], &[1, 1]).item(), 3.0);
    /// ```
    ///
    /// # Panics
    /// If the tensor does not hold exactly one element (see [`Tensor::try_item`]).
    #[track_caller]
    pub fn item(&self) -> T {
        or_panic(self.try_item())
    }

    /// The single value of a one-element tensor (of any rank).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// assert_eq!(Tensor::scalar(2.0f64).try_item().unwrap(), 2.0);
    /// assert_eq!(Tensor::<f64>::zeros(&[2]).try_item().unwrap_err().to_string(),
    ///     "item: shape [2] does not hold exactly one element");
    /// ```
    ///
    /// # Errors
    /// [`TensorError::Invalid`] naming the shape when `numel() != 1`.
    pub fn try_item(&self) -> Result<T> {
        if self.numel() == 1 {
            Ok(self.data()[0])
        } else {
            Err(TensorError::Invalid { op: "item", message: format!("shape {:?} does not hold exactly one element", self.shape) })
        }
    }

    /// Applies `f` to every element; the result has the same shape (`f`
    /// is `Sync`: a long tensor is computed in bands on several threads).
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::from_vec(vec![1.0f32, -2.0], &[2]);
    /// assert_eq!(t.map(|v| v * 2.0).data(), &[2.0, -4.0]);
    /// ```
    pub fn map(&self, f: impl Fn(T) -> T + Sync) -> Self {
        Self::from_parts(crate::engine::map(self.data(), f), self.shape.clone())
    }

    /// Converts every element to another float type (`f64` to `f32` rounds
    /// to nearest, and values past `f32::MAX` become ±inf); the result has
    /// the same shape.
    ///
    /// ```
    /// let t = tapegrad_tensor::Tensor::from_vec(vec![0.5f32], &[1]);
    /// assert_eq!(t.cast::<f64>().data(), &[0.5f64]);
    /// ```
    pub fn cast<U: Scalar>(&self) -> Tensor<U> {
        let mut out = crate::engine::alloc(self.numel());
        out.extend(self.data().iter().map(|v| U::from_f64_lossy(v.to_f64_lossless())));
        Tensor::from_parts(out, self.shape.clone())
    }

    /// Whether every element is finite (no NaN or infinity); `true` for an
    /// empty tensor.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// assert!(Tensor::from_vec(vec![1.0f64, -2.0], &[2]).all_finite());
    /// assert!(!Tensor::from_vec(vec![1.0f64, f64::NAN], &[2]).all_finite());
    /// ```
    pub fn all_finite(&self) -> bool {
        self.data().iter().all(|v| v.is_finite())
    }

    /// Largest absolute difference to `other` (same shape), or `None` if
    /// the shapes differ; NaN if any difference is NaN. Handy in tests.
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let a = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
    /// let b = Tensor::from_vec(vec![1.5f64, 2.0], &[2]);
    /// assert_eq!(a.max_abs_diff(&b), Some(0.5));
    /// ```
    pub fn max_abs_diff(&self, other: &Self) -> Option<T> {
        if self.shape != other.shape {
            return None;
        }
        Some(self.data().iter().zip(other.data().iter()).fold(T::zero(), |m, (&a, &b)| {
            let d = (a - b).abs();
            if d > m || d.is_nan() {
                d
            } else {
                m
            }
        }))
    }
}

impl<T: Scalar> fmt::Debug for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tensor<{}>{:?} ", T::NAME, self.shape.as_slice())?;
        const SHOW: usize = 16;
        let d = self.data();
        if d.len() <= SHOW {
            write!(f, "{:?}", d)
        } else {
            write!(f, "{:?} ... ({} values)", &d[..SHOW], d.len())
        }
    }
}

impl<T: Scalar> fmt::Display for Tensor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}
