//! One conformance case: the call, what is expected of it and why, and how an observation is
//! judged against the expectation.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::Value;

use super::cx::Cx;

/// The area of the API a case covers (the first part of its id).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Area {
    Rules,
    Errors,
    Pagination,
    Search,
    Tags,
    Consistency,
}

impl Area {
    pub fn name(self) -> &'static str {
        match self {
            Area::Rules => "rules",
            Area::Errors => "errors",
            Area::Pagination => "pagination",
            Area::Search => "search",
            Area::Tags => "tags",
            Area::Consistency => "consistency",
        }
    }
}

/// The outcome class a case expects.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    Success,
    /// The error code (`x-amzn-ErrorType`).
    Error(&'static str),
    /// Success, and the observed JSON has this value at this JSON pointer.
    Field(&'static str, Value),
    /// A polled change shows within the deadline; meanwhile only these interim answers (error
    /// codes, `stale` for the previous version, `absent` for a search not showing it yet).
    Eventually(&'static [&'static str]),
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Success => write!(f, "success"),
            Expect::Error(code) => write!(f, "{code}"),
            Expect::Field("", v) => write!(f, "success, {v}"),
            Expect::Field(ptr, v) => write!(f, "success, {ptr} = {v}"),
            Expect::Eventually([]) => write!(f, "eventually"),
            Expect::Eventually(interim) => {
                write!(f, "eventually (meanwhile {})", interim.join("/"))
            }
        }
    }
}

/// Why a case expects what it does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Stated by the API reference or the model (where).
    Documented(&'static str),
    /// No document says; what the emulator assumes (and so what the expectation is).
    Undocumented(&'static str),
}

/// What a case needs from the instance; otherwise it is skipped, saying why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Needs {
    Nothing,
    /// Creates users: not on EXISTING_DIRECTORY instances, where a username must name a user of
    /// the directory.
    Users,
    /// Creates users on an instance of one of these identity-management types.
    IdentityTypes(&'static [&'static str]),
    /// A user hierarchy group in the instance (and creates users).
    HierarchyGroup,
    /// Fills the instance's quota (`CONNECT_CONFORMANCE_FILL_QUOTA` on a sandbox).
    QuotaFill,
}

/// An answer, as far as a case needs it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Observed {
    /// The selected parts of the response, as JSON.
    Success(Value),
    Error {
        code: String,
        status: Option<u16>,
        message: String,
    },
    /// A polled change that showed.
    Propagated {
        #[serde(serialize_with = "secs")]
        after: Duration,
        polls: u32,
        /// Interim answers and how often each came.
        interim: BTreeMap<String, u32>,
        last: Box<Observed>,
    },
    /// A polled change that did not show before the deadline.
    TimedOut {
        #[serde(serialize_with = "secs")]
        after: Duration,
        polls: u32,
        interim: BTreeMap<String, u32>,
    },
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Observed {
    pub fn code(&self) -> Option<&str> {
        match self {
            Observed::Error { code, .. } => Some(code),
            _ => None,
        }
    }

    /// How long a propagation took, when this is one.
    pub fn propagation(&self) -> Option<Duration> {
        match self {
            Observed::Propagated { after, .. } => Some(*after),
            _ => None,
        }
    }
}

fn interim_text(interim: &BTreeMap<String, u32>) -> String {
    interim
        .iter()
        .map(|(k, n)| format!("{k}\u{d7}{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl fmt::Display for Observed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Observed::Success(v) if v.is_null() => write!(f, "success"),
            Observed::Success(v) => {
                let text = v.to_string();
                if text.chars().count() > 160 {
                    let short: String = text.chars().take(157).collect();
                    write!(f, "success {short}...")
                } else {
                    write!(f, "success {text}")
                }
            }
            Observed::Error {
                code,
                status,
                message,
            } => {
                write!(f, "{code}")?;
                if let Some(s) = status {
                    write!(f, " ({s})")?;
                }
                let short: String = message.chars().take(140).collect();
                if !short.is_empty() {
                    write!(f, ": {short}")?;
                }
                Ok(())
            }
            Observed::Propagated {
                after,
                polls,
                interim,
                last,
            } => {
                write!(f, "after {:.3} s, {polls} polls", after.as_secs_f64())?;
                if !interim.is_empty() {
                    write!(f, " (meanwhile {})", interim_text(interim))?;
                }
                write!(f, "; then {last}")
            }
            Observed::TimedOut {
                after,
                polls,
                interim,
            } => write!(
                f,
                "not within {:.1} s ({polls} polls: {})",
                after.as_secs_f64(),
                interim_text(interim)
            ),
        }
    }
}

/// What a case returns: the observation of the call under test, and a note for the report.
#[derive(Clone, Debug)]
pub struct Observation {
    pub observed: Observed,
    pub detail: Option<String>,
}

impl From<Observed> for Observation {
    fn from(observed: Observed) -> Self {
        Observation {
            observed,
            detail: None,
        }
    }
}

impl Observation {
    pub fn with_detail(mut self, detail: impl Into<String>) -> Observation {
        self.detail = Some(detail.into());
        self
    }
}

/// A step before the call under test that did not work (creating the user a case needs...):
/// the case could not be judged, and the run fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetupFailed(pub String);

impl fmt::Display for SetupFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

pub type CaseResult = Result<Observation, SetupFailed>;
pub type RunFn = fn(Arc<Cx>) -> BoxFuture<'static, CaseResult>;

/// One row of the table.
#[derive(Clone)]
pub struct Case {
    /// `area/name`, stable (reports are compared across runs).
    pub id: String,
    pub area: Area,
    /// The operation under test.
    pub call: &'static str,
    pub expect: Expect,
    pub basis: Basis,
    pub needs: Needs,
    pub run: RunFn,
}

impl Case {
    pub fn new(
        area: Area,
        name: &str,
        call: &'static str,
        expect: Expect,
        basis: Basis,
        needs: Needs,
        run: RunFn,
    ) -> Case {
        Case {
            id: format!("{}/{name}", area.name()),
            area,
            call,
            expect,
            basis,
            needs,
            run,
        }
    }
}

/// How a case ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", content = "reason", rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    /// The observation does not meet the expectation: on a real service, a deviation of the
    /// emulator.
    Fail(String),
    /// Not run here (what the instance lacks).
    Skip(String),
    /// Could not be judged: a setup step failed, the case panicked or ran out of time.
    Broken(String),
}

impl Verdict {
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail(_) => "FAIL",
            Verdict::Skip(_) => "SKIP",
            Verdict::Broken(_) => "BROKEN",
        }
    }

    pub fn failed(&self) -> bool {
        matches!(self, Verdict::Fail(_) | Verdict::Broken(_))
    }
}

fn shown(ptr: &str) -> &str {
    if ptr.is_empty() { "the response" } else { ptr }
}

/// Judges an observation against an expectation.
pub fn judge(expect: &Expect, observed: &Observed) -> Verdict {
    let fail = |why: String| Verdict::Fail(why);
    match (expect, observed) {
        (Expect::Success, Observed::Success(_)) => Verdict::Pass,
        (Expect::Error(code), Observed::Error { code: got, .. }) if got == code => Verdict::Pass,
        (Expect::Field(ptr, want), Observed::Success(v)) => match v.pointer(ptr) {
            Some(got) if got == want => Verdict::Pass,
            Some(got) => fail(format!("{} is {got}, expected {want}", shown(ptr))),
            None => fail(format!("{} is not in the response {v}", shown(ptr))),
        },
        (Expect::Eventually(allowed), Observed::Propagated { interim, .. }) => {
            let unexpected: Vec<&String> = interim
                .keys()
                .filter(|k| !allowed.contains(&k.as_str()))
                .collect();
            if unexpected.is_empty() {
                Verdict::Pass
            } else {
                fail(format!(
                    "meanwhile answered {}, expected only {}",
                    unexpected
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join("/"),
                    if allowed.is_empty() {
                        "the final answer".to_string()
                    } else {
                        allowed.join("/")
                    }
                ))
            }
        }
        (Expect::Eventually(_), Observed::TimedOut { after, .. }) => {
            fail(format!("did not show within {:.1} s", after.as_secs_f64()))
        }
        (expect, observed) => fail(format!("expected {expect}, observed {observed}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn error(code: &str) -> Observed {
        Observed::Error {
            code: code.into(),
            status: Some(400),
            message: String::new(),
        }
    }

    #[test]
    fn outcomes_are_judged_by_class() {
        assert_eq!(
            judge(&Expect::Success, &Observed::Success(json!({}))),
            Verdict::Pass
        );
        assert!(judge(&Expect::Success, &error("X")).failed());
        assert_eq!(judge(&Expect::Error("X"), &error("X")), Verdict::Pass);
        assert!(judge(&Expect::Error("X"), &error("Y")).failed());
        assert!(judge(&Expect::Error("X"), &Observed::Success(json!({}))).failed());
        let f = Expect::Field("/a/b", json!(3));
        assert_eq!(
            judge(&f, &Observed::Success(json!({"a": {"b": 3}}))),
            Verdict::Pass
        );
        assert!(judge(&f, &Observed::Success(json!({"a": {"b": 4}}))).failed());
        assert!(judge(&f, &Observed::Success(json!({}))).failed());
    }

    #[test]
    fn propagations_pass_only_with_the_allowed_interim_answers() {
        let propagated = |interim: &[(&str, u32)]| Observed::Propagated {
            after: Duration::from_millis(5),
            polls: 3,
            interim: interim.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
            last: Box::new(Observed::Success(Value::Null)),
        };
        let e = Expect::Eventually(&["ResourceNotFoundException"]);
        assert_eq!(judge(&e, &propagated(&[])), Verdict::Pass);
        assert_eq!(
            judge(&e, &propagated(&[("ResourceNotFoundException", 2)])),
            Verdict::Pass
        );
        assert!(judge(&e, &propagated(&[("InvalidParameterException", 1)])).failed());
        let timed_out = Observed::TimedOut {
            after: Duration::from_secs(1),
            polls: 9,
            interim: BTreeMap::new(),
        };
        assert!(judge(&e, &timed_out).failed());
    }
}
