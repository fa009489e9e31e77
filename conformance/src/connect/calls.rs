//! Counting the requests a run sends, per operation (every attempt, retries included: what
//! Connect's quotas count) and how many were throttled, so a run on a sandbox reports the
//! quota it used.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_connect::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_connect::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde::Serialize;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub requests: u64,
    /// Answered 429 (ThrottlingException, or LimitExceededException).
    pub throttled: u64,
}

/// An SDK interceptor; clones share the counts.
#[derive(Clone, Debug, Default)]
pub struct Calls(Arc<Mutex<BTreeMap<String, Count>>>);

impl Calls {
    fn with(&self, cfg: &ConfigBag, f: impl FnOnce(&mut Count)) {
        let op = cfg
            .load::<Metadata>()
            .map(|m| m.name().to_string())
            .unwrap_or_else(|| "?".into());
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        f(map.entry(op).or_default());
    }

    pub fn counts(&self) -> BTreeMap<String, Count> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "conformance-call-counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.with(cfg, |c| c.requests += 1);
        Ok(())
    }

    fn read_after_transmit(
        &self,
        context: &BeforeDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if context.response().status().as_u16() == 429 {
            self.with(cfg, |c| c.throttled += 1);
        }
        Ok(())
    }
}
