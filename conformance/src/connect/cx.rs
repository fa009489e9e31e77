//! What a case works with: the SDK clients, the discovered instance, fresh names, the tracker
//! that deletes what it creates, the run's shared search fixture, and helpers for the calls
//! most cases make (a valid CreateUser for this instance, waiting for a user to show).

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_connect::Client;
use aws_sdk_connect::operation::create_quick_connect::builders::CreateQuickConnectFluentBuilder;
use aws_sdk_connect::operation::create_user::builders::CreateUserFluentBuilder;
use aws_sdk_connect::types::builders::UserIdentityInfoBuilder;
use aws_sdk_connect::types::{
    QuickConnectConfig, QuickConnectType, StringComparisonType, StringCondition, UserIdentityInfo,
    UserQuickConnectConfig, UserSearchCriteria,
};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::case::{Observed, SetupFailed};
use super::discover::Instance;
use super::fixtures::SearchFixture;
use super::observe::{self, Setup};
use super::poll::{self, Probe};
use super::resources::{Kind, Tracker};
use crate::names::{MARKER_TAG, Names};
use crate::target::Timing;

/// What all cases of one run share.
pub struct Run {
    /// With the SDK's adaptive retries: throttling is waited out, as any client would.
    pub client: Client,
    /// Without retries: for the cases about throttling and quotas, which must see the 429.
    pub raw: Client,
    pub instance: Instance,
    pub timing: Timing,
    pub names: Names,
    pub quota_fill_cap: Option<usize>,
    password: String,
    /// The shared fixture's resources, deleted at the end of the run.
    pub fixture_tracker: Tracker,
    fixture: OnceCell<Result<Arc<SearchFixture>, SetupFailed>>,
}

impl Run {
    pub fn new(
        client: Client,
        raw: Client,
        instance: Instance,
        timing: Timing,
        names: Names,
        quota_fill_cap: Option<usize>,
    ) -> Run {
        Run {
            client,
            raw,
            instance,
            timing,
            names,
            quota_fill_cap,
            password: crate::names::password(),
            fixture_tracker: Tracker::default(),
            fixture: OnceCell::new(),
        }
    }
}

/// A case's view: the run, and the case's own tracker.
pub struct Cx {
    pub run: Arc<Run>,
    pub tracker: Tracker,
}

/// A user a case created.
#[derive(Clone, Debug)]
pub struct UserRef {
    pub id: String,
    pub arn: String,
    pub username: String,
}

#[derive(Clone, Debug)]
pub struct QuickConnectRef {
    pub id: String,
    pub arn: String,
    pub name: String,
}

impl Cx {
    pub fn client(&self) -> &Client {
        &self.run.client
    }

    pub fn instance(&self) -> &Instance {
        &self.run.instance
    }

    pub fn instance_id(&self) -> &str {
        &self.run.instance.id
    }

    pub fn timing(&self) -> &Timing {
        &self.run.timing
    }

    pub fn is(&self, idm: &str) -> bool {
        self.run.instance.is(idm)
    }

    /// A fresh username of this run.
    pub fn username(&self) -> String {
        self.run.names.next()
    }

    /// The instance's password for new users (CONNECT_MANAGED).
    pub fn password(&self) -> &str {
        &self.run.password
    }

    /// The identity fields this instance's users need (names for CONNECT_MANAGED and SAML,
    /// an email for CONNECT_MANAGED only).
    pub fn identity(&self) -> UserIdentityInfoBuilder {
        let b = UserIdentityInfo::builder();
        if self.is("CONNECT_MANAGED") {
            b.first_name("Conformance")
                .last_name("Suite")
                .email("conformance@example.com")
        } else if self.is("SAML") {
            b.first_name("Conformance").last_name("Suite")
        } else {
            b
        }
    }

    /// A CreateUser this instance accepts: the password and identity it needs, the discovered
    /// profiles, the marker tag. Cases change what they test.
    pub fn user(&self, username: &str) -> CreateUserFluentBuilder {
        self.user_on(self.client(), username)
    }

    /// `user` on another client (the one without retries).
    pub fn user_on(&self, client: &Client, username: &str) -> CreateUserFluentBuilder {
        let i = self.instance();
        let mut b = client
            .create_user()
            .instance_id(&i.id)
            .username(username)
            .identity_info(self.identity().build())
            .security_profile_ids(&i.security_profile.id)
            .routing_profile_id(&i.routing_profile.id)
            .tags(MARKER_TAG, self.run.names.run());
        if self.is("CONNECT_MANAGED") {
            b = b.password(self.password());
        }
        b
    }

    /// Sends a CreateUser, recording the user for deletion when it was created.
    pub async fn create_user(&self, b: CreateUserFluentBuilder) -> Observed {
        self.create_user_with(b, &self.tracker).await
    }

    pub async fn create_user_with(
        &self,
        b: CreateUserFluentBuilder,
        tracker: &Tracker,
    ) -> Observed {
        let username = b.get_username().clone().unwrap_or_default();
        let r = b.send().await;
        if let Ok(out) = &r
            && let Some(id) = out.user_id()
        {
            tracker.add(Kind::User, id, &username);
        }
        observe::result(
            &r,
            |o| json!({"UserId": o.user_id(), "UserArn": o.user_arn()}),
        )
    }

    /// A user the case needs (not the call under test): it must be created.
    pub async fn setup_user(&self, b: CreateUserFluentBuilder) -> Result<UserRef, SetupFailed> {
        self.setup_user_with(b, &self.tracker).await
    }

    pub async fn setup_user_with(
        &self,
        b: CreateUserFluentBuilder,
        tracker: &Tracker,
    ) -> Result<UserRef, SetupFailed> {
        let username = b.get_username().clone().unwrap_or_default();
        match self.create_user_with(b, tracker).await {
            Observed::Success(v) => Ok(UserRef {
                id: v["UserId"].as_str().unwrap_or_default().to_string(),
                arn: v["UserArn"].as_str().unwrap_or_default().to_string(),
                username,
            }),
            other => Err(SetupFailed(format!("CreateUser {username}: {other}"))),
        }
    }

    /// A new valid user of this instance.
    pub async fn new_user(&self) -> Result<UserRef, SetupFailed> {
        self.setup_user(self.user(&self.username())).await
    }

    /// DescribeUser once the user shows (its creation's propagation is another case's
    /// subject), as JSON.
    pub async fn described(&self, id: &str) -> Result<Value, SetupFailed> {
        let since = Instant::now();
        let observed = poll::until(self.timing(), since, || async {
            let r = self
                .client()
                .describe_user()
                .instance_id(self.instance_id())
                .user_id(id)
                .send()
                .await;
            let o = observe::result(&r, |o| o.user().map(observe::user).unwrap_or_default());
            match o {
                Observed::Success(_) => Probe::Done(o),
                other => Probe::pending_on(
                    other,
                    &["ResourceNotFoundException", "InvalidRequestException"],
                ),
            }
        })
        .await;
        final_success(observed, &format!("DescribeUser {id}"))
    }

    /// The user's SearchUsers summary once the search index shows it, as JSON.
    pub async fn searched(&self, id: &str) -> Result<Value, SetupFailed> {
        let since = Instant::now();
        let observed = poll::until(self.timing(), since, || async {
            let r = self
                .client()
                .search_users()
                .instance_id(self.instance_id())
                .search_criteria(string_criteria(
                    "resourceId",
                    StringComparisonType::Exact,
                    id,
                ))
                .send()
                .await;
            match r {
                Ok(out) => match out.users().iter().find(|u| u.id() == Some(id)) {
                    Some(u) => Probe::Done(Observed::Success(observe::user_summary(u))),
                    None => Probe::Pending("absent".into()),
                },
                Err(e) => Probe::Unexpected(observe::error(&e)),
            }
        })
        .await;
        final_success(observed, &format!("SearchUsers resourceId {id}"))
    }

    /// A USER quick connect to `user_id` (the discovered agent-transfer flow, the marker tag).
    pub fn quick_connect(
        &self,
        name: &str,
        user_id: &str,
    ) -> Result<CreateQuickConnectFluentBuilder, SetupFailed> {
        self.quick_connect_on(self.client(), name, user_id)
    }

    pub fn quick_connect_on(
        &self,
        client: &Client,
        name: &str,
        user_id: &str,
    ) -> Result<CreateQuickConnectFluentBuilder, SetupFailed> {
        let flow = self
            .instance()
            .agent_transfer_flow
            .as_ref()
            .setup("an AGENT_TRANSFER contact flow in the instance")?;
        let config = QuickConnectConfig::builder()
            .quick_connect_type(QuickConnectType::User)
            .user_config(
                UserQuickConnectConfig::builder()
                    .user_id(user_id)
                    .contact_flow_id(&flow.id)
                    .build()
                    .map_err(|e| SetupFailed(e.to_string()))?,
            )
            .build()
            .map_err(|e| SetupFailed(e.to_string()))?;
        Ok(client
            .create_quick_connect()
            .instance_id(self.instance_id())
            .name(name)
            .quick_connect_config(config)
            .tags(MARKER_TAG, self.run.names.run()))
    }

    pub async fn create_quick_connect(&self, b: CreateQuickConnectFluentBuilder) -> Observed {
        self.create_quick_connect_with(b, &self.tracker).await
    }

    pub async fn create_quick_connect_with(
        &self,
        b: CreateQuickConnectFluentBuilder,
        tracker: &Tracker,
    ) -> Observed {
        let name = b.get_name().clone().unwrap_or_default();
        let r = b.send().await;
        if let Ok(out) = &r
            && let Some(id) = out.quick_connect_id()
        {
            tracker.add(Kind::QuickConnect, id, &name);
        }
        observe::result(
            &r,
            |o| json!({"QuickConnectId": o.quick_connect_id(), "QuickConnectARN": o.quick_connect_arn()}),
        )
    }

    pub async fn setup_quick_connect(
        &self,
        b: CreateQuickConnectFluentBuilder,
    ) -> Result<QuickConnectRef, SetupFailed> {
        self.setup_quick_connect_with(b, &self.tracker).await
    }

    pub async fn setup_quick_connect_with(
        &self,
        b: CreateQuickConnectFluentBuilder,
        tracker: &Tracker,
    ) -> Result<QuickConnectRef, SetupFailed> {
        let name = b.get_name().clone().unwrap_or_default();
        match self.create_quick_connect_with(b, tracker).await {
            Observed::Success(v) => Ok(QuickConnectRef {
                id: v["QuickConnectId"].as_str().unwrap_or_default().to_string(),
                arn: v["QuickConnectARN"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                name,
            }),
            other => Err(SetupFailed(format!("CreateQuickConnect {name}: {other}"))),
        }
    }

    /// A quick connect to a user that shows already (CreateQuickConnect checks its target
    /// through the direct view), retried while the user is not found.
    pub async fn setup_quick_connect_when_user_shows(
        &self,
        name: &str,
        user_id: &str,
        tracker: &Tracker,
        customize: impl Fn(CreateQuickConnectFluentBuilder) -> CreateQuickConnectFluentBuilder,
    ) -> Result<QuickConnectRef, SetupFailed> {
        self.described(user_id).await?;
        let since = Instant::now();
        let observed = poll::until(self.timing(), since, || async {
            let b = match self.quick_connect(name, user_id) {
                Ok(b) => customize(b),
                Err(e) => {
                    return Probe::Unexpected(Observed::Error {
                        code: "Setup".into(),
                        status: None,
                        message: e.0,
                    });
                }
            };
            match self.create_quick_connect_with(b, tracker).await {
                o @ Observed::Success(_) => Probe::Done(o),
                other => Probe::pending_on(other, poll::NOT_YET),
            }
        })
        .await;
        let v = final_success(observed, &format!("CreateQuickConnect {name}"))?;
        Ok(QuickConnectRef {
            id: v["QuickConnectId"].as_str().unwrap_or_default().to_string(),
            arn: v["QuickConnectARN"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            name: name.to_string(),
        })
    }

    /// DeleteUser as the call under test or a step: forgets the user when it was deleted.
    pub async fn delete_user(&self, id: &str) -> Observed {
        let r = self
            .client()
            .delete_user()
            .instance_id(self.instance_id())
            .user_id(id)
            .send()
            .await;
        if r.is_ok() {
            self.tracker.forget(id);
        }
        observe::result(&r, |_| Value::Null)
    }

    /// Deletes a user that shows (retrying while it does not show yet).
    pub async fn delete_user_when_shown(&self, id: &str) -> Result<Instant, SetupFailed> {
        self.described(id).await?;
        match self.delete_user(id).await {
            Observed::Success(_) => Ok(Instant::now()),
            other => Err(SetupFailed(format!("DeleteUser {id}: {other}"))),
        }
    }

    /// The shared search fixture (three users, two quick connects), created once per run.
    pub async fn fixture(&self) -> Result<Arc<SearchFixture>, SetupFailed> {
        self.run
            .fixture
            .get_or_init(|| async { SearchFixture::create(self).await.map(Arc::new) })
            .await
            .clone()
    }
}

/// The success at the end of a propagation, or a setup failure describing what happened.
fn final_success(observed: Observed, step: &str) -> Result<Value, SetupFailed> {
    match observed {
        Observed::Propagated { last, .. } => match *last {
            Observed::Success(v) => Ok(v),
            other => Err(SetupFailed(format!("{step}: {other}"))),
        },
        other => Err(SetupFailed(format!("{step}: {other}"))),
    }
}

/// A one-condition search criteria.
pub fn string_criteria(
    field: &str,
    comparison: StringComparisonType,
    value: &str,
) -> UserSearchCriteria {
    UserSearchCriteria::builder()
        .string_condition(string_condition(field, comparison, value))
        .build()
}

pub fn string_condition(
    field: &str,
    comparison: StringComparisonType,
    value: &str,
) -> StringCondition {
    StringCondition::builder()
        .field_name(field)
        .comparison_type(comparison)
        .value(value)
        .build()
}
