//! The default mode: the Connect emulator in this process, as strict and as eventually
//! consistent as it is in the end-to-end tests, with Connect's time scaled so that its
//! "several minutes" pass in seconds.

use std::time::Duration;

use aws_sdk_connect::config::{Credentials, Region};
use sim::connect::{ConnectConfig, ConnectSim, Consistency, InstanceSeed, Quota};

use crate::target::{Target, Timing};

pub const REGION: &str = "us-east-1";

/// One seeded instance per identity-management type, so every documented rule is exercised.
pub const INSTANCES: [(&str, &str); 3] = [
    ("CONNECT_MANAGED", "c0000000-0000-4000-8000-000000000001"),
    ("SAML", "c0000000-0000-4000-8000-000000000002"),
    ("EXISTING_DIRECTORY", "c0000000-0000-4000-8000-000000000003"),
];

/// The credentials the suite and the operator sign emulator requests with: the key the
/// emulator's IAM registers by default (it verifies SigV4, so any other key is refused).
pub fn credentials() -> Credentials {
    Credentials::new(
        sim::aws::TEST_ACCESS_KEY_ID,
        sim::aws::TEST_SECRET_ACCESS_KEY,
        None,
        None,
        "conformance-emulator",
    )
}

/// The emulator's settings for a run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Connect seconds per real second.
    pub time_scale: f64,
    /// The longest a change takes to show (Connect time).
    pub max_delay: Duration,
    pub seed: u64,
    /// Per-instance quotas, reached by the LimitExceeded cases.
    pub max_users: usize,
    pub max_quick_connects: usize,
}

impl Default for Settings {
    /// Connect's "can take several minutes" as 5 minutes, 120 times as fast: at most 2.5 s.
    fn default() -> Self {
        Settings {
            time_scale: 120.0,
            max_delay: Duration::from_secs(300),
            seed: 16,
            max_users: 40,
            max_quick_connects: 25,
        }
    }
}

impl Settings {
    pub fn consistency(&self) -> Consistency {
        Consistency {
            seed: self.seed,
            time_scale: self.time_scale,
            ..Consistency::new(self.max_delay)
        }
    }

    /// Polling and deadlines in real time: the model's longest window, twice, plus a margin.
    pub fn timing(&self) -> Timing {
        let window = self.max_delay.div_f64(self.time_scale);
        Timing {
            poll: Duration::from_millis(20),
            deadline: window * 2 + Duration::from_secs(2),
            case_timeout: window * 8 + Duration::from_secs(60),
            connect_time_scale: self.time_scale,
        }
    }
}

/// The emulator's configuration for a run: eventually consistent, quotas per instance, and
/// throttling scaled like time (Connect's 2 requests/s would make a run last minutes; the
/// Throttling case still reaches the bucket's end).
pub fn config(settings: &Settings) -> ConnectConfig {
    ConnectConfig {
        quota: Some(Quota {
            rate_per_sec: 100.0,
            burst: 30,
        }),
        max_users_per_instance: Some(settings.max_users),
        max_quick_connects_per_instance: Some(settings.max_quick_connects),
        consistency: Some(settings.consistency()),
        ..ConnectConfig::default()
    }
}

/// The emulator with one instance per identity-management type.
pub struct Bed {
    pub sim: ConnectSim,
    pub settings: Settings,
}

impl Bed {
    pub async fn start(settings: Settings) -> std::io::Result<Bed> {
        let sim = ConnectSim::start(config(&settings)).await?;
        for (idm, id) in INSTANCES {
            sim.seed_instance(InstanceSeed {
                identity_management_type: idm.into(),
                ..InstanceSeed::standard(id)
            });
        }
        Ok(Bed { sim, settings })
    }

    /// The run against each seeded instance (or those of the given identity types).
    pub async fn targets(&self, identity_types: Option<&[String]>) -> Vec<Target> {
        let mut targets = Vec::new();
        for (idm, id) in INSTANCES {
            if identity_types.is_none_or(|t| t.iter().any(|x| x == idm)) {
                targets.push(self.target(idm, id).await);
            }
        }
        targets
    }

    pub async fn target(&self, idm: &str, instance_id: &str) -> Target {
        Target {
            label: format!("emulator, {idm} instance"),
            instance_id: instance_id.to_string(),
            sdk_config: sdk_config(&self.sim).await,
            timing: self.settings.timing(),
            // Past the quota by a margin: the case reports where it was reached.
            quota_fill_cap: Some(
                self.settings
                    .max_users
                    .max(self.settings.max_quick_connects)
                    + 10,
            ),
        }
    }
}

/// An SDK configuration for the emulator: its endpoint, `us-east-1`, `credentials`; the rest
/// (HTTP client, sleep, retry defaults) as the AWS defaults give it.
pub async fn sdk_config(sim: &ConnectSim) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(sim.endpoint())
        .region(Region::new(REGION))
        .credentials_provider(credentials())
        .load()
        .await
}
