//! The conformance table: every bad change a phone (or a modified phone) can propose goes
//! through each path that can express it — the HTTP API, `POST /api/v1/sync` with hand-made
//! Automerge changes, and the phone core's offline edits — and each path gives the same verdict
//! (conflict 409, forbidden 403, invalid 422, naming the same field) and stores nothing. The
//! rule lives once, in `huifang_protocol::review_*`; this table proves nobody wrote it twice.

use automerge::AutoCommit;
use huifang_client::{ClientError, NewSheet, OutcomeInput};
use huifang_protocol::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp};
use crate::sheets::{accept, handle};
use crate::sync::Phone;

crate::on_both_backends!(every_path_gives_the_same_verdict_on_every_bad_change);

/// What one path answered.
#[derive(Debug, Clone, PartialEq)]
struct Verdict {
    kind: RefusalKind,
    /// Everything the answer says, to look for the refused field in.
    text: String,
}

/// The documents a case works on.
struct World {
    csc_token: String,
    csc_id: i64,
    /// A handled repair's `{sheet, follow_up}`, open.
    repair: Value,
    /// A handled "other" matter's `{sheet, follow_up}`, open.
    other: Value,
    /// A completed follow-up.
    completed: Value,
    /// An accepted sheet, not yet handled.
    accepted: Value,
    /// A handled matter's `{sheet, follow_up}` whose customer was tried three times: with the head.
    handed_over: Value,
    /// Strokes the service centre uploaded, and strokes someone else uploaded.
    own_strokes: String,
    theirs_strokes: String,
    /// A household of another community, and a customer of another household.
    foreign_household: i64,
    other_customer: i64,
    own_household: i64,
}

fn id(value: &Value, part: &str) -> String {
    value[part]["id"].as_str().unwrap().to_owned()
}

async fn server_copy(app: &TestApp, token: &str, document: &str) -> Vec<u8> {
    let request = SyncRequest {
        version: SYNC_VERSION,
        cursor: 0,
        changes: vec![],
        page_size: MAX_PAGE,
        reference_version: None,
        scope_version: None,
        device: None,
    };
    let answer = crate::sync::sync_answer(app, token, &request).await;
    answer
        .documents
        .into_iter()
        .find(|d| d.document_id == document)
        .expect("the document is in scope")
        .bytes
}

/// Proposes `forge` applied to the server's copy as a modified phone would: Automerge changes
/// over the sync endpoint.
async fn through_sync<D: Document>(
    app: &TestApp,
    token: &str,
    document: &str,
    forge: &dyn Fn(&mut D),
) -> Verdict {
    let bytes = server_copy(app, token, document).await;
    let mut doc = AutoCommit::load(&bytes)
        .unwrap()
        .with_actor(automerge::ActorId::random());
    let heads = doc.get_heads();
    let mut value = D::hydrate_from(&doc).unwrap();
    forge(&mut value);
    value.reconcile_into(&mut doc).unwrap();
    sync_one(app, token, document, D::KIND, doc.save_after(&heads)).await
}

async fn sync_one(
    app: &TestApp,
    token: &str,
    document: &str,
    kind: DocumentKind,
    changes: Vec<u8>,
) -> Verdict {
    let request = SyncRequest {
        version: SYNC_VERSION,
        cursor: 0,
        changes: vec![OutgoingChanges {
            document_id: document.to_owned(),
            kind,
            changes,
        }],
        page_size: 1,
        reference_version: None,
        scope_version: None,
        device: None,
    };
    let answer = crate::sync::sync_answer(app, token, &request).await;
    assert!(answer.committed.is_empty(), "{answer:?}");
    let rejection = &answer.rejections[0];
    assert!(rejection.refused, "{rejection:?}");
    Verdict {
        kind: rejection.kind.expect("a review's verdict"),
        text: format!("{:?} {}", rejection.fields, rejection.reason),
    }
}

async fn through_api(app: &TestApp, token: &str, path: &str, body: Value) -> Verdict {
    let response = app.post(token, path, body).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    let kind = match status {
        StatusCode::CONFLICT => RefusalKind::Conflict,
        StatusCode::FORBIDDEN => RefusalKind::Forbidden,
        StatusCode::UNPROCESSABLE_ENTITY => RefusalKind::Invalid,
        other => panic!("{path}: {other} {body}"),
    };
    Verdict {
        kind,
        text: body.to_string(),
    }
}

fn through_phone<T: std::fmt::Debug>(result: Result<T, ClientError>) -> Verdict {
    match result {
        Err(ClientError::Conflict { reason }) => Verdict {
            kind: RefusalKind::Conflict,
            text: reason,
        },
        Err(ClientError::PermissionDenied { reason }) => Verdict {
            kind: RefusalKind::Forbidden,
            text: reason,
        },
        Err(ClientError::InvalidInput { reason }) => Verdict {
            kind: RefusalKind::Invalid,
            text: reason,
        },
        other => panic!("the phone took a bad change: {other:?}"),
    }
}

fn outcome_by(
    staff: i64,
    method: FollowUpMethod,
    done_at: &str,
    overall: u8,
) -> huifang_protocol::Outcome {
    huifang_protocol::Outcome {
        method,
        done_at: done_at.to_owned(),
        ratings: Ratings {
            handling: 4,
            efficiency: 4,
            quality: 5,
            attitude: 5,
            overall,
        },
        opinions: String::new(),
        recorded_by: staff,
    }
}

fn outcome_body(method: &str, done_at: &str, overall: u8) -> Value {
    json!({ "method": method, "done_at": done_at,
            "ratings": { "handling": 4, "efficiency": 4, "quality": 5, "attitude": 5, "overall": overall } })
}

fn phone_outcome(method: FollowUpMethod, done_at: Option<&str>, overall: u8) -> OutcomeInput {
    OutcomeInput {
        method,
        ratings: Ratings {
            handling: 4,
            efficiency: 4,
            quality: 5,
            attitude: 5,
            overall,
        },
        opinions: String::new(),
        done_at: done_at.map(str::to_owned),
    }
}

const LONG_AGO: &str = "2001-01-01T00:00:00.000Z";
const FAR_AHEAD: &str = "2099-01-01T00:00:00.000Z";
const YEAR_ONE: &str = "0001-01-01T00:00:00.000Z";

/// A signature as a phone makes it, naming `blob`, with the content hash of `follow_up` completed
/// with `outcome` (or `content` when given).
fn signature(now: chrono::DateTime<chrono::Utc>, blob: &str, content: &str) -> SignatureRef {
    SignatureRef {
        blob_sha256: blob.to_owned(),
        content_sha256: content.to_owned(),
        signed_at: format_time(now),
        signer_name: "陈志强".into(),
    }
}

async fn every_path_gives_the_same_verdict_on_every_bad_change(app: TestApp) {
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    let admin = app.admin_token().await;
    // Another community with a household, imported as head office would.
    let import = app
        .client
        .post(app.url("/api/v1/import/households"))
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body("小区,小区地址,楼栋,房号,客户姓名,联系电话,客户地址,置业顾问\n翠湖花园,深圳市南山区翠湖路8号,2栋,301,何美玲,13800138999,,\n")
        .send()
        .await
        .unwrap();
    assert_eq!(
        import.status(),
        StatusCode::OK,
        "{}",
        import.text().await.unwrap()
    );
    let foreign_household: i64 =
        sqlx::query_scalar("SELECT household_id FROM customers WHERE name = '何美玲'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let own_household: i64 =
        sqlx::query_scalar("SELECT household_id FROM customers WHERE name = '陈志强'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
    let repair = handle(
        &app,
        &csc_token,
        &accept(&app, &csc_token, "陈志强", "ordinary", "repair").await,
    )
    .await;
    let other = handle(
        &app,
        &csc_token,
        &accept(&app, &csc_token, "林秀英", "none", "other").await,
    )
    .await;
    let completed = handle(
        &app,
        &csc_token,
        &accept(&app, &csc_token, "林秀英", "ordinary", "repair").await,
    )
    .await;
    app.post_ok(
        &csc_token,
        &format!("/api/v1/followups/{}/outcome", id(&completed, "follow_up")),
        outcome_body("phone", &format_time(app.now()), 5),
        StatusCode::OK,
    )
    .await;
    let accepted = accept(&app, &csc_token, "陈志强", "ordinary", "property_service").await;
    let handed_over = handle(
        &app,
        &csc_token,
        &accept(&app, &csc_token, "陈志强", "none", "other").await,
    )
    .await;
    for _ in 0..3 {
        app.post_ok(
            &csc_token,
            &format!(
                "/api/v1/followups/{}/unreachable",
                id(&handed_over, "follow_up")
            ),
            json!({"method": "phone", "note": "无人接听"}),
            StatusCode::OK,
        )
        .await;
    }
    // The year's opinion survey, approved and sent to the community (R-SUR-1/2).
    crate::surveys::distributed(&app).await;
    let survey_fu = app
        .get_json(
            &csc_token,
            "/api/v1/followups?view=unit&kind=survey&limit=1",
        )
        .await["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let colleague = app.login("bsw.eng.head", PASSWORD).await;
    let world = World {
        csc_id: app.staff_id("bsw.csc.01").await,
        own_strokes: crate::followups::upload_strokes(&app, &csc_token, b"{\"strokes\":[1]}").await,
        theirs_strokes: crate::followups::upload_strokes(&app, &colleague, b"{\"strokes\":[2]}")
            .await,
        csc_token,
        repair,
        other,
        completed,
        accepted,
        handed_over,
        foreign_household,
        other_customer: app.customer_id("黄建华").await,
        own_household,
    };
    let phone = Phone::sign_in(&app, "bsw.csc.01").await;
    phone.sync().await;
    let w = &world;
    let seq = app.change_seq().await;
    let now = format_time(app.now());
    let repair_fu = id(&w.repair, "follow_up");
    let other_fu = id(&w.other, "follow_up");
    let completed_fu = id(&w.completed, "follow_up");
    let accepted_sheet = w.accepted["id"].as_str().unwrap().to_owned();
    let outcome_path = |fu: &str| format!("/api/v1/followups/{fu}/outcome");
    let sheet_of =
        |handled: &Value| -> Sheet { serde_json::from_value(handled["sheet"].clone()).unwrap() };
    let repair_sheet = sheet_of(&w.repair);
    let hash_for = |follow_up: &FollowUp, outcome: huifang_protocol::Outcome| {
        let mut after = follow_up.clone();
        after.outcome = Some(outcome);
        content_sha256(Some(&repair_sheet), &after)
    };
    let repair_value: FollowUp = serde_json::from_value(w.repair["follow_up"].clone()).unwrap();
    let signed_outcome = outcome_by(w.csc_id, FollowUpMethod::OnSiteSignature, &now, 5);
    let good_hash = hash_for(&repair_value, signed_outcome.clone());

    // Each row: the rule, the field, the kind, and each path that can express the change.
    let mut rows = 0;
    let mut check = |rule: &str, field: &str, kind: RefusalKind, verdicts: Vec<(&str, Verdict)>| {
        assert!(!verdicts.is_empty());
        for (path, verdict) in &verdicts {
            assert_eq!(verdict.kind, kind, "{rule} through {path}: {verdict:?}");
            assert!(
                verdict.text.contains(field),
                "{rule} through {path} names {field}: {verdict:?}"
            );
        }
        rows += 1;
    };

    // D-CB-2: the phone's time counts only within bounds.
    for when in [LONG_AGO, FAR_AHEAD] {
        check(
            "D-CB-2 done_at",
            "outcome",
            RefusalKind::Invalid,
            vec![
                (
                    "api",
                    through_api(
                        &app,
                        &w.csc_token,
                        &outcome_path(&repair_fu),
                        outcome_body("phone", when, 5),
                    )
                    .await,
                ),
                (
                    "sync",
                    through_sync::<FollowUp>(&app, &w.csc_token, &repair_fu, &|f| {
                        f.status = FollowUpStatus::Completed;
                        f.outcome = Some(outcome_by(w.csc_id, FollowUpMethod::Phone, when, 5));
                    })
                    .await,
                ),
                (
                    "phone",
                    through_phone(phone.store.record_outcome(
                        &repair_fu,
                        phone_outcome(FollowUpMethod::Phone, Some(when), 5),
                    )),
                ),
            ],
        );
    }
    // D-CB-3: after the third attempt the head decides; nobody records a fourth.
    let handed_fu = id(&w.handed_over, "follow_up");
    check(
        "D-CB-3 handed over",
        "unreachable_attempts",
        RefusalKind::Conflict,
        vec![
            (
                "api",
                through_api(
                    &app,
                    &w.csc_token,
                    &format!("/api/v1/followups/{handed_fu}/unreachable"),
                    json!({"method": "phone", "note": "再试一次"}),
                )
                .await,
            ),
            (
                "sync",
                through_sync::<FollowUp>(&app, &w.csc_token, &handed_fu, &|f| {
                    f.unreachable_attempts
                        .push(huifang_protocol::UnreachableAttempt {
                            id: "4".repeat(32),
                            at: now.clone(),
                            by_staff_id: w.csc_id,
                            method: FollowUpMethod::Phone,
                            note: String::new(),
                        });
                })
                .await,
            ),
            (
                "phone",
                through_phone(phone.store.record_unreachable(
                    &handed_fu,
                    FollowUpMethod::Phone,
                    "再试一次".into(),
                )),
            ),
        ],
    );
    // D-CB-1: ratings are 1 to 5.
    check(
        "D-CB-1 ratings",
        "ratings",
        RefusalKind::Invalid,
        vec![
            (
                "api",
                through_api(
                    &app,
                    &w.csc_token,
                    &outcome_path(&repair_fu),
                    outcome_body("phone", &now, 9),
                )
                .await,
            ),
            (
                "sync",
                through_sync::<FollowUp>(&app, &w.csc_token, &repair_fu, &|f| {
                    f.status = FollowUpStatus::Completed;
                    f.outcome = Some(outcome_by(w.csc_id, FollowUpMethod::Phone, &now, 9));
                })
                .await,
            ),
            (
                "phone",
                through_phone(
                    phone
                        .store
                        .record_outcome(&repair_fu, phone_outcome(FollowUpMethod::Phone, None, 9)),
                ),
            ),
        ],
    );
    // The outcome is recorded by whoever records it.
    check(
        "outcome.recorded_by",
        "outcome",
        RefusalKind::Forbidden,
        vec![(
            "sync",
            through_sync::<FollowUp>(&app, &w.csc_token, &repair_fu, &|f| {
                f.status = FollowUpStatus::Completed;
                f.outcome = Some(outcome_by(w.csc_id + 1, FollowUpMethod::Phone, &now, 5));
            })
            .await,
        )],
    );
    // R-INF-8: a signature on site confirms a repair, nothing else.
    check(
        "R-INF-8",
        "R-INF-8",
        RefusalKind::Invalid,
        vec![
            (
                "api",
                through_api(&app, &w.csc_token, &outcome_path(&other_fu), {
                    let mut body = outcome_body("on_site_signature", &now, 5);
                    body["signature"] =
                        serde_json::to_value(signature(app.now(), &w.own_strokes, &"b".repeat(64)))
                            .unwrap();
                    body
                })
                .await,
            ),
            (
                "sync",
                through_sync::<FollowUp>(&app, &w.csc_token, &other_fu, &|f| {
                    f.status = FollowUpStatus::Completed;
                    f.outcome = Some(outcome_by(
                        w.csc_id,
                        FollowUpMethod::OnSiteSignature,
                        &now,
                        5,
                    ));
                    f.signature = Some(signature(app.now(), &w.own_strokes, &"b".repeat(64)));
                })
                .await,
            ),
            (
                "phone",
                through_phone(phone.store.record_outcome(
                    &other_fu,
                    phone_outcome(FollowUpMethod::OnSiteSignature, None, 5),
                )),
            ),
        ],
    );
    // D-SIG-1: the strokes exist, were uploaded by the signer's recorder, and the content hash is
    // the server's own.
    let signed_body = |sig: SignatureRef| {
        let mut body = outcome_body("on_site_signature", &now, 5);
        body["signature"] = serde_json::to_value(sig).unwrap();
        body
    };
    let signed_forge = |sig: SignatureRef| {
        let outcome = signed_outcome.clone();
        move |f: &mut FollowUp| {
            f.status = FollowUpStatus::Completed;
            f.outcome = Some(outcome.clone());
            f.signature = Some(sig.clone());
        }
    };
    for (rule, sig, kind, field) in [
        (
            "D-SIG-1 strokes never uploaded",
            signature(app.now(), &"a".repeat(64), &good_hash),
            RefusalKind::Invalid,
            "upload them first",
        ),
        (
            "D-SIG-1 made-up content hash",
            signature(app.now(), &w.own_strokes, &"b".repeat(64)),
            RefusalKind::Invalid,
            "not the hash",
        ),
        (
            "D-SIG-1 someone else's strokes",
            signature(app.now(), &w.theirs_strokes, &good_hash),
            RefusalKind::Forbidden,
            "someone else",
        ),
    ] {
        check(
            rule,
            field,
            kind,
            vec![
                (
                    "api",
                    through_api(
                        &app,
                        &w.csc_token,
                        &outcome_path(&repair_fu),
                        signed_body(sig.clone()),
                    )
                    .await,
                ),
                (
                    "sync",
                    through_sync::<FollowUp>(&app, &w.csc_token, &repair_fu, &signed_forge(sig))
                        .await,
                ),
            ],
        );
    }
    // Attempts to reach the customer: by their author, within bounds.
    let attempt = |by: i64, at: &str| UnreachableAttempt {
        id: "e".repeat(32),
        at: at.to_owned(),
        by_staff_id: by,
        method: FollowUpMethod::Phone,
        note: String::new(),
    };
    check(
        "D-CB-3 attempt by another",
        "unreachable_attempts",
        RefusalKind::Forbidden,
        vec![(
            "sync",
            through_sync::<FollowUp>(&app, &w.csc_token, &repair_fu, &|f| {
                f.unreachable_attempts.push(attempt(w.csc_id + 1, &now));
            })
            .await,
        )],
    );
    check(
        "D-CB-3 attempt dated 2001",
        "unreachable_attempts",
        RefusalKind::Invalid,
        vec![
            (
                "api",
                through_api(
                    &app,
                    &w.csc_token,
                    &format!("/api/v1/followups/{repair_fu}/unreachable"),
                    json!({"method": "phone", "at": LONG_AGO}),
                )
                .await,
            ),
            (
                "sync",
                through_sync::<FollowUp>(&app, &w.csc_token, &repair_fu, &|f| {
                    f.unreachable_attempts.push(attempt(w.csc_id, LONG_AGO));
                })
                .await,
            ),
        ],
    );
    // Fields only the server sets.
    for (field, forge) in [
        (
            "due_at",
            Box::new(|f: &mut FollowUp| f.due_at = FAR_AHEAD.into()) as Box<dyn Fn(&mut FollowUp)>,
        ),
        (
            "assignee_staff_id",
            Box::new(|f: &mut FollowUp| f.assignee_staff_id = Some(1)),
        ),
        (
            "rule",
            Box::new(|f: &mut FollowUp| f.rule = AssignmentRule::ReassignedByHead),
        ),
    ] {
        check(
            "set by the server",
            field,
            RefusalKind::Forbidden,
            vec![(
                "sync",
                through_sync::<FollowUp>(&app, &w.csc_token, &repair_fu, &*forge).await,
            )],
        );
    }
    // A completed follow-up stays completed.
    check(
        "closed follow-ups",
        "status",
        RefusalKind::Conflict,
        vec![
            (
                "api",
                through_api(
                    &app,
                    &w.csc_token,
                    &outcome_path(&completed_fu),
                    outcome_body("phone", &now, 4),
                )
                .await,
            ),
            (
                "sync",
                through_sync::<FollowUp>(&app, &w.csc_token, &completed_fu, &|f| {
                    f.status = FollowUpStatus::Open;
                    f.outcome = None;
                })
                .await,
            ),
            (
                "phone",
                through_phone(
                    phone.store.record_outcome(
                        &completed_fu,
                        phone_outcome(FollowUpMethod::Phone, None, 4),
                    ),
                ),
            ),
        ],
    );

    // R-SUR-1: an opinion survey is completed by the customer's answers, not by an outcome.
    check(
        "R-SUR-1 survey completed without answers",
        "R-SUR-1",
        RefusalKind::Forbidden,
        vec![
            (
                "api",
                through_api(
                    &app,
                    &w.csc_token,
                    &outcome_path(&survey_fu),
                    outcome_body("phone", &now, 5),
                )
                .await,
            ),
            (
                "sync",
                through_sync::<FollowUp>(&app, &w.csc_token, &survey_fu, &|f| {
                    f.status = FollowUpStatus::Completed;
                })
                .await,
            ),
            (
                "phone",
                through_phone(
                    phone
                        .store
                        .record_outcome(&survey_fu, phone_outcome(FollowUpMethod::Phone, None, 5)),
                ),
            ),
        ],
    );

    // Sheets. R-INF-4: the handling time starts the 24-hour clock, so it is not in the future.
    check(
        "R-INF-4 handled_at",
        "handled_at",
        RefusalKind::Invalid,
        vec![
            (
                "api",
                through_api(
                    &app,
                    &w.csc_token,
                    &format!("/api/v1/sheets/{accepted_sheet}/handled"),
                    json!({"result": "修好了", "handled_at": FAR_AHEAD}),
                )
                .await,
            ),
            (
                "sync",
                through_sync::<Sheet>(&app, &w.csc_token, &accepted_sheet, &|s| {
                    s.status = SheetStatus::Handled;
                    s.result = "修好了".into();
                    s.handled_at = Some(FAR_AHEAD.into());
                })
                .await,
            ),
        ],
    );
    check(
        "tracking notes by their author",
        "tracking",
        RefusalKind::Forbidden,
        vec![(
            "sync",
            through_sync::<Sheet>(&app, &w.csc_token, &accepted_sheet, &|s| {
                s.tracking.push(TrackingNote {
                    id: "d".repeat(32),
                    at: now.clone(),
                    by_staff_id: w.csc_id + 1,
                    note: "冒名".into(),
                });
            })
            .await,
        )],
    );
    check(
        "numbers are the server's",
        "number",
        RefusalKind::Forbidden,
        vec![(
            "sync",
            through_sync::<Sheet>(&app, &w.csc_token, &accepted_sheet, &|s| {
                s.number = Some("HF-1999-000001".into());
            })
            .await,
        )],
    );
    check(
        "D-INF-4 followed-up sheets are read-only",
        "result",
        RefusalKind::Forbidden,
        vec![
            ("api", {
                let response = app
                    .client
                    .patch(app.url(&format!("/api/v1/sheets/{}", id(&w.completed, "sheet"))))
                    .bearer_auth(&w.csc_token)
                    .json(&json!({"result": "改了"}))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::FORBIDDEN);
                Verdict {
                    kind: RefusalKind::Forbidden,
                    text: response.text().await.unwrap(),
                }
            }),
            (
                "sync",
                through_sync::<Sheet>(&app, &w.csc_token, &id(&w.completed, "sheet"), &|s| {
                    s.result = "改了".into();
                })
                .await,
            ),
        ],
    );

    // New sheets: in the acceptor's scope and unit, dated sensibly.
    let new_sheet = |edit: &dyn Fn(&mut Sheet)| {
        let mut sheet = Sheet::accepted(SheetIntake {
            id: huifang_protocol::new_document_id(),
            accepted_at: now.clone(),
            level: ComplaintLevel::Ordinary,
            category: SheetCategory::Repair,
            source: InformationSource::HomeVisit,
            household_id: Some(w.own_household),
            customer_id: None,
            customer_name: "陈志强".into(),
            customer_address: String::new(),
            contact_phone: "13800138001".into(),
            accepted_by: w.csc_id,
            accepting_unit_id: repair_sheet.accepting_unit_id,
            items: vec![ReportedItem {
                id: huifang_protocol::new_document_id(),
                text: "漏水".into(),
            }],
            created_at: now.clone(),
        });
        edit(&mut sheet);
        let mut doc = AutoCommit::new();
        sheet.reconcile_into(&mut doc).unwrap();
        (sheet.id.clone(), doc.save_after(&[]))
    };
    let new_through_sync = |edit: &dyn Fn(&mut Sheet)| {
        let (sheet_id, changes) = new_sheet(edit);
        let token = w.csc_token.clone();
        let app = &app;
        async move { sync_one(app, &token, &sheet_id, DocumentKind::Sheet, changes).await }
    };
    let phone_sheet = |household_id: Option<i64>, customer_id: Option<i64>| NewSheet {
        level: ComplaintLevel::Ordinary,
        category: SheetCategory::Repair,
        source: InformationSource::HomeVisit,
        household_id,
        customer_id,
        customer_name: Some("何美玲".into()),
        contact_phone: Some("13800138999".into()),
        customer_address: None,
        items: vec!["漏水".into()],
    };
    let api_sheet = |extra: Value| {
        let mut body = json!({"level": "ordinary", "category": "repair", "source": "home_visit",
                              "customer_name": "何美玲", "contact_phone": "13800138999", "items": ["漏水"]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    check(
        "scope: another community's household",
        "household_id",
        RefusalKind::Invalid,
        vec![
            (
                "api",
                through_api(
                    &app,
                    &w.csc_token,
                    "/api/v1/sheets",
                    api_sheet(json!({"household_id": w.foreign_household})),
                )
                .await,
            ),
            (
                "sync",
                new_through_sync(&|s| s.household_id = Some(w.foreign_household)).await,
            ),
            (
                "phone",
                through_phone(
                    phone
                        .store
                        .accept_sheet(phone_sheet(Some(w.foreign_household), None)),
                ),
            ),
        ],
    );
    check(
        "a customer of another household",
        "customer_id",
        RefusalKind::Invalid,
        vec![
            (
                "api",
                through_api(
                    &app,
                    &w.csc_token,
                    "/api/v1/sheets",
                    api_sheet(
                        json!({"household_id": w.own_household, "customer_id": w.other_customer}),
                    ),
                )
                .await,
            ),
            (
                "sync",
                new_through_sync(&|s| s.customer_id = Some(w.other_customer)).await,
            ),
            (
                "phone",
                through_phone(
                    phone
                        .store
                        .accept_sheet(phone_sheet(Some(w.own_household), Some(w.other_customer))),
                ),
            ),
        ],
    );
    for when in [YEAR_ONE, FAR_AHEAD] {
        check(
            "accepted_at within bounds",
            "accepted_at",
            RefusalKind::Invalid,
            vec![
                (
                    "api",
                    through_api(
                        &app,
                        &w.csc_token,
                        "/api/v1/sheets",
                        api_sheet(json!({"household_id": w.own_household, "accepted_at": when})),
                    )
                    .await,
                ),
                (
                    "sync",
                    new_through_sync(&|s| s.accepted_at = when.into()).await,
                ),
            ],
        );
    }
    check(
        "accepted by the person who accepts it",
        "accepted_by",
        RefusalKind::Forbidden,
        vec![(
            "sync",
            new_through_sync(&|s| s.accepted_by = w.csc_id + 1).await,
        )],
    );
    check(
        "accepted in the acceptor's unit",
        "accepting_unit_id",
        RefusalKind::Forbidden,
        vec![(
            "sync",
            new_through_sync(&|s| s.accepting_unit_id += 1).await,
        )],
    );

    assert_eq!(rows, 26, "the table has every row");
    assert_eq!(app.change_seq().await, seq, "no path stored any bad change");
    assert!(
        phone.store.pending_changes(100).unwrap().is_empty(),
        "the phone queued none of them"
    );
}
