//! What a fused region's closure returns: [`RegionOutputs`].

use tapegrad_tensor::Scalar;

use crate::Var;

/// What a fused region's closure may return: variables, in tuples,
/// arrays, vectors, or a `Result` of those. The variables made inside the
/// region become the region node's outputs.
pub trait RegionOutputs<'t, T: Scalar> {
    /// Calls `f` on each variable, in order.
    fn each_var(&self, f: &mut dyn FnMut(Var<'t, T>));
    /// The same structure with each variable replaced by `f`'s result.
    fn map_vars(self, f: &mut dyn FnMut(Var<'t, T>) -> Var<'t, T>) -> Self;
}

impl<'t, T: Scalar> RegionOutputs<'t, T> for Var<'t, T> {
    fn each_var(&self, f: &mut dyn FnMut(Var<'t, T>)) {
        f(*self)
    }
    fn map_vars(self, f: &mut dyn FnMut(Var<'t, T>) -> Var<'t, T>) -> Self {
        f(self)
    }
}

macro_rules! tuple_outputs {
    ($(($($n:ident $i:tt),*))*) => {$(
        impl<'t, T: Scalar, $($n: RegionOutputs<'t, T>),*> RegionOutputs<'t, T> for ($($n,)*) {
            fn each_var(&self, f: &mut dyn FnMut(Var<'t, T>)) {
                $(self.$i.each_var(f);)*
            }
            fn map_vars(self, f: &mut dyn FnMut(Var<'t, T>) -> Var<'t, T>) -> Self {
                ($(self.$i.map_vars(f),)*)
            }
        }
    )*};
}
tuple_outputs! { (A 0, B 1) (A 0, B 1, C 2) (A 0, B 1, C 2, D 3) }

impl<'t, T: Scalar, O: RegionOutputs<'t, T>> RegionOutputs<'t, T> for Vec<O> {
    fn each_var(&self, f: &mut dyn FnMut(Var<'t, T>)) {
        self.iter().for_each(|o| o.each_var(f))
    }
    fn map_vars(self, f: &mut dyn FnMut(Var<'t, T>) -> Var<'t, T>) -> Self {
        self.into_iter().map(|o| o.map_vars(f)).collect()
    }
}

impl<'t, T: Scalar, O: RegionOutputs<'t, T>, const N: usize> RegionOutputs<'t, T> for [O; N] {
    fn each_var(&self, f: &mut dyn FnMut(Var<'t, T>)) {
        self.iter().for_each(|o| o.each_var(f))
    }
    fn map_vars(self, f: &mut dyn FnMut(Var<'t, T>) -> Var<'t, T>) -> Self {
        self.map(|o| o.map_vars(f))
    }
}

impl<'t, T: Scalar, O: RegionOutputs<'t, T>, E> RegionOutputs<'t, T> for std::result::Result<O, E> {
    fn each_var(&self, f: &mut dyn FnMut(Var<'t, T>)) {
        if let Ok(o) = self {
            o.each_var(f)
        }
    }
    fn map_vars(self, f: &mut dyn FnMut(Var<'t, T>) -> Var<'t, T>) -> Self {
        self.map(|o| o.map_vars(f))
    }
}
