//! The Connect emulator refuses what the AWS service model refuses.
//!
//! A generated table: this test reads the vendored model on its own (not through the
//! emulator's validator), and for every operation the emulator serves walks the input shape
//! and derives one bad request per constraint (a missing required member, the wrong JSON type,
//! a string too short or too long, a list or map too small or too big, a number out of range,
//! a value outside an enum, a value that breaks a pattern), each on top of a minimal request
//! the model accepts. Each goes over raw HTTP (the SDK cannot send most of them) and must come
//! back as the 400 Connect answers, naming the member and never quoting the value. A second
//! table sends one case of each kind through the real `aws-sdk-connect`.

mod aws_support;

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;

use aws_sdk_connect::Client;
use aws_sdk_connect::config::retry::RetryConfig;
use aws_sdk_connect::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_connect::error::ProvideErrorMetadata;
use aws_sdk_connect::types::{
    AutoAcceptConfig, Channel, PhoneType, UserIdentityInfo, UserPhoneConfig, UserProficiency,
};
use aws_support::test_key_signature_lines;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};
use sim::connect::{ConnectConfig, ConnectSim, InstanceSeed};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const INSTANCE: &str = "11111111-2222-3333-4444-555555555555";
/// A well-formed instance id that names nothing: a request the model accepts ends in 404.
const NO_INSTANCE: &str = "99999999-2222-3333-4444-555555555555";

/// The operations the emulator serves (sim/src/connect/routing.rs).
const SERVED: &[&str] = &[
    "CreateUser",
    "DescribeUser",
    "ListUsers",
    "SearchUsers",
    "DeleteUser",
    "UpdateUserIdentityInfo",
    "UpdateUserPhoneConfig",
    "UpdateUserRoutingProfile",
    "UpdateUserSecurityProfiles",
    "UpdateUserHierarchy",
    "UpdateUserConfig",
    "ListUserProficiencies",
    "AssociateUserProficiencies",
    "UpdateUserProficiencies",
    "DisassociateUserProficiencies",
    "CreateQuickConnect",
    "DescribeQuickConnect",
    "ListQuickConnects",
    "SearchQuickConnects",
    "DeleteQuickConnect",
    "UpdateQuickConnectName",
    "UpdateQuickConnectConfig",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "ListRoutingProfiles",
    "ListSecurityProfiles",
    "ListUserHierarchyGroups",
    "ListContactFlows",
    "DescribeInstance",
];

/// Values for the patterned shapes: (shape, a value that matches, one that does not). The
/// bad PhoneNumber has no `+` (the pattern is stored with doubled escapes); the bad
/// SensitivePhoneNumber has a prefix (the pattern has no `^`); Password and TagKey use
/// look-ahead.
const PATTERNS: &[(&str, &str, &str)] = &[
    ("Password", "S3cret-Passw0rd", "alllowercase1"),
    ("PhoneNumber", "+14155550100", "4155550100"),
    ("SensitivePhoneNumber", "+14155550100", "tel:+14155550100"),
    ("TagKey", "team", "aws:team"),
];

fn model() -> Value {
    let gz = include_bytes!("../aws-models/connect-2017-08-08.service-2.json.gz");
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut text)
        .unwrap();
    serde_json::from_slice(&text).unwrap()
}

struct Shapes<'m>(&'m Map<String, Value>);

impl<'m> Shapes<'m> {
    fn get(&self, name: &str) -> &'m Value {
        &self.0[name]
    }

    fn kind(&self, name: &str) -> &'m str {
        self.get(name)["type"].as_str().unwrap()
    }

    fn members(&self, name: &str) -> Vec<(&'m str, &'m Value)> {
        self.get(name)["members"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default()
    }

    fn required(&self, name: &str) -> Vec<&'m str> {
        self.get(name)["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    /// A value of shape `name` that satisfies every constraint, with only required members.
    fn valid(&self, name: &str) -> Value {
        let s = self.get(name);
        let n = |k: &str| s[k].as_u64().map(|v| v as usize);
        match self.kind(name) {
            "structure" => {
                let mut out = Map::new();
                for r in self.required(name) {
                    let m = &s["members"][r];
                    out.insert(r.to_string(), self.valid(m["shape"].as_str().unwrap()));
                }
                Value::Object(out)
            }
            "list" => {
                let item = self.valid(s["member"]["shape"].as_str().unwrap());
                Value::Array(vec![item; n("min").unwrap_or(1).max(1)])
            }
            "map" => json!({"k": self.valid(s["value"]["shape"].as_str().unwrap())}),
            "string" => {
                if let Some(e) = s["enum"].as_array() {
                    return e[0].clone();
                }
                if s.get("pattern").is_some() {
                    let (_, good, _) = PATTERNS
                        .iter()
                        .find(|(p, _, _)| *p == name)
                        .unwrap_or_else(|| panic!("add a value for the pattern of {name}"));
                    return json!(good);
                }
                json!("v".repeat(n("min").unwrap_or(1).max(1)))
            }
            "integer" | "long" => json!(s["min"].as_i64().unwrap_or(1)),
            "float" | "double" => json!(s["min"].as_f64().unwrap_or(1.0)),
            "boolean" => json!(true),
            "timestamp" => json!(0),
            other => panic!("{name}: type {other}"),
        }
    }
}

/// One bad request: where the bad value goes and what the answer must say.
#[derive(Clone, Debug)]
struct Case {
    operation: String,
    kind: &'static str,
    /// JSON path from the input structure: member names, `0` for the first list item, `k`
    /// for the map entry.
    at: Vec<String>,
    /// `None`: remove the member.
    bad: Option<Value>,
    /// The member path the message must name.
    names: String,
    error: &'static str,
}

/// Derives the cases of `shape` at `at` (the members leading to it), recursing into
/// structures, list items and map values; a recursive shape is entered once per path.
fn derive(
    sh: &Shapes,
    shape: &str,
    at: &[String],
    names: &str,
    body: bool,
    stack: &mut Vec<String>,
    out: &mut Vec<(&'static str, Vec<String>, Option<Value>, String)>,
) {
    if stack.iter().any(|s| s == shape) {
        return;
    }
    stack.push(shape.to_string());
    let s = sh.get(shape);
    let n = |k: &str| s[k].as_u64().map(|v| v as usize);
    let mut push = |kind: &'static str, bad: Value, names: &str| {
        out.push((kind, at.to_vec(), Some(bad), names.to_string()));
    };
    let wrong_type = match sh.kind(shape) {
        "string" => json!(5),
        "integer" | "long" => json!("5"),
        "float" | "double" | "boolean" | "timestamp" => json!("x"),
        "list" | "map" | "structure" => json!(true),
        _ => Value::Null,
    };
    if body && !at.is_empty() {
        push("type", wrong_type, names);
    }
    match sh.kind(shape) {
        "string" => {
            if let Some(e) = s["enum"].as_array() {
                push(
                    "enum",
                    json!(format!("NOT_{}", e[0].as_str().unwrap())),
                    names,
                );
            }
            if s.get("pattern").is_some() {
                let (_, _, bad) = PATTERNS.iter().find(|(p, _, _)| *p == shape).unwrap();
                push("pattern", json!(bad), names);
            }
            if let Some(min) = n("min").filter(|m| *m > 0) {
                push("length", json!("v".repeat(min - 1)), names);
            }
            if let Some(max) = n("max") {
                push("length", json!("v".repeat(max + 1)), names);
            }
        }
        "integer" | "long" | "float" | "double" => {
            let float = matches!(sh.kind(shape), "float" | "double");
            if let Some(min) = s["min"].as_f64() {
                push(
                    "range",
                    if float {
                        json!(min - 0.5)
                    } else {
                        json!(min as i64 - 1)
                    },
                    names,
                );
            }
            if let Some(max) = s["max"].as_f64() {
                push(
                    "range",
                    if float {
                        json!(max + 0.5)
                    } else {
                        json!(max as i64 + 1)
                    },
                    names,
                );
            }
        }
        "list" => {
            let item = s["member"]["shape"].as_str().unwrap();
            let valid = sh.valid(item);
            // An empty list in the query string is no parameter at all (the required case).
            if let Some(min) = n("min").filter(|m| *m > 1 || (*m > 0 && body)) {
                push(
                    "list size",
                    Value::Array(vec![valid.clone(); min - 1]),
                    names,
                );
            }
            if let Some(max) = n("max") {
                push("list size", Value::Array(vec![valid; max + 1]), names);
            }
            let mut inner = at.to_vec();
            inner.push("0".into());
            derive(sh, item, &inner, &format!("{names}[0]"), body, stack, out);
        }
        "map" => {
            let value = s["value"]["shape"].as_str().unwrap();
            let valid = sh.valid(value);
            let valid_for_key = valid.clone();
            if let Some(min) = n("min").filter(|m| *m > 0) {
                let m: Map<String, Value> = (0..min - 1)
                    .map(|i| (format!("k{i}"), valid.clone()))
                    .collect();
                push("map size", Value::Object(m), names);
            }
            if let Some(max) = n("max") {
                let m: Map<String, Value> = (0..=max)
                    .map(|i| (format!("k{i}"), valid.clone()))
                    .collect();
                push("map size", Value::Object(m), names);
            }
            let key = s["key"]["shape"].as_str().unwrap();
            if let Some((_, _, bad)) = PATTERNS.iter().find(|(p, _, _)| *p == key) {
                let mut m = Map::new();
                m.insert(bad.to_string(), valid_for_key);
                push("pattern", Value::Object(m), names);
            }
            let mut inner = at.to_vec();
            inner.push("k".into());
            derive(sh, value, &inner, &format!("{names}.k"), body, stack, out);
        }
        "structure" => {
            let required = sh.required(shape);
            for (member, m) in sh.members(shape) {
                // Labels are never absent (the route needs them) and only body members have
                // JSON types; query values are strings on the wire.
                let located = m.get("location").and_then(Value::as_str);
                if at.is_empty() && located == Some("header") {
                    continue;
                }
                let mut inner = at.to_vec();
                inner.push(member.to_string());
                let path = if names.is_empty() {
                    member.to_string()
                } else {
                    format!("{names}.{member}")
                };
                if required.contains(&member) && located != Some("uri") {
                    out.push(("required", inner.clone(), None, path.clone()));
                }
                derive(
                    sh,
                    m["shape"].as_str().unwrap(),
                    &inner,
                    &path,
                    body && located.is_none(),
                    stack,
                    out,
                );
            }
        }
        _ => {}
    }
    stack.pop();
}

/// Sets (or, with `None`, removes) the value at `at`, creating what leads there.
fn put(sh: &Shapes, shape: &str, target: &mut Value, at: &[String], bad: &Option<Value>) {
    let (first, rest) = at.split_first().expect("a path");
    let s = sh.get(shape);
    let (child_shape, slot): (&str, &mut Value) = match sh.kind(shape) {
        "structure" => {
            let child = s["members"][first.as_str()]["shape"].as_str().unwrap();
            let obj = target.as_object_mut().unwrap();
            if rest.is_empty() {
                match bad {
                    Some(v) => obj.insert(first.clone(), v.clone()),
                    None => obj.remove(first),
                };
                return;
            }
            let slot = obj.entry(first.clone()).or_insert_with(|| sh.valid(child));
            (child, slot)
        }
        "list" => {
            let child = s["member"]["shape"].as_str().unwrap();
            let items = target.as_array_mut().unwrap();
            if items.is_empty() {
                items.push(sh.valid(child));
            }
            (child, &mut items[0])
        }
        _ => {
            let child = s["value"]["shape"].as_str().unwrap();
            let obj = target.as_object_mut().unwrap();
            let slot = obj.entry("k").or_insert_with(|| sh.valid(child));
            (child, slot)
        }
    };
    if rest.is_empty() {
        *slot = bad.clone().unwrap_or(Value::Null);
        return;
    }
    put(sh, child_shape, slot, rest, bad);
}

fn cases(model: &Value) -> Vec<Case> {
    let sh = Shapes(model["shapes"].as_object().unwrap());
    let mut all = Vec::new();
    for op in SERVED {
        let def = &model["operations"][op];
        let input = def["input"]["shape"].as_str().unwrap();
        let declares_invalid_parameter = def["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["shape"] == "InvalidParameterException");
        let mut derived = Vec::new();
        derive(&sh, input, &[], "", true, &mut Vec::new(), &mut derived);
        for (kind, at, bad, names) in derived {
            let error = match kind {
                "type" => "SerializationException",
                "required" => "InvalidRequestException",
                _ if declares_invalid_parameter => "InvalidParameterException",
                _ => "InvalidRequestException",
            };
            all.push(Case {
                operation: op.to_string(),
                kind,
                at,
                bad,
                names,
                error,
            });
        }
    }
    all
}

/// The HTTP request for `input` of `op`: labels into the path, query members into the query
/// string (lists repeat the key), the rest into the JSON body.
fn http_request(model: &Value, op: &str, input: &Value) -> (String, String, Vec<u8>) {
    let sh = Shapes(model["shapes"].as_object().unwrap());
    let def = &model["operations"][op];
    let method = def["http"]["method"].as_str().unwrap().to_string();
    let mut path = def["http"]["requestUri"].as_str().unwrap().to_string();
    let mut query = Vec::new();
    let mut body = Map::new();
    let shape = def["input"]["shape"].as_str().unwrap();
    for (member, m) in sh.members(shape) {
        let Some(v) = input.get(member) else { continue };
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let wire = m["locationName"].as_str().unwrap_or(member);
        match m.get("location").and_then(Value::as_str) {
            Some("uri") => {
                path = path.replace(
                    &format!("{{{wire}}}"),
                    &utf8_percent_encode(&text(v), NON_ALPHANUMERIC).to_string(),
                )
            }
            Some("querystring") => {
                let values = match v {
                    Value::Array(items) => items.iter().map(text).collect(),
                    other => vec![text(other)],
                };
                for value in values {
                    query.push(format!(
                        "{wire}={}",
                        utf8_percent_encode(&value, NON_ALPHANUMERIC)
                    ));
                }
            }
            _ => {
                body.insert(member.to_string(), v.clone());
            }
        }
    }
    let target = if query.is_empty() {
        path
    } else {
        format!("{path}?{}", query.join("&"))
    };
    let body = if method == "GET" || method == "DELETE" {
        Vec::new()
    } else {
        Value::Object(body).to_string().into_bytes()
    };
    (method, target, body)
}

/// One signed HTTP/1.1 exchange: status, `x-amzn-ErrorType`, message.
async fn send(addr: SocketAddr, method: &str, target: &str, body: &[u8]) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let auth = test_key_signature_lines(method, target, "sim", body, "connect");
    let head = format!(
        "{method} {target} HTTP/1.1\r\nHost: sim\r\nConnection: close\r\nContent-Type: application/json\r\n\
         {auth}Content-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw);
    let (head, payload) = text.split_once("\r\n\r\n").expect("a complete response");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let error_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .starts_with("x-amzn-errortype:")
                .then(|| l.split_once(':').unwrap().1.trim().to_string())
        })
        .unwrap_or_default();
    let message = serde_json::from_str::<Value>(payload)
        .ok()
        .and_then(|v| v["Message"].as_str().map(str::to_string))
        .unwrap_or_default();
    (status, error_type, message)
}

/// The minimal valid input of `op`, with labels and ids that name nothing.
fn baseline(sh: &Shapes, model: &Value, op: &str) -> Value {
    let shape = model["operations"][op]["input"]["shape"].as_str().unwrap();
    let mut input = sh.valid(shape);
    let obj = input.as_object_mut().unwrap();
    if obj.contains_key("InstanceId") {
        obj.insert("InstanceId".into(), json!(NO_INSTANCE));
    }
    if obj.contains_key("resourceArn") {
        obj.insert(
            "resourceArn".into(),
            json!(format!(
                "arn:aws:connect:us-east-1:123456789012:instance/{NO_INSTANCE}/agent/u"
            )),
        );
    }
    input
}

#[tokio::test]
async fn every_constraint_of_every_served_operation_is_enforced() {
    let connect = ConnectSim::start(ConnectConfig::default()).await.unwrap();
    connect.seed_instance(InstanceSeed::standard(INSTANCE));
    let model = model();
    let sh = Shapes(model["shapes"].as_object().unwrap());
    let all = cases(&model);

    // A minimal request of every operation passes validation and reaches the operation.
    for op in SERVED {
        let input = baseline(&sh, &model, op);
        let (method, target, body) = http_request(&model, op, &input);
        let (status, error_type, message) = send(connect.addr(), &method, &target, &body).await;
        assert!(
            !message.contains("failed to satisfy constraint: Member")
                && error_type != "SerializationException",
            "{op}: the minimal request {target} {input} was refused: {status} {error_type} {message}"
        );
    }

    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for case in &all {
        let shape = model["operations"][&case.operation]["input"]["shape"]
            .as_str()
            .unwrap();
        let mut input = baseline(&sh, &model, &case.operation);
        put(&sh, shape, &mut input, &case.at, &case.bad);
        let (method, target, body) = http_request(&model, &case.operation, &input);
        // An empty label has no route: that is the front door's 404, not validation.
        if target.contains("//") || target.ends_with('/') {
            continue;
        }
        let (status, error_type, message) = send(connect.addr(), &method, &target, &body).await;
        let what = format!(
            "{} {} {:?}: {status} {error_type} {message}",
            case.operation, case.kind, case.names
        );
        assert_eq!(status, 400, "{what}");
        assert_eq!(error_type, case.error, "{what}");
        assert!(message.contains(&format!("'{}'", case.names)), "{what}");
        if case.error != "SerializationException" {
            assert!(message.contains("validation error"), "{what}");
        }
        if let Some(Value::String(bad)) = &case.bad
            && bad.len() >= 4
        {
            assert!(
                !message.contains(bad.as_str()),
                "{what}: the value is quoted"
            );
        }
        *kinds.entry(case.kind).or_default() += 1;
    }
    eprintln!("model validation cases per kind: {kinds:?}");
    for kind in [
        "required",
        "type",
        "length",
        "list size",
        "map size",
        "range",
        "enum",
        "pattern",
    ] {
        assert!(
            kinds.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} case: {kinds:?}"
        );
    }
    assert!(
        connect.users(INSTANCE).is_empty(),
        "nothing invalid was stored"
    );
}

fn sdk(sim: &ConnectSim) -> Client {
    Client::from_conf(
        aws_sdk_connect::Config::builder()
            .endpoint_url(sim.endpoint())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                sim::aws::TEST_ACCESS_KEY_ID,
                sim::aws::TEST_SECRET_ACCESS_KEY,
                None,
                None,
                "test",
            ))
            .behavior_version(BehaviorVersion::latest())
            .retry_config(RetryConfig::disabled())
            .build(),
    )
}

/// One case of each constraint kind as the operator's SDK sends it.
#[tokio::test]
async fn the_sdk_gets_typed_errors_naming_the_member() {
    let connect = ConnectSim::start(ConnectConfig::default()).await.unwrap();
    let seed = InstanceSeed::standard(INSTANCE);
    connect.seed_instance(seed.clone());
    let client = sdk(&connect);
    let create = || {
        client
            .create_user()
            .instance_id(INSTANCE)
            .username("valid")
            .password("S3cret-Passw0rd")
            // What a CONNECT_MANAGED instance requires (a documented rule, not a shape).
            .identity_info(
                UserIdentityInfo::builder()
                    .first_name("Val")
                    .last_name("Id")
                    .email("valid@example.com")
                    .build(),
            )
            .security_profile_ids(&seed.security_profiles[0].0)
            .routing_profile_id(&seed.routing_profiles[0].0)
    };
    let (uid, _) = {
        let out = create()
            .send()
            .await
            .expect("the unbroken request is valid");
        (out.user_id().unwrap().to_string(), ())
    };
    async fn expect<T, E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
        what: &str,
        r: Result<T, aws_sdk_connect::error::SdkError<E, R>>,
        code: &str,
        member: &str,
    ) {
        let Err(e) = r else {
            panic!("{what}: accepted")
        };
        let message = e.message().unwrap_or_default().to_string();
        assert_eq!(e.code(), Some(code), "{what}: {message}");
        assert!(
            message.contains(&format!("'{member}'")),
            "{what}: {message}"
        );
    }
    const REQ: &str = "InvalidRequestException";
    const PARAM: &str = "InvalidParameterException";
    expect(
        "required",
        create().set_routing_profile_id(None).send().await,
        REQ,
        "RoutingProfileId",
    )
    .await;
    expect(
        "length",
        create().username("u".repeat(101)).send().await,
        PARAM,
        "Username",
    )
    .await;
    expect(
        "list size",
        create().set_security_profile_ids(Some(vec![])).send().await,
        PARAM,
        "SecurityProfileIds",
    )
    .await;
    expect(
        "map size",
        create().set_tags(Some(Default::default())).send().await,
        PARAM,
        "Tags",
    )
    .await;
    expect(
        "range",
        client
            .list_users()
            .instance_id(INSTANCE)
            .max_results(1001)
            .send()
            .await,
        PARAM,
        "MaxResults",
    )
    .await;
    expect(
        "float range",
        client
            .associate_user_proficiencies()
            .instance_id(INSTANCE)
            .user_id(&uid)
            .user_proficiencies(
                UserProficiency::builder()
                    .attribute_name("Language")
                    .attribute_value("English")
                    .level(5.5)
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        PARAM,
        "UserProficiencies[0].Level",
    )
    .await;
    expect(
        "enum",
        create()
            .auto_accept_configs(
                AutoAcceptConfig::builder()
                    .channel(Channel::from("PIGEON"))
                    .auto_accept(true)
                    .build()
                    .unwrap(),
            )
            .send()
            .await,
        PARAM,
        "AutoAcceptConfigs[0].Channel",
    )
    .await;
    expect(
        "look-ahead pattern",
        create().password("NoDigitsHere").send().await,
        PARAM,
        "Password",
    )
    .await;
    expect(
        "doubled-escape pattern",
        client
            .update_user_identity_info()
            .instance_id(INSTANCE)
            .user_id(&uid)
            .identity_info(UserIdentityInfo::builder().mobile("14155550100").build())
            .send()
            .await,
        PARAM,
        "IdentityInfo.Mobile",
    )
    .await;
    expect(
        "unanchored pattern",
        client
            .update_user_phone_config()
            .instance_id(INSTANCE)
            .user_id(&uid)
            .phone_config(
                UserPhoneConfig::builder()
                    .phone_type(PhoneType::DeskPhone)
                    .desk_phone_number("x+14155550100")
                    .build(),
            )
            .send()
            .await,
        PARAM,
        "PhoneConfig.DeskPhoneNumber",
    )
    .await;
    expect(
        "label length, DescribeInstance declares no InvalidParameterException",
        client
            .describe_instance()
            .instance_id("i".repeat(101))
            .send()
            .await,
        REQ,
        "InstanceId",
    )
    .await;
    // A valid E.164 number passes the doubled-escape pattern.
    client
        .update_user_identity_info()
        .instance_id(INSTANCE)
        .user_id(&uid)
        .identity_info(
            UserIdentityInfo::builder()
                .first_name("Ada")
                .last_name("Lovelace")
                .email("ada@example.com")
                .mobile("+14155550100")
                .build(),
        )
        .send()
        .await
        .expect("+14155550100 is E.164");
    assert_eq!(connect.users(INSTANCE).len(), 1);
}

/// A throttled request is refused before its input is read, as at AWS's front door.
#[tokio::test]
async fn throttling_comes_before_validation() {
    let connect = ConnectSim::start(ConnectConfig {
        quota: Some(sim::connect::Quota {
            rate_per_sec: 0.001,
            burst: 1,
        }),
        ..ConnectConfig::default()
    })
    .await
    .unwrap();
    connect.seed_instance(InstanceSeed::standard(INSTANCE));
    let client = sdk(&connect);
    let bad = || {
        client
            .list_users()
            .instance_id(INSTANCE)
            .max_results(0)
            .send()
    };
    assert_eq!(
        bad().await.unwrap_err().code(),
        Some("InvalidParameterException")
    );
    assert_eq!(bad().await.unwrap_err().code(), Some("ThrottlingException"));
}
