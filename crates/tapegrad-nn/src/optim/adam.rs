//! Adam and AdamW.

use tapegrad_tensor::{Scalar, Tensor};

use super::buffers::{Buffers, Spec};
use super::{decay, non_negative, or_panic, Optimizer};
use crate::{Param, ParamGrads, Result};

const MOMENTS: [Spec; 2] = [Spec { name: "m", non_negative: false }, Spec { name: "v", non_negative: true }];

/// Adam (Kingma & Ba) with PyTorch's bias correction, and either L2 weight
/// decay added to the gradient ([`Adam::new`]) or decoupled decay
/// ([`Adam::adamw`]).
///
/// Hyperparameters have PyTorch's ranges, checked when built: `lr`, `eps`
/// and `weight_decay` finite and `>= 0`, both betas in `[0, 1)`.
///
/// ```
/// use tapegrad_nn::{Adam, Optimizer};
/// let opt = Adam::<f32>::new(1e-3);
/// assert_eq!((opt.betas(), opt.eps()), ((0.9, 0.999), 1e-8));
/// assert_eq!(opt.state().len(), 1); // just the step count before any step
/// assert!(Adam::<f32>::new(1e-3).try_with_betas(1.0, 0.999).is_err()); // as PyTorch
/// ```
#[derive(Debug, Clone)]
pub struct Adam<T: Scalar> {
    lr: f64,
    betas: (f64, f64),
    eps: f64,
    weight_decay: f64,
    decoupled: bool,
    buf: Buffers<T>,
}

impl<T: Scalar> Adam<T> {
    /// Adam with PyTorch's defaults (betas 0.9, 0.999; eps 1e-8; no decay).
    ///
    /// ```
    /// use tapegrad_nn::{Adam, NnError};
    /// assert!(Adam::<f32>::try_new(3e-4).is_ok());
    /// let e = Adam::<f32>::try_new(-1.0).unwrap_err();
    /// assert_eq!(e.to_string(), "Adam: lr = -1 is invalid: expected a finite number >= 0");
    /// ```
    ///
    /// # Errors
    /// [`crate::NnError::Hyperparameter`] unless `lr` is finite and `>= 0`.
    pub fn try_new(lr: f64) -> Result<Self> {
        Ok(Adam {
            lr: non_negative("Adam", "lr", lr)?,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            buf: Buffers::default(),
        })
    }
    /// Panicking form of [`Adam::try_new`].
    ///
    /// ```
    /// assert!(!tapegrad_nn::Adam::<f32>::new(1e-3).decoupled());
    /// ```
    ///
    /// # Panics
    /// With the [`crate::NnError::Hyperparameter`] message.
    #[track_caller]
    pub fn new(lr: f64) -> Self {
        or_panic(Self::try_new(lr))
    }
    /// AdamW with PyTorch's defaults (weight decay 0.01, decoupled).
    ///
    /// ```
    /// let opt = tapegrad_nn::Adam::<f32>::try_adamw(1e-3).unwrap();
    /// assert_eq!((opt.decoupled(), opt.weight_decay()), (true, 0.01));
    /// ```
    ///
    /// # Errors
    /// [`crate::NnError::Hyperparameter`] unless `lr` is finite and `>= 0`.
    pub fn try_adamw(lr: f64) -> Result<Self> {
        Ok(Adam { lr: non_negative("AdamW", "lr", lr)?, weight_decay: 0.01, decoupled: true, ..Self::new(0.0) })
    }
    /// Panicking form of [`Adam::try_adamw`].
    ///
    /// ```
    /// assert!(tapegrad_nn::Adam::<f32>::adamw(1e-3).decoupled());
    /// ```
    ///
    /// # Panics
    /// With the [`crate::NnError::Hyperparameter`] message.
    #[track_caller]
    pub fn adamw(lr: f64) -> Self {
        or_panic(Self::try_adamw(lr))
    }
    /// Sets the moment decays.
    ///
    /// ```
    /// let opt = tapegrad_nn::Adam::<f32>::new(1e-3).try_with_betas(0.8, 0.99).unwrap();
    /// assert_eq!(opt.betas(), (0.8, 0.99));
    /// ```
    ///
    /// # Errors
    /// [`crate::NnError::Hyperparameter`] unless both are in `[0, 1)`.
    pub fn try_with_betas(mut self, beta1: f64, beta2: f64) -> Result<Self> {
        self.betas = (decay(self.op(), "beta1", beta1)?, decay(self.op(), "beta2", beta2)?);
        Ok(self)
    }
    /// Panicking form of [`Adam::try_with_betas`].
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::Adam::<f32>::new(1e-3).with_betas(0.5, 0.9).betas(), (0.5, 0.9));
    /// ```
    ///
    /// # Panics
    /// With the [`crate::NnError::Hyperparameter`] message.
    #[track_caller]
    pub fn with_betas(self, beta1: f64, beta2: f64) -> Self {
        or_panic(self.try_with_betas(beta1, beta2))
    }
    /// Sets the term added to the denominator.
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::Adam::<f32>::new(1e-3).try_with_eps(1e-6).unwrap().eps(), 1e-6);
    /// ```
    ///
    /// # Errors
    /// [`crate::NnError::Hyperparameter`] unless `eps` is finite and `>= 0`.
    pub fn try_with_eps(mut self, eps: f64) -> Result<Self> {
        self.eps = non_negative(self.op(), "eps", eps)?;
        Ok(self)
    }
    /// Panicking form of [`Adam::try_with_eps`].
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::Adam::<f32>::new(1e-3).with_eps(1e-6).eps(), 1e-6);
    /// ```
    ///
    /// # Panics
    /// With the [`crate::NnError::Hyperparameter`] message.
    #[track_caller]
    pub fn with_eps(self, eps: f64) -> Self {
        or_panic(self.try_with_eps(eps))
    }
    /// Sets the weight decay (L2 for Adam, decoupled for AdamW).
    ///
    /// ```
    /// assert!(tapegrad_nn::Adam::<f32>::adamw(1e-3).try_with_weight_decay(f64::NAN).is_err());
    /// ```
    ///
    /// # Errors
    /// [`crate::NnError::Hyperparameter`] unless `wd` is finite and `>= 0`.
    pub fn try_with_weight_decay(mut self, wd: f64) -> Result<Self> {
        self.weight_decay = non_negative(self.op(), "weight_decay", wd)?;
        Ok(self)
    }
    /// Panicking form of [`Adam::try_with_weight_decay`].
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::Adam::<f32>::adamw(1e-3).with_weight_decay(0.1).weight_decay(), 0.1);
    /// ```
    ///
    /// # Panics
    /// With the [`crate::NnError::Hyperparameter`] message.
    #[track_caller]
    pub fn with_weight_decay(self, wd: f64) -> Self {
        or_panic(self.try_with_weight_decay(wd))
    }
    /// The decays of the first and second moments.
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::Adam::<f64>::new(1e-3).betas(), (0.9, 0.999));
    /// ```
    pub fn betas(&self) -> (f64, f64) {
        self.betas
    }
    /// The term added to the denominator.
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::Adam::<f64>::new(1e-3).eps(), 1e-8);
    /// ```
    pub fn eps(&self) -> f64 {
        self.eps
    }
    /// The weight decay.
    ///
    /// ```
    /// assert_eq!(tapegrad_nn::Adam::<f64>::new(1e-3).weight_decay(), 0.0);
    /// ```
    pub fn weight_decay(&self) -> f64 {
        self.weight_decay
    }
    /// Whether the decay is decoupled (AdamW).
    ///
    /// ```
    /// assert!(tapegrad_nn::Adam::<f64>::adamw(1e-3).decoupled());
    /// ```
    pub fn decoupled(&self) -> bool {
        self.decoupled
    }
    fn op(&self) -> &'static str {
        if self.decoupled {
            "AdamW"
        } else {
            "Adam"
        }
    }
    fn kind(&self) -> &'static str {
        if self.decoupled {
            "adamw"
        } else {
            "adam"
        }
    }
}

impl<T: Scalar> Optimizer<T> for Adam<T> {
    fn step(&mut self, params: Vec<(String, &mut Param<T>)>, grads: &ParamGrads<T>) -> Result<()> {
        let f = T::from_f64_lossy;
        let ((beta1, beta2), decoupled) = (self.betas, self.decoupled);
        let (b1, b2, eps, wd, lr) = (f(beta1), f(beta2), f(self.eps), f(self.weight_decay), f(self.lr));
        self.buf.step(self.op(), &MOMENTS, params, grads, |step, w, g, bufs| {
            // β^t is 0 long before t leaves i32.
            let t = i32::try_from(step).unwrap_or(i32::MAX);
            let c1 = f(1.0 - beta1.powi(t));
            let c2 = f(1.0 - beta2.powi(t)).sqrt();
            let (ms, vs) = bufs.split_at_mut(1);
            for (((wi, &gi), mi), vi) in w.iter_mut().zip(g).zip(ms[0].data_mut()).zip(vs[0].data_mut()) {
                let gi = if decoupled { gi } else { gi + wd * *wi };
                if decoupled {
                    *wi = *wi * (T::one() - lr * wd);
                }
                *mi = b1 * *mi + (T::one() - b1) * gi;
                *vi = b2 * *vi + (T::one() - b2) * gi * gi;
                *wi = *wi - lr * (*mi / c1) / ((*vi).sqrt() / c2 + eps);
            }
        })
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn try_set_lr(&mut self, lr: f64) -> Result<()> {
        self.lr = non_negative(self.op(), "lr", lr)?;
        Ok(())
    }
    fn state(&self) -> Vec<(String, Tensor<T>)> {
        self.buf.state(self.kind(), &MOMENTS)
    }
    fn load_state(&mut self, params: &[(String, &Param<T>)], state: &[(String, Tensor<T>)]) -> Result<()> {
        let (op, kind) = (self.op(), self.kind());
        self.buf.load(op, kind, &MOMENTS, params, state)
    }
}
