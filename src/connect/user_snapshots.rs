//! Bulk drift detection: one SearchUsers scan per instance (pages of 500) serves every managed
//! user's periodic check, instead of one DescribeUser per user per resync.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::shared_scan::SharedScans;
use super::{ConnectApi, ConnectError};
use crate::model::{
    ChannelSettings, Channels, Identity, InstanceRef, Phone, UserFields, UserSummary,
};

/// Every user of an instance as the drift check reads them (its fields by id), from one scan.
///
/// Kept compact because it is the operator's largest allocation at scale: a sorted Vec, not a
/// HashMap (a table of 10,000 inline entries rounds up to 16,384 slots), and each user's maps
/// and sets as boxed slices (a BTreeMap of one to three entries allocates a node of eleven).
/// At 10,000 users that is about a third of the memory the same users take as `UserSummary`s.
pub struct UsersById {
    /// Sorted by id, each id once.
    users: Vec<KeptUser>,
}

/// `UserFields` of one user as SearchUsers shows them (no email, secondary email, mobile or
/// proficiencies), in the compact form `UsersById` keeps.
#[derive(Debug, PartialEq)]
struct KeptUser {
    id: Box<str>,
    first_name: Option<Box<str>>,
    last_name: Option<Box<str>>,
    phone: Phone,
    per_channel: Box<[(Box<str>, ChannelSettings)]>,
    voice_enhancement: Option<Box<str>>,
    routing_profile_id: Box<str>,
    security_profile_ids: Box<[Box<str>]>,
    hierarchy_group_id: Option<Box<str>>,
    tags: Box<[(Box<str>, Box<str>)]>,
}

impl KeptUser {
    fn of(user: UserSummary) -> KeptUser {
        let f = user.fields;
        let boxed = |s: String| s.into_boxed_str();
        KeptUser {
            id: boxed(user.id),
            first_name: f.identity.first_name.map(boxed),
            last_name: f.identity.last_name.map(boxed),
            phone: f.phone,
            per_channel: f
                .channels
                .per_channel
                .into_iter()
                .map(|(c, s)| (boxed(c), s))
                .collect(),
            voice_enhancement: f.channels.voice_enhancement.map(boxed),
            routing_profile_id: boxed(f.routing_profile_id),
            security_profile_ids: f.security_profile_ids.into_iter().map(boxed).collect(),
            hierarchy_group_id: f.hierarchy_group_id.map(boxed),
            tags: f
                .tags
                .into_iter()
                .map(|(k, v)| (boxed(k), boxed(v)))
                .collect(),
        }
    }

    fn fields(&self) -> UserFields {
        let owned = |s: &str| s.to_string();
        UserFields {
            identity: Identity {
                first_name: self.first_name.as_deref().map(owned),
                last_name: self.last_name.as_deref().map(owned),
                ..Identity::default()
            },
            phone: self.phone.clone(),
            channels: Channels {
                per_channel: self
                    .per_channel
                    .iter()
                    .map(|(c, s)| (owned(c), s.clone()))
                    .collect(),
                voice_enhancement: self.voice_enhancement.as_deref().map(owned),
            },
            proficiencies: None,
            routing_profile_id: owned(&self.routing_profile_id),
            security_profile_ids: self.security_profile_ids.iter().map(|s| owned(s)).collect(),
            hierarchy_group_id: self.hierarchy_group_id.as_deref().map(owned),
            tags: self
                .tags
                .iter()
                .map(|(k, v)| (owned(k), owned(v)))
                .collect(),
        }
    }
}

impl UsersById {
    fn new(mut users: Vec<KeptUser>) -> UsersById {
        users.sort_by(|a, b| a.id.cmp(&b.id));
        // A user shown on two pages (the listing moved under the scan): the later sighting.
        users.reverse();
        users.dedup_by(|later, earlier| later.id == earlier.id);
        users.reverse();
        users.shrink_to_fit();
        UsersById { users }
    }

    /// The fields SearchUsers showed for the user with this id (tags included).
    pub fn fields(&self, id: &str) -> Option<UserFields> {
        self.users
            .binary_search_by(|u| (*u.id).cmp(id))
            .ok()
            .map(|i| self.users[i].fields())
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

pub struct UserSnapshots {
    connect: Arc<ConnectApi>,
    scans: SharedScans<UsersById>,
}

impl UserSnapshots {
    pub fn new(connect: Arc<ConnectApi>, window: Duration) -> UserSnapshots {
        UserSnapshots {
            connect,
            scans: SharedScans::new(window),
        }
    }

    /// Every user of the instance by id, from a scan that started at most `max_age` ago.
    pub async fn snapshot(
        &self,
        at: &InstanceRef,
        max_age: Duration,
    ) -> Result<Arc<UsersById>, ConnectError> {
        let not_before = Instant::now()
            .checked_sub(max_age)
            .unwrap_or_else(Instant::now);
        let (connect, scan_at) = (self.connect.clone(), at.clone());
        self.scans
            .get(at, not_before, move || async move {
                let users = connect.search_all_users(&scan_at, KeptUser::of).await?;
                Ok(UsersById::new(users))
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Proficiencies;

    fn summary(id: &str, team: &str) -> UserSummary {
        UserSummary {
            id: id.into(),
            arn: format!("arn:aws:connect:us-east-1:1:instance/i/agent/{id}"),
            username: format!("user-{id}"),
            fields: UserFields {
                identity: Identity {
                    first_name: Some("Ada".into()),
                    last_name: Some(String::new()),
                    ..Identity::default()
                },
                phone: Phone {
                    phone_type: "DESK_PHONE".into(),
                    auto_accept: true,
                    after_contact_work_time_limit: 30,
                    desk_phone_number: Some("+14155550100".into()),
                    persistent_connection: Some(false),
                },
                channels: Channels {
                    per_channel: [
                        (
                            "CHAT".to_string(),
                            ChannelSettings {
                                auto_accept: Some(true),
                                after_contact_work_time_limit: Some(120),
                            },
                        ),
                        ("TASK".to_string(), ChannelSettings::default()),
                    ]
                    .into(),
                    voice_enhancement: Some("NOISE_SUPPRESSION".into()),
                },
                proficiencies: None,
                routing_profile_id: "rp-1".into(),
                security_profile_ids: ["sp-1".to_string(), "sp-2".to_string()].into(),
                hierarchy_group_id: Some("hg-1".into()),
                tags: [
                    ("connect.userops.dev/owner".to_string(), "uid-1".to_string()),
                    ("team".to_string(), team.to_string()),
                ]
                .into(),
            },
        }
    }

    /// Every field SearchUsers shows comes back as it was: the drift check compares them all.
    #[test]
    fn a_kept_user_gives_back_every_field_it_was_made_from() {
        let user = summary("u-1", "a");
        assert_eq!(KeptUser::of(user.clone()).fields(), user.fields);
        let mut bare = summary("u-2", "a");
        bare.fields = UserFields::default();
        assert_eq!(KeptUser::of(bare.clone()).fields(), bare.fields);
    }

    #[test]
    fn fields_are_found_by_id_and_a_user_shown_twice_is_kept_as_last_shown() {
        let users = ["u-3", "u-1", "u-2"]
            .iter()
            .map(|id| KeptUser::of(summary(id, "a")))
            .chain([KeptUser::of(summary("u-1", "b"))])
            .collect();
        let snapshot = UsersById::new(users);
        assert_eq!(snapshot.len(), 3);
        assert_eq!(snapshot.fields("u-2"), Some(summary("u-2", "a").fields));
        assert_eq!(
            snapshot
                .fields("u-1")
                .unwrap()
                .tags
                .get("team")
                .map(String::as_str),
            Some("b")
        );
        assert!(snapshot.fields("u-4").is_none());
        assert!(UsersById::new(Vec::new()).is_empty());
        let _: Option<Proficiencies> = snapshot.fields("u-3").unwrap().proficiencies;
    }
}
