//! Start-up configuration of the emulator and the shape of a seeded instance.

use std::collections::BTreeMap;

use super::consistency::Consistency;
use crate::aws::Iam;

/// Emulator configuration. `Default`: no throttling, a new `Iam` (the test account and its
/// test key), no per-instance resource limits, immediately consistent.
#[derive(Clone, Debug, Default)]
pub struct ConnectConfig {
    /// Token bucket applied to every operation, per account and Region; `None` = no throttling.
    pub quota: Option<Quota>,
    /// Who may call: every request's SigV4 signature is verified against these keys. Share it
    /// with `StsSim::start` so the credentials STS issues work here.
    pub iam: Iam,
    /// Users per instance before CreateUser answers LimitExceededException (Connect's old
    /// default was 500); `None` = unlimited.
    pub max_users_per_instance: Option<usize>,
    /// Quick connects per instance before CreateQuickConnect answers LimitExceededException
    /// (old default 100); `None` = unlimited.
    pub max_quick_connects_per_instance: Option<usize>,
    /// The eventual-consistency model; `None` = every read sees every write at once.
    pub consistency: Option<Consistency>,
}

pub(crate) const DEFAULT_REGION: &str = "us-east-1";

/// A token bucket: `burst` requests at once, refilled at `rate_per_sec`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Quota {
    pub rate_per_sec: f64,
    pub burst: u32,
}

impl Default for Quota {
    /// Connect's documented default for the user and quick-connect APIs: 2 requests per
    /// second, burst 5.
    fn default() -> Self {
        Quota {
            rate_per_sec: 2.0,
            burst: 5,
        }
    }
}

/// A Global Resiliency replica of an instance: the same instance (id, users, quick connects,
/// catalog) answering in another Region under its own alias.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplicaSeed {
    pub region: String,
    /// Empty: `{alias}-replica`.
    pub alias: String,
}

/// An instance to create, with its catalog (ids and names). Instance ids are unique across
/// accounts (they are UUIDs in AWS): seeding an id again replaces the instance, whatever its
/// account.
#[derive(Clone, Debug, Default)]
pub struct InstanceSeed {
    pub id: String,
    /// The account that owns it; only that account's credentials see it. Empty =
    /// `aws::TEST_ACCOUNT_ID`.
    pub account: String,
    pub alias: String,
    /// `CONNECT_MANAGED`, `SAML` or `EXISTING_DIRECTORY`.
    pub identity_management_type: String,
    /// The Region the instance was created in (its source Region); empty = `us-east-1`.
    pub region: String,
    /// Replica Regions (Global Resiliency): the instance also answers there, with the same
    /// state, and DescribeInstance shows the ReplicationConfiguration in every Region.
    pub replicas: Vec<ReplicaSeed>,
    pub routing_profiles: Vec<(String, String)>,
    pub security_profiles: Vec<(String, String)>,
    pub hierarchy_groups: Vec<(String, String)>,
    pub contact_flows: Vec<(String, String)>,
    /// Flow id -> ContactFlowType. Flows not listed have no known type: ListContactFlows shows
    /// them as CONTACT_FLOW, and they are accepted for any quick connect.
    pub contact_flow_types: BTreeMap<String, String>,
    pub queues: Vec<(String, String)>,
}

impl InstanceSeed {
    /// A CONNECT_MANAGED instance with the catalog tests refer to by name. Ids are
    /// deterministic (derived from the instance id and the name) and UUID-shaped.
    pub fn standard(id: &str) -> InstanceSeed {
        let named = |kind: &str, names: &[&str]| -> Vec<(String, String)> {
            names
                .iter()
                .map(|n| (seeded_id(id, kind, n), n.to_string()))
                .collect()
        };
        let contact_flows = named(
            "contact-flow",
            &["Default agent transfer", "Sales transfer"],
        );
        let contact_flow_types = BTreeMap::from([
            (contact_flows[0].0.clone(), "AGENT_TRANSFER".to_string()),
            (contact_flows[1].0.clone(), "QUEUE_TRANSFER".to_string()),
        ]);
        InstanceSeed {
            id: id.into(),
            account: String::new(),
            replicas: Vec::new(),
            alias: format!("sim-{}", id.chars().take(8).collect::<String>()),
            identity_management_type: "CONNECT_MANAGED".into(),
            region: DEFAULT_REGION.into(),
            routing_profiles: named("routing-profile", &["Basic Routing Profile", "Sales"]),
            security_profiles: named(
                "security-profile",
                &["Agent", "Admin", "CallCenterManager", "QualityAnalyst"],
            ),
            hierarchy_groups: named("agent-group", &["Tier1", "Tier2"]),
            contact_flows,
            contact_flow_types,
            queues: named("queue", &["BasicQueue", "Sales"]),
        }
    }
}

impl InstanceSeed {
    /// The same seed, owned by `account`.
    pub fn in_account(mut self, account: &str) -> InstanceSeed {
        self.account = account.to_string();
        self
    }

    /// The same seed in source Region `region`.
    pub fn in_region(mut self, region: &str) -> InstanceSeed {
        self.region = region.to_string();
        self
    }

    /// The same seed with a replica in `region`.
    pub fn with_replica(mut self, region: &str) -> InstanceSeed {
        self.replicas.push(ReplicaSeed {
            region: region.to_string(),
            alias: String::new(),
        });
        self
    }
}

/// A UUID-shaped id that depends only on its inputs (two FNV-1a hashes).
pub(crate) fn seeded_id(instance: &str, kind: &str, name: &str) -> String {
    let hash = |seed: u64| {
        let mut h = seed;
        for b in instance
            .bytes()
            .chain([0])
            .chain(kind.bytes())
            .chain([0])
            .chain(name.bytes())
        {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        h
    };
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&hash(0xcbf2_9ce4_8422_2325).to_be_bytes());
    bytes[8..].copy_from_slice(&hash(0x8422_2325_cbf2_9ce4).to_be_bytes());
    uuid::Uuid::from_bytes(bytes).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_seed_is_deterministic_and_uuid_shaped() {
        let a = InstanceSeed::standard("i-1");
        let b = InstanceSeed::standard("i-1");
        assert_eq!(a.routing_profiles, b.routing_profiles);
        assert_ne!(
            a.routing_profiles[0].0,
            InstanceSeed::standard("i-2").routing_profiles[0].0
        );
        assert!(uuid::Uuid::parse_str(&a.security_profiles[3].0).is_ok());
    }
}
