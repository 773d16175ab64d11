//! The three rates (响应率, 解决率, 满意率) and the whistle on-time report rate, computed from
//! counts the store aggregates and the configured [`RateFormula`].
use serde::{Deserialize, Serialize};

use super::settings::RateFormula;

/// What the store counts over the orders of a period (created in it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RateCounts {
    pub orders: i64,
    pub proactive: i64,
    /// Orders whose response deadline has passed or that have been responded to.
    pub due: i64,
    pub responded_on_time: i64,
    pub responded_late: i64,
    pub not_responded: i64,
    /// Orders called back at least once; the latest callback counts.
    pub called_back: i64,
    pub solved: i64,
    pub satisfied: i64,
    pub basically_satisfied: i64,
    pub unsatisfied: i64,
    pub closed: i64,
    pub overdue: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ThreeRates {
    /// 响应率; absent when no order was due.
    pub response_rate: Option<f64>,
    /// 解决率; absent when no order was called back.
    pub resolution_rate: Option<f64>,
    /// 满意率; absent when no order was rated.
    pub satisfaction_rate: Option<f64>,
    pub counts: RateCounts,
}

fn ratio(numerator: f64, denominator: i64) -> Option<f64> {
    (denominator > 0).then(|| numerator / denominator as f64)
}

pub fn three_rates(counts: RateCounts, formula: &RateFormula) -> ThreeRates {
    let c = counts;
    let f = formula;
    let response = c.responded_on_time as f64 * f.responded_on_time + c.responded_late as f64 * f.responded_late + c.not_responded as f64 * f.not_responded;
    let resolution = c.solved as f64 * f.solved + (c.called_back - c.solved) as f64 * f.unsolved;
    let rated = c.satisfied + c.basically_satisfied + c.unsatisfied;
    let satisfaction = c.satisfied as f64 * f.satisfied + c.basically_satisfied as f64 * f.basically_satisfied + c.unsatisfied as f64 * f.unsatisfied;
    ThreeRates {
        response_rate: ratio(response, c.due),
        resolution_rate: ratio(resolution, c.called_back),
        satisfaction_rate: ratio(satisfaction, rated),
        counts,
    }
}

/// A department's record of reporting to whistles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReportRate {
    pub org_code: String,
    pub summoned: i64,
    /// Summons whose deadline has passed or that were answered.
    pub due: i64,
    pub on_time: i64,
    pub late: i64,
    /// on_time ÷ due; absent when nothing was due.
    pub on_time_rate: Option<f64>,
}

impl ReportRate {
    pub fn new(org_code: String, summoned: i64, due: i64, on_time: i64) -> Self {
        ReportRate { org_code, summoned, due, on_time, late: due - on_time, on_time_rate: ratio(on_time as f64, due) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_formulas_are_the_documented_ones() {
        let counts = RateCounts {
            orders: 10,
            due: 8,
            responded_on_time: 6,
            responded_late: 1,
            not_responded: 1,
            called_back: 5,
            solved: 4,
            satisfied: 2,
            basically_satisfied: 1,
            unsatisfied: 1,
            ..Default::default()
        };
        let r = three_rates(counts, &RateFormula::default());
        assert_eq!((r.response_rate, r.resolution_rate, r.satisfaction_rate), (Some(0.75), Some(0.8), Some(0.75)));
        let weighted = RateFormula { basically_satisfied: 0.5, ..RateFormula::default() };
        assert_eq!(three_rates(counts, &weighted).satisfaction_rate, Some(0.625));
        assert_eq!(three_rates(RateCounts::default(), &RateFormula::default()).response_rate, None);
        assert_eq!(ReportRate::new("x".into(), 3, 3, 2).on_time_rate, Some(2.0 / 3.0));
    }
}
