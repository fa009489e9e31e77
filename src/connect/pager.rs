//! The one pager: every paged Connect call (List*, Search*) reads all its pages here.
//!
//! Not the SDK's own paginators: they send the follow-up requests themselves, past the
//! client-side rate limiter and the call metrics that every request must go through.

use std::future::Future;

use aws_sdk_connect::Client;
use aws_sdk_connect::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_connect::operation::{
    list_contact_flows::ListContactFlowsOutput, list_routing_profiles::ListRoutingProfilesOutput,
    list_security_profiles::ListSecurityProfilesOutput,
    list_user_hierarchy_groups::ListUserHierarchyGroupsOutput,
    list_user_proficiencies::ListUserProficienciesOutput,
    search_quick_connects::SearchQuickConnectsOutput, search_users::SearchUsersOutput,
};

use super::{ConnectApi, ConnectError, Priority};
use crate::model::InstanceRef;

/// A page of a paged call: where the next one starts.
pub(crate) trait Page {
    fn next_page(&self) -> Option<&str>;
}

macro_rules! pages {
    ($($output:ty),* $(,)?) => {
        $(impl Page for $output {
            fn next_page(&self) -> Option<&str> {
                self.next_token()
            }
        })*
    };
}

pages!(
    ListContactFlowsOutput,
    ListRoutingProfilesOutput,
    ListSecurityProfilesOutput,
    ListUserHierarchyGroupsOutput,
    ListUserProficienciesOutput,
    SearchQuickConnectsOutput,
    SearchUsersOutput,
);

impl ConnectApi {
    /// The items of every page, in order: `request` sends the request for a page token (`None`:
    /// the first page), `items` takes what one page holds. Stops at a page without a token (an
    /// empty token counts as none, as the SDK's paginators read it).
    pub(crate) async fn all_pages<O, T, E, R, Fut>(
        &self,
        at: &InstanceRef,
        operation: &'static str,
        request: impl FnMut(Client, Option<String>) -> Fut,
        items: impl FnMut(&O) -> Vec<T>,
    ) -> Result<Vec<T>, ConnectError>
    where
        O: Page,
        Fut: Future<Output = Result<O, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        self.all_pages_with(Priority::Normal, at, operation, request, items, |_| ())
            .await
    }

    /// [`ConnectApi::all_pages`] at `priority`, telling `progress` how many items were read so
    /// far after each page.
    pub(crate) async fn all_pages_with<O, T, E, R, Fut>(
        &self,
        priority: Priority,
        at: &InstanceRef,
        operation: &'static str,
        mut request: impl FnMut(Client, Option<String>) -> Fut,
        mut items: impl FnMut(&O) -> Vec<T>,
        mut progress: impl FnMut(usize),
    ) -> Result<Vec<T>, ConnectError>
    where
        O: Page,
        Fut: Future<Output = Result<O, SdkError<E, R>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        let mut all = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .call_with(priority, at, operation, |c| request(c, token.take()))
                .await?;
            all.extend(items(&page));
            progress(all.len());
            token = page
                .next_page()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                return Ok(all);
            }
        }
    }
}
