//! `connect-user-operator prune-quick-connects`: the dangling quick-connect sweep run once, for
//! teams that do not run the operator. A sweep of the instance that only observes, then,
//! `--settle` later, a second listing that describes the suspects' users again; the quick
//! connects it confirms are printed as a table on stdout and, with `--delete`, deleted.
//! Progress goes to stderr.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};

use crate::cli::PruneArgs;
use crate::connect::{ConnectApi, ConnectError, ConnectSettings, Rate, SdkConfigBuilder};
use crate::model::{Access, AssumedRole, InstanceRef};
use crate::sweeper::{
    DanglingQuickConnect, Deletion, DeletionOutcome, Progress, SweepMode, SweepSettings, Sweeper,
};

#[derive(thiserror::Error, Debug)]
pub enum PruneError {
    #[error("no region: pass --region or set AWS_REGION")]
    NoRegion,
    #[error("--instance-id: must not be empty")]
    NoInstance,
    #[error("--role-arn: {0:?} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")]
    BadRoleArn(String),
    #[error(transparent)]
    Connect(#[from] ConnectError),
}

/// The session name of `--role-arn` sessions, as CloudTrail shows them.
const SESSION_NAME: &str = "connect-user-operator-prune";

/// Prints the dangling quick connects (and deletes them with `--delete`); the exit code is a
/// failure when a deletion failed.
pub async fn run(args: &PruneArgs) -> Result<std::process::ExitCode, PruneError> {
    if args.instance_id.trim().is_empty() {
        return Err(PruneError::NoInstance);
    }
    let mut builder = SdkConfigBuilder::default();
    if let Some(region) = args.region.as_ref().filter(|r| !r.is_empty()) {
        builder = builder.region(region.clone());
    }
    // The role is assumed as for an instance object's roleArn (connect::credentials).
    let role = match &args.role_arn {
        Some(role) if !is_role_arn(role) => return Err(PruneError::BadRoleArn(role.clone())),
        Some(role) => Some(AssumedRole {
            role_arn: role.clone(),
            external_id: None,
            session_name: Some(SESSION_NAME.to_string()),
        }),
        None => None,
    };
    let settings = ConnectSettings {
        rate: (args.connect_rate > 0.0).then_some(Rate {
            per_second: args.connect_rate,
            ..Rate::default()
        }),
        max_attempts: None,
        control: None,
    };
    let connect = ConnectApi::new(builder.load().await, settings);
    let region = connect.default_region().ok_or(PruneError::NoRegion)?;
    let at = InstanceRef {
        region,
        instance_id: args.instance_id.clone(),
        access: Access {
            account: None,
            role,
        },
    };
    let mode = if args.delete {
        SweepMode::Delete
    } else {
        SweepMode::Report
    };
    let mut sweeper = Sweeper::new(SweepSettings {
        settle: args.settle,
        max_user_checks: None,
        // Alone on the account's quota (unless an operator runs too): its own limiter paces it.
        reserve: 0,
        ..SweepSettings::default()
    });
    let mut bar = ProgressLine::new();

    bar.phase("first observation");
    let first = sweeper
        .tick_with_progress(&connect, &at, SweepMode::Report, &mut |p| bar.show(p))
        .await?;
    bar.done();
    let report = if first.suspected == 0 {
        eprintln!(
            "{} USER quick connects, every user found",
            first.user_quick_connects
        );
        first
    } else {
        if let Some(until) = sweeper.last_confirmation() {
            let wait = (until - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            eprintln!(
                "{} of {} USER quick connects point at a user not found; checking again in {:.0?} (--settle)",
                first.suspected, first.user_quick_connects, wait
            );
            // A little past the window, so the second observation is never early.
            tokio::time::sleep(wait + Duration::from_millis(50)).await;
        }
        bar.phase("second observation");
        let second = sweeper
            .confirm_with_progress(&connect, &at, mode, &mut |p| bar.show(p))
            .await?;
        bar.done();
        second
    };

    let mut out = std::io::stdout().lock();
    let _ = out.write_all(table(&report.dangling, &report.deletions).as_bytes());
    let failed = report
        .deletions
        .iter()
        .filter(|d| matches!(d.outcome, DeletionOutcome::Failed(_)))
        .count();
    let found = report.dangling.len();
    match mode {
        SweepMode::Report if found > 0 => eprintln!(
            "{found} dangling quick connect(s); dry run, nothing deleted (run again with --delete to delete them)"
        ),
        SweepMode::Report => eprintln!("no dangling quick connects"),
        SweepMode::Delete => eprintln!(
            "{found} dangling quick connect(s); deleted {}, failed {failed}",
            found - failed
        ),
    }
    if report.suspected > 0 {
        eprintln!(
            "{} quick connect(s) could not be confirmed yet: run again later",
            report.suspected
        );
    }
    Ok(if failed > 0 {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    })
}

/// `arn:PARTITION:iam::ACCOUNT:role/NAME`.
fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "iam", "", account, resource]
            if !partition.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.strip_prefix("role/").is_some_and(|n| !n.is_empty())
    )
}

fn timestamp(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

/// The table on stdout: a header and one row per dangling quick connect (with a RESULT column
/// once deletions were made); nothing but the header when there are none.
pub fn table(dangling: &[DanglingQuickConnect], deletions: &[Deletion]) -> String {
    let mut rows: Vec<Vec<String>> = vec![
        [
            "QUICK CONNECT ID",
            "NAME",
            "MISSING USER ID",
            "LAST MODIFIED",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let with_result = !deletions.is_empty();
    if with_result {
        rows[0].push("RESULT".into());
    }
    for q in dangling {
        let mut row = vec![
            q.id.clone(),
            q.name.clone(),
            q.user_id.clone(),
            timestamp(q.last_modified),
        ];
        if with_result {
            let result = deletions
                .iter()
                .find(|d| d.quick_connect.id == q.id)
                .map_or("-".to_string(), |d| match &d.outcome {
                    DeletionOutcome::Deleted => "deleted".into(),
                    DeletionOutcome::AlreadyGone => "already gone".into(),
                    DeletionOutcome::Failed(e) => format!("failed: {}", e.code),
                });
            row.push(result);
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        text.push_str(cells.join("  ").trim_end());
        text.push('\n');
    }
    text
}

/// Progress on stderr: one line redrawn in place on a terminal (at most 10 times a second),
/// otherwise a line every 10 seconds at most, so logs of a large instance stay short.
struct ProgressLine {
    tty: bool,
    phase: &'static str,
    last: Option<Instant>,
    drawn: bool,
}

impl ProgressLine {
    fn new() -> ProgressLine {
        ProgressLine {
            tty: std::io::stderr().is_terminal(),
            phase: "",
            last: None,
            drawn: false,
        }
    }

    fn phase(&mut self, phase: &'static str) {
        self.phase = phase;
        self.last = None;
        if !self.tty {
            eprintln!("{phase}");
        }
    }

    fn show(&mut self, p: Progress) {
        let every = if self.tty {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(10)
        };
        let finished = match p {
            Progress::Checking { done, total } | Progress::Deleting { done, total } => {
                done == total
            }
            Progress::Listing { .. } => false,
        };
        if self.last.is_some_and(|t| t.elapsed() < every) && !(self.tty && finished) {
            return;
        }
        self.last = Some(Instant::now());
        let text = match p {
            Progress::Listing { read } => format!("listing quick connects: {read}"),
            Progress::Checking { done, total } => {
                format!("checking users {} {done}/{total}", bar(done, total))
            }
            Progress::Deleting { done, total } => {
                format!("deleting {} {done}/{total}", bar(done, total))
            }
        };
        if self.tty {
            eprint!("\r\x1b[2K{}: {text}", self.phase);
            self.drawn = true;
        } else {
            eprintln!("{}: {text}", self.phase);
        }
    }

    fn done(&mut self) {
        if self.drawn {
            eprintln!();
            self.drawn = false;
        }
    }
}

fn bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH)
        .checked_div(total)
        .unwrap_or(WIDTH)
        .min(WIDTH);
    format!("[{}{}]", "#".repeat(filled), " ".repeat(WIDTH - filled))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: &str, name: &str) -> DanglingQuickConnect {
        DanglingQuickConnect {
            id: id.into(),
            name: name.into(),
            user_id: format!("user-of-{id}"),
            last_modified: DateTime::from_timestamp(1_764_590_000, 0),
            missing_since: Utc::now(),
        }
    }

    #[test]
    fn the_table_is_aligned_with_one_row_each() {
        let text = table(&[q("a", "To Bob"), q("bbbb", "X")], &[]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("QUICK CONNECT ID  NAME    MISSING USER ID"));
        assert!(lines[1].starts_with("a                 To Bob  user-of-a"));
        assert!(lines[1].ends_with("2025-12-01T11:53:20Z"), "{}", lines[1]);
        assert_eq!(table(&[], &[]).lines().count(), 1);
    }

    #[test]
    fn deletions_add_a_result_column() {
        let d = q("a", "To Bob");
        let text = table(
            std::slice::from_ref(&d),
            &[Deletion {
                quick_connect: d.clone(),
                outcome: DeletionOutcome::Deleted,
            }],
        );
        assert!(text.lines().next().unwrap().ends_with("RESULT"));
        assert!(text.lines().nth(1).unwrap().ends_with("deleted"));
    }

    #[test]
    fn role_arns_are_checked() {
        assert!(is_role_arn("arn:aws:iam::123456789012:role/prune"));
        assert!(is_role_arn("arn:aws-cn:iam::123456789012:role/path/prune"));
        for bad in [
            "prune",
            "arn:aws:iam::123456789012:user/prune",
            "arn:aws:iam::1234:role/prune",
            "arn:aws:iam::123456789012:role/",
            "arn:aws:sts::123456789012:role/prune",
        ] {
            assert!(!is_role_arn(bad), "{bad}");
        }
    }

    #[test]
    fn the_bar_fills_up() {
        assert_eq!(bar(0, 10), format!("[{}]", " ".repeat(30)));
        assert_eq!(bar(10, 10), format!("[{}]", "#".repeat(30)));
        assert_eq!(bar(0, 0), format!("[{}]", "#".repeat(30)));
    }
}
