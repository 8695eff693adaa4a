//! Staff roles (SPEC §1). A role decides what a staff member may see and do; the unit decides where.

use crate::labels::labelled_enum;

/// What a staff member is, as far as permissions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum Role {
    /// 总经理: leads all follow-up work and sees everything (R-ORG-1); approves survey forms (R-SUR-2).
    GeneralManager,
    /// A tenant administrator: the HQ customer service committee in the system (R-GOV-1).
    Admin,
    /// Head of a unit: department director, sales manager, office director (R-ORG-2).
    UnitHead,
    /// Staff of a department or an office (R-ORG-3).
    Staff,
    /// 置业顾问: a sales-site property consultant with their own customers (R-INF-7, R-RTN-1).
    Consultant,
}

labelled_enum!(Role {
    GeneralManager => ("general_manager", "总经理", "General manager"),
    Admin => ("admin", "系统管理员", "Administrator"),
    UnitHead => ("unit_head", "部门负责人", "Unit head"),
    Staff => ("staff", "员工", "Staff"),
    Consultant => ("consultant", "置业顾问", "Property consultant"),
});

impl Role {
    /// Roles that see every unit's data.
    pub fn sees_everything(self) -> bool {
        matches!(self, Role::GeneralManager | Role::Admin)
    }

    /// Roles that must belong to a unit to do their work.
    pub fn needs_unit(self) -> bool {
        matches!(self, Role::UnitHead | Role::Staff | Role::Consultant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Labelled;

    #[test]
    fn codes_round_trip_through_serde_and_labels_parse() {
        for role in Role::ALL {
            let json = serde_json::to_string(role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.code()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), *role);
            assert_eq!(role.label_zh().parse::<Role>().unwrap(), *role);
            assert_eq!(
                role.label_en().to_uppercase().parse::<Role>().unwrap(),
                *role
            );
        }
    }

    #[test]
    fn unknown_role_names_the_choices() {
        let err = "boss".parse::<Role>().unwrap_err();
        assert!(err.to_string().contains("general_manager"), "{err}");
        let err = serde_json::from_str::<Role>("\"boss\"").unwrap_err();
        assert!(err.to_string().contains("unknown Role \"boss\""), "{err}");
    }
}
