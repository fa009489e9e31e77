//! The operator's one error type. Each error has a class, and the class alone decides how soon
//! to retry and what the Ready condition says.

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

    /// A Connect user with this username exists and the spec does not ask to adopt it.
    #[error("{0}")]
    UserExists(String),

    /// Another ConnectUser resource owns this username.
    #[error("{0}")]
    Conflict(String),

    /// The Connect user's ownership tag names another resource: never modified or deleted.
    #[error("{0}")]
    NotOwned(String),

    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What an error means for retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// Over a quota: retry soon; never reported as a failure.
    Throttled,
    /// Retry with exponential backoff.
    Transient,
    /// Retrying the same spec cannot succeed: wait for a spec change.
    Invalid,
    /// Blocked by something outside the spec (existing user, missing Secret, owner): retry slowly.
    Blocked,
    /// Something this resource refers to was not found (retry slowly; it may appear).
    NotFound,
}

impl Error {
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Connect(e) => match e.kind {
                ErrorKind::Throttled => ErrorClass::Throttled,
                ErrorKind::Transient => ErrorClass::Transient,
                ErrorKind::Invalid => ErrorClass::Invalid,
                ErrorKind::Duplicate => ErrorClass::Transient,
                ErrorKind::NotFound => ErrorClass::NotFound,
                ErrorKind::Denied | ErrorKind::QuotaExceeded => ErrorClass::Blocked,
            },
            Error::Kube(kube::Error::Api(status)) if status.code == 429 => ErrorClass::Throttled,
            Error::Kube(_) => ErrorClass::Transient,
            Error::InvalidSpec { .. } => ErrorClass::Invalid,
            Error::SecretNotFound { .. } => ErrorClass::NotFound,
            Error::UserExists(_) | Error::Conflict(_) | Error::NotOwned(_) => ErrorClass::Blocked,
            Error::Finalizer(inner) => match inner.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(e)
                | kube::runtime::finalizer::Error::CleanupFailed(e) => e.class(),
                _ => ErrorClass::Transient,
            },
        }
    }

    /// The Ready condition's reason for this error (CamelCase, stable: scripts match on it).
    pub fn reason(&self) -> &'static str {
        match self {
            Error::Connect(e) => match e.kind {
                ErrorKind::Throttled => "Throttled",
                ErrorKind::Transient => "ConnectUnavailable",
                ErrorKind::Invalid => "ConnectRejected",
                ErrorKind::Duplicate => "UserExists",
                ErrorKind::NotFound => "ConnectNotFound",
                ErrorKind::Denied => "AccessDenied",
                ErrorKind::QuotaExceeded => "ConnectQuotaExceeded",
            },
            Error::Kube(_) => "KubernetesError",
            Error::InvalidSpec { .. } => "InvalidSpec",
            Error::SecretNotFound { .. } => "SecretNotFound",
            Error::UserExists(_) => "UserExists",
            Error::Conflict(_) => "Conflict",
            Error::NotOwned(_) => "NotOwned",
            Error::Finalizer(inner) => match inner.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(e)
                | kube::runtime::finalizer::Error::CleanupFailed(e) => e.reason(),
                _ => "KubernetesError",
            },
        }
    }

    /// Label for metrics: the reason, low cardinality.
    pub fn metric_label(&self) -> &'static str {
        self.reason()
    }

    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::InvalidSpec {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::kind_of_code;

    fn connect(code: &str) -> Error {
        Error::Connect(ConnectError {
            operation: "CreateUser",
            kind: kind_of_code(code),
            code: code.into(),
            message: String::new(),
        })
    }

    #[test]
    fn connect_errors_decide_retry_and_reason() {
        let cases = [
            ("ThrottlingException", ErrorClass::Throttled, "Throttled"),
            (
                "InternalServiceException",
                ErrorClass::Transient,
                "ConnectUnavailable",
            ),
            (
                "InvalidParameterException",
                ErrorClass::Invalid,
                "ConnectRejected",
            ),
            (
                "ResourceNotFoundException",
                ErrorClass::NotFound,
                "ConnectNotFound",
            ),
            // Not a rate: a per-instance quota, so no fast retry and a visible Stalled reason.
            (
                "LimitExceededException",
                ErrorClass::Blocked,
                "ConnectQuotaExceeded",
            ),
            ("AccessDeniedException", ErrorClass::Blocked, "AccessDenied"),
        ];
        for (code, class, reason) in cases {
            let e = connect(code);
            assert_eq!((e.class(), e.reason()), (class, reason), "{code}");
        }
    }
}
