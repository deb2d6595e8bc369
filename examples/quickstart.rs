//! Define a function, get its gradients, and gradcheck it.
//!
//! Run: `cargo run --release --example quickstart`

use tapegrad::prelude::*;

fn main() -> Result<(), AutodiffError> {
    // f(W, b) = Σ tanh(x·W + b) for a fixed input x.
    let x = Tensor::from_vec(vec![0.5, -1.0, 2.0], &[1, 3]);
    let w = Tensor::from_vec(vec![0.1, -0.2, 0.3, 0.4, -0.5, 0.6], &[3, 2]);
    let b = Tensor::from_vec(vec![0.05, -0.05], &[2]);

    let tape = Tape::<f64>::new();
    let (xv, wv, bv) = (tape.constant(x.clone()), tape.leaf_named("W", w.clone()), tape.leaf_named("b", b.clone()));
    let loss = (xv.matmul(wv) + bv).tanh().sum_all();
    let grads = tape.backward(loss)?;
    println!("f = {:.6}", loss.value().item());
    println!("df/dW = {:?}", grads.get(wv)?.data());
    println!("df/db = {:?}", grads.get(bv)?.data());

    // The same function, checked against central finite differences.
    let f = check_fn(|tape, v| {
        let x = tape.constant(x.clone());
        Ok((x.try_matmul(v[0])? + v[1]).tanh().sum_all())
    });
    let report = gradcheck(f, &[w, b], &GradcheckOptions::default().names(&["W", "b"]))?;
    print!("{report}");
    if !report.passed() {
        std::process::exit(1);
    }
    Ok(())
}
