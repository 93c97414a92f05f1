//! ES256 verification with precomputed multiples of both points.
//!
//! ECDSA verification computes `u1 * G + u2 * Q`. The `ecdsa` crate does it from scratch per
//! signature: about 256 point doublings plus additions, 23 M wasm instructions, most of the
//! cost of a first ES256 token. Here `G` and every configured key `Q` get a table, once: for
//! each of the 64 four-bit windows of a scalar, the 15 nonzero multiples `d * 16^w * P`. A
//! scalar multiplication is then at most 64 additions and no doubling. The multiples stay in
//! projective form (`p256` offers no batch inversion to make them affine, and a mixed
//! addition would save one multiplication in fourteen). Each table is 960 points (90 KB):
//! one for `G` per VM, one per P-256 key.
//!
//! The arithmetic is RustCrypto's (`p256` field and group operations, complete addition
//! formulas); only the order of operations is ours, and the tests check the result against
//! `p256`'s own verification.

use p256::elliptic_curve::ops::{Invert, Reduce};
use p256::elliptic_curve::point::AffineCoordinates;
use p256::{ProjectivePoint, Scalar, U256};
use sha2::{Digest, Sha256};
use std::rc::Rc;

/// Four-bit windows in a 256-bit scalar, and the nonzero digits of one.
const WINDOWS: usize = 64;
const DIGITS: usize = 15;

/// The multiples of one point, window by window.
pub(crate) struct Table(Vec<ProjectivePoint>);

impl Table {
    fn new(point: ProjectivePoint) -> Table {
        let mut multiples = Vec::with_capacity(WINDOWS * DIGITS);
        let mut base = point;
        for _ in 0..WINDOWS {
            let mut multiple = base;
            for _ in 0..DIGITS {
                multiples.push(multiple);
                multiple += base;
            }
            // The next window's base: 16 times this one (the 16th multiple, already summed).
            base = multiple;
        }
        Table(multiples)
    }

    /// `acc += k * P`.
    fn add_multiple(&self, k: &Scalar, acc: &mut ProjectivePoint) {
        let bytes = k.to_bytes();
        // Least significant byte first: windows 2i (low nibble) and 2i + 1 (high nibble).
        for (i, byte) in bytes.iter().rev().enumerate() {
            for (window, digit) in [(2 * i, byte & 15), (2 * i + 1, byte >> 4)] {
                if let Some(point) = usize::from(digit).checked_sub(1).and_then(|d| self.0.get(window * DIGITS + d)) {
                    *acc += point;
                }
            }
        }
    }
}

thread_local! {
    static GENERATOR: std::cell::OnceCell<Rc<Table>> = const { std::cell::OnceCell::new() };
}

/// A P-256 public key with its table and the generator's (shared by every key of the VM).
pub(crate) struct Es256Key {
    key: Table,
    generator: Rc<Table>,
}

impl Es256Key {
    pub(crate) fn new(key: &p256::ecdsa::VerifyingKey) -> Es256Key {
        let generator = GENERATOR.with(|g| g.get_or_init(|| Rc::new(Table::new(ProjectivePoint::GENERATOR))).clone());
        Es256Key { key: Table::new(ProjectivePoint::from(*key.as_affine())), generator }
    }

    /// ECDSA verification (SEC 1 4.1.4) of a raw `r || s` signature over SHA-256(message).
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        // `from_slice` refuses r or s outside 1..n-1.
        let Ok(signature) = p256::ecdsa::Signature::from_slice(signature) else { return false };
        let z = <Scalar as Reduce<U256>>::reduce_bytes(&Sha256::digest(message));
        let (r, s) = signature.split_scalars();
        let s_inv = *s.invert_vartime();
        let mut point = ProjectivePoint::IDENTITY;
        self.generator.add_multiple(&(z * s_inv), &mut point);
        self.key.add_multiple(&(*r * s_inv), &mut point);
        // The point at infinity has x = 0 here, which never equals a nonzero r.
        *r == <Scalar as Reduce<U256>>::reduce_bytes(&point.to_affine().x())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::{Signer, Verifier};
    use p256::ecdsa::{Signature, SigningKey};

    /// Agrees with `p256`'s verification on valid, tampered and foreign signatures, with
    /// scalars that have zero windows and every digit.
    #[test]
    fn agrees_with_p256() {
        for seed in 1u8..=6 {
            let signing = SigningKey::from_bytes(&[seed; 32].into()).unwrap();
            let other = SigningKey::from_bytes(&[seed + 100; 32].into()).unwrap();
            let verifying = *signing.verifying_key();
            let key = Es256Key::new(&verifying);
            for n in 0..8 {
                let message = format!("header.payload.{seed}.{n}");
                let good: Signature = signing.sign(message.as_bytes());
                let foreign: Signature = other.sign(message.as_bytes());
                let mut tampered = good.to_bytes();
                tampered[usize::from(seed)] ^= 0x40;
                for (sig, expect) in [(good.to_bytes(), true), (foreign.to_bytes(), false), (tampered, false)] {
                    let ours = key.verify(message.as_bytes(), &sig);
                    let theirs =
                        Signature::from_slice(&sig).is_ok_and(|s| verifying.verify(message.as_bytes(), &s).is_ok());
                    assert_eq!(ours, theirs, "seed {seed} message {n}");
                    assert_eq!(ours, expect, "seed {seed} message {n}");
                }
                assert!(!key.verify(b"another message", &good.to_bytes()));
            }
        }
        let key = Es256Key::new(SigningKey::from_bytes(&[9; 32].into()).unwrap().verifying_key());
        assert!(!key.verify(b"m", &[0u8; 64]), "r = s = 0");
        assert!(!key.verify(b"m", &[0xffu8; 64]), "r, s >= n");
        assert!(!key.verify(b"m", &[1u8; 63]), "short");
    }

    /// Multiples with every digit in every window, against plain scalar multiplication.
    #[test]
    fn table_multiples_are_right() {
        let table = Table::new(ProjectivePoint::GENERATOR);
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(0x3d) ^ 0xa5;
        }
        for k in [Scalar::ZERO, Scalar::ONE, Scalar::from(16u64), -Scalar::ONE, Scalar::reduce_bytes(&bytes.into())] {
            let mut acc = ProjectivePoint::IDENTITY;
            table.add_multiple(&k, &mut acc);
            assert_eq!(acc.to_affine(), (ProjectivePoint::GENERATOR * k).to_affine());
        }
    }
}
