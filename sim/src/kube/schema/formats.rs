//! String formats the apiserver enforces (kube-openapi's `strfmt.Default` registry), the
//! translation of schema `pattern`s to the `regex` crate, and Go `time.ParseDuration`.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use regex::Regex;

/// kube-openapi looks formats up with dashes removed ("date-time" == "datetime").
fn normalize(format: &str) -> String {
    format.replace('-', "")
}

/// Whether a CRD `format` is one Kubernetes 1.32 supports; the apiserver strips the others
/// (e.g. int32) from the schema before validating.
pub(super) fn is_known(format: &str) -> bool {
    matches!(
        normalize(format).as_str(),
        "datetime"
            | "date"
            | "duration"
            | "uri"
            | "email"
            | "hostname"
            | "ipv4"
            | "ipv6"
            | "cidr"
            | "mac"
            | "uuid"
            | "uuid3"
            | "uuid4"
            | "uuid5"
            | "isbn"
            | "isbn10"
            | "isbn13"
            | "creditcard"
            | "ssn"
            | "hexcolor"
            | "rgbcolor"
            | "byte"
            | "password"
            | "bsonobjectid"
    )
}

fn re(p: &str) -> Regex {
    // The patterns below are constants; a failure would be a bug caught by the tests.
    Regex::new(p).unwrap_or_else(|_| Regex::new("$^").expect("trivial regex"))
}

static UUID: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$"));
static UUID3: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?3[0-9a-f]{3}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
});
static UUID4: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?4[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static UUID5: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)^[0-9a-f]{8}-?[0-9a-f]{4}-?5[0-9a-f]{3}-?[89ab][0-9a-f]{3}-?[0-9a-f]{12}$")
});
static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^([a-zA-Z0-9\p{S}\p{L}]((-?[a-zA-Z0-9\p{S}\p{L}]{0,62})?)|([a-zA-Z0-9\p{S}\p{L}](([a-zA-Z0-9\-\p{S}\p{L}]{0,61}[a-zA-Z0-9\p{S}\p{L}])?)(\.)){1,}([a-zA-Z0-9\p{S}\p{L}])(-?[a-zA-Z0-9\p{S}\p{L}]){1,62})$",
    )
});
static DATETIME_TIME: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^([0-9]{2}):([0-9]{2}):([0-9]{2})(.[0-9]+)?(z|([+-][0-9]{2}:[0-9]{2}))$")
});
static BASE64: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{4})$")
});
static HEXCOLOR: LazyLock<Regex> = LazyLock::new(|| re(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"));
static RGBCOLOR: LazyLock<Regex> = LazyLock::new(|| {
    let n = r"(0|[1-9]\d?|1\d\d?|2[0-4]\d|25[0-5])";
    re(&format!(r"^rgb\(\s*{n}\s*,\s*{n}\s*,\s*{n}\s*\)$"))
});
static SSN: LazyLock<Regex> = LazyLock::new(|| re(r"^\d{3}[- ]?\d{2}[- ]?\d{4}$"));
static MAC: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5}|[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){7}|[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){19}|[0-9a-fA-F]{4}(?:\.[0-9a-fA-F]{4}){2}|[0-9a-fA-F]{4}(?:\.[0-9a-fA-F]{4}){3}|[0-9a-fA-F]{4}(?:\.[0-9a-fA-F]{4}){9})$",
    )
});
static DURATION_SCALA: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(?:\d+\s*[A-Za-zµ]+\s*)+$"));
static DURATION_PART: LazyLock<Regex> = LazyLock::new(|| re(r"(\d+)\s*([A-Za-zµ]+)"));

/// Whether `s` is valid for the (known) `format`, as kube-openapi decides it.
pub(super) fn check(format: &str, s: &str) -> bool {
    match normalize(format).as_str() {
        "datetime" => is_date_time(s),
        "date" => is_date(s),
        "duration" => parse_duration(s).is_some(),
        "uri" => is_request_uri(s),
        "email" => is_email(s),
        "hostname" => HOSTNAME.is_match(s) && s.len() <= 255 && s.split('.').all(|p| p.len() <= 63),
        "ipv4" => is_ip(s).is_some() && s.contains('.'),
        "ipv6" => is_ip(s).is_some() && s.contains(':'),
        "cidr" => is_cidr(s),
        "mac" => MAC.is_match(s),
        "uuid" => UUID.is_match(s),
        "uuid3" => UUID3.is_match(s),
        "uuid4" => UUID4.is_match(s),
        "uuid5" => UUID5.is_match(s),
        "isbn" => is_isbn10(s) || is_isbn13(s),
        "isbn10" => is_isbn10(s),
        "isbn13" => is_isbn13(s),
        "creditcard" => is_credit_card(s),
        "ssn" => SSN.is_match(s),
        "hexcolor" => HEXCOLOR.is_match(s),
        "rgbcolor" => RGBCOLOR.is_match(s),
        "byte" => BASE64.is_match(s),
        "bsonobjectid" => s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit()),
        _ => true,
    }
}

/// Go `time.Parse("2006-01-02", s)`: exactly four, two and two digits, a real calendar day.
pub(super) fn parse_date(s: &str) -> Option<chrono::NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(r)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    chrono::NaiveDate::from_ymd_opt(y as i32, m, d)
}

fn is_date(s: &str) -> bool {
    parse_date(s).is_some()
}

/// go-openapi's `IsDateTime`: a date, a `t`, then hh:mm:ss[.frac](z|±hh:mm), case-insensitive.
fn is_date_time(s: &str) -> bool {
    if s.len() < 4 {
        return false;
    }
    let lower = s.to_lowercase();
    let mut parts = lower.split('t');
    let (Some(date), Some(time)) = (parts.next(), parts.next()) else {
        return false;
    };
    if !is_date(date) {
        return false;
    }
    let Some(c) = DATETIME_TIME.captures(time) else {
        return false;
    };
    let le = |i: usize, max: &str| c.get(i).is_some_and(|m| m.as_str() <= max);
    le(1, "23") && le(2, "59") && le(3, "59")
}

/// `url.ParseRequestURI`, roughly: an absolute URI (scheme:...) or an absolute path, no
/// spaces or control characters.
fn is_request_uri(s: &str) -> bool {
    if s.is_empty() || s.chars().any(|c| c.is_control() || c == ' ') {
        return false;
    }
    if s.starts_with('/') {
        return true;
    }
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut cs = scheme.chars();
    cs.next().is_some_and(|c| c.is_ascii_alphabetic())
        && cs.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// `mail.ParseAddress`, roughly: `local@domain` or `Name <local@domain>`.
fn is_email(s: &str) -> bool {
    let s = s.trim();
    let addr = match (s.rfind('<'), s.ends_with('>')) {
        (Some(i), true) => &s[i + 1..s.len() - 1],
        _ => s,
    };
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return false;
    };
    let ok = |p: &str| {
        !p.is_empty()
            && !p.starts_with('.')
            && !p.ends_with('.')
            && !p.contains("..")
            && !p
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:@\"".contains(c))
    };
    ok(local) && ok(domain)
}

/// Go `net.ParseIP`: dotted quad (no leading zeros) or IPv6 (possibly IPv4-mapped).
fn is_ip(s: &str) -> Option<()> {
    if s.parse::<Ipv4Addr>().is_ok() || (s.contains(':') && s.parse::<Ipv6Addr>().is_ok()) {
        Some(())
    } else {
        None
    }
}

fn is_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let max = if ip.parse::<Ipv4Addr>().is_ok() {
        32
    } else if ip.contains(':') && ip.parse::<Ipv6Addr>().is_ok() {
        128
    } else {
        return false;
    };
    !bits.is_empty()
        && bits.len() <= 3
        && bits.bytes().all(|b| b.is_ascii_digit())
        && bits.parse::<u32>().is_ok_and(|n| n <= max)
}

fn strip_isbn(s: &str) -> String {
    s.chars().filter(|c| *c != ' ' && *c != '-').collect()
}

fn is_isbn10(s: &str) -> bool {
    let s = strip_isbn(s);
    let b = s.as_bytes();
    if b.len() != 10 || !b[..9].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let last = match b[9] {
        b'X' => 10,
        c if c.is_ascii_digit() => u32::from(c - b'0'),
        _ => return false,
    };
    let sum: u32 = b[..9]
        .iter()
        .enumerate()
        .map(|(i, c)| (i as u32 + 1) * u32::from(c - b'0'))
        .sum::<u32>()
        + 10 * last;
    sum.is_multiple_of(11)
}

fn is_isbn13(s: &str) -> bool {
    let s = strip_isbn(s);
    let b = s.as_bytes();
    if b.len() != 13 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = b[..12]
        .iter()
        .enumerate()
        .map(|(i, c)| u32::from(c - b'0') * if i % 2 == 0 { 1 } else { 3 })
        .sum();
    (10 - sum % 10) % 10 == u32::from(b[12] - b'0')
}

fn is_credit_card(s: &str) -> bool {
    let digits: String = s.chars().filter(|c| *c != ' ' && *c != '-').collect();
    if !(13..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let mut sum = 0;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// Go `time.ParseDuration`, in nanoseconds.
pub(super) fn parse_go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &rest[..int_len];
        rest = &rest[int_len..];
        let mut frac = "";
        if let Some(r) = rest.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac = &r[..n];
            rest = &r[n..];
        }
        if int_part.is_empty() && frac.is_empty() {
            return None;
        }
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| *c == '.' || c.is_ascii_digit())
            .map_or(rest.len(), |(i, _)| i);
        let unit: u128 = match &rest[..unit_len] {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        rest = &rest[unit_len..];
        let v: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        let mut part = v.checked_mul(unit)?;
        if !frac.is_empty() {
            // Only the first 18 digits can matter at nanosecond scale.
            let f = &frac[..frac.len().min(18)];
            let scale = 10u128.pow(f.len() as u32);
            part += f.parse::<u128>().ok()? * unit / scale;
        }
        total = total.checked_add(part)?;
        if total > i64::MAX as u128 {
            return None;
        }
    }
    let t = total as i64;
    Some(if neg { -t } else { t })
}

/// go-openapi's `ParseDuration`: Go syntax, else the scala-like "3 days" form. Nanoseconds.
pub(super) fn parse_duration(s: &str) -> Option<i64> {
    if let Some(d) = parse_go_duration(s) {
        return Some(d);
    }
    if !DURATION_SCALA.is_match(s) {
        return None;
    }
    const UNITS: [(&[&str], i64); 8] = [
        (&["ns", "nano"], 1),
        (&["us", "µs", "micro"], 1_000),
        (&["ms", "milli"], 1_000_000),
        (&["s", "sec"], 1_000_000_000),
        (&["m", "min"], 60_000_000_000),
        (&["h", "hr", "hour"], 3_600_000_000_000),
        (&["d", "day"], 86_400_000_000_000),
        (&["w", "wk", "week"], 604_800_000_000_000),
    ];
    let mut total: i64 = 0;
    let mut ok = false;
    for c in DURATION_PART.captures_iter(s) {
        let factor: i64 = c[1].parse().ok()?;
        let unit = c[2].trim().to_lowercase();
        for (variants, mult) in UNITS {
            let last = variants.len() - 1;
            for (i, v) in variants.iter().enumerate() {
                if (i == last && unit.starts_with(v)) || v.eq_ignore_ascii_case(&unit) {
                    ok = true;
                    total = total.saturating_add(factor.saturating_mul(mult));
                }
            }
        }
    }
    ok.then_some(total)
}

/// Rewrites an ECMA/RE2 `pattern` for the `regex` crate: `\d`, `\w`, `\s` stay ASCII as in
/// Go's RE2 (the crate makes them Unicode-aware), and `[`, `&&`, `~~` inside a class are
/// literals in RE2 but nesting/set operators in the crate.
pub(super) fn translate_pattern(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 8);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let d = chars[i + 1];
            let rep = match (d, in_class) {
                ('d', false) => Some("[0-9]"),
                ('d', true) => Some("0-9"),
                ('w', false) => Some("[0-9A-Za-z_]"),
                ('w', true) => Some("0-9A-Za-z_"),
                ('s', false) => Some(r"[\t\n\f\r ]"),
                ('s', true) => Some(r"\t\n\f\r "),
                _ => None,
            };
            match rep {
                Some(r) => out.push_str(r),
                None => {
                    out.push('\\');
                    out.push(d);
                }
            }
            i += 2;
            continue;
        }
        if in_class {
            match c {
                '[' if chars.get(i + 1) == Some(&':') => {
                    // POSIX class such as [:alpha:]: copy through the closing ":]".
                    let rest: String = chars[i..].iter().collect();
                    match rest.find(":]") {
                        Some(end) if end > 1 => {
                            out.push_str(&rest[..end + 2]);
                            i += rest[..end + 2].chars().count();
                            continue;
                        }
                        _ => out.push_str(r"\["),
                    }
                }
                '[' => out.push_str(r"\["),
                '&' | '~' if chars.get(i + 1) == Some(&c) => {
                    out.push('\\');
                    out.push(c);
                    out.push('\\');
                    out.push(c);
                    i += 2;
                    continue;
                }
                ']' => {
                    in_class = false;
                    out.push(']');
                }
                _ => out.push(c),
            }
            i += 1;
            continue;
        }
        out.push(c);
        i += 1;
        if c == '[' {
            in_class = true;
            if chars.get(i) == Some(&'^') {
                out.push('^');
                i += 1;
            }
            // A leading ']' is a literal in RE2.
            if chars.get(i) == Some(&']') {
                out.push_str(r"\]");
                i += 1;
            }
        }
    }
    out
}

/// Decodes standard or URL-safe base64 (padding optional); `None` if malformed.
pub(super) fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        })
    };
    let body = s.trim_end_matches('=');
    if s.len() - body.len() > 2 || body.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    for chunk in body.as_bytes().chunks(4) {
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= val(*c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_time_like_go_openapi() {
        assert!(check("date-time", "2024-01-02T03:04:05Z"));
        assert!(check("date-time", "2024-01-02t03:04:05.123+01:00"));
        assert!(check("datetime", "2024-02-29T00:00:00Z"));
        assert!(!check("date-time", "2023-02-29T00:00:00Z"));
        assert!(!check("date-time", "2024-01-02T24:00:00Z"));
        assert!(!check("date-time", "2024-01-02 03:04:05Z"));
        assert!(!check("date-time", "yesterday"));
        assert!(!check("date-time", ""));
        assert!(check("date", "2024-12-31"));
        assert!(!check("date", "2024-1-31"));
    }

    #[test]
    fn other_formats() {
        assert!(check("uuid", "123e4567-e89b-12d3-a456-426614174000"));
        assert!(!check("uuid", "123e4567"));
        assert!(check("ipv4", "10.0.0.1"));
        assert!(!check("ipv4", "10.0.0.01"));
        assert!(!check("ipv4", "::1"));
        assert!(check("ipv6", "::1"));
        assert!(check("cidr", "10.0.0.0/8"));
        assert!(!check("cidr", "10.0.0.0/33"));
        assert!(check("email", "a@b.co"));
        assert!(check("email", "Ann <a@b.co>"));
        assert!(!check("email", "not an email"));
        assert!(check("hostname", "example.com"));
        assert!(!check("hostname", "-bad-.com"));
        assert!(check("byte", "aGVsbG8="));
        assert!(!check("byte", "not base64!"));
        assert!(check("duration", "1h30m"));
        assert!(check("duration", "3 days"));
        assert!(!check("duration", "soon"));
        assert!(check("mac", "00:1a:2b:3c:4d:5e"));
        assert!(check("isbn13", "9780306406157"));
        assert!(check("isbn10", "0306406152"));
        assert!(check("creditcard", "4111 1111 1111 1111"));
        assert!(!is_known("k8s-short-name"));
        assert!(check("hexcolor", "#a0B") && !check("hexcolor", "#12"));
        assert!(check("rgbcolor", "rgb(255, 0,10)") && !check("rgbcolor", "rgb(256,0,0)"));
        assert!(check("ssn", "123-45-6789") && !check("ssn", "123456"));
        assert!(check("bsonobjectid", "507f1f77bcf86cd799439011"));
        assert!(check("uri", "https://example.com/x"));
        assert!(!check("uri", "no scheme"));
        assert!(!is_known("int32") && is_known("date-time"));
    }

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("1h30m"), Some(5_400_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_go_duration("-2ms"), Some(-2_000_000));
        assert_eq!(parse_go_duration("0"), Some(0));
        assert_eq!(parse_go_duration("5"), None);
        assert_eq!(parse_go_duration(""), None);
        assert_eq!(parse_go_duration("99999999999999999999h"), None);
    }

    #[test]
    fn pattern_translation() {
        assert_eq!(translate_pattern(r"^\d+$"), "^[0-9]+$");
        assert_eq!(translate_pattern(r"[\w.-]"), "[0-9A-Za-z_.-]");
        assert_eq!(translate_pattern(r"[[]"), r"[\[]");
        assert_eq!(translate_pattern(r"[]a]"), r"[\]a]");
        assert_eq!(translate_pattern(r"[[:alpha:]]"), "[[:alpha:]]");
        assert_eq!(translate_pattern(r"[a&&b]"), r"[a\&\&b]");
        assert_eq!(translate_pattern(r"\."), r"\.");
        let r = Regex::new(&translate_pattern(r"^\d+$")).unwrap();
        assert!(r.is_match("123") && !r.is_match("١٢٣"));
    }

    #[test]
    fn base64_decoding() {
        assert_eq!(decode_base64("aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(decode_base64("aGVsbG8"), Some(b"hello".to_vec()));
        assert_eq!(decode_base64("a"), None);
        assert_eq!(decode_base64("!!!!"), None);
    }
}
