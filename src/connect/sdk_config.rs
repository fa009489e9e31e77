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
use aws_sdk_connect::config::Credentials;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

/// The service id the Connect SDK asks its service config for (`AWS_ENDPOINT_URL_CONNECT`).
const CONNECT: &str = "Connect";
/// The service id of STS (`AWS_ENDPOINT_URL_STS`): AssumeRole and GetCallerIdentity.
const STS: &str = "STS";

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
    sts_endpoint: Option<String>,
    credentials: Option<Credentials>,
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

    /// STS's endpoint, for STS alone, as `AWS_ENDPOINT_URL_STS` sets it: where the instance
    /// objects' roles are assumed.
    pub fn sts_endpoint(mut self, url: impl Into<String>) -> Self {
        self.sts_endpoint = Some(url.into());
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

    pub async fn load(self) -> SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(region) = self.region {
            loader = loader.region(Region::new(region));
        }
        if let Some(credentials) = self.credentials {
            loader = loader.credentials_provider(credentials);
        }
        let chain = loader.load().await;
        let endpoints: Vec<(&'static str, String)> = [
            self.connect_endpoint.map(|url| (CONNECT, url)),
            self.sts_endpoint.map(|url| (STS, url)),
        ]
        .into_iter()
        .flatten()
        .collect();
        if endpoints.is_empty() {
            return chain;
        }
        chain
            .to_builder()
            .service_config(ServiceEndpoints {
                endpoints,
                chain: chain.clone(),
            })
            .build()
    }
}

/// Answers the endpoints given per service as the environment's `AWS_ENDPOINT_URL_<SERVICE>`
/// would, and everything else from the default chain.
#[derive(Debug)]
struct ServiceEndpoints {
    endpoints: Vec<(&'static str, String)>,
    chain: SdkConfig,
}

impl LoadServiceConfig for ServiceEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        if key.profile() == "endpoint_url"
            && let Some((_, url)) = self
                .endpoints
                .iter()
                .find(|(id, _)| *id == key.service_id())
        {
            return Some(url.clone());
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
        assert_ne!(endpoint_of(&config, STS).as_deref(), Some(url));
        // Set for one service, not for all: the global endpoint stays the default chain's.
        assert_ne!(config.endpoint_url(), Some(url));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-2"));
        let connect = aws_sdk_connect::config::Builder::from(&config).build();
        assert_eq!(connect.region().map(|r| r.as_ref()), Some("eu-west-2"));
    }

    #[tokio::test]
    async fn an_sts_endpoint_is_for_sts_only() {
        let config = SdkConfigBuilder::default()
            .region("eu-west-2")
            .connect_endpoint("http://127.0.0.1:9")
            .sts_endpoint("http://127.0.0.1:10")
            .load()
            .await;
        assert_eq!(
            endpoint_of(&config, STS).as_deref(),
            Some("http://127.0.0.1:10")
        );
        assert_eq!(
            endpoint_of(&config, CONNECT).as_deref(),
            Some("http://127.0.0.1:9")
        );
    }
}
