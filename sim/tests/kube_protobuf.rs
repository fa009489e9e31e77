//! The protobuf wire format of the Kubernetes emulator: what kubectl sends for built-in kinds.
//! Round trips from k8s-openapi objects through protobuf and back (property tests), bodies
//! built with k8s-pb's prost types directly (not with the emulator's encoder), responses in
//! protobuf when asked, and refusals of bodies the decoder does not understand.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Secret};
use k8s_pb::api::core::v1 as pbcore;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as pbmeta;
use k8s_pb::apimachinery::pkg::runtime::{TypeMeta, Unknown};
use proptest::prelude::*;
use prost::Message;
use serde_json::{Value, json};
use sim::kube::KubeSim;
use sim::kube::protobuf::{self, DecodeError, MAGIC};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PB: &str = "application/vnd.kubernetes.protobuf";

// ---------------------------------------------------------------------------------------------
// Objects as k8s-openapi types, generated as their JSON and deserialized (so every generated
// value is one k8s-openapi accepts). Strings, maps and lists that Go cannot tell from absent
// (plain `string`, maps, slices: empty and missing are one value) are generated non-empty.

fn word() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9-]{0,10}[a-z0-9]"
}

fn text() -> impl Strategy<Value = String> {
    // Any non-empty UTF-8, quotes and newlines included.
    "\\PC{1,20}"
}

fn string_map() -> impl Strategy<Value = Option<BTreeMap<String, String>>> {
    proptest::option::of(proptest::collection::btree_map(word(), text(), 1..4))
}

fn timestamp() -> impl Strategy<Value = Option<String>> {
    // Whole seconds: metav1.Time's JSON form has no fraction.
    proptest::option::of((0i64..4_000_000_000).prop_map(|s| {
        chrono::DateTime::from_timestamp(s, 0)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }))
}

fn owner_refs() -> impl Strategy<Value = Option<Vec<Value>>> {
    proptest::option::of(proptest::collection::vec(
        (
            word(),
            word(),
            word(),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(kind, name, uid, controller, block)| {
                let mut r =
                    json!({"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid});
                if let Some(c) = controller {
                    r["controller"] = json!(c);
                }
                if let Some(b) = block {
                    r["blockOwnerDeletion"] = json!(b);
                }
                r
            }),
        1..3,
    ))
}

fn managed_fields() -> impl Strategy<Value = Option<Vec<Value>>> {
    proptest::option::of(proptest::collection::vec(
        (
            word(),
            prop_oneof![Just("Apply"), Just("Update")],
            timestamp(),
            word(),
        )
            .prop_map(|(manager, op, time, key)| {
                let mut e = json!({
                    "manager": manager, "operation": op, "apiVersion": "v1",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:metadata": {"f:labels": {format!("f:{key}"): {}}}},
                });
                if let Some(t) = time {
                    e["time"] = json!(t);
                }
                e
            }),
        1..3,
    ))
}

fn object_meta(namespaced: bool) -> impl Strategy<Value = Value> {
    (
        (
            word(),
            proptest::option::of(word()),
            word(),
            proptest::option::of("[1-9][0-9]{0,6}"),
        ),
        (
            proptest::option::of(1i64..1000),
            timestamp(),
            timestamp(),
            proptest::option::of(0i64..100),
        ),
        (string_map(), string_map()),
        (
            proptest::option::of(proptest::collection::vec(word(), 1..3)),
            owner_refs(),
            managed_fields(),
        ),
    )
        .prop_map(
            move |(
                (name, generate, ns, rv),
                (generation, created, deleted, grace),
                (labels, annotations),
                (finalizers, owners, managed),
            )| {
                let mut m = json!({"name": name});
                let mut set = |k: &str, v: Option<Value>| {
                    if let Some(v) = v {
                        m[k] = v;
                    }
                };
                set("generateName", generate.map(|g| json!(g)));
                set("namespace", namespaced.then(|| json!(ns)));
                set("uid", Some(json!(format!("uid-{name}"))));
                set("resourceVersion", rv.map(|r| json!(r)));
                set("generation", generation.map(|g| json!(g)));
                set("creationTimestamp", created.map(|t| json!(t)));
                set("deletionTimestamp", deleted.map(|t| json!(t)));
                set("deletionGracePeriodSeconds", grace.map(|g| json!(g)));
                set("labels", labels.map(|l| json!(l)));
                set("annotations", annotations.map(|a| json!(a)));
                set("finalizers", finalizers.map(|f| json!(f)));
                set("ownerReferences", owners.map(Value::Array));
                set("managedFields", managed.map(Value::Array));
                m
            },
        )
}

fn namespace() -> impl Strategy<Value = Namespace> {
    (
        object_meta(false),
        proptest::option::of(proptest::collection::vec(word(), 1..3)),
        proptest::option::of((
            proptest::option::of(prop_oneof![Just("Active"), Just("Terminating")]),
            proptest::option::of(proptest::collection::vec(
                (
                    word(),
                    prop_oneof![Just("True"), Just("False")],
                    timestamp(),
                    proptest::option::of(word()),
                    proptest::option::of(text()),
                ),
                1..3,
            )),
        )),
    )
        .prop_map(|(meta, finalizers, status)| {
            let mut v = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": meta});
            if let Some(f) = finalizers {
                v["spec"] = json!({"finalizers": f});
            }
            if let Some((phase, conditions)) = status {
                let mut s = json!({});
                if let Some(p) = phase {
                    s["phase"] = json!(p);
                }
                if let Some(cs) = conditions {
                    s["conditions"] = cs
                        .into_iter()
                        .map(|(ty, st, t, reason, message)| {
                            let mut c = json!({"type": ty, "status": st});
                            if let Some(t) = t {
                                c["lastTransitionTime"] = json!(t);
                            }
                            if let Some(r) = reason {
                                c["reason"] = json!(r);
                            }
                            if let Some(m) = message {
                                c["message"] = json!(m);
                            }
                            c
                        })
                        .collect();
                }
                v["status"] = s;
            }
            serde_json::from_value(v).expect("a k8s-openapi Namespace")
        })
}

fn bytes_map() -> impl Strategy<Value = Option<BTreeMap<String, Vec<u8>>>> {
    proptest::option::of(proptest::collection::btree_map(
        "[A-Za-z0-9._-]{1,12}",
        proptest::collection::vec(any::<u8>(), 0..40),
        1..4,
    ))
}

fn b64_map(m: BTreeMap<String, Vec<u8>>) -> Value {
    m.into_iter()
        .map(|(k, v)| (k, json!(sim::kube::protobuf::base64(&v))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

fn secret() -> impl Strategy<Value = Secret> {
    (
        object_meta(true),
        bytes_map(),
        string_map(),
        proptest::option::of(prop_oneof![
            Just("Opaque"),
            Just("kubernetes.io/basic-auth")
        ]),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(meta, data, string_data, ty, immutable)| {
            let mut v = json!({"apiVersion": "v1", "kind": "Secret", "metadata": meta});
            if let Some(d) = data {
                v["data"] = b64_map(d);
            }
            if let Some(s) = string_data {
                v["stringData"] = json!(s);
            }
            if let Some(t) = ty {
                v["type"] = json!(t);
            }
            if let Some(i) = immutable {
                v["immutable"] = json!(i);
            }
            serde_json::from_value(v).expect("a k8s-openapi Secret")
        })
}

fn config_map() -> impl Strategy<Value = ConfigMap> {
    (
        object_meta(true),
        string_map(),
        bytes_map(),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(|(meta, data, binary, immutable)| {
            let mut v = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta});
            if let Some(d) = data {
                v["data"] = json!(d);
            }
            if let Some(b) = binary {
                v["binaryData"] = b64_map(b);
            }
            if let Some(i) = immutable {
                v["immutable"] = json!(i);
            }
            serde_json::from_value(v).expect("a k8s-openapi ConfigMap")
        })
}

/// The envelope's type and the raw message, read with prost directly.
fn unwrap_envelope(bytes: &[u8]) -> (TypeMeta, Vec<u8>) {
    assert_eq!(&bytes[..4], &MAGIC, "the k8s\\0 magic");
    let u = Unknown::decode(&bytes[4..]).expect("a runtime.Unknown");
    (u.type_meta.unwrap(), u.raw.unwrap())
}

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(obj: &T) -> (T, Vec<u8>) {
    let json = serde_json::to_value(obj).unwrap();
    let bytes = protobuf::encode(&json).expect("a kind spoken in protobuf");
    let back = protobuf::decode_object(&bytes).expect("decodes");
    (
        serde_json::from_value(back).expect("a k8s-openapi object again"),
        bytes,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn namespaces_round_trip_through_protobuf(ns in namespace()) {
        let (back, bytes) = round_trip(&ns);
        prop_assert_eq!(&back, &ns);
        let (tm, raw) = unwrap_envelope(&bytes);
        prop_assert_eq!((tm.api_version.as_deref(), tm.kind.as_deref()), (Some("v1"), Some("Namespace")));
        let pb = pbcore::Namespace::decode(raw.as_slice()).unwrap();
        let meta = pb.metadata.unwrap();
        prop_assert_eq!(meta.name, ns.metadata.name.clone());
        prop_assert_eq!(meta.labels, ns.metadata.labels.clone().unwrap_or_default());
        prop_assert_eq!(
            pb.spec.map(|s| s.finalizers).unwrap_or_default(),
            ns.spec.and_then(|s| s.finalizers).unwrap_or_default()
        );
    }

    #[test]
    fn secrets_round_trip_through_protobuf(secret in secret()) {
        let (back, bytes) = round_trip(&secret);
        prop_assert_eq!(&back, &secret);
        let (tm, raw) = unwrap_envelope(&bytes);
        prop_assert_eq!(tm.kind.as_deref(), Some("Secret"));
        let pb = pbcore::Secret::decode(raw.as_slice()).unwrap();
        let data: BTreeMap<String, Vec<u8>> = secret
            .data
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, v.0))
            .collect();
        prop_assert_eq!(pb.data, data);
        prop_assert_eq!(pb.r#type, secret.type_.clone());
        prop_assert_eq!(pb.immutable, secret.immutable);
        let created = secret.metadata.creation_timestamp.as_ref().map(|t| t.0.as_second());
        prop_assert_eq!(pb.metadata.unwrap().creation_timestamp.and_then(|t| t.seconds), created);
    }

    #[test]
    fn config_maps_round_trip_through_protobuf(cm in config_map()) {
        let (back, bytes) = round_trip(&cm);
        prop_assert_eq!(&back, &cm);
        let (tm, raw) = unwrap_envelope(&bytes);
        prop_assert_eq!(tm.kind.as_deref(), Some("ConfigMap"));
        let pb = pbcore::ConfigMap::decode(raw.as_slice()).unwrap();
        prop_assert_eq!(pb.data, cm.data.clone().unwrap_or_default());
        prop_assert_eq!(pb.metadata.unwrap().namespace, cm.metadata.namespace.clone());
    }
}

#[test]
fn kinds_not_spoken_in_protobuf_are_not_encoded() {
    let deployment =
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}});
    assert!(protobuf::encode(&deployment).is_none());
    let cr = json!({"apiVersion": "example.dev/v1", "kind": "Widget", "metadata": {"name": "w"}});
    assert!(protobuf::encode(&cr).is_none());
}

// ---------------------------------------------------------------------------------------------
// Over HTTP, with bodies built from k8s-pb's prost types as client-go would send them.

fn go_style_envelope(kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some("v1".into()),
            kind: Some(kind.into()),
        }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    }
    .encode(&mut out)
    .unwrap();
    out
}

fn meta(name: &str) -> Option<pbmeta::ObjectMeta> {
    // Go writes every plain string field, empty ones included.
    Some(pbmeta::ObjectMeta {
        name: Some(name.into()),
        generate_name: Some(String::new()),
        namespace: Some(String::new()),
        self_link: Some(String::new()),
        uid: Some(String::new()),
        resource_version: Some(String::new()),
        generation: Some(0),
        creation_timestamp: Some(pbmeta::Time::default()),
        ..Default::default()
    })
}

fn secret_body(name: &str, key: &str, value: &[u8]) -> Vec<u8> {
    let s = pbcore::Secret {
        metadata: meta(name),
        data: [(key.to_string(), value.to_vec())].into(),
        r#type: Some(String::new()),
        ..Default::default()
    };
    go_style_envelope("Secret", s.encode_to_vec())
}

struct Raw {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

async fn send(
    sim: &KubeSim,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Raw {
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        sim.addr(),
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf).await;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("response head");
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    Raw {
        status,
        content_type,
        body: buf[split + 4..].to_vec(),
    }
}

const SECRETS: &str = "/api/v1/namespaces/default/secrets";

#[tokio::test]
async fn a_secret_posted_in_protobuf_is_stored_and_read_back_in_json_and_protobuf() {
    let sim = KubeSim::start().await.unwrap();
    let created = send(
        &sim,
        "POST",
        &format!("{SECRETS}?fieldManager=kubectl-create&fieldValidation=Strict"),
        &[
            ("Content-Type", PB),
            ("Accept", &format!("{PB},application/json")),
        ],
        &secret_body("pw", "alice", b"S3cret\x00\xff"),
    )
    .await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.content_type, PB);
    let (tm, raw) = unwrap_envelope(&created.body);
    assert_eq!(tm.kind.as_deref(), Some("Secret"));
    let answered = pbcore::Secret::decode(raw.as_slice()).unwrap();
    let m = answered.metadata.unwrap();
    assert!(
        m.uid.is_some_and(|u| !u.is_empty()),
        "the server's metadata"
    );
    assert!(
        m.creation_timestamp
            .and_then(|t| t.seconds)
            .is_some_and(|s| s > 0)
    );
    assert_eq!(answered.r#type.as_deref(), Some("Opaque"), "defaulted");

    let json = send(
        &sim,
        "GET",
        &format!("{SECRETS}/pw"),
        &[("Accept", "application/json")],
        b"",
    )
    .await;
    assert_eq!(json.content_type, "application/json");
    let v = json.json();
    assert_eq!(v["data"]["alice"], protobuf::base64(b"S3cret\x00\xff"));
    assert_eq!(
        v["metadata"]["managedFields"][0]["manager"],
        "kubectl-create"
    );
    assert!(
        v["metadata"].get("generateName").is_none(),
        "empty strings are absent: {v}"
    );

    let list = send(
        &sim,
        "GET",
        SECRETS,
        &[("Accept", &format!("{PB},application/json"))],
        b"",
    )
    .await;
    assert_eq!(list.content_type, PB);
    let (tm, raw) = unwrap_envelope(&list.body);
    assert_eq!(tm.kind.as_deref(), Some("SecretList"));
    let items = pbcore::SecretList::decode(raw.as_slice()).unwrap().items;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].data["alice"], b"S3cret\x00\xff");
}

#[tokio::test]
async fn errors_come_back_in_protobuf_when_the_client_prefers_it() {
    let sim = KubeSim::start().await.unwrap();
    let ns = pbcore::Namespace {
        metadata: meta("default"),
        ..Default::default()
    };
    let r = send(
        &sim,
        "POST",
        "/api/v1/namespaces",
        &[
            ("Content-Type", PB),
            ("Accept", &format!("{PB},application/json")),
        ],
        &go_style_envelope("Namespace", ns.encode_to_vec()),
    )
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.content_type, PB);
    let (tm, raw) = unwrap_envelope(&r.body);
    assert_eq!(tm.kind.as_deref(), Some("Status"));
    let status = pbmeta::Status::decode(raw.as_slice()).unwrap();
    assert_eq!(status.reason.as_deref(), Some("AlreadyExists"));
    assert_eq!(status.code, Some(409));
    assert_eq!(status.details.unwrap().name.as_deref(), Some("default"));
}

/// The committed negative control: bodies the decoder does not understand are refused with the
/// apiserver's 4xx and store nothing. Each one is checked to be refused, and a well-formed body
/// through the same request to be accepted, so the refusals are the decoder's doing.
#[tokio::test]
async fn protobuf_bodies_the_decoder_does_not_understand_are_refused() {
    let sim = KubeSim::start().await.unwrap();
    let good = secret_body("good", "k", b"v");
    let mut truncated = good.clone();
    truncated.truncate(good.len() - 3);
    let mut inner_garbage = MAGIC.to_vec();
    Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some("v1".into()),
            kind: Some("Secret".into()),
        }),
        raw: Some(vec![0x0a, 0xff, 0xff, 0xff]),
        ..Default::default()
    }
    .encode(&mut inner_garbage)
    .unwrap();
    let unknown_kind = go_style_envelope("Sekret", pbcore::Secret::default().encode_to_vec());
    let mut encoded = MAGIC.to_vec();
    Unknown {
        type_meta: Some(TypeMeta {
            api_version: Some("v1".into()),
            kind: Some("Secret".into()),
        }),
        raw: Some(pbcore::Secret::default().encode_to_vec()),
        content_encoding: Some("gzip".into()),
        ..Default::default()
    }
    .encode(&mut encoded)
    .unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "JSON sent as protobuf",
            br#"{"metadata":{"name":"x"}}"#.to_vec(),
            "provided data does not appear to be a protobuf message, expected prefix [107, 56, 115, 0]",
        ),
        ("a truncated envelope", truncated, "proto: runtime.Unknown"),
        (
            "a Secret message that is not one",
            inner_garbage,
            "Secret in version \"v1\" cannot be handled as a Secret: proto:",
        ),
        (
            "a kind no scheme has",
            unknown_kind,
            "no kind \"Sekret\" is registered for version \"v1\"",
        ),
        (
            "a content encoding",
            encoded,
            "unsupported content encoding \"gzip\"",
        ),
    ];
    for (what, body, message) in cases {
        assert!(protobuf::decode_object(&body).is_err(), "{what}");
        let r = send(
            &sim,
            "POST",
            SECRETS,
            &[("Content-Type", PB), ("Accept", "application/json")],
            &body,
        )
        .await;
        assert_eq!(
            r.status,
            400,
            "{what}: {}",
            String::from_utf8_lossy(&r.body)
        );
        let v = r.json();
        assert_eq!(
            (v["kind"].as_str(), v["reason"].as_str()),
            (Some("Status"), Some("BadRequest")),
            "{what}"
        );
        assert!(
            v["message"].as_str().unwrap().contains(message),
            "{what}: {v}"
        );
    }
    assert_eq!(
        sim.list_objects("v1", "secrets", Some("default")).len(),
        0,
        "nothing stored"
    );
    let r = send(
        &sim,
        "POST",
        SECRETS,
        &[("Content-Type", PB), ("Accept", "application/json")],
        &good,
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        protobuf::decode_object(&good).unwrap()["metadata"]["name"],
        "good"
    );
    assert!(matches!(
        protobuf::decode_object(b"k8s"),
        Err(DecodeError::NotProtobuf)
    ));
}

#[tokio::test]
async fn kinds_spoken_only_in_json_refuse_protobuf_with_415_and_406() {
    let sim = KubeSim::start().await.unwrap();
    let body = go_style_envelope("Lease", vec![]);
    let r = send(
        &sim,
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        &[
            ("Content-Type", PB),
            ("Accept", &format!("{PB},application/json")),
        ],
        &body,
    )
    .await;
    assert_eq!(r.status, 415);
    assert_eq!(
        r.content_type, "application/json",
        "no protobuf for this kind, errors neither"
    );
    let v = r.json();
    assert_eq!(v["reason"], "UnsupportedMediaType");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("accepted media types include: application/json, application/yaml"),
        "{v}"
    );
    // Only protobuf acceptable, for a kind not spoken in it: 406.
    let r = send(
        &sim,
        "GET",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        &[("Accept", PB)],
        b"",
    )
    .await;
    assert_eq!(r.status, 406, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["reason"], "NotAcceptable");
    // JSON still works for every kind, and protobuf-first clients get JSON for these.
    let r = send(
        &sim,
        "GET",
        "/apis/coordination.k8s.io/v1/namespaces/default/leases",
        &[("Accept", &format!("{PB},application/json"))],
        b"",
    )
    .await;
    assert_eq!(
        (r.status, r.content_type.as_str()),
        (200, "application/json")
    );
}
