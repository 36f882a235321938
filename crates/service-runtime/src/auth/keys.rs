//! Loading the verification keys once, at startup: the HS256 secret, configured PEMs and the
//! JWKS file. Every key is checked here (type, algorithm, size) so a bad key fails the start,
//! not every request.

use std::fmt;
use std::fs;
use std::path::Path;

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::{Algorithm, DecodingKey};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::error::AuthConfigError;
use super::settings::{AuthSettings, PublicKeyAlgorithm, PublicKeySetting};

/// RFC 7518 §3.2: an HS256 key must be at least as long as the hash output.
pub(crate) const MIN_SECRET_BYTES: usize = 32;
/// RFC 7518 §3.3: RSA keys of 2048 bits or more.
const MIN_RSA_BITS: usize = 2048;
/// The largest RSA modulus the RustCrypto backend verifies with.
const MAX_RSA_BITS: usize = 4096;
/// The largest public exponent the RustCrypto backend accepts (2^33 - 1).
const MAX_RSA_EXPONENT: u64 = (1 << 33) - 1;
/// Ed25519 public keys are 32 bytes.
const ED25519_KEY_BYTES: usize = 32;

/// base64url as JWKs use it (RFC 7515 §2: no padding), tolerating padding some tools add.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Every key the verifier may use.
pub(crate) struct KeySet {
    hs256: Option<DecodingKey>,
    public: Vec<PublicKey>,
}

/// A public key, the algorithm it verifies and where it was configured.
struct PublicKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
    origin: String,
}

impl KeySet {
    /// Loads and checks every configured key; fails when there is none at all.
    pub(crate) fn load(settings: &AuthSettings) -> Result<Self, AuthConfigError> {
        let hs256 = match &settings.hs256_secret {
            Some(secret) => Some(DecodingKey::from_secret(secret_bytes(secret)?)),
            None => None,
        };
        let mut public = Vec::new();
        for (index, setting) in settings.public_keys.iter().enumerate() {
            public.push(configured_key(index, setting)?);
        }
        if let Some(path) = &settings.jwks_file {
            let from_file = jwks_keys(path)?;
            if from_file.is_empty() {
                return Err(AuthConfigError::EmptyJwks { path: path.clone() });
            }
            public.extend(from_file);
        }
        if hs256.is_none() && public.is_empty() {
            return Err(AuthConfigError::NoKeys);
        }
        Ok(Self { hs256, public })
    }

    /// The keys that may have signed a token with this `alg` and `kid`, most specific first:
    /// the HS256 secret for HS256 (whatever the `kid`: there is only one); otherwise the keys
    /// of that algorithm whose `kid` matches, then those configured without a `kid`. A token
    /// without `kid` may be signed by any key of its algorithm. Never a key of another
    /// algorithm, so an RS256 public key cannot be used as an HS256 secret.
    pub(crate) fn candidates(&self, algorithm: Algorithm, kid: Option<&str>) -> Vec<&DecodingKey> {
        if algorithm == Algorithm::HS256 {
            return self.hs256.iter().collect();
        }
        let of_algorithm = || self.public.iter().filter(move |k| k.algorithm == algorithm);
        match kid {
            None => of_algorithm().map(|k| &k.key).collect(),
            Some(kid) => of_algorithm()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .chain(of_algorithm().filter(|k| k.kid.is_none()))
                .map(|k| &k.key)
                .collect(),
        }
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet").field("hs256", &self.hs256.is_some()).field("public", &self.public).finish()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// The secret's bytes, once it is known to be long enough.
pub(crate) fn secret_bytes(secret: &SecretString) -> Result<&[u8], AuthConfigError> {
    let bytes = secret.expose_secret().as_bytes();
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(AuthConfigError::WeakSecret { len: bytes.len(), min: MIN_SECRET_BYTES });
    }
    Ok(bytes)
}

fn configured_key(index: usize, setting: &PublicKeySetting) -> Result<PublicKey, AuthConfigError> {
    let origin = match &setting.kid {
        Some(kid) => format!("auth.public_keys[{index}] (kid {kid:?})"),
        None => format!("auth.public_keys[{index}]"),
    };
    let pem = match (&setting.pem, &setting.pem_file) {
        (Some(pem), None) => pem.clone(),
        (None, Some(path)) => read(path, &origin)?,
        _ => return Err(AuthConfigError::PemSource { index }),
    };
    let key = pem_key(&pem, setting.algorithm)
        .map_err(|reason| AuthConfigError::InvalidKey { origin: origin.clone(), reason })?;
    Ok(PublicKey { kid: setting.kid.clone(), algorithm: setting.algorithm.jwt_algorithm(), key, origin })
}

fn read(path: &Path, origin: &str) -> Result<String, AuthConfigError> {
    fs::read_to_string(path).map_err(|source| AuthConfigError::ReadFile {
        origin: origin.to_owned(),
        path: path.to_owned(),
        source,
    })
}

/// A public key from PEM text, checked to be a usable key of `algorithm`.
fn pem_key(pem: &str, algorithm: PublicKeyAlgorithm) -> Result<DecodingKey, String> {
    if pem.contains("PRIVATE KEY-----") {
        return Err("this is a private key: configure its public half (`openssl pkey -in key.pem -pubout`)".into());
    }
    match algorithm {
        PublicKeyAlgorithm::Rs256 => {
            let key =
                DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| format!("not an RSA public key in PEM ({e})"))?;
            let der = key.try_get_as_bytes().map_err(|e| format!("not an RSA public key in PEM ({e})"))?;
            // The RustCrypto backend parses the key on every verification; parse it once here
            // so that a key it cannot use is refused at startup.
            let (n, e) =
                (jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.key_utils.rsa_pub_components_from_public_key)(der)
                    .map_err(|e| format!("not a usable RSA public key ({e})"))?;
            check_rsa(&n, &e)?;
            Ok(key)
        }
        PublicKeyAlgorithm::EdDsa => {
            let key = DecodingKey::from_ed_pem(pem.as_bytes())
                .map_err(|e| format!("not an Ed25519 public key in PEM ({e})"))?;
            check_ed25519(key.try_get_as_bytes().map_err(|e| e.to_string())?)?;
            Ok(key)
        }
    }
}

/// The modulus size and exponent limits of RFC 7518 §3.3 and the RustCrypto backend.
fn check_rsa(n: &[u8], e: &[u8]) -> Result<(), String> {
    let bits = bit_length(n);
    if !(MIN_RSA_BITS..=MAX_RSA_BITS).contains(&bits) {
        return Err(format!("RSA modulus of {bits} bits; {MIN_RSA_BITS} to {MAX_RSA_BITS} are accepted"));
    }
    let e = strip_leading_zeros(e);
    let exponent = if e.len() <= 8 { e.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b)) } else { u64::MAX };
    if exponent < 3 || exponent % 2 == 0 || exponent > MAX_RSA_EXPONENT {
        return Err("RSA public exponent out of range".into());
    }
    Ok(())
}

/// Also guards the backend, which slices the first 32 bytes of an EdDSA key without checking.
fn check_ed25519(x: &[u8]) -> Result<(), String> {
    if x.len() != ED25519_KEY_BYTES {
        return Err(format!("an Ed25519 public key is {ED25519_KEY_BYTES} bytes (got {})", x.len()));
    }
    Ok(())
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn bit_length(bytes: &[u8]) -> usize {
    match strip_leading_zeros(bytes) {
        [] => 0,
        [first, rest @ ..] => rest.len() * 8 + (8 - first.leading_zeros() as usize),
    }
}

/// A JWK Set (RFC 7517 §5): only the members this service reads.
#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

/// A JWK (RFC 7517 §4, RFC 7518 §6.3, RFC 8037 §2). Other members are ignored.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default, rename = "use")]
    public_key_use: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
}

/// The RS256 and EdDSA signature keys of a JWKS file. Keys for encryption, other
/// algorithms or curves are skipped (identity providers publish those too); a key this
/// service should use but cannot is an error.
fn jwks_keys(path: &Path) -> Result<Vec<PublicKey>, AuthConfigError> {
    let text = read(path, "auth.jwks_file")?;
    let set: JwkSet =
        serde_json::from_str(&text).map_err(|source| AuthConfigError::InvalidJwks { path: path.to_owned(), source })?;
    let mut keys = Vec::new();
    for (index, jwk) in set.keys.iter().enumerate() {
        let origin = match &jwk.kid {
            Some(kid) => format!("auth.jwks_file {} keys[{index}] (kid {kid:?})", path.display()),
            None => format!("auth.jwks_file {} keys[{index}]", path.display()),
        };
        match jwk_key(jwk) {
            Ok(Some((algorithm, key))) => keys.push(PublicKey { kid: jwk.kid.clone(), algorithm, key, origin }),
            Ok(None) => {
                tracing::info!(key = %origin, kty = %jwk.kty, alg = ?jwk.alg, "skipping a JWK this service does not verify with")
            }
            Err(reason) => return Err(AuthConfigError::InvalidKey { origin, reason }),
        }
    }
    Ok(keys)
}

/// `Ok(None)` for a key to skip.
fn jwk_key(jwk: &Jwk) -> Result<Option<(Algorithm, DecodingKey)>, String> {
    let for_signatures = jwk.public_key_use.as_deref().is_none_or(|u| u == "sig")
        && jwk.key_ops.as_ref().is_none_or(|ops| ops.iter().any(|op| op == "verify"));
    if !for_signatures {
        return Ok(None);
    }
    match (jwk.kty.as_str(), jwk.alg.as_deref()) {
        ("RSA", None | Some("RS256")) => {
            let n = base64url_member(jwk.n.as_deref(), "n")?;
            let e = base64url_member(jwk.e.as_deref(), "e")?;
            check_rsa(&n, &e)?;
            Ok(Some((Algorithm::RS256, DecodingKey::from_rsa_raw_components(&n, &e))))
        }
        // RFC 9864 also names Ed25519 signatures "Ed25519".
        ("OKP", None | Some("EdDSA" | "Ed25519")) if jwk.crv.as_deref() == Some("Ed25519") => {
            let x = base64url_member(jwk.x.as_deref(), "x")?;
            check_ed25519(&x)?;
            Ok(Some((Algorithm::EdDSA, DecodingKey::from_ed_der(&x))))
        }
        _ => Ok(None),
    }
}

fn base64url_member(value: Option<&str>, name: &str) -> Result<Vec<u8>, String> {
    let value = value.ok_or_else(|| format!("the JWK has no `{name}`"))?;
    BASE64URL.decode(value).map_err(|e| format!("`{name}` is not base64url ({e})"))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::auth::test_support::{ED_1_PUBLIC, RSA_1_PRIVATE, RSA_1_PUBLIC, jwks_path};

    fn with_key(algorithm: PublicKeyAlgorithm, pem: &str) -> AuthSettings {
        let key = PublicKeySetting { kid: None, algorithm, pem: Some(pem.to_owned()), pem_file: None };
        AuthSettings { public_keys: vec![key], ..AuthSettings::default() }
    }

    fn reason(result: Result<KeySet, AuthConfigError>) -> String {
        match result {
            Ok(keys) => panic!("expected an error, got {keys:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn settings_without_any_key_are_refused() {
        assert!(matches!(KeySet::load(&AuthSettings::default()), Err(AuthConfigError::NoKeys)));
    }

    #[test]
    fn an_hs256_secret_shorter_than_32_bytes_is_refused() {
        let settings = AuthSettings { hs256_secret: Some("too-short".into()), ..AuthSettings::default() };

        assert!(matches!(KeySet::load(&settings), Err(AuthConfigError::WeakSecret { len: 9, min: 32 })));
    }

    #[test]
    fn a_private_key_is_refused_where_a_public_key_belongs() {
        let message = reason(KeySet::load(&with_key(PublicKeyAlgorithm::Rs256, RSA_1_PRIVATE)));

        assert!(message.starts_with("auth.public_keys[0]: this is a private key"), "{message}");
    }

    #[test]
    fn a_key_of_another_algorithm_is_refused() {
        let ed_as_rsa = reason(KeySet::load(&with_key(PublicKeyAlgorithm::Rs256, ED_1_PUBLIC)));
        let rsa_as_ed = reason(KeySet::load(&with_key(PublicKeyAlgorithm::EdDsa, RSA_1_PUBLIC)));

        assert!(ed_as_rsa.contains("not an RSA public key"), "{ed_as_rsa}");
        assert!(rsa_as_ed.contains("not an Ed25519 public key"), "{rsa_as_ed}");
    }

    #[test]
    fn a_public_key_needs_exactly_one_of_pem_and_pem_file() {
        let mut settings = with_key(PublicKeyAlgorithm::Rs256, RSA_1_PUBLIC);
        settings.public_keys[0].pem_file = Some("/nonexistent.pem".into());
        assert!(matches!(KeySet::load(&settings), Err(AuthConfigError::PemSource { index: 0 })));

        settings.public_keys[0].pem = None;
        assert!(matches!(KeySet::load(&settings), Err(AuthConfigError::ReadFile { .. })));
    }

    #[test]
    fn a_jwks_file_yields_its_rsa_and_ed25519_keys_and_skips_the_others() {
        let settings = AuthSettings { jwks_file: Some(jwks_path()), ..AuthSettings::default() };

        let keys = KeySet::load(&settings).expect("the test JWKS loads");

        let kids: Vec<_> = keys.public.iter().map(|k| (k.kid.as_deref(), k.algorithm)).collect();
        assert_eq!(
            kids,
            [(Some("rsa-1"), Algorithm::RS256), (Some("rsa-2"), Algorithm::RS256), (Some("ed-1"), Algorithm::EdDSA)]
        );
    }

    #[test]
    fn a_jwk_whose_ed25519_key_is_not_32_bytes_is_refused() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        let jwks = r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"short","x":"AAEC"}]}"#;
        file.write_all(jwks.as_bytes()).expect("write JWKS");
        let settings = AuthSettings { jwks_file: Some(file.path().to_owned()), ..AuthSettings::default() };

        let message = reason(KeySet::load(&settings));

        assert!(message.contains("(kid \"short\"): an Ed25519 public key is 32 bytes (got 3)"), "{message}");
    }

    #[test]
    fn a_jwks_file_without_a_usable_key_is_refused() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(br#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#).expect("write JWKS");
        let settings = AuthSettings { jwks_file: Some(file.path().to_owned()), ..AuthSettings::default() };

        assert!(matches!(KeySet::load(&settings), Err(AuthConfigError::EmptyJwks { .. })));
    }

    #[test]
    fn an_rsa_modulus_below_2048_bits_is_refused() {
        assert!(check_rsa(&[0xff; 255], &[1, 0, 1]).is_err());
        assert!(check_rsa(&[0xff; 256], &[1, 0, 1]).is_ok());
        assert!(check_rsa(&[0xff; 256], &[1, 0, 0]).is_err(), "even exponent");
    }
}
