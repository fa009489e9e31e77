//! What one pass ends in, and the Events it publishes (after the status that describes them).

use std::time::Duration;

use crate::connect::ConnectError;
use crate::error::Error;
use crate::events::EventKind;

/// How a converge pass ended.
#[derive(Debug)]
pub enum Outcome {
    /// The Connect user matches the spec.
    Ready(Ready),
    /// Not finished, and nothing is wrong: Connect has not caught up with the operator's own
    /// writes yet. Reconciling, retried after `retry`.
    Waiting(Wait),
    /// Failed: the error table (`Error::policy`) decides the condition and the retry.
    Failed(Error),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub reason: ReadyReason,
    pub message: String,
    /// Something was written to Connect in this pass.
    pub changed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyReason {
    Created,
    Recreated,
    Adopted,
    Updated,
    DriftCorrected,
    InSync,
}

impl ReadyReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ReadyReason::Created => "Created",
            ReadyReason::Recreated => "Recreated",
            ReadyReason::Adopted => "Adopted",
            ReadyReason::Updated => "Updated",
            ReadyReason::DriftCorrected => "DriftCorrected",
            ReadyReason::InSync => "InSync",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wait {
    /// The condition's reason (Reconciling).
    pub reason: &'static str,
    pub message: String,
    pub retry: Duration,
}

/// Why a step did not let the pass go on: a wait or a failure. Steps return `Result<T, Stop>`
/// so that `?` ends the pass with either.
#[derive(Debug)]
pub enum Stop {
    Wait(Wait),
    Fail(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Stop {
        Stop::Fail(e)
    }
}

impl From<ConnectError> for Stop {
    fn from(e: ConnectError) -> Stop {
        Stop::Fail(e.into())
    }
}

impl From<kube::Error> for Stop {
    fn from(e: kube::Error) -> Stop {
        Stop::Fail(e.into())
    }
}

impl From<Stop> for Outcome {
    fn from(s: Stop) -> Outcome {
        match s {
            Stop::Wait(w) => Outcome::Waiting(w),
            Stop::Fail(e) => Outcome::Failed(e),
        }
    }
}

/// An Event to publish once the pass's status is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub kind: EventKind,
    pub reason: &'static str,
    pub message: String,
}

impl Note {
    pub fn normal(reason: &'static str, message: String) -> Note {
        Note {
            kind: EventKind::Normal,
            reason,
            message,
        }
    }

    pub fn warning(reason: &'static str, message: String) -> Note {
        Note {
            kind: EventKind::Warning,
            reason,
            message,
        }
    }
}
