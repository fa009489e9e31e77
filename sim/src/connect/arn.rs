//! Connect ARNs: `arn:aws:connect:{region}:{account}:instance/{instanceId}[/{kind}/{id}]`.

/// Resource kinds under an instance, as they appear in ARNs.
pub const AGENT: &str = "agent";
pub const TRANSFER_DESTINATION: &str = "transfer-destination";
pub const ROUTING_PROFILE: &str = "routing-profile";
pub const SECURITY_PROFILE: &str = "security-profile";
pub const AGENT_GROUP: &str = "agent-group";
pub const CONTACT_FLOW: &str = "contact-flow";

pub fn instance(region: &str, account: &str, instance_id: &str) -> String {
    format!("arn:aws:connect:{region}:{account}:instance/{instance_id}")
}

pub fn resource(region: &str, account: &str, instance_id: &str, kind: &str, id: &str) -> String {
    format!("{}/{kind}/{id}", instance(region, account, instance_id))
}

/// A parsed resource ARN.
#[derive(Debug, PartialEq, Eq)]
pub struct Arn {
    pub region: String,
    pub account: String,
    pub instance_id: String,
    /// `None` for the instance itself.
    pub kind: Option<String>,
    pub id: Option<String>,
}

pub fn parse(arn: &str) -> Option<Arn> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("connect"), Some(region), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    if !partition.starts_with("aws") || region.is_empty() || account.is_empty() {
        return None;
    }
    let segments: Vec<&str> = rest.split('/').collect();
    let (instance_id, kind, id) = match segments.as_slice() {
        ["instance", instance] => (*instance, None, None),
        ["instance", instance, kind, id] => (*instance, Some(*kind), Some(*id)),
        _ => return None,
    };
    if instance_id.is_empty() || kind.is_some_and(str::is_empty) || id.is_some_and(str::is_empty) {
        return None;
    }
    Some(Arn {
        region: region.into(),
        account: account.into(),
        instance_id: instance_id.into(),
        kind: kind.map(str::to_string),
        id: id.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let a = resource("eu-west-2", "111", "i", AGENT, "u");
        assert_eq!(a, "arn:aws:connect:eu-west-2:111:instance/i/agent/u");
        let p = parse(&a).unwrap();
        assert_eq!(
            (p.region.as_str(), p.kind.as_deref(), p.id.as_deref()),
            ("eu-west-2", Some("agent"), Some("u"))
        );
        assert!(parse("arn:aws:connect:r:a:instance/i/agent").is_none());
        assert!(parse("not-an-arn").is_none());
    }
}
