//! The operator's former limiter, as a baseline for the benchmark and the adaptive limiter's
//! end-to-end test: every key at its ceiling (`--connect-rate`/`--connect-burst`) whatever
//! Connect answers. Not in the shipped binary. Unlike the former code, whose SDK retries went
//! around the limiter, each retry here takes a token too (the operator's retry loop is the
//! same for both), so a comparison shows what adapting the rate adds, nothing else.

use connect_user_operator::connect::{Feedback, KeyRate, RateControl};
use std::time::Instant;

#[derive(Clone, Copy, Debug, Default)]
pub struct FixedRate;

impl RateControl for FixedRate {
    fn new_key(&self) -> Box<dyn KeyRate> {
        Box::new(FixedRate)
    }
}

impl KeyRate for FixedRate {
    fn fraction(&self, _ceiling: f64, _now: Instant) -> f64 {
        1.0
    }

    fn observe(&mut self, _: Feedback, _: Instant, _: f64, _: Instant) -> bool {
        false
    }
}
