//! Pretrained embeddings: frozen tables stay put under an optimizer but
//! are still saved and loaded; the word-vector text format and its errors.

use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::{Tape, Tensor};
use tapegrad_nn::{
    load_module, save_module, state_dict, Adam, Binding, Embedding, Linear, Module, NnError, Optimizer, Param, Sgd, Trainable,
    VectorFileError, WordVectors,
};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tapegrad-pretrained-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn matrix() -> Tensor<f32> {
    Tensor::from_vec(vec![0.5, -1.0, 2.0, 0.25, 1.5, -0.75], &[3, 2])
}

/// One optimizer step on `sum(tanh(linear(emb(ids))))`; returns the table after it.
fn step(trainable: Trainable, opt: &mut dyn Optimizer<f32>) -> (Tensor<f32>, Tensor<f32>) {
    let mut model = (Embedding::from_pretrained(matrix(), trainable), Linear::new(2, 2, &mut StdRng::seed_from_u64(0)));
    let head_before = model.1.weight.value().clone();
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let x = model.0.forward(&bind, &[0, 2, 2], &[3]).unwrap();
    let loss = model.1.forward(&bind, x).unwrap().tanh().sum_all();
    let grads = bind.grads(&tape.backward(loss).unwrap());
    assert_eq!(grads.get(&model.0.weight).is_none(), trainable == Trainable::Frozen);
    opt.step(model.params_mut(), &grads).unwrap();
    assert_ne!(model.1.weight.value(), &head_before, "the head trains either way");
    (model.0.weight.value().clone(), head_before)
}

#[test]
fn frozen_embedding_is_unchanged_by_an_optimizer_step_while_a_trainable_one_changes() {
    for opt in [&mut Sgd::new(0.5) as &mut dyn Optimizer<f32>, &mut Adam::new(0.1).with_weight_decay(0.1)] {
        let (frozen, _) = step(Trainable::Frozen, opt);
        assert_eq!(frozen, matrix());
    }
    let (trained, _) = step(Trainable::Trainable, &mut Sgd::new(0.5));
    assert_ne!(trained, matrix());
    // Row 1 was not looked up: unchanged even when trainable.
    assert_eq!(&trained.data()[2..4], &matrix().data()[2..4]);
}

#[test]
fn frozen_embedding_stays_frozen_even_when_a_variable_is_bound_to_it() {
    let emb = Embedding::from_pretrained(matrix(), Trainable::Frozen);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let w = tape.leaf(matrix());
    bind.try_bind(&emb.weight, w).unwrap();
    let loss = emb.forward(&bind, &[1], &[1]).unwrap().sum_all();
    let g = tape.backward(loss).unwrap();
    assert!(g.get(w).is_ok(), "the tape differentiates the bound variable");
    assert!(bind.grads(&g).is_empty(), "but the optimizer is given no gradient for a frozen parameter");
}

#[test]
fn frozen_embedding_is_counted_out_of_num_params_but_saved_and_loaded_by_name() {
    let dir = scratch("save");
    let path = dir.join("model.safetensors");
    let model = (Embedding::from_pretrained(matrix(), Trainable::Frozen), Linear::<f32>::new(2, 3, &mut StdRng::seed_from_u64(0)));
    assert_eq!(model.num_params(), 3 * 2 + 3);
    assert_eq!(state_dict(&model).into_iter().map(|(n, _)| n).collect::<Vec<_>>(), ["0.weight", "1.weight", "1.bias"]);
    save_module(&model, &path).unwrap();
    let mut fresh =
        (Embedding::from_pretrained(Tensor::zeros(&[3, 2]), Trainable::Frozen), Linear::<f32>::new(2, 3, &mut StdRng::seed_from_u64(1)));
    load_module(&mut fresh, &path).unwrap();
    assert_eq!(fresh.0.weight.value(), &matrix());
    assert_eq!(fresh.0.weight.trainable(), Trainable::Frozen, "loading keeps it frozen");
    assert_eq!(fresh.0.clone().weight.trainable(), Trainable::Frozen, "a clone is frozen too");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unfreezing_a_parameter_lets_it_train() {
    let mut p = Param::with_trainable(Tensor::<f64>::scalar(1.0), Trainable::Frozen);
    p.set_trainable(Trainable::Trainable);
    let tape = Tape::new();
    let bind = Binding::new(&tape);
    let v = bind.param(&p);
    let grads = bind.grads(&tape.backward(v.square()).unwrap());
    Sgd::new(0.25).step(vec![("p".into(), &mut p)], &grads).unwrap();
    assert_eq!(p.value().item(), 0.5); // 1 - 0.25 · 2
}

#[test]
fn pretrained_matrix_must_be_a_finite_table() {
    for bad in [Tensor::<f32>::zeros(&[4]), Tensor::zeros(&[0, 3]), Tensor::zeros(&[3, 0])] {
        let err = Embedding::try_from_pretrained(bad.clone(), Trainable::Trainable).unwrap_err();
        assert!(matches!(err, NnError::Config { op: "Embedding::from_pretrained", .. }), "{err}");
        assert!(err.to_string().contains(&format!("{:?}", bad.shape())), "{err}");
    }
    let mut nan = matrix();
    nan.data_mut()[3] = f32::NAN;
    let err = Embedding::try_from_pretrained(nan, Trainable::Frozen).unwrap_err();
    assert!(err.to_string().contains("row 1, column 1"), "{err}");
}

#[test]
fn word_vectors_read_glove_and_word2vec_text_with_the_words_in_file_order() {
    let glove =
        WordVectors::<f64>::parse("glove.txt", "the 0.418 0.24968 -0.41242\n, 0.013441 0.23682 -0.16899\n\nof 0.70853 0.57088 -0.4716  \n")
            .unwrap();
    assert_eq!(glove.words, ["the", ",", "of"]);
    assert_eq!((glove.id("of"), glove.id("missing")), (Some(2), None));
    assert_eq!(glove.matrix.shape(), &[3, 3]);
    assert_eq!(glove.matrix.data()[3..6], [0.013441, 0.23682, -0.16899]);
    let w2v = WordVectors::<f32>::parse("w2v.txt", "2 2\r\nfoo 1 2\r\nbar -3e1 4.5\r\n").unwrap();
    assert_eq!(w2v.words, ["foo", "bar"]);
    assert_eq!(w2v.matrix.data(), &[1.0, 2.0, -30.0, 4.5]);
    // From a file on disk, into a frozen embedding.
    let dir = scratch("load");
    let path = dir.join("vectors.txt");
    std::fs::write(&path, "cat 1 2\ndog 3 4\n").unwrap();
    let wv = WordVectors::<f32>::load(&path).unwrap();
    let emb = wv.embedding(Trainable::Frozen);
    assert_eq!(emb.weight.value().data(), &[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(emb.num_params(), 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

fn problem(text: &str) -> (VectorFileError, String) {
    match WordVectors::<f32>::parse("vecs.txt", text).unwrap_err() {
        e @ NnError::VectorFile { .. } => {
            let msg = e.to_string();
            let NnError::VectorFile { file, problem } = e else { unreachable!() };
            assert_eq!(file, "vecs.txt");
            (problem, msg)
        }
        other => panic!("not a VectorFile error: {other}"),
    }
}

#[test]
fn ragged_rows_name_the_file_the_line_and_what_set_the_width() {
    let (p, msg) = problem("a 1 2\nb 3 4\nc 5\n");
    assert_eq!(p, VectorFileError::RaggedRow { line: 3, word: "c".into(), got: 1, expected: 2, set_by: "line 1".into() });
    assert_eq!(msg, "vecs.txt: line 3: `c` has 1 values, but line 1 set 2 per word");
    let (p, _) = problem("2 3\na 1 2 3\nb 1 2 3 4\n");
    assert!(matches!(p, VectorFileError::RaggedRow { line: 3, got: 4, expected: 3, ref set_by, .. } if set_by == "the header"), "{p}");
    let (p, _) = problem("alone\nb 1\n");
    assert_eq!(p, VectorFileError::NoValues { line: 1, word: "alone".into() });
}

#[test]
fn bad_numbers_name_the_line_the_word_and_the_token() {
    let (p, msg) = problem("a 1 2\nb 3 x4\n");
    assert_eq!(p, VectorFileError::BadNumber { line: 2, word: "b".into(), column: 2, token: "x4".into() });
    assert_eq!(msg, "vecs.txt: line 2: value 2 of `b`, `x4`, is not a finite number");
    for token in ["nan", "inf", "-inf", "1e39"] {
        // 1e39 overflows f32: not finite in the element type.
        let (p, _) = problem(&format!("a 1 {token}\n"));
        assert!(matches!(p, VectorFileError::BadNumber { line: 1, column: 2, .. }), "{token}: {p}");
    }
}

#[test]
fn duplicate_words_name_both_lines() {
    let (p, msg) = problem("a 1\nb 2\na 3\n");
    assert_eq!(p, VectorFileError::DuplicateWord { line: 3, word: "a".into(), first_line: 1 });
    assert_eq!(msg, "vecs.txt: line 3: `a` already has a vector, on line 1");
}

#[test]
fn empty_files_and_wrong_header_counts_are_errors() {
    for text in ["", "\n\n  \n", "0 50\n"] {
        let (p, msg) = problem(text);
        assert_eq!(p, VectorFileError::Empty, "{text:?}");
        assert_eq!(msg, "vecs.txt: holds no word vectors");
    }
    let (p, _) = problem("3 2\n");
    assert_eq!(p, VectorFileError::WrongCount { header_line: 1, promised: 3, found: 0 });
    let (p, msg) = problem("3 1\na 1\nb 2\n");
    assert_eq!(p, VectorFileError::WrongCount { header_line: 1, promised: 3, found: 2 });
    assert_eq!(msg, "vecs.txt: the header (line 1) promises 3 words, but 2 follow");
}

#[test]
fn an_unreadable_file_names_the_path() {
    let dir = scratch("missing");
    let path = dir.join("no-such-vectors.txt");
    let err = WordVectors::<f32>::load(&path).unwrap_err();
    assert!(matches!(err, NnError::VectorFile { problem: VectorFileError::Unreadable { .. }, .. }), "{err}");
    assert!(err.to_string().contains("no-such-vectors.txt"), "{err}");
    let bad = dir.join("latin1.txt");
    std::fs::write(&bad, b"a 1\ncaf\xe9 2\n").unwrap();
    let err = WordVectors::<f32>::load(&bad).unwrap_err();
    assert!(err.to_string().contains("latin1.txt") && err.to_string().contains("line 2"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
