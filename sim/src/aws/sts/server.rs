//! The STS front door: the awsQuery form (POST body, or query string), SigV4 authentication
//! for every action but AssumeRoleWithWebIdentity, the action, the call log, and the XML answer.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State as AxumState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;

use super::super::auth::{self, AuthError, AuthFailure, Authenticated};
use super::super::iam::Iam;
use super::super::sigv4;
use super::StsCall;
use super::actions::{self, Form, Outcome, StsError};
use super::xml;

pub struct Shared {
    pub iam: Iam,
    pub calls: Mutex<Vec<StsCall>>,
}

impl Shared {
    pub fn calls(&self) -> std::sync::MutexGuard<'_, Vec<StsCall>> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new().fallback(handle).with_state(shared)
}

/// What STS answers for a request that failed authentication.
fn auth_error(e: &AuthError) -> StsError {
    let invalid = "The security token included in the request is invalid.";
    match e {
        AuthError::Missing => StsError::sender(
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ),
        AuthError::Incomplete(m) => StsError::sender(400, "IncompleteSignature", m.clone()),
        AuthError::WrongService(m) | AuthError::BadDate(m) => {
            StsError::sender(403, "SignatureDoesNotMatch", m.clone())
        }
        AuthError::UnknownKey | AuthError::InvalidToken => {
            StsError::sender(403, "InvalidClientTokenId", invalid)
        }
        AuthError::Expired => StsError::sender(
            400,
            "ExpiredToken",
            "The security token included in the request is expired",
        ),
        AuthError::BadSignature => StsError::sender(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ),
    }
}

const UNSIGNED: &[&str] = &["AssumeRoleWithWebIdentity"];

async fn handle(
    AxumState(shared): AxumState<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    if uri.path() == "/_sim/calls" {
        let calls: Vec<serde_json::Value> = shared.calls().iter().map(StsCall::to_json).collect();
        return respond(
            200,
            "application/json",
            serde_json::Value::Array(calls).to_string(),
            &request_id,
        );
    }
    let mut pairs: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    if method == Method::POST {
        pairs.extend(form_urlencoded::parse(&body).into_owned());
    }
    let form = Form(pairs);
    let action = form.get("Action").unwrap_or_default().to_string();

    let mut call = StsCall {
        action: action.clone(),
        status: 200,
        error_code: None,
        error_message: None,
        access_key_id: String::new(),
        caller_arn: None,
        region: String::new(),
        role_arn: form.get("RoleArn").map(str::to_string),
        role_session_name: form.get("RoleSessionName").map(str::to_string),
        duration_seconds: form.get("DurationSeconds").and_then(|d| d.parse().ok()),
        issued_access_key_id: None,
        at: SystemTime::now(),
        request_id: request_id.clone(),
    };

    let result: Result<Outcome, StsError> = (|| {
        let caller: Option<Authenticated> = if UNSIGNED.contains(&action.as_str()) {
            None
        } else {
            let req = sigv4::Request {
                method: method.as_str(),
                path: uri.path(),
                query: uri.query(),
                headers: &headers,
                body: &body,
            };
            match auth::authenticate(&shared.iam, &req, "sts", SystemTime::now()) {
                Ok(a) => Some(a),
                Err(AuthFailure {
                    error,
                    access_key_id,
                    region,
                }) => {
                    call.access_key_id = access_key_id;
                    call.region = region;
                    return Err(auth_error(&error));
                }
            }
        };
        if let Some(a) = &caller {
            call.access_key_id = a.access_key_id.clone();
            call.region = a.region.clone();
            call.caller_arn = Some(a.principal.arn());
        }
        if form.get("Version") != Some("2011-06-15") {
            return Err(StsError::sender(
                400,
                "InvalidAction",
                format!(
                    "Could not find operation {action} for version {}",
                    form.get("Version").unwrap_or("NO_VERSION_SPECIFIED")
                ),
            ));
        }
        match (action.as_str(), &caller) {
            ("AssumeRole", Some(c)) => actions::assume_role(
                &shared.iam,
                &c.principal,
                shared.iam.session_of(&c.access_key_id).as_ref(),
                &form,
            ),
            ("AssumeRoleWithWebIdentity", _) => {
                actions::assume_role_with_web_identity(&shared.iam, &form)
            }
            ("GetCallerIdentity", Some(c)) => Ok(actions::get_caller_identity(&c.principal)),
            _ => Err(StsError::sender(
                400,
                "InvalidAction",
                format!("Could not find operation {action} for version 2011-06-15"),
            )),
        }
    })();

    let (status, text) = match result {
        Ok(outcome) => {
            call.issued_access_key_id = outcome.issued;
            if outcome.role_arn.is_some() {
                call.role_arn = outcome.role_arn;
            }
            if outcome.session_name.is_some() {
                call.role_session_name = outcome.session_name;
            }
            (200, xml::response(&action, outcome.result, &request_id))
        }
        Err(e) => {
            call.status = e.status;
            call.error_code = Some(e.code.to_string());
            call.error_message = Some(e.message.clone());
            (
                e.status,
                xml::error(e.kind, e.code, &e.message, &request_id),
            )
        }
    };
    call.status = status;
    shared.calls().push(call);
    respond(status, "text/xml", text, &request_id)
}

fn respond(status: u16, content_type: &'static str, text: String, request_id: &str) -> Response {
    let mut response = Response::new(Body::from(text));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let h = response.headers_mut();
    h.insert("content-type", HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    response
}
