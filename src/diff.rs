//! Desired vs observed: the minimal list of Connect update calls, one per changed field group
//! (as Terraform's aws_connect_user does), and nothing when they already match.

use crate::model::{Channels, Phone, Proficiencies, UserFields, UserUpdate};

pub fn diff(desired: &UserFields, observed: &UserFields) -> Vec<UserUpdate> {
    let mut updates = Vec::new();
    if desired.identity.normalized() != observed.identity.normalized() {
        updates.push(UserUpdate::IdentityInfo(desired.identity.normalized()));
    }
    // The phone is the VOICE channel, written as its own per-channel entries, which leave the
    // other channels alone (see connect/convert.rs): the two groups are independent.
    if !phone_matches(&desired.phone, &observed.phone) {
        updates.push(UserUpdate::PhoneConfig(desired.phone.normalized()));
    }
    if !channels_match(&desired.channels, &observed.channels) {
        updates.push(UserUpdate::ChannelConfig(desired.channels.clone()));
    }
    if desired.routing_profile_id != observed.routing_profile_id {
        updates.push(UserUpdate::RoutingProfile(
            desired.routing_profile_id.clone(),
        ));
    }
    if desired.security_profile_ids != observed.security_profile_ids {
        updates.push(UserUpdate::SecurityProfiles(
            desired.security_profile_ids.iter().cloned().collect(),
        ));
    }
    let blank = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    if blank(&desired.hierarchy_group_id) != blank(&observed.hierarchy_group_id) {
        updates.push(UserUpdate::Hierarchy(blank(&desired.hierarchy_group_id)));
    }
    if let (Some(want), Some(have)) = (&desired.proficiencies, &observed.proficiencies) {
        updates.extend(proficiency_updates(want, have));
    }
    let to_tag: std::collections::BTreeMap<_, _> = desired
        .tags
        .iter()
        .filter(|(k, v)| observed.tags.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !to_tag.is_empty() {
        updates.push(UserUpdate::Tag(to_tag));
    }
    let to_untag: Vec<String> = observed
        .tags
        .keys()
        .filter(|k| !desired.tags.contains_key(*k))
        .cloned()
        .collect();
    if !to_untag.is_empty() {
        updates.push(UserUpdate::Untag(to_untag));
    }
    updates
}

/// The phone configuration matches; `persistentConnection` only counts when managed, and an
/// absent observed value counts as false.
fn phone_matches(desired: &Phone, observed: &Phone) -> bool {
    let mut observed = observed.normalized();
    observed.persistent_connection = desired
        .persistent_connection
        .map(|_| observed.persistent_connection.unwrap_or(false));
    desired.normalized() == observed
}

/// Every managed per-channel setting has its desired value in Connect. An absent auto-accept
/// counts as false and an absent voice enhancement as NONE (Connect's defaults); an absent
/// after-contact-work limit is unknown, so it is sent.
fn channels_match(desired: &Channels, observed: &Channels) -> bool {
    let voice = match &desired.voice_enhancement {
        None => true,
        Some(mode) => observed.voice_enhancement.as_deref().unwrap_or("NONE") == mode,
    };
    voice
        && desired.per_channel.iter().all(|(channel, want)| {
            let have = observed
                .per_channel
                .get(channel)
                .cloned()
                .unwrap_or_default();
            want.auto_accept
                .is_none_or(|a| have.auto_accept.unwrap_or(false) == a)
                && want
                    .after_contact_work_time_limit
                    .is_none_or(|l| have.after_contact_work_time_limit == Some(l))
        })
}

/// Associate the missing, update the changed levels, disassociate the extra: each call only
/// when it has something to do.
fn proficiency_updates(want: &Proficiencies, have: &Proficiencies) -> Vec<UserUpdate> {
    let missing: Proficiencies = want
        .iter()
        .filter(|(k, _)| !have.contains_key(*k))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let changed: Proficiencies = want
        .iter()
        .filter(|(k, v)| have.get(*k).is_some_and(|h| h != *v))
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    let extra: Vec<(String, String)> = have
        .keys()
        .filter(|k| !want.contains_key(*k))
        .cloned()
        .collect();
    let mut updates = Vec::new();
    if !missing.is_empty() {
        updates.push(UserUpdate::AssociateProficiencies(missing));
    }
    if !changed.is_empty() {
        updates.push(UserUpdate::UpdateProficiencies(changed));
    }
    if !extra.is_empty() {
        updates.push(UserUpdate::DisassociateProficiencies(extra));
    }
    updates
}

/// Whether a SearchUsers summary shows no difference from the desired fields. The summary lacks
/// email, secondary email, mobile and the proficiencies, so those are left to the periodic full
/// DescribeUser (plus ListUserProficiencies when they are managed). Per-channel settings are
/// in the summary.
pub fn summary_matches(desired: &UserFields, summary: &UserFields) -> bool {
    let mut desired = desired.clone();
    desired.identity.email = None;
    desired.identity.secondary_email = None;
    desired.identity.mobile = None;
    desired.proficiencies = None;
    diff(&desired, summary).is_empty()
}

/// The spec fields touched by a list of updates, deduplicated, in a stable order.
pub fn changed_fields(updates: &[UserUpdate]) -> Vec<&'static str> {
    let mut fields: Vec<&'static str> = updates.iter().map(UserUpdate::field).collect();
    fields.dedup();
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ChannelSettings, Identity, Phone};

    fn base() -> UserFields {
        UserFields {
            identity: Identity {
                first_name: Some("Alice".into()),
                ..Default::default()
            },
            phone: Phone::default(),
            channels: Channels::default(),
            proficiencies: None,
            routing_profile_id: "rp-1".into(),
            security_profile_ids: ["sp-1".to_string()].into(),
            hierarchy_group_id: None,
            tags: [("team".to_string(), "a".to_string())].into(),
        }
    }

    #[test]
    fn equal_fields_need_no_calls() {
        assert!(diff(&base(), &base()).is_empty());
    }

    #[test]
    fn empty_strings_from_connect_equal_absent_fields() {
        let mut observed = base();
        observed.identity.email = Some(String::new());
        observed.phone.desk_phone_number = Some(String::new());
        observed.hierarchy_group_id = Some(String::new());
        assert!(diff(&base(), &observed).is_empty());
    }

    #[test]
    fn each_field_group_maps_to_exactly_one_call() {
        let desired = base();
        type Change = Box<dyn Fn(&mut UserFields)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|o| o.identity.last_name = Some("X".into())),
                "identityInfo",
            ),
            (Box::new(|o| o.phone.auto_accept = true), "phoneConfig"),
            (
                Box::new(|o| o.routing_profile_id = "rp-2".into()),
                "routingProfile",
            ),
            (
                Box::new(|o| {
                    o.security_profile_ids.insert("sp-2".into());
                }),
                "securityProfiles",
            ),
            (
                Box::new(|o| o.hierarchy_group_id = Some("hg".into())),
                "hierarchyGroup",
            ),
        ];
        for (change, field) in cases {
            let mut observed = base();
            change(&mut observed);
            let updates = diff(&desired, &observed);
            assert_eq!(updates.len(), 1, "{field}: {updates:?}");
            assert_eq!(updates[0].field(), field);
        }
    }

    #[test]
    fn security_profile_order_does_not_matter() {
        let mut d = base();
        d.security_profile_ids = ["b".to_string(), "a".to_string()].into();
        let mut o = base();
        o.security_profile_ids = ["a".to_string(), "b".to_string()].into();
        assert!(diff(&d, &o).is_empty());
    }

    #[test]
    fn tags_are_added_changed_and_removed() {
        let mut d = base();
        d.tags.insert("new".into(), "1".into());
        let mut o = base();
        o.tags.insert("team".into(), "b".into());
        o.tags.insert("stale".into(), "x".into());
        let updates = diff(&d, &o);
        assert_eq!(
            updates,
            vec![
                UserUpdate::Tag(
                    [
                        ("new".to_string(), "1".to_string()),
                        ("team".to_string(), "a".to_string())
                    ]
                    .into()
                ),
                UserUpdate::Untag(vec!["stale".into()]),
            ]
        );
        assert_eq!(changed_fields(&updates), vec!["tags"]);
    }

    #[test]
    fn summaries_match_without_the_fields_they_lack() {
        let mut desired = base();
        desired.identity.email = Some("a@example.com".into());
        let mut summary = base();
        summary.identity.email = None;
        assert!(summary_matches(&desired, &summary));
        summary.routing_profile_id = "other".into();
        assert!(!summary_matches(&desired, &summary));
    }

    #[test]
    fn removing_the_hierarchy_group_is_an_update_to_none() {
        let d = base();
        let mut o = base();
        o.hierarchy_group_id = Some("hg-1".into());
        assert_eq!(diff(&d, &o), vec![UserUpdate::Hierarchy(None)]);
    }

    fn with_channels() -> UserFields {
        let mut f = base();
        f.channels.per_channel.insert(
            "CHAT".into(),
            ChannelSettings {
                auto_accept: Some(true),
                after_contact_work_time_limit: Some(60),
            },
        );
        f.channels.voice_enhancement = Some("NOISE_SUPPRESSION".into());
        f.proficiencies = Some(
            [
                (("Language".to_string(), "English".to_string()), 400),
                (("Skill".to_string(), "Billing".to_string()), 250),
            ]
            .into(),
        );
        f
    }

    #[test]
    fn new_field_groups_map_to_their_calls() {
        let desired = with_channels();
        assert!(diff(&desired, &with_channels()).is_empty());
        type Change = Box<dyn Fn(&mut UserFields)>;
        let cases: Vec<(Change, &str)> = vec![
            (
                Box::new(|o| {
                    o.channels.per_channel.get_mut("CHAT").unwrap().auto_accept = Some(false)
                }),
                "ChannelConfig",
            ),
            (
                Box::new(|o| {
                    o.channels
                        .per_channel
                        .get_mut("CHAT")
                        .unwrap()
                        .after_contact_work_time_limit = Some(5)
                }),
                "ChannelConfig",
            ),
            (
                Box::new(|o| o.channels.voice_enhancement = Some("NONE".into())),
                "ChannelConfig",
            ),
            (
                Box::new(|o| {
                    o.proficiencies
                        .as_mut()
                        .unwrap()
                        .remove(&("Skill".to_string(), "Billing".to_string()));
                }),
                "AssociateProficiencies",
            ),
            (
                Box::new(|o| {
                    o.proficiencies
                        .as_mut()
                        .unwrap()
                        .insert(("Skill".to_string(), "Billing".to_string()), 100);
                }),
                "UpdateProficiencies",
            ),
            (
                Box::new(|o| {
                    o.proficiencies
                        .as_mut()
                        .unwrap()
                        .insert(("Skill".to_string(), "Sales".to_string()), 100);
                }),
                "DisassociateProficiencies",
            ),
        ];
        for (change, call) in cases {
            let mut observed = with_channels();
            change(&mut observed);
            let updates = diff(&desired, &observed);
            assert_eq!(updates.len(), 1, "{call}: {updates:?}");
            assert!(format!("{:?}", updates[0]).starts_with(call), "{updates:?}");
        }
    }

    #[test]
    fn unmanaged_settings_and_unread_proficiencies_are_not_compared() {
        let desired = base();
        let mut observed = with_channels();
        observed.phone.persistent_connection = Some(true);
        assert!(diff(&desired, &observed).is_empty());
        // Proficiencies not read (None) are never compared.
        let mut observed = with_channels();
        observed.proficiencies = None;
        assert!(diff(&with_channels(), &observed).is_empty());
        // An empty managed list removes everything.
        let mut desired = base();
        desired.proficiencies = Some(Proficiencies::new());
        assert_eq!(
            diff(&desired, &with_channels()),
            vec![UserUpdate::DisassociateProficiencies(vec![
                ("Language".into(), "English".into()),
                ("Skill".into(), "Billing".into())
            ])]
        );
    }

    #[test]
    fn absent_observed_values_count_as_connect_defaults() {
        let mut desired = base();
        desired.phone.persistent_connection = Some(false);
        desired.channels.voice_enhancement = Some("NONE".into());
        desired.channels.per_channel.insert(
            "TASK".into(),
            ChannelSettings {
                auto_accept: Some(false),
                after_contact_work_time_limit: None,
            },
        );
        assert!(diff(&desired, &base()).is_empty());
        // An after-contact-work limit Connect does not report is sent.
        desired
            .channels
            .per_channel
            .get_mut("TASK")
            .unwrap()
            .after_contact_work_time_limit = Some(0);
        assert_eq!(diff(&desired, &base()).len(), 1);
    }

    #[test]
    fn a_phone_write_leaves_the_channel_limits_alone() {
        let desired = with_channels();
        let mut observed = with_channels();
        observed.phone.after_contact_work_time_limit = 99;
        assert_eq!(
            diff(&desired, &observed),
            vec![UserUpdate::PhoneConfig(desired.phone.clone())]
        );
    }

    #[test]
    fn summaries_ignore_proficiencies() {
        let desired = with_channels();
        let mut summary = with_channels();
        summary.proficiencies = Some(Proficiencies::new());
        assert!(summary_matches(&desired, &summary));
        summary.channels.voice_enhancement = None;
        assert!(!summary_matches(&desired, &summary));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::model::arb;
    use proptest::prelude::*;

    /// What Connect holds after the update calls succeed (the test's model of the API).
    fn perform(observed: &mut UserFields, updates: &[UserUpdate]) {
        for u in updates {
            match u {
                UserUpdate::IdentityInfo(i) => observed.identity = i.clone(),
                // UpdateUserConfig with the VOICE entries: the other channels stay.
                UserUpdate::PhoneConfig(p) => observed.phone = p.clone(),
                UserUpdate::ChannelConfig(c) => {
                    for (channel, want) in &c.per_channel {
                        let have = observed
                            .channels
                            .per_channel
                            .entry(channel.clone())
                            .or_default();
                        if want.auto_accept.is_some() {
                            have.auto_accept = want.auto_accept;
                        }
                        if want.after_contact_work_time_limit.is_some() {
                            have.after_contact_work_time_limit = want.after_contact_work_time_limit;
                        }
                    }
                    if c.voice_enhancement.is_some() {
                        observed.channels.voice_enhancement = c.voice_enhancement.clone();
                    }
                }
                UserUpdate::AssociateProficiencies(p) | UserUpdate::UpdateProficiencies(p) => {
                    observed
                        .proficiencies
                        .get_or_insert_default()
                        .extend(p.iter().map(|(k, v)| (k.clone(), *v)));
                }
                UserUpdate::DisassociateProficiencies(keys) => {
                    if let Some(have) = observed.proficiencies.as_mut() {
                        keys.iter().for_each(|k| {
                            have.remove(k);
                        });
                    }
                }
                UserUpdate::RoutingProfile(id) => observed.routing_profile_id = id.clone(),
                UserUpdate::SecurityProfiles(ids) => {
                    observed.security_profile_ids = ids.iter().cloned().collect()
                }
                UserUpdate::Hierarchy(id) => observed.hierarchy_group_id = id.clone(),
                UserUpdate::Tag(tags) => observed.tags.extend(tags.clone()),
                UserUpdate::Untag(keys) => keys.iter().for_each(|k| {
                    observed.tags.remove(k);
                }),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn a_user_never_differs_from_itself(x in arb::fields()) {
            prop_assert!(diff(&x, &x).is_empty());
            // A SearchUsers summary of the same user lacks email, secondary email and mobile.
            let mut summary = x.clone();
            summary.identity.email = None;
            summary.identity.secondary_email = None;
            summary.identity.mobile = None;
            prop_assert!(summary_matches(&x, &summary));
        }

        #[test]
        fn performing_the_updates_leaves_nothing_to_do(desired in arb::fields(), observed in arb::fields()) {
            let updates = diff(&desired, &observed);
            let mut after = observed.clone();
            perform(&mut after, &updates);
            prop_assert!(diff(&desired, &after).is_empty(), "left: {:?}", diff(&desired, &after));
        }

        #[test]
        fn at_most_one_call_per_field_group_and_only_when_needed(desired in arb::fields(), observed in arb::fields()) {
            let updates = diff(&desired, &observed);
            let mut kinds: Vec<_> = updates.iter().map(std::mem::discriminant).collect();
            let n = kinds.len();
            kinds.dedup();
            prop_assert_eq!(kinds.len(), n);
            // Five field groups, channel config, three proficiency calls, tag and untag.
            prop_assert!(updates.len() <= 11);
            // No call at all when only Connect's blanks differ from absent values.
            let mut blanked = desired.clone();
            for f in [
                &mut blanked.identity.first_name,
                &mut blanked.identity.email,
                &mut blanked.phone.desk_phone_number,
                &mut blanked.hierarchy_group_id,
            ] {
                if f.is_none() {
                    *f = Some(String::new());
                }
            }
            prop_assert!(diff(&desired, &blanked).is_empty());
            prop_assert_eq!(changed_fields(&updates).is_empty(), updates.is_empty());
        }
    }
}
