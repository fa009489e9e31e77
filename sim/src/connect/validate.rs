//! Helpers for the service rules the model's shapes do not encode (the shapes themselves,
//! lengths, enums, ranges and patterns, are checked from the model by `service_model` before
//! an operation runs). Every error names the member and never quotes its value.

use std::sync::LazyLock;

use regex::Regex;

use super::errors::{ApiError, ApiResult};

pub const CHANNELS: &[&str] = &["VOICE", "CHAT", "TASK", "EMAIL"];

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

/// `MaxResults` (its range is the model's): absent means `default`.
pub fn max_results(value: Option<i64>, default: usize) -> usize {
    value.map_or(default, |v| usize::try_from(v).unwrap_or(default))
}

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,63}$").expect("static regex")
});

/// The pattern UserIdentityInfo's documentation gives for email addresses
/// (`(?=^.{0,265}$)[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,63}`); the model's Email shape
/// carries no pattern.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_pattern() {
        assert!(email("E", "alice@example.com").is_ok());
        assert!(email("E", "alice").is_err());
        assert!(email("E", "alice@example").is_err());
        let long = format!("{}@example.com", "a".repeat(260));
        let e = email("IdentityInfo.Email", &long).unwrap_err();
        assert!(
            e.message.contains("'IdentityInfo.Email'") && !e.message.contains(&long),
            "{e}"
        );
    }

    #[test]
    fn lengths_count_characters() {
        assert!(length("N", "ééé", 1, 3).is_ok());
        assert!(length("N", "éééé", 1, 3).is_err());
        assert!(length("N", "", 1, 3).is_err());
    }
}
