//! `ConnectSim`, the test-facing handle: start the server, seed instances, read and edit state
//! directly ("console" edits: no quota, not in the call log), and steer quotas, faults, hooks
//! and the eventual-consistency model.
//!
//! The readers (`users`, `user`, `quick_connects`, `state_json`...) show the authoritative
//! state, never a lagging view; console edits lag in the API's views like API writes do.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::arn;
use super::calls::CallRecord;
use super::config::{ConnectConfig, InstanceSeed, Quota};
use super::consistency::{self, Consistency, Delays, Pin, PinnedDelay, View};
use super::faults::Fault;
use super::inspect;
use super::model::{SimQuickConnect, SimUser};
use super::server::{self, Shared};
use super::state::Instance;
use crate::aws::Iam;

/// A running Connect emulator. Clones share it. The server lives as long as the tokio runtime
/// that started it.
#[derive(Clone)]
pub struct ConnectSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl ConnectSim {
    /// Starts on `127.0.0.1` with a free port.
    pub async fn start(config: ConnectConfig) -> std::io::Result<ConnectSim> {
        ConnectSim::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Refuses (InvalidInput) a consistency model whose settings cannot work.
    pub async fn start_on(addr: SocketAddr, config: ConnectConfig) -> std::io::Result<ConnectSim> {
        if let Some(c) = &config.consistency {
            c.check().map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("consistency: {e}"),
                )
            })?;
        }
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(config));
        let app = server::router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "Connect emulator stopped");
            }
        });
        Ok(ConnectSim { shared, addr })
    }

    /// The identities this emulator trusts (share it with `StsSim::start`).
    pub fn iam(&self) -> &Iam {
        &self.shared.iam
    }

    /// `http://127.0.0.1:PORT`, for `endpoint_url` / `AWS_ENDPOINT_URL_CONNECT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Creates (or replaces) an instance with its catalog.
    pub fn seed_instance(&self, seed: InstanceSeed) {
        self.shared.state().seed(seed);
    }

    fn read<T>(&self, instance_id: &str, f: impl FnOnce(&Instance) -> T) -> Option<T> {
        self.shared.state().instance(instance_id).map(f)
    }

    /// Users in creation order (empty for an unknown instance).
    pub fn users(&self, instance_id: &str) -> Vec<SimUser> {
        self.read(instance_id, |i| i.users().map(|(_, u)| u.clone()).collect())
            .unwrap_or_default()
    }

    pub fn user(&self, instance_id: &str, user_id: &str) -> Option<SimUser> {
        self.read(instance_id, |i| i.user(user_id).cloned())
            .flatten()
    }

    pub fn user_by_name(&self, instance_id: &str, username: &str) -> Option<SimUser> {
        self.read(instance_id, |i| i.user_by_name(username).cloned())
            .flatten()
    }

    /// Adds a user as the console would, without validation; fills in an empty id, ARN and
    /// modification stamp. Returns the id.
    ///
    /// # Panics
    /// If the instance was not seeded (a mistake in the test).
    pub fn insert_user(&self, instance_id: &str, mut user: SimUser) -> String {
        let mut state = self.shared.state();
        let seq = state.next_seq();
        let instance = state
            .instance_mut(instance_id)
            .unwrap_or_else(|| panic!("instance {instance_id} is not seeded"));
        let account = instance.account.clone();
        if user.id.is_empty() {
            user.id = uuid::Uuid::new_v4().to_string();
        }
        if user.arn.is_empty() {
            user.arn = instance.resource_arn(&account, arn::AGENT, &user.id);
        }
        stamp(
            &mut user.last_modified,
            &mut user.last_modified_region,
            &instance.region,
        );
        let id = user.id.clone();
        consistency::console_user(&mut state, instance_id, &id.clone(), |state| {
            if let Some(instance) = state.instance_mut(instance_id) {
                instance.insert_user(seq, user);
            }
        });
        id
    }

    /// Edits a user in place (drift, as from the console) and stamps the modification; false
    /// if there is no such user.
    pub fn modify_user(
        &self,
        instance_id: &str,
        user_id: &str,
        f: impl FnOnce(&mut SimUser),
    ) -> bool {
        let mut state = self.shared.state();
        consistency::console_user(&mut state, instance_id, user_id, |state| {
            let Some(instance) = state.instance_mut(instance_id) else {
                return false;
            };
            let region = instance.region.clone();
            let Some(user) = instance.user_mut(user_id) else {
                return false;
            };
            f(user);
            user.last_modified = Utc::now();
            user.last_modified_region = region;
            true
        })
    }

    /// Deletes a user behind the operator's back; false if there was none.
    pub fn remove_user(&self, instance_id: &str, user_id: &str) -> bool {
        let mut state = self.shared.state();
        consistency::console_user(&mut state, instance_id, user_id, |state| {
            state
                .instance_mut(instance_id)
                .and_then(|i| i.remove_user(user_id))
                .is_some()
        })
    }

    /// Adds a quick connect as the console would, without validation (it may point at a user
    /// that does not exist); fills in an empty id and ARN. Returns the id.
    ///
    /// # Panics
    /// If the instance was not seeded.
    pub fn insert_quick_connect(&self, instance_id: &str, mut qc: SimQuickConnect) -> String {
        let mut state = self.shared.state();
        let seq = state.next_seq();
        let instance = state
            .instance_mut(instance_id)
            .unwrap_or_else(|| panic!("instance {instance_id} is not seeded"));
        let account = instance.account.clone();
        if qc.id.is_empty() {
            qc.id = uuid::Uuid::new_v4().to_string();
        }
        if qc.arn.is_empty() {
            qc.arn = instance.resource_arn(&account, arn::TRANSFER_DESTINATION, &qc.id);
        }
        stamp(
            &mut qc.last_modified,
            &mut qc.last_modified_region,
            &instance.region,
        );
        let id = qc.id.clone();
        consistency::console_quick_connect(&mut state, instance_id, &id.clone(), |state| {
            if let Some(instance) = state.instance_mut(instance_id) {
                instance.insert_quick_connect(seq, qc);
            }
        });
        id
    }

    pub fn modify_quick_connect(
        &self,
        instance_id: &str,
        id: &str,
        f: impl FnOnce(&mut SimQuickConnect),
    ) -> bool {
        let mut state = self.shared.state();
        consistency::console_quick_connect(&mut state, instance_id, id, |state| {
            let Some(qc) = state
                .instance_mut(instance_id)
                .and_then(|i| i.quick_connect_mut(id))
            else {
                return false;
            };
            f(qc);
            qc.last_modified = Utc::now();
            true
        })
    }

    pub fn remove_quick_connect(&self, instance_id: &str, id: &str) -> bool {
        let mut state = self.shared.state();
        consistency::console_quick_connect(&mut state, instance_id, id, |state| {
            state
                .instance_mut(instance_id)
                .and_then(|i| i.remove_quick_connect(id))
                .is_some()
        })
    }

    /// Quick connects in creation order.
    pub fn quick_connects(&self, instance_id: &str) -> Vec<SimQuickConnect> {
        self.read(instance_id, |i| {
            i.quick_connects().map(|(_, q)| q.clone()).collect()
        })
        .unwrap_or_default()
    }

    pub fn quick_connect(&self, instance_id: &str, id: &str) -> Option<SimQuickConnect> {
        self.read(instance_id, |i| i.quick_connect(id).cloned())
            .flatten()
    }

    /// The whole state as JSON (what `GET /_sim/state` answers).
    pub fn state_json(&self) -> Value {
        inspect::state_json(&self.shared.state())
    }

    /// Every API call so far, in order.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.shared.calls.all()
    }

    pub fn clear_calls(&self) {
        self.shared.calls.clear();
    }

    /// The quota of every operation that has none of its own, for every account without its
    /// own (`set_account_quota`); `None` = no throttling. Buckets are per (account, Region,
    /// operation).
    pub fn set_quota(&self, quota: Option<Quota>) {
        self.shared.throttle.set_default(quota);
    }

    /// `account`'s own general quota, in place of `set_quota`'s (`Some(None)`: not throttled);
    /// `None` returns it to the general one. Per-operation quotas still apply to it.
    pub fn set_account_quota(&self, account: &str, quota: Option<Option<Quota>>) {
        self.shared.throttle.set_account(account, quota);
    }

    /// A quota for one operation, in every account; `None` returns it to the general quota.
    pub fn set_operation_quota(&self, operation: &str, quota: Option<Quota>) {
        self.shared.throttle.set_operation(operation, quota);
    }

    pub fn add_fault(&self, fault: Fault) {
        self.shared.faults.add(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Runs `hook` synchronously right after the `nth` (1-based, counted from now) successful
    /// call of `operation` has changed state, before its response is written. Fires once.
    pub fn on_success(&self, operation: &str, nth: usize, hook: impl Fn() + Send + Sync + 'static) {
        self.shared.hooks.add(operation, nth, Arc::new(hook));
    }

    pub fn clear_hooks(&self) {
        self.shared.hooks.clear();
    }

    /// Switches the eventual-consistency model on, changes its settings (pending changes keep
    /// their times), or switches it off (`None`: every view catches up at once).
    ///
    /// # Panics
    /// If the settings cannot work (`Consistency::check`), a mistake in the test.
    pub fn set_consistency(&self, consistency: Option<Consistency>) {
        if let Some(c) = &consistency
            && let Err(e) = c.check()
        {
            panic!("consistency: {e}");
        }
        self.shared.state().visibility.set(consistency);
    }

    /// The model's settings, when it is on.
    pub fn consistency(&self) -> Option<Consistency> {
        self.shared.state().visibility.config().cloned()
    }

    /// Fixes the delay, in both views, of every later write of one user or quick connect (which
    /// may not exist yet when pinned by name). Pending changes keep their delays.
    pub fn pin_delay(&self, pin: Pin, delay: PinnedDelay) {
        self.shared.state().visibility.pin(pin, None, delay);
    }

    /// Like `pin_delay`, for one view only; the other keeps its pin or its random draw.
    pub fn pin_view_delay(&self, pin: Pin, view: View, delay: PinnedDelay) {
        self.shared.state().visibility.pin(pin, Some(view), delay);
    }

    pub fn unpin(&self, pin: &Pin) {
        self.shared.state().visibility.unpin(pin);
    }

    pub fn clear_pins(&self) {
        self.shared.state().visibility.clear_pins();
    }

    /// Moves Connect time forward by `by`, as if it had passed (no effect with the model off).
    pub fn advance(&self, by: Duration) {
        self.shared.state().visibility.advance(by);
    }

    /// Reads answered from a version other than the authoritative latest one, since the start
    /// or the last reset (a NotFound for a resource that exists, a ghost of a deleted one, an
    /// older version, a search that missed or showed what it should not).
    pub fn stale_reads(&self) -> u64 {
        self.shared.state().visibility.stale_reads()
    }

    /// `stale_reads` per operation name.
    pub fn stale_reads_by_operation(&self) -> BTreeMap<String, u64> {
        self.shared.state().visibility.stale_reads_by_operation()
    }

    pub fn reset_stale_reads(&self) {
        self.shared.state().visibility.reset_stale_reads();
    }

    /// True when every view shows the latest version of everything (always, with the model
    /// off).
    pub fn settled(&self) -> bool {
        self.shared.state().visibility.settled()
    }

    /// Polls `settled` until it holds or `timeout` (real time) has passed; returns whether it
    /// settled.
    pub async fn wait_settled(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.settled() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The delays (Connect time) drawn for the latest write of user or quick connect `id`,
    /// while some view has not caught up with it.
    pub fn latest_delays(&self, instance_id: &str, id: &str) -> Option<Delays> {
        self.shared
            .state()
            .visibility
            .latest_delays(instance_id, id)
    }

    /// How many superseded versions the model keeps for lagging views (bounded by the writes
    /// of the last `max_delay`).
    pub fn pending_versions(&self) -> usize {
        self.shared.state().visibility.pending_versions()
    }
}

/// Direct inserts: an unset (epoch) modification time means now, in the instance's Region.
fn stamp(at: &mut DateTime<Utc>, region: &mut String, instance_region: &str) {
    if at.timestamp() == 0 {
        *at = Utc::now();
    }
    if region.is_empty() {
        *region = instance_region.to_string();
    }
}
