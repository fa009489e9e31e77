//! The benchmark's naive baseline: what a straightforward controller for ConnectUser does, run
//! against the same emulators as the operator, as a child process of the benchmark
//! (`--as-naive`) so that its memory and CPU time are its own. It lives here, not in the
//! operator, because the shipped binary has only production paths.
//!
//! - Every resync: DescribeUser of every user, one by one, and an update of what differs.
//! - Every deletion: ListQuickConnects (its summaries carry no target user) and
//!   DescribeQuickConnect of every quick connect, then DeleteUser and DeleteQuickConnect of the
//!   ones that pointed at the user.
//!
//! The real kube client and kube-runtime Controller with a finalizer; the real AWS SDK configured
//! from the environment (`AWS_ENDPOINT_URL_CONNECT`, region, credentials), each call through the
//! operator's own client-side limiter (per operation) so both sides are paced alike. It handles
//! what the benchmark's manifests use (identity, after-contact work on VOICE and CHAT, profiles by
//! name, tags, a password Secret) in the SDK's default region.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_connect::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_connect::types::{
    AfterContactWorkConfig, AfterContactWorkConfigPerChannel, Channel, UserIdentityInfo,
};
use chrono::Utc;
use clap::Parser;
use connect_user_operator::connect::{Rate, RateLimiter};
use connect_user_operator::crd::{ConnectUser, ProfileRef};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Config, Controller};
use kube::runtime::finalizer::{Event, finalizer};
use kube::runtime::watcher;
use kube::{Api, ResourceExt};
use serde_json::json;

pub const AS_NAIVE: &str = "--as-naive";

/// Not the operator's finalizer: the baseline is another controller.
const FINALIZER: &str = "bench.userops.dev/naive-cleanup";
/// The limiter keys calls by (region, operation); the baseline uses one region.
const REGION: &str = "default";

#[derive(Parser, Debug)]
pub struct NaiveArgs {
    #[arg(long)]
    namespace: String,
    #[arg(long, value_parser = connect_user_operator::cli::parse_duration)]
    resync_period: Duration,
    #[arg(long)]
    connect_rate: f64,
    #[arg(long)]
    connect_burst: u32,
    #[arg(long, default_value_t = 32)]
    concurrency: u16,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Failed(String);

fn fail(e: impl std::fmt::Display) -> Failed {
    Failed(e.to_string())
}

fn sdk_fail<E, R>(operation: &str, e: SdkError<E, R>) -> Failed
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some(code) => Failed(format!(
            "{operation}: {code}: {}",
            e.message().unwrap_or("")
        )),
        None => Failed(format!("{operation}: {}", DisplayErrorContext(&e))),
    }
}

fn not_found<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.code() == Some("ResourceNotFoundException")
}

/// Names to ids of an instance's routing and security profiles, listed once.
#[derive(Default)]
struct Catalog {
    routing_profiles: HashMap<String, String>,
    security_profiles: HashMap<String, String>,
}

struct Naive {
    kube: kube::Client,
    connect: aws_sdk_connect::Client,
    limiter: RateLimiter,
    resync: Duration,
    catalogs: tokio::sync::Mutex<HashMap<String, Arc<Catalog>>>,
}

/// Runs the baseline controller until killed.
pub fn run(args: &[String]) -> super::AnyResult<()> {
    let args =
        NaiveArgs::parse_from(std::iter::once("naive".to_string()).chain(args.iter().cloned()));
    tokio::runtime::Runtime::new()?.block_on(async move {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let naive = Arc::new(Naive {
            kube: kube::Client::try_default().await?,
            connect: aws_sdk_connect::Client::new(&sdk),
            limiter: RateLimiter::new(Some(Rate {
                per_second: args.connect_rate,
                burst: args.connect_burst,
            })),
            resync: args.resync_period,
            catalogs: Default::default(),
        });
        let api: Api<ConnectUser> = Api::namespaced(naive.kube.clone(), &args.namespace);
        Controller::new(api, watcher::Config::default())
            .with_config(Config::default().concurrency(args.concurrency))
            .run(reconcile, error_policy, naive)
            .for_each(|_| async {})
            .await;
        Ok(())
    })
}

/// Says what failed (the baseline has no other telemetry) and retries in 5 s.
fn error_policy(cu: Arc<ConnectUser>, e: &Failed, _: Arc<Naive>) -> Action {
    eprintln!("naive baseline: {}: {e}", cu.name_any());
    Action::requeue(Duration::from_secs(5))
}

async fn reconcile(cu: Arc<ConnectUser>, naive: Arc<Naive>) -> Result<Action, Failed> {
    let ns = cu
        .namespace()
        .ok_or_else(|| fail("ConnectUser without a namespace"))?;
    let api: Api<ConnectUser> = Api::namespaced(naive.kube.clone(), &ns);
    finalizer(&api, FINALIZER, cu, |event| async {
        match event {
            Event::Apply(cu) => naive.apply(&api, &cu).await,
            Event::Cleanup(cu) => naive.cleanup(&cu).await,
        }
    })
    .await
    .map_err(fail)
}

impl Naive {
    async fn apply(&self, api: &Api<ConnectUser>, cu: &ConnectUser) -> Result<Action, Failed> {
        let instance = cu.spec.instance_id.as_deref().unwrap_or_default();
        let catalog = self.catalog(instance).await?;
        let routing_profile = resolve(&catalog.routing_profiles, &cu.spec.routing_profile)?;
        let mut security_profiles = cu
            .spec
            .security_profiles
            .iter()
            .map(|r| resolve(&catalog.security_profiles, r))
            .collect::<Result<Vec<_>, _>>()?;
        security_profiles.sort();
        let identity = cu.spec.identity_info.clone().unwrap_or_default();
        match cu.status.as_ref().and_then(|s| s.user_id.clone()) {
            None => {
                let password = self.password(cu).await?;
                let acw = |channel, seconds| {
                    AfterContactWorkConfigPerChannel::builder()
                        .channel(channel)
                        .after_contact_work_config(
                            AfterContactWorkConfig::builder()
                                .after_contact_work_time_limit(seconds)
                                .build(),
                        )
                        .build()
                        .map_err(fail)
                };
                let mut acw_configs = vec![acw(
                    Channel::Voice,
                    cu.spec.phone_config.after_contact_work_time_limit,
                )?];
                let chat = cu
                    .spec
                    .channel_config
                    .as_ref()
                    .and_then(|c| c.chat.as_ref());
                if let Some(seconds) = chat.and_then(|c| c.after_contact_work_time_limit) {
                    acw_configs.push(acw(Channel::Chat, seconds)?);
                }
                self.limiter.acquire(REGION, "CreateUser").await;
                let out = self
                    .connect
                    .create_user()
                    .instance_id(instance)
                    .username(&cu.spec.username)
                    .set_password(password)
                    .identity_info(sdk_identity(&identity))
                    .set_security_profile_ids(Some(security_profiles))
                    .routing_profile_id(routing_profile)
                    .set_after_contact_work_configs(Some(acw_configs))
                    // Connect refuses an empty Tags map.
                    .set_tags(
                        (!cu.spec.tags.is_empty())
                            .then(|| cu.spec.tags.clone().into_iter().collect()),
                    )
                    .send()
                    .await
                    .map_err(|e| sdk_fail("CreateUser", e))?;
                let now = Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
                let status = json!({"status": {
                    "userId": out.user_id(), "userArn": out.user_arn(),
                    "observedGeneration": cu.metadata.generation,
                    "conditions": [{"type": "Ready", "status": "True", "reason": "Created",
                                    "message": "", "lastTransitionTime": now,
                                    "observedGeneration": cu.metadata.generation}]}});
                api.patch_status(
                    &cu.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&status),
                )
                .await
                .map_err(fail)?;
            }
            Some(user_id) => {
                self.limiter.acquire(REGION, "DescribeUser").await;
                let out = self
                    .connect
                    .describe_user()
                    .instance_id(instance)
                    .user_id(&user_id)
                    .send()
                    .await
                    .map_err(|e| sdk_fail("DescribeUser", e))?;
                let user = out.user().ok_or_else(|| fail("DescribeUser: no user"))?;
                let shown = user.identity_info();
                if shown.and_then(|i| i.first_name()) != identity.first_name.as_deref()
                    || shown.and_then(|i| i.last_name()) != identity.last_name.as_deref()
                    || shown.and_then(|i| i.email()) != identity.email.as_deref()
                {
                    self.limiter.acquire(REGION, "UpdateUserIdentityInfo").await;
                    self.connect
                        .update_user_identity_info()
                        .instance_id(instance)
                        .user_id(&user_id)
                        .identity_info(sdk_identity(&identity))
                        .send()
                        .await
                        .map_err(|e| sdk_fail("UpdateUserIdentityInfo", e))?;
                }
                if user.routing_profile_id() != Some(routing_profile.as_str()) {
                    self.limiter
                        .acquire(REGION, "UpdateUserRoutingProfile")
                        .await;
                    self.connect
                        .update_user_routing_profile()
                        .instance_id(instance)
                        .user_id(&user_id)
                        .routing_profile_id(&routing_profile)
                        .send()
                        .await
                        .map_err(|e| sdk_fail("UpdateUserRoutingProfile", e))?;
                }
                let mut shown_profiles = user.security_profile_ids().to_vec();
                shown_profiles.sort();
                if shown_profiles != security_profiles {
                    self.limiter
                        .acquire(REGION, "UpdateUserSecurityProfiles")
                        .await;
                    self.connect
                        .update_user_security_profiles()
                        .instance_id(instance)
                        .user_id(&user_id)
                        .set_security_profile_ids(Some(security_profiles))
                        .send()
                        .await
                        .map_err(|e| sdk_fail("UpdateUserSecurityProfiles", e))?;
                }
            }
        }
        let jitter = rand::random_range(0.9..1.1);
        Ok(Action::requeue(self.resync.mul_f64(jitter)))
    }

    async fn cleanup(&self, cu: &ConnectUser) -> Result<Action, Failed> {
        let Some(user_id) = cu.status.as_ref().and_then(|s| s.user_id.clone()) else {
            return Ok(Action::await_change());
        };
        let instance = cu.spec.instance_id.as_deref().unwrap_or_default();
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            self.limiter.acquire(REGION, "ListQuickConnects").await;
            let page = self
                .connect
                .list_quick_connects()
                .instance_id(instance)
                .max_results(1000)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk_fail("ListQuickConnects", e))?;
            let summaries = page.quick_connect_summary_list();
            ids.extend(summaries.iter().filter_map(|q| q.id().map(str::to_string)));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let mut pointing = Vec::new();
        for id in ids {
            self.limiter.acquire(REGION, "DescribeQuickConnect").await;
            let out = self
                .connect
                .describe_quick_connect()
                .instance_id(instance)
                .quick_connect_id(&id)
                .send()
                .await;
            let out = match out {
                Err(e) if not_found(&e) => continue,
                other => other.map_err(|e| sdk_fail("DescribeQuickConnect", e))?,
            };
            let target = out
                .quick_connect()
                .and_then(|q| q.quick_connect_config())
                .and_then(|c| c.user_config())
                .map(|u| u.user_id());
            if target == Some(user_id.as_str()) {
                pointing.push(id);
            }
        }
        self.limiter.acquire(REGION, "DeleteUser").await;
        match self
            .connect
            .delete_user()
            .instance_id(instance)
            .user_id(&user_id)
            .send()
            .await
        {
            Err(e) if !not_found(&e) => return Err(sdk_fail("DeleteUser", e)),
            _ => {}
        }
        for id in pointing {
            self.limiter.acquire(REGION, "DeleteQuickConnect").await;
            match self
                .connect
                .delete_quick_connect()
                .instance_id(instance)
                .quick_connect_id(&id)
                .send()
                .await
            {
                Err(e) if !not_found(&e) => return Err(sdk_fail("DeleteQuickConnect", e)),
                _ => {}
            }
        }
        Ok(Action::await_change())
    }

    async fn catalog(&self, instance: &str) -> Result<Arc<Catalog>, Failed> {
        let mut catalogs = self.catalogs.lock().await;
        if let Some(c) = catalogs.get(instance) {
            return Ok(c.clone());
        }
        let mut catalog = Catalog::default();
        let mut token = None;
        loop {
            self.limiter.acquire(REGION, "ListRoutingProfiles").await;
            let page = self
                .connect
                .list_routing_profiles()
                .instance_id(instance)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk_fail("ListRoutingProfiles", e))?;
            for s in page.routing_profile_summary_list() {
                if let (Some(name), Some(id)) = (s.name(), s.id()) {
                    catalog.routing_profiles.insert(name.into(), id.into());
                }
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        loop {
            self.limiter.acquire(REGION, "ListSecurityProfiles").await;
            let page = self
                .connect
                .list_security_profiles()
                .instance_id(instance)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| sdk_fail("ListSecurityProfiles", e))?;
            for s in page.security_profile_summary_list() {
                if let (Some(name), Some(id)) = (s.name(), s.id()) {
                    catalog.security_profiles.insert(name.into(), id.into());
                }
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        let catalog = Arc::new(catalog);
        catalogs.insert(instance.to_string(), catalog.clone());
        Ok(catalog)
    }

    async fn password(&self, cu: &ConnectUser) -> Result<Option<String>, Failed> {
        let Some(r) = &cu.spec.password_secret_ref else {
            return Ok(None);
        };
        let ns = cu.namespace().unwrap_or_default();
        let secret = Api::<Secret>::namespaced(self.kube.clone(), &ns)
            .get(&r.name)
            .await
            .map_err(fail)?;
        let bytes = secret
            .data
            .and_then(|mut d| d.remove(&r.key))
            .ok_or_else(|| fail(format!("Secret {} has no key {}", r.name, r.key)))?;
        String::from_utf8(bytes.0).map(Some).map_err(fail)
    }
}

fn resolve(names: &HashMap<String, String>, r: &ProfileRef) -> Result<String, Failed> {
    match (&r.id, &r.name) {
        (Some(id), _) => Ok(id.clone()),
        (None, Some(name)) => names
            .get(name)
            .cloned()
            .ok_or_else(|| fail(format!("no profile named {name:?}"))),
        (None, None) => Err(fail("a profile reference needs an id or a name")),
    }
}

fn sdk_identity(i: &connect_user_operator::crd::IdentityInfo) -> UserIdentityInfo {
    UserIdentityInfo::builder()
        .set_first_name(i.first_name.clone())
        .set_last_name(i.last_name.clone())
        .set_email(i.email.clone())
        .build()
}
