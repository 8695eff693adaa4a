//! Answer sheets (R-SUR-2, D-SUR-1/2). A household's answers live in its survey follow-up's
//! document ([`SurveyResponse`]), written there by a phone offline or by [`answer`] through the
//! API, and reviewed alike by the protocol's review of a follow-up change (the form sent, its
//! approved version, the question kinds, once per follow-up). The rows the report counts are
//! written in the same transaction as the document, by [`record_response`].

use huifang_protocol::{
    FollowUp, FollowUpStatus, Labelled, SurveyAnswer, SurveyChannel, SurveyResponse,
};
use serde::Serialize;

use huifang_store::surveys::{AnswerValue, NewResponse};

use super::*;

/// An answer sheet as stored: which version of the form it answers (D-SUR-2), how it came in,
/// who entered it and when, and the answers kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredResponse {
    pub follow_up_id: String,
    pub form_id: i64,
    pub form_sha256: String,
    pub community_id: i64,
    pub channel: SurveyChannel,
    pub entered_by: i64,
    pub entered_at: String,
    pub answers: Vec<SurveyAnswer>,
}

/// Records one household's answers through the API: written into the survey follow-up's
/// document, reviewed as a phone's would be, and counted, all in one transaction.
pub async fn answer(
    db: &Database,
    time_zone: chrono_tz::Tz,
    caller: &Caller,
    id: i64,
    follow_up_id: &str,
    channel: SurveyChannel,
    answers: &[SurveyAnswer],
) -> Result<StoredResponse, Error> {
    let form = get(db, id).await?;
    let missing = || {
        Error::NotFound(format!(
            "follow-up {follow_up_id} is not a survey follow-up of form {id} in your scope"
        ))
    };
    let mut write = begin(db, caller, time_zone).await?;
    let (mut doc, before) = write
        .load::<FollowUp>(follow_up_id)
        .await?
        .ok_or_else(missing)?;
    // Answers are entered by whoever does the survey follow-up (its person or unit), not by
    // head office on another unit's behalf.
    if !crate::followups::is_assigned_within(&caller.own_work(), &before)
        || stored::sent_to(&mut write, follow_up_id, id)
            .await?
            .is_none()
    {
        return Err(missing());
    }
    let response = SurveyResponse {
        form_id: id,
        form_sha256: form.approved_sha256.clone().unwrap_or(form.content_sha256),
        channel,
        entered_by: caller.staff_id,
        answered_at: write.now_text(),
        answers: answers.to_vec(),
    }
    .trimmed();
    let mut after = before.clone();
    after.status = FollowUpStatus::Completed;
    after.survey_response = Some(response);
    crate::facts::review_follow_up_change(&mut write, caller, &before, &after).await?;
    write
        .store(&mut doc, &after, "follow_up.survey_answered")
        .await?;
    let stored = record_response(&mut write, &after).await?;
    write.commit().await?;
    Ok(stored)
}

/// Writes the rows the survey report counts for the answers `follow_up` now holds (reviewed
/// already), in the write that stores the document.
pub async fn record_response(
    write: &mut DocWrite,
    follow_up: &FollowUp,
) -> Result<StoredResponse, Error> {
    let Some(response) = &follow_up.survey_response else {
        return Err(Error::internal(
            "a survey response to record has no answers",
        ));
    };
    let community = stored::sent_to(write, &follow_up.id, response.form_id)
        .await?
        .ok_or_else(|| Error::internal("a reviewed survey response names a form not sent"))?;
    let mut values = Vec::new();
    for answer in &response.answers {
        let question = answer.question_id.as_str();
        if let Some(rating) = answer.rating {
            values.push((question, AnswerValue::Rating(i64::from(rating))));
        } else if let Some(text) = &answer.text {
            values.push((question, AnswerValue::Text(text.as_str())));
        } else {
            values.extend(
                answer
                    .choices
                    .iter()
                    .map(|c| (question, AnswerValue::Choice(c.as_str()))),
            );
        }
    }
    let entered_at = write.now_text();
    stored::insert_response(
        write,
        &NewResponse {
            follow_up_id: &follow_up.id,
            form_id: response.form_id,
            form_sha256: &response.form_sha256,
            community_id: community,
            channel: response.channel.code(),
            entered_by: response.entered_by,
        },
        &values,
    )
    .await?;
    Ok(StoredResponse {
        follow_up_id: follow_up.id.clone(),
        form_id: response.form_id,
        form_sha256: response.form_sha256.clone(),
        community_id: community,
        channel: response.channel,
        entered_by: response.entered_by,
        entered_at,
        answers: response.answers.clone(),
    })
}
