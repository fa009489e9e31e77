//! An Amazon Connect API emulator: restJson1 over HTTP as `aws-sdk-connect` speaks it, in
//! memory, for the operations connect-user-operator uses (users, quick connects, tags and the
//! instance catalog).
//!
//! Like the real service it verifies each request's SigV4 signature, session token and expiry
//! against the shared `aws::Iam`, serves each account's instances only to that account's
//! credentials, and validates on the server (the SDK does not): every request against the AWS
//! service model it vendors (`service_model`), then the documented rules the model's shapes do
//! not encode. It answers modeled error shapes the SDK turns into typed errors, throttles per
//! account, Region and operation, and pages with opaque tokens. Instances may have Global
//! Resiliency replicas (`InstanceSeed::replicas`). Tests can
//! inject faults, run hooks after a call succeeded, read the call log and edit state directly.
//! Optionally it is eventually consistent, as Connect is (see `consistency`).

mod arn;
mod calls;
mod config;
mod consistency;
mod errors;
mod faults;
mod inspect;
mod model;
mod ops;
mod paging;
mod render;
mod routing;
mod scope;
mod server;
mod service_model;
mod sim;
mod state;
mod throttle;
mod validate;
mod voice;
mod wire;

pub use calls::CallRecord;
pub use config::{ConnectConfig, InstanceSeed, Quota, ReplicaSeed};
pub use consistency::{Consistency, Delays, Pin, PinnedDelay, View};
pub use faults::{Fault, FaultKind};
pub use model::{
    AfterContactWorkConfig, AfterContactWorkConfigPerChannel, AutoAcceptConfig, IdentityInfo,
    PersistentConnectionConfig, PhoneConfig, PhoneNumberConfig, SimQuickConnect, SimUser,
    UserProficiency, VoiceEnhancementConfig,
};
pub use sim::ConnectSim;
