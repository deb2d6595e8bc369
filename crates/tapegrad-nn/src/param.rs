//! Parameters, the modules that own them, and binding them to a tape.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{Gradients, Tape, Var};
use tapegrad_tensor::{Scalar, Tensor};

use crate::{NnError, Result};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Identity of a parameter (unique per process; a clone is a new parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParamId(u64);

/// A trainable tensor owned by a module. It lives outside any tape and
/// enters each forward pass as a leaf through a [`Binding`].
///
/// ```
/// use tapegrad_nn::Param;
/// use tapegrad_tensor::Tensor;
/// let mut p = Param::new(Tensor::<f32>::zeros(&[2, 3]));
/// assert!(p.try_set(Tensor::ones(&[3, 2])).is_err()); // shape is fixed
/// p.try_set(Tensor::ones(&[2, 3])).unwrap();
/// assert_eq!(p.value().sum_all(), 6.0);
/// ```
#[derive(Debug)]
pub struct Param<T: Scalar> {
    id: ParamId,
    value: Tensor<T>,
}

impl<T: Scalar> Clone for Param<T> {
    /// A clone is an independent parameter with its own identity.
    fn clone(&self) -> Self {
        Param::new(self.value.clone())
    }
}

impl<T: Scalar> Param<T> {
    /// A parameter holding `value`.
    pub fn new(value: Tensor<T>) -> Self {
        Param { id: ParamId(NEXT_ID.fetch_add(1, Ordering::Relaxed)), value }
    }
    /// Its identity.
    pub fn id(&self) -> ParamId {
        self.id
    }
    /// Its current value.
    pub fn value(&self) -> &Tensor<T> {
        &self.value
    }
    /// Its shape.
    pub fn shape(&self) -> &[usize] {
        self.value.shape()
    }
    /// Replaces the value, keeping the shape.
    ///
    /// # Errors
    /// [`NnError::Weights`] naming both shapes if they differ.
    pub fn try_set(&mut self, value: Tensor<T>) -> Result<()> {
        if value.shape() != self.value.shape() {
            return Err(NnError::Weights {
                file: "parameter".into(),
                message: format!("expected shape {:?}, got {:?}", self.value.shape(), value.shape()),
            });
        }
        self.value = value;
        Ok(())
    }
    /// Mutable access to the elements (for optimizers); the shape is fixed.
    pub fn data_mut(&mut self) -> &mut [T] {
        self.value.data_mut()
    }
}

/// Something that owns parameters, named as PyTorch names them
/// (`weight_ih_l0`, `layers.1.bias`, ...), so state dicts move between
/// the two.
pub trait Module<T: Scalar> {
    /// Every parameter with its name, in a fixed order.
    fn params(&self) -> Vec<(String, &Param<T>)>;
    /// Every parameter, mutably, in the same order as [`Module::params`].
    fn params_mut(&mut self) -> Vec<(String, &mut Param<T>)>;
    /// Total number of trainable scalars.
    fn num_params(&self) -> usize {
        self.params().iter().map(|(_, p)| p.value().numel()).sum()
    }
}

/// Prefixes the names of a child module's parameters (`prefix.name`).
pub fn prefixed<'a, T: Scalar>(prefix: &str, params: Vec<(String, &'a Param<T>)>) -> Vec<(String, &'a Param<T>)> {
    params.into_iter().map(|(n, p)| (format!("{prefix}.{n}"), p)).collect()
}

/// Mutable form of [`prefixed`].
pub fn prefixed_mut<'a, T: Scalar>(prefix: &str, params: Vec<(String, &'a mut Param<T>)>) -> Vec<(String, &'a mut Param<T>)> {
    params.into_iter().map(|(n, p)| (format!("{prefix}.{n}"), p)).collect()
}

/// One forward pass's view of the parameters: each parameter becomes one
/// leaf on the tape the first time it is used and the same leaf every time
/// after, so a weight shared by all time steps gets one gradient, the sum
/// over steps (BPTT).
///
/// Also carries the mode (training or evaluation) and the RNG for dropout.
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, Param};
/// use tapegrad_tensor::Tensor;
/// let w = Param::new(Tensor::<f64>::full(&[1], 3.0));
/// let tape = Tape::new();
/// let bind = Binding::eval(&tape);
/// let (a, b) = (bind.param(&w), bind.param(&w));
/// assert_eq!(a.index(), b.index()); // one leaf
/// let grads = bind.grads(&tape.backward((a * b).sum_all()).unwrap());
/// assert_eq!(grads.get(&w).unwrap().data(), &[6.0]); // d(w²)/dw
/// ```
pub struct Binding<'t, T: Scalar> {
    tape: &'t Tape<T>,
    vars: RefCell<HashMap<ParamId, Var<'t, T>>>,
    training: bool,
    rng: RefCell<StdRng>,
}

impl<'t, T: Scalar> Binding<'t, T> {
    /// Evaluation mode (dropout off).
    pub fn eval(tape: &'t Tape<T>) -> Self {
        Binding { tape, vars: RefCell::new(HashMap::new()), training: false, rng: RefCell::new(StdRng::seed_from_u64(0)) }
    }
    /// Training mode (dropout on), with a seed for its masks.
    pub fn train(tape: &'t Tape<T>, seed: u64) -> Self {
        Binding { tape, vars: RefCell::new(HashMap::new()), training: true, rng: RefCell::new(StdRng::seed_from_u64(seed)) }
    }
    /// The tape.
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }
    /// Whether dropout is active.
    pub fn is_training(&self) -> bool {
        self.training
    }
    /// Runs `f` with this pass's RNG (dropout masks, sampling).
    pub fn with_rng<R>(&self, f: impl FnOnce(&mut StdRng) -> R) -> R {
        f(&mut self.rng.borrow_mut())
    }
    /// The leaf for `p` (made on first use).
    #[track_caller]
    pub fn param(&self, p: &Param<T>) -> Var<'t, T> {
        if let Some(v) = self.vars.borrow().get(&p.id) {
            return *v;
        }
        let v = self.tape.leaf(p.value.clone());
        self.vars.borrow_mut().insert(p.id, v);
        v
    }
    /// Uses `v` for `p` in this pass instead of a fresh leaf: how a layer
    /// becomes a function of given variables (for gradcheck, Jacobians,
    /// or weight tying).
    ///
    /// # Errors
    /// [`NnError::Weights`] if `v`'s shape is not `p`'s.
    pub fn try_bind(&self, p: &Param<T>, v: Var<'t, T>) -> Result<()> {
        if v.shape().as_slice() != p.shape() {
            return Err(NnError::Weights {
                file: "binding".into(),
                message: format!("variable of shape {:?} bound to a parameter of shape {:?}", v.shape().as_slice(), p.shape()),
            });
        }
        self.vars.borrow_mut().insert(p.id, v);
        Ok(())
    }
    /// Collects the gradient of every parameter used in this pass.
    pub fn grads(&self, g: &Gradients<T>) -> ParamGrads<T> {
        let map = self.vars.borrow().iter().filter_map(|(id, v)| g.get(*v).ok().map(|t| (*id, t.clone()))).collect();
        ParamGrads { map }
    }
}

/// Gradients keyed by parameter, from [`Binding::grads`].
#[derive(Debug, Clone, Default)]
pub struct ParamGrads<T: Scalar> {
    map: HashMap<ParamId, Tensor<T>>,
}

impl<T: Scalar> ParamGrads<T> {
    /// The gradient of `p`, or `None` if the loss did not depend on it.
    pub fn get(&self, p: &Param<T>) -> Option<&Tensor<T>> {
        self.map.get(&p.id)
    }
    /// Mutable access (for clipping).
    pub fn get_mut(&mut self, p: &Param<T>) -> Option<&mut Tensor<T>> {
        self.map.get_mut(&p.id)
    }
    /// All gradients, mutably, in no particular order.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut Tensor<T>> {
        self.map.values_mut()
    }
    /// All gradients, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &Tensor<T>> {
        self.map.values()
    }
    /// Number of parameters with a gradient.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Whether no parameter has a gradient.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// The module's parameters as named tensors (cheap clones), in
/// [`Module::params`] order: PyTorch's `state_dict()`.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{state_dict, Linear};
/// let lin = Linear::<f32>::new(3, 2, &mut StdRng::seed_from_u64(0));
/// let names: Vec<String> = state_dict(&lin).into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["weight", "bias"]);
/// ```
pub fn state_dict<T: Scalar, M: Module<T> + ?Sized>(module: &M) -> Vec<(String, Tensor<T>)> {
    module.params().into_iter().map(|(n, p)| (n, p.value().clone())).collect()
}

/// Loads named tensors into a module, all or nothing: every parameter must
/// be present with its exact shape and no unknown name may appear;
/// otherwise nothing is changed and the error names the parameter (and
/// both shapes) and `source` (a file name, or `"state dict"`).
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{load_state_dict, state_dict, Linear};
/// use tapegrad_tensor::Tensor;
/// let mut lin = Linear::<f64>::new(3, 2, &mut StdRng::seed_from_u64(0));
/// let mut sd = state_dict(&lin);
/// sd[1].1 = Tensor::zeros(&[3]); // wrong bias shape
/// let err = load_state_dict(&mut lin, &sd, "ckpt.safetensors").unwrap_err();
/// assert!(err.to_string().contains("bias") && err.to_string().contains("[2]") && err.to_string().contains("[3]"));
/// ```
///
/// # Errors
/// [`NnError::Weights`] for a missing, unexpected (listed in sorted order)
/// or misshapen entry; [`NnError::DuplicateName`] if two entries, or two of
/// the module's parameters, share a name.
pub fn load_state_dict<T: Scalar, M: Module<T> + ?Sized>(module: &mut M, entries: &[(String, Tensor<T>)], source: &str) -> Result<()> {
    let bad = |message: String| NnError::Weights { file: source.to_string(), message };
    crate::weights::check_unique(entries.iter().map(|(n, _)| n.as_str()), source, "entries")?;
    let by_name: HashMap<&str, &Tensor<T>> = entries.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut params = module.params_mut();
    crate::weights::check_unique(params.iter().map(|(n, _)| n.as_str()), source, "model parameters")?;
    for (name, p) in &params {
        match by_name.get(name.as_str()) {
            None => return Err(bad(format!("parameter `{name}` (shape {:?}) is missing", p.shape()))),
            Some(t) if t.shape() != p.shape() => {
                return Err(bad(format!("parameter `{name}` has shape {:?} in the file but {:?} in the model", t.shape(), p.shape())))
            }
            Some(_) => {}
        }
    }
    if by_name.len() != params.len() {
        let known: std::collections::HashSet<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
        let mut extra: Vec<&str> = by_name.keys().copied().filter(|n| !known.contains(n)).collect();
        extra.sort_unstable(); // a stable message, not hash-map order
        return Err(bad(format!("unexpected parameters {extra:?}")));
    }
    for (name, p) in params.iter_mut() {
        p.value = by_name[name.as_str()].clone();
    }
    Ok(())
}

/// A pair of modules is a module, named as PyTorch's `nn.Sequential` names
/// its children: `0.<name>`, `1.<name>`.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{Linear, Module, Rnn};
/// let mut rng = StdRng::seed_from_u64(0);
/// let model = (Rnn::<tapegrad_nn::GruCell<f32>>::gru(3, 4, 1, false, &mut rng), Linear::<f32>::new(4, 2, &mut rng));
/// let names: Vec<String> = model.params().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names[0], "0.weight_ih_l0");
/// assert_eq!(names.last().unwrap(), "1.bias");
/// ```
impl<T: Scalar, A: Module<T>, B: Module<T>> Module<T> for (A, B) {
    fn params(&self) -> Vec<(String, &Param<T>)> {
        let mut v = prefixed("0", self.0.params());
        v.extend(prefixed("1", self.1.params()));
        v
    }
    fn params_mut(&mut self) -> Vec<(String, &mut Param<T>)> {
        let mut v = prefixed_mut("0", self.0.params_mut());
        v.extend(prefixed_mut("1", self.1.params_mut()));
        v
    }
}

/// Three modules in a row, named `0.`, `1.`, `2.` (see the pair's impl).
impl<T: Scalar, A: Module<T>, B: Module<T>, C: Module<T>> Module<T> for (A, B, C) {
    fn params(&self) -> Vec<(String, &Param<T>)> {
        let mut v = prefixed("0", self.0.params());
        v.extend(prefixed("1", self.1.params()));
        v.extend(prefixed("2", self.2.params()));
        v
    }
    fn params_mut(&mut self) -> Vec<(String, &mut Param<T>)> {
        let mut v = prefixed_mut("0", self.0.params_mut());
        v.extend(prefixed_mut("1", self.1.params_mut()));
        v.extend(prefixed_mut("2", self.2.params_mut()));
        v
    }
}

/// A list of modules, named `0.`, `1.`, ... as PyTorch's `nn.ModuleList`.
impl<T: Scalar, M: Module<T>> Module<T> for Vec<M> {
    fn params(&self) -> Vec<(String, &Param<T>)> {
        self.iter().enumerate().flat_map(|(i, m)| prefixed(&i.to_string(), m.params())).collect()
    }
    fn params_mut(&mut self) -> Vec<(String, &mut Param<T>)> {
        self.iter_mut().enumerate().flat_map(|(i, m)| prefixed_mut(&i.to_string(), m.params_mut())).collect()
    }
}
