//! Recurrent states of the wrong shape are typed errors naming the layer,
//! the direction (or the cell and the step) and both shapes: initial
//! states, states passed to a cell directly, and states a cell returns.
//! Layers are validated when built, and batch-first errors show the shape
//! the caller passed.

use std::panic::{catch_unwind, AssertUnwindSafe};

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{Tape, Tensor, Var};
use tapegrad_nn::{Binding, Cell, GruCell, LstmCell, LstmState, Module, NnError, Rnn, RnnCell};

fn rng() -> StdRng {
    StdRng::seed_from_u64(0)
}

/// Runs a 1-layer bidirectional LSTM (I = 3, H = 4) on `(5, B, 3)` zeros
/// from the given initial states; checks the refusal recorded nothing.
fn lstm_error(batch: usize, init: impl for<'t> Fn(&'t Tape<f64>) -> Vec<LstmState<'t, f64>>, lengths: Option<&[usize]>) -> NnError {
    let layer = Rnn::spec(3, 4).bidirectional(true).lstm::<f64, _>(&mut rng());
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let x = tape.constant(Tensor::zeros(&[5, batch, 3]));
    let init = init(&tape);
    let before = tape.len();
    let err = layer.forward(&bind, x, Some(&init), lengths).unwrap_err();
    assert_eq!(tape.len(), before, "a refused initial state records nothing");
    err
}

fn state<'t>(tape: &'t Tape<f64>, h: &[usize], c: &[usize]) -> LstmState<'t, f64> {
    LstmState { h: tape.constant(Tensor::zeros(h)), c: tape.constant(Tensor::zeros(c)) }
}

/// An LSTM `c` of shape (B, 1) for hidden 4 was broadcast silently (with
/// and without lengths), and so was one of shape (B,) with batch 1.
#[test]
fn initial_lstm_states_that_would_broadcast_are_refused_naming_layer_direction_and_shapes() {
    let e = lstm_error(2, |t| vec![state(t, &[2, 4], &[2, 4]), state(t, &[2, 4], &[2, 1])], None);
    assert!(matches!(e, NnError::StateShape { op: "Rnn::forward", .. }), "{e:?}");
    assert_eq!(e.to_string(), "Rnn::forward: part 1 of 2 of the initial state of layer 0 (reverse) has shape [2, 1], expected [2, 4]");
    let e = lstm_error(2, |t| vec![state(t, &[2, 4], &[2, 1]), state(t, &[2, 4], &[2, 4])], Some(&[5, 3]));
    assert_eq!(e.to_string(), "Rnn::forward: part 1 of 2 of the initial state of layer 0 (forward) has shape [2, 1], expected [2, 4]");
    let e = lstm_error(1, |t| vec![state(t, &[1, 4], &[1]), state(t, &[1, 4], &[1, 4])], None);
    assert_eq!(e.to_string(), "Rnn::forward: part 1 of 2 of the initial state of layer 0 (forward) has shape [1], expected [1, 4]");
}

/// An `h` of shape (2, 1, 4) panicked with an index out of bounds inside
/// the LSTM cell (its gates were cut into 2 pieces instead of 4).
#[test]
fn an_initial_lstm_state_of_the_wrong_rank_is_an_error_not_a_panic() {
    let e = lstm_error(2, |t| vec![state(t, &[2, 1, 4], &[2, 4]), state(t, &[2, 4], &[2, 4])], None);
    assert_eq!(e.to_string(), "Rnn::forward: part 0 of 2 of the initial state of layer 0 (forward) has shape [2, 1, 4], expected [2, 4]");
}

/// The second layer's state is checked too, before any layer runs; a
/// one-part state is named without part numbers.
#[test]
fn initial_states_of_every_layer_are_checked_before_any_step_runs() {
    let layer = Rnn::spec(3, 4).layers(2).gru::<f64, _>(&mut rng());
    let tape = Tape::new();
    let x = tape.constant(Tensor::zeros(&[5, 2, 3]));
    let init = [tape.constant(Tensor::zeros(&[2, 4])), tape.constant(Tensor::zeros(&[2, 5]))];
    let before = tape.len();
    let e = layer.forward(&Binding::new(&tape), x, Some(&init), None).unwrap_err();
    assert_eq!(e.to_string(), "Rnn::forward: the initial state of layer 1 (forward) has shape [2, 5], expected [2, 4]");
    assert_eq!(tape.len(), before, "layer 0 did not run");
}

/// The built-in cells, called directly, check the state they are given.
#[test]
fn cells_called_directly_refuse_a_state_of_the_wrong_shape() {
    let tape = Tape::<f64>::new();
    let bind = Binding::new(&tape);
    let x = tape.constant(Tensor::zeros(&[2, 3]));
    let lstm = LstmCell::new(3, 4, &mut rng());
    let e = lstm.forward(&bind, x, &state(&tape, &[2, 1, 4], &[2, 4])).unwrap_err();
    assert!(matches!(e, NnError::StateShape { op: "LstmCell::step", .. }), "{e:?}");
    assert_eq!(e.to_string(), "LstmCell::step: state part h has shape [2, 1, 4], expected [2, 4]");
    let e = lstm.forward(&bind, x, &state(&tape, &[2, 4], &[2, 1])).unwrap_err();
    assert_eq!(e.to_string(), "LstmCell::step: state part c has shape [2, 1], expected [2, 4]");
    let bad_h = tape.constant(Tensor::zeros(&[2, 1, 4]));
    let e = GruCell::new(3, 4, &mut rng()).forward(&bind, x, &bad_h).unwrap_err();
    assert_eq!(e.to_string(), "GruCell::step: state part h has shape [2, 1, 4], expected [2, 4]");
    let e = RnnCell::new(3, 4, tapegrad_nn::Activation::Tanh, &mut rng()).forward(&bind, x, &bad_h).unwrap_err();
    assert_eq!(e.to_string(), "RnnCell::step: state part h has shape [2, 1, 4], expected [2, 4]");
    // An input of the wrong rank is refused too (it used to reach `chunk`).
    let x3 = tape.constant(Tensor::zeros(&[2, 1, 3]));
    let e = lstm.forward(&bind, x3, &state(&tape, &[2, 4], &[2, 4])).unwrap_err();
    assert!(matches!(e, NnError::InputShape { op: "LstmCell::step", .. }), "{e:?}");
    assert!(e.to_string().contains("[2, 1, 3]") && e.to_string().contains("(B, 3)"), "{e}");
}

/// A user's cell whose step returns a state one column too wide from step
/// `at` on (an Elman cell with an extra column appended).
#[derive(Module)]
#[module(crate = tapegrad_nn)]
struct Widens {
    #[module(flatten)]
    inner: RnnCell<f64>,
    #[module(skip)]
    at: usize,
}

impl Cell<f64> for Widens {
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
        let h = self.inner.step(b, xp, h)?;
        if b.tape().current_step() < Some(self.at) {
            return Ok(h);
        }
        let extra = b.tape().constant(Tensor::zeros(&[h.shape()[0], 1]));
        Ok(Var::try_concat(&[h, extra], 1)?)
    }
}

fn widens(at: usize) -> Widens {
    Widens { inner: RnnCell::new(2, 3, tapegrad_nn::Activation::Tanh, &mut rng()), at }
}

/// A wrong-width state returned by a user's step surfaced as "matmul:
/// shapes ... incompatible" at the next step.
#[test]
fn a_state_of_the_wrong_shape_returned_by_a_cell_is_refused_naming_the_cell_and_the_step() {
    let tape = Tape::<f64>::new();
    let bind = Binding::new(&tape);
    let layer = Rnn::from_cells(vec![(widens(2), Some(widens(0)))]).unwrap();
    let x = tape.constant(Tensor::zeros(&[5, 2, 2]));
    let e = layer.forward(&bind, x, None, None).unwrap_err();
    assert!(matches!(e, NnError::StateShape { op: "Rnn::forward", .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Rnn::forward: the state returned by step 2 of cell `Widens` in layer 0 (forward) has shape [2, 4], expected [2, 3]"
    );
    // With lengths, at a step where only some sequences are running.
    let layer = Rnn::from_cells(vec![(widens(0), None)]).unwrap();
    let e = layer.forward(&bind, x, None, Some(&[1, 5])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Rnn::forward: the state returned by step 0 of cell `Widens` in layer 0 (forward) has shape [2, 4], expected [2, 3]"
    );
    let layer = Rnn::from_cells(vec![(widens(1), None)]).unwrap();
    let e = layer.forward(&bind, x, None, Some(&[1, 5])).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Rnn::forward: the state returned by step 1 of cell `Widens` in layer 0 (forward) has shape [1, 4], expected [1, 3]"
    );
    // The reverse direction of a bidirectional layer.
    let layer = Rnn::from_cells(vec![(widens(9), Some(widens(3)))]).unwrap();
    let e = layer.forward(&bind, x, None, None).unwrap_err();
    assert!(e.to_string().contains("step 3 of cell `Widens` in layer 0 (reverse)"), "{e}");
}

/// `Rnn::build` took any cells: a mismatched hidden size failed at
/// `forward` in a matmul. Now building from a spec checks what
/// `from_cells` checks, and the size it was asked for.
#[test]
fn rnn_build_validates_its_cells_like_from_cells() {
    let e = Rnn::spec(3, 4).layers(2).try_cells(|i| LstmCell::<f64>::new(i, 5, &mut rng())).unwrap_err();
    assert!(matches!(e, NnError::Config { op: "Rnn::spec", .. }), "{e:?}");
    assert_eq!(e.to_string(), "Rnn::spec: layer 0's cell has hidden size 5, but 4 was asked for");
    let payload =
        catch_unwind(AssertUnwindSafe(|| Rnn::spec(3, 4).layers(2).cells(|i| LstmCell::<f64>::new(i, 5, &mut rng())))).unwrap_err();
    assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some(e.to_string().as_str()));
    // A `make` that ignores the input size it is given.
    let e = Rnn::spec(3, 4).layers(2).bidirectional(true).try_cells(|_| LstmCell::<f64>::new(3, 4, &mut rng())).unwrap_err();
    assert_eq!(e.to_string(), "Rnn::from_cells: layer 1 takes 3 features but receives 8");
    let e = Rnn::spec(3, 4).layers(0).try_cells(|i| LstmCell::<f64>::new(i, 4, &mut rng())).unwrap_err();
    assert_eq!(e.to_string(), "Rnn::spec: layers must be at least 1");
    let e = Rnn::spec(3, 4).dropout(1.0).try_cells(|i| LstmCell::<f64>::new(i, 4, &mut rng())).unwrap_err();
    assert_eq!(e.to_string(), "Rnn::dropout: p must be in [0, 1), got 1");
    let ok = Rnn::spec(3, 4).layers(2).bidirectional(true).try_cells(|i| LstmCell::<f64>::new(i, 4, &mut rng())).unwrap();
    assert_eq!((ok.num_layers(), ok.is_bidirectional()), (2, true));
}

/// Errors of a batch-first layer show the `(B, T, I)` input as passed,
/// not its time-major transpose.
#[test]
fn batch_first_errors_report_the_shape_the_caller_passed() {
    let layer = Rnn::spec(3, 4).lstm::<f64, _>(&mut rng()).batch_first(true);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let run = |x: Tensor<f64>, lengths: Option<&[usize]>| layer.forward(&bind, tape.constant(x), None, lengths).unwrap_err();
    let e = run(Tensor::zeros(&[2, 5, 4]), None);
    assert_eq!(e.to_string(), "Rnn::forward: input of shape [2, 5, 4] does not fit: expected (B, T, 3)");
    let e = run(Tensor::zeros(&[2, 0, 3]), None);
    assert_eq!(e.to_string(), "Rnn::forward: the sequence is empty (input shape [2, 0, 3])");
    let e = run(Tensor::zeros(&[0, 5, 3]), None);
    assert_eq!(e.to_string(), "Rnn::forward: the batch is empty (input shape [0, 5, 3])");
    // The flat index of a NaN counts in the caller's layout: element 7 of
    // a (2, 5, 3) input is (b 0, t 2, i 1), element 13 of its transpose.
    let mut x = Tensor::zeros(&[2, 5, 3]);
    x.data_mut()[7] = f64::NAN;
    let e = run(x, None);
    assert!(matches!(e, NnError::NonFinite { index: 7, .. }), "{e:?}");
    assert!(e.to_string().contains("[2, 5, 3]"), "{e}");
    let e = run(Tensor::zeros(&[2, 5, 3]), Some(&[6, 1]));
    assert_eq!(e.to_string(), "Rnn::forward: lengths [6, 1] do not fit input of 5 steps and batch 2: a length longer than the input");
    // An initial state is (B, H) either way.
    let init = [state(&tape, &[5, 4], &[5, 4])];
    let e = layer.forward(&bind, tape.constant(Tensor::zeros(&[2, 5, 3])), Some(&init), None).unwrap_err();
    assert_eq!(e.to_string(), "Rnn::forward: part 0 of 2 of the initial state of layer 0 (forward) has shape [5, 4], expected [2, 4]");
}
