//! The rules that create and assign follow-ups. Every follow-up records the rule that assigned it,
//! so "why is this mine?" always has an answer in words (DESIGN: rules are data with IDs).

use crate::labels::labelled_enum;

/// Why a follow-up exists and why it is assigned where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssignmentRule {
    /// R-INF-2, R-ORG-3: whoever accepted the sheet follows it up.
    AcceptorFollowsUp,
    /// R-INF-5, R-ORG-2: the development department follows up major complaints.
    DevelopmentMajorComplaint,
    /// R-INF-5: the development department follows up company-funded repairs and renovations.
    DevelopmentCompanyFunded,
    /// R-INF-6: the marketing department follows up certificates, mortgages and measurement.
    MarketingScope,
    /// R-INF-7: a sales-site matter is followed up by the customer's own consultant.
    ConsultantOwnCustomer,
    /// R-INF-8: the property office follows up the sheets it accepted and its repair works.
    OfficeFollowsUp,
    /// D-CB-3: a dissatisfied follow-up reopened the matter as a new sheet.
    ReopenedAfterDissatisfaction,
    /// A unit head moved the follow-up to someone else.
    ReassignedByHead,
    /// R-RTN-1: a consultant's monthly follow-up of each of their customers.
    RoutineConsultant,
    /// R-RTN-2: the office director's monthly 1 % sample.
    RoutineOfficeDirector,
    /// R-RTN-3: the customer service centre's share of its yearly 50 %.
    RoutineServiceCentre,
    /// R-RTN-4: an office department's monthly 2 % sample.
    RoutineDepartment,
    /// R-SUR-1: the annual opinion survey, sent to every household of the selected communities.
    SurveyDistribution,
}

labelled_enum!(AssignmentRule {
    AcceptorFollowsUp => ("R-INF-2", "谁受理,谁回访:受理人负责回访", "Whoever accepted the sheet follows it up (R-INF-2, R-ORG-3)"),
    DevelopmentMajorComplaint => ("R-INF-5/major", "重大投诉由开发部回访,部门负责人亲自跟进", "The development department follows up major complaints, led by its director (R-INF-5, R-ORG-2)"),
    DevelopmentCompanyFunded => ("R-INF-5/company-funded", "公司出资的维修或改造由开发部回访", "The development department follows up repairs and renovations paid by the company (R-INF-5)"),
    MarketingScope => ("R-INF-6", "房产证、按揭、房屋查丈由营销部处理并回访", "The marketing department handles and follows up property certificates, mortgages and measurement (R-INF-6)"),
    ConsultantOwnCustomer => ("R-INF-7", "销售现场客户事务由该客户的置业顾问回访", "A sales-site matter is followed up by the customer's own property consultant (R-INF-7)"),
    OfficeFollowsUp => ("R-INF-8", "物业管理处回访其受理的信息及维修(含保修)", "The property office follows up what it accepted and its repair works, warranty repairs included (R-INF-8)"),
    ReopenedAfterDissatisfaction => ("D-CB-3", "回访不满意,重新作为新信息单处理", "A dissatisfied follow-up reopened the matter as a new sheet (D-CB-3)"),
    ReassignedByHead => ("reassigned", "部门负责人改派", "A unit head reassigned the follow-up"),
    RoutineConsultant => ("R-RTN-1", "置业顾问每月回访其全部客户", "A property consultant follows up each of their customers every month (R-RTN-1)"),
    RoutineOfficeDirector => ("R-RTN-2", "管理处主任每月回访小区客户的 1%", "The office director follows up 1 % of the community every month (R-RTN-2)"),
    RoutineServiceCentre => ("R-RTN-3", "客户服务中心每年回访小区客户的 50%,按月分摊", "The customer service centre follows up 50 % of the community a year, spread over the months (R-RTN-3)"),
    RoutineDepartment => ("R-RTN-4", "管理处其他部门每月回访 2%,全年不少于 20%", "Each other office department follows up 2 % a month and at least 20 % a year (R-RTN-4)"),
    SurveyDistribution => ("R-SUR-1", "年度客户意见调查", "The annual customer opinion survey (R-SUR-1)"),
});
