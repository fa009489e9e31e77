//! What an instance object's status shows: DescribeInstance with the instance's credentials,
//! and the account those credentials act in (STS GetCallerIdentity) when no ARN says it.

use aws_sdk_connect::types::DirectoryType;
use aws_sdk_sts::error::ProvideErrorMetadata;

use super::{ConnectApi, ConnectError, ErrorKind};
use crate::model::{IdentityManagement, InstanceRef};

/// One DescribeInstance answer, as the instance object's status needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceDescription {
    pub arn: Option<String>,
    pub alias: Option<String>,
    pub identity_management: IdentityManagement,
    /// `InstanceStatus`: ACTIVE, CREATION_IN_PROGRESS, CREATION_FAILED.
    pub status: Option<String>,
    /// Global Resiliency: the region of the source instance, when the instance is replicated.
    /// Another region than the one called means this is the replica.
    pub source_region: Option<String>,
}

impl ConnectApi {
    pub async fn describe_instance(
        &self,
        at: &InstanceRef,
    ) -> Result<InstanceDescription, ConnectError> {
        let out = self
            .call(at, "DescribeInstance", |c| {
                c.describe_instance().instance_id(&at.instance_id).send()
            })
            .await?;
        let instance = out.instance();
        Ok(InstanceDescription {
            arn: instance.and_then(|i| i.arn()).map(str::to_string),
            alias: instance
                .and_then(|i| i.instance_alias())
                .map(str::to_string),
            identity_management: match instance.and_then(|i| i.identity_management_type()) {
                Some(DirectoryType::ConnectManaged) => IdentityManagement::ConnectManaged,
                Some(DirectoryType::Saml) => IdentityManagement::Saml,
                Some(DirectoryType::ExistingDirectory) => IdentityManagement::ExistingDirectory,
                _ => IdentityManagement::Other,
            },
            status: instance
                .and_then(|i| i.instance_status())
                .map(|s| s.as_str().to_string()),
            source_region: out
                .replication_configuration()
                .and_then(|r| r.source_region())
                .map(str::to_string),
        })
    }

    /// The account the credentials of `at` act in (STS GetCallerIdentity).
    pub async fn caller_account(&self, at: &InstanceRef) -> Result<String, ConnectError> {
        let mut builder = aws_sdk_sts::config::Builder::from(&self.sdk_config);
        if let Some(role) = &at.access.role {
            builder =
                builder.credentials_provider(self.roles.provider(&self.sdk_config, role).await);
        }
        let client = aws_sdk_sts::Client::from_conf(builder.build());
        let out = client.get_caller_identity().send().await.map_err(|e| {
            let code = e.code().unwrap_or("Unknown").to_string();
            let message = e
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| e.to_string());
            ConnectError {
                operation: "GetCallerIdentity",
                kind: if std::error::Error::source(&e).is_some_and(credentials_failed) {
                    ErrorKind::CredentialsUnavailable
                } else {
                    super::kind_of_code(&code)
                },
                code,
                message,
            }
        })?;
        let account = out
            .account()
            .map(str::to_string)
            .ok_or_else(|| ConnectError {
                operation: "GetCallerIdentity",
                kind: ErrorKind::Transient,
                code: "EmptyResponse".into(),
                message: "GetCallerIdentity answered without an account".into(),
            })?;
        if at.access.role.is_none() {
            let _ = self.own_account.set(account.clone());
        }
        Ok(account)
    }

    /// `at` with the operator's own account filled in when it uses the operator's own
    /// credentials and names no account, once the account is known: the same account and
    /// region is one quota whether a raw `instanceId` or a role-less instance object names it.
    pub fn with_own_account(&self, mut at: InstanceRef) -> InstanceRef {
        if at.access.role.is_none() && at.access.account.is_none() {
            at.access.account = self.own_account.get().cloned();
        }
        at
    }
}

/// Whether the request failed because no credentials could be had (AssumeRole refused, STS
/// unreachable), as opposed to the service refusing the request.
pub(crate) fn credentials_failed(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err
            .downcast_ref::<aws_credential_types::provider::error::CredentialsError>()
            .is_some()
        {
            return true;
        }
        source = err.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connect::ConnectSettings;
    use crate::model::{Access, AssumedRole};

    #[test]
    fn own_credentials_get_the_own_account_once_known_and_nothing_else_changes() {
        let api = ConnectApi::new(
            aws_config::SdkConfig::builder().build(),
            ConnectSettings::default(),
        );
        let raw = InstanceRef::own("us-east-1", "i-1");
        assert_eq!(api.with_own_account(raw.clone()), raw, "not known yet");
        api.own_account.set("111111111111".into()).unwrap();
        let filled = api.with_own_account(raw.clone());
        assert_eq!(filled.access.account.as_deref(), Some("111111111111"));
        assert_eq!(super::super::quota_scope(&filled), "111111111111/us-east-1");
        // An ARN's account, or a role's, is left as it is.
        let named = InstanceRef {
            access: Access {
                account: Some("222222222222".into()),
                role: None,
            },
            ..raw.clone()
        };
        assert_eq!(api.with_own_account(named.clone()), named);
        let assumed = InstanceRef {
            access: Access {
                account: None,
                role: Some(AssumedRole {
                    role_arn: "arn:aws:iam::333333333333:role/r".into(),
                    external_id: None,
                    session_name: None,
                }),
            },
            ..raw
        };
        assert_eq!(api.with_own_account(assumed.clone()), assumed);
    }
}
