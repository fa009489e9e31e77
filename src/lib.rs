//! connect-user-operator: Amazon Connect users as Kubernetes resources.

pub mod connect;
pub mod context;
pub mod controller;
pub mod crd;
pub mod crd_reference;
pub mod diff;
pub mod error;
pub mod events;
pub mod export;
pub mod exposition;
pub mod instance;
pub mod leader;
pub mod metrics;
pub mod model;
pub mod prune;
pub mod reconcile;

pub use error::{Error, Result};
pub mod cli;
pub mod runner;
pub mod server;
pub mod sweeper;
pub mod telemetry;
pub mod watch;
