//! Which quick connects point at a deleted user. Deletions in flight on one instance share one
//! complete scan of its USER quick connects, started no earlier than each caller asks: right
//! after its DeleteUser succeeded, and again once the settle window after it has passed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::shared_scan::SharedScans;
use super::{ConnectApi, ConnectError};
use crate::model::{InstanceRef, UserQuickConnect};

pub struct QuickConnectsByUser {
    connect: Arc<ConnectApi>,
    scans: SharedScans<Vec<UserQuickConnect>>,
}

impl QuickConnectsByUser {
    pub fn new(connect: Arc<ConnectApi>, window: Duration) -> QuickConnectsByUser {
        QuickConnectsByUser {
            connect,
            scans: SharedScans::new(window),
        }
    }

    /// The USER quick connects of `at` whose target is `user_id`, from a complete listing that
    /// started at or after `not_before`.
    pub async fn pointing_at(
        &self,
        at: &InstanceRef,
        user_id: &str,
        not_before: Instant,
    ) -> Result<Vec<UserQuickConnect>, ConnectError> {
        let (connect, scan_at) = (self.connect.clone(), at.clone());
        let all = self
            .scans
            .get(at, not_before, move || async move {
                connect.user_quick_connects(&scan_at).await
            })
            .await?;
        Ok(all
            .iter()
            .filter(|q| q.user_id == user_id)
            .cloned()
            .collect())
    }
}
