//! f32 training steps are large enough here for the tensor crate to split
//! products and elementwise loops between its thread team (a 32×128 by
//! 128×512 step product, 16K-element gate sums), and for several threads
//! to train at once, each with its own tape: the team serves one caller at
//! a time and the others run their parts alone. Every part is computed the
//! same way by whichever thread runs it, so the gradients must agree bit
//! for bit, however the work was shared.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{Tape, Tensor};
use tapegrad_nn::{Binding, LstmCell, Module, Rnn};

/// Every parameter gradient of one training step (loss = mean(y²)), as bits.
fn gradient_bits(layer: &Rnn<LstmCell<f32>>, x: &Tensor<f32>) -> Vec<Vec<u32>> {
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let out = layer.forward(&bind, tape.constant(x.clone()), None, None).unwrap();
    let grads = bind.grads(&tape.backward(out.output.square().mean_all()).unwrap());
    layer.params().iter().map(|(_, p)| grads.get(p).unwrap().data().iter().map(|v| v.to_bits()).collect()).collect()
}

#[test]
fn gradients_are_bit_identical_whichever_threads_share_the_work() {
    let mut rng = StdRng::seed_from_u64(11);
    let layer = Rnn::spec(64, 128).bidirectional(true).lstm::<f32, _>(&mut rng);
    let x = Tensor::<f32>::rand_uniform(&[6, 32, 64], -1.0, 1.0, &mut rng);
    let alone = gradient_bits(&layer, &x);
    assert_eq!(alone.len(), 8, "two directions of four parameters");
    std::thread::scope(|s| {
        let runs: Vec<_> = (0..3).map(|_| s.spawn(|| (0..3).map(|_| gradient_bits(&layer, &x)).collect::<Vec<_>>())).collect();
        for run in runs {
            for grads in run.join().unwrap() {
                assert!(grads == alone, "a step on a concurrent thread gave other gradients");
            }
        }
    });
    assert!(gradient_bits(&layer, &x) == alone, "and the same again afterwards");
}
