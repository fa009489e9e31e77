//! In-memory state: instances, their catalogs, users and quick connects.
//!
//! Users and quick connects are keyed by a global creation sequence number, so every listing is
//! in creation order and a page token can name "everything after seq N" (stable while records
//! are deleted between pages).

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::arn;
use super::config::{DEFAULT_REGION, InstanceSeed, ReplicaSeed};
use super::consistency::Visibility;
use super::errors::{ApiError, ApiResult};
use super::model::{SimQuickConnect, SimUser};

/// A routing profile, security profile, hierarchy group, contact flow or queue.
#[derive(Clone, Debug)]
pub struct CatalogItem {
    pub id: String,
    pub name: String,
    /// ContactFlowType for flows, when known.
    pub flow_type: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Instance {
    pub id: String,
    /// The owning account.
    pub account: String,
    pub alias: String,
    pub identity_management_type: String,
    /// The source Region.
    pub region: String,
    /// Global Resiliency replicas: Regions (and aliases) that serve the same state.
    pub replicas: Vec<ReplicaSeed>,
    pub created: DateTime<Utc>,
    pub routing_profiles: Vec<CatalogItem>,
    pub security_profiles: Vec<CatalogItem>,
    pub hierarchy_groups: Vec<CatalogItem>,
    pub contact_flows: Vec<CatalogItem>,
    pub queues: Vec<CatalogItem>,
    users: BTreeMap<u64, SimUser>,
    user_seq: HashMap<String, u64>,
    quick_connects: BTreeMap<u64, SimQuickConnect>,
    quick_connect_seq: HashMap<String, u64>,
}

impl Instance {
    fn from_seed(seed: InstanceSeed) -> Instance {
        let items = |list: Vec<(String, String)>| -> Vec<CatalogItem> {
            list.into_iter()
                .map(|(id, name)| CatalogItem {
                    id,
                    name,
                    flow_type: None,
                })
                .collect()
        };
        let mut contact_flows = items(seed.contact_flows);
        for flow in &mut contact_flows {
            flow.flow_type = seed.contact_flow_types.get(&flow.id).cloned();
        }
        let region = if seed.region.is_empty() {
            DEFAULT_REGION.to_string()
        } else {
            seed.region
        };
        let alias = if seed.alias.is_empty() {
            format!("sim-{}", seed.id)
        } else {
            seed.alias
        };
        let replicas = seed
            .replicas
            .into_iter()
            .map(|r| ReplicaSeed {
                alias: if r.alias.is_empty() {
                    format!("{alias}-replica")
                } else {
                    r.alias
                },
                region: r.region,
            })
            .collect();
        Instance {
            account: if seed.account.is_empty() {
                crate::aws::TEST_ACCOUNT_ID.to_string()
            } else {
                seed.account
            },
            replicas,
            alias,
            id: seed.id,
            identity_management_type: if seed.identity_management_type.is_empty() {
                "CONNECT_MANAGED".into()
            } else {
                seed.identity_management_type
            },
            region,
            created: Utc::now(),
            routing_profiles: items(seed.routing_profiles),
            security_profiles: items(seed.security_profiles),
            hierarchy_groups: items(seed.hierarchy_groups),
            contact_flows,
            queues: items(seed.queues),
            users: BTreeMap::new(),
            user_seq: HashMap::new(),
            quick_connects: BTreeMap::new(),
            quick_connect_seq: HashMap::new(),
        }
    }

    pub fn users(&self) -> impl Iterator<Item = (u64, &SimUser)> {
        self.users.iter().map(|(s, u)| (*s, u))
    }

    pub fn user_count(&self) -> usize {
        self.users.len()
    }

    pub fn user(&self, id: &str) -> Option<&SimUser> {
        self.user_seq.get(id).and_then(|s| self.users.get(s))
    }

    /// The creation sequence number of user `id`.
    pub fn user_seq(&self, id: &str) -> Option<u64> {
        self.user_seq.get(id).copied()
    }

    pub fn user_mut(&mut self, id: &str) -> Option<&mut SimUser> {
        let seq = self.user_seq.get(id)?;
        self.users.get_mut(seq)
    }

    pub fn user_by_name(&self, username: &str) -> Option<&SimUser> {
        self.users.values().find(|u| u.username == username)
    }

    pub fn insert_user(&mut self, seq: u64, user: SimUser) {
        self.user_seq.insert(user.id.clone(), seq);
        self.users.insert(seq, user);
    }

    pub fn remove_user(&mut self, id: &str) -> Option<SimUser> {
        let seq = self.user_seq.remove(id)?;
        self.users.remove(&seq)
    }

    pub fn quick_connects(&self) -> impl Iterator<Item = (u64, &SimQuickConnect)> {
        self.quick_connects.iter().map(|(s, q)| (*s, q))
    }

    pub fn quick_connect_count(&self) -> usize {
        self.quick_connects.len()
    }

    pub fn quick_connect(&self, id: &str) -> Option<&SimQuickConnect> {
        self.quick_connect_seq
            .get(id)
            .and_then(|s| self.quick_connects.get(s))
    }

    pub fn quick_connect_seq(&self, id: &str) -> Option<u64> {
        self.quick_connect_seq.get(id).copied()
    }

    pub fn quick_connect_mut(&mut self, id: &str) -> Option<&mut SimQuickConnect> {
        let seq = self.quick_connect_seq.get(id)?;
        self.quick_connects.get_mut(seq)
    }

    pub fn quick_connect_by_name(&self, name: &str) -> Option<&SimQuickConnect> {
        self.quick_connects.values().find(|q| q.name == name)
    }

    pub fn insert_quick_connect(&mut self, seq: u64, qc: SimQuickConnect) {
        self.quick_connect_seq.insert(qc.id.clone(), seq);
        self.quick_connects.insert(seq, qc);
    }

    pub fn remove_quick_connect(&mut self, id: &str) -> Option<SimQuickConnect> {
        let seq = self.quick_connect_seq.remove(id)?;
        self.quick_connects.remove(&seq)
    }

    /// Whether the instance answers in `region`: its source Region or a replica's.
    pub fn serves(&self, region: &str) -> bool {
        self.region == region || self.replicas.iter().any(|r| r.region == region)
    }

    /// The instance's alias in `region` (a replica has its own).
    pub fn alias_in(&self, region: &str) -> &str {
        self.replicas
            .iter()
            .find(|r| r.region == region)
            .map_or(self.alias.as_str(), |r| r.alias.as_str())
    }

    /// The instance's ARN as served in `region` (a replica's carries its own Region).
    pub fn arn_in(&self, region: &str) -> String {
        arn::instance(region, &self.account, &self.id)
    }

    pub fn resource_arn(&self, account: &str, kind: &str, id: &str) -> String {
        arn::resource(&self.region, account, &self.id, kind, id)
    }
}

pub fn find<'a>(items: &'a [CatalogItem], id: &str) -> Option<&'a CatalogItem> {
    items.iter().find(|i| i.id == id)
}

/// Everything the emulator knows. One mutex guards it: every operation is one short critical
/// section, which also makes each operation atomic as in the real service.
///
/// `instances` is authoritative (the latest version of everything); `visibility` is how far
/// behind it each view lags when the eventual-consistency model is on. Instances of every
/// account live here, keyed by id; the front door (`server`) hides another account's.
#[derive(Debug)]
pub struct State {
    instances: BTreeMap<String, Instance>,
    next_seq: u64,
    pub visibility: Visibility,
}

impl State {
    pub fn new() -> State {
        State {
            instances: BTreeMap::new(),
            next_seq: 1,
            visibility: Visibility::default(),
        }
    }

    pub fn seed(&mut self, seed: InstanceSeed) {
        let instance = Instance::from_seed(seed);
        self.visibility.forget_instance(&instance.id);
        self.instances.insert(instance.id.clone(), instance);
    }

    pub fn next_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.instances.values()
    }

    /// Direct access (tests, inspection): any Region.
    pub fn instance(&self, id: &str) -> Option<&Instance> {
        self.instances.get(id)
    }

    pub fn instance_mut(&mut self, id: &str) -> Option<&mut Instance> {
        self.instances.get_mut(id)
    }

    /// An instance and the visibility model together (the model swaps versions in and out).
    pub fn lagged(&mut self, id: &str) -> Option<(&mut Instance, &mut Visibility)> {
        let instance = self.instances.get_mut(id)?;
        Some((instance, &mut self.visibility))
    }

    /// API access: an instance exists only in the Regions that serve it (its own and its
    /// replicas'), as in AWS. The caller's account was checked at the front door.
    pub fn instance_in(&self, id: &str, region: &str) -> ApiResult<&Instance> {
        match self.instances.get(id) {
            Some(i) if i.serves(region) => Ok(i),
            _ => Err(instance_not_found(id)),
        }
    }

    pub fn instance_in_mut(&mut self, id: &str, region: &str) -> ApiResult<&mut Instance> {
        match self.instances.get_mut(id) {
            Some(i) if i.serves(region) => Ok(i),
            _ => Err(instance_not_found(id)),
        }
    }
}

impl Default for State {
    fn default() -> Self {
        State::new()
    }
}

pub(crate) fn instance_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("Instance not found: {id}"))
}
