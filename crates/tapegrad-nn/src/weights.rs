//! Weights on disk as safetensors: PyTorch's names, atomic writes, and
//! all-or-nothing loads with errors that name the file.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::Path;

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
/// # Errors
/// [`NnError::Weights`] if the safetensors writer refuses (duplicate names).
pub fn to_safetensors_bytes<T: Scalar>(entries: &[(String, Tensor<T>)], metadata: Option<HashMap<String, String>>) -> Result<Vec<u8>> {
    let is_f32 = T::NAME == "f32";
    let bytes: Vec<Vec<u8>> = entries
        .iter()
        .map(|(_, t)| {
            if is_f32 {
                t.data().iter().flat_map(|v| (v.to_f64_lossless() as f32).to_le_bytes()).collect()
            } else {
                t.data().iter().flat_map(|v| v.to_f64_lossless().to_le_bytes()).collect()
            }
        })
        .collect();
    let dtype = if is_f32 { Dtype::F32 } else { Dtype::F64 };
    let views = entries
        .iter()
        .zip(&bytes)
        .map(|((n, t), b)| {
            Ok((
                n.clone(),
                TensorView::new(dtype, t.shape().to_vec(), b)
                    .map_err(|e| NnError::Weights { file: "safetensors".into(), message: format!("`{n}`: {e}") })?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    safetensors::serialize(views, metadata).map_err(|e| NnError::Weights { file: "safetensors".into(), message: e.to_string() })
}

/// Writes named tensors to `path` as safetensors, atomically: the bytes go
/// to a temporary file in the same directory, which is flushed to disk and
/// then renamed over `path`, so a crash mid-save leaves the old file intact.
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
/// [`NnError::Weights`] naming the file on any I/O failure.
pub fn save_safetensors<T: Scalar>(path: &Path, entries: &[(String, Tensor<T>)], metadata: Option<HashMap<String, String>>) -> Result<()> {
    let bytes = to_safetensors_bytes(entries, metadata).map_err(|e| weights_err(path, e.to_string()))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| weights_err(path, "not a file path"))?.to_string_lossy().into_owned();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        // Make the rename itself durable where the platform allows.
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&tmp);
        weights_err(path, format!("cannot write: {e}"))
    })
}

/// Reads a safetensors buffer into named tensors of type `T` (f32 and f64
/// entries are converted), in file order, and the metadata.
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
            other => return Err(bad(format!("entry `{n}` has dtype {other:?}; only F32 and F64 are supported"))),
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
/// # Errors
/// As [`save_safetensors`].
pub fn save_module<T: Scalar, M: Module<T> + ?Sized>(module: &M, path: &Path) -> Result<()> {
    save_safetensors(path, &state_dict(module), None)
}

/// Loads a module's parameters from a safetensors file written by
/// [`save_module`] or by PyTorch (`safetensors.torch.save_file(model.state_dict())`).
/// All or nothing: on any error the module is unchanged.
///
/// # Errors
/// [`NnError::Weights`] naming the file and, for a mismatch, the parameter
/// and both shapes.
pub fn load_module<T: Scalar, M: Module<T> + ?Sized>(module: &mut M, path: &Path) -> Result<()> {
    let (entries, _) = load_safetensors(path)?;
    load_state_dict(module, &entries, &path.display().to_string())
}
