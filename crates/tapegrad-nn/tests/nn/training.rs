//! Training works: LSTM and GRU learn the adding problem (the library's
//! own `AddingVariant::FirstTenthFirstHalf`, on which the figures below were
//! measured), which an Elman RNN does not learn at the same budget; and
//! loss falls on next-character prediction of "hello".

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{Tape, Tensor};
use tapegrad_nn::{
    adding_problem, clip_grad_norm, cross_entropy, mse_loss, Activation, Adam, AddingVariant, Binding, Cell, Linear, LstmCell, Module,
    Optimizer, Reduction, Rnn,
};

/// MSE of `layer` + `head` reading the last step, on one batch; with
/// `opt`, also takes one clipped training step (skipped if the gradient
/// norm is not finite).
fn adding_step<C: Cell<f64>>(
    layer: &mut Rnn<C>,
    head: &mut Linear<f64>,
    x: &Tensor<f64>,
    y: &Tensor<f64>,
    opt: Option<&mut Adam<f64>>,
) -> f64 {
    let (t, b) = (x.shape()[0], x.shape()[1]);
    let hidden = layer.cells()[0].0.hidden_size();
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let out = layer.forward(&bind, tape.constant(x.clone()), None, None).unwrap();
    let h_last = out.output.narrow(0, t - 1, 1).reshape(&[b, hidden]);
    let loss = mse_loss(head.forward(&bind, h_last).unwrap(), y, Reduction::Mean).unwrap();
    if let Some(opt) = opt {
        let mut grads = bind.grads(&tape.backward(loss).unwrap());
        // A NaN or infinite gradient: skip the step rather than spread it.
        if clip_grad_norm(&mut grads, 1.0).is_finite() {
            let params =
                layer.params_mut().into_iter().chain(head.params_mut().into_iter().map(|(n, p)| (format!("head.{n}"), p))).collect();
            opt.step(params, &grads).unwrap();
        }
    }
    loss.value().item()
}

/// Trains on the adding problem for `steps` batches of 32; returns the
/// mean MSE on 4 fresh batches of 64.
pub fn train_adding<C: Cell<f64>>(mut layer: Rnn<C>, t: usize, steps: usize, seed: u64) -> f64 {
    let mut rng = StdRng::seed_from_u64(seed);
    let hidden = layer.cells()[0].0.hidden_size();
    let mut head = Linear::new(hidden, 1, &mut rng);
    let mut opt = Adam::new(0.005);
    for _ in 0..steps {
        let (x, y) = adding_problem(AddingVariant::FirstTenthFirstHalf, t, 32, &mut rng).unwrap();
        adding_step(&mut layer, &mut head, &x, &y, Some(&mut opt));
    }
    (0..4)
        .map(|_| {
            let (x, y) = adding_problem(AddingVariant::FirstTenthFirstHalf, t, 64, &mut rng).unwrap();
            adding_step(&mut layer, &mut head, &x, &y, None)
        })
        .sum::<f64>()
        / 4.0
}

const T: usize = 30;
const STEPS: usize = 1000;
const HIDDEN: usize = 16;

#[test]
fn lstm_and_gru_learn_the_adding_problem_an_elman_rnn_does_not() {
    // Same seed, data and budget for all three. The LSTM's forget gate bias
    // starts at 3 (its standard remedy for early forgetting); with PyTorch's
    // plain init it sits on the mean-predictor plateau for this budget.
    // Measured (this seed): LSTM 0.0024, GRU 0.0004, Elman 0.165.
    let seed = 2;
    let mut rng = StdRng::seed_from_u64(seed);
    let lstm = train_adding(Rnn::spec(2, HIDDEN).cells(|i| LstmCell::new(i, HIDDEN, &mut rng).with_forget_bias(3.0)), T, STEPS, seed);
    let gru = train_adding(Rnn::spec(2, HIDDEN).gru(&mut rng), T, STEPS, seed);
    let rnn = train_adding(Rnn::spec(2, HIDDEN).elman(Activation::Tanh, &mut rng), T, STEPS, seed);
    eprintln!("adding problem T={T}, {STEPS} steps: test MSE lstm {lstm:.4} gru {gru:.4} elman {rnn:.4} (mean predictor ≈ 0.167)");
    assert!(lstm < 0.02, "LSTM test MSE {lstm}");
    assert!(gru < 0.02, "GRU test MSE {gru}");
    assert!(rnn > 0.08, "Elman RNN test MSE {rnn} (expected to stay near the 0.167 baseline)");
}

#[test]
fn loss_falls_on_hello_next_character_prediction() {
    let vocab = ['h', 'e', 'l', 'o'];
    let ids: Vec<usize> = "hello".chars().map(|c| vocab.iter().position(|&v| v == c).unwrap()).collect();
    let mut rng = StdRng::seed_from_u64(0);
    let mut layer = Rnn::spec(4, 8).elman(Activation::Tanh, &mut rng);
    let mut head = Linear::<f64>::new(8, 4, &mut rng);
    let mut opt = Adam::new(0.05);
    let x = Tensor::try_one_hot(&ids[..4], 4).unwrap().reshape(&[4, 1, 4]);
    let mut losses = Vec::new();
    for _ in 0..100 {
        let tape = Tape::new();
        let bind = Binding::new(&tape);
        let out = layer.forward(&bind, tape.constant(x.clone()), None, None).unwrap();
        let logits = head.forward(&bind, out.output.reshape(&[4, 8])).unwrap();
        let loss = cross_entropy(logits, &ids[1..], None, Reduction::Mean).unwrap();
        losses.push(loss.value().item());
        let grads = bind.grads(&tape.backward(loss).unwrap());
        let params = layer.params_mut().into_iter().chain(head.params_mut().into_iter().map(|(n, p)| (format!("head.{n}"), p))).collect();
        opt.step(params, &grads).unwrap();
    }
    assert!(losses[99] < 0.05 * losses[0], "loss {} -> {}", losses[0], losses[99]);
    // "l" is followed once by "l" and once by "o": with the hidden state the
    // RNN tells the two apart, which a bigram model cannot.
    assert!(losses[99] < 0.1);
}

/// Regression (issue 17, item 4): the training step above ignored the norm
/// `clip_grad_norm` returns and stepped on NaN gradients, turning every
/// weight NaN; a non-finite norm must skip the step.
#[test]
fn a_non_finite_gradient_norm_skips_the_training_step() {
    let mut rng = StdRng::seed_from_u64(0);
    let mut layer = Rnn::spec(2, 4).gru(&mut rng);
    let mut head = Linear::new(4, 1, &mut rng);
    let mut opt = Adam::new(0.01);
    let (x, mut y) = adding_problem(AddingVariant::FirstTenthFirstHalf, 5, 3, &mut rng).unwrap();
    y.data_mut()[1] = f64::NAN; // a corrupt target: NaN loss and gradients
    let before = (tapegrad_nn::state_dict(&layer), tapegrad_nn::state_dict(&head));
    assert!(adding_step(&mut layer, &mut head, &x, &y, Some(&mut opt)).is_nan());
    assert_eq!((tapegrad_nn::state_dict(&layer), tapegrad_nn::state_dict(&head)), before, "the step must be skipped");
    assert_eq!(opt.state().len(), 1, "and not counted: no moments, just the step count");
    assert_eq!(opt.state()[0].1.item(), 0.0);
}
