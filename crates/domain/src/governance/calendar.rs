//! The business calendar: which days are working days, in Beijing time (UTC+8, no DST).
//! Weekends rest unless listed as make-up working days (调休); listed holidays rest.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::InvalidField;
use crate::keyword_enum;
use crate::time::{date_of_days, days_from_civil, is_valid_date};

/// Beijing's offset from UTC, in milliseconds.
pub const BEIJING_OFFSET_MS: i64 = 8 * 3_600_000;
const DAY_MS: i64 = 86_400_000;

keyword_enum!(
    /// What an admin says about one date.
    DayKind, "day kind", {
        Holiday => ["holiday", "节假日"],
        Workday => ["workday", "调休上班"],
    }
);

/// A date listed in the calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CalendarDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub kind: DayKind,
    #[serde(default)]
    pub name: String,
}

/// The listed exceptions to "Monday to Friday work"; keyed by epoch day (Beijing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusinessCalendar {
    days: BTreeMap<i64, DayKind>,
}

/// Parses `YYYY-MM-DD` into an epoch-day number.
pub fn parse_date(field: &str, raw: &str) -> Result<i64, InvalidField> {
    let bad = || InvalidField::new(field, format!("{raw:?} is not a date YYYY-MM-DD"));
    let parts: Vec<&str> = raw.trim().split('-').collect();
    let [y, m, d] = parts.as_slice() else { return Err(bad()) };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    if !is_valid_date(y, m, d) {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d))
}

pub fn format_date(day: i64) -> String {
    let (y, m, d) = date_of_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

impl BusinessCalendar {
    pub fn new(days: impl IntoIterator<Item = (i64, DayKind)>) -> Self {
        BusinessCalendar { days: days.into_iter().collect() }
    }

    pub fn from_days(days: &[CalendarDay]) -> Result<Self, InvalidField> {
        let mut parsed = BTreeMap::new();
        for day in days {
            parsed.insert(parse_date("date", &day.date)?, day.kind);
        }
        Ok(BusinessCalendar { days: parsed })
    }

    /// Whether an epoch day (Beijing) is a working day.
    pub fn is_working_day(&self, day: i64) -> bool {
        match self.days.get(&day) {
            Some(DayKind::Holiday) => false,
            Some(DayKind::Workday) => true,
            // 1970-01-01 was a Thursday: day 0 → weekday 3 (Monday = 0).
            None => (day + 3).rem_euclid(7) < 5,
        }
    }

    /// The instant `n` working days after `start`: the same Beijing clock time on the `n`th working
    /// day after `start`'s date. (Counting starts the day after, so a Saturday start counts Monday
    /// as day one.)
    pub fn add_working_days(&self, start_ms: i64, n: u32) -> i64 {
        let local = start_ms + BEIJING_OFFSET_MS;
        let (mut day, time_of_day) = (local.div_euclid(DAY_MS), local.rem_euclid(DAY_MS));
        let mut left = n;
        while left > 0 {
            day += 1;
            if self.is_working_day(day) {
                left -= 1;
            }
        }
        day * DAY_MS + time_of_day - BEIJING_OFFSET_MS
    }
}

/// The epoch day (Beijing) an instant falls on.
pub fn beijing_day(ms: i64) -> i64 {
    (ms + BEIJING_OFFSET_MS).div_euclid(DAY_MS)
}

/// Midnight (Beijing) of the day an instant falls on, as epoch milliseconds.
pub fn beijing_day_start(ms: i64) -> i64 {
    beijing_day(ms) * DAY_MS - BEIJING_OFFSET_MS
}

/// Midnight (Beijing) of the first of the month an instant falls in, as epoch milliseconds.
pub fn beijing_month_start(ms: i64) -> i64 {
    let (y, m, _) = crate::time::date_of_days(beijing_day(ms));
    crate::time::days_from_civil(y, m, 1) * DAY_MS - BEIJING_OFFSET_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339;

    #[test]
    fn weekends_rest_unless_made_up() {
        let monday = parse_date("d", "2026-11-23").unwrap();
        let calendar = BusinessCalendar::default();
        assert!(calendar.is_working_day(monday));
        assert!(!calendar.is_working_day(monday + 5));
        let calendar = BusinessCalendar::new([(monday + 5, DayKind::Workday), (monday + 1, DayKind::Holiday)]);
        assert!(calendar.is_working_day(monday + 5));
        assert!(!calendar.is_working_day(monday + 1));
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        let start = parse_rfc3339("t", "2026-11-23T10:00:00+08:00").unwrap(); // Monday
        let calendar = BusinessCalendar::default();
        assert_eq!(calendar.add_working_days(start, 15), parse_rfc3339("t", "2026-12-14T10:00:00+08:00").unwrap());
        assert_eq!(calendar.add_working_days(start, 5), parse_rfc3339("t", "2026-11-30T10:00:00+08:00").unwrap());
        let holiday = parse_date("d", "2026-11-24").unwrap();
        let calendar = BusinessCalendar::new([(holiday, DayKind::Holiday)]);
        assert_eq!(calendar.add_working_days(start, 1), parse_rfc3339("t", "2026-11-25T10:00:00+08:00").unwrap());
        // A Saturday start: Monday is day one.
        let saturday = parse_rfc3339("t", "2026-11-28T23:30:00+08:00").unwrap();
        assert_eq!(BusinessCalendar::default().add_working_days(saturday, 1), parse_rfc3339("t", "2026-11-30T23:30:00+08:00").unwrap());
        assert_eq!(format_date(holiday), "2026-11-24");
        assert!(parse_date("d", "2026-02-30").is_err());
    }
}
