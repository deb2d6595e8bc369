//! The seed lecture notes' worked examples, reproduced with the library's
//! own cells and layers, to 4 decimals.
//!
//! Expected values: hand-checked from the notes' matrices (the notes'
//! `W_y·h1` in seed 002 drops two of the three products in its first row
//! and misprints y1; the values below are the correct ones, confirmed with
//! `python3 -c "import math; ..."` arithmetic spelled out in each test).

use tapegrad_autodiff::{Tape, Tensor};
use tapegrad_nn::{load_state_dict, Activation, Binding, Cell, Linear, RnnCell};

fn t(rows: &[&[f64]]) -> Tensor<f64> {
    let r = rows.len();
    let c = rows[0].len();
    Tensor::from_vec(rows.iter().flat_map(|row| row.iter().copied()).collect(), &[r, c])
}

fn close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 5e-5, "got {got:?}, want {want:?}");
    }
}

fn cell(w_ih: Tensor<f64>, w_hh: Tensor<f64>, b: Tensor<f64>, act: Activation) -> RnnCell<f64> {
    let h = w_ih.shape()[0];
    let mut c = RnnCell::new(w_ih.shape()[1], h, act, &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0));
    let sd = vec![
        ("weight_ih".to_string(), w_ih),
        ("weight_hh".to_string(), w_hh),
        ("bias_ih".to_string(), b),
        ("bias_hh".to_string(), Tensor::zeros(&[h])),
    ];
    load_state_dict(&mut c, &sd, "seed").unwrap();
    c
}

/// Seed 000, "hello": sigmoid hidden layer, W_ax, W_aa, W_ay as given,
/// zero biases. a<1> = σ(W_ax·[1,0,0,0]) = σ([0, 1, -1, 0]).
#[test]
fn seed_000_hello_first_step() {
    let w_aa = t(&[&[1.0, 1.0, -1.0, -1.0], &[1.0, 0.0, 0.0, 0.0], &[0.0, -1.0, 1.0, 0.0], &[0.0, 0.0, -1.0, 0.5]]);
    let w_ax = t(&[&[0.0, 0.0, 1.0, -1.0], &[1.0, 1.0, -1.0, 0.0], &[-1.0, 0.0, 1.0, 0.0], &[0.0, 0.0, 1.0, 0.5]]);
    let w_ay = t(&[&[0.0, 1.0, 0.0, -1.5], &[1.0, 0.0, 0.0, 0.0], &[0.0, -0.5, 1.0, 0.0], &[0.0, 0.0, -1.0, 1.0]]);
    let rnn = cell(w_ax, w_aa, Tensor::zeros(&[4]), Activation::Sigmoid);
    let out = Linear::from_tensors(w_ay, Tensor::zeros(&[4])).unwrap();
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let x1 = tape.constant(Tensor::from_vec(vec![1.0, 0.0, 0.0, 0.0], &[1, 4])); // "h"
    let a1 = rnn.forward(&bind, x1, &rnn.zero_state(&tape, 1)).unwrap();
    close(a1.value().data(), &[0.5, 0.7311, 0.2689, 0.5]);
    let logits = out.forward(&bind, a1).unwrap();
    close(logits.value().data(), &[-0.0189, 0.5, -0.0966, 0.2311]);
    let p = logits.softmax(1).value();
    close(&p.data()[1..2], &[0.3436]); // p("e")
    assert_eq!(p.argmax(1), vec![1]); // predicts "e"
}

/// Seed 002, "I love deep learning": tanh, W_h/U_h/b_h/W_y/b_y as given.
/// h1 = tanh([0.3, 0.6, -0.2]); logits = W_y·h1 + b_y. The notes print
/// [-0.05826, 0.04526, ...] and y1 = [0.1743, 0.1933, 0.2323, 0.2120,
/// 0.1880] ("love"): their first row keeps one product of three. Correct:
/// row 1 = -0.2·0.2913 + 0.1·0.5370 + 0.2·(-0.1974) = -0.0440, etc.
#[test]
fn seed_002_i_love_deep_learning_first_step() {
    let w_h = t(&[&[0.2, -0.3, 0.1, 0.4, 0.1], &[0.5, 0.1, -0.2, 0.2, -0.4], &[-0.1, 0.3, 0.2, -0.1, 0.2]]);
    let u_h = t(&[&[0.1, 0.3, -0.2], &[0.4, -0.1, 0.5], &[-0.3, 0.2, 0.1]]);
    let b_h = Tensor::from_vec(vec![0.1, 0.1, -0.1], &[3]);
    let w_y = t(&[&[-0.2, 0.1, 0.2], &[0.3, -0.4, 0.5], &[0.1, 0.2, -0.3], &[-0.5, 0.4, 0.1], &[0.2, -0.1, 0.3]]);
    let b_y = Tensor::from_vec(vec![0.0, 0.1, 0.0, 0.1, 0.0], &[5]);
    let rnn = cell(w_h, u_h, b_h, Activation::Tanh);
    let out = Linear::from_tensors(w_y, b_y).unwrap();
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let x1 = tape.constant(Tensor::from_vec(vec![1.0, 0.0, 0.0, 0.0, 0.0], &[1, 5])); // "I"
    let h1 = rnn.forward(&bind, x1, &rnn.zero_state(&tape, 1)).unwrap();
    close(h1.value().data(), &[0.2913, 0.5370, -0.1974]);
    let logits = out.forward(&bind, h1).unwrap();
    close(logits.value().data(), &[-0.0440, -0.1261, 0.1958, 0.1494, -0.0547]);
    let y1 = logits.softmax(1).value();
    close(y1.data(), &[0.1854, 0.1707, 0.2356, 0.2249, 0.1834]);
    assert_eq!(y1.argmax(1), vec![2], "the prediction is index 2, \"deep\"");
}
