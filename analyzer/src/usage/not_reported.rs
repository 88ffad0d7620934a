//! Calls that were answered but whose reply carried no usage: an
//! OpenAI-style chat stream whose request did not set
//! `stream_options.include_usage`, a stream cut off before its usage.
//! Their tokens are unknown, so `usage` counts them apart, by reason and
//! by model, and says so: never as zero.

use crate::call::Call;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Answered calls without usage (see [`Call::usage_not_reported`]).
#[derive(Debug, Default)]
pub struct NotReported {
    pub requests: u64,
    pub by_reason: BTreeMap<String, u64>,
    pub by_model: BTreeMap<String, u64>,
}

impl NotReported {
    pub fn add(&mut self, call: &Call, why: &str) {
        self.requests += 1;
        let reason = format!("{}: {why}", call.endpoint.api_name());
        *self.by_reason.entry(reason).or_default() += 1;
        *self
            .by_model
            .entry(super::non_empty(call.model()))
            .or_default() += 1;
    }

    pub fn to_json(&self) -> Value {
        json!({"requests": self.requests, "by_reason": self.by_reason, "by_model": self.by_model})
    }

    /// `chat/completions: stream without … ×2, …`.
    pub fn reasons(&self) -> String {
        let detail: Vec<String> = self
            .by_reason
            .iter()
            .map(|(why, n)| format!("{why} ×{n}"))
            .collect();
        detail.join(", ")
    }
}
