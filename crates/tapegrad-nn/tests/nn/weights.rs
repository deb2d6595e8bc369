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
    let a = Rnn::spec(3, 4).layers(2).bidirectional(true).lstm::<f32, _>(&mut StdRng::seed_from_u64(1));
    let mut b = Rnn::spec(3, 4).layers(2).bidirectional(true).lstm::<f32, _>(&mut StdRng::seed_from_u64(2));
    let path = dir.join("lstm.safetensors");
    save_module(&a, &path).unwrap();
    load_module(&mut b, &path).unwrap();
    assert_eq!(state_dict(&a), state_dict(&b));
    // An f32 file loads into an f64 model (widened exactly).
    let mut c = Rnn::spec(3, 4).layers(2).bidirectional(true).lstm::<f64, _>(&mut StdRng::seed_from_u64(3));
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
    let mut gru = Rnn::spec(3, 4).bidirectional(true).gru::<f64, _>(&mut StdRng::seed_from_u64(0));
    load_module(&mut gru, &path).unwrap();
    assert_eq!(gru.params()[0].1.value(), &params.iter().find(|(n, _)| n == "weight_ih_l0").unwrap().1);
    // The fixture itself also holds inputs and gradients: not a state dict.
    let before = state_dict(&gru);
    let e = load_module(&mut gru, &fixture).unwrap_err();
    assert!(e.to_string().contains("gru_bidirectional.safetensors") && e.to_string().contains("unexpected"), "{e}");
    assert_eq!(state_dict(&gru), before);
    // A model of another size names the parameter and both shapes.
    let mut small = Rnn::spec(3, 2).bidirectional(true).gru::<f64, _>(&mut StdRng::seed_from_u64(0));
    let e = load_module(&mut small, &path).unwrap_err().to_string();
    assert!(e.contains("weight_ih_l0") && e.contains("[12, 3]") && e.contains("[6, 3]"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_truncated_and_foreign_files_name_the_file() {
    let dir = scratch("bad");
    let mut m = Rnn::spec(2, 2).gru::<f32, _>(&mut StdRng::seed_from_u64(0));
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

/// Regression (issue 11, item 2): the temporary name carried only the
/// process id, so two threads saving to one path shared it: one thread's
/// rename took the other's half-written file, and the other's rename then
/// failed with ENOENT (895 of 2,000 saves; 6 unloadable final files).
#[test]
fn concurrent_saves_to_one_path_never_corrupt_the_file() {
    let dir = scratch("concurrent");
    let path = dir.join("w.safetensors");
    // Different sizes, so a mix of the two writes cannot pass for either.
    let a = vec![("w".to_string(), Tensor::<f32>::full(&[64, 64], 1.0))];
    let b = vec![("w".to_string(), Tensor::<f32>::full(&[32, 16], 2.0))];
    for round in 0..200 {
        std::thread::scope(|s| {
            let ta = s.spawn(|| save_safetensors(&path, &a, None));
            let tb = s.spawn(|| save_safetensors(&path, &b, None));
            ta.join().unwrap().unwrap_or_else(|e| panic!("round {round}: {e}"));
            tb.join().unwrap().unwrap_or_else(|e| panic!("round {round}: {e}"));
        });
        let (back, _) = load_safetensors::<f32>(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
        assert!(back == a || back == b, "round {round}: the file is neither save");
    }
    let names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, vec!["w.safetensors".to_string()], "no temporary file is left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Regression (issue 11, item 10): a write killed mid-way left its
/// temporary file forever (1.07 GB after 80 kills of char_lm). The next save
/// to the same target removes what killed writers left: no process holds
/// such a file's lock any more. Both the old name (`.w.tmp-PID`) and the
/// current one are recognised; files of other targets are left alone.
#[test]
fn stale_temporary_files_of_killed_writes_are_removed_by_the_next_save() {
    let dir = scratch("stale");
    let path = dir.join("w.safetensors");
    let stale = [".w.safetensors.tmp-4242", ".w.safetensors.tmp-4242-7-123abc"];
    let other = dir.join(".v.safetensors.tmp-4242");
    for name in stale {
        std::fs::write(dir.join(name), vec![0u8; 4096]).unwrap();
    }
    std::fs::write(&other, b"another target's").unwrap();
    save_safetensors(&path, &[("a".to_string(), Tensor::<f64>::ones(&[3]))], None).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, vec![".v.safetensors.tmp-4242".to_string(), "w.safetensors".to_string()]);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The cleaning above must not take a file another writer is still
/// writing: that writer holds the file's lock until its rename.
#[test]
fn a_temporary_file_still_being_written_is_not_removed() {
    let dir = scratch("busy");
    let path = dir.join("w.safetensors");
    let busy = dir.join(".w.safetensors.tmp-4243-0-0");
    let f = std::fs::File::create(&busy).unwrap();
    f.lock().unwrap(); // as a live writer holds it
    save_safetensors(&path, &[("a".to_string(), Tensor::<f64>::ones(&[3]))], None).unwrap();
    assert!(busy.exists(), "a locked temporary file belongs to a live writer");
    drop(f);
    save_safetensors(&path, &[("a".to_string(), Tensor::<f64>::ones(&[3]))], None).unwrap();
    assert!(!busy.exists(), "once its writer is gone it is stale");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A module that (wrongly) names two parameters alike.
struct Twice {
    a: tapegrad_nn::Param<f64>,
    b: tapegrad_nn::Param<f64>,
}

/// Written by hand (a derive would name them `a` and `b`): the same walk
/// visits both under one name.
impl Module<f64> for Twice {
    fn visit<'a>(&'a self, prefix: &str, f: &mut dyn FnMut(&str, &'a tapegrad_nn::Param<f64>)) {
        let name = tapegrad_nn::child_name(prefix, "w");
        f(&name, &self.a);
        f(&name, &self.b);
    }
    fn visit_mut<'a>(&'a mut self, prefix: &str, f: &mut dyn FnMut(&str, &'a mut tapegrad_nn::Param<f64>)) {
        let name = tapegrad_nn::child_name(prefix, "w");
        f(&name, &mut self.a);
        f(&name, &mut self.b);
    }
}

fn twice() -> Twice {
    Twice { a: tapegrad_nn::Param::new(Tensor::ones(&[2])), b: tapegrad_nn::Param::new(Tensor::zeros(&[3])) }
}

/// Regression (issue 11, item 9): two entries named `w` made the
/// safetensors writer panic (an index out of bounds inside it) instead of
/// returning the documented error; a module repeating a name did the same
/// on save, and on load had one entry copied into both parameters.
#[test]
fn duplicate_names_are_refused_on_save_and_load_with_a_typed_error() {
    let dir = scratch("duplicates");
    let path = dir.join("dup.safetensors");
    let entries = vec![("w".to_string(), Tensor::<f64>::ones(&[2])), ("w".to_string(), Tensor::<f64>::zeros(&[3]))];
    let e = save_safetensors(&path, &entries, None).unwrap_err();
    assert!(matches!(&e, NnError::DuplicateName { name, .. } if name == "w"), "{e:?}");
    assert_eq!(e.to_string(), format!("{}: two entries named `w`", path.display()));
    assert!(!path.exists(), "nothing is written");
    let e = tapegrad_nn::to_safetensors_bytes(&entries, None).unwrap_err();
    assert_eq!(e.to_string(), "safetensors: two entries named `w`");
    let e = save_module(&twice(), &path).unwrap_err();
    assert!(matches!(&e, NnError::DuplicateName { name, .. } if name == "w"), "{e:?}");
    // Loading into such a module: both would receive the one `w`.
    save_safetensors(&path, &[("w".to_string(), Tensor::<f64>::full(&[2], 5.0))], None).unwrap();
    let mut m = twice();
    let e = load_module(&mut m, &path).unwrap_err();
    assert_eq!(e.to_string(), format!("{}: two model parameters named `w`", path.display()));
    assert_eq!((m.a.value(), m.b.value()), (&Tensor::ones(&[2]), &Tensor::zeros(&[3])), "nothing is loaded");
    // And entries repeating a name (in a state dict built by hand).
    let mut lin = tapegrad_nn::Linear::<f64>::new(2, 1, &mut StdRng::seed_from_u64(0));
    let mut sd = state_dict(&lin);
    sd.push(sd[0].clone());
    let e = tapegrad_nn::load_state_dict(&mut lin, &sd, "sd").unwrap_err();
    assert_eq!(e.to_string(), "sd: two entries named `weight`");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Regression (issue 11, item 13): the "unexpected parameters" of a failed
/// load came in hash-map order, different from run to run.
#[test]
fn unexpected_parameters_are_listed_in_sorted_order() {
    let mut lin = tapegrad_nn::Linear::<f64>::new(2, 1, &mut StdRng::seed_from_u64(0));
    let mut sd = state_dict(&lin);
    for n in ["zeta", "alpha", "mid", "beta", "omega", "gamma"] {
        sd.push((n.to_string(), Tensor::zeros(&[1])));
    }
    let e = tapegrad_nn::load_state_dict(&mut lin, &sd, "sd").unwrap_err();
    assert_eq!(e.to_string(), r#"sd: unexpected parameters ["alpha", "beta", "gamma", "mid", "omega", "zeta"]"#);
}
