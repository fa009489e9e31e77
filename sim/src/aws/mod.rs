//! The AWS identity side of the test bed, shared by every emulator in a process: one `Iam`
//! registry (accounts, IAM users' access keys, roles and their trust, STS sessions), SigV4
//! verification (`auth`, `sigv4`), and an STS emulator (`StsSim`) that issues per-role
//! temporary credentials the Connect emulator then accepts for that role's account only.
//!
//! Every `Iam` holds the test account `TEST_ACCOUNT_ID` with the long-term key
//! `TEST_ACCESS_KEY_ID` / `TEST_SECRET_ACCESS_KEY`: tests and the demo sign with those unless
//! they need another account.

pub mod auth;
mod iam;
pub mod sigv4;
mod sts;

pub use iam::{
    AccessKey, DEFAULT_SESSION_DURATION, Iam, OIDC_PROVIDER, Principal, SessionInfo,
    TEST_ACCESS_KEY_ID, TEST_ACCOUNT_ID, TEST_SECRET_ACCESS_KEY, TEST_USER_NAME, Trust,
    WEB_IDENTITY_AUDIENCE, role_arn,
};
pub use sts::{StsCall, StsSim};
