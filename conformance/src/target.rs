//! Where a run goes: the in-process emulators (the default), or a real Amazon Connect sandbox
//! instance named by the environment. Both end as the same `Target`: an SDK configuration
//! (endpoint, Region, credentials), an instance id and the timing to poll with; nothing else in
//! the suite knows which one it talks to.

use std::time::Duration;

/// The sandbox instance to run against. Unset: the emulators.
pub const INSTANCE_VAR: &str = "CONNECT_CONFORMANCE_INSTANCE_ID";
/// The opt-in: must repeat the instance id, so a run never writes to an instance by accident
/// (a copied shell line, a stale variable pointing at production).
pub const ALLOW_WRITES_VAR: &str = "CONNECT_CONFORMANCE_ALLOW_WRITES";
/// Optional: the LimitExceeded cases create up to this many users and quick connects to reach
/// the instance's quota. Unset on a sandbox: those cases are skipped.
pub const FILL_QUOTA_VAR: &str = "CONNECT_CONFORMANCE_FILL_QUOTA";

/// How a run waits for Connect. Real time.
#[derive(Clone, Debug)]
pub struct Timing {
    /// Between two polls of a propagation.
    pub poll: Duration,
    /// A propagation not seen by then is a failure ("usually a few seconds, can take several
    /// minutes").
    pub deadline: Duration,
    /// A case that has not finished by then is stopped (and its resources deleted).
    pub case_timeout: Duration,
    /// Connect seconds per real second (1 on a real service; the emulator's time scale), to
    /// report propagation times in Connect's time.
    pub connect_time_scale: f64,
}

impl Timing {
    /// Real Amazon Connect: poll every second (under the 2 requests/s quota), wait up to ten
    /// minutes for a change to show.
    pub fn real() -> Timing {
        Timing {
            poll: Duration::from_secs(1),
            deadline: Duration::from_secs(600),
            case_timeout: Duration::from_secs(1800),
            connect_time_scale: 1.0,
        }
    }
}

/// A place to run the suite.
#[derive(Clone, Debug)]
pub struct Target {
    /// For the report: "emulator (SAML instance)", "Amazon Connect eu-west-2".
    pub label: String,
    pub instance_id: String,
    pub sdk_config: aws_config::SdkConfig,
    pub timing: Timing,
    /// How many creates the LimitExceeded cases may spend; `None` skips them.
    pub quota_fill_cap: Option<usize>,
}

/// What the environment asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// No instance given: start the emulators.
    Emulators,
    /// A sandbox instance, with the opt-in.
    Sandbox {
        instance_id: String,
        quota_fill_cap: Option<usize>,
    },
}

/// Reads the mode from environment variables (`get` is `std::env::var` in the binary, a map in
/// tests). Refuses an instance without the opt-in, naming the variable.
pub fn mode_from(get: impl Fn(&str) -> Option<String>) -> Result<Mode, String> {
    let var = |name: &str| {
        get(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    };
    let Some(instance_id) = var(INSTANCE_VAR) else {
        if var(ALLOW_WRITES_VAR).is_some() {
            return Err(format!(
                "{ALLOW_WRITES_VAR} is set but {INSTANCE_VAR} is not: name the sandbox instance \
                 in {INSTANCE_VAR} (or unset both to run against the emulators)"
            ));
        }
        return Ok(Mode::Emulators);
    };
    match var(ALLOW_WRITES_VAR) {
        Some(allowed) if allowed == instance_id => {}
        Some(_) => {
            return Err(format!(
                "refusing to run: {ALLOW_WRITES_VAR} names another instance than \
                 {INSTANCE_VAR}={instance_id}; set {ALLOW_WRITES_VAR}={instance_id} to let the \
                 suite create and delete users and quick connects there"
            ));
        }
        None => {
            return Err(format!(
                "refusing to run against {INSTANCE_VAR}={instance_id} without the opt-in: the \
                 suite creates and deletes users and quick connects (named cfm-...) in that \
                 instance. Use a sandbox instance and set {ALLOW_WRITES_VAR}={instance_id}"
            ));
        }
    }
    let quota_fill_cap = match var(FILL_QUOTA_VAR) {
        None => None,
        Some(v) => Some(v.parse::<usize>().map_err(|_| {
            format!("{FILL_QUOTA_VAR}={v}: expected the most creates to spend, a whole number")
        })?),
    };
    Ok(Mode::Sandbox {
        instance_id,
        quota_fill_cap,
    })
}

/// The AWS default configuration (environment, profile, SSO, web identity...; honours
/// `AWS_ENDPOINT_URL_CONNECT`), for a sandbox run.
pub async fn sandbox(instance_id: String, quota_fill_cap: Option<usize>) -> Result<Target, String> {
    let sdk_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let region = sdk_config
        .region()
        .map(|r| r.to_string())
        .ok_or("no AWS Region: set AWS_REGION or a profile's region")?;
    // An endpoint set in the environment is not in the loaded config (the client reads it).
    let endpoint = sdk_config.endpoint_url().map(str::to_string).or_else(|| {
        ["AWS_ENDPOINT_URL_CONNECT", "AWS_ENDPOINT_URL"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    });
    let where_ = endpoint.map(|e| format!(" at {e}")).unwrap_or_default();
    Ok(Target {
        label: format!("Amazon Connect {region}{where_}"),
        instance_id,
        sdk_config,
        timing: Timing::real(),
        quota_fill_cap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn mode(vars: &[(&str, &str)]) -> Result<Mode, String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        mode_from(|k| map.get(k).cloned())
    }

    #[test]
    fn no_instance_means_the_emulators() {
        assert_eq!(mode(&[]), Ok(Mode::Emulators));
        assert_eq!(mode(&[(INSTANCE_VAR, " ")]), Ok(Mode::Emulators));
    }

    #[test]
    fn an_instance_needs_the_opt_in_naming_it() {
        let e = mode(&[(INSTANCE_VAR, "i-1")]).unwrap_err();
        assert!(e.contains(ALLOW_WRITES_VAR) && e.contains("i-1"), "{e}");
        let e = mode(&[(INSTANCE_VAR, "i-1"), (ALLOW_WRITES_VAR, "i-2")]).unwrap_err();
        assert!(e.contains("another instance"), "{e}");
        let e = mode(&[(INSTANCE_VAR, "i-1"), (ALLOW_WRITES_VAR, "true")]).unwrap_err();
        assert!(e.contains(ALLOW_WRITES_VAR), "{e}");
        let e = mode(&[(ALLOW_WRITES_VAR, "i-1")]).unwrap_err();
        assert!(e.contains(INSTANCE_VAR), "{e}");
        assert_eq!(
            mode(&[(INSTANCE_VAR, "i-1"), (ALLOW_WRITES_VAR, "i-1")]),
            Ok(Mode::Sandbox {
                instance_id: "i-1".into(),
                quota_fill_cap: None
            })
        );
    }

    #[test]
    fn the_quota_fill_cap_is_a_number() {
        let ok = [
            (INSTANCE_VAR, "i-1"),
            (ALLOW_WRITES_VAR, "i-1"),
            (FILL_QUOTA_VAR, "150"),
        ];
        assert!(matches!(
            mode(&ok),
            Ok(Mode::Sandbox {
                quota_fill_cap: Some(150),
                ..
            })
        ));
        let bad = [
            (INSTANCE_VAR, "i-1"),
            (ALLOW_WRITES_VAR, "i-1"),
            (FILL_QUOTA_VAR, "lots"),
        ];
        assert!(mode(&bad).unwrap_err().contains(FILL_QUOTA_VAR));
    }
}
