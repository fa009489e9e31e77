//! Another client of the same account: it draws on Connect's quota for each operation at a
//! fixed rate, as the console, a SCIM sync or a reporting script would, until stopped. Its
//! requests name an instance that does not exist (`NEIGHBOUR_INSTANCE`): the quota is taken at
//! the front door, before the instance is looked up, so they cost quota and change nothing, and
//! the emulator's call records tell them from the operator's by their instance id.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_connect::Client;

pub const NEIGHBOUR_INSTANCE: &str = "eeeeeeee-0000-4000-8000-00000000beef";

/// The operations the operator spends its quota on while creating and deleting users.
pub const OPERATIONS: &[&str] = &[
    "CreateUser",
    "DescribeUser",
    "DeleteUser",
    "SearchUsers",
    "SearchQuickConnects",
    "DeleteQuickConnect",
];

pub struct Neighbour {
    running: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Neighbour {
    /// Sends `per_second` requests of each of `operations` through `client` (built without
    /// retries: a throttled request is not sent again), until [`Neighbour::stop`]. Idle while
    /// paused ([`Neighbour::set_running`]).
    pub fn start(client: Client, operations: &[&'static str], per_second: f64) -> Neighbour {
        let running = Arc::new(AtomicBool::new(true));
        let tasks = operations
            .iter()
            .map(|&op| {
                let (client, running) = (client.clone(), running.clone());
                tokio::spawn(async move {
                    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
                    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    loop {
                        tick.tick().await;
                        if running.load(Ordering::Relaxed) {
                            // Not awaited: a slow answer does not slow the neighbour down.
                            let client = client.clone();
                            tokio::spawn(async move { send(&client, op).await });
                        }
                    }
                })
            })
            .collect();
        Neighbour { running, tasks }
    }

    pub fn set_running(&self, on: bool) {
        self.running.store(on, Ordering::Relaxed);
    }

    pub fn stop(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}

/// One request of `operation` on the instance that does not exist; its answer (429 or 404) is
/// of no interest.
async fn send(c: &Client, operation: &str) {
    let i = NEIGHBOUR_INSTANCE;
    let id = "00000000-0000-4000-8000-000000000000";
    let _ = match operation {
        "CreateUser" => c
            .create_user()
            .instance_id(i)
            .username("neighbour")
            .security_profile_ids(id)
            .routing_profile_id(id)
            .send()
            .await
            .is_ok(),
        "DescribeUser" => c
            .describe_user()
            .instance_id(i)
            .user_id(id)
            .send()
            .await
            .is_ok(),
        "DeleteUser" => c
            .delete_user()
            .instance_id(i)
            .user_id(id)
            .send()
            .await
            .is_ok(),
        "SearchUsers" => c.search_users().instance_id(i).send().await.is_ok(),
        "SearchQuickConnects" => c
            .search_quick_connects()
            .instance_id(i)
            .send()
            .await
            .is_ok(),
        "DeleteQuickConnect" => c
            .delete_quick_connect()
            .instance_id(i)
            .quick_connect_id(id)
            .send()
            .await
            .is_ok(),
        _ => true,
    };
}

/// A Connect client of the emulator's test account, without retries.
pub async fn client(endpoint: &str) -> Client {
    let config = connect_user_operator::connect::SdkConfigBuilder::default()
        .region("us-east-1")
        .connect_endpoint(endpoint)
        .static_key(connect_user_operator::connect::StaticKey {
            access_key_id: sim::aws::TEST_ACCESS_KEY_ID,
            secret_access_key: sim::aws::TEST_SECRET_ACCESS_KEY,
        })
        .load()
        .await;
    let conf = aws_sdk_connect::config::Builder::from(&config)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}
