//! The HTTP front: one handler runs every request through the same pipeline as the service's
//! front door: authentication (SigV4, session token, expiry: `aws::auth`), routing, IAM's
//! account check, latency, the account's quota, injected faults, validation against the
//! service model, the instance's account, the operation, the call log and success hooks, then
//! the response.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::calls::{CallLog, CallRecord};
use super::config::ConnectConfig;
use super::errors::ApiError;
use super::faults::{Faults, Hooks};
use super::inspect;
use super::ops::{self, Ctx, Limits, Outcome, Trace};
use super::routing;
use super::scope;
use super::service_model;
use super::state::State;
use super::throttle::Throttle;
use super::wire::{self, Caller, Obj, Query};
use crate::aws::Iam;
use crate::aws::auth::{self, AuthFailure};
use crate::aws::sigv4;

/// Everything a request handler and the test-facing handle share.
pub struct Shared {
    pub iam: Iam,
    pub state: Mutex<State>,
    pub calls: CallLog,
    pub throttle: Throttle,
    pub faults: Faults,
    pub hooks: Hooks,
    pub limits: Limits,
}

impl Shared {
    pub fn new(config: ConnectConfig) -> Shared {
        // Decoding the service model takes a moment: pay it at start, not in a request.
        service_model::init();
        let mut state = State::new();
        state.visibility.set(config.consistency);
        Shared {
            iam: config.iam,
            state: Mutex::new(state),
            calls: CallLog::default(),
            throttle: Throttle::new(config.quota),
            faults: Faults::default(),
            hooks: Hooks::default(),
            limits: Limits {
                account: String::new(),
                max_users: config.max_users_per_instance,
                max_quick_connects: config.max_quick_connects_per_instance,
            },
        }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panicking test hook must not wedge the emulator for the other tests.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(rest) = uri.path().strip_prefix("/_sim/") {
        let (status, value) = inspect::handle(&shared, method.as_str(), rest);
        return json_response(status, &uuid::Uuid::new_v4().to_string(), &value, None);
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let signed = sigv4::Request {
        method: method.as_str(),
        path: uri.path(),
        query: uri.query(),
        headers: &headers,
        body: &body,
    };
    let (caller, claimed): (Result<Caller, ApiError>, Caller) =
        match auth::authenticate(&shared.iam, &signed, "connect", SystemTime::now()) {
            Ok(a) => {
                let c = Caller::from(a);
                (Ok(c.clone()), c)
            }
            Err(AuthFailure {
                error,
                access_key_id,
                region,
            }) => (
                Err(ApiError::unauthenticated(&error)),
                Caller {
                    access_key_id,
                    region,
                    ..Caller::default()
                },
            ),
        };
    let route = routing::route(method.as_str(), uri.path());
    let query = Query::parse(uri.query());
    let parsed = wire::body(&body);
    let empty = Map::new();
    let root = Obj::root(parsed.as_ref().unwrap_or(&empty));
    let trace = match &route {
        Some(r) => ops::trace(r.operation, &r.labels, &query, &root),
        None => Trace {
            instance_id: None,
            target: None,
            params: BTreeMap::new(),
        },
    };

    let result: Result<Outcome, ApiError> = async {
        let caller = caller.as_ref().map_err(Clone::clone)?;
        let route = route.as_ref().ok_or_else(|| {
            ApiError::new(
                404,
                "UnknownOperationException",
                format!("No operation matches {method} {}", uri.path()),
            )
        })?;
        let operation = route.operation.name();
        scope::authorize(route.operation, &route.labels, caller)?;
        let decision = shared.faults.decide(operation);
        if !decision.latency.is_zero() {
            tokio::time::sleep(decision.latency).await;
        }
        if !shared
            .throttle
            .admit(&caller.account, &caller.region, operation)
        {
            return Err(ApiError::throttled());
        }
        if let Some(e) = decision.error {
            return Err(e);
        }
        // Only PUT and POST carry a body; a stray body on GET/DELETE is ignored.
        let body = if matches!(method, Method::PUT | Method::POST) {
            parsed.as_ref().map_err(Clone::clone)?
        } else {
            &empty
        };
        // The model's constraints, after the front door (auth, quota, faults) as in AWS, where a
        // throttled request is refused before anything reads its input.
        service_model::validate(
            route.operation,
            &service_model::Request {
                labels: &route.labels,
                query: &query,
                headers: &headers,
                body,
            },
        )?;
        // The caller's account is the one whose resources the handlers name in ARNs.
        let limits = Limits {
            account: caller.account.clone(),
            ..shared.limits.clone()
        };
        let ctx = Ctx {
            caller,
            labels: &route.labels,
            query: &query,
            body: root.clone(),
            limits: &limits,
        };
        let mut state = shared.state();
        scope::check_instance(trace.instance_id.as_deref(), caller, &state)?;
        ops::execute(route.operation, &ctx, &mut state)
    }
    .await;

    let operation = route
        .as_ref()
        .map(|r| r.operation.name())
        .unwrap_or("Unknown");
    let caller = caller.as_ref().unwrap_or(&claimed);
    let (status, body, error) = match &result {
        Ok(outcome) => (200, outcome.body.clone(), None),
        Err(e) => (
            e.status,
            json!({"__type": e.error_type, "Message": e.message}),
            Some(e),
        ),
    };
    shared.calls.push(CallRecord {
        operation: operation.to_string(),
        instance_id: trace.instance_id,
        target: result
            .as_ref()
            .ok()
            .and_then(|o| o.created.clone())
            .or(trace.target),
        status,
        error_type: error.map(|e| e.error_type.to_string()),
        error_message: error.map(|e| e.message.clone()),
        at: SystemTime::now(),
        region: caller.region.clone(),
        access_key_id: caller.access_key_id.clone(),
        account_id: caller.account.clone(),
        principal_arn: caller.principal_arn.clone(),
        request_id: request_id.clone(),
        params: trace.params,
    });
    if result.is_ok() {
        // Synchronously, before the response exists: a test may kill its client here.
        for hook in shared.hooks.succeeded(operation) {
            // A failing test hook must not take the emulator's connection task down with it.
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook())).is_err() {
                tracing::error!(operation, "on_success hook panicked");
            }
        }
    }
    json_response(status, &request_id, &body, error.map(|e| e.error_type))
}

fn json_response(
    status: u16,
    request_id: &str,
    body: &Value,
    error_type: Option<&str>,
) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", v);
    }
    if let Some(t) = error_type.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert("x-amzn-errortype", t);
    }
    response
}
