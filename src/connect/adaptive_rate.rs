//! How fast one (account, region, operation) may go, learnt from Connect's answers: the
//! operator shares Connect's quota with everything else in the account (the console, SCIM
//! sync, scripts), so the configured rate is a ceiling, not a share it owns.
//!
//! CUBIC (RFC 9438) on the rate, as a fraction of the ceiling: a ThrottlingException cuts the
//! rate to `BETA` of what it was, at most once per `HOLD` (Connect's bucket is empty when it
//! throttles and refills only at the margin the cut freed, so the next few requests may bounce
//! too; cutting again for each would sink the rate far below the share that is free); then it
//! grows back along a cubic curve that is flat near the rate
//! that was throttled (few probes where the quota ran out last time) and steep away from it
//! (back to the ceiling soon after the neighbour stops). Time is counted in token intervals of
//! the ceiling (1 / rate), not in seconds: feedback arrives per request, so an account whose
//! quota was raised tenfold adapts tenfold faster, and a time-scaled test behaves as real time.
//! LimitExceededException (also HTTP 429) is a per-instance resource quota, not the API rate:
//! it never lowers the rate; nor do other errors.

use std::time::Instant;

/// What one attempt's answer says about the API rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Feedback {
    /// Answered (whatever the answer, ThrottlingException aside).
    Answered,
    /// ThrottlingException: the account's bucket for the operation is empty.
    Throttled,
}

/// A policy for the rate of each limiter key (see [`super::RateLimiter`]).
pub trait RateControl: Send + Sync + std::fmt::Debug {
    /// The state of a new key, at the ceiling.
    fn new_key(&self) -> Box<dyn KeyRate>;
}

/// One key's rate, as a fraction of its ceiling.
pub trait KeyRate: Send {
    /// The fraction of `ceiling` (requests/s) allowed at `now`, in (0, 1].
    fn fraction(&self, ceiling: f64, now: Instant) -> f64;
    /// The answer to an attempt granted at `sent`; `true` when the rate was lowered.
    fn observe(&mut self, feedback: Feedback, sent: Instant, ceiling: f64, now: Instant) -> bool;
}

/// The operator's policy: [`Cubic`] per key.
#[derive(Clone, Copy, Debug, Default)]
pub struct Adaptive;

impl RateControl for Adaptive {
    fn new_key(&self) -> Box<dyn KeyRate> {
        Box::new(Cubic::default())
    }
}

/// The cut: the rate after a throttle is this fraction of the rate before (CUBIC's and the
/// AWS SDKs' adaptive mode's value).
pub const BETA: f64 = 0.7;
/// The cubic's scale, per token interval cubed: with a cut at half the ceiling, the rate is
/// back where it was cut after 60 token intervals (32 s at 1.9/s), at 90 % of the ceiling
/// after about 143 (75 s) and at the ceiling after about 150. Larger: faster recovery, more
/// probing (throttles) while shared.
pub const SCALE: f64 = 0.5 * (1.0 - BETA) / (60.0 * 60.0 * 60.0);
/// After a cut, throttles of attempts sent within this many token intervals of the ceiling do
/// not cut again (5 s at 1.9/s).
pub const HOLD: f64 = 10.0;
/// Never below this fraction of the ceiling: some requests keep going, so the rate can be
/// learnt back.
pub const FLOOR: f64 = 0.05;

/// One key's CUBIC state.
#[derive(Clone, Debug, Default)]
pub struct Cubic {
    /// The last cut: when, and the fraction it was made at; `None`: never throttled.
    cut: Option<(Instant, f64)>,
}

impl KeyRate for Cubic {
    fn fraction(&self, ceiling: f64, now: Instant) -> f64 {
        let Some((at, before)) = self.cut else {
            return 1.0;
        };
        let intervals = now.saturating_duration_since(at).as_secs_f64() * ceiling;
        let k = (before * (1.0 - BETA) / SCALE).cbrt();
        (before + SCALE * (intervals - k).powi(3)).clamp(FLOOR, 1.0)
    }

    fn observe(&mut self, feedback: Feedback, sent: Instant, ceiling: f64, now: Instant) -> bool {
        if feedback != Feedback::Throttled {
            return false;
        }
        // An attempt sent before the last cut, or while Connect's bucket refills after it, does
        // not say that the cut rate is too high.
        let hold = std::time::Duration::from_secs_f64(HOLD / ceiling);
        if self.cut.is_some_and(|(at, _)| sent <= at + hold) {
            return false;
        }
        let before = self.fraction(ceiling, now);
        self.cut = Some((now, before));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const CEILING: f64 = 2.0;

    fn after(t0: Instant, secs: f64) -> Instant {
        t0 + Duration::from_secs_f64(secs)
    }

    #[test]
    fn a_throttle_cuts_to_beta_once_per_round() {
        let t0 = Instant::now();
        let mut key = Cubic::default();
        assert_eq!(key.fraction(CEILING, t0), 1.0);
        assert!(key.observe(Feedback::Throttled, t0, CEILING, t0));
        assert!((key.fraction(CEILING, t0) - BETA).abs() < 1e-9);
        // Answers to attempts sent before the cut do not cut again.
        assert!(!key.observe(Feedback::Throttled, t0, CEILING, after(t0, 0.1)));
        // Nor do those sent during the hold after it (HOLD intervals: 5 s at 2/s).
        assert!(!key.observe(Feedback::Throttled, after(t0, 4.9), CEILING, after(t0, 5.0)));
        // One sent after that does.
        let t1 = after(t0, 5.1);
        let before = key.fraction(CEILING, after(t0, 5.2));
        assert!(before > BETA && before < 1.0, "{before}");
        assert!(key.observe(Feedback::Throttled, t1, CEILING, after(t0, 5.2)));
        let f = key.fraction(CEILING, after(t0, 5.2));
        assert!((f - BETA * before).abs() < 1e-9, "{f}");
    }

    #[test]
    fn answers_and_other_errors_never_lower_the_rate() {
        let t0 = Instant::now();
        let mut key = Cubic::default();
        for i in 0..100 {
            let t = after(t0, f64::from(i));
            assert!(!key.observe(Feedback::Answered, t, CEILING, t));
        }
        assert_eq!(key.fraction(CEILING, after(t0, 100.0)), 1.0);
    }

    #[test]
    fn recovery_is_flat_near_the_cut_and_reaches_the_ceiling() {
        let t0 = Instant::now();
        let mut key = Cubic::default();
        // Cut at half the ceiling: a neighbour took the other half.
        let cut = t0;
        key.cut = Some((cut, 0.5));
        let at = |secs: f64| key.fraction(CEILING, after(cut, secs));
        assert!((at(0.0) - 0.5 * BETA).abs() < 1e-6);
        // Back at the rate it was cut at after 60 intervals (30 s at 2/s), and flat around it.
        assert!((at(30.0) - 0.5).abs() < 1e-6, "{}", at(30.0));
        // 90 % of the ceiling after about 143 intervals.
        assert!(
            at(70.0) < 0.9 && at(73.0) >= 0.9,
            "{} {}",
            at(70.0),
            at(73.0)
        );
        assert!((at(20.0) - 0.5).abs() < 0.01 && (at(40.0) - 0.5).abs() < 0.01);
        // Monotone, and at 90 % of the ceiling within 120 s.
        let mut last = 0.0;
        for s in 0..240 {
            let f = at(f64::from(s) * 0.5);
            assert!(f >= last - 1e-12, "not monotone at {s}");
            last = f;
        }
        assert!(at(90.0) >= 0.9, "{}", at(90.0));
        // Never above the ceiling.
        assert_eq!(at(10_000.0), 1.0);
    }

    #[test]
    fn time_is_counted_in_token_intervals_of_the_ceiling() {
        let t0 = Instant::now();
        let mut key = Cubic::default();
        key.observe(Feedback::Throttled, t0, CEILING, t0);
        // Ten times the ceiling recovers in a tenth of the time.
        assert!(
            (key.fraction(CEILING, after(t0, 40.0)) - key.fraction(10.0 * CEILING, after(t0, 4.0)))
                .abs()
                < 1e-9
        );
    }

    #[test]
    fn repeated_throttles_stop_at_the_floor() {
        let t0 = Instant::now();
        let mut key = Cubic::default();
        for i in 0..100 {
            let t = after(t0, f64::from(i) * 5.01);
            key.observe(Feedback::Throttled, t, CEILING, t);
        }
        assert_eq!(key.fraction(CEILING, after(t0, 501.0)), FLOOR);
    }
}
