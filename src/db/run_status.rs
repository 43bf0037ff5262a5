//! The status of an entity's run, as `sync_state` and `sync_log` store it: one enum, mapped to
//! the text their CHECK constraints allow, so no status is compared as a string literal.

use std::fmt;
use std::io::Write;

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;

/// Where an entity's run stands (`sync_state.status`) or how it ended (`sync_log.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, AsExpression, FromSqlRow, serde::Serialize)]
#[diesel(sql_type = Text)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Never run (`sync_state` only).
    Idle,
    Running,
    Ok,
    Failed,
    /// The endpoint refused the token (403) on an entity the store may lack.
    Skipped,
    /// The process stopped before the run finished (`sync_log` only).
    Interrupted,
    /// A reconcile found differences (`sync_log` only).
    Differs,
}

impl RunStatus {
    pub const ALL: [RunStatus; 7] = [
        RunStatus::Idle,
        RunStatus::Running,
        RunStatus::Ok,
        RunStatus::Failed,
        RunStatus::Skipped,
        RunStatus::Interrupted,
        RunStatus::Differs,
    ];

    /// The text stored in the tables.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Idle => "idle",
            RunStatus::Running => "running",
            RunStatus::Ok => "ok",
            RunStatus::Failed => "failed",
            RunStatus::Skipped => "skipped",
            RunStatus::Interrupted => "interrupted",
            RunStatus::Differs => "differs",
        }
    }

    /// The status stored as `text`, if it is one.
    pub fn parse(text: &str) -> Option<RunStatus> {
        RunStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == text)
    }

    /// How a run ended: failed with an error, skipped with a reason, or ok.
    pub fn ended(error: Option<&str>, skipped: Option<&str>) -> RunStatus {
        match (error, skipped) {
            (Some(_), _) => RunStatus::Failed,
            (None, Some(_)) => RunStatus::Skipped,
            (None, None) => RunStatus::Ok,
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl ToSql<Text, Pg> for RunStatus {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        out.write_all(self.as_str().as_bytes())?;
        Ok(IsNull::No)
    }
}

impl FromSql<Text, Pg> for RunStatus {
    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
        let text = std::str::from_utf8(bytes.as_bytes())?;
        RunStatus::parse(text).ok_or_else(|| format!("unknown run status {text:?}").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_text() {
        for status in RunStatus::ALL {
            assert_eq!(RunStatus::parse(status.as_str()), Some(status));
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
        assert_eq!(RunStatus::parse("OK"), None);
    }
}
