//! Eventual consistency: the emulator made as slow to agree with itself as Amazon Connect.
//!
//! The API reference ("Amazon Connect eventual consistency") says a change usually propagates in
//! a few seconds but can take several minutes, and that meanwhile calls may answer
//! ResourceNotFoundException or InvalidRequestException; its example is DescribeUser right after
//! CreateUser. Search results lag writes too.
//!
//! # The model
//!
//! The authoritative state (`State`) always holds the latest version of every user and quick
//! connect: writes apply to it at once, and the test-facing readers of `ConnectSim` show it.
//! Every create, update or delete of a user or quick connect, through the API or the console
//! helpers, also gives the resource a new *version* and draws two independent delays, in Connect
//! time, after which the version shows in each of two views:
//!
//! - the **direct** view: DescribeUser, DescribeQuickConnect, ListUserProficiencies,
//!   ListTagsForResource, and every write that addresses a resource by id;
//! - the **search** view (the search index): SearchUsers, SearchQuickConnects, and ListUsers and
//!   ListQuickConnects (the List operations answer summaries from an index as well).
//!
//! A view shows the newest version whose delay has passed, so it never goes back in time; the
//! superseded versions a view may still show are kept in a history per resource, and dropped
//! as soon as no view can show them any more (at the latest `max_delay` after the write), so
//! memory is bounded by the writes of the last window.
//!
//! Reads answer from their view: before a create shows, a direct read answers
//! ResourceNotFoundException (or, for a configurable share of writes, InvalidRequestException:
//! AWS documents both); after an update it answers the previous version; after a delete it still
//! answers the deleted resource (a "ghost"), in Describe and in Search alike.
//!
//! A write by id first resolves its target through the direct view: not shown yet means
//! ResourceNotFoundException; a ghost behaves as if the resource still existed (the operation is
//! checked against the ghost and answers success, but changes nothing: the resource is gone).
//! Otherwise it applies to the authoritative latest version and makes a new version.
//!
//! Name uniqueness is not lagged: CreateUser's DuplicateResourceException (and the quick-connect
//! name checks) see the authoritative state at once, and the name of a just-deleted resource
//! stays taken until its deletion has shown in both views. Neither is documented; both are the
//! stricter choice (an operator that recreates a user at once must cope with the refusal).
//!
//! # How the operations see a view
//!
//! The operation handlers (`ops/`) are not aware of any of this. Before one runs, the versions
//! its view shows are swapped into the authoritative state (a record taken out, an older one or
//! a ghost put in, keeping its creation sequence number), and swapped back after it ran, all
//! under the state lock. So validation order, error messages, paging and rendering are exactly
//! those of the consistent emulator, and only the resources whose view differs cost anything.
//!
//! A read is *stale* when its answer differs from the one the authoritative state gives (the
//! operation is run a second time, unstaged, to compare); such reads are counted per operation
//! for tests (`ConnectSim::stale_reads`). A write by id that was refused for a resource that
//! exists, or that succeeded on a ghost, counts too.
//!
//! # Delays
//!
//! Drawn from a seeded hash of (seed, instance, kind, name, how many writes that name has had),
//! so they do not depend on how writes to different resources interleave: "usually a few
//! seconds" (uniform up to `typical_delay`), and for `tail_share` of the draws "sometimes
//! minutes" (log-uniform between `typical_delay` and `max_delay`). A test can pin the delays of
//! one resource, by id or by name (before it exists), in one view or both. Connect time runs
//! `time_scale` times as fast as real time, and a test can move it forward.
//!
//! # References
//!
//! The user a quick connect's `UserConfig.UserId` names is checked through the direct view:
//! CreateQuickConnect right after CreateUser is refused (the user is not found yet), and one made
//! for a just-deleted user is accepted. Instances and their catalogs (routing and security
//! profiles, hierarchy groups, flows, queues) do not lag.
//!
//! `history.rs` holds the versions and what each view shows; `gate.rs` what each operation
//! addresses, the swapping around it and the recording of new versions.

mod gate;
mod history;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::model::{SimQuickConnect, SimUser};
use history::{At, Histories, Stamp};

pub use gate::{console_quick_connect, console_user, execute};

/// The eventual-consistency model's settings. Delays are in Connect time.
#[derive(Clone, Debug, PartialEq)]
pub struct Consistency {
    /// The longest a change takes to show in a view.
    pub max_delay: Duration,
    /// Most delays are at most this ("usually a few seconds"; capped by `max_delay`).
    pub typical_delay: Duration,
    /// The share of delays drawn from the tail between `typical_delay` and `max_delay`
    /// (log-uniform: "sometimes minutes"), 0.0-1.0.
    pub tail_share: f64,
    /// The share of writes whose not-yet-visible window answers InvalidRequestException instead
    /// of ResourceNotFoundException to direct reads (chosen per write, so all reads of one
    /// window answer alike), 0.0-1.0.
    pub invalid_request_share: f64,
    pub seed: u64,
    /// Connect seconds per real second: 60.0 makes a "minute" of Connect last a real second.
    pub time_scale: f64,
}

impl Consistency {
    /// Delays up to `max_delay`; otherwise the defaults: typically up to 5 s, 10 % from the
    /// tail, 20 % of create windows answering InvalidRequestException, seed 0, real time.
    pub fn new(max_delay: Duration) -> Consistency {
        Consistency {
            max_delay,
            typical_delay: Duration::from_secs(5),
            tail_share: 0.1,
            invalid_request_share: 0.2,
            seed: 0,
            time_scale: 1.0,
        }
    }

    /// A reason when a setting cannot work (a test mistake or a bad flag).
    pub fn check(&self) -> Result<(), String> {
        if !(self.time_scale.is_finite() && self.time_scale > 0.0) {
            return Err(format!(
                "time_scale must be a positive number, not {}",
                self.time_scale
            ));
        }
        for (name, share) in [
            ("tail_share", self.tail_share),
            ("invalid_request_share", self.invalid_request_share),
        ] {
            if !(0.0..=1.0).contains(&share) {
                return Err(format!("{name} must be between 0.0 and 1.0, not {share}"));
            }
        }
        Ok(())
    }

    /// How long `connect` of Connect time lasts in real time.
    pub fn real(&self, connect: Duration) -> Duration {
        connect.div_f64(self.time_scale)
    }

    /// A delay from two uniform draws in [0, 1): whether it comes from the tail, and where.
    fn delay(&self, tail: f64, position: f64) -> Duration {
        let max = self.max_delay.as_secs_f64();
        let typical = self.typical_delay.as_secs_f64().min(max);
        let secs = if tail < self.tail_share && max > typical {
            if typical > 0.0 {
                typical * (max / typical).powf(position)
            } else {
                max * position
            }
        } else {
            typical * position
        };
        Duration::from_secs_f64(secs.clamp(0.0, max))
    }
}

impl Default for Consistency {
    /// "Can take several minutes": at most 5 minutes.
    fn default() -> Self {
        Consistency::new(Duration::from_secs(300))
    }
}

/// A resource whose delays a test fixes, named before it exists (by name) or after (by id).
/// An id pin wins over a name pin.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pin {
    Username(String),
    UserId(String),
    QuickConnectName(String),
    QuickConnectId(String),
}

/// The delay a pinned resource's writes get (Connect time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinnedDelay {
    /// The configured `max_delay`.
    Max,
    Zero,
    Exactly(Duration),
}

impl PinnedDelay {
    fn resolve(self, max: Duration) -> Duration {
        match self {
            PinnedDelay::Max => max,
            PinnedDelay::Zero => Duration::ZERO,
            PinnedDelay::Exactly(d) => d,
        }
    }
}

/// The two views that lag independently.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum View {
    /// Describe*, ListUserProficiencies, ListTagsForResource and writes by id.
    Direct = 0,
    /// Search* and List*.
    Search = 1,
}

const VIEWS: [View; 2] = [View::Direct, View::Search];

/// The delays drawn for one write (Connect time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Delays {
    pub direct: Duration,
    pub search: Duration,
}

/// Connect time: `scale` times real time, plus whatever a test moved it forward.
#[derive(Debug)]
struct Clock {
    real_origin: Instant,
    connect_origin: At,
    scale: f64,
}

impl Clock {
    fn new(scale: f64) -> Clock {
        Clock {
            real_origin: Instant::now(),
            connect_origin: Duration::ZERO,
            scale,
        }
    }

    fn now(&self) -> At {
        self.connect_origin + self.real_origin.elapsed().mul_f64(self.scale)
    }

    /// Changes the rate from now on; Connect time never jumps back.
    fn rescale(&mut self, scale: f64) {
        self.connect_origin = self.now();
        self.real_origin = Instant::now();
        self.scale = scale;
    }
}

#[derive(Debug, Default)]
struct InstanceLag {
    users: Histories<SimUser>,
    quick_connects: Histories<SimQuickConnect>,
}

#[derive(Debug)]
struct Model {
    config: Consistency,
    clock: Clock,
}

/// Everything the model keeps, in `State` (under its lock).
#[derive(Debug, Default)]
pub struct Visibility {
    /// `None`: immediately consistent (the default).
    model: Option<Model>,
    /// Per view, `None` = drawn.
    pins: HashMap<Pin, [Option<PinnedDelay>; 2]>,
    instances: HashMap<String, InstanceLag>,
    /// Writes drawn so far per (instance, kind, name) hash: the draw's position in that name's
    /// own sequence.
    writes: HashMap<u64, u64>,
    stale: BTreeMap<&'static str, u64>,
}

impl Visibility {
    /// Now in Connect time, when the model is on.
    pub fn now(&self) -> Option<At> {
        self.model.as_ref().map(|m| m.clock.now())
    }

    pub fn config(&self) -> Option<&Consistency> {
        self.model.as_ref().map(|m| &m.config)
    }

    /// Switches the model on, changes its settings (pending versions keep their times), or
    /// switches it off (everything is consistent at once). Pins and counters stay.
    pub fn set(&mut self, config: Option<Consistency>) {
        match config {
            None => {
                self.model = None;
                self.instances.clear();
                self.writes.clear();
            }
            Some(config) => {
                let clock = match self.model.take() {
                    Some(mut m) => {
                        m.clock.rescale(config.time_scale);
                        m.clock
                    }
                    None => Clock::new(config.time_scale),
                };
                self.model = Some(Model { config, clock });
            }
        }
    }

    /// Moves Connect time forward, as if `by` had passed.
    pub fn advance(&mut self, by: Duration) {
        if let Some(m) = &mut self.model {
            m.clock.connect_origin += by;
        }
    }

    pub fn pin(&mut self, pin: Pin, view: Option<View>, delay: PinnedDelay) {
        let slots = self.pins.entry(pin).or_default();
        match view {
            Some(v) => slots[v as usize] = Some(delay),
            None => *slots = [Some(delay); 2],
        }
    }

    pub fn unpin(&mut self, pin: &Pin) {
        self.pins.remove(pin);
    }

    pub fn clear_pins(&mut self) {
        self.pins.clear();
    }

    /// The state of an instance that is replaced starts consistent.
    pub fn forget_instance(&mut self, instance_id: &str) {
        self.instances.remove(instance_id);
    }

    /// True when every view shows every resource's latest version.
    pub fn settled(&mut self) -> bool {
        let Some(now) = self.now() else {
            return true;
        };
        self.instances.values_mut().all(|lag| {
            lag.users.sweep(now);
            lag.quick_connects.sweep(now);
            lag.users.by_seq.is_empty() && lag.quick_connects.by_seq.is_empty()
        })
    }

    /// Superseded versions kept for the views (what pruning bounds).
    pub fn pending_versions(&self) -> usize {
        self.instances
            .values()
            .map(|l| l.users.versions() + l.quick_connects.versions())
            .sum()
    }

    /// The delays of the latest write of a user or quick connect that has not settled yet.
    pub fn latest_delays(&self, instance_id: &str, id: &str) -> Option<Delays> {
        let lag = self.instances.get(instance_id)?;
        lag.users
            .latest_drawn(id)
            .or_else(|| lag.quick_connects.latest_drawn(id))
    }

    pub fn stale_reads(&self) -> u64 {
        self.stale.values().sum()
    }

    pub fn stale_reads_by_operation(&self) -> BTreeMap<String, u64> {
        self.stale
            .iter()
            .map(|(op, n)| (op.to_string(), *n))
            .collect()
    }

    pub fn reset_stale_reads(&mut self) {
        self.stale.clear();
    }

    pub fn stale_reads_json(&self) -> Value {
        json!({"Total": self.stale_reads(), "ByOperation": self.stale})
    }

    /// For `/_sim/state`: the settings, whether everything has settled, the stale-read counts.
    pub fn to_json(&self) -> Value {
        let now = self.now();
        let unsettled: usize = now
            .map(|now| {
                self.instances
                    .values()
                    .map(|l| l.users.unsettled(now) + l.quick_connects.unsettled(now))
                    .sum()
            })
            .unwrap_or(0);
        let mut out = json!({
            "Enabled": self.model.is_some(),
            "UnsettledResources": unsettled,
            "StaleReads": self.stale_reads_json(),
        });
        if let Some(c) = self.config() {
            out["MaxDelaySeconds"] = json!(c.max_delay.as_secs_f64());
            out["TimeScale"] = json!(c.time_scale);
            out["Seed"] = json!(c.seed);
        }
        out
    }

    fn pinned(&self, pins: &[Pin; 2], view: View) -> Option<PinnedDelay> {
        pins.iter()
            .find_map(|p| self.pins.get(p).and_then(|s| s[view as usize]))
    }

    /// The stamp of a new version of the resource `name` (pins: by id, then by name).
    fn draw(&mut self, key: &str, pins: &[Pin; 2], now: At) -> Option<Stamp> {
        let hash = fnv(key);
        let count = self.writes.entry(hash).or_default();
        let nth = *count;
        *count += 1;
        let config = &self.model.as_ref()?.config;
        let u = |salt: u64| unit(config.seed, hash, nth, salt);
        let mut delays = [config.delay(u(0), u(1)), config.delay(u(2), u(3))];
        for view in VIEWS {
            if let Some(p) = self.pinned(pins, view) {
                delays[view as usize] = p.resolve(config.max_delay);
            }
        }
        Some(Stamp {
            from: [now + delays[0], now + delays[1]],
            drawn: Delays {
                direct: delays[0],
                search: delays[1],
            },
            invalid_request: u(4) < config.invalid_request_share,
        })
    }
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// splitmix64's finalizer.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform draw in [0, 1) that depends only on its inputs.
fn unit(seed: u64, key: u64, nth: u64, salt: u64) -> f64 {
    let h = mix(mix(mix(mix(seed) ^ key) ^ nth) ^ salt);
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(secs: u64) -> At {
        Duration::from_secs(secs)
    }

    #[test]
    fn delays_are_mostly_typical_with_a_tail_up_to_the_max() {
        let c = Consistency::new(Duration::from_secs(300));
        let draws: Vec<Duration> = (0..10_000)
            .map(|n| c.delay(unit(1, 2, n, 0), unit(1, 2, n, 1)))
            .collect();
        let typical = draws.iter().filter(|d| **d <= c.typical_delay).count();
        let minutes = draws
            .iter()
            .filter(|d| **d >= Duration::from_secs(60))
            .count();
        assert!(draws.iter().all(|d| *d <= c.max_delay));
        assert!((8_800..=9_200).contains(&typical), "{typical} typical");
        assert!(minutes > 100 && minutes < 1_000, "{minutes} over a minute");
        // A max below the typical delay caps everything.
        let short = Consistency::new(Duration::from_secs(1));
        assert!(
            (0..1000).all(|n| short.delay(unit(3, 4, n, 0), unit(3, 4, n, 1)) <= short.max_delay)
        );
        // The tail reaches the max.
        assert!(c.delay(0.0, 0.999_999) > Duration::from_secs(299));
    }

    #[test]
    fn draws_depend_on_the_seed_and_the_name_not_on_interleaving() {
        let on = |seed: u64| {
            let mut v = Visibility::default();
            v.set(Some(Consistency {
                seed,
                ..Consistency::default()
            }));
            v
        };
        let pins = |name: &str| [Pin::UserId("id".into()), Pin::Username(name.into())];
        let mut a = on(7);
        let mut b = on(7);
        let a1 = a.draw("alice", &pins("alice"), s(0)).unwrap().drawn;
        let _ = a.draw("bob", &pins("bob"), s(0));
        let a2 = a.draw("alice", &pins("alice"), s(0)).unwrap().drawn;
        let b1 = b.draw("alice", &pins("alice"), s(0)).unwrap().drawn;
        let b2 = b.draw("alice", &pins("alice"), s(0)).unwrap().drawn;
        assert_eq!((a1, a2), (b1, b2), "bob's write in between changes nothing");
        assert_ne!(a1, a2, "each write draws anew");
        let c1 = on(8).draw("alice", &pins("alice"), s(0)).unwrap().drawn;
        assert_ne!(a1, c1);
    }

    #[test]
    fn pins_by_id_win_over_pins_by_name_per_view() {
        let mut v = Visibility::default();
        v.set(Some(Consistency::new(Duration::from_secs(60))));
        v.pin(Pin::Username("alice".into()), None, PinnedDelay::Max);
        v.pin(
            Pin::UserId("u1".into()),
            Some(View::Search),
            PinnedDelay::Exactly(Duration::from_secs(7)),
        );
        let pins = [Pin::UserId("u1".into()), Pin::Username("alice".into())];
        let st = v.draw("k", &pins, s(100)).unwrap();
        assert_eq!(
            st.drawn,
            Delays {
                direct: Duration::from_secs(60),
                search: Duration::from_secs(7)
            }
        );
        assert_eq!(st.from, [s(160), s(107)]);
        v.unpin(&Pin::Username("alice".into()));
        v.pin(
            Pin::UserId("u1".into()),
            Some(View::Direct),
            PinnedDelay::Zero,
        );
        assert_eq!(
            v.draw("k", &pins, s(0)).unwrap().drawn.direct,
            Duration::ZERO
        );
    }

    #[test]
    fn the_clock_scales_rescales_and_advances_without_going_back() {
        // Started 20 ms ago, 1000 times as fast: at least 20 s of Connect have passed.
        let mut clock = Clock {
            real_origin: Instant::now()
                .checked_sub(Duration::from_millis(20))
                .unwrap(),
            ..Clock::new(1000.0)
        };
        let t1 = clock.now();
        assert!(t1 >= s(20), "{t1:?}");
        clock.rescale(1.0);
        let t2 = clock.now();
        assert!(t2 >= t1 && t2 < t1 + s(1));
        let mut v = Visibility::default();
        assert_eq!(v.now(), None, "off by default");
        v.set(Some(Consistency::default()));
        v.advance(s(3600));
        assert!(v.now().unwrap() >= s(3600));
    }

    #[test]
    fn bad_settings_are_refused_with_a_reason() {
        let bad = Consistency {
            time_scale: 0.0,
            ..Consistency::default()
        };
        assert!(bad.check().unwrap_err().contains("time_scale"));
        let bad = Consistency {
            invalid_request_share: 1.5,
            ..Consistency::default()
        };
        assert!(bad.check().unwrap_err().contains("invalid_request_share"));
        assert!(Consistency::default().check().is_ok());
        assert_eq!(
            Consistency {
                time_scale: 60.0,
                ..Consistency::default()
            }
            .real(s(120)),
            s(2)
        );
    }
}
