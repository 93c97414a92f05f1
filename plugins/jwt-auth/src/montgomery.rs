//! Modular exponentiation for RSA public keys: Montgomery multiplication on 32-bit limbs
//! (wasm multiplies 32 x 32 -> 64 bits natively, not 64 x 64 -> 128).
//!
//! Written for the job because the general libraries cost too much here: `crypto-bigint`'s
//! fixed-size Montgomery product took about 250,000 wasm instructions for a 2048-bit modulus
//! (4.8 M per RS256 verification), this one about a third of that. Only public values pass
//! through it (signatures, moduli, public exponents), so it need not be constant-time; the
//! tests compare it with the `rsa` crate's verification.

/// An odd modulus with its Montgomery constants, limbs least significant first.
pub(crate) struct Modulus {
    n: Vec<u32>,
    /// `-n^-1 mod 2^32`.
    n0: u32,
    /// `R^2 mod n`, `R = 2^(32 * limbs)`.
    r2: Vec<u32>,
}

impl Modulus {
    /// From big-endian bytes; `None` when `n` is even or zero.
    pub(crate) fn new(n_be: &[u8]) -> Option<Modulus> {
        let n = limbs(n_be, n_be.len().div_ceil(4))?;
        let low = *n.first()?;
        if low % 2 == 0 {
            return None;
        }
        // Newton's iteration doubles the correct low bits of the inverse each step: 5 > 32 bits.
        let mut inv: u32 = 1;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(low.wrapping_mul(inv)));
        }
        // R^2 mod n by doubling 1 (2 * 32 * limbs) times, keeping it below n.
        let mut r2 = vec![0u32; n.len()];
        *r2.first_mut()? = 1;
        for _ in 0..64 * n.len() {
            let top = shift_left(&mut r2);
            if top != 0 || !less(&r2, &n) {
                sub_in_place(&mut r2, &n);
            }
        }
        Some(Modulus { n0: inv.wrapping_neg(), n, r2 })
    }

    /// `base^e mod n` as big-endian bytes, as long as `base_be`; `None` when the base is not
    /// below `n`.
    pub(crate) fn pow(&self, base_be: &[u8], e: u64) -> Option<Vec<u8>> {
        let s = self.n.len();
        let base = limbs(base_be, s)?;
        if !less(&base, &self.n) || e == 0 {
            return None;
        }
        let mut t = vec![0u32; 2 * s + 1];
        let mut x = vec![0u32; s];
        // Into Montgomery form (base * R), square-and-multiply, out of it (reduce once more).
        product(&base, &self.r2, &mut t);
        self.reduce(&mut t, &mut x);
        let base_m = x.clone();
        for bit in (0..63 - e.leading_zeros()).rev() {
            square(&x, &mut t);
            self.reduce(&mut t, &mut x);
            if e >> bit & 1 == 1 {
                product(&x, &base_m, &mut t);
                self.reduce(&mut t, &mut x);
            }
        }
        t.fill(0);
        t.get_mut(..s)?.copy_from_slice(&x);
        self.reduce(&mut t, &mut x);
        let mut out: Vec<u8> = x.iter().rev().flat_map(|l| l.to_be_bytes()).collect();
        let extra = out.len().checked_sub(base_be.len())?;
        if out.iter().take(extra).any(|&b| b != 0) {
            return None;
        }
        out.drain(..extra);
        Some(out)
    }

    /// `out = t / R mod n` for `t < n * R` (`2s + 1` limbs, consumed): Montgomery reduction,
    /// one limb at a time.
    fn reduce(&self, t: &mut [u32], out: &mut [u32]) {
        let s = self.n.len();
        for i in 0..s {
            let Some(row) = t.get_mut(i..) else { return };
            let m = u64::from(row.first().copied().unwrap_or(0).wrapping_mul(self.n0));
            let (body, rest) = row.split_at_mut(s.min(row.len()));
            let mut carry = mac_row(body, &self.n, m);
            for tk in rest {
                if carry == 0 {
                    break;
                }
                let v = u64::from(*tk) + carry;
                *tk = v as u32;
                carry = v >> 32;
            }
        }
        let Some(high) = t.get(s..) else { return };
        let (value, top) = high.split_at(s.min(high.len()));
        out.copy_from_slice(value);
        if top.first().is_some_and(|&t| t != 0) || !less(out, &self.n) {
            sub_in_place(out, &self.n);
        }
    }
}

/// `t = a * b` (`t` has `2s + 1` limbs).
fn product(a: &[u32], b: &[u32], t: &mut [u32]) {
    let s = a.len();
    t.fill(0);
    for (i, &ai) in a.iter().enumerate() {
        let Some(row) = t.get_mut(i..=i + s) else { return };
        let (body, top) = row.split_at_mut(s);
        let carry = mac_row(body, b, u64::from(ai));
        if let Some(top) = top.first_mut() {
            *top = carry as u32;
        }
    }
}

/// `t = a * a`: each cross product once, doubled, then the squares added (about half the
/// multiplications of [`product`]; 16 of the 17 steps of `e = 65537` are squarings).
fn square(a: &[u32], t: &mut [u32]) {
    let s = a.len();
    t.fill(0);
    for (i, &ai) in a.iter().enumerate() {
        let (Some(row), Some(rest)) = (t.get_mut(2 * i + 1..i + s), a.get(i + 1..)) else { continue };
        let carry = mac_row(row, rest, u64::from(ai));
        if let Some(top) = t.get_mut(i + s) {
            *top = carry as u32;
        }
    }
    let Some(body) = t.get_mut(..2 * s) else { return };
    let top = shift_left(body);
    if let Some(last) = t.get_mut(2 * s) {
        *last = top;
    }
    let mut carry = 0u64;
    for (pair, &ai) in t.chunks_exact_mut(2).zip(a) {
        let sq = u64::from(ai) * u64::from(ai);
        if let [lo, hi] = pair {
            let v = u64::from(*lo) + (sq & 0xffff_ffff) + carry;
            *lo = v as u32;
            let w = u64::from(*hi) + (sq >> 32) + (v >> 32);
            *hi = w as u32;
            carry = w >> 32;
        }
    }
    if let Some(last) = t.get_mut(2 * s) {
        *last = last.wrapping_add(carry as u32);
    }
}

/// `acc += x * y` over `min(len)` limbs; returns the carry out. Unrolled by four: in wasm
/// the loop's own bookkeeping costs as much as the arithmetic.
fn mac_row(acc: &mut [u32], x: &[u32], y: u64) -> u64 {
    let mut carry = 0u64;
    let mut acc4 = acc.chunks_exact_mut(4);
    let mut x4 = x.chunks_exact(4);
    for (a, b) in (&mut acc4).zip(&mut x4) {
        if let ([a0, a1, a2, a3], [b0, b1, b2, b3]) = (a, b) {
            let v = u64::from(*a0) + y * u64::from(*b0) + carry;
            *a0 = v as u32;
            let v = u64::from(*a1) + y * u64::from(*b1) + (v >> 32);
            *a1 = v as u32;
            let v = u64::from(*a2) + y * u64::from(*b2) + (v >> 32);
            *a2 = v as u32;
            let v = u64::from(*a3) + y * u64::from(*b3) + (v >> 32);
            *a3 = v as u32;
            carry = v >> 32;
        }
    }
    for (a, &b) in acc4.into_remainder().iter_mut().zip(x4.remainder()) {
        let v = u64::from(*a) + y * u64::from(b) + carry;
        *a = v as u32;
        carry = v >> 32;
    }
    carry
}

/// Big-endian bytes as `count` little-endian limbs (`None` when they do not fit).
fn limbs(be: &[u8], count: usize) -> Option<Vec<u32>> {
    let mut out = vec![0u32; count];
    for (i, chunk) in be.rchunks(4).enumerate() {
        let limb = chunk.iter().fold(0u32, |acc, &b| acc << 8 | u32::from(b));
        *out.get_mut(i)? = limb;
    }
    Some(out)
}

/// `a < b` (same length).
fn less(a: &[u32], b: &[u32]) -> bool {
    for (x, y) in a.iter().rev().zip(b.iter().rev()) {
        if x != y {
            return x < y;
        }
    }
    false
}

/// `a -= b` modulo `2^(32 * len)`.
fn sub_in_place(a: &mut [u32], b: &[u32]) {
    let mut borrow = 0u64;
    for (x, &y) in a.iter_mut().zip(b) {
        let v = u64::from(*x).wrapping_sub(u64::from(y)).wrapping_sub(borrow);
        *x = v as u32;
        borrow = (v >> 63) & 1;
    }
}

/// `a <<= 1`; returns the bit shifted out.
fn shift_left(a: &mut [u32]) -> u32 {
    let mut carry = 0;
    for x in a.iter_mut() {
        let next = *x >> 31;
        *x = *x << 1 | carry;
        carry = next;
    }
    carry
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Square-and-multiply on u128, for moduli below 2^64.
    fn reference(base: u128, e: u64, n: u128) -> u128 {
        let (mut acc, mut b, mut e) = (1u128, base % n, e);
        while e > 0 {
            if e & 1 == 1 {
                acc = acc * b % n;
            }
            b = b * b % n;
            e >>= 1;
        }
        acc
    }

    #[test]
    fn agrees_with_u128_arithmetic() {
        let moduli: [u64; 5] =
            [0xffff_ffff_ffff_ffc5, 0x8000_0000_0000_0001, 0x1_0000_0001, 65_537, 0xdead_beef_0000_0001];
        let mut x: u64 = 0x1234_5678_9abc_def1;
        for n in moduli {
            let m = Modulus::new(&n.to_be_bytes()).unwrap();
            for e in [1u64, 2, 3, 17, 65_537, (1 << 33) - 1] {
                for _ in 0..20 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let base = x % n;
                    let got = m.pow(&base.to_be_bytes(), e).unwrap();
                    let want = reference(u128::from(base), e, u128::from(n)) as u64;
                    assert_eq!(got, want.to_be_bytes(), "{base}^{e} mod {n}");
                }
            }
            assert!(m.pow(&n.to_be_bytes(), 3).is_none(), "a base of n is refused");
        }
        assert!(Modulus::new(&[0x10, 0x00]).is_none(), "even");
        assert!(Modulus::new(&[]).is_none(), "empty");
    }

    proptest::proptest! {
        /// RSA-sized moduli (any length, so the unrolled and remainder paths both run),
        /// against num-bigint-dig, the `rsa` crate's arithmetic.
        #[test]
        fn agrees_with_num_bigint(mut n in proptest::collection::vec(proptest::num::u8::ANY, 1..520),
                                   base in proptest::collection::vec(proptest::num::u8::ANY, 520),
                                   e in proptest::sample::select(vec![3u64, 17, 65_537, 0x1_0000_0001])) {
            use num_bigint_dig::BigUint;
            if let Some(last) = n.last_mut() { *last |= 1; }
            if let Some(first) = n.first_mut() { *first |= 0x80; }
            let m = Modulus::new(&n).unwrap();
            let big_n = BigUint::from_bytes_be(&n);
            let big_base = BigUint::from_bytes_be(&base[..n.len()]) % &big_n;
            let mut base_be = big_base.to_bytes_be();
            while base_be.len() < n.len() { base_be.insert(0, 0); }
            let want = big_base.modpow(&BigUint::from(e), &big_n).to_bytes_be();
            let got = m.pow(&base_be, e).unwrap();
            let skip = got.iter().take_while(|&&b| b == 0).count();
            let want_skip = want.iter().take_while(|&&b| b == 0).count();
            proptest::prop_assert_eq!(&got[skip..], &want[want_skip..]);
        }
    }
}
