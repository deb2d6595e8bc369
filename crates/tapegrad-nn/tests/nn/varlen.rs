//! Variable-length batches: padded steps change neither outputs (zero
//! there), final states (taken at each sequence's end), nor any gradient,
//! whatever the order of the lengths; the reverse direction starts at each
//! sequence's own last step.

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{Tape, Tensor};
use tapegrad_nn::{lengths_from_mask, Binding, Module, Rnn, State};

/// Runs the layer on the whole padded batch, and on each sequence alone
/// (cut to its length); compares outputs, final states and parameter
/// gradients of Σ outputs·w.
fn compare_with_individual_runs(layer: &Rnn<tapegrad_nn::LstmCell<f64>>, x: &Tensor<f64>, lengths: &[usize]) {
    let (t, b) = (x.shape()[0], x.shape()[1]);
    let h = x.shape()[2];
    let dirs = if layer.is_bidirectional() { 2 } else { 1 };
    let wt =
        |rows: usize| Tensor::from_vec((0..rows * b * 2 * 8).map(|k| ((k * 37 % 17) as f64) / 17.0 - 0.5).collect(), &[rows, b, 2 * 8]);
    let w = wt(t);
    // Whole batch.
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let xv = tape.leaf(x.clone());
    let out = layer.forward(&bind, xv, None, Some(lengths)).unwrap();
    let width = out.output.shape()[2];
    let proj = tape.constant(w.narrow(2, 0, width));
    let loss = out.output.try_mul(proj).unwrap().sum_all();
    let g = tape.backward(loss).unwrap();
    let pg = bind.grads(&g);
    let gx = g.get(xv).unwrap().clone();
    let full = out.output.value();
    let mut summed: Vec<Tensor<f64>> = layer.params().iter().map(|(_, p)| Tensor::zeros(p.shape())).collect();
    for (s, &len) in lengths.iter().enumerate() {
        let tape1 = Tape::new();
        let bind1 = Binding::new(&tape1);
        let xs = x.narrow(0, 0, len).narrow(1, s, 1);
        let out1 = layer.forward(&bind1, tape1.constant(xs), None, None).unwrap();
        let w1 = w.narrow(0, 0, len).narrow(1, s, 1).narrow(2, 0, width);
        let loss1 = out1.output.try_mul(tape1.constant(w1)).unwrap().sum_all();
        let g1 = bind1.grads(&tape1.backward(loss1).unwrap());
        for (acc, (_, p)) in summed.iter_mut().zip(layer.params()) {
            *acc = acc.add(g1.get(p).unwrap());
        }
        // Outputs at real steps agree; padded steps are exactly zero.
        let mine = full.narrow(1, s, 1);
        assert!(mine.narrow(0, 0, len).max_abs_diff(&out1.output.value()).unwrap() < 1e-12, "outputs of sequence {s}");
        assert!(mine.narrow(0, len, t - len).data().iter().all(|&v| v == 0.0), "padding of sequence {s} is not zero");
        // Final states agree for every layer and direction.
        for (k, (st, st1)) in out.last.iter().zip(&out1.last).enumerate() {
            for (p, p1) in st.parts().iter().zip(st1.parts()) {
                let d = p.value().narrow(0, s, 1).max_abs_diff(&p1.value()).unwrap();
                assert!(d < 1e-12, "final state {k} of sequence {s} off by {d}");
            }
        }
        // No gradient flows into padded inputs.
        assert!(gx.narrow(1, s, 1).narrow(0, len, t - len).data().iter().all(|&v| v == 0.0));
    }
    for (acc, (name, p)) in summed.iter().zip(layer.params()) {
        let d = acc.max_abs_diff(pg.get(p).unwrap()).unwrap();
        assert!(d < 1e-10, "gradient of {name} differs by {d} from the per-sequence sum");
    }
    let _ = (h, dirs);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn padded_steps_change_nothing(t in 1usize..8, b in 1usize..5, bidir: bool, layers in 1usize..3, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let layer = Rnn::spec(3, 4).layers(layers).bidirectional(bidir).lstm(&mut rng);
        let x = Tensor::rand_uniform(&[t, b, 3], -1.0, 1.0, &mut rng);
        let lengths: Vec<usize> = (0..b).map(|k| 1 + ((seed >> (8 * k)) as usize % t)).collect();
        compare_with_individual_runs(&layer, &x, &lengths);
    }
}

#[test]
fn appending_padding_changes_nothing() {
    let mut rng = StdRng::seed_from_u64(3);
    let layer = Rnn::spec(2, 3).layers(2).bidirectional(true).gru(&mut rng);
    let x = Tensor::rand_uniform(&[4, 3, 2], -1.0, 1.0, &mut rng);
    let padded = Tensor::concat(&[&x, &Tensor::full(&[3, 3, 2], 7.0)], 0);
    let lengths = [4, 2, 3];
    let run = |input: &Tensor<f64>| {
        let tape = Tape::new();
        let bind = Binding::new(&tape);
        let out = layer.forward(&bind, tape.constant(input.clone()), None, Some(&lengths)).unwrap();
        let loss = out.output.narrow(0, 0, 4).sum_all();
        let g = bind.grads(&tape.backward(loss).unwrap());
        let grads: Vec<Tensor<f64>> = layer.params().iter().map(|(_, p)| g.get(p).unwrap().clone()).collect();
        (out.output.value().narrow(0, 0, 4), out.last.iter().map(|s| s.value()).collect::<Vec<_>>(), grads)
    };
    let (o1, s1, g1) = run(&x);
    let (o2, s2, g2) = run(&padded);
    assert_eq!(o1, o2);
    assert_eq!(s1, s2);
    assert_eq!(g1, g2);
}

#[test]
fn masks_give_the_same_lengths() {
    let mask = Tensor::from_vec(vec![1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0], &[3, 3]);
    // Columns read down the time axis: [1,1,0], [1,0,0], [1,1,0].
    assert_eq!(lengths_from_mask(&mask).unwrap(), vec![2, 1, 2]);
}
