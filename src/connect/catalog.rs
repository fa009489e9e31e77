//! Names to ids: a per-instance cache of security profiles, routing profiles, hierarchy groups
//! and the identity-management type, so resolving a spec costs no Connect call in steady state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{ConnectApi, ConnectError};
use crate::model::{IdentityManagement, InstanceRef, NamedId};

#[derive(Debug)]
pub struct InstanceCatalog {
    pub fetched: Instant,
    pub identity_management: IdentityManagement,
    pub security_profiles: Vec<NamedId>,
    pub routing_profiles: Vec<NamedId>,
    pub hierarchy_groups: Vec<NamedId>,
}

pub struct Catalog {
    connect: Arc<ConnectApi>,
    ttl: Duration,
    // A tokio mutex on purpose: concurrent reconciles of one instance wait for one fetch
    // instead of each spending four calls of the quota.
    entries: tokio::sync::Mutex<HashMap<InstanceRef, Arc<InstanceCatalog>>>,
}

impl Catalog {
    pub fn new(connect: Arc<ConnectApi>, ttl: Duration) -> Catalog {
        Catalog {
            connect,
            ttl,
            entries: Default::default(),
        }
    }

    /// The instance's catalog, fetched again when older than `max_age` (or the TTL).
    pub async fn get(
        &self,
        at: &InstanceRef,
        max_age: Option<Duration>,
    ) -> Result<Arc<InstanceCatalog>, ConnectError> {
        let max_age = max_age.unwrap_or(self.ttl).min(self.ttl);
        let mut entries = self.entries.lock().await;
        if let Some(entry) = entries.get(at)
            && entry.fetched.elapsed() <= max_age
        {
            return Ok(entry.clone());
        }
        let entry = Arc::new(InstanceCatalog {
            identity_management: self.connect.identity_management(at).await?,
            security_profiles: self.connect.list_security_profiles(at).await?,
            routing_profiles: self.connect.list_routing_profiles(at).await?,
            hierarchy_groups: self.connect.list_hierarchy_groups(at).await?,
            fetched: Instant::now(),
        });
        entries.insert(at.clone(), entry.clone());
        Ok(entry)
    }
}
