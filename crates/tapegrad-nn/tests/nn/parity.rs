//! Parity with PyTorch: fixtures written by scripts/make_parity_fixtures.py
//! (PyTorch 2.15, float64) hold weights, inputs, outputs and gradients;
//! tapegrad must agree to 1e-10 on all of them.

use std::collections::HashMap;
use std::path::PathBuf;

use tapegrad_autodiff::{Tape, Tensor, Var};
use tapegrad_nn::{
    bce_with_logits, cross_entropy, load_safetensors, load_state_dict, mse_loss, nll_loss, Activation, Adam, Binding, Cell, GruCell,
    LstmCell, Module, Optimizer, Param, ParamGrads, Reduction, RmsProp, Rnn, RnnCell, Sgd, State,
};

const TOL: f64 = 1e-10;

fn fixture(name: &str) -> HashMap<String, Tensor<f64>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(format!("{name}.safetensors"));
    load_safetensors::<f64>(&path).unwrap().0.into_iter().collect()
}

fn close(what: &str, got: &Tensor<f64>, want: &Tensor<f64>) -> f64 {
    let d = got.max_abs_diff(want).unwrap_or_else(|| panic!("{what}: shape {:?} vs {:?}", got.shape(), want.shape()));
    assert!(d < TOL, "{what}: max abs diff {d:e}");
    d
}

/// Builds the layer a fixture describes, loads its weights, runs the same
/// loss as the script and compares everything. Returns the worst error.
fn check_case<C: Cell<f64>>(name: &str, f: &HashMap<String, Tensor<f64>>, make: impl FnMut(usize) -> C) -> f64 {
    let w_ih = &f["weight_ih_l0"];
    let hidden = f["weight_hh_l0"].shape()[1];
    let layers = (0..).take_while(|k| f.contains_key(&format!("weight_ih_l{k}"))).count();
    let bidir = f.contains_key("weight_ih_l0_reverse");
    let mut layer = Rnn::spec(w_ih.shape()[1], hidden).layers(layers).bidirectional(bidir).cells(make);
    let params: Vec<(String, Tensor<f64>)> = layer.params().iter().map(|(n, _)| (n.clone(), f[n].clone())).collect();
    load_state_dict(&mut layer, &params, name).unwrap();
    let dirs = if bidir { 2 } else { 1 };
    let lengths: Option<Vec<usize>> = f.get("lengths").map(|l| l.data().iter().map(|&v| v as usize).collect());
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let x = tape.leaf(f["input"].clone());
    let h0 = tape.leaf(f["h0"].clone());
    let c0 = f.get("c0").map(|c| tape.leaf(c.clone()));
    let b = f["input"].shape()[1];
    let init: Vec<C::State<'_>> = (0..layers * dirs)
        .map(|k| {
            let mut parts = vec![h0.narrow(0, k, 1).reshape(&[b, hidden])];
            if let Some(c0) = c0 {
                parts.push(c0.narrow(0, k, 1).reshape(&[b, hidden]));
            }
            C::State::from_parts(&parts)
        })
        .collect();
    let out = layer.forward(&bind, x, Some(&init), lengths.as_deref()).unwrap();
    let mut worst = close(&format!("{name} output"), &out.output.value(), &f["output"]);
    let part = |k: usize| -> Vec<Var<'_, f64>> { out.last.iter().map(|s| s.parts()[k].reshape(&[1, b, hidden])).collect() };
    let h_n = Var::concat(&part(0), 0);
    worst = worst.max(close(&format!("{name} h_n"), &h_n.value(), &f["h_n"]));
    let mut loss = out.output.try_mul(tape.constant(f["w_output"].clone())).unwrap().sum_all()
        + h_n.try_mul(tape.constant(f["w_h_n"].clone())).unwrap().sum_all();
    if f.contains_key("c_n") {
        let c_n = Var::concat(&part(1), 0);
        worst = worst.max(close(&format!("{name} c_n"), &c_n.value(), &f["c_n"]));
        loss = loss + c_n.try_mul(tape.constant(f["w_c_n"].clone())).unwrap().sum_all();
    }
    let g = tape.backward(loss).unwrap();
    let pg = bind.grads(&g);
    for (n, p) in layer.params() {
        worst = worst.max(close(&format!("{name} grad {n}"), pg.get(p).unwrap(), &f[&format!("grad.{n}")]));
    }
    worst = worst.max(close(&format!("{name} grad input"), g.get(x).unwrap(), &f["grad.input"]));
    worst = worst.max(close(&format!("{name} grad h0"), g.get(h0).unwrap(), &f["grad.h0"]));
    if let Some(c0) = c0 {
        worst = worst.max(close(&format!("{name} grad c0"), g.get(c0).unwrap(), &f["grad.c0"]));
    }
    worst
}

#[test]
fn recurrent_layers_match_pytorch() {
    let mut report = Vec::new();
    for name in ["lstm", "lstm_2layer", "lstm_bidirectional_2layer", "lstm_packed_bidirectional_2layer"] {
        let f = fixture(name);
        let h = f["weight_hh_l0"].shape()[1];
        report
            .push((name, check_case(name, &f, |i| LstmCell::new(i, h, &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0)))));
    }
    for name in ["gru", "gru_bidirectional", "gru_packed"] {
        let f = fixture(name);
        let h = f["weight_hh_l0"].shape()[1];
        report.push((name, check_case(name, &f, |i| GruCell::new(i, h, &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0)))));
    }
    for (name, act) in [("rnn_tanh", Activation::Tanh), ("rnn_relu", Activation::Relu), ("rnn_packed_bidirectional", Activation::Tanh)] {
        let f = fixture(name);
        let h = f["weight_hh_l0"].shape()[1];
        report.push((
            name,
            check_case(name, &f, |i| RnnCell::new(i, h, act, &mut <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(0))),
        ));
    }
    for (name, worst) in report {
        eprintln!("parity {name}: max abs error {worst:.2e}");
    }
}

#[test]
fn optimizers_match_pytorch() {
    let f = fixture("optimizers");
    let mut opts: Vec<(&str, Box<dyn Optimizer<f64>>)> = vec![
        ("sgd", Box::new(Sgd::new(0.1))),
        ("sgd_momentum", Box::new(Sgd::new(0.1).with_momentum(0.9, false).with_weight_decay(0.01))),
        ("sgd_nesterov", Box::new(Sgd::new(0.1).with_momentum(0.9, true))),
        ("adam", Box::new(Adam::new(0.01).with_weight_decay(0.1))),
        ("adamw", Box::new(Adam::adamw(0.01).with_weight_decay(0.1))),
        ("rmsprop", Box::new(RmsProp::new(0.01).with_momentum(0.5))),
    ];
    for (name, opt) in opts.iter_mut() {
        let mut p = Param::new(f["p0"].clone());
        for step in 0..4 {
            let tape = Tape::new();
            let bind = Binding::new(&tape);
            // A loss whose gradient is exactly grad{step}: Σ p ⊙ g.
            let loss = bind.param(&p).try_mul(tape.constant(f[&format!("grad{step}")].clone())).unwrap().sum_all();
            let grads: ParamGrads<f64> = bind.grads(&tape.backward(loss).unwrap());
            opt.step(vec![("p".into(), &mut p)], &grads).unwrap();
            close(&format!("{name} step {step}"), p.value(), &f[&format!("{name}.step{step}")]);
        }
    }
}

#[test]
fn losses_match_pytorch() {
    let f = fixture("losses");
    let targets: Vec<usize> = f["targets"].data().iter().map(|&v| v as usize).collect();
    for (red, reduction) in [("mean", Reduction::Mean), ("sum", Reduction::Sum)] {
        let tape = Tape::new();
        let x = tape.leaf(f["logits"].clone());
        let l = cross_entropy(x, &targets, Some(1), reduction).unwrap();
        close(&format!("ce {red}"), &l.value().reshape(&[1]), &f[&format!("ce.{red}")]);
        close(&format!("ce {red} grad"), tape.backward(l).unwrap().get(x).unwrap(), &f[&format!("ce.{red}.grad")]);
    }
    let tape = Tape::new();
    let x = tape.leaf(f["logits"].clone());
    let l = nll_loss(x.log_softmax(1), &targets, None, Reduction::Mean).unwrap();
    close("nll", &l.value().reshape(&[1]), &f["nll.mean"]);
    close("nll grad", tape.backward(l).unwrap().get(x).unwrap(), &f["nll.mean.grad"]);
    let z = tape.leaf(f["bce.logits"].clone());
    let l = bce_with_logits(z, &f["bce.targets"], Reduction::Mean).unwrap();
    close("bce", &l.value().reshape(&[1]), &f["bce.mean"]);
    close("bce grad", tape.backward(l).unwrap().get(z).unwrap(), &f["bce.mean.grad"]);
    let a = tape.leaf(f["mse.pred"].clone());
    let l = mse_loss(a, &f["mse.target"], Reduction::Mean).unwrap();
    close("mse", &l.value().reshape(&[1]), &f["mse.mean"]);
    close("mse grad", tape.backward(l).unwrap().get(a).unwrap(), &f["mse.mean.grad"]);
}
