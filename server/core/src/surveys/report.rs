//! The Customer Opinion Survey Report (客户意见调查报告, R-SUR-3): per question and per community,
//! the response rate, the mean and distribution of ratings, the count of each choice and the
//! free-text answers grouped, (the spreadsheet of it is the HTTP layer's).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{SurveyForm, get};
use crate::error::Error;
use crate::reports::figures::ratio;
use huifang_store::db::Database;

/// One question's figures within one community (or the whole company).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QuestionFigures {
    /// Answer sheets with an answer to this question.
    pub answered: i64,
    /// Ratings 1…5: how many of each.
    pub ratings: [i64; 5],
    pub mean_rating: Option<f64>,
    /// Option id → how many chose it.
    pub choices: BTreeMap<String, i64>,
    /// Identical answers (after trimming) grouped, most frequent first.
    pub texts: Vec<TextGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextGroup {
    pub text: String,
    pub count: i64,
}

/// One community's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommunityFigures {
    /// `None` for the whole company.
    pub community_id: Option<i64>,
    pub community_name: String,
    /// Survey follow-ups sent.
    pub sent: i64,
    pub responses: i64,
    pub response_rate: Option<f64>,
    /// Question id → its figures.
    pub questions: BTreeMap<String, QuestionFigures>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SurveyReport {
    pub form: SurveyForm,
    /// The whole company first, then each community.
    pub communities: Vec<CommunityFigures>,
}

/// Tabulates the answers of a form.
pub async fn build(db: &Database, id: i64) -> Result<SurveyReport, Error> {
    let form = get(db, id).await?;
    let huifang_store::surveys::AnswerCounts {
        sent,
        responses,
        answered,
        ratings,
        choices,
        texts,
    } = huifang_store::surveys::answer_counts(db, id).await?;

    let blank = |community_id: Option<i64>, name: String, sent: i64| CommunityFigures {
        community_id,
        community_name: name,
        sent,
        responses: 0,
        response_rate: None,
        questions: form
            .content
            .questions
            .iter()
            .map(|q| (q.id.clone(), QuestionFigures::default()))
            .collect(),
    };
    let total_sent = sent.iter().map(|s| s.2).sum();
    let mut all = blank(None, "全部小区".into(), total_sent);
    let mut by_community: BTreeMap<i64, CommunityFigures> = sent
        .into_iter()
        .map(|(id, name, count)| (id, blank(Some(id), name, count)))
        .collect();
    for (community, count) in responses {
        all.responses += count;
        if let Some(c) = by_community.get_mut(&community) {
            c.responses += count;
        }
    }
    // Each figure goes to its community and to the whole company.
    let mut apply = |community: i64, question: &str, f: &dyn Fn(&mut QuestionFigures)| {
        for target in [Some(&mut all), by_community.get_mut(&community)]
            .into_iter()
            .flatten()
        {
            if let Some(figures) = target.questions.get_mut(question) {
                f(figures);
            }
        }
    };
    for (community, question, count) in &answered {
        apply(*community, question, &|f| f.answered += count);
    }
    for (community, question, rating, count) in &ratings {
        if let Some(index) = usize::try_from(*rating - 1).ok().filter(|i| *i < 5) {
            apply(*community, question, &|f| f.ratings[index] += count);
        }
    }
    for (community, question, choice, count) in &choices {
        apply(*community, question, &|f| {
            *f.choices.entry(choice.clone()).or_default() += count
        });
    }
    for (community, question, text, count) in &texts {
        apply(
            *community,
            question,
            &|f| match f.texts.iter_mut().find(|g| &g.text == text) {
                Some(group) => group.count += count,
                None => f.texts.push(TextGroup {
                    text: text.clone(),
                    count: *count,
                }),
            },
        );
    }
    let mut communities = vec![all];
    communities.extend(by_community.into_values());
    for community in &mut communities {
        community.response_rate = ratio(community.responses, community.sent);
        for figures in community.questions.values_mut() {
            let n: i64 = figures.ratings.iter().sum();
            let sum: i64 = figures
                .ratings
                .iter()
                .enumerate()
                .map(|(i, c)| (i as i64 + 1) * c)
                .sum();
            figures.mean_rating = ratio(sum, n);
            figures
                .texts
                .sort_by(|a, b| b.count.cmp(&a.count).then(a.text.cmp(&b.text)));
        }
    }
    Ok(SurveyReport { form, communities })
}
