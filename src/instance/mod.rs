//! Instance objects: the `ConnectInstance` and `ClusterConnectInstance` kinds, which ConnectUsers
//! may use (resolution before any Connect call), and their own reconcile (status, finalizer).

pub mod controller;
pub mod crd;
pub mod resolve;
pub mod selector;
pub mod sweep;
pub mod wakeups;
