//! Connect errors, classified once here so that callers decide retry and condition reason from
//! the class, never from SDK types.

use aws_sdk_connect::error::{ProvideErrorMetadata, SdkError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The instance, user or quick connect does not exist.
    NotFound,
    /// Over the API quota: retry soon, never a failed condition.
    Throttled,
    /// Connect rejected the request's content: retrying the same request cannot help.
    Invalid,
    /// A user or quick connect with that name already exists.
    Duplicate,
    /// The credentials or IAM policy do not allow the call: an operator fixes IAM, not the spec.
    Denied,
    /// A service quota (users or quick connects per instance) is used up: retrying soon cannot
    /// help; someone must raise the quota or free capacity.
    QuotaExceeded,
    /// Network, timeout or 5xx: retry with backoff.
    Transient,
}

impl ErrorKind {
    /// The `outcome` label of the Connect call metrics.
    pub fn label(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Invalid => "invalid",
            ErrorKind::Duplicate => "duplicate",
            ErrorKind::Denied => "denied",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::Transient => "transient",
        }
    }
}

#[derive(thiserror::Error, Debug, Clone)]
#[error("Connect {operation} failed: {code}: {message}")]
pub struct ConnectError {
    pub operation: &'static str,
    pub kind: ErrorKind,
    /// The error type Connect answered (e.g. `ThrottlingException`), or a local description.
    pub code: String,
    pub message: String,
}

impl ConnectError {
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }
}

/// Maps an SDK error to a [`ConnectError`]. Only error codes and Connect's messages are kept:
/// request parameters (which may hold a password) are never part of the message.
pub fn classify<E, R>(operation: &'static str, err: SdkError<E, R>) -> ConnectError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let (kind, code, message) = match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Unknown").to_string();
            let message = e.message().unwrap_or_default().to_string();
            (kind_of_code(&code), code, message)
        }
        SdkError::TimeoutError(_) => (ErrorKind::Transient, "Timeout".into(), err.to_string()),
        SdkError::DispatchFailure(_) => (
            ErrorKind::Transient,
            "DispatchFailure".into(),
            err.to_string(),
        ),
        SdkError::ResponseError(_) => (
            ErrorKind::Transient,
            "ResponseError".into(),
            err.to_string(),
        ),
        SdkError::ConstructionFailure(_) => (
            ErrorKind::Invalid,
            "ConstructionFailure".into(),
            err.to_string(),
        ),
        _ => (ErrorKind::Transient, "Unknown".into(), err.to_string()),
    };
    ConnectError {
        operation,
        kind,
        code,
        message,
    }
}

/// The class of a Connect error type (`x-amzn-ErrorType`).
pub fn kind_of_code(code: &str) -> ErrorKind {
    match code {
        "ResourceNotFoundException" => ErrorKind::NotFound,
        "ThrottlingException" | "TooManyRequestsException" => ErrorKind::Throttled,
        // Connect's LimitExceededException is a resource quota ("the allowed limit for the
        // resource has been exceeded"), not a request rate.
        "LimitExceededException" | "ServiceQuotaExceededException" => ErrorKind::QuotaExceeded,
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "ExpiredTokenException"
        | "InvalidClientTokenId" => ErrorKind::Denied,
        "InvalidParameterException" | "InvalidRequestException" | "ValidationException" => {
            ErrorKind::Invalid
        }
        "DuplicateResourceException" => ErrorKind::Duplicate,
        _ => ErrorKind::Transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_classes() {
        assert_eq!(
            kind_of_code("ResourceNotFoundException"),
            ErrorKind::NotFound
        );
        assert_eq!(kind_of_code("ThrottlingException"), ErrorKind::Throttled);
        assert_eq!(
            kind_of_code("LimitExceededException"),
            ErrorKind::QuotaExceeded
        );
        assert_eq!(kind_of_code("AccessDeniedException"), ErrorKind::Denied);
        assert_eq!(
            kind_of_code("InvalidParameterException"),
            ErrorKind::Invalid
        );
        assert_eq!(kind_of_code("InvalidRequestException"), ErrorKind::Invalid);
        assert_eq!(
            kind_of_code("DuplicateResourceException"),
            ErrorKind::Duplicate
        );
        assert_eq!(
            kind_of_code("InternalServiceException"),
            ErrorKind::Transient
        );
        assert_eq!(
            kind_of_code("ServiceUnavailableException"),
            ErrorKind::Transient
        );
    }
}
