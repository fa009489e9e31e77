//! Test bed for connect-user-operator: in-memory emulators of the Kubernetes API server, of the
//! Amazon Connect API and of AWS STS (with the IAM identities both AWS emulators trust), served
//! over HTTP on 127.0.0.1. Used by tests, benchmarks and the demo; the operator binary never
//! links this crate.

pub mod aws;
pub mod connect;
pub mod kube;
