//! Renders values the way the Go apiserver prints them in error messages (`%q`, `%v`, `%#v`
//! of decoded JSON), so messages read exactly like a real cluster's.

use serde_json::{Number, Value};

/// Go `strconv.Quote`.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if !is_printable(c) => {
                if (c as u32) < 0x10000 {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// An approximation of Go's `unicode.IsPrint`: no controls, no spaces but ' ', no format
/// characters.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c, '\u{ad}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
        || ('\u{e000}'..='\u{f8ff}').contains(&c))
}

/// Go `%v` of a float64: shortest digits, in exponent form when the exponent is < -4 or
/// >= 6 (fmt's rule for the shortest form, e.g. "1e+06").
pub(super) fn float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        format!("{f}")
    }
}

/// A JSON number as the apiserver decodes it: int64 when it fits, else float64.
pub(super) fn number(n: &Number) -> String {
    match n.as_i64() {
        Some(i) => i.to_string(),
        None => float(n.as_f64().unwrap_or(0.0)),
    }
}

/// Go `%#v` of a decoded JSON value held in an `interface{}`.
pub(super) fn sharp_v(v: &Value) -> String {
    fn inner(v: &Value, depth: usize, out: &mut String) {
        if depth > 64 {
            out.push_str("...");
            return;
        }
        match v {
            Value::Null => out.push_str("interface {}(nil)"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Number(n) => out.push_str(&number(n)),
            Value::String(s) => out.push_str(&quote(s)),
            Value::Array(a) => {
                out.push_str("[]interface {}{");
                for (i, x) in a.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    inner(x, depth + 1, out);
                }
                out.push('}');
            }
            Value::Object(m) => {
                // fmt sorts map keys; serde_json's map is already sorted.
                out.push_str("map[string]interface {}{");
                for (i, (k, x)) in m.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&quote(k));
                    out.push(':');
                    inner(x, depth + 1, out);
                }
                out.push('}');
            }
        }
    }
    let mut out = String::new();
    inner(v, 0, &mut out);
    out
}

/// How `field.Error.ErrorBody` (apimachinery of Kubernetes 1.32) prints a bad value.
pub(super) fn bad_value(v: &Value) -> String {
    match v {
        Value::Null => quote("null"),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => number(n),
        Value::String(s) => quote(s),
        _ => sharp_v(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_like_go() {
        assert_eq!(float(1.5), "1.5");
        assert_eq!(float(100000.0), "100000");
        assert_eq!(float(1_000_000.0), "1e+06");
        assert_eq!(float(2_000_000.0), "2e+06");
        assert_eq!(float(1_234_567.0), "1.234567e+06");
        assert_eq!(float(0.0001), "0.0001");
        assert_eq!(float(0.00001), "1e-05");
        assert_eq!(float(-2.5), "-2.5");
    }

    #[test]
    fn values_like_go() {
        assert_eq!(quote("a\"b\n"), r#""a\"b\n""#);
        assert_eq!(quote("é"), "\"é\"");
        assert_eq!(quote("\u{0}"), r#""\x00""#);
        assert_eq!(bad_value(&json!(null)), "\"null\"");
        assert_eq!(bad_value(&json!(3)), "3");
        assert_eq!(bad_value(&json!("x")), "\"x\"");
        assert_eq!(
            bad_value(&json!({"name": "a", "n": 1})),
            r#"map[string]interface {}{"n":1, "name":"a"}"#
        );
        assert_eq!(
            bad_value(&json!(["a", null])),
            r#"[]interface {}{"a", interface {}(nil)}"#
        );
        assert_eq!(
            bad_value(&json!(18446744073709551615u64)),
            "1.8446744073709552e+19"
        );
    }
}
