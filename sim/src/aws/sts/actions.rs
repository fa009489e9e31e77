//! The STS actions: AssumeRole, AssumeRoleWithWebIdentity and GetCallerIdentity. Each validates
//! its parameters as the STS API reference constrains them, then decides with the role's trust
//! (in `Iam`), then issues credentials.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use super::super::iam::{Iam, NewSession, Principal, Role, SessionInfo};
use super::super::{AccessKey, OIDC_PROVIDER, WEB_IDENTITY_AUDIENCE};
use super::xml::{self, Xml};

/// An STS error: HTTP status, `Sender`/`Receiver`, code, message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsError {
    pub status: u16,
    pub kind: &'static str,
    pub code: &'static str,
    pub message: String,
}

impl StsError {
    pub fn sender(status: u16, code: &'static str, message: impl Into<String>) -> StsError {
        StsError {
            status,
            kind: "Sender",
            code,
            message: message.into(),
        }
    }

    fn validation(message: impl Into<String>) -> StsError {
        StsError::sender(400, "ValidationError", message)
    }

    fn constraint(member: &str, constraint: &str) -> StsError {
        StsError::validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: {constraint}"
        ))
    }

    fn access_denied(message: impl Into<String>) -> StsError {
        StsError::sender(403, "AccessDenied", message)
    }
}

type Result<T> = std::result::Result<T, StsError>;

/// The decoded form parameters, in order (`Tags.member.1.Key=...`).
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &str, member: &str) -> Result<&str> {
        self.get(name).ok_or_else(|| {
            StsError::validation(format!(
                "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
            ))
        })
    }

    /// `PREFIX.member.N[.FIELD]` entries, by N, in order of N (1-based, no gaps).
    fn members(&self, prefix: &str) -> BTreeMap<usize, BTreeMap<String, String>> {
        let mut out: BTreeMap<usize, BTreeMap<String, String>> = BTreeMap::new();
        let lead = format!("{prefix}.member.");
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(&lead) else {
                continue;
            };
            let (n, field) = rest.split_once('.').unwrap_or((rest, ""));
            if let Ok(n) = n.parse::<usize>() {
                out.entry(n)
                    .or_default()
                    .insert(field.to_string(), v.clone());
            }
        }
        out
    }
}

fn length(member: &str, value: &str, min: usize, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n < min {
        return Err(StsError::constraint(
            member,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(StsError::constraint(
            member,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

fn pattern(member: &str, value: &str, ok: fn(char) -> bool, text: &str) -> Result<()> {
    if value.chars().all(ok) {
        Ok(())
    } else {
        Err(StsError::constraint(
            member,
            &format!("Member must satisfy regular expression pattern: {text}"),
        ))
    }
}

/// `[\w+=,.@-]*`: role session names and source identities.
fn session_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// `[\w+=,.@:\/-]*`: external ids.
fn external_id_char(c: char) -> bool {
    session_char(c) || c == ':' || c == '/'
}

/// `[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+`.
fn arn_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7e}' | '\u{85}')
        || (c >= '\u{a0}' && c != '\u{fffe}' && c != '\u{ffff}')
}

/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]`: tag keys and values.
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

const SESSION_PATTERN: &str = r"[\w+=,.@-]*";

struct RoleRequest<'a> {
    role_arn: &'a str,
    session_name: &'a str,
    duration: Option<Duration>,
}

fn role_request(form: &Form) -> Result<RoleRequest<'_>> {
    let role_arn = form.required("RoleArn", "roleArn")?;
    length("roleArn", role_arn, 20, 2048)?;
    pattern(
        "roleArn",
        role_arn,
        arn_char,
        r"[\u0009\u000A\u000D\u0020-\u007E\u0085\u00A0-\uD7FF\uE000-\uFFFD\u10000-\u10FFFF]+",
    )?;
    let session_name = form.required("RoleSessionName", "roleSessionName")?;
    length("roleSessionName", session_name, 2, 64)?;
    pattern(
        "roleSessionName",
        session_name,
        session_char,
        SESSION_PATTERN,
    )?;
    let duration = match form.get("DurationSeconds") {
        None => None,
        Some(raw) => {
            let secs: i64 = raw.parse().map_err(|_| {
                StsError::validation("Value for parameter DurationSeconds must be an integer")
            })?;
            if secs < 900 {
                return Err(StsError::constraint(
                    "durationSeconds",
                    "Member must have value greater than or equal to 900",
                ));
            }
            if secs > 43200 {
                return Err(StsError::constraint(
                    "durationSeconds",
                    "Member must have value less than or equal to 43200",
                ));
            }
            Some(Duration::from_secs(secs as u64))
        }
    };
    Ok(RoleRequest {
        role_arn,
        session_name,
        duration,
    })
}

/// The session duration asked for, checked against the role's MaxSessionDuration and, for role
/// chaining, the one-hour limit.
fn duration(asked: Option<Duration>, role: &Role, chained: bool) -> Result<Duration> {
    let asked = asked.unwrap_or(super::super::DEFAULT_SESSION_DURATION);
    if chained && asked > Duration::from_secs(3600) {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    if asked > role.max_session_duration {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    Ok(asked)
}

/// What an action produced, for the response and the call log.
pub struct Outcome {
    pub result: Xml,
    pub role_arn: Option<String>,
    pub session_name: Option<String>,
    pub issued: Option<String>,
}

fn credentials(key: &AccessKey) -> Xml {
    Xml::new()
        .text("AccessKeyId", &key.access_key_id)
        .text("SecretAccessKey", &key.secret_access_key)
        .text(
            "SessionToken",
            key.session_token.as_deref().unwrap_or_default(),
        )
        .text(
            "Expiration",
            &xml::timestamp(key.expiration.unwrap_or(SystemTime::UNIX_EPOCH)),
        )
}

fn assumed_role_user(role: &Role, session_name: &str) -> Xml {
    Xml::new()
        .text(
            "Arn",
            &format!(
                "arn:aws:sts::{}:assumed-role/{}/{session_name}",
                role.account, role.name
            ),
        )
        .text("AssumedRoleId", &format!("{}:{session_name}", role.id))
}

struct Tags {
    tags: BTreeMap<String, String>,
    transitive: BTreeSet<String>,
    packed: usize,
}

fn session_tags(form: &Form) -> Result<Tags> {
    let members = form.members("Tags");
    if members.len() > 50 {
        return Err(StsError::constraint(
            "tags",
            "Member must have length less than or equal to 50",
        ));
    }
    let mut tags = BTreeMap::new();
    let mut packed = 0;
    for (n, fields) in &members {
        let key_member = format!("tags.{n}.member.key");
        let key = fields.get("Key").ok_or_else(|| {
            StsError::validation(format!(
                "1 validation error detected: Value null at '{key_member}' failed to satisfy constraint: Member must not be null"
            ))
        })?;
        length(&key_member, key, 1, 128)?;
        pattern(&key_member, key, tag_char, r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+")?;
        let value = fields.get("Value").map(String::as_str).unwrap_or_default();
        let value_member = format!("tags.{n}.member.value");
        length(&value_member, value, 0, 256)?;
        pattern(
            &value_member,
            value,
            tag_char,
            r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*",
        )?;
        // Keys are case-insensitive in IAM: two that differ by case are a duplicate.
        if tags.keys().any(|k: &String| k.eq_ignore_ascii_case(key)) {
            return Err(StsError::sender(
                400,
                "InvalidParameterValue",
                format!(
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive (at 'tags.{n}')."
                ),
            ));
        }
        packed += key.len() + value.len();
        tags.insert(key.clone(), value.to_string());
    }
    let transitive_members = form.members("TransitiveTagKeys");
    if transitive_members.len() > 50 {
        return Err(StsError::constraint(
            "transitiveTagKeys",
            "Member must have length less than or equal to 50",
        ));
    }
    let mut transitive = BTreeSet::new();
    for (n, fields) in &transitive_members {
        let key = fields.get("").map(String::as_str).unwrap_or_default();
        let member = format!("transitiveTagKeys.{n}.member");
        length(&member, key, 1, 128)?;
        pattern(&member, key, tag_char, r"[\p{L}\p{Z}\p{N}_.:/=+\-@]+")?;
        transitive.insert(key.to_string());
    }
    Ok(Tags {
        tags,
        transitive,
        packed,
    })
}

fn not_authorized(caller: &Principal, action: &str, role_arn: &str) -> StsError {
    StsError::access_denied(format!(
        "User: {} is not authorized to perform: {action} on resource: {role_arn}",
        caller.arn()
    ))
}

/// AssumeRole for `caller` (whose own session, when it is one, is `caller_session`).
pub fn assume_role(
    iam: &Iam,
    caller: &Principal,
    caller_session: Option<&SessionInfo>,
    form: &Form,
) -> Result<Outcome> {
    let req = role_request(form)?;
    let external_id = form.get("ExternalId");
    if let Some(id) = external_id {
        length("externalId", id, 2, 1224)?;
        pattern("externalId", id, external_id_char, r"[\w+=,.@:\/-]*")?;
    }
    let source_identity = form.get("SourceIdentity");
    if let Some(s) = source_identity {
        length("sourceIdentity", s, 2, 64)?;
        pattern("sourceIdentity", s, session_char, SESSION_PATTERN)?;
    }
    if let Some(policy) = form.get("Policy") {
        length("policy", policy, 1, 2048)?;
    }
    let tags = session_tags(form)?;

    // The same answer whether the role is missing or does not trust the caller, as in AWS.
    let denied = || not_authorized(caller, "sts:AssumeRole", req.role_arn);
    let role = iam.role(req.role_arn).ok_or_else(denied)?;
    if !role.trust.allows(caller) {
        return Err(denied());
    }
    if let Some(required) = &role.trust.external_id
        && external_id != Some(required.as_str())
    {
        return Err(denied());
    }
    if (!tags.tags.is_empty() || !tags.transitive.is_empty()) && !role.trust.allow_tag_session {
        return Err(not_authorized(caller, "sts:TagSession", req.role_arn));
    }
    let chained = matches!(caller, Principal::AssumedRole { .. });
    let lifetime = duration(req.duration, &role, chained)?;

    // Transitive tags of the calling session carry over to the chained one.
    let mut all_tags = tags.tags.clone();
    let mut transitive = tags.transitive.clone();
    if let Some(parent) = caller_session {
        for k in &parent.transitive_tag_keys {
            if let Some(v) = parent.tags.get(k) {
                all_tags.insert(k.clone(), v.clone());
                transitive.insert(k.clone());
            }
        }
    }
    let key = iam.issue(
        &role,
        req.session_name,
        NewSession {
            lifetime,
            source: caller.arn(),
            tags: all_tags,
            transitive_tag_keys: transitive,
            source_identity: source_identity
                .map(str::to_string)
                .or_else(|| caller_session.and_then(|s| s.source_identity.clone())),
        },
    );
    let mut result = Xml::new()
        .opt("SourceIdentity", source_identity)
        .node(
            "AssumedRoleUser",
            assumed_role_user(&role, req.session_name),
        )
        .node("Credentials", credentials(&key));
    let policy_len = form.get("Policy").map_or(0, str::len);
    if tags.packed + policy_len > 0 {
        let percent = ((tags.packed + policy_len) * 100)
            .div_ceil(2048)
            .to_string();
        result = result
            .text("PackedPolicySize", &percent)
            .text("SessionTokenUtilization", &percent);
    }
    Ok(Outcome {
        result,
        role_arn: Some(req.role_arn.to_string()),
        session_name: Some(req.session_name.to_string()),
        issued: Some(key.access_key_id),
    })
}

/// AssumeRoleWithWebIdentity: unsigned; the token must be one `Iam` issued, unexpired, for a
/// subject the role trusts.
pub fn assume_role_with_web_identity(iam: &Iam, form: &Form) -> Result<Outcome> {
    let req = role_request(form)?;
    let token = form.required("WebIdentityToken", "webIdentityToken")?;
    length("webIdentityToken", token, 4, 20000)?;
    if let Some(provider) = form.get("ProviderId") {
        length("providerId", provider, 4, 2048)?;
    }
    let Some(web) = iam.web_token(token) else {
        return Err(StsError::sender(
            400,
            "InvalidIdentityToken",
            "The web identity token that was passed could not be validated by AWS. Get a new identity token from the identity provider and then retry the request.",
        ));
    };
    let now = SystemTime::now();
    if now >= web.expiration {
        return Err(StsError::sender(
            400,
            "ExpiredTokenException",
            format!(
                "Token expired: current date/time {} must be before the expiration date/time {}",
                xml::timestamp(now),
                xml::timestamp(web.expiration)
            ),
        ));
    }
    let denied =
        || StsError::access_denied("Not authorized to perform sts:AssumeRoleWithWebIdentity");
    let role = iam.role(req.role_arn).ok_or_else(denied)?;
    if !role.trust.web_identity_subjects.contains(&web.subject) {
        return Err(denied());
    }
    let lifetime = duration(req.duration, &role, false)?;
    let key = iam.issue(
        &role,
        req.session_name,
        NewSession {
            lifetime,
            source: web.subject.clone(),
            ..NewSession::default()
        },
    );
    let result = Xml::new()
        .text("SubjectFromWebIdentityToken", &web.subject)
        .text("Audience", WEB_IDENTITY_AUDIENCE)
        .node(
            "AssumedRoleUser",
            assumed_role_user(&role, req.session_name),
        )
        .node("Credentials", credentials(&key))
        .text("Provider", &format!("https://{OIDC_PROVIDER}"));
    Ok(Outcome {
        result,
        role_arn: Some(req.role_arn.to_string()),
        session_name: Some(req.session_name.to_string()),
        issued: Some(key.access_key_id),
    })
}

pub fn get_caller_identity(caller: &Principal) -> Outcome {
    Outcome {
        result: Xml::new()
            .text("Arn", &caller.arn())
            .text("UserId", &caller.user_id())
            .text("Account", caller.account()),
        role_arn: caller.role_arn(),
        session_name: None,
        issued: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn role_requests_are_checked_as_the_reference_constrains_them() {
        let arn = "arn:aws:iam::123456789012:role/r";
        let e = role_request(&form(&[("RoleArn", arn), ("RoleSessionName", "a")]))
            .err()
            .unwrap();
        assert!(
            e.message.contains("'roleSessionName'") && e.message.contains("2"),
            "{e:?}"
        );
        let e = role_request(&form(&[("RoleArn", arn), ("RoleSessionName", "a b")]))
            .err()
            .unwrap();
        assert!(e.message.contains("pattern"), "{e:?}");
        let e = role_request(&form(&[
            ("RoleArn", arn),
            ("RoleSessionName", "ok"),
            ("DurationSeconds", "899"),
        ]))
        .err()
        .unwrap();
        assert!(e.message.contains("durationSeconds"), "{e:?}");
        let e = role_request(&form(&[("RoleSessionName", "ok")]))
            .err()
            .unwrap();
        assert!(e.message.contains("Value null at 'roleArn'"), "{e:?}");
        assert!(
            role_request(&form(&[
                ("RoleArn", arn),
                ("RoleSessionName", "sess=1,a.b@c-d_e+f"),
                ("DurationSeconds", "43200"),
            ]))
            .is_ok()
        );
    }

    #[test]
    fn tags_are_read_by_member_number() {
        let t = session_tags(&form(&[
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "a"),
            ("Tags.member.2.Key", "env"),
            ("Tags.member.2.Value", "dev"),
            ("TransitiveTagKeys.member.1", "team"),
        ]))
        .unwrap();
        assert_eq!(t.tags.len(), 2);
        assert!(t.transitive.contains("team"));
        let e = session_tags(&form(&[
            ("Tags.member.1.Key", "Team"),
            ("Tags.member.2.Key", "team"),
        ]))
        .err()
        .unwrap();
        assert_eq!(e.code, "InvalidParameterValue");
    }
}
