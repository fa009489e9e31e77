//! The instance objects: `ConnectInstance` (namespaced, usable from its own namespace) and
//! `ClusterConnectInstance` (cluster-scoped, usable from the namespaces its selector picks).
//! Each names one Connect instance in one region and how to reach it (a role to assume), like
//! cert-manager's Issuer/ClusterIssuer or external-secrets' SecretStore/ClusterSecretStore.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// On an instance object while ConnectUsers use it: deleting it first would leave their
/// cleanup without the role it was created through (their status records it, but the object
/// is where a person looks).
pub const IN_USE_FINALIZER: &str = "connect.userops.dev/in-use";

/// The fields both kinds share, declared once.
macro_rules! instance_spec {
    ($(#[$meta:meta])* pub struct $name:ident { $($extra:tt)* }) => {
        $(#[$meta])*
        #[serde(rename_all = "camelCase")]
        #[x_kube(
            validation = Rule::new("!self.instanceId.startsWith('arn:') || self.instanceId.matches('^arn:aws[a-z-]*:connect:' + self.region + ':[0-9]{12}:instance/[a-zA-Z0-9-]+$')").message("an instance ARN must name the region given in region (arn:aws:connect:REGION:ACCOUNT:instance/ID)").field_path(".instanceId"),
            validation = Rule::new("has(self.roleArn) || (!has(self.externalId) && !has(self.roleSessionName))").message("externalId and roleSessionName need roleArn").field_path(".roleArn")
        )]
        pub struct $name {
            /// The Amazon Connect instance: its id, or its ARN
            /// (`arn:aws:connect:REGION:ACCOUNT:instance/ID`, which also gives the account).
            /// Immutable.
            #[x_kube(validation = Rule::new("self == oldSelf").message("instanceId is immutable"))]
            #[schemars(regex(pattern = r"^([a-zA-Z0-9-]{1,100}|arn:aws[a-z-]*:connect:[a-z0-9-]+:[0-9]{12}:instance/[a-zA-Z0-9-]{1,100})$"))]
            pub instance_id: String,

            /// The AWS region of the instance. Immutable.
            #[x_kube(validation = Rule::new("self == oldSelf").message("region is immutable"))]
            #[schemars(regex(pattern = r"^[a-z]{2}(-[a-z]+){1,2}-[0-9]$"))]
            pub region: String,

            /// An IAM role to assume (STS AssumeRole) from the operator's own credentials;
            /// the operator's own credentials are used when omitted.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[a-zA-Z0-9+=,.@_/-]{1,512}$"))]
            pub role_arn: Option<String>,

            /// The external id the role's trust policy requires (sts:ExternalId).
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(length(min = 2, max = 1224), regex(pattern = r"^[a-zA-Z0-9+=,.@:/_-]+$"))]
            pub external_id: Option<String>,

            /// The role session name CloudTrail shows; `connect-user-operator` when omitted.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            #[schemars(length(min = 2, max = 64), regex(pattern = r"^[a-zA-Z0-9+=,.@_-]+$"))]
            pub role_session_name: Option<String>,

            /// The Connect API rate the operator allows itself in this instance's account and
            /// region, when it differs from `--connect-rate` (a raised quota, or a share of
            /// one). When two instance objects of one account and region disagree, the smaller
            /// applies.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub quota: Option<QuotaOverride>,

            /// Write to this instance even though it is a Global Resiliency replica (its
            /// source is in another region). Refused by default: users are replicated from the
            /// source, so ConnectUsers should name the source instance.
            #[serde(default, skip_serializing_if = "std::ops::Not::not")]
            pub allow_replica: bool,

            /// USER quick connects whose user no longer exists (two NotFounds at least the
            /// operator's settle window apart): left alone (`Ignore`), counted in
            /// `status.danglingQuickConnects` with a Warning Event `DanglingQuickConnects` when
            /// the set changes (`Report`), or deleted, each with a Normal Event
            /// `DanglingQuickConnectDeleted` (`Delete`). Swept while the object is Ready; a change
            /// applies at the next sweep. Default `Report`.
            #[serde(default)]
            pub dangling_quick_connects: DanglingQuickConnects,

            /// How often the instance is checked for dangling quick connects (e.g. `1h`,
            /// `30m`); hourly when omitted. Sooner while a suspect awaits its second
            /// observation.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            // One number and one unit, not zero: what the sweep's duration parser reads.
            #[schemars(regex(pattern = r"^[0-9]*[1-9][0-9]*(ms|s|m|h)$"))]
            pub dangling_check_interval: Option<String>,

            $($extra)*
        }
    };
}

instance_spec! {
    /// An Amazon Connect instance, and how to reach it, for the ConnectUsers of this namespace.
    // The derive's printcolumn attributes repeat `type_`, which clippy mistakes for duplicates.
    #[allow(clippy::duplicated_attributes)]
    #[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
    #[kube(
        group = "connect.userops.dev",
        version = "v1alpha1",
        kind = "ConnectInstance",
        namespaced,
        shortname = "ci",
        category = "connect",
        status = "InstanceStatus",
        derive = "PartialEq",
        printcolumn(name = "Instance", type_ = "string", json_path = ".spec.instanceId"),
        printcolumn(name = "Region", type_ = "string", json_path = ".spec.region"),
        printcolumn(name = "Account", type_ = "string", json_path = ".status.account"),
        printcolumn(name = "Users", type_ = "integer", json_path = ".status.connectUsers"),
        printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
        printcolumn(name = "Reason", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].reason"),
        printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
    )]
    pub struct ConnectInstanceSpec {}
}

instance_spec! {
    /// An Amazon Connect instance, and how to reach it, for the ConnectUsers of the namespaces
    /// `namespaceSelector` picks.
    #[allow(clippy::duplicated_attributes)]
    #[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
    #[kube(
        group = "connect.userops.dev",
        version = "v1alpha1",
        kind = "ClusterConnectInstance",
        shortname = "cci",
        category = "connect",
        status = "InstanceStatus",
        derive = "PartialEq",
        printcolumn(name = "Instance", type_ = "string", json_path = ".spec.instanceId"),
        printcolumn(name = "Region", type_ = "string", json_path = ".spec.region"),
        printcolumn(name = "Account", type_ = "string", json_path = ".status.account"),
        printcolumn(name = "Users", type_ = "integer", json_path = ".status.connectUsers"),
        printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
        printcolumn(name = "Reason", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].reason"),
        printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
    )]
    pub struct ClusterConnectInstanceSpec {
        /// The namespaces whose ConnectUsers may use this instance, by their labels (e.g.
        /// `matchLabels: {kubernetes.io/metadata.name: team-a}`). None given: no namespace.
        /// Checked before every create and update; never before a deletion's cleanup.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub namespace_selector: Option<LabelSelector>,
    }
}

/// A client-side rate for one account and region.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct QuotaOverride {
    /// Requests per second per operation.
    #[schemars(range(min = 0.01, max = 1000.0))]
    pub rate: f64,
    /// Requests sent at once before the rate applies.
    #[schemars(range(min = 1, max = 1000))]
    pub burst: u32,
}

#[derive(
    schemars::JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Default,
)]
pub enum DanglingQuickConnects {
    /// Not looked for.
    Ignore,
    /// Counted, with a sample, in status, an Event and a metric; nothing deleted.
    #[default]
    Report,
    /// Deleted, each with an Event.
    Delete,
}

/// Observed state of an instance object, written by the operator only.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct InstanceStatus {
    /// The AWS account of the instance: from the instance ARN, else STS GetCallerIdentity
    /// with the resolved credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The instance's ARN, from DescribeInstance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_arn: Option<String>,
    /// The instance's alias (the first part of its access URL), from DescribeInstance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_alias: Option<String>,
    /// CONNECT_MANAGED, SAML or EXISTING_DIRECTORY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity_management_type: Option<String>,
    /// Global Resiliency: the region of the source instance, when the instance is replicated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_region: Option<String>,
    /// The client-side rate that applies in this account and region when `spec.quota` is set:
    /// with several instance objects of one account and region asking, the smallest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_quota: Option<String>,
    /// How many ConnectUsers use this instance object.
    #[serde(default)]
    pub connect_users: u32,
    /// The `metadata.generation` the conditions describe.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// kstatus conditions: Ready (DescribeInstance succeeds with the object's credentials;
    /// ConnectUsers use the object only then), Reconciling and Stalled, each with a reason
    /// (e.g. CredentialsUnavailable, ReplicaRefused, InUse) and a message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last dangling quick-connect sweep (`spec.danglingQuickConnects`); written by the
    /// sweep, not by the reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dangling_quick_connects: Option<DanglingQuickConnectsStatus>,
}

/// What the last sweep of the instance found.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Default)]
#[serde(rename_all = "camelCase")]
pub struct DanglingQuickConnectsStatus {
    /// Dangling quick connects still in Connect after the last sweep (Delete mode: those whose
    /// deletion failed).
    #[serde(default)]
    pub count: u32,
    /// Up to five of them.
    // Always written: a merge patch leaves out what it omits.
    #[serde(default)]
    pub sample: Vec<DanglingQuickConnectSample>,
    /// When the last sweep finished (RFC 3339); absent until one has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sweep: Option<String>,
    /// Quick connects the last sweep deleted (Delete mode).
    #[serde(default)]
    pub deleted: u32,
    /// Why the last sweep failed, when it did (the count and sample are the last successful
    /// sweep's); cleared by the next sweep that succeeds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DanglingQuickConnectSample {
    /// The quick connect's id.
    pub id: String,
    /// The quick connect's name, as agents see it in the transfer list.
    pub name: String,
    /// The user it points at, which does not exist.
    pub missing_user_id: String,
}

impl InstanceStatus {
    pub fn condition(&self, type_: &str) -> Option<&Condition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}

/// `spec.instanceRef` of a ConnectUser: the instance object it is created through.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.__namespace__) || self.kind == 'ConnectInstance'").message("namespace applies to a ConnectInstance only (a ClusterConnectInstance has none)"))]
pub struct InstanceObjectRef {
    /// ConnectInstance (in the ConnectUser's namespace) or ClusterConnectInstance.
    pub kind: InstanceKind,
    /// The instance object's name.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub name: String,
    /// A ConnectInstance is usable from its own namespace only: when given, this must be the
    /// ConnectUser's namespace (refused as InstanceNotAllowed otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 63))]
    pub namespace: Option<String>,
}

#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InstanceKind {
    ConnectInstance,
    ClusterConnectInstance,
}

impl InstanceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceKind::ConnectInstance => "ConnectInstance",
            InstanceKind::ClusterConnectInstance => "ClusterConnectInstance",
        }
    }
}

/// The common view of either kind's spec.
pub struct InstanceSpecView<'a> {
    pub instance_id: &'a str,
    pub region: &'a str,
    pub role_arn: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub role_session_name: Option<&'a str>,
    pub quota: Option<QuotaOverride>,
    pub allow_replica: bool,
    pub dangling_quick_connects: DanglingQuickConnects,
    pub dangling_check_interval: Option<&'a str>,
}

macro_rules! view {
    ($spec:expr) => {
        InstanceSpecView {
            instance_id: &$spec.instance_id,
            region: &$spec.region,
            role_arn: $spec.role_arn.as_deref(),
            external_id: $spec.external_id.as_deref(),
            role_session_name: $spec.role_session_name.as_deref(),
            quota: $spec.quota,
            allow_replica: $spec.allow_replica,
            dangling_quick_connects: $spec.dangling_quick_connects,
            dangling_check_interval: $spec.dangling_check_interval.as_deref(),
        }
    };
}

impl ConnectInstanceSpec {
    pub fn view(&self) -> InstanceSpecView<'_> {
        view!(self)
    }
}

impl ClusterConnectInstanceSpec {
    pub fn view(&self) -> InstanceSpecView<'_> {
        view!(self)
    }
}

/// The instance id and, from an ARN, the account: `arn:aws:connect:REGION:ACCOUNT:instance/ID`.
pub fn split_instance_id(instance_id: &str) -> (String, Option<String>) {
    if let Some(rest) = instance_id.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if let [_, _, _, account, resource] = parts.as_slice()
            && let Some(id) = resource.strip_prefix("instance/")
        {
            return (id.to_string(), Some(account.to_string()));
        }
    }
    (instance_id.to_string(), None)
}

/// The YAML of one instance CRD, as committed in `crds/`.
pub fn crd_yaml<K: kube::CustomResourceExt>() -> String {
    format!(
        "# Generated by `connect-user-operator crd`; do not edit.\n{}",
        serde_yaml::to_string(&K::crd()).expect("a CRD always serializes to YAML")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arn_gives_the_id_and_the_account() {
        assert_eq!(
            split_instance_id("arn:aws:connect:us-east-1:123456789012:instance/abc-1"),
            ("abc-1".to_string(), Some("123456789012".to_string()))
        );
        assert_eq!(split_instance_id("abc-1"), ("abc-1".to_string(), None));
    }

    #[test]
    fn committed_crds_are_current() {
        for (file, yaml) in [
            ("connectinstance.yaml", crd_yaml::<ConnectInstance>()),
            (
                "clusterconnectinstance.yaml",
                crd_yaml::<ClusterConnectInstance>(),
            ),
        ] {
            let path = format!("{}/crds/{file}", env!("CARGO_MANIFEST_DIR"));
            let committed = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                committed == yaml,
                "crds/{file} is stale: run `cargo run -- crd --kind {} > crds/{file}`",
                file.trim_end_matches(".yaml")
            );
        }
    }
}
