//! The adaptive rate limiter end to end: every request Connect receives took one of its
//! tokens (retries included), and with another client of the account taking part of the quota
//! it is throttled far less than the former fixed-rate limiter, while every resource
//! converges under both.

mod common;

#[path = "../examples/support/fixed_rate.rs"]
mod fixed_rate;
// The bench's neighbour; the test keeps it running throughout (no pause).
#[allow(dead_code)]
#[path = "../examples/support/neighbour.rs"]
mod neighbour;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use connect_user_operator::connect::{ConnectSettings, Rate, RateControl};
use sim::connect::{ConnectConfig, Quota};

fn metric(env: &Env, prefix: &str) -> f64 {
    env.ctx
        .metrics
        .encode()
        .lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The ceiling above the quota, so that Connect throttles and the operator retries: each of
/// those retries must have taken a token like the first attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_connect_received_was_granted_by_the_limiter() {
    let env = Env::start_with(Options {
        connect: ConnectConfig {
            quota: Some(Quota {
                rate_per_sec: 4.0,
                burst: 2,
            }),
            ..connect_config()
        },
        settings: ConnectSettings {
            rate: Some(Rate {
                per_second: 12.0,
                burst: 6,
            }),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let names: Vec<String> = (0..12).map(|i| format!("agent-{i:02}")).collect();
    for n in &names {
        env.create(&manifest(n, "")).await.unwrap();
    }
    for n in &names {
        env.wait_ready(n).await;
    }
    for n in &names[..4] {
        env.delete(n).await;
    }
    for n in &names[..4] {
        env.wait_gone(n).await;
    }
    // Granted tokens are counted before the request is sent, and the emulator records it when
    // it answers: poll until both have caught up with each other.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (grants, requests) = (env.ctx.connect.limiter_grants(), env.connect.calls().len());
        if grants == requests as u64 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the limiter granted {grants} tokens, Connect received {requests} requests"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let calls = env.connect.calls();
    let throttled = calls.iter().filter(|c| c.status == 429).count();
    assert!(
        throttled > 0,
        "the quota never throttled: nothing was retried"
    );
    // Each attempt is in the per-attempt metric, throttled ones as such.
    let attempts = metric(&env, "connect_user_operator_connect_requests_total");
    assert_eq!(attempts as usize, calls.len());
    let throttled_metric = metric(
        &env,
        "connect_user_operator_connect_requests_total{operation=\"CreateUser\",outcome=\"throttled\"}",
    ) + metric(
        &env,
        "connect_user_operator_connect_requests_total{operation=\"DescribeUser\",outcome=\"throttled\"}",
    );
    assert!(throttled_metric > 0.0);
    // The rate of a throttled operation was lowered below the ceiling, and it is exported.
    assert!(metric(&env, "connect_user_operator_connect_allowed_rate{") > 0.0);
}

/// Connect's default quota twice as fast (4/s, burst 5; the limiter's ceiling the operator's
/// default x 2: 3.8/s, burst 4), a neighbour taking 75 % of CreateUser's quota throughout (the
/// 1/s left is far below what the operator's reconciles ask for, even on a slow machine);
/// `users` created. Returns the operator's 429s and attempts.
async fn run_with_neighbour(control: Option<Arc<dyn RateControl>>, users: usize) -> (usize, usize) {
    let env = Env::start_with(Options {
        connect: ConnectConfig {
            quota: Some(Quota {
                rate_per_sec: 4.0,
                burst: 5,
            }),
            ..connect_config()
        },
        settings: ConnectSettings {
            rate: Some(Rate {
                per_second: 3.8,
                burst: 4,
            }),
            control,
            ..Default::default()
        },
        // As the bench runs it: enough reconciles at once to ask for more than is left.
        concurrency: 32,
        ..Default::default()
    })
    .await;
    let client = neighbour::client(&env.connect.endpoint()).await;
    let other = neighbour::Neighbour::start(client, &["CreateUser"], 3.0);
    let names: Vec<String> = (0..users).map(|i| format!("agent-{i:03}")).collect();
    for n in &names {
        env.create(&manifest(n, "")).await.unwrap();
    }
    // All of them, with one deadline: 60 users through 1/s take a minute, and which of them
    // goes first is the limiter's business.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let list = env.api().list(&Default::default()).await.unwrap();
        let ready = list
            .items
            .iter()
            .filter(|cu| ready(cu).is_some_and(|(s, _)| s == "True"))
            .count();
        if ready == names.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{ready} of {} Ready after 300 s",
            names.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    other.stop();
    let calls = env.connect.calls();
    let theirs = calls
        .iter()
        .filter(|c| c.instance_id.as_deref() == Some(neighbour::NEIGHBOUR_INSTANCE));
    let (theirs_n, theirs_429) = theirs.fold((0, 0), |(n, t), c| {
        (n + 1, t + usize::from(c.status == 429))
    });
    eprintln!("neighbour: {theirs_n} requests, {theirs_429} throttled");
    let ours: Vec<_> = env
        .connect
        .calls()
        .into_iter()
        .filter(|c| c.instance_id.as_deref() != Some(neighbour::NEIGHBOUR_INSTANCE))
        .collect();
    let throttled = ours.iter().filter(|c| c.status == 429).count();
    (throttled, ours.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_neighbour_the_adaptive_limiter_is_throttled_far_less_than_the_fixed_one() {
    const USERS: usize = 60;
    // Two rounds of each, interleaved: one short round's 429s are a few dozen, and a loaded
    // machine (which asks for less) moves them by a few; the sums are steadier.
    let (mut fixed_429, mut fixed_attempts, mut adaptive_429, mut adaptive_attempts) = (0, 0, 0, 0);
    for _ in 0..2 {
        let (t, n) = run_with_neighbour(Some(Arc::new(fixed_rate::FixedRate)), USERS).await;
        (fixed_429, fixed_attempts) = (fixed_429 + t, fixed_attempts + n);
        let (t, n) = run_with_neighbour(None, USERS).await;
        (adaptive_429, adaptive_attempts) = (adaptive_429 + t, adaptive_attempts + n);
    }
    eprintln!(
        "fixed: {fixed_429} of {fixed_attempts} attempts throttled; adaptive: {adaptive_429} of {adaptive_attempts}"
    );
    // The fixed limiter sends up to 3.8/s into the 1/s left (a throttled CreateUser comes
    // back to its reconcile, which tries again after its backoff).
    assert!(
        fixed_429 >= USERS / 3,
        "the neighbour hardly throttled the fixed limiter ({fixed_429} in two rounds)"
    );
    // The adaptive one pays for learning the rate (a few cuts from the ceiling down to the
    // share left, each with a few 429s) and then probes rarely; in a run this short the
    // learning is most of its 429s.
    assert!(
        adaptive_429 * 3 <= fixed_429 * 2,
        "adaptive {adaptive_429} throttled, fixed {fixed_429}: expected at most two thirds"
    );
}
