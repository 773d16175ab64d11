//! Values that cross the [`Store`](crate::Store) boundary for sensing: telemetry, rule states,
//! dead letters.
use linli_domain::sensing::{Reading, RuleState};
use serde::Serialize;

/// What one device's messages in a batch change: readings to keep, rule states to remember,
/// and, when it is worth writing, when it was last heard from.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceTelemetry {
    pub device_code: String,
    pub readings: Vec<Reading>,
    pub rule_states: Vec<(String, RuleState)>,
    /// Marks the device heard from (and online, if it was offline) at this time.
    pub seen_at: Option<i64>,
}

/// A refused message, kept with the reason.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeadLetter {
    pub id: i64,
    #[serde(with = "linli_domain::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    /// Where it came from: the device topic, `rule:{rule}` or `status:{device}` (an event the
    /// message caused was refused), or `http:/api/v1/alarms`.
    pub source: String,
    pub device_code: Option<String>,
    pub reason: String,
    /// The payload as received (lossily decoded as UTF-8, cut at 64 KiB).
    pub payload: String,
}

/// How readings are combined into one value per time bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    Avg,
    Min,
    Max,
    Sum,
    Count,
}

impl Aggregate {
    /// Over rows of (n, total, low, high): raw readings (one each) and hourly roll-ups alike.
    pub(crate) fn sql(self) -> &'static str {
        match self {
            Aggregate::Avg => "SUM(total) / NULLIF(SUM(CASE WHEN total IS NULL THEN 0 ELSE n END), 0)",
            Aggregate::Min => "MIN(low)",
            Aggregate::Max => "MAX(high)",
            Aggregate::Sum => "SUM(total)",
            Aggregate::Count => "SUM(n)",
        }
    }
}

/// One attribute of some devices over `[from, to)`, in buckets of `bucket_ms`.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesQuery {
    pub device_codes: Vec<String>,
    pub name: String,
    pub from: i64,
    pub to: i64,
    pub bucket_ms: i64,
    pub aggregate: Aggregate,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SeriesPoint {
    pub device_code: String,
    /// Start of the bucket.
    #[serde(with = "linli_domain::time::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub at: i64,
    pub value: Option<f64>,
    /// Readings in the bucket.
    pub count: i64,
}

/// What a compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Compaction {
    /// Raw readings folded into hourly roll-ups and removed.
    pub readings_removed: u64,
    /// Hourly roll-ups removed for passing their own retention.
    pub hours_removed: u64,
}
