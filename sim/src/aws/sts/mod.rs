//! An AWS STS emulator: the awsQuery protocol as `aws-sdk-sts` (and so aws-config's
//! AssumeRole and web identity providers) speaks it, over HTTP on 127.0.0.1. Serves
//! AssumeRole, AssumeRoleWithWebIdentity and GetCallerIdentity against an `Iam` shared with the
//! other emulators, and logs every call.
//!
//! Point the SDK at it with `AWS_ENDPOINT_URL_STS` (or `endpoint_url` on the STS/SdkConfig the
//! providers are built from). Credentials it issues live what DurationSeconds asked (default one
//! hour), capped by `Iam::set_session_lifetime`.

mod actions;
mod server;
mod xml;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::iam::Iam;
use server::Shared;

/// One STS call and its outcome. Secrets are never recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct StsCall {
    /// `AssumeRole`, `AssumeRoleWithWebIdentity`, `GetCallerIdentity` (or what was asked).
    pub action: String,
    pub status: u16,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// The signing key (empty for unsigned calls and requests without a readable signature).
    pub access_key_id: String,
    /// The verified caller.
    pub caller_arn: Option<String>,
    /// The Region of the credential scope.
    pub region: String,
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    pub duration_seconds: Option<i64>,
    /// The access key id of the credentials issued.
    pub issued_access_key_id: Option<String>,
    pub at: SystemTime,
    pub request_id: String,
}

impl StsCall {
    pub fn to_json(&self) -> Value {
        json!({
            "action": self.action,
            "status": self.status,
            "errorCode": self.error_code,
            "errorMessage": self.error_message,
            "accessKeyId": self.access_key_id,
            "callerArn": self.caller_arn,
            "region": self.region,
            "roleArn": self.role_arn,
            "roleSessionName": self.role_session_name,
            "durationSeconds": self.duration_seconds,
            "issuedAccessKeyId": self.issued_access_key_id,
            "at": self.at.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default(),
            "requestId": self.request_id,
        })
    }
}

/// A running STS emulator; clones share it. Lives as long as the tokio runtime that started it.
#[derive(Clone)]
pub struct StsSim {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl StsSim {
    /// Starts on `127.0.0.1` with a free port, trusting `iam` (give it the Connect emulator's:
    /// `connect.iam()`).
    pub async fn start(iam: Iam) -> std::io::Result<StsSim> {
        StsSim::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), iam).await
    }

    pub async fn start_on(addr: SocketAddr, iam: Iam) -> std::io::Result<StsSim> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            iam,
            calls: Mutex::default(),
        });
        let app = server::router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "STS emulator stopped");
            }
        });
        Ok(StsSim { shared, addr })
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL_STS` / `endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn iam(&self) -> &Iam {
        &self.shared.iam
    }

    /// Every call so far, in order (also `GET /_sim/calls`).
    pub fn calls(&self) -> Vec<StsCall> {
        self.shared.calls().clone()
    }

    pub fn clear_calls(&self) {
        self.shared.calls().clear();
    }

    /// Calls of `action` answered so far, whatever the outcome.
    pub fn count(&self, action: &str) -> usize {
        self.shared
            .calls()
            .iter()
            .filter(|c| c.action == action)
            .count()
    }

    /// Successful calls of `action` so far.
    pub fn successes(&self, action: &str) -> usize {
        self.shared
            .calls()
            .iter()
            .filter(|c| c.action == action && c.status == 200)
            .count()
    }
}
