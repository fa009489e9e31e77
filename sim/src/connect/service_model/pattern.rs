//! The model's `pattern` constraints, read the way the service reads them and compiled once.
//!
//! The strings in the model are not all ready-to-use regular expressions:
//! - some are wrapped in `/.../` (Password);
//! - some carry doubled escapes (PhoneNumber is `\\+[1-9]\\d{1,14}$` in the decoded string,
//!   which as written would demand literal backslashes; the service reads `\+[1-9]\d{1,14}$`,
//!   so `+14155550100` is valid);
//! - some use look-ahead (`(?=...)`, `(?!aws:)`), which the `regex` crate lacks: `fancy-regex`
//!   compiles them and hands everything else to `regex`;
//! - some are unanchored (`\+[1-9]\d{1,14}$` has no `^`).

use fancy_regex::{Regex, RegexBuilder};

const SIZE_LIMIT: usize = 256 << 20;

/// A compiled model pattern.
#[derive(Debug)]
pub struct Pattern {
    /// The pattern as the service reads it (wrapper removed, escapes collapsed), for messages.
    pub shown: String,
    regex: Regex,
}

impl Pattern {
    pub fn compile(model: &str) -> Result<Pattern, String> {
        let shown = normalise(model);
        // A bounded repetition of a Unicode class (`[\P{C}\r\n\t]{1,250}`) exceeds the
        // `regex` crate's default 10 MiB program size.
        let regex = RegexBuilder::new(&anchored(&ascii_classes(&shown)))
            .delegate_size_limit(SIZE_LIMIT)
            .build()
            .map_err(|e| format!("pattern {model:?}: {e}"))?;
        Ok(Pattern { shown, regex })
    }

    /// Whether the whole value matches. A match that exceeds fancy-regex's backtracking limit
    /// counts as no match: the stricter answer.
    pub fn matches(&self, value: &str) -> bool {
        self.regex.is_match(value).unwrap_or(false)
    }
}

/// Removes a `/.../` wrapper and collapses doubled escapes.
fn normalise(model: &str) -> String {
    let unwrapped = match model.strip_prefix('/').and_then(|p| p.strip_suffix('/')) {
        Some(inner) if model.len() >= 2 => inner,
        _ => model,
    };
    // A doubled backslash in these patterns always means one escape (`\\d` for `\d`, `\\S`
    // for `\S`, `\\.` for `\.`); none of the served shapes matches a literal backslash. Only
    // pairs are collapsed, so a pattern that mixes both forms (S3Uri) keeps its single escapes.
    unwrapped.replace(r"\\", r"\")
}

/// Smithy says a pattern is not implicitly anchored and Coral matches whole values; the model
/// mixes anchored and unanchored patterns (`\+[1-9]\d{1,14}$` has no `^`). Anchoring every
/// pattern at both ends is the stricter reading: `x+14155550100` is refused.
fn anchored(pattern: &str) -> String {
    format!("^(?:{pattern})$")
}

/// The service is Java, where `\d` and `\w` are ASCII; in the `regex` crate they are Unicode
/// (`\d` would take Arabic-Indic digits). Rewrites them to their ASCII classes, inside and
/// outside brackets. The negated forms are left Unicode, which is the stricter side for them.
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut depth = 0usize;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('d') if depth > 0 => out.push_str("0-9"),
                Some('d') => out.push_str("[0-9]"),
                Some('w') if depth > 0 => out.push_str("A-Za-z0-9_"),
                Some('w') => out.push_str("[A-Za-z0-9_]"),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' => {
                depth += 1;
                out.push(c);
            }
            ']' if depth > 0 => {
                depth -= 1;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_wrapped_look_ahead_password() {
        let p = Pattern::compile(r"/^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[a-zA-Z\d\S]{8,64}$/").unwrap();
        assert_eq!(
            p.shown,
            r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[a-zA-Z\d\S]{8,64}$"
        );
        assert!(p.matches("Abcdefg1"));
        assert!(p.matches("S3cret-Passw0rd-xyz"));
        for bad in [
            "Abcdef1",
            "alllower1",
            "ALLUPPER1",
            "NoDigitsHere",
            "Has Space1a",
            &"Aa1".repeat(22),
            // An Arabic-Indic digit is not a digit to Java's `\d`.
            "Abcdefg\u{0663}",
        ] {
            assert!(!p.matches(bad), "{bad}");
        }
    }

    #[test]
    fn doubled_escapes_mean_single_escapes() {
        let p = Pattern::compile(r"\\+[1-9]\\d{1,14}$").unwrap();
        assert_eq!(p.shown, r"\+[1-9]\d{1,14}$");
        assert!(p.matches("+14155550100"));
        assert!(!p.matches(r"\\14155550100"));
        // The single-escaped form of the same pattern (SensitivePhoneNumber) reads the same.
        let q = Pattern::compile(r"\+[1-9]\d{1,14}$").unwrap();
        for v in [
            "+14155550100",
            "14155550100",
            "+04155550100",
            "+1",
            "+1415555010012345",
        ] {
            assert_eq!(p.matches(v), q.matches(v), "{v}");
        }
    }

    #[test]
    fn unanchored_patterns_match_whole_values() {
        let p = Pattern::compile(r"\+[1-9]\d{1,14}$").unwrap();
        assert!(!p.matches("x+14155550100"));
        assert!(!p.matches("+14155550100\n"));
        let r = Pattern::compile(r"^[0-9a-zA-Z._-]+").unwrap();
        assert!(r.matches("rule-1"));
        assert!(!r.matches("rule 1"));
    }

    #[test]
    fn negative_look_ahead_and_unicode_classes() {
        let p = Pattern::compile(r"^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]*$").unwrap();
        assert!(p.matches("connect.userops.dev/owner"));
        assert!(p.matches("cost center"));
        assert!(p.matches("Kostenstelle-ü"));
        assert!(!p.matches("aws:cloudformation"));
        assert!(!p.matches("bad*key"));
    }

    #[test]
    fn mixed_escapes_keep_single_ones() {
        let p = Pattern::compile(r"s3://\S+/.+|https://\\S+\\.s3\\.\\S+\\.amazonaws\\.com/\\S+")
            .unwrap();
        assert!(p.matches("s3://bucket/key"));
        assert!(p.matches("https://b.s3.us-east-1.amazonaws.com/k"));
        assert!(!p.matches("ftp://b/k"));
    }
}
