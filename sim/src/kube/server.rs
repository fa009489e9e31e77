//! HTTP front: one catch-all handler that records the request, applies injected latency and
//! faults, routes it (discovery, OpenAPI, resources) and renders results with the apiserver's
//! content negotiation (JSON, Table, PartialObjectMetadata, and protobuf for the built-in kinds
//! `protobuf` speaks).

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures::FutureExt;
use serde_json::{Value, json};

use super::Inner;
use super::admission::FieldValidation;
use super::discovery;
use super::faults::RequestRecord;
use super::openapi;
use super::ops::{self, DeleteOpts, Filter, Opts, PatchType};
use super::protobuf::{self, Wire};
use super::registry::ResourceType;
use super::reqinfo::{self, Query, ResourcePath, Route};
use super::status::{ApiError, ApiResult};
use super::table::{self, Include};
use super::watch::{self, Render};

const MAX_BODY: usize = 16 * 1024 * 1024;

pub fn router(inner: Arc<Inner>) -> axum::Router {
    axum::Router::new().fallback(handle).with_state(inner)
}

struct Ctx {
    method: String,
    path: String,
    query: Query,
    accept: String,
    content_type: String,
    user_agent: String,
    body: bytes::Bytes,
}

fn json_response(code: u16, body: &Value, content_type: &str, warnings: &[String]) -> Response {
    let mut resp = Response::new(Body::from(serde_json::to_vec(body).unwrap_or_default()));
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/json")),
    );
    for w in warnings {
        let text = format!("299 - \"{}\"", w.replace('\\', "\\\\").replace('"', "\\\""));
        if let Ok(v) = HeaderValue::from_str(&text) {
            headers.append("Warning", v);
        }
    }
    resp
}

/// A body in protobuf when the client prefers it and its kind is spoken that way, else JSON.
fn wire_response(
    wire: Wire,
    code: u16,
    body: &Value,
    content_type: &str,
    warnings: &[String],
) -> Response {
    if wire == Wire::Protobuf
        && let Some(bytes) = protobuf::encode(body)
    {
        let mut r = json_response(code, &Value::Null, protobuf::MEDIA_TYPE, warnings);
        *r.body_mut() = Body::from(bytes);
        return r;
    }
    json_response(code, body, content_type, warnings)
}

fn error_response(e: &ApiError) -> Response {
    error_response_in(Wire::Json, e)
}

fn error_response_in(wire: Wire, e: &ApiError) -> Response {
    let mut r = wire_response(wire, e.code, &e.to_json(), "application/json", &[]);
    if e.code == 429 || e.code == 503 {
        // As the apiserver does; clients' retry policies read it.
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

fn header_str(h: &HeaderMap, name: header::HeaderName) -> String {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

async fn handle(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let latency = inner.faults().latency;
    if latency > Duration::ZERO {
        tokio::time::sleep(latency).await;
    }
    let (parts, body) = req.into_parts();
    let mut record = RequestRecord {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        verb: String::new(),
        api_group: String::new(),
        api_version: String::new(),
        resource: String::new(),
        subresource: None,
        namespace: None,
        name: None,
        status: 0,
        content_type: header_str(&parts.headers, header::CONTENT_TYPE),
        accept: header_str(&parts.headers, header::ACCEPT),
        user_agent: header_str(&parts.headers, header::USER_AGENT),
    };
    let query = Query::parse(&record.query);
    let route = reqinfo::route(&record.path);
    if let Route::Resource(rp) = &route {
        record.verb = reqinfo::verb(&record.method, rp, &query).to_string();
        record.api_group = rp.group.clone();
        record.api_version = rp.version.clone();
        record.resource = rp.resource.clone();
        record.subresource = rp.subresource.clone();
        record.namespace = rp.namespace.clone();
        record.name = rp.name.clone();
    } else {
        record.verb = if record.method == "GET" {
            "get".into()
        } else {
            record.method.to_lowercase()
        };
    }
    let injected = {
        let target = if record.query.is_empty() {
            record.path.clone()
        } else {
            format!("{}?{}", record.path, record.query)
        };
        inner.faults().take(&record.method, &target)
    };
    let response = match injected {
        Some(code) => error_response(&ApiError::from_code(code)),
        None => match axum::body::to_bytes(body, MAX_BODY).await {
            Err(_) => error_response(&ApiError::new(
                413,
                "RequestEntityTooLarge",
                "the request body is too large",
            )),
            Ok(bytes) => {
                let ctx = Ctx {
                    method: record.method.clone(),
                    path: record.path.clone(),
                    query,
                    accept: record.accept.clone(),
                    content_type: record.content_type.clone(),
                    user_agent: record.user_agent.clone(),
                    body: bytes,
                };
                // A bug must cost one request a 500, never the server.
                match std::panic::AssertUnwindSafe(dispatch(&inner, route, ctx))
                    .catch_unwind()
                    .await
                {
                    Ok(r) => r,
                    Err(_) => error_response(&ApiError::internal(
                        "internal error while handling the request",
                    )),
                }
            }
        },
    };
    record.status = response.status().as_u16();
    inner.faults().requests.push(record);
    response
}

async fn dispatch(inner: &Arc<Inner>, route: Route, ctx: Ctx) -> Response {
    if !matches!(route, Route::Resource(_)) && ctx.method != "GET" && ctx.method != "HEAD" {
        return error_response(&ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({})",
            ctx.path
        )));
    }
    let ok = |v: Value| json_response(200, &v, "application/json", &[]);
    match route {
        Route::Version => ok(discovery::version()),
        Route::Health => {
            let mut r = Response::new(Body::from("ok"));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            r
        }
        Route::LegacyVersions | Route::Groups => {
            let legacy = route == Route::LegacyVersions;
            let st = inner.store.lock();
            let mut resp = match discovery::aggregated_version(&ctx.accept) {
                Some(v) => json_response(
                    200,
                    &discovery::aggregated(&st.registry, legacy, v),
                    &discovery::aggregated_content_type(v),
                    &[],
                ),
                None if legacy => ok(discovery::api_versions(&inner.addr.to_string())),
                None => ok(discovery::api_group_list(&st.registry)),
            };
            resp.headers_mut()
                .insert(header::VARY, HeaderValue::from_static("Accept"));
            resp
        }
        Route::Group(g) => match discovery::api_group(&inner.store.lock().registry, &g) {
            Some(v) => ok(v),
            None => error_response(&ApiError::path_not_found(&ctx.path)),
        },
        Route::GroupVersion { group, version } => {
            match discovery::resource_list(&inner.store.lock().registry, &group, &version) {
                Some(v) => ok(v),
                None => error_response(&ApiError::path_not_found(&ctx.path)),
            }
        }
        Route::OpenApiV3Index => ok(openapi::index(&inner.store.lock().registry)),
        Route::OpenApiV3Doc(gv) => match openapi::document(&inner.store.lock().registry, &gv) {
            Some(doc) => {
                let mut r = ok(doc);
                r.headers_mut().insert(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-cache, private"),
                );
                r
            }
            None => error_response(&ApiError::path_not_found(&ctx.path)),
        },
        Route::OpenApiV2 | Route::Unknown => error_response(&ApiError::path_not_found(&ctx.path)),
        Route::Resource(rp) => {
            // Errors are encoded the way the client asked for objects of this resource.
            let errors_in = match protobuf::negotiate(
                &ctx.accept,
                protobuf::serves(&rp.group, &rp.version, &rp.resource),
            ) {
                Some(Wire::Protobuf) => Wire::Protobuf,
                _ => Wire::Json,
            };
            match resource(inner, &rp, ctx).await {
                Ok(r) => r,
                Err(e) => error_response_in(errors_in, &e),
            }
        }
    }
}

/// How the client asked to see objects.
fn negotiate(accept: &str) -> Render {
    let wants = |s: &str| accept.split(',').any(|p| p.replace(' ', "").contains(s));
    if wants("as=Table") {
        let v1 = accept
            .split(',')
            .any(|p| p.contains("as=Table") && p.contains("v=v1") && !p.contains("v=v1beta1"));
        Render::Table(
            Include::Metadata,
            if v1 {
                "meta.k8s.io/v1".into()
            } else {
                "meta.k8s.io/v1beta1".into()
            },
        )
    } else if wants("as=PartialObjectMetadata") {
        Render::Metadata
    } else {
        Render::Object
    }
}

fn render_content_type(r: &Render) -> String {
    match r {
        Render::Object => "application/json".into(),
        Render::Metadata => "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1".into(),
        Render::Table(_, v) => format!(
            "application/json;as=Table;v={};g=meta.k8s.io",
            v.trim_start_matches("meta.k8s.io/")
        ),
    }
}

fn write_opts(ctx: &Ctx) -> ApiResult<Opts> {
    let manager = ctx.query.value("fieldManager").map(String::from);
    if let Some(m) = &manager
        && m.len() > 128
    {
        return Err(ApiError::invalid(
            "PatchOptions",
            "meta.k8s.io",
            "",
            vec![super::status::Cause {
                reason: "FieldValueTooLong".into(),
                message: "Too long: may not be more than 128 bytes".into(),
                field: "fieldManager".into(),
            }],
        ));
    }
    let ua = ctx.user_agent.split('/').next().unwrap_or_default();
    let default_manager = if ua.is_empty() {
        "unknown".to_string()
    } else {
        ua.chars().take(128).collect()
    };
    Ok(Opts {
        manager,
        default_manager,
        validation: FieldValidation::parse(ctx.query.get("fieldValidation"))?,
        dry_run: ctx.query.value("dryRun").is_some(),
        force: ctx.query.flag("force"),
    })
}

/// Decodes a create/update body: JSON, YAML, or protobuf for the kinds `protobuf` speaks.
fn decode_body(rt: &ResourceType, ctx: &Ctx) -> ApiResult<Value> {
    let ct = ctx
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    match ct {
        "" | "application/json" | "*/*" => serde_json::from_slice(&ctx.body).map_err(|e| {
            ApiError::bad_request(format!(
                "{} in version \"{}\" cannot be handled as a {}: {e}",
                rt.kind, rt.version, rt.kind
            ))
        }),
        "application/yaml" => ops::parse_yaml(&ctx.body),
        protobuf::MEDIA_TYPE => protobuf::decode(rt, &ctx.body),
        other => Err(ApiError::unsupported_media_type(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {other})"
        ))),
    }
}

fn list_meta(out: &ops::ListOut) -> Value {
    let mut meta = json!({"resourceVersion": out.rv.to_string()});
    if let Some(c) = &out.cont {
        meta["continue"] = json!(c);
    }
    if let Some(n) = out.remaining {
        meta["remainingItemCount"] = json!(n);
    }
    meta
}

async fn resource(inner: &Arc<Inner>, rp: &ResourcePath, ctx: Ctx) -> ApiResult<Response> {
    let rt = inner
        .store
        .lock()
        .registry
        .lookup(&rp.group, &rp.version, &rp.resource)
        .ok_or_else(|| ApiError::path_not_found(&ctx.path))?;
    if !rt.namespaced && rp.namespace.is_some() {
        return Err(ApiError::path_not_found(&ctx.path));
    }
    if rt.namespaced && rp.name.is_some() && rp.namespace.is_none() {
        return Err(ApiError::path_not_found(&ctx.path));
    }
    let ns = rp.namespace.as_deref();
    let render = negotiate(&ctx.accept);
    let serves_pb = protobuf::serves_type(&rt);
    let wire = protobuf::negotiate(&ctx.accept, serves_pb)
        .ok_or_else(|| protobuf::not_acceptable(serves_pb))?;
    let verb = reqinfo::verb(&ctx.method, rp, &ctx.query);
    if rp.subresource.is_some() && !matches!(verb, "get" | "update" | "patch") {
        return Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({})",
            ctx.path
        )));
    }
    if let Some(sub) = rp.subresource.as_deref()
        && !(sub == "status" && rt.status_subresource)
    {
        return Err(ApiError::path_not_found(&ctx.path));
    }
    let done = |d: ops::Done| wire_response(wire, d.code, &d.body, "application/json", &d.warnings);
    match verb {
        "get" => {
            let name = rp.name.as_deref().unwrap_or_default();
            let obj = ops::get(&inner.store.lock(), &rt, ns, name)?;
            let body = match &render {
                Render::Object => obj,
                Render::Metadata => table::partial_metadata(&obj),
                Render::Table(_, v) => {
                    let include = Include::parse(ctx.query.get("includeObject"));
                    let rv = obj
                        .pointer("/metadata/resourceVersion")
                        .cloned()
                        .unwrap_or(Value::Null);
                    table::table(&rt, &[obj], json!({"resourceVersion": rv}), include, v)
                }
            };
            Ok(wire_response(
                wire,
                200,
                &body,
                &render_content_type(&render),
                &[],
            ))
        }
        "list" => {
            let filter = Filter::new(rt.clone(), ns, &ctx.query)?;
            let out = ops::list(&inner.store.lock(), &filter, &ctx.query)?;
            let meta = list_meta(&out);
            let body = match &render {
                Render::Object => json!({
                    "kind": rt.list_kind, "apiVersion": rt.api_version(), "metadata": meta, "items": out.items,
                }),
                Render::Metadata => json!({
                    "kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta,
                    "items": out.items.iter().map(table::partial_metadata).collect::<Vec<_>>(),
                }),
                Render::Table(_, v) => {
                    let include = Include::parse(ctx.query.get("includeObject"));
                    table::table(&rt, &out.items, meta, include, v)
                }
            };
            let ct = match &render {
                Render::Metadata => {
                    "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1".to_string()
                }
                other => render_content_type(other),
            };
            Ok(wire_response(wire, 200, &body, &ct, &[]))
        }
        "watch" => {
            let mut filter = Filter::new(rt.clone(), ns, &ctx.query)?;
            if let Some(name) = &rp.name {
                // `/watch/.../name` paths watch one object.
                filter
                    .fields
                    .0
                    .push(("metadata.name".into(), true, name.clone()));
            }
            let timeout = match ctx.query.value("timeoutSeconds") {
                // Capped so that a huge value cannot overflow the deadline.
                Some(t) => Duration::from_secs(
                    t.parse::<u64>()
                        .map_err(|_| ApiError::bad_request(format!("invalid timeoutSeconds: {t}")))?
                        .min(86_400 * 365),
                ),
                None => Duration::from_secs(1800),
            };
            let render = match render {
                Render::Table(_, v) => {
                    Render::Table(Include::parse(ctx.query.get("includeObject")), v)
                }
                other => other,
            };
            let ct = render_content_type(&render);
            let params = watch::Params {
                rv: ctx.query.get("resourceVersion").map(String::from),
                send_initial_events: ctx.query.flag("sendInitialEvents"),
                bookmarks: ctx.query.flag("allowWatchBookmarks"),
                timeout,
                render,
            };
            let stream = watch::start(inner.clone(), filter, params)?;
            let mut resp = Response::new(Body::from_stream(stream));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(&ct).unwrap_or(HeaderValue::from_static("application/json")),
            );
            Ok(resp)
        }
        "create" => {
            if rp.name.is_some() {
                return Err(ApiError::method_not_allowed(format!(
                    "the server does not allow this method on the requested resource ({})",
                    ctx.path
                )));
            }
            let opts = write_opts(&ctx)?;
            let body = decode_body(&rt, &ctx)?;
            Ok(done(ops::create(
                &mut inner.store.lock(),
                &rt,
                ns,
                body,
                &opts,
                None,
            )?))
        }
        "update" => {
            let opts = write_opts(&ctx)?;
            let body = decode_body(&rt, &ctx)?;
            let name = rp.name.as_deref().unwrap_or_default();
            Ok(done(ops::update(
                &mut inner.store.lock(),
                &rt,
                ns,
                name,
                rp.subresource.as_deref(),
                body,
                &opts,
            )?))
        }
        "patch" => {
            let opts = write_opts(&ctx)?;
            let pt = PatchType::from_content_type(&ctx.content_type)
                .ok_or_else(|| ops::unsupported_patch(&rt))?;
            let name = rp.name.as_deref().unwrap_or_default();
            Ok(done(ops::patch(
                &mut inner.store.lock(),
                &rt,
                ns,
                name,
                rp.subresource.as_deref(),
                pt,
                &ctx.body,
                &opts,
            )?))
        }
        "delete" => {
            let opts = DeleteOpts::parse(&ctx.body, &ctx.query)?;
            let name = rp.name.as_deref().unwrap_or_default();
            Ok(done(ops::delete(
                &mut inner.store.lock(),
                &rt,
                ns,
                name,
                &opts,
            )?))
        }
        "deletecollection" => {
            let opts = DeleteOpts::parse(&ctx.body, &ctx.query)?;
            let filter = Filter::new(rt.clone(), ns, &ctx.query)?;
            let items =
                ops::delete_collection(&mut inner.store.lock(), &filter, &ctx.query, &opts)?;
            let body = json!({"kind": rt.list_kind, "apiVersion": rt.api_version(), "metadata": {}, "items": items});
            Ok(json_response(200, &body, "application/json", &[]))
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({})",
            ctx.path
        ))),
    }
}
