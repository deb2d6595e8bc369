//! Parameters, the modules that own them, and binding them to a tape.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::panic::Location;
use std::sync::atomic::{AtomicU64, Ordering};

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{Gradients, Tape, Var};
use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::{NnError, Result};

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Identity of a parameter (unique per process; a clone is a new parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ParamId(u64);

/// Whether the optimizer may change a [`Param`]: a frozen one enters each
/// forward pass as a constant (no gradient flows to it, so no optimizer
/// step touches it) but is still listed by [`Module::params`], so state
/// dicts and weight files still save and load it by name.
///
/// ```
/// use tapegrad_nn::{Param, Trainable};
/// use tapegrad_tensor::Tensor;
/// let p = Param::with_trainable(Tensor::<f32>::zeros(&[2]), Trainable::Frozen);
/// assert_eq!(p.trainable(), Trainable::Frozen);
/// assert_eq!(Param::new(Tensor::<f32>::zeros(&[2])).trainable(), Trainable::Trainable);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Trainable {
    /// Receives gradients and optimizer updates (the default).
    #[default]
    Trainable,
    /// A constant in every forward pass: no gradient, no update.
    Frozen,
}

/// A tensor owned by a module, trainable unless frozen ([`Trainable`]).
/// It lives outside any tape and enters each forward pass as a leaf
/// (or, frozen, as a constant) through a [`Binding`].
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
    trainable: Trainable,
}

impl<T: Scalar> Clone for Param<T> {
    /// A clone is an independent parameter with its own identity (and the
    /// same [`Trainable`] setting).
    fn clone(&self) -> Self {
        Param::with_trainable(self.value.clone(), self.trainable)
    }
}

impl<T: Scalar> Param<T> {
    /// A parameter holding `value`.
    pub fn new(value: Tensor<T>) -> Self {
        Param::with_trainable(value, Trainable::Trainable)
    }
    /// A parameter holding `value`, trainable or frozen.
    ///
    /// ```
    /// use tapegrad_autodiff::Tape;
    /// use tapegrad_nn::{Binding, Param, Trainable};
    /// use tapegrad_tensor::Tensor;
    /// let p = Param::with_trainable(Tensor::<f64>::ones(&[2]), Trainable::Frozen);
    /// let tape = Tape::new();
    /// assert!(!Binding::new(&tape).param(&p).requires_grad()); // a constant
    /// ```
    pub fn with_trainable(value: Tensor<T>, trainable: Trainable) -> Self {
        Param { id: ParamId(NEXT_ID.fetch_add(1, Ordering::Relaxed)), value, trainable }
    }
    /// Whether it is trainable or frozen.
    ///
    /// ```
    /// use tapegrad_nn::{Param, Trainable};
    /// use tapegrad_tensor::Tensor;
    /// assert_eq!(Param::new(Tensor::<f32>::ones(&[1])).trainable(), Trainable::Trainable);
    /// ```
    pub fn trainable(&self) -> Trainable {
        self.trainable
    }
    /// Freezes or unfreezes it (takes effect from the next [`Binding`]).
    ///
    /// ```
    /// use tapegrad_nn::{Param, Trainable};
    /// use tapegrad_tensor::Tensor;
    /// let mut p = Param::new(Tensor::<f32>::ones(&[1]));
    /// p.set_trainable(Trainable::Frozen);
    /// assert_eq!(p.trainable(), Trainable::Frozen);
    /// ```
    pub fn set_trainable(&mut self, trainable: Trainable) {
        self.trainable = trainable;
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
    /// [`NnError::ParameterShape`] naming both shapes if they differ.
    pub fn try_set(&mut self, value: Tensor<T>) -> Result<()> {
        if value.shape() != self.value.shape() {
            return Err(NnError::ParameterShape {
                op: "Param::try_set",
                expected: Shape::from_slice(self.value.shape()),
                got: Shape::from_slice(value.shape()),
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
///
/// Derive it: `#[derive(Module)]` visits every field of a struct, a
/// [`Param`] as a parameter named after its field and any other field as
/// a sub-module whose names get the field's name in front (a field with no
/// parameters is marked `#[module(skip)]`; a field that is neither is a
/// compile error, never a silently missing parameter). Reading, updating,
/// naming, saving and loading all follow from the one walk.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{Linear, Module, Param};
/// use tapegrad_tensor::{Scalar, Shape, Tensor};
///
/// #[derive(Module)]
/// #[module(crate = tapegrad_nn)] // not needed through the `tapegrad` facade
/// struct Scaled<T: Scalar> {
///     gain: Param<T>,
///     proj: Linear<T>,
///     #[module(skip)]
///     label: &'static str,
/// }
/// let mut m = Scaled { gain: Param::new(Tensor::<f32>::ones(&[2])), proj: Linear::new(3, 2, &mut StdRng::seed_from_u64(0)), label: "demo" };
/// let names: Vec<String> = m.params().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["gain", "proj.weight", "proj.bias"]);
/// assert_eq!(m.params_mut().len(), 3); // the same walk, mutably
/// assert_eq!(m.num_params(), 2 + 6 + 2);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a module of `{T}` parameters",
    note = "a field of a `#[derive(Module)]` struct is a `Param`, a module (a cell, `Linear`, a `Vec` or `Option` of modules, ...), or is marked `#[module(skip)]`"
)]
pub trait Module<T: Scalar> {
    /// Calls `f` with every parameter and its full name, `prefix` joined
    /// to the parameter's own name by a dot ([`child_name`]), in a fixed
    /// order.
    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Param<T>));
    /// The walk of [`Module::visit`], mutably: the same names in the same order.
    fn visit_mut<'a>(&'a mut self, prefix: &str, f: &mut dyn FnMut(&str, &'a mut Param<T>));
    /// Every parameter with its name, in a fixed order.
    fn params(&self) -> Vec<(String, &Param<T>)> {
        let mut out = Vec::new();
        self.visit("", &mut |n, p| out.push((n.to_string(), p)));
        out
    }
    /// Every parameter, mutably, in the same order as [`Module::params`].
    fn params_mut(&mut self) -> Vec<(String, &mut Param<T>)> {
        let mut out = Vec::new();
        self.visit_mut("", &mut |n, p| out.push((n.to_string(), p)));
        out
    }
    /// Total number of trainable scalars (frozen parameters not counted).
    fn num_params(&self) -> usize {
        let mut n = 0;
        self.visit("", &mut |_, p| {
            if p.trainable() == Trainable::Trainable {
                n += p.value().numel();
            }
        });
        n
    }
}

/// `prefix.name`, or `name` when `prefix` is empty: how a sub-module's
/// names are formed.
///
/// ```
/// assert_eq!(tapegrad_nn::child_name("", "weight"), "weight");
/// assert_eq!(tapegrad_nn::child_name("layers.1", "bias"), "layers.1.bias");
/// ```
pub fn child_name(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// A parameter is a module of one parameter, named by its place.
impl<T: Scalar> Module<T> for Param<T> {
    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Param<T>)) {
        f(prefix, self);
    }
    fn visit_mut<'a>(&'a mut self, prefix: &str, f: &mut dyn FnMut(&str, &'a mut Param<T>)) {
        f(prefix, self);
    }
}

/// An optional sub-module (an optional bias, say): its parameters when present.
impl<T: Scalar, M: Module<T>> Module<T> for Option<M> {
    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Param<T>)) {
        if let Some(m) = self {
            m.visit(prefix, f);
        }
    }
    fn visit_mut<'a>(&'a mut self, prefix: &str, f: &mut dyn FnMut(&str, &'a mut Param<T>)) {
        if let Some(m) = self {
            m.visit_mut(prefix, f);
        }
    }
}

/// A boxed module is the module.
impl<T: Scalar, M: Module<T> + ?Sized> Module<T> for Box<M> {
    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Param<T>)) {
        (**self).visit(prefix, f);
    }
    fn visit_mut<'a>(&'a mut self, prefix: &str, f: &mut dyn FnMut(&str, &'a mut Param<T>)) {
        (**self).visit_mut(prefix, f);
    }
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
/// let bind = Binding::new(&tape);
/// let (a, b) = (bind.param(&w), bind.param(&w));
/// assert_eq!(a.index(), b.index()); // one leaf
/// let grads = bind.grads(&tape.backward((a * b).sum_all()).unwrap());
/// assert_eq!(grads.get(&w).unwrap().data(), &[6.0]); // d(w²)/dw
/// ```
pub struct Binding<'t, T: Scalar> {
    tape: &'t Tape<T>,
    vars: RefCell<HashMap<ParamId, Bound<'t, T>>>,
    frozen: RefCell<HashSet<ParamId>>,
    training: bool,
    rng: RefCell<StdRng>,
}

impl<'t, T: Scalar> Binding<'t, T> {
    /// A pass with dropout off: what inference, gradient checks and any
    /// training without dropout use.
    pub fn new(tape: &'t Tape<T>) -> Self {
        Binding {
            tape,
            vars: RefCell::new(HashMap::new()),
            frozen: RefCell::default(),
            training: false,
            rng: RefCell::new(StdRng::seed_from_u64(0)),
        }
    }
    /// A pass with dropout on (layers and [`crate::Dropout`] drop), its
    /// masks drawn from `seed`.
    pub fn with_dropout(tape: &'t Tape<T>, seed: u64) -> Self {
        Binding {
            tape,
            vars: RefCell::new(HashMap::new()),
            frozen: RefCell::default(),
            training: true,
            rng: RefCell::new(StdRng::seed_from_u64(seed)),
        }
    }
    /// The tape.
    pub fn tape(&self) -> &'t Tape<T> {
        self.tape
    }
    /// Whether dropout is on.
    pub fn dropout_on(&self) -> bool {
        self.training
    }
    /// Runs `f` with this pass's RNG (dropout masks, sampling).
    pub fn with_rng<R>(&self, f: impl FnOnce(&mut StdRng) -> R) -> R {
        f(&mut self.rng.borrow_mut())
    }
    /// The leaf for `p` (made on first use); a constant if `p` is
    /// [`Trainable::Frozen`].
    #[track_caller]
    pub fn param(&self, p: &Param<T>) -> Var<'t, T> {
        if let Some(b) = self.vars.borrow().get(&p.id) {
            return b.var;
        }
        let var = match p.trainable {
            Trainable::Trainable => self.tape.leaf(p.value.clone()),
            Trainable::Frozen => {
                self.frozen.borrow_mut().insert(p.id);
                self.tape.constant(p.value.clone())
            }
        };
        self.vars.borrow_mut().insert(p.id, Bound { var, at: Location::caller() });
        var
    }
    /// Uses `v` for `p` in this pass instead of a fresh leaf: how a layer
    /// becomes a function of given variables (for gradcheck, Jacobians,
    /// or weight tying).
    ///
    /// # Errors
    /// [`NnError::ParameterShape`] if `v`'s shape is not `p`'s.
    #[track_caller]
    pub fn try_bind(&self, p: &Param<T>, v: Var<'t, T>) -> Result<()> {
        if v.shape().as_slice() != p.shape() {
            return Err(NnError::ParameterShape { op: "Binding::try_bind", expected: Shape::from_slice(p.shape()), got: v.shape() });
        }
        if p.trainable == Trainable::Frozen {
            self.frozen.borrow_mut().insert(p.id);
        }
        self.vars.borrow_mut().insert(p.id, Bound { var: v, at: Location::caller() });
        Ok(())
    }
    /// Collects the gradient of every trainable parameter used in this
    /// pass. A frozen parameter never has one here, even when a variable
    /// was bound to it with [`Binding::try_bind`] (the tape's own
    /// [`Gradients`] still hold that variable's gradient).
    pub fn grads(&self, g: &Gradients<T>) -> ParamGrads<T> {
        let (vars, frozen) = (self.vars.borrow(), self.frozen.borrow());
        let map =
            vars.iter().filter(|(id, _)| !frozen.contains(id)).filter_map(|(id, b)| g.get(b.var).ok().map(|t| (*id, t.clone()))).collect();
        let origins = vars.iter().map(|(id, b)| (*id, Origin { shape: b.var.shape().to_vec(), bound_at: b.at })).collect();
        ParamGrads { map, origins }
    }
    /// Every parameter used in this pass that `module` does not declare
    /// (a `Param` kept where `#[derive(Module)]` does not look, or marked
    /// `#[module(skip)]`): such a parameter gets a gradient but no
    /// optimizer step, and no saved file has it. In source order.
    ///
    /// ```
    /// use tapegrad_autodiff::Tape;
    /// use tapegrad_nn::{Binding, Param};
    /// use tapegrad_tensor::Tensor;
    /// let (declared, stray) = (Param::new(Tensor::<f64>::ones(&[2])), Param::new(Tensor::<f64>::ones(&[3])));
    /// let tape = Tape::new();
    /// let bind = Binding::new(&tape);
    /// let _ = bind.param(&declared) + bind.param(&declared);
    /// let _ = bind.param(&stray);
    /// let missing = bind.undeclared(&declared); // a Param is a module of itself
    /// assert_eq!(missing.len(), 1);
    /// assert!(missing[0].to_string().starts_with("a parameter of shape [3] bound at "));
    /// ```
    pub fn undeclared<M: Module<T> + ?Sized>(&self, module: &M) -> Vec<Origin> {
        let mut declared = HashSet::new();
        module.visit("", &mut |_, p| {
            declared.insert(p.id);
        });
        let mut out: Vec<Origin> = self
            .vars
            .borrow()
            .iter()
            .filter(|(id, _)| !declared.contains(id))
            .map(|(_, b)| Origin { shape: b.var.shape().to_vec(), bound_at: b.at })
            .collect();
        out.sort_by_key(|o| (o.bound_at.file(), o.bound_at.line(), o.bound_at.column()));
        out
    }
}

/// A parameter's variable in one pass, and where it was bound.
#[derive(Clone, Copy)]
struct Bound<'t, T: Scalar> {
    var: Var<'t, T>,
    at: &'static Location<'static>,
}

/// Where a parameter was bound, and its shape: what a report of a
/// parameter no module declares names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The parameter's shape.
    pub shape: Vec<usize>,
    /// The source location of the first [`Binding::param`] (or
    /// [`Binding::try_bind`]) call for it in the pass.
    pub bound_at: &'static Location<'static>,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a parameter of shape {:?} bound at {}", self.shape, self.bound_at)
    }
}

/// Gradients keyed by parameter, from [`Binding::grads`].
#[derive(Debug, Clone, Default)]
pub struct ParamGrads<T: Scalar> {
    map: HashMap<ParamId, Tensor<T>>,
    /// Shape and binding site of every parameter of the pass.
    origins: HashMap<ParamId, Origin>,
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
    /// Only the gradients of `module`'s parameters: what to give an
    /// optimizer that updates a part of the model.
    ///
    /// ```
    /// use tapegrad_autodiff::Tape;
    /// use tapegrad_nn::{Binding, Param};
    /// use tapegrad_tensor::Tensor;
    /// let (a, b) = (Param::new(Tensor::<f64>::ones(&[1])), Param::new(Tensor::<f64>::ones(&[1])));
    /// let tape = Tape::new();
    /// let bind = Binding::new(&tape);
    /// let grads = bind.grads(&tape.backward((bind.param(&a) * bind.param(&b)).sum_all()).unwrap());
    /// assert_eq!((grads.len(), grads.only(&a).len()), (2, 1));
    /// ```
    pub fn only<M: Module<T> + ?Sized>(&self, module: &M) -> ParamGrads<T> {
        let mut out = ParamGrads::default();
        module.visit("", &mut |_, p| {
            if let Some(g) = self.map.get(&p.id) {
                out.map.insert(p.id, g.clone());
                if let Some(o) = self.origins.get(&p.id) {
                    out.origins.insert(p.id, o.clone());
                }
            }
        });
        out
    }
    /// The first (in source order) parameter with a gradient here that is
    /// not among `declared`: how an optimizer tells a parameter that would
    /// never be updated.
    pub fn first_undeclared(&self, declared: &std::collections::HashSet<ParamId>) -> Option<&Origin> {
        self.map
            .keys()
            .filter(|id| !declared.contains(id))
            .filter_map(|id| self.origins.get(id))
            .min_by_key(|o| (o.bound_at.file(), o.bound_at.line(), o.bound_at.column()))
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
    crate::io::check_unique(entries.iter().map(|(n, _)| n.as_str()), source, "entries")?;
    let by_name: HashMap<&str, &Tensor<T>> = entries.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let mut params = module.params_mut();
    crate::io::check_unique(params.iter().map(|(n, _)| n.as_str()), source, "model parameters")?;
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

/// Tuples of modules are modules, named as PyTorch's `nn.Sequential` names
/// its children: `0.<name>`, `1.<name>`, ...
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{Linear, Module, Rnn};
/// let mut rng = StdRng::seed_from_u64(0);
/// let model = (Rnn::spec(3, 4).gru::<f32, _>(&mut rng), Linear::<f32>::new(4, 2, &mut rng));
/// let names: Vec<String> = model.params().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names[0], "0.weight_ih_l0");
/// assert_eq!(names.last().unwrap(), "1.bias");
/// ```
macro_rules! tuple_module {
    ($($m:ident $i:tt),+) => {
        impl<T: Scalar, $($m: Module<T>),+> Module<T> for ($($m,)+) {
            fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Param<T>)) {
                $(self.$i.visit(&child_name(prefix, stringify!($i)), f);)+
            }
            fn visit_mut<'a>(&'a mut self, prefix: &str, f: &mut dyn FnMut(&str, &'a mut Param<T>)) {
                $(self.$i.visit_mut(&child_name(prefix, stringify!($i)), f);)+
            }
        }
    };
}
tuple_module!(A 0, B 1);
tuple_module!(A 0, B 1, C 2);
tuple_module!(A 0, B 1, C 2, D 3);

/// A list of modules, named `0.`, `1.`, ... as PyTorch's `nn.ModuleList`.
impl<T: Scalar, M: Module<T>> Module<T> for Vec<M> {
    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a Param<T>)) {
        for (i, m) in self.iter().enumerate() {
            m.visit(&child_name(prefix, &i.to_string()), f);
        }
    }
    fn visit_mut<'a>(&'a mut self, prefix: &str, f: &mut dyn FnMut(&str, &'a mut Param<T>)) {
        for (i, m) in self.iter_mut().enumerate() {
            m.visit_mut(&child_name(prefix, &i.to_string()), f);
        }
    }
}
