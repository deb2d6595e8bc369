//! End to end through the facade: the user-defined MGU cell of
//! `examples/custom_cell.rs` (ops only, no backward code) plugged into
//! every layer kind, with its BPTT gradient checked against finite
//! differences over random T (1..12), B (1..4) and sizes (1..6).

#[allow(dead_code)]
#[path = "../../examples/custom_cell.rs"]
mod example;

use example::Mgu;
use proptest::prelude::*;
use rand::{rngs::StdRng, SeedableRng};
use tapegrad::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn custom_cell_bptt_in_every_layer_kind(t in 1usize..=12, b in 1usize..=4, i in 1usize..=6, h in 1usize..=6, layers in 1usize..=2, bidir: bool, ragged: bool, seed: u64) {
        let mut rng = StdRng::seed_from_u64(seed);
        let layer = Rnn::spec(i, h).layers(layers).bidirectional(bidir).cells(|inp| Mgu::new(inp, h, &mut rng));
        let x = Tensor::rand_uniform(&[t, b, i], -1.5, 1.5, &mut rng);
        let lengths: Option<Vec<usize>> = ragged.then(|| (0..b).map(|k| 1 + ((seed >> (8 * k)) as usize % t)).collect());
        let report = {
            let opts = LayerCheckOptions::default().gradcheck(GradcheckOptions::default().seed(seed));
            let opts = match lengths.as_deref() {
                Some(l) => opts.lengths(l),
                None => opts,
            };
            gradcheck_layer(&layer, &x, &opts).unwrap()
        };
        prop_assert!(report.passed(), "T={t} B={b} I={i} H={h} layers={layers} bidir={bidir} lengths={lengths:?}\n{report}");
    }
}

#[test]
fn custom_cell_is_just_ops_and_trains() {
    // The example's main gradchecks a 2-layer bidirectional ragged MGU and
    // asserts the loss on "hello" falls below a quarter of its start.
    example::main().unwrap();
}

#[test]
fn custom_cell_fused_equals_unfused_and_records_less() {
    // The example's step marks two fused regions; unfused, the same code
    // records every op. Same kernels, same rules, same order: bit for bit.
    let mut rng = StdRng::seed_from_u64(9);
    let layer = Rnn::spec(3, 4).cells(|i| Mgu::new(i, 4, &mut rng));
    let x = Tensor::rand_uniform(&[6, 2, 3], -1.0, 1.0, &mut rng);
    let run = |mode: Fusion| {
        let tape = Tape::new();
        tape.set_fusion(mode);
        let xv = tape.leaf(x.clone());
        let out = layer.forward(&Binding::new(&tape), xv, None, None).unwrap();
        let records = tape.len();
        let g = tape.grad(out.output.square().sum_all(), &[xv]).unwrap();
        (out.output.value(), g[0].clone(), records)
    };
    let (fused, plain) = (run(Fusion::On), run(Fusion::Off));
    assert_eq!((fused.0.data(), fused.1.data()), (plain.0.data(), plain.1.data()));
    assert!(fused.2 + 6 * 4 <= plain.2, "{} vs {} records", fused.2, plain.2);
}
