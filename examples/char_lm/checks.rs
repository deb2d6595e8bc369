//! Every argument checked before anything runs, with a message naming it:
//! ranges, the model's size (counted without allocating), and that the
//! output paths can be written.

use std::path::Path;

use super::model::param_count;
use super::Args;

/// The most steps a run may have: the checkpoint stores step numbers as
/// f32, exact up to 2^24.
pub const MAX_STEPS: usize = 1 << 24;
/// The longest sample printed.
pub const MAX_SAMPLE: usize = 1_000_000;
/// The largest model this example builds (the default has about 0.37M).
pub const MAX_PARAMS: usize = 50_000_000;
/// The most activations one step may record (seq_len × batch × hidden ×
/// layers × gates, and seq_len × batch × vocabulary for the logits): about
/// 0.5 GiB of f32 for each such tensor; the default needs 1M.
pub const MAX_ACTIVATIONS: usize = 1 << 27;

/// Ranges of the arguments that do not depend on the corpus.
pub fn check_args(a: &Args) -> Result<(), String> {
    for (flag, v) in [
        ("--hidden", a.hidden),
        ("--layers", a.layers),
        ("--seq-len", a.seq_len),
        ("--batch", a.batch),
        ("--eval-every", a.eval_every),
        ("--save-every", a.save_every),
    ] {
        if v == 0 {
            return Err(format!("{flag} must be at least 1, got 0"));
        }
    }
    if a.steps > MAX_STEPS {
        return Err(format!("--steps {} is more than {MAX_STEPS}, the most a checkpoint counts exactly", a.steps));
    }
    if a.sample > MAX_SAMPLE {
        return Err(format!("--sample {} is more than {MAX_SAMPLE} characters", a.sample));
    }
    if !(a.lr.is_finite() && a.lr > 0.0) {
        return Err(format!("--lr must be a finite number > 0, got {}", a.lr));
    }
    // inf means no clipping.
    if a.clip.is_nan() || a.clip <= 0.0 {
        return Err(format!("--clip must be a number > 0 (inf: no clipping), got {}", a.clip));
    }
    if !(a.temperature.is_finite() && a.temperature > 0.0) {
        return Err(format!("--temperature must be a finite number > 0, got {}", a.temperature));
    }
    Ok(())
}

/// The sizes that depend on the corpus: windows that fit the text, and a
/// model and a step of bounded size, counted with overflow checks before
/// anything is allocated.
pub fn check_sizes(a: &Args, vocab: usize, train: usize, val: usize) -> Result<(), String> {
    let shortest = train.min(val);
    if a.seq_len > shortest.saturating_sub(2) {
        return Err(format!(
            "--seq-len {} is longer than the text allows ({shortest} characters; at most {})",
            a.seq_len,
            shortest.saturating_sub(2)
        ));
    }
    let model = format!("--cell {} --hidden {} --layers {} (vocabulary {vocab})", a.cell.name(), a.hidden, a.layers);
    match param_count(a.cell, vocab, a.hidden, a.layers) {
        Some(n) if n <= MAX_PARAMS => {}
        Some(n) => return Err(format!("{model} makes {n} parameters, more than this example's limit of {MAX_PARAMS}")),
        None => return Err(format!("{model}: the parameter count overflows")),
    }
    let per_step = |width: usize| a.seq_len.checked_mul(a.batch)?.checked_mul(width);
    let recurrent = a.hidden.checked_mul(a.layers).and_then(|w| w.checked_mul(a.cell.gates())).and_then(per_step);
    let logits = per_step(vocab);
    if !matches!((recurrent, logits), (Some(r), Some(l)) if r <= MAX_ACTIVATIONS && l <= MAX_ACTIVATIONS) {
        return Err(format!(
            "--seq-len {} × --batch {} with {model} records more than {MAX_ACTIVATIONS} activations in one step (this example's limit)",
            a.seq_len, a.batch
        ));
    }
    Ok(())
}

/// That `path` (the value of `flag`) names a file, not a directory, in an
/// existing directory where a file can be created.
pub fn check_output(flag: &str, path: &Path) -> Result<(), String> {
    let shown = path.display();
    if path.is_dir() {
        return Err(format!("{flag} {shown} is a directory; give a file name"));
    }
    let name = path.file_name().ok_or_else(|| format!("{flag} {shown} is not a file name"))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.is_dir() {
        return Err(format!("{flag} {shown}: the directory {} does not exist", dir.display()));
    }
    // Try: permissions, read-only mounts and quotas all show up here.
    let probe = dir.join(format!(".{}.probe-{}", name.to_string_lossy(), std::process::id()));
    let created = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(&probe);
    let _ = std::fs::remove_file(&probe);
    created.map(drop).map_err(|e| format!("{flag} {shown}: cannot write in {}: {e}", dir.display()))
}
