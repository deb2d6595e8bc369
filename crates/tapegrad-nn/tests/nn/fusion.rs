//! The built-in cells run their elementwise part as one fused region: the
//! same outputs and gradients as unfused, bit for bit (the region runs the
//! same kernels and the same derivative rules in the same order), and
//! fewer tape records per step.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{Fusion, Tape, Tensor};
use tapegrad_nn::{Activation, Binding, Cell, LstmCell, Module, Rnn, Segments};

/// A two-layer, bidirectional, ragged run of `layer` on `steps` steps with
/// fusion `mode`: the output, the gradients of the input and of every
/// parameter, and the number of tape records.
fn run<C: Cell<f64>>(layer: &Rnn<C>, steps: usize, mode: Fusion) -> (Vec<Tensor<f64>>, usize) {
    let x = Tensor::rand_uniform(&[steps, 3, 3], -1.0, 1.0, &mut StdRng::seed_from_u64(7));
    let tape = Tape::new();
    tape.set_fusion(mode);
    let bind = Binding::new(&tape);
    let xv = tape.leaf(x);
    let lengths = [steps, steps - 1, 2];
    let out = layer.forward(&bind, xv, None, Some(&lengths)).unwrap();
    let records = tape.len();
    let w = tape.constant(Tensor::rand_uniform(&out.output.shape(), -1.0, 1.0, &mut StdRng::seed_from_u64(8)));
    let loss = out.output.try_mul(w).unwrap().sum_all();
    let g = tape.backward(loss).unwrap();
    let grads = bind.grads(&g);
    let mut got = vec![out.output.value(), g.get(xv).unwrap().clone()];
    got.extend(layer.params().iter().map(|(_, p)| grads.get(p).unwrap().clone()));
    (got, records)
}

fn fused_equals_unfused<C: Cell<f64>>(layer: &Rnn<C>) {
    let (fused, fused_records) = run(layer, 5, Fusion::On);
    let (plain, plain_records) = run(layer, 5, Fusion::Off);
    for (a, b) in fused.iter().zip(&plain) {
        assert_eq!(a.shape(), b.shape());
        assert_eq!(a.data(), b.data());
    }
    assert!(fused_records < plain_records, "{fused_records} vs {plain_records}");
}

#[test]
fn each_built_in_cell_fused_equals_unfused_bit_for_bit() {
    let mut rng = StdRng::seed_from_u64(3);
    fused_equals_unfused(&Rnn::spec(3, 4).layers(2).bidirectional(true).lstm(&mut rng));
    fused_equals_unfused(&Rnn::spec(3, 4).layers(2).bidirectional(true).gru(&mut rng));
    fused_equals_unfused(&Rnn::spec(3, 4).layers(2).bidirectional(true).elman(Activation::Tanh, &mut rng));
}

/// Records added by one more step of one LSTM direction: at most 5 (the
/// step's input, the recurrent product and its transposed weight, the
/// region and its second output), where the unfused step records 17. (One
/// segment, so a segment's own records, its input projection, are not
/// counted.)
#[test]
fn an_lstm_step_records_at_most_five_nodes() {
    let layer: Rnn<LstmCell<f64>> = Rnn::spec(3, 4).segments(Segments::Steps(100)).lstm(&mut StdRng::seed_from_u64(4));
    let per_step = |mode: Fusion| {
        let records = |steps: usize| {
            let tape = Tape::new();
            tape.set_fusion(mode);
            let x = tape.constant(Tensor::ones(&[steps, 2, 3]));
            layer.forward(&Binding::new(&tape), x, None, None).unwrap();
            tape.len()
        };
        (records(9) - records(5)) / 4
    };
    let (fused, plain) = (per_step(Fusion::On), per_step(Fusion::Off));
    assert!(fused <= 5, "{fused} records per step");
    assert!(plain > fused + 10, "{plain} records per unfused step");
}
