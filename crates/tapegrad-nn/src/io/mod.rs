//! Files in and out: safetensors weights with PyTorch's names (stored as
//! F32, F64, F16 or BF16), and pretrained word vectors in the common text
//! format.

mod half;
mod weights;
mod word_vectors;

pub(crate) use weights::check_unique;
pub use weights::{
    from_safetensors_bytes, load_module, load_safetensors, save_module, save_module_as, save_safetensors, to_safetensors_bytes,
    to_safetensors_bytes_as, Metadata, NamedTensors, Storage,
};
pub use word_vectors::{VectorFileError, WordVectors};
