//! Authentication as AWS front doors do it: the SigV4 `Authorization` header, the key it names,
//! the session token of temporary credentials, their expiry, the signing time (5 minutes either
//! way), and the signature. Each emulator turns an `AuthError` into its own protocol's error.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use super::iam::{Iam, Principal};
use super::sigv4::{self, HeaderError, Request};

/// How far the signing time may be from the server's clock, as in AWS.
pub const MAX_SKEW: Duration = Duration::from_secs(5 * 60);

/// A verified caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    pub access_key_id: String,
    /// The Region of the credential scope: where the request is served.
    pub region: String,
    pub principal: Principal,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header.
    Missing,
    /// The header, or the headers it requires, are malformed or missing.
    Incomplete(String),
    /// Scoped to another service.
    WrongService(String),
    /// No such access key.
    UnknownKey,
    /// A temporary key without its session token, with another session's token, or a
    /// long-term key with one.
    InvalidToken,
    /// Temporary credentials past their expiration.
    Expired,
    /// The scope's date is not the signing date, or the signing time is too far off.
    BadDate(String),
    /// The signature does not match.
    BadSignature,
}

/// An `AuthError`, with who the request claimed to be (for call logs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthFailure {
    pub error: AuthError,
    pub access_key_id: String,
    pub region: String,
}

fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Verifies `req`, signed for `service`, at `now`.
pub fn authenticate(
    iam: &Iam,
    req: &Request,
    service: &str,
    now: SystemTime,
) -> Result<Authenticated, AuthFailure> {
    let auth = match sigv4::parse_authorization(req.headers) {
        Ok(a) => a,
        Err(e) => {
            return Err(AuthFailure {
                error: match e {
                    HeaderError::Missing => AuthError::Missing,
                    HeaderError::Incomplete(m) => AuthError::Incomplete(m),
                },
                access_key_id: String::new(),
                region: String::new(),
            });
        }
    };
    let fail = |error| AuthFailure {
        error,
        access_key_id: auth.access_key_id.clone(),
        region: auth.region.clone(),
    };
    if auth.service != service {
        return Err(fail(AuthError::WrongService(format!(
            "Credential should be scoped to correct service: '{service}'."
        ))));
    }
    if !auth.signed_headers.iter().any(|h| h == "host") {
        return Err(fail(AuthError::Incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".into(),
        )));
    }
    let Some(amz_date) = req.headers.get("x-amz-date").and_then(|v| v.to_str().ok()) else {
        return Err(fail(AuthError::Incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .into(),
        )));
    };
    if !auth.signed_headers.iter().any(|h| h == "x-amz-date") {
        return Err(fail(AuthError::Incomplete(
            "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.".into(),
        )));
    }
    let Some(signed_at) = sigv4::parse_amz_date(amz_date) else {
        return Err(fail(AuthError::Incomplete(format!(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", not {amz_date:?}"
        ))));
    };

    let Some(key) = iam.key(&auth.access_key_id) else {
        return Err(fail(AuthError::UnknownKey));
    };
    let token = req
        .headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    match (&key.session, token) {
        (Some(session), Some(t)) if sigv4::same_signature(&session.token, t) => {}
        (None, None) => {}
        _ => return Err(fail(AuthError::InvalidToken)),
    }
    if let Some(session) = &key.session
        && now >= session.info.expiration
    {
        return Err(fail(AuthError::Expired));
    }

    if auth.date != amz_date[..8] {
        return Err(fail(AuthError::BadDate(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{amz_date}'.",
            auth.date,
            &amz_date[..8]
        ))));
    }
    let now_utc = DateTime::<Utc>::from(now);
    let skew = chrono::Duration::from_std(MAX_SKEW).unwrap_or_default();
    if signed_at < now_utc - skew {
        return Err(fail(AuthError::BadDate(format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 5 min.)",
            iso(now_utc - skew),
            iso(now_utc)
        ))));
    }
    if signed_at > now_utc + skew {
        return Err(fail(AuthError::BadDate(format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 5 min.)",
            iso(now_utc + skew),
            iso(now_utc)
        ))));
    }

    let canonical = sigv4::canonical_request(req, &auth.signed_headers);
    let expected = sigv4::signature(
        &key.secret,
        amz_date,
        &auth.date,
        &auth.region,
        &auth.service,
        &canonical,
    );
    if !sigv4::same_signature(&expected, &auth.signature) {
        return Err(fail(AuthError::BadSignature));
    }
    Ok(Authenticated {
        access_key_id: auth.access_key_id,
        region: auth.region,
        principal: key.principal,
    })
}
