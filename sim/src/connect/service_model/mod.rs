//! Request validation generated from the AWS service model for Connect.
//!
//! The model (botocore's `service-2.json`, vendored in `sim/aws-models/` with its licence) is
//! the authority on shapes: every request of every operation the emulator serves is checked
//! against the operation's input shape before the operation runs (required members, JSON
//! types, string lengths, list and map sizes, numeric ranges, enums, patterns), for members in
//! the URI, the query string, headers and the JSON body. The operations themselves then check
//! only what the shapes do not encode: references, state, and the service's documented rules.
//!
//! Loading: the gzip file is embedded (`include_bytes!`) and decoded into a precompiled
//! validator on first use, once per process, rather than turned into Rust by a build script:
//! the vendored file stays byte-identical to botocore's (diffable, licence intact), nothing
//! generated needs keeping in sync, and the one-off cost (a few tens of milliseconds) is paid
//! when the emulator starts ([`init`]), not by a request.

mod check;
mod load;
mod pattern;

use std::sync::LazyLock;

pub use check::Request;

use super::errors::ApiResult;
use super::routing::Operation;

static MODEL: LazyLock<load::Model> = LazyLock::new(|| {
    // The vendored model is fixed at build time and the tests load it: failing here means the
    // file was replaced by one the validator cannot read.
    load::load().unwrap_or_else(|e| panic!("the vendored Connect service model: {e}"))
});

/// Loads and compiles the model now (the emulator calls this when it starts).
pub fn init() {
    LazyLock::force(&MODEL);
}

/// Checks `request` against the input shape of `op`: `Err` is the 400 Connect answers.
pub fn validate(op: Operation, request: &Request) -> ApiResult<()> {
    check::check(&MODEL, MODEL.operation(op), request)
}

#[cfg(test)]
mod tests;
