//! The annual Customer Opinion Survey form (客户意见调查表, R-SUR-1…3): a versioned template of
//! questions (D-SUR-1), the hash its approval is bound to (D-SUR-2), and the check of an answer
//! sheet against it. Shared so a phone can show and check the same form the server checks.

use std::collections::BTreeSet;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::labels::labelled_enum;

/// The longest free-text answer, in characters.
pub const MAX_FREE_TEXT: usize = 2_000;
/// The most questions a form asks.
pub const MAX_QUESTIONS: usize = 100;
const MAX_OPTIONS: usize = 20;

/// D-SUR-1: the kinds of question a form may ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum QuestionKind {
    /// 1 (very dissatisfied) to 5 (very satisfied), as the follow-up ratings (D-CB-1).
    Rating,
    SingleChoice,
    MultipleChoice,
    FreeText,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SurveyOption {
    pub id: String,
    /// zh-CN text.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SurveyQuestion {
    /// Stable within the form (`q1`, `service_attitude` …): answers refer to it.
    pub id: String,
    /// zh-CN text.
    pub text: String,
    pub kind: QuestionKind,
    /// The choices of a single- or multiple-choice question.
    #[serde(default)]
    pub options: Vec<SurveyOption>,
    #[serde(default)]
    pub required: bool,
}

/// What a form asks: the content the general manager approves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SurveyContent {
    pub title: String,
    pub year: i32,
    /// Shown to the customer before the questions.
    #[serde(default)]
    pub introduction: String,
    pub questions: Vec<SurveyQuestion>,
}

fn is_code(text: &str) -> bool {
    (1..=40).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl SurveyContent {
    /// Every problem of the form, or none.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 100 {
            problems.push("title must be 1 to 100 characters".to_owned());
        }
        if !(2000..=2999).contains(&self.year) {
            problems.push(format!("year {} is not a year", self.year));
        }
        if self.introduction.chars().count() > MAX_FREE_TEXT {
            problems.push(format!(
                "introduction is longer than {MAX_FREE_TEXT} characters"
            ));
        }
        if self.questions.is_empty() || self.questions.len() > MAX_QUESTIONS {
            problems.push(format!("a form has 1 to {MAX_QUESTIONS} questions"));
        }
        let mut ids = BTreeSet::new();
        for (n, question) in self.questions.iter().enumerate() {
            let at = format!("questions[{n}]");
            if !is_code(&question.id) {
                problems.push(format!(
                    "{at}.id {:?} must be 1–40 letters, digits, _ or -",
                    question.id
                ));
            } else if !ids.insert(question.id.as_str()) {
                problems.push(format!("{at}.id {:?} is used twice", question.id));
            }
            let text = question.text.trim();
            if text.is_empty() || text.chars().count() > 500 {
                problems.push(format!("{at}.text must be 1 to 500 characters"));
            }
            let choice = matches!(
                question.kind,
                QuestionKind::SingleChoice | QuestionKind::MultipleChoice
            );
            if choice && !(2..=MAX_OPTIONS).contains(&question.options.len()) {
                problems.push(format!("{at} needs 2 to {MAX_OPTIONS} options"));
            }
            if !choice && !question.options.is_empty() {
                problems.push(format!("{at} is not a choice question; it has no options"));
            }
            let mut option_ids = BTreeSet::new();
            for (m, option) in question.options.iter().enumerate() {
                if !is_code(&option.id) || !option_ids.insert(option.id.as_str()) {
                    problems.push(format!(
                        "{at}.options[{m}].id {:?} must be a distinct code",
                        option.id
                    ));
                }
                let text = option.text.trim();
                if text.is_empty() || text.chars().count() > 200 {
                    problems.push(format!(
                        "{at}.options[{m}].text must be 1 to 200 characters"
                    ));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// SHA-256 of the content's JSON, lowercase hex: the exact version an approval is bound to
    /// and every answer records (D-SUR-2). Field order is the struct's, so it is stable.
    pub fn sha256(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex::encode(Sha256::digest(bytes))
    }

    /// Checks an answer sheet against the form: every answer to a question on it, of its kind,
    /// each question at most once, the required ones answered.
    pub fn check_answers(&self, answers: &[SurveyAnswer]) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let mut answered = BTreeSet::new();
        for (n, answer) in answers.iter().enumerate() {
            let at = format!("answers[{n}]");
            let Some(question) = self.questions.iter().find(|q| q.id == answer.question_id) else {
                problems.push(format!(
                    "{at}: question {:?} is not on this form",
                    answer.question_id
                ));
                continue;
            };
            if !answered.insert(answer.question_id.as_str()) {
                problems.push(format!("{at}: question {:?} answered twice", question.id));
                continue;
            }
            let given = (
                answer.rating.is_some(),
                !answer.choices.is_empty(),
                answer.text.is_some(),
            );
            match question.kind {
                QuestionKind::Rating => match answer.rating {
                    Some(rating) if given == (true, false, false) => {
                        if !(1..=5).contains(&rating) {
                            problems.push(format!(
                                "{at}: rating {rating} for {:?}; ratings are 1 to 5",
                                question.id
                            ));
                        }
                    }
                    _ => problems.push(format!(
                        "{at}: {:?} is a rating question; answer with rating only",
                        question.id
                    )),
                },
                QuestionKind::SingleChoice | QuestionKind::MultipleChoice => {
                    if given != (false, true, false) {
                        problems.push(format!(
                            "{at}: {:?} is a choice question; answer with choices only",
                            question.id
                        ));
                        continue;
                    }
                    if question.kind == QuestionKind::SingleChoice && answer.choices.len() != 1 {
                        problems.push(format!("{at}: {:?} takes exactly one choice", question.id));
                    }
                    let mut seen = BTreeSet::new();
                    for choice in &answer.choices {
                        if !question.options.iter().any(|o| &o.id == choice) {
                            problems.push(format!(
                                "{at}: {choice:?} is not an option of {:?}",
                                question.id
                            ));
                        } else if !seen.insert(choice) {
                            problems.push(format!("{at}: {choice:?} chosen twice"));
                        }
                    }
                }
                QuestionKind::FreeText => match &answer.text {
                    Some(text) if given == (false, false, true) => {
                        if text.chars().count() > MAX_FREE_TEXT {
                            problems.push(format!(
                                "{at}: the answer to {:?} is longer than {MAX_FREE_TEXT} characters",
                                question.id
                            ));
                        }
                    }
                    _ => problems.push(format!(
                        "{at}: {:?} is a free-text question; answer with text only",
                        question.id
                    )),
                },
            }
        }
        for question in self.questions.iter().filter(|q| q.required) {
            if !answered.contains(question.id.as_str()) {
                problems.push(format!(
                    "required question {:?} is not answered",
                    question.id
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }
}

/// One answer: a rating, choices or text, as the question's kind asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct SurveyAnswer {
    pub question_id: String,
    #[serde(default)]
    pub rating: Option<u8>,
    #[serde(default)]
    pub choices: Vec<String>,
    #[serde(default)]
    pub text: Option<String>,
}

/// How an answer sheet reached the system (D-SUR-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SurveyChannel {
    /// A paper form typed in by office staff.
    Paper,
    /// On a staff phone during a visit.
    Visit,
    /// Filled in by the customer.
    Customer,
}

labelled_enum!(SurveyChannel {
    Paper => ("paper", "纸质问卷录入", "Paper form typed in"),
    Visit => ("visit", "上门时在手机上填写", "On a staff phone during a visit"),
    Customer => ("customer", "客户自行填写", "Filled in by the customer"),
});

/// A household's answer sheet, kept in its survey follow-up's document (R-SUR-2): the version
/// of the form it answers (D-SUR-2), how it came in, who entered it and when. Written once — a
/// household answers a form once — on a phone offline or through the API, reviewed alike.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Reconcile, Hydrate)]
pub struct SurveyResponse {
    pub form_id: i64,
    /// The SHA-256 of the form's content as approved (D-SUR-2).
    pub form_sha256: String,
    pub channel: SurveyChannel,
    pub entered_by: i64,
    /// When the answers were taken, on the entering device's clock.
    pub answered_at: String,
    pub answers: Vec<SurveyAnswer>,
}

impl SurveyResponse {
    /// The answers as kept: free text trimmed, so a phone and the API store the same sheet.
    pub fn trimmed(mut self) -> Self {
        for answer in &mut self.answers {
            if let Some(text) = &mut answer.text {
                *text = text.trim().to_owned();
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> SurveyContent {
        serde_json::from_value(serde_json::json!({
            "title": "2026年度客户意见调查表", "year": 2026,
            "questions": [
                {"id": "overall", "text": "您对物业服务的总体评价", "kind": "rating", "required": true},
                {"id": "channel", "text": "您最常用的报修方式", "kind": "single_choice",
                 "options": [{"id": "phone", "text": "电话"}, {"id": "app", "text": "手机"}]},
                {"id": "improve", "text": "希望改进的方面", "kind": "multiple_choice",
                 "options": [{"id": "clean", "text": "保洁"}, {"id": "green", "text": "绿化"},
                             {"id": "safety", "text": "安全"}]},
                {"id": "advice", "text": "其他意见或建议", "kind": "free_text"}
            ]
        }))
        .unwrap()
    }

    fn answer(question: &str) -> SurveyAnswer {
        SurveyAnswer {
            question_id: question.into(),
            rating: None,
            choices: Vec::new(),
            text: None,
        }
    }

    #[test]
    fn d_sur_1_a_form_is_checked_and_its_hash_follows_its_content() {
        let mut form = form();
        assert!(form.check().is_ok());
        let hash = form.sha256();
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, form.sha256());
        form.questions[0].text.push('?');
        assert_ne!(hash, form.sha256(), "D-SUR-2: any edit is another version");
        form.questions[1].options.truncate(1);
        form.questions[2].id = "overall".into();
        let problems = form.check().unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("2 to 20 options")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("used twice")),
            "{problems:?}"
        );
    }

    #[test]
    fn d_sur_1_answers_must_fit_the_form() {
        let form = form();
        let mut overall = answer("overall");
        overall.rating = Some(4);
        let mut channel = answer("channel");
        channel.choices = vec!["app".into()];
        let mut improve = answer("improve");
        improve.choices = vec!["clean".into(), "safety".into()];
        let mut advice = answer("advice");
        advice.text = Some("电梯维护要及时".into());
        assert!(
            form.check_answers(&[overall.clone(), channel.clone(), improve, advice])
                .is_ok()
        );

        let mut stranger = answer("parking");
        stranger.rating = Some(3);
        let mut six = overall;
        six.rating = Some(6);
        let mut two = channel.clone();
        two.choices = vec!["app".into(), "phone".into()];
        let mut unknown = answer("improve");
        unknown.choices = vec!["pool".into()];
        let problems = form
            .check_answers(&[stranger, six, two, unknown])
            .unwrap_err();
        assert!(problems.iter().any(|p| p.contains("not on this form")));
        assert!(problems.iter().any(|p| p.contains("ratings are 1 to 5")));
        assert!(problems.iter().any(|p| p.contains("exactly one choice")));
        assert!(problems.iter().any(|p| p.contains("not an option")));
        let missing = form.check_answers(&[channel]).unwrap_err();
        assert!(
            missing
                .iter()
                .any(|p| p.contains("required question \"overall\""))
        );
    }
}
