//! `RnnCell::irnn` (Le, Jaitly & Hinton 2015's identity-initialised ReLU
//! RNN) and `Rnn::cells_mut`: the named constructor matches its definition,
//! and changes made through `cells_mut` reach every cell and the forward pass.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{Tape, Tensor};
use tapegrad_nn::{Activation, Binding, Cell, Rnn, RnnCell};

#[test]
fn irnn_recurrent_weight_is_the_identity_biases_zero_and_activation_relu() {
    let cell = RnnCell::<f64>::irnn(3, 5, &mut StdRng::seed_from_u64(0));
    assert_eq!(cell.activation, Activation::Relu);
    assert_eq!(cell.weight_hh.value(), &Tensor::eye(5));
    assert_eq!(cell.bias_ih.value(), &Tensor::zeros(&[5]));
    assert_eq!(cell.bias_hh.value(), &Tensor::zeros(&[5]));
    assert_eq!(cell.weight_ih.shape(), &[5, 3]);
    assert_eq!((cell.input_size(), cell.hidden_size()), (3, 5));
}

#[test]
fn irnn_input_weights_are_gaussian_with_std_0_001() {
    let cell = RnnCell::<f64>::irnn(200, 100, &mut StdRng::seed_from_u64(1));
    let w = cell.weight_ih.value().data();
    let n = w.len() as f64;
    let mean = w.iter().sum::<f64>() / n;
    let std = (w.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    // 20 000 draws: the mean's sd is 7e-6 and the std's about 0.5% of 0.001.
    assert!(mean.abs() < 3e-5, "mean {mean}");
    assert!((std - 0.001).abs() < 2e-5, "std {std}");
    // Gaussian, not uniform with the same std: 68.3% within one sd (uniform: 57.7%).
    let within = w.iter().filter(|v| v.abs() < 0.001).count() as f64 / n;
    assert!((within - 0.683).abs() < 0.015, "{within} within one sd");
}

#[test]
fn irnn_carries_a_nonnegative_state_unchanged_through_zero_input() {
    // relu(W_ih·0 + 0 + I·h + 0) = h for h >= 0: the IRNN's point.
    let cell = RnnCell::<f64>::irnn(2, 4, &mut StdRng::seed_from_u64(2));
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let h = Tensor::from_vec(vec![0.5, 2.0, 0.0, 3.25], &[1, 4]);
    let mut state = tape.constant(h.clone());
    for _ in 0..10 {
        state = cell.forward(&bind, tape.constant(Tensor::zeros(&[1, 2])), &state).unwrap();
    }
    assert_eq!(state.value(), h);
}

#[test]
fn cells_mut_visits_every_cell_of_every_layer_and_direction_in_pytorch_order() {
    let mut layer = Rnn::spec(2, 3).layers(3).bidirectional(true).elman::<f64, _>(Activation::Tanh, &mut StdRng::seed_from_u64(3));
    assert_eq!(layer.cells_mut().count(), 6, "3 layers × 2 directions");
    // Make cell k output the constant k + 1 whatever its input: zero weights,
    // bias k + 1, ReLU. The forward pass must see every change, and
    // `last` (PyTorch's order) must list the cells in `cells_mut`'s order.
    for (k, cell) in layer.cells_mut().enumerate() {
        cell.activation = Activation::Relu;
        cell.weight_ih.data_mut().fill(0.0);
        cell.weight_hh.data_mut().fill(0.0);
        cell.bias_ih.data_mut().fill(k as f64 + 1.0);
        cell.bias_hh.data_mut().fill(0.0);
    }
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let x = tape.constant(Tensor::from_vec((0..16).map(|v| v as f64 - 7.0).collect(), &[4, 2, 2]));
    let out = layer.forward(&bind, x, None, None).unwrap();
    for (k, h) in out.last.iter().enumerate() {
        assert_eq!(h.value(), Tensor::full(&[2, 3], k as f64 + 1.0), "state {k}");
    }
    // The last layer's outputs: forward cell 4 (value 5) then reverse cell 5 (value 6).
    let row: Vec<f64> = [5.0; 3].into_iter().chain([6.0; 3]).collect();
    assert_eq!(out.output.value().data(), row.repeat(8).as_slice());
}
