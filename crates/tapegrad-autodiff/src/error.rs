//! The one error type of this crate.

use tapegrad_tensor::{Shape, TensorError};

/// Why a differentiable operation, a backward sweep or a gradient check
/// failed.
///
/// Messages name the operation and the shapes involved. Panicking forms
/// (`x.matmul(w)`, `a + b`) panic with exactly this message.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum AutodiffError {
    /// A tensor operation refused its operands (bad shape, axis or index).
    #[error(transparent)]
    Tensor(#[from] TensorError),
    /// Operands recorded on two different tapes were combined.
    #[error("{op}: operands belong to different tapes")]
    TapeMismatch {
        /// The operation.
        op: &'static str,
    },
    /// A gradient was asked of a non-scalar output without a seed.
    #[error("{op}: output of shape {shape:?} is not a scalar; pass a seed gradient of that shape (vjp)")]
    NotScalar {
        /// The operation (`backward`, `grad`, ...).
        op: &'static str,
        /// The output's shape.
        shape: Shape,
    },
    /// A seed gradient whose shape differs from the output's.
    #[error("{op}: seed of shape {seed:?} does not match output of shape {output:?}")]
    SeedShape {
        /// The operation.
        op: &'static str,
        /// The output's shape.
        output: Shape,
        /// The seed's shape.
        seed: Shape,
    },
    /// A gradient was read for a value the output does not depend on.
    #[error("no gradient for {what}: the output does not depend on it")]
    NoGradient {
        /// Which value (its name or tape index).
        what: String,
    },
    /// A gradient was asked with respect to a constant or detached value.
    #[error("{what} does not require grad (it is a constant, detached, or was made under no_grad)")]
    NotDifferentiable {
        /// Which value.
        what: String,
    },
    /// A custom op's forward or backward failed.
    #[error("custom op `{op}`: {message}")]
    Custom {
        /// The custom op's name.
        op: String,
        /// What went wrong.
        message: String,
    },
    /// A backward rule (a custom op's) returned a gradient whose shape is
    /// neither its input's nor one the input broadcasts to.
    #[error("{op} backward: returned a gradient of shape {gradient:?} for an input of shape {input:?}")]
    GradientShape {
        /// The op whose rule it is.
        op: String,
        /// The shape of the gradient returned.
        gradient: Shape,
        /// The input's shape.
        input: Shape,
    },
    /// A backward rule (a custom op's) returned a number of gradients other
    /// than its number of inputs.
    #[error("{op} backward: returned {returned} gradients for {inputs} inputs")]
    GradientCount {
        /// The op whose rule it is.
        op: String,
        /// How many gradients it returned.
        returned: usize,
        /// How many inputs the op has.
        inputs: usize,
    },
    /// Anomaly mode found a NaN or infinity in an op's output.
    #[error("{op} produced a non-finite value in the {phase} sweep (shape {shape:?}) at {location}")]
    NonFinite {
        /// The op whose output (or gradient) is not finite.
        op: String,
        /// `"forward"` or `"backward"`.
        phase: &'static str,
        /// Shape of the offending tensor.
        shape: Shape,
        /// The user's call site that recorded the op.
        location: String,
    },
    /// A statistic along an axis was asked of fewer elements than it needs
    /// (an unbiased variance of one element divides by zero).
    #[error("{op}: axis {axis} of shape {shape:?} has {size} element(s); {what} needs at least {needed}")]
    TooFewElements {
        /// The operation.
        op: &'static str,
        /// The reduced axis.
        axis: usize,
        /// The input's shape.
        shape: Shape,
        /// The axis' size.
        size: usize,
        /// What the statistic needs.
        needed: usize,
        /// The estimate asked for, in words.
        what: &'static str,
    },
    /// A normalisation over the last `axes` axes of a tensor that has no
    /// such axes (none asked, or more than its rank).
    #[error("{op}: cannot normalise over the last {axes} axes of shape {shape:?}: need between 1 and its rank")]
    NormalizedAxes {
        /// The operation.
        op: &'static str,
        /// How many trailing axes were asked.
        axes: usize,
        /// The input's shape.
        shape: Shape,
    },
    /// A value made inside a fused region ([`crate::Tape::fused`]) was
    /// read by an op that a region cannot hold (anything but elementwise
    /// ops and `narrow`).
    #[error("{op} at {location}: reads a value made inside a fused region, where only elementwise ops and narrow run; return the value from the region and use it after")]
    InsideFusedRegion {
        /// The op that read the value.
        op: String,
        /// The user's call site of that op.
        location: String,
    },
    /// A value made inside a fused region was used after the region ended
    /// without being returned from it (only returned values outlive it).
    #[error("{op} at {location}: reads a value made inside a fused region that has ended; return the value from the region's closure to use it after")]
    FusedValueOutlived {
        /// The op that read the value.
        op: String,
        /// The user's call site of that op.
        location: String,
    },
    /// A gradient check could not run (not a failed comparison: see the
    /// report for that).
    #[error("gradcheck: {message}")]
    Gradcheck {
        /// What went wrong.
        message: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T, E = AutodiffError> = std::result::Result<T, E>;

/// Unwraps the result of a `try_` op, panicking with the error's message.
#[track_caller]
pub(crate) fn or_panic<V>(r: Result<V>) -> V {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{e}"),
    }
}
