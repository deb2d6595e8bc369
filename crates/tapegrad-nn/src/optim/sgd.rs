//! Stochastic gradient descent.

use tapegrad_tensor::{Scalar, Tensor};

use super::buffers::{Buffers, Spec};
use super::{check, non_negative, or_panic, Optimizer};
use crate::{Param, ParamGrads, Result};

const OP: &str = "SGD";
const MOMENTUM: [Spec; 1] = [Spec { name: "momentum", non_negative: false }];

/// Stochastic gradient descent with optional momentum (PyTorch's rule,
/// dampening 0), Nesterov momentum, and L2 weight decay.
///
/// ```
/// use tapegrad_nn::{Optimizer, Param, ParamGrads, Sgd};
/// use tapegrad_tensor::Tensor;
/// let mut opt = Sgd::new(0.1).with_momentum(0.9, true);
/// let mut p = Param::new(Tensor::<f64>::scalar(1.0));
/// opt.step(vec![("p".into(), &mut p)], &ParamGrads::default()).unwrap(); // no grad: untouched
/// assert_eq!(p.value().item(), 1.0);
/// assert!(Sgd::<f64>::try_new(-0.1).is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Sgd<T: Scalar> {
    lr: f64,
    momentum: f64,
    nesterov: bool,
    weight_decay: f64,
    buf: Buffers<T>,
}

impl<T: Scalar> Sgd<T> {
    /// Plain SGD with learning rate `lr`.
    ///
    /// ```
    /// use tapegrad_nn::{NnError, Optimizer, Sgd};
    /// assert_eq!(Sgd::<f32>::try_new(0.1).unwrap().lr(), 0.1);
    /// assert!(matches!(Sgd::<f32>::try_new(f64::NAN), Err(NnError::Hyperparameter { name: "lr", .. })));
    /// ```
    ///
    /// # Errors
    /// [`crate::NnError::Hyperparameter`] unless `lr` is finite and `>= 0`.
    pub fn try_new(lr: f64) -> Result<Self> {
        Ok(Sgd { lr: non_negative(OP, "lr", lr)?, momentum: 0.0, nesterov: false, weight_decay: 0.0, buf: Buffers::default() })
    }
    /// Panicking form of [`Sgd::try_new`].
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::Sgd::<f32>::new(0.1).momentum(), 0.0);
    /// ```
    ///
    /// # Panics
    /// With the [`crate::NnError::Hyperparameter`] message.
    #[track_caller]
    pub fn new(lr: f64) -> Self {
        or_panic(Self::try_new(lr))
    }
    /// With momentum (and Nesterov's form if asked), as PyTorch's
    /// `momentum`, `nesterov` (dampening 0).
    ///
    /// ```
    /// use tapegrad_nn::Sgd;
    /// let opt = Sgd::<f32>::new(0.1).try_with_momentum(0.9, true).unwrap();
    /// assert_eq!((opt.momentum(), opt.nesterov()), (0.9, true));
    /// assert!(Sgd::<f32>::new(0.1).try_with_momentum(0.0, true).is_err()); // Nesterov needs momentum
    /// ```
    ///
    /// # Errors
    /// [`crate::NnError::Hyperparameter`] unless `momentum` is finite and
    /// `>= 0`, and `> 0` with Nesterov momentum (PyTorch's ranges).
    pub fn try_with_momentum(mut self, momentum: f64, nesterov: bool) -> Result<Self> {
        self.momentum = non_negative(OP, "momentum", momentum)?;
        if nesterov {
            check(OP, "momentum", momentum, momentum > 0.0, "a number > 0 with Nesterov momentum")?;
        }
        self.nesterov = nesterov;
        Ok(self)
    }
    /// Panicking form of [`Sgd::try_with_momentum`].
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::Sgd::<f32>::new(0.1).with_momentum(0.5, false).momentum(), 0.5);
    /// ```
    ///
    /// # Panics
    /// With the [`crate::NnError::Hyperparameter`] message.
    #[track_caller]
    pub fn with_momentum(self, momentum: f64, nesterov: bool) -> Self {
        or_panic(self.try_with_momentum(momentum, nesterov))
    }
    /// With L2 weight decay (added to the gradient).
    ///
    /// ```
    /// assert!(tapegrad_nn::Sgd::<f32>::new(0.1).try_with_weight_decay(-1.0).is_err());
    /// ```
    ///
    /// # Errors
    /// [`crate::NnError::Hyperparameter`] unless `wd` is finite and `>= 0`.
    pub fn try_with_weight_decay(mut self, wd: f64) -> Result<Self> {
        self.weight_decay = non_negative(OP, "weight_decay", wd)?;
        Ok(self)
    }
    /// Panicking form of [`Sgd::try_with_weight_decay`].
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::Sgd::<f32>::new(0.1).with_weight_decay(0.01).weight_decay(), 0.01);
    /// ```
    ///
    /// # Panics
    /// With the [`crate::NnError::Hyperparameter`] message.
    #[track_caller]
    pub fn with_weight_decay(self, wd: f64) -> Self {
        or_panic(self.try_with_weight_decay(wd))
    }
    /// The momentum factor (0: none).
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::Sgd::<f64>::new(0.1).momentum(), 0.0);
    /// ```
    pub fn momentum(&self) -> f64 {
        self.momentum
    }
    /// Whether the momentum is Nesterov's.
    ///
    /// ```
    /// assert!(!tapegrad_nn::Sgd::<f64>::new(0.1).nesterov());
    /// ```
    pub fn nesterov(&self) -> bool {
        self.nesterov
    }
    /// The L2 weight decay.
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::Sgd::<f64>::new(0.1).weight_decay(), 0.0);
    /// ```
    pub fn weight_decay(&self) -> f64 {
        self.weight_decay
    }
    fn specs(&self) -> &'static [Spec] {
        if self.momentum != 0.0 {
            &MOMENTUM
        } else {
            &[]
        }
    }
}

impl<T: Scalar> Optimizer<T> for Sgd<T> {
    fn step(&mut self, params: Vec<(String, &mut Param<T>)>, grads: &ParamGrads<T>) -> Result<()> {
        let (lr, mu, wd) = (T::from_f64_lossy(self.lr), T::from_f64_lossy(self.momentum), T::from_f64_lossy(self.weight_decay));
        let nesterov = self.nesterov;
        let specs = self.specs();
        self.buf.step(OP, specs, params, grads, |_, w, g, bufs| match bufs.first_mut() {
            None => w.iter_mut().zip(g).for_each(|(wi, &gi)| *wi = *wi - lr * (gi + wd * *wi)),
            // buf = μ·buf + d (buf starts at 0, so the first step's is d);
            // step along d + μ·buf (Nesterov) or buf.
            Some(b) => {
                for ((wi, &gi), bi) in w.iter_mut().zip(g).zip(b.data_mut()) {
                    let d = gi + wd * *wi;
                    *bi = mu * *bi + d;
                    *wi = *wi - lr * if nesterov { d + mu * *bi } else { *bi };
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
        self.buf.state("sgd", self.specs())
    }
    fn load_state(&mut self, params: &[(String, &Param<T>)], state: &[(String, Tensor<T>)]) -> Result<()> {
        self.buf.load(OP, "sgd", self.specs(), params, state)
    }
}
