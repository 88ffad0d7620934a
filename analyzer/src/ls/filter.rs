//! `ls`'s filters: which calls a list keeps.

use crate::call::Call;
use crate::classify::{self, Role};
use crate::cli::LsArgs;

/// The filters given on the command line; an empty one keeps everything.
#[derive(Debug, Default)]
pub struct Filter {
    model: Option<String>,
    status: Option<StatusMatch>,
    errors: bool,
    since: Option<i128>,
    until: Option<i128>,
    session: Option<String>,
    main_only: bool,
}

/// `200`, or a class such as `4xx`.
#[derive(Debug, PartialEq)]
enum StatusMatch {
    Exact(i64),
    Class(i64),
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FilterError {
    #[error("--status {0:?}: give a code like 529 or a class like 5xx")]
    Status(String),
    #[error("--{flag} {value:?}: give a day (2026-11-25) or a time (2026-11-25T12:00:00Z)")]
    Time { flag: &'static str, value: String },
}

impl Filter {
    pub fn from_args(a: &LsArgs) -> Result<Filter, FilterError> {
        let status = a.status.as_deref().map(parse_status).transpose()?;
        let since = a
            .since
            .as_deref()
            .map(|v| parse_time("since", v, false))
            .transpose()?;
        let until = a
            .until
            .as_deref()
            .map(|v| parse_time("until", v, true))
            .transpose()?;
        Ok(Filter {
            model: a.model.as_ref().map(|m| m.to_ascii_lowercase()),
            status,
            errors: a.errors,
            since,
            until,
            session: a.session.clone(),
            main_only: a.main_only,
        })
    }

    pub fn keeps(&self, call: &Call) -> bool {
        let model_ok = self
            .model
            .as_ref()
            .is_none_or(|m| call.model().to_ascii_lowercase().contains(m.as_str()));
        let status_ok = self.status.as_ref().is_none_or(|s| match s {
            StatusMatch::Exact(code) => call.status == *code,
            StatusMatch::Class(c) => call.status / 100 == *c,
        });
        let errors_ok = !self.errors || is_error(call);
        let t = call.started_nanos();
        let time_ok = self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u);
        let session_ok = self
            .session
            .as_ref()
            .is_none_or(|s| call.session().is_some_and(|id| id.starts_with(s.as_str())));
        let main_ok = !self.main_only || classify::role(call) == Role::Main;
        model_ok && status_ok && errors_ok && time_ok && session_ok && main_ok
    }
}

/// A call that went wrong: not 2xx, an API error, a `_error`, a cut-off stream.
fn is_error(call: &Call) -> bool {
    !(200..300).contains(&call.status)
        || call.reply.api_error.is_some()
        || call.error.is_some()
        || call.reply.cut_off
}

fn parse_status(s: &str) -> Result<StatusMatch, FilterError> {
    let bad = || FilterError::Status(s.to_owned());
    let lower = s.to_ascii_lowercase();
    if let Some(class) = lower.strip_suffix("xx") {
        let c: i64 = class.parse().map_err(|_| bad())?;
        return (1..=5)
            .contains(&c)
            .then_some(StatusMatch::Class(c))
            .ok_or_else(bad);
    }
    s.parse().map(StatusMatch::Exact).map_err(|_| bad())
}

/// Unix nanoseconds of a day's start (or, for `until`, the next day's) or
/// of a full timestamp.
fn parse_time(flag: &'static str, value: &str, end_of_day: bool) -> Result<i128, FilterError> {
    let bad = || FilterError::Time {
        flag,
        value: value.to_owned(),
    };
    if let Some(t) = cctap_archive::model::parse_started(value) {
        return Ok(t.unix_timestamp_nanos());
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = time::Date::parse(value, &format).map_err(|_| bad())?;
    let day = if end_of_day {
        day.next_day().ok_or_else(bad)?
    } else {
        day
    };
    Ok(day.midnight().assume_utc().unix_timestamp_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_times_parse_or_say_what_they_want() {
        assert_eq!(parse_status("529"), Ok(StatusMatch::Exact(529)));
        assert_eq!(parse_status("5XX"), Ok(StatusMatch::Class(5)));
        assert!(parse_status("9xx")
            .unwrap_err()
            .to_string()
            .contains("like 5xx"));
        let day = parse_time("since", "2026-11-25", false).unwrap();
        let next = parse_time("until", "2026-11-25", true).unwrap();
        assert_eq!(next - day, 86_400_000_000_000);
        let t = parse_time("since", "2026-11-25T12:00:00Z", false).unwrap();
        assert_eq!(t - day, 12 * 3_600_000_000_000);
        let e = parse_time("until", "yesterday", true)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("--until \"yesterday\": give a day"), "{e}");
    }
}
