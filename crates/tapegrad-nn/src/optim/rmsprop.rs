//! RMSprop.

use tapegrad_tensor::{Scalar, Tensor};

use super::buffers::{Buffers, Spec};
use super::{decay, non_negative, or_panic, Optimizer};
use crate::{Param, ParamGrads, Result};

const OP: &str = "RMSprop";
const BUFFERS: [Spec; 2] = [Spec { name: "square_avg", non_negative: true }, Spec { name: "momentum", non_negative: false }];

/// RMSprop with PyTorch's rule (`alpha` 0.99, `eps` 1e-8 outside the
/// square root, optional momentum and L2 weight decay).
///
/// Hyperparameters are checked when built: `lr`, `eps`, `momentum` and
/// `weight_decay` finite and `>= 0` (PyTorch's ranges); `alpha` in
/// `[0, 1)`, narrower than PyTorch's `>= 0`: at 1 the average never moves
/// from 0 and every step is `g / eps`, above 1 it can turn negative and the
/// square root NaN.
///
/// ```
/// use tapegrad_nn::{Optimizer, RmsProp};
/// assert_eq!(RmsProp::<f64>::new(0.01).lr(), 0.01);
/// assert!(RmsProp::<f64>::new(0.01).try_with_alpha(1.0).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct RmsProp<T: Scalar> {
    lr: f64,
    alpha: f64,
    eps: f64,
    momentum: f64,
    weight_decay: f64,
    buf: Buffers<T>,
}

impl<T: Scalar> RmsProp<T> {
    /// RMSprop with PyTorch's defaults.
    ///
    /// ```
    /// let opt = tapegrad_nn::RmsProp::<f32>::try_new(0.01).unwrap();
    /// assert_eq!((opt.alpha(), opt.eps(), opt.momentum()), (0.99, 1e-8, 0.0));
    /// ```
    ///
    /// # Errors
    /// [`crate::NnError::Hyperparameter`] unless `lr` is finite and `>= 0`.
    pub fn try_new(lr: f64) -> Result<Self> {
        Ok(RmsProp { lr: non_negative(OP, "lr", lr)?, alpha: 0.99, eps: 1e-8, momentum: 0.0, weight_decay: 0.0, buf: Buffers::default() })
    }
    /// Panicking form of [`RmsProp::try_new`].
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::RmsProp::<f32>::new(0.01).weight_decay(), 0.0);
    /// ```
    ///
    /// # Panics
    /// With the [`crate::NnError::Hyperparameter`] message.
    #[track_caller]
    pub fn new(lr: f64) -> Self {
        or_panic(Self::try_new(lr))
    }
    /// With momentum.
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::RmsProp::<f32>::new(0.01).try_with_momentum(0.5).unwrap().momentum(), 0.5);
    /// ```
    ///
    /// # Errors
    /// [`crate::NnError::Hyperparameter`] unless `momentum` is finite and `>= 0`.
    pub fn try_with_momentum(mut self, momentum: f64) -> Result<Self> {
        self.momentum = non_negative(OP, "momentum", momentum)?;
        Ok(self)
    }
    /// Panicking form of [`RmsProp::try_with_momentum`].
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::RmsProp::<f32>::new(0.01).with_momentum(0.5).momentum(), 0.5);
    /// ```
    ///
    /// # Panics
    /// With the [`crate::NnError::Hyperparameter`] message.
    #[track_caller]
    pub fn with_momentum(self, momentum: f64) -> Self {
        or_panic(self.try_with_momentum(momentum))
    }
    /// Sets the decay of the squared-gradient average.
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::RmsProp::<f32>::new(0.01).try_with_alpha(0.9).unwrap().alpha(), 0.9);
    /// ```
    ///
    /// # Errors
    /// [`crate::NnError::Hyperparameter`] unless `alpha` is in `[0, 1)`.
    pub fn try_with_alpha(mut self, alpha: f64) -> Result<Self> {
        self.alpha = decay(OP, "alpha", alpha)?;
        Ok(self)
    }
    /// Panicking form of [`RmsProp::try_with_alpha`].
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::RmsProp::<f32>::new(0.01).with_alpha(0.9).alpha(), 0.9);
    /// ```
    ///
    /// # Panics
    /// With the [`crate::NnError::Hyperparameter`] message.
    #[track_caller]
    pub fn with_alpha(self, alpha: f64) -> Self {
        or_panic(self.try_with_alpha(alpha))
    }
    /// Sets the term added to the denominator.
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::RmsProp::<f32>::new(0.01).try_with_eps(1e-6).unwrap().eps(), 1e-6);
    /// ```
    ///
    /// # Errors
    /// [`crate::NnError::Hyperparameter`] unless `eps` is finite and `>= 0`.
    pub fn try_with_eps(mut self, eps: f64) -> Result<Self> {
        self.eps = non_negative(OP, "eps", eps)?;
        Ok(self)
    }
    /// Panicking form of [`RmsProp::try_with_eps`].
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::RmsProp::<f32>::new(0.01).with_eps(1e-6).eps(), 1e-6);
    /// ```
    ///
    /// # Panics
    /// With the [`crate::NnError::Hyperparameter`] message.
    #[track_caller]
    pub fn with_eps(self, eps: f64) -> Self {
        or_panic(self.try_with_eps(eps))
    }
    /// With L2 weight decay (added to the gradient).
    ///
    /// ```
    /// assert!(tapegrad_nn::RmsProp::<f32>::new(0.01).try_with_weight_decay(-0.1).is_err());
    /// ```
    ///
    /// # Errors
    /// [`crate::NnError::Hyperparameter`] unless `wd` is finite and `>= 0`.
    pub fn try_with_weight_decay(mut self, wd: f64) -> Result<Self> {
        self.weight_decay = non_negative(OP, "weight_decay", wd)?;
        Ok(self)
    }
    /// Panicking form of [`RmsProp::try_with_weight_decay`].
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::RmsProp::<f32>::new(0.01).with_weight_decay(0.1).weight_decay(), 0.1);
    /// ```
    ///
    /// # Panics
    /// With the [`crate::NnError::Hyperparameter`] message.
    #[track_caller]
    pub fn with_weight_decay(self, wd: f64) -> Self {
        or_panic(self.try_with_weight_decay(wd))
    }
    /// The decay of the squared-gradient average.
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::RmsProp::<f64>::new(0.01).alpha(), 0.99);
    /// ```
    pub fn alpha(&self) -> f64 {
        self.alpha
    }
    /// The term added to the denominator.
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::RmsProp::<f64>::new(0.01).eps(), 1e-8);
    /// ```
    pub fn eps(&self) -> f64 {
        self.eps
    }
    /// The momentum factor (0: none).
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::RmsProp::<f64>::new(0.01).momentum(), 0.0);
    /// ```
    pub fn momentum(&self) -> f64 {
        self.momentum
    }
    /// The L2 weight decay.
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::RmsProp::<f64>::new(0.01).weight_decay(), 0.0);
    /// ```
    pub fn weight_decay(&self) -> f64 {
        self.weight_decay
    }
}

impl<T: Scalar> Optimizer<T> for RmsProp<T> {
    fn step(&mut self, params: Vec<(String, &mut Param<T>)>, grads: &ParamGrads<T>) -> Result<()> {
        let f = T::from_f64_lossy;
        let (lr, a, eps, mu, wd) = (f(self.lr), f(self.alpha), f(self.eps), f(self.momentum), f(self.weight_decay));
        let with_momentum = self.momentum != 0.0;
        self.buf.step(OP, &BUFFERS, params, grads, |_, w, g, bufs| {
            let (sq, mb) = bufs.split_at_mut(1);
            for (((wi, &gi), si), bi) in w.iter_mut().zip(g).zip(sq[0].data_mut()).zip(mb[0].data_mut()) {
                let gi = gi + wd * *wi;
                *si = a * *si + (T::one() - a) * gi * gi;
                let step = gi / (si.sqrt() + eps);
                if with_momentum {
                    *bi = mu * *bi + step;
                    *wi = *wi - lr * *bi;
                } else {
                    *wi = *wi - lr * step;
                }
            }
        })
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn try_set_lr(&mut self, lr: f64) -> Result<()> {
        self.lr = non_negative(OP, "lr", lr)?;
        Ok(())
    }
    fn state(&self) -> Vec<(String, Tensor<T>)> {
        self.buf.state("rmsprop", &BUFFERS)
    }
    fn load_state(&mut self, params: &[(String, &Param<T>)], state: &[(String, Tensor<T>)]) -> Result<()> {
        self.buf.load(OP, "rmsprop", &BUFFERS, params, state)
    }
}
