//! Every intermediate state is available; batch-first equals time-major;
//! many-to-one, many-to-many and one-to-many (autoregressive generation)
//! are expressible with the same cells.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{Tape, Tensor, Var};
use tapegrad_nn::{Binding, Cell, Linear, LstmCell, NnError, Rnn, State};

#[test]
fn every_step_state_including_the_lstm_cell_state() {
    let mut rng = StdRng::seed_from_u64(1);
    let layer = Rnn::spec(3, 4).lstm(&mut rng);
    let cell: &LstmCell<f64> = &layer.cells()[0].0;
    let x = Tensor::rand_uniform(&[5, 2, 3], -1.0, 1.0, &mut rng);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let out = layer.forward(&bind, tape.constant(x.clone()), None, None).unwrap();
    let seq = &out.sequences[0];
    assert_eq!(seq.len(), 5);
    // A manual unroll with the cell gives the same h and c at every step.
    let mut s = cell.zero_state(&tape, 2);
    for t in 0..5 {
        s = cell.forward(&bind, tape.constant(x.narrow(0, t, 1).reshape(&[2, 3])), &s).unwrap();
        let got = seq.state_at(t).unwrap();
        assert!(got.h.value().max_abs_diff(&s.h.value()).unwrap() < 1e-14);
        assert!(got.c.value().max_abs_diff(&s.c.value()).unwrap() < 1e-14);
    }
    let e = seq.state_at(5).unwrap_err();
    assert!(matches!(e, NnError::StepOutOfRange { step: 5, steps: 5, .. }), "{e}");
    assert_eq!(e.to_string(), "state_at: step 5 is out of range for a sequence of 5 steps");
}

#[test]
fn intermediate_states_keep_the_callers_batch_order_with_lengths() {
    let mut rng = StdRng::seed_from_u64(2);
    let layer = Rnn::spec(2, 3).gru(&mut rng);
    let x = Tensor::rand_uniform(&[4, 3, 2], -1.0, 1.0, &mut rng);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let out = layer.forward(&bind, tape.constant(x.clone()), None, Some(&[1, 4, 2])).unwrap();
    // Step 0's state of sequence k equals the output at step 0 of sequence k.
    let s0 = out.sequences[0].state_at(0).unwrap().value();
    assert_eq!(s0, out.output.value().narrow(0, 0, 1).reshape(&[3, 3]));
    // The final state of sequence 0 (length 1) is its step-0 state.
    assert_eq!(out.last[0].value().narrow(0, 0, 1), s0.narrow(0, 0, 1));
}

#[test]
fn batch_first_is_time_major_transposed() {
    let mut rng = StdRng::seed_from_u64(3);
    let tm = Rnn::spec(3, 2).layers(2).bidirectional(true).lstm(&mut rng);
    let bf = tm.clone().batch_first(true);
    let x = Tensor::rand_uniform(&[4, 2, 3], -1.0, 1.0, &mut rng);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    // A clone has new parameter identities but equal values.
    let a = tm.forward(&bind, tape.constant(x.clone()), None, Some(&[4, 3])).unwrap().output.value();
    let b = bf.forward(&bind, tape.constant(x.transpose(0, 1)), None, Some(&[4, 3])).unwrap().output.value();
    assert_eq!(a.transpose(0, 1), b);
}

#[test]
fn many_to_one_many_to_many_and_one_to_many() {
    let mut rng = StdRng::seed_from_u64(4);
    let layer = Rnn::spec(4, 5).gru(&mut rng);
    let head = Linear::new(5, 4, &mut rng);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let x = tape.constant(Tensor::rand_uniform(&[6, 2, 4], -1.0, 1.0, &mut rng));
    let out = layer.forward(&bind, x, None, None).unwrap();
    // Many-to-one: classify from the final state.
    assert_eq!(head.forward(&bind, out.last[0]).unwrap().shape().as_slice(), &[2, 4]);
    // Many-to-many: a prediction per step.
    assert_eq!(head.forward(&bind, out.output).unwrap().shape().as_slice(), &[6, 2, 4]);
    // One-to-many: feed each step's most likely symbol back as the next input.
    let cell = &layer.cells()[0].0;
    let mut h = cell.zero_state(&tape, 1);
    let mut token = 0usize;
    let mut generated = Vec::new();
    for _ in 0..5 {
        let x_t = tape.constant(Tensor::try_one_hot(&[token], 4).unwrap());
        h = cell.forward(&bind, x_t, &h).unwrap();
        let logits: Var<'_, f64> = head.forward(&bind, h.output()).unwrap();
        token = logits.value().argmax(1)[0];
        generated.push(token);
    }
    assert_eq!(generated.len(), 5);
    assert!(generated.iter().all(|&t| t < 4));
}
