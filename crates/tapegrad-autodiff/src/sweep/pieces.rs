//! The gradient of a value read through several `narrow`s, kept as pieces.
//!
//! A sequence's input projection is read one time step at a time (a narrow
//! of rows per step), and an LSTM's gates one quarter at a time. Each
//! narrow's gradient is its piece of the parent's gradient, zero elsewhere.
//! Adding each piece into a zero-filled accumulator writes the parent's
//! gradient once to zero it and once more per piece; when the pieces tile
//! the parent exactly (the usual case), one concatenation writes it once.
//! Pieces are kept until the sweep reaches the parent, or until they hold
//! as many elements as the parent (overlapping narrows), whichever is first.

use tapegrad_tensor::{Scalar, Shape, Tensor};

use crate::Result;

/// Narrow gradients of one value, all along one axis.
pub(crate) struct Pieces<T: Scalar> {
    axis: usize,
    /// `(start, gradient)` in the order they arrived.
    parts: Vec<(usize, Tensor<T>)>,
    elements: usize,
}

impl<T: Scalar> Pieces<T> {
    pub(crate) fn new(axis: usize) -> Self {
        Pieces { axis, parts: Vec::new(), elements: 0 }
    }

    pub(crate) fn axis(&self) -> usize {
        self.axis
    }

    /// Elements held so far.
    pub(crate) fn elements(&self) -> usize {
        self.elements
    }

    /// Adds the gradient of the narrow starting at `start`.
    pub(crate) fn push(&mut self, start: usize, g: Tensor<T>) {
        self.elements += g.numel();
        self.parts.push((start, g));
    }

    /// The whole gradient of the value of `shape`: the pieces added into
    /// `acc` (the gradient from its other users) if there is one, else
    /// concatenated if they tile `shape` along the axis, else added into
    /// zeros.
    pub(crate) fn into_gradient(mut self, shape: &Shape, acc: Option<Tensor<T>>) -> Result<Tensor<T>> {
        let axis = self.axis;
        if acc.is_none() {
            self.parts.sort_by_key(|p| p.0);
            let mut end = 0;
            let tiles = self.parts.iter().all(|(start, g)| {
                let ok = *start == end && g.shape().get(axis).is_some();
                end += g.shape().get(axis).copied().unwrap_or(0);
                ok
            }) && shape.get(axis) == Some(&end);
            if tiles {
                if let [(_, g)] = &self.parts[..] {
                    return Ok(g.clone());
                }
                let refs: Vec<&Tensor<T>> = self.parts.iter().map(|p| &p.1).collect();
                return Ok(Tensor::try_concat(&refs, axis)?);
            }
        }
        let mut acc = acc.unwrap_or_else(|| Tensor::zeros(shape));
        for (start, g) in &self.parts {
            acc.try_narrow_add_assign(axis, *start, g)?;
        }
        Ok(acc)
    }
}
