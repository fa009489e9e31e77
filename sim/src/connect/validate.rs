//! Constraints from the Connect service model (lengths, list sizes, enums, patterns), checked
//! on the server because the SDK does not check them. Every error names the member.
//!
//! The model's patterns use look-ahead, which the `regex` crate lacks; those are written out.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::errors::{ApiError, ApiResult};

pub const CHANNELS: &[&str] = &["VOICE", "CHAT", "TASK", "EMAIL"];
pub const PHONE_TYPES: &[&str] = &["SOFT_PHONE", "DESK_PHONE"];
pub const VOICE_ENHANCEMENT_MODES: &[&str] = &["VOICE_ISOLATION", "NOISE_SUPPRESSION", "NONE"];
pub const QUICK_CONNECT_TYPES: &[&str] = &["USER", "QUEUE", "PHONE_NUMBER", "FLOW"];
pub const COMPARISON_TYPES: &[&str] = &["STARTS_WITH", "CONTAINS", "EXACT"];
pub const CONTACT_FLOW_TYPES: &[&str] = &[
    "CONTACT_FLOW",
    "CUSTOMER_QUEUE",
    "CUSTOMER_HOLD",
    "CUSTOMER_WHISPER",
    "AGENT_HOLD",
    "AGENT_WHISPER",
    "OUTBOUND_WHISPER",
    "AGENT_TRANSFER",
    "QUEUE_TRANSFER",
    "CAMPAIGN",
];

/// String length in characters, `min..=max`.
pub fn length(path: &str, value: &str, min: usize, max: usize) -> ApiResult<()> {
    // Connect words string lengths and list sizes alike.
    size(path, value.chars().count(), min, max)
}

/// List or map size, `min..=max`.
pub fn size(path: &str, n: usize, min: usize, max: usize) -> ApiResult<()> {
    if n < min {
        return Err(ApiError::constraint(
            path,
            format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(ApiError::constraint(
            path,
            format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

pub fn range(path: &str, value: i64, min: i64, max: i64) -> ApiResult<()> {
    if value < min {
        return Err(ApiError::constraint(
            path,
            format!("Member must have value greater than or equal to {min}"),
        ));
    }
    if value > max {
        return Err(ApiError::constraint(
            path,
            format!("Member must have value less than or equal to {max}"),
        ));
    }
    Ok(())
}

pub fn one_of(path: &str, value: &str, allowed: &[&str]) -> ApiResult<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(ApiError::constraint(
            path,
            format!(
                "Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ),
        ))
    }
}

/// `MaxResults`: absent means `default`.
pub fn max_results(path: &str, value: Option<i64>, max: i64, default: usize) -> ApiResult<usize> {
    match value {
        None => Ok(default),
        Some(v) => {
            range(path, v, 1, max)?;
            Ok(v as usize)
        }
    }
}

/// `^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[a-zA-Z\d\S]{8,64}$`: 8 to 64 non-blank characters with a
/// lower-case letter, an upper-case letter and a digit. The value is never echoed.
pub fn password(path: &str, value: &str) -> ApiResult<()> {
    let n = value.chars().count();
    let ok = (8..=64).contains(&n)
        && value.chars().all(|c| !c.is_whitespace())
        && value.chars().any(|c| c.is_ascii_lowercase())
        && value.chars().any(|c| c.is_ascii_uppercase())
        && value.chars().any(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ApiError::constraint(
            path,
            "Member must satisfy regular expression pattern: ^(?=.*[a-z])(?=.*[A-Z])(?=.*\\d)[a-zA-Z\\d\\S]{8,64}$",
        ))
    }
}

static E164: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\+[1-9]\d{1,14}$").expect("static regex"));

/// `\+[1-9]\d{1,14}$` (E.164), matched against the whole value as AWS does.
pub fn phone_number(path: &str, value: &str) -> ApiResult<()> {
    if E164.is_match(value) {
        Ok(())
    } else {
        Err(ApiError::constraint(
            path,
            "Member must satisfy regular expression pattern: \\+[1-9]\\d{1,14}$",
        ))
    }
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,63}$").expect("static regex")
});

/// The documented email pattern `(?=^.{0,265}$)[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,63}`.
pub fn email(path: &str, value: &str) -> ApiResult<()> {
    if value.chars().count() <= 265 && EMAIL.is_match(value) {
        Ok(())
    } else {
        Err(ApiError::constraint(
            path,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,63}",
        ))
    }
}

static TAG_KEY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").expect("static regex"));

/// TagKey: 1-128 characters, `^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`.
pub fn tag_key(path: &str, key: &str) -> ApiResult<()> {
    length(path, key, 1, 128)?;
    if key.starts_with("aws:") || !TAG_KEY.is_match(key) {
        return Err(ApiError::constraint(
            path,
            "Member must satisfy regular expression pattern: ^(?!aws:)[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$",
        ));
    }
    Ok(())
}

/// TagMap: 1-50 entries, keys as [`tag_key`], values at most 256 characters.
pub fn tags(path: &str, tags: &BTreeMap<String, String>) -> ApiResult<()> {
    size(path, tags.len(), 1, 50)?;
    for (k, v) in tags {
        tag_key(&format!("{path}.{k}"), k)?;
        length(&format!("{path}.{k}"), v, 0, 256)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_pattern() {
        assert!(password("P", "S3cret-Passw0rd-xyz").is_ok());
        assert!(password("P", "Abcdefg1").is_ok());
        for bad in [
            "short1A",
            "alllower1",
            "ALLUPPER1",
            "NoDigitsHere",
            "Has Space1a",
            &"Aa1".repeat(22),
        ] {
            let e = password("Password", bad).unwrap_err();
            assert_eq!(e.error_type, "InvalidParameterException");
            assert!(
                e.message.contains("'Password'") && !e.message.contains(bad),
                "{e}"
            );
        }
    }

    #[test]
    fn phone_and_tag_patterns() {
        assert!(phone_number("M", "+14155550100").is_ok());
        for bad in [
            "14155550100",
            "+04155550100",
            "+1",
            "x+14155550100",
            "+1415555010012345",
        ] {
            assert!(phone_number("M", bad).is_err(), "{bad}");
        }
        assert!(tag_key("T", "connect.userops.dev/owner").is_ok());
        assert!(tag_key("T", "cost center").is_ok());
        assert!(tag_key("T", "aws:cloudformation").is_err());
        assert!(tag_key("T", "bad*key").is_err());
        assert!(tag_key("T", "").is_err());
        assert!(email("E", "alice@example.com").is_ok());
        assert!(email("E", "alice").is_err());
    }
}
