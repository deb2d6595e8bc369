//! Research toolkit: `check_cell` passes on the built-in cells and a custom
//! one, and catches planted bugs (batch mixing, non-determinism, a wrong
//! backward, a time-mixing input projection) with a minimal counterexample;
//! the causality check catches a layer that leaks the next input; gradient
//! flow matches hand-computed Jacobians.

use std::sync::atomic::{AtomicU64, Ordering};

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{causality_violation, AutodiffError, CustomOp, Tape, Tensor, Val, Var};
use tapegrad_nn::{
    check_cell, gradient_flow, load_state_dict, Activation, Binding, Cell, CellCheckOptions, CellCheckReport, CellProperty, GruCell,
    LstmCell, Module, NnError, Param, Rnn, RnnCell,
};

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn check<C: Cell<f64>>(make: impl Fn(usize, usize, u64) -> C) -> CellCheckReport {
    check_cell(make, &CellCheckOptions::default()).expect("valid options")
}

/// Asserts that exactly `failing` fail, and returns the report.
fn fails_only<C: Cell<f64>>(make: impl Fn(usize, usize, u64) -> C, failing: &[CellProperty]) -> CellCheckReport {
    let report = check(make);
    for p in CellProperty::ALL {
        assert_eq!(report.failure(p).is_some(), failing.contains(&p), "{p}:\n{report}");
    }
    report
}

#[test]
fn check_cell_passes_on_the_elman_cell() {
    let report = check(|i, h, s| RnnCell::new(i, h, Activation::Tanh, &mut rng(s)));
    assert!(report.passed(), "{report}");
    assert!(report.properties.iter().all(|p| p.passed_cases == CellCheckOptions::default().cases), "{report}");
    assert!(report.to_string().starts_with("check_cell passed (7 properties)"), "{report}");
}

#[test]
fn check_cell_passes_on_the_lstm_cell() {
    let report = check(|i, h, s| LstmCell::new(i, h, &mut rng(s)));
    assert!(report.passed(), "{report}");
}

#[test]
fn check_cell_passes_on_the_gru_cell() {
    let report = check(|i, h, s| GruCell::new(i, h, &mut rng(s)));
    assert!(report.passed(), "{report}");
}

/// The minimal gated unit of `examples/custom_cell.rs`.
#[derive(Debug, Clone, Module)]
#[module(crate = tapegrad_nn)]
struct Mgu {
    w: Param<f64>,
    u_f: Param<f64>,
    u_h: Param<f64>,
    b: Param<f64>,
}

impl Mgu {
    fn new(input: usize, hidden: usize, seed: u64) -> Self {
        let mut r = rng(seed);
        let mut init = |s: &[usize]| Param::new(tapegrad_nn::uniform_init(s, hidden, &mut r));
        Mgu { w: init(&[2 * hidden, input]), u_f: init(&[hidden, hidden]), u_h: init(&[hidden, hidden]), b: init(&[2 * hidden]) }
    }
}

impl Cell<f64> for Mgu {
    type State<'t> = Var<'t, f64>;
    fn input_size(&self) -> usize {
        self.w.shape()[1]
    }
    fn hidden_size(&self) -> usize {
        self.u_f.shape()[0]
    }
    fn project<'t>(&self, p: &Binding<'t, f64>, x: Var<'t, f64>) -> Result<Var<'t, f64>, NnError> {
        Ok(x.try_matmul(p.param(&self.w).t())?.try_add(p.param(&self.b))?)
    }
    fn step<'t>(&self, p: &Binding<'t, f64>, xp: Var<'t, f64>, h: &Var<'t, f64>) -> Result<Var<'t, f64>, NnError> {
        let gx = xp.try_chunk(2, 1)?;
        let f = gx[0].try_add(h.try_matmul(p.param(&self.u_f).t())?)?.sigmoid();
        let cand = gx[1].try_add(f.try_mul(*h)?.try_matmul(p.param(&self.u_h).t())?)?.tanh();
        Ok(h.try_add(f.try_mul(cand.try_sub(*h)?)?)?)
    }
}

#[test]
fn check_cell_passes_on_a_custom_cell() {
    let report = check(Mgu::new);
    assert!(report.passed(), "{report}");
}

/// An Elman cell with a planted bug in its step, `bug(h')` added to `h'`.
#[derive(Debug, Clone, Module)]
#[module(crate = tapegrad_nn)]
struct Planted {
    #[module(flatten)]
    inner: RnnCell<f64>,
    #[module(skip)]
    bug: Bug,
}

#[derive(Debug, Clone, Copy)]
enum Bug {
    /// Adds half the batch mean of `h'`: samples see each other.
    BatchMean,
    /// Adds noise from a global counter: runs differ.
    Noise,
    /// Uses tanh through a custom op whose backward is 10% off.
    WrongBackward,
    /// Projects inputs for all steps at once and adds their mean over all
    /// steps: step t sees later inputs.
    TimeMean,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// tanh with a backward 10% too small.
struct BadTanh;
impl CustomOp<f64> for BadTanh {
    fn name(&self) -> &str {
        "bad_tanh"
    }
    fn forward(&self, x: &[&Tensor<f64>]) -> Result<Tensor<f64>, AutodiffError> {
        Ok(x[0].tanh())
    }
    fn backward<'t>(&self, _x: &[Val<'t, f64>], y: &Val<'t, f64>, g: &Val<'t, f64>) -> Result<Vec<Option<Val<'t, f64>>>, AutodiffError> {
        Ok(vec![Some(g.mul(&y.square().neg().add_scalar(1.0)).scale(0.9))])
    }
}

impl Planted {
    fn new(input: usize, hidden: usize, seed: u64, bug: Bug) -> Self {
        Planted { inner: RnnCell::new(input, hidden, Activation::Tanh, &mut rng(seed)), bug }
    }
}

impl Cell<f64> for Planted {
    type State<'t> = Var<'t, f64>;
    fn input_size(&self) -> usize {
        self.inner.input_size()
    }
    fn hidden_size(&self) -> usize {
        self.inner.hidden_size()
    }
    fn project<'t>(&self, b: &Binding<'t, f64>, x: Var<'t, f64>) -> Result<Var<'t, f64>, NnError> {
        let xp = x.try_matmul(b.param(&self.inner.weight_ih).t())?.try_add(b.param(&self.inner.bias_ih))?;
        let Bug::TimeMean = self.bug else { return Ok(xp) };
        Ok(xp.try_add(xp.try_mean_axis(0, true)?)?)
    }
    fn step<'t>(&self, b: &Binding<'t, f64>, xp: Var<'t, f64>, h: &Var<'t, f64>) -> Result<Var<'t, f64>, NnError> {
        let w_hh = b.param(&self.inner.weight_hh);
        let pre = xp.try_add(h.try_matmul(w_hh.t())?)?.try_add(b.param(&self.inner.bias_hh))?;
        let tape = b.tape();
        Ok(match self.bug {
            Bug::BatchMean => {
                let h2 = pre.tanh();
                h2.try_add(h2.try_mean_axis(0, true)?.scale(0.5))?
            }
            Bug::Noise => {
                let n = COUNTER.fetch_add(1, Ordering::Relaxed);
                pre.tanh().add_scalar(1e-3 * ((n.wrapping_mul(2_654_435_761) % 1000) as f64 / 1000.0))
            }
            Bug::WrongBackward => tape.try_custom(BadTanh, &[pre])?,
            Bug::TimeMean => pre.tanh(),
        })
    }
}

#[test]
fn a_cell_that_mixes_batch_rows_fails_batch_independence_with_a_minimal_case() {
    let report = fails_only(|i, h, s| Planted::new(i, h, s, Bug::BatchMean), &[CellProperty::BatchIndependence]);
    let c = report.failure(CellProperty::BatchIndependence).unwrap();
    assert_eq!((c.case.steps, c.case.batch, c.case.input, c.case.hidden), (1, 2, 1, 1), "{report}");
    assert!(c.message.contains("the outputs of sample 0 depend on the input at step 0 of sample 1"), "{report}");
    let text = report.to_string();
    assert!(text.starts_with("check_cell FAILED (1 of 7 properties)"), "{text}");
    assert!(text.contains("batch independence: FAILED") && text.contains("minimal counterexample: T=1 B=2 I=1 H=1"), "{text}");
}

#[test]
fn a_cell_with_hidden_global_state_fails_determinism() {
    let report = check(|i, h, s| Planted::new(i, h, s, Bug::Noise));
    let c = report.failure(CellProperty::Determinism).expect("non-determinism is caught");
    assert!(c.message.contains("two runs of one cell") && c.message.contains("not bit-identical"), "{report}");
    assert_eq!((c.case.steps, c.case.batch, c.case.input, c.case.hidden), (1, 1, 1, 1), "{report}");
    // Causality holds: the noise does not come from later inputs.
    assert!(report.failure(CellProperty::Causality).is_none(), "{report}");
}

#[test]
fn a_custom_op_with_a_wrong_backward_fails_the_gradient_property_only() {
    let report = fails_only(|i, h, s| Planted::new(i, h, s, Bug::WrongBackward), &[CellProperty::Gradient]);
    let c = report.failure(CellProperty::Gradient).unwrap();
    assert!(c.message.contains("disagree with finite differences") && c.message.contains("out of tolerance"), "{report}");
    assert!(c.message.contains("weight_hh_l0") || c.message.contains("weight_ih_l0"), "names the parameter:\n{report}");
    assert_eq!((c.case.steps, c.case.batch, c.case.input, c.case.hidden), (1, 1, 1, 1), "{report}");
}

#[test]
fn a_cell_whose_input_projection_mixes_time_fails_causality() {
    // The mean over all projected rows also mixes the batch.
    let failing = [CellProperty::BatchIndependence, CellProperty::Causality, CellProperty::PaddingInvariance];
    let report = fails_only(|i, h, s| Planted::new(i, h, s, Bug::TimeMean), &failing);
    let c = report.failure(CellProperty::Causality).unwrap();
    assert_eq!((c.case.steps, c.case.batch, c.case.input, c.case.hidden), (2, 1, 1, 1), "{report}");
    assert!(c.message.contains("the output at step 0 depends on the input at later step 1"), "{report}");
}

#[test]
fn check_cell_reports_a_panicking_cell_and_rejects_empty_sizes() {
    let report = check(|i, h, s| if h > 1 { panic!("hidden size {h} unsupported") } else { GruCell::new(i, h, &mut rng(s)) });
    let c = report.failure(CellProperty::Gradient).expect("a panic fails the property");
    assert!(c.message.contains("the cell panicked: hidden size 2 unsupported"), "shrunk to the smallest panicking size:\n{report}");
    let opts = CellCheckOptions { max_size: [3, 0, 2, 2], ..CellCheckOptions::default() };
    let err = check_cell(|i, h, s| GruCell::<f64>::new(i, h, &mut rng(s)), &opts).unwrap_err();
    assert!(err.to_string().contains("max_size"), "{err}");
}

/// A test-only layer that leaks the next step's input into each step.
struct Leaky {
    rnn: Rnn<GruCell<f64>>,
}

impl Leaky {
    fn forward<'t>(&self, tape: &'t Tape<f64>, x: Var<'t, f64>) -> Result<Var<'t, f64>, NnError> {
        let steps = x.shape()[0];
        let next = x.try_narrow(0, 1, steps - 1)?.try_pad_axis(0, 0, 1)?;
        Ok(self.rnn.forward(&Binding::new(tape), x.try_add(next.scale(0.1))?, None, None)?.output)
    }
}

#[test]
fn the_causality_check_catches_a_layer_that_leaks_the_next_input() {
    let x = Tensor::rand_uniform(&[5, 2, 3], -1.0, 1.0, &mut rng(1));
    let gru = Rnn::spec(3, 4).layers(2).gru(&mut rng(2));
    assert_eq!(causality_violation(|t, x| Ok(gru.forward(&Binding::new(t), x, None, None)?.output), &x).unwrap(), None);
    let leaky = Leaky { rnn: gru.clone() };
    let v = causality_violation(|t, x| Ok(leaky.forward(t, x)?), &x).unwrap().expect("the leak is caught");
    assert_eq!((v.output_step, v.input_step), (0, 1), "{v}");
    // A bidirectional layer is not causal, by design: its first output has seen the last input.
    let bi = Rnn::spec(3, 4).bidirectional(true).gru(&mut rng(3));
    let v = causality_violation(|t, x| Ok(bi.forward(&Binding::new(t), x, None, None)?.output), &x).unwrap().unwrap();
    assert_eq!((v.output_step, v.input_step), (0, 1), "{v}");
}

/// An Elman cell with given weights (tanh, zero biases).
fn elman(w_ih: Tensor<f64>, w_hh: Tensor<f64>) -> Rnn<RnnCell<f64>> {
    let (h, i) = (w_ih.shape()[0], w_ih.shape()[1]);
    let mut cell = RnnCell::new(i, h, Activation::Tanh, &mut rng(0));
    let sd = vec![
        ("weight_ih".to_string(), w_ih),
        ("weight_hh".to_string(), w_hh),
        ("bias_ih".to_string(), Tensor::zeros(&[h])),
        ("bias_hh".to_string(), Tensor::zeros(&[h])),
    ];
    load_state_dict(&mut cell, &sd, "test").unwrap();
    Rnn::from_cells(vec![(cell, None)]).unwrap()
}

fn frobenius(t: &Tensor<f64>) -> f64 {
    t.data().iter().map(|v| v * v).sum::<f64>().sqrt()
}

#[test]
fn gradient_flow_matches_hand_computed_jacobians_of_an_elman_rnn() {
    // h_t = tanh(W_ih·x_t + W_hh·h_{t-1}); with D_t = diag(1 - h_t²),
    // ∂h_t/∂h_{t-1} = D_t·W_hh and ∂h_t/∂x_t = D_t·W_ih.
    let w_ih = Tensor::from_vec(vec![0.5, -0.3], &[2, 1]);
    let w_hh = Tensor::from_vec(vec![0.9, -0.4, 0.7, 1.1], &[2, 2]);
    let xs = [0.8, -0.5, 0.3];
    let mut h = Tensor::zeros(&[2, 1]);
    let mut diag = Vec::new();
    for &x in &xs {
        h = w_ih.scale(x).add(&w_hh.matmul(&h)).tanh();
        diag.push(h.square().neg().add_scalar(1.0)); // (2, 1), scales rows
    }
    let j = [diag[2].mul(&w_hh).matmul(&diag[1].mul(&w_hh)), diag[2].mul(&w_hh), Tensor::eye(2)]; // ∂h_2/∂h_k
    let rnn = elman(w_ih.clone(), w_hh.clone());
    let flow = gradient_flow(&rnn, &Tensor::from_vec(xs.to_vec(), &[3, 1, 1]), None).unwrap();
    for k in 0..3 {
        assert!((flow.state[k] - frobenius(&j[k])).abs() < 1e-14, "step {k}: {} vs {}", flow.state[k], frobenius(&j[k]));
        assert_eq!(flow.parts[0][k], flow.state[k]);
        let dx = j[k].matmul(&diag[k].mul(&w_ih)); // ∂h_2/∂x_k
        assert!((flow.input[k] - frobenius(&dx)).abs() < 1e-14, "input step {k}: {} vs {}", flow.input[k], frobenius(&dx));
    }
    assert!((flow.ratio() - frobenius(&j[0]) / 2f64.sqrt()).abs() < 1e-14);
}

#[test]
fn gradient_flow_of_a_loss_and_of_a_batch_first_layer() {
    let x = Tensor::rand_uniform(&[6, 3, 2], -1.0, 1.0, &mut rng(4));
    let lstm = Rnn::spec(2, 4).layers(2).lstm(&mut rng(5));
    let flow = gradient_flow(&lstm, &x, None).unwrap();
    assert_eq!((flow.state.len(), flow.parts.len(), flow.input.len()), (6, 2, 6));
    assert!((flow.state[5] - 2.0).abs() < 1e-15, "‖∂h_T/∂h_T‖ = ‖I₄‖ = 2, got {}", flow.state[5]);
    assert_eq!(flow.parts[0], flow.state, "h is the LSTM state's first part");
    assert!(flow.parts[1].iter().chain(&flow.input).all(|v| v.is_finite() && *v > 0.0), "{flow:?}");
    // The gradient of Σ h_T with respect to h_T is all ones: norm √(B·H).
    let sum = gradient_flow(&lstm, &x, Some(&|y| Ok(y.try_narrow(0, 5, 1)?.sum_all()))).unwrap();
    assert!((sum.state[5] - 12f64.sqrt()).abs() < 1e-15, "{}", sum.state[5]);
    // For B = H = 1 the two targets coincide.
    let one = Rnn::spec(2, 1).gru(&mut rng(6));
    let x1 = x.narrow(1, 0, 1);
    let (a, b) =
        (gradient_flow(&one, &x1, None).unwrap(), gradient_flow(&one, &x1, Some(&|y| Ok(y.try_narrow(0, 5, 1)?.sum_all()))).unwrap());
    for (p, q) in a.state.iter().chain(&a.input).zip(b.state.iter().chain(&b.input)) {
        assert!((p - q).abs() < 1e-15, "{a:?} vs {b:?}");
    }
    // A batch-first layer on the transposed input flows the same.
    let bf = gradient_flow(&lstm.clone().batch_first(true), &x.transpose(0, 1), None).unwrap();
    for (p, q) in flow.state.iter().chain(&flow.input).zip(bf.state.iter().chain(&bf.input)) {
        assert!((p - q).abs() < 1e-14, "{flow:?} vs {bf:?}");
    }
}

#[test]
fn gradient_vanishes_through_an_elman_rnn_much_faster_than_through_an_lstm() {
    let x = Tensor::rand_uniform(&[40, 8, 2], 0.0, 1.0, &mut rng(7));
    let elman = gradient_flow(&Rnn::spec(2, 16).elman(Activation::Tanh, &mut rng(8)), &x, None).unwrap();
    let lstm = Rnn::spec(2, 16).cells(|i| LstmCell::new(i, 16, &mut rng(9)).with_forget_bias(3.0));
    let lstm = gradient_flow(&lstm, &x, None).unwrap();
    eprintln!("T=40 at init: ‖∂h_T/∂h_1‖/‖∂h_T/∂h_T‖ elman {:.3e}, lstm (forget bias 3) {:.3e}", elman.ratio(), lstm.ratio());
    assert!(elman.ratio() < 1e-4 && lstm.ratio() > 1e-2, "elman {} lstm {}", elman.ratio(), lstm.ratio());
    // Away from the end, the Elman RNN's flow decays monotonically.
    assert!(elman.state.windows(2).take(30).all(|w| w[0] < w[1]), "{:?}", elman.state);
}
