//! Who answers for a follow-up when it goes wrong (overdue, R-INF-4; the customer unreachable,
//! D-CB-3): the head of its unit, or — when the unit has none, or its head is the one who was
//! to do it — the head of the unit above, and so on up; at the top, the general manager
//! (R-ORG-1). Never the assignee: a director whose own follow-up is late is not told to chase
//! himself.

use std::collections::HashMap;

use huifang_protocol::Role;
use huifang_store::StoreError;

/// The line of heads above every unit, read once and asked many times (the deadline job asks
/// for thousands of follow-ups at a month's end).
#[derive(Debug, Clone, Default)]
pub struct Heads {
    parent: HashMap<i64, Option<i64>>,
    /// Active heads of each unit, lowest id first.
    heads: HashMap<i64, Vec<i64>>,
    /// Active general managers, lowest id first.
    general_managers: Vec<i64>,
}

/// Units are a shallow tree; a deeper walk means a loop in the registry.
const MAX_DEPTH: usize = 32;

impl Heads {
    /// Reads the units and the active heads and general managers.
    pub async fn load(conn: &mut huifang_store::db::AnyConnection) -> Result<Self, StoreError> {
        let (units, people) = huifang_store::units::heads_and_parents(conn).await?;
        let mut heads = Heads {
            parent: units.into_iter().collect(),
            ..Heads::default()
        };
        for (id, unit, role) in people {
            if role == Role::GeneralManager {
                heads.general_managers.push(id);
            } else if let Some(unit) = unit {
                heads.heads.entry(unit).or_default().push(id);
            }
        }
        Ok(heads)
    }

    /// Who answers for work of `unit` assigned to `assignee` (`None`: the unit as a whole).
    pub fn above(&self, unit: i64, assignee: Option<i64>) -> Option<i64> {
        let heads_of = |u: i64| self.heads.get(&u).map(Vec::as_slice).unwrap_or_default();
        // A head's own work goes to the unit above, not to a fellow head of the same unit.
        let mut current = if assignee.is_some_and(|a| heads_of(unit).contains(&a)) {
            self.parent.get(&unit).copied().flatten()
        } else {
            Some(unit)
        };
        let mut depth = 0;
        while let Some(u) = current {
            if let Some(head) = heads_of(u).iter().find(|h| Some(**h) != assignee) {
                return Some(*head);
            }
            depth += 1;
            if depth > MAX_DEPTH {
                break;
            }
            current = self.parent.get(&u).copied().flatten();
        }
        self.general_managers
            .iter()
            .copied()
            .find(|gm| Some(*gm) != assignee)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Head office (1) with the development department (2); an office (3) with its customer
    /// service centre (4), which has no head of its own.
    fn company() -> Heads {
        Heads {
            parent: HashMap::from([(1, None), (2, Some(1)), (3, Some(1)), (4, Some(3))]),
            heads: HashMap::from([(2, vec![20]), (3, vec![30])]),
            general_managers: vec![10],
        }
    }

    #[test]
    fn r_inf_4_escalation_goes_up_the_chain_and_never_to_the_assignee() {
        let heads = company();
        // The centre has no head: its office's director answers.
        assert_eq!(heads.above(4, Some(40)), Some(30));
        assert_eq!(heads.above(4, None), Some(30));
        // The development director's own follow-up: not himself, but the general manager.
        assert_eq!(heads.above(2, Some(20)), Some(10));
        // The office director's own: head office has no head, so the general manager.
        assert_eq!(heads.above(3, Some(30)), Some(10));
        // A staff member of the development department: their director.
        assert_eq!(heads.above(2, Some(21)), Some(20));
        // The general manager's own work has nobody above.
        assert_eq!(heads.above(1, Some(10)), None);
    }

    #[test]
    fn a_loop_in_the_registry_ends_at_the_general_manager() {
        let heads = Heads {
            parent: HashMap::from([(1, Some(2)), (2, Some(1))]),
            heads: HashMap::new(),
            general_managers: vec![10],
        };
        assert_eq!(heads.above(1, None), Some(10));
    }
}
