//! RSA signature verification (RS256/384/512 and PS256/384/512), with the modulus's
//! Montgomery constants computed once per key, at configuration time.
//!
//! Why not the `rsa` crate (what jsonwebtoken's RustCrypto backend calls): it rebuilds the
//! key from the JWK bytes on every verification and computes on a big-integer type made for
//! private-key work: about 22 M wasm instructions per RS256 token, where Higress's Go module
//! costs 8.6 M. A public-key operation has no secret to protect: `s^e mod n` for the usual
//! `e = 65537` is 17 Montgomery products ([`crate::montgomery`]).

use crate::montgomery::Modulus;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// The hash of an RS/PS algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hash {
    Sha256,
    Sha384,
    Sha512,
}

/// The largest public exponent accepted, as the `rsa` crate (2^33 - 1).
const MAX_EXPONENT: u64 = (1 << 33) - 1;

/// An RSA public key ready to verify.
pub(crate) struct RsaKey {
    modulus: Modulus,
    e: u64,
    /// Bytes of the modulus (`k` in RFC 8017) and its bit length.
    k: usize,
    bits: usize,
}

impl RsaKey {
    /// From the big-endian `n` and `e` of a JWK: a modulus of 512 to 4096 bits, odd; `e` odd,
    /// from 3 to 2^33-1 (the `rsa` crate's bounds).
    pub(crate) fn new(n: &[u8], e: &[u8]) -> Result<RsaKey, String> {
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        if e.len() > 8 {
            return Err("RSA exponent `e` is too large".into());
        }
        let e = e.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b));
        if !(3..=MAX_EXPONENT).contains(&e) || e % 2 == 0 {
            return Err(format!("RSA exponent `e` {e} is not an odd number from 3 to 2^33-1"));
        }
        let bits = n.first().map_or(0, |&top| (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize));
        if !(512..=4096).contains(&bits) {
            return Err(format!("RSA modulus `n` has {bits} bits; 512 to 4096 are supported"));
        }
        let modulus = Modulus::new(n).ok_or("RSA modulus `n` is even")?;
        Ok(RsaKey { modulus, e, k: n.len(), bits })
    }

    /// RSASSA-PKCS1-v1_5 (RS256/384/512).
    pub(crate) fn verify_pkcs1v15(&self, hash: Hash, message: &[u8], signature: &[u8]) -> bool {
        let Some(em) = self.public_op(signature) else { return false };
        let (prefix, digest) = match hash {
            Hash::Sha256 => (SHA256_PREFIX, Sha256::digest(message).to_vec()),
            Hash::Sha384 => (SHA384_PREFIX, Sha384::digest(message).to_vec()),
            Hash::Sha512 => (SHA512_PREFIX, Sha512::digest(message).to_vec()),
        };
        // EM = 00 01 FF..FF 00 || DigestInfo prefix || H, with at least 8 bytes of FF.
        let t_len = prefix.len() + digest.len();
        let Some(ps_len) = self.k.checked_sub(t_len + 3).filter(|&n| n >= 8) else { return false };
        let mut expected = Vec::with_capacity(self.k);
        expected.extend_from_slice(&[0, 1]);
        expected.resize(2 + ps_len, 0xff);
        expected.push(0);
        expected.extend_from_slice(prefix);
        expected.extend_from_slice(&digest);
        em == expected
    }

    /// RSASSA-PSS with MGF1 of the same hash and a salt as long as the hash (RFC 7518 3.5).
    pub(crate) fn verify_pss(&self, hash: Hash, message: &[u8], signature: &[u8]) -> bool {
        let Some(em) = self.public_op(signature) else { return false };
        match hash {
            Hash::Sha256 => pss::<Sha256>(&em, self.bits, message),
            Hash::Sha384 => pss::<Sha384>(&em, self.bits, message),
            Hash::Sha512 => pss::<Sha512>(&em, self.bits, message),
        }
    }

    /// `signature^e mod n` as `k` big-endian bytes; `None` when the signature is not `k`
    /// bytes or not below `n`.
    fn public_op(&self, signature: &[u8]) -> Option<Vec<u8>> {
        if signature.len() != self.k {
            return None;
        }
        self.modulus.pow(signature, self.e)
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// EMSA-PSS-VERIFY (RFC 8017 9.1.2) with `sLen = hLen`; `em` is the `k`-byte result of the
/// public operation on a `bits`-bit modulus.
fn pss<H: Digest>(em: &[u8], bits: usize, message: &[u8]) -> bool {
    let h_len = <H as Digest>::output_size();
    let em_bits = bits - 1;
    let em_len = em_bits.div_ceil(8);
    // When emBits is a multiple of 8, EM is one byte shorter than k and that byte is 0.
    let Some(extra) = em.len().checked_sub(em_len) else { return false };
    if em.get(..extra).is_some_and(|lead| lead.iter().any(|&b| b != 0)) {
        return false;
    }
    let Some(em) = em.get(extra..) else { return false };
    if em_len < 2 * h_len + 2 || em.last() != Some(&0xbc) {
        return false;
    }
    let db_len = em_len - h_len - 1;
    let (Some(masked_db), Some(h)) = (em.get(..db_len), em.get(db_len..em_len - 1)) else { return false };
    let unused_bits = 8 * em_len - em_bits;
    let top_mask = 0xffu8.checked_shr(unused_bits as u32).unwrap_or(0);
    if masked_db.first().is_some_and(|&b| b & !top_mask != 0) {
        return false;
    }
    let mut db = mgf1::<H>(h, db_len);
    for (d, m) in db.iter_mut().zip(masked_db) {
        *d ^= m;
    }
    if let Some(first) = db.first_mut() {
        *first &= top_mask;
    }
    // DB = PS (zeros) || 0x01 || salt, with salt as long as the hash.
    let ps_len = db_len - h_len - 1;
    let (Some(ps), Some(&one), Some(salt)) = (db.get(..ps_len), db.get(ps_len), db.get(ps_len + 1..)) else {
        return false;
    };
    if ps.iter().any(|&b| b != 0) || one != 1 {
        return false;
    }
    let m_hash = H::digest(message);
    let mut prime = H::new();
    prime.update([0u8; 8]);
    prime.update(&m_hash);
    prime.update(salt);
    prime.finalize().as_slice() == h
}

/// MGF1 with hash `H`: `len` bytes from `seed`.
fn mgf1<H: Digest>(seed: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + <H as Digest>::output_size());
    let mut counter = 0u32;
    while out.len() < len {
        let mut hasher = H::new();
        hasher.update(seed);
        hasher.update(counter.to_be_bytes());
        out.extend_from_slice(&hasher.finalize());
        counter = counter.wrapping_add(1);
    }
    out.truncate(len);
    out
}

/// DER DigestInfo prefixes (RFC 8017 9.2, note 1).
const SHA256_PREFIX: &[u8] =
    &[0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];
const SHA384_PREFIX: &[u8] =
    &[0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30];
const SHA512_PREFIX: &[u8] =
    &[0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40];

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::traits::PublicKeyParts;
    use rsa::{Pkcs1v15Sign, Pss, RsaPrivateKey};

    /// Signatures made by the `rsa` crate verify, for every size class and algorithm; a
    /// changed message, a changed signature or the wrong padding do not.
    #[test]
    fn verifies_what_the_rsa_crate_signs() {
        use rand::SeedableRng;
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for bits in [1024, 2048, 3072, 4096] {
            let private = RsaPrivateKey::new(&mut rng, bits).unwrap();
            let public = private.to_public_key();
            let key = RsaKey::new(&public.n().to_bytes_be(), &public.e().to_bytes_be()).unwrap();
            for hash in [Hash::Sha256, Hash::Sha384, Hash::Sha512] {
                let message = format!("header.payload-{bits}-{hash:?}");
                let (pkcs, pss) = match hash {
                    Hash::Sha256 => sign::<Sha256>(&private, &mut rng, &message),
                    Hash::Sha384 => sign::<Sha384>(&private, &mut rng, &message),
                    Hash::Sha512 => sign::<Sha512>(&private, &mut rng, &message),
                };
                let m = message.as_bytes();
                assert!(key.verify_pkcs1v15(hash, m, &pkcs), "{bits} {hash:?}");
                assert_eq!(key.verify_pss(hash, m, &pss), !pss.is_empty(), "{bits} {hash:?} PSS");
                assert!(!key.verify_pkcs1v15(hash, b"other", &pkcs));
                assert!(!key.verify_pss(hash, b"other", &pss));
                assert!(!key.verify_pkcs1v15(hash, m, &pss), "PSS signature as PKCS#1");
                assert!(!key.verify_pss(hash, m, &pkcs), "PKCS#1 signature as PSS");
                let mut flipped = pkcs.clone();
                flipped[10] ^= 1;
                assert!(!key.verify_pkcs1v15(hash, m, &flipped));
                assert!(!key.verify_pkcs1v15(hash, m, &pkcs[1..]), "short signature");
                assert!(!key.verify_pkcs1v15(hash, m, &public.n().to_bytes_be()), "signature = n");
                assert!(!key.verify_pkcs1v15(hash, m, &vec![0xff; pkcs.len()]), "signature > n");
            }
        }
    }

    fn sign<H: Digest + sha2::digest::DynDigest + rsa::pkcs8::AssociatedOid + Clone + Send + Sync + 'static>(
        private: &RsaPrivateKey,
        rng: &mut rand::rngs::StdRng,
        message: &str,
    ) -> (Vec<u8>, Vec<u8>) {
        let digest = H::digest(message.as_bytes());
        let pkcs = private.sign(Pkcs1v15Sign::new::<H>(), &digest).unwrap();
        // PSS needs room for two hashes: not SHA-512 on a 1024-bit key.
        let pss = private.sign_with_rng(rng, Pss::new::<H>(), &digest).unwrap_or_default();
        (pkcs, pss)
    }

    #[test]
    fn keys_are_checked() {
        let n = [0xc5u8; 256];
        assert!(RsaKey::new(&n, &[1, 0, 1]).is_ok());
        assert!(RsaKey::new(&n, &[0, 0, 1, 0, 1]).is_ok(), "leading zeros");
        let err = |n: &[u8], e: &[u8]| RsaKey::new(n, e).err().unwrap();
        assert!(err(&[0xc4; 256], &[1, 0, 1]).contains("even"));
        assert!(err(&n, &[1, 0, 0]).contains("odd number"));
        assert!(err(&n, &[1]).contains("odd number"));
        assert!(err(&n, &[2, 0, 0, 0, 1]).contains("odd number"));
        assert!(err(&n, &[1; 9]).contains("too large"));
        assert!(err(&[0xc5; 63], &[3]).contains("504 bits"));
        assert!(err(&[0xc5; 513], &[3]).contains("4104 bits"));
        assert!(err(&[], &[3]).contains("0 bits"));
    }
}
