//! The calls of the dangling quick-connect sweep: every USER quick connect of an instance with
//! its target and last modification, whether a user exists (DescribeUser, never a listing), and
//! one quick connect read by id. All at a caller-chosen [`Priority`], so the periodic sweep
//! spends only the rate limiter's spare tokens.

use aws_sdk_connect::primitives::DateTime as SdkDateTime;
use aws_sdk_connect::types::{QuickConnect, QuickConnectType};
use chrono::{DateTime, Utc};

use super::{ConnectApi, ConnectError, Priority, QUICK_CONNECT_PAGE};
use crate::model::InstanceRef;

/// A USER quick connect as a listing or DescribeQuickConnect shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListedQuickConnect {
    pub id: String,
    pub name: String,
    /// `QuickConnectConfig.UserConfig.UserId`.
    pub user_id: String,
    /// `LastModifiedTime`, when Connect gave one.
    pub last_modified: Option<DateTime<Utc>>,
}

/// What one DescribeUser said about a user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserPresence {
    /// DescribeUser answered the user.
    Present,
    /// DescribeUser answered ResourceNotFoundException: one observation, not yet a fact.
    Missing,
    /// Another refusal that says nothing either way (InvalidRequestException, which Connect
    /// also answers while a new user is not visible yet).
    Unknown,
}

fn to_chrono(t: &SdkDateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// The quick connect, if it is of type USER.
fn listed(qc: &QuickConnect) -> Option<ListedQuickConnect> {
    let user = qc
        .quick_connect_config()
        .filter(|c| c.quick_connect_type() == &QuickConnectType::User)?
        .user_config()?;
    Some(ListedQuickConnect {
        id: qc.quick_connect_id().unwrap_or_default().to_string(),
        name: qc.name().unwrap_or_default().to_string(),
        user_id: user.user_id().to_string(),
        last_modified: qc.last_modified_time().and_then(to_chrono),
    })
}

impl ConnectApi {
    /// Every USER quick connect of the instance (SearchQuickConnects, every page of 100; it
    /// returns the configuration, which ListQuickConnects' summaries lack). `progress` hears
    /// how many quick connects of any type were read so far.
    pub async fn list_user_quick_connects(
        &self,
        priority: Priority,
        at: &InstanceRef,
        progress: impl FnMut(usize),
    ) -> Result<Vec<ListedQuickConnect>, ConnectError> {
        let pages = self
            .all_pages_with(
                priority,
                at,
                "SearchQuickConnects",
                |c, token| {
                    c.search_quick_connects()
                        .instance_id(&at.instance_id)
                        .max_results(QUICK_CONNECT_PAGE)
                        .set_next_token(token)
                        .send()
                },
                |page| page.quick_connects().iter().map(listed).collect(),
                progress,
            )
            .await?;
        Ok(pages.into_iter().flatten().collect())
    }

    /// Whether the user exists, by DescribeUser. Throttling, denial and transient failures are
    /// errors: they say nothing about the user.
    pub async fn user_presence(
        &self,
        priority: Priority,
        at: &InstanceRef,
        user_id: &str,
    ) -> Result<UserPresence, ConnectError> {
        let out = self
            .call_with(priority, at, "DescribeUser", |c| {
                c.describe_user()
                    .instance_id(&at.instance_id)
                    .user_id(user_id)
                    .send()
            })
            .await;
        match out {
            Ok(_) => Ok(UserPresence::Present),
            Err(e) if e.is_not_found() => Ok(UserPresence::Missing),
            Err(e) if e.kind == super::ErrorKind::Invalid => Ok(UserPresence::Unknown),
            Err(e) => Err(e),
        }
    }

    /// DescribeQuickConnect: `Ok(None)` when Connect does not show it (gone, or not visible
    /// yet) or it is no longer of type USER.
    pub async fn describe_user_quick_connect(
        &self,
        priority: Priority,
        at: &InstanceRef,
        id: &str,
    ) -> Result<Option<ListedQuickConnect>, ConnectError> {
        let found = self.describe_quick_connect(priority, at, id).await?;
        Ok(found.as_ref().and_then(listed))
    }

    /// DeleteQuickConnect at `priority`; NotFound is the caller's to judge.
    pub async fn delete_quick_connect_with(
        &self,
        priority: Priority,
        at: &InstanceRef,
        id: &str,
    ) -> Result<(), ConnectError> {
        self.call_with(priority, at, "DeleteQuickConnect", |c| {
            c.delete_quick_connect()
                .instance_id(&at.instance_id)
                .quick_connect_id(id)
                .send()
        })
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_connect::types::{
        QueueQuickConnectConfig, QuickConnectConfig, UserQuickConnectConfig,
    };

    fn user_qc(last_modified: Option<SdkDateTime>) -> QuickConnect {
        QuickConnect::builder()
            .quick_connect_id("qc-1")
            .name("To Bob")
            .quick_connect_config(
                QuickConnectConfig::builder()
                    .quick_connect_type(QuickConnectType::User)
                    .user_config(
                        UserQuickConnectConfig::builder()
                            .user_id("u-1")
                            .contact_flow_id("f-1")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .set_last_modified_time(last_modified)
            .build()
    }

    #[test]
    fn a_user_quick_connect_is_read_with_its_target_and_age() {
        let t = SdkDateTime::from_secs_and_nanos(1_764_590_000, 250_000_000);
        let qc = listed(&user_qc(Some(t))).unwrap();
        assert_eq!((qc.id.as_str(), qc.user_id.as_str()), ("qc-1", "u-1"));
        assert_eq!(
            qc.last_modified,
            DateTime::from_timestamp(1_764_590_000, 250_000_000)
        );
        assert_eq!(listed(&user_qc(None)).unwrap().last_modified, None);
    }

    #[test]
    fn other_types_are_left_out() {
        let queue = QuickConnect::builder()
            .quick_connect_id("qc-2")
            .quick_connect_config(
                QuickConnectConfig::builder()
                    .quick_connect_type(QuickConnectType::Queue)
                    .queue_config(
                        QueueQuickConnectConfig::builder()
                            .queue_id("q")
                            .contact_flow_id("f")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .build();
        assert_eq!(listed(&queue), None);
    }
}
