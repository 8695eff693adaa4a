//! R-SUR-1: an approved form sent to every household of the chosen communities, as survey
//! follow-ups in resumable batches.

use automerge::AutoCommit;
use huifang_protocol::{
    FollowUp, FollowUpKind, FollowUpStatus, Labelled, SCHEMA_VERSION, UnitKind, format_time,
};
use serde::{Deserialize, Serialize};

use super::*;

/// What a distribution did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Distribution {
    pub form: SurveyForm,
    /// Survey follow-ups written by this distribution (households already sent the form are
    /// skipped, so distributing again changes nothing).
    pub follow_ups_written: usize,
}

/// A household a form goes to: its id and its first customer (id, name, phone), if any.
type Recipient = (i64, Option<i64>, Option<String>, Option<String>);

/// Survey follow-ups written per transaction.
const DISTRIBUTION_BATCH: usize = 200;

/// R-SUR-1: sends an approved form to every household of `communities`: one survey follow-up
/// each, assigned to the community's customer service centre (or its office), due `due_at`.
pub async fn distribute(
    db: &Database,
    time_zone: chrono_tz::Tz,
    caller: &Caller,
    id: i64,
    communities: &[i64],
    due_at: chrono::DateTime<chrono::Utc>,
) -> Result<Distribution, Error> {
    if communities.is_empty() || communities.len() > 1_000 {
        return Err(Error::invalid(
            "name 1 to 1000 communities to send the form to",
        ));
    }
    let form = get(db, id).await?;
    if !matches!(form.status, FormStatus::Approved | FormStatus::Distributed)
        || form.approved_sha256.as_deref() != Some(form.content_sha256.as_str())
    {
        return Err(Error::Conflict(format!(
            "survey form {id} is {}; only a form the general manager approved is sent (R-SUR-2)",
            form.status.code()
        )));
    }
    if due_at <= db.now() {
        return Err(Error::invalid("due_at must be in the future"));
    }
    let mut targets = Vec::new();
    for &community in communities {
        let unit: Option<i64> = sqlx::query_scalar(
            "SELECT u.id FROM units u LEFT JOIN units p ON p.id = u.parent_id
             WHERE COALESCE(u.community_id, p.community_id) = $1
               AND u.kind IN ($2, $3)
             ORDER BY CASE u.kind WHEN $2 THEN 0 ELSE 1 END, u.id LIMIT 1",
        )
        .bind(community)
        .bind(UnitKind::CustomerServiceCenter.code())
        .bind(UnitKind::PropertyOffice.code())
        .fetch_optional(db.pool())
        .await?;
        let Some(unit) = unit else {
            return Err(Error::invalid(format!(
                "community {community} does not exist or has no property office to send the form through"
            )));
        };
        let households: Vec<Recipient> = sqlx::query_as(
            "SELECT h.id, c.id, c.name, c.phone FROM households h
             LEFT JOIN customers c ON c.id = (SELECT MIN(c2.id) FROM customers c2 WHERE c2.household_id = h.id)
             WHERE h.community_id = $1
               AND NOT EXISTS (SELECT 1 FROM survey_distributions d WHERE d.form_id = $2 AND d.household_id = h.id)
             ORDER BY h.id",
        )
        .bind(community)
        .bind(id)
        .fetch_all(db.pool())
        .await?;
        targets.extend(households.into_iter().map(|h| (community, unit, h)));
    }
    let due = format_time(due_at);
    let mut written = 0;
    let mut first = true;
    for batch in targets.chunks(DISTRIBUTION_BATCH) {
        let mut write = begin(db, caller, time_zone).await?;
        for (community, unit, (household, customer, name, phone)) in batch {
            let follow_up = FollowUp {
                schema_version: SCHEMA_VERSION,
                id: huifang_protocol::new_document_id(),
                kind: FollowUpKind::Survey,
                sheet_id: None,
                household_id: Some(*household),
                customer_id: *customer,
                customer_name: name.clone().unwrap_or_default(),
                contact_phone: phone.clone().unwrap_or_default(),
                assignee_unit_id: *unit,
                assignee_staff_id: None,
                rule: huifang_protocol::AssignmentRule::SurveyDistribution,
                due_at: due.clone(),
                status: FollowUpStatus::Open,
                outcome: None,
                unreachable_attempts: Vec::new(),
                signature: None,
                cancel_reason: None,
                overdue_at: None,
                escalations: Vec::new(),
                reassignments: Vec::new(),
                created_at: write.now_text(),
            };
            let inserted = sqlx::query(
                "INSERT INTO survey_distributions (follow_up_id, form_id, household_id, community_id)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (form_id, household_id) DO NOTHING",
            )
            .bind(&follow_up.id)
            .bind(id)
            .bind(household)
            .bind(community)
            .execute(&mut **write.tx())
            .await?;
            if inserted.rows_affected() == 0 {
                continue; // sent meanwhile
            }
            write
                .store(&mut AutoCommit::new(), &follow_up, "follow_up.survey_sent")
                .await?;
            written += 1;
        }
        if first {
            let form = load(&mut write, id).await?;
            if form.status == FormStatus::Approved {
                transition(
                    &mut write,
                    &form,
                    &[FormStatus::Approved],
                    FormStatus::Distributed,
                    "distributed_at",
                    None,
                )
                .await?;
            }
            first = false;
        }
        write.commit().await?;
    }
    Ok(Distribution {
        form: get(db, id).await?,
        follow_ups_written: written,
    })
}
