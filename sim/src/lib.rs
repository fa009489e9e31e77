//! Test bed for connect-user-operator: in-memory emulators of the Kubernetes API server and of
//! the Amazon Connect API, served over HTTP on 127.0.0.1. Used by tests, benchmarks and the
//! demo; the operator binary never links this crate.

pub mod connect;
pub mod kube;
