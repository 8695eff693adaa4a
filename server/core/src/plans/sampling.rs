//! Which households a unit follows up this month (R-RTN-5, D-RTN-2).
//!
//! - **Not repeated**: a unit samples from the households it has not sampled in its current
//!   cycle; when those run out, the cycle is complete and a new one begins (with the rest of the
//!   month's quota). Across units, a household gets at most one routine follow-up a month: the
//!   caller passes what other units already took this month.
//! - **Dispersed**: the month's sample is apportioned across buildings in proportion to what each
//!   building has left to sample (largest remainders), so each building's count is within one of
//!   its exact share; in a fresh cycle that share is proportional to the building's size.
//! - **Retried first**: households that could not be reached in an earlier round go before new
//!   ones.
//! - **Reproducible and explained**: within a building, households are taken in the order of a
//!   draw, SplitMix64 of (seed, household id), stable across versions and platforms; every choice
//!   carries its reason.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// A household of the community at the start of the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Household {
    pub id: i64,
    pub building_id: i64,
}

/// What one unit's sample for one month is drawn from.
#[derive(Debug, Clone)]
pub struct SamplingInput<'a> {
    pub households: &'a [Household],
    /// Households this unit already sampled in its current cycle.
    pub sampled_this_cycle: &'a BTreeSet<i64>,
    /// Households other units already took this month.
    pub taken_this_month: &'a BTreeSet<i64>,
    /// Households this unit could not reach in earlier rounds, oldest first.
    pub unreachable_earlier: &'a [i64],
    pub quota: usize,
    pub seed: u64,
}

static NO_HOUSEHOLDS: BTreeSet<i64> = BTreeSet::new();

impl Default for SamplingInput<'_> {
    fn default() -> Self {
        SamplingInput {
            households: &[],
            sampled_this_cycle: &NO_HOUSEHOLDS,
            taken_this_month: &NO_HOUSEHOLDS,
            unreachable_earlier: &[],
            quota: 0,
            seed: 0,
        }
    }
}

/// Why a household was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// One of a consultant's own customers: every one is followed up each month (R-RTN-1).
    OwnCustomer,
    /// It could not be reached in an earlier round; retried before new households.
    Retry,
    /// Drawn in its building's share of the sample.
    Stratum {
        building_id: i64,
        /// Households of the building still to be sampled in the cycle.
        building_eligible: usize,
        /// The building's share of this month's sample.
        building_quota: usize,
        /// Its place in the building's draw (1 = lowest draw).
        draw_rank: usize,
        /// Drawn in a cycle that began this month (the previous one covered everyone).
        new_cycle: bool,
    },
}

impl Reason {
    /// The reason in words, for the plan preview.
    pub fn explain(&self) -> String {
        match self {
            Reason::OwnCustomer => {
                "one of the consultant's own customers, followed up every month (R-RTN-1)".into()
            }
            Reason::Retry => "could not be reached in an earlier round; retried first".into(),
            Reason::Stratum {
                building_id,
                building_eligible,
                building_quota,
                draw_rank,
                new_cycle,
            } => format!(
                "building {building_id}: {building_quota} of its {building_eligible} households not yet \
                 followed up in this cycle{}; place {draw_rank} in the building's draw",
                if *new_cycle {
                    " (a new cycle began this month)"
                } else {
                    ""
                }
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    pub household_id: i64,
    pub reason: Reason,
}

/// One unit's sample for one month.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Sample {
    pub choices: Vec<Choice>,
    /// The unit's cycle was completed this month and a new one began.
    pub new_cycle: bool,
}

/// SplitMix64's finaliser: a fixed, well-mixing permutation of 64-bit values.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A stable draw for a household: SplitMix64 over (seed, id). Plain integer arithmetic, so the
/// same on every platform and version, and cheap enough to draw for every household of 200
/// communities each month (SHA-256 here was most of the planning time).
pub fn draw(seed: u64, household_id: i64) -> u64 {
    mix(mix(seed) ^ mix(household_id as u64 ^ 0x9e37_79b9_7f4a_7c15))
}

/// Takes `n` households from `pool`, apportioned across buildings by largest remainders.
fn stratified(pool: &[Household], n: usize, seed: u64, new_cycle: bool, out: &mut Vec<Choice>) {
    if n == 0 || pool.is_empty() {
        return;
    }
    let mut by_building: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for household in pool {
        by_building
            .entry(household.building_id)
            .or_default()
            .push(household.id);
    }
    let total = pool.len();
    let n = n.min(total);
    // Hamilton apportionment: floors first, then the largest remainders (ties by the draw).
    let mut shares: Vec<(i64, usize, usize, u64)> = by_building
        .iter()
        .map(|(building, ids)| {
            let exact = n * ids.len();
            (
                *building,
                exact / total,
                exact % total,
                draw(seed, *building),
            )
        })
        .collect();
    let given: usize = shares.iter().map(|s| s.1).sum();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|&a, &b| {
        shares[b]
            .2
            .cmp(&shares[a].2)
            .then(shares[a].3.cmp(&shares[b].3))
    });
    for &index in order.iter().take(n - given) {
        shares[index].1 += 1;
    }
    for (building, quota, _, _) in shares {
        let mut ids = by_building.remove(&building).unwrap_or_default();
        let eligible = ids.len();
        ids.sort_by_cached_key(|id| (draw(seed, *id), *id));
        for (rank, id) in ids.into_iter().take(quota).enumerate() {
            out.push(Choice {
                household_id: id,
                reason: Reason::Stratum {
                    building_id: building,
                    building_eligible: eligible,
                    building_quota: quota,
                    draw_rank: rank + 1,
                    new_cycle,
                },
            });
        }
    }
}

/// Draws one unit's sample for one month.
pub fn sample(input: &SamplingInput<'_>) -> Sample {
    let mut choices = Vec::with_capacity(input.quota);
    let mut chosen: BTreeSet<i64> = BTreeSet::new();
    let in_community: BTreeSet<i64> = input.households.iter().map(|h| h.id).collect();
    for &id in input.unreachable_earlier {
        if choices.len() == input.quota {
            break;
        }
        if in_community.contains(&id) && !input.taken_this_month.contains(&id) && chosen.insert(id)
        {
            choices.push(Choice {
                household_id: id,
                reason: Reason::Retry,
            });
        }
    }
    let available =
        |h: &&Household| !input.taken_this_month.contains(&h.id) && !chosen.contains(&h.id);
    let rest_of_cycle: Vec<Household> = input
        .households
        .iter()
        .filter(available)
        .filter(|h| !input.sampled_this_cycle.contains(&h.id))
        .copied()
        .collect();
    let wanted = input.quota - choices.len();
    if rest_of_cycle.len() >= wanted {
        stratified(&rest_of_cycle, wanted, input.seed, false, &mut choices);
        return Sample {
            choices,
            new_cycle: false,
        };
    }
    // The cycle ends this month: everyone left in it, then a new cycle for the rest.
    stratified(
        &rest_of_cycle,
        rest_of_cycle.len(),
        input.seed,
        false,
        &mut choices,
    );
    chosen.extend(choices.iter().map(|c| c.household_id));
    let new_cycle: Vec<Household> = input
        .households
        .iter()
        .filter(|h| !input.taken_this_month.contains(&h.id) && !chosen.contains(&h.id))
        .copied()
        .collect();
    let wanted = input.quota - choices.len();
    stratified(&new_cycle, wanted, input.seed, true, &mut choices);
    Sample {
        choices,
        new_cycle: true,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// A community of buildings with the given numbers of households.
    fn community(sizes: &[usize]) -> Vec<Household> {
        let mut id = 0;
        let mut households = Vec::new();
        for (building, &size) in sizes.iter().enumerate() {
            for _ in 0..size {
                id += 1;
                households.push(Household {
                    id,
                    building_id: building as i64 + 1,
                });
            }
        }
        households
    }

    fn ids(sample: &Sample) -> Vec<i64> {
        sample.choices.iter().map(|c| c.household_id).collect()
    }

    #[test]
    fn a_sample_is_reproducible_and_explained() {
        let households = community(&[40, 20, 10]);
        let none = BTreeSet::new();
        let input = SamplingInput {
            households: &households,
            sampled_this_cycle: &none,
            taken_this_month: &none,
            quota: 7,
            seed: 202_612,
            ..SamplingInput::default()
        };
        let first = sample(&input);
        assert_eq!(
            first,
            sample(&input),
            "the same seed draws the same households"
        );
        assert_ne!(
            ids(&first),
            ids(&sample(&SamplingInput {
                seed: 202_701,
                ..input.clone()
            })),
            "another month's seed draws others"
        );
        // 7 × 40/70 = 4, 7 × 20/70 = 2, 7 × 10/70 = 1.
        let per_building = |b: i64| {
            first
                .choices
                .iter()
                .filter(
                    |c| matches!(c.reason, Reason::Stratum { building_id, .. } if building_id == b),
                )
                .count()
        };
        assert_eq!(
            (per_building(1), per_building(2), per_building(3)),
            (4, 2, 1)
        );
        assert!(
            first.choices[0]
                .reason
                .explain()
                .contains("not yet followed up in this cycle")
        );
    }

    /// R-RTN-5 / D-RTN-2: unreachable households are retried before new ones.
    #[test]
    fn r_rtn_5_unreachable_households_are_retried_first() {
        let households = community(&[10, 10]);
        let cycle: BTreeSet<i64> = [3, 15].into();
        let taken: BTreeSet<i64> = [4].into();
        let result = sample(&SamplingInput {
            households: &households,
            sampled_this_cycle: &cycle,
            taken_this_month: &taken,
            unreachable_earlier: &[15, 4, 999, 3],
            quota: 5,
            seed: 1,
        });
        assert_eq!(
            &ids(&result)[..2],
            [15, 3],
            "retries in order, skipping one taken this month and one gone"
        );
        assert_eq!(result.choices[0].reason, Reason::Retry);
        assert_eq!(result.choices.len(), 5);
    }

    /// R-RTN-5 / D-RTN-2: month after month, a unit covers the whole community before any
    /// household comes round again.
    #[test]
    fn r_rtn_5_a_cycle_covers_everyone_before_repeating() {
        let households = community(&[13, 7, 5]);
        let none = BTreeSet::new();
        let mut cycle = BTreeSet::new();
        let mut cycles_seen = 0;
        for month in 0..12u64 {
            let result = sample(&SamplingInput {
                households: &households,
                sampled_this_cycle: &cycle,
                taken_this_month: &none,
                quota: 4,
                seed: month,
                ..SamplingInput::default()
            });
            if result.new_cycle {
                cycles_seen += 1;
                let (old, new): (Vec<_>, Vec<_>) = result.choices.iter().partition(|c| {
                    matches!(
                        c.reason,
                        Reason::Stratum {
                            new_cycle: false,
                            ..
                        }
                    )
                });
                for choice in &old {
                    cycle.insert(choice.household_id);
                }
                assert_eq!(cycle.len(), households.len(), "the old cycle ends complete");
                cycle = new.iter().map(|c| c.household_id).collect();
            } else {
                for id in ids(&result) {
                    assert!(cycle.insert(id), "household {id} repeated within a cycle");
                }
            }
        }
        assert_eq!(
            cycles_seen, 1,
            "25 households, 4 a month: a new cycle in month 7"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// D-RTN-2 over random communities, earlier rounds and other units' picks: the sample
        /// has exactly the quota (or all that is available), never repeats within the cycle or
        /// the month, and each building's share is within one of proportional.
        #[test]
        fn d_rtn_2_samples_are_exact_unrepeated_and_dispersed(
            sizes in proptest::collection::vec(1usize..60, 1..8),
            quota in 0usize..80,
            sampled_fraction in 0u64..100,
            taken_fraction in 0u64..30,
            retries in proptest::collection::vec(1i64..400, 0..5),
            seed in any::<u64>(),
        ) {
            let households = community(&sizes);
            let cycle: BTreeSet<i64> = households.iter().map(|h| h.id)
                .filter(|id| draw(seed ^ 1, *id) % 100 < sampled_fraction).collect();
            let taken: BTreeSet<i64> = households.iter().map(|h| h.id)
                .filter(|id| draw(seed ^ 2, *id) % 100 < taken_fraction).collect();
            let result = sample(&SamplingInput {
                households: &households,
                sampled_this_cycle: &cycle,
                taken_this_month: &taken,
                unreachable_earlier: &retries,
                quota,
                seed,
            });
            let chosen = ids(&result);
            let unique: BTreeSet<i64> = chosen.iter().copied().collect();
            prop_assert_eq!(unique.len(), chosen.len(), "no household twice");
            prop_assert!(chosen.iter().all(|id| !taken.contains(id)), "none taken by another unit this month");
            let available = households.len() - taken.len();
            prop_assert_eq!(chosen.len(), quota.min(available));
            let retried = result.choices.iter().take_while(|c| c.reason == Reason::Retry).count();
            prop_assert!(result.choices[retried..].iter().all(|c| c.reason != Reason::Retry), "retries first");
            for choice in &result.choices {
                if let Reason::Stratum { new_cycle: false, .. } = choice.reason {
                    prop_assert!(!cycle.contains(&choice.household_id), "repeated within the cycle");
                }
            }
            if !result.new_cycle {
                // Dispersal: compare each building's count with its exact share of the drawn part.
                let drawn = chosen.len() - retried;
                let pool: Vec<&Household> = households.iter()
                    .filter(|h| !taken.contains(&h.id) && !cycle.contains(&h.id)
                        && !chosen[..retried].contains(&h.id))
                    .collect();
                for building in 1..=sizes.len() as i64 {
                    let eligible = pool.iter().filter(|h| h.building_id == building).count();
                    let got = result.choices[retried..].iter()
                        .filter(|c| matches!(c.reason, Reason::Stratum { building_id, .. } if building_id == building))
                        .count();
                    let exact = drawn as f64 * eligible as f64 / pool.len().max(1) as f64;
                    prop_assert!((got as f64 - exact).abs() < 1.0 + 1e-9,
                        "building {} got {} of an exact share {:.2}", building, got, exact);
                }
            }
        }

        /// D-RTN-2 across units: units drawing one after another in a month never share a
        /// household.
        #[test]
        fn d_rtn_2_no_household_twice_in_a_month_across_units(
            sizes in proptest::collection::vec(1usize..40, 1..6),
            quotas in proptest::collection::vec(0usize..30, 1..5),
            seed in any::<u64>(),
        ) {
            let households = community(&sizes);
            let none = BTreeSet::new();
            let mut taken = BTreeSet::new();
            for (unit, quota) in quotas.iter().enumerate() {
                let result = sample(&SamplingInput {
                    households: &households,
                    sampled_this_cycle: &none,
                    taken_this_month: &taken,
                    quota: *quota,
                    seed: seed.wrapping_add(unit as u64),
                    ..SamplingInput::default()
                });
                for id in ids(&result) {
                    prop_assert!(taken.insert(id), "household {} twice this month", id);
                }
            }
        }
    }
}
