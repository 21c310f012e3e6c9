//! The portal's login handshake: RSA-encrypting the password and reading the answer.
//!
//! The web app encrypts the password with the portal's public key (PKCS#1 v1.5, base64) before
//! posting it; we do the same. The login answer carries many fields, but only `sessionKey` and
//! `uuid` are needed, so only those are required (the original rejected a `null`
//! `userProfilePhotoId` and lost whole accounts to it).

use base64::Engine as _;
use rsa::pkcs1::DecodeRsaPublicKey as _;
use rsa::pkcs8::DecodePublicKey as _;
use rsa::{Pkcs1v15Encrypt, RsaPublicKey};
use serde::Deserialize;

use super::SourceError;
use crate::secret::Secret;

/// Parse a PEM public key: SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`, what the portal ships) or
/// PKCS#1 (`BEGIN RSA PUBLIC KEY`). The base64 body may be one long line (as the contract and
/// the web app give it) or wrapped; strict PEM parsers reject the former, so it is decoded here.
pub(crate) fn parse_public_key(pem: &str) -> Result<RsaPublicKey, SourceError> {
    let bad = |reason: &str| SourceError::BadKey {
        reason: reason.to_owned(),
    };
    let body: String = pem
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("-----"))
        .collect();
    if body.is_empty() {
        return Err(bad(
            "the key is empty; expected -----BEGIN PUBLIC KEY----- and base64",
        ));
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|_| bad("the key body is not base64"))?;
    RsaPublicKey::from_public_key_der(&der)
        .or_else(|_| RsaPublicKey::from_pkcs1_der(&der))
        .map_err(|_| bad("not an RSA public key (expected SubjectPublicKeyInfo or PKCS#1)"))
}

/// base64(RSA-PKCS#1-v1.5(password)), as the portal's web app sends it.
pub(crate) fn encrypt_password(key: &RsaPublicKey, password: &Secret) -> Result<String, String> {
    let mut rng = rand::thread_rng();
    let cipher = key
        .encrypt(&mut rng, Pkcs1v15Encrypt, password.expose().as_bytes())
        .map_err(|_| {
            "the password cannot be encrypted with the portal key (too long?)".to_owned()
        })?;
    Ok(base64::engine::general_purpose::STANDARD.encode(cipher))
}

/// The part of the login answer we use. Everything else is ignored, present or not.
#[derive(Deserialize)]
struct LoginResponse {
    #[serde(rename = "sessionKey")]
    session_key: Option<String>,
    uuid: Option<String>,
}

/// What a successful login gives: the session key for `Authorization: Custom` and the uuid
/// that names the student in every path.
#[derive(Debug)]
pub(crate) struct LoginGrant {
    pub session_key: Secret,
    pub uuid: String,
}

/// Read a login answer body. The error reason never quotes the body.
pub(crate) fn parse_login(body: &[u8]) -> Result<LoginGrant, String> {
    let parsed: LoginResponse = serde_json::from_slice(body).map_err(|e| {
        format!(
            "login answer is not the expected JSON object ({})",
            e.classify_name()
        )
    })?;
    let session_key = parsed
        .session_key
        .filter(|k| !k.is_empty())
        .ok_or_else(|| "login answer has no sessionKey".to_owned())?;
    let uuid = parsed
        .uuid
        .filter(|u| !u.is_empty())
        .ok_or_else(|| "login answer has no uuid".to_owned())?;
    Ok(LoginGrant {
        session_key: Secret::new(session_key),
        uuid,
    })
}

/// `serde_json::error::Category` as a word, so no byte of the body reaches the message.
trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "invalid JSON",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::superset::DEFAULT_RSA_PUBLIC_KEY;

    #[test]
    fn the_portal_key_parses_and_encrypts() {
        let key = parse_public_key(DEFAULT_RSA_PUBLIC_KEY).unwrap();
        let enc = encrypt_password(&key, &Secret::new("hunter2")).unwrap();
        let raw = base64::engine::general_purpose::STANDARD
            .decode(enc)
            .unwrap();
        assert_eq!(raw.len(), 128, "a 1024-bit key gives 128-byte ciphertexts");
    }

    #[test]
    fn a_bad_key_is_a_clear_error() {
        let err = parse_public_key("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")
            .err()
            .unwrap();
        assert!(matches!(err, SourceError::BadKey { .. }));
        assert!(err.to_string().contains("rsa_public_key"));
        assert!(matches!(
            parse_public_key("  "),
            Err(SourceError::BadKey { .. })
        ));
    }

    #[test]
    fn login_needs_only_session_key_and_uuid() {
        let body = br#"{"userId":1,"sessionKey":"s-1","uuid":"u-1","userProfilePhotoId":null,
                       "message":null,"extra":{"x":1}}"#;
        let grant = parse_login(body).unwrap();
        assert_eq!(grant.session_key.expose(), "s-1");
        assert_eq!(grant.uuid, "u-1");
        assert!(
            parse_login(br#"{"uuid":"u-1"}"#)
                .unwrap_err()
                .contains("sessionKey")
        );
        assert!(
            parse_login(br#"{"sessionKey":"s","uuid":null}"#)
                .unwrap_err()
                .contains("uuid")
        );
        let err = parse_login(b"<html>secret@example.edu</html>").unwrap_err();
        assert!(!err.contains("secret@"));
    }
}
