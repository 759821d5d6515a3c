use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ED25519, ParsedPublicKey,
};
use jsonwebtoken::DecodingKey;

use super::pem::{self, PemError};
use super::verify::{Role, Verifier};

/// The environment variable of the publishers' key, as the reference hub
/// and its Docker image read it.
pub const PUBLISHER_KEY_VAR: &str = "MERCURE_PUBLISHER_JWT_KEY";
/// The environment variable of the publishers' algorithm.
pub const PUBLISHER_ALG_VAR: &str = "MERCURE_PUBLISHER_JWT_ALG";
/// The environment variable of the subscribers' key.
pub const SUBSCRIBER_KEY_VAR: &str = "MERCURE_SUBSCRIBER_JWT_KEY";
/// The environment variable of the subscribers' algorithm.
pub const SUBSCRIBER_ALG_VAR: &str = "MERCURE_SUBSCRIBER_JWT_ALG";

/// The algorithm of a key whose algorithm is not given, as in the
/// reference hub.
pub const DEFAULT_ALGORITHM: Algorithm = Algorithm::Hs256;

// The range `aws-lc-rs` verifies RSA signatures in (its
// RSA_PKCS1_2048_8192_* and RSA_PSS_2048_8192_* parameters).
const RSA_BITS: std::ops::RangeInclusive<usize> = 2048..=8192;

/// A JWS signature algorithm a key verifies (RFC 7518 names).
///
/// Parsed from its name, ASCII case aside (`"HS256".parse()`); `none` is
/// refused, and so is `ES512`, which the verifier does not implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC with SHA-256, a shared secret.
    Hs256,
    /// HMAC with SHA-384, a shared secret.
    Hs384,
    /// HMAC with SHA-512, a shared secret.
    Hs512,
    /// RSASSA-PKCS1-v1_5 with SHA-256, an RSA public key of 2048 to 8192 bits.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384, an RSA public key.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512, an RSA public key.
    Rs512,
    /// RSASSA-PSS with SHA-256, an RSA public key.
    Ps256,
    /// RSASSA-PSS with SHA-384, an RSA public key.
    Ps384,
    /// RSASSA-PSS with SHA-512, an RSA public key.
    Ps512,
    /// ECDSA on P-256 with SHA-256, an EC public key on P-256.
    Es256,
    /// ECDSA on P-384 with SHA-384, an EC public key on P-384.
    Es384,
    /// EdDSA, an Ed25519 public key.
    EdDsa,
}

const ALGORITHMS: [Algorithm; 12] = [
    Algorithm::Hs256,
    Algorithm::Hs384,
    Algorithm::Hs512,
    Algorithm::Rs256,
    Algorithm::Rs384,
    Algorithm::Rs512,
    Algorithm::Ps256,
    Algorithm::Ps384,
    Algorithm::Ps512,
    Algorithm::Es256,
    Algorithm::Es384,
    Algorithm::EdDsa,
];

const ALGORITHM_NAMES: &str =
    "HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA";

impl Algorithm {
    /// The algorithm's name in a token's `alg` header: `HS256`, `EdDSA`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Hs384 => "HS384",
            Self::Hs512 => "HS512",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::EdDsa => "EdDSA",
        }
    }

    /// Whether the key is a shared secret (HMAC) rather than a public key.
    pub fn is_hmac(self) -> bool {
        matches!(self, Self::Hs256 | Self::Hs384 | Self::Hs512)
    }

    /// The type of public key the algorithm verifies with, `None` for HMAC.
    pub fn key_type(self) -> Option<KeyType> {
        match self {
            Self::Hs256 | Self::Hs384 | Self::Hs512 => None,
            Self::Rs256 | Self::Rs384 | Self::Rs512 | Self::Ps256 | Self::Ps384 | Self::Ps512 => {
                Some(KeyType::Rsa)
            }
            Self::Es256 => Some(KeyType::EcP256),
            Self::Es384 => Some(KeyType::EcP384),
            Self::EdDsa => Some(KeyType::Ed25519),
        }
    }

    pub(crate) fn jwt(self) -> jsonwebtoken::Algorithm {
        use jsonwebtoken::Algorithm as A;
        match self {
            Self::Hs256 => A::HS256,
            Self::Hs384 => A::HS384,
            Self::Hs512 => A::HS512,
            Self::Rs256 => A::RS256,
            Self::Rs384 => A::RS384,
            Self::Rs512 => A::RS512,
            Self::Ps256 => A::PS256,
            Self::Ps384 => A::PS384,
            Self::Ps512 => A::PS512,
            Self::Es256 => A::ES256,
            Self::Es384 => A::ES384,
            Self::EdDsa => A::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = KeyError;

    /// Parses an algorithm's name, ASCII case aside.
    ///
    /// # Errors
    ///
    /// [`KeyError::AlgNone`] for `none`, [`KeyError::UnsupportedAlgorithm`]
    /// for `ES512`, [`KeyError::UnknownAlgorithm`] for any other name that
    /// is not one of [`Algorithm`]'s.
    fn from_str(name: &str) -> Result<Self, KeyError> {
        let name = name.trim();
        if let Some(found) = ALGORITHMS
            .into_iter()
            .find(|alg| alg.as_str().eq_ignore_ascii_case(name))
        {
            return Ok(found);
        }
        Err(if name.eq_ignore_ascii_case("none") {
            KeyError::AlgNone
        } else if name.eq_ignore_ascii_case("ES512") {
            KeyError::UnsupportedAlgorithm {
                name: name.to_owned(),
            }
        } else {
            KeyError::UnknownAlgorithm {
                name: name.chars().take(32).collect(),
            }
        })
    }
}

/// A type of public key, as a PEM key turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// An RSA key (RS256 to PS512).
    Rsa,
    /// An EC key on P-256 (ES256).
    EcP256,
    /// An EC key on P-384 (ES384).
    EcP384,
    /// An Ed25519 key (EdDSA).
    Ed25519,
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rsa => "an RSA public key",
            Self::EcP256 => "an EC public key on P-256",
            Self::EcP384 => "an EC public key on P-384",
            Self::Ed25519 => "an Ed25519 public key",
        })
    }
}

/// A key that verifies tokens: a shared secret (HS256, HS384, HS512) or a
/// public key in PEM (RS*, PS*, ES256, ES384, EdDSA), with its algorithm.
///
/// Built once, checked when built, cheap to clone.
///
/// # Examples
///
/// ```
/// use sse_hub::auth::{Algorithm, Key};
///
/// let key = Key::parse("HS256", "!ChangeThisMercureHubJWTSecretKey!")?;
/// assert_eq!(key.algorithm(), Algorithm::Hs256);
///
/// let pem = "-----BEGIN PUBLIC KEY-----
/// MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEO5I8JSWQ9mgactCANutjOx9yJA05
/// QLqUIuXw4pihmi9mdj5x4EYRKyr5elo1Hv0o0K6SoWsc69kd4vH5NYhdXA==
/// -----END PUBLIC KEY-----";
/// assert_eq!(Key::parse("ES256", pem)?.algorithm(), Algorithm::Es256);
/// assert!(Key::parse("RS256", pem).is_err(), "a P-256 key is not an RSA key");
/// # Ok::<(), sse_hub::auth::KeyError>(())
/// ```
#[derive(Clone)]
pub struct Key {
    algorithm: Algorithm,
    decoding: Arc<DecodingKey>,
}

impl Key {
    /// A key for `algorithm`: the secret's bytes for HMAC, a public key in
    /// PEM otherwise (`PUBLIC KEY`, or `RSA PUBLIC KEY` for RSA; a block
    /// `EC PARAMETERS` before it is skipped; see [`Key::parse`] for line
    /// breaks written `\n`).
    ///
    /// The secret of HMAC is used as it is, never base64-decoded, as the
    /// reference hub and Symfony use it.
    ///
    /// # Errors
    ///
    /// [`KeyError::EmptyKey`] for an empty key;
    /// [`KeyError::PublicKeyAsSecret`] for a PEM public key given as an HMAC
    /// secret (whoever holds the public key could sign tokens);
    /// for a public key: [`KeyError::NotPem`], [`KeyError::PemNoEnd`],
    /// [`KeyError::PemHeaders`], [`KeyError::PemNotBase64`],
    /// [`KeyError::PrivateKey`], [`KeyError::NotAPublicKey`],
    /// [`KeyError::UnreadableKey`], [`KeyError::WrongKeyType`] (a key for
    /// another algorithm), [`KeyError::RsaKeySize`].
    pub fn new(algorithm: Algorithm, material: impl AsRef<[u8]>) -> Result<Self, KeyError> {
        let material = material.as_ref();
        if material.iter().all(u8::is_ascii_whitespace) {
            return Err(KeyError::EmptyKey);
        }
        let decoding = match algorithm.key_type() {
            None => {
                if is_public_key_pem(material) {
                    return Err(KeyError::PublicKeyAsSecret { algorithm });
                }
                DecodingKey::from_secret(material)
            }
            Some(expected) => public_key(algorithm, expected, material)?,
        };
        Ok(Self {
            algorithm,
            decoding: Arc::new(decoding),
        })
    }

    /// A key from the strings users set (`MERCURE_PUBLISHER_JWT_ALG` and
    /// `MERCURE_PUBLISHER_JWT_KEY`, say): the algorithm's name, ASCII case
    /// aside, and the key as [`Key::new`] takes it.
    ///
    /// In a PEM key, `\n` written as two characters (backslash, `n`), as
    /// `.env` and compose files often carry keys, counts as a line break.
    ///
    /// # Errors
    ///
    /// Those of [`Algorithm::from_str`] and of [`Key::new`].
    pub fn parse(algorithm: &str, material: &str) -> Result<Self, KeyError> {
        Self::new(algorithm.parse()?, material)
    }

    /// The algorithm the key verifies, the only one a token may name.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub(crate) fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The material stays out of logs: a secret is a credential.
        f.debug_struct("Key")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

fn is_public_key_pem(material: &[u8]) -> bool {
    let text = String::from_utf8_lossy(material);
    text.contains("-----BEGIN PUBLIC KEY-----") || text.contains("-----BEGIN RSA PUBLIC KEY-----")
}

fn public_key(
    algorithm: Algorithm,
    expected: KeyType,
    material: &[u8],
) -> Result<DecodingKey, KeyError> {
    let text = std::str::from_utf8(material).map_err(|_| KeyError::NotPem { algorithm })?;
    let blocks = pem::blocks(text).map_err(|error| match error {
        PemError::NoBegin => KeyError::NotPem { algorithm },
        PemError::NoEnd { label } => KeyError::PemNoEnd { label },
        PemError::Headers { label } => KeyError::PemHeaders { label },
        PemError::Base64 { label } => KeyError::PemNotBase64 { label },
    })?;
    // `openssl ecparam -genkey` writes the curve's parameters first.
    let Some(block) = blocks.into_iter().find(|b| b.label != "EC PARAMETERS") else {
        return Err(KeyError::NotAPublicKey {
            label: "EC PARAMETERS".to_owned(),
        });
    };
    match block.label.as_str() {
        "PUBLIC KEY" | "RSA PUBLIC KEY" => {}
        label if label.ends_with("PRIVATE KEY") => {
            return Err(KeyError::PrivateKey { label: block.label });
        }
        _ => {
            return Err(KeyError::NotAPublicKey { label: block.label });
        }
    }
    let der = block.der;
    let found = key_type(&der).ok_or(KeyError::UnreadableKey { algorithm })?;
    if found != expected {
        return Err(KeyError::WrongKeyType { algorithm, found });
    }
    Ok(match found {
        KeyType::Rsa => {
            let bits = aws_lc_rs::rsa::PublicKey::from_der(&der)
                .map_err(|_| KeyError::UnreadableKey { algorithm })?
                .modulus_len()
                * 8;
            if !RSA_BITS.contains(&bits) {
                return Err(KeyError::RsaKeySize { bits });
            }
            DecodingKey::from_rsa_der(&der)
        }
        KeyType::EcP256 | KeyType::EcP384 => DecodingKey::from_ec_der(&der),
        KeyType::Ed25519 => DecodingKey::from_ed_der(&der),
    })
}

/// What `der` (SubjectPublicKeyInfo, or PKCS#1 for RSA) is, as the library
/// that verifies signatures reads it.
fn key_type(der: &[u8]) -> Option<KeyType> {
    if aws_lc_rs::rsa::PublicKey::from_der(der).is_ok() {
        Some(KeyType::Rsa)
    } else if ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, der).is_ok() {
        Some(KeyType::EcP256)
    } else if ParsedPublicKey::new(&ECDSA_P384_SHA384_FIXED, der).is_ok() {
        Some(KeyType::EcP384)
    } else if ParsedPublicKey::new(&ED25519, der).is_ok() {
        Some(KeyType::Ed25519)
    } else {
        None
    }
}

/// Why a key or an algorithm was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// No algorithm has this name.
    UnknownAlgorithm {
        /// The name given (at most 32 characters of it).
        name: String,
    },
    /// An algorithm the verifier does not implement (`ES512`).
    UnsupportedAlgorithm {
        /// The name given.
        name: String,
    },
    /// `none`: tokens must be signed.
    AlgNone,
    /// The key is empty (or only white space).
    EmptyKey,
    /// A PEM public key given as an HMAC secret: the algorithm is wrong,
    /// and anyone holding the public key could sign tokens.
    PublicKeyAsSecret {
        /// The HMAC algorithm given.
        algorithm: Algorithm,
    },
    /// The algorithm takes a public key in PEM and the key is not PEM.
    NotPem {
        /// The algorithm given.
        algorithm: Algorithm,
    },
    /// A PEM block without its `-----END …-----` line.
    PemNoEnd {
        /// The block's label.
        label: String,
    },
    /// A PEM block with headers, as encrypted keys have.
    PemHeaders {
        /// The block's label.
        label: String,
    },
    /// A PEM block whose body is not base64.
    PemNotBase64 {
        /// The block's label.
        label: String,
    },
    /// A private key where the public key is needed.
    PrivateKey {
        /// The block's label (`PRIVATE KEY`, `RSA PRIVATE KEY`, ...).
        label: String,
    },
    /// A PEM block that is not a public key (a certificate, ...).
    NotAPublicKey {
        /// The block's label.
        label: String,
    },
    /// A public key of no type the hub reads (RSA, EC on P-256 or P-384,
    /// Ed25519).
    UnreadableKey {
        /// The algorithm given.
        algorithm: Algorithm,
    },
    /// A public key of another type than the algorithm's.
    WrongKeyType {
        /// The algorithm given.
        algorithm: Algorithm,
        /// What the key is.
        found: KeyType,
    },
    /// An RSA key outside 2048 to 8192 bits.
    RsaKeySize {
        /// The key's size.
        bits: usize,
    },
    /// A variable whose companion is missing.
    VariableMissing {
        /// The variable that is set.
        set: &'static str,
        /// The variable that should be set with it.
        missing: &'static str,
    },
    /// An environment variable holds a bad key or algorithm.
    InVariable {
        /// The variable.
        name: &'static str,
        /// What is wrong with its value.
        source: Box<KeyError>,
    },
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownAlgorithm { name } => {
                write!(f, "unknown algorithm {name:?} (known: {ALGORITHM_NAMES})")
            }
            Self::UnsupportedAlgorithm { name } => {
                write!(
                    f,
                    "the algorithm {name} is not supported (supported: {ALGORITHM_NAMES})"
                )
            }
            Self::AlgNone => f.write_str("the algorithm none is refused: tokens must be signed"),
            Self::EmptyKey => f.write_str("the key is empty"),
            Self::PublicKeyAsSecret { algorithm } => write!(
                f,
                "the key is a PEM public key but {algorithm} takes a shared secret: set the \
                 algorithm the key is for (RS256, ES256, ...)"
            ),
            Self::NotPem { algorithm } => write!(
                f,
                "{algorithm} takes a public key in PEM (-----BEGIN PUBLIC KEY-----) and the key \
                 is not PEM"
            ),
            Self::PemNoEnd { label } => {
                write!(
                    f,
                    "the PEM block {label:?} has no -----END {label}----- line"
                )
            }
            Self::PemHeaders { label } => write!(
                f,
                "the PEM block {label:?} has headers, as an encrypted key has: give the public \
                 key in plain PEM"
            ),
            Self::PemNotBase64 { label } => {
                write!(f, "the body of the PEM block {label:?} is not base64")
            }
            Self::PrivateKey { label } => write!(
                f,
                "the key is a private key ({label}): give its public key (openssl pkey -pubout)"
            ),
            Self::NotAPublicKey { label } => {
                write!(f, "the PEM block {label:?} is not a public key")
            }
            Self::UnreadableKey { algorithm } => write!(
                f,
                "the PEM block is not a public key the hub reads for {algorithm} (RSA, EC on \
                 P-256 or P-384, Ed25519)"
            ),
            Self::WrongKeyType { algorithm, found } => {
                let needed = algorithm.key_type().map_or_else(
                    || "a shared secret".to_owned(),
                    |expected| expected.to_string(),
                );
                write!(f, "the key is {found} and {algorithm} needs {needed}")
            }
            Self::RsaKeySize { bits } => write!(
                f,
                "the RSA key has {bits} bits, the hub verifies with keys of {} to {} bits",
                RSA_BITS.start(),
                RSA_BITS.end()
            ),
            Self::VariableMissing { set, missing } => {
                write!(f, "{set} is set but {missing} is not")
            }
            Self::InVariable { name, .. } => write!(f, "invalid {name}"),
        }
    }
}

impl std::error::Error for KeyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InVariable { source, .. } => Some(source.as_ref()),
            _ => None,
        }
    }
}

/// The publishers' and the subscribers' keys, each in a [`Verifier`].
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
///
/// use sse_hub::auth::{Algorithm, Keys};
///
/// let env = HashMap::from([
///     ("MERCURE_PUBLISHER_JWT_KEY", "!ChangeThisMercureHubJWTSecretKey!"),
///     ("MERCURE_SUBSCRIBER_JWT_KEY", "another secret"),
///     ("MERCURE_SUBSCRIBER_JWT_ALG", "HS512"),
/// ]);
/// let keys = Keys::from_lookup(|name| env.get(name).map(|v| v.to_string()))?
///     .expect("keys are set");
/// assert_eq!(keys.publisher().algorithm(), Algorithm::Hs256);
/// assert_eq!(keys.subscriber().algorithm(), Algorithm::Hs512);
/// # Ok::<(), sse_hub::auth::KeyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Keys {
    publisher: Verifier,
    subscriber: Verifier,
}

impl Keys {
    /// The publishers' key and the subscribers' key.
    pub fn new(publisher: Key, subscriber: Key) -> Self {
        Self {
            publisher: Verifier::new(Role::Publisher, publisher),
            subscriber: Verifier::new(Role::Subscriber, subscriber),
        }
    }

    /// The keys that the environment variables [`PUBLISHER_KEY_VAR`],
    /// [`PUBLISHER_ALG_VAR`], [`SUBSCRIBER_KEY_VAR`] and
    /// [`SUBSCRIBER_ALG_VAR`] give, read through `lookup`
    /// (`|name| std::env::var(name).ok()` for the process's environment).
    ///
    /// A variable set to the empty string counts as unset, as compose
    /// files pass them. An unset algorithm is [`DEFAULT_ALGORITHM`]. With
    /// the publishers' key only, subscribers' tokens are verified with it
    /// too (one secret for both, as a Symfony application has). With no key
    /// at all, `Ok(None)`: what a hub does then is its own choice.
    ///
    /// # Errors
    ///
    /// [`KeyError::InVariable`] naming the variable whose value
    /// [`Key::parse`] refused; [`KeyError::VariableMissing`] for an
    /// algorithm without its key, or a subscribers' key without the
    /// publishers'.
    pub fn from_lookup(
        mut lookup: impl FnMut(&str) -> Option<String>,
    ) -> Result<Option<Self>, KeyError> {
        let mut var = |name: &str| lookup(name).filter(|value| !value.is_empty());
        let publisher = key_from(
            var(PUBLISHER_KEY_VAR),
            var(PUBLISHER_ALG_VAR),
            Role::Publisher,
        )?;
        let subscriber = key_from(
            var(SUBSCRIBER_KEY_VAR),
            var(SUBSCRIBER_ALG_VAR),
            Role::Subscriber,
        )?;
        match (publisher, subscriber) {
            (None, None) => Ok(None),
            (None, Some(_)) => Err(KeyError::VariableMissing {
                set: SUBSCRIBER_KEY_VAR,
                missing: PUBLISHER_KEY_VAR,
            }),
            (Some(publisher), subscriber) => {
                let subscriber = subscriber.unwrap_or_else(|| publisher.clone());
                Ok(Some(Self::new(publisher, subscriber)))
            }
        }
    }

    /// Both verifiers with this clock leeway (see [`Verifier::with_leeway`]).
    #[must_use]
    pub fn with_leeway(self, leeway: Duration) -> Self {
        Self {
            publisher: self.publisher.with_leeway(leeway),
            subscriber: self.subscriber.with_leeway(leeway),
        }
    }

    /// The verifier of publishers' tokens.
    pub fn publisher(&self) -> &Verifier {
        &self.publisher
    }

    /// The verifier of subscribers' tokens.
    pub fn subscriber(&self) -> &Verifier {
        &self.subscriber
    }
}

fn key_from(
    key: Option<String>,
    algorithm: Option<String>,
    role: Role,
) -> Result<Option<Key>, KeyError> {
    let (key_var, alg_var) = match role {
        Role::Publisher => (PUBLISHER_KEY_VAR, PUBLISHER_ALG_VAR),
        Role::Subscriber => (SUBSCRIBER_KEY_VAR, SUBSCRIBER_ALG_VAR),
    };
    let in_variable = |name| {
        move |error| KeyError::InVariable {
            name,
            source: Box::new(error),
        }
    };
    let Some(key) = key else {
        if algorithm.is_some() {
            return Err(KeyError::VariableMissing {
                set: alg_var,
                missing: key_var,
            });
        }
        return Ok(None);
    };
    let algorithm = match algorithm {
        Some(name) => name.parse().map_err(in_variable(alg_var))?,
        None => DEFAULT_ALGORITHM,
    };
    Key::new(algorithm, key)
        .map(Some)
        .map_err(in_variable(key_var))
}
