//! Checkpoints: model, optimizer state, step and loss history in one
//! safetensors file, written atomically; loaded all or nothing.

use std::collections::HashMap;
use std::path::Path;

use tapegrad::nn::{from_safetensors_bytes, load_state_dict, save_safetensors, state_dict};
use tapegrad::prelude::*;

use super::model::CharModel;

const FORMAT: &str = "tapegrad-char-lm/1";

/// What a run records besides the weights.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Training loss (bits per character) of every step so far.
    pub train_bits: Vec<f64>,
    /// (step, validation bits per character) at each evaluation.
    pub val_bits: Vec<(usize, f64)>,
}

/// The configuration a checkpoint must match to be resumed.
pub type Config = Vec<(&'static str, String)>;

/// Writes model, optimizer, step and history to `path` (atomically).
pub fn save(path: &Path, model: &CharModel, opt: &Adam<f32>, step: usize, history: &History, config: &Config) -> Result<(), NnError> {
    let mut entries: Vec<(String, Tensor<f32>)> = state_dict(model).into_iter().map(|(n, t)| (format!("model.{n}"), t)).collect();
    entries.extend(opt.state().into_iter().map(|(n, t)| (format!("optim.{n}"), t)));
    entries.push(("run.step".into(), Tensor::scalar(step as f32)));
    // Bits are kept at f32 precision by the run; steps are exact below 2^24.
    let tb: Vec<f32> = history.train_bits.iter().map(|&b| b as f32).collect();
    entries.push(("run.train_bits".into(), Tensor::from_vec(tb.clone(), &[tb.len()])));
    let vb: Vec<f32> = history.val_bits.iter().flat_map(|&(s, b)| [s as f32, b as f32]).collect();
    entries.push(("run.val_bits".into(), Tensor::from_vec(vb, &[history.val_bits.len(), 2])));
    let mut meta: HashMap<String, String> = config.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    meta.insert("format".into(), FORMAT.into());
    save_safetensors(path, &entries, Some(meta))
}

/// Loads a checkpoint written by [`save`] with the same configuration into
/// `model` and `opt`; returns the step and history. Everything is checked
/// first (the entries there are, their shapes, a whole step count that the
/// history and the optimizer agree with): nothing is changed on error, and
/// the error names the file and the entry.
pub fn load(path: &Path, model: &mut CharModel, opt: &mut Adam<f32>, config: &Config) -> Result<(usize, History), NnError> {
    let file = path.display().to_string();
    let bad = |m: String| NnError::Weights { file: file.clone(), message: m };
    let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read checkpoint: {e}")))?;
    let (entries, meta) = from_safetensors_bytes::<f32>(&file, &bytes)?;
    let meta = meta.unwrap_or_default();
    if meta.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(bad(format!("not a char_lm checkpoint (format {:?}, expected {FORMAT:?})", meta.get("format"))));
    }
    for (k, v) in config {
        if meta.get(*k) != Some(v) {
            return Err(bad(format!("was written with {k} = {:?}, this run has {v:?}", meta.get(*k).map(String::as_str).unwrap_or("?"))));
        }
    }
    if let Some((n, _)) = entries.iter().find(|(n, _)| !(n.starts_with("model.") || n.starts_with("optim.") || RUN.contains(&n.as_str()))) {
        return Err(bad(format!("unknown entry `{n}`")));
    }
    let take = |prefix: &str| -> Vec<(String, Tensor<f32>)> {
        entries.iter().filter_map(|(n, t)| n.strip_prefix(prefix).map(|n| (n.to_string(), t.clone()))).collect()
    };
    let find = |name: &str| entries.iter().find(|(n, _)| n == name).map(|(_, t)| t).ok_or_else(|| bad(format!("missing entry `{name}`")));
    let step =
        count(find("run.step")?).ok_or_else(|| bad("entry `run.step` is not a step count (a whole number from 0 to 2^24)".into()))?;
    let history = history(find("run.train_bits")?, find("run.val_bits")?, step).map_err(bad)?;
    // Skipped updates (non-finite gradient norm) are not counted by the optimizer.
    let opt_steps = find("optim.adam.steps")?;
    if count(opt_steps).is_none_or(|n| n > step) {
        return Err(bad(format!("entry `optim.adam.steps` ({:?}) is not a step count up to run.step = {step}", opt_steps.data())));
    }
    // All or nothing: check the optimizer state on a scratch copy first.
    let mut opt_new = opt.clone();
    opt_new.load_state(&model.params(), &take("optim.")).map_err(|e| bad(e.to_string()))?;
    load_state_dict(model, &take("model."), &file)?;
    *opt = opt_new;
    Ok((step, history))
}

/// The entries of a checkpoint besides the model's and the optimizer's.
const RUN: [&str; 3] = ["run.step", "run.train_bits", "run.val_bits"];

/// The whole number from 0 to 2^24 (exact in f32) that `t` holds, if it is one.
fn count(t: &Tensor<f32>) -> Option<usize> {
    let v = t.try_item().ok()?;
    (v >= 0.0 && v.fract() == 0.0 && v <= (1u32 << 24) as f32).then_some(v as usize)
}

/// The history in `run.train_bits` (one value per step) and `run.val_bits`
/// (rows of step and bits, the steps increasing, none past `step`).
fn history(tb: &Tensor<f32>, vb: &Tensor<f32>, step: usize) -> Result<History, String> {
    if tb.shape() != [step] {
        return Err(format!("entry `run.train_bits` has shape {:?}, for a checkpoint at step {step} [{step}]", tb.shape()));
    }
    if vb.ndim() != 2 || vb.shape()[1] != 2 {
        return Err(format!("entry `run.val_bits` has shape {:?}, not (evaluations, 2)", vb.shape()));
    }
    let mut val_bits = Vec::with_capacity(vb.shape()[0]);
    for row in vb.data().chunks_exact(2) {
        let at = count(&Tensor::scalar(row[0])).filter(|&s| s >= 1 && s <= step && val_bits.last().is_none_or(|&(p, _)| s > p));
        let at = at.ok_or_else(|| {
            format!("entry `run.val_bits` has step {} after {:?}, for a checkpoint at step {step}", row[0], val_bits.last())
        })?;
        val_bits.push((at, row[1] as f64));
    }
    Ok(History { train_bits: tb.data().iter().map(|&b| b as f64).collect(), val_bits })
}
