#!/usr/bin/env python3
"""Generates the jwt-auth test keys: PEM private keys (to sign tokens in tests) and the
matching public JWKS. Run once; the outputs are committed. Needs `pip install cryptography`."""
import base64, json, os
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

here = os.path.dirname(os.path.abspath(__file__))

def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

def uint(n: int) -> str:
    return b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))

def write_pem(name, key):
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with open(os.path.join(here, name + ".pem"), "wb") as f:
        f.write(pem)

keys = []
for kid in ["rsa-1", "rsa-2"]:
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    write_pem(kid, k)
    n = k.public_key().public_numbers()
    keys.append({"kty": "RSA", "kid": kid, "use": "sig", "n": uint(n.n), "e": uint(n.e)})
for kid, curve, crv, size in [("ec-256", ec.SECP256R1(), "P-256", 32), ("ec-384", ec.SECP384R1(), "P-384", 48)]:
    k = ec.generate_private_key(curve)
    write_pem(kid, k)
    n = k.public_key().public_numbers()
    keys.append({"kty": "EC", "kid": kid, "crv": crv, "x": b64(n.x.to_bytes(size, "big")), "y": b64(n.y.to_bytes(size, "big"))})
k = ed25519.Ed25519PrivateKey.generate()
write_pem("ed-1", k)
raw = k.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
keys.append({"kty": "OKP", "kid": "ed-1", "crv": "Ed25519", "x": b64(raw)})
secret = b"test-hmac-secret-for-jwt-auth-0123456789"
with open(os.path.join(here, "hs-1.secret"), "wb") as f:
    f.write(secret)
keys.append({"kty": "oct", "kid": "hs-1", "k": b64(secret)})
with open(os.path.join(here, "jwks.json"), "w") as f:
    json.dump({"keys": keys}, f, indent=1)
