//! R-SUR-1: an approved form sent to every household of the chosen communities, as survey
//! follow-ups in resumable batches.

use automerge::AutoCommit;
use huifang_protocol::{FollowUp, FollowUpKind, FollowUpStatus, SCHEMA_VERSION, format_time};
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
        let unit = stored::sending_unit(db, community).await?;
        let Some(unit) = unit else {
            return Err(Error::invalid(format!(
                "community {community} does not exist or has no property office to send the form through"
            )));
        };
        let households = stored::unsent(db, id, community).await?;
        targets.extend(households.into_iter().map(|h| (community, unit, h)));
    }
    let due = format_time(due_at);
    let mut written = 0;
    let mut first = true;
    for batch in targets.chunks(DISTRIBUTION_BATCH) {
        let mut write = begin(db, caller, time_zone).await?;
        for (community, unit, recipient) in batch {
            let follow_up = FollowUp {
                schema_version: SCHEMA_VERSION,
                id: huifang_protocol::new_document_id(),
                kind: FollowUpKind::Survey,
                sheet_id: None,
                household_id: Some(recipient.household_id),
                customer_id: recipient.customer_id,
                customer_name: recipient.name.clone().unwrap_or_default(),
                contact_phone: recipient.phone.clone().unwrap_or_default(),
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
                survey_form_id: Some(id),
                survey_response: None,
                photos: Vec::new(),
            };
            if !stored::record_sent(
                &mut write,
                &follow_up.id,
                id,
                recipient.household_id,
                *community,
            )
            .await?
            {
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
                    None,
                )
                .await?;
            }
            first = false;
        }
        write.commit().await?;
    }
    Ok(Distribution {
        form: changed_for_phones(db, id).await?,
        follow_ups_written: written,
    })
}
