//! How the suite names what it creates, so that it finds (and deletes) exactly that: every
//! username, quick-connect name and Kubernetes name starts with `cfm-` and the run's id, and
//! every Connect resource carries the marker tag. Usernames stay within the 20 characters of
//! an instance without SAML: `cfm-k3x9-007` leaves eight to spare.

use std::sync::atomic::{AtomicU32, Ordering};

use rand::Rng;

/// The start of every name (compared case-insensitively: one case creates an upper-case
/// twin of a username).
pub const PREFIX: &str = "cfm-";
/// The tag every created user and quick connect carries; its value is the run id.
pub const MARKER_TAG: &str = "conformance.userops.dev/run";

/// Whether `name` is one of the suite's (any run's).
pub fn is_ours(name: &str) -> bool {
    name.to_ascii_lowercase().starts_with(PREFIX)
}

/// A run's names.
#[derive(Debug)]
pub struct Names {
    run: String,
    next: AtomicU32,
}

impl Names {
    /// Four random lower-case letters and digits.
    pub fn random() -> Names {
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut rng = rand::rng();
        let run = (0..4)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        Names::with_run(run)
    }

    pub fn with_run(run: String) -> Names {
        Names {
            run,
            next: AtomicU32::new(1),
        }
    }

    pub fn run(&self) -> &str {
        &self.run
    }

    /// `cfm-<run>-`: the start of every name of this run.
    pub fn run_prefix(&self) -> String {
        format!("{PREFIX}{}-", self.run)
    }

    /// A fresh name, `cfm-<run>-NNN`.
    pub fn next(&self) -> String {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        format!("{}{n:03}", self.run_prefix())
    }

    /// A name of the run with a fixed suffix (the shared search fixture's `sa`, `qb`...).
    pub fn fixed(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.run_prefix())
    }
}

/// A password Connect accepts (lower, upper, digit, 8-64): random per run, never printed.
pub fn password() -> String {
    const ALNUM: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let tail: String = (0..16)
        .map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char)
        .collect();
    format!("Cf{tail}-9a")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_short_prefixed_and_unique() {
        let names = Names::random();
        let a = names.next();
        let b = names.next();
        assert_ne!(a, b);
        assert!(a.len() <= 12 && is_ours(&a), "{a}");
        assert!(is_ours(&a.to_uppercase()));
        assert!(!is_ours("alice"));
        assert_eq!(names.fixed("sa"), format!("cfm-{}-sa", names.run()));
    }

    #[test]
    fn passwords_have_the_classes_connect_wants() {
        let p = password();
        assert!((8..=64).contains(&p.len()));
        assert!(p.chars().any(|c| c.is_ascii_lowercase()));
        assert!(p.chars().any(|c| c.is_ascii_uppercase()));
        assert!(p.chars().any(|c| c.is_ascii_digit()));
    }
}
