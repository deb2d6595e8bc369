//! Bad input gets a typed error naming the layer and shapes, before any
//! step runs; never a panic inside the unroll.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{Tape, Tensor};
use tapegrad_nn::{cross_entropy, load_state_dict, state_dict, Binding, Embedding, NnError, Reduction, Rnn};

fn layer() -> Rnn<tapegrad_nn::LstmCell<f64>> {
    Rnn::spec(3, 4).bidirectional(true).lstm(&mut StdRng::seed_from_u64(0))
}

fn run(x: Tensor<f64>, lengths: Option<&[usize]>) -> NnError {
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let before = tape.len();
    let err = layer().forward(&bind, tape.constant(x), None, lengths).unwrap_err();
    assert_eq!(tape.len(), before + 1, "nothing but the input may be recorded before the check");
    err
}

#[test]
fn empty_sequence_and_zero_batch() {
    let e = run(Tensor::zeros(&[0, 2, 3]), None);
    assert!(matches!(e, NnError::Empty { what: "the sequence", .. }), "{e}");
    assert!(e.to_string().contains("[0, 2, 3]"));
    let e = run(Tensor::zeros(&[5, 0, 3]), None);
    assert!(matches!(e, NnError::Empty { what: "the batch", .. }), "{e}");
}

#[test]
fn wrong_feature_size_or_rank() {
    let e = run(Tensor::zeros(&[5, 2, 4]), None);
    assert!(matches!(e, NnError::InputShape { .. }), "{e}");
    assert!(e.to_string().contains("(T, B, 3)") && e.to_string().contains("[5, 2, 4]"), "{e}");
    assert!(matches!(run(Tensor::zeros(&[5, 3]), None), NnError::InputShape { .. }));
}

#[test]
fn bad_lengths() {
    for (lengths, why) in [(&[6usize, 1][..], "longer"), (&[0, 1][..], "zero"), (&[1][..], "one length per sequence")] {
        let e = run(Tensor::zeros(&[5, 2, 3]), Some(lengths));
        assert!(matches!(e, NnError::Lengths { .. }), "{e}");
        assert!(e.to_string().contains(why), "{e}");
    }
}

#[test]
fn nan_in_the_input() {
    let mut x = Tensor::zeros(&[2, 2, 3]);
    x.data_mut()[7] = f64::NAN;
    let e = run(x, None);
    assert!(matches!(e, NnError::NonFinite { index: 7, .. }), "{e}");
}

#[test]
fn wrong_number_of_initial_states() {
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let l = layer();
    let s = l.cells()[0].0.clone();
    let zero = tapegrad_nn::Cell::zero_state(&s, &tape, 2);
    let e = l.forward(&bind, tape.constant(Tensor::zeros(&[2, 2, 3])), Some(&[zero][..]), None).unwrap_err();
    assert!(matches!(e, NnError::Config { .. }) && e.to_string().contains("2 needed"), "{e}");
}

#[test]
fn targets_out_of_range_and_unknown_ids() {
    let tape = Tape::<f64>::new();
    let logits = tape.leaf(Tensor::zeros(&[2, 3]));
    let e = cross_entropy(logits, &[0, 3], None, Reduction::Mean).unwrap_err();
    assert!(matches!(e, NnError::Target { .. }) && e.to_string().contains("target 3"), "{e}");
    assert!(cross_entropy(logits, &[0], None, Reduction::Mean).is_err());
    assert!(cross_entropy(logits, &[9, 9], Some(9), Reduction::Mean).is_err(), "all ignored: mean undefined");
    let emb = Embedding::<f64>::new(4, 2, &mut StdRng::seed_from_u64(0));
    assert!(matches!(emb.forward(&Binding::new(&tape), &[4], &[1]).unwrap_err(), NnError::Target { .. }));
}

/// `Embedding::forward(&[], &[1<<32, 1<<32])` was accepted: the shape's
/// product wraps to 0, the number of ids given.
#[test]
fn embedding_refuses_an_id_shape_whose_element_count_overflows() {
    let tape = Tape::<f64>::new();
    let emb = Embedding::<f64>::new(4, 2, &mut StdRng::seed_from_u64(0));
    let e = emb.forward(&Binding::new(&tape), &[], &[1 << 32, 1 << 32]).unwrap_err();
    assert_eq!(e.to_string(), "Embedding: the product of the axes of shape [4294967296, 4294967296] overflows usize");
    assert!(matches!(e, NnError::Autodiff(tapegrad_autodiff::AutodiffError::Tensor(tapegrad_tensor::TensorError::ShapeOverflow { .. }))));
    assert_eq!(emb.forward(&Binding::new(&tape), &[], &[0, 3]).unwrap().shape().as_slice(), &[0, 3, 2]);
}

#[test]
fn state_dicts_are_all_or_nothing() {
    let mut l = layer();
    let before = state_dict(&l);
    let mut sd = before.clone();
    sd[0].1 = Tensor::ones(sd[0].1.shape()); // a valid change...
    sd.pop(); // ...and a missing entry
    let e = load_state_dict(&mut l, &sd, "model.safetensors").unwrap_err();
    assert!(e.to_string().starts_with("model.safetensors:") && e.to_string().contains("bias_hh_l0_reverse"), "{e}");
    assert_eq!(state_dict(&l), before, "nothing may be half-loaded");
    let mut extra = before.clone();
    extra.push(("weight_ih_l9".into(), Tensor::zeros(&[1])));
    assert!(load_state_dict(&mut l, &extra, "x").unwrap_err().to_string().contains("weight_ih_l9"));
}

/// A cell that fails at its third step (say, a user's shape bug that only
/// shows up there).
#[derive(tapegrad_nn::Module)]
#[module(crate = tapegrad_nn)]
struct FailsAtStep2(#[module(flatten)] tapegrad_nn::RnnCell<f64>);

impl tapegrad_nn::Cell<f64> for FailsAtStep2 {
    type State<'t> = tapegrad_autodiff::Var<'t, f64>;
    fn input_size(&self) -> usize {
        self.0.input_size()
    }
    fn hidden_size(&self) -> usize {
        self.0.hidden_size()
    }
    fn project<'t>(&self, b: &Binding<'t, f64>, x: Self::State<'t>) -> Result<Self::State<'t>, NnError> {
        self.0.project(b, x)
    }
    fn step<'t>(&self, b: &Binding<'t, f64>, x: Self::State<'t>, h: &Self::State<'t>) -> Result<Self::State<'t>, NnError> {
        if b.tape().current_step() == Some(2) {
            return Err(NnError::Config { op: "FailsAtStep2", message: "planted failure".into() });
        }
        self.0.step(b, x, h)
    }
}

/// Regression: an error from a cell mid-sequence used to leave the tape's
/// current step set to that step, so every op recorded afterwards (a loss,
/// another layer) was filed under it in DOT exports and step queries.
#[test]
fn a_cell_error_mid_sequence_restores_the_tape_step() {
    let layer = Rnn::spec(2, 3)
        .cells(|_| FailsAtStep2(tapegrad_nn::RnnCell::new(2, 3, tapegrad_nn::Activation::Tanh, &mut StdRng::seed_from_u64(0))));
    let tape = Tape::<f64>::new();
    tape.set_step(Some(7)); // the caller's own step
    let e = layer.forward(&Binding::new(&tape), tape.constant(Tensor::zeros(&[5, 1, 2])), None, None).unwrap_err();
    assert!(e.to_string().contains("planted failure"), "{e}");
    assert_eq!(tape.current_step(), Some(7));
}
