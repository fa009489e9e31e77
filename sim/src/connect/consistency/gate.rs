//! Operations run against what their view shows: which resource an operation addresses, the
//! versions swapped in and out around it, stale-read counting, and recording new versions.

use std::fmt::Debug;

use super::super::arn;
use super::super::errors::{ApiError, ApiResult};
use super::super::model::{SimQuickConnect, SimUser};
use super::super::ops::{Ctx, Outcome};
use super::super::routing::Operation;
use super::super::state::{Instance, State};
use super::history::{At, Histories, Shown};
use super::{InstanceLag, Pin, View, Visibility};

impl Visibility {
    fn count(&mut self, op: Operation) {
        *self.stale.entry(op.name()).or_default() += 1;
    }

    fn histories<K: Kind>(&mut self, instance_id: &str) -> &mut Histories<K::Record> {
        K::histories(self.instances.entry(instance_id.to_string()).or_default())
    }
}

/// Users or quick connects, as the model needs to see them in an instance.
trait Kind {
    type Record: Clone + Debug;
    /// For messages and the draw key.
    const NAME: &'static str;
    fn histories(lag: &mut InstanceLag) -> &mut Histories<Self::Record>;
    fn get<'a>(instance: &'a Instance, id: &str) -> Option<&'a Self::Record>;
    fn seq(instance: &Instance, id: &str) -> Option<u64>;
    fn insert(instance: &mut Instance, seq: u64, record: Self::Record);
    fn remove(instance: &mut Instance, id: &str) -> Option<Self::Record>;
    fn name(record: &Self::Record) -> &str;
    fn pins(id: &str, name: &str) -> [Pin; 2];
}

struct Users;
struct QuickConnects;

impl Kind for Users {
    type Record = SimUser;
    const NAME: &'static str = "User";
    fn histories(lag: &mut InstanceLag) -> &mut Histories<SimUser> {
        &mut lag.users
    }
    fn get<'a>(instance: &'a Instance, id: &str) -> Option<&'a SimUser> {
        instance.user(id)
    }
    fn seq(instance: &Instance, id: &str) -> Option<u64> {
        instance.user_seq(id)
    }
    fn insert(instance: &mut Instance, seq: u64, record: SimUser) {
        instance.insert_user(seq, record);
    }
    fn remove(instance: &mut Instance, id: &str) -> Option<SimUser> {
        instance.remove_user(id)
    }
    fn name(record: &SimUser) -> &str {
        &record.username
    }
    fn pins(id: &str, name: &str) -> [Pin; 2] {
        [Pin::UserId(id.into()), Pin::Username(name.into())]
    }
}

impl Kind for QuickConnects {
    type Record = SimQuickConnect;
    const NAME: &'static str = "Quick connect";
    fn histories(lag: &mut InstanceLag) -> &mut Histories<SimQuickConnect> {
        &mut lag.quick_connects
    }
    fn get<'a>(instance: &'a Instance, id: &str) -> Option<&'a SimQuickConnect> {
        instance.quick_connect(id)
    }
    fn seq(instance: &Instance, id: &str) -> Option<u64> {
        instance.quick_connect_seq(id)
    }
    fn insert(instance: &mut Instance, seq: u64, record: SimQuickConnect) {
        instance.insert_quick_connect(seq, record);
    }
    fn remove(instance: &mut Instance, id: &str) -> Option<SimQuickConnect> {
        instance.remove_quick_connect(id)
    }
    fn name(record: &SimQuickConnect) -> &str {
        &record.name
    }
    fn pins(id: &str, name: &str) -> [Pin; 2] {
        [
            Pin::QuickConnectId(id.into()),
            Pin::QuickConnectName(name.into()),
        ]
    }
}

/// How an operation addresses users or quick connects.
enum Access {
    /// A direct read of one resource.
    Read(String),
    /// A write by id; `name`: a name the write takes (UpdateQuickConnectName).
    Write { id: String, name: Option<String> },
    /// A search or listing.
    Index,
    /// A create, with the name it takes.
    Create(Option<String>),
}

enum Resource {
    User,
    QuickConnect,
}

/// What `op` addresses, when it is a user or quick connect of an instance the caller can see.
fn address(op: Operation, ctx: &Ctx, state: &State) -> Option<(String, Resource, Access)> {
    use Operation::*;
    let label = |i: usize| ctx.labels.get(i).cloned();
    let member = |name: &str| ctx.body.opt_str(name).ok().flatten().map(str::to_string);
    let write = |id: String| Access::Write { id, name: None };
    let (instance, resource, access) = match op {
        DescribeUser | ListUserProficiencies => {
            (label(0)?, Resource::User, Access::Read(label(1)?))
        }
        DeleteUser
        | UpdateUserIdentityInfo
        | UpdateUserPhoneConfig
        | UpdateUserRoutingProfile
        | UpdateUserSecurityProfiles
        | UpdateUserHierarchy
        | UpdateUserConfig
        | AssociateUserProficiencies
        | UpdateUserProficiencies
        | DisassociateUserProficiencies => (label(0)?, Resource::User, write(label(1)?)),
        ListUsers => (label(0)?, Resource::User, Access::Index),
        SearchUsers => (member("InstanceId")?, Resource::User, Access::Index),
        CreateUser => (
            label(0)?,
            Resource::User,
            Access::Create(member("Username")),
        ),
        DescribeQuickConnect => (label(0)?, Resource::QuickConnect, Access::Read(label(1)?)),
        DeleteQuickConnect | UpdateQuickConnectConfig => {
            (label(0)?, Resource::QuickConnect, write(label(1)?))
        }
        UpdateQuickConnectName => (
            label(0)?,
            Resource::QuickConnect,
            Access::Write {
                id: label(1)?,
                name: member("Name"),
            },
        ),
        ListQuickConnects => (label(0)?, Resource::QuickConnect, Access::Index),
        SearchQuickConnects => (member("InstanceId")?, Resource::QuickConnect, Access::Index),
        CreateQuickConnect => (
            label(0)?,
            Resource::QuickConnect,
            Access::Create(member("Name")),
        ),
        TagResource | UntagResource | ListTagsForResource => {
            let parsed = arn::parse(&label(0)?)?;
            // Another account's or Region's ARN names nothing here: the operation says so.
            let serves = state
                .instance(&parsed.instance_id)
                .is_some_and(|i| i.account == parsed.account && i.serves(&parsed.region));
            if parsed.account != ctx.caller.account || !serves {
                return None;
            }
            let resource = match parsed.kind.as_deref()? {
                arn::AGENT => Resource::User,
                arn::TRANSFER_DESTINATION => Resource::QuickConnect,
                _ => return None,
            };
            let id = parsed.id?;
            let access = if op == ListTagsForResource {
                Access::Read(id)
            } else {
                write(id)
            };
            (parsed.instance_id, resource, access)
        }
        _ => return None,
    };
    state.instance_in(&instance, &ctx.caller.region).ok()?;
    Some((instance, resource, access))
}

/// An operation, run against what its view shows (see the module documentation). `run` is the
/// operation itself.
pub fn execute(
    op: Operation,
    ctx: &Ctx,
    state: &mut State,
    run: &dyn Fn(&mut State) -> ApiResult<Outcome>,
) -> ApiResult<Outcome> {
    let Some(now) = state.visibility.now() else {
        return run(state);
    };
    let Some((instance, resource, access)) = address(op, ctx, state) else {
        return run(state);
    };
    let call = Call {
        op,
        instance: &instance,
        now,
        run,
        user: referenced_user(op, ctx),
    };
    match resource {
        Resource::User => call.gate::<Users>(state, access),
        Resource::QuickConnect => call.gate::<QuickConnects>(state, access),
    }
}

struct Call<'a> {
    op: Operation,
    instance: &'a str,
    now: At,
    run: &'a dyn Fn(&mut State) -> ApiResult<Outcome>,
    /// The user a quick connect's configuration names (CreateQuickConnect,
    /// UpdateQuickConnectConfig): the operation checks that it exists, through the direct view.
    user: Option<String>,
}

fn referenced_user(op: Operation, ctx: &Ctx) -> Option<String> {
    if !matches!(
        op,
        Operation::CreateQuickConnect | Operation::UpdateQuickConnectConfig
    ) {
        return None;
    }
    let config = ctx.body.opt_obj("QuickConnectConfig").ok()??;
    let user = config.opt_obj("UserConfig").ok()??;
    user.opt_str("UserId").ok()?.map(str::to_string)
}

/// A record put into the authoritative state for one run of an operation, and what it replaced.
struct Swap<T> {
    seq: u64,
    id: String,
    authoritative: Option<T>,
    /// Reads move the shown version out of its history and back (`Some(index)`); writes put in
    /// a copy, discarded afterwards (the operation may change it).
    moved_from: Option<usize>,
}

fn swap_in<K: Kind>(
    instance: &mut Instance,
    seq: u64,
    id: &str,
    shown: Option<K::Record>,
    moved_from: Option<usize>,
) -> Swap<K::Record> {
    let authoritative = K::remove(instance, id);
    if let Some(record) = shown {
        K::insert(instance, seq, record);
    }
    Swap {
        seq,
        id: id.to_string(),
        authoritative,
        moved_from,
    }
}

/// Puts version `index` of the history at `seq` in place of the authoritative record.
fn stage<K: Kind>(
    instance: &mut Instance,
    histories: &mut Histories<K::Record>,
    seq: u64,
    index: usize,
    copy: bool,
) -> Option<Swap<K::Record>> {
    let history = histories.by_seq.get_mut(&seq)?;
    let version = history.past.get_mut(index)?;
    let shown = if copy {
        version.record.clone()
    } else {
        version.record.take()
    };
    let moved_from = (!copy).then_some(index);
    Some(swap_in::<K>(instance, seq, &history.id, shown, moved_from))
}

fn unstage<K: Kind>(
    instance: &mut Instance,
    histories: &mut Histories<K::Record>,
    swaps: Vec<Swap<K::Record>>,
) {
    for swap in swaps.into_iter().rev() {
        let shown = K::remove(instance, &swap.id);
        if let Some(i) = swap.moved_from
            && let Some(version) = histories
                .by_seq
                .get_mut(&swap.seq)
                .and_then(|h| h.past.get_mut(i))
        {
            version.record = shown;
        }
        if let Some(record) = swap.authoritative {
            K::insert(instance, swap.seq, record);
        }
    }
}

/// Copies of the deleted resources whose name is `name` and whose deletion has not shown
/// everywhere yet, put in so the operation's own uniqueness check sees them.
fn stage_name_ghosts<K: Kind>(
    instance: &mut Instance,
    histories: &Histories<K::Record>,
    name: &str,
) -> Vec<Swap<K::Record>> {
    let ghosts: Vec<(u64, String, K::Record)> = histories
        .by_seq
        .iter()
        .filter(|(_, h)| h.deleted)
        .filter_map(|(seq, h)| {
            h.past
                .iter()
                .rev()
                .filter_map(|v| v.record.as_ref())
                .find(|r| K::name(r) == name)
                .map(|r| (*seq, h.id.clone(), r.clone()))
        })
        .collect();
    ghosts
        .into_iter()
        .map(|(seq, id, record)| swap_in::<K>(instance, seq, &id, Some(record), None))
        .collect()
}

fn differs(a: &ApiResult<Outcome>, b: &ApiResult<Outcome>) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => a.body != b.body,
        (Err(a), Err(b)) => a != b,
        _ => true,
    }
}

fn is_not_found(result: &ApiResult<Outcome>) -> bool {
    matches!(result, Err(e) if e.error_type == "ResourceNotFoundException")
}

/// The other answer AWS documents for a resource that has not propagated yet.
fn not_yet(kind: &str, id: &str) -> ApiError {
    ApiError::invalid_request(format!(
        "{kind} {id} cannot be used yet: a recent change has not propagated; retry after a brief wait"
    ))
}

impl Call<'_> {
    fn gate<K: Kind>(&self, state: &mut State, access: Access) -> ApiResult<Outcome> {
        state
            .visibility
            .histories::<K>(self.instance)
            .sweep(self.now);
        match access {
            Access::Read(id) => self.read::<K>(state, &id),
            Access::Index => self.index::<K>(state),
            Access::Write { id, name } => self.write::<K>(state, &id, name.as_deref()),
            Access::Create(name) => self.create::<K>(state, name.as_deref()),
        }
    }

    /// Runs the operation with `swaps` in place, then puts the authoritative records back.
    fn staged<K: Kind>(
        &self,
        state: &mut State,
        swaps: Vec<Swap<K::Record>>,
    ) -> ApiResult<Outcome> {
        let result = (self.run)(state);
        if let Some((instance, visibility)) = state.lagged(self.instance) {
            unstage::<K>(instance, visibility.histories::<K>(self.instance), swaps);
        }
        result
    }

    /// Counts a stale read and, for an absence the write's draw says so, answers
    /// InvalidRequestException instead of ResourceNotFoundException.
    fn stale(
        &self,
        state: &mut State,
        result: ApiResult<Outcome>,
        invalid: bool,
        kind: &str,
        id: &str,
    ) -> ApiResult<Outcome> {
        state.visibility.count(self.op);
        if invalid && is_not_found(&result) {
            return Err(not_yet(kind, id));
        }
        result
    }

    fn read<K: Kind>(&self, state: &mut State, id: &str) -> ApiResult<Outcome> {
        let Some((instance, visibility)) = state.lagged(self.instance) else {
            return (self.run)(state);
        };
        let histories = visibility.histories::<K>(self.instance);
        let Some((seq, Shown::Past(index), invalid)) = histories.shown(id, View::Direct, self.now)
        else {
            return (self.run)(state);
        };
        let swaps = stage::<K>(instance, histories, seq, index, false)
            .into_iter()
            .collect();
        let shown = self.staged::<K>(state, swaps);
        let consistent = (self.run)(state);
        if !differs(&shown, &consistent) {
            return shown;
        }
        self.stale(state, shown, invalid, K::NAME, id)
    }

    fn index<K: Kind>(&self, state: &mut State) -> ApiResult<Outcome> {
        let Some((instance, visibility)) = state.lagged(self.instance) else {
            return (self.run)(state);
        };
        let histories = visibility.histories::<K>(self.instance);
        let behind: Vec<(u64, usize)> = histories
            .by_seq
            .iter()
            .filter_map(|(seq, h)| match h.shown(View::Search, self.now) {
                Shown::Past(i) => Some((*seq, i)),
                Shown::Latest => None,
            })
            .collect();
        if behind.is_empty() {
            return (self.run)(state);
        }
        let swaps = behind
            .into_iter()
            .filter_map(|(seq, i)| stage::<K>(instance, histories, seq, i, false))
            .collect();
        let shown = self.staged::<K>(state, swaps);
        let consistent = (self.run)(state);
        if differs(&shown, &consistent) {
            state.visibility.count(self.op);
        }
        shown
    }

    fn write<K: Kind>(
        &self,
        state: &mut State,
        id: &str,
        name: Option<&str>,
    ) -> ApiResult<Outcome> {
        let Some((instance, visibility)) = state.lagged(self.instance) else {
            return (self.run)(state);
        };
        let exists = K::get(instance, id).is_some();
        let histories = visibility.histories::<K>(self.instance);
        if let Some((seq, Shown::Past(index), invalid)) =
            histories.shown(id, View::Direct, self.now)
        {
            let visible = histories.by_seq[&seq].past[index].record.is_some();
            if visible != exists {
                // The write cannot find what exists, or finds what is gone: run it against
                // what it sees; a ghost's changes are discarded with it.
                let swaps = stage::<K>(instance, histories, seq, index, true)
                    .into_iter()
                    .collect();
                let result = self.staged::<K>(state, swaps);
                let stale = if visible {
                    result.is_ok()
                } else {
                    is_not_found(&result)
                };
                if !stale {
                    return result;
                }
                return self.stale(state, result, invalid && !visible, K::NAME, id);
            }
        }
        // The view agrees that the resource exists (or not): the write applies to the latest.
        let ghosts = name
            .map(|n| stage_name_ghosts::<K>(instance, histories, n))
            .unwrap_or_default();
        let prior = K::get(instance, id).cloned();
        let seq = K::seq(instance, id);
        let user = self.stage_user(state);
        let result = self.staged::<K>(state, ghosts);
        self.unstage_user(state, user, &result);
        if result.is_ok()
            && let (Some(seq), Some(prior)) = (seq, prior)
        {
            commit::<K>(state, self.instance, id, seq, Some(prior), self.now);
        }
        result
    }

    /// Puts in the user `self.user` as the direct view shows it, when the view disagrees with
    /// the authoritative state about whether it exists (the operation checks only that); with
    /// whether the view shows it.
    fn stage_user(&self, state: &mut State) -> Option<(Swap<SimUser>, bool)> {
        let id = self.user.as_deref()?;
        let (instance, visibility) = state.lagged(self.instance)?;
        let exists = instance.user(id).is_some();
        let histories = visibility.histories::<Users>(self.instance);
        let (seq, Shown::Past(index), _) = histories.shown(id, View::Direct, self.now)? else {
            return None;
        };
        let visible = histories.by_seq[&seq].past[index].record.is_some();
        if visible == exists {
            return None;
        }
        Some((
            stage::<Users>(instance, histories, seq, index, true)?,
            visible,
        ))
    }

    /// Puts the authoritative user back; counts the answer stale when the view made the
    /// difference (a user not found that exists, a quick connect made for a deleted user).
    fn unstage_user(
        &self,
        state: &mut State,
        staged: Option<(Swap<SimUser>, bool)>,
        result: &ApiResult<Outcome>,
    ) {
        let Some((swap, visible)) = staged else {
            return;
        };
        if let Some((instance, visibility)) = state.lagged(self.instance) {
            unstage::<Users>(
                instance,
                visibility.histories::<Users>(self.instance),
                vec![swap],
            );
        }
        if (visible && result.is_ok()) || (!visible && is_not_found(result)) {
            state.visibility.count(self.op);
        }
    }

    fn create<K: Kind>(&self, state: &mut State, name: Option<&str>) -> ApiResult<Outcome> {
        let ghosts = match (name, state.lagged(self.instance)) {
            (Some(name), Some((instance, visibility))) => {
                stage_name_ghosts::<K>(instance, visibility.histories::<K>(self.instance), name)
            }
            _ => Vec::new(),
        };
        let user = self.stage_user(state);
        let result = self.staged::<K>(state, ghosts);
        self.unstage_user(state, user, &result);
        if let Ok(Outcome {
            created: Some(id), ..
        }) = &result
            && let Some(seq) = state.instance(self.instance).and_then(|i| K::seq(i, id))
        {
            commit::<K>(state, self.instance, id, seq, None, self.now);
        }
        result
    }
}

/// Records the new latest version of `id` (at `seq`), which had `prior` before the write.
fn commit<K: Kind>(
    state: &mut State,
    instance_id: &str,
    id: &str,
    seq: u64,
    prior: Option<K::Record>,
    now: At,
) {
    let Some((instance, visibility)) = state.lagged(instance_id) else {
        return;
    };
    let latest = K::get(instance, id);
    let Some(name) = latest.or(prior.as_ref()).map(|r| K::name(r).to_string()) else {
        return;
    };
    let deleted = latest.is_none();
    let key = format!("{instance_id}\0{}\0{name}", K::NAME);
    let Some(stamp) = visibility.draw(&key, &K::pins(id, &name), now) else {
        return;
    };
    visibility
        .histories::<K>(instance_id)
        .record(seq, id, prior, stamp, deleted, now);
}

/// A console edit of user `id` (`ConnectSim::insert_user` and friends): `change` edits the
/// authoritative state; the views then lag behind it like behind an API write.
pub fn console_user<R>(
    state: &mut State,
    instance_id: &str,
    id: &str,
    change: impl FnOnce(&mut State) -> R,
) -> R {
    console::<Users, R>(state, instance_id, id, change)
}

/// A console edit of quick connect `id`.
pub fn console_quick_connect<R>(
    state: &mut State,
    instance_id: &str,
    id: &str,
    change: impl FnOnce(&mut State) -> R,
) -> R {
    console::<QuickConnects, R>(state, instance_id, id, change)
}

fn console<K: Kind, R>(
    state: &mut State,
    instance_id: &str,
    id: &str,
    change: impl FnOnce(&mut State) -> R,
) -> R {
    let Some(now) = state.visibility.now() else {
        return change(state);
    };
    let before = state
        .instance(instance_id)
        .map(|i| (K::get(i, id).cloned(), K::seq(i, id)));
    let result = change(state);
    let (prior, seq) = before.unwrap_or_default();
    let after = state
        .instance(instance_id)
        .map(|i| (K::get(i, id).is_some(), K::seq(i, id)));
    let (exists, seq_after) = after.unwrap_or_default();
    if let Some(seq) = seq.or(seq_after)
        && (prior.is_some() || exists)
    {
        commit::<K>(state, instance_id, id, seq, prior, now);
    }
    result
}
