//! One stored truth for a user's voice settings: the VOICE entries of the per-channel lists.
//! `UserPhoneConfig` is the older view of the same settings, derived from them on every read and
//! written through to them on every write. What the documentation says, and how it is read:
//!
//! - CreateUser: each PhoneConfig member "cannot be set simultaneously with [its] corresponding
//!   channel-specific configuration parameter" (AutoAccept ~ AutoAcceptConfigs,
//!   AfterContactWorkTimeLimit ~ AfterContactWorkConfigs, PhoneType and the phone number ~
//!   PhoneNumberConfigs, PersistentConnection ~ PersistentConnectionConfigs): the two are one
//!   setting, spelled twice. PhoneNumberConfig and PersistentConnectionConfig support only VOICE,
//!   and PhoneNumberConfig.PhoneNumber is "the phone number for the user's desk phone", as
//!   UserPhoneConfig.DeskPhoneNumber is. So PhoneConfig is the VOICE channel.
//! - Reading (DescribeUser, SearchUsers): PhoneType and DeskPhoneNumber come from the VOICE
//!   PhoneNumberConfig, AutoAccept from the VOICE AutoAcceptConfig, AfterContactWorkTimeLimit
//!   from the VOICE AfterContactWorkConfig, PersistentConnection from the VOICE
//!   PersistentConnectionConfig. A channel without an entry shows Connect's defaults
//!   (SOFT_PHONE, no auto-accept, 0 = no ACW limit; no persistent connection member).
//! - Writing a PhoneConfig (CreateUser's PhoneConfig, UpdateUserPhoneConfig): the VOICE entries
//!   take its values, except the after-contact-work limit, which goes to every channel:
//!   "UpdateUserPhoneConfig ... will always set the same ACW timeouts to all channels the user
//!   handles" (the emulator does not model routing profiles' channels, so: all four). The
//!   agent-first-callback settings, which PhoneConfig cannot express, are kept.
//! - Writing per-channel lists (CreateUser's lists, UpdateUserConfig): only the given channels
//!   change; the PhoneConfig view follows the VOICE entries.

use super::model::{
    AfterContactWorkConfig, AfterContactWorkConfigPerChannel, AutoAcceptConfig,
    PersistentConnectionConfig, PhoneConfig, PhoneNumberConfig, SimUser,
};
use super::validate::CHANNELS;

const VOICE: &str = "VOICE";

impl SimUser {
    /// The `UserPhoneConfig` view of the VOICE entries (see the module documentation).
    pub fn phone_config(&self) -> PhoneConfig {
        let number = self
            .phone_number_configs
            .iter()
            .find(|c| c.channel == VOICE);
        PhoneConfig {
            phone_type: Some(
                number
                    .map(|n| n.phone_type.clone())
                    .unwrap_or_else(|| "SOFT_PHONE".into()),
            ),
            auto_accept: Some(
                self.auto_accept_configs
                    .iter()
                    .find(|c| c.channel == VOICE)
                    .is_some_and(|c| c.auto_accept),
            ),
            after_contact_work_time_limit: Some(
                self.after_contact_work_configs
                    .iter()
                    .find(|c| c.channel == VOICE)
                    .and_then(|c| c.after_contact_work_config.after_contact_work_time_limit)
                    .unwrap_or(0),
            ),
            desk_phone_number: number.and_then(|n| n.phone_number.clone()),
            persistent_connection: self
                .persistent_connection_configs
                .iter()
                .find(|c| c.channel == VOICE)
                .map(|c| c.persistent_connection),
        }
    }

    /// Writes a PhoneConfig through to the per-channel entries (see the module documentation).
    /// A member that is `None` is left as it is; `phone_type` sets the VOICE phone number too.
    pub fn set_phone_config(&mut self, phone: &PhoneConfig) {
        if let Some(phone_type) = &phone.phone_type {
            upsert(
                &mut self.phone_number_configs,
                |c| c.channel == VOICE,
                PhoneNumberConfig {
                    channel: VOICE.into(),
                    phone_type: phone_type.clone(),
                    phone_number: phone.desk_phone_number.clone(),
                },
            );
        }
        if let Some(auto_accept) = phone.auto_accept {
            let callback = self
                .auto_accept_configs
                .iter()
                .find(|c| c.channel == VOICE)
                .and_then(|c| c.agent_first_callback_auto_accept);
            upsert(
                &mut self.auto_accept_configs,
                |c| c.channel == VOICE,
                AutoAcceptConfig {
                    channel: VOICE.into(),
                    auto_accept,
                    agent_first_callback_auto_accept: callback,
                },
            );
        }
        if let Some(limit) = phone.after_contact_work_time_limit {
            for channel in CHANNELS {
                let callback = self
                    .after_contact_work_configs
                    .iter()
                    .find(|c| c.channel == *channel)
                    .and_then(|c| c.agent_first_callback_after_contact_work_config.clone());
                upsert(
                    &mut self.after_contact_work_configs,
                    |c| c.channel == *channel,
                    AfterContactWorkConfigPerChannel {
                        channel: channel.to_string(),
                        after_contact_work_config: AfterContactWorkConfig {
                            after_contact_work_time_limit: Some(limit),
                        },
                        agent_first_callback_after_contact_work_config: callback,
                    },
                );
            }
        }
        if let Some(persistent) = phone.persistent_connection {
            upsert(
                &mut self.persistent_connection_configs,
                |c| c.channel == VOICE,
                PersistentConnectionConfig {
                    channel: VOICE.into(),
                    persistent_connection: persistent,
                },
            );
        }
    }

    /// `self` after [`SimUser::set_phone_config`]: for building users in tests.
    pub fn with_phone_config(mut self, phone: &PhoneConfig) -> SimUser {
        self.set_phone_config(phone);
        self
    }
}

/// Replaces the entry `is_it` finds, or appends `item`.
fn upsert<T>(list: &mut Vec<T>, is_it: impl Fn(&T) -> bool, item: T) {
    match list.iter_mut().find(|c| is_it(c)) {
        Some(slot) => *slot = item,
        None => list.push(item),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(kind: &str, desk: Option<&str>, auto: bool, acw: i32) -> PhoneConfig {
        PhoneConfig {
            phone_type: Some(kind.into()),
            auto_accept: Some(auto),
            after_contact_work_time_limit: Some(acw),
            desk_phone_number: desk.map(str::to_string),
            persistent_connection: None,
        }
    }

    #[test]
    fn a_user_without_entries_shows_connects_defaults() {
        assert_eq!(
            SimUser::default().phone_config(),
            phone("SOFT_PHONE", None, false, 0)
        );
    }

    #[test]
    fn a_phone_config_round_trips_and_its_limit_reaches_every_channel() {
        let mut u = SimUser::default();
        let p = PhoneConfig {
            persistent_connection: Some(true),
            ..phone("DESK_PHONE", Some("+14155550100"), true, 30)
        };
        u.set_phone_config(&p);
        assert_eq!(u.phone_config(), p);
        assert_eq!(u.after_contact_work_configs.len(), 4);
        assert_eq!(u.auto_accept_configs.len(), 1, "auto-accept is VOICE only");
        assert_eq!(u.phone_number_configs[0].channel, "VOICE");
        assert_eq!(u.persistent_connection_configs[0].channel, "VOICE");
    }

    #[test]
    fn per_channel_voice_entries_are_the_phone_config() {
        let mut u = SimUser::default();
        u.set_phone_config(&phone("SOFT_PHONE", None, false, 10));
        u.after_contact_work_configs
            .iter_mut()
            .find(|c| c.channel == "VOICE")
            .unwrap()
            .after_contact_work_config
            .after_contact_work_time_limit = Some(45);
        u.auto_accept_configs[0].agent_first_callback_auto_accept = Some(true);
        assert_eq!(u.phone_config(), phone("SOFT_PHONE", None, false, 45));
        // A later phone write keeps what PhoneConfig cannot express.
        u.set_phone_config(&phone("SOFT_PHONE", None, true, 5));
        assert_eq!(
            u.auto_accept_configs[0].agent_first_callback_auto_accept,
            Some(true)
        );
        // Members not given are left alone.
        u.set_phone_config(&PhoneConfig::default());
        assert_eq!(u.phone_config(), phone("SOFT_PHONE", None, true, 5));
    }
}
