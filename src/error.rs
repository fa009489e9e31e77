//! The operator's one error type, and the one table that says what each error means: the Ready
//! condition's reason, whether the resource is Reconciling or Stalled, and when to retry.

use std::time::Duration;

use crate::connect::{ConnectError, ErrorKind};

#[derive(thiserror::Error, Debug)]
pub enum Error {
    #[error(transparent)]
    Connect(#[from] ConnectError),

    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),

    /// The spec cannot be applied as written; `field` is its path, e.g. `spec.securityProfiles[1].name`.
    #[error("{field}: {message}")]
    InvalidSpec { field: String, message: String },

    /// The password Secret or its key is missing (may appear later).
    #[error("{field}: {message}")]
    SecretNotFound { field: String, message: String },

    /// `spec.instanceRef` names no instance object.
    #[error("{field}: {message}")]
    InstanceNotFound { field: String, message: String },

    /// The instance object may not be used from this namespace (another namespace's
    /// ConnectInstance, or a ClusterConnectInstance whose selector leaves this namespace out).
    #[error("{field}: {message}")]
    InstanceNotAllowed { field: String, message: String },

    /// The instance object is not Ready (its credentials or DescribeInstance fail, it is a
    /// replica, or it has not been reconciled yet).
    #[error("{field}: {message}")]
    InstanceNotReady { field: String, message: String },

    /// The instance object names a Global Resiliency replica and does not allow writing to one.
    #[error("{0}")]
    ReplicaRefused(String),

    /// The instance object is being deleted while ConnectUsers still use it.
    #[error("{0}")]
    InstanceInUse(String),

    /// A Connect user with this username exists and the spec does not ask to adopt it.
    #[error("{0}")]
    UserExists(String),

    /// Connect refused the username as taken, but the user holding it is one this operator has
    /// just deleted, or one Connect does not show yet: the name frees up within the settle window.
    #[error("{0}")]
    UsernameReserved(String),

    /// Another ConnectUser resource owns this username (or quick-connect name).
    #[error("{0}")]
    Conflict(String),

    /// The Connect user's ownership tag names another resource: never modified or deleted.
    #[error("{0}")]
    NotOwned(String),

    /// The deletion is not finished and waits for something with a known time (Connect's settle
    /// window): the finalizer helper releases on Ok, so "not yet" has to travel as an error.
    #[error("{message}")]
    CleanupPending { message: String, retry: Duration },

    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the status says while an error stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Standing {
    /// Leave the conditions as they are: throttling is not a failure.
    Unchanged,
    /// kstatus Reconciling: the operator is working on it, no person needs to act.
    Reconciling,
    /// kstatus Stalled: a person must change something (spec, IAM, quota, Connect).
    Stalled,
}

/// When to try again.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Retry {
    /// Within a couple of seconds, jittered (over a rate quota).
    Soon,
    /// Exponential backoff from 1 s to 5 min.
    Backoff,
    /// Exponential backoff from 5 s to 5 min: waiting on something outside the spec.
    Slowly,
    /// Only after the spec changes: the same spec cannot succeed.
    SpecChange,
    /// At a known time.
    After(Duration),
}

/// Which pass failed: a deletion never waits for a spec change (the spec may never change
/// again, and AWS says InvalidRequestException can be transient while Connect settles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Converge,
    Cleanup,
}

/// One row of the table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Policy {
    /// The Ready condition's reason (CamelCase, stable: scripts match on it).
    pub reason: &'static str,
    pub standing: Standing,
    pub retry: Retry,
}

impl Error {
    /// THE table: every error case, its reason, Reconciling or Stalled, and its retry in each
    /// phase. A reason appears with one standing only (a unit test checks it).
    pub fn policy(&self, phase: Phase) -> Policy {
        use Retry::*;
        use Standing::*;
        let (reason, standing, on_converge, on_cleanup) = match self.cause() {
            Cause::Ours(Error::Connect(e)) => match e.kind {
                ErrorKind::Throttled => ("Throttled", Unchanged, Soon, Soon),
                ErrorKind::Transient => ("ConnectUnavailable", Reconciling, Backoff, Backoff),
                ErrorKind::Invalid => ("ConnectRejected", Stalled, SpecChange, Slowly),
                ErrorKind::NotFound => ("ConnectNotFound", Stalled, Slowly, Slowly),
                // A name taken where the create step did not classify it (a quick-connect
                // rename to a name in use): another object holds the name.
                ErrorKind::Duplicate => ("Conflict", Stalled, Slowly, Slowly),
                ErrorKind::Denied => ("AccessDenied", Stalled, Slowly, Slowly),
                // Not a failure either: the next attempt signs with refreshed credentials.
                ErrorKind::CredentialsExpired => ("CredentialsExpired", Unchanged, Soon, Soon),
                // No credentials (the role cannot be assumed: trust policy, STS down).
                ErrorKind::CredentialsUnavailable => {
                    ("CredentialsUnavailable", Reconciling, Backoff, Backoff)
                }
                // A per-instance resource quota, not a rate: no fast retry.
                ErrorKind::QuotaExceeded => ("ConnectQuotaExceeded", Stalled, Slowly, Slowly),
            },
            Cause::Kube(kube::Error::Api(s)) if s.code == 429 => {
                ("Throttled", Unchanged, Soon, Soon)
            }
            Cause::Kube(_) | Cause::Finalizer => ("KubernetesError", Reconciling, Backoff, Backoff),
            Cause::Ours(Error::InvalidSpec { .. }) => ("InvalidSpec", Stalled, SpecChange, Slowly),
            Cause::Ours(Error::SecretNotFound { .. }) => {
                ("SecretNotFound", Stalled, Slowly, Slowly)
            }
            Cause::Ours(Error::InstanceNotFound { .. }) => {
                ("InstanceNotFound", Stalled, Slowly, Slowly)
            }
            // Fixed by labelling the namespace or editing the selector, not only the spec.
            Cause::Ours(Error::InstanceNotAllowed { .. }) => {
                ("InstanceNotAllowed", Stalled, Slowly, Slowly)
            }
            Cause::Ours(Error::InstanceNotReady { .. }) => {
                ("InstanceNotReady", Reconciling, Backoff, Backoff)
            }
            Cause::Ours(Error::ReplicaRefused(_)) => ("ReplicaRefused", Stalled, Slowly, Slowly),
            Cause::Ours(Error::InstanceInUse(_)) => {
                let wait = Duration::from_secs(2);
                ("InUse", Reconciling, After(wait), After(wait))
            }
            Cause::Ours(Error::UserExists(_)) => ("UserExists", Stalled, Slowly, Slowly),
            Cause::Ours(Error::UsernameReserved(_)) => {
                ("UsernameReserved", Reconciling, Backoff, Backoff)
            }
            Cause::Ours(Error::Conflict(_)) => ("Conflict", Stalled, Slowly, Slowly),
            Cause::Ours(Error::NotOwned(_)) => ("NotOwned", Stalled, Slowly, Slowly),
            Cause::Ours(Error::CleanupPending { retry, .. }) => {
                ("Deleting", Reconciling, After(*retry), After(*retry))
            }
            // cause() never answers these two: it unwraps them.
            Cause::Ours(Error::Kube(_) | Error::Finalizer(_)) => {
                ("KubernetesError", Reconciling, Backoff, Backoff)
            }
        };
        let retry = match phase {
            Phase::Converge => on_converge,
            Phase::Cleanup => on_cleanup,
        };
        Policy {
            reason,
            standing,
            retry,
        }
    }

    /// The error that decides the row: the finalizer helper wraps ours, and its own (adding or
    /// removing the finalizer) are Kubernetes API errors.
    fn cause(&self) -> Cause<'_> {
        use kube::runtime::finalizer::Error as F;
        match self {
            Error::Kube(e) => Cause::Kube(e),
            Error::Finalizer(inner) => match inner.as_ref() {
                F::ApplyFailed(e) | F::CleanupFailed(e) => e.cause(),
                F::AddFinalizer(e) | F::RemoveFinalizer(e) => Cause::Kube(e),
                _ => Cause::Finalizer,
            },
            other => Cause::Ours(other),
        }
    }

    /// The reason, for logs and metrics (low cardinality).
    pub fn metric_label(&self) -> &'static str {
        self.policy(Phase::Converge).reason
    }

    /// The phase this error came from (the finalizer helper says which).
    pub fn phase(&self) -> Phase {
        match self {
            Error::Finalizer(inner) => match inner.as_ref() {
                kube::runtime::finalizer::Error::CleanupFailed(_) => Phase::Cleanup,
                _ => Phase::Converge,
            },
            Error::CleanupPending { .. } => Phase::Cleanup,
            _ => Phase::Converge,
        }
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::InvalidSpec {
            field: field.into(),
            message: message.into(),
        }
    }
}

enum Cause<'a> {
    Ours(&'a Error),
    Kube(&'a kube::Error),
    /// The finalizer helper's own bookkeeping failed (no name, bad path).
    Finalizer,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::kind_of_code;
    use std::collections::HashMap;

    fn connect(code: &str) -> Error {
        Error::Connect(ConnectError {
            operation: "CreateUser",
            kind: kind_of_code(code),
            code: code.into(),
            message: String::new(),
        })
    }

    fn every_case() -> Vec<Error> {
        let mut all: Vec<Error> = [
            "ThrottlingException",
            "InternalServiceException",
            "InvalidParameterException",
            "InvalidRequestException",
            "ResourceNotFoundException",
            "DuplicateResourceException",
            "AccessDeniedException",
            "LimitExceededException",
            "ExpiredTokenException",
        ]
        .iter()
        .map(|c| connect(c))
        .collect();
        all.extend([
            Error::invalid("spec.x", "bad"),
            Error::SecretNotFound {
                field: "f".into(),
                message: "m".into(),
            },
            Error::InstanceNotFound {
                field: "spec.instanceRef.name".into(),
                message: "m".into(),
            },
            Error::InstanceNotAllowed {
                field: "spec.instanceRef".into(),
                message: "m".into(),
            },
            Error::InstanceNotReady {
                field: "spec.instanceRef".into(),
                message: "m".into(),
            },
            Error::ReplicaRefused("x".into()),
            Error::InstanceInUse("x".into()),
            Error::Connect(ConnectError {
                operation: "DescribeInstance",
                kind: ErrorKind::CredentialsUnavailable,
                code: "CredentialsUnavailable".into(),
                message: String::new(),
            }),
            Error::UserExists("x".into()),
            Error::UsernameReserved("x".into()),
            Error::Conflict("x".into()),
            Error::NotOwned("x".into()),
            Error::CleanupPending {
                message: "x".into(),
                retry: Duration::from_secs(3),
            },
            Error::Kube(kube::Error::Service("down".into())),
        ]);
        all
    }

    #[test]
    fn connect_errors_decide_retry_and_reason() {
        let cases = [
            (
                "ThrottlingException",
                "Throttled",
                Standing::Unchanged,
                Retry::Soon,
            ),
            (
                "InternalServiceException",
                "ConnectUnavailable",
                Standing::Reconciling,
                Retry::Backoff,
            ),
            (
                "InvalidParameterException",
                "ConnectRejected",
                Standing::Stalled,
                Retry::SpecChange,
            ),
            (
                "ResourceNotFoundException",
                "ConnectNotFound",
                Standing::Stalled,
                Retry::Slowly,
            ),
            (
                "LimitExceededException",
                "ConnectQuotaExceeded",
                Standing::Stalled,
                Retry::Slowly,
            ),
            (
                "AccessDeniedException",
                "AccessDenied",
                Standing::Stalled,
                Retry::Slowly,
            ),
            (
                "DuplicateResourceException",
                "Conflict",
                Standing::Stalled,
                Retry::Slowly,
            ),
            (
                "ExpiredTokenException",
                "CredentialsExpired",
                Standing::Unchanged,
                Retry::Soon,
            ),
        ];
        for (code, reason, standing, retry) in cases {
            let p = connect(code).policy(Phase::Converge);
            assert_eq!(
                (p.reason, p.standing, p.retry),
                (reason, standing, retry),
                "{code}"
            );
        }
    }

    #[test]
    fn a_reason_is_always_reconciling_or_always_stalled() {
        let mut seen: HashMap<&str, Standing> = HashMap::new();
        for e in every_case() {
            for phase in [Phase::Converge, Phase::Cleanup] {
                let p = e.policy(phase);
                let before = *seen.entry(p.reason).or_insert(p.standing);
                assert_eq!(
                    before, p.standing,
                    "{} is both {before:?} and {:?}",
                    p.reason, p.standing
                );
            }
        }
        // The inconsistency this table replaced: a taken username is Stalled UserExists (a
        // person must act) or Reconciling UsernameReserved (it frees up by itself), never both.
        assert_eq!(seen["UserExists"], Standing::Stalled);
        assert_eq!(seen["UsernameReserved"], Standing::Reconciling);
    }

    #[test]
    fn a_deletion_never_waits_for_a_spec_change() {
        for e in every_case() {
            assert_ne!(e.policy(Phase::Cleanup).retry, Retry::SpecChange, "{e}");
        }
        assert_eq!(
            connect("InvalidRequestException")
                .policy(Phase::Cleanup)
                .retry,
            Retry::Slowly
        );
        assert_eq!(
            Error::invalid("spec.region", "x")
                .policy(Phase::Converge)
                .retry,
            Retry::SpecChange
        );
    }

    #[test]
    fn finalizer_wrapping_keeps_the_row_and_the_phase() {
        let e = Error::Finalizer(Box::new(kube::runtime::finalizer::Error::CleanupFailed(
            connect("InvalidRequestException"),
        )));
        assert_eq!(e.phase(), Phase::Cleanup);
        assert_eq!(e.policy(e.phase()).retry, Retry::Slowly);
        assert_eq!(e.metric_label(), "ConnectRejected");
    }
}
