//! Bulk drift detection: one SearchUsers scan per instance (pages of 500) serves every managed
//! user's periodic check, instead of one DescribeUser per user per resync.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::shared_scan::SharedScans;
use super::{ConnectApi, ConnectError};
use crate::model::{InstanceRef, UserSummary};

pub type UsersById = HashMap<String, UserSummary>;

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
                let users = connect.list_all_users(&scan_at).await?;
                Ok(users.into_iter().map(|u| (u.id.clone(), u)).collect())
            })
            .await
    }
}
