//! The only module that knows aws-sdk-connect: typed calls, error classification, client-side
//! rate limiting, retries, and each attempt's and call's outcome in the metrics.
//!
//! Retries are the operator's, not the SDK's (its clients are built with retries off): every
//! attempt, the first and each retry, takes a token of the adaptive limiter and tells it the
//! answer, so a throttled retry costs a token instead of adding load, and the metrics count
//! each attempt. SDK interceptors cannot wait for a token. A wrapper around the HTTP client
//! could, but it sees requests, not operations: it would have to recover the operation and
//! the caller's priority (the sweep takes only spare tokens) from the request, and classify
//! Connect's errors a second time. A custom retry strategy is synchronous: it can name a delay
//! but not wait for a token that other callers compete for. Our own loop has all of it at
//! hand, in the one place every call already went through.

/// Every page of a List* call of (id, name) summaries: `$api.$list()` on the instance, with
/// the setters given, read by `$summaries`.
macro_rules! list_named {
    ($api:expr, $at:expr, $operation:literal, $list:ident $(.$set:ident($value:expr))*, $summaries:ident) => {
        $api.all_pages(
            $at,
            $operation,
            |c, token| {
                c.$list()
                    .instance_id(&$at.instance_id)
                    $(.$set($value))*
                    .max_results(LIST_PAGE)
                    .set_next_token(token)
                    .send()
            },
            |page| named(page.$summaries(), |s| (s.id(), s.name())),
        )
        .await
    };
}

mod adaptive_rate;
pub mod catalog;
mod convert;
pub mod credentials;
pub mod error;
pub mod instance;
mod managed_quick_connect_calls;
mod pager;
pub mod quick_connect_sweep;
pub mod quick_connects_by_user;
pub mod rate_limit;
pub mod sdk_config;
mod shared_scan;
pub mod user_snapshots;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_connect::Client;
use aws_sdk_connect::config::Region;
use aws_sdk_connect::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_connect::types::{
    DirectoryType, QuickConnectConfig, QuickConnectType, StringComparisonType, StringCondition,
    UserSearchCriteria,
};

pub use catalog::{Catalog, InstanceCatalog};
pub use error::{ConnectError, ErrorKind, kind_of_code};
pub use quick_connect_sweep::{ListedQuickConnect, UserPresence};
pub use quick_connects_by_user::QuickConnectsByUser;
pub use rate_limit::{AllowedRate, Feedback, KeyRate, Rate, RateControl, RateLimiter};
pub use sdk_config::{SdkConfigBuilder, StaticKey};
pub use user_snapshots::UserSnapshots;

use crate::model::{
    Access, IdentityManagement, InstanceRef, NamedId, NewUser, ObservedUser, Proficiencies,
    UserQuickConnect, UserSummary, UserUpdate,
};

/// How the operator talks to Connect.
#[derive(Clone, Debug, Default)]
pub struct ConnectSettings {
    /// Client-side rate per (account and region, operation), the ceiling of the adaptive
    /// limiter; `None` sends as fast as asked.
    pub rate: Option<Rate>,
    /// Attempts per call (throttles, 5xx and network errors are retried); default 3, as the
    /// SDK's standard retry.
    pub max_attempts: Option<u32>,
    /// How each key's rate follows Connect's answers below the ceiling; `None`: the operator's
    /// [`rate_limit::Adaptive`]. (The benchmark's fixed baseline sets its own.)
    pub control: Option<Arc<dyn RateControl>>,
}

/// The SDK standard retry's default.
const DEFAULT_ATTEMPTS: u32 = 3;

/// Who a call's rate-limiter token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// Reconciles: in arrival order.
    Normal,
    /// Periodic background work (the dangling quick-connect sweep): a token only while `keep`
    /// more stay in the bucket, so reconciles arriving meanwhile never wait behind it.
    Background { keep: u32 },
}

/// A search condition: `field` is exactly `value`.
fn exact(field: &str, value: &str) -> StringCondition {
    StringCondition::builder()
        .field_name(field)
        .value(value)
        .comparison_type(StringComparisonType::Exact)
        .build()
}

/// A rate-limiter token for one call (see [`ConnectApi::permit`]).
#[must_use = "a permit is taken to send the call it is for"]
pub struct Permit {
    operation: &'static str,
    granted: Instant,
}

pub struct ConnectApi {
    sdk_config: aws_config::SdkConfig,
    settings: ConnectSettings,
    limiter: Arc<RateLimiter>,
    /// One client per (credentials, region): each has its own identity cache.
    clients: Mutex<HashMap<(Access, String), Client>>,
    roles: credentials::AssumedRoles,
    metrics: std::sync::OnceLock<std::sync::Arc<crate::metrics::Metrics>>,
    /// The account of the operator's own credentials, once GetCallerIdentity said it.
    own_account: std::sync::OnceLock<String>,
}

/// Connect's quotas apply per account and region, across the account's instances: the key of
/// the rate limiter's buckets.
pub fn quota_scope(at: &InstanceRef) -> String {
    format!(
        "{}/{}",
        at.access.account.as_deref().unwrap_or("own-account"),
        at.region
    )
}

/// SearchUsers answers at most 500 per page, SearchQuickConnects 100.
const USER_PAGE: i32 = 500;
const QUICK_CONNECT_PAGE: i32 = 100;
const LIST_PAGE: i32 = 1000;
const PROFICIENCY_PAGE: i32 = 100;

impl ConnectApi {
    /// Calls Connect as `sdk_config` says (built by [`SdkConfigBuilder`]), per region.
    pub fn new(sdk_config: aws_config::SdkConfig, settings: ConnectSettings) -> ConnectApi {
        ConnectApi {
            limiter: Arc::new(match &settings.control {
                Some(control) => RateLimiter::with_control(settings.rate, control.clone()),
                None => RateLimiter::new(settings.rate),
            }),
            sdk_config,
            settings,
            clients: Mutex::default(),
            roles: credentials::AssumedRoles::default(),
            own_account: std::sync::OnceLock::new(),
            metrics: std::sync::OnceLock::new(),
        }
    }

    /// An instance object's quota override for its account and region (see
    /// [`RateLimiter::set_override`]): the rate that applies there now, and how many objects ask.
    pub fn set_quota(
        &self,
        at: &InstanceRef,
        owner: &str,
        rate: Option<Rate>,
    ) -> (Option<Rate>, usize) {
        self.limiter.set_override(&quota_scope(at), owner, rate)
    }

    /// The region used when a resource names none.
    pub fn default_region(&self) -> Option<String> {
        self.sdk_config.region().map(|r| r.to_string())
    }

    /// Where calls are counted for Prometheus (set once, by the controller's context).
    pub fn set_metrics(&self, metrics: std::sync::Arc<crate::metrics::Metrics>) {
        let limiter = self.limiter.clone();
        metrics.set_rate_source(Box::new(move || {
            let rates = limiter.allowed_rates(Instant::now());
            rates
                .into_iter()
                .map(|r| {
                    let (account, region) = r.scope.rsplit_once('/').unwrap_or(("", &r.scope));
                    crate::metrics::AllowedRate {
                        account: account.to_string(),
                        region: region.to_string(),
                        operation: r.operation.to_string(),
                        per_second: r.per_second,
                    }
                })
                .collect()
        }));
        let _ = self.metrics.set(metrics);
    }

    /// Tokens the limiter has handed out: one per attempt sent (tests compare it with the
    /// requests Connect received).
    pub fn limiter_grants(&self) -> u64 {
        self.limiter.grants()
    }

    /// The rate the limiter allows now for `operation` on `at`'s account and region.
    pub fn allowed_rate(&self, at: &InstanceRef, operation: &'static str) -> Option<f64> {
        self.limiter
            .allowed_rate(&quota_scope(at), operation, Instant::now())
    }

    async fn client(&self, at: &InstanceRef) -> Client {
        let key = (at.access.clone(), at.region.clone());
        if let Some(c) = self.lock_clients().get(&key) {
            return c.clone();
        }
        // No SDK retries: each attempt is the limiter's (see the module's comment).
        let mut builder = aws_sdk_connect::config::Builder::from(&self.sdk_config)
            .region(Region::new(at.region.clone()))
            .retry_config(aws_config::retry::RetryConfig::disabled());
        if let Some(role) = &at.access.role {
            builder =
                builder.credentials_provider(self.roles.provider(&self.sdk_config, role).await);
        }
        let client = Client::from_conf(builder.build());
        self.lock_clients().entry(key).or_insert(client).clone()
    }

    fn lock_clients(&self) -> std::sync::MutexGuard<'_, HashMap<(Access, String), Client>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every call goes through here: rate limit, send, classify, retry, record in the metrics.
    async fn call<T, E, R, Fut>(
        &self,
        at: &InstanceRef,
        operation: &'static str,
        send: impl FnMut(Client) -> Fut,
    ) -> Result<T, ConnectError>
    where
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        self.call_with(Priority::Normal, at, operation, send).await
    }

    /// [`ConnectApi::call`] at `priority`: background calls take only the limiter's spare
    /// tokens, for each attempt.
    async fn call_with<T, E, R, Fut>(
        &self,
        priority: Priority,
        at: &InstanceRef,
        operation: &'static str,
        send: impl FnMut(Client) -> Fut,
    ) -> Result<T, ConnectError>
    where
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let granted = self.token(priority, &quota_scope(at), operation).await;
        let attempts = self
            .settings
            .max_attempts
            .unwrap_or(DEFAULT_ATTEMPTS)
            .max(1);
        self.attempts(priority, at, operation, granted, attempts, send)
            .await
    }

    /// Waits for a token at `priority`; returns when it was granted.
    async fn token(&self, priority: Priority, scope: &str, operation: &'static str) -> Instant {
        match priority {
            Priority::Normal => self.limiter.acquire(scope, operation).await,
            Priority::Background { keep } => {
                self.limiter.acquire_spare(scope, operation, keep).await
            }
        }
    }

    /// A token of the client-side rate limiter for `operation`, taken now. For the calls whose
    /// attempt the operator records in status first (CreateUser, CreateQuickConnect,
    /// DeleteUser): taking the token before the record means the recorded time is at most one
    /// status write earlier than the send, however long the limiter made the caller wait.
    pub async fn permit(&self, at: &InstanceRef, operation: &'static str) -> Permit {
        let granted = self.limiter.acquire(&quota_scope(at), operation).await;
        Permit { operation, granted }
    }

    /// Sends once with a token already taken (see [`ConnectApi::permit`] and [`once`]).
    async fn call_permitted<T, E, R, Fut>(
        &self,
        permit: Permit,
        at: &InstanceRef,
        operation: &'static str,
        send: impl FnOnce(Client) -> Fut,
    ) -> Result<T, ConnectError>
    where
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        debug_assert_eq!(permit.operation, operation, "a permit is for one operation");
        let scope = quota_scope(at);
        let client = self.client(at).await;
        let result = self
            .attempt(&scope, operation, permit.granted, send(client))
            .await;
        self.record_call(operation, &result);
        result
    }

    /// Up to `attempts` attempts, the first with the token granted at `granted`, each retry
    /// with its own; every answer goes to the limiter and to the per-attempt metrics, the
    /// last one to the per-call metrics.
    async fn attempts<T, E, R, Fut>(
        &self,
        priority: Priority,
        at: &InstanceRef,
        operation: &'static str,
        mut granted: Instant,
        attempts: u32,
        mut send: impl FnMut(Client) -> Fut,
    ) -> Result<T, ConnectError>
    where
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let scope = quota_scope(at);
        let client = self.client(at).await;
        let mut attempt = 1;
        loop {
            let result = self
                .attempt(&scope, operation, granted, send(client.clone()))
                .await;
            match &result {
                Err(e) if attempt < attempts && retried(e.kind) => {
                    let allowed = self.limiter.allowed_rate(&scope, operation, Instant::now());
                    tokio::time::sleep(backoff(e.kind, attempt, allowed)).await;
                    attempt += 1;
                    granted = self.token(priority, &scope, operation).await;
                }
                _ => {
                    self.record_call(operation, &result);
                    return result;
                }
            }
        }
    }

    /// One attempt, let through at `granted`: its answer goes to the limiter and to the
    /// per-attempt metrics.
    async fn attempt<T, E, R, Fut>(
        &self,
        scope: &str,
        operation: &'static str,
        granted: Instant,
        sent: Fut,
    ) -> Result<T, ConnectError>
    where
        Fut: Future<Output = Result<T, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let result = sent.await.map_err(|e| error::classify(operation, e));
        self.limiter
            .observe(scope, operation, feedback(&result), granted, Instant::now());
        if let Some(m) = self.metrics.get() {
            m.connect_request(operation, attempt_outcome(&result));
        }
        result
    }

    /// A call's last answer, in the per-call metrics.
    fn record_call<T>(&self, operation: &'static str, result: &Result<T, ConnectError>) {
        if let Some(m) = self.metrics.get() {
            let outcome = result.as_ref().map_or_else(|e| e.kind.label(), |_| "ok");
            m.connect_call(operation, outcome);
        }
    }

    pub async fn identity_management(
        &self,
        at: &InstanceRef,
    ) -> Result<IdentityManagement, ConnectError> {
        let out = self
            .call(at, "DescribeInstance", |c| {
                c.describe_instance().instance_id(&at.instance_id).send()
            })
            .await?;
        Ok(
            match out.instance().and_then(|i| i.identity_management_type()) {
                Some(DirectoryType::ConnectManaged) => IdentityManagement::ConnectManaged,
                Some(DirectoryType::Saml) => IdentityManagement::Saml,
                Some(DirectoryType::ExistingDirectory) => IdentityManagement::ExistingDirectory,
                _ => IdentityManagement::Other,
            },
        )
    }

    pub async fn list_security_profiles(
        &self,
        at: &InstanceRef,
    ) -> Result<Vec<NamedId>, ConnectError> {
        list_named!(
            self,
            at,
            "ListSecurityProfiles",
            list_security_profiles,
            security_profile_summary_list
        )
    }

    pub async fn list_routing_profiles(
        &self,
        at: &InstanceRef,
    ) -> Result<Vec<NamedId>, ConnectError> {
        list_named!(
            self,
            at,
            "ListRoutingProfiles",
            list_routing_profiles,
            routing_profile_summary_list
        )
    }

    pub async fn list_hierarchy_groups(
        &self,
        at: &InstanceRef,
    ) -> Result<Vec<NamedId>, ConnectError> {
        list_named!(
            self,
            at,
            "ListUserHierarchyGroups",
            list_user_hierarchy_groups,
            user_hierarchy_group_summary_list
        )
    }

    /// The user with exactly this username, if any (SearchUsers).
    pub async fn find_user_by_username(
        &self,
        at: &InstanceRef,
        username: &str,
    ) -> Result<Option<UserSummary>, ConnectError> {
        let criteria = UserSearchCriteria::builder()
            .string_condition(exact("Username", username))
            .build();
        let users = self
            .all_pages(
                at,
                "SearchUsers",
                |c, token| {
                    c.search_users()
                        .instance_id(&at.instance_id)
                        .search_criteria(criteria.clone())
                        .max_results(USER_PAGE)
                        .set_next_token(token)
                        .send()
                },
                |page| page.users().iter().map(convert::summary_from_sdk).collect(),
            )
            .await?;
        Ok(users.into_iter().find(|u| u.username == username))
    }

    /// Every user of the instance (SearchUsers, pages of 500).
    pub async fn list_all_users(&self, at: &InstanceRef) -> Result<Vec<UserSummary>, ConnectError> {
        self.search_all_users(at, |user| user).await
    }

    /// Every user of the instance, each as `keep` makes it, page by page: a caller that keeps
    /// less than a whole `UserSummary` never holds every user's whole summary at once.
    pub(crate) async fn search_all_users<T>(
        &self,
        at: &InstanceRef,
        keep: impl Fn(UserSummary) -> T,
    ) -> Result<Vec<T>, ConnectError> {
        self.all_pages(
            at,
            "SearchUsers",
            |c, token| {
                c.search_users()
                    .instance_id(&at.instance_id)
                    .max_results(USER_PAGE)
                    .set_next_token(token)
                    .send()
            },
            |page| {
                page.users()
                    .iter()
                    .map(|user| keep(convert::summary_from_sdk(user)))
                    .collect()
            },
        )
        .await
    }

    pub async fn describe_user(
        &self,
        at: &InstanceRef,
        user_id: &str,
    ) -> Result<ObservedUser, ConnectError> {
        let out = self
            .call(at, "DescribeUser", |c| {
                c.describe_user()
                    .instance_id(&at.instance_id)
                    .user_id(user_id)
                    .send()
            })
            .await?;
        match out.user() {
            Some(user) => Ok(convert::observed_from_sdk(user)),
            None => Err(ConnectError {
                operation: "DescribeUser",
                kind: ErrorKind::Transient,
                code: "EmptyResponse".into(),
                message: "DescribeUser answered without a user".into(),
            }),
        }
    }

    /// Every proficiency of the user (ListUserProficiencies, pages of 100): DescribeUser and
    /// SearchUsers do not show them.
    pub async fn list_user_proficiencies(
        &self,
        at: &InstanceRef,
        user_id: &str,
    ) -> Result<Proficiencies, ConnectError> {
        let all = self
            .all_pages(
                at,
                "ListUserProficiencies",
                |c, token| {
                    c.list_user_proficiencies()
                        .instance_id(&at.instance_id)
                        .user_id(user_id)
                        .max_results(PROFICIENCY_PAGE)
                        .set_next_token(token)
                        .send()
                },
                |page| {
                    let list = convert::proficiencies_from_sdk(page.user_proficiency_list());
                    list.into_iter().collect()
                },
            )
            .await?;
        Ok(all.into_iter().collect())
    }

    /// Creates the user with all its fields and tags in one call; returns (id, arn). The phone
    /// settings travel as VOICE entries of the per-channel lists, never as PhoneConfig too
    /// (Connect refuses both). Proficiencies are not part of CreateUser: see `send_update`.
    /// Sent once (see [`once`]): its error, if any, is what this one request did.
    pub async fn create_user(
        &self,
        permit: Permit,
        at: &InstanceRef,
        user: &NewUser,
    ) -> Result<(String, String), ConnectError> {
        let f = &user.fields;
        let lists = convert::new_user_lists(&f.phone.normalized(), &f.channels)
            .map_err(build_error("CreateUser"))?;
        let out = self
            .call_permitted(permit, at, "CreateUser", |c| {
                c.create_user()
                    .instance_id(&at.instance_id)
                    .username(&user.username)
                    .set_password(user.password.as_ref().map(|p| p.expose().to_string()))
                    .set_directory_user_id(user.directory_user_id.clone())
                    .identity_info(convert::identity_to_sdk(&f.identity.normalized()))
                    .set_security_profile_ids(Some(
                        f.security_profile_ids.iter().cloned().collect(),
                    ))
                    .routing_profile_id(&f.routing_profile_id)
                    .set_hierarchy_group_id(f.hierarchy_group_id.clone())
                    .set_tags(Some(f.tags.clone().into_iter().collect()))
                    .set_auto_accept_configs(lists.auto_accept)
                    .set_after_contact_work_configs(lists.after_contact_work)
                    .set_phone_number_configs(lists.phone_number)
                    .set_persistent_connection_configs(lists.persistent_connection)
                    .set_voice_enhancement_configs(lists.voice_enhancement)
                    .customize()
                    .config_override(once())
                    .send()
            })
            .await?;
        Ok((
            out.user_id().unwrap_or_default().to_string(),
            out.user_arn().unwrap_or_default().to_string(),
        ))
    }

    /// Sends the one Update*/Tag/Untag call that `update` stands for.
    pub async fn send_update(
        &self,
        at: &InstanceRef,
        user_id: &str,
        user_arn: &str,
        update: &UserUpdate,
    ) -> Result<(), ConnectError> {
        let api = self;
        // `$operation` on the user, through the SDK's `$method` with the setters given.
        macro_rules! on_user {
            ($operation:literal, $method:ident $(.$set:ident($value:expr))+) => {
                api.call(at, $operation, |c| {
                    c.$method()
                        .instance_id(&at.instance_id)
                        .user_id(user_id)
                        $(.$set($value))+
                        .send()
                })
                .await
                .map(drop)
            };
        }
        // UpdateUserConfig: each given entry replaces that channel's; other channels are kept.
        macro_rules! user_config {
            ($lists:expr) => {{
                let lists = $lists.map_err(build_error("UpdateUserConfig"))?;
                on_user!(
                    "UpdateUserConfig",
                    update_user_config
                        .set_auto_accept_configs(lists.auto_accept.clone())
                        .set_after_contact_work_configs(lists.after_contact_work.clone())
                        .set_phone_number_configs(lists.phone_number.clone())
                        .set_persistent_connection_configs(lists.persistent_connection.clone())
                        .set_voice_enhancement_configs(lists.voice_enhancement.clone())
                )
            }};
        }
        match update {
            UserUpdate::IdentityInfo(identity) => on_user!(
                "UpdateUserIdentityInfo",
                update_user_identity_info.identity_info(convert::identity_to_sdk(identity))
            ),
            // UpdateUserConfig with the VOICE entries, not UpdateUserPhoneConfig: the latter
            // would set its after-contact-work limit on every channel.
            UserUpdate::PhoneConfig(phone) => user_config!(convert::voice_to_sdk(phone)),
            UserUpdate::ChannelConfig(channels) => user_config!(convert::channels_to_sdk(channels)),
            UserUpdate::RoutingProfile(id) => on_user!(
                "UpdateUserRoutingProfile",
                update_user_routing_profile.routing_profile_id(id)
            ),
            UserUpdate::SecurityProfiles(ids) => on_user!(
                "UpdateUserSecurityProfiles",
                update_user_security_profiles.set_security_profile_ids(Some(ids.clone()))
            ),
            UserUpdate::Hierarchy(id) => on_user!(
                "UpdateUserHierarchy",
                update_user_hierarchy.set_hierarchy_group_id(id.clone())
            ),
            UserUpdate::AssociateProficiencies(p) => {
                let list = convert::proficiencies_to_sdk(p)
                    .map_err(build_error("AssociateUserProficiencies"))?;
                on_user!(
                    "AssociateUserProficiencies",
                    associate_user_proficiencies.set_user_proficiencies(Some(list.clone()))
                )
            }
            UserUpdate::UpdateProficiencies(p) => {
                let list = convert::proficiencies_to_sdk(p)
                    .map_err(build_error("UpdateUserProficiencies"))?;
                on_user!(
                    "UpdateUserProficiencies",
                    update_user_proficiencies.set_user_proficiencies(Some(list.clone()))
                )
            }
            UserUpdate::DisassociateProficiencies(keys) => {
                let list = convert::proficiency_keys_to_sdk(keys)
                    .map_err(build_error("DisassociateUserProficiencies"))?;
                on_user!(
                    "DisassociateUserProficiencies",
                    disassociate_user_proficiencies.set_user_proficiencies(Some(list.clone()))
                )
            }
            UserUpdate::Tag(tags) => self
                .call(at, "TagResource", |c| {
                    let tags = tags.clone().into_iter().collect();
                    c.tag_resource()
                        .resource_arn(user_arn)
                        .set_tags(Some(tags))
                        .send()
                })
                .await
                .map(drop),
            UserUpdate::Untag(keys) => self
                .call(at, "UntagResource", |c| {
                    let keys = Some(keys.clone());
                    c.untag_resource()
                        .resource_arn(user_arn)
                        .set_tag_keys(keys)
                        .send()
                })
                .await
                .map(drop),
        }
    }

    /// DeleteUser, sent once (see [`once`]). NotFound is the caller's to judge: right after a
    /// create it does not mean the user is gone.
    pub async fn delete_user(
        &self,
        permit: Permit,
        at: &InstanceRef,
        user_id: &str,
    ) -> Result<(), ConnectError> {
        self.call_permitted(permit, at, "DeleteUser", |c| {
            c.delete_user()
                .instance_id(&at.instance_id)
                .user_id(user_id)
                .customize()
                .config_override(once())
                .send()
        })
        .await
        .map(|_| ())
    }

    /// Every USER quick connect of the instance with its target user, from a complete
    /// SearchQuickConnects listing (all pages). Connect cannot filter on the target user.
    pub async fn user_quick_connects(
        &self,
        at: &InstanceRef,
    ) -> Result<Vec<UserQuickConnect>, ConnectError> {
        self.all_pages(
            at,
            "SearchQuickConnects",
            |c, token| {
                c.search_quick_connects()
                    .instance_id(&at.instance_id)
                    .max_results(QUICK_CONNECT_PAGE)
                    .set_next_token(token)
                    .send()
            },
            |page| {
                let found = page.quick_connects().iter();
                found
                    .filter_map(|qc| {
                        let id = qc.quick_connect_id().unwrap_or_default();
                        user_quick_connect(id, qc.name(), qc.quick_connect_config())
                    })
                    .collect()
            },
        )
        .await
    }

    /// DeleteQuickConnect. NotFound is the caller's to judge: right after a create it does not
    /// mean the quick connect is gone.
    pub async fn delete_quick_connect(
        &self,
        at: &InstanceRef,
        quick_connect_id: &str,
    ) -> Result<(), ConnectError> {
        self.call(at, "DeleteQuickConnect", |c| {
            c.delete_quick_connect()
                .instance_id(&at.instance_id)
                .quick_connect_id(quick_connect_id)
                .send()
        })
        .await
        .map(|_| ())
    }
}

/// A request the SDK refused to build (a required member missing): a bug in the conversion,
/// reported as an invalid request rather than a panic.
fn build_error(
    operation: &'static str,
) -> impl Fn(aws_sdk_connect::error::BuildError) -> ConnectError {
    move |e| ConnectError {
        operation,
        kind: ErrorKind::Invalid,
        code: "BuildError".into(),
        message: e.to_string(),
    }
}

/// The (id, name) pairs of a List* page.
fn named<S>(items: &[S], id_name: impl Fn(&S) -> (Option<&str>, Option<&str>)) -> Vec<NamedId> {
    let pair = |s: &S| {
        let (id, name) = id_name(s);
        NamedId {
            id: id.unwrap_or_default().into(),
            name: name.unwrap_or_default().into(),
        }
    };
    items.iter().map(pair).collect()
}

/// The quick connect `id` if it is of type USER, with its target user.
fn user_quick_connect(
    id: &str,
    name: Option<&str>,
    config: Option<&QuickConnectConfig>,
) -> Option<UserQuickConnect> {
    let user = config
        .filter(|c| c.quick_connect_type() == &QuickConnectType::User)?
        .user_config()?;
    Some(UserQuickConnect {
        id: id.to_string(),
        name: name.unwrap_or_default().to_string(),
        user_id: user.user_id().to_string(),
    })
}

/// What an attempt's answer tells the limiter: only ThrottlingException is about the rate
/// (LimitExceededException, also HTTP 429, is a per-instance resource quota).
pub fn feedback<T>(result: &Result<T, ConnectError>) -> Feedback {
    match result {
        Err(e) if e.kind == ErrorKind::Throttled => Feedback::Throttled,
        _ => Feedback::Answered,
    }
}

/// The `outcome` of the per-attempt metric: ok, throttled or error.
fn attempt_outcome<T>(result: &Result<T, ConnectError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) if e.kind == ErrorKind::Throttled => "throttled",
        Err(_) => "error",
    }
}

/// What the retry loop retries, as the SDK's standard retry does: throttles and transient
/// errors (5xx, timeouts, network). The rest would be answered the same again.
fn retried(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::Throttled | ErrorKind::Transient)
}

/// The pause before retry `attempt + 1`, with full jitter. A throttle: up to 2^(attempt-1)
/// intervals of the rate now allowed (the limiter already slowed down; this spreads the
/// retries of callers throttled together). Otherwise as the SDK's standard retry: up to
/// 2^(attempt-1) s, at most 20 s.
fn backoff(kind: ErrorKind, attempt: u32, allowed: Option<f64>) -> Duration {
    let doubling = f64::from(1u32 << (attempt.clamp(1, 6) - 1));
    let unit = match (kind, allowed) {
        (ErrorKind::Throttled, Some(rate)) if rate > 0.0 => 1.0 / rate,
        _ => 1.0,
    };
    Duration::from_secs_f64((rand::random::<f64>() * doubling * unit).min(20.0))
}

/// One attempt, no retry, for the calls whose attempt is recorded in status first (the
/// operator's retry loop sends them once too; this keeps the SDK's side explicit). CreateUser
/// and CreateQuickConnect are not idempotent: a retry after a lost response answers
/// DuplicateResourceException for the operator's own new user, indistinguishable from someone
/// else's; and the recorded attempt time must bound when the request was really sent. A
/// throttled or failed attempt comes back to the reconcile, which retries on its own schedule.
fn once() -> aws_sdk_connect::config::Builder {
    aws_sdk_connect::config::Builder::default()
        .retry_config(aws_config::retry::RetryConfig::disabled())
}
