//! The documented rules the model's shapes do not encode (CreateUser's PhoneConfig conflicts,
//! usernames by identity type, identity fields, ACW limits and units, NFC names), and what
//! DeleteUser leaves behind.

use std::sync::Arc;
use std::time::Instant;

use aws_sdk_connect::types::{Channel, PhoneType};
use serde_json::json;

use super::super::case::{
    Area, Basis, Case, CaseResult, Expect, Needs, Observation, Observed, RunFn, SetupFailed,
};
use super::super::cx::Cx;
use super::super::observe;
use super::super::poll::{self, Probe};
use super::{acw, auto_accept, padded, persistent, phone_number, run, soft_phone};

const PARAM: Expect = Expect::Error("InvalidParameterException");
const MANAGED: &[&str] = &["CONNECT_MANAGED"];
const SAML: &[&str] = &["SAML"];
const NAMED: &[&str] = &["CONNECT_MANAGED", "SAML"];
const CONFLICT: &str = "CreateUser.PhoneConfig: \"Fields in PhoneConfig cannot be set simultaneously with their corresponding channel-specific configuration parameters\"";

pub fn cases() -> Vec<Case> {
    use Basis::{Documented, Undocumented};
    let c =
        |name: &str, call: &'static str, expect: Expect, basis: Basis, needs: Needs, run: RunFn| {
            Case::new(Area::Rules, name, call, expect, basis, needs, run)
        };
    vec![
        c(
            "phone-config-auto-accept-with-per-channel",
            "CreateUser",
            PARAM,
            Documented(CONFLICT),
            Needs::Users,
            run!(auto_accept_conflict),
        ),
        c(
            "phone-config-acw-with-per-channel",
            "CreateUser",
            PARAM,
            Documented(CONFLICT),
            Needs::Users,
            run!(acw_conflict),
        ),
        c(
            "phone-config-phone-type-with-per-channel",
            "CreateUser",
            PARAM,
            Documented(CONFLICT),
            Needs::Users,
            run!(phone_type_conflict),
        ),
        c(
            "phone-config-persistent-connection-with-per-channel",
            "CreateUser",
            PARAM,
            Documented(CONFLICT),
            Needs::Users,
            run!(persistent_conflict),
        ),
        c(
            "phone-config-alone-acw-in-seconds",
            "CreateUser+DescribeUser",
            Expect::Field("/PhoneConfig/AfterContactWorkTimeLimit", json!(30)),
            Documented(
                "CreateUser.PhoneConfig is optional and may be sent alone; UserPhoneConfig.AfterContactWorkTimeLimit is in seconds",
            ),
            Needs::Users,
            run!(phone_config_alone),
        ),
        c(
            "per-channel-alone",
            "CreateUser+DescribeUser",
            Expect::Field("/AfterContactWorkConfigs/CHAT", json!(60)),
            Documented(
                "CreateUser: without PhoneConfig \"the user can be configured using channel-specific parameters\"",
            ),
            Needs::Users,
            run!(per_channel_alone),
        ),
        c(
            "phone-config-derived-from-voice",
            "CreateUser+DescribeUser",
            Expect::Field("/PhoneConfig/AfterContactWorkTimeLimit", json!(45)),
            Undocumented(
                "DescribeUser's PhoneConfig shows the VOICE per-channel settings (PhoneConfig is the older spelling of the voice channel: its members conflict with exactly the VOICE-capable lists)",
            ),
            Needs::Users,
            run!(phone_config_derived),
        ),
        c(
            "search-acw-in-milliseconds",
            "SearchUsers",
            Expect::Field("/PhoneConfig/AfterContactWorkTimeLimit", json!(30_000)),
            Documented("SearchUsers: \"AfterContactWorkTimeLimit is returned in milliseconds\""),
            Needs::Users,
            run!(search_acw_milliseconds),
        ),
        c(
            "search-per-channel-acw-in-milliseconds",
            "SearchUsers",
            Expect::Field("/AfterContactWorkConfigs/VOICE", json!(45_000)),
            Undocumented(
                "SearchUsers returns the per-channel AfterContactWorkConfigs limits in milliseconds too (the operation's note names the member, not the shape)",
            ),
            Needs::Users,
            run!(search_per_channel_milliseconds),
        ),
        c(
            "username-at-limit",
            "CreateUser",
            Expect::Success,
            Documented("CreateUser.Username: up to 20 characters without SAML, up to 64 with SAML"),
            Needs::Users,
            run!(username_at_limit),
        ),
        c(
            "username-over-limit",
            "CreateUser",
            PARAM,
            Documented(
                "CreateUser.Username: up to 20 characters without SAML, up to 64 with SAML (the model's 1-100 is looser)",
            ),
            Needs::Users,
            run!(username_over_limit),
        ),
        c(
            "username-characters-saml",
            "CreateUser",
            PARAM,
            Documented(
                "CreateUser.Username with SAML: \"up to 64 characters from [a-zA-Z0-9_-.@]+\"",
            ),
            Needs::IdentityTypes(SAML),
            run!(username_characters),
        ),
        c(
            "username-characters-without-saml",
            "CreateUser",
            PARAM,
            Undocumented(
                "the SAML character set [a-zA-Z0-9_-.@] applies to every instance (documented for SAML only; the stricter reading)",
            ),
            Needs::IdentityTypes(MANAGED),
            run!(username_characters),
        ),
        c(
            "username-at-sign-outside-email",
            "CreateUser",
            PARAM,
            Documented(
                "CreateUser.Username: \"@ only if used in an email format\" (testuser@example is incorrect)",
            ),
            Needs::Users,
            run!(username_at_outside_email),
        ),
        c(
            "username-email-form",
            "CreateUser",
            Expect::Success,
            Documented("CreateUser.Username: testuser@example.com is correct"),
            Needs::Users,
            run!(username_email_form),
        ),
        c(
            "password-required",
            "CreateUser",
            PARAM,
            Documented(
                "CreateUser.Password: \"required if you are using Connect Customer for identity management\"",
            ),
            Needs::IdentityTypes(MANAGED),
            run!(password_missing),
        ),
        c(
            "password-refused",
            "CreateUser",
            PARAM,
            Documented("CreateUser.Password: \"Otherwise, it is an error to include a password\""),
            Needs::IdentityTypes(&["SAML", "EXISTING_DIRECTORY"]),
            run!(password_given),
        ),
        c(
            "password-pattern",
            "CreateUser",
            PARAM,
            Documented(
                "model: Password pattern (a lower-case letter, an upper-case letter, a digit, 8-64)",
            ),
            Needs::IdentityTypes(MANAGED),
            run!(password_weak),
        ),
        c(
            "directory-user-id-saml",
            "CreateUser",
            PARAM,
            Documented(
                "CreateUser.DirectoryUserId: \"If you are using SAML ... and include this parameter, an error is returned\"",
            ),
            Needs::IdentityTypes(SAML),
            run!(directory_user_id),
        ),
        c(
            "directory-user-id-connect-managed",
            "CreateUser",
            PARAM,
            Undocumented(
                "DirectoryUserId is refused on CONNECT_MANAGED instances too (they have no directory; the stricter choice)",
            ),
            Needs::IdentityTypes(MANAGED),
            run!(directory_user_id),
        ),
        c(
            "first-name-required",
            "CreateUser",
            PARAM,
            Documented(
                "UserIdentityInfo.FirstName: \"required if you are using Connect Customer or SAML\"",
            ),
            Needs::IdentityTypes(NAMED),
            run!(first_name_missing),
        ),
        c(
            "last-name-required",
            "CreateUser",
            PARAM,
            Documented(
                "UserIdentityInfo.LastName: \"required if you are using Connect Customer or SAML\"",
            ),
            Needs::IdentityTypes(NAMED),
            run!(last_name_missing),
        ),
        c(
            "email-required-connect-managed",
            "CreateUser",
            PARAM,
            Documented(
                "CreateUser: \"Email, FirstName and LastName are required if you are using Amazon Connect or SAML\"",
            ),
            Needs::IdentityTypes(MANAGED),
            run!(email_missing),
        ),
        c(
            "email-refused-saml",
            "CreateUser",
            PARAM,
            Undocumented(
                "an Email on a SAML instance is refused: UserIdentityInfo.Email says so, CreateUser says it is required; the member's own statement wins",
            ),
            Needs::IdentityTypes(SAML),
            run!(email_given),
        ),
        c(
            "last-name-length-connect-managed",
            "CreateUser",
            PARAM,
            Documented(
                "UserIdentityInfo: with Connect identity management LastName is 1-256 (the model's 0-300 is SAML's)",
            ),
            Needs::IdentityTypes(MANAGED),
            run!(last_name_too_long),
        ),
        c(
            "first-name-decomposed",
            "CreateUser",
            PARAM,
            Documented(
                "UserIdentityInfo.FirstName: \"Inputs must be in Unicode Normalization Form C (NFC)\"",
            ),
            Needs::IdentityTypes(NAMED),
            run!(first_name_decomposed),
        ),
        c(
            "first-name-composed",
            "CreateUser",
            Expect::Success,
            Documented(
                "UserIdentityInfo.FirstName: NFC input (René as one code point) is accepted",
            ),
            Needs::IdentityTypes(NAMED),
            run!(first_name_composed),
        ),
        c(
            "acw-at-maximum",
            "CreateUser",
            Expect::Success,
            Documented(
                "UserPhoneConfig.AfterContactWorkTimeLimit: \"a maximum value of 2,000,000 seconds (24 days)\"",
            ),
            Needs::Users,
            run!(acw_at_maximum),
        ),
        c(
            "acw-over-maximum",
            "CreateUser",
            PARAM,
            Documented("UserPhoneConfig.AfterContactWorkTimeLimit: at most 2,000,000 seconds"),
            Needs::Users,
            run!(acw_over_maximum),
        ),
        c(
            "per-channel-acw-over-maximum",
            "CreateUser",
            PARAM,
            Documented(
                "AfterContactWorkConfig.AfterContactWorkTimeLimit: \"Maximum: 2,000,000 seconds\"",
            ),
            Needs::Users,
            run!(per_channel_acw_over_maximum),
        ),
        c(
            "update-phone-config-acw-every-channel",
            "UpdateUserPhoneConfig",
            Expect::Field("/AfterContactWorkConfigs/CHAT", json!(60)),
            Undocumented(
                "UpdateUserPhoneConfig \"will always set the same ACW timeouts to all channels the user handles\": the emulator does not model routing profiles' channels and sets all four",
            ),
            Needs::Users,
            run!(update_phone_config_every_channel),
        ),
        c(
            "delete-user-keeps-quick-connects",
            "DeleteUser+DescribeQuickConnect",
            Expect::Field("/UserId", json!("<the deleted user>")),
            Documented(
                "DeleteUser: \"After calling DeleteUser, call DeleteQuickConnect to delete any records related to the deleted users\"",
            ),
            Needs::Users,
            run!(delete_keeps_quick_connects),
        ),
    ]
}

async fn create(
    cx: &Cx,
    b: aws_sdk_connect::operation::create_user::builders::CreateUserFluentBuilder,
) -> CaseResult {
    Ok(cx.create_user(b).await.into())
}

async fn auto_accept_conflict(cx: Arc<Cx>) -> CaseResult {
    let b = cx
        .user(&cx.username())
        .phone_config(soft_phone().auto_accept(true).build())
        .auto_accept_configs(auto_accept(Channel::Voice, true));
    create(&cx, b).await
}

async fn acw_conflict(cx: Arc<Cx>) -> CaseResult {
    let b = cx
        .user(&cx.username())
        .phone_config(soft_phone().after_contact_work_time_limit(30).build())
        .after_contact_work_configs(acw(Channel::Voice, 30));
    create(&cx, b).await
}

async fn phone_type_conflict(cx: Arc<Cx>) -> CaseResult {
    let b = cx
        .user(&cx.username())
        .phone_config(soft_phone().build())
        .phone_number_configs(phone_number(Channel::Voice, PhoneType::SoftPhone));
    create(&cx, b).await
}

async fn persistent_conflict(cx: Arc<Cx>) -> CaseResult {
    let b = cx
        .user(&cx.username())
        .phone_config(soft_phone().persistent_connection(true).build())
        .persistent_connection_configs(persistent(Channel::Voice, true));
    create(&cx, b).await
}

/// Creates the user (setup), then reads it back once it shows.
async fn created_then_described(
    cx: &Cx,
    b: aws_sdk_connect::operation::create_user::builders::CreateUserFluentBuilder,
) -> CaseResult {
    let u = cx.setup_user(b).await?;
    Ok(Observed::Success(cx.described(&u.id).await?).into())
}

async fn phone_config_alone(cx: Arc<Cx>) -> CaseResult {
    let b = cx.user(&cx.username()).phone_config(
        soft_phone()
            .auto_accept(true)
            .after_contact_work_time_limit(30)
            .build(),
    );
    created_then_described(&cx, b).await
}

fn per_channel_user(
    cx: &Cx,
) -> aws_sdk_connect::operation::create_user::builders::CreateUserFluentBuilder {
    cx.user(&cx.username())
        .auto_accept_configs(auto_accept(Channel::Voice, true))
        .auto_accept_configs(auto_accept(Channel::Chat, true))
        .after_contact_work_configs(acw(Channel::Voice, 45))
        .after_contact_work_configs(acw(Channel::Chat, 60))
        .phone_number_configs(phone_number(Channel::Voice, PhoneType::SoftPhone))
}

async fn per_channel_alone(cx: Arc<Cx>) -> CaseResult {
    let b = per_channel_user(&cx);
    created_then_described(&cx, b).await
}

async fn phone_config_derived(cx: Arc<Cx>) -> CaseResult {
    let b = per_channel_user(&cx);
    created_then_described(&cx, b).await
}

async fn search_acw_milliseconds(cx: Arc<Cx>) -> CaseResult {
    let b = cx
        .user(&cx.username())
        .phone_config(soft_phone().after_contact_work_time_limit(30).build());
    let u = cx.setup_user(b).await?;
    Ok(Observed::Success(cx.searched(&u.id).await?).into())
}

async fn search_per_channel_milliseconds(cx: Arc<Cx>) -> CaseResult {
    let b = per_channel_user(&cx);
    let u = cx.setup_user(b).await?;
    Ok(Observed::Success(cx.searched(&u.id).await?).into())
}

fn username_limit(cx: &Cx) -> usize {
    if cx.is("SAML") { 64 } else { 20 }
}

async fn username_at_limit(cx: Arc<Cx>) -> CaseResult {
    let name = padded(&cx.username(), username_limit(&cx));
    let detail = format!("{} characters", name.chars().count());
    Ok(Observation::from(cx.create_user(cx.user(&name)).await).with_detail(detail))
}

async fn username_over_limit(cx: Arc<Cx>) -> CaseResult {
    let name = padded(&cx.username(), username_limit(&cx) + 1);
    let detail = format!("{} characters", name.chars().count());
    Ok(Observation::from(cx.create_user(cx.user(&name)).await).with_detail(detail))
}

async fn username_characters(cx: Arc<Cx>) -> CaseResult {
    let name = format!("{}+x", cx.username());
    Ok(Observation::from(cx.create_user(cx.user(&name)).await)
        .with_detail(format!("username {name}")))
}

async fn username_at_outside_email(cx: Arc<Cx>) -> CaseResult {
    let name = format!("{}@example", cx.username());
    Ok(Observation::from(cx.create_user(cx.user(&name)).await)
        .with_detail(format!("username {name}")))
}

async fn username_email_form(cx: Arc<Cx>) -> CaseResult {
    let name = format!("{}@ex.io", cx.username());
    Ok(Observation::from(cx.create_user(cx.user(&name)).await)
        .with_detail(format!("username {name}")))
}

async fn password_missing(cx: Arc<Cx>) -> CaseResult {
    create(&cx, cx.user(&cx.username()).set_password(None)).await
}

async fn password_given(cx: Arc<Cx>) -> CaseResult {
    create(&cx, cx.user(&cx.username()).password(cx.password())).await
}

async fn password_weak(cx: Arc<Cx>) -> CaseResult {
    create(&cx, cx.user(&cx.username()).password("weakpassword")).await
}

async fn directory_user_id(cx: Arc<Cx>) -> CaseResult {
    create(
        &cx,
        cx.user(&cx.username())
            .directory_user_id("cfm-directory-user"),
    )
    .await
}

async fn first_name_missing(cx: Arc<Cx>) -> CaseResult {
    let b = cx
        .user(&cx.username())
        .identity_info(cx.identity().set_first_name(None).build());
    create(&cx, b).await
}

async fn last_name_missing(cx: Arc<Cx>) -> CaseResult {
    let b = cx
        .user(&cx.username())
        .identity_info(cx.identity().set_last_name(None).build());
    create(&cx, b).await
}

async fn email_missing(cx: Arc<Cx>) -> CaseResult {
    let b = cx
        .user(&cx.username())
        .identity_info(cx.identity().set_email(None).build());
    create(&cx, b).await
}

async fn email_given(cx: Arc<Cx>) -> CaseResult {
    let b = cx
        .user(&cx.username())
        .identity_info(cx.identity().email("conformance@example.com").build());
    create(&cx, b).await
}

async fn last_name_too_long(cx: Arc<Cx>) -> CaseResult {
    let b = cx
        .user(&cx.username())
        .identity_info(cx.identity().last_name("L".repeat(257)).build());
    create(&cx, b).await
}

async fn first_name_decomposed(cx: Arc<Cx>) -> CaseResult {
    // "e" followed by a combining acute accent: the decomposed (NFD) form of "é".
    let b = cx
        .user(&cx.username())
        .identity_info(cx.identity().first_name("Rene\u{301}").build());
    create(&cx, b).await
}

async fn first_name_composed(cx: Arc<Cx>) -> CaseResult {
    let b = cx
        .user(&cx.username())
        .identity_info(cx.identity().first_name("Ren\u{e9}").build());
    create(&cx, b).await
}

async fn acw_at_maximum(cx: Arc<Cx>) -> CaseResult {
    let b = cx.user(&cx.username()).phone_config(
        soft_phone()
            .after_contact_work_time_limit(2_000_000)
            .build(),
    );
    create(&cx, b).await
}

async fn acw_over_maximum(cx: Arc<Cx>) -> CaseResult {
    let b = cx.user(&cx.username()).phone_config(
        soft_phone()
            .after_contact_work_time_limit(2_000_001)
            .build(),
    );
    create(&cx, b).await
}

async fn per_channel_acw_over_maximum(cx: Arc<Cx>) -> CaseResult {
    let b = cx
        .user(&cx.username())
        .after_contact_work_configs(acw(Channel::Chat, 2_000_001));
    create(&cx, b).await
}

async fn update_phone_config_every_channel(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    cx.described(&u.id).await?;
    cx.client()
        .update_user_phone_config()
        .instance_id(cx.instance_id())
        .user_id(&u.id)
        .phone_config(soft_phone().after_contact_work_time_limit(60).build())
        .send()
        .await
        .map_err(|e| SetupFailed(format!("UpdateUserPhoneConfig: {}", observe::error(&e))))?;
    // The update shows in DescribeUser after a while; then look at the other channels.
    let since = Instant::now();
    let observed = poll::until(cx.timing(), since, || async {
        match cx.described(&u.id).await {
            Ok(v) if v.pointer("/PhoneConfig/AfterContactWorkTimeLimit") == Some(&json!(60)) => {
                Probe::Done(Observed::Success(v))
            }
            Ok(_) => Probe::Pending("stale".into()),
            Err(e) => Probe::Unexpected(Observed::Error {
                code: "Setup".into(),
                status: None,
                message: e.0,
            }),
        }
    })
    .await;
    match observed {
        Observed::Propagated { last, after, .. } => Ok(Observation::from(*last).with_detail(
            format!("the update showed after {:.3} s", after.as_secs_f64()),
        )),
        other => Ok(other.into()),
    }
}

async fn delete_keeps_quick_connects(cx: Arc<Cx>) -> CaseResult {
    let u = cx.new_user().await?;
    let name = format!("{} keep", cx.username());
    let q = cx
        .setup_quick_connect_when_user_shows(&name, &u.id, &cx.tracker, |b| b)
        .await?;
    cx.delete_user_when_shown(&u.id).await?;
    let observed = poll::until(cx.timing(), Instant::now(), || async {
        let r = cx
            .client()
            .describe_quick_connect()
            .instance_id(cx.instance_id())
            .quick_connect_id(&q.id)
            .send()
            .await;
        match observe::result(&r, |o| {
            o.quick_connect()
                .map(observe::quick_connect)
                .unwrap_or_default()
        }) {
            o @ Observed::Success(_) => Probe::Done(o),
            other => Probe::pending_on(other, poll::NOT_YET),
        }
    })
    .await;
    // The expectation names the deleted user by a placeholder: put the real id in its place.
    let observed = match observed {
        Observed::Propagated { last, .. } => match *last {
            Observed::Success(mut v) => {
                if v["UserId"] == json!(u.id) {
                    v["UserId"] = json!("<the deleted user>");
                }
                Observed::Success(v)
            }
            other => other,
        },
        other => other,
    };
    Ok(Observation::from(observed).with_detail(format!("deleted user {}", u.id)))
}
