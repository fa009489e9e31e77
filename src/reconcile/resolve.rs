//! Spec -> desired `UserFields`: names and ids checked against the instance's catalog, so a typo
//! is reported on the exact field before any Connect write.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::connect::{Catalog, InstanceCatalog};
use crate::crd::{ChannelConfig, ConnectUserSpec, OWNER_TAG, ProfileRef};
use crate::error::{Error, Result};
use crate::model::{
    ChannelSettings, Channels, Identity, InstanceRef, NamedId, Phone, UserFields, level_from_f64,
};

/// How stale the catalog may be before a name that isn't in it is looked up again.
const REFRESH_ON_MISS: Duration = Duration::from_secs(30);

pub async fn desired_fields(
    catalog: &Catalog,
    at: &InstanceRef,
    spec: &ConnectUserSpec,
    owner_uid: &str,
) -> Result<UserFields> {
    let cached = catalog.get(at, None).await?;
    match fields_from(&cached, spec, owner_uid) {
        Ok(fields) => Ok(fields),
        Err(_) => {
            let fresh = catalog.get(at, Some(REFRESH_ON_MISS)).await?;
            fields_from(&fresh, spec, owner_uid)
        }
    }
}

pub fn fields_from(
    catalog: &InstanceCatalog,
    spec: &ConnectUserSpec,
    owner_uid: &str,
) -> Result<UserFields> {
    let mut security_profile_ids = std::collections::BTreeSet::new();
    for (i, r) in spec.security_profiles.iter().enumerate() {
        let id = lookup(
            &catalog.security_profiles,
            r,
            &format!("spec.securityProfiles[{i}]"),
            "security profile",
        )?;
        security_profile_ids.insert(id);
    }
    let routing_profile_id = lookup(
        &catalog.routing_profiles,
        &spec.routing_profile,
        "spec.routingProfile",
        "routing profile",
    )?;
    let hierarchy_group_id = match &spec.hierarchy_group {
        Some(r) => Some(lookup(
            &catalog.hierarchy_groups,
            r,
            "spec.hierarchyGroup",
            "hierarchy group",
        )?),
        None => None,
    };
    let identity = spec
        .identity_info
        .as_ref()
        .map(|i| Identity {
            first_name: i.first_name.clone(),
            last_name: i.last_name.clone(),
            email: i.email.clone(),
            secondary_email: i.secondary_email.clone(),
            mobile: i.mobile.clone(),
        })
        .unwrap_or_default();
    let p = &spec.phone_config;
    let phone = Phone {
        phone_type: p.phone_type.as_str().to_string(),
        auto_accept: p.auto_accept,
        after_contact_work_time_limit: p.after_contact_work_time_limit,
        desk_phone_number: p.desk_phone_number.clone(),
        persistent_connection: p.persistent_connection,
    };
    let mut tags: BTreeMap<String, String> = spec.tags.clone();
    tags.insert(OWNER_TAG.to_string(), owner_uid.to_string());
    let proficiencies = spec.proficiencies.as_ref().map(|list| {
        list.iter()
            .map(|p| {
                (
                    (p.attribute_name.clone(), p.attribute_value.clone()),
                    level_from_f64(p.level),
                )
            })
            .collect()
    });
    Ok(UserFields {
        identity: identity.normalized(),
        phone: phone.normalized(),
        channels: channels_from(spec.channel_config.as_ref()),
        proficiencies,
        routing_profile_id,
        security_profile_ids,
        hierarchy_group_id,
        tags,
    })
}

/// The managed per-channel settings; channels with nothing set are left out.
fn channels_from(config: Option<&ChannelConfig>) -> Channels {
    let mut channels = Channels::default();
    let Some(config) = config else {
        return channels;
    };
    channels.voice_enhancement = config
        .voice
        .as_ref()
        .map(|v| v.voice_enhancement_mode.as_str().to_string());
    for (name, settings) in [
        ("CHAT", &config.chat),
        ("TASK", &config.task),
        ("EMAIL", &config.email),
    ] {
        if let Some(s) = settings
            && (s.auto_accept.is_some() || s.after_contact_work_time_limit.is_some())
        {
            channels.per_channel.insert(
                name.to_string(),
                ChannelSettings {
                    auto_accept: s.auto_accept,
                    after_contact_work_time_limit: s.after_contact_work_time_limit,
                },
            );
        }
    }
    channels
}

pub(super) fn lookup(known: &[NamedId], r: &ProfileRef, field: &str, what: &str) -> Result<String> {
    match (&r.id, &r.name) {
        (Some(id), None) => known
            .iter()
            .find(|k| &k.id == id)
            .map(|k| k.id.clone())
            .ok_or_else(|| {
                Error::invalid(
                    format!("{field}.id"),
                    format!("no {what} with id {id:?} in this instance"),
                )
            }),
        (None, Some(name)) => {
            let matches: Vec<&NamedId> = known.iter().filter(|k| &k.name == name).collect();
            match matches.as_slice() {
                [one] => Ok(one.id.clone()),
                [] => Err(Error::invalid(
                    format!("{field}.name"),
                    format!("no {what} named {name:?} in this instance"),
                )),
                _ => Err(Error::invalid(
                    format!("{field}.name"),
                    format!(
                        "{} {what}s are named {name:?}; refer to one by id",
                        matches.len()
                    ),
                )),
            }
        }
        _ => Err(Error::invalid(
            field,
            "exactly one of id or name must be set",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IdentityManagement;

    fn catalog() -> InstanceCatalog {
        let n = |id: &str, name: &str| NamedId {
            id: id.into(),
            name: name.into(),
        };
        InstanceCatalog {
            fetched: std::time::Instant::now(),
            identity_management: IdentityManagement::ConnectManaged,
            security_profiles: vec![
                n("sp-1", "Agent"),
                n("sp-2", "Admin"),
                n("sp-3", "Dup"),
                n("sp-4", "Dup"),
            ],
            routing_profiles: vec![n("rp-1", "Basic")],
            hierarchy_groups: vec![n("hg-1", "Tier1")],
        }
    }

    fn spec(yaml: &str) -> ConnectUserSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    const BASE: &str = "instanceId: i-1\nusername: alice\nroutingProfile: {name: Basic}\n";

    #[test]
    fn names_and_ids_resolve_and_owner_tag_is_added() {
        let s = spec(&format!(
            "{BASE}securityProfiles: [{{name: Agent}}, {{id: sp-2}}]\nhierarchyGroup: {{name: Tier1}}\ntags: {{team: a}}"
        ));
        let f = fields_from(&catalog(), &s, "uid-1").unwrap();
        assert_eq!(
            f.security_profile_ids,
            ["sp-1".to_string(), "sp-2".to_string()].into()
        );
        assert_eq!(f.routing_profile_id, "rp-1");
        assert_eq!(f.hierarchy_group_id.as_deref(), Some("hg-1"));
        assert_eq!(f.tags.get(OWNER_TAG).map(String::as_str), Some("uid-1"));
        assert_eq!(f.tags.get("team").map(String::as_str), Some("a"));
    }

    #[test]
    fn channel_config_and_proficiencies_resolve_only_what_is_set() {
        let s = spec(&format!(
            "{BASE}securityProfiles: [{{name: Agent}}]\nchannelConfig: {{voice: {{voiceEnhancementMode: VOICE_ISOLATION}}, chat: {{autoAccept: true}}, task: {{}}}}\nproficiencies: [{{attributeName: Language, attributeValue: English, level: 3.5}}]"
        ));
        let f = fields_from(&catalog(), &s, "u").unwrap();
        assert_eq!(
            f.channels.voice_enhancement.as_deref(),
            Some("VOICE_ISOLATION")
        );
        assert_eq!(f.channels.per_channel.len(), 1, "{:?}", f.channels);
        assert_eq!(f.channels.per_channel["CHAT"].auto_accept, Some(true));
        assert_eq!(
            f.proficiencies.unwrap()[&("Language".to_string(), "English".to_string())],
            350
        );
        let s = spec(&format!("{BASE}securityProfiles: [{{name: Agent}}]"));
        let f = fields_from(&catalog(), &s, "u").unwrap();
        assert!(f.channels.is_empty() && f.proficiencies.is_none());
    }

    #[test]
    fn unknown_name_names_the_field() {
        let s = spec(&format!(
            "{BASE}securityProfiles: [{{name: Agent}}, {{name: Nope}}]"
        ));
        let err = fields_from(&catalog(), &s, "u").unwrap_err();
        assert_eq!(err.metric_label(), "InvalidSpec");
        assert!(
            err.to_string()
                .starts_with("spec.securityProfiles[1].name:"),
            "{err}"
        );
    }

    #[test]
    fn unknown_id_and_ambiguous_name_are_rejected() {
        let s = spec(
            "instanceId: i\nusername: a\nroutingProfile: {id: rp-9}\nsecurityProfiles: [{name: Agent}]",
        );
        assert!(
            fields_from(&catalog(), &s, "u")
                .unwrap_err()
                .to_string()
                .starts_with("spec.routingProfile.id:")
        );
        let s = spec(&format!("{BASE}securityProfiles: [{{name: Dup}}]"));
        assert!(
            fields_from(&catalog(), &s, "u")
                .unwrap_err()
                .to_string()
                .contains("refer to one by id")
        );
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::crd::{IdentityInfo, PhoneConfig, PhoneType};
    use crate::model::{IdentityManagement, arb};
    use proptest::collection::{btree_map, vec};
    use proptest::option;
    use proptest::prelude::*;

    fn catalog() -> InstanceCatalog {
        let n = |id: &str, name: &str| NamedId {
            id: id.into(),
            name: name.into(),
        };
        InstanceCatalog {
            fetched: std::time::Instant::now(),
            identity_management: IdentityManagement::ConnectManaged,
            security_profiles: vec![n("sp-1", "Agent"), n("sp-2", "Admin")],
            routing_profiles: vec![n("rp-1", "Basic")],
            hierarchy_groups: vec![n("hg-1", "Tier1")],
        }
    }

    /// A reference by id or by name (or both, or neither), known or not.
    fn reference() -> impl Strategy<Value = ProfileRef> {
        let part = || {
            option::of(prop_oneof![
                "sp-1|sp-2|rp-1|hg-1|Agent|Admin|Basic|Tier1",
                arb::text()
            ])
        };
        (part(), part()).prop_map(|(id, name)| ProfileRef { id, name })
    }

    fn spec() -> impl Strategy<Value = ConnectUserSpec> {
        (
            vec(reference(), 0..4),
            reference(),
            option::of(reference()),
            option::of((
                arb::identity(),
                any::<bool>(),
                any::<i32>(),
                option::of(arb::text()),
            )),
            btree_map(arb::text(), arb::text(), 0..4),
        )
            .prop_map(|(sps, rp, hg, extra, tags)| {
                let mut s: ConnectUserSpec = serde_yaml::from_str(
                    "instanceId: i\nusername: u\nsecurityProfiles: []\nroutingProfile: {id: rp-1}",
                )
                .unwrap();
                s.security_profiles = sps;
                s.routing_profile = rp;
                s.hierarchy_group = hg;
                if let Some((i, desk, acw, number)) = extra {
                    s.identity_info = Some(IdentityInfo {
                        first_name: i.first_name,
                        last_name: i.last_name,
                        email: i.email,
                        secondary_email: i.secondary_email,
                        mobile: i.mobile,
                    });
                    s.phone_config = PhoneConfig {
                        phone_type: if desk {
                            PhoneType::DeskPhone
                        } else {
                            PhoneType::SoftPhone
                        },
                        auto_accept: desk,
                        after_contact_work_time_limit: acw,
                        desk_phone_number: number,
                        persistent_connection: None,
                    };
                }
                s.tags = tags;
                s
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any spec (the CRD's admission rules not assumed) resolves to fields that carry the
        /// ownership tag and only catalog ids, or fails naming a spec field; it never panics.
        #[test]
        fn any_spec_resolves_or_names_the_field(s in spec(), uid in "[a-f0-9-]{1,36}") {
            let c = catalog();
            match fields_from(&c, &s, &uid) {
                Ok(f) => {
                    prop_assert_eq!(f.tags.get(OWNER_TAG), Some(&uid));
                    prop_assert_eq!(f.tags.len(), s.tags.len() + usize::from(!s.tags.contains_key(OWNER_TAG)));
                    prop_assert!(f.security_profile_ids.iter().all(|id| id.starts_with("sp-")));
                    prop_assert!(f.security_profile_ids.len() <= s.security_profiles.len());
                    prop_assert_eq!(f.routing_profile_id.as_str(), "rp-1");
                    prop_assert!(f.hierarchy_group_id.as_deref().is_none_or(|h| h == "hg-1"));
                    prop_assert_eq!(&f.identity, &f.identity.normalized());
                    prop_assert!(crate::diff::diff(&f, &f).is_empty());
                }
                Err(crate::error::Error::InvalidSpec { field, .. }) => {
                    prop_assert!(field.starts_with("spec."), "{}", field);
                }
                Err(e) => prop_assert!(false, "unexpected error class: {}", e),
            }
        }
    }
}
