//! awsQuery responses: `<{Action}Response><{Action}Result>...</...><ResponseMetadata>`, and
//! `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>` for errors.

use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};

pub const NAMESPACE: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// ISO 8601 in UTC, seconds: `2026-11-28T18:00:00Z`.
pub fn timestamp(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An element tree being written; text is escaped.
#[derive(Default)]
pub struct Xml(String);

impl Xml {
    pub fn new() -> Xml {
        Xml::default()
    }

    pub fn text(mut self, name: &str, value: &str) -> Xml {
        self.0
            .push_str(&format!("<{name}>{}</{name}>", escape(value)));
        self
    }

    pub fn opt(self, name: &str, value: Option<&str>) -> Xml {
        match value {
            Some(v) => self.text(name, v),
            None => self,
        }
    }

    pub fn node(mut self, name: &str, inner: Xml) -> Xml {
        self.0.push_str(&format!("<{name}>{}</{name}>", inner.0));
        self
    }
}

pub fn response(action: &str, result: Xml, request_id: &str) -> String {
    format!(
        "<{action}Response xmlns=\"{NAMESPACE}\"><{action}Result>{}</{action}Result><ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
        result.0,
        escape(request_id)
    )
}

pub fn error(kind: &str, code: &str, message: &str, request_id: &str) -> String {
    format!(
        "<ErrorResponse xmlns=\"{NAMESPACE}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
        escape(code),
        escape(message),
        escape(request_id)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        let x = Xml::new().text("A", "<&>'\"");
        assert_eq!(x.0, "<A>&lt;&amp;&gt;&apos;&quot;</A>");
        assert_eq!(
            timestamp(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(86_400)),
            "1970-01-02T00:00:00Z"
        );
    }
}
