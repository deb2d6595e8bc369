//! Pretrained word vectors from the common text format (GloVe, word2vec
//! text): one word and its values a line, separated by spaces, with an
//! optional word2vec header line `count dim`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use tapegrad_tensor::{Scalar, Tensor};

use crate::{Embedding, NnError, Result, Trainable};

/// What is wrong with a word-vector file; carried by
/// [`NnError::VectorFile`], which adds the file's name. Lines are counted
/// from 1.
///
/// ```
/// use tapegrad_nn::{NnError, VectorFileError, WordVectors};
/// let NnError::VectorFile { problem, .. } = WordVectors::<f32>::parse("v.txt", "a 1\na 2\n").unwrap_err() else { panic!() };
/// assert_eq!(problem, VectorFileError::DuplicateWord { line: 2, word: "a".into(), first_line: 1 });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VectorFileError {
    /// The file could not be opened or read, or is not UTF-8.
    #[error("cannot be read: {message}")]
    Unreadable {
        /// The I/O error.
        message: String,
    },
    /// No word vectors at all (nothing, blank lines, or a header alone).
    #[error("holds no word vectors")]
    Empty,
    /// A word with no values after it.
    #[error("line {line}: `{word}` has no values")]
    NoValues {
        /// The line.
        line: usize,
        /// Its word.
        word: String,
    },
    /// A row whose number of values differs from the others'.
    #[error("line {line}: `{word}` has {got} values, but {set_by} set {expected} per word")]
    RaggedRow {
        /// The line.
        line: usize,
        /// Its word.
        word: String,
        /// Values on this line.
        got: usize,
        /// Values per word, as set by `set_by`.
        expected: usize,
        /// `"the header"` or `"line N"` (the first vector).
        set_by: String,
    },
    /// A value that is not a number, or not finite in the element type.
    #[error("line {line}: value {column} of `{word}`, `{token}`, is not a finite number")]
    BadNumber {
        /// The line.
        line: usize,
        /// Its word.
        word: String,
        /// Which value of the row (from 1).
        column: usize,
        /// The text found.
        token: String,
    },
    /// A word that already has a vector.
    #[error("line {line}: `{word}` already has a vector, on line {first_line}")]
    DuplicateWord {
        /// The line of the repeat.
        line: usize,
        /// The word.
        word: String,
        /// The line of its first vector.
        first_line: usize,
    },
    /// A header whose word count is not the number of vectors that follow.
    #[error("the header (line {header_line}) promises {promised} words, but {found} follow")]
    WrongCount {
        /// The header's line.
        header_line: usize,
        /// Its count.
        promised: usize,
        /// Vectors in the file.
        found: usize,
    },
}

/// A vocabulary and its vectors, read from the word-vector text format:
/// row `i` of [`WordVectors::matrix`] is the vector of `words[i]`.
///
/// The word is the first space-separated token of a line and the values
/// are the rest, so words containing spaces (a few GloVe releases have
/// them) are not supported: such a line is reported as a bad number. A
/// first line of exactly two whole numbers is the word2vec header
/// `count dim` (and is checked against the rows); a one-dimensional file
/// whose first word is a whole number with a whole-number value is
/// therefore misread as a header, and then fails with a typed error rather
/// than yielding wrong vectors. Blank lines are skipped.
///
/// ```
/// use tapegrad_autodiff::Tape;
/// use tapegrad_nn::{Binding, Trainable, WordVectors};
/// let text = "2 3\nthe 0.1 0.2 0.3\ncat -1 0 1e-2\n";
/// let wv = WordVectors::<f32>::parse("vectors.txt", text).unwrap();
/// assert_eq!((wv.len(), wv.dim()), (2, 3));
/// assert_eq!(wv.id("cat"), Some(1));
/// let emb = wv.embedding(Trainable::Frozen);
/// let tape = Tape::new();
/// let x = emb.forward(&Binding::new(&tape), &[wv.id("cat").unwrap()], &[1]).unwrap();
/// assert_eq!(x.value().data(), &[-1.0, 0.0, 0.01]);
///
/// let err = WordVectors::<f32>::parse("vectors.txt", "the 0.1 0.2\ncat 0.3\n").unwrap_err();
/// assert_eq!(err.to_string(), "vectors.txt: line 2: `cat` has 1 values, but line 1 set 2 per word");
/// ```
#[derive(Debug, Clone)]
pub struct WordVectors<T: Scalar> {
    /// The words, in file order.
    pub words: Vec<String>,
    /// Each word's row.
    pub index: HashMap<String, usize>,
    /// `(words, dim)`.
    pub matrix: Tensor<T>,
}

/// The row being read: its line and word, for errors.
struct Row<'a> {
    line: usize,
    word: &'a str,
}

/// Values per word, and what set that number (for the ragged-row error).
struct Width {
    dim: usize,
    set_by: String,
}

impl<T: Scalar> WordVectors<T> {
    /// Reads the file at `path` (streamed line by line).
    ///
    /// ```no_run
    /// use tapegrad_nn::WordVectors;
    /// let glove = WordVectors::<f32>::load("glove.6B.50d.txt".as_ref()).unwrap();
    /// println!("{} words of dimension {}", glove.len(), glove.dim());
    /// ```
    ///
    /// # Errors
    /// [`NnError::VectorFile`] naming `path` and (but for an unreadable or
    /// empty file) the line.
    pub fn load(path: &Path) -> Result<Self> {
        let name = path.display().to_string();
        let file = File::open(path).map_err(|e| vector_err(&name, VectorFileError::Unreadable { message: e.to_string() }))?;
        Self::from_reader(&name, BufReader::new(file))
    }

    /// Parses `text`, naming it `source` in errors.
    ///
    /// ```
    /// use tapegrad_nn::{NnError, VectorFileError, WordVectors};
    /// let err = WordVectors::<f64>::parse("v.txt", "a 1\nb x\n").unwrap_err();
    /// assert!(matches!(err, NnError::VectorFile { problem: VectorFileError::BadNumber { line: 2, .. }, .. }));
    /// ```
    ///
    /// # Errors
    /// As [`WordVectors::load`].
    pub fn parse(source: &str, text: &str) -> Result<Self> {
        Self::from_reader(source, text.as_bytes())
    }

    /// Reads from any buffered reader, naming it `source` in errors.
    ///
    /// ```
    /// use tapegrad_nn::WordVectors;
    /// let wv = WordVectors::<f32>::from_reader("stdin", &b"x 1 2\n"[..]).unwrap();
    /// assert_eq!(wv.matrix.shape(), &[1, 2]);
    /// ```
    ///
    /// # Errors
    /// As [`WordVectors::load`].
    pub fn from_reader<R: BufRead>(source: &str, reader: R) -> Result<Self> {
        let err = |problem| vector_err(source, problem);
        let (mut words, mut index, mut data) = (Vec::new(), HashMap::new(), Vec::new());
        let mut first_lines: HashMap<String, usize> = HashMap::new();
        let (mut width, mut header): (Option<Width>, Option<(usize, usize)>) = (None, None);
        let mut seen_content = false;
        for (i, text) in reader.lines().enumerate() {
            let line = i + 1;
            let text = text.map_err(|e| err(VectorFileError::Unreadable { message: format!("line {line}: {e}") }))?;
            let tokens: Vec<&str> = text.split_whitespace().collect();
            if tokens.is_empty() {
                continue;
            }
            if !std::mem::replace(&mut seen_content, true) {
                if let Some((count, dim)) = header_of(&tokens) {
                    header = Some((line, count));
                    width = Some(Width { dim, set_by: "the header".into() });
                    continue;
                }
            }
            let row = Row { line, word: tokens[0] };
            let values = &tokens[1..];
            let w = width.get_or_insert_with(|| Width { dim: values.len(), set_by: format!("line {line}") });
            check_width(&row, values.len(), w).map_err(err)?;
            if let Some(&first_line) = first_lines.get(row.word) {
                return Err(err(VectorFileError::DuplicateWord { line, word: row.word.to_string(), first_line }));
            }
            parse_values(&row, values, &mut data).map_err(err)?;
            first_lines.insert(row.word.to_string(), line);
            index.insert(row.word.to_string(), words.len());
            words.push(row.word.to_string());
        }
        if let Some((header_line, promised)) = header {
            if promised != words.len() {
                return Err(err(VectorFileError::WrongCount { header_line, promised, found: words.len() }));
            }
        }
        let dim = match width {
            Some(w) if !words.is_empty() => w.dim,
            _ => return Err(err(VectorFileError::Empty)),
        };
        let matrix = Tensor::from_vec(data, &[words.len(), dim]);
        Ok(WordVectors { words, index, matrix })
    }

    /// Number of words.
    ///
    /// ```
    /// # use tapegrad_nn::WordVectors;
    /// assert_eq!(WordVectors::<f32>::parse("v", "a 1\nb 2\n").unwrap().len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Always false: a file without vectors is an error.
    ///
    /// ```
    /// # use tapegrad_nn::WordVectors;
    /// assert!(!WordVectors::<f32>::parse("v", "a 1\n").unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// Values per word.
    ///
    /// ```
    /// # use tapegrad_nn::WordVectors;
    /// assert_eq!(WordVectors::<f32>::parse("v", "a 1 2 3\n").unwrap().dim(), 3);
    /// ```
    pub fn dim(&self) -> usize {
        self.matrix.shape()[1]
    }

    /// The row of `word`, if it has one.
    ///
    /// ```
    /// # use tapegrad_nn::WordVectors;
    /// let wv = WordVectors::<f32>::parse("v", "a 1\nb 2\n").unwrap();
    /// assert_eq!((wv.id("b"), wv.id("c")), (Some(1), None));
    /// ```
    pub fn id(&self, word: &str) -> Option<usize> {
        self.index.get(word).copied()
    }

    /// An [`Embedding`] holding these vectors (row `i` for `words[i]`).
    ///
    /// ```
    /// use tapegrad_nn::{Module, Trainable, WordVectors};
    /// let wv = WordVectors::<f32>::parse("v", "a 1 2\nb 3 4\n").unwrap();
    /// assert_eq!(wv.embedding(Trainable::Trainable).num_params(), 4);
    /// assert_eq!(wv.embedding(Trainable::Frozen).num_params(), 0);
    /// ```
    pub fn embedding(&self, trainable: Trainable) -> Embedding<T> {
        // The matrix is (len >= 1, dim >= 1) and finite by construction.
        Embedding::from_pretrained(self.matrix.clone(), trainable)
    }
}

fn vector_err(file: &str, problem: VectorFileError) -> NnError {
    NnError::VectorFile { file: file.to_string(), problem }
}

/// `Some((count, dim))` for a word2vec header: exactly two whole numbers.
fn header_of(tokens: &[&str]) -> Option<(usize, usize)> {
    match tokens {
        [count, dim] => Some((count.parse().ok()?, dim.parse().ok()?)),
        _ => None,
    }
}

fn check_width(row: &Row<'_>, got: usize, w: &Width) -> std::result::Result<(), VectorFileError> {
    if got == 0 && w.dim == 0 {
        return Err(VectorFileError::NoValues { line: row.line, word: row.word.to_string() });
    }
    if got != w.dim {
        return Err(VectorFileError::RaggedRow {
            line: row.line,
            word: row.word.to_string(),
            got,
            expected: w.dim,
            set_by: w.set_by.clone(),
        });
    }
    Ok(())
}

/// Appends the row's values to `data`, or names the first bad one.
fn parse_values<T: Scalar>(row: &Row<'_>, values: &[&str], data: &mut Vec<T>) -> std::result::Result<(), VectorFileError> {
    for (j, tok) in values.iter().enumerate() {
        let v = tok.parse::<f64>().ok().map(T::from_f64_lossy).filter(|v| v.is_finite());
        let Some(v) = v else {
            return Err(VectorFileError::BadNumber { line: row.line, word: row.word.to_string(), column: j + 1, token: tok.to_string() });
        };
        data.push(v);
    }
    Ok(())
}
