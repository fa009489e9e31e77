//! The call log: every API request, in the order the emulator answered it.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

/// One API call and its outcome. Passwords are never recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct CallRecord {
    /// Connect operation name (`CreateUser`), or `Unknown` for a request no route matched.
    pub operation: String,
    pub instance_id: Option<String>,
    /// The user id, quick connect id or resource ARN the call is about (for CreateUser and
    /// CreateQuickConnect: the new id, once created).
    pub target: Option<String>,
    pub status: u16,
    /// `x-amzn-ErrorType` of an error answer.
    pub error_type: Option<String>,
    pub error_message: Option<String>,
    pub at: SystemTime,
    pub region: String,
    /// The signing key (as claimed, when authentication failed).
    pub access_key_id: String,
    /// The verified caller's account (empty when authentication failed).
    pub account_id: String,
    /// The verified caller's ARN (empty when authentication failed).
    pub principal_arn: String,
    pub request_id: String,
    /// Key request parameters (`Username`, `Name`, `MaxResults`, `NextToken`...).
    pub params: BTreeMap<String, String>,
}

impl CallRecord {
    pub fn to_json(&self) -> Value {
        let at = self
            .at
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        json!({
            "operation": self.operation,
            "instanceId": self.instance_id,
            "target": self.target,
            "status": self.status,
            "errorType": self.error_type,
            "errorMessage": self.error_message,
            "at": at,
            "region": self.region,
            "accessKeyId": self.access_key_id,
            "accountId": self.account_id,
            "principalArn": self.principal_arn,
            "requestId": self.request_id,
            "params": self.params,
        })
    }
}

#[derive(Default)]
pub struct CallLog(Mutex<Vec<CallRecord>>);

impl CallLog {
    pub fn push(&self, record: CallRecord) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(record);
    }

    pub fn all(&self) -> Vec<CallRecord> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
