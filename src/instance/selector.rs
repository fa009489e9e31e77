//! Label selectors (`matchLabels`, `matchExpressions`) matched against a namespace's labels, as
//! the Kubernetes API server matches them.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// Whether `selector` selects an object with `labels`. An empty selector selects everything; an
/// unknown operator selects nothing (the API server refuses such a selector).
pub fn matches(selector: &LabelSelector, labels: &BTreeMap<String, String>) -> bool {
    let by_label = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let by_expression = selector.match_expressions.iter().flatten().all(|e| {
        let value = labels.get(&e.key);
        let values = e.values.as_deref().unwrap_or_default();
        match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.contains(v)),
            "NotIn" => value.is_none_or(|v| !values.contains(v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    by_label && by_expression
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn expr(key: &str, op: &str, values: &[&str]) -> LabelSelectorRequirement {
        LabelSelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: Some(values.iter().map(|v| v.to_string()).collect()),
        }
    }

    #[test]
    fn labels_and_expressions_must_all_hold() {
        let team_a = labels(&[("team", "a"), ("env", "prod")]);
        let selector = LabelSelector {
            match_labels: Some(labels(&[("team", "a")])),
            match_expressions: Some(vec![expr("env", "In", &["prod", "stage"])]),
        };
        assert!(matches(&selector, &team_a));
        assert!(!matches(
            &selector,
            &labels(&[("team", "b"), ("env", "prod")])
        ));
        assert!(!matches(
            &selector,
            &labels(&[("team", "a"), ("env", "dev")])
        ));
        for (op, want) in [
            ("NotIn", false),
            ("Exists", true),
            ("DoesNotExist", false),
            ("Bogus", false),
        ] {
            let s = LabelSelector {
                match_labels: None,
                match_expressions: Some(vec![expr("env", op, &["prod"])]),
            };
            assert_eq!(matches(&s, &team_a), want, "{op}");
        }
        assert!(matches(&LabelSelector::default(), &team_a));
    }
}
