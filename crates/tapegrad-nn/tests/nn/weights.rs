//! Weights on disk: round trips, PyTorch-written files, atomic writes, and
//! clear errors for missing, truncated or foreign files.

use std::path::{Path, PathBuf};

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_autodiff::Tensor;
use tapegrad_nn::{from_safetensors_bytes, load_module, load_safetensors, save_module, save_safetensors, state_dict, Module, NnError, Rnn};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tapegrad-weights-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn save_and_load_round_trip_in_f32_and_f64() {
    let dir = scratch("roundtrip");
    let a = Rnn::<tapegrad_nn::LstmCell<f32>>::lstm(3, 4, 2, true, &mut StdRng::seed_from_u64(1));
    let mut b = Rnn::<tapegrad_nn::LstmCell<f32>>::lstm(3, 4, 2, true, &mut StdRng::seed_from_u64(2));
    let path = dir.join("lstm.safetensors");
    save_module(&a, &path).unwrap();
    load_module(&mut b, &path).unwrap();
    assert_eq!(state_dict(&a), state_dict(&b));
    // An f32 file loads into an f64 model (widened exactly).
    let mut c = Rnn::<tapegrad_nn::LstmCell<f64>>::lstm(3, 4, 2, true, &mut StdRng::seed_from_u64(3));
    load_module(&mut c, &path).unwrap();
    assert_eq!(state_dict(&c)[0].1, state_dict(&a)[0].1.cast::<f64>());
    let names: Vec<String> = a.params().into_iter().map(|(n, _)| n).collect();
    assert!(names.contains(&"weight_hh_l1_reverse".to_string()), "{names:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_pytorch_state_dict_loads_and_extra_entries_are_rejected() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gru_bidirectional.safetensors");
    let (entries, _) = load_safetensors::<f64>(&fixture).unwrap();
    let params: Vec<(String, Tensor<f64>)> =
        entries.iter().filter(|(n, _)| n.starts_with("weight_") || n.starts_with("bias_")).cloned().collect();
    let dir = scratch("pytorch");
    let path = dir.join("gru.safetensors");
    save_safetensors(&path, &params, None).unwrap();
    let mut gru = Rnn::<tapegrad_nn::GruCell<f64>>::gru(3, 4, 1, true, &mut StdRng::seed_from_u64(0));
    load_module(&mut gru, &path).unwrap();
    assert_eq!(gru.params()[0].1.value(), &params.iter().find(|(n, _)| n == "weight_ih_l0").unwrap().1);
    // The fixture itself also holds inputs and gradients: not a state dict.
    let before = state_dict(&gru);
    let e = load_module(&mut gru, &fixture).unwrap_err();
    assert!(e.to_string().contains("gru_bidirectional.safetensors") && e.to_string().contains("unexpected"), "{e}");
    assert_eq!(state_dict(&gru), before);
    // A model of another size names the parameter and both shapes.
    let mut small = Rnn::<tapegrad_nn::GruCell<f64>>::gru(3, 2, 1, true, &mut StdRng::seed_from_u64(0));
    let e = load_module(&mut small, &path).unwrap_err().to_string();
    assert!(e.contains("weight_ih_l0") && e.contains("[12, 3]") && e.contains("[6, 3]"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_truncated_and_foreign_files_name_the_file() {
    let dir = scratch("bad");
    let mut m = Rnn::<tapegrad_nn::GruCell<f32>>::gru(2, 2, 1, false, &mut StdRng::seed_from_u64(0));
    let good = dir.join("good.safetensors");
    save_module(&m, &good).unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let truncated = dir.join("truncated.safetensors");
    std::fs::write(&truncated, &bytes[..bytes.len() - 5]).unwrap();
    let foreign = dir.join("foreign.safetensors");
    std::fs::write(&foreign, b"PK\x03\x04 this is a zip, not weights").unwrap();
    let before = state_dict(&m);
    for (path, what) in
        [(dir.join("missing.safetensors"), "cannot read"), (truncated, "not a valid safetensors"), (foreign, "not a valid safetensors")]
    {
        let e = load_module(&mut m, &path).unwrap_err();
        assert!(matches!(e, NnError::Weights { .. }));
        assert!(e.to_string().contains(path.file_name().unwrap().to_str().unwrap()) && e.to_string().contains(what), "{e}");
        assert_eq!(state_dict(&m), before, "a failed load must change nothing");
    }
    assert!(from_safetensors_bytes::<f32>("buf", &[]).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn writes_are_atomic_and_leave_no_temporary_files() {
    let dir = scratch("atomic");
    let path = dir.join("w.safetensors");
    save_safetensors(&path, &[("a".to_string(), Tensor::<f64>::ones(&[3]))], None).unwrap();
    save_safetensors(&path, &[("a".to_string(), Tensor::<f64>::zeros(&[3]))], None).unwrap();
    let names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, vec!["w.safetensors".to_string()]);
    assert_eq!(load_safetensors::<f64>(&path).unwrap().0[0].1.data(), &[0.0; 3]);
    // A write that cannot happen leaves the previous file as it was.
    let e = save_safetensors(&dir.join("no/such/dir/w.safetensors"), &[("a".to_string(), Tensor::<f64>::ones(&[1]))], None).unwrap_err();
    assert!(e.to_string().contains("cannot write"), "{e}");
    assert_eq!(load_safetensors::<f64>(&path).unwrap().0[0].1.data(), &[0.0; 3]);
    std::fs::remove_dir_all(&dir).unwrap();
}
