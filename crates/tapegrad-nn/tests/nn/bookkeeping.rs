//! A cell's definition is checked, not trusted: a parameter used but not
//! declared, and a `forward` that disagrees with the layers' path, are
//! reported by `check_cell` with the parameter's shape and binding site or
//! the step.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{Tape, Tensor, Var};
use tapegrad_nn::{check_cell, Activation, Binding, Cell, CellCheckOptions, CellProperty, Module, NnError, Param, RnnCell};

/// An Elman cell with a gain on its output that the derive was told to
/// skip: the slip that used to leave a parameter silently untrained.
#[derive(Debug, Clone, Module)]
#[module(crate = tapegrad_nn)]
struct ForgotGain {
    #[module(flatten)]
    inner: RnnCell<f64>,
    #[module(skip)]
    gain: Param<f64>,
}

impl Cell<f64> for ForgotGain {
    type State<'t> = Var<'t, f64>;
    fn input_size(&self) -> usize {
        self.inner.input_size()
    }
    fn hidden_size(&self) -> usize {
        self.inner.hidden_size()
    }
    fn project<'t>(&self, b: &Binding<'t, f64>, x: Var<'t, f64>) -> Result<Var<'t, f64>, NnError> {
        self.inner.project(b, x)
    }
    fn step<'t>(&self, b: &Binding<'t, f64>, xp: Var<'t, f64>, h: &Var<'t, f64>) -> Result<Var<'t, f64>, NnError> {
        Ok(self.inner.step(b, xp, h)?.try_mul(b.param(&self.gain))?)
    }
}

fn forgot_gain(i: usize, h: usize, s: u64) -> ForgotGain {
    ForgotGain { inner: RnnCell::new(i, h, Activation::Tanh, &mut StdRng::seed_from_u64(s)), gain: Param::new(Tensor::ones(&[h])) }
}

#[test]
fn a_parameter_used_but_not_declared_is_reported_with_its_shape_and_binding_site() {
    let opts = CellCheckOptions { properties: vec![CellProperty::Declared], ..CellCheckOptions::default() };
    let report = check_cell(forgot_gain, &opts).unwrap();
    let c = report.failure(CellProperty::Declared).expect("the skipped gain is found");
    // Shrunk to the smallest hidden size, so the gain's shape is [1].
    assert!(c.message.starts_with("a parameter of shape [1] bound at "), "{}", c.message);
    assert!(c.message.contains("bookkeeping.rs:"), "the binding site is named: {}", c.message);
    assert!(c.message.contains("never be trained or saved"), "{}", c.message);
    // The same cell with the gain declared passes.
    let fine = check_cell(|i, h, s| RnnCell::new(i, h, Activation::Tanh, &mut StdRng::seed_from_u64(s)), &opts).unwrap();
    assert!(fine.passed(), "{fine}");
}

#[test]
fn binding_lists_the_parameters_a_module_does_not_declare() {
    let cell = forgot_gain(2, 3, 0);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let h = cell.forward(&bind, tape.constant(Tensor::ones(&[1, 2])), &cell.zero_state(&tape, 1)).unwrap();
    assert_eq!(h.shape().as_slice(), &[1, 3]);
    let missing = bind.undeclared(&cell);
    assert_eq!(missing.len(), 1, "only the gain");
    assert_eq!(missing[0].shape, vec![3]);
    assert_eq!(cell.params().len(), 4, "the four declared Elman parameters");
}

/// An Elman cell whose own `forward` (what a user calling it directly
/// gets) adds 0.43 that the layers' path does not.
#[derive(Debug, Clone, Module)]
#[module(crate = tapegrad_nn)]
struct TwoPaths(#[module(flatten)] RnnCell<f64>);

impl Cell<f64> for TwoPaths {
    type State<'t> = Var<'t, f64>;
    fn input_size(&self) -> usize {
        self.0.input_size()
    }
    fn hidden_size(&self) -> usize {
        self.0.hidden_size()
    }
    fn project<'t>(&self, b: &Binding<'t, f64>, x: Var<'t, f64>) -> Result<Var<'t, f64>, NnError> {
        self.0.project(b, x)
    }
    fn step<'t>(&self, b: &Binding<'t, f64>, xp: Var<'t, f64>, h: &Var<'t, f64>) -> Result<Var<'t, f64>, NnError> {
        self.0.step(b, xp, h)
    }
    fn forward<'t>(&self, b: &Binding<'t, f64>, x: Var<'t, f64>, h: &Var<'t, f64>) -> Result<Var<'t, f64>, NnError> {
        Ok(self.0.forward(b, x, h)?.add_scalar(0.43))
    }
}

#[test]
fn a_forward_that_disagrees_with_the_layers_path_is_reported_with_the_step() {
    let opts = CellCheckOptions { properties: vec![CellProperty::OnePath], ..CellCheckOptions::default() };
    let report = check_cell(|i, h, s| TwoPaths(RnnCell::new(i, h, Activation::Tanh, &mut StdRng::seed_from_u64(s))), &opts).unwrap();
    let c = report.failure(CellProperty::OnePath).expect("the disagreement is found");
    assert!(c.message.starts_with("at step 0, state part 0: forward gives"), "{}", c.message);
    assert!(c.message.contains("project then step"), "{}", c.message);
}

/// Regression: a parameter missing from the module's list used to stay at
/// its initial value forever, silently; now the optimizer refuses the step.
#[test]
fn an_optimizer_refuses_a_step_with_a_gradient_no_declared_parameter_has() {
    use tapegrad_nn::{Optimizer, Sgd};
    let mut cell = forgot_gain(2, 3, 0);
    let before = tapegrad_nn::state_dict(&cell);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let h = cell.forward(&bind, tape.constant(Tensor::ones(&[1, 2])), &cell.zero_state(&tape, 1)).unwrap();
    let grads = bind.grads(&tape.backward(h.sum_all()).unwrap());
    let mut opt = Sgd::new(0.1);
    let err = opt.step(cell.params_mut(), &grads).unwrap_err();
    assert!(matches!(err, NnError::UndeclaredParameter { .. }), "{err}");
    let text = err.to_string();
    assert!(text.starts_with("SGD step: a parameter of shape [3] bound at "), "{text}");
    assert!(text.contains("bookkeeping.rs:") && text.contains("never be updated"), "{text}");
    assert_eq!(tapegrad_nn::state_dict(&cell), before, "nothing was updated");
    // Stepping only the declared part is what `only` is for.
    let declared = grads.only(&cell.inner);
    opt.step(cell.params_mut(), &declared).unwrap();
    assert_ne!(tapegrad_nn::state_dict(&cell), before);
}
