//! The seed notes' two worked examples, computed step by step with the
//! library's own `RnnCell` and `Linear`, printed beside the numbers the
//! notes print by hand:
//!
//! - seed 000, "hello": a sigmoid RNN over one-hot characters;
//! - seed 002, "I love deep learning": a tanh RNN over one-hot words.
//!
//! Each number the notes print is compared at the precision they print it
//! with (to one unit of its last decimal), two ways: against the exact computation, and against the same
//! formula applied to the notes' own previous (rounded, or wrong) numbers.
//! That tells apart three cases: the notes agree; the notes differ only
//! because they carried an earlier rounded or wrong number forward; or the
//! notes slipped at this very step. For a slipped matrix-vector product the
//! products of each row are printed so the slip can be seen.
//!
//! Then both sequences are run to the end (the notes stop at step 1), the
//! next-token loss is backpropagated through time, and that BPTT gradient
//! is checked against finite differences.
//!
//! Run: `cargo run --release --example seed_walkthrough`

use std::error::Error;

use tapegrad::autodiff::GradcheckReport;
use tapegrad::prelude::*;

/// How a number printed by the notes compares with the computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Equal to the exact value at the precision the notes print.
    Agrees,
    /// Off from the exact value, but equal to what the notes' own earlier
    /// (rounded or wrong) numbers give: the difference was carried in.
    Inherited,
    /// Follows neither: the notes slipped at this step.
    Slip,
}

/// One quantity of a worked example.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    /// What it is, as the notes write it.
    pub what: &'static str,
    /// The notes' numbers, as printed.
    pub notes: Vec<&'static str>,
    /// The exact value, computed by the library.
    pub computed: Vec<f64>,
    /// The same formula applied to the notes' own previous numbers.
    pub from_notes: Vec<f64>,
    /// The verdict per element.
    pub verdicts: Vec<Verdict>,
}

impl Line {
    fn new(what: &'static str, notes: &[&'static str], computed: Vec<f64>, from_notes: Vec<f64>) -> Self {
        assert_eq!(notes.len(), computed.len(), "{what}: the notes print one number per computed one");
        let verdicts = notes
            .iter()
            .zip(computed.iter().zip(&from_notes))
            .map(|(n, (&c, &f))| {
                let (value, tol) = printed(n);
                if (value - c).abs() <= tol {
                    Verdict::Agrees
                } else if (value - f).abs() <= tol {
                    Verdict::Inherited
                } else {
                    Verdict::Slip
                }
            })
            .collect();
        Line { what, notes: notes.to_vec(), computed, from_notes, verdicts }
    }

    /// The worst verdict of the line.
    pub(crate) fn verdict(&self) -> Verdict {
        let has = |v| self.verdicts.contains(&v);
        if has(Verdict::Slip) {
            Verdict::Slip
        } else if has(Verdict::Inherited) {
            Verdict::Inherited
        } else {
            Verdict::Agrees
        }
    }
}

/// A printed number and the tolerance it is compared with: one unit of its
/// last printed decimal (the notes sometimes truncate rather than round,
/// and round their intermediate results), plus a hair for the float error
/// of the comparison itself.
fn printed(s: &str) -> (f64, f64) {
    let value: f64 = s.parse().expect("the notes' numbers are decimals");
    let decimals = s.split_once('.').map_or(0, |(_, frac)| frac.len());
    (value, 10f64.powi(-(decimals as i32)) + 1e-12)
}

/// One step of a run beyond what the notes compute.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    /// The token read at this step.
    pub input: &'static str,
    /// The hidden state after it.
    pub hidden: Vec<f64>,
    /// The most probable next token and its probability.
    pub predicted: (&'static str, f64),
    /// The true next token and the probability the model gives it.
    pub target: (&'static str, f64),
}

/// One worked example, computed.
#[derive(Debug, Clone)]
pub(crate) struct Example {
    /// Which seed and sentence.
    pub title: &'static str,
    /// The notes' step-1 numbers beside the computed ones.
    pub lines: Vec<Line>,
    /// The word the notes name as the prediction, and the computed one.
    pub prediction: (&'static str, &'static str),
    /// Every step of the sequence.
    pub steps: Vec<Step>,
    /// Mean next-token cross-entropy over the sequence.
    pub loss: f64,
    /// BPTT gradient norm of each weight (named as in the notes).
    pub grad_norms: GradNorms,
    /// The gradient check of the loss with respect to every weight.
    pub gradcheck: GradcheckReport,
}

/// The gradient norm of each weight, by the notes' name.
pub(crate) type GradNorms = Vec<(&'static str, f64)>;

/// The output logits of each step.
type Logits = Vec<Vec<f64>>;

/// A matrix given by rows.
fn mat(rows: &[&[f64]]) -> Tensor<f64> {
    Tensor::from_vec(rows.iter().flat_map(|r| r.iter().copied()).collect(), &[rows.len(), rows[0].len()])
}

fn parse(notes: &[&str]) -> Vec<f64> {
    notes.iter().map(|s| printed(s).0).collect()
}

/// `W · v` for a matrix `(R, C)` and a vector of `C`, as a vector.
fn matvec(w: &Tensor<f64>, v: &[f64]) -> Vec<f64> {
    w.matmul(&Tensor::from_vec(v.to_vec(), &[v.len(), 1])).data().to_vec()
}

fn softmax(v: &[f64]) -> Vec<f64> {
    Tensor::from_vec(v.to_vec(), &[v.len()]).softmax(0).data().to_vec()
}

fn argmax(v: &[f64]) -> usize {
    Tensor::from_vec(v.to_vec(), &[1, v.len()]).argmax(1)[0]
}

/// The weights of one example: an Elman cell and its output layer.
struct Model {
    vocab: &'static [&'static str],
    cell: RnnCell<f64>,
    head: Linear<f64>,
    /// The notes' names of `weight_ih`, `weight_hh`, the output weight.
    names: [&'static str; 3],
}

impl Model {
    fn new(
        vocab: &'static [&'static str],
        w_x: Tensor<f64>,
        w_h: Tensor<f64>,
        b_h: Tensor<f64>,
        w_y: Tensor<f64>,
        b_y: Tensor<f64>,
        act: Activation,
        names: [&'static str; 3],
    ) -> Self {
        let h = w_h.shape()[0];
        let cell = RnnCell {
            weight_ih: Param::new(w_x),
            weight_hh: Param::new(w_h),
            bias_ih: Param::new(b_h),
            bias_hh: Param::new(Tensor::zeros(&[h])),
            activation: act,
        };
        let head = Linear::from_tensors(w_y, b_y).expect("the notes' output layer has matching shapes");
        Model { vocab, cell, head, names }
    }

    fn index(&self, word: &str) -> usize {
        self.vocab.iter().position(|w| *w == word).expect("a word of the vocabulary")
    }

    fn one_hot(&self, word: &str) -> Tensor<f64> {
        let mut v = vec![0.0; self.vocab.len()];
        v[self.index(word)] = 1.0;
        Tensor::from_vec(v, &[1, self.vocab.len()])
    }

    /// Runs `tokens` (predicting each next one) and returns the steps and
    /// the mean cross-entropy, with the hidden states and logits of every step.
    fn run(&self, tokens: &[&'static str]) -> Result<(Vec<Step>, f64, Logits), NnError> {
        let tape = Tape::new();
        let bind = Binding::new(&tape);
        let mut h = self.cell.zero_state(&tape, 1);
        let (mut steps, mut logits_all, mut loss) = (Vec::new(), Vec::new(), 0.0);
        for pair in tokens.windows(2) {
            h = self.cell.forward(&bind, tape.constant(self.one_hot(pair[0])), &h)?;
            let logits = self.head.forward(&bind, h)?.value().data().to_vec();
            let p = softmax(&logits);
            let (best, target) = (argmax(&p), self.index(pair[1]));
            loss -= p[target].ln();
            steps.push(Step {
                input: pair[0],
                hidden: h.value().data().to_vec(),
                predicted: (self.vocab[best], p[best]),
                target: (pair[1], p[target]),
            });
            logits_all.push(logits);
        }
        Ok((steps, loss / (tokens.len() - 1) as f64, logits_all))
    }

    /// The same mean cross-entropy as a function of the three weight
    /// matrices, written with ops on column vectors exactly as the notes
    /// write the recurrence; its tape gradient is BPTT, and it is checked
    /// here against central finite differences.
    fn bptt_check(&self, tokens: &[&'static str]) -> Result<(GradNorms, GradcheckReport), AutodiffError> {
        let column = |t: &Tensor<f64>| t.reshape(&[t.data().len(), 1]);
        let (b_h, b_y) = (column(self.cell.bias_ih.value()), column(self.head.bias.value()));
        let act = self.cell.activation;
        let inputs: Vec<Tensor<f64>> = tokens[..tokens.len() - 1].iter().map(|w| column(&self.one_hot(w))).collect();
        let targets: Vec<usize> = tokens[1..].iter().map(|w| self.index(w)).collect();
        let loss = check_fn(|tape, w| {
            let (w_x, w_h, w_y) = (w[0], w[1], w[2]);
            let (b_h, b_y) = (tape.constant(b_h.clone()), tape.constant(b_y.clone()));
            let mut h = tape.constant(Tensor::zeros(&[w_h.shape()[0], 1]));
            let mut total = tape.constant(Tensor::scalar(0.0));
            for (x, &target) in inputs.iter().zip(&targets) {
                let pre = w_x.matmul(tape.constant(x.clone())) + w_h.matmul(h) + b_h;
                h = if act == Activation::Sigmoid { pre.sigmoid() } else { pre.tanh() };
                let y = w_y.matmul(h) + b_y; // logits, a column
                total = total - y.log_softmax(0).narrow(0, target, 1).sum_all();
            }
            Ok(total.scale(1.0 / targets.len() as f64))
        });
        let weights = [self.cell.weight_ih.value().clone(), self.cell.weight_hh.value().clone(), self.head.weight.value().clone()];
        let tape = Tape::new();
        let leaves: Vec<Var<'_, f64>> = weights.iter().map(|w| tape.leaf(w.clone())).collect();
        let grads = tape.backward(loss(&tape, &leaves)?)?;
        let mut norms = Vec::new();
        for (name, leaf) in self.names.iter().zip(&leaves) {
            let g = grads.get(*leaf)?;
            norms.push((*name, g.data().iter().map(|v| v * v).sum::<f64>().sqrt()));
        }
        let report = gradcheck(loss, &weights, &GradcheckOptions::default().names(&self.names))?;
        Ok((norms, report))
    }
}

/// Seed 000: "hello", sigmoid hidden layer, weights as given, zero biases.
fn hello() -> Result<Example, Box<dyn Error>> {
    const VOCAB: &[&str] = &["h", "e", "l", "o"];
    let w_aa = mat(&[&[1.0, 1.0, -1.0, -1.0], &[1.0, 0.0, 0.0, 0.0], &[0.0, -1.0, 1.0, 0.0], &[0.0, 0.0, -1.0, 0.5]]);
    let w_ax = mat(&[&[0.0, 0.0, 1.0, -1.0], &[1.0, 1.0, -1.0, 0.0], &[-1.0, 0.0, 1.0, 0.0], &[0.0, 0.0, 1.0, 0.5]]);
    let w_ay = mat(&[&[0.0, 1.0, 0.0, -1.5], &[1.0, 0.0, 0.0, 0.0], &[0.0, -0.5, 1.0, 0.0], &[0.0, 0.0, -1.0, 1.0]]);
    let m = Model::new(
        VOCAB,
        w_ax,
        w_aa,
        Tensor::zeros(&[4]),
        w_ay.clone(),
        Tensor::zeros(&[4]),
        Activation::Sigmoid,
        ["W_ax", "W_aa", "W_ay"],
    );
    let tokens = ["h", "e", "l", "l", "o"];
    let (steps, loss, logits) = m.run(&tokens)?;
    // What the notes print for step 1, and the formulas applied to their own numbers.
    let a1_notes = ["0.5", "0.73", "0.27", "0.5"];
    let y1_notes = ["-0.02", "0.5", "-0.095", "0.23"];
    let p1 = softmax(&logits[0]);
    let mut lines = vec![
        Line::new("a<1> = g1(W_aa a<0> + W_ax x<1> + b_a)", &a1_notes, steps[0].hidden.clone(), steps[0].hidden.clone()),
        Line::new("W_ay a<1> + b_y", &y1_notes, logits[0].clone(), matvec(&w_ay, &parse(&a1_notes))),
    ];
    lines.push(Line::new("p(\"e\") = softmax(...)[e]", &["0.34"], vec![p1[1]], vec![softmax(&parse(&y1_notes))[1]]));
    let (grad_norms, gradcheck) = m.bptt_check(&tokens)?;
    Ok(Example {
        title: "seed 000: \"hello\" (sigmoid RNN, one-hot characters)",
        lines,
        prediction: ("e", steps[0].predicted.0),
        steps,
        loss,
        grad_norms,
        gradcheck,
    })
}

/// Seed 002: "I love deep learning", tanh hidden layer, weights as given.
fn i_love_deep_learning() -> Result<Example, Box<dyn Error>> {
    const VOCAB: &[&str] = &["I", "love", "deep", "learning", "_"];
    let w_h = mat(&[&[0.2, -0.3, 0.1, 0.4, 0.1], &[0.5, 0.1, -0.2, 0.2, -0.4], &[-0.1, 0.3, 0.2, -0.1, 0.2]]);
    let u_h = mat(&[&[0.1, 0.3, -0.2], &[0.4, -0.1, 0.5], &[-0.3, 0.2, 0.1]]);
    let b_h = Tensor::from_vec(vec![0.1, 0.1, -0.1], &[3]);
    let w_y = mat(&[&[-0.2, 0.1, 0.2], &[0.3, -0.4, 0.5], &[0.1, 0.2, -0.3], &[-0.5, 0.4, 0.1], &[0.2, -0.1, 0.3]]);
    let b_y = vec![0.0, 0.1, 0.0, 0.1, 0.0];
    let m = Model::new(VOCAB, w_h, u_h, b_h, w_y.clone(), Tensor::from_vec(b_y.clone(), &[5]), Activation::Tanh, ["W_h", "U_h", "W_y"]);
    let tokens = ["I", "love", "deep", "learning"];
    let (steps, loss, logits) = m.run(&tokens)?;
    let h1_notes = ["0.2913", "0.5370", "-0.1974"];
    let wyh_notes = ["-0.05826", "-0.05474", "0.22871", "0.03783", "0.01737"];
    let logit_notes = ["-0.05826", "0.04526", "0.22871", "0.13783", "0.01737"];
    let y1_notes = ["0.1743", "0.1933", "0.2323", "0.2120", "0.1880"];
    let wyh = matvec(&w_y, &steps[0].hidden);
    let plus_b = |v: Vec<f64>| v.iter().zip(&b_y).map(|(a, b)| a + b).collect::<Vec<f64>>();
    let lines = vec![
        Line::new("h1 = tanh(W_h x1 + U_h h0 + b_h)", &h1_notes, steps[0].hidden.clone(), steps[0].hidden.clone()),
        Line::new("W_y h1", &wyh_notes, wyh, matvec(&w_y, &parse(&h1_notes))),
        Line::new("W_y h1 + b_y", &logit_notes, logits[0].clone(), plus_b(parse(&wyh_notes))),
        Line::new("y1 = softmax(W_y h1 + b_y)", &y1_notes, softmax(&logits[0]), softmax(&parse(&logit_notes))),
    ];
    let (grad_norms, gradcheck) = m.bptt_check(&tokens)?;
    Ok(Example {
        title: "seed 002: \"I love deep learning\" (tanh RNN, one-hot words)",
        lines,
        prediction: ("love", steps[0].predicted.0),
        steps,
        loss,
        grad_norms,
        gradcheck,
    })
}

/// Both worked examples, computed.
pub(crate) fn run() -> Result<Vec<Example>, Box<dyn Error>> {
    Ok(vec![hello()?, i_love_deep_learning()?])
}

fn fmt(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:8.4}")).collect();
    format!("[{}]", parts.join(","))
}

/// For a slipped `W · v` line: each row's products, and which of them the
/// notes' number keeps if it is a partial sum of them.
fn explain_matvec(w: &Tensor<f64>, v: &[f64], line: &Line) {
    let cols = v.len();
    for (r, verdict) in line.verdicts.iter().enumerate() {
        if *verdict != Verdict::Slip {
            continue;
        }
        let products: Vec<f64> = (0..cols).map(|c| w.data()[r * cols + c] * v[c]).collect();
        let terms: Vec<String> = (0..cols).map(|c| format!("({} * {:.4})", w.data()[r * cols + c], v[c])).collect();
        let (notes, tol) = printed(line.notes[r]);
        let kept = (1..(1usize << cols) - 1)
            .find(|mask| (notes - (0..cols).filter(|c| mask >> c & 1 == 1).map(|c| products[c]).sum::<f64>()).abs() <= tol);
        let why = match kept {
            Some(mask) => {
                let which: Vec<String> = (0..cols).filter(|c| mask >> c & 1 == 1).map(|c| (c + 1).to_string()).collect();
                format!("the notes keep only product {} of {cols}", which.join(" and "))
            }
            None => "matching no sum of its products".to_string(),
        };
        println!(
            "      row {}: {} = {:.5}; the notes print {} ({why})",
            r + 1,
            terms.join(" + "),
            products.iter().sum::<f64>(),
            line.notes[r]
        );
    }
}

fn show(e: &Example) {
    println!("\n== {} ==", e.title);
    println!("  step 1, the notes' numbers beside the computed ones (compared to one unit of the notes' last printed decimal):");
    for line in &e.lines {
        let verdict = match line.verdict() {
            Verdict::Agrees => "agrees".to_string(),
            Verdict::Inherited => "differs, but follows from the notes' own previous numbers (carried in, not a new slip)".to_string(),
            Verdict::Slip => {
                let bad: Vec<String> =
                    line.verdicts.iter().enumerate().filter(|(_, v)| **v == Verdict::Slip).map(|(i, _)| (i + 1).to_string()).collect();
                format!("SLIP in element(s) {}: follows neither from the exact values nor from the notes' own", bad.join(", "))
            }
        };
        println!("    {}", line.what);
        println!("      notes    [{}]", line.notes.iter().map(|s| format!("{s:>8}")).collect::<Vec<_>>().join(","));
        println!("      computed {}", fmt(&line.computed));
        if line.verdict() != Verdict::Agrees {
            println!("      from the notes' own previous numbers {}", fmt(&line.from_notes));
        }
        println!("      -> {verdict}");
        if line.verdict() == Verdict::Slip && line.what == "W_y h1" {
            let w_y = mat(&[&[-0.2, 0.1, 0.2], &[0.3, -0.4, 0.5], &[0.1, 0.2, -0.3], &[-0.5, 0.4, 0.1], &[0.2, -0.1, 0.3]]);
            explain_matvec(&w_y, &e.steps[0].hidden, line);
        }
    }
    let (notes, computed) = e.prediction;
    if notes == computed {
        println!("    prediction after step 1: \"{computed}\", as the notes say");
    } else {
        let last = e.lines.last().expect("at least one line");
        let notes_best = e.steps[0].predicted.0;
        let idx = argmax(&parse(&last.notes));
        println!(
            "    prediction after step 1: computed \"{computed}\" (p = {:.4}); the notes name \"{notes}\", but their own largest probability, {}, is at index {idx}, which is \"{notes_best}\": a SLIP in naming the word",
            e.steps[0].predicted.1, last.notes[idx]
        );
    }
    println!("  the whole sequence (the notes stop after step 1):");
    for (t, s) in e.steps.iter().enumerate() {
        println!(
            "    t={} reads {:<9} h = {}  predicts {:<9} (p {:.4}); true next {:<9} (p {:.4})",
            t + 1,
            format!("\"{}\"", s.input),
            fmt(&s.hidden),
            format!("\"{}\"", s.predicted.0),
            s.predicted.1,
            format!("\"{}\"", s.target.0),
            s.target.1
        );
    }
    let norms: Vec<String> = e.grad_norms.iter().map(|(n, g)| format!("|dL/d{n}| = {g:.4}")).collect();
    println!("  mean next-token cross-entropy {:.4}; BPTT gradient: {}", e.loss, norms.join(", "));
    let worst = e.gradcheck.inputs.iter().filter_map(|i| i.worst.as_ref().map(|w| w.abs_err)).fold(0.0, f64::max);
    println!(
        "  gradient check against central finite differences: {} (worst absolute error {worst:.1e})",
        if e.gradcheck.passed() { "passed" } else { "FAILED" }
    );
}

fn main() {
    match run() {
        Ok(examples) => {
            for e in &examples {
                show(e);
            }
            let slips: usize = examples
                .iter()
                .map(|e| e.lines.iter().filter(|l| l.verdict() == Verdict::Slip).count() + usize::from(e.prediction.0 != e.prediction.1))
                .sum();
            println!("\n{slips} slip(s) in the notes' hand arithmetic (every computed value above is the library's own).");
            if examples.iter().any(|e| !e.gradcheck.passed()) {
                eprintln!("seed_walkthrough: a BPTT gradient failed its check");
                std::process::exit(1);
            }
        }
        Err(e) => {
            eprintln!("seed_walkthrough: {e}");
            std::process::exit(1);
        }
    }
}
