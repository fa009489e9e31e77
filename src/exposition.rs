//! The two text formats /metrics serves: OpenMetrics 1.0.0 (what the metrics registry writes)
//! and the Prometheus text format 0.0.4, for scrapers that ask for it in their Accept header
//! (Prometheus with `scrape_protocols: [PrometheusText0.0.4]`, older agents, `promtool check
//! metrics`). The choice is made as Prometheus' client libraries make it: the highest q wins,
//! a named type beats a wildcard, OpenMetrics when nothing decides.

pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
    Text004,
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::Text004 => TEXT_CONTENT_TYPE,
        }
    }
}

/// The format for an Accept header (`None`: no header, OpenMetrics).
pub fn negotiate(accept: Option<&str>) -> Format {
    // (q, specificity): a named type with its version is more specific than one without,
    // which is more specific than a wildcard.
    let mut best: Option<((f32, u8), Format)> = None;
    for range in accept.unwrap_or_default().split(',') {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut q = 1.0f32;
        let mut version = None;
        for p in parts {
            let Some((k, v)) = p.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "q" => q = v.parse().unwrap_or(0.0),
                "version" => version = Some(v.to_string()),
                _ => {}
            }
        }
        if q <= 0.0 {
            continue;
        }
        let versioned = u8::from(version.is_some());
        let candidate = match media.as_str() {
            "application/openmetrics-text"
                if version
                    .as_deref()
                    .is_none_or(|v| v == "1.0.0" || v == "0.0.1") =>
            {
                Some((2 + versioned, Format::OpenMetrics))
            }
            // 1.0.0 is the same text with optional UTF-8 names, which these names never need.
            "text/plain"
                if version
                    .as_deref()
                    .is_none_or(|v| v == "0.0.4" || v == "1.0.0") =>
            {
                Some((2 + versioned, Format::Text004))
            }
            "application/*" => Some((1, Format::OpenMetrics)),
            "text/*" => Some((1, Format::Text004)),
            "*/*" => Some((0, Format::OpenMetrics)),
            _ => None,
        };
        if let Some((specificity, format)) = candidate {
            let key = (q, specificity);
            // Ties go to OpenMetrics, the richer format.
            let better = match &best {
                None => true,
                Some((k, f)) => {
                    key.0 > k.0
                        || (key.0 == k.0 && key.1 > k.1)
                        || (key == *k && *f == Format::Text004 && format == Format::OpenMetrics)
                }
            };
            if better {
                best = Some((key, format));
            }
        }
    }
    best.map_or(Format::OpenMetrics, |(_, f)| f)
}

/// Rewrites OpenMetrics text as Prometheus text 0.0.4: a counter's HELP and TYPE name its
/// `_total` sample, an info family becomes a gauge, `# UNIT`, `# EOF`, `_created` samples and
/// exemplars go, timestamps turn from seconds into milliseconds, and HELP text loses the
/// escaping of `"` (0.0.4 escapes only backslash and newline there).
pub fn openmetrics_to_text004(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    // The TYPE of the family being written, by the family's OpenMetrics name.
    let mut types: std::collections::HashMap<String, String> = Default::default();
    let lines: Vec<&str> = openmetrics.lines().collect();
    // OpenMetrics writes HELP before TYPE: read each family's TYPE first.
    for l in &lines {
        if let Some(rest) = l.strip_prefix("# TYPE ")
            && let Some((name, t)) = rest.split_once(' ')
        {
            types.insert(name.to_string(), t.trim().to_string());
        }
    }
    let mut family_type = String::new();
    for line in lines {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            let t = types.get(name).map(String::as_str).unwrap_or("unknown");
            out.push_str(&format!(
                "# HELP {} {}\n",
                text004_name(name, t),
                help.replace("\\\"", "\"")
            ));
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, t) = rest.split_once(' ').unwrap_or((rest, "unknown"));
            family_type = t.trim().to_string();
            let t004 = match family_type.as_str() {
                "counter" | "gauge" | "histogram" | "summary" => family_type.as_str(),
                "info" | "stateset" => "gauge",
                "gaugehistogram" => "histogram",
                _ => "untyped",
            };
            out.push_str(&format!(
                "# TYPE {} {t004}\n",
                text004_name(name, &family_type)
            ));
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (series, rest) = split_series(line);
        let name = series.split('{').next().unwrap_or(series);
        if name.ends_with("_created") && family_type != "gauge" {
            continue;
        }
        // Drop the exemplar (`value [timestamp] # {labels} value [timestamp]`).
        let rest = rest.split(" # ").next().unwrap_or(rest).trim();
        let mut fields = rest.split_whitespace();
        let value = fields.next().unwrap_or_default();
        out.push_str(series);
        out.push(' ');
        out.push_str(value);
        if let Some(ts) = fields.next().and_then(|t| t.parse::<f64>().ok()) {
            out.push_str(&format!(" {}", (ts * 1000.0).round() as i64));
        }
        out.push('\n');
    }
    out
}

/// The 0.0.4 name of a family for its HELP and TYPE lines.
fn text004_name(name: &str, openmetrics_type: &str) -> String {
    match openmetrics_type {
        "counter" => format!("{name}_total"),
        "info" => format!("{name}_info"),
        _ => name.to_string(),
    }
}

/// A sample line split after its name and labels (label values may hold spaces, `}` and
/// escaped quotes).
fn split_series(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut in_labels = false;
    let mut in_string = false;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'{' => in_labels = true,
                b'}' => in_labels = false,
                b'"' if in_labels => in_string = true,
                b' ' if !in_labels => return (&line[..i], &line[i + 1..]),
                _ => {}
            }
        }
        i += 1;
    }
    (line, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_asks_for_openmetrics_first_and_gets_it() {
        // Prometheus 2.x's default scrape Accept header, and that of 2.49+ (scrape_protocols).
        for accept in [
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2",
        ] {
            assert_eq!(negotiate(Some(accept)), Format::OpenMetrics, "{accept}");
        }
    }

    #[test]
    fn the_text_format_when_the_scraper_prefers_or_only_takes_it() {
        for accept in [
            "text/plain;version=0.0.4",
            "text/plain; version=0.0.4; charset=utf-8",
            "text/plain",
            // scrape_protocols: [PrometheusText0.0.4, OpenMetricsText1.0.0]
            "text/plain;version=0.0.4;q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,*/*;q=0.1",
            "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
            "application/openmetrics-text;q=0,text/plain;version=0.0.4",
            "text/*",
        ] {
            assert_eq!(negotiate(Some(accept)), Format::Text004, "{accept}");
        }
        for accept in [
            "*/*",
            "",
            "application/json",
            "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited",
            // The same q: the named type beats the wildcard, OpenMetrics beats text.
            "*/*,application/openmetrics-text",
            "text/plain,application/openmetrics-text",
            "text/plain;version=9.9.9,*/*;q=0.1",
        ] {
            assert_eq!(negotiate(Some(accept)), Format::OpenMetrics, "{accept}");
        }
        assert_eq!(negotiate(None), Format::OpenMetrics);
    }

    #[test]
    fn openmetrics_becomes_text004() {
        let om = concat!(
            "# HELP app_calls Calls by \\\"operation\\\".\n",
            "# TYPE app_calls counter\n",
            "app_calls_total{operation=\"Create User\",x=\"a}b\\\"c\"} 3 # {trace_id=\"1\"} 1.0 1.5\n",
            "app_calls_created{operation=\"Create User\",x=\"a}b\\\"c\"} 1.7e9\n",
            "# HELP app_seconds Time.\n",
            "# TYPE app_seconds histogram\n",
            "# UNIT app_seconds seconds\n",
            "app_seconds_sum 1.5\n",
            "app_seconds_count 2\n",
            "app_seconds_bucket{le=\"+Inf\"} 2\n",
            "# HELP app_build Build.\n",
            "# TYPE app_build info\n",
            "app_build_info{version=\"1\"} 1\n",
            "# HELP app_up Up.\n",
            "# TYPE app_up gauge\n",
            "app_up 1 1700000000.25\n",
            "# EOF\n",
        );
        assert_eq!(
            openmetrics_to_text004(om),
            concat!(
                "# HELP app_calls_total Calls by \"operation\".\n",
                "# TYPE app_calls_total counter\n",
                "app_calls_total{operation=\"Create User\",x=\"a}b\\\"c\"} 3\n",
                "# HELP app_seconds Time.\n",
                "# TYPE app_seconds histogram\n",
                "app_seconds_sum 1.5\n",
                "app_seconds_count 2\n",
                "app_seconds_bucket{le=\"+Inf\"} 2\n",
                "# HELP app_build_info Build.\n",
                "# TYPE app_build_info gauge\n",
                "app_build_info{version=\"1\"} 1\n",
                "# HELP app_up Up.\n",
                "# TYPE app_up gauge\n",
                "app_up 1 1700000000250\n",
            )
        );
    }

    #[test]
    fn the_operators_own_metrics_convert_with_every_sample_kept() {
        let m = crate::metrics::Metrics::default();
        m.reconciled("ok", 0.02);
        m.connect_call("DeleteUser", "throttled");
        let om = m.encode();
        let text = openmetrics_to_text004(&om);
        assert!(!text.contains("# EOF"));
        assert!(text.contains("# TYPE connect_user_operator_connect_calls_total counter\n"));
        assert!(
            text.contains("# TYPE connect_user_operator_reconcile_duration_seconds histogram\n")
        );
        let samples = |s: &str| -> Vec<String> {
            s.lines()
                .filter(|l| !l.starts_with('#'))
                .map(String::from)
                .collect()
        };
        assert_eq!(samples(&text), samples(&om));
    }
}
