//! Index ops: each is the other's derivative, so both directions are
//! checked, with repeated indices.

use proptest::prelude::*;
use tapegrad_autodiff::strategies::{check, tensor};
use tapegrad_autodiff::Tensor;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn index_select_and_index_add(rows in 1usize..5, cols in 1usize..4, picks in prop::collection::vec(0usize..16, 1..7), seed in any::<u64>()) {
        let table = Tensor::from_vec((0..rows * cols).map(|i| ((i as u64 ^ seed) % 97) as f64 / 50.0 - 1.0).collect(), &[rows, cols]);
        let idx: Vec<usize> = picks.iter().map(|p| p % rows).collect();
        let i2 = idx.clone();
        check(move |_, v| v[0].try_index_select(0, &i2), &[table.clone()])?;
        let i3 = idx.clone();
        check(move |_, v| v[0].try_embedding(&i3), &[table.clone()])?;
        let src = Tensor::from_vec((0..idx.len() * cols).map(|i| (i as f64).sin()).collect(), &[idx.len(), cols]);
        check(move |_, v| v[0].try_index_add(0, &idx, v[1]), &[table, src])?;
    }

    #[test]
    fn gather_and_scatter_add(x in tensor(&[3, 4], -2.0..2.0), picks in prop::collection::vec(0usize..4, 6)) {
        let s2 = picks.clone();
        check(move |_, v| v[0].try_gather(1, &s2, &[3, 2]), &[x.clone()])?;
        let src = Tensor::from_vec(picks.iter().map(|&p| p as f64 * 0.3 - 0.4).collect(), &[3, 2]);
        check(move |_, v| v[0].try_scatter_add(1, &picks, &[3, 2], v[1]), &[x, src])?;
    }
}
