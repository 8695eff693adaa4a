//! Monthly routine quotas. Percentages are of the community's households at the start of the
//! period, rounded up (D-RTN-1); the rates are configuration (R-GOV-1), kept in basis points so
//! the rounding is exact integer arithmetic.

use serde::{Deserialize, Serialize};

/// The rates of R-RTN-2…4, in basis points (1 % = 100).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaSettings {
    /// An office director, each month (R-RTN-2: 1 %).
    pub office_director_monthly_bp: u32,
    /// The office's customer service centre, each year, spread evenly over the months
    /// (R-RTN-3: 50 %).
    pub service_centre_yearly_bp: u32,
    /// Each other department of the office, each month (R-RTN-4: 2 %) …
    pub department_monthly_bp: u32,
    /// … and at least this much a year (R-RTN-4: 20 %).
    pub department_yearly_minimum_bp: u32,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        QuotaSettings {
            office_director_monthly_bp: 100,
            service_centre_yearly_bp: 5_000,
            department_monthly_bp: 200,
            department_yearly_minimum_bp: 2_000,
        }
    }
}

impl QuotaSettings {
    pub fn validate(&self) -> Result<(), String> {
        for (name, value) in [
            (
                "office_director_monthly_bp",
                self.office_director_monthly_bp,
            ),
            ("service_centre_yearly_bp", self.service_centre_yearly_bp),
            ("department_monthly_bp", self.department_monthly_bp),
            (
                "department_yearly_minimum_bp",
                self.department_yearly_minimum_bp,
            ),
        ] {
            if value > 10_000 {
                return Err(format!(
                    "{name} is {value} basis points; at most 10000 (100 %)"
                ));
            }
        }
        Ok(())
    }
}

/// Who owes routine follow-ups, by the rule that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaRule {
    /// R-RTN-1: a consultant, every one of their customers' households, once a month.
    Consultant,
    /// R-RTN-2: an office director, 1 % of the community a month.
    OfficeDirector,
    /// R-RTN-3: the customer service centre, 50 % of the community a year.
    ServiceCentre,
    /// R-RTN-4: each other office department, 2 % a month and at least 20 % a year.
    Department,
}

impl QuotaRule {
    pub const ALL: [QuotaRule; 4] = [
        QuotaRule::Consultant,
        QuotaRule::OfficeDirector,
        QuotaRule::ServiceCentre,
        QuotaRule::Department,
    ];

    /// The rule as stored and shown, e.g. `R-RTN-2`.
    pub fn from_rule_id(id: &str) -> Option<Self> {
        QuotaRule::ALL.into_iter().find(|rule| rule.rule_id() == id)
    }

    /// The rule the follow-up documents of this quota record as theirs.
    pub fn assignment_rule(self) -> huifang_protocol::AssignmentRule {
        use huifang_protocol::AssignmentRule;
        match self {
            QuotaRule::Consultant => AssignmentRule::RoutineConsultant,
            QuotaRule::OfficeDirector => AssignmentRule::RoutineOfficeDirector,
            QuotaRule::ServiceCentre => AssignmentRule::RoutineServiceCentre,
            QuotaRule::Department => AssignmentRule::RoutineDepartment,
        }
    }

    pub fn rule_id(self) -> &'static str {
        match self {
            QuotaRule::Consultant => "R-RTN-1",
            QuotaRule::OfficeDirector => "R-RTN-2",
            QuotaRule::ServiceCentre => "R-RTN-3",
            QuotaRule::Department => "R-RTN-4",
        }
    }
}

/// `households × bp / 10000 / per`, rounded up.
fn share(households: u64, bp: u32, per: u64) -> u64 {
    (households * u64::from(bp)).div_ceil(10_000 * per)
}

/// A month's quota and how it was reached, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Quota {
    pub rule: QuotaRule,
    pub rule_id: &'static str,
    /// Households the quota is a share of (the community's, or the consultant's customers').
    pub households: u32,
    pub quota: u32,
    pub explanation: String,
    /// The same in Chinese, as the dashboard shows it to Chinese readers.
    pub explanation_zh: String,
}

/// The month's quota under `rule` for a base of `households` at the start of the month
/// (D-RTN-1; a yearly rate is spread evenly over the months, so its monthly share is also taken
/// of the households at the month's start — an estate registered mid-year owes its share from
/// the next month on, not from next January).
pub fn monthly_quota(rule: QuotaRule, households: u32, settings: &QuotaSettings) -> Quota {
    let h = u64::from(households);
    let pct = |bp: u32| format!("{}.{:02} %", bp / 100, bp % 100);
    let (quota, explanation, explanation_zh) = match rule {
        QuotaRule::Consultant => (
            h,
            format!("every one of the consultant's {households} customer households, once a month"),
            format!("置业顾问名下全部 {households} 户客户，每月一次"),
        ),
        QuotaRule::OfficeDirector => {
            let bp = settings.office_director_monthly_bp;
            (
                share(h, bp, 1),
                format!("{} of {households} households, rounded up", pct(bp)),
                format!("{households} 户的 {}，向上取整", pct(bp)),
            )
        }
        QuotaRule::ServiceCentre => {
            let bp = settings.service_centre_yearly_bp;
            (
                share(h, bp, 12),
                format!(
                    "{} of {households} households a year, one twelfth a month, rounded up",
                    pct(bp)
                ),
                format!("{households} 户每年 {}，每月十二分之一，向上取整", pct(bp)),
            )
        }
        QuotaRule::Department => {
            let monthly = share(h, settings.department_monthly_bp, 1);
            let yearly_floor = share(h, settings.department_yearly_minimum_bp, 12);
            (
                monthly.max(yearly_floor),
                format!(
                    "{} of {households} households a month, rounded up (and at least {} a year)",
                    pct(settings.department_monthly_bp),
                    pct(settings.department_yearly_minimum_bp)
                ),
                format!(
                    "{households} 户每月 {}，向上取整（全年不少于 {}）",
                    pct(settings.department_monthly_bp),
                    pct(settings.department_yearly_minimum_bp)
                ),
            )
        }
    };
    Quota {
        rule,
        rule_id: rule.rule_id(),
        households,
        quota: u32::try_from(quota.min(h)).unwrap_or(households),
        explanation,
        explanation_zh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(rule: QuotaRule, households: u32) -> u32 {
        monthly_quota(rule, households, &QuotaSettings::default()).quota
    }

    /// R-RTN-1: a consultant follows up every customer once a month.
    #[test]
    fn r_rtn_1_consultants_follow_up_every_customer() {
        assert_eq!(quota(QuotaRule::Consultant, 37), 37);
        assert_eq!(quota(QuotaRule::Consultant, 0), 0);
    }

    /// R-RTN-2 with D-RTN-1: 1 % a month, rounded up.
    #[test]
    fn r_rtn_2_office_directors_take_one_percent_rounded_up() {
        assert_eq!(quota(QuotaRule::OfficeDirector, 3_000), 30);
        assert_eq!(quota(QuotaRule::OfficeDirector, 3_001), 31);
        assert_eq!(quota(QuotaRule::OfficeDirector, 1), 1);
        assert_eq!(quota(QuotaRule::OfficeDirector, 0), 0);
    }

    /// R-RTN-3 with D-RTN-1: 50 % a year spread evenly, each month rounded up, so the year
    /// reaches at least 50 %.
    #[test]
    fn r_rtn_3_the_service_centre_covers_half_the_community_a_year() {
        assert_eq!(quota(QuotaRule::ServiceCentre, 2_400), 100);
        assert_eq!(quota(QuotaRule::ServiceCentre, 2_401), 101);
        for households in [1, 11, 999, 1_567, 3_000] {
            assert!(12 * quota(QuotaRule::ServiceCentre, households) * 2 >= households);
        }
    }

    /// R-RTN-4: 2 % a month, and at least 20 % a year.
    #[test]
    fn r_rtn_4_departments_take_two_percent_a_month_and_a_fifth_a_year() {
        assert_eq!(quota(QuotaRule::Department, 3_000), 60);
        assert_eq!(quota(QuotaRule::Department, 49), 1);
        let settings = QuotaSettings {
            department_monthly_bp: 100,
            ..QuotaSettings::default()
        };
        // 1 % a month would miss 20 % a year: the yearly minimum wins (3000 × 20 % / 12 = 50).
        assert_eq!(
            monthly_quota(QuotaRule::Department, 3_000, &settings).quota,
            50
        );
        for households in [1, 7, 333, 3_000] {
            assert!(12 * quota(QuotaRule::Department, households) * 5 >= households);
        }
    }

    #[test]
    fn settings_are_checked() {
        assert!(QuotaSettings::default().validate().is_ok());
        let bad = QuotaSettings {
            department_monthly_bp: 10_001,
            ..QuotaSettings::default()
        };
        assert!(
            bad.validate()
                .unwrap_err()
                .contains("department_monthly_bp")
        );
    }

    #[test]
    fn a_quota_explains_itself() {
        let q = monthly_quota(QuotaRule::ServiceCentre, 1_200, &QuotaSettings::default());
        assert_eq!(q.rule_id, "R-RTN-3");
        assert_eq!(q.quota, 50);
        assert!(q.explanation.contains("50.00 %"), "{}", q.explanation);
    }
}
