//! `examples/seed_walkthrough.rs`: the seed notes' worked examples, with
//! the notes' slips in seed 002 found and the honest ones in seed 000 not
//! flagged. Expected values: the (hand-checked; see
//! `crates/tapegrad-nn/tests/nn/seeds.rs`).

#[allow(dead_code)]
#[path = "../../examples/seed_walkthrough.rs"]
mod example;

use example::{run, Verdict};

fn close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() < 5e-5), "got {got:?}, want {want:?}");
}

#[test]
fn walkthrough_computes_the_notes_examples_and_flags_exactly_their_slips() {
    let examples = run().unwrap();
    let (hello, love) = (&examples[0], &examples[1]);

    // Seed 000: every printed number agrees, or differs only by carrying a<1> rounded to 2 decimals.
    close(&hello.lines[0].computed, &[0.5, 0.7311, 0.2689, 0.5]);
    close(&hello.lines[1].computed, &[-0.0189, 0.5, -0.0966, 0.2311]);
    close(&hello.lines[2].computed, &[0.3436]);
    let verdicts: Vec<Verdict> = hello.lines.iter().map(|l| l.verdict()).collect();
    assert_eq!(verdicts, [Verdict::Agrees, Verdict::Inherited, Verdict::Agrees]);
    assert_eq!(hello.prediction, ("e", "e"));

    // Seed 002: W_y·h1 is the slip; what follows it is consistent with it; the word is misnamed.
    close(&love.lines[0].computed, &[0.2913, 0.5370, -0.1974]);
    close(&love.lines[2].computed, &[-0.0440, -0.1261, 0.1958, 0.1494, -0.0547]);
    close(&love.lines[3].computed, &[0.1854, 0.1707, 0.2356, 0.2249, 0.1834]);
    let verdicts: Vec<Verdict> = love.lines.iter().map(|l| l.verdict()).collect();
    assert_eq!(verdicts, [Verdict::Agrees, Verdict::Slip, Verdict::Inherited, Verdict::Inherited]);
    assert_eq!(love.prediction, ("love", "deep"));

    // Both sequences run to the end, and their BPTT gradients pass the check.
    assert_eq!((hello.steps.len(), love.steps.len()), (4, 3));
    for e in &examples {
        assert!(e.gradcheck.passed(), "{}: {}", e.title, e.gradcheck);
        assert!(e.loss.is_finite() && e.loss > 0.0);
    }
}
