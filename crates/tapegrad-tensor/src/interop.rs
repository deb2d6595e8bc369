//! Conversions to and from `ndarray` arrays (feature `ndarray`).

use ndarray::{ArrayD, IxDyn};

use crate::{Result, Scalar, Tensor};

impl<T: Scalar> Tensor<T> {
    /// This tensor as an owned `ndarray` array of the same shape (a copy).
    ///
    /// ```
    /// use tapegrad_tensor::Tensor;
    /// let t = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    /// let a = t.to_ndarray();
    /// assert_eq!(a.shape(), &[2, 3]);
    /// assert_eq!(a[[1, 0]], 4.0);
    /// ```
    pub fn to_ndarray(&self) -> ArrayD<T> {
        ArrayD::from_shape_vec(IxDyn(self.shape()), self.data().to_vec()).expect("a tensor's buffer fills its shape")
    }

    /// A tensor from any `ndarray` array, in logical (row-major) order
    /// whatever the array's memory layout.
    ///
    /// ```
    /// use ndarray::array;
    /// use tapegrad_tensor::Tensor;
    /// let a = array![[1.0f64, 2.0], [3.0, 4.0]];
    /// let t = Tensor::try_from_ndarray(&a.t()).unwrap(); // a transposed view
    /// assert_eq!(t.data(), &[1.0, 3.0, 2.0, 4.0]);
    /// ```
    ///
    /// # Errors
    /// [`crate::TensorError::DataLength`] only if the array's own shape and
    /// element count disagree, and [`crate::TensorError::ShapeOverflow`] only if
    /// the product of its non-zero axes overflows (never, for arrays
    /// built by `ndarray`, which checks the same).
    pub fn try_from_ndarray<S, D>(a: &ndarray::ArrayBase<S, D>) -> Result<Self>
    where
        S: ndarray::Data<Elem = T>,
        D: ndarray::Dimension,
    {
        let data: Vec<T> = a.iter().copied().collect();
        Tensor::try_from_vec(data, a.shape()).map_err(|e| e.in_op("from_ndarray"))
    }
}

/// The array's elements in logical order, under its shape (infallible:
/// an `ndarray` array always fills its shape).
///
/// ```
/// use tapegrad_tensor::Tensor;
/// let t = Tensor::from(ndarray::ArrayD::<f64>::zeros(ndarray::IxDyn(&[2, 3])));
/// assert_eq!(t.shape(), &[2, 3]);
/// ```
impl<T: Scalar> From<ArrayD<T>> for Tensor<T> {
    fn from(a: ArrayD<T>) -> Self {
        Tensor::try_from_ndarray(&a).expect("an ndarray array fills its shape")
    }
}

/// A copy as an `ndarray` array, as [`Tensor::to_ndarray`].
///
/// ```
/// use tapegrad_tensor::Tensor;
/// let a = ndarray::ArrayD::from(&Tensor::<f32>::ones(&[2]));
/// assert_eq!(a.shape(), &[2]);
/// ```
impl<T: Scalar> From<&Tensor<T>> for ArrayD<T> {
    fn from(t: &Tensor<T>) -> Self {
        t.to_ndarray()
    }
}
