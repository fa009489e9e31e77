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
    /// The request's temporary credentials had expired on arrival. aws-config's credential
    /// cache refreshes them before they expire, so the next attempt carries fresh ones: retry
    /// soon (not Denied: nobody has to fix anything).
    CredentialsExpired,
    /// No credentials could be had for the call (AssumeRole refused, STS unreachable): nothing
    /// was sent to Connect.
    CredentialsUnavailable,
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
            ErrorKind::CredentialsExpired => "credentials_expired",
            ErrorKind::CredentialsUnavailable => "credentials_unavailable",
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
        _ if std::error::Error::source(&err).is_some_and(super::instance::credentials_failed) => (
            ErrorKind::CredentialsUnavailable,
            "CredentialsUnavailable".into(),
            std::error::Error::source(&err)
                .map(chain)
                .unwrap_or_default(),
        ),
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

/// An error and its sources, for errors whose own text says little ("dispatch failure").
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// The class of a Connect error type (`x-amzn-ErrorType`): the one table of what each code
/// means. A code not listed is taken as transient (retried with backoff, never as proof of
/// anything).
pub fn kind_of_code(code: &str) -> ErrorKind {
    match code {
        "ResourceNotFoundException" => ErrorKind::NotFound,
        "ThrottlingException" | "TooManyRequestsException" => ErrorKind::Throttled,
        // Connect's LimitExceededException is a resource quota ("the allowed limit for the
        // resource has been exceeded"), not a request rate.
        "LimitExceededException" | "ServiceQuotaExceededException" => ErrorKind::QuotaExceeded,
        // What AWS's JSON services answer a request that failed authentication or
        // authorization (HTTP 403), and STS's name for an unknown key.
        "AccessDeniedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "IncompleteSignatureException"
        | "MissingAuthenticationTokenException"
        | "InvalidClientTokenId" => ErrorKind::Denied,
        "ExpiredTokenException" => ErrorKind::CredentialsExpired,
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
    use aws_sdk_connect::error::ErrorMetadata;
    use aws_sdk_connect::operation::describe_user::DescribeUserError;

    fn answered(code: &str) -> ConnectError {
        let metadata = ErrorMetadata::builder()
            .code(code)
            .message("Connect's words")
            .build();
        let err = SdkError::<_, ()>::service_error(DescribeUserError::generic(metadata), ());
        classify("DescribeUser", err)
    }

    #[test]
    fn codes_map_to_classes() {
        for (code, kind) in [
            ("ResourceNotFoundException", ErrorKind::NotFound),
            ("ThrottlingException", ErrorKind::Throttled),
            ("TooManyRequestsException", ErrorKind::Throttled),
            ("LimitExceededException", ErrorKind::QuotaExceeded),
            ("AccessDeniedException", ErrorKind::Denied),
            ("UnrecognizedClientException", ErrorKind::Denied),
            ("InvalidSignatureException", ErrorKind::Denied),
            ("IncompleteSignatureException", ErrorKind::Denied),
            ("MissingAuthenticationTokenException", ErrorKind::Denied),
            ("ExpiredTokenException", ErrorKind::CredentialsExpired),
            ("InvalidParameterException", ErrorKind::Invalid),
            ("InvalidRequestException", ErrorKind::Invalid),
            ("DuplicateResourceException", ErrorKind::Duplicate),
            ("InternalServiceException", ErrorKind::Transient),
            ("ServiceUnavailableException", ErrorKind::Transient),
        ] {
            assert_eq!(kind_of_code(code), kind, "{code}");
        }
    }

    #[test]
    fn an_expired_token_is_retried_soon_not_denied() {
        let e = answered("ExpiredTokenException");
        assert_eq!(e.kind, ErrorKind::CredentialsExpired);
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("ExpiredTokenException", "Connect's words")
        );
        let policy = crate::Error::Connect(e).policy(crate::error::Phase::Converge);
        assert_eq!(policy.retry, crate::error::Retry::Soon);
        assert_eq!(policy.standing, crate::error::Standing::Unchanged);
        assert_eq!(
            answered("UnrecognizedClientException").kind,
            ErrorKind::Denied
        );
    }

    #[test]
    fn failures_before_an_answer_are_transient_and_a_request_not_built_is_invalid() {
        let timeout = SdkError::<DescribeUserError, ()>::timeout_error("slow");
        assert_eq!(classify("DescribeUser", timeout).kind, ErrorKind::Transient);
        let unbuilt = SdkError::<DescribeUserError, ()>::construction_failure("no user id");
        assert_eq!(classify("DescribeUser", unbuilt).kind, ErrorKind::Invalid);
    }
}
