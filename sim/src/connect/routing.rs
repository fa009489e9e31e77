//! restJson1 routing: method + raw path -> operation and its URI labels. The path is split on
//! `/` before percent-decoding, because the SDK encodes `/` and `:` inside labels (an ARN in
//! `/tags/{resourceArn}` arrives as one segment).

use percent_encoding::percent_decode_str;

macro_rules! operations {
    ($($op:ident),* $(,)?) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Operation { $($op),* }

        impl Operation {
            /// Every operation the emulator serves.
            pub const ALL: &[Operation] = &[$(Operation::$op),*];

            pub fn name(self) -> &'static str {
                match self { $(Operation::$op => stringify!($op)),* }
            }
        }
    };
}

operations!(
    CreateUser,
    DescribeUser,
    ListUsers,
    SearchUsers,
    DeleteUser,
    UpdateUserIdentityInfo,
    UpdateUserPhoneConfig,
    UpdateUserRoutingProfile,
    UpdateUserSecurityProfiles,
    UpdateUserHierarchy,
    UpdateUserConfig,
    ListUserProficiencies,
    AssociateUserProficiencies,
    UpdateUserProficiencies,
    DisassociateUserProficiencies,
    CreateQuickConnect,
    DescribeQuickConnect,
    ListQuickConnects,
    SearchQuickConnects,
    DeleteQuickConnect,
    UpdateQuickConnectName,
    UpdateQuickConnectConfig,
    TagResource,
    UntagResource,
    ListTagsForResource,
    ListRoutingProfiles,
    ListSecurityProfiles,
    ListUserHierarchyGroups,
    ListContactFlows,
    DescribeInstance,
);

/// A matched request: the operation and its decoded URI labels in path order.
#[derive(Debug, PartialEq, Eq)]
pub struct Route {
    pub operation: Operation,
    pub labels: Vec<String>,
}

pub fn route(method: &str, raw_path: &str) -> Option<Route> {
    use Operation::*;
    let raw: Vec<&str> = raw_path.strip_prefix('/')?.split('/').collect();
    let segs: Vec<String> = raw
        .iter()
        .map(|s| percent_decode_str(s).decode_utf8().map(|c| c.into_owned()))
        .collect::<Result<_, _>>()
        .ok()?;
    if segs.iter().any(String::is_empty) {
        return None;
    }
    let s: Vec<&str> = segs.iter().map(String::as_str).collect();
    let (operation, labels): (Operation, &[&str]) = match (method, s.as_slice()) {
        ("PUT", ["users", i]) => (CreateUser, &[i]),
        ("GET", ["users", i, u]) => (DescribeUser, &[i, u]),
        ("DELETE", ["users", i, u]) => (DeleteUser, &[i, u]),
        ("GET", ["users-summary", i]) => (ListUsers, &[i]),
        ("POST", ["search-users"]) => (SearchUsers, &[]),
        ("POST", ["users", i, u, "identity-info"]) => (UpdateUserIdentityInfo, &[i, u]),
        ("POST", ["users", i, u, "phone-config"]) => (UpdateUserPhoneConfig, &[i, u]),
        ("POST", ["users", i, u, "routing-profile"]) => (UpdateUserRoutingProfile, &[i, u]),
        ("POST", ["users", i, u, "security-profiles"]) => (UpdateUserSecurityProfiles, &[i, u]),
        ("POST", ["users", i, u, "hierarchy"]) => (UpdateUserHierarchy, &[i, u]),
        ("POST", ["users", i, u, "config"]) => (UpdateUserConfig, &[i, u]),
        ("GET", ["users", i, u, "proficiencies"]) => (ListUserProficiencies, &[i, u]),
        ("POST", ["users", i, u, "proficiencies"]) => (UpdateUserProficiencies, &[i, u]),
        ("POST", ["users", i, u, "associate-proficiencies"]) => {
            (AssociateUserProficiencies, &[i, u])
        }
        ("POST", ["users", i, u, "disassociate-proficiencies"]) => {
            (DisassociateUserProficiencies, &[i, u])
        }
        ("PUT", ["quick-connects", i]) => (CreateQuickConnect, &[i]),
        ("GET", ["quick-connects", i]) => (ListQuickConnects, &[i]),
        ("GET", ["quick-connects", i, q]) => (DescribeQuickConnect, &[i, q]),
        ("DELETE", ["quick-connects", i, q]) => (DeleteQuickConnect, &[i, q]),
        ("POST", ["search-quick-connects"]) => (SearchQuickConnects, &[]),
        ("POST", ["quick-connects", i, q, "name"]) => (UpdateQuickConnectName, &[i, q]),
        ("POST", ["quick-connects", i, q, "config"]) => (UpdateQuickConnectConfig, &[i, q]),
        ("POST", ["tags", arn]) => (TagResource, &[arn]),
        ("DELETE", ["tags", arn]) => (UntagResource, &[arn]),
        ("GET", ["tags", arn]) => (ListTagsForResource, &[arn]),
        ("GET", ["routing-profiles-summary", i]) => (ListRoutingProfiles, &[i]),
        ("GET", ["security-profiles-summary", i]) => (ListSecurityProfiles, &[i]),
        ("GET", ["user-hierarchy-groups-summary", i]) => (ListUserHierarchyGroups, &[i]),
        ("GET", ["contact-flows-summary", i]) => (ListContactFlows, &[i]),
        ("GET", ["instance", i]) => (DescribeInstance, &[i]),
        _ => return None,
    };
    Some(Route {
        operation,
        labels: labels.iter().map(|l| l.to_string()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_decoded_after_splitting() {
        let r = route(
            "POST",
            "/tags/arn%3Aaws%3Aconnect%3Aus-east-1%3A1%3Ainstance%2Fi%2Fagent%2Fu",
        )
        .unwrap();
        assert_eq!(r.operation, Operation::TagResource);
        assert_eq!(
            r.labels,
            vec!["arn:aws:connect:us-east-1:1:instance/i/agent/u"]
        );
        // An unencoded ARN is several segments: no route, as in AWS.
        assert!(route("POST", "/tags/arn:aws:connect:r:1:instance/i/agent/u").is_none());
    }

    #[test]
    fn method_selects_the_operation() {
        assert_eq!(
            route("GET", "/users/i/u/proficiencies").unwrap().operation,
            Operation::ListUserProficiencies
        );
        assert_eq!(
            route("POST", "/users/i/u/proficiencies").unwrap().operation,
            Operation::UpdateUserProficiencies
        );
        assert_eq!(
            route("PUT", "/quick-connects/i").unwrap().operation,
            Operation::CreateQuickConnect
        );
        assert_eq!(
            route("GET", "/quick-connects/i").unwrap().operation,
            Operation::ListQuickConnects
        );
        assert!(route("PATCH", "/users/i").is_none());
        assert!(route("GET", "/users//u").is_none());
        assert_eq!(Operation::SearchQuickConnects.name(), "SearchQuickConnects");
    }
}
