//! The documented rules of the user operations that the service model's shapes do not encode:
//! from the documentation strings of CreateUser, UserIdentityInfo and UserPhoneConfig (see
//! `connect-api.md`, "Behaviour the model's shapes do not encode"). Shape constraints (lengths,
//! enums, patterns, required members) are checked elsewhere, before these.
//!
//! Every rule answers InvalidParameterException naming the member(s). InvalidRequestException
//! would fit "the request is not valid" as well, but Connect also answers it transiently while a
//! change propagates (its eventual-consistency documentation), so a client may retry it; a
//! request that breaks one of these rules can never succeed, and "one or more of the specified
//! parameters are not valid" says that.

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::is_nfc;

use super::super::errors::{ApiError, ApiResult};
use super::super::model::{AfterContactWorkConfigPerChannel, IdentityInfo, PhoneConfig};
use super::super::validate;
use super::super::wire::Obj;

/// "A maximum value of 2,000,000 seconds (24 days)" (UserPhoneConfig, AfterContactWorkConfig).
pub const MAX_AFTER_CONTACT_WORK: i32 = 2_000_000;

/// CreateUser: "Fields in PhoneConfig cannot be set simultaneously with their corresponding
/// channel-specific configuration parameters". A member counts as set when it is on the wire
/// (the SDK leaves out `AutoAccept: false` and a zero limit, but always sends `PhoneType`); a
/// list counts as set when present, even empty.
pub fn phone_config_conflicts(body: &Obj) -> ApiResult<()> {
    let Some(phone) = body.opt_obj("PhoneConfig")? else {
        return Ok(());
    };
    let pairs: [(&[&str], &str); 4] = [
        (&["AutoAccept"], "AutoAcceptConfigs"),
        (&["AfterContactWorkTimeLimit"], "AfterContactWorkConfigs"),
        (&["PhoneType", "DeskPhoneNumber"], "PhoneNumberConfigs"),
        (&["PersistentConnection"], "PersistentConnectionConfigs"),
    ];
    for (members, list) in pairs {
        if !body.has(list) {
            continue;
        }
        if let Some(member) = members.iter().find(|m| phone.has(m)) {
            return Err(ApiError::invalid_parameter(format!(
                "'{}' cannot be set together with '{list}': both configure the VOICE channel; \
                 send one of them (the per-channel '{list}' is recommended)",
                phone.path_of(member)
            )));
        }
    }
    Ok(())
}

static USERNAME_CHARACTERS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_.@-]+$").expect("static regex"));
/// The documented Email pattern, restricted to the username characters.
static EMAIL_FORM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-zA-Z0-9._-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,63}$").expect("static regex")
});

/// CreateUser.Username: "For instances not using SAML for identity management, the user name
/// can include up to 20 characters. If you are using SAML ..., up to 64 characters from
/// [a-zA-Z0-9_-.@]+", and "@ only if used in an email format" (`testuser@example.com`, not
/// `testuser@example`). The character set is stated for SAML only; it is applied to every
/// instance (the stricter reading, and the one the operator's CRD enforces).
pub fn username(identity_management: &str, username: &str) -> ApiResult<()> {
    if !USERNAME_CHARACTERS.is_match(username) {
        return Err(ApiError::invalid_parameter(
            "'Username' may contain only letters, digits and the characters _ - . @",
        ));
    }
    if username.contains('@') && !EMAIL_FORM.is_match(username) {
        return Err(ApiError::invalid_parameter(
            "'Username' can include @ only in an email format (like testuser@example.com)",
        ));
    }
    let max = if identity_management == "SAML" {
        64
    } else {
        20
    };
    if username.chars().count() > max {
        return Err(ApiError::invalid_parameter(format!(
            "'Username' can include at most {max} characters on an instance whose identity \
             management type is {identity_management}"
        )));
    }
    Ok(())
}

/// CreateUser.Password: "required if you are using Connect for identity management. Otherwise,
/// it is an error to include a password." CreateUser.DirectoryUserId: for an existing directory;
/// "If you are using SAML ... and include this parameter, an error is returned." Connect-managed
/// instances have no directory, so it is refused there too (undocumented: the stricter choice).
pub fn identity_management(
    identity_management: &str,
    password: bool,
    directory_user_id: bool,
) -> ApiResult<()> {
    if identity_management == "CONNECT_MANAGED" && !password {
        return Err(ApiError::invalid_parameter(
            "'Password' is required for an instance that uses Connect for identity management",
        ));
    }
    if identity_management != "CONNECT_MANAGED" && password {
        return Err(ApiError::invalid_parameter(format!(
            "'Password' cannot be set for an instance whose identity management type is \
             {identity_management}"
        )));
    }
    if identity_management != "EXISTING_DIRECTORY" && directory_user_id {
        return Err(ApiError::invalid_parameter(format!(
            "'DirectoryUserId' cannot be set for an instance whose identity management type is \
             {identity_management}"
        )));
    }
    Ok(())
}

/// UserIdentityInfo (CreateUser and UpdateUserIdentityInfo; `path` is `IdentityInfo`):
/// - FirstName and LastName are "required if you are using Connect or SAML for identity
///   management"; Connect-managed lengths are 1-255 and 1-256 (the model's 0-255/0-300 are
///   SAML's); both must be in Unicode Normalization Form C, on every instance.
/// - Email: the CreateUser documentation says "Email, FirstName and LastName are required if you
///   are using Connect or SAML", the Email member's documentation says "If you are using SAML ...
///   and include this parameter, an error is returned". Both cannot hold for SAML. The member's
///   own statement is the specific one (the CreateUser note is a general "for example"), so:
///   required for CONNECT_MANAGED (where both agree it is wanted), refused for SAML. A client
///   that follows this works under either reading for CONNECT_MANAGED, and is refused here,
///   not in production, if it sends an Email to a SAML instance.
/// - EXISTING_DIRECTORY: the directory provides names and email; nothing is required.
///
/// An empty string counts as missing.
pub fn identity(
    identity_management: &str,
    info: Option<&IdentityInfo>,
    path: &str,
) -> ApiResult<()> {
    let empty = IdentityInfo::default();
    let info = info.unwrap_or(&empty);
    let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    let (names_required, email) = match identity_management {
        "CONNECT_MANAGED" => (true, Some(true)),
        "SAML" => (true, Some(false)),
        _ => (false, None),
    };
    if names_required {
        for (member, value) in [
            ("FirstName", &info.first_name),
            ("LastName", &info.last_name),
        ] {
            if !given(value) {
                return Err(ApiError::invalid_parameter(format!(
                    "'{path}.{member}' is required for an instance whose identity management \
                     type is {identity_management}"
                )));
            }
        }
    }
    match email {
        Some(true) if !given(&info.email) => {
            return Err(ApiError::invalid_parameter(format!(
                "'{path}.Email' is required for an instance that uses Connect for identity \
                 management"
            )));
        }
        Some(false) if info.email.is_some() => {
            return Err(ApiError::invalid_parameter(format!(
                "'{path}.Email' cannot be set for an instance that uses SAML for identity \
                 management"
            )));
        }
        _ => {}
    }
    if identity_management == "CONNECT_MANAGED" {
        for (member, value, max) in [
            ("FirstName", &info.first_name, 255),
            ("LastName", &info.last_name, 256),
        ] {
            if let Some(v) = value {
                validate::length(&format!("{path}.{member}"), v, 1, max)?;
            }
        }
    }
    for (member, value) in [
        ("FirstName", &info.first_name),
        ("LastName", &info.last_name),
    ] {
        if value.as_deref().is_some_and(|v| !is_nfc(v)) {
            return Err(ApiError::invalid_parameter(format!(
                "'{path}.{member}' must be in Unicode Normalization Form C (NFC): decomposed \
                 characters and combining marks are not accepted"
            )));
        }
    }
    Ok(())
}

/// After-contact-work limits: at most 2,000,000 seconds, in PhoneConfig and in every
/// per-channel configuration (agent-first callbacks included).
pub fn after_contact_work_limits(
    phone: Option<&PhoneConfig>,
    per_channel: Option<&[AfterContactWorkConfigPerChannel]>,
) -> ApiResult<()> {
    let check = |path: String, limit: Option<i32>| match limit {
        Some(l) if l > MAX_AFTER_CONTACT_WORK => Err(ApiError::constraint(
            &path,
            format!("Member must have value less than or equal to {MAX_AFTER_CONTACT_WORK}"),
        )),
        _ => Ok(()),
    };
    if let Some(p) = phone {
        check(
            "PhoneConfig.AfterContactWorkTimeLimit".into(),
            p.after_contact_work_time_limit,
        )?;
    }
    for (i, c) in per_channel.unwrap_or_default().iter().enumerate() {
        check(
            format!(
                "AfterContactWorkConfigs[{i}].AfterContactWorkConfig.AfterContactWorkTimeLimit"
            ),
            c.after_contact_work_config.after_contact_work_time_limit,
        )?;
        if let Some(cb) = &c.agent_first_callback_after_contact_work_config {
            check(
                format!(
                    "AfterContactWorkConfigs[{i}].AgentFirstCallbackAfterContactWorkConfig.AfterContactWorkTimeLimit"
                ),
                cb.after_contact_work_time_limit,
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_by_identity_management_type() {
        for ok in [
            "testuser",
            "test.user_1-a",
            "a@example.com",
            &"u".repeat(20),
        ] {
            assert!(username("CONNECT_MANAGED", ok).is_ok(), "{ok}");
        }
        assert!(username("SAML", &"u".repeat(64)).is_ok());
        assert!(username("SAML", "first.last@corp.example.com").is_ok());
        for (idm, bad, says) in [
            ("CONNECT_MANAGED", "u".repeat(21), "at most 20"),
            ("EXISTING_DIRECTORY", "u".repeat(21), "at most 20"),
            ("SAML", "u".repeat(65), "at most 64"),
            ("SAML", "testuser@example".into(), "email format"),
            ("CONNECT_MANAGED", "a@b@example.com".into(), "email format"),
            ("SAML", "plus+user".into(), "only letters"),
            ("CONNECT_MANAGED", "álice".into(), "only letters"),
        ] {
            let e = username(idm, &bad).unwrap_err();
            assert_eq!(e.error_type, "InvalidParameterException");
            assert!(
                e.message.contains("'Username'") && e.message.contains(says),
                "{e}"
            );
        }
    }

    #[test]
    fn identity_fields_by_identity_management_type() {
        let info = |first: Option<&str>, last: Option<&str>, email: Option<&str>| IdentityInfo {
            first_name: first.map(str::to_string),
            last_name: last.map(str::to_string),
            email: email.map(str::to_string),
            ..IdentityInfo::default()
        };
        let full = info(Some("Ana"), Some("Lee"), Some("ana@example.com"));
        assert!(identity("CONNECT_MANAGED", Some(&full), "IdentityInfo").is_ok());
        assert!(identity("EXISTING_DIRECTORY", None, "IdentityInfo").is_ok());
        let saml = info(Some("Ana"), Some("Lee"), None);
        assert!(identity("SAML", Some(&saml), "IdentityInfo").is_ok());
        for (idm, i, member) in [
            ("CONNECT_MANAGED", None, "FirstName"),
            (
                "CONNECT_MANAGED",
                Some(info(Some("A"), None, Some("a@b.co"))),
                "LastName",
            ),
            (
                "CONNECT_MANAGED",
                Some(info(Some("A"), Some("B"), None)),
                "Email",
            ),
            (
                "CONNECT_MANAGED",
                Some(info(Some(""), Some("B"), Some("a@b.co"))),
                "FirstName",
            ),
            (
                "SAML",
                Some(info(Some("A"), Some("B"), Some("a@b.co"))),
                "Email",
            ),
            ("SAML", Some(info(None, Some("B"), None)), "FirstName"),
            (
                "CONNECT_MANAGED",
                Some(info(Some("A"), Some(&"b".repeat(257)), Some("a@b.co"))),
                "LastName",
            ),
            // "e" + combining acute accent: the decomposed form of "é".
            (
                "SAML",
                Some(info(Some("Rene\u{301}"), Some("B"), None)),
                "FirstName",
            ),
            (
                "EXISTING_DIRECTORY",
                Some(info(None, Some("Mu\u{308}ller"), None)),
                "LastName",
            ),
        ] {
            let e = identity(idm, i.as_ref(), "IdentityInfo").unwrap_err();
            assert_eq!(e.error_type, "InvalidParameterException", "{idm} {member}");
            assert!(e.message.contains(&format!("IdentityInfo.{member}")), "{e}");
        }
        // The composed forms are fine.
        let composed = info(Some("René"), Some("Müller"), None);
        assert!(identity("SAML", Some(&composed), "IdentityInfo").is_ok());
        assert!(
            identity(
                "CONNECT_MANAGED",
                Some(&info(Some("A"), Some(&"b".repeat(256)), Some("a@b.co"))),
                "IdentityInfo"
            )
            .is_ok()
        );
    }
}
