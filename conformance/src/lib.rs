//! Conformance: the Amazon Connect API cases that check the emulator against reality (and
//! reality against what the emulator assumes), and the operator smoke test, against the
//! emulators by default and against a sandbox instance and a real cluster when given.
//!
//! ```text
//! cargo run -p conformance -- connect      # the Connect cases
//! cargo run -p conformance -- operator     # the operator smoke test
//! ```
//!
//! See docs/conformance.md.

pub mod connect;
pub mod emulator;
pub mod names;
pub mod operator;
pub mod target;
