//! Credentials per instance object: a role assumed with STS (aws-config's AssumeRole provider)
//! from the operator's own credentials, one provider per (role, external id, session name).
//! The Connect client's identity cache holds what each provider answers and asks it again
//! shortly before the credentials expire, so AssumeRole is called once per expiry, not per
//! request. STS is reached as the SDK configuration says (`AWS_ENDPOINT_URL_STS`, or
//! [`super::SdkConfigBuilder::sts_endpoint`]).

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::SdkConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_sdk_connect::config::SharedCredentialsProvider;

use crate::model::AssumedRole;

/// The session name when the instance object gives none: CloudTrail shows it as the caller.
pub const DEFAULT_SESSION_NAME: &str = "connect-user-operator";

#[derive(Default)]
pub struct AssumedRoles {
    providers: Mutex<HashMap<AssumedRole, SharedCredentialsProvider>>,
}

impl AssumedRoles {
    /// The provider of `role`'s credentials, built on first use.
    pub async fn provider(
        &self,
        base: &SdkConfig,
        role: &AssumedRole,
    ) -> SharedCredentialsProvider {
        if let Some(p) = self.lock().get(role) {
            return p.clone();
        }
        let mut builder = AssumeRoleProvider::builder(&role.role_arn)
            .session_name(role.session_name.as_deref().unwrap_or(DEFAULT_SESSION_NAME))
            .configure(base);
        if let Some(id) = &role.external_id {
            builder = builder.external_id(id);
        }
        let built = SharedCredentialsProvider::new(builder.build().await);
        // Two first uses at once build two; the first inserted is kept, so one cache serves all.
        self.lock().entry(role.clone()).or_insert(built).clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AssumedRole, SharedCredentialsProvider>> {
        self.providers.lock().unwrap_or_else(|e| e.into_inner())
    }
}
