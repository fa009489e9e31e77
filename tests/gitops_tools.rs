//! The Argo CD and Flux stand-ins of tests/gitops_support hold to the tools' own rules (cases
//! from Argo CD's and Flux's behaviour), and docs/gitops.md's Flux timeout outlasts a deletion.

mod gitops_support;

use gitops_support::*;
use serde_json::json;

fn argo(script: &str, object: serde_json::Value) -> ArgoHealth {
    argocd_health(script, &[object]).remove(0)
}

#[test]
fn the_argo_cd_runner_opens_argo_cds_libraries_and_checks_what_a_script_returns() {
    let obj = json!({"metadata": {"name": "x", "generation": 3}, "status": {"n": 1.5}});
    let ok = argo(
        "return {status = \"Healthy\", message = \"g\" .. obj.metadata.generation .. \" \" .. obj.status.n}",
        obj.clone(),
    );
    assert_eq!(
        (ok.status.as_str(), ok.message.as_str()),
        ("Healthy", "g3 1.5")
    );
    // table, base, package and the safe os subset are there; string, math, io are not.
    let libs = argo(
        "local os2 = require(\"os\") local t = {} table.insert(t, tostring(os.time() > 0)) \
         table.insert(t, tostring(os2.date ~= nil)) table.insert(t, tostring(string == nil)) \
         table.insert(t, tostring(math == nil)) table.insert(t, tostring(io == nil)) \
         table.insert(t, tostring(os.execute == nil)) \
         return {status = \"Healthy\", message = table.concat(t, \",\")}",
        obj.clone(),
    );
    assert_eq!(libs.message, "true,true,true,true,true,true", "{libs:?}");
    let no_string = argo("return {status = string.upper(\"healthy\")}", obj.clone());
    assert!(no_string.error.contains("string"), "{no_string:?}");
    // Argo CD's allowed values only.
    let invalid = argo("return {status = \"Ready\"}", obj.clone());
    assert_eq!(
        (invalid.status.as_str(), invalid.message.as_str()),
        ("Unknown", "Lua returned an invalid health status")
    );
    for s in [
        "Healthy",
        "Progressing",
        "Degraded",
        "Suspended",
        "Missing",
        "Unknown",
    ] {
        assert_eq!(
            argo(&format!("return {{status = \"{s}\"}}"), obj.clone()).status,
            s
        );
    }
    assert!(argo("return 1", obj.clone()).error.contains("table"));
    assert_eq!(
        argo("return nil", obj.clone()),
        ArgoHealth {
            status: String::new(),
            message: String::new(),
            error: String::new()
        }
    );
    // Argo CD does not run a health check on an object being deleted.
    let mut deleting = obj;
    deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
    let d = argo("return {status = \"Degraded\"}", deleting);
    assert_eq!(
        (d.status.as_str(), d.message.as_str()),
        ("Progressing", "Pending deletion")
    );
}

fn exprs(in_progress: &str, failed: &str, current: &str) -> Exprs {
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_string());
    Exprs {
        in_progress: opt(in_progress),
        failed: opt(failed),
        current: current.into(),
    }
}

fn flux(e: &Exprs, object: serde_json::Value) -> FluxHealth {
    flux_health(e, &[object]).unwrap().remove(0)
}

#[test]
fn the_flux_evaluator_follows_fluxs_order_generation_check_and_variables() {
    let data =
        |i: bool, f: bool, c: bool| json!({"data": {"inProgress": i, "failed": f, "current": c}});
    let e = exprs("data.inProgress", "data.failed", "data.current");
    assert_eq!(flux(&e, data(false, false, false)).status, "InProgress");
    assert_eq!(flux(&e, data(true, true, true)).status, "InProgress");
    assert_eq!(flux(&e, data(false, true, true)).status, "Failed");
    assert_eq!(flux(&e, data(false, false, true)).status, "Current");
    // observedGeneration behind: in progress before any expression.
    let behind = json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 1}});
    assert_eq!(flux(&exprs("", "", "true"), behind).status, "InProgress");
    // Only top-level fields are variables: no status, no `status`.
    let none = flux(
        &exprs("has(status.observedGeneration)", "", "true"),
        json!({"metadata": {}}),
    );
    assert_eq!(none.status, "Unknown");
    assert!(none.error.contains("status"), "{none:?}");
    // An evaluation error ends the evaluation (the later `current` is not tried).
    let err = flux(&exprs("", "data.nope", "true"), data(false, false, true));
    assert_eq!(err.status, "Unknown", "{err:?}");
    // A result that is not a bool is an error.
    assert_eq!(flux(&exprs("", "", "'yes'"), json!({})).status, "Unknown");
    // Optional syntax, as Flux enables it.
    let opt = exprs("", "", "status.?conditions.orValue([]).size() == 0");
    assert_eq!(flux(&opt, json!({"status": {}})).status, "Current");
    // Flux refuses expressions that do not parse, and a missing `current`.
    assert!(flux_health(&exprs("", "", "status.("), &[json!({})]).is_err());
    assert!(flux_health(&exprs("", "", ""), &[json!({})]).is_err());
}

fn minutes(text: &str) -> f64 {
    let (n, unit) = text.split_at(text.len() - 1);
    let n: f64 = n.parse().unwrap_or_else(|_| panic!("duration {text}"));
    match unit {
        "s" => n / 60.0,
        "m" => n,
        "h" => n * 60.0,
        _ => panic!("duration {text}"),
    }
}

/// A prune with `wait: true` waits within `timeout` for the ConnectUser to be gone, which is at
/// least the settle window after DeleteUser plus the listings around it: the doc leaves 5
/// minutes beyond the operator's default settle window for those.
#[test]
fn the_flux_timeout_outlasts_a_deletion_with_the_default_settle_window() {
    let k = flux_kustomization(&gitops_doc());
    assert_eq!(k["spec"]["prune"], true);
    assert_eq!(k["spec"]["wait"], true);
    let timeout = minutes(k["spec"]["timeout"].as_str().expect("spec.timeout"));
    let settle = connect_user_operator::context::Settings::default()
        .settle_window
        .as_secs_f64()
        / 60.0;
    assert!(
        timeout >= settle + 5.0,
        "timeout {timeout}m leaves less than 5 minutes beyond the {settle}m settle window"
    );
    assert!(
        gitops_doc().contains(&format!(
            "settle window (`--settle-window`, {settle} minutes by default)"
        )),
        "docs/gitops.md names the default settle window ({settle} minutes)"
    );
}
