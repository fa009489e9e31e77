//! `Iam`: the one registry of identities both emulators trust, shared by handle. Accounts, IAM
//! users' long-term access keys, roles with their trust policies, the temporary credentials STS
//! issued (one session each), and the web identity tokens a test issued for IRSA.
//!
//! Everything is in memory; clones share it. The readers never hand out a secret that was not
//! created by the caller (`sessions` shows key ids and expirations only).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use rand::Rng;

/// The account every emulator serves by default, and the one the test credentials belong to.
pub const TEST_ACCOUNT_ID: &str = "123456789012";
/// The IAM user the test credentials belong to.
pub const TEST_USER_NAME: &str = "sim-test";
/// A long-term access key of `TEST_USER_NAME`, registered in every `Iam`. Not an AWS key.
pub const TEST_ACCESS_KEY_ID: &str = "AKIAEMULATORTESTKEY1";
pub const TEST_SECRET_ACCESS_KEY: &str = "emulator/test/secret/NOT-A-REAL-AWS-KEY0";

/// The issuer of the web identity tokens `issue_web_identity_token` hands out (an EKS cluster's
/// OIDC provider, in AWS).
pub const OIDC_PROVIDER: &str = "oidc.sim.local/id/EMULATOR";
/// The audience IRSA tokens carry.
pub const WEB_IDENTITY_AUDIENCE: &str = "sts.amazonaws.com";

/// AWS's default for DurationSeconds and a role's MaxSessionDuration.
pub const DEFAULT_SESSION_DURATION: Duration = Duration::from_secs(3600);

/// Who signed a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    User {
        account: String,
        name: String,
        /// `AIDA...`
        id: String,
    },
    AssumedRole {
        account: String,
        role_name: String,
        /// `AROA...`
        role_id: String,
        session_name: String,
    },
}

impl Principal {
    pub fn account(&self) -> &str {
        match self {
            Principal::User { account, .. } | Principal::AssumedRole { account, .. } => account,
        }
    }

    /// `arn:aws:iam::ACCOUNT:user/NAME` or `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub fn arn(&self) -> String {
        match self {
            Principal::User { account, name, .. } => format!("arn:aws:iam::{account}:user/{name}"),
            Principal::AssumedRole {
                account,
                role_name,
                session_name,
                ..
            } => format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"),
        }
    }

    /// GetCallerIdentity's `UserId`: `AIDA...`, or `AROA...:SESSION`.
    pub fn user_id(&self) -> String {
        match self {
            Principal::User { id, .. } => id.clone(),
            Principal::AssumedRole {
                role_id,
                session_name,
                ..
            } => format!("{role_id}:{session_name}"),
        }
    }

    /// The role a session belongs to.
    pub fn role_arn(&self) -> Option<String> {
        match self {
            Principal::User { .. } => None,
            Principal::AssumedRole {
                account, role_name, ..
            } => Some(role_arn(account, role_name)),
        }
    }
}

pub fn role_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{name}")
}

/// Who may assume a role: the trust policy, in emulator terms.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trust {
    /// Principals allowed `sts:AssumeRole`, each one of: an account id or
    /// `arn:aws:iam::ACCOUNT:root` (any user or role session of that account), a user ARN, a
    /// role ARN (any session of that role) or an assumed-role session ARN.
    pub principals: Vec<String>,
    /// The `sts:ExternalId` condition: AssumeRole must pass exactly this ExternalId.
    pub external_id: Option<String>,
    /// `sub` claims (`system:serviceaccount:NAMESPACE:NAME`) allowed
    /// `sts:AssumeRoleWithWebIdentity` with a token from `OIDC_PROVIDER`.
    pub web_identity_subjects: Vec<String>,
    /// `sts:TagSession`: whether session tags may be passed.
    pub allow_tag_session: bool,
}

impl Trust {
    /// Any principal of `account` may assume the role.
    pub fn account(account: &str) -> Trust {
        Trust {
            principals: vec![account.to_string()],
            ..Trust::default()
        }
    }

    pub(crate) fn allows(&self, caller: &Principal) -> bool {
        let account = caller.account();
        let role = caller.role_arn();
        let arn = caller.arn();
        self.principals.iter().any(|p| {
            p == account
                || *p == format!("arn:aws:iam::{account}:root")
                || *p == arn
                || role.as_deref() == Some(p.as_str())
        })
    }
}

/// A key pair, with the session token and expiration of temporary credentials. `Debug` does
/// not show the secret or the token.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
    pub expiration: Option<SystemTime>,
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKey")
            .field("access_key_id", &self.access_key_id)
            .field("expiration", &self.expiration)
            .finish_non_exhaustive()
    }
}

/// One session STS issued (or `issue_session` made), without its secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub access_key_id: String,
    pub role_arn: String,
    pub session_name: String,
    pub account_id: String,
    /// The ARN of the principal that assumed the role (or the web identity's subject).
    pub source: String,
    pub issued: SystemTime,
    pub expiration: SystemTime,
    pub tags: BTreeMap<String, String>,
    pub transitive_tag_keys: BTreeSet<String>,
    pub source_identity: Option<String>,
}

/// A role as stored.
#[derive(Clone, Debug)]
pub(crate) struct Role {
    pub account: String,
    pub name: String,
    pub id: String,
    pub trust: Trust,
    pub max_session_duration: Duration,
}

#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub token: String,
    pub info: SessionInfo,
}

/// What the verifier needs of a key.
#[derive(Clone, Debug)]
pub(crate) struct KeyRecord {
    pub secret: String,
    pub principal: Principal,
    pub session: Option<Session>,
}

#[derive(Clone, Debug)]
pub(crate) struct WebToken {
    pub subject: String,
    pub expiration: SystemTime,
}

/// What a new session carries, beyond its role and name.
#[derive(Clone, Debug, Default)]
pub(crate) struct NewSession {
    pub lifetime: Duration,
    pub source: String,
    pub tags: BTreeMap<String, String>,
    pub transitive_tag_keys: BTreeSet<String>,
    pub source_identity: Option<String>,
}

#[derive(Default, Debug)]
struct Registry {
    accounts: BTreeSet<String>,
    users: BTreeMap<(String, String), String>,
    keys: HashMap<String, KeyRecord>,
    roles: BTreeMap<String, Role>,
    web_tokens: HashMap<String, WebToken>,
    session_lifetime: Option<Duration>,
}

/// The shared identity registry. `Iam::new()` holds `TEST_ACCOUNT_ID` with `TEST_USER_NAME` and
/// its key `TEST_ACCESS_KEY_ID` / `TEST_SECRET_ACCESS_KEY`.
#[derive(Clone)]
pub struct Iam(Arc<Mutex<Registry>>);

impl fmt::Debug for Iam {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.lock();
        f.debug_struct("Iam")
            .field("accounts", &r.accounts)
            .field("roles", &r.roles.keys().collect::<Vec<_>>())
            .field("keys", &r.keys.len())
            .finish()
    }
}

impl Default for Iam {
    fn default() -> Self {
        Iam::new()
    }
}

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random(alphabet: &[u8], n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
        .collect()
}

/// Panics on an account id that is not 12 digits (a mistake in the test).
fn check_account(account: &str) {
    assert!(
        account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()),
        "an AWS account id is 12 digits, not {account:?}"
    );
}

impl Iam {
    pub fn new() -> Iam {
        let iam = Iam(Arc::default());
        iam.add_access_key(
            TEST_ACCOUNT_ID,
            TEST_USER_NAME,
            TEST_ACCESS_KEY_ID,
            TEST_SECRET_ACCESS_KEY,
        );
        iam
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers an account (idempotent). Accounts are also created by the calls that name one.
    ///
    /// # Panics
    /// If `account_id` is not 12 digits.
    pub fn add_account(&self, account_id: &str) {
        check_account(account_id);
        self.lock().accounts.insert(account_id.to_string());
    }

    pub fn accounts(&self) -> Vec<String> {
        self.lock().accounts.iter().cloned().collect()
    }

    fn user_id(r: &mut Registry, account: &str, name: &str) -> String {
        r.accounts.insert(account.to_string());
        r.users
            .entry((account.to_string(), name.to_string()))
            .or_insert_with(|| format!("AIDA{}", random(BASE32, 17)))
            .clone()
    }

    /// Creates IAM user `user_name` in `account_id` (if new) and a new access key for it.
    pub fn create_user(&self, account_id: &str, user_name: &str) -> AccessKey {
        let key = AccessKey {
            access_key_id: format!("AKIA{}", random(BASE32, 16)),
            secret_access_key: random(BASE64, 40),
            session_token: None,
            expiration: None,
        };
        self.add_access_key(
            account_id,
            user_name,
            &key.access_key_id,
            &key.secret_access_key,
        );
        key
    }

    /// Registers a given long-term key for user `user_name` (created if new); replaces a key
    /// with the same id.
    pub fn add_access_key(
        &self,
        account_id: &str,
        user_name: &str,
        access_key_id: &str,
        secret_access_key: &str,
    ) {
        check_account(account_id);
        let mut r = self.lock();
        let id = Iam::user_id(&mut r, account_id, user_name);
        r.keys.insert(
            access_key_id.to_string(),
            KeyRecord {
                secret: secret_access_key.to_string(),
                principal: Principal::User {
                    account: account_id.to_string(),
                    name: user_name.to_string(),
                    id,
                },
                session: None,
            },
        );
    }

    /// Deletes an access key (static or temporary): later requests signed with it are refused
    /// as an unknown key. False if there was none.
    pub fn delete_access_key(&self, access_key_id: &str) -> bool {
        self.lock().keys.remove(access_key_id).is_some()
    }

    /// Creates (or replaces the trust of) role `name` in `account_id`; returns its ARN. Its
    /// MaxSessionDuration is one hour, as AWS's default.
    pub fn create_role(&self, account_id: &str, name: &str, trust: Trust) -> String {
        check_account(account_id);
        let arn = role_arn(account_id, name);
        let mut r = self.lock();
        r.accounts.insert(account_id.to_string());
        let id = r
            .roles
            .get(&arn)
            .map(|role| role.id.clone())
            .unwrap_or_else(|| format!("AROA{}", random(BASE32, 17)));
        let max = r
            .roles
            .get(&arn)
            .map_or(DEFAULT_SESSION_DURATION, |role| role.max_session_duration);
        r.roles.insert(
            arn.clone(),
            Role {
                account: account_id.to_string(),
                name: name.to_string(),
                id,
                trust,
                max_session_duration: max,
            },
        );
        arn
    }

    /// Deletes a role. Its sessions stay valid until they expire, as in AWS.
    pub fn delete_role(&self, role_arn: &str) -> bool {
        self.lock().roles.remove(role_arn).is_some()
    }

    /// The role's MaxSessionDuration (AWS allows 1 to 12 hours): the longest DurationSeconds
    /// AssumeRole accepts. False if there is no such role.
    pub fn set_role_max_session_duration(&self, role_arn: &str, max: Duration) -> bool {
        match self.lock().roles.get_mut(role_arn) {
            Some(role) => {
                role.max_session_duration = max;
                true
            }
            None => false,
        }
    }

    /// Caps the lifetime of every credential issued from now on, whatever DurationSeconds
    /// asked (the emulator's knob: shorter than AWS's 15-minute minimum is allowed, so tests
    /// see credentials expire). `None`: the requested duration, as AWS.
    pub fn set_session_lifetime(&self, cap: Option<Duration>) {
        self.lock().session_lifetime = cap;
    }

    pub fn session_lifetime(&self) -> Option<Duration> {
        self.lock().session_lifetime
    }

    /// A web identity token for service account subject `subject`
    /// (`system:serviceaccount:NAMESPACE:NAME`), as the EKS token projection writes into the
    /// pod: opaque here, valid for `lifetime`, issued by `OIDC_PROVIDER` for
    /// `WEB_IDENTITY_AUDIENCE`. AssumeRoleWithWebIdentity accepts only tokens issued this way.
    pub fn issue_web_identity_token(&self, subject: &str, lifetime: Duration) -> String {
        let token = format!("eyJhbGciOiJSUzI1NiJ9.sim.{}", random(BASE32, 64));
        self.lock().web_tokens.insert(
            token.clone(),
            WebToken {
                subject: subject.to_string(),
                expiration: SystemTime::now() + lifetime,
            },
        );
        token
    }

    /// Revokes a web identity token (as rotating the projected token does, eventually).
    pub fn revoke_web_identity_token(&self, token: &str) -> bool {
        self.lock().web_tokens.remove(token).is_some()
    }

    /// Temporary credentials for `role_arn`, made directly (no trust check, no STS call, not in
    /// STS's call log), living `lifetime` (capped by `set_session_lifetime`).
    ///
    /// # Panics
    /// If there is no such role.
    pub fn issue_session(
        &self,
        role_arn: &str,
        session_name: &str,
        lifetime: Duration,
    ) -> AccessKey {
        let role = self
            .role(role_arn)
            .unwrap_or_else(|| panic!("no role {role_arn}"));
        self.issue(
            &role,
            session_name,
            NewSession {
                lifetime,
                source: "emulator".into(),
                ..NewSession::default()
            },
        )
    }

    /// The whole credential behind `access_key_id` (secret and session token included), for
    /// tests that look for it where it must not be (logs, status, Events).
    pub fn credential(&self, access_key_id: &str) -> Option<AccessKey> {
        let r = self.lock();
        let k = r.keys.get(access_key_id)?;
        Some(AccessKey {
            access_key_id: access_key_id.to_string(),
            secret_access_key: k.secret.clone(),
            session_token: k.session.as_ref().map(|s| s.token.clone()),
            expiration: k.session.as_ref().map(|s| s.info.expiration),
        })
    }

    /// Makes a temporary credential expired now; false if there is no such session.
    pub fn expire_session(&self, access_key_id: &str) -> bool {
        let mut r = self.lock();
        match r
            .keys
            .get_mut(access_key_id)
            .and_then(|k| k.session.as_mut())
        {
            Some(s) => {
                s.info.expiration = SystemTime::now() - Duration::from_secs(1);
                true
            }
            None => false,
        }
    }

    /// Every session issued so far (expired ones too), oldest first.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        let mut all: Vec<SessionInfo> = self
            .lock()
            .keys
            .values()
            .filter_map(|k| k.session.as_ref().map(|s| s.info.clone()))
            .collect();
        all.sort_by_key(|s| s.issued);
        all
    }

    /// Who an access key belongs to.
    pub fn principal(&self, access_key_id: &str) -> Option<Principal> {
        self.lock()
            .keys
            .get(access_key_id)
            .map(|k| k.principal.clone())
    }

    pub(crate) fn key(&self, access_key_id: &str) -> Option<KeyRecord> {
        self.lock().keys.get(access_key_id).cloned()
    }

    /// The session of a temporary key.
    pub(crate) fn session_of(&self, access_key_id: &str) -> Option<SessionInfo> {
        self.lock()
            .keys
            .get(access_key_id)
            .and_then(|k| k.session.as_ref().map(|s| s.info.clone()))
    }

    pub(crate) fn role(&self, role_arn: &str) -> Option<Role> {
        self.lock().roles.get(role_arn).cloned()
    }

    pub(crate) fn web_token(&self, token: &str) -> Option<WebToken> {
        self.lock().web_tokens.get(token).cloned()
    }

    /// Issues a session of `role`.
    pub(crate) fn issue(&self, role: &Role, session_name: &str, new: NewSession) -> AccessKey {
        let mut r = self.lock();
        let lifetime = r
            .session_lifetime
            .map_or(new.lifetime, |cap| cap.min(new.lifetime));
        let issued = SystemTime::now();
        let key = AccessKey {
            access_key_id: format!("ASIA{}", random(BASE32, 16)),
            secret_access_key: random(BASE64, 40),
            session_token: Some(format!("IQoJb3JpZ2luX2VjEM{}", random(BASE64, 300))),
            expiration: Some(issued + lifetime),
        };
        let info = SessionInfo {
            access_key_id: key.access_key_id.clone(),
            role_arn: role_arn(&role.account, &role.name),
            session_name: session_name.to_string(),
            account_id: role.account.clone(),
            source: new.source,
            issued,
            expiration: issued + lifetime,
            tags: new.tags,
            transitive_tag_keys: new.transitive_tag_keys,
            source_identity: new.source_identity,
        };
        r.keys.insert(
            key.access_key_id.clone(),
            KeyRecord {
                secret: key.secret_access_key.clone(),
                principal: Principal::AssumedRole {
                    account: role.account.clone(),
                    role_name: role.name.clone(),
                    role_id: role.id.clone(),
                    session_name: session_name.to_string(),
                },
                session: Some(Session {
                    token: key.session_token.clone().unwrap_or_default(),
                    info,
                }),
            },
        );
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_is_found_whole_by_its_key_id() {
        let iam = Iam::new();
        let role = iam.create_role("222222222222", "target", Trust::account(TEST_ACCOUNT_ID));
        let key = iam.issue_session(&role, "s", Duration::from_secs(60));
        let found = iam.credential(&key.access_key_id).unwrap();
        assert_eq!(found.secret_access_key, key.secret_access_key);
        assert_eq!(found.session_token, key.session_token);
        assert_eq!(found.expiration, key.expiration);
        assert!(iam.credential("ASIANOSUCHKEY").is_none());
        let long_term = iam.credential(TEST_ACCESS_KEY_ID).unwrap();
        assert_eq!(long_term.secret_access_key, TEST_SECRET_ACCESS_KEY);
        assert_eq!(long_term.session_token, None);
    }

    #[test]
    fn the_test_key_is_registered_and_trust_matches_principals() {
        let iam = Iam::new();
        let p = iam.principal(TEST_ACCESS_KEY_ID).unwrap();
        assert_eq!(p.account(), TEST_ACCOUNT_ID);
        assert_eq!(p.arn(), "arn:aws:iam::123456789012:user/sim-test");
        let role = iam.create_role("222222222222", "target", Trust::account(TEST_ACCOUNT_ID));
        let session = iam.issue_session(&role, "s1", Duration::from_secs(60));
        let sp = iam.principal(&session.access_key_id).unwrap();
        assert_eq!(sp.arn(), "arn:aws:sts::222222222222:assumed-role/target/s1");
        assert_eq!(sp.role_arn().as_deref(), Some(role.as_str()));
        assert!(Trust::account(TEST_ACCOUNT_ID).allows(&p));
        assert!(!Trust::account("333333333333").allows(&p));
        let by_role = Trust {
            principals: vec![role.clone()],
            ..Trust::default()
        };
        assert!(by_role.allows(&sp));
        assert!(!by_role.allows(&p));
    }

    #[test]
    fn the_lifetime_cap_shortens_sessions() {
        let iam = Iam::new();
        let role = iam.create_role(TEST_ACCOUNT_ID, "r", Trust::default());
        iam.set_session_lifetime(Some(Duration::from_secs(2)));
        let k = iam.issue_session(&role, "s", Duration::from_secs(3600));
        let left = k
            .expiration
            .unwrap()
            .duration_since(SystemTime::now())
            .unwrap();
        assert!(left <= Duration::from_secs(2), "{left:?}");
        assert!(!format!("{k:?}").contains(&k.secret_access_key));
        assert!(iam.expire_session(&k.access_key_id));
        assert!(iam.sessions()[0].expiration < SystemTime::now());
    }
}
