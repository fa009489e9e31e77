//! The USER quick connect the operator manages for a user (`spec.quickConnect`): create, read,
//! rename, retarget, and the AGENT_TRANSFER flows a spec may name.

use aws_sdk_connect::types::{
    ContactFlowType, QuickConnect, QuickConnectConfig, QuickConnectSearchCriteria,
    QuickConnectType, UserQuickConnectConfig,
};

use super::{
    ConnectApi, ConnectError, LIST_PAGE, Permit, Priority, QUICK_CONNECT_PAGE, build_error,
    convert, exact, named, once,
};
use crate::model::{DesiredQuickConnect, InstanceRef, ManagedQuickConnect, NamedId};

fn user_config(user_id: &str, flow_id: &str) -> Result<QuickConnectConfig, ConnectError> {
    let build = build_error("QuickConnectConfig");
    QuickConnectConfig::builder()
        .quick_connect_type(QuickConnectType::User)
        .user_config(
            UserQuickConnectConfig::builder()
                .user_id(user_id)
                .contact_flow_id(flow_id)
                .build()
                .map_err(&build)?,
        )
        .build()
        .map_err(&build)
}

fn from_sdk(qc: &QuickConnect) -> ManagedQuickConnect {
    let config = qc.quick_connect_config();
    let user = config
        .filter(|c| c.quick_connect_type() == &QuickConnectType::User)
        .and_then(|c| c.user_config());
    ManagedQuickConnect {
        id: qc.quick_connect_id().unwrap_or_default().to_string(),
        name: qc.name().unwrap_or_default().to_string(),
        description: qc.description().map(str::to_string),
        user_id: user.map(|u| u.user_id().to_string()),
        contact_flow_id: user.map(|u| u.contact_flow_id().to_string()),
        tags: convert::tags_from_sdk(qc.tags()),
    }
}

impl ConnectApi {
    /// Flows of type AGENT_TRANSFER, the only type a USER quick connect accepts.
    pub async fn list_agent_transfer_flows(
        &self,
        at: &InstanceRef,
    ) -> Result<Vec<NamedId>, ConnectError> {
        list_named!(
            self,
            at,
            "ListContactFlows",
            list_contact_flows.contact_flow_types(ContactFlowType::AgentTransfer),
            contact_flow_summary_list
        )
    }

    /// CreateQuickConnect of type USER with `tags`, sent once; returns its id.
    pub async fn create_user_quick_connect(
        &self,
        permit: Permit,
        at: &InstanceRef,
        desired: &DesiredQuickConnect,
        tags: std::collections::BTreeMap<String, String>,
    ) -> Result<String, ConnectError> {
        let config = user_config(&desired.user_id, &desired.contact_flow_id)?;
        let out = self
            .call_permitted(permit, at, "CreateQuickConnect", |c| {
                c.create_quick_connect()
                    .instance_id(&at.instance_id)
                    .name(&desired.name)
                    .set_description(desired.description.clone())
                    .quick_connect_config(config)
                    .set_tags(Some(tags.into_iter().collect()))
                    .customize()
                    .config_override(once())
                    .send()
            })
            .await?;
        Ok(out.quick_connect_id().unwrap_or_default().to_string())
    }

    /// DescribeQuickConnect; `None` when it no longer exists.
    pub async fn describe_managed_quick_connect(
        &self,
        at: &InstanceRef,
        id: &str,
    ) -> Result<Option<ManagedQuickConnect>, ConnectError> {
        let found = self
            .describe_quick_connect(Priority::Normal, at, id)
            .await?;
        Ok(found.as_ref().map(from_sdk))
    }

    /// DescribeQuickConnect at `priority`: `None` when Connect does not show it (gone, or not
    /// visible yet). Each caller converts what it needs.
    pub(super) async fn describe_quick_connect(
        &self,
        priority: Priority,
        at: &InstanceRef,
        id: &str,
    ) -> Result<Option<QuickConnect>, ConnectError> {
        let out = self
            .call_with(priority, at, "DescribeQuickConnect", |c| {
                c.describe_quick_connect()
                    .instance_id(&at.instance_id)
                    .quick_connect_id(id)
                    .send()
            })
            .await;
        match out {
            Ok(out) => Ok(out.quick_connect),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The quick connect with exactly this name (names are unique in an instance).
    pub async fn find_quick_connect_by_name(
        &self,
        at: &InstanceRef,
        name: &str,
    ) -> Result<Option<ManagedQuickConnect>, ConnectError> {
        let criteria = QuickConnectSearchCriteria::builder()
            .string_condition(exact("name", name))
            .build();
        let found = self
            .all_pages(
                at,
                "SearchQuickConnects",
                |c, token| {
                    c.search_quick_connects()
                        .instance_id(&at.instance_id)
                        .search_criteria(criteria.clone())
                        .max_results(QUICK_CONNECT_PAGE)
                        .set_next_token(token)
                        .send()
                },
                |page| page.quick_connects().iter().map(from_sdk).collect(),
            )
            .await?;
        Ok(found.into_iter().find(|q| q.name == name))
    }

    /// UpdateQuickConnectName with the name and, when set, the description.
    pub async fn update_quick_connect_name(
        &self,
        at: &InstanceRef,
        id: &str,
        name: &str,
        description: Option<&str>,
    ) -> Result<(), ConnectError> {
        self.call(at, "UpdateQuickConnectName", |c| {
            c.update_quick_connect_name()
                .instance_id(&at.instance_id)
                .quick_connect_id(id)
                .name(name)
                .set_description(description.map(str::to_string))
                .send()
        })
        .await?;
        Ok(())
    }

    /// UpdateQuickConnectConfig: a USER quick connect to `user_id` through `flow_id`.
    pub async fn update_quick_connect_target(
        &self,
        at: &InstanceRef,
        id: &str,
        user_id: &str,
        flow_id: &str,
    ) -> Result<(), ConnectError> {
        let config = user_config(user_id, flow_id)?;
        self.call(at, "UpdateQuickConnectConfig", |c| {
            c.update_quick_connect_config()
                .instance_id(&at.instance_id)
                .quick_connect_id(id)
                .quick_connect_config(config.clone())
                .send()
        })
        .await?;
        Ok(())
    }
}
