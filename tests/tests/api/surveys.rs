//! The annual opinion survey (R-SUR-1…3, D-SUR-1/2): a form from draft to report, over HTTP.

use std::io::Cursor;

use calamine::{Reader, Xlsx};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error};
use crate::sync::{Phone, forged_follow_up as forged, sync_answer};

crate::on_both_backends!(
    r_sur_1_r_sur_2_r_sur_3_d_sur_2_a_survey_goes_from_draft_to_report,
    r_sur_2_d_sur_2_a_survey_answered_offline_on_a_phone_reaches_the_report,
);

pub(crate) fn form() -> Value {
    json!({
        "title": "2026年度客户意见调查表", "year": 2026,
        "introduction": "感谢您抽出时间填写。",
        "questions": [
            {"id": "overall", "text": "您对物业服务的总体评价", "kind": "rating", "required": true},
            {"id": "channel", "text": "您最常用的报修方式", "kind": "single_choice",
             "options": [{"id": "phone", "text": "电话"}, {"id": "app", "text": "手机"}]},
            {"id": "improve", "text": "希望改进的方面", "kind": "multiple_choice",
             "options": [{"id": "clean", "text": "保洁"}, {"id": "green", "text": "绿化"},
                         {"id": "safety", "text": "安全"}]},
            {"id": "advice", "text": "其他意见或建议", "kind": "free_text"}
        ]
    })
}

fn answers(rating: u8, advice: &str) -> Value {
    json!([
        {"question_id": "overall", "rating": rating},
        {"question_id": "channel", "choices": ["app"]},
        {"question_id": "improve", "choices": ["clean", "safety"]},
        {"question_id": "advice", "text": advice}
    ])
}

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client
        .put(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn r_sur_1_r_sur_2_r_sur_3_d_sur_2_a_survey_goes_from_draft_to_report(app: TestApp) {
    let dev = app.login("dev.head", PASSWORD).await;
    let gm = app.login("gm", PASSWORD).await;
    let office = app.login("bsw.csc.01", PASSWORD).await;

    // R-SUR-1: the development department drafts; others cannot; a bad form says what is wrong.
    assert_error(
        app.post(&office, "/api/v1/surveys", form()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
        "development department",
    )
    .await;
    let mut bad = form();
    bad["questions"][1]["options"] = json!([{"id": "phone", "text": "电话"}]);
    assert_error(
        app.post(&dev, "/api/v1/surveys", bad).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "2 to 20 options",
    )
    .await;
    let draft = app
        .post_ok(&dev, "/api/v1/surveys", form(), StatusCode::CREATED)
        .await;
    let id = draft["id"].as_i64().unwrap();
    assert_eq!(draft["status"], "draft");
    assert_eq!(draft["version"], 1);
    let path = format!("/api/v1/surveys/{id}");
    let mut edited = form();
    edited["questions"][0]["text"] = json!("您对本年度物业服务的总体评价");
    assert_eq!(
        put(&app, &dev, &path, edited.clone()).await.status(),
        StatusCode::OK
    );
    let submitted = app
        .post_ok(&dev, &format!("{path}/submit"), json!({}), StatusCode::OK)
        .await;
    let sha = submitted["content_sha256"].as_str().unwrap().to_owned();

    // R-SUR-2: only the general manager approves, and only the version they read (D-SUR-2).
    assert_error(
        app.post(
            &dev,
            &format!("{path}/approve"),
            json!({"content_sha256": sha}),
        )
        .await,
        StatusCode::FORBIDDEN,
        "forbidden",
        "general manager",
    )
    .await;
    assert_error(
        app.post(
            &gm,
            &format!("{path}/approve"),
            json!({"content_sha256": "0".repeat(64)}),
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
        "read it again",
    )
    .await;
    // Not yet approved: it cannot be sent.
    let community: i64 = sqlx::query_scalar("SELECT id FROM communities WHERE name = '碧水湾'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_error(
        app.post(
            &dev,
            &format!("{path}/distribute"),
            json!({"community_ids": [community]}),
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
        "approved",
    )
    .await;
    let approved = app
        .post_ok(
            &gm,
            &format!("{path}/approve"),
            json!({"content_sha256": sha}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["approved_sha256"], sha.as_str());
    assert_eq!(approved["approved_by"], app.staff_id("gm").await);

    // D-SUR-1: an approved form is frozen; a change is a new version.
    assert_error(
        put(&app, &dev, &path, form()).await,
        StatusCode::CONFLICT,
        "conflict",
        "new version",
    )
    .await;
    let revised = app
        .post_ok(
            &dev,
            &format!("{path}/revise"),
            json!({}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(revised["version"], 2);
    assert_eq!(revised["status"], "draft");

    // R-SUR-1: sent to every household of the community, once.
    assert_error(
        app.post(
            &dev,
            &format!("{path}/distribute"),
            json!({"community_ids": [999_999]}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "999999",
    )
    .await;
    let sent = app
        .post_ok(
            &dev,
            &format!("{path}/distribute"),
            json!({"community_ids": [community]}),
            StatusCode::OK,
        )
        .await;
    let households = app.count("households").await;
    assert_eq!(sent["follow_ups_written"], households);
    assert_eq!(sent["form"]["status"], "distributed");
    let again = app
        .post_ok(
            &dev,
            &format!("{path}/distribute"),
            json!({"community_ids": [community]}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(again["follow_ups_written"], 0);

    // The customer service centre has them on its list, as survey follow-ups.
    let listed = app
        .get_json(&office, "/api/v1/followups?view=unit&kind=survey&limit=100")
        .await;
    assert_eq!(listed["total"], households);
    let ids: Vec<String> = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect();

    // Answers typed in from paper: checked against the form, nothing stored when wrong.
    let responses = format!("{path}/responses");
    let mut stranger = answers(4, "");
    stranger[1] = json!({"question_id": "parking", "rating": 3});
    let before = app.count("survey_answers").await;
    assert_error(
        app.post(
            &office,
            &responses,
            json!({"follow_up_id": ids[0], "channel": "paper", "answers": stranger}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "not on this form",
    )
    .await;
    assert_eq!(app.count("survey_answers").await, before);
    let gw = app.login("bsw.gw.01", PASSWORD).await;
    assert_error(
        app.post(
            &gw,
            &responses,
            json!({"follow_up_id": ids[0], "channel": "paper", "answers": answers(5, "")}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
        "scope",
    )
    .await;
    // Head office sees every survey follow-up but does not answer on an office's behalf.
    for who in ["dev.01", "gm", "root"] {
        let token = if who == "root" {
            app.admin_token().await
        } else {
            app.login(who, PASSWORD).await
        };
        let response = app
            .post(
                &token,
                &responses,
                json!({"follow_up_id": ids[0], "channel": "paper", "answers": answers(5, "")}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{who}");
    }
    // A sales site collects no survey answers and reads no forms (README: head office and the
    // property offices).
    let sales = app.login("bsw.sales.head", PASSWORD).await;
    assert_eq!(
        app.get(&sales, "/api/v1/surveys").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get(&sales, &path).await.status(), StatusCode::FORBIDDEN);
    for (n, (rating, advice)) in [(5, "电梯维护要及时"), (3, "电梯维护要及时"), (4, "")]
        .into_iter()
        .enumerate()
    {
        let response = app
            .post(
                &office,
                &responses,
                json!({"follow_up_id": ids[n], "channel": "paper", "answers": answers(rating, advice)}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        // The answer is the stored response: the version answered, the channel, who and when.
        let stored: Value = response.json().await.unwrap();
        assert_eq!(stored["follow_up_id"], ids[n], "{stored}");
        assert_eq!(stored["form_sha256"], sha, "{stored}");
        assert_eq!(stored["channel"], "paper");
        assert_eq!(stored["entered_by"], app.staff_id("bsw.csc.01").await);
        assert!(stored["entered_at"].is_string());
        assert_eq!(
            stored["answers"].as_array().map(Vec::len),
            answers(rating, advice).as_array().map(Vec::len),
            "{stored}"
        );
    }
    assert_error(
        app.post(
            &office,
            &responses,
            json!({"follow_up_id": ids[0], "channel": "paper", "answers": answers(5, "")}),
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
        "completed",
    )
    .await;
    let follow_up = app
        .get_json(&office, &format!("/api/v1/followups/{}", ids[0]))
        .await;
    assert_eq!(follow_up["follow_up"]["status"], "completed", "{follow_up}");
    let recorded: Vec<String> =
        sqlx::query_scalar("SELECT form_sha256 FROM survey_responses WHERE form_id = $1")
            .bind(id)
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(
        recorded,
        vec![sha.clone(); 3],
        "D-SUR-2: each answer records the version"
    );

    // R-SUR-3: the report, per question and community.
    let report = app.get_json(&dev, &format!("{path}/report")).await;
    let company = &report["communities"][0];
    assert_eq!(company["sent"], households);
    assert_eq!(company["responses"], 3);
    let rate = company["response_rate"].as_f64().unwrap();
    assert!((rate - 3.0 / households as f64).abs() < 1e-9);
    let overall = &company["questions"]["overall"];
    assert_eq!(overall["ratings"], json!([0, 0, 1, 1, 1]));
    assert!((overall["mean_rating"].as_f64().unwrap() - 4.0).abs() < 1e-9);
    assert_eq!(company["questions"]["improve"]["choices"]["clean"], 3);
    assert_eq!(company["questions"]["channel"]["choices"]["app"], 3);
    assert_eq!(
        company["questions"]["advice"]["texts"],
        json!([{"text": "电梯维护要及时", "count": 2}])
    );
    assert_eq!(report["communities"][1]["community_name"], "碧水湾");

    // … and as a spreadsheet that reads back.
    let download = app.get(&dev, &format!("{path}/report.xlsx")).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert!(
        download.headers()[reqwest::header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains(".xlsx")
    );
    let bytes = download.bytes().await.unwrap();
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes.to_vec())).unwrap();
    assert_eq!(workbook.sheet_names(), vec!["调查汇总", "文字意见"]);
    let summary = workbook.worksheet_range("调查汇总").unwrap();
    assert_eq!(
        summary.get_value((0, 0)).unwrap().to_string(),
        "2026年度客户意见调查表"
    );
    assert!(
        summary
            .rows()
            .any(|row| row.iter().any(|cell| *cell == "碧水湾")),
        "a row per community"
    );
    let texts = workbook.worksheet_range("文字意见").unwrap();
    assert_eq!(
        texts.get_value((1, 2)).unwrap().to_string(),
        "电梯维护要及时"
    );

    // Closed: no more answers.
    app.post_ok(&dev, &format!("{path}/close"), json!({}), StatusCode::OK)
        .await;
    assert_error(
        app.post(
            &office,
            &responses,
            json!({"follow_up_id": ids[5], "channel": "paper", "answers": answers(5, "")}),
        )
        .await,
        StatusCode::CONFLICT,
        "conflict",
        "closed",
    )
    .await;
    // Its unanswered follow-ups are cancelled, saying why (no phone keeps a task nobody can
    // complete, no list shows them overdue); the answered ones stay completed.
    let unanswered = app
        .get_json(&office, &format!("/api/v1/followups/{}", ids[5]))
        .await;
    assert_eq!(
        unanswered["follow_up"]["status"], "cancelled",
        "{unanswered}"
    );
    assert!(
        unanswered["follow_up"]["cancel_reason"]
            .as_str()
            .is_some_and(|r| r.contains("意见调查已结束")),
        "{unanswered}"
    );
    let answered = app
        .get_json(&office, &format!("/api/v1/followups/{}", ids[0]))
        .await;
    assert_eq!(answered["follow_up"]["status"], "completed", "{answered}");
    let still_open = app
        .get_json(
            &office,
            "/api/v1/followups?view=unit&kind=survey&status=open",
        )
        .await;
    assert_eq!(still_open["total"], 0, "{still_open}");
}

/// A form drafted, approved and sent to 碧水湾: its id and approved hash.
pub(crate) async fn distributed(app: &TestApp) -> (i64, String) {
    let dev = app.login("dev.head", PASSWORD).await;
    let gm = app.login("gm", PASSWORD).await;
    let draft = app
        .post_ok(&dev, "/api/v1/surveys", form(), StatusCode::CREATED)
        .await;
    let id = draft["id"].as_i64().unwrap();
    let path = format!("/api/v1/surveys/{id}");
    let submitted = app
        .post_ok(&dev, &format!("{path}/submit"), json!({}), StatusCode::OK)
        .await;
    let sha = submitted["content_sha256"].as_str().unwrap().to_owned();
    app.post_ok(
        &gm,
        &format!("{path}/approve"),
        json!({"content_sha256": sha}),
        StatusCode::OK,
    )
    .await;
    let community: i64 = sqlx::query_scalar("SELECT id FROM communities WHERE name = '碧水湾'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    app.post_ok(
        &dev,
        &format!("{path}/distribute"),
        json!({"community_ids": [community]}),
        StatusCode::OK,
    )
    .await;
    (id, sha)
}

fn phone_answers(rating: u8) -> Vec<huifang_protocol::SurveyAnswer> {
    serde_json::from_value(answers(rating, "  楼道灯坏了  ")).unwrap()
}

/// R-SUR-2, D-SUR-2 on the phone: the approved form travels with the reference rows; the
/// household's answers are taken offline, checked on the phone as the server checks them, travel
/// in the survey follow-up's document and are counted in the report. A modified phone's answers
/// to another version, that do not fit the form, or a second answer sheet are refused by the
/// server and store nothing; a form closed meanwhile refuses what a phone answered before it
/// heard, and its owner is told.
async fn r_sur_2_d_sur_2_a_survey_answered_offline_on_a_phone_reaches_the_report(app: TestApp) {
    use huifang_client::ClientError;
    use huifang_protocol::{FollowUpStatus, SurveyChannel};

    let (form_id, sha) = distributed(&app).await;
    let dev = app.login("dev.head", PASSWORD).await;
    let phone = Phone::sign_in(&app, "bsw.csc.01").await;
    phone.sync().await;
    let mut surveys: Vec<String> = sqlx::query_scalar(
        "SELECT follow_up_id FROM survey_distributions WHERE form_id = $1 ORDER BY follow_up_id",
    )
    .bind(form_id)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert!(surveys.len() >= 4, "{surveys:?}");
    let (first, second, third, fourth) = (
        surveys.remove(0),
        surveys.remove(0),
        surveys.remove(0),
        surveys.remove(0),
    );

    // Offline: the phone shows the approved version and checks the answers against it.
    let shown = phone.store.survey_form(&first).unwrap();
    assert_eq!(
        (shown.id, shown.approved_sha256.as_str()),
        (form_id, sha.as_str())
    );
    assert_eq!(shown.content.title, "2026年度客户意见调查表");
    assert_eq!(shown.content.questions.len(), 4);
    let waiting = phone.store.pending_changes(100).unwrap().len();
    let mut stranger = phone_answers(4);
    stranger[1] = serde_json::from_value(json!({"question_id": "parking", "rating": 3})).unwrap();
    let refused = phone.store.answer_survey(&first, stranger).unwrap_err();
    assert!(
        matches!(&refused, ClientError::InvalidInput { reason } if reason.contains("not on this form")),
        "{refused:?}"
    );
    let mut unanswered = phone_answers(4);
    unanswered.remove(0);
    let refused = phone.store.answer_survey(&first, unanswered).unwrap_err();
    assert!(
        refused.to_string().contains("required question"),
        "{refused}"
    );
    assert_eq!(phone.store.pending_changes(100).unwrap().len(), waiting);
    let answered = phone.store.answer_survey(&first, phone_answers(2)).unwrap();
    assert_eq!(answered.status, FollowUpStatus::Completed);
    let response = answered.survey_response.clone().unwrap();
    assert_eq!(
        (response.form_id, response.form_sha256.as_str()),
        (form_id, sha.as_str())
    );
    assert_eq!(response.channel, SurveyChannel::Visit);
    assert_eq!(response.answers[3].text.as_deref(), Some("楼道灯坏了"));
    let again = phone
        .store
        .answer_survey(&first, phone_answers(5))
        .unwrap_err();
    assert!(matches!(again, ClientError::Conflict { .. }), "{again:?}");
    phone
        .store
        .answer_survey(&second, phone_answers(5))
        .unwrap();

    let report = phone.sync().await;
    assert_eq!((report.sent, report.committed), (2, 2), "{report:?}");
    assert!(report.rejected.is_empty(), "{report:?}");
    let on_server = crate::sync::server_follow_up(&app, &phone.token, &first).await;
    assert_eq!(on_server["status"], "completed", "{on_server}");
    assert_eq!(
        on_server["survey_response"]["channel"], "visit",
        "{on_server}"
    );
    let channels: Vec<String> = sqlx::query_scalar(
        "SELECT channel FROM survey_responses WHERE form_id = $1 ORDER BY follow_up_id",
    )
    .bind(form_id)
    .fetch_all(app.db.pool())
    .await
    .unwrap();
    assert_eq!(channels, vec!["visit", "visit"]);
    // The dashboard's page of the follow-up shows the answers against the form's questions.
    let cookie = crate::dashboard::session_cookie(
        &crate::dashboard::sign_in(&app, "bsw.office.head", PASSWORD, "/app").await,
    );
    let page = crate::dashboard::page(&app, &cookie, &format!("/app/follow-ups/{first}"))
        .await
        .text()
        .await
        .unwrap();
    for shown in ["其他意见或建议", "楼道灯坏了", "保洁、安全", "2 / 5"] {
        assert!(page.contains(shown), "{shown}: {page}");
    }
    let counted = app
        .get_json(&dev, &format!("/api/v1/surveys/{form_id}/report"))
        .await;
    let community = &counted["communities"][0];
    assert_eq!(community["responses"], 2, "{counted}");
    assert_eq!(
        community["questions"]["overall"]["ratings"],
        json!([0, 1, 0, 0, 1])
    );
    assert_eq!(
        community["questions"]["advice"]["texts"],
        json!([{"text": "楼道灯坏了", "count": 2}])
    );

    // A modified phone: every forged answer sheet is refused whole and stores nothing.
    let staff = app.staff_id("bsw.csc.01").await;
    let sheet = |rating: u8, form_sha256: &str| huifang_protocol::SurveyResponse {
        form_id,
        form_sha256: form_sha256.to_owned(),
        channel: SurveyChannel::Visit,
        entered_by: staff,
        answered_at: huifang_protocol::format_time(app.now()),
        answers: phone_answers(rating),
    };
    let other_version = sheet(4, &"0".repeat(64));
    let misfit = sheet(9, &sha);
    type Forgery = Box<dyn FnOnce(&mut huifang_protocol::FollowUp)>;
    let cases: Vec<(&str, Forgery)> = vec![
        (
            "another version",
            Box::new(move |f| {
                f.status = FollowUpStatus::Completed;
                f.survey_response = Some(other_version);
            }),
        ),
        (
            "ratings are 1 to 5",
            Box::new(move |f| {
                f.status = FollowUpStatus::Completed;
                f.survey_response = Some(misfit);
            }),
        ),
        (
            "completed by the customer's answers",
            Box::new(|f| {
                f.status = FollowUpStatus::Completed;
            }),
        ),
    ];
    let before = (
        app.count("survey_responses").await,
        app.count("survey_answers").await,
    );
    for (reason, edit) in cases {
        let request = forged(&app, &phone.token, &third, edit).await;
        let seq = app.change_seq().await;
        let answer = sync_answer(&app, &phone.token, &request).await;
        let told = (&answer.committed, &answer.rejections);
        assert!(answer.committed.is_empty(), "{reason}: {told:?}");
        assert!(answer.rejections[0].refused, "{reason}: {told:?}");
        assert!(
            answer.rejections[0].reason.contains(reason),
            "{reason}: {told:?}"
        );
        assert_eq!(app.change_seq().await, seq, "{reason}: nothing stored");
    }
    let request = forged(&app, &phone.token, &first, |f| {
        if let Some(response) = &mut f.survey_response {
            response.answers[0].rating = Some(5);
        }
    })
    .await;
    let answer = sync_answer(&app, &phone.token, &request).await;
    assert!(
        answer.rejections[0].reason.contains("answered once"),
        "{:?}",
        answer.rejections
    );
    assert_eq!(
        (
            app.count("survey_responses").await,
            app.count("survey_answers").await
        ),
        before,
        "nothing counted"
    );

    // Closed while a phone held answers: the household's follow-up is cancelled, so they are
    // refused, saying so, and kept for the person who took them.
    phone.store.answer_survey(&third, phone_answers(4)).unwrap();
    app.post_ok(
        &dev,
        &format!("/api/v1/surveys/{form_id}/close"),
        json!({}),
        StatusCode::OK,
    )
    .await;
    let report = phone.sync().await;
    assert_eq!(report.committed, 0, "{report:?}");
    assert!(
        report.rejected.iter().any(|n| n.document_id == third
            && n.reason.contains("cancelled")
            && n.reason.contains(huifang_core::surveys::CLOSED_REASON)),
        "{report:?}"
    );
    assert!(
        phone
            .store
            .refused_changes()
            .unwrap()
            .iter()
            .any(|r| r.document_id == third),
        "the owner sees what did not stand"
    );
    let closed = phone
        .store
        .answer_survey(&fourth, phone_answers(4))
        .unwrap_err();
    assert!(closed.to_string().contains("not on this phone"), "{closed}");
    assert_eq!(app.count("survey_responses").await, before.0);
}
