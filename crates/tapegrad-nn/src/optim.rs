//! Optimizers (SGD, Adam, AdamW, RMSprop) and gradient clipping, with
//! PyTorch's update rules. State is keyed by parameter name, so it can be
//! saved in a checkpoint and restored into a fresh model.

use std::collections::HashMap;

use tapegrad_tensor::{Scalar, Tensor};

use crate::{NnError, Param, ParamGrads, Result};

/// An optimizer: updates parameters from their gradients.
pub trait Optimizer<T: Scalar> {
    /// One update of every parameter that has a gradient (the others are
    /// left alone, as PyTorch does for `grad is None`).
    ///
    /// # Errors
    /// [`NnError::Config`] if a gradient's shape differs from its parameter's.
    fn step(&mut self, params: Vec<(String, &mut Param<T>)>, grads: &ParamGrads<T>) -> Result<()>;
    /// The learning rate.
    fn lr(&self) -> f64;
    /// Changes the learning rate (for schedules).
    fn set_lr(&mut self, lr: f64);
    /// The optimizer's state as named tensors (step count, moment buffers),
    /// for checkpoints.
    fn state(&self) -> Vec<(String, Tensor<T>)>;
    /// Restores a state written by [`Optimizer::state`].
    ///
    /// # Errors
    /// [`NnError::Weights`] naming the entry if the state is not this
    /// optimizer's.
    fn load_state(&mut self, state: &[(String, Tensor<T>)]) -> Result<()>;
}

/// Per-parameter buffers plus a step counter; shared by the optimizers.
#[derive(Debug, Clone, Default)]
struct Buffers<T: Scalar> {
    steps: u64,
    slots: HashMap<String, Vec<Tensor<T>>>,
}

impl<T: Scalar> Buffers<T> {
    fn state(&self, kind: &str, names: &[&str]) -> Vec<(String, Tensor<T>)> {
        let mut out = vec![(format!("{kind}.steps"), Tensor::scalar(T::from_f64_lossy(self.steps as f64)))];
        let mut keys: Vec<&String> = self.slots.keys().collect();
        keys.sort();
        for k in keys {
            for (i, t) in self.slots[k].iter().enumerate() {
                out.push((format!("{kind}.{}.{k}", names[i]), t.clone()));
            }
        }
        out
    }
    fn load(&mut self, kind: &str, names: &[&str], state: &[(String, Tensor<T>)]) -> Result<()> {
        let bad = |message: String| NnError::Weights { file: "optimizer state".into(), message };
        let mut steps = None;
        let mut slots: HashMap<String, Vec<Option<Tensor<T>>>> = HashMap::new();
        for (name, t) in state {
            let rest = name
                .strip_prefix(kind)
                .and_then(|r| r.strip_prefix('.'))
                .ok_or_else(|| bad(format!("entry `{name}` is not {kind} state")))?;
            if rest == "steps" {
                steps = Some(t.try_item().map_err(|_| bad(format!("entry `{name}` is not a scalar")))?.to_f64_lossless() as u64);
                continue;
            }
            let (buf, param) = rest.split_once('.').ok_or_else(|| bad(format!("entry `{name}` names no buffer")))?;
            let i = names.iter().position(|n| *n == buf).ok_or_else(|| bad(format!("entry `{name}`: unknown buffer `{buf}`")))?;
            let slot = slots.entry(param.to_string()).or_insert_with(|| vec![None; names.len()]);
            slot[i] = Some(t.clone());
        }
        let steps = steps.ok_or_else(|| bad(format!("no `{kind}.steps` entry")))?;
        let mut done = HashMap::new();
        for (p, v) in slots {
            let v: Option<Vec<Tensor<T>>> = v.into_iter().collect();
            done.insert(p.clone(), v.ok_or_else(|| bad(format!("parameter `{p}` lacks some buffers")))?);
        }
        self.steps = steps;
        self.slots = done;
        Ok(())
    }
}

fn check_shape<T: Scalar>(name: &str, p: &Param<T>, g: &Tensor<T>) -> Result<()> {
    if p.shape() != g.shape() {
        return Err(NnError::Config {
            op: "optimizer",
            message: format!("gradient of `{name}` has shape {:?}, the parameter {:?}", g.shape(), p.shape()),
        });
    }
    Ok(())
}

/// Stochastic gradient descent with optional momentum (PyTorch's rule,
/// dampening 0), Nesterov momentum, and L2 weight decay.
///
/// ```
/// use tapegrad_nn::{Optimizer, Param, ParamGrads, Sgd};
/// use tapegrad_tensor::Tensor;
/// let mut opt = Sgd::new(0.1);
/// let mut p = Param::new(Tensor::<f64>::scalar(1.0));
/// opt.step(vec![("p".into(), &mut p)], &ParamGrads::default()).unwrap(); // no grad: untouched
/// assert_eq!(p.value().item(), 1.0);
/// ```
#[derive(Debug, Clone)]
pub struct Sgd<T: Scalar> {
    /// Learning rate.
    pub lr: f64,
    /// Momentum factor (0 = none).
    pub momentum: f64,
    /// Use Nesterov momentum.
    pub nesterov: bool,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    buf: Buffers<T>,
}

impl<T: Scalar> Sgd<T> {
    /// Plain SGD.
    pub fn new(lr: f64) -> Self {
        Sgd { lr, momentum: 0.0, nesterov: false, weight_decay: 0.0, buf: Buffers { steps: 0, slots: HashMap::new() } }
    }
    /// With momentum (and Nesterov if asked).
    pub fn with_momentum(mut self, momentum: f64, nesterov: bool) -> Self {
        self.momentum = momentum;
        self.nesterov = nesterov;
        self
    }
    /// With L2 weight decay.
    pub fn with_weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
    }
}

impl<T: Scalar> Optimizer<T> for Sgd<T> {
    fn step(&mut self, params: Vec<(String, &mut Param<T>)>, grads: &ParamGrads<T>) -> Result<()> {
        let (lr, mu, wd) = (T::from_f64_lossy(self.lr), T::from_f64_lossy(self.momentum), T::from_f64_lossy(self.weight_decay));
        self.buf.steps += 1;
        for (name, p) in params {
            let Some(g) = grads.get(p) else { continue };
            check_shape(&name, p, g)?;
            let mut d: Vec<T> = g.data().iter().zip(p.value().data()).map(|(&g, &w)| g + wd * w).collect();
            if self.momentum != 0.0 {
                match self.buf.slots.get_mut(&name) {
                    // First step of this parameter: buf = g.
                    None => {
                        self.buf.slots.insert(name, vec![Tensor::from_vec(d.clone(), p.shape())]);
                        if self.nesterov {
                            d.iter_mut().for_each(|di| *di = *di + mu * *di);
                        }
                    }
                    // buf = μ·buf + g; step along g + μ·buf (Nesterov) or buf.
                    Some(slot) => {
                        for (bi, di) in slot[0].data_mut().iter_mut().zip(d.iter_mut()) {
                            *bi = mu * *bi + *di;
                            *di = if self.nesterov { *di + mu * *bi } else { *bi };
                        }
                    }
                }
            }
            for (w, di) in p.data_mut().iter_mut().zip(d) {
                *w = *w - lr * di;
            }
        }
        Ok(())
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn state(&self) -> Vec<(String, Tensor<T>)> {
        self.buf.state("sgd", &["momentum"])
    }
    fn load_state(&mut self, state: &[(String, Tensor<T>)]) -> Result<()> {
        self.buf.load("sgd", &["momentum"], state)
    }
}

/// Adam (Kingma & Ba) with PyTorch's bias correction, and either L2 weight
/// decay added to the gradient (`Adam`) or decoupled decay (`AdamW`).
///
/// ```
/// use tapegrad_nn::{Adam, Optimizer};
/// let opt = Adam::<f32>::new(1e-3);
/// assert_eq!((opt.beta1, opt.beta2, opt.eps), (0.9, 0.999, 1e-8));
/// assert_eq!(opt.state().len(), 1); // just the step count before any step
/// ```
#[derive(Debug, Clone)]
pub struct Adam<T: Scalar> {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the first moment.
    pub beta1: f64,
    /// Decay of the second moment.
    pub beta2: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// Weight decay (L2 for Adam, decoupled for AdamW).
    pub weight_decay: f64,
    /// Decoupled weight decay (AdamW).
    pub decoupled: bool,
    buf: Buffers<T>,
}

impl<T: Scalar> Adam<T> {
    /// Adam with PyTorch's defaults (betas 0.9, 0.999; eps 1e-8; no decay).
    pub fn new(lr: f64) -> Self {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decoupled: false,
            buf: Buffers { steps: 0, slots: HashMap::new() },
        }
    }
    /// AdamW with PyTorch's defaults (weight decay 0.01, decoupled).
    pub fn adamw(lr: f64) -> Self {
        Adam { weight_decay: 0.01, decoupled: true, ..Self::new(lr) }
    }
    /// Sets the moment decays.
    pub fn with_betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }
    /// Sets the weight decay.
    pub fn with_weight_decay(mut self, wd: f64) -> Self {
        self.weight_decay = wd;
        self
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
        self.buf.steps += 1;
        let t = self.buf.steps as i32;
        let f = T::from_f64_lossy;
        let (b1, b2, eps, wd) = (f(self.beta1), f(self.beta2), f(self.eps), f(self.weight_decay));
        let c1 = f(1.0 - self.beta1.powi(t));
        let c2 = f(1.0 - self.beta2.powi(t)).sqrt();
        let lr = f(self.lr);
        for (name, p) in params {
            let Some(g) = grads.get(p) else { continue };
            check_shape(&name, p, g)?;
            let shape = p.shape().to_vec();
            let slot = self.buf.slots.entry(name).or_insert_with(|| vec![Tensor::zeros(&shape), Tensor::zeros(&shape)]);
            let (ms, vs) = slot.split_at_mut(1);
            let (m, v) = (ms[0].data_mut(), vs[0].data_mut());
            for (((w, &gi), mi), vi) in p.data_mut().iter_mut().zip(g.data()).zip(m.iter_mut()).zip(v.iter_mut()) {
                let gi = if self.decoupled { gi } else { gi + wd * *w };
                if self.decoupled {
                    *w = *w * (T::one() - lr * wd);
                }
                *mi = b1 * *mi + (T::one() - b1) * gi;
                *vi = b2 * *vi + (T::one() - b2) * gi * gi;
                *w = *w - lr * (*mi / c1) / ((*vi).sqrt() / c2 + eps);
            }
        }
        Ok(())
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn state(&self) -> Vec<(String, Tensor<T>)> {
        self.buf.state(self.kind(), &["m", "v"])
    }
    fn load_state(&mut self, state: &[(String, Tensor<T>)]) -> Result<()> {
        let kind = self.kind();
        self.buf.load(kind, &["m", "v"], state)
    }
}

/// RMSprop with PyTorch's rule (`alpha` 0.99, `eps` 1e-8 outside the
/// square root, optional momentum and L2 weight decay).
///
/// ```
/// use tapegrad_nn::{Optimizer, RmsProp};
/// assert_eq!(RmsProp::<f64>::new(0.01).lr(), 0.01);
/// ```
#[derive(Debug, Clone)]
pub struct RmsProp<T: Scalar> {
    /// Learning rate.
    pub lr: f64,
    /// Decay of the squared-gradient average.
    pub alpha: f64,
    /// Added to the denominator.
    pub eps: f64,
    /// Momentum factor (0 = none).
    pub momentum: f64,
    /// L2 penalty added to the gradient.
    pub weight_decay: f64,
    buf: Buffers<T>,
}

impl<T: Scalar> RmsProp<T> {
    /// RMSprop with PyTorch's defaults.
    pub fn new(lr: f64) -> Self {
        RmsProp { lr, alpha: 0.99, eps: 1e-8, momentum: 0.0, weight_decay: 0.0, buf: Buffers { steps: 0, slots: HashMap::new() } }
    }
    /// With momentum.
    pub fn with_momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }
}

impl<T: Scalar> Optimizer<T> for RmsProp<T> {
    fn step(&mut self, params: Vec<(String, &mut Param<T>)>, grads: &ParamGrads<T>) -> Result<()> {
        self.buf.steps += 1;
        let f = T::from_f64_lossy;
        let (lr, a, eps, mu, wd) = (f(self.lr), f(self.alpha), f(self.eps), f(self.momentum), f(self.weight_decay));
        for (name, p) in params {
            let Some(g) = grads.get(p) else { continue };
            check_shape(&name, p, g)?;
            let shape = p.shape().to_vec();
            let slot = self.buf.slots.entry(name).or_insert_with(|| vec![Tensor::zeros(&shape), Tensor::zeros(&shape)]);
            let (sq, mb) = slot.split_at_mut(1);
            let (sq, mb) = (sq[0].data_mut(), mb[0].data_mut());
            for (((w, &gi), si), bi) in p.data_mut().iter_mut().zip(g.data()).zip(sq.iter_mut()).zip(mb.iter_mut()) {
                let gi = gi + wd * *w;
                *si = a * *si + (T::one() - a) * gi * gi;
                let step = gi / (si.sqrt() + eps);
                if self.momentum != 0.0 {
                    *bi = mu * *bi + step;
                    *w = *w - lr * *bi;
                } else {
                    *w = *w - lr * step;
                }
            }
        }
        Ok(())
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn set_lr(&mut self, lr: f64) {
        self.lr = lr;
    }
    fn state(&self) -> Vec<(String, Tensor<T>)> {
        self.buf.state("rmsprop", &["square_avg", "momentum"])
    }
    fn load_state(&mut self, state: &[(String, Tensor<T>)]) -> Result<()> {
        self.buf.load("rmsprop", &["square_avg", "momentum"], state)
    }
}

/// Scales all gradients together so their global L2 norm is at most
/// `max_norm` (PyTorch's `clip_grad_norm_`); returns the norm before
/// clipping. A non-finite norm leaves the gradients alone and is returned
/// so the caller can skip the step.
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{clip_grad_norm, Binding, Param};
/// use tapegrad_tensor::Tensor;
/// let w = Param::new(Tensor::<f64>::from_vec(vec![3.0, 4.0], &[2]));
/// let tape = Tape::new();
/// let bind = Binding::eval(&tape);
/// let v = bind.param(&w);
/// let mut g = bind.grads(&tape.backward((v * v).sum_all().scale(0.5)).unwrap()); // grad = w
/// assert_eq!(clip_grad_norm(&mut g, 1.0), 5.0);
/// let clipped = g.get(&w).unwrap().data();
/// assert!((clipped[0] - 0.6).abs() < 1e-6 && (clipped[1] - 0.8).abs() < 1e-6); // scaled by 1/(5 + 1e-6)
/// ```
pub fn clip_grad_norm<T: Scalar>(grads: &mut ParamGrads<T>, max_norm: f64) -> f64 {
    let total: f64 = grads.values().flat_map(|g| g.data().iter()).map(|v| v.to_f64_lossless().powi(2)).sum::<f64>().sqrt();
    if total.is_finite() && total > max_norm {
        let s = T::from_f64_lossy(max_norm / (total + 1e-6));
        for g in grads.values_mut() {
            g.data_mut().iter_mut().for_each(|v| *v = *v * s);
        }
    }
    total
}

/// Clamps every gradient element to `[-clip, clip]` (PyTorch's
/// `clip_grad_value_`).
///
/// ```
/// use tapegrad_nn::{clip_grad_value, ParamGrads};
/// let mut g = ParamGrads::<f32>::default();
/// clip_grad_value(&mut g, 1.0); // nothing to clip
/// assert!(g.is_empty());
/// ```
pub fn clip_grad_value<T: Scalar>(grads: &mut ParamGrads<T>, clip: f64) {
    let c = T::from_f64_lossy(clip.abs());
    for g in grads.values_mut() {
        g.data_mut().iter_mut().for_each(|v| *v = v.max(-c).min(c));
    }
}
