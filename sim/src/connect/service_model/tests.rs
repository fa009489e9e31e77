use axum::http::HeaderMap;
use serde_json::{Map, Value, json};

use super::load::{self, Kind, Location};
use super::pattern::Pattern;
use super::*;
use crate::connect::errors::ApiError;
use crate::connect::wire::Query;

const INSTANCE: &str = "11111111-2222-3333-4444-555555555555";

fn run(op: Operation, labels: &[&str], query: &str, body: Value) -> ApiResult<()> {
    let labels: Vec<String> = labels.iter().map(|l| l.to_string()).collect();
    let query = Query::parse(Some(query));
    let headers = HeaderMap::new();
    let body: Map<String, Value> = body.as_object().cloned().unwrap_or_default();
    validate(
        op,
        &Request {
            labels: &labels,
            query: &query,
            headers: &headers,
            body: &body,
        },
    )
}

fn create_user(body: Value) -> ApiResult<()> {
    let mut base = json!({
        "Username": "alice",
        "SecurityProfileIds": ["sp"],
        "RoutingProfileId": "rp",
    });
    for (k, v) in body.as_object().unwrap() {
        base[k] = v.clone();
    }
    run(Operation::CreateUser, &[INSTANCE], "", base)
}

fn refused(r: ApiResult<()>) -> ApiError {
    r.expect_err("the model refuses this request")
}

#[test]
fn the_model_loads_and_its_http_bindings_are_the_routes() {
    // Loading checks that each operation's method and request URI route to it.
    let model = load::load().unwrap();
    assert_eq!(model.operations.len(), Operation::ALL.len());
}

#[test]
fn every_pattern_of_the_served_input_shapes_compiles() {
    // Loading compiles them all; list them so a new one shows up here.
    let model = load::load().unwrap();
    let mut names: Vec<&str> = model
        .shapes
        .iter()
        .filter(|s| {
            matches!(
                s.kind,
                Kind::String {
                    pattern: Some(_),
                    ..
                }
            )
        })
        .map(|s| s.name.as_str())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["Password", "PhoneNumber", "SensitivePhoneNumber", "TagKey"]
    );
}

#[test]
fn every_pattern_of_the_whole_model_compiles() {
    // Not needed by the served operations, but proves the normalisation is general.
    let raw: Value = {
        use std::io::Read;
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(
            &include_bytes!("../../../aws-models/connect-2017-08-08.service-2.json.gz")[..],
        )
        .read_to_end(&mut text)
        .unwrap();
        serde_json::from_slice(&text).unwrap()
    };
    let mut failures = Vec::new();
    let mut n = 0;
    for (name, shape) in raw["shapes"].as_object().unwrap() {
        if let Some(p) = shape.get("pattern").and_then(Value::as_str) {
            n += 1;
            if let Err(e) = Pattern::compile(p) {
                failures.push(format!("{name}: {e}"));
            }
        }
    }
    assert!(n > 50, "{n} patterns");
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn uri_query_and_body_members_are_located() {
    let model = load::load().unwrap();
    let Kind::Structure { members, .. } =
        &model.shapes[model.operation(Operation::ListQuickConnects).input].kind
    else {
        panic!("a structure");
    };
    let loc = |name: &str| &members.iter().find(|m| m.name == name).unwrap().location;
    assert_eq!(loc("InstanceId"), &Location::Uri(0));
    assert_eq!(loc("MaxResults"), &Location::Query("maxResults".into()));
    assert_eq!(
        loc("QuickConnectTypes"),
        &Location::Query("QuickConnectTypes".into())
    );
}

#[test]
fn a_valid_request_passes() {
    create_user(json!({
        "Password": "S3cret-Passw0rd-xyz",
        "IdentityInfo": {"FirstName": "Alice", "Mobile": "+14155550100"},
        "PhoneConfig": {"PhoneType": "DESK_PHONE", "DeskPhoneNumber": "+14155550100", "AfterContactWorkTimeLimit": 30},
        "Tags": {"connect.userops.dev/owner": "uid"},
        "AfterContactWorkConfigs": [{"Channel": "CHAT", "AfterContactWorkConfig": {"AfterContactWorkTimeLimit": 5}}],
    }))
    .unwrap();
    run(
        Operation::ListQuickConnects,
        &[INSTANCE],
        "maxResults=1000&QuickConnectTypes=USER&QuickConnectTypes=QUEUE",
        json!({}),
    )
    .unwrap();
}

#[test]
fn required_members() {
    let e = refused(run(
        Operation::CreateUser,
        &[INSTANCE],
        "",
        json!({"Username": "alice", "RoutingProfileId": "rp"}),
    ));
    assert_eq!(e.error_type, "InvalidRequestException");
    assert_eq!(
        e.message,
        "1 validation error detected: Value null at 'SecurityProfileIds' failed to satisfy constraint: Member must not be null"
    );
    // Nested, and null counts as absent.
    let e = refused(create_user(
        json!({"AutoAcceptConfigs": [{"Channel": "VOICE", "AutoAccept": null}]}),
    ));
    assert!(
        e.message
            .contains("Value null at 'AutoAcceptConfigs[0].AutoAccept'"),
        "{e}"
    );
    // A required query list (UntagResource tagKeys).
    let e = refused(run(Operation::UntagResource, &["arn"], "", json!({})));
    assert!(e.message.contains("'tagKeys'"), "{e}");
}

#[test]
fn json_types_are_serialization_errors() {
    for (body, path) in [
        (json!({"Username": 5}), "Username"),
        (json!({"SecurityProfileIds": "sp"}), "SecurityProfileIds"),
        (json!({"SecurityProfileIds": [1]}), "SecurityProfileIds[0]"),
        (
            json!({"SecurityProfileIds": [null]}),
            "SecurityProfileIds[0]",
        ),
        (json!({"PhoneConfig": []}), "PhoneConfig"),
        (
            json!({"PhoneConfig": {"AutoAccept": "yes"}}),
            "PhoneConfig.AutoAccept",
        ),
        (
            json!({"PhoneConfig": {"AfterContactWorkTimeLimit": 1.5}}),
            "PhoneConfig.AfterContactWorkTimeLimit",
        ),
        // An `integer` is 32 bits.
        (
            json!({"PhoneConfig": {"AfterContactWorkTimeLimit": 2_147_483_648i64}}),
            "PhoneConfig.AfterContactWorkTimeLimit",
        ),
        (json!({"Tags": ["a"]}), "Tags"),
        (json!({"Tags": {"k": 1}}), "Tags.k"),
    ] {
        let e = refused(create_user(body.clone()));
        assert_eq!(e.error_type, "SerializationException", "{body}: {e}");
        assert!(e.message.contains(&format!("'{path}'")), "{body}: {e}");
    }
    let e = refused(run(
        Operation::ListUsers,
        &[INSTANCE],
        "maxResults=ten",
        json!({}),
    ));
    assert_eq!(e.error_type, "SerializationException");
    assert!(e.message.contains("'maxResults'"), "{e}");
    // A float member takes any JSON number.
    run(
        Operation::AssociateUserProficiencies,
        &[INSTANCE, "u"],
        "",
        json!({"UserProficiencies": [{"AttributeName": "a", "AttributeValue": "b", "Level": 3}]}),
    )
    .unwrap();
}

#[test]
fn lengths_count_characters() {
    create_user(json!({"Username": "é".repeat(100)})).unwrap();
    let e = refused(create_user(json!({"Username": "é".repeat(101)})));
    assert_eq!(e.error_type, "InvalidParameterException");
    assert_eq!(
        e.message,
        "1 validation error detected: Value at 'Username' failed to satisfy constraint: Member must have length less than or equal to 100"
    );
    let e = refused(create_user(json!({"Username": ""})));
    assert!(e.message.contains("greater than or equal to 1"), "{e}");
    // URI labels are members too.
    let e = refused(run(
        Operation::DescribeUser,
        &[&"i".repeat(101), "u"],
        "",
        json!({}),
    ));
    assert!(e.message.contains("'InstanceId'"), "{e}");
}

#[test]
fn list_and_map_sizes() {
    let e = refused(create_user(json!({"SecurityProfileIds": []})));
    assert!(
        e.message.contains("'SecurityProfileIds' failed to satisfy constraint: Member must have length greater than or equal to 1"),
        "{e}"
    );
    let eleven: Vec<String> = (0..11).map(|i| format!("sp{i}")).collect();
    assert!(
        refused(create_user(json!({"SecurityProfileIds": eleven})))
            .message
            .contains("less than or equal to 10")
    );
    let e = refused(create_user(json!({"Tags": {}})));
    assert!(e.message.contains("'Tags'"), "{e}");
    let many: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert!(
        refused(create_user(json!({"Tags": many})))
            .message
            .contains("less than or equal to 50")
    );
    // Query lists: at most 4 QuickConnectTypes.
    let e = refused(run(
        Operation::ListQuickConnects,
        &[INSTANCE],
        "QuickConnectTypes=USER&QuickConnectTypes=USER&QuickConnectTypes=USER&QuickConnectTypes=USER&QuickConnectTypes=USER",
        json!({}),
    ));
    assert!(e.message.contains("'QuickConnectTypes'"), "{e}");
}

#[test]
fn numeric_ranges() {
    let e = refused(run(
        Operation::ListUsers,
        &[INSTANCE],
        "maxResults=1001",
        json!({}),
    ));
    assert!(
        e.message.contains("'MaxResults' failed to satisfy constraint: Member must have value less than or equal to 1000"),
        "{e}"
    );
    let e = refused(run(
        Operation::ListUsers,
        &[INSTANCE],
        "maxResults=0",
        json!({}),
    ));
    assert!(e.message.contains("greater than or equal to 1"), "{e}");
    let e = refused(create_user(
        json!({"PhoneConfig": {"AfterContactWorkTimeLimit": -1}}),
    ));
    assert!(
        e.message
            .contains("'PhoneConfig.AfterContactWorkTimeLimit'"),
        "{e}"
    );
    // Float bounds keep the model's spelling.
    let e = refused(run(
        Operation::UpdateUserProficiencies,
        &[INSTANCE, "u"],
        "",
        json!({"UserProficiencies": [{"AttributeName": "a", "AttributeValue": "b", "Level": 5.5}]}),
    ));
    assert!(
        e.message.contains("'UserProficiencies[0].Level' failed to satisfy constraint: Member must have value less than or equal to 5.0"),
        "{e}"
    );
}

#[test]
fn enums() {
    let e = refused(create_user(
        json!({"PhoneConfig": {"PhoneType": "CELL_PHONE"}}),
    ));
    assert!(
        e.message.contains("'PhoneConfig.PhoneType' failed to satisfy constraint: Member must satisfy enum value set: [SOFT_PHONE, DESK_PHONE]"),
        "{e}"
    );
    let e = refused(run(
        Operation::ListContactFlows,
        &[INSTANCE],
        "contactFlowTypes=CONTACT_FLOW&contactFlowTypes=NOPE",
        json!({}),
    ));
    assert!(e.message.contains("'ContactFlowTypes[1]'"), "{e}");
}

#[test]
fn patterns_and_sensitive_values() {
    let e = refused(create_user(json!({"Password": "weakpassword"})));
    assert!(
        e.message.contains("'Password'") && !e.message.contains("weakpassword"),
        "{e}"
    );
    assert!(e.message.contains("(?=.*[a-z])"), "{e}");
    // Doubled escapes in the model (PhoneNumber): a plain E.164 number is valid.
    create_user(json!({"IdentityInfo": {"Mobile": "+14155550100"}})).unwrap();
    let e = refused(create_user(
        json!({"IdentityInfo": {"Mobile": "4155550100"}}),
    ));
    assert!(e.message.contains("'IdentityInfo.Mobile'"), "{e}");
    assert!(e.message.contains(r"\+[1-9]\d{1,14}$"), "{e}");
    // Unanchored in the model, anchored here.
    let e = refused(create_user(
        json!({"PhoneConfig": {"DeskPhoneNumber": "tel:+14155550100"}}),
    ));
    assert!(
        e.message.contains("'PhoneConfig.DeskPhoneNumber'") && !e.message.contains("tel:"),
        "{e}"
    );
    // Map keys: a look-ahead pattern.
    let e = refused(create_user(json!({"Tags": {"aws:owner": "x"}})));
    assert!(e.message.contains("'Tags' failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular expression pattern"), "{e}");
}

#[test]
fn every_violation_is_listed() {
    let e = refused(create_user(json!({
        "Username": "",
        "Password": "x",
        "SecurityProfileIds": [],
    })));
    assert!(
        e.message.starts_with("3 validation errors detected: "),
        "{e}"
    );
    assert_eq!(
        e.message.matches("failed to satisfy constraint").count(),
        3,
        "{e}"
    );
    let many: Vec<String> = (0..12).map(|_| "x".repeat(300)).collect();
    let e = refused(run(
        Operation::UntagResource,
        &["arn"],
        &many
            .iter()
            .map(|k| format!("tagKeys={k}"))
            .collect::<Vec<_>>()
            .join("&"),
        json!({}),
    ));
    assert!(e.message.starts_with("12 validation errors"), "{e}");
    assert!(e.message.ends_with("; and 2 more"), "{e}");
}

#[test]
fn an_operation_without_invalid_parameter_answers_invalid_request() {
    let e = refused(run(
        Operation::DescribeInstance,
        &[&"i".repeat(101)],
        "",
        json!({}),
    ));
    assert_eq!(e.error_type, "InvalidRequestException");
    assert_eq!(e.status, 400);
}

#[test]
fn unknown_members_and_parameters_are_ignored() {
    create_user(json!({"FutureMember": {"anything": [1, 2]}, "PhoneConfig": {"Unknown": true}}))
        .unwrap();
    run(
        Operation::ListUsers,
        &[INSTANCE],
        "colour=blue&maxResults=5",
        json!({}),
    )
    .unwrap();
}

#[test]
fn recursive_search_criteria_are_checked_at_depth() {
    let e = refused(run(
        Operation::SearchUsers,
        &[],
        "",
        json!({"InstanceId": INSTANCE, "SearchCriteria": {"OrConditions": [{"AndConditions": [
            {"StringCondition": {"FieldName": "Username", "Value": "a", "ComparisonType": "LIKE"}}
        ]}]}}),
    ));
    assert!(
        e.message.contains(
            "'SearchCriteria.OrConditions[0].AndConditions[0].StringCondition.ComparisonType'"
        ),
        "{e}"
    );
}
