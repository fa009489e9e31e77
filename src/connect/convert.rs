//! Conversions between the operator's model and aws-sdk-connect types.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_connect::types::{
    PhoneType, User, UserIdentityInfo, UserPhoneConfig, UserSearchSummary,
};

use crate::model::{Identity, ObservedUser, Phone, UserFields, UserSummary};

pub fn identity_to_sdk(identity: &Identity) -> UserIdentityInfo {
    UserIdentityInfo::builder()
        .set_first_name(identity.first_name.clone())
        .set_last_name(identity.last_name.clone())
        .set_email(identity.email.clone())
        .set_secondary_email(identity.secondary_email.clone())
        .set_mobile(identity.mobile.clone())
        .build()
}

pub fn phone_to_sdk(phone: &Phone) -> UserPhoneConfig {
    UserPhoneConfig::builder()
        .phone_type(PhoneType::from(phone.phone_type.as_str()))
        .auto_accept(phone.auto_accept)
        .after_contact_work_time_limit(phone.after_contact_work_time_limit)
        .set_desk_phone_number(phone.desk_phone_number.clone())
        .build()
}

fn phone_from_sdk(phone: Option<&UserPhoneConfig>) -> Phone {
    match phone {
        Some(p) => Phone {
            phone_type: p.phone_type().as_str().to_string(),
            auto_accept: p.auto_accept(),
            after_contact_work_time_limit: p.after_contact_work_time_limit(),
            desk_phone_number: p.desk_phone_number().map(str::to_string),
        },
        None => Phone::default(),
    }
}

pub fn tags_from_sdk(tags: Option<&HashMap<String, String>>) -> BTreeMap<String, String> {
    tags.map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

pub fn observed_from_sdk(user: &User) -> ObservedUser {
    let identity = user
        .identity_info()
        .map(|i| Identity {
            first_name: i.first_name().map(str::to_string),
            last_name: i.last_name().map(str::to_string),
            email: i.email().map(str::to_string),
            secondary_email: i.secondary_email().map(str::to_string),
            mobile: i.mobile().map(str::to_string),
        })
        .unwrap_or_default();
    ObservedUser {
        id: user.id().unwrap_or_default().to_string(),
        arn: user.arn().unwrap_or_default().to_string(),
        username: user.username().unwrap_or_default().to_string(),
        fields: UserFields {
            identity,
            phone: phone_from_sdk(user.phone_config()),
            routing_profile_id: user.routing_profile_id().unwrap_or_default().to_string(),
            security_profile_ids: user.security_profile_ids().iter().cloned().collect(),
            hierarchy_group_id: user.hierarchy_group_id().map(str::to_string),
            tags: tags_from_sdk(user.tags()),
        },
    }
}

pub fn summary_from_sdk(user: &UserSearchSummary) -> UserSummary {
    let identity = user
        .identity_info()
        .map(|i| Identity {
            first_name: i.first_name().map(str::to_string),
            last_name: i.last_name().map(str::to_string),
            ..Identity::default()
        })
        .unwrap_or_default();
    UserSummary {
        id: user.id().unwrap_or_default().to_string(),
        arn: user.arn().unwrap_or_default().to_string(),
        username: user.username().unwrap_or_default().to_string(),
        fields: UserFields {
            identity,
            phone: phone_from_sdk(user.phone_config()),
            routing_profile_id: user.routing_profile_id().unwrap_or_default().to_string(),
            security_profile_ids: user.security_profile_ids().iter().cloned().collect(),
            hierarchy_group_id: user.hierarchy_group_id().map(str::to_string),
            tags: tags_from_sdk(user.tags()),
        },
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::model::arb;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// What the operator sends is exactly what it means: every identity and phone field
        /// reaches the SDK request unchanged, whatever the characters.
        #[test]
        fn identity_and_phone_reach_the_request_unchanged(i in arb::identity(), p in arb::phone()) {
            let sdk = identity_to_sdk(&i);
            prop_assert_eq!(sdk.first_name(), i.first_name.as_deref());
            prop_assert_eq!(sdk.last_name(), i.last_name.as_deref());
            prop_assert_eq!(sdk.email(), i.email.as_deref());
            prop_assert_eq!(sdk.secondary_email(), i.secondary_email.as_deref());
            prop_assert_eq!(sdk.mobile(), i.mobile.as_deref());
            prop_assert_eq!(phone_from_sdk(Some(&phone_to_sdk(&p))), p);
        }

        /// A user read back from Connect converts to the same fields that were written, so the
        /// diff of a freshly written user is empty.
        #[test]
        fn a_described_user_converts_back_to_its_fields(f in arb::fields(), id in arb::text()) {
            let user = User::builder()
                .id(&id)
                .arn(format!("arn:aws:connect:us-east-1:1:instance/i/agent/{id}"))
                .username("u")
                .identity_info(identity_to_sdk(&f.identity))
                .phone_config(phone_to_sdk(&f.phone))
                .set_security_profile_ids(Some(f.security_profile_ids.iter().cloned().collect()))
                .routing_profile_id(&f.routing_profile_id)
                .set_hierarchy_group_id(f.hierarchy_group_id.clone())
                .set_tags(Some(f.tags.clone().into_iter().collect()))
                .build();
            let observed = observed_from_sdk(&user);
            prop_assert_eq!(&observed.id, &id);
            prop_assert_eq!(&observed.fields, &f);
            prop_assert!(crate::diff::diff(&f, &observed.fields).is_empty());
        }
    }
}
