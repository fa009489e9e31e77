//! AWS Signature Version 4 as a service checks it: the `Authorization` header, the canonical
//! request rebuilt from the request as received, and the signature over it. Written from the
//! SigV4 specification ("Create a canonical request", "Create a string to sign", "Calculate the
//! signature"), not from the SDK's signer, so a test against the real SDK checks both.
//!
//! Canonical URI: the path as received (already percent-encoded once by the client), with dot
//! segments removed, then every byte outside the unreserved set and `/` percent-encoded again:
//! services other than S3 expect this double encoding, so a label `arn:aws:...` sent as
//! `arn%3Aaws%3A...` is signed as `arn%253Aaws%253A...`. Canonical query: each parameter decoded
//! and encoded again (unreserved bytes kept, `%XX` upper case), sorted by name, then value.
//!
//! `sign` produces the headers of a signed request, for tests that write HTTP by hand.

use std::time::SystemTime;

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// A request as the server received it: the raw (still percent-encoded) path and query.
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The parsed `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    pub access_key_id: String,
    /// `YYYYMMDD` of the credential scope.
    pub date: String,
    pub region: String,
    pub service: String,
    /// Lower-case header names, in the order given.
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// Why an `Authorization` header cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderError {
    Missing,
    /// Not `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
    Incomplete(String),
}

pub fn parse_authorization(headers: &HeaderMap) -> Result<Authorization, HeaderError> {
    let Some(value) = headers.get("authorization") else {
        return Err(HeaderError::Missing);
    };
    let incomplete = || {
        HeaderError::Incomplete(
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' parameters"
                .into(),
        )
    };
    let value = value.to_str().map_err(|_| incomplete())?;
    let Some(rest) = value
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
    else {
        return Err(HeaderError::Incomplete(format!(
            "Authorization header requires the algorithm {ALGORITHM}"
        )));
    };
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',').map(str::trim) {
        if let Some(c) = part.strip_prefix("Credential=") {
            credential = Some(c);
        } else if let Some(s) = part.strip_prefix("SignedHeaders=") {
            signed = Some(s);
        } else if let Some(s) = part.strip_prefix("Signature=") {
            signature = Some(s);
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(incomplete());
    };
    let scope: Vec<&str> = credential.split('/').collect();
    let [akid, date, region, service, "aws4_request"] = scope.as_slice() else {
        return Err(HeaderError::Incomplete(format!(
            "Credential should be of the form ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request, not {} parts",
            scope.len()
        )));
    };
    if [akid, date, region, service].iter().any(|s| s.is_empty()) || signed.is_empty() {
        return Err(incomplete());
    }
    Ok(Authorization {
        access_key_id: akid.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
        signature: signature.to_string(),
    })
}

/// RFC 3986 unreserved bytes stay; every other byte becomes `%XX` (upper-case hex). `/` stays
/// when `keep_slash` (paths).
fn uri_encode(input: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len());
    for b in input.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 3986 section 5.2.4, as the SigV4 specification asks for every service but S3.
fn normalize_path(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = format!("/{}", segments.join("/"));
    let trailing = ["/", "/.", "/..", "/./", "/../"]
        .iter()
        .any(|s| path.ends_with(s));
    if trailing && !out.ends_with('/') {
        out.push('/');
    }
    out
}

fn canonical_query(raw: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .map(|(k, v)| (uri_encode(&k, false), uri_encode(&v, false)))
            .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// A header's values as signed: each trimmed, inner runs of spaces collapsed, joined by `,`.
fn canonical_header_value(headers: &HeaderMap, name: &str) -> String {
    headers
        .get_all(name)
        .iter()
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join(",")
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The canonical request over `signed_headers` (lower case, in the order given).
pub fn canonical_request(req: &Request, signed_headers: &[String]) -> String {
    let headers: String = signed_headers
        .iter()
        .map(|h| format!("{h}:{}\n", canonical_header_value(req.headers, h)))
        .collect();
    format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method,
        uri_encode(&normalize_path(req.path), true),
        canonical_query(req.query),
        headers,
        signed_headers.join(";"),
        sha256_hex(req.body)
    )
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any size");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The signature of `canonical` made at `amz_date` (`YYYYMMDDTHHMMSSZ`) in the given scope.
pub fn signature(
    secret: &str,
    amz_date: &str,
    date: &str,
    region: &str,
    service: &str,
    canonical: &str,
) -> String {
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let key = [date, region, service, "aws4_request"]
        .iter()
        .fold(format!("AWS4{secret}").into_bytes(), |key, part| {
            hmac(&key, part)
        });
    hex::encode(hmac(&key, &string_to_sign))
}

/// Compares in time independent of where the strings differ.
pub fn same_signature(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `YYYYMMDDTHHMMSSZ`.
pub fn amz_date(at: SystemTime) -> String {
    DateTime::<Utc>::from(at)
        .format("%Y%m%dT%H%M%SZ")
        .to_string()
}

/// Parses `YYYYMMDDTHHMMSSZ`.
pub fn parse_amz_date(value: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(value, "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// Credentials to sign with.
pub struct SigningKey<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub session_token: Option<&'a str>,
}

/// Signs a request written by hand: returns the `x-amz-date`, `x-amz-security-token` (with a
/// session token) and `authorization` headers to add. `headers` are the request's other headers
/// (including `host`); all of them are signed, with `x-amz-date` and the token.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    key: &SigningKey,
    region: &str,
    service: &str,
    at: SystemTime,
) -> Vec<(String, String)> {
    let amz = amz_date(at);
    let mut added = vec![("x-amz-date".to_string(), amz.clone())];
    if let Some(token) = key.session_token {
        added.push(("x-amz-security-token".to_string(), token.to_string()));
    }
    let mut map = HeaderMap::new();
    for (name, value) in headers
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .chain(added.iter().cloned())
    {
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()),
            axum::http::HeaderValue::from_str(&value),
        ) {
            map.append(n, v);
        }
    }
    let mut names: Vec<String> = map.keys().map(|k| k.as_str().to_string()).collect();
    names.sort();
    names.dedup();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let canonical = canonical_request(
        &Request {
            method,
            path,
            query,
            headers: &map,
            body,
        },
        &names,
    );
    let date = &amz[..8];
    let sig = signature(
        key.secret_access_key,
        &amz,
        date,
        region,
        service,
        &canonical,
    );
    added.push((
        "authorization".into(),
        format!(
            "{ALGORITHM} Credential={}/{date}/{region}/{service}/aws4_request, SignedHeaders={}, Signature={sig}",
            key.access_key_id,
            names.join(";")
        ),
    ));
    added
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `get-vanilla-query-order-key-case` case of the AWS SigV4 test suite (example keys).
    #[test]
    fn matches_the_published_test_vector() {
        let mut headers = HeaderMap::new();
        headers.insert("host", "example.amazonaws.com".parse().unwrap());
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        let req = Request {
            method: "GET",
            path: "/",
            query: Some("Param2=value2&Param1=value1"),
            headers: &headers,
            body: b"",
        };
        let signed = ["host".to_string(), "x-amz-date".to_string()];
        let canonical = canonical_request(&req, &signed);
        assert_eq!(
            canonical,
            "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            signature(
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                "20150830T123600Z",
                "20150830",
                "us-east-1",
                "service",
                &canonical
            ),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        );
    }

    #[test]
    fn paths_are_encoded_twice_and_normalized() {
        assert_eq!(
            uri_encode(&normalize_path("/tags/arn%3Aaws%3Aconnect"), true),
            "/tags/arn%253Aaws%253Aconnect"
        );
        assert_eq!(normalize_path("/a/./b/../c/"), "/a/c/");
        assert_eq!(normalize_path(""), "/");
        assert_eq!(
            canonical_query(Some("b=2&a=x%20y&a=1&c")),
            "a=1&a=x%20y&b=2&c="
        );
    }

    #[test]
    fn header_parsing_names_what_is_missing() {
        let mut h = HeaderMap::new();
        assert_eq!(parse_authorization(&h), Err(HeaderError::Missing));
        h.insert("authorization", "AWS4-HMAC-SHA256 Credential=A/20240101/us-east-1/connect/aws4_request, SignedHeaders=host;x-amz-date, Signature=ab".parse().unwrap());
        let a = parse_authorization(&h).unwrap();
        assert_eq!(a.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(
            (a.region.as_str(), a.service.as_str()),
            ("us-east-1", "connect")
        );
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=A/20240101/connect/aws4_request, SignedHeaders=host, Signature=ab"
                .parse()
                .unwrap(),
        );
        assert!(matches!(
            parse_authorization(&h),
            Err(HeaderError::Incomplete(_))
        ));
    }

    #[test]
    fn sign_produces_what_verification_accepts() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let key = SigningKey {
            access_key_id: "AKIDTEST",
            secret_access_key: "secret",
            session_token: Some("tok"),
        };
        let added = sign(
            "POST",
            "/x%3Ay?b=1",
            &[("host", "h")],
            b"{}",
            &key,
            "eu-west-2",
            "connect",
            at,
        );
        let mut headers = HeaderMap::new();
        headers.insert("host", "h".parse().unwrap());
        for (k, v) in &added {
            headers.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let auth = parse_authorization(&headers).unwrap();
        assert_eq!(
            auth.signed_headers,
            ["host", "x-amz-date", "x-amz-security-token"]
        );
        let canonical = canonical_request(
            &Request {
                method: "POST",
                path: "/x%3Ay",
                query: Some("b=1"),
                headers: &headers,
                body: b"{}",
            },
            &auth.signed_headers,
        );
        let amz = amz_date(at);
        assert_eq!(
            signature(
                "secret",
                &amz,
                &auth.date,
                "eu-west-2",
                "connect",
                &canonical
            ),
            auth.signature
        );
    }
}
