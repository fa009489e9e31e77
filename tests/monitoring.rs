//! What the on-call engineer runs beside the operator, executed for real: the chart's
//! PrometheusRule as rendered (tests/helm_render), its rules checked and unit-tested with
//! Prometheus' own `promtool` (tests/prometheus_rules/alerts_test.yaml) and the object checked
//! against the Prometheus Operator's CRD schema; the Grafana dashboard ConfigMap; the real
//! operator binary's /metrics against both emulators in both text formats, `promtool check
//! metrics` clean on the 0.0.4 one, and every metric the alerts and the dashboard name present
//! in it. Negative controls: a broken rule expression, a broken annotation template, a changed
//! threshold, a rule and a dashboard panel naming a missing metric, and a PrometheusRule the
//! CRD schema refuses each make their check fail.

mod common;
mod helm_support;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::operator::{Cluster, Operator, http_get_accepting};
use common::*;
use helm_support::{CHART_DIR, ROOT, render, render_chart};
use serde_json::{Value, json};
use sim::aws::TEST_ACCOUNT_ID;

const RELEASE: &str = "connect-user-operator";
const CHART_NS: &str = "connect-user-operator";
const VALUES: &str = "alerts-and-dashboard.yaml";
const DASHBOARD_FILE: &str = "dashboards/connect-user-operator.json";
const PROMTOOL_HINT: &str = "promtool is missing: run scripts/test-deps.sh (installs Debian's prometheus package, which ships promtool)";

/// What Prometheus 2.x sends when scraping (OpenMetrics preferred), and what it sends with
/// `scrape_protocols: [PrometheusText0.0.4]`.
const PROMETHEUS_ACCEPT: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const TEXT_ONLY_ACCEPT: &str = "text/plain;version=0.0.4;q=1,*/*;q=0.1";

// ---- PromQL: the metric names an expression reads ----

/// PromQL words that are not metric names: binary and set operators, aggregation operators
/// (which may be followed by `by (...)` instead of a parenthesis), modifiers.
const PROMQL_WORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "sum",
    "min",
    "max",
    "avg",
    "count",
    "stddev",
    "stdvar",
    "topk",
    "bottomk",
    "quantile",
    "count_values",
    "group",
    "limitk",
    "limit_ratio",
    "inf",
    "nan",
    "atan2",
];

/// Words followed by a label list in parentheses: `by (job)`, `on (instance)`.
const LABEL_LIST_WORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

fn skip_string(chars: &[char], mut i: usize) -> usize {
    let quote = chars[i];
    i += 1;
    while i < chars.len() && chars[i] != quote {
        if chars[i] == '\\' && quote != '`' {
            i += 1;
        }
        i += 1;
    }
    i + 1
}

/// Past the bracket group opening at `i` (strings inside may hold the closing bracket).
fn skip_group(chars: &[char], mut i: usize, open: char, close: char) -> usize {
    let mut depth = 0;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' => {
                i = skip_string(chars, i);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// The metric names a PromQL expression selects: identifiers outside strings, label matchers
/// and range brackets that are neither functions (followed by `(`), nor operators, nor the
/// label lists of `by`/`without`/`on`/`ignoring`/`group_left`/`group_right`, nor Grafana
/// variables (`$job`, `${job}`, `$__rate_interval`).
fn promql_metric_names(expr: &str) -> BTreeSet<String> {
    let chars: Vec<char> = expr.chars().collect();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => i = skip_string(&chars, i),
            '{' => i = skip_group(&chars, i, '{', '}'),
            '[' => i = skip_group(&chars, i, '[', ']'),
            '$' => {
                i += 1;
                if chars.get(i) == Some(&'{') {
                    i = skip_group(&chars, i, '{', '}');
                } else {
                    while i < chars.len() && ident(chars[i]) {
                        i += 1;
                    }
                }
            }
            c if c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                // A number or a duration (0.05, 1e3, 5m).
                while i < chars.len() && (ident(chars[i]) || chars[i] == '.') {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len() && ident(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut next = i;
                while next < chars.len() && chars[next].is_whitespace() {
                    next += 1;
                }
                let before_paren = chars.get(next) == Some(&'(');
                if LABEL_LIST_WORDS.contains(&word.as_str()) {
                    if before_paren {
                        i = skip_group(&chars, next, '(', ')');
                    }
                } else if !before_paren && !PROMQL_WORDS.contains(&word.as_str()) {
                    names.insert(word);
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// Every PromQL expression of a Grafana dashboard, with where it is: each panel target's
/// `expr` (rows' nested panels too) and each query variable's `label_values(<expr>, label)`.
fn dashboard_exprs(dashboard: &Value) -> Vec<(String, String)> {
    fn panels(list: &Value, out: &mut Vec<(String, String)>) {
        for p in list.as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap_or_default();
            for t in p["targets"].as_array().into_iter().flatten() {
                if let Some(e) = t["expr"].as_str() {
                    out.push((format!("panel {title:?}"), e.to_string()));
                }
            }
            panels(&p["panels"], out);
        }
    }
    let mut out = Vec::new();
    panels(&dashboard["panels"], &mut out);
    for v in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let query = v["query"]["query"].as_str().or(v["query"].as_str());
        if v["type"] == "query"
            && let Some(q) = query
        {
            let inner = q
                .strip_prefix("label_values(")
                .and_then(|r| r.rsplit_once(','))
                .map_or(q, |(e, _)| e);
            out.push((format!("variable {}", v["name"]), inner.to_string()));
        }
    }
    out
}

/// Every alert's expression in a PrometheusRule object.
fn rule_exprs(rule: &Value) -> Vec<(String, String)> {
    rule["spec"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap().iter())
        .map(|r| {
            (
                format!("alert {}", r["alert"].as_str().unwrap_or("(record)")),
                r["expr"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The sample names of a Prometheus text exposition.
fn exposed_names(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_string())
        .collect()
}

/// `(where, metric)` for each metric an expression names that the exposition lacks.
fn missing_metrics(
    exprs: &[(String, String)],
    exposed: &BTreeSet<String>,
) -> Vec<(String, String)> {
    exprs
        .iter()
        .flat_map(|(at, e)| {
            promql_metric_names(e)
                .into_iter()
                .filter(|n| !exposed.contains(n))
                .map(move |n| (at.clone(), n))
        })
        .collect()
}

#[test]
fn promql_metric_names_are_the_selected_series_only() {
    let names = |e: &str| promql_metric_names(e).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(
            r#"sum by (namespace, job, operation) (rate(a_total{job="x",outcome="throttled"}[10m])) / sum by (namespace, job, operation) (rate(a_total{job="x"}[10m])) > 0.05"#
        ),
        ["a_total"]
    );
    assert_eq!(
        names(
            r#"(max by (namespace, job) (leader{a="b}"}) < 1) or absent(leader{a="b"}) unless on (job) group_left (x) other:recorded offset 5m"#
        ),
        ["leader", "other:recorded"]
    );
    assert_eq!(
        names(
            r#"histogram_quantile(0.99, sum by (le) (rate(d_seconds_bucket{namespace=~"$namespace",job=~"${job}"}[$__rate_interval]))) * 1e3 + time()"#
        ),
        ["d_seconds_bucket"]
    );
    assert_eq!(names("sum without (pod)(x) and bool y"), ["x", "y"]);
    assert_eq!(
        names(r#"count(up{job='a'}) - count_values("v", z)"#),
        ["up", "z"]
    );
}

// ---- the rendered chart ----

fn rendered() -> helm_support::Rendered {
    render(&[VALUES], RELEASE, CHART_NS)
}

/// The PrometheusRule with the chart's defaults, which alerts_test.yaml is written for.
fn default_rule() -> Value {
    let values = Path::new(ROOT).join("tests/prometheus_rules/values.yaml");
    render_chart(Path::new(CHART_DIR), &[values], RELEASE, CHART_NS)
        .unwrap()
        .one("PrometheusRule")
}

/// spec.groups of the rendered PrometheusRule as a Prometheus rule file.
fn rule_file(rule: &Value) -> String {
    serde_yaml::to_string(&json!({"groups": rule["spec"]["groups"]})).unwrap()
}

fn promtool() -> &'static str {
    let ok = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(ok, "{PROMTOOL_HINT}");
    "promtool"
}

/// `promtool check rules` then `promtool test rules` on `rules` with the committed unit tests:
/// (passed, output).
fn promtool_rules(rules: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yaml"), rules).unwrap();
    std::fs::copy(
        Path::new(ROOT).join("tests/prometheus_rules/alerts_test.yaml"),
        dir.path().join("alerts_test.yaml"),
    )
    .unwrap();
    let mut text = String::new();
    for args in [
        ["check", "rules", "rules.yaml"],
        ["test", "rules", "alerts_test.yaml"],
    ] {
        let out = Command::new(promtool())
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        text.push_str(&String::from_utf8_lossy(&out.stdout));
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        if !out.status.success() {
            return (false, text);
        }
    }
    (true, text)
}

const ALERTS: [&str; 7] = [
    "ConnectUserDeletionStuck",
    "ConnectThrottlingSustained",
    "ConnectUserReconcileErrors",
    "ConnectUserOperatorNoLeader",
    "ConnectUnreachable",
    "ConnectInstanceCredentialsFailing",
    "ConnectDanglingQuickConnects",
];

#[test]
fn the_rendered_alerts_pass_promtool_check_and_their_unit_tests() {
    let r = rendered();
    let rule = r.one("PrometheusRule");
    let alerts: Vec<&str> = rule["spec"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["alert"].as_str().unwrap())
        .collect();
    assert_eq!(alerts, ALERTS);
    let runbook = std::fs::read_to_string(Path::new(ROOT).join("docs/runbook.md")).unwrap();
    for a in rule["spec"]["groups"][0]["rules"].as_array().unwrap() {
        let name = a["alert"].as_str().unwrap();
        // Each alert: a severity, the values' extra labels, and a runbook section of its own.
        assert!(
            ["critical", "warning", "info"].contains(&a["labels"]["severity"].as_str().unwrap()),
            "{name}"
        );
        assert_eq!(a["labels"]["team"], "contact-center", "{name}");
        let url = a["annotations"]["runbook_url"].as_str().unwrap();
        let anchor = url.rsplit_once("/docs/runbook.md#").unwrap().1;
        assert_eq!(anchor, name.to_lowercase(), "{name}");
        assert!(
            runbook.contains(&format!("\n## {name}\n")),
            "docs/runbook.md has no section for {name}"
        );
        // Every metric an alert reads is the operator's.
        let names = promql_metric_names(a["expr"].as_str().unwrap());
        assert!(
            !names.is_empty()
                && names
                    .iter()
                    .all(|n| n.starts_with("connect_user_operator_")),
            "{name}: {names:?}"
        );
    }
    // The unit tests run against the defaults' rules (the extra labels above are not theirs).
    let (ok, out) = promtool_rules(&rule_file(&default_rule()));
    assert!(ok, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

/// The committed negative controls of the alerts: each breakage fails promtool.
#[test]
fn a_broken_alert_rule_fails_promtool() {
    let rule = default_rule();
    let edit = |alert: &str, f: &dyn Fn(&mut Value)| -> String {
        let mut r = rule.clone();
        let a = r["spec"]["groups"][0]["rules"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|a| a["alert"] == alert)
            .unwrap();
        f(a);
        rule_file(&r)
    };
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "an expression that does not parse",
            edit("ConnectUnreachable", &|a| {
                a["expr"] = json!(
                    "sum by (namespace, job) (rate(connect_user_operator_connect_calls_total[5m]) > 0.5"
                )
            }),
            "parse error",
        ),
        (
            "an annotation template that does not parse",
            edit("ConnectUserDeletionStuck", &|a| {
                a["annotations"]["description"] = json!("{{ $value | nosuchfunc }}")
            }),
            "nosuchfunc",
        ),
        (
            "an annotation template naming a label the alert lacks",
            edit("ConnectThrottlingSustained", &|a| {
                a["annotations"]["summary"] =
                    json!("Amazon Connect throttles {{ $labels.operaton }} calls.")
            }),
            "FAILED",
        ),
        (
            "a threshold the unit test does not expect",
            edit("ConnectUserDeletionStuck", &|a| {
                let e = a["expr"].as_str().unwrap().replace("> 600", "> 6000");
                a["expr"] = json!(e)
            }),
            "FAILED",
        ),
        (
            "a `for` the unit test does not expect",
            edit("ConnectUserOperatorNoLeader", &|a| a["for"] = json!("1m")),
            "FAILED",
        ),
        (
            "a metric name misspelt",
            edit("ConnectDanglingQuickConnects", &|a| {
                let e = a["expr"]
                    .as_str()
                    .unwrap()
                    .replace("dangling_quick_connects", "dangling_quickconnects");
                a["expr"] = json!(e)
            }),
            "FAILED",
        ),
    ];
    for (what, rules, message) in cases {
        let (ok, out) = promtool_rules(&rules);
        assert!(!ok, "{what}: promtool passed:\n{out}");
        assert!(out.contains(message), "{what}:\n{out}");
    }
}

/// The PrometheusRule against the Prometheus Operator's CRD schema (the validators
/// @kubernetes-models/prometheus-operator compiles from the upstream CRD; tests/prometheus_crds),
/// with broken ones as the control.
#[test]
fn prometheus_rule_matches_the_prometheus_operator_crd_schema() {
    let check_dir = Path::new(ROOT).join("tests/prometheus_crds");
    assert!(
        check_dir
            .join("node_modules/@kubernetes-models/prometheus-operator")
            .is_dir(),
        "the PrometheusRule check needs its npm package: run scripts/test-deps.sh"
    );
    let run = |objects: &Value| -> (bool, String) {
        let mut child = Command::new("node")
            .arg("check.mjs")
            .current_dir(&check_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node is installed: run scripts/test-deps.sh");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(objects.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let rule = rendered().one("PrometheusRule");
    let (ok, out) = run(&json!([rule]));
    assert!(ok, "{out}");
    assert!(
        out.contains("\"kind\":\"PrometheusRule\"") && out.contains("\"valid\":true"),
        "{out}"
    );
    let mut bad_for = rule.clone();
    bad_for["spec"]["groups"][0]["rules"][0]["for"] = json!("5 minutes");
    let mut no_groups_name = rule.clone();
    no_groups_name["spec"]["groups"][0]
        .as_object_mut()
        .unwrap()
        .remove("name");
    for (what, broken, message) in [
        (
            "a `for` that is no duration",
            bad_for,
            "for must match pattern",
        ),
        ("a group without a name", no_groups_name, "name"),
    ] {
        let (ok, out) = run(&json!([broken]));
        assert!(!ok, "{what}: {out}");
        assert!(out.contains(message), "{what}: {out}");
    }
}

#[test]
fn the_dashboard_configmap_carries_the_charts_dashboard_for_grafanas_sidecar() {
    let r = rendered();
    let cm = r.one("ConfigMap");
    assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
    assert_eq!(
        cm["metadata"]["annotations"]["grafana_folder"],
        "Contact center"
    );
    assert_eq!(cm["metadata"]["namespace"], CHART_NS);
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(CHART_DIR).join(DASHBOARD_FILE)).unwrap(),
    )
    .unwrap();
    let data: Value =
        serde_json::from_str(cm["data"]["connect-user-operator.json"].as_str().unwrap())
            .expect("the ConfigMap holds the dashboard's JSON");
    assert_eq!(data, file);
    // Off by default, and another namespace when asked.
    assert!(
        render(&[], RELEASE, CHART_NS)
            .of_kind("ConfigMap")
            .is_empty()
    );
    assert!(
        render(&[], RELEASE, CHART_NS)
            .of_kind("PrometheusRule")
            .is_empty()
    );

    // What the issue asks the dashboard to show, each panel with a query on the operator's
    // metrics, panel ids unique, every panel inside Grafana's 24 columns.
    let mut titles = BTreeSet::new();
    let mut ids = BTreeSet::new();
    for p in file["panels"].as_array().unwrap() {
        assert!(ids.insert(p["id"].as_u64().unwrap()), "{p}");
        let g = &p["gridPos"];
        assert!(
            g["x"].as_u64().unwrap() + g["w"].as_u64().unwrap() <= 24,
            "{p}"
        );
        titles.insert(p["title"].as_str().unwrap().to_string());
        if p["type"] != "row" {
            let targets = p["targets"].as_array().unwrap();
            assert!(!targets.is_empty(), "{}", p["title"]);
            for t in targets {
                let names = promql_metric_names(t["expr"].as_str().unwrap());
                assert!(!names.is_empty(), "{}: {}", p["title"], t["expr"]);
                assert_eq!(t["datasource"]["uid"], "${datasource}");
            }
        }
    }
    for want in [
        "Connect calls per operation",
        "Connect throttles per operation",
        "Allowed rate per account, region and operation",
        "Reconcile outcomes",
        "Deletion latency",
        "Users by condition",
        "Instances by status",
    ] {
        assert!(titles.contains(want), "no panel {want:?} in {titles:?}");
    }
}

/// The control for the dashboard template: a chart without the dashboard's file fails the
/// render with the chart's own message instead of shipping an empty ConfigMap.
#[test]
fn a_chart_without_its_dashboard_file_fails_the_render() {
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("chart");
    let status = Command::new("cp")
        .arg("-r")
        .arg(CHART_DIR)
        .arg(&chart)
        .status()
        .unwrap();
    assert!(status.success());
    let values = Path::new(helm_support::VALUES_DIR).join(VALUES);
    render_chart(&chart, std::slice::from_ref(&values), RELEASE, CHART_NS).unwrap();
    std::fs::remove_file(chart.join(DASHBOARD_FILE)).unwrap();
    let err = render_chart(&chart, &[values], RELEASE, CHART_NS).unwrap_err();
    assert!(
        err.contains("dashboards/connect-user-operator.json is missing from the chart"),
        "{err}"
    );
}

// ---- the real operator's /metrics ----

fn instance_object(name: &str, extra: &str) -> String {
    format!(
        "apiVersion: connect.userops.dev/v1alpha1\nkind: ConnectInstance\nmetadata: {{name: {name}, namespace: {NS}}}\nspec:\n  instanceId: arn:aws:connect:{REGION}:{TEST_ACCOUNT_ID}:instance/{INSTANCE}\n  region: {REGION}\n{extra}"
    )
}

async fn create_instance_object(cluster: &Cluster, yaml: &str) {
    use connect_user_operator::instance::crd::ConnectInstance;
    let obj: ConnectInstance = serde_yaml::from_str(yaml).unwrap();
    kube::Api::<ConnectInstance>::namespaced(cluster.client.clone(), NS)
        .create(&Default::default(), &obj)
        .await
        .unwrap();
}

async fn wait_until<F: AsyncFn() -> bool>(op: &Operator, what: &str, limit: Duration, check: F) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; the operator's log:\n{}",
            op.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn promtool_check_metrics(exposition: &str) -> (bool, String) {
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(exposition.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The real binary against both emulators, through a user's life (create, delete with a quick
/// connect), an instance object whose sweep finds a dangling quick connect and one whose role
/// cannot be assumed: /metrics in both formats, `promtool check metrics` on the 0.0.4 one, and
/// every metric the alerts and the dashboard read present in it. The controls: a rule and a
/// dashboard naming a metric the operator does not export fail the same check.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_metric_of_the_alerts_and_dashboard_is_in_the_real_metrics_output() {
    let cluster = Cluster::start(&[NS]).await;
    // No STS listens here: the role of instance object `broken` cannot be assumed.
    // A client-side limit, so that the limiter's allowed rate is exported.
    let op = cluster.spawn(
        "op",
        &["--connect-rate", "100", "--connect-burst", "20"],
        &[("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:1")],
    );
    let addr = op.http_addr().await;
    // A quick connect to a user deleted elsewhere an hour ago (a newer one is left alone until
    // the settle window has passed since its last change).
    let mut dangling_qc =
        common::operator::user_quick_connect("To nobody", "00000000-dead-beef-0000-000000000000");
    dangling_qc.last_modified = chrono::Utc::now() - chrono::Duration::hours(1);
    cluster.connect.insert_quick_connect(INSTANCE, dangling_qc);
    create_instance_object(
        &cluster,
        &instance_object(
            "a",
            "  danglingQuickConnects: Report\n  danglingCheckInterval: 1h\n",
        ),
    )
    .await;
    create_instance_object(
        &cluster,
        &instance_object(
            "broken",
            &format!("  roleArn: arn:aws:iam::{TEST_ACCOUNT_ID}:role/nobody-can-assume-this\n"),
        ),
    )
    .await;
    // The sweep's first tick and its second observation, a settle window later, before any
    // user exists whose quick connect it could also catch.
    let dangling = format!(
        "connect_user_operator_dangling_quick_connects{{instance_id=\"{INSTANCE}\",region=\"{REGION}\"}} 1\n"
    );
    wait_until(
        &op,
        "the sweep's dangling quick connect",
        Duration::from_secs(60),
        async || {
            http_get_accepting(addr, "/metrics", Some(TEXT_ONLY_ACCEPT))
                .await
                .2
                .contains(&dangling)
        },
    )
    .await;
    // Delete mode, with a new interval so that the sweep starts over at once: it deletes the
    // dangling quick connect (and counts it) and reports none left.
    kube::Api::<connect_user_operator::instance::crd::ConnectInstance>::namespaced(
        cluster.client.clone(),
        NS,
    )
    .patch(
        "a",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(
            &json!({"spec": {"danglingQuickConnects": "Delete", "danglingCheckInterval": "2h"}}),
        ),
    )
    .await
    .unwrap();
    let deleted = format!(
        "connect_user_operator_dangling_quick_connects_deleted_total{{instance_id=\"{INSTANCE}\",region=\"{REGION}\"}} 1\n"
    );
    let none_left = dangling.replace("} 1\n", "} 0\n");
    wait_until(
        &op,
        "the sweep's deletion of the dangling quick connect",
        Duration::from_secs(60),
        async || {
            let text = http_get_accepting(addr, "/metrics", Some(TEXT_ONLY_ACCEPT))
                .await
                .2;
            text.contains(&deleted) && text.contains(&none_left)
        },
    )
    .await;
    let cu: connect_user_operator::crd::ConnectUser =
        serde_yaml::from_str(&manifest("alice", "").replace(
            &format!("  instanceId: {INSTANCE}\n"),
            "  instanceRef: {kind: ConnectInstance, name: a}\n",
        ))
        .unwrap();
    cluster
        .api(NS)
        .create(&Default::default(), &cu)
        .await
        .unwrap();
    let api = cluster.api(NS);
    wait_until(&op, "alice Ready", Duration::from_secs(60), async || {
        api.get_opt("alice").await.unwrap().is_some_and(|cu| {
            cu.status
                .as_ref()
                .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
                .is_some_and(|c| c.status == "True")
        })
    })
    .await;
    let id = cluster.connect.user_by_name(INSTANCE, "alice").unwrap().id;
    cluster.connect.insert_quick_connect(
        INSTANCE,
        common::operator::user_quick_connect("To alice", &id),
    );
    api.delete("alice", &Default::default()).await.unwrap();
    wait_until(&op, "alice gone", Duration::from_secs(60), async || {
        api.get_opt("alice").await.unwrap().is_none()
    })
    .await;

    let scrape = async |accept: &str| {
        let (status, content_type, body) = http_get_accepting(addr, "/metrics", Some(accept)).await;
        assert_eq!(status, 200);
        (content_type, body)
    };
    // What the alerts and the dashboard read, and what the operator must have shown by now.
    let r = rendered();
    let rule = r.one("PrometheusRule");
    let dashboard: Value = serde_json::from_str(
        r.one("ConfigMap")["data"]["connect-user-operator.json"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let mut exprs = rule_exprs(&rule);
    exprs.extend(dashboard_exprs(&dashboard));
    let used: BTreeSet<String> = exprs
        .iter()
        .flat_map(|(_, e)| promql_metric_names(e))
        .collect();
    assert!(used.len() >= 12, "{used:?}");
    // Polled: the sweep and the instance objects' reconciles run on their own.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let text = scrape(TEXT_ONLY_ACCEPT).await.1;
        let missing = missing_metrics(&exprs, &exposed_names(&text));
        let shown = [
            "connect_user_operator_deletion_duration_seconds_count 1\n",
            "connect_user_operator_quick_connects_deleted_total 1\n",
            "connect_user_operator_instance_objects_not_ready{kind=\"ConnectInstance\",reason=\"CredentialsUnavailable\"} 1\n",
            "connect_user_operator_instance_objects{kind=\"ConnectInstance\",ready=\"True\"} 1\n",
            "connect_user_operator_instance_objects{kind=\"ConnectInstance\",ready=\"False\"} 1\n",
            "connect_user_operator_leader 1\n",
        ];
        let unseen: Vec<&str> = shown.into_iter().filter(|s| !text.contains(s)).collect();
        if missing.is_empty() && unseen.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "missing metrics: {missing:?}; not shown: {unseen:?}\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "figure: {} metric names read by the alerts and the dashboard, all in /metrics",
        used.len()
    );

    // The 0.0.4 text: its content type, and promtool finds nothing to complain about.
    let (content_type, text) = scrape(TEXT_ONLY_ACCEPT).await;
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert!(!text.contains("# EOF"));
    let (ok, out) = promtool_check_metrics(&text);
    assert!(
        ok && out.trim().is_empty(),
        "promtool check metrics:\n{out}\n{text}"
    );
    // Prometheus' own default header gets OpenMetrics, and so does no header at all.
    let (content_type, om) = scrape(PROMETHEUS_ACCEPT).await;
    assert_eq!(
        content_type,
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    assert!(om.ends_with("# EOF\n"), "{om}");
    let (_, content_type, _) = common::operator::http_get(addr, "/metrics").await;
    assert!(content_type.starts_with("application/openmetrics-text"));
    // The control for promtool: the OpenMetrics text is not 0.0.4 (a counter's TYPE names
    // the family without _total), and promtool says so.
    let (ok, out) = promtool_check_metrics(&om);
    assert!(
        !ok || !out.trim().is_empty(),
        "promtool took OpenMetrics as 0.0.4"
    );

    // The controls for the names: a rule and a dashboard target reading a metric that the
    // operator does not export fail the check, naming it and where it is.
    let exposed = exposed_names(&text);
    let mut broken_rule = rule.clone();
    broken_rule["spec"]["groups"][0]["rules"][1]["expr"] = json!(
        r#"sum(rate(connect_user_operator_connect_call_total{outcome="throttled"}[10m])) > 0"#
    );
    assert_eq!(
        missing_metrics(&rule_exprs(&broken_rule), &exposed),
        [(
            "alert ConnectThrottlingSustained".to_string(),
            "connect_user_operator_connect_call_total".to_string()
        )]
    );
    let mut broken_dashboard = dashboard.clone();
    let panel = broken_dashboard["panels"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["title"] == "Deletion latency")
        .unwrap();
    panel["targets"][0]["expr"] = json!(
        r#"histogram_quantile(0.5, sum by (le) (rate(connect_user_operator_deletion_latency_seconds_bucket{job=~"$job"}[$__rate_interval])))"#
    );
    assert_eq!(
        missing_metrics(&dashboard_exprs(&broken_dashboard), &exposed),
        [(
            "panel \"Deletion latency\"".to_string(),
            "connect_user_operator_deletion_latency_seconds_bucket".to_string()
        )]
    );
    drop(op);
}
