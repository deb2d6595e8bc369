//! Constructors and accessors.

use rand::rngs::StdRng;
use rand::SeedableRng;
use tapegrad_tensor::Tensor;

#[test]
fn constructors_fill_as_documented() {
    assert_eq!(Tensor::<f64>::zeros(&[2, 2]).data(), &[0.0; 4]);
    assert_eq!(Tensor::<f32>::ones(&[3]).data(), &[1.0; 3]);
    assert_eq!(Tensor::full(&[2], 7.5f64).data(), &[7.5, 7.5]);
    assert_eq!(Tensor::<f64>::eye(3).data(), &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
    assert_eq!(Tensor::<f32>::arange(4).data(), &[0.0, 1.0, 2.0, 3.0]);
    let s = Tensor::scalar(4.0f64);
    assert_eq!((s.shape(), s.item()), (&[][..], 4.0));
    assert_eq!(Tensor::<f64>::zeros(&[0, 3]).numel(), 0);
}

#[test]
fn seeded_random_tensors_are_reproducible_and_in_range() {
    let a = Tensor::<f64>::rand_uniform(&[1000], -2.0, 3.0, &mut StdRng::seed_from_u64(11));
    let b = Tensor::<f64>::rand_uniform(&[1000], -2.0, 3.0, &mut StdRng::seed_from_u64(11));
    let c = Tensor::<f64>::rand_uniform(&[1000], -2.0, 3.0, &mut StdRng::seed_from_u64(12));
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert!(a.data().iter().all(|v| (-2.0..3.0).contains(v)));
    assert!((a.mean_all() - 0.5).abs() < 0.2);
    let n = Tensor::<f32>::rand_normal(&[20001], 0.0, 1.0, &mut StdRng::seed_from_u64(3));
    let var = n.map(|v| v * v).mean_all() - n.mean_all().powi(2);
    assert!(n.mean_all().abs() < 0.05 && (var - 1.0).abs() < 0.05, "mean {} var {var}", n.mean_all());
}

#[test]
fn f32_uniform_never_reaches_the_upper_bound() {
    let t = Tensor::<f32>::rand_uniform(&[100_000], 0.0, 1e-7, &mut StdRng::seed_from_u64(1));
    assert!(t.data().iter().all(|&v| (0.0..1e-7).contains(&v)));
}

#[test]
fn clones_share_and_writes_copy() {
    let a = Tensor::from_vec(vec![1.0f64, 2.0], &[2]);
    let mut b = a.clone();
    assert!(a.shares_buffer(&b));
    b.data_mut()[1] = 9.0;
    assert!(!a.shares_buffer(&b));
    assert_eq!((a.data(), b.data()), (&[1.0, 2.0][..], &[1.0, 9.0][..]));
    assert!(a.reshape(&[1, 2]).shares_buffer(&a), "reshape must not copy");
}

#[test]
fn get_cast_and_debug() {
    let t = Tensor::from_vec(vec![1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3]);
    assert_eq!(t.try_get(&[1, 2]).unwrap(), 6.0);
    assert_eq!(t.cast::<f32>().data(), &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(format!("{t:?}"), "Tensor<f64>[2, 3] [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]");
    assert!(t.all_finite() && !t.map(|v| v / 0.0).all_finite());
}

#[cfg(feature = "ndarray")]
#[test]
fn ndarray_round_trip_keeps_shape_and_logical_order() {
    let t = Tensor::<f64>::arange(24).reshape(&[2, 3, 4]);
    let a = t.to_ndarray();
    assert_eq!(a.shape(), &[2, 3, 4]);
    assert_eq!(a[[1, 2, 3]], 23.0);
    assert_eq!(Tensor::from(a.clone()), t);
    // A permuted view converts in logical order, like transpose.
    let p = a.view().permuted_axes(ndarray::IxDyn(&[2, 0, 1]));
    let back = Tensor::try_from_ndarray(&p).unwrap();
    assert_eq!(back.shape(), &[4, 2, 3]);
    assert_eq!(back, t.transpose(1, 2).transpose(0, 1));
}
