//! The rules engine: which unit handles a sheet (D-INF-3), and who follows it up, by which rule
//! (R-INF-2 … R-INF-8, R-ORG-2/3). The decision itself is a pure function of a sheet and the facts
//! about the people and units around it, so each rule is tested on its own; what the work
//! instruction leaves open is [`RuleSettings`], which an administrator can change (R-GOV-1).

use chrono::Duration;
use chrono_tz::Tz;
use huifang_protocol::{AssignmentRule, ComplaintLevel, Sheet, SheetCategory, UnitKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::Error;
use huifang_store::audit::AuditActor;
use huifang_store::db::AnyConnection;
use huifang_store::db::Database;
use huifang_store::documents::DocWrite;
use huifang_store::{settings, units};

const SETTINGS_KEY: &str = "assignment";

/// Rule settings (R-GOV-1): what the source leaves to the HQ customer service committee.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSettings {
    /// The company's prefix of sheet numbers (`HF-2026-000123`).
    pub number_prefix: String,
    /// Hours from handling to the follow-up deadline (R-INF-4: 24).
    pub follow_up_hours: u32,
    /// Complaint levels the development department follows up (R-INF-5: major).
    pub development_levels: Vec<ComplaintLevel>,
    /// Categories the development department follows up (R-INF-5: company-funded repairs).
    pub development_categories: Vec<SheetCategory>,
    /// Categories of the marketing department (R-INF-6).
    pub marketing_categories: Vec<SheetCategory>,
    /// Categories the community's property office handles and follows up (R-INF-8).
    pub office_categories: Vec<SheetCategory>,
    /// Whether photos may keep where they were taken (issue #18). Off: a photo that says where
    /// it was taken is refused, and phones remove the location before attaching one.
    #[serde(default)]
    pub keep_photo_location: bool,
}

impl Default for RuleSettings {
    fn default() -> Self {
        RuleSettings {
            number_prefix: "HF".into(),
            follow_up_hours: 24,
            development_levels: vec![ComplaintLevel::Major],
            development_categories: vec![SheetCategory::CompanyFundedRepair],
            marketing_categories: vec![
                SheetCategory::PropertyCertificate,
                SheetCategory::Mortgage,
                SheetCategory::Measurement,
            ],
            office_categories: vec![
                SheetCategory::Repair,
                SheetCategory::WarrantyRepair,
                SheetCategory::PropertyService,
            ],
            keep_photo_location: false,
        }
    }
}

impl RuleSettings {
    pub fn check(&self) -> Result<(), String> {
        let prefix_ok = (1..=6).contains(&self.number_prefix.len())
            && self
                .number_prefix
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !prefix_ok {
            return Err("number_prefix must be 1–6 capital letters or digits".into());
        }
        if !(1..=168).contains(&self.follow_up_hours) {
            return Err("follow_up_hours must be between 1 and 168".into());
        }
        Ok(())
    }

    pub fn follow_up_window(&self) -> Duration {
        Duration::hours(i64::from(self.follow_up_hours))
    }

    pub async fn load(db: &Database) -> Result<Self, Error> {
        load_setting(db, SETTINGS_KEY).await
    }

    /// The settings as a write sees them.
    pub async fn load_in(write: &mut DocWrite) -> Result<Self, Error> {
        stored_setting(SETTINGS_KEY, settings::get_in(write, SETTINGS_KEY).await?)
    }

    /// Replaces the settings, with the old and new values in the audit chain.
    pub async fn change(
        &self,
        db: &Database,
        time_zone: Tz,
        actor: AuditActor,
    ) -> Result<(), Error> {
        change_setting(db, time_zone, actor, SETTINGS_KEY, self, "rules.changed").await
    }
}

/// A setting an administrator may change (R-GOV-1), stored as JSON under `key` in
/// `rule_settings`; its default until first changed.
pub async fn load_setting<T: DeserializeOwned + Default>(
    db: &Database,
    key: &str,
) -> Result<T, Error> {
    stored_setting(key, settings::get(db, key).await?)
}

/// The setting stored under `key` as JSON text, or its default when it was never set.
fn stored_setting<T: DeserializeOwned + Default>(
    key: &str,
    text: Option<String>,
) -> Result<T, Error> {
    match text {
        Some(text) => serde_json::from_str(&text)
            .map_err(|e| Error::internal(format!("stored setting {key}: {e}"))),
        None => Ok(T::default()),
    }
}

/// Replaces the setting under `key` in a document write, so the change, with the value before
/// and after, is in the audit chain (subject `rule_settings` or `rule_settings/{key}`).
pub async fn change_setting<T: Serialize + DeserializeOwned + Default>(
    db: &Database,
    time_zone: Tz,
    actor: AuditActor,
    key: &str,
    value: &T,
    action: &str,
) -> Result<(), Error> {
    let before: T = load_setting(db, key).await?;
    let text = serde_json::to_string(value).map_err(|e| Error::Internal(e.into()))?;
    let mut write = DocWrite::begin(db, actor, time_zone).await?;
    settings::put(&mut write, key, &text, actor.staff_id).await?;
    let subject = if key == SETTINGS_KEY {
        "rule_settings".to_owned()
    } else {
        format!("rule_settings/{key}")
    };
    write
        .audit(
            action,
            &subject,
            json!({ "before": before, "after": value }),
        )
        .await?;
    Ok(write.commit().await?)
}

/// A unit the rules can send work to, with its head (who is told, R-ORG-2).
pub use huifang_store::units::UnitWithHead as RuleUnit;

/// What the rules need to know about the people and units around a sheet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetFacts {
    pub acceptor_id: i64,
    pub acceptor_unit: RuleUnit,
    pub acceptor_unit_kind: UnitKind,
    pub development: Option<RuleUnit>,
    pub marketing: Option<RuleUnit>,
    /// The property office of the customer's community.
    pub office: Option<RuleUnit>,
    /// The customer's own consultant and their sales site (R-INF-7).
    pub consultant: Option<(i64, RuleUnit)>,
}

/// Who follows a sheet up, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub unit_id: i64,
    /// `None`: anyone of the unit.
    pub staff_id: Option<i64>,
    pub rule: AssignmentRule,
    /// Heads to tell (R-ORG-2), never the assignee themselves.
    pub notify: Vec<i64>,
}

fn to_unit(unit: RuleUnit, rule: AssignmentRule, staff_id: Option<i64>) -> Assignment {
    Assignment {
        unit_id: unit.id,
        staff_id,
        rule,
        notify: unit
            .head
            .filter(|head| Some(*head) != staff_id)
            .into_iter()
            .collect(),
    }
}

/// The unit that handles a new sheet (D-INF-3).
pub fn route(sheet: &Sheet, facts: &SheetFacts, settings: &RuleSettings) -> i64 {
    let pick = |unit: Option<RuleUnit>| unit.map(|u| u.id);
    let routed = if settings.development_levels.contains(&sheet.level)
        || settings.development_categories.contains(&sheet.category)
    {
        pick(facts.development)
    } else if settings.marketing_categories.contains(&sheet.category) {
        pick(facts.marketing)
    } else if settings.office_categories.contains(&sheet.category) {
        pick(facts.office)
    } else if sheet.category == SheetCategory::SalesMatter {
        facts.consultant.map(|(_, site)| site.id)
    } else {
        None
    };
    routed.unwrap_or(facts.acceptor_unit.id)
}

/// Who follows up a handled sheet (R-INF-2, -5, -6, -7, -8; R-ORG-2, -3).
pub fn assign(sheet: &Sheet, facts: &SheetFacts, settings: &RuleSettings) -> Assignment {
    let acceptor_in = |unit: RuleUnit| facts.acceptor_unit.id == unit.id;
    if settings.development_levels.contains(&sheet.level)
        && let Some(dev) = facts.development
    {
        // R-INF-5 with R-ORG-2: the director follows up the major matters personally.
        return to_unit(dev, AssignmentRule::DevelopmentMajorComplaint, dev.head);
    }
    if settings.development_categories.contains(&sheet.category)
        && let Some(dev) = facts.development
    {
        let staff = acceptor_in(dev).then_some(facts.acceptor_id);
        return to_unit(dev, AssignmentRule::DevelopmentCompanyFunded, staff);
    }
    if settings.marketing_categories.contains(&sheet.category)
        && let Some(marketing) = facts.marketing
    {
        let staff = acceptor_in(marketing).then_some(facts.acceptor_id);
        return to_unit(marketing, AssignmentRule::MarketingScope, staff);
    }
    if sheet.category == SheetCategory::SalesMatter
        && let Some((consultant, site)) = facts.consultant
    {
        return Assignment {
            unit_id: site.id,
            staff_id: Some(consultant),
            rule: AssignmentRule::ConsultantOwnCustomer,
            notify: Vec::new(),
        };
    }
    let office_staff = matches!(
        facts.acceptor_unit_kind,
        UnitKind::PropertyOffice | UnitKind::CustomerServiceCenter | UnitKind::OfficeDepartment
    );
    if office_staff {
        return Assignment {
            unit_id: facts.acceptor_unit.id,
            staff_id: Some(facts.acceptor_id),
            rule: AssignmentRule::OfficeFollowsUp,
            notify: Vec::new(),
        };
    }
    if settings.office_categories.contains(&sheet.category)
        && let Some(office) = facts.office
    {
        return to_unit(office, AssignmentRule::OfficeFollowsUp, None);
    }
    Assignment {
        unit_id: facts.acceptor_unit.id,
        staff_id: Some(facts.acceptor_id),
        rule: AssignmentRule::AcceptorFollowsUp,
        notify: Vec::new(),
    }
}

/// Looks up the facts the rules need about a sheet.
pub async fn gather_facts(tx: &mut AnyConnection, sheet: &Sheet) -> Result<SheetFacts, Error> {
    let (acceptor_unit, acceptor_unit_kind) = units::unit(tx, sheet.accepting_unit_id)
        .await?
        .ok_or_else(|| {
            Error::invalid(format!("unit {} does not exist", sheet.accepting_unit_id))
        })?;
    let development = units::first_of_kind(tx, UnitKind::DevelopmentDepartment, None).await?;
    let marketing = units::first_of_kind(tx, UnitKind::MarketingDepartment, None).await?;
    let community = match sheet.household_id {
        Some(household) => units::community_of_household(tx, household).await?,
        None => None,
    };
    let office = match community {
        Some(community) => {
            units::first_of_kind(tx, UnitKind::PropertyOffice, Some(community)).await?
        }
        None => None,
    };
    let consultant = match units::consultant_of(tx, sheet.customer_id, sheet.household_id).await? {
        Some((staff, unit)) => units::unit(tx, unit).await?.map(|(site, _)| (staff, site)),
        None => None,
    };
    Ok(SheetFacts {
        acceptor_id: sheet.accepted_by,
        acceptor_unit,
        acceptor_unit_kind,
        development,
        marketing,
        office,
        consultant,
    })
}

#[cfg(test)]
mod tests {
    use huifang_protocol::{InformationSource, ReportedItem, SCHEMA_VERSION, SheetStatus};

    use super::*;

    const ACCEPTOR: i64 = 100;
    const OFFICE_UNIT: RuleUnit = RuleUnit {
        id: 10,
        head: Some(110),
    };
    const CSC_UNIT: RuleUnit = RuleUnit {
        id: 11,
        head: Some(111),
    };
    const DEV: RuleUnit = RuleUnit {
        id: 1,
        head: Some(101),
    };
    const MKT: RuleUnit = RuleUnit {
        id: 2,
        head: Some(102),
    };
    const SALES: RuleUnit = RuleUnit {
        id: 3,
        head: Some(103),
    };
    const CONSULTANT: i64 = 300;

    fn sheet(level: ComplaintLevel, category: SheetCategory) -> Sheet {
        Sheet {
            schema_version: SCHEMA_VERSION,
            id: "0".repeat(32),
            number: None,
            accepted_at: "2026-11-28T01:00:00Z".into(),
            level,
            category,
            source: InformationSource::Phone,
            household_id: Some(1),
            customer_id: Some(1),
            customer_name: "张三".into(),
            customer_address: String::new(),
            contact_phone: "13800138000".into(),
            accepted_by: ACCEPTOR,
            accepting_unit_id: 0,
            handling_unit_id: None,
            items: vec![ReportedItem {
                id: "1".repeat(32),
                text: "x".into(),
            }],
            investigation: String::new(),
            tracking: Vec::new(),
            result: String::new(),
            handled_at: None,
            status: SheetStatus::Handled,
            invalid_reason: None,
            reopened_from: None,
            created_at: "2026-11-28T01:00:00Z".into(),
            photos: Vec::new(),
        }
    }

    fn facts(acceptor_unit: RuleUnit, kind: UnitKind) -> SheetFacts {
        SheetFacts {
            acceptor_id: ACCEPTOR,
            acceptor_unit,
            acceptor_unit_kind: kind,
            development: Some(DEV),
            marketing: Some(MKT),
            office: Some(OFFICE_UNIT),
            consultant: Some((CONSULTANT, SALES)),
        }
    }

    struct Case {
        name: &'static str,
        level: ComplaintLevel,
        category: SheetCategory,
        acceptor_unit: (RuleUnit, UnitKind),
        expected: Assignment,
    }

    fn assignment(
        unit: RuleUnit,
        staff: Option<i64>,
        rule: AssignmentRule,
        notify: &[i64],
    ) -> Assignment {
        Assignment {
            unit_id: unit.id,
            staff_id: staff,
            rule,
            notify: notify.to_vec(),
        }
    }

    #[test]
    fn each_assignment_rule() {
        use AssignmentRule::*;
        use ComplaintLevel::*;
        use SheetCategory::*;
        let csc = (CSC_UNIT, UnitKind::CustomerServiceCenter);
        let dev = (DEV, UnitKind::DevelopmentDepartment);
        let mkt = (MKT, UnitKind::MarketingDepartment);
        let sales = (SALES, UnitKind::SalesSite);
        let cases = [
            Case {
                name: "R-INF-2/R-ORG-3: the development department's own ordinary matter",
                level: Ordinary,
                category: Other,
                acceptor_unit: dev,
                expected: assignment(DEV, Some(ACCEPTOR), AcceptorFollowsUp, &[]),
            },
            Case {
                name: "R-INF-2: a sales site's enquiry without a consultant rule",
                level: None,
                category: Other,
                acceptor_unit: sales,
                expected: assignment(SALES, Some(ACCEPTOR), AcceptorFollowsUp, &[]),
            },
            Case {
                name: "R-INF-5/R-ORG-2: a major complaint goes to the development director, whoever accepted it",
                level: Major,
                category: Repair,
                acceptor_unit: csc,
                expected: assignment(DEV, DEV.head, DevelopmentMajorComplaint, &[]),
            },
            Case {
                name: "R-INF-5: major beats the consultant rule (R-INF-2 'except major complaints')",
                level: Major,
                category: SalesMatter,
                acceptor_unit: sales,
                expected: assignment(DEV, DEV.head, DevelopmentMajorComplaint, &[]),
            },
            Case {
                name: "R-INF-5: company-funded repairs go to the development department, its head told",
                level: Ordinary,
                category: CompanyFundedRepair,
                acceptor_unit: csc,
                expected: assignment(DEV, Option::None, DevelopmentCompanyFunded, &[101]),
            },
            Case {
                name: "R-INF-5: accepted inside the development department, the acceptor keeps it",
                level: Ordinary,
                category: CompanyFundedRepair,
                acceptor_unit: dev,
                expected: assignment(DEV, Some(ACCEPTOR), DevelopmentCompanyFunded, &[101]),
            },
            Case {
                name: "R-INF-6: a mortgage accepted at an office goes to the marketing department",
                level: Ordinary,
                category: Mortgage,
                acceptor_unit: csc,
                expected: assignment(MKT, Option::None, MarketingScope, &[102]),
            },
            Case {
                name: "R-INF-6: marketing staff follow up what they accepted",
                level: None,
                category: PropertyCertificate,
                acceptor_unit: mkt,
                expected: assignment(MKT, Some(ACCEPTOR), MarketingScope, &[102]),
            },
            Case {
                name: "R-INF-7: a sales-site matter goes to the customer's own consultant",
                level: Ordinary,
                category: SalesMatter,
                acceptor_unit: csc,
                expected: assignment(SALES, Some(CONSULTANT), ConsultantOwnCustomer, &[]),
            },
            Case {
                name: "R-INF-8: the office follows up what it accepted",
                level: Significant,
                category: Repair,
                acceptor_unit: csc,
                expected: assignment(CSC_UNIT, Some(ACCEPTOR), OfficeFollowsUp, &[]),
            },
            Case {
                name: "R-INF-8: a warranty repair accepted at head office goes to the community's office",
                level: Ordinary,
                category: WarrantyRepair,
                acceptor_unit: dev,
                expected: assignment(OFFICE_UNIT, Option::None, OfficeFollowsUp, &[110]),
            },
        ];
        let settings = RuleSettings::default();
        for case in cases {
            let facts = facts(case.acceptor_unit.0, case.acceptor_unit.1);
            let got = assign(&sheet(case.level, case.category), &facts, &settings);
            assert_eq!(got, case.expected, "{}", case.name);
        }
    }

    #[test]
    fn r_inf_7_without_a_consultant_the_acceptor_follows_up() {
        let mut facts = facts(SALES, UnitKind::SalesSite);
        facts.consultant = None;
        let got = assign(
            &sheet(ComplaintLevel::Ordinary, SheetCategory::SalesMatter),
            &facts,
            &RuleSettings::default(),
        );
        assert_eq!(got.rule, AssignmentRule::AcceptorFollowsUp);
        assert_eq!(got.staff_id, Some(ACCEPTOR));
    }

    #[test]
    fn d_inf_3_routing_by_category() {
        let settings = RuleSettings::default();
        let facts = facts(CSC_UNIT, UnitKind::CustomerServiceCenter);
        let route_of = |level, category| route(&sheet(level, category), &facts, &settings);
        assert_eq!(
            route_of(ComplaintLevel::Major, SheetCategory::Other),
            DEV.id
        );
        assert_eq!(
            route_of(ComplaintLevel::Ordinary, SheetCategory::Measurement),
            MKT.id
        );
        assert_eq!(
            route_of(ComplaintLevel::Ordinary, SheetCategory::Repair),
            OFFICE_UNIT.id
        );
        assert_eq!(
            route_of(ComplaintLevel::Ordinary, SheetCategory::SalesMatter),
            SALES.id
        );
        assert_eq!(
            route_of(ComplaintLevel::Ordinary, SheetCategory::Other),
            CSC_UNIT.id
        );
    }

    #[test]
    fn r_gov_1_settings_change_the_rules() {
        let settings = RuleSettings {
            development_levels: vec![ComplaintLevel::Significant, ComplaintLevel::Major],
            ..RuleSettings::default()
        };
        let facts = facts(CSC_UNIT, UnitKind::CustomerServiceCenter);
        let got = assign(
            &sheet(ComplaintLevel::Significant, SheetCategory::Repair),
            &facts,
            &settings,
        );
        assert_eq!(got.rule, AssignmentRule::DevelopmentMajorComplaint);
        assert!(
            RuleSettings {
                number_prefix: "hf".into(),
                ..RuleSettings::default()
            }
            .check()
            .is_err()
        );
        assert!(
            RuleSettings {
                follow_up_hours: 0,
                ..RuleSettings::default()
            }
            .check()
            .is_err()
        );
        assert_eq!(
            RuleSettings::default().follow_up_window(),
            Duration::hours(24),
            "R-INF-4"
        );
    }
}
