//! Tokens signed here with the keys of `tests/keys/` (made with openssl,
//! used nowhere else), verified as a hub would, each case named after the
//! protocol row it checks.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use sse_server::http::request::Parts;
use sse_server::http::{Request, StatusCode};

use super::*;

const SECRET: &str = "!ChangeThisMercureHubJWTSecretKey!";
const RSA_PUB: &str = include_str!("../../tests/keys/rsa.pub.pem");
const RSA_PKCS1_PUB: &str = include_str!("../../tests/keys/rsa.pkcs1.pub.pem");
const RSA_KEY: &str = include_str!("../../tests/keys/rsa.key.pem");
const RSA_1024_PUB: &str = include_str!("../../tests/keys/rsa1024.pub.pem");
const P256_PUB: &str = include_str!("../../tests/keys/p256.pub.pem");
const P256_KEY: &str = include_str!("../../tests/keys/p256.key.pem");
const P384_PUB: &str = include_str!("../../tests/keys/p384.pub.pem");
const P384_KEY: &str = include_str!("../../tests/keys/p384.key.pem");
const ED25519_PUB: &str = include_str!("../../tests/keys/ed25519.pub.pem");
const ED25519_KEY: &str = include_str!("../../tests/keys/ed25519.key.pem");

/// 2026-03-01T10:00:00Z, the hub's clock in these tests.
const NOW_SECS: u64 = 1_772_359_200;

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(NOW_SECS)
}

fn der(pem_text: &str) -> Vec<u8> {
    super::pem::blocks(pem_text).unwrap().remove(0).der
}

fn signing_key(alg: jsonwebtoken::Algorithm) -> EncodingKey {
    use jsonwebtoken::Algorithm as A;
    match alg {
        A::HS256 | A::HS384 | A::HS512 => EncodingKey::from_secret(SECRET.as_bytes()),
        A::RS256 | A::RS384 | A::RS512 | A::PS256 | A::PS384 | A::PS512 => {
            EncodingKey::from_rsa_der(&der(RSA_KEY))
        }
        A::ES256 => EncodingKey::from_ec_der(&der(P256_KEY)),
        A::ES384 => EncodingKey::from_ec_der(&der(P384_KEY)),
        A::EdDSA => EncodingKey::from_ed_der(&der(ED25519_KEY)),
    }
}

fn sign_with(alg: jsonwebtoken::Algorithm, key: &EncodingKey, claims: &Value) -> String {
    jsonwebtoken::encode(&Header::new(alg), claims, key).unwrap()
}

fn sign(alg: jsonwebtoken::Algorithm, claims: &Value) -> String {
    sign_with(alg, &signing_key(alg), claims)
}

fn hs256(claims: &Value) -> String {
    sign(jsonwebtoken::Algorithm::HS256, claims)
}

/// A token with the given header and claims, signed (HS256, the secret)
/// over exactly those bytes.
fn raw_token(header: &str, claims: &str) -> String {
    let signed = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature = jsonwebtoken::crypto::sign(
        signed.as_bytes(),
        &EncodingKey::from_secret(SECRET.as_bytes()),
        jsonwebtoken::Algorithm::HS256,
    )
    .unwrap();
    format!("{signed}.{signature}")
}

fn hmac_verifier(role: Role) -> Verifier {
    Verifier::new(role, Key::parse("HS256", SECRET).unwrap())
}

fn verify(verifier: &Verifier, token: &str) -> Result<Claims, AuthError> {
    verifier.verify_at(token, now())
}

fn publisher() -> Verifier {
    hmac_verifier(Role::Publisher)
}

fn request(uri: &str, headers: &[(&str, &str)]) -> Parts {
    let mut request = Request::post(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(()).unwrap().into_parts().0
}

fn assert_invalid_token(error: &AuthError) {
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED, "{error}");
    let challenge = error.www_authenticate();
    let challenge = challenge.to_str().unwrap();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\", error_description=\""),
        "{challenge}"
    );
}

// Algorithms and keys.

#[test]
fn d5_algorithm_names_parse_and_none_is_refused() {
    assert_eq!("HS256".parse(), Ok(Algorithm::Hs256));
    assert_eq!("rs256".parse(), Ok(Algorithm::Rs256));
    assert_eq!(" ES384 ".parse(), Ok(Algorithm::Es384));
    assert_eq!("eddsa".parse(), Ok(Algorithm::EdDsa));
    assert_eq!("none".parse::<Algorithm>(), Err(KeyError::AlgNone));
    assert_eq!(
        "ES512".parse::<Algorithm>(),
        Err(KeyError::UnsupportedAlgorithm {
            name: "ES512".to_owned()
        })
    );
    let unknown = "HS257".parse::<Algorithm>().unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "unknown algorithm \"HS257\" (known: HS256, HS384, HS512, RS256, RS384, RS512, PS256, \
         PS384, PS512, ES256, ES384, EdDSA)"
    );
    for alg in [
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
        "ES384", "EdDSA",
    ] {
        assert_eq!(alg.parse::<Algorithm>().unwrap().as_str(), alg);
    }
}

#[test]
fn d5_public_keys_load_from_pem() {
    for (alg, pem) in [
        ("RS256", RSA_PUB),
        ("RS512", RSA_PKCS1_PUB),
        ("PS256", RSA_PUB),
        ("ES256", P256_PUB),
        ("ES384", P384_PUB),
        ("EdDSA", ED25519_PUB),
    ] {
        let key = Key::parse(alg, pem).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(key.algorithm().as_str(), alg);
    }
}

#[test]
fn d5_a_pem_key_with_escaped_line_breaks_loads() {
    let escaped = P256_PUB.replace('\n', "\\n");
    assert!(!escaped.contains('\n'));
    assert_eq!(
        Key::parse("ES256", &escaped).unwrap().algorithm(),
        Algorithm::Es256
    );
}

#[test]
fn d5_bad_keys_say_what_is_wrong() {
    let cases: [(&str, &str, KeyError, &str); 10] = [
        (
            "RS256",
            SECRET,
            KeyError::NotPem {
                algorithm: Algorithm::Rs256,
            },
            "RS256 takes a public key in PEM (-----BEGIN PUBLIC KEY-----) and the key is not PEM",
        ),
        (
            "RS256",
            RSA_KEY,
            KeyError::PrivateKey {
                label: "RSA PRIVATE KEY".to_owned(),
            },
            "the key is a private key (RSA PRIVATE KEY): give its public key (openssl pkey -pubout)",
        ),
        (
            "RS256",
            P256_PUB,
            KeyError::WrongKeyType {
                algorithm: Algorithm::Rs256,
                found: KeyType::EcP256,
            },
            "the key is an EC public key on P-256 and RS256 needs an RSA public key",
        ),
        (
            "ES256",
            P384_PUB,
            KeyError::WrongKeyType {
                algorithm: Algorithm::Es256,
                found: KeyType::EcP384,
            },
            "the key is an EC public key on P-384 and ES256 needs an EC public key on P-256",
        ),
        (
            "ES256",
            RSA_PUB,
            KeyError::WrongKeyType {
                algorithm: Algorithm::Es256,
                found: KeyType::Rsa,
            },
            "the key is an RSA public key and ES256 needs an EC public key on P-256",
        ),
        (
            "RS256",
            RSA_1024_PUB,
            KeyError::RsaKeySize { bits: 1024 },
            "the RSA key has 1024 bits, the hub verifies with keys of 2048 to 8192 bits",
        ),
        (
            "HS256",
            RSA_PUB,
            KeyError::PublicKeyAsSecret {
                algorithm: Algorithm::Hs256,
            },
            "the key is a PEM public key but HS256 takes a shared secret: set the algorithm the \
             key is for (RS256, ES256, ...)",
        ),
        ("HS256", "  ", KeyError::EmptyKey, "the key is empty"),
        (
            "ES256",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            KeyError::NotAPublicKey {
                label: "CERTIFICATE".to_owned(),
            },
            "the PEM block \"CERTIFICATE\" is not a public key",
        ),
        (
            "ES256",
            "-----BEGIN PUBLIC KEY-----\nMFkw*EwYH\n-----END PUBLIC KEY-----\n",
            KeyError::PemNotBase64 {
                label: "PUBLIC KEY".to_owned(),
            },
            "the body of the PEM block \"PUBLIC KEY\" is not base64",
        ),
    ];
    for (alg, material, expected, text) in cases {
        let error = Key::parse(alg, material).unwrap_err();
        assert_eq!(error, expected);
        assert_eq!(error.to_string(), text);
    }
    let truncated = &P256_PUB[..P256_PUB.len() - 10];
    assert_eq!(
        Key::parse("ES256", truncated).unwrap_err(),
        KeyError::PemNoEnd {
            label: "PUBLIC KEY".to_owned()
        }
    );
    let garbage = "-----BEGIN PUBLIC KEY-----\nAAECAwQF\n-----END PUBLIC KEY-----\n";
    assert_eq!(
        Key::parse("ES256", garbage).unwrap_err(),
        KeyError::UnreadableKey {
            algorithm: Algorithm::Es256
        }
    );
}

#[test]
fn d5_keys_from_the_environment_variables() {
    let lookup = |vars: &'static [(&'static str, &'static str)]| {
        move |name: &str| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| (*value).to_owned())
        }
    };

    assert!(Keys::from_lookup(lookup(&[])).unwrap().is_none());
    assert!(
        Keys::from_lookup(lookup(&[("MERCURE_PUBLISHER_JWT_KEY", "")]))
            .unwrap()
            .is_none(),
        "an empty variable counts as unset"
    );

    let keys = Keys::from_lookup(lookup(&[
        ("MERCURE_PUBLISHER_JWT_KEY", RSA_PUB),
        ("MERCURE_PUBLISHER_JWT_ALG", "RS256"),
        ("MERCURE_SUBSCRIBER_JWT_KEY", SECRET),
        ("MERCURE_SUBSCRIBER_JWT_ALG", ""),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(keys.publisher().algorithm(), Algorithm::Rs256);
    assert_eq!(keys.publisher().role(), Role::Publisher);
    assert_eq!(keys.subscriber().algorithm(), Algorithm::Hs256);
    assert_eq!(keys.subscriber().role(), Role::Subscriber);

    let shared = Keys::from_lookup(lookup(&[("MERCURE_PUBLISHER_JWT_KEY", SECRET)]))
        .unwrap()
        .unwrap();
    let token = hs256(&json!({"mercure": {"subscribe": ["*"]}}));
    assert_eq!(
        shared
            .subscriber()
            .verify_at(&token, now())
            .unwrap()
            .subscribe(),
        ["*"],
        "the publishers' key verifies subscribers' tokens when it is the only one"
    );

    assert_eq!(
        Keys::from_lookup(lookup(&[("MERCURE_SUBSCRIBER_JWT_ALG", "RS256")])).unwrap_err(),
        KeyError::VariableMissing {
            set: "MERCURE_SUBSCRIBER_JWT_ALG",
            missing: "MERCURE_SUBSCRIBER_JWT_KEY",
        }
    );
    assert_eq!(
        Keys::from_lookup(lookup(&[("MERCURE_SUBSCRIBER_JWT_KEY", SECRET)]))
            .unwrap_err()
            .to_string(),
        "MERCURE_SUBSCRIBER_JWT_KEY is set but MERCURE_PUBLISHER_JWT_KEY is not"
    );

    let bad = Keys::from_lookup(lookup(&[
        ("MERCURE_PUBLISHER_JWT_KEY", SECRET),
        ("MERCURE_PUBLISHER_JWT_ALG", "RS256"),
    ]))
    .unwrap_err();
    assert_eq!(bad.to_string(), "invalid MERCURE_PUBLISHER_JWT_KEY");
    let source = std::error::Error::source(&bad).unwrap();
    assert_eq!(
        source.to_string(),
        "RS256 takes a public key in PEM (-----BEGIN PUBLIC KEY-----) and the key is not PEM"
    );
    let bad_alg = Keys::from_lookup(lookup(&[
        ("MERCURE_PUBLISHER_JWT_KEY", SECRET),
        ("MERCURE_PUBLISHER_JWT_ALG", "none"),
    ]))
    .unwrap_err();
    assert_eq!(
        bad_alg,
        KeyError::InVariable {
            name: "MERCURE_PUBLISHER_JWT_ALG",
            source: Box::new(KeyError::AlgNone),
        }
    );
}

#[test]
fn key_debug_hides_the_secret() {
    let key = Key::parse("HS256", SECRET).unwrap();
    let debug = format!("{key:?} {:?}", Keys::new(key.clone(), key.clone()));
    assert!(!debug.contains("ChangeThis"), "{debug}");
    let token = Token::new("a.secret.token", TokenSource::Header);
    assert!(!format!("{token:?}").contains("secret"));
}

// Verification.

#[test]
fn d5_every_algorithm_verifies_its_tokens() {
    use jsonwebtoken::Algorithm as A;
    let claims = json!({"mercure": {"publish": ["https://example.com/books/{id}"]}});
    for (alg, material) in [
        (A::HS256, SECRET),
        (A::HS384, SECRET),
        (A::HS512, SECRET),
        (A::RS256, RSA_PUB),
        (A::RS384, RSA_PKCS1_PUB),
        (A::RS512, RSA_PUB),
        (A::PS256, RSA_PUB),
        (A::PS384, RSA_PUB),
        (A::PS512, RSA_PUB),
        (A::ES256, P256_PUB),
        (A::ES384, P384_PUB),
        (A::EdDSA, ED25519_PUB),
    ] {
        let name = format!("{alg:?}");
        let verifier = Verifier::new(Role::Publisher, Key::parse(&name, material).unwrap());
        let token = sign(alg, &claims);
        let read = verify(&verifier, &token).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(read.publish(), ["https://example.com/books/{id}"], "{name}");
    }
}

#[test]
fn d5_alg_none_is_refused() {
    let claims = URL_SAFE_NO_PAD.encode(r#"{"mercure":{"publish":["*"]}}"#);
    for header in [
        r#"{"alg":"none"}"#,
        r#"{"alg":"None","typ":"JWT"}"#,
        r#"{"alg":"NONE"}"#,
    ] {
        let header = URL_SAFE_NO_PAD.encode(header);
        for token in [
            format!("{header}.{claims}."),
            format!("{header}.{claims}.c2ln"),
        ] {
            let error = verify(&publisher(), &token).unwrap_err();
            assert_eq!(error, AuthError::AlgNone, "{token}");
            assert_invalid_token(&error);
            let rsa = Verifier::new(Role::Publisher, Key::parse("RS256", RSA_PUB).unwrap());
            assert_eq!(verify(&rsa, &token), Err(AuthError::AlgNone));
        }
    }
    assert_eq!(
        AuthError::AlgNone.to_string(),
        "the token is not signed (alg none)"
    );
}

#[test]
fn d5_algorithm_confusion_is_refused() {
    // The classic attack: HS256 with the RSA public key's PEM as the
    // secret, sent to a hub that verifies RS256 with that public key.
    let claims = json!({"mercure": {"publish": ["*"]}});
    let forged = sign_with(
        jsonwebtoken::Algorithm::HS256,
        &EncodingKey::from_secret(RSA_PUB.as_bytes()),
        &claims,
    );
    let rsa = Verifier::new(Role::Publisher, Key::parse("RS256", RSA_PUB).unwrap());
    let error = verify(&rsa, &forged).unwrap_err();
    assert_eq!(
        error,
        AuthError::WrongAlgorithm {
            role: Role::Publisher,
            expected: Algorithm::Rs256,
            found: "HS256".to_owned(),
        }
    );
    assert_eq!(
        error.to_string(),
        "the token is signed with 'HS256', the publisher key is for RS256"
    );
    assert_invalid_token(&error);

    // And the other way: an RS256 token to an HS256 key.
    let rs256 = sign(jsonwebtoken::Algorithm::RS256, &claims);
    assert!(matches!(
        verify(&publisher(), &rs256),
        Err(AuthError::WrongAlgorithm {
            expected: Algorithm::Hs256,
            ..
        })
    ));
    // Nor does a sibling algorithm of the same key pass.
    let hs512 = sign(jsonwebtoken::Algorithm::HS512, &claims);
    assert!(matches!(
        verify(&publisher(), &hs512),
        Err(AuthError::WrongAlgorithm { .. })
    ));
}

#[test]
fn d5_bad_signature_is_refused_naming_the_key() {
    let claims = json!({"mercure": {"publish": ["*"]}});
    let other = sign_with(
        jsonwebtoken::Algorithm::HS256,
        &EncodingKey::from_secret(b"another secret"),
        &claims,
    );
    let error = verify(&publisher(), &other).unwrap_err();
    assert_eq!(
        error,
        AuthError::BadSignature {
            role: Role::Publisher,
            algorithm: Algorithm::Hs256,
        }
    );
    assert_eq!(
        error.to_string(),
        "the token's signature does not verify with the publisher key (HS256)"
    );
    assert_invalid_token(&error);

    // Claims changed after signing.
    let token = hs256(&claims);
    let mut parts: Vec<&str> = token.split('.').collect();
    let more = URL_SAFE_NO_PAD.encode(r#"{"mercure":{"publish":["*"],"subscribe":["*"]}}"#);
    parts[1] = &more;
    assert!(matches!(
        verify(&publisher(), &parts.join(".")),
        Err(AuthError::BadSignature { .. })
    ));

    // An EC signature of the wrong length, and one by another key.
    let es256 = Verifier::new(Role::Subscriber, Key::parse("ES256", P256_PUB).unwrap());
    let token = sign(jsonwebtoken::Algorithm::ES256, &claims);
    let (signed, _) = token.rsplit_once('.').unwrap();
    assert!(matches!(
        verify(&es256, &format!("{signed}.c2ln")),
        Err(AuthError::BadSignature {
            role: Role::Subscriber,
            ..
        })
    ));
}

#[test]
fn d5_malformed_tokens_say_what_is_wrong() {
    let good = hs256(&json!({}));
    let (header, rest) = good.split_once('.').unwrap();
    let (claims, signature) = rest.split_once('.').unwrap();
    let cases = [
        (String::new(), Malformed::Empty),
        (format!("{header}.{claims}"), Malformed::NotCompact),
        (format!("{good}.{signature}"), Malformed::NotCompact),
        (
            format!("{header}=.{claims}.{signature}"),
            Malformed::HeaderNotBase64,
        ),
        (
            format!("{}.{claims}.{signature}", URL_SAFE_NO_PAD.encode("[1]")),
            Malformed::HeaderNotJson,
        ),
        (
            format!(
                "{}.{claims}.{signature}",
                URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT"}"#)
            ),
            Malformed::NoAlgorithm,
        ),
        (
            raw_token(r#"{"alg":"HS256","crit":["b64"],"b64":false}"#, "{}"),
            Malformed::CriticalHeader,
        ),
        (
            format!("{header}.{claims}.{signature}*"),
            Malformed::SignatureNotBase64,
        ),
        (
            raw_token(r#"{"alg":"HS256"}"#, "[]"),
            Malformed::ClaimsNotJson,
        ),
        (
            raw_token(r#"{"alg":"HS256"}"#, "not json"),
            Malformed::ClaimsNotJson,
        ),
    ];
    for (token, reason) in cases {
        let error = verify(&publisher(), &token).unwrap_err();
        assert_eq!(error, AuthError::Malformed(reason), "{token}");
        assert_invalid_token(&error);
    }
}

#[test]
fn d5_expired_token_says_when() {
    let token = hs256(&json!({"exp": NOW_SECS - 60, "mercure": {"publish": ["*"]}}));
    let error = verify(&publisher(), &token).unwrap_err();
    assert_eq!(
        error,
        AuthError::Expired {
            at: now() - Duration::from_secs(60),
            now: now(),
        }
    );
    assert_eq!(
        error.www_authenticate(),
        "Bearer error=\"invalid_token\", error_description=\"the token expired at \
         2026-03-01T09:59:00Z (the hub's clock reads 2026-03-01T10:00:00Z)\""
    );
    assert_invalid_token(&error);
}

#[test]
fn d5_exp_and_nbf_have_a_small_leeway() {
    assert_eq!(DEFAULT_LEEWAY, Duration::from_secs(5));
    let within = hs256(&json!({"exp": NOW_SECS - 4, "nbf": NOW_SECS + 4}));
    assert!(verify(&publisher(), &within).is_ok());
    let at_the_edge = hs256(&json!({"exp": NOW_SECS - 5}));
    assert!(matches!(
        verify(&publisher(), &at_the_edge),
        Err(AuthError::Expired { .. })
    ));
    let strict = publisher().with_leeway(Duration::ZERO);
    let expiring_now = hs256(&json!({"exp": NOW_SECS}));
    assert!(matches!(
        verify(&strict, &expiring_now),
        Err(AuthError::Expired { .. })
    ));
    let one_second_left = hs256(&json!({"exp": NOW_SECS + 1}));
    assert!(verify(&strict, &one_second_left).is_ok());
}

#[test]
fn d5_float_exp_is_accepted() {
    let token = hs256(&json!({"exp": NOW_SECS as f64 + 3600.5, "mercure": {"subscribe": ["*"]}}));
    let claims = verify(&publisher(), &token).unwrap();
    assert_eq!(
        claims.expires_at(),
        Some(now() + Duration::from_millis(3_600_500))
    );
    let past = hs256(&json!({"exp": NOW_SECS as f64 - 10.25}));
    assert_eq!(
        verify(&publisher(), &past),
        Err(AuthError::Expired {
            at: now() - Duration::from_millis(10_250),
            now: now(),
        })
    );
}

#[test]
fn d5_missing_exp_is_accepted() {
    let token = hs256(&json!({"mercure": {"publish": ["*"]}}));
    let claims = verify(&publisher(), &token).unwrap();
    assert_eq!(claims.expires_at(), None);
    assert!(
        publisher().verify(&token).is_ok(),
        "with the real clock too"
    );
}

#[test]
fn d5_nbf_in_the_future_is_refused() {
    let token = hs256(&json!({"nbf": NOW_SECS + 3600, "exp": NOW_SECS + 7200}));
    let error = verify(&publisher(), &token).unwrap_err();
    assert_eq!(
        error,
        AuthError::NotYetValid {
            from: now() + Duration::from_secs(3600),
            now: now(),
        }
    );
    assert_eq!(
        error.to_string(),
        "the token is not valid before 2026-03-01T11:00:00Z (the hub's clock reads \
         2026-03-01T10:00:00Z)"
    );
    assert_invalid_token(&error);
    let past = hs256(&json!({"nbf": NOW_SECS - 3600}));
    assert!(verify(&publisher(), &past).is_ok());
}

#[test]
fn d5_times_that_are_not_numbers_are_refused() {
    for (claims, claim, problem) in [
        (json!({"exp": "tomorrow"}), "exp", ClaimProblem::NotANumber),
        (json!({"nbf": [1]}), "nbf", ClaimProblem::NotANumber),
        (json!({"exp": 1e300}), "exp", ClaimProblem::OutOfRange),
    ] {
        let error = verify(&publisher(), &hs256(&claims)).unwrap_err();
        assert_eq!(
            error,
            AuthError::BadClaim {
                claim: claim.to_owned(),
                problem
            }
        );
        assert_invalid_token(&error);
    }
    let text = AuthError::BadClaim {
        claim: "exp".to_owned(),
        problem: ClaimProblem::NotANumber,
    }
    .to_string();
    assert_eq!(text, "the token's 'exp' claim is not a number");
}

#[test]
fn d5_audience_and_issuer_are_not_checked() {
    let token = hs256(&json!({
        "aud": ["https://example.com"],
        "iss": "https://example.com",
        "sub": "someone",
        "mercure": {"publish": ["*"]},
    }));
    assert!(verify(&publisher(), &token).is_ok());
}

#[test]
fn a8_expiry_is_exposed_to_close_the_stream() {
    let token = hs256(&json!({"exp": NOW_SECS + 60, "mercure": {"subscribe": ["*"]}}));
    let subscriber = hmac_verifier(Role::Subscriber);
    let claims = verify(&subscriber, &token).unwrap();
    assert_eq!(claims.expires_at(), Some(now() + Duration::from_secs(60)));
}

// Claims.

#[test]
fn d6_mercure_claim_grants_and_payload() {
    let token = hs256(&json!({
        "mercure": {
            "publish": ["https://example.com/books/1", "*"],
            "subscribe": ["https://example.com/users/{id}"],
            "payload": {"user": "https://example.com/users/1", "remoteAddr": "127.0.0.1"},
        }
    }));
    let claims = verify(&publisher(), &token).unwrap();
    assert_eq!(claims.publish(), ["https://example.com/books/1", "*"]);
    assert_eq!(claims.subscribe(), ["https://example.com/users/{id}"]);
    assert_eq!(
        claims.payload(),
        Some(&json!({"user": "https://example.com/users/1", "remoteAddr": "127.0.0.1"}))
    );
}

#[test]
fn d6_fallback_claim_name_is_read() {
    let token = hs256(&json!({
        "https://mercure.rocks/": {"publish": ["a"], "subscribe": ["b"], "payload": 1}
    }));
    let claims = verify(&publisher(), &token).unwrap();
    assert_eq!(claims.publish(), ["a"]);
    assert_eq!(claims.subscribe(), ["b"]);
    assert_eq!(claims.payload(), Some(&json!(1)));

    let both = hs256(&json!({
        "mercure": {"publish": ["from mercure"]},
        "https://mercure.rocks/": {"publish": ["from the fallback"]},
    }));
    assert_eq!(
        verify(&publisher(), &both).unwrap().publish(),
        ["from mercure"]
    );
}

#[test]
fn d6_absent_lists_grant_nothing() {
    for claims in [
        json!({}),
        json!({"mercure": null}),
        json!({"mercure": {}}),
        json!({"mercure": {"publish": null, "subscribe": null, "payload": null}}),
        json!({"mercure": {"publish": [], "subscribe": []}}),
    ] {
        let read = verify(&publisher(), &hs256(&claims)).unwrap();
        assert_eq!(read, Claims::default(), "{claims}");
        assert!(read.publish().is_empty() && read.subscribe().is_empty());
    }
}

#[test]
fn d6_claims_of_the_wrong_shape_are_refused() {
    for (claims, claim, problem) in [
        (
            json!({"mercure": ["*"]}),
            "mercure",
            ClaimProblem::NotAnObject,
        ),
        (
            json!({"https://mercure.rocks/": "*"}),
            "https://mercure.rocks/",
            ClaimProblem::NotAnObject,
        ),
        (
            json!({"mercure": {"publish": "*"}}),
            "mercure.publish",
            ClaimProblem::NotAListOfStrings,
        ),
        (
            json!({"mercure": {"subscribe": ["a", 1]}}),
            "mercure.subscribe",
            ClaimProblem::NotAListOfStrings,
        ),
        (
            json!({"https://mercure.rocks/": {"publish": [null]}}),
            "https://mercure.rocks/.publish",
            ClaimProblem::NotAListOfStrings,
        ),
    ] {
        let error = verify(&publisher(), &hs256(&claims)).unwrap_err();
        assert_eq!(
            error,
            AuthError::BadClaim {
                claim: claim.to_owned(),
                problem
            },
            "{claims}"
        );
        assert_invalid_token(&error);
    }
}

#[test]
fn d5_at_most_1000_selectors_per_list() {
    let selectors: Vec<String> = (0..MAX_SELECTORS).map(|i| format!("t{i}")).collect();
    let full = hs256(&json!({"mercure": {"publish": selectors, "subscribe": selectors}}));
    assert_eq!(verify(&publisher(), &full).unwrap().publish().len(), 1000);

    let mut over = selectors;
    over.push("one too many".to_owned());
    let token = hs256(&json!({"mercure": {"subscribe": over}}));
    let error = verify(&publisher(), &token).unwrap_err();
    assert_eq!(
        error,
        AuthError::BadClaim {
            claim: "mercure.subscribe".to_owned(),
            problem: ClaimProblem::TooManySelectors {
                count: 1001,
                limit: 1000
            },
        }
    );
    assert_eq!(
        error.to_string(),
        "the token's 'mercure.subscribe' claim lists 1001 selectors, more than 1000"
    );
}

#[test]
fn d5_subscriber_token_sent_to_the_publisher_key_names_it() {
    let publisher_key = Key::parse("HS256", SECRET).unwrap();
    let subscriber_key = Key::parse("HS256", "the subscribers' secret").unwrap();
    let keys = Keys::new(publisher_key, subscriber_key);
    let subscriber_token = sign_with(
        jsonwebtoken::Algorithm::HS256,
        &EncodingKey::from_secret(b"the subscribers' secret"),
        &json!({"mercure": {"subscribe": ["*"]}}),
    );
    assert!(keys.subscriber().verify(&subscriber_token).is_ok());
    assert_eq!(
        keys.publisher()
            .verify(&subscriber_token)
            .unwrap_err()
            .to_string(),
        "the token's signature does not verify with the publisher key (HS256)"
    );
}

// Finding the token.

#[test]
fn d2_header_wins_over_query_and_cookie() {
    let parts = request(
        "/.well-known/mercure?topic=a&authorization=query.token.x",
        &[
            ("authorization", "Bearer header.token.x"),
            ("cookie", "mercureAuthorization=cookie.token.x"),
        ],
    );
    let token = extract_token(&parts, DEFAULT_COOKIE_NAME).unwrap().unwrap();
    assert_eq!(token.as_str(), "header.token.x");
    assert_eq!(token.source(), TokenSource::Header);
}

#[test]
fn d2_query_wins_over_cookie() {
    let parts = request(
        "/.well-known/mercure?authorization=query.token.x&topic=a",
        &[("cookie", "mercureAuthorization=cookie.token.x")],
    );
    let token = extract_token(&parts, DEFAULT_COOKIE_NAME).unwrap().unwrap();
    assert_eq!(token.as_str(), "query.token.x");
    assert_eq!(token.source(), TokenSource::Query);
}

#[test]
fn d1_cookie_is_read_last_by_its_configured_name() {
    let parts = request(
        "/.well-known/mercure?topic=a",
        &[
            ("cookie", "theme=dark; mercureAuthorization=default.name.x"),
            ("cookie", "hubToken=\"custom.name.x\""),
        ],
    );
    let token = extract_token(&parts, DEFAULT_COOKIE_NAME).unwrap().unwrap();
    assert_eq!(
        (token.as_str(), token.source()),
        ("default.name.x", TokenSource::Cookie)
    );
    let token = extract_token(&parts, "hubToken").unwrap().unwrap();
    assert_eq!(token.as_str(), "custom.name.x", "quotes removed");
    assert_eq!(extract_token(&parts, "other").unwrap(), None);

    let cleared_first = request(
        "/",
        &[(
            "cookie",
            "mercureAuthorization=; mercureAuthorization=second.one.x",
        )],
    );
    assert_eq!(
        extract_token(&cleared_first, DEFAULT_COOKIE_NAME)
            .unwrap()
            .unwrap()
            .as_str(),
        "second.one.x"
    );
}

#[test]
fn d1_no_token_anywhere_is_none() {
    let parts = request("/.well-known/mercure?topic=a", &[("cookie", "theme=dark")]);
    assert_eq!(extract_token(&parts, DEFAULT_COOKIE_NAME), Ok(None));
    let error = AuthError::NoToken;
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error.www_authenticate(), "Bearer");
}

#[test]
fn d1_bearer_scheme_in_any_case_and_other_schemes_pass_through() {
    let parts = request("/", &[("authorization", "bearer   lower.case.x")]);
    let token = extract_token(&parts, DEFAULT_COOKIE_NAME).unwrap().unwrap();
    assert_eq!(token.as_str(), "lower.case.x");

    // A browser sends Basic by itself to a site behind a password; the
    // cookie still counts.
    let parts = request(
        "/",
        &[
            ("authorization", "Basic dXNlcjpwYXNz"),
            ("cookie", "mercureAuthorization=cookie.token.x"),
        ],
    );
    let token = extract_token(&parts, DEFAULT_COOKIE_NAME).unwrap().unwrap();
    assert_eq!(token.source(), TokenSource::Cookie);

    let empty = request("/", &[("authorization", "Bearer")]);
    let token = extract_token(&empty, DEFAULT_COOKIE_NAME).unwrap().unwrap();
    assert_eq!(token.as_str(), "");
    assert_eq!(
        verify(&publisher(), token.as_str()),
        Err(AuthError::Malformed(Malformed::Empty))
    );
}

#[test]
fn d1_query_token_is_percent_decoded() {
    let token = hs256(&json!({"mercure": {"subscribe": ["*"]}}));
    let encoded = token.replace('.', "%2E");
    let parts = request(
        &format!("/.well-known/mercure?authorization={encoded}"),
        &[],
    );
    let found = extract_token(&parts, DEFAULT_COOKIE_NAME).unwrap().unwrap();
    assert_eq!(found.as_str(), token);
    assert!(verify(&publisher(), found.as_str()).is_ok());
}

#[test]
fn d1_two_tokens_of_one_kind_are_an_invalid_request() {
    let parts = request(
        "/",
        &[
            ("authorization", "Bearer one.token.x"),
            ("authorization", "Bearer two.token.x"),
        ],
    );
    let error = extract_token(&parts, DEFAULT_COOKIE_NAME).unwrap_err();
    assert_eq!(
        error,
        AuthError::InvalidRequest(InvalidRequest::SeveralBearerHeaders)
    );
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        error.www_authenticate(),
        "Bearer error=\"invalid_request\", error_description=\"the request has more than one \
         bearer authorization header\""
    );

    let parts = request("/?authorization=a.b.c&authorization=d.e.f", &[]);
    assert_eq!(
        extract_token(&parts, DEFAULT_COOKIE_NAME),
        Err(AuthError::InvalidRequest(
            InvalidRequest::SeveralQueryTokens
        ))
    );
}

// CSRF.

#[test]
fn d8_allowed_origin_passes() {
    let allowed = ["https://app.example.com/", "http://localhost:8000"];
    for origin in [
        "https://app.example.com",
        "HTTPS://APP.EXAMPLE.COM",
        "http://localhost:8000",
    ] {
        let parts = request("https://hub.example.com/", &[("origin", origin)]);
        assert_eq!(csrf_ok(&parts, &allowed), Ok(()), "{origin}");
    }
}

#[test]
fn d8_referer_counts_when_there_is_no_origin() {
    let allowed = ["https://app.example.com"];
    let parts = request(
        "https://hub.example.com/",
        &[("referer", "https://app.example.com/books/1?x=y")],
    );
    assert_eq!(csrf_ok(&parts, &allowed), Ok(()));
    let parts = request(
        "https://hub.example.com/",
        &[("referer", "https://evil.example:8443/page")],
    );
    assert_eq!(
        csrf_ok(&parts, &allowed),
        Err(AuthError::OriginRefused {
            origin: "https://evil.example:8443".to_owned()
        })
    );
}

#[test]
fn d8_origin_wins_over_referer() {
    let allowed = ["https://app.example.com"];
    let parts = request(
        "https://hub.example.com/",
        &[
            ("origin", "https://evil.example"),
            ("referer", "https://app.example.com/"),
        ],
    );
    let error = csrf_ok(&parts, &allowed).unwrap_err();
    assert_eq!(error.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        error.to_string(),
        "publishing by cookie is not allowed from 'https://evil.example'"
    );
    assert_eq!(
        error.www_authenticate(),
        "Bearer error=\"invalid_request\", error_description=\"publishing by cookie is not \
         allowed from 'https://evil.example'\""
    );
}

#[test]
fn d8_neither_origin_nor_referer_is_refused() {
    let parts = request("https://hub.example.com/", &[]);
    let error = csrf_ok(&parts, &["*"]).unwrap_err();
    assert_eq!(error, AuthError::NoOrigin);
    assert_eq!(error.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        error.to_string(),
        "a publish authorized by cookie must have an origin or a referer header"
    );
}

#[test]
fn d8_the_hubs_own_origin_passes() {
    let none: [&str; 0] = [];
    let parts = request(
        "/.well-known/mercure",
        &[
            ("host", "hub.example.com"),
            ("origin", "https://hub.example.com"),
        ],
    );
    assert_eq!(csrf_ok(&parts, &none), Ok(()));
    let parts = request(
        "/.well-known/mercure",
        &[
            ("host", "Hub.Example.com:443"),
            ("origin", "https://hub.example.com"),
        ],
    );
    assert_eq!(csrf_ok(&parts, &none), Ok(()), "default port aside");
    let parts = request(
        "/.well-known/mercure",
        &[
            ("host", "hub.example.com:8443"),
            ("origin", "https://hub.example.com"),
        ],
    );
    assert!(csrf_ok(&parts, &none).is_err(), "another port");
    let http2 = request(
        "https://hub.example.com/.well-known/mercure",
        &[("origin", "https://hub.example.com")],
    );
    assert_eq!(csrf_ok(&http2, &none), Ok(()), "the URI's authority");
}

#[test]
fn d8_star_allows_any_origin_and_null_is_refused_otherwise() {
    let parts = request("https://hub.example.com/", &[("origin", "null")]);
    assert_eq!(csrf_ok(&parts, &["*"]), Ok(()));
    assert!(matches!(
        csrf_ok(&parts, &["https://app.example.com"]),
        Err(AuthError::OriginRefused { .. })
    ));
    let garbage = request("https://hub.example.com/", &[("referer", "not a url")]);
    assert!(matches!(
        csrf_ok(&garbage, &["https://app.example.com"]),
        Err(AuthError::OriginRefused { .. })
    ));
}
