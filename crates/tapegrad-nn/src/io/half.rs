//! IEEE binary16 (`F16`) and bfloat16 (`BF16`) storage: exact decoding to
//! f64, and encoding from f64 rounded to nearest, ties to even, as PyTorch's
//! `.half()` / `.bfloat16()` round. Only weight files use these; every
//! computation stays in f32 or f64.

/// A 16-bit float layout: exponent and mantissa widths.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Half {
    exp: u32,
    man: u32,
}

/// IEEE 754 binary16 (PyTorch's `float16`).
pub(crate) const F16: Half = Half { exp: 5, man: 10 };
/// bfloat16 (PyTorch's `bfloat16`): f32's exponent, 7 mantissa bits.
pub(crate) const BF16: Half = Half { exp: 8, man: 7 };

impl Half {
    fn bias(self) -> i32 {
        (1 << (self.exp - 1)) - 1
    }
    fn max_field(self) -> u32 {
        (1 << self.exp) - 1
    }

    /// The exact value of `bits`.
    pub(crate) fn decode(self, bits: u16) -> f64 {
        let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
        let e = (u32::from(bits) >> self.man) & self.max_field();
        let m = f64::from(u32::from(bits) & ((1 << self.man) - 1));
        let man = self.man as i32;
        if e == self.max_field() {
            return if m == 0.0 { sign * f64::INFINITY } else { f64::NAN };
        }
        if e == 0 {
            return sign * m * 2f64.powi(1 - self.bias() - man);
        }
        sign * (2f64.powi(man) + m) * 2f64.powi(e as i32 - self.bias() - man)
    }

    /// `x` rounded to nearest, ties to even; `Err(())` if a finite `x`
    /// rounds past the largest finite value (it would be stored as ±inf).
    pub(crate) fn encode(self, x: f64) -> Result<u16, ()> {
        let sign: u16 = if x.is_sign_negative() { 0x8000 } else { 0 };
        let inf = (self.max_field() << self.man) as u16;
        if x.is_nan() {
            return Ok(sign | inf | (1 << (self.man - 1)));
        }
        if x.is_infinite() {
            return Ok(sign | inf);
        }
        let a = x.abs();
        if a == 0.0 || a < f64::MIN_POSITIVE {
            // f64 subnormals lie far below either format's smallest value.
            return Ok(sign);
        }
        let emin = 1 - self.bias();
        let ea = ((a.to_bits() >> 52) & 0x7ff) as i32 - 1023;
        let mut e = ea.max(emin);
        let man = self.man as i32;
        // Exact: a scaling by a power of two well inside f64's range.
        let mut m = (a * 2f64.powi(man - e)).round_ties_even() as u32;
        if m >= 2 << self.man {
            m >>= 1;
            e += 1;
        }
        let biased = if m >= 1 << self.man { (e + self.bias()) as u32 } else { 0 };
        if biased >= self.max_field() {
            return Err(());
        }
        Ok(sign | ((biased << self.man) as u16) | (m & ((1 << self.man) - 1)) as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every one of the 65,536 bit patterns decodes to a value that encodes
    /// back to the same bits (NaNs to a NaN), in both formats.
    #[test]
    fn every_half_and_bfloat16_value_round_trips_exactly() {
        for f in [F16, BF16] {
            for bits in 0..=u16::MAX {
                let v = f.decode(bits);
                let back = f.encode(v).unwrap();
                if v.is_nan() {
                    assert!(f.decode(back).is_nan());
                } else {
                    assert_eq!(back, bits, "{f:?}: {bits:#06x} = {v:e} came back as {back:#06x}");
                }
            }
        }
    }

    /// Literal values from the IEEE binary16 and bfloat16 definitions.
    #[test]
    fn known_values_and_rounding_ties_to_even() {
        assert_eq!(F16.encode(1.0), Ok(0x3c00));
        assert_eq!(F16.encode(65504.0), Ok(0x7bff)); // largest finite
        assert_eq!(F16.encode(65519.0), Ok(0x7bff)); // below the halfway point to 2^16
        assert_eq!(F16.encode(65520.0), Err(())); // ties to even: would be inf
        assert_eq!(F16.decode(0x0001), 2f64.powi(-24)); // smallest subnormal
        assert_eq!(F16.encode(2f64.powi(-25)), Ok(0x0000)); // tie between 0 and 2^-24: even
        assert_eq!(F16.encode(1.5 * 2f64.powi(-24)), Ok(0x0002)); // tie between 1 and 2: even
        assert_eq!(F16.encode(1.0 + 2f64.powi(-11)), Ok(0x3c00)); // tie: down to even
        assert_eq!(F16.encode(1.0 + 3.0 * 2f64.powi(-11)), Ok(0x3c02)); // tie: up to even
        assert_eq!(F16.encode(-2.0), Ok(0xc000));
        assert_eq!(BF16.encode(1.0), Ok(0x3f80));
        assert_eq!(BF16.decode(0x7f7f), f64::from(f32::from_bits(0x7f7f_0000))); // largest finite
        assert_eq!(BF16.encode(f64::from(f32::MAX)), Err(()));
        assert_eq!(BF16.encode(f64::from(f32::from_bits(0x3f80_8000))), Ok(0x3f80)); // tie: even
        assert_eq!(BF16.encode(f64::from(f32::from_bits(0x3f81_8000))), Ok(0x3f82)); // tie: even
        assert_eq!(F16.encode(f64::INFINITY), Ok(0x7c00));
        assert!(F16.decode(F16.encode(f64::NAN).unwrap()).is_nan());
    }
}
