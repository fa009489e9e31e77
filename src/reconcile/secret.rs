//! Reads the initial password from the referenced Secret, only when a user is created. The value
//! never leaves this module except as a redacted `Password`.

use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use crate::crd::SecretKeyRef;
use crate::error::{Error, Result};
use crate::model::Password;

const FIELD: &str = "spec.passwordSecretRef";

pub async fn read_password(
    client: &kube::Client,
    namespace: &str,
    r: &SecretKeyRef,
) -> Result<Password> {
    check_reference(r)?;
    let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = secrets
        .get_opt(&r.name)
        .await?
        .ok_or_else(|| Error::SecretNotFound {
            field: format!("{FIELD}.name"),
            message: format!("Secret {namespace}/{} not found", r.name),
        })?;
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(&r.key))
        .map(|b| b.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(&r.key))
                .map(|s| s.clone().into_bytes())
        })
        .ok_or_else(|| Error::SecretNotFound {
            field: format!("{FIELD}.key"),
            message: format!("Secret {namespace}/{} has no key {:?}", r.name, r.key),
        })?;
    let value = String::from_utf8(bytes).map_err(|_| {
        Error::invalid(
            format!("{FIELD}.key"),
            format!(
                "the value of key {:?} in Secret {} is not UTF-8",
                r.key, r.name
            ),
        )
    })?;
    // A trailing newline is the usual accident of `kubectl create secret --from-file`.
    let value = value.strip_suffix('\n').unwrap_or(&value).to_string();
    check_password_rules(&value).map_err(|why| {
        Error::invalid(
            format!("{FIELD}.key"),
            format!("the password in Secret {} key {:?} {why}", r.name, r.key),
        )
    })?;
    Ok(Password::new(value))
}

/// A Secret name is a DNS subdomain and a key `[-._a-zA-Z0-9]+`. Checked before any API call:
/// kube pastes the name into the request path unchecked, so `kube-system/x` or
/// `../../kube-system/secrets/x` would address another path than a Secret of this namespace.
fn check_reference(r: &SecretKeyRef) -> Result<()> {
    let name_ok = (1..=253).contains(&r.name.len())
        && r.name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        });
    if !name_ok {
        return Err(Error::invalid(
            format!("{FIELD}.name"),
            format!(
                "{:?} is not a Secret name (a DNS subdomain: lowercase letters, digits, '-' and '.'); the Secret must be in the resource's namespace",
                r.name
            ),
        ));
    }
    let key_ok = (1..=253).contains(&r.key.len())
        && r.key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && r.key != "."
        && r.key != "..";
    if !key_ok {
        return Err(Error::invalid(
            format!("{FIELD}.key"),
            format!(
                "{:?} is not a Secret key (letters, digits, '-', '_' and '.')",
                r.key
            ),
        ));
    }
    Ok(())
}

/// Connect's rule (model pattern `^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[a-zA-Z\d\S]{8,64}$`), checked
/// here so a bad password is reported on the field instead of as a rejected CreateUser. The
/// reason never quotes the value.
pub fn check_password_rules(p: &str) -> std::result::Result<(), &'static str> {
    let len = p.chars().count();
    if len == 0 {
        return Err("is empty");
    }
    if !(8..=64).contains(&len) {
        return Err("must be 8 to 64 characters long");
    }
    if p.chars().any(char::is_whitespace) {
        return Err("must not contain whitespace");
    }
    // Stricter than Connect (whose `\S` admits them): nobody can type a NUL or an escape at the
    // login page, so such a value is a binary file or an encoding accident, not a password.
    if p.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    if !p.chars().any(|c| c.is_ascii_lowercase())
        || !p.chars().any(|c| c.is_ascii_uppercase())
        || !p.chars().any(|c| c.is_ascii_digit())
    {
        return Err("must contain a lowercase letter, an uppercase letter and a digit");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{check_password_rules, check_reference};
    use crate::crd::SecretKeyRef;

    #[test]
    fn references_stay_in_the_namespace_and_name_valid_keys() {
        let r = |name: &str, key: &str| SecretKeyRef {
            name: name.into(),
            key: key.into(),
        };
        assert!(check_reference(&r("agent-passwords", "alice")).is_ok());
        assert!(check_reference(&r("a.b-c", "A_b.c-1")).is_ok());
        for (name, key, field) in [
            ("other-ns/secret", "k", "spec.passwordSecretRef.name"),
            (
                "../../kube-system/secrets/x",
                "k",
                "spec.passwordSecretRef.name",
            ),
            ("Upper", "k", "spec.passwordSecretRef.name"),
            ("-lead", "k", "spec.passwordSecretRef.name"),
            ("a..b", "k", "spec.passwordSecretRef.name"),
            ("s", "../etc", "spec.passwordSecretRef.key"),
            ("s", "..", "spec.passwordSecretRef.key"),
            ("s", "k\u{200b}", "spec.passwordSecretRef.key"),
        ] {
            let e = check_reference(&r(name, key)).unwrap_err();
            assert!(e.to_string().starts_with(field), "{name} {key}: {e}");
        }
    }

    #[test]
    fn password_rules_follow_connect() {
        assert!(check_password_rules("Passw0rd").is_ok());
        assert!(check_password_rules("Pässw0rd!").is_ok());
        assert_eq!(check_password_rules(""), Err("is empty"));
        assert!(check_password_rules("Pa0").is_err());
        assert!(check_password_rules(&format!("Pa0{}", "x".repeat(62))).is_err());
        assert!(check_password_rules("password1").is_err());
        assert!(check_password_rules("PASSWORD1").is_err());
        assert!(check_password_rules("Password").is_err());
        assert!(check_password_rules("Pass word1").is_err());
        assert_eq!(
            check_password_rules("Passw0rd\0x"),
            Err("must not contain control characters")
        );
        assert!(check_password_rules("Passw0rd\u{1b}").is_err());
    }
}
