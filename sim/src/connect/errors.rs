//! Errors in Connect's restJson1 shape: HTTP status, `x-amzn-ErrorType`, `{"__type","Message"}`.

use std::fmt;

use crate::aws::auth::AuthError;

/// One error response. `error_type` is the modeled shape name the SDK maps to its typed errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub error_type: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, error_type: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error_type,
            message: message.into(),
        }
    }

    /// A value that breaks a constraint of the model (length, pattern, enum, range) or a rule
    /// of the service (password on a SAML instance, DESK_PHONE without number...).
    pub fn invalid_parameter(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "InvalidParameterException", message)
    }

    /// The request as a whole cannot be served (a required member is missing, an unsupported
    /// combination).
    pub fn invalid_request(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "InvalidRequestException", message)
    }

    /// HTTP 403: IAM refused the caller (any operation may answer this, modeled or not), and
    /// Connect documents it for one malformed request: a SearchUsers filter with both
    /// TagFilter and UserAttributeFilter.
    pub fn access_denied(message: impl Into<String>) -> ApiError {
        ApiError::new(403, "AccessDeniedException", message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(404, "ResourceNotFoundException", message)
    }

    pub fn duplicate(message: impl Into<String>) -> ApiError {
        ApiError::new(409, "DuplicateResourceException", message)
    }

    pub fn limit_exceeded(message: impl Into<String>) -> ApiError {
        ApiError::new(429, "LimitExceededException", message)
    }

    pub fn throttled() -> ApiError {
        ApiError::new(429, "ThrottlingException", "Rate exceeded")
    }

    /// The body is not JSON or a member has the wrong JSON type (what restJson1 servers answer).
    pub fn serialization(message: impl Into<String>) -> ApiError {
        ApiError::new(400, "SerializationException", message)
    }

    pub fn missing_member(path: &str) -> ApiError {
        ApiError::invalid_request(format!(
            "1 validation error detected: Value null at '{path}' failed to satisfy constraint: Member must not be null"
        ))
    }

    /// A constraint violation naming the member; the value is never quoted (it may be sensitive).
    pub fn constraint(path: &str, constraint: impl fmt::Display) -> ApiError {
        ApiError::invalid_parameter(format!(
            "1 validation error detected: Value at '{path}' failed to satisfy constraint: {constraint}"
        ))
    }

    /// What Connect's front door answers a request that failed authentication. The codes are
    /// the ones AWS's JSON services use; the SDK classes them by `x-amzn-ErrorType`.
    pub fn unauthenticated(e: &AuthError) -> ApiError {
        match e {
            AuthError::Missing => ApiError::new(
                403,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            ),
            AuthError::Incomplete(m) => {
                ApiError::new(403, "IncompleteSignatureException", m.clone())
            }
            AuthError::WrongService(m) | AuthError::BadDate(m) => {
                ApiError::new(403, "InvalidSignatureException", m.clone())
            }
            AuthError::UnknownKey | AuthError::InvalidToken => ApiError::new(
                403,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            ),
            AuthError::Expired => ApiError::new(
                403,
                "ExpiredTokenException",
                "The security token included in the request is expired",
            ),
            AuthError::BadSignature => ApiError::new(
                403,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
            ),
        }
    }

    /// What a fault injected by a test answers for `status`.
    pub fn for_status(status: u16) -> ApiError {
        let (error_type, message) = match status {
            429 => ("ThrottlingException", "Rate exceeded"),
            503 => ("ServiceUnavailableException", "Service is unavailable"),
            400 => ("InvalidRequestException", "Injected fault"),
            404 => ("ResourceNotFoundException", "Injected fault"),
            409 => ("DuplicateResourceException", "Injected fault"),
            _ => ("InternalServiceException", "Internal service error"),
        };
        ApiError::new(status, error_type, message)
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.status, self.error_type, self.message)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
