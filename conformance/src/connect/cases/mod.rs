//! The table: every behaviour the Connect emulator implements on purpose, as cases. Each area
//! is one module; `all()` is the whole table in the order it runs.

mod consistency;
mod errors;
mod pagination;
mod rules;
mod search;
mod tags;

use aws_sdk_connect::types::{
    AfterContactWorkConfig, AfterContactWorkConfigPerChannel, AutoAcceptConfig, Channel,
    PersistentConnectionConfig, PhoneNumberConfig, PhoneType, UserPhoneConfig,
};

use super::case::Case;

/// The whole table.
pub fn all() -> Vec<Case> {
    [
        rules::cases(),
        errors::cases(),
        pagination::cases(),
        search::cases(),
        tags::cases(),
        consistency::cases(),
    ]
    .concat()
}

/// The cases whose real behaviour is undocumented, with what the emulator assumes, as the
/// Markdown list docs/conformance.md carries (a test keeps it current).
pub fn undocumented_markdown() -> String {
    all()
        .iter()
        .filter_map(|c| match &c.basis {
            super::case::Basis::Undocumented(assumes) => {
                Some(format!("- `{}` ({}): {assumes}\n", c.id, c.call))
            }
            super::case::Basis::Documented(_) => None,
        })
        .collect()
}

/// A case function as the table's `RunFn`.
macro_rules! run {
    ($f:path) => {{
        fn run(
            cx: std::sync::Arc<$crate::connect::cx::Cx>,
        ) -> futures::future::BoxFuture<'static, $crate::connect::case::CaseResult> {
            Box::pin($f(cx))
        }
        run
    }};
}
pub(crate) use run;

/// Extends `name` with `x` to `len` characters (a username at a length limit).
pub fn padded(name: &str, len: usize) -> String {
    let mut s = name.to_string();
    while s.chars().count() < len {
        s.push('x');
    }
    s
}

pub fn auto_accept(channel: Channel, on: bool) -> AutoAcceptConfig {
    AutoAcceptConfig::builder()
        .channel(channel)
        .auto_accept(on)
        .build()
        .expect("channel and auto-accept are set")
}

pub fn acw(channel: Channel, seconds: i32) -> AfterContactWorkConfigPerChannel {
    AfterContactWorkConfigPerChannel::builder()
        .channel(channel)
        .after_contact_work_config(
            AfterContactWorkConfig::builder()
                .after_contact_work_time_limit(seconds)
                .build(),
        )
        .build()
        .expect("channel and limit are set")
}

pub fn phone_number(channel: Channel, phone_type: PhoneType) -> PhoneNumberConfig {
    PhoneNumberConfig::builder()
        .channel(channel)
        .phone_type(phone_type)
        .build()
        .expect("channel and phone type are set")
}

pub fn persistent(channel: Channel, on: bool) -> PersistentConnectionConfig {
    PersistentConnectionConfig::builder()
        .channel(channel)
        .persistent_connection(on)
        .build()
        .expect("channel and setting are set")
}

/// A soft phone's PhoneConfig (the SDK always sends PhoneType).
pub fn soft_phone() -> aws_sdk_connect::types::builders::UserPhoneConfigBuilder {
    UserPhoneConfig::builder().phone_type(PhoneType::SoftPhone)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn case_ids_are_unique_and_name_their_area() {
        let cases = all();
        let ids: HashSet<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids.len(), cases.len(), "duplicate case ids");
        for c in &cases {
            assert!(c.id.starts_with(&format!("{}/", c.area.name())), "{}", c.id);
        }
        assert!(cases.len() >= 80, "{} cases", cases.len());
    }

    #[test]
    fn the_docs_list_every_undocumented_case() {
        let docs = include_str!("../../../../docs/conformance.md");
        let list = undocumented_markdown();
        assert!(
            docs.contains(&list),
            "docs/conformance.md is stale: replace its list of undocumented cases with the output of\n  cargo run -q -p conformance -- connect --list-undocumented\n{list}"
        );
    }

    #[test]
    fn padding_reaches_the_length() {
        assert_eq!(padded("ab", 5), "abxxx");
        assert_eq!(padded("abcdef", 3), "abcdef");
    }
}
