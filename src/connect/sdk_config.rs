//! The AWS SDK's configuration, built here alone, for the operator and for in-process tests.
//!
//! The operator sets nothing in code: aws-config's default chain finds the region, the
//! credentials (environment, shared files, IRSA web identity, EKS Pod Identity, instance
//! profile) and the endpoints (`AWS_ENDPOINT_URL_CONNECT`, `AWS_ENDPOINT_URL_STS`,
//! `AWS_ENDPOINT_URL`, or `endpoint_url` in the shared config files), as for any AWS tool.
//! In-process tests and the demo give the region, Connect's endpoint and a key here instead:
//! the environment is shared by every thread of the process (and `set_var` is unsafe). The
//! environment path is tested through the binary, as a child process.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_connect::config::{Credentials, SharedCredentialsProvider};
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The service id the Connect SDK asks its service config for (`AWS_ENDPOINT_URL_CONNECT`).
const CONNECT: &str = "Connect";

/// A long-term access key.
#[derive(Clone, Copy)]
pub struct StaticKey<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
}

/// What is set in code on top of aws-config's default chain; `default()` sets nothing, which
/// is how the operator runs.
#[derive(Clone, Debug, Default)]
pub struct SdkConfigBuilder {
    region: Option<String>,
    connect_endpoint: Option<String>,
    credentials: Option<Credentials>,
    assume_role: Option<AssumeRole>,
}

/// A role to assume with STS from the credentials found otherwise.
#[derive(Clone, Debug)]
struct AssumeRole {
    role_arn: String,
    session_name: String,
}

impl SdkConfigBuilder {
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Connect's endpoint, for Connect alone, as `AWS_ENDPOINT_URL_CONNECT` sets it: other
    /// services (STS) keep theirs, which a global `endpoint_url` would override.
    pub fn connect_endpoint(mut self, url: impl Into<String>) -> Self {
        self.connect_endpoint = Some(url.into());
        self
    }

    /// Signs with this key instead of the default credential chain's.
    pub fn static_key(mut self, key: StaticKey<'_>) -> Self {
        self.credentials = Some(Credentials::new(
            key.access_key_id,
            key.secret_access_key,
            None,
            None,
            "static",
        ));
        self
    }

    /// Signs with temporary credentials of `role_arn`, assumed through aws-config's AssumeRole
    /// provider (STS at `AWS_ENDPOINT_URL_STS` or the default endpoint) from the credentials
    /// found otherwise, and refreshed before they expire. Neither set of credentials is logged
    /// by this code.
    pub fn assume_role(
        mut self,
        role_arn: impl Into<String>,
        session_name: impl Into<String>,
    ) -> Self {
        self.assume_role = Some(AssumeRole {
            role_arn: role_arn.into(),
            session_name: session_name.into(),
        });
        self
    }

    pub async fn load(self) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = self.region {
            loader = loader.region(Region::new(region));
        }
        if let Some(credentials) = self.credentials {
            loader = loader.credentials_provider(credentials);
        }
        let mut chain = loader.load().await;
        if let Some(role) = self.assume_role {
            let provider = aws_config::sts::AssumeRoleProvider::builder(role.role_arn)
                .session_name(role.session_name)
                .configure(&chain)
                .build()
                .await;
            chain = chain
                .to_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build();
        }
        match self.connect_endpoint {
            None => chain,
            Some(url) => chain
                .to_builder()
                .service_config(ConnectEndpoint {
                    url,
                    chain: chain.clone(),
                })
                .build(),
        }
    }
}

/// Answers Connect's endpoint as the environment's `AWS_ENDPOINT_URL_CONNECT` would, and
/// everything else (other services' endpoints) from the default chain.
#[derive(Debug)]
struct ConnectEndpoint {
    url: String,
    chain: SdkConfig,
}

impl LoadServiceConfig for ConnectEndpoint {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.service_id() == CONNECT && key.profile() == "endpoint_url" {
            return Some(self.url.clone());
        }
        self.chain.service_config()?.load_config(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint_of(config: &SdkConfig, service_id: &str) -> Option<String> {
        let key = ServiceConfigKey::builder()
            .service_id(service_id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build()
            .unwrap();
        config.service_config()?.load_config(key)
    }

    #[tokio::test]
    async fn a_connect_endpoint_is_for_connect_only() {
        let url = "http://127.0.0.1:9";
        let config = SdkConfigBuilder::default()
            .region("eu-west-2")
            .connect_endpoint(url)
            .static_key(StaticKey {
                access_key_id: "AKIDTEST",
                secret_access_key: "secret",
            })
            .load()
            .await;
        assert_eq!(endpoint_of(&config, CONNECT).as_deref(), Some(url));
        assert_ne!(endpoint_of(&config, "STS").as_deref(), Some(url));
        // Set for one service, not for all: the global endpoint stays the default chain's.
        assert_ne!(config.endpoint_url(), Some(url));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-2"));
        let connect = aws_sdk_connect::config::Builder::from(&config).build();
        assert_eq!(connect.region().map(|r| r.as_ref()), Some("eu-west-2"));
    }
}
