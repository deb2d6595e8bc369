//! Half-precision weight files: what PyTorch writes with `.half()` and
//! `.bfloat16()` loads exactly, and what tapegrad writes rounds as PyTorch
//! rounds. Fixtures from `scripts/make_half_fixtures.py` (run by hand with
//! PyTorch 2.15).

use std::path::PathBuf;

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::Tensor;
use tapegrad_nn::{load_module, load_safetensors, load_state_dict, save_module_as, state_dict, LstmCell, Module, NnError, Rnn, Storage};
use tapegrad_tensor::Scalar;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// PyTorch's values of kind `kind` (`f32`, `f16`, `bf16`) by parameter name.
fn reference(kind: &str) -> Vec<(String, Tensor<f64>)> {
    let (all, _) = load_safetensors::<f64>(&fixture("lstm_half_reference.safetensors")).unwrap();
    let prefix = format!("{kind}.");
    all.into_iter().filter_map(|(n, t)| n.strip_prefix(&prefix).map(|n| (n.to_string(), t))).collect()
}

fn lstm<T: Scalar>() -> Rnn<LstmCell<T>> {
    Rnn::spec(3, 4).lstm(&mut StdRng::seed_from_u64(0))
}

fn as_f64<T: Scalar>(m: &impl Module<T>) -> Vec<(String, Vec<f64>)> {
    state_dict(m).into_iter().map(|(n, t)| (n, t.data().iter().map(|v| v.to_f64_lossless()).collect())).collect()
}

fn values(entries: Vec<(String, Tensor<f64>)>) -> Vec<(String, Vec<f64>)> {
    let mut v: Vec<_> = entries.into_iter().map(|(n, t)| (n, t.data().to_vec())).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

fn sorted(mut v: Vec<(String, Vec<f64>)>) -> Vec<(String, Vec<f64>)> {
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn pytorch_float16_and_bfloat16_files_load_exactly_into_f32_and_f64_models() {
    for (file, kind) in [("lstm_f16.safetensors", "f16"), ("lstm_bf16.safetensors", "bf16")] {
        let want = values(reference(kind));
        let mut a = lstm::<f32>();
        load_module(&mut a, &fixture(file)).unwrap();
        assert_eq!(sorted(as_f64(&a)), want, "{file} into f32");
        let mut b = lstm::<f64>();
        load_module(&mut b, &fixture(file)).unwrap();
        assert_eq!(sorted(as_f64(&b)), want, "{file} into f64");
    }
}

#[test]
fn saving_as_f16_and_bf16_rounds_as_pytorch_does() {
    let dir = std::env::temp_dir().join(format!("tg-half-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let originals: Vec<(String, Tensor<f32>)> = reference("f32").into_iter().map(|(n, t)| (n, t.cast::<f32>())).collect();
    let mut model = lstm::<f32>();
    load_state_dict(&mut model, &originals, "reference").unwrap();
    for (storage, kind) in [(Storage::F16, "f16"), (Storage::Bf16, "bf16")] {
        let path = dir.join(format!("{kind}.safetensors"));
        save_module_as(&model, &path, storage).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() < std::fs::metadata(fixture("lstm_half_reference.safetensors")).unwrap().len() / 4);
        let (back, _) = load_safetensors::<f64>(&path).unwrap();
        assert_eq!(values(back), values(reference(kind)), "{kind}: tapegrad's rounding differs from PyTorch's");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_value_too_large_for_16_bits_is_an_error_naming_it_and_nothing_is_written() {
    let dir = std::env::temp_dir().join(format!("tg-half-big-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.safetensors");
    let mut model = lstm::<f32>();
    model.params_mut()[2].1.data_mut()[5] = 7e4; // bias_ih_l0[5]: past float16's 65504
    let e = save_module_as(&model, &path, Storage::F16).unwrap_err();
    assert!(matches!(e, NnError::Weights { .. }), "{e:?}");
    assert!(e.to_string().contains("`bias_ih_l0`: value 7e4 at element 5 does not fit F16"), "{e}");
    assert!(!path.exists(), "nothing written");
    // bfloat16 has f32's range: the same model saves.
    save_module_as(&model, &path, Storage::Bf16).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
