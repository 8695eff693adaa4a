//! Answer sheets (R-SUR-2, D-SUR-1/2): checked against the form they answer, bound to its
//! version, completing the household's survey follow-up.

use huifang_protocol::{FollowUp, FollowUpStatus, SurveyAnswer};
use serde::{Deserialize, Serialize};

use huifang_store::surveys::{AnswerValue, NewResponse};

use super::*;

/// How an answer sheet reached the system (D-SUR-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A paper form typed in by office staff.
    Paper,
    /// On a staff phone during a visit.
    Visit,
    /// Filled in by the customer.
    Customer,
}

impl Channel {
    fn code(self) -> &'static str {
        match self {
            Channel::Paper => "paper",
            Channel::Visit => "visit",
            Channel::Customer => "customer",
        }
    }
}

/// An answer sheet as stored: which version of the form it answers (D-SUR-2), how it came in,
/// who entered it and when, and the answers kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredResponse {
    pub follow_up_id: String,
    pub form_id: i64,
    pub form_sha256: String,
    pub community_id: i64,
    pub channel: Channel,
    pub entered_by: i64,
    pub entered_at: String,
    pub answers: Vec<SurveyAnswer>,
}

/// Records one household's answers: checked against the form, bound to its version, and the
/// survey follow-up completed, all in one transaction.
pub async fn answer(
    db: &Database,
    time_zone: chrono_tz::Tz,
    caller: &Caller,
    id: i64,
    follow_up_id: &str,
    channel: Channel,
    answers: &[SurveyAnswer],
) -> Result<StoredResponse, Error> {
    let form = get(db, id).await?;
    if form.status != FormStatus::Distributed {
        return Err(Error::Conflict(format!(
            "survey form {id} is {}; answers are taken while it is distributed",
            form.status.code()
        )));
    }
    form.content
        .check_answers(answers)
        .map_err(|problems| Error::Invalid {
            message: format!("the answers do not fit the form: {}", problems.join("; ")),
            details: problems,
        })?;
    let sent = stored::sent_to(db, follow_up_id, id).await?;
    let missing = || {
        Error::NotFound(format!(
            "follow-up {follow_up_id} is not a survey follow-up of form {id} in your scope"
        ))
    };
    let community = sent.ok_or_else(missing)?;
    let mut write = begin(db, caller, time_zone).await?;
    // Checked again under the write lock: the form may have been closed meanwhile.
    if load(&mut write, id).await?.status != FormStatus::Distributed {
        return Err(Error::Conflict(format!(
            "survey form {id} was closed; answers are no longer taken"
        )));
    }
    let (mut doc, follow_up) = write
        .load::<FollowUp>(follow_up_id)
        .await?
        .ok_or_else(missing)?;
    // Answers are entered by whoever does the survey follow-up (its person or unit), not by
    // head office on another unit's behalf.
    if !crate::followups::is_assigned_within(&caller.own_work(), &follow_up) {
        return Err(missing());
    }
    if follow_up.status.is_closed() {
        return Err(Error::Conflict(format!(
            "follow-up {follow_up_id} is {} already",
            follow_up.status
        )));
    }
    let mut values = Vec::new();
    for answer in answers {
        let question = answer.question_id.as_str();
        if let Some(rating) = answer.rating {
            values.push((question, AnswerValue::Rating(i64::from(rating))));
        } else if let Some(text) = &answer.text {
            values.push((question, AnswerValue::Text(text.trim())));
        } else {
            values.extend(
                answer
                    .choices
                    .iter()
                    .map(|c| (question, AnswerValue::Choice(c.as_str()))),
            );
        }
    }
    let now = write.now_text();
    stored::insert_response(
        &mut write,
        &NewResponse {
            follow_up_id,
            form_id: id,
            form_sha256: &form.content_sha256,
            community_id: community,
            channel: channel.code(),
            entered_by: caller.staff_id,
        },
        &values,
    )
    .await?;
    let mut after = follow_up.clone();
    after.status = FollowUpStatus::Completed;
    after
        .validate()
        .map_err(|e| Error::internal(format!("{e}")))?;
    write
        .store(&mut doc, &after, "follow_up.survey_answered")
        .await?;
    write.commit().await?;
    Ok(StoredResponse {
        follow_up_id: follow_up_id.to_owned(),
        form_id: id,
        form_sha256: form.content_sha256,
        community_id: community,
        channel,
        entered_by: caller.staff_id,
        entered_at: now,
        answers: answers
            .iter()
            .map(|a| SurveyAnswer {
                text: a.text.as_ref().map(|t| t.trim().to_owned()),
                ..a.clone()
            })
            .collect(),
    })
}
