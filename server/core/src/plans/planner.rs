//! Planning one month: [`gather`] reads what the rules need (households at the period starts,
//! units and their people, each unit's sampling cycle, earlier unreachable households, the
//! consultants' customers); [`plan_month`] decides every quota and every household from those
//! facts alone, so a preview and the real run choose the same, and the whole decision is tested
//! without a database.

use std::collections::{BTreeMap, BTreeSet};

use chrono_tz::Tz;
use serde::Serialize;

use super::month::Month;
use super::quotas::{Quota, QuotaRule, QuotaSettings, monthly_quota};
use super::sampling::{self, Household, Reason, SamplingInput};
use crate::error::Error;
use huifang_protocol::{Role, UnitKind};
use huifang_store::db::Database;

/// A unit of a community that owes sampled routine follow-ups (R-RTN-2…4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitFacts {
    pub unit_id: i64,
    pub rule: QuotaRule,
    /// Who its follow-ups go to, in turn; empty: the unit as a whole.
    pub people: Vec<i64>,
    /// The unit's current sampling cycle (0 before its first).
    pub cycle: i64,
    /// Households not to sample again in the current cycle: those already sampled in it, and
    /// those registered after it began (they join the next cycle).
    pub outside_current_cycle: BTreeSet<i64>,
    /// Households the unit could not reach in earlier rounds, oldest first.
    pub unreachable_earlier: Vec<i64>,
}

/// A community with an office: its households and the units that sample them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunityFacts {
    pub community_id: i64,
    /// Households registered before the month began, by id (the base of D-RTN-1).
    pub households: Vec<Household>,
    /// The office first, then the customer service centre, then the other departments.
    pub units: Vec<UnitFacts>,
}

/// A consultant and their customers' households (R-RTN-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsultantFacts {
    pub staff_id: i64,
    pub unit_id: i64,
    /// `(household, the consultant's customer in it, building)`, by household.
    pub households: Vec<(i64, i64, i64)>,
}

/// Everything a month's plan is decided from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanFacts {
    pub month: Month,
    pub settings: QuotaSettings,
    pub communities: Vec<CommunityFacts>,
    pub consultants: Vec<ConsultantFacts>,
}

/// One household chosen for a routine follow-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanItem {
    pub household_id: i64,
    pub building_id: i64,
    /// The consultant's own customer (R-RTN-1); for sampled rounds the household's first
    /// customer is taken when the follow-up is written.
    pub customer_id: Option<i64>,
    /// The unit's cycle this choice belongs to.
    pub cycle: i64,
    pub reason: Reason,
    /// The reason in words.
    pub why: String,
    pub assignee_staff_id: Option<i64>,
}

/// One quota holder's plan for the month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitPlan {
    pub unit_id: i64,
    /// The consultant whose own plan this is; 0 for a unit's.
    pub staff_id: i64,
    pub community_id: Option<i64>,
    pub quota: Quota,
    /// The seed of the month's draw, so anyone can re-check a choice.
    pub seed: u64,
    /// The unit's cycle at the end of the month.
    pub cycle: i64,
    pub new_cycle: bool,
    pub items: Vec<PlanItem>,
}

impl UnitPlan {
    /// Whether its households count against "once a month across units" (D-RTN-2).
    pub fn is_sampled(&self) -> bool {
        self.quota.rule != QuotaRule::Consultant
    }
}

/// A month's plan for the whole company.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthPlan {
    pub month: Month,
    pub plans: Vec<UnitPlan>,
}

impl MonthPlan {
    pub fn household_count(&self) -> usize {
        self.plans.iter().map(|p| p.items.len()).sum()
    }
}

/// The seed of a unit's draw in a month: stable, and different each month so that rounds move
/// across the community.
pub fn seed_for(month: Month, unit_id: i64) -> u64 {
    let month_number =
        u64::try_from(month.year()).unwrap_or_default() * 100 + u64::from(month.number());
    sampling::draw(month_number, unit_id)
}

/// Gives chosen households to `people` in turn, a run of neighbouring households each (sorted
/// by building), so each person walks as few buildings as possible.
fn hand_out(items: &mut [PlanItem], people: &[i64]) {
    items.sort_by_key(|item| (item.building_id, item.household_id));
    if people.is_empty() {
        return;
    }
    let total = items.len();
    for (index, item) in items.iter_mut().enumerate() {
        item.assignee_staff_id = Some(people[index * people.len() / total.max(1)]);
    }
}

/// Decides the month: every unit's quota and households, with reasons.
pub fn plan_month(facts: &PlanFacts) -> MonthPlan {
    let mut plans = Vec::new();
    for community in &facts.communities {
        let base = u32::try_from(community.households.len()).unwrap_or(u32::MAX);
        let by_id: BTreeMap<i64, i64> = community
            .households
            .iter()
            .map(|h| (h.id, h.building_id))
            .collect();
        let mut taken_this_month = BTreeSet::new();
        // Retries go before new households (R-RTN-5) across units too: a household another
        // unit must retry is not drawn afresh by a unit that plans before it.
        let retries: BTreeSet<i64> = community
            .units
            .iter()
            .flat_map(|unit| unit.unreachable_earlier.iter().copied())
            .collect();
        for unit in &community.units {
            let quota = monthly_quota(unit.rule, base, &facts.settings);
            let seed = seed_for(facts.month, unit.unit_id);
            let mut unavailable = taken_this_month.clone();
            unavailable.extend(
                retries
                    .iter()
                    .filter(|id| !unit.unreachable_earlier.contains(id))
                    .copied(),
            );
            let sample = sampling::sample(&SamplingInput {
                households: &community.households,
                sampled_this_cycle: &unit.outside_current_cycle,
                taken_this_month: &unavailable,
                unreachable_earlier: &unit.unreachable_earlier,
                quota: quota.quota as usize,
                seed,
            });
            let current = unit.cycle.max(1);
            let cycle = if sample.new_cycle || unit.cycle == 0 {
                unit.cycle + 1
            } else {
                current
            };
            let mut items: Vec<PlanItem> = sample
                .choices
                .into_iter()
                .map(|choice| {
                    let in_new_cycle = matches!(
                        choice.reason,
                        Reason::Stratum {
                            new_cycle: true,
                            ..
                        }
                    );
                    PlanItem {
                        household_id: choice.household_id,
                        building_id: by_id.get(&choice.household_id).copied().unwrap_or(0),
                        customer_id: None,
                        cycle: if in_new_cycle || unit.cycle == 0 {
                            cycle
                        } else {
                            current
                        },
                        why: choice.reason.explain(),
                        reason: choice.reason,
                        assignee_staff_id: None,
                    }
                })
                .collect();
            taken_this_month.extend(items.iter().map(|item| item.household_id));
            hand_out(&mut items, &unit.people);
            plans.push(UnitPlan {
                unit_id: unit.unit_id,
                staff_id: 0,
                community_id: Some(community.community_id),
                quota,
                seed,
                cycle,
                new_cycle: sample.new_cycle,
                items,
            });
        }
    }
    for consultant in &facts.consultants {
        let count = u32::try_from(consultant.households.len()).unwrap_or(u32::MAX);
        let quota = monthly_quota(QuotaRule::Consultant, count, &facts.settings);
        let items = consultant
            .households
            .iter()
            .map(|&(household_id, customer_id, building_id)| PlanItem {
                household_id,
                building_id,
                customer_id: Some(customer_id),
                cycle: 0,
                reason: Reason::OwnCustomer,
                why: Reason::OwnCustomer.explain(),
                assignee_staff_id: Some(consultant.staff_id),
            })
            .collect();
        plans.push(UnitPlan {
            unit_id: consultant.unit_id,
            staff_id: consultant.staff_id,
            community_id: None,
            quota,
            seed: 0,
            cycle: 0,
            new_cycle: false,
            items,
        });
    }
    MonthPlan {
        month: facts.month,
        plans,
    }
}

/// Reads the facts for `month` from the database (outside any write).
pub async fn gather(
    db: &Database,
    time_zone: Tz,
    month: Month,
    settings: QuotaSettings,
) -> Result<PlanFacts, Error> {
    let month_start = huifang_protocol::format_time(month.start(time_zone));
    let huifang_store::plans::PlanningRows {
        units,
        people,
        households,
        cycles,
        sampled,
        unreachable,
        consultant_households,
    } = huifang_store::plans::planning_rows(db, &month.to_string(), &month_start).await?;

    // Who the follow-ups of each unit go to: its staff in turn, else its head, else the unit.
    let mut staff_of: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut heads_of: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (id, unit, role) in people {
        if role == Role::UnitHead {
            heads_of.entry(unit).or_default().push(id);
        } else {
            staff_of.entry(unit).or_default().push(id);
        }
    }
    let cycle_of: BTreeMap<i64, (i64, Month)> = cycles
        .into_iter()
        .filter_map(|(unit, cycle, started)| Some((unit, (cycle, started.parse().ok()?))))
        .collect();
    let mut sampled_by: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for (unit, household) in sampled {
        sampled_by.entry(unit).or_default().insert(household);
    }
    let mut unreachable_by: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (unit, household) in unreachable {
        unreachable_by.entry(unit).or_default().push(household);
    }
    let mut households_of: BTreeMap<i64, Vec<Household>> = BTreeMap::new();
    for (id, community, building_id) in households {
        households_of
            .entry(community)
            .or_default()
            .push(Household { id, building_id });
    }
    // Households registered after a unit's current cycle began wait for its next cycle: only
    // those registered since the oldest current cycle began need their time read.
    let oldest_cycle = cycle_of.values().map(|(_, started)| *started).min();
    let recent = match oldest_cycle {
        Some(started) => {
            let from = huifang_protocol::format_time(started.start(time_zone));
            huifang_store::plans::registered_between(db, &from, &month_start).await?
        }
        None => Vec::new(),
    };

    let mut units_of: BTreeMap<i64, Vec<(i64, QuotaRule)>> = BTreeMap::new();
    for (id, kind, community) in units {
        let Some(community) = community else { continue };
        let rule = match kind {
            UnitKind::PropertyOffice => QuotaRule::OfficeDirector,
            UnitKind::CustomerServiceCenter => QuotaRule::ServiceCentre,
            _ => QuotaRule::Department,
        };
        units_of.entry(community).or_default().push((id, rule));
    }
    let mut communities = Vec::new();
    for (community_id, mut units) in units_of {
        units.sort_by_key(|&(id, rule)| (rule, id));
        let registered = households_of.remove(&community_id).unwrap_or_default();
        let units = units
            .into_iter()
            .map(|(unit_id, rule)| {
                let (cycle, started) = cycle_of.get(&unit_id).copied().unzip();
                let mut outside = sampled_by.remove(&unit_id).unwrap_or_default();
                if let Some(started) = started {
                    let began = huifang_protocol::format_time(started.start(time_zone));
                    outside.extend(
                        recent
                            .iter()
                            .filter(|(_, created)| created.as_str() >= began.as_str())
                            .map(|(id, _)| *id),
                    );
                }
                let people = if rule == QuotaRule::OfficeDirector {
                    heads_of.get(&unit_id).cloned().unwrap_or_default()
                } else {
                    staff_of
                        .get(&unit_id)
                        .or_else(|| heads_of.get(&unit_id))
                        .cloned()
                        .unwrap_or_default()
                };
                UnitFacts {
                    unit_id,
                    rule,
                    // An office's round is the director's own (R-RTN-2): the first head only.
                    people: if rule == QuotaRule::OfficeDirector {
                        people.into_iter().take(1).collect()
                    } else {
                        people
                    },
                    cycle: cycle.unwrap_or(0),
                    outside_current_cycle: outside,
                    unreachable_earlier: unreachable_by.remove(&unit_id).unwrap_or_default(),
                }
            })
            .collect();
        communities.push(CommunityFacts {
            community_id,
            households: registered,
            units,
        });
    }

    let mut consultants: Vec<ConsultantFacts> = Vec::new();
    for (staff_id, unit_id, household, customer, building) in consultant_households {
        match consultants.last_mut() {
            Some(last) if last.staff_id == staff_id => {
                last.households.push((household, customer, building))
            }
            _ => consultants.push(ConsultantFacts {
                staff_id,
                unit_id,
                households: vec![(household, customer, building)],
            }),
        }
    }
    Ok(PlanFacts {
        month,
        settings,
        communities,
        consultants,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use proptest::prelude::*;

    use super::*;

    fn community(id: i64, sizes: &[usize], first_household: i64) -> Vec<Household> {
        let mut next = first_household;
        let mut households = Vec::new();
        for (building, &size) in sizes.iter().enumerate() {
            for _ in 0..size {
                households.push(Household {
                    id: next,
                    building_id: id * 100 + building as i64,
                });
                next += 1;
            }
        }
        households
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]

        /// R-RTN-2…5 and D-RTN-2 over thirteen months of random communities, with households
        /// that cannot be reached: every quota is met exactly, no household gets two routine
        /// follow-ups in a month, no unit samples a household twice within a cycle, and an
        /// unreachable household is retried by its unit the next month.
        #[test]
        fn d_rtn_2_a_year_of_plans_meets_quotas_without_repeats(
            communities in proptest::collection::vec(
                (proptest::collection::vec(10usize..60, 1..5), 1usize..4),
                1..4,
            ),
            unreachable_every in 3usize..20,
        ) {
            let settings = QuotaSettings::default();
            let mut facts_communities = Vec::new();
            let mut next_household = 1;
            let mut next_unit = 1;
            for (n, (sizes, departments)) in communities.iter().enumerate() {
                let households = community(n as i64 + 1, sizes, next_household);
                next_household += households.len() as i64;
                let mut units = Vec::new();
                for rule in [QuotaRule::OfficeDirector, QuotaRule::ServiceCentre]
                    .into_iter()
                    .chain(std::iter::repeat_n(QuotaRule::Department, *departments))
                {
                    units.push(UnitFacts {
                        unit_id: next_unit,
                        rule,
                        people: vec![next_unit * 10, next_unit * 10 + 1],
                        cycle: 0,
                        outside_current_cycle: BTreeSet::new(),
                        unreachable_earlier: Vec::new(),
                    });
                    next_unit += 1;
                }
                facts_communities.push(CommunityFacts {
                    community_id: n as i64 + 1,
                    households,
                    units,
                });
            }
            let mut facts = PlanFacts {
                month: "2026-01".parse().unwrap(),
                settings,
                communities: facts_communities,
                consultants: Vec::new(),
            };
            let mut seen: BTreeMap<(i64, i64), BTreeSet<i64>> = BTreeMap::new();
            let mut counter = 0usize;
            for _ in 0..13 {
                let plan = plan_month(&facts);
                let mut this_month = BTreeSet::new();
                let mut plans = plan.plans.iter();
                for community in &mut facts.communities {
                    for unit in &mut community.units {
                        let unit_plan = plans.next().unwrap();
                        prop_assert_eq!(unit_plan.unit_id, unit.unit_id);
                        let quota = monthly_quota(
                            unit.rule,
                            community.households.len() as u32,
                            &settings,
                        );
                        prop_assert_eq!(unit_plan.items.len() as u32, quota.quota);
                        // Every retry due this month comes first in the reasons.
                        let retried: BTreeSet<i64> = unit_plan
                            .items
                            .iter()
                            .filter(|i| i.reason == Reason::Retry)
                            .map(|i| i.household_id)
                            .collect();
                        for id in &unit.unreachable_earlier {
                            prop_assert!(retried.contains(id), "retry of {} missed", id);
                        }
                        for item in &unit_plan.items {
                            prop_assert!(this_month.insert(item.household_id));
                            prop_assert!(item.assignee_staff_id.is_some());
                            if item.reason != Reason::Retry {
                                prop_assert!(
                                    seen.entry((unit.unit_id, item.cycle))
                                        .or_default()
                                        .insert(item.household_id),
                                    "unit {} repeated {} in cycle {}",
                                    unit.unit_id, item.household_id, item.cycle
                                );
                            }
                        }
                        // What the database would hold for next month.
                        unit.cycle = unit_plan.cycle;
                        unit.outside_current_cycle = seen
                            .get(&(unit.unit_id, unit.cycle))
                            .cloned()
                            .unwrap_or_default();
                        unit.unreachable_earlier = unit_plan
                            .items
                            .iter()
                            .filter(|_| {
                                counter += 1;
                                counter.is_multiple_of(unreachable_every)
                            })
                            .map(|i| i.household_id)
                            .take(quota.quota as usize / 2)
                            .collect();
                    }
                }
                facts.month = facts.month.next();
            }
        }
    }

    #[test]
    fn people_get_neighbouring_households_in_turn() {
        let mut items: Vec<PlanItem> = [(5, 2), (1, 1), (3, 1), (9, 3), (7, 2), (2, 1)]
            .into_iter()
            .map(|(household_id, building_id)| PlanItem {
                household_id,
                building_id,
                customer_id: None,
                cycle: 1,
                reason: Reason::Retry,
                why: String::new(),
                assignee_staff_id: None,
            })
            .collect();
        hand_out(&mut items, &[100, 200]);
        let given: Vec<(i64, Option<i64>)> = items
            .iter()
            .map(|i| (i.household_id, i.assignee_staff_id))
            .collect();
        assert_eq!(
            given,
            vec![
                (1, Some(100)),
                (2, Some(100)),
                (3, Some(100)),
                (5, Some(200)),
                (7, Some(200)),
                (9, Some(200))
            ]
        );
    }
}
