//! What Connect requires of a new user by the instance's identity management type (the
//! CreateUser and UserIdentityInfo documentation; the CRD cannot know the type). Checked before
//! CreateUser, so a spec that breaks a rule is reported as InvalidSpec on its field and nothing
//! is written to Connect. The rules the CRD enforces (characters, `@` only in an email form) are
//! checked again, in case an older CRD is installed.
//!
//! - Username: at most 20 characters, or 64 on SAML instances.
//! - passwordSecretRef: required on CONNECT_MANAGED, refused on the others ("it is an error to
//!   include a password"); directoryUserId: EXISTING_DIRECTORY only (refused on SAML, and
//!   Connect-managed instances have no directory).
//! - identityInfo: firstName and lastName required on CONNECT_MANAGED and SAML; email required
//!   on CONNECT_MANAGED and refused on SAML (the two documentation pages disagree about SAML:
//!   the Email member's own "an error is returned" is followed, as the emulator does);
//!   CONNECT_MANAGED names are 1-255 and 1-256 characters; names in Unicode NFC everywhere.
//!
//! An instance whose type the operator does not know gets only the rules that hold everywhere.

use unicode_normalization::is_nfc;

use crate::crd::ConnectUserSpec;
use crate::error::{Error, Result};
use crate::model::IdentityManagement;

/// The first rule `spec` breaks for a new user on an instance of type `idm`.
pub fn check_new_user(spec: &ConnectUserSpec, idm: IdentityManagement) -> Result<()> {
    username(&spec.username, idm)?;
    credentials(spec, idm)?;
    identity(spec, idm)
}

fn type_name(idm: IdentityManagement) -> &'static str {
    match idm {
        IdentityManagement::ConnectManaged => "CONNECT_MANAGED",
        IdentityManagement::Saml => "SAML",
        IdentityManagement::ExistingDirectory => "EXISTING_DIRECTORY",
        IdentityManagement::Other => "unknown",
    }
}

fn username(name: &str, idm: IdentityManagement) -> Result<()> {
    let field = "spec.username";
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_.-".contains(c);
    if !name.chars().all(|c| allowed(c) || c == '@') {
        return Err(Error::invalid(
            field,
            "may contain only letters, digits and the characters _ - . @",
        ));
    }
    if name.contains('@') && !is_email_form(name, allowed) {
        return Err(Error::invalid(
            field,
            "can include @ only in an email form, like user@example.com",
        ));
    }
    let max = match idm {
        IdentityManagement::Saml | IdentityManagement::Other => 64,
        _ => 20,
    };
    let n = name.chars().count();
    if n > max {
        return Err(Error::invalid(
            field,
            format!(
                "{n} characters; Connect allows at most {max} on an instance whose identity \
                 management type is {}{}",
                type_name(idm),
                if max == 20 { " (64 with SAML)" } else { "" }
            ),
        ));
    }
    Ok(())
}

/// `local@domain.tld`: Connect's email pattern `[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,63}`
/// restricted to the username characters.
fn is_email_form(name: &str, allowed: impl Fn(char) -> bool) -> bool {
    let Some((local, domain)) = name.split_once('@') else {
        return false;
    };
    let Some((host, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    !local.is_empty()
        && local.chars().all(&allowed)
        && !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && (2..=63).contains(&tld.len())
        && tld.chars().all(|c| c.is_ascii_alphabetic())
}

fn credentials(spec: &ConnectUserSpec, idm: IdentityManagement) -> Result<()> {
    if idm == IdentityManagement::Other {
        return Ok(());
    }
    let managed = idm == IdentityManagement::ConnectManaged;
    match (&spec.password_secret_ref, managed) {
        (None, true) => {
            return Err(Error::invalid(
                "spec.passwordSecretRef",
                "required: the instance manages its own identities (CONNECT_MANAGED)",
            ));
        }
        (Some(_), false) => {
            return Err(Error::invalid(
                "spec.passwordSecretRef",
                format!(
                    "must not be set: Connect refuses a password on an instance whose identity \
                     management type is {} (users sign in elsewhere)",
                    type_name(idm)
                ),
            ));
        }
        _ => {}
    }
    if spec.directory_user_id.is_some() && idm != IdentityManagement::ExistingDirectory {
        return Err(Error::invalid(
            "spec.directoryUserId",
            format!(
                "must not be set: only an instance with an existing directory \
                 (EXISTING_DIRECTORY) takes one; this one is {}",
                type_name(idm)
            ),
        ));
    }
    Ok(())
}

fn identity(spec: &ConnectUserSpec, idm: IdentityManagement) -> Result<()> {
    let info = spec.identity_info.clone().unwrap_or_default();
    let given = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
    let required = |field: &str, value: &Option<String>| {
        if given(value) {
            Ok(())
        } else {
            Err(Error::invalid(
                format!("spec.identityInfo.{field}"),
                format!(
                    "required on an instance whose identity management type is {}",
                    type_name(idm)
                ),
            ))
        }
    };
    match idm {
        IdentityManagement::ConnectManaged => {
            required("firstName", &info.first_name)?;
            required("lastName", &info.last_name)?;
            required("email", &info.email)?;
            for (field, value, max) in [
                ("firstName", &info.first_name, 255),
                ("lastName", &info.last_name, 256),
            ] {
                let n = value.as_deref().map_or(0, |v| v.chars().count());
                if n > max {
                    return Err(Error::invalid(
                        format!("spec.identityInfo.{field}"),
                        format!("{n} characters; at most {max} on a CONNECT_MANAGED instance"),
                    ));
                }
            }
        }
        IdentityManagement::Saml => {
            required("firstName", &info.first_name)?;
            required("lastName", &info.last_name)?;
            if info.email.is_some() {
                return Err(Error::invalid(
                    "spec.identityInfo.email",
                    "must not be set: Connect refuses an email on an instance that uses SAML",
                ));
            }
        }
        _ => {}
    }
    for (field, value) in [
        ("firstName", &info.first_name),
        ("lastName", &info.last_name),
    ] {
        if value.as_deref().is_some_and(|v| !is_nfc(v)) {
            return Err(Error::invalid(
                format!("spec.identityInfo.{field}"),
                "must be in Unicode normalization form C (composed characters): Connect \
                 refuses decomposed characters and combining marks",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use IdentityManagement::*;

    fn spec(extra: &str) -> ConnectUserSpec {
        serde_yaml::from_str(&format!(
            "instanceId: i\nusername: alice\nsecurityProfiles: [{{name: Agent}}]\nroutingProfile: {{name: Basic}}\n{extra}"
        ))
        .unwrap()
    }

    const MANAGED: &str = "passwordSecretRef: {name: s, key: k}\nidentityInfo: {firstName: Ann, lastName: Lee, email: ann@example.com}\n";
    const SAML: &str = "identityInfo: {firstName: Ann, lastName: Lee}\n";

    /// The field the first broken rule names, or "" when the spec is fine.
    fn field(s: &ConnectUserSpec, idm: IdentityManagement) -> String {
        match check_new_user(s, idm) {
            Ok(()) => String::new(),
            Err(Error::InvalidSpec { field, .. }) => field,
            Err(e) => panic!("not an InvalidSpec: {e}"),
        }
    }

    fn with_username(extra: &str, name: &str) -> ConnectUserSpec {
        let mut s = spec(extra);
        s.username = name.into();
        s
    }

    #[test]
    fn valid_specs_pass_for_their_type() {
        assert_eq!(field(&spec(MANAGED), ConnectManaged), "");
        assert_eq!(field(&spec(SAML), Saml), "");
        assert_eq!(
            field(&spec("directoryUserId: d-1\n"), ExistingDirectory),
            ""
        );
        assert_eq!(field(&spec(""), ExistingDirectory), "");
        assert_eq!(field(&spec(""), Other), "");
        assert_eq!(
            field(&with_username(MANAGED, &"u".repeat(20)), ConnectManaged),
            ""
        );
        assert_eq!(field(&with_username(SAML, &"u".repeat(64)), Saml), "");
        assert_eq!(
            field(&with_username(MANAGED, "a.b@example.com"), ConnectManaged),
            ""
        );
        let composed = "identityInfo: {firstName: René, lastName: Müller}\n";
        assert_eq!(field(&spec(composed), Saml), "");
    }

    #[test]
    fn usernames_by_type() {
        let cases = [
            (with_username(MANAGED, &"u".repeat(21)), ConnectManaged),
            (with_username("", &"u".repeat(21)), ExistingDirectory),
            (with_username(SAML, &"u".repeat(65)), Saml),
            (with_username(SAML, "user@example"), Saml),
            (with_username(SAML, "a@b@example.com"), Saml),
            (with_username(SAML, "@example.com"), Saml),
            (with_username(SAML, "plus+sign"), Saml),
            (with_username(MANAGED, "émile"), ConnectManaged),
        ];
        for (s, idm) in cases {
            assert_eq!(field(&s, idm), "spec.username", "{} on {idm:?}", s.username);
        }
        let e = check_new_user(&with_username(MANAGED, &"u".repeat(21)), ConnectManaged)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("21 characters") && e.contains("at most 20"),
            "{e}"
        );
    }

    #[test]
    fn password_and_directory_id_by_type() {
        let managed_without_password =
            "identityInfo: {firstName: Ann, lastName: Lee, email: ann@example.com}\n";
        assert_eq!(
            field(&spec(managed_without_password), ConnectManaged),
            "spec.passwordSecretRef"
        );
        let saml_with_password = format!("{SAML}passwordSecretRef: {{name: s, key: k}}\n");
        assert_eq!(
            field(&spec(&saml_with_password), Saml),
            "spec.passwordSecretRef"
        );
        assert_eq!(
            field(
                &spec("passwordSecretRef: {name: s, key: k}\n"),
                ExistingDirectory
            ),
            "spec.passwordSecretRef"
        );
        assert_eq!(
            field(&spec(&format!("{SAML}directoryUserId: d-1\n")), Saml),
            "spec.directoryUserId"
        );
        assert_eq!(
            field(
                &spec(&format!("{MANAGED}directoryUserId: d-1\n")),
                ConnectManaged
            ),
            "spec.directoryUserId"
        );
    }

    #[test]
    fn identity_fields_by_type() {
        let pw = "passwordSecretRef: {name: s, key: k}\n";
        let cases = [
            (
                pw.to_string(),
                ConnectManaged,
                "spec.identityInfo.firstName",
            ),
            (
                format!("{pw}identityInfo: {{firstName: Ann, email: a@example.com}}\n"),
                ConnectManaged,
                "spec.identityInfo.lastName",
            ),
            (
                format!("{pw}identityInfo: {{firstName: Ann, lastName: Lee}}\n"),
                ConnectManaged,
                "spec.identityInfo.email",
            ),
            (
                format!(
                    "{pw}identityInfo: {{firstName: '', lastName: Lee, email: a@example.com}}\n"
                ),
                ConnectManaged,
                "spec.identityInfo.firstName",
            ),
            (
                format!(
                    "{pw}identityInfo: {{firstName: Ann, lastName: {}, email: a@example.com}}\n",
                    "l".repeat(257)
                ),
                ConnectManaged,
                "spec.identityInfo.lastName",
            ),
            (String::new(), Saml, "spec.identityInfo.firstName"),
            (
                "identityInfo: {firstName: Ann}\n".into(),
                Saml,
                "spec.identityInfo.lastName",
            ),
            (
                "identityInfo: {firstName: Ann, lastName: Lee, email: a@example.com}\n".into(),
                Saml,
                "spec.identityInfo.email",
            ),
            (
                "identityInfo: {firstName: \"Rene\\u0301\", lastName: Lee}\n".into(),
                Saml,
                "spec.identityInfo.firstName",
            ),
            (
                "identityInfo: {lastName: \"Mu\\u0308ller\"}\n".into(),
                ExistingDirectory,
                "spec.identityInfo.lastName",
            ),
        ];
        for (extra, idm, want) in cases {
            assert_eq!(field(&spec(&extra), idm), want, "{extra} on {idm:?}");
        }
        let saml_long_last = format!(
            "identityInfo: {{firstName: A, lastName: {}}}\n",
            "l".repeat(300)
        );
        assert_eq!(
            field(&spec(&saml_long_last), Saml),
            "",
            "300 is SAML's limit"
        );
    }
}
