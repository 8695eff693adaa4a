//! Kinds of organisational unit (SPEC §1) and the shape rules between them.

use crate::labels::labelled_enum;

/// The kind of a unit decides which sheets it handles and which routine quotas it owes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnitKind {
    /// 开发部: head-office customer service (major complaints, company-funded repairs, survey, bulletin).
    DevelopmentDepartment,
    /// 营销部: property certificates, mortgages, house measurement (R-INF-6).
    MarketingDepartment,
    /// 销售现场: one per project on sale, staffed by property consultants (R-INF-7).
    SalesSite,
    /// 物业管理处: one per community, led by the office director (R-INF-8, R-RTN-2).
    PropertyOffice,
    /// 客户服务中心 of a property office (R-RTN-3).
    CustomerServiceCenter,
    /// Another department of a property office: engineering, security, cleaning … (R-RTN-4).
    OfficeDepartment,
}

labelled_enum!(UnitKind {
    DevelopmentDepartment => ("development_department", "开发部", "Development department"),
    MarketingDepartment => ("marketing_department", "营销部", "Marketing department"),
    SalesSite => ("sales_site", "销售现场", "Sales site"),
    PropertyOffice => ("property_office", "物业管理处", "Property management office"),
    CustomerServiceCenter => ("customer_service_center", "客户服务中心", "Customer service center"),
    OfficeDepartment => ("office_department", "管理处部门", "Office department"),
});

impl UnitKind {
    /// Units that work for the whole company rather than one community.
    pub fn is_company_wide(self) -> bool {
        matches!(
            self,
            UnitKind::DevelopmentDepartment | UnitKind::MarketingDepartment
        )
    }

    /// Units that hand their month's figures to the development department (R-STA-2): the
    /// marketing department, every property office (for itself and its departments) and every
    /// sales site (through its sales manager, R-INF-7).
    pub fn submits_monthly_figures(self) -> bool {
        matches!(
            self,
            UnitKind::MarketingDepartment | UnitKind::PropertyOffice | UnitKind::SalesSite
        )
    }

    /// The kind of parent this unit must have, if any: office sub-units sit under their office.
    pub fn required_parent(self) -> Option<UnitKind> {
        match self {
            UnitKind::CustomerServiceCenter | UnitKind::OfficeDepartment => {
                Some(UnitKind::PropertyOffice)
            }
            _ => None,
        }
    }

    /// Whether the unit serves one community (set on it directly or inherited from its office).
    pub fn serves_one_community(self) -> bool {
        !self.is_company_wide()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Labelled;

    #[test]
    fn office_sub_units_need_an_office_parent() {
        assert_eq!(
            UnitKind::CustomerServiceCenter.required_parent(),
            Some(UnitKind::PropertyOffice)
        );
        assert_eq!(UnitKind::SalesSite.required_parent(), None);
        assert!(UnitKind::DevelopmentDepartment.is_company_wide());
        assert!(UnitKind::OfficeDepartment.serves_one_community());
    }

    #[test]
    fn chinese_labels_parse() {
        assert_eq!(
            "物业管理处".parse::<UnitKind>().unwrap(),
            UnitKind::PropertyOffice
        );
        assert_eq!(UnitKind::ALL.len(), 6);
    }
}
