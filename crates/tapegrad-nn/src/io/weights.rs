//! Weights on disk as safetensors: PyTorch's names, atomic writes, and
//! all-or-nothing loads with errors that name the file.

use std::collections::HashMap;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use tapegrad_tensor::{Scalar, Tensor};

use crate::{load_state_dict, state_dict, Module, NnError, Result};

/// Named tensors in order, as in a state dict or a safetensors file.
pub type NamedTensors<T> = Vec<(String, Tensor<T>)>;

/// A safetensors file's free-form string metadata.
pub type Metadata = Option<HashMap<String, String>>;

fn weights_err(path: &Path, message: impl Into<String>) -> NnError {
    NnError::Weights { file: path.display().to_string(), message: message.into() }
}

/// Serialises named tensors (f32 or f64, as `T`) to safetensors bytes.
///
/// ```
/// use tapegrad_nn::{from_safetensors_bytes, to_safetensors_bytes, NnError};
/// use tapegrad_tensor::Tensor;
/// let w = ("w".to_string(), Tensor::<f64>::ones(&[2]));
/// let bytes = to_safetensors_bytes(&[w.clone()], None).unwrap();
/// assert_eq!(from_safetensors_bytes::<f64>("buf", &bytes).unwrap().0, vec![w.clone()]);
/// let e = to_safetensors_bytes(&[w.clone(), w], None).unwrap_err();
/// assert!(matches!(e, NnError::DuplicateName { .. }), "{e}");
/// ```
///
/// # Errors
/// [`NnError::DuplicateName`] if two entries share a name;
/// [`NnError::Weights`] if the safetensors writer refuses.
pub fn to_safetensors_bytes<T: Scalar>(entries: &[(String, Tensor<T>)], metadata: Option<HashMap<String, String>>) -> Result<Vec<u8>> {
    to_safetensors_bytes_as(entries, metadata, Storage::Native)
}

/// How a weights file stores its values.
///
/// ```
/// use tapegrad_nn::{from_safetensors_bytes, to_safetensors_bytes_as, Storage};
/// use tapegrad_tensor::Tensor;
/// let w = ("w".to_string(), Tensor::<f32>::from_vec(vec![1.0, 0.1, -65504.0], &[3]));
/// let half = to_safetensors_bytes_as(&[w.clone()], None, Storage::F16).unwrap();
/// let (back, _) = from_safetensors_bytes::<f32>("buf", &half).unwrap();
/// assert_eq!(back[0].1.data(), &[1.0, 0.099975586, -65504.0]); // 0.1 rounded to binary16
/// let big = ("big".to_string(), Tensor::<f32>::full(&[1], 1e5));
/// assert!(to_safetensors_bytes_as(&[big], None, Storage::F16).unwrap_err().to_string().contains("does not fit F16"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Storage {
    /// The model's own type: F32 for an f32 model, F64 for f64.
    #[default]
    Native,
    /// IEEE binary32.
    F32,
    /// IEEE binary64.
    F64,
    /// IEEE binary16 (PyTorch's `float16`), rounded to nearest, ties to even.
    F16,
    /// bfloat16 (PyTorch's `bfloat16`), rounded to nearest, ties to even.
    Bf16,
}

/// Serialises named tensors as safetensors bytes stored as `storage` says.
/// Values are rounded to nearest (ties to even) when the storage is
/// narrower than `T`.
///
/// # Errors
/// [`NnError::DuplicateName`] if two entries share a name;
/// [`NnError::Weights`] naming the entry and element if a finite value is
/// too large for a 16-bit storage (it would be stored as infinity), or if
/// the safetensors writer refuses.
pub fn to_safetensors_bytes_as<T: Scalar>(
    entries: &[(String, Tensor<T>)],
    metadata: Option<HashMap<String, String>>,
    storage: Storage,
) -> Result<Vec<u8>> {
    check_unique_entries(entries, "safetensors")?;
    let storage = match storage {
        Storage::Native if T::NAME == "f32" => Storage::F32,
        Storage::Native => Storage::F64,
        s => s,
    };
    let bad = |message: String| NnError::Weights { file: "safetensors".into(), message };
    let bytes: Vec<Vec<u8>> = entries
        .iter()
        .map(|(n, t)| {
            let values = t.data().iter().map(|v| v.to_f64_lossless());
            let half = |f: super::half::Half, name: &str| -> Result<Vec<u8>> {
                let mut out = Vec::with_capacity(2 * t.numel());
                for (k, v) in values.clone().enumerate() {
                    let bits = f.encode(v).map_err(|()| bad(format!("`{n}`: value {v:e} at element {k} does not fit {name}")))?;
                    out.extend(bits.to_le_bytes());
                }
                Ok(out)
            };
            Ok(match storage {
                Storage::F16 => half(super::half::F16, "F16")?,
                Storage::Bf16 => half(super::half::BF16, "BF16")?,
                Storage::F32 => values.flat_map(|v| (v as f32).to_le_bytes()).collect(),
                _ => values.flat_map(|v| v.to_le_bytes()).collect(),
            })
        })
        .collect::<Result<_>>()?;
    let dtype = match storage {
        Storage::F16 => Dtype::F16,
        Storage::Bf16 => Dtype::BF16,
        Storage::F32 => Dtype::F32,
        _ => Dtype::F64,
    };
    let views = entries
        .iter()
        .zip(&bytes)
        .map(|((n, t), b)| Ok((n.clone(), TensorView::new(dtype, t.shape().to_vec(), b).map_err(|e| bad(format!("`{n}`: {e}")))?)))
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, metadata).map_err(|e| bad(e.to_string()))
}

/// Writes named tensors to `path` as safetensors, atomically: the bytes go
/// to a temporary file in the same directory, which is flushed to disk and
/// then renamed over `path`, so a crash mid-save leaves the old file intact
/// and a reader only ever sees one whole save.
///
/// Each write has its own temporary name (`.NAME.tmp-PID-COUNTER-NONCE`),
/// so concurrent saves to one path, from threads or processes, never share
/// one: the last rename wins and the file is always one whole save. The
/// writer holds an exclusive lock on its temporary file until the rename;
/// each save first removes the temporary files of `path` that no process
/// holds locked, which is what writes killed mid-way leave behind (on a
/// platform without file locks, nothing is removed).
///
/// ```
/// use tapegrad_nn::{load_safetensors, save_safetensors};
/// use tapegrad_tensor::Tensor;
/// let dir = std::env::temp_dir().join(format!("tg-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let path = dir.join("w.safetensors");
/// save_safetensors(&path, &[("w".to_string(), Tensor::<f32>::ones(&[2, 2]))], None).unwrap();
/// let (back, _) = load_safetensors::<f32>(&path).unwrap();
/// assert_eq!(back[0].1, Tensor::ones(&[2, 2]));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
///
/// # Errors
/// [`NnError::DuplicateName`] naming the file if two entries share a name
/// (nothing is written); [`NnError::Weights`] naming the file on any I/O
/// failure (the previous file is left as it was).
pub fn save_safetensors<T: Scalar>(path: &Path, entries: &[(String, Tensor<T>)], metadata: Option<HashMap<String, String>>) -> Result<()> {
    check_unique_entries(entries, &path.display().to_string())?;
    let bytes = to_safetensors_bytes(entries, metadata).map_err(|e| weights_err(path, e.to_string()))?;
    write_atomically(path, &bytes)
}

/// Writes `bytes` to `path` through a locked temporary of its own, renamed
/// over `path` (see [`save_safetensors`]).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| weights_err(path, "not a file path"))?.to_string_lossy().into_owned();
    remove_stale_temporaries(dir, &name);
    let (tmp, mut f) = create_temporary(dir, &name).map_err(|e| weights_err(path, format!("cannot write: {e}")))?;
    let mut write = || -> std::io::Result<()> {
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        // Make the rename itself durable where the platform allows.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    let done = write();
    drop(f); // releases the lock, after the rename
    done.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        weights_err(path, format!("cannot write: {e}"))
    })
}

/// Distinguishes the temporary files of one process's saves.
static SAVES: AtomicU64 = AtomicU64::new(0);

/// Creates (exclusively) and locks a temporary file for a save of `name`
/// in `dir`, with a name no other write uses.
fn create_temporary(dir: &Path, name: &str) -> std::io::Result<(PathBuf, fs::File)> {
    for _ in 0..16 {
        let nonce = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let tmp = dir.join(format!(".{name}.tmp-{}-{}-{nonce:x}", std::process::id(), SAVES.fetch_add(1, Ordering::Relaxed)));
        let f = match fs::OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        match f.lock() {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Unsupported => return Ok((tmp, f)),
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        }
        // Another save may have found the file before it was locked, taken
        // it for a killed write's and removed it: then start over.
        if still_named(&f, &tmp) {
            return Ok((tmp, f));
        }
    }
    Err(std::io::Error::other("no unused temporary file name after 16 tries"))
}

/// Whether `path` still names the file open as `f`.
fn still_named(f: &fs::File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        matches!((f.metadata(), fs::metadata(path)), (Ok(a), Ok(b)) if a.dev() == b.dev() && a.ino() == b.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = f;
        path.exists()
    }
}

/// Removes the temporary files of saves of `name` in `dir` that no writer
/// holds locked: those of writes killed mid-way. Best effort: a file that
/// cannot be opened or locked is left alone.
fn remove_stale_temporaries(dir: &Path, name: &str) {
    let prefix = format!(".{name}.tmp-");
    let Ok(listing) = fs::read_dir(dir) else { return };
    for entry in listing.flatten() {
        let file_name = entry.file_name();
        let Some(suffix) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        // `PID` (earlier versions) or `PID-COUNTER-NONCE`: nothing else is ours.
        if suffix.is_empty() || !suffix.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            continue;
        }
        let path = entry.path();
        let Ok(f) = fs::File::open(&path) else { continue };
        if f.try_lock().is_ok() {
            let _ = fs::remove_file(&path);
        }
    }
}

/// The first name that two entries share, as a [`NnError::DuplicateName`]
/// naming `context`.
pub(crate) fn check_unique<'a>(names: impl IntoIterator<Item = &'a str>, context: &str, what: &'static str) -> Result<()> {
    let mut seen = std::collections::HashSet::new();
    for n in names {
        if !seen.insert(n) {
            return Err(NnError::DuplicateName { context: context.to_string(), what, name: n.to_string() });
        }
    }
    Ok(())
}

fn check_unique_entries<T: Scalar>(entries: &[(String, Tensor<T>)], context: &str) -> Result<()> {
    check_unique(entries.iter().map(|(n, _)| n.as_str()), context, "entries")
}

/// Reads a safetensors buffer into named tensors of type `T` (F16, BF16,
/// F32 and F64 entries are converted: 16-bit values exactly, F64 into an
/// f32 model rounded to nearest), in file order, and the metadata.
///
/// # Errors
/// [`NnError::Weights`] naming `source` for a truncated or foreign buffer or
/// an unsupported dtype (naming the entry).
pub fn from_safetensors_bytes<T: Scalar>(source: &str, bytes: &[u8]) -> Result<(NamedTensors<T>, Metadata)> {
    let bad = |m: String| NnError::Weights { file: source.to_string(), message: m };
    let st = SafeTensors::deserialize(bytes).map_err(|e| bad(format!("not a valid safetensors file: {e}")))?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| bad(format!("not a valid safetensors file: {e}")))?;
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    // File order: by data offset, as written.
    let infos = meta.tensors();
    names.sort_by_key(|n| infos.get(n).map(|i| i.data_offsets.0).unwrap_or(0));
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        let view = st.tensor(&n).map_err(|e| bad(format!("entry `{n}`: {e}")))?;
        let data: Vec<T> = match view.dtype() {
            Dtype::F32 => {
                view.data().chunks_exact(4).map(|c| T::from_f64_lossy(f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64)).collect()
            }
            Dtype::F64 => {
                view.data().chunks_exact(8).map(|c| T::from_f64_lossy(f64::from_le_bytes(c.try_into().expect("8 bytes")))).collect()
            }
            Dtype::F16 | Dtype::BF16 => {
                let f = if view.dtype() == Dtype::F16 { super::half::F16 } else { super::half::BF16 };
                view.data().chunks_exact(2).map(|c| T::from_f64_lossy(f.decode(u16::from_le_bytes([c[0], c[1]])))).collect()
            }
            other => return Err(bad(format!("entry `{n}` has dtype {other:?}; only F16, BF16, F32 and F64 are supported"))),
        };
        let t = Tensor::try_from_vec(data, view.shape()).map_err(|e| bad(format!("entry `{n}`: {e}")))?;
        out.push((n, t));
    }
    Ok((out, meta.metadata().clone()))
}

/// Reads a safetensors file into named tensors of type `T`.
///
/// # Errors
/// [`NnError::Weights`] naming the file if it is missing, truncated,
/// foreign, or holds an unsupported dtype.
pub fn load_safetensors<T: Scalar>(path: &Path) -> Result<(NamedTensors<T>, Metadata)> {
    let bytes = fs::read(path).map_err(|e| weights_err(path, format!("cannot read: {e}")))?;
    from_safetensors_bytes(&path.display().to_string(), &bytes)
}

/// Saves a module's parameters under their PyTorch names (atomically).
///
/// ```
/// use rand::{rngs::StdRng, SeedableRng};
/// use tapegrad_nn::{load_module, save_module, state_dict, Linear};
/// let path = std::env::temp_dir().join(format!("tg-doc-module-{}.safetensors", std::process::id()));
/// let a = Linear::<f32>::new(3, 2, &mut StdRng::seed_from_u64(0));
/// let mut b = Linear::<f32>::new(3, 2, &mut StdRng::seed_from_u64(1));
/// save_module(&a, &path).unwrap();
/// load_module(&mut b, &path).unwrap();
/// assert_eq!(state_dict(&a), state_dict(&b));
/// # std::fs::remove_file(&path).unwrap();
/// ```
///
/// # Errors
/// As [`save_safetensors`]: a module that repeats a parameter name gets
/// [`NnError::DuplicateName`].
pub fn save_module<T: Scalar, M: Module<T> + ?Sized>(module: &M, path: &Path) -> Result<()> {
    save_module_as(module, path, Storage::Native)
}

/// [`save_module`] with the values stored as `storage` says (F16 or BF16
/// halve the file; PyTorch loads them as `float16` / `bfloat16`).
///
/// # Errors
/// As [`save_module`], and [`NnError::Weights`] naming the file, the
/// parameter and the element if a value is too large for a 16-bit storage
/// (nothing is written).
pub fn save_module_as<T: Scalar, M: Module<T> + ?Sized>(module: &M, path: &Path, storage: Storage) -> Result<()> {
    let entries = state_dict(module);
    check_unique_entries(&entries, &path.display().to_string())?;
    let bytes = to_safetensors_bytes_as(&entries, None, storage).map_err(|e| weights_err(path, e.to_string()))?;
    write_atomically(path, &bytes)
}

/// Loads a module's parameters from a safetensors file written by
/// [`save_module`] or by PyTorch (`safetensors.torch.save_file(model.state_dict())`).
/// All or nothing: on any error the module is unchanged (see
/// [`save_module`] for an example).
///
/// # Errors
/// [`NnError::Weights`] naming the file and, for a mismatch, the parameter
/// and both shapes; [`NnError::DuplicateName`] if the module repeats a
/// parameter name.
pub fn load_module<T: Scalar, M: Module<T> + ?Sized>(module: &mut M, path: &Path) -> Result<()> {
    let (entries, _) = load_safetensors(path)?;
    load_state_dict(module, &entries, &path.display().to_string())
}
