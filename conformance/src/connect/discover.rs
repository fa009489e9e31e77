//! What the cases need from an instance, found with DescribeInstance and the List* calls, so
//! the suite runs on any sandbox: its identity-management type, a security profile, a routing
//! profile, an agent-transfer flow and (when there is one) a hierarchy group.

use aws_sdk_connect::Client;
use aws_sdk_connect::types::ContactFlowType;
use serde::Serialize;

use super::case::SetupFailed;
use super::observe::Setup;

/// A catalog entry: id and name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Named {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Instance {
    pub id: String,
    pub arn: String,
    /// CONNECT_MANAGED, SAML or EXISTING_DIRECTORY.
    pub identity_management_type: String,
    pub security_profile: Named,
    pub routing_profile: Named,
    /// For USER quick connects (their flow must be of type AGENT_TRANSFER).
    pub agent_transfer_flow: Option<Named>,
    pub hierarchy_group: Option<Named>,
}

impl Instance {
    pub fn is(&self, idm: &str) -> bool {
        self.identity_management_type == idm
    }
}

/// The entry named `preferred` if there is one, else the first.
fn pick(items: Vec<Named>, preferred: &str) -> Option<Named> {
    let position = items.iter().position(|n| n.name == preferred).unwrap_or(0);
    items.into_iter().nth(position)
}

fn named(id: Option<&str>, name: Option<&str>) -> Option<Named> {
    Some(Named {
        id: id?.to_string(),
        name: name?.to_string(),
    })
}

pub async fn instance(client: &Client, instance_id: &str) -> Result<Instance, SetupFailed> {
    let described = client
        .describe_instance()
        .instance_id(instance_id)
        .send()
        .await
        .setup("DescribeInstance")?;
    let i = described.instance().setup("DescribeInstance: Instance")?;
    let identity_management_type = i
        .identity_management_type()
        .setup("DescribeInstance: IdentityManagementType")?
        .as_str()
        .to_string();
    let arn = i.arn().unwrap_or_default().to_string();

    let security: Vec<Named> = client
        .list_security_profiles()
        .instance_id(instance_id)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .setup("ListSecurityProfiles")?
        .iter()
        .filter_map(|s| named(s.id(), s.name()))
        .collect();
    let routing: Vec<Named> = client
        .list_routing_profiles()
        .instance_id(instance_id)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .setup("ListRoutingProfiles")?
        .iter()
        .filter_map(|r| named(r.id(), r.name()))
        .collect();
    let flows: Vec<Named> = client
        .list_contact_flows()
        .instance_id(instance_id)
        .contact_flow_types(ContactFlowType::AgentTransfer)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .setup("ListContactFlows")?
        .iter()
        .filter_map(|f| named(f.id(), f.name()))
        .collect();
    let groups: Vec<Named> = client
        .list_user_hierarchy_groups()
        .instance_id(instance_id)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .setup("ListUserHierarchyGroups")?
        .iter()
        .filter_map(|g| named(g.id(), g.name()))
        .collect();

    Ok(Instance {
        id: instance_id.to_string(),
        arn,
        identity_management_type,
        // Every instance is created with these two; any other will do.
        security_profile: pick(security, "Agent").setup("a security profile")?,
        routing_profile: pick(routing, "Basic Routing Profile").setup("a routing profile")?,
        agent_transfer_flow: pick(flows, "Default agent transfer"),
        hierarchy_group: groups.into_iter().next(),
    })
}
