//! Signature verification for every JWS algorithm jwt-auth accepts, with each key parsed once
//! at configuration time: an EC point decoded and checked (P-256 keys with tables of their
//! multiples, see [`crate::es256`]), an RSA modulus in Montgomery form.
//! jsonwebtoken reads the JWKs and the token's parts; it is built without its crypto backend,
//! which rebuilt the key from the JWK bytes on every verification (and linked the `rsa` crate
//! with its own big-integer library: a third of the module).

use crate::es256::Es256Key;
use crate::rsa::{Hash, RsaKey};
use ed25519_dalek::Verifier as _;
use hmac::{Hmac, Mac};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::Algorithm;
use sha2::{Sha256, Sha384, Sha512};

/// A JWK's public key (or HMAC secret), ready to verify.
pub(crate) enum Verifier {
    Hmac(Vec<u8>),
    P256(Es256Key),
    P384(p384::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
    Rsa(RsaKey),
}

impl Verifier {
    /// Parses the key of `jwk` (its curve was checked by the caller).
    pub(crate) fn from_jwk(jwk: &Jwk) -> Result<Verifier, String> {
        let b64 = |field: &str, text: &str| base64url(text).ok_or_else(|| format!("`{field}` is not base64url"));
        Ok(match &jwk.algorithm {
            AlgorithmParameters::RSA(rsa) => Verifier::Rsa(RsaKey::new(&b64("n", &rsa.n)?, &b64("e", &rsa.e)?)?),
            AlgorithmParameters::EllipticCurve(ec) => {
                let mut point = vec![0x04];
                point.extend(b64("x", &ec.x)?);
                point.extend(b64("y", &ec.y)?);
                match ec.curve {
                    jsonwebtoken::jwk::EllipticCurve::P256 => Verifier::P256(Es256Key::new(
                        &p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| "not a P-256 point")?,
                    )),
                    _ => Verifier::P384(
                        p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| "not a P-384 point")?,
                    ),
                }
            }
            AlgorithmParameters::OctetKeyPair(okp) => {
                let x: [u8; 32] =
                    b64("x", &okp.x)?.try_into().map_err(|_| "an Ed25519 key `x` has 32 bytes".to_string())?;
                Verifier::Ed25519(ed25519_dalek::VerifyingKey::from_bytes(&x).map_err(|_| "not an Ed25519 point")?)
            }
            AlgorithmParameters::OctetKey(oct) => Verifier::Hmac(b64("k", &oct.value)?),
            _ => return Err("unsupported key type".into()),
        })
    }

    /// Whether `signature` (decoded) signs `message` under `alg`; `alg` must fit the key
    /// (checked against the key's algorithms before).
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        match (self, alg) {
            (Verifier::Hmac(secret), Algorithm::HS256) => hmac::<Hmac<Sha256>>(secret, message, signature),
            (Verifier::Hmac(secret), Algorithm::HS384) => hmac::<Hmac<Sha384>>(secret, message, signature),
            (Verifier::Hmac(secret), Algorithm::HS512) => hmac::<Hmac<Sha512>>(secret, message, signature),
            (Verifier::P256(key), Algorithm::ES256) => key.verify(message, signature),
            (Verifier::P384(key), Algorithm::ES384) => p384::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|s| p384::ecdsa::signature::Verifier::verify(key, message, &s).is_ok()),
            (Verifier::Ed25519(key), Algorithm::EdDSA) => {
                ed25519_dalek::Signature::from_slice(signature).is_ok_and(|s| key.verify(message, &s).is_ok())
            }
            (Verifier::Rsa(key), alg) => match alg {
                Algorithm::RS256 => key.verify_pkcs1v15(Hash::Sha256, message, signature),
                Algorithm::RS384 => key.verify_pkcs1v15(Hash::Sha384, message, signature),
                Algorithm::RS512 => key.verify_pkcs1v15(Hash::Sha512, message, signature),
                Algorithm::PS256 => key.verify_pss(Hash::Sha256, message, signature),
                Algorithm::PS384 => key.verify_pss(Hash::Sha384, message, signature),
                Algorithm::PS512 => key.verify_pss(Hash::Sha512, message, signature),
                _ => false,
            },
            _ => false,
        }
    }
}

/// HMAC compared in constant time.
fn hmac<M: Mac + hmac::digest::KeyInit>(secret: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(secret) else { return false };
    mac.update(message);
    mac.verify_slice(signature).is_ok()
}

/// Unpadded base64url, as JWS uses (and as jsonwebtoken decodes it: padding is refused).
pub(crate) fn base64url(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text).ok()
}
