//! Feed-forward modules: `Linear`, `Embedding`, `Dropout`, `LayerNorm`.

use rand::Rng;
use tapegrad_autodiff::Var;
use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::{Binding, Module, NnError, Param, Result, Trainable};

/// `y = x·Wᵀ + b`, PyTorch's `nn.Linear` (weight `(out, in)`, bias `(out)`),
/// applied to the last axis of an input of any rank ≥ 2.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, Linear};
/// use tapegrad_tensor::Tensor;
/// let lin = Linear::<f32>::new(4, 2, &mut StdRng::seed_from_u64(0));
/// let tape = Tape::new();
/// let y = lin.forward(&Binding::new(&tape), tape.constant(Tensor::ones(&[5, 3, 4]))).unwrap();
/// assert_eq!(y.shape().as_slice(), &[5, 3, 2]);
/// ```
#[derive(Debug, Clone, Module)]
#[module(crate = crate)]
pub struct Linear<T: Scalar> {
    /// `(out, in)`.
    pub weight: Param<T>,
    /// `(out)`.
    pub bias: Param<T>,
}

impl<T: Scalar> Linear<T> {
    /// PyTorch's default init: `U(-1/sqrt(in), 1/sqrt(in))` for both.
    pub fn new<R: Rng + ?Sized>(input: usize, output: usize, rng: &mut R) -> Self {
        let k = T::from_f64_lossy(1.0 / (input.max(1) as f64).sqrt());
        Linear {
            weight: Param::new(Tensor::rand_uniform(&[output, input], -k, k, rng)),
            bias: Param::new(Tensor::rand_uniform(&[output], -k, k, rng)),
        }
    }
    /// From given weight `(out, in)` and bias `(out)`.
    ///
    /// # Errors
    /// [`NnError::Config`] if the shapes do not fit together.
    pub fn from_tensors(weight: Tensor<T>, bias: Tensor<T>) -> Result<Self> {
        if weight.ndim() != 2 || bias.shape() != [weight.shape()[0]] {
            return Err(NnError::Config {
                op: "Linear::from_tensors",
                message: format!("weight {:?} and bias {:?} do not fit", weight.shape(), bias.shape()),
            });
        }
        Ok(Linear { weight: Param::new(weight), bias: Param::new(bias) })
    }
    /// Applies the layer to the last axis of `x`.
    ///
    /// # Errors
    /// [`NnError::InputShape`] if the last axis is not `in`.
    pub fn forward<'t>(&self, bind: &Binding<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        let s = x.shape();
        let inp = self.weight.shape()[1];
        if s.len() < 2 || s[s.len() - 1] != inp {
            return Err(NnError::InputShape { op: "Linear", expected: format!("(..., {inp})"), got: s });
        }
        Ok(x.try_linear(bind.param(&self.weight), Some(bind.param(&self.bias)))?)
    }
}

/// A lookup table of `(vocab, dim)` vectors, PyTorch's `nn.Embedding`
/// (init `N(0, 1)`), or given vectors ([`Embedding::try_from_pretrained`],
/// optionally frozen).
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, Embedding};
/// let emb = Embedding::<f32>::new(10, 3, &mut StdRng::seed_from_u64(0));
/// let tape = Tape::new();
/// let x = emb.forward(&Binding::new(&tape), &[1, 2, 3, 4, 5, 6], &[3, 2]).unwrap();
/// assert_eq!(x.shape().as_slice(), &[3, 2, 3]);
/// assert!(emb.forward(&Binding::new(&tape), &[10], &[1]).is_err());
/// ```
#[derive(Debug, Clone, Module)]
#[module(crate = crate)]
pub struct Embedding<T: Scalar> {
    /// `(vocab, dim)`.
    pub weight: Param<T>,
}

impl<T: Scalar> Embedding<T> {
    /// A table initialised from `N(0, 1)`.
    pub fn new<R: Rng + ?Sized>(vocab: usize, dim: usize, rng: &mut R) -> Self {
        Embedding { weight: Param::new(Tensor::rand_normal(&[vocab, dim], T::zero(), T::one(), rng)) }
    }
    /// A table holding the rows of `matrix` `(vocab, dim)` (pretrained word
    /// vectors, e.g. from [`crate::WordVectors`]). [`Trainable::Frozen`]
    /// makes the table a constant of every forward pass: no gradient, so no
    /// optimizer step changes it, and [`Module::num_params`] does not count
    /// it; it is still the module's `weight`, saved and loaded by name.
    /// PyTorch's `nn.Embedding.from_pretrained(matrix, freeze)`.
    ///
    /// ```
    /// use tapegrad_autodiff::Tape;
    /// use tapegrad_nn::{Binding, Embedding, Module, Trainable};
    /// use tapegrad_tensor::Tensor;
    /// let m = Tensor::from_vec(vec![0.0f32, 1.0, 2.0, 3.0], &[2, 2]);
    /// let emb = Embedding::try_from_pretrained(m, Trainable::Frozen).unwrap();
    /// assert_eq!(emb.num_params(), 0);
    /// let tape = Tape::new();
    /// let x = emb.forward(&Binding::new(&tape), &[1], &[1]).unwrap();
    /// assert_eq!(x.value().data(), &[2.0, 3.0]);
    /// assert!(!x.requires_grad());
    /// assert!(Embedding::try_from_pretrained(Tensor::<f32>::zeros(&[4]), Trainable::Frozen).is_err());
    /// ```
    ///
    /// # Errors
    /// [`NnError::Config`] naming the shape if `matrix` is not 2-D with at
    /// least one row and one column, or holds a NaN or infinity.
    pub fn try_from_pretrained(matrix: Tensor<T>, trainable: Trainable) -> Result<Self> {
        const OP: &str = "Embedding::from_pretrained";
        let s = matrix.shape();
        if s.len() != 2 || s[0] == 0 || s[1] == 0 {
            return Err(NnError::Config { op: OP, message: format!("matrix of shape {s:?} is not (vocab, dim) with vocab, dim >= 1") });
        }
        if let Some(i) = matrix.data().iter().position(|v| !v.is_finite()) {
            return Err(NnError::Config {
                op: OP,
                message: format!("matrix of shape {s:?} holds NaN or infinity at row {}, column {}", i / s[1], i % s[1]),
            });
        }
        Ok(Embedding { weight: Param::with_trainable(matrix, trainable) })
    }
    /// Panicking form of [`Embedding::try_from_pretrained`].
    ///
    /// ```
    /// use tapegrad_nn::{Embedding, Module, Trainable};
    /// use tapegrad_tensor::Tensor;
    /// let emb = Embedding::from_pretrained(Tensor::<f64>::ones(&[3, 2]), Trainable::Trainable);
    /// assert_eq!(emb.num_params(), 6);
    /// ```
    ///
    /// # Panics
    /// With the message of the error `try_from_pretrained` returns.
    #[track_caller]
    pub fn from_pretrained(matrix: Tensor<T>, trainable: Trainable) -> Self {
        Self::try_from_pretrained(matrix, trainable).unwrap_or_else(|e| panic!("{e}"))
    }
    /// The vectors of `ids` (row-major, of shape `shape`), as `(*shape, dim)`.
    ///
    /// # Errors
    /// [`NnError::Target`] for an id past the vocabulary or ids that do not
    /// fill `shape`; a shape-overflow error naming `Embedding` if `shape`'s
    /// element count overflows.
    pub fn forward<'t>(&self, bind: &Binding<'t, T>, ids: &[usize], shape: &[usize]) -> Result<Var<'t, T>> {
        let (vocab, dim) = (self.weight.shape()[0], self.weight.shape()[1]);
        if let Some(bad) = ids.iter().find(|&&i| i >= vocab) {
            return Err(NnError::Target { op: "Embedding", message: format!("id {bad} is out of range for a vocabulary of {vocab}") });
        }
        if ids.len() != tapegrad_tensor::checked_numel("Embedding", shape)? {
            return Err(NnError::Target { op: "Embedding", message: format!("{} ids do not fill shape {shape:?}", ids.len()) });
        }
        let mut out: Shape = Shape::from_slice(shape);
        out.push(dim);
        Ok(bind.param(&self.weight).try_index_select(0, ids)?.try_reshape(&out)?)
    }
}

/// Inverted dropout: in training mode each element is zeroed with
/// probability `p` and the rest scaled by `1/(1-p)`; identity in evaluation.
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, Dropout};
/// use tapegrad_tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let x = tape.constant(Tensor::ones(&[1000]));
/// let y = Dropout::new(0.5).forward(&Binding::with_dropout(&tape, 1), x).unwrap().value();
/// let kept = y.data().iter().filter(|&&v| v == 2.0).count();
/// assert!(400 < kept && kept < 600);
/// assert_eq!(Dropout::new(0.5).forward(&Binding::new(&tape), x).unwrap().index(), x.index());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Dropout {
    p: f64,
}

impl Dropout {
    /// Dropout with probability `p`.
    ///
    /// # Panics
    /// If `p` is not in `[0, 1)`.
    pub fn new(p: f64) -> Self {
        assert!((0.0..1.0).contains(&p), "Dropout::new: p must be in [0, 1), got {p}");
        Dropout { p }
    }
    /// Applies dropout in training mode; returns `x` itself in evaluation.
    ///
    /// # Errors
    /// None in practice (the mask has `x`'s shape).
    pub fn forward<'t, T: Scalar>(&self, bind: &Binding<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        if !bind.dropout_on() || self.p == 0.0 {
            return Ok(x);
        }
        crate::recurrent::dropout(bind, x, self.p)
    }
}

/// Layer normalisation over the last axes (Ba, Kiros & Hinton 2016),
/// PyTorch's `nn.LayerNorm(shape, eps=1e-5)`: `y = (x − μ)/√(σ² + ε) ⊙
/// weight + bias`, `μ` and the biased `σ²` taken over the normalised
/// axes. `weight` starts at 1, `bias` at 0; [`LayerNorm::without_bias`]
/// drops the bias (PyTorch's `bias=False`). One tape record per call
/// ([`Var::try_layer_norm`]).
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, LayerNorm, Module};
/// use tapegrad_tensor::Tensor;
/// let ln = LayerNorm::<f64>::new(&[4]);
/// let tape = Tape::new();
/// let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 8.0], &[2, 4]));
/// let y = ln.forward(&Binding::new(&tape), x).unwrap().value();
/// assert!(y.data()[..4].iter().zip([-1.3416, -0.4472, 0.4472, 1.3416]).all(|(a, b)| (a - b).abs() < 1e-4));
/// assert_eq!(ln.num_params(), 8);
/// assert_eq!(LayerNorm::<f64>::new(&[4]).without_bias().num_params(), 4);
/// assert!(ln.forward(&Binding::new(&tape), tape.constant(Tensor::ones(&[2, 3]))).is_err());
/// ```
#[derive(Debug, Clone, Module)]
#[module(crate = crate)]
pub struct LayerNorm<T: Scalar> {
    /// The gain, of the normalised axes' shape.
    pub weight: Param<T>,
    /// The bias, of the normalised axes' shape (absent after
    /// [`LayerNorm::without_bias`]).
    pub bias: Option<Param<T>>,
    #[module(skip)]
    eps: T,
}

impl<T: Scalar> LayerNorm<T> {
    /// Normalises the last `shape.len()` axes, which must be `shape`;
    /// `ε = 1e-5`.
    pub fn new(shape: &[usize]) -> Self {
        LayerNorm { weight: Param::new(Tensor::ones(shape)), bias: Some(Param::new(Tensor::zeros(shape))), eps: T::from_f64_lossy(1e-5) }
    }
    /// The same without a bias.
    pub fn without_bias(self) -> Self {
        LayerNorm { bias: None, ..self }
    }
    /// The same with `ε = eps`.
    pub fn with_eps(self, eps: T) -> Self {
        LayerNorm { eps, ..self }
    }
    /// Normalises `x`'s last axes.
    ///
    /// # Errors
    /// [`NnError::Autodiff`] naming `layer_norm` and both shapes when `x`'s
    /// last axes are not the normalised shape.
    pub fn forward<'t>(&self, bind: &Binding<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        let bias = self.bias.as_ref().map(|b| bind.param(b));
        Ok(x.try_layer_norm(self.weight.shape().len(), Some(bind.param(&self.weight)), bias, self.eps)?)
    }
}
