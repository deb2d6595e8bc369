//! Attention over an encoder's outputs: additive (Bahdanau) and
//! multiplicative (Luong "dot" and "general"), composed of autodiff ops,
//! with padded source positions given exactly zero weight.

use rand::Rng;
use tapegrad_autodiff::Var;
use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::{Binding, Module, NnError, Param, Result};

/// How a query is scored against each encoder output `h_s`, and the
/// parameters of that score. The weights are `softmax_s(score)` over the
/// real (unpadded) source positions; the context is `Σ_s weight_s · h_s`.
///
/// - [`Attention::Additive`] (Bahdanau): `vᵀ tanh(W_q q + W_k h_s + b)`.
/// - [`Attention::Dot`] (Luong): `q · h_s` (query and encoder sizes equal).
/// - [`Attention::General`] (Luong): `q · W · h_s`.
///
/// Padded source positions (at or past a sequence's length) are set to
/// `-∞` with a `where` before the softmax, so their weights are exactly
/// `0.0`, and the encoder outputs there are replaced by zeros (again with
/// `where`) before they are scored or summed: whatever the padding holds
/// (even NaN) has no effect and receives exactly zero gradient.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Attention, Binding};
/// use tapegrad_tensor::Tensor;
/// let mut rng = StdRng::seed_from_u64(0);
/// let att = Attention::<f64>::additive(3, 4, 5, &mut rng);
/// let tape = Tape::new();
/// let enc = tape.constant(Tensor::rand_uniform(&[6, 2, 4], -1.0, 1.0, &mut rng)); // (S, B, Dk)
/// let query = tape.constant(Tensor::rand_uniform(&[2, 3], -1.0, 1.0, &mut rng)); // (B, Dq)
/// let out = att.forward(&Binding::new(&tape), query, enc, Some(&[6, 2])).unwrap();
/// assert_eq!(out.context.shape().as_slice(), &[2, 4]);
/// let w = out.weights.value(); // (B, S)
/// assert_eq!(&w.data()[8..], &[0.0, 0.0, 0.0, 0.0]); // sequence 1 has 2 real positions
/// ```
#[derive(Debug, Clone, Module)]
#[module(crate = crate)]
#[non_exhaustive]
// A layer is made once and held by value: the 288 bytes of the additive
// variant cost nothing that boxing its fields would save.
#[allow(clippy::large_enum_variant)]
pub enum Attention<T: Scalar> {
    /// Bahdanau's additive score `vᵀ tanh(W_q q + W_k h + b)`.
    Additive {
        /// `W_q`, `(A, Dq)`.
        w_query: Param<T>,
        /// `W_k`, `(A, Dk)`.
        w_key: Param<T>,
        /// `b`, `(A)`.
        bias: Param<T>,
        /// `v`, `(A)`.
        v: Param<T>,
    },
    /// Luong's dot score `q · h` (no parameters).
    Dot,
    /// Luong's general score `q · W · h`.
    General {
        /// `W`, `(Dq, Dk)`.
        weight: Param<T>,
    },
}

/// What [`Attention::forward`] returns.
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Attended, Attention, Binding};
/// use tapegrad_tensor::Tensor;
/// let tape = Tape::<f64>::new();
/// let enc = tape.constant(Tensor::ones(&[4, 2, 3]));
/// let q = tape.constant(Tensor::ones(&[5, 2, 3])); // 5 queries per sequence
/// let Attended { context, weights } = Attention::dot().forward(&Binding::new(&tape), q, enc, None).unwrap();
/// assert_eq!((context.shape().as_slice(), weights.shape().as_slice()), (&[5, 2, 3][..], &[2, 5, 4][..]));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Attended<'t, T: Scalar> {
    /// `Σ_s weight_s · h_s`: `(B, Dk)` for a `(B, Dq)` query, `(Tq, B, Dk)`
    /// for a `(Tq, B, Dq)` one.
    pub context: Var<'t, T>,
    /// The attention weights: `(B, S)` for a `(B, Dq)` query, `(B, Tq, S)`
    /// for a `(Tq, B, Dq)` one; exactly 0 at padded source positions.
    pub weights: Var<'t, T>,
}

const OP: &str = "Attention";

impl<T: Scalar> Attention<T> {
    /// Additive attention for queries of size `query`, encoder outputs of
    /// size `key`, and `hidden` units; every parameter `U(-k, k)` with
    /// `k = 1/sqrt(fan_in)` (as `Linear`).
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_nn::{Attention, Module};
    /// let att = Attention::<f32>::additive(3, 4, 5, &mut StdRng::seed_from_u64(0));
    /// assert_eq!(att.num_params(), 5 * 3 + 5 * 4 + 5 + 5);
    /// ```
    pub fn additive<R: Rng + ?Sized>(query: usize, key: usize, hidden: usize, rng: &mut R) -> Self {
        let u = |shape: &[usize], fan_in: usize, rng: &mut R| {
            let k = T::from_f64_lossy(1.0 / (fan_in.max(1) as f64).sqrt());
            Param::new(Tensor::rand_uniform(shape, -k, k, rng))
        };
        Attention::Additive {
            w_query: u(&[hidden, query], query, rng),
            w_key: u(&[hidden, key], key, rng),
            bias: u(&[hidden], key, rng),
            v: u(&[hidden], hidden, rng),
        }
    }

    /// Dot-product attention (query and encoder sizes must be equal).
    ///
    /// ```
    /// use tapegrad_nn::{Attention, Module};
    /// assert_eq!(Attention::<f32>::dot().num_params(), 0);
    /// ```
    pub fn dot() -> Self {
        Attention::Dot
    }

    /// General (bilinear) attention, `W` `(query, key)` drawn `U(-k, k)`
    /// with `k = 1/sqrt(key)`.
    ///
    /// ```
    /// use rand::{rngs::StdRng, SeedableRng};
    /// use tapegrad_nn::{Attention, Module};
    /// assert_eq!(Attention::<f32>::general(3, 4, &mut StdRng::seed_from_u64(0)).num_params(), 12);
    /// ```
    pub fn general<R: Rng + ?Sized>(query: usize, key: usize, rng: &mut R) -> Self {
        let k = T::from_f64_lossy(1.0 / (key.max(1) as f64).sqrt());
        Attention::General { weight: Param::new(Tensor::rand_uniform(&[query, key], -k, k, rng)) }
    }

    /// `(Dq, Dk)` this score needs, `None` for either that is free (dot).
    fn sizes(&self) -> (Option<usize>, Option<usize>) {
        match self {
            Attention::Additive { w_query, w_key, .. } => (Some(w_query.shape()[1]), Some(w_key.shape()[1])),
            Attention::Dot => (None, None),
            Attention::General { weight } => (Some(weight.shape()[0]), Some(weight.shape()[1])),
        }
    }

    /// Attends from `query` — `(B, Dq)`, or `(Tq, B, Dq)` for `Tq` queries
    /// per sequence — over `encoder` outputs `(S, B, Dk)` (time-major, as
    /// [`crate::Rnn`] returns them), of which sequence `b` has
    /// `lengths[b]` real positions (all `S` if `None`).
    ///
    /// ```
    /// use tapegrad_autodiff::Tape;
    /// use tapegrad_nn::{Attention, Binding};
    /// use tapegrad_tensor::Tensor;
    /// let tape = Tape::<f64>::new();
    /// let enc = tape.constant(Tensor::from_vec(vec![1.0, 0.0, 0.0, 1.0, 5.0, 5.0], &[3, 1, 2]));
    /// let q = tape.constant(Tensor::from_vec(vec![1.0, 0.0], &[1, 2]));
    /// let out = Attention::dot().forward(&Binding::new(&tape), q, enc, Some(&[2])).unwrap();
    /// let e = 1f64.exp();
    /// assert_eq!(out.weights.value().data(), &[e / (e + 1.0), 1.0 / (e + 1.0), 0.0]);
    /// ```
    ///
    /// # Errors
    /// [`NnError::InputShape`] for shapes that do not fit each other or
    /// the parameters, [`NnError::Empty`] for `S = 0`, `B = 0` or
    /// `Tq = 0`, [`NnError::Lengths`] for lengths that are not one per
    /// sequence in `1..=S`, and [`NnError::NonFinite`] for a NaN or
    /// infinity in the query or a real encoder position.
    pub fn forward<'t>(
        &self,
        bind: &Binding<'t, T>,
        query: Var<'t, T>,
        encoder: Var<'t, T>,
        lengths: Option<&[usize]>,
    ) -> Result<Attended<'t, T>> {
        let (steps, batch, _) = self.validate(&query.shape(), &encoder.shape())?;
        let lengths = check_lengths(OP, lengths, steps, batch)?;
        check_finite(OP, &query.value(), None)?;
        check_finite(OP, &encoder.value(), Some(&lengths))?;
        let tape = bind.tape();
        let single = query.shape().len() == 2;
        let q = if single { query.try_unsqueeze(0)? } else { query }.try_transpose(0, 1)?; // (B, Tq, Dq)
        let tq = q.shape()[1];
        let real = real_mask::<T>(&lengths, steps); // (S, B, 1)
        let zero = tape.constant(Tensor::scalar(T::zero()));
        let keys = Var::try_where_cond(&real, encoder, zero)?.try_transpose(0, 1)?; // (B, S, Dk), zero at padding
        let scores = self.scores(bind, q, keys)?; // (B, Tq, S)
        let keep = real.try_reshape(&[steps, batch])?.try_transpose(0, 1)?.try_reshape(&[batch, 1, steps])?;
        let minus_inf = tape.constant(Tensor::scalar(T::neg_infinity()));
        let weights = Var::try_where_cond(&keep, scores, minus_inf)?.try_softmax(2)?; // exp(-inf - lse) = 0 exactly
        let context = weights.try_matmul(keys)?.try_transpose(0, 1)?; // (Tq, B, Dk)
        debug_assert_eq!(context.shape()[0], tq);
        if single {
            Ok(Attended { context: context.try_squeeze(0)?, weights: weights.try_squeeze(1)? })
        } else {
            Ok(Attended { context, weights })
        }
    }

    /// Checks the shapes; returns `(S, B, Dk)`.
    fn validate(&self, q: &Shape, enc: &Shape) -> Result<(usize, usize, usize)> {
        let (dq, dk) = self.sizes();
        let dk_text = dk.map_or("Dk".to_string(), |d| d.to_string());
        if enc.len() != 3 || dk.is_some_and(|d| enc[2] != d) {
            return Err(NnError::InputShape { op: OP, expected: format!("encoder outputs (S, B, {dk_text})"), got: enc.clone() });
        }
        let (s, b, k) = (enc[0], enc[1], enc[2]);
        for (n, what) in [(s, "the sequence"), (b, "the batch")] {
            if n == 0 {
                return Err(NnError::Empty { op: OP, what, shape: enc.clone() });
            }
        }
        let dq = dq.unwrap_or(k);
        let fits = match q.len() {
            2 => q[0] == b && q[1] == dq,
            3 => q[1] == b && q[2] == dq,
            _ => false,
        };
        if !fits {
            return Err(NnError::InputShape { op: OP, expected: format!("query ({b}, {dq}) or (Tq, {b}, {dq})"), got: q.clone() });
        }
        if q.len() == 3 && q[0] == 0 {
            return Err(NnError::Empty { op: OP, what: "the query sequence", shape: q.clone() });
        }
        Ok((s, b, k))
    }

    /// Scores `(B, Tq, S)` of queries `q` `(B, Tq, Dq)` against keys
    /// `(B, S, Dk)`.
    fn scores<'t>(&self, bind: &Binding<'t, T>, q: Var<'t, T>, keys: Var<'t, T>) -> Result<Var<'t, T>> {
        Ok(match self {
            Attention::Dot => q.try_matmul(keys.t())?,
            Attention::General { weight } => q.try_matmul(bind.param(weight))?.try_matmul(keys.t())?,
            Attention::Additive { w_query, w_key, bias, v } => {
                let (b, tq, s, a) = (q.shape()[0], q.shape()[1], keys.shape()[1], v.shape()[0]);
                let pq = q.try_matmul(bind.param(w_query).t())?.try_reshape(&[b, tq, 1, a])?;
                let pk = keys.try_matmul(bind.param(w_key).t())?.try_add(bind.param(bias))?.try_reshape(&[b, 1, s, a])?;
                let e = pq.try_add(pk)?.tanh().try_reshape(&[b * tq * s, a])?;
                e.try_matmul(bind.param(v).try_reshape(&[a, 1])?)?.try_reshape(&[b, tq, s])?
            }
        })
    }
}

/// The lengths (all `steps` if `None`), checked to be one per sequence in
/// `1..=steps`.
pub(crate) fn check_lengths(op: &'static str, lengths: Option<&[usize]>, steps: usize, batch: usize) -> Result<Vec<usize>> {
    let Some(l) = lengths else { return Ok(vec![steps; batch]) };
    let err = |why| NnError::Lengths { op, lengths: l.to_vec(), steps, batch, why };
    if l.len() != batch {
        return Err(err("one length per sequence is needed"));
    }
    if l.contains(&0) {
        return Err(err("a length of zero"));
    }
    if l.iter().any(|&n| n > steps) {
        return Err(err("a length longer than the input"));
    }
    Ok(l.to_vec())
}

/// `(S, B, 1)`: 1 at the real positions of each sequence, 0 at padding.
pub(crate) fn real_mask<T: Scalar>(lengths: &[usize], steps: usize) -> Tensor<T> {
    let batch = lengths.len();
    let data = (0..steps).flat_map(|t| lengths.iter().map(move |&n| if t < n { T::one() } else { T::zero() })).collect();
    Tensor::from_vec(data, &[steps, batch, 1])
}

/// [`NnError::NonFinite`] for the first NaN or infinity of `x`; with
/// `lengths`, `x` is time-major `(S, B, ...)` and its padding is skipped.
pub(crate) fn check_finite<T: Scalar>(op: &'static str, x: &Tensor<T>, lengths: Option<&[usize]>) -> Result<()> {
    let s = x.shape();
    let inner: usize = s.iter().skip(2).product();
    let real = |i: usize| match lengths {
        None => true,
        Some(l) => {
            let (t, b) = (i / (inner * l.len()), (i / inner) % l.len());
            t < l[b]
        }
    };
    match x.data().iter().enumerate().find(|(i, v)| !v.is_finite() && real(*i)) {
        Some((index, _)) => Err(NnError::NonFinite { op, shape: Shape::from_slice(s), index }),
        None => Ok(()),
    }
}
