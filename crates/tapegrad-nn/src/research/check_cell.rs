//! [`check_cell`]: every property a recurrent cell must have, checked over
//! random sizes with shrunk counterexamples.

use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tapegrad_autodiff::{causality_violation, GradcheckOptions, Tape, Var};
use tapegrad_tensor::Tensor;

use crate::{gradcheck_layer, Binding, Cell, LayerCheckOptions, Module, NnError, Result, Rnn, State};

/// A property [`check_cell`] tests.
///
/// ```
/// use tapegrad_nn::{CellCheckOptions, CellProperty};
/// // Check only the gradient, over more cases.
/// let opts = CellCheckOptions { cases: 64, properties: vec![CellProperty::Gradient], ..CellCheckOptions::default() };
/// assert_eq!(CellProperty::Gradient.to_string(), "gradient (BPTT vs finite differences)");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CellProperty {
    /// BPTT gradients of every parameter, the input and the initial state
    /// agree with central finite differences in f64.
    Gradient,
    /// A sample's outputs and gradients do not depend on the other samples
    /// of its batch.
    BatchIndependence,
    /// The output at step `t` does not depend on inputs after `t`.
    Causality,
    /// Padded steps (with `lengths`) change no output, final state or
    /// gradient.
    PaddingInvariance,
    /// The same seed gives bit-identical parameters, outputs and gradients.
    Determinism,
    /// Every parameter a step uses is declared by the cell's `Module`
    /// (else it would get a gradient but never be updated or saved).
    Declared,
    /// [`Cell::forward`] is [`Cell::project`] then [`Cell::step`], bit for
    /// bit, at every step (the layers use the two; a cell that overrides
    /// `forward` must agree).
    OnePath,
}

impl CellProperty {
    /// Every property, in checking order.
    pub const ALL: [CellProperty; 7] = [
        CellProperty::Declared,
        CellProperty::OnePath,
        CellProperty::Gradient,
        CellProperty::BatchIndependence,
        CellProperty::Causality,
        CellProperty::PaddingInvariance,
        CellProperty::Determinism,
    ];
    /// Smallest (steps, batch) for which the property says anything.
    fn min_size(self) -> (usize, usize) {
        match self {
            CellProperty::Causality => (2, 1),
            CellProperty::BatchIndependence => (1, 2),
            _ => (1, 1),
        }
    }
}

impl fmt::Display for CellProperty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CellProperty::Gradient => "gradient (BPTT vs finite differences)",
            CellProperty::BatchIndependence => "batch independence",
            CellProperty::Causality => "causality",
            CellProperty::PaddingInvariance => "padding invariance",
            CellProperty::Determinism => "determinism",
            CellProperty::Declared => "every parameter declared",
            CellProperty::OnePath => "forward = project then step",
        })
    }
}

/// One random case: sizes, and the seed of the cell and of every value.
///
/// ```
/// use tapegrad_nn::CellCase;
/// let c = CellCase { steps: 2, batch: 1, input: 3, hidden: 4, seed: 255 };
/// assert_eq!(c.to_string(), "T=2 B=1 I=3 H=4 seed=0xff");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CellCase {
    /// Time steps `T`.
    pub steps: usize,
    /// Batch size `B`.
    pub batch: usize,
    /// Input features `I`.
    pub input: usize,
    /// Hidden size `H`.
    pub hidden: usize,
    /// Seed passed to the cell constructor and of the inputs, initial
    /// state, lengths and loss weights.
    pub seed: u64,
}

impl fmt::Display for CellCase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "T={} B={} I={} H={} seed={:#x}", self.steps, self.batch, self.input, self.hidden, self.seed)
    }
}

/// What [`check_cell`] tries.
///
/// ```
/// use tapegrad_nn::CellCheckOptions;
/// let wide = CellCheckOptions { max_size: [8, 4, 6, 6], seed: 7, ..CellCheckOptions::default() };
/// assert_eq!(wide.cases, 16);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CellCheckOptions {
    /// Random cases per property (default 16).
    pub cases: usize,
    /// Seed of the cases (default 0).
    pub seed: u64,
    /// Largest `T`, `B`, `I`, `H` drawn (defaults 5, 3, 3, 4).
    pub max_size: [usize; 4],
    /// Most smaller cases tried when shrinking one failure (default 48).
    pub max_shrinks: usize,
    /// Options of the gradient property's check (PyTorch's tolerances).
    pub gradcheck: GradcheckOptions,
    /// The properties to check (default all).
    pub properties: Vec<CellProperty>,
}

impl Default for CellCheckOptions {
    fn default() -> Self {
        CellCheckOptions {
            cases: 16,
            seed: 0,
            max_size: [5, 3, 3, 4],
            max_shrinks: 48,
            gradcheck: GradcheckOptions::default(),
            properties: CellProperty::ALL.to_vec(),
        }
    }
}

/// The smallest failing case found for a property, and why it fails.
#[derive(Debug, Clone, PartialEq)]
pub struct Counterexample {
    /// The (shrunk) failing case.
    pub case: CellCase,
    /// The random case that failed first.
    pub original: CellCase,
    /// How many successful shrinks led from `original` to `case`.
    pub shrinks: usize,
    /// What went wrong, with the offending values.
    pub message: String,
}

/// The outcome of one property.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyReport {
    /// The property.
    pub property: CellProperty,
    /// Cases that passed before the first failure (all, if none failed).
    pub passed_cases: usize,
    /// The minimal counterexample, if a case failed.
    pub failure: Option<Counterexample>,
}

/// What [`check_cell`] found: one entry per property, each with the cases
/// that passed and, if one failed, its minimal [`Counterexample`];
/// readable with `{}`.
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{check_cell, CellCheckOptions, CellProperty, GruCell};
/// // A cell that supports only one hidden unit: the failure shrinks to H = 2.
/// let opts = CellCheckOptions { properties: vec![CellProperty::Determinism], ..CellCheckOptions::default() };
/// let make = |i, h, s| {
///     assert!(h == 1, "hidden size {h} unsupported");
///     GruCell::<f64>::new(i, h, &mut StdRng::seed_from_u64(s))
/// };
/// let report = check_cell(make, &opts).unwrap();
/// assert!(!report.passed());
/// let c = report.failure(CellProperty::Determinism).unwrap();
/// assert_eq!((c.case.hidden, c.message.contains("hidden size 2 unsupported")), (2, true));
/// assert!(report.to_string().contains("minimal counterexample: T="));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CellCheckReport {
    /// Per-property outcomes, in checking order.
    pub properties: Vec<PropertyReport>,
}

impl CellCheckReport {
    /// Whether every property held on every case.
    pub fn passed(&self) -> bool {
        self.properties.iter().all(|p| p.failure.is_none())
    }
    /// The counterexample of `property`, if it failed.
    pub fn failure(&self, property: CellProperty) -> Option<&Counterexample> {
        self.properties.iter().find(|p| p.property == property).and_then(|p| p.failure.as_ref())
    }
}

impl fmt::Display for CellCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.properties.iter().filter(|p| p.failure.is_some()).count();
        match failed {
            0 => writeln!(f, "check_cell passed ({} properties)", self.properties.len())?,
            n => writeln!(f, "check_cell FAILED ({n} of {} properties)", self.properties.len())?,
        }
        for p in &self.properties {
            match &p.failure {
                None => writeln!(f, "  {}: ok, {} cases", p.property, p.passed_cases)?,
                Some(c) => {
                    writeln!(f, "  {}: FAILED after {} passing cases", p.property, p.passed_cases)?;
                    writeln!(f, "    minimal counterexample: {} (shrunk {} times from {})", c.case, c.shrinks, c.original)?;
                    for line in c.message.lines() {
                        writeln!(f, "    {line}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Property-tests a new cell in f64 over random `T`, batch, input and
/// hidden sizes and values: for each property of [`CellProperty`], up to
/// `options.cases` random cases; the first failing case is shrunk (smaller
/// sizes, same seed, kept while it still fails) and reported with what went
/// wrong. The cell runs in a one-layer unidirectional [`Rnn`], made by
/// `make(input, hidden, seed)`.
///
/// - *Gradient*: [`gradcheck_layer`] with a random initial state (its
///   random projections seeded by the case).
/// - *Batch independence*: the gradient of one sample's outputs and final
///   state with respect to every other sample's input and initial state is
///   exactly zero, and the sample run alone gives the same outputs, final
///   state and gradients (to `1e-9·(1 + |a| + |b|)`: only rounding, from
///   products of other shapes, may differ).
/// - *Causality*: [`tapegrad_autodiff::causality_violation`] on the layer
///   (exact zeros).
/// - *Padding invariance*: with random `lengths`, appending padded steps
///   of random values changes no output, final state or gradient (to
///   the same `1e-9`), outputs at padded steps are exactly zero, and so
///   are gradients with respect to padded inputs.
/// - *Determinism*: two cells made with the same seed have bit-identical
///   parameters; three runs (two on one cell) give bit-identical outputs,
///   final states and gradients.
///
/// A panic or error inside the cell counts as a failure of the property
/// (the panic hook still prints the panic).
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{check_cell, CellCheckOptions, GruCell};
/// let opts = CellCheckOptions { cases: 2, ..CellCheckOptions::default() };
/// let report = check_cell(|i, h, seed| GruCell::<f64>::new(i, h, &mut StdRng::seed_from_u64(seed)), &opts).unwrap();
/// assert!(report.passed(), "{report}");
/// ```
///
/// # Errors
/// [`NnError::Config`] if a maximum size is zero. Failures of the cell are
/// not errors: see [`CellCheckReport::passed`].
pub fn check_cell<C, F>(make: F, options: &CellCheckOptions) -> Result<CellCheckReport>
where
    C: Cell<f64>,
    F: Fn(usize, usize, u64) -> C,
{
    if options.max_size.contains(&0) {
        return Err(NnError::Config { op: "check_cell", message: format!("max_size {:?} has a zero", options.max_size) });
    }
    let mut rng = StdRng::seed_from_u64(options.seed);
    let [mt, mb, mi, mh] = options.max_size;
    let cases: Vec<CellCase> = (0..options.cases)
        .map(|_| CellCase {
            steps: rng.random_range(1..=mt),
            batch: rng.random_range(1..=mb),
            input: rng.random_range(1..=mi),
            hidden: rng.random_range(1..=mh),
            seed: rng.random(),
        })
        .collect();
    let mut properties = Vec::new();
    for &p in &options.properties {
        let (min_t, min_b) = p.min_size();
        let fit = |c: CellCase| CellCase { steps: c.steps.max(min_t), batch: c.batch.max(min_b), ..c };
        let check = |c: CellCase| run_property(p, &make, c, &options.gradcheck);
        let mut report = PropertyReport { property: p, passed_cases: 0, failure: None };
        for &case in &cases {
            let case = fit(case);
            if let Err(message) = check(case) {
                report.failure = Some(shrink(&check, case, message, (min_t, min_b), options.max_shrinks));
                break;
            }
            report.passed_cases += 1;
        }
        properties.push(report);
    }
    Ok(CellCheckReport { properties })
}

/// Greedily retries smaller sizes while the property still fails.
fn shrink(check: &dyn Fn(CellCase) -> Verdict, case: CellCase, message: String, min: (usize, usize), budget: usize) -> Counterexample {
    let mut best = Counterexample { case, original: case, shrinks: 0, message };
    let mut tries = 0;
    'outer: loop {
        let c = best.case;
        let dims = [c.steps, c.batch, c.input, c.hidden];
        let mins = [min.0, min.1, 1, 1];
        for d in 0..4 {
            let mut sizes = vec![mins[d], dims[d] / 2, dims[d].saturating_sub(1)];
            sizes.retain(|&s| s >= mins[d] && s < dims[d]);
            sizes.dedup();
            for s in sizes {
                if tries >= budget {
                    break 'outer;
                }
                tries += 1;
                let mut smaller = dims;
                smaller[d] = s;
                let cand = CellCase { steps: smaller[0], batch: smaller[1], input: smaller[2], hidden: smaller[3], seed: c.seed };
                if let Err(message) = check(cand) {
                    best = Counterexample { case: cand, shrinks: best.shrinks + 1, message, ..best };
                    continue 'outer;
                }
            }
        }
        break;
    }
    best
}

/// Why a case fails a property (`Err`), or that it passes.
type Verdict = std::result::Result<(), String>;

/// The random values of one case.
pub(super) struct Data {
    x: Tensor<f64>,
    init: Vec<Tensor<f64>>,
    w_out: Tensor<f64>,
    w_last: Vec<Tensor<f64>>,
    lengths: Vec<usize>,
    padding: Tensor<f64>,
}

fn data<C: Cell<f64>>(cell: &C, c: CellCase) -> Data {
    let mut rng = StdRng::seed_from_u64(c.seed ^ 0xda7a);
    let probe = Tape::new();
    let shapes: Vec<Vec<usize>> = cell.zero_state(&probe, c.batch).parts().iter().map(|p| p.shape().to_vec()).collect();
    let mut u = |shape: &[usize], a: f64| Tensor::rand_uniform(shape, -a, a, &mut rng);
    let x = u(&[c.steps, c.batch, c.input], 1.0);
    let init = shapes.iter().map(|s| u(s, 0.8)).collect();
    let w_out = u(&[c.steps, c.batch, c.hidden], 1.0);
    let w_last = shapes.iter().map(|s| u(s, 1.0)).collect();
    let padding = u(&[1 + (c.seed % 2) as usize, c.batch, c.input], 1.0);
    let lengths = (0..c.batch).map(|_| rng.random_range(1..=c.steps)).collect();
    Data { x, init, w_out, w_last, lengths, padding }
}

/// Outputs, final state and gradients of `Σ w_out ⊙ output[..T'] + Σ w_last ⊙ last`.
struct Run {
    output: Tensor<f64>,
    last: Vec<Tensor<f64>>,
    params: Vec<(String, Tensor<f64>)>,
    input: Tensor<f64>,
    init: Vec<Tensor<f64>>,
}

impl Run {
    /// Sample `b`'s share (parameter gradients unchanged).
    fn sample(&self, b: usize) -> Run {
        let rows = |v: &[Tensor<f64>]| v.iter().map(|t| t.narrow(0, b, 1)).collect();
        let (output, input) = (self.output.narrow(1, b, 1), self.input.narrow(1, b, 1));
        Run { output, last: rows(&self.last), params: self.params.clone(), input, init: rows(&self.init) }
    }
    /// The first `steps` steps of output and input gradient.
    fn first_steps(&self, steps: usize) -> Run {
        let (output, input) = (self.output.narrow(0, 0, steps), self.input.narrow(0, 0, steps));
        Run { output, last: self.last.clone(), params: self.params.clone(), input, init: self.init.clone() }
    }
    /// The first difference from `other`: bitwise (`tol` None) or beyond `tol` relative.
    fn compare(&self, other: &Run, tol: Option<f64>, ctx: &str) -> Verdict {
        let parts = |r: &Run| {
            let mut v: Vec<(String, Tensor<f64>)> = vec![("output".into(), r.output.clone())];
            v.extend(r.last.iter().enumerate().map(|(k, t)| (format!("final state part {k}"), t.clone())));
            v.extend(r.params.iter().map(|(n, g)| (format!("gradient of `{n}`"), g.clone())));
            v.push(("gradient of the input".into(), r.input.clone()));
            v.extend(r.init.iter().enumerate().map(|(k, t)| (format!("gradient of initial state part {k}"), t.clone())));
            v
        };
        parts(self).iter().zip(parts(other)).try_for_each(|((what, a), (_, b))| differ(&format!("{ctx}: {what}"), a, &b, tol))
    }
}

fn run<C: Cell<f64>>(
    layer: &Rnn<C>,
    x: &Tensor<f64>,
    init: &[Tensor<f64>],
    lengths: Option<&[usize]>,
    w_out: &Tensor<f64>,
    w_last: &[Tensor<f64>],
) -> Result<Run> {
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let mut params = Vec::new();
    for (name, p) in layer.params() {
        let v = tape.leaf_named(&name, p.value().clone());
        bind.try_bind(p, v)?;
        params.push((name, v));
    }
    let xv = tape.leaf_named("input", x.clone());
    let init: Vec<Var<'_, f64>> = init.iter().map(|t| tape.leaf(t.clone())).collect();
    let out = layer.forward(&bind, xv, Some(&[C::State::from_parts(&init)]), lengths)?;
    let y = out.output.try_narrow(0, 0, w_out.shape()[0])?;
    let mut loss = y.try_mul(tape.constant(w_out.clone()))?.sum_all();
    let last = out.last[0].parts();
    for (p, w) in last.iter().zip(w_last) {
        loss = loss.try_add(p.try_mul(tape.constant(w.clone()))?.sum_all())?;
    }
    let g = tape.backward(loss)?;
    let grad = |v: Var<'_, f64>| g.get(v).cloned().unwrap_or_else(|_| Tensor::zeros(&v.shape()));
    Ok(Run {
        output: out.output.value(),
        last: last.iter().map(|p| p.value()).collect(),
        params: params.into_iter().map(|(n, v)| (n, grad(v))).collect(),
        input: grad(xv),
        init: init.into_iter().map(grad).collect(),
    })
}

/// The first element where `a` and `b` differ: bitwise (`tol` None) or by
/// more than `tol·(1 + |a| + |b|)`.
fn differ(what: &str, a: &Tensor<f64>, b: &Tensor<f64>, tol: Option<f64>) -> Verdict {
    if a.shape() != b.shape() {
        return Err(format!("{what}: shapes {:?} and {:?}", a.shape(), b.shape()));
    }
    for (k, (&p, &q)) in a.data().iter().zip(b.data()).enumerate() {
        let bad = match tol {
            None => p.to_bits() != q.to_bits(),
            Some(t) => (p - q).abs() > t * (1.0 + p.abs() + q.abs()) || p.is_nan() != q.is_nan(),
        };
        if bad {
            let how = if tol.is_none() { "not bit-identical" } else { "beyond rounding" };
            return Err(format!("{what} differs at element {k} of {:?}: {p:e} vs {q:e} ({how})", a.shape()));
        }
    }
    Ok(())
}

/// Relative tolerance for runs that differ only in the shapes of their
/// products (rounding).
const ROUNDING: f64 = 1e-9;

/// Runs one property on one case; a panic or an error of the cell fails it.
fn run_property<C: Cell<f64>, F: Fn(usize, usize, u64) -> C>(p: CellProperty, make: &F, c: CellCase, gc: &GradcheckOptions) -> Verdict {
    match catch_unwind(AssertUnwindSafe(|| property(p, make, c, gc))) {
        Ok(Ok(verdict)) => verdict,
        Ok(Err(e)) => Err(format!("the layer returned an error: {e}")),
        Err(payload) => {
            let msg = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned());
            Err(format!("the cell panicked: {}", msg.unwrap_or_default()))
        }
    }
}

fn property<C: Cell<f64>, F: Fn(usize, usize, u64) -> C>(p: CellProperty, make: &F, c: CellCase, gc: &GradcheckOptions) -> Result<Verdict> {
    let layer = Rnn::from_cells(vec![(make(c.input, c.hidden, c.seed), None)])?;
    let d = data(&layer.cells()[0].0, c);
    let full = |layer: &Rnn<C>| run(layer, &d.x, &d.init, None, &d.w_out, &d.w_last);
    Ok(match p {
        CellProperty::Gradient => {
            let report = gradcheck_layer(&layer, &d.x, &LayerCheckOptions::default().gradcheck(gc.clone().seed(c.seed)))?;
            report.passed().then_some(()).ok_or_else(|| format!("BPTT gradients disagree with finite differences:\n{report}"))
        }
        CellProperty::Determinism => {
            let twin = Rnn::from_cells(vec![(make(c.input, c.hidden, c.seed), None)])?;
            let (first, again, other) = (full(&layer)?, full(&layer)?, full(&twin)?);
            layer
                .params()
                .iter()
                .zip(twin.params())
                .try_for_each(|((n, a), (_, b))| {
                    differ(&format!("two cells made with seed {:#x}: `{n}`", c.seed), a.value(), b.value(), None)
                })
                .and_then(|_| first.compare(&again, None, "two runs of one cell"))
                .and_then(|_| first.compare(&other, None, "two cells made with one seed"))
        }
        CellProperty::Causality => {
            let v = causality_violation(|tape, x| Ok(layer.forward(&Binding::new(tape), x, None, None)?.output), &d.x)?;
            v.map_or(Ok(()), |v| Err(v.to_string()))
        }
        CellProperty::BatchIndependence => batch_independence(&layer, &d)?,
        CellProperty::Declared => super::bookkeeping::declared(&layer.cells()[0].0, &d.x, &d.init)?,
        CellProperty::OnePath => super::bookkeeping::one_path(&layer.cells()[0].0, &d.x, &d.init)?,
        CellProperty::PaddingInvariance => {
            let (steps, extra) = (c.steps, d.padding.shape()[0]);
            let base = run(&layer, &d.x, &d.init, Some(&d.lengths), &d.w_out, &d.w_last)?;
            let long = Tensor::try_concat(&[&d.x, &d.padding], 0)?;
            let padded = run(&layer, &long, &d.init, Some(&d.lengths), &d.w_out, &d.w_last)?;
            let ctx = format!("lengths {:?}, {extra} padded step{} appended", d.lengths, if extra > 1 { "s" } else { "" });
            // Outputs and input gradients at steps past a sequence's end are exactly zero.
            let past_end = |t: &Tensor<f64>, what: &str| -> Verdict {
                let row = t.numel() / (t.shape()[0] * c.batch);
                let bad = t.data().iter().enumerate().find(|&(k, v)| k / (c.batch * row) >= d.lengths[(k / row) % c.batch] && *v != 0.0);
                bad.map_or(Ok(()), |(k, v)| {
                    let (step, b) = (k / (c.batch * row), (k / row) % c.batch);
                    Err(format!("{ctx}: {what} of sample {b} at padded step {step} is {v:e}, not 0"))
                })
            };
            base.compare(&padded.first_steps(steps), Some(ROUNDING), &ctx)
                .and_then(|_| past_end(&base.output, "the output"))
                .and_then(|_| past_end(&base.input, "the gradient of the input"))
                .and_then(|_| past_end(&padded.output, "the output"))
                .and_then(|_| past_end(&padded.input, "the gradient of the input"))
        }
    })
}

fn batch_independence<C: Cell<f64>>(layer: &Rnn<C>, d: &Data) -> Result<Verdict> {
    let batch = d.x.shape()[1];
    let only = |t: &Tensor<f64>, axis: usize, b: usize| {
        let mut shape = vec![1; t.ndim()];
        shape[axis] = batch;
        t.mul(&Tensor::from_vec((0..batch).map(|k| if k == b { 1.0 } else { 0.0 }).collect(), &shape))
    };
    let full = run(layer, &d.x, &d.init, None, &d.w_out, &d.w_last)?;
    for b in 0..batch {
        let w_last: Vec<Tensor<f64>> = d.w_last.iter().map(|w| only(w, 0, b)).collect();
        let masked = run(layer, &d.x, &d.init, None, &only(&d.w_out, 1, b), &w_last)?;
        // Structural: the gradient of sample b's outputs towards every other sample is exactly zero.
        for o in (0..batch).filter(|&o| o != b) {
            let theirs = masked.sample(o);
            let rows = std::iter::once(("input", &theirs.input)).chain(theirs.init.iter().map(|t| ("initial state", t)));
            for (what, g) in rows {
                if let Some((k, v)) = g.data().iter().enumerate().find(|(_, v)| **v != 0.0) {
                    let at = if what == "input" { format!(" at step {}", k / d.x.shape()[2]) } else { String::new() };
                    return Ok(Err(format!("the outputs of sample {b} depend on the {what}{at} of sample {o}: gradient {v:e}, not 0")));
                }
            }
        }
        // Alone: the same outputs, final state and gradients.
        let rows = |v: &[Tensor<f64>]| v.iter().map(|t| t.narrow(0, b, 1)).collect::<Vec<_>>();
        let alone = run(layer, &d.x.narrow(1, b, 1), &rows(&d.init), None, &d.w_out.narrow(1, b, 1), &rows(&d.w_last))?;
        let in_batch = Run { output: full.sample(b).output, last: full.sample(b).last, ..masked.sample(b) };
        if let Err(e) = alone.compare(&in_batch, Some(ROUNDING), &format!("sample {b} alone vs in a batch of {batch}")) {
            return Ok(Err(e));
        }
    }
    Ok(Ok(()))
}
