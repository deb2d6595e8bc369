//! Gradient checkpointing of recurrent layers (`Checkpoint::On`): for every
//! layer kind (built-in and user-written cells, stacked, bidirectional,
//! variable-length, batch-first, dropout between layers) the gradients of
//! every parameter, the input and the initial state equal those without
//! checkpointing bit for bit, while the tape holds a fraction of the values.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{Tape, Tensor, Var};
use tapegrad_nn::{
    gradcheck_layer, Binding, Cell, Checkpoint, LayerCheckOptions, LayerNorm, Linear, Module, NnError, Param, Result, Rnn, Segments, State,
};
use tapegrad_tensor::Scalar;

/// A user-written cell: a layer-normalised Elman step with a gated leak.
#[derive(Debug, Clone, Module)]
#[module(crate = tapegrad_nn)]
struct LeakyNorm<T: Scalar> {
    input: Linear<T>,
    recurrent: Linear<T>,
    #[module(skip)]
    sizes: (usize, usize),
    norm: LayerNorm<T>,
    leak: Param<T>,
}

impl<T: Scalar> LeakyNorm<T> {
    fn new(i: usize, h: usize, rng: &mut StdRng) -> Self {
        LeakyNorm {
            input: Linear::new(i, h, rng),
            recurrent: Linear::new(h, h, rng),
            sizes: (i, h),
            norm: LayerNorm::new(&[h]),
            leak: Param::new(Tensor::from_vec((0..h).map(|k| T::from_f64_lossy(0.1 * k as f64 - 0.2)).collect(), &[h])),
        }
    }
}

impl<T: Scalar> Cell<T> for LeakyNorm<T> {
    type State<'t> = Var<'t, T>;
    fn input_size(&self) -> usize {
        self.sizes.0
    }
    fn hidden_size(&self) -> usize {
        self.sizes.1
    }
    fn project<'t>(&self, p: &Binding<'t, T>, x: Var<'t, T>) -> Result<Var<'t, T>> {
        self.input.forward(p, x)
    }
    fn step<'t>(&self, p: &Binding<'t, T>, x: Var<'t, T>, h: &Var<'t, T>) -> Result<Var<'t, T>> {
        let candidate = self.norm.forward(p, x.try_add(self.recurrent.forward(p, *h)?)?)?.tanh();
        let leak = p.param(&self.leak).sigmoid();
        Ok(h.try_lerp(candidate, leak)?)
    }
}

fn input<T: Scalar>(shape: &[usize], phase: f64) -> Tensor<T> {
    let n = shape.iter().product();
    Tensor::from_vec((0..n).map(|k| T::from_f64_lossy((k as f64 * 0.61 + phase).sin())).collect(), shape)
}

/// Gradients of every parameter, the input and the initial states, the
/// values held after the forward pass, and every step's state.
struct Run<T: Scalar> {
    grads: Vec<Tensor<T>>,
    held: usize,
    states: Vec<Tensor<T>>,
}

fn run<T: Scalar, C: Cell<T>>(layer: &Rnn<C>, x: &Tensor<T>, lengths: Option<&[usize]>, batch: usize) -> Run<T> {
    let tape = Tape::<T>::new();
    let bind = Binding::with_dropout(&tape, 7);
    let xv = tape.leaf(x.clone());
    let dirs = if layer.is_bidirectional() { 2 } else { 1 };
    let init: Vec<C::State<'_>> = layer
        .cells()
        .iter()
        .flat_map(|(f, r)| std::iter::once(f).chain(r))
        .map(|c| {
            let z = c.zero_state(&tape, batch);
            z.map(|v| Ok(tape.leaf(v.value().map(|e| e + T::from_f64_lossy(0.25)))))
        })
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(init.len(), layer.num_layers() * dirs);
    let out = layer.forward(&bind, xv, Some(&init), lengths).unwrap();
    let held = tape.held_values();
    let last: Vec<Var<'_, T>> = out.last.iter().flat_map(|s| s.parts()).collect();
    let loss = out.output.square().mean_all() + Var::stack(&last, 0).tanh().sum_all();
    let g = tape.backward(loss).unwrap();
    let pg = bind.grads(&g);
    let mut grads: Vec<Tensor<T>> = layer.params().iter().map(|(_, p)| pg.get(p).unwrap().clone()).collect();
    grads.push(g.get(xv).unwrap().clone());
    for s in &init {
        grads.extend(s.parts().iter().map(|v| g.get(*v).unwrap().clone()));
    }
    let seq = &out.sequences[0];
    let states = (0..seq.len()).flat_map(|k| seq.state_at(k).unwrap().parts().into_iter().map(|v| v.value())).collect();
    Run { grads, held, states }
}

/// Checkpointed and plain runs of `layer` agree bit for bit, for the
/// default segments and for `segment` steps, and hold fewer values.
fn agree<T: Scalar, C: Cell<T> + Clone>(layer: Rnn<C>, x: &Tensor<T>, (lengths, batch): (Option<&[usize]>, usize), segment: usize) {
    for segments in [Segments::Auto, Segments::Steps(segment)] {
        let plain = run(&layer.clone().segments(segments), x, lengths, batch);
        let ckpt = run(&layer.clone().segments(segments).checkpoint(Checkpoint::On), x, lengths, batch);
        assert_eq!(plain.grads.len(), ckpt.grads.len());
        for (k, (a, b)) in plain.grads.iter().zip(&ckpt.grads).enumerate() {
            assert_eq!(a.data(), b.data(), "gradient {k} of {segments:?}");
        }
        for (k, (a, b)) in plain.states.iter().zip(&ckpt.states).enumerate() {
            assert_eq!(a.data(), b.data(), "state part {k} of {segments:?}");
        }
        assert!(ckpt.held < plain.held, "{segments:?}: {} values held checkpointed, {} plain", ckpt.held, plain.held);
    }
}

fn rng() -> StdRng {
    StdRng::seed_from_u64(3)
}

#[test]
fn checkpointed_lstm_gru_and_elman_gradients_equal_plain_ones_bit_for_bit() {
    let x = input::<f64>(&[23, 3, 4], 0.3);
    agree(Rnn::spec(4, 5).lstm(&mut rng()), &x, (None, 3), 4);
    agree(Rnn::spec(4, 5).gru(&mut rng()), &x, (None, 3), 7);
    agree(Rnn::spec(4, 5).elman(tapegrad_nn::Activation::Tanh, &mut rng()), &x, (None, 3), 1);
    agree(Rnn::spec(4, 5).lstm::<f32, _>(&mut rng()), &input::<f32>(&[23, 3, 4], 0.3), (None, 3), 5);
}

#[test]
fn checkpointed_stacked_bidirectional_layer_with_dropout_equals_plain_bit_for_bit() {
    let spec = Rnn::spec(4, 5).layers(3).bidirectional(true).dropout(0.3);
    agree(spec.lstm::<f64, _>(&mut rng()), &input(&[17, 2, 4], 1.1), (None, 2), 5);
    agree(spec.batch_first(true).gru::<f32, _>(&mut rng()), &input(&[2, 17, 4], 1.1), (None, 2), 3);
}

#[test]
fn checkpointed_variable_length_layer_equals_plain_bit_for_bit() {
    let lengths = [9, 19, 4, 19];
    agree(Rnn::spec(4, 5).bidirectional(true).lstm::<f64, _>(&mut rng()), &input(&[19, 4, 4], 2.0), (Some(&lengths), 4), 6);
}

#[test]
fn checkpointed_user_cell_equals_plain_bit_for_bit() {
    let mut r = rng();
    let layer = Rnn::spec(4, 6).layers(2).cells(|i| LeakyNorm::<f64>::new(i, 6, &mut r));
    agree(layer, &input(&[21, 3, 4], 0.7), (Some(&[21, 13, 2]), 3), 5);
}

#[test]
fn checkpointed_layer_bptt_matches_finite_differences() {
    let layer = Rnn::spec(3, 4).layers(2).segments(Segments::Steps(3)).checkpoint(Checkpoint::On).gru::<f64, _>(&mut rng());
    let report = gradcheck_layer(&layer, &input(&[8, 2, 3], 0.5), &LayerCheckOptions::default().lengths(&[8, 5])).unwrap();
    assert!(report.passed(), "{report}");
}

#[test]
fn a_segment_of_no_steps_is_a_config_error() {
    let e = Rnn::spec(3, 4).segments(Segments::Steps(0)).try_cells(|i| tapegrad_nn::GruCell::<f64>::new(i, 4, &mut rng()));
    match e {
        Err(NnError::Config { op, message }) => assert_eq!((op, message.as_str()), ("Rnn::spec", "a segment must hold at least one step")),
        other => panic!("expected a config error, got {other:?}"),
    }
}
