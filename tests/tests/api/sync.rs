//! Sync end to end: the real server and phones (client-core stores) over HTTP.

use automerge::AutoCommit;
use huifang_client::{
    ClientStore, HttpTransport, OutcomeInput, Request, StoreKey, Transport, TransportError,
};
use huifang_protocol::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, assert_error};
use crate::sheets::{accept, handle};

crate::on_both_backends!(
    two_phones_work_offline_and_sync_in_either_order,
    d_sig_1_a_refused_change_stores_nothing_and_a_signed_record_stays_signed,
    reassignment_moves_a_follow_up_between_phones,
    scope_follows_the_registry_units_and_staff_moves,
    a_refused_offline_edit_is_kept_for_its_owner_and_the_phone_takes_the_servers_copy,
    bad_sync_requests_are_refused_and_store_nothing,
    a_phone_cannot_change_a_sheet_outside_its_scope,
    hostile_automerge_bytes_are_refused_before_automerge_sees_them,
    two_server_instances_lose_no_concurrent_edit,
    the_live_channel_says_sync_when_the_scope_changes,
    blob_parts_are_appended_in_order_and_checked,
    random_blob_parts_never_fail_the_server_nor_store_a_partial_blob,
    a_listening_phone_hears_of_new_work,
    d_cb_1_an_outcome_that_did_not_stand_comes_back_to_its_phone,
    a_phone_stores_a_new_document_with_the_listing_the_server_sent,
    a_phone_reported_lost_erases_itself_at_its_next_contact,
    phones_report_what_they_hold_and_an_old_app_is_told_to_update,
);

/// A phone's transport: the client's own [`HttpTransport`], with a switch that loses the next
/// answer after the server has handled the request (a connection cut at the worst moment).
pub(crate) struct Http {
    inner: HttpTransport,
    /// Counts down with each request; the answer to the request that takes it to 0 is lost.
    drop_response_countdown: std::sync::atomic::AtomicUsize,
    /// Requests sent so far.
    requests: std::sync::atomic::AtomicUsize,
}

impl Http {
    /// Builds the blocking client off the test's async runtime, as an app does on its own thread.
    pub(crate) async fn to(base: &str) -> Http {
        let base = base.to_owned();
        tokio::task::spawn_blocking(move || Http {
            inner: HttpTransport::new(&base).unwrap(),
            drop_response_countdown: Default::default(),
            requests: Default::default(),
        })
        .await
        .unwrap()
    }

    /// The next response is lost after the server has handled the request.
    pub(crate) fn drop_next_response(&self) {
        self.drop_response(1);
    }

    /// The answer to the `n`th request from now is lost after the server has handled it.
    pub(crate) fn drop_response(&self, n: usize) {
        self.drop_response_countdown
            .store(n, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Transport for Http {
    fn send(&self, request: Request<'_>) -> Result<Vec<u8>, TransportError> {
        self.requests
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let answer = self.inner.send(request);
        let countdown = self.drop_response_countdown.fetch_update(
            std::sync::atomic::Ordering::SeqCst,
            std::sync::atomic::Ordering::SeqCst,
            |n| n.checked_sub(1),
        );
        if countdown == Ok(1) {
            return Err(TransportError::Offline {
                reason: "the connection was cut before the answer arrived".into(),
            });
        }
        answer
    }
}

pub(crate) struct Phone {
    pub(crate) store: std::sync::Arc<ClientStore>,
    pub(crate) transport: std::sync::Arc<Http>,
    pub(crate) token: String,
    _dir: tempfile::TempDir,
}

impl Phone {
    /// Signs in over HTTP with the client's own `log_in`, as the app does.
    pub(crate) async fn sign_in(app: &TestApp, username: &str) -> Phone {
        Phone::sign_in_tuned(app, username, |store| store).await
    }

    /// As [`Phone::sign_in`], the store set up by `tune` first.
    pub(crate) async fn sign_in_tuned(
        app: &TestApp,
        username: &str,
        tune: impl FnOnce(ClientStore) -> ClientStore,
    ) -> Phone {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(tune(
            ClientStore::open(dir.path().join("phone.db"), &StoreKey::generate())
                .unwrap()
                .with_clock(app.clock.clone()),
        ));
        let transport = std::sync::Arc::new(Http::to(&app.base).await);
        let session = {
            let (store, transport) = (store.clone(), transport.clone());
            let (base, username) = (app.base.clone(), username.to_owned());
            tokio::task::spawn_blocking(move || {
                store.log_in_through(transport.as_ref(), &base, &username, PASSWORD, "test phone")
            })
            .await
            .unwrap()
            .unwrap()
        };
        assert_eq!(session.username, username);
        assert_eq!(session.time_zone, "Asia/Shanghai");
        Phone {
            store,
            transport,
            token: session.token,
            _dir: dir,
        }
    }

    /// Points the phone at another server instance.
    async fn use_server(&mut self, base: &str) {
        self.transport = std::sync::Arc::new(Http::to(base).await);
    }

    pub(crate) async fn sync(&self) -> huifang_client::SyncReport {
        let (store, transport) = (self.store.clone(), self.transport.clone());
        tokio::task::spawn_blocking(move || store.sync_now(transport.as_ref()))
            .await
            .unwrap()
            .unwrap()
    }
}

fn outcome(overall: u8) -> OutcomeInput {
    OutcomeInput {
        method: FollowUpMethod::HomeVisit,
        ratings: Ratings {
            handling: 4,
            efficiency: 4,
            quality: 4,
            attitude: 5,
            overall,
        },
        opinions: if overall <= 2 {
            "还是漏水".into()
        } else {
            "满意".into()
        },
        done_at: None,
    }
}

pub(crate) async fn server_follow_up(app: &TestApp, token: &str, id: &str) -> Value {
    app.get_json(token, &format!("/api/v1/followups/{id}"))
        .await["follow_up"]
        .clone()
}

async fn two_phones_work_offline_and_sync_in_either_order(app: TestApp) {
    for order in [["csc", "consultant"], ["consultant", "csc"]] {
        let csc_token = app.login("bsw.csc.01", PASSWORD).await;
        let sales = app.login("bsw.sales.head", PASSWORD).await;
        let repair = handle(
            &app,
            &csc_token,
            &accept(&app, &csc_token, "陈志强", "ordinary", "repair").await,
        )
        .await;
        let matter = handle(
            &app,
            &sales,
            &accept(&app, &sales, "黄建华", "ordinary", "sales_matter").await,
        )
        .await;
        let csc = Phone::sign_in(&app, "bsw.csc.01").await;
        let consultant = Phone::sign_in(&app, "bsw.gw.01").await;
        let first = csc.sync().await;
        assert!(
            first.received >= 2,
            "the office phone receives its sheet and follow-up: {first:?}"
        );
        consultant.sync().await;
        let repair_id = repair["follow_up"]["id"].as_str().unwrap().to_owned();
        let matter_id = matter["follow_up"]["id"].as_str().unwrap().to_owned();
        assert_eq!(
            csc.store.follow_up(&repair_id).unwrap().status,
            FollowUpStatus::Open
        );
        assert_eq!(
            consultant
                .store
                .follow_up(&matter_id)
                .unwrap()
                .customer_name,
            "黄建华"
        );
        assert!(
            consultant.store.follow_up(&repair_id).is_err(),
            "not in the consultant's scope"
        );

        // A day offline.
        csc.store.record_outcome(&repair_id, outcome(5)).unwrap();
        let doorstep = csc
            .store
            .accept_sheet(huifang_client::NewSheet {
                level: ComplaintLevel::Ordinary,
                category: SheetCategory::PropertyService,
                source: InformationSource::HomeVisit,
                household_id: None,
                customer_id: Some(app.customer_id("林秀英").await),
                customer_name: None,
                contact_phone: None,
                customer_address: None,
                items: vec!["楼道灯坏了".into()],
            })
            .unwrap();
        consultant
            .store
            .record_outcome(&matter_id, outcome(2))
            .unwrap();

        // Back online, in either order.
        for who in order {
            let phone = if who == "csc" { &csc } else { &consultant };
            let report = phone.sync().await;
            assert_eq!(report.committed, report.sent, "{who}: {report:?}");
            assert!(report.rejected.is_empty(), "{who}: {report:?}");
        }
        csc.sync().await;
        consultant.sync().await;
        for phone in [&csc, &consultant] {
            assert!(
                phone.store.pending_changes(10).unwrap().is_empty(),
                "every change committed"
            );
        }

        // The server has it all, and so do the phones.
        let on_server = server_follow_up(&app, &csc_token, &repair_id).await;
        assert_eq!(on_server["status"], "completed");
        assert_eq!(on_server["outcome"]["ratings"]["overall"], 5);
        let repair_sheet = app
            .get_json(
                &csc_token,
                &format!("/api/v1/sheets/{}", repair["sheet"]["id"].as_str().unwrap()),
            )
            .await;
        assert_eq!(
            repair_sheet["sheet"]["status"], "followed_up",
            "the rules ran on the synced outcome"
        );
        let number = csc.store.sheet(&doorstep.id).unwrap().number;
        assert!(
            number.is_some_and(|n| n.starts_with("HF-")),
            "the doorstep sheet came back numbered"
        );
        let doorstep_on_server = app
            .get_json(&csc_token, &format!("/api/v1/sheets/{}", doorstep.id))
            .await;
        assert_eq!(
            doorstep_on_server["sheet"]["handling_unit_id"],
            app.unit_id("PMO-BSW").await
        );
        let admin = app.admin_token().await;
        let reopened = app
            .get_json(
                &admin,
                &format!("/api/v1/sheets?q={}", crate::helpers::urlencode("还是漏水")),
            )
            .await;
        assert!(
            reopened["total"].as_i64().unwrap() >= 1,
            "D-CB-3 on a synced dissatisfied outcome"
        );
        let matter_on_phone = consultant.store.follow_up(&matter_id).unwrap();
        let matter_on_server: FollowUp =
            serde_json::from_value(server_follow_up(&app, &consultant.token, &matter_id).await)
                .unwrap();
        assert_eq!(
            matter_on_phone, matter_on_server,
            "replicas converge ({order:?})"
        );
        let csc_repair = csc.store.follow_up(&repair_id).unwrap();
        let server_repair: FollowUp = serde_json::from_value(on_server).unwrap();
        assert_eq!(csc_repair, server_repair);
    }
}

/// A raw sync request, as a misbehaving device would send it.
async fn raw_sync(app: &TestApp, token: &str, request: &SyncRequest) -> reqwest::Response {
    app.client
        .post(app.url("/api/v1/sync"))
        .bearer_auth(token)
        .body(encode_message(request).unwrap())
        .send()
        .await
        .unwrap()
}

/// Sends a sync request that must succeed and returns the server's answer.
pub(crate) async fn sync_answer(app: &TestApp, token: &str, request: &SyncRequest) -> SyncResponse {
    let response = raw_sync(app, token, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    decode_message(&response.bytes().await.unwrap()).unwrap()
}

pub(crate) async fn fetch(app: &TestApp, token: &str) -> SyncResponse {
    let request = SyncRequest {
        version: SYNC_VERSION,
        cursor: 0,
        changes: vec![],
        page_size: 500,
        reference_version: None,
        scope_version: None,
        device: None,
    };
    sync_answer(app, token, &request).await
}

/// A modified phone's change to follow-up `id`: `edit` applied to the server's copy of it.
pub(crate) async fn forged_follow_up(
    app: &TestApp,
    token: &str,
    id: &str,
    edit: impl FnOnce(&mut huifang_protocol::FollowUp),
) -> huifang_protocol::SyncRequest {
    use huifang_protocol::*;
    let bytes = fetch(app, token)
        .await
        .documents
        .into_iter()
        .find(|d| d.document_id == id)
        .unwrap()
        .bytes;
    let (mut doc, mut follow_up) = FollowUp::load(&bytes).unwrap();
    let heads = doc.get_heads();
    edit(&mut follow_up);
    follow_up.reconcile_into(&mut doc).unwrap();
    SyncRequest {
        version: SYNC_VERSION,
        cursor: 0,
        changes: vec![OutgoingChanges {
            document_id: id.to_owned(),
            kind: DocumentKind::FollowUp,
            changes: doc.save_after(&heads),
        }],
        page_size: 10,
        reference_version: None,
        scope_version: None,
        device: None,
    }
}

async fn d_sig_1_a_refused_change_stores_nothing_and_a_signed_record_stays_signed(app: TestApp) {
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    let handled = handle(
        &app,
        &csc_token,
        &accept(&app, &csc_token, "陈志强", "ordinary", "repair").await,
    )
    .await;
    let follow_up_id = handled["follow_up"]["id"].as_str().unwrap().to_owned();
    let everything = fetch(&app, &csc_token).await;
    let bytes = &everything
        .documents
        .iter()
        .find(|d| d.document_id == follow_up_id)
        .unwrap()
        .bytes;

    // The device moves its own deadline: not its field.
    let mut doc = AutoCommit::load(bytes)
        .unwrap()
        .with_actor(automerge::ActorId::random());
    let heads = doc.get_heads();
    let mut forged = FollowUp::hydrate_from(&doc).unwrap();
    let original_due = forged.due_at.clone();
    forged.due_at = "2099-01-01T00:00:00.000Z".into();
    forged.reconcile_into(&mut doc).unwrap();
    let changes = doc.save_after(&heads);
    let request = SyncRequest {
        version: SYNC_VERSION,
        cursor: everything.cursor,
        changes: vec![OutgoingChanges {
            document_id: follow_up_id.clone(),
            kind: DocumentKind::FollowUp,
            changes,
        }],
        page_size: 100,
        reference_version: None,
        scope_version: None,
        device: None,
    };
    let seq = app.change_seq().await;
    let answer: SyncResponse = sync_answer(&app, &csc_token, &request).await;
    assert!(answer.committed.is_empty(), "nothing is taken: {answer:?}");
    assert_eq!(answer.rejections.len(), 1);
    assert_eq!(
        answer.rejections[0].fields,
        ["due_at"],
        "the field is named"
    );
    assert!(answer.rejections[0].refused);
    assert_eq!(app.change_seq().await, seq, "nothing stored");
    assert_eq!(
        server_follow_up(&app, &csc_token, &follow_up_id).await["due_at"],
        original_due.as_str()
    );
    // The refused change is not in the server's history either, and the server's copy comes
    // back so the device can drop its own.
    let forged_change = doc.get_heads()[0];
    let back = answer
        .documents
        .iter()
        .find(|d| d.document_id == follow_up_id)
        .expect("the server's copy comes back");
    let mut server_copy = AutoCommit::load(&back.bytes).unwrap();
    assert!(server_copy.get_change_by_hash(&forged_change).is_none());
    assert_eq!(
        FollowUp::hydrate_from(&server_copy).unwrap().due_at,
        original_due
    );

    // The customer signs on the phone; a later edit of the signed content is reverted and flagged.
    let phone = Phone::sign_in_tuned(&app, "bsw.csc.01", |store| {
        store.with_blob_part_bytes(64 * 1024)
    })
    .await;
    phone.sync().await;
    // A long signature (50 strokes of 100 points, about 150 KiB): it goes up in three parts.
    let strokes = (0..50)
        .map(|s| huifang_client::Stroke {
            points: (0..100)
                .map(|i| huifang_client::StrokePoint {
                    x: 10.0 + i as f32 + s as f32 / 7.0,
                    y: 20.0 + s as f32,
                    t_ms: s * 1_000 + i * 10,
                    pressure: Some(0.5),
                })
                .collect(),
        })
        .collect();
    let signature = huifang_client::SignatureInput {
        strokes,
        width: 200,
        height: 80,
        signer_name: "陈志强".into(),
    };
    phone
        .store
        .complete_with_signature(
            &follow_up_id,
            signature,
            Ratings {
                handling: 5,
                efficiency: 5,
                quality: 5,
                attitude: 5,
                overall: 5,
            },
            String::new(),
        )
        .unwrap();
    // The answer to the second part is lost: the phone sends it again, learns that the server
    // already has it, and goes on from where the server's copy ends.
    phone.transport.drop_response(2);
    let before = phone
        .transport
        .requests
        .load(std::sync::atomic::Ordering::SeqCst);
    let report = phone.sync().await;
    assert!(report.rejected.is_empty());
    let requests = phone
        .transport
        .requests
        .load(std::sync::atomic::Ordering::SeqCst)
        - before;
    let signed = server_follow_up(&app, &csc_token, &follow_up_id).await;
    assert_eq!(signed["outcome"]["method"], "on_site_signature");
    // The strokes reached the server under their hash, visible only within scope.
    let blob = signed["signature"]["blob_sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let fetched = app.get(&csc_token, &format!("/api/v1/blobs/{blob}")).await;
    assert_eq!(fetched.status(), StatusCode::OK);
    use sha2::Digest;
    assert_eq!(
        hex::encode(sha2::Sha256::digest(fetched.bytes().await.unwrap())),
        blob
    );
    // A download cut off midway asks for the rest.
    let whole = app
        .get(&csc_token, &format!("/api/v1/blobs/{blob}"))
        .await
        .bytes()
        .await
        .unwrap();
    let rest = app
        .client
        .get(app.url(&format!("/api/v1/blobs/{blob}")))
        .bearer_auth(&csc_token)
        .header("range", "bytes=100000-")
        .send()
        .await
        .unwrap();
    assert_eq!(
        requests,
        whole.len().div_ceil(64 * 1024) + 3,
        "each part, part 2 again (409: the server has it), where to go on, the sync"
    );
    assert_eq!(rest.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        rest.headers()["content-range"],
        format!("bytes 100000-{}/{}", whole.len() - 1, whole.len()).as_str()
    );
    assert_eq!(rest.bytes().await.unwrap(), whole.slice(100_000..));
    let past_the_end = app
        .client
        .get(app.url(&format!("/api/v1/blobs/{blob}")))
        .bearer_auth(&csc_token)
        .header("range", format!("bytes={}-", whole.len()))
        .send()
        .await
        .unwrap();
    crate::helpers::assert_error(
        past_the_end,
        StatusCode::RANGE_NOT_SATISFIABLE,
        "range_not_satisfiable",
        "Range",
    )
    .await;
    let outsider = app.login("bsw.gw.02", PASSWORD).await;
    assert_eq!(
        app.get(&outsider, &format!("/api/v1/blobs/{blob}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let tampered = app
        .client
        .post(app.url(&format!("/api/v1/blobs/{blob}")))
        .bearer_auth(&csc_token)
        .body("other bytes")
        .send()
        .await
        .unwrap();
    crate::helpers::assert_error(
        tampered,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "SHA-256",
    )
    .await;

    let sheet_id = handled["sheet"]["id"].as_str().unwrap().to_owned();
    let now = fetch(&app, &csc_token).await;
    let sheet_bytes = &now
        .documents
        .iter()
        .find(|d| d.document_id == sheet_id)
        .unwrap()
        .bytes;
    let mut sheet_doc = AutoCommit::load(sheet_bytes)
        .unwrap()
        .with_actor(automerge::ActorId::random());
    let heads = sheet_doc.get_heads();
    let mut edited = Sheet::hydrate_from(&sheet_doc).unwrap();
    edited.result = "其实没修好".into();
    edited.reconcile_into(&mut sheet_doc).unwrap();
    let request = SyncRequest {
        version: SYNC_VERSION,
        cursor: now.cursor,
        changes: vec![OutgoingChanges {
            document_id: sheet_id.clone(),
            kind: DocumentKind::Sheet,
            changes: sheet_doc.save_after(&heads),
        }],
        page_size: 100,
        reference_version: None,
        scope_version: None,
        device: None,
    };
    let answer: SyncResponse = sync_answer(&app, &csc_token, &request).await;
    assert_eq!(answer.rejections.len(), 1, "{answer:?}");
    assert!(answer.rejections[0].refused);
    // Signed and followed up: the content is frozen, the edit refused and reported.
    assert_eq!(
        answer.rejections[0].fields,
        ["result"],
        "{:?}",
        answer.rejections
    );
    assert!(
        answer.rejections[0].reason.contains("can no longer change"),
        "{:?}",
        answer.rejections
    );
    let sheet = app
        .get_json(&csc_token, &format!("/api/v1/sheets/{sheet_id}"))
        .await;
    assert_eq!(
        sheet["sheet"]["result"], "已处理完毕",
        "the signed content stands"
    );
    phone.sync().await;
    assert!(phone.store.verify_signature(&follow_up_id).unwrap().intact);
}

/// A reassigned follow-up leaves the old assignee's phone and reaches the new one's — with its
/// sheet, which the new assignee did not hold and which did not change (issue #17: the feed reads
/// by holder, and a follow-up's write makes its new assignee a holder of the sheet).
async fn reassignment_moves_a_follow_up_between_phones(app: TestApp) {
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    let sheet = accept(&app, &csc_token, "陈志强", "ordinary", "repair").await;
    let handled = handle(&app, &csc_token, &sheet).await;
    let id = handled["follow_up"]["id"].as_str().unwrap().to_owned();
    let sheet_id = handled["follow_up"]["sheet_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let csc = Phone::sign_in(&app, "bsw.csc.01").await;
    let eng = Phone::sign_in(&app, "bsw.eng.head").await;
    csc.sync().await;
    eng.sync().await;
    assert!(csc.store.follow_up(&id).is_ok());
    assert!(eng.store.follow_up(&id).is_err());
    assert!(
        eng.store.sheet(&sheet_id).is_err(),
        "not the engineer's yet"
    );
    let head = app.login("bsw.office.head", PASSWORD).await;
    let engineer = app.staff_id("bsw.eng.head").await;
    app.post_ok(
        &head,
        &format!("/api/v1/followups/{id}/reassign"),
        json!({ "staff_id": engineer }),
        StatusCode::OK,
    )
    .await;
    let report = csc.sync().await;
    assert_eq!(report.removed, 1, "{report:?}");
    assert!(
        csc.store.follow_up(&id).is_err(),
        "the old assignee's phone purged it"
    );
    eng.sync().await;
    assert_eq!(
        eng.store.follow_up(&id).unwrap().assignee_staff_id,
        Some(engineer)
    );
    assert_eq!(
        eng.store.sheet(&sheet_id).unwrap().customer_name,
        "陈志强",
        "the follow-up's sheet came with it"
    );
    let again = eng.sync().await;
    assert_eq!(again.received, 0, "once: {again:?}");
}

/// A document that leaves a unit's or a person's scope leaves their phones, and one that enters
/// arrives, whether a head reassigns it or the person moves (issue #14, item 5).
async fn scope_follows_the_registry_units_and_staff_moves(app: TestApp) {
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    let head = app.login("bsw.office.head", PASSWORD).await;
    let admin = app.admin_token().await;
    let eng_unit = app.unit_id("PMO-BSW-ENG").await;
    let csc_unit = app.unit_id("PMO-BSW-CSC").await;
    let handled = |customer: &'static str| {
        let app = &app;
        let csc_token = csc_token.clone();
        async move {
            let sheet = accept(app, &csc_token, customer, "ordinary", "repair").await;
            handle(app, &csc_token, &sheet).await["follow_up"]["id"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let first = handled("陈志强").await;
    let second = handled("林秀英").await;
    let reassign = |id: &str, body: Value| {
        let app = &app;
        let head = head.clone();
        let path = format!("/api/v1/followups/{id}/reassign");
        async move {
            app.post_ok(&head, &path, body, StatusCode::OK).await;
        }
    };
    let csc = Phone::sign_in(&app, "bsw.csc.01").await;
    let eng = Phone::sign_in(&app, "bsw.eng.head").await;
    csc.sync().await;
    eng.sync().await;
    assert!(csc.store.follow_up(&first).is_ok());
    assert!(eng.store.follow_up(&first).is_err());

    // To a unit: the engineering department's phones receive it; the old assignee's loses it.
    reassign(&first, json!({ "unit_id": eng_unit })).await;
    csc.sync().await;
    eng.sync().await;
    assert!(
        csc.store.follow_up(&first).is_err(),
        "left the person's phone"
    );
    assert_eq!(
        eng.store.follow_up(&first).unwrap().assignee_unit_id,
        eng_unit
    );
    // From one unit to another: the first unit's phones purge it.
    reassign(&first, json!({ "unit_id": csc_unit })).await;
    let report = eng.sync().await;
    assert_eq!(report.removed, 1, "{report:?}");
    assert!(
        eng.store.follow_up(&first).is_err(),
        "left the unit's phones"
    );
    csc.sync().await;
    assert!(
        csc.store.follow_up(&first).is_ok(),
        "arrived with the new unit"
    );

    // The second goes to engineering, then the service clerk moves there by import.
    reassign(&second, json!({ "unit_id": eng_unit })).await;
    csc.sync().await;
    assert!(csc.store.follow_up(&second).is_err());
    let moved = app
        .client
        .post(app.url("/api/v1/import/staff"))
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body("username,name,role,unit,phone,password\nbsw.csc.01,冯客服,员工,PMO-BSW-ENG,,\n")
        .send()
        .await
        .unwrap();
    assert_eq!(
        moved.status(),
        StatusCode::OK,
        "{}",
        moved.text().await.unwrap()
    );
    let report = csc.sync().await;
    assert!(
        csc.store.follow_up(&first).is_err(),
        "the old unit's work left the phone: {report:?}"
    );
    assert!(
        csc.store.follow_up(&second).is_ok(),
        "the new unit's existing work arrived: {report:?}"
    );
    let again = csc.sync().await;
    assert_eq!((again.received, again.removed), (0, 0), "once: {again:?}");
}

/// An outcome recorded offline while the head cancelled the follow-up on the server: the server
/// refuses it whole, the phone keeps it where its user sees it (with the reason) and its copy
/// becomes the server's; nothing is pending afterwards and nothing was lost silently.
async fn a_refused_offline_edit_is_kept_for_its_owner_and_the_phone_takes_the_servers_copy(
    app: TestApp,
) {
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    let handled = handle(
        &app,
        &csc_token,
        &accept(&app, &csc_token, "陈志强", "ordinary", "repair").await,
    )
    .await;
    let id = handled["follow_up"]["id"].as_str().unwrap().to_owned();
    let phone = Phone::sign_in(&app, "bsw.csc.01").await;
    phone.sync().await;
    phone.store.record_outcome(&id, outcome(5)).unwrap();
    let head = app.login("bsw.office.head", PASSWORD).await;
    app.post_ok(
        &head,
        &format!("/api/v1/followups/{id}/cancel"),
        json!({"reason": "客户已搬走"}),
        StatusCode::OK,
    )
    .await;
    let report = phone.sync().await;
    assert_eq!(report.committed, 0, "{report:?}");
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert!(
        report.rejected[0].reason.contains("cancelled"),
        "{report:?}"
    );
    let refused = phone.store.refused_changes().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].document_id, id);
    assert_eq!(refused[0].kind, "follow_up");
    assert!(phone.store.pending_changes(10).unwrap().is_empty());
    // Head office sees nothing waiting on the phone either (#18): the refusal settled it.
    let devices = app.get_json(&head, "/api/v1/devices").await;
    let device = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["username"] == "bsw.csc.01" && d["device_name"] == "test phone")
        .unwrap();
    assert_eq!(device["pending_changes"], 0, "{device}");
    assert_eq!(device["done_on_phone"], 0, "{device}");
    let on_phone = phone.store.follow_up(&id).unwrap();
    let on_server: FollowUp =
        serde_json::from_value(server_follow_up(&app, &csc_token, &id).await).unwrap();
    assert_eq!(on_phone, on_server, "the phone's copy is the server's");
    assert_eq!(on_phone.status, FollowUpStatus::Cancelled);
    let again = phone.sync().await;
    assert!(again.rejected.is_empty() && again.sent == 0, "{again:?}");
}

/// A modified phone that got hold of a sheet outside its scope (another unit's, accepted by the
/// development department) and sends well-formed changes to it is refused with the reason, and
/// nothing is stored: the server asks whether a stored sheet is the caller's before any change.
async fn a_phone_cannot_change_a_sheet_outside_its_scope(app: TestApp) {
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    let dev = app.login("dev.01", PASSWORD).await;
    let sheet_id = accept(&app, &dev, "王子涵", "ordinary", "other").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let leaked = fetch(&app, &dev)
        .await
        .documents
        .into_iter()
        .find(|d| d.document_id == sheet_id)
        .expect("the development department holds its sheet");
    let (mut doc, mut sheet) = Sheet::load(&leaked.bytes).unwrap();
    let heads = doc.get_heads();
    sheet.customer_name = "改过的名字".into();
    sheet.reconcile_into(&mut doc).unwrap();
    let seq = app.change_seq().await;
    let request = SyncRequest {
        version: SYNC_VERSION,
        cursor: 0,
        changes: vec![OutgoingChanges {
            document_id: sheet_id.clone(),
            kind: DocumentKind::Sheet,
            changes: doc.save_after(&heads),
        }],
        page_size: 10,
        reference_version: None,
        scope_version: None,
        device: None,
    };
    let answer = sync_answer(&app, &csc_token, &request).await;
    assert!(answer.committed.is_empty(), "{answer:?}");
    assert_eq!(answer.rejections.len(), 1, "{answer:?}");
    assert!(answer.rejections[0].refused);
    assert!(
        answer.rejections[0].reason.contains("outside your scope"),
        "{:?}",
        answer.rejections[0]
    );
    assert_eq!(app.change_seq().await, seq, "nothing stored");
    let on_server = app
        .get_json(&dev, &format!("/api/v1/sheets/{sheet_id}"))
        .await;
    assert_eq!(on_server["sheet"]["customer_name"], "王子涵");
}

async fn bad_sync_requests_are_refused_and_store_nothing(app: TestApp) {
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    let dev = app.login("dev.01", PASSWORD).await;
    let handled = handle(
        &app,
        &dev,
        &accept(&app, &dev, "王子涵", "ordinary", "other").await,
    )
    .await;
    let seq = app.change_seq().await;
    let good = SyncRequest {
        version: SYNC_VERSION,
        cursor: 0,
        changes: vec![],
        page_size: 10,
        reference_version: None,
        scope_version: None,
        device: None,
    };

    let wrong_version = SyncRequest {
        version: 99,
        ..good.clone()
    };
    let response = raw_sync(&app, &csc_token, &wrong_version).await;
    crate::helpers::assert_error(
        response,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "update the app",
    )
    .await;
    let response = app
        .client
        .post(app.url("/api/v1/sync"))
        .bearer_auth(&csc_token)
        .body("not cbor")
        .send()
        .await
        .unwrap();
    crate::helpers::assert_error(response, StatusCode::BAD_REQUEST, "bad_request", "gzip").await;
    let response = raw_sync(
        &app,
        &csc_token,
        &SyncRequest {
            page_size: 0,
            ..good.clone()
        },
    )
    .await;
    crate::helpers::assert_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "page_size",
    )
    .await;
    let huge = vec![0u8; 17 * 1024 * 1024];
    let response = app
        .client
        .post(app.url("/api/v1/sync"))
        .bearer_auth(&csc_token)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let response = app
        .client
        .post(app.url("/api/v1/sync"))
        .body(encode_message(&good).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    // A change to a document outside the sender's scope, corrupt bytes, a forged follow-up.
    let outside = handled["follow_up"]["id"].as_str().unwrap().to_owned();
    let forged_id = "f".repeat(32);
    let mut forged_doc = AutoCommit::new();
    let mut forged =
        serde_json::from_value::<FollowUp>(server_follow_up(&app, &dev, &outside).await).unwrap();
    forged.id = forged_id.clone();
    forged.reconcile_into(&mut forged_doc).unwrap();
    let request = SyncRequest {
        changes: vec![
            OutgoingChanges {
                document_id: outside.clone(),
                kind: DocumentKind::FollowUp,
                changes: vec![1, 2, 3],
            },
            OutgoingChanges {
                document_id: handled["sheet"]["id"].as_str().unwrap().into(),
                kind: DocumentKind::Sheet,
                changes: b"garbage".to_vec(),
            },
            OutgoingChanges {
                document_id: forged_id.clone(),
                kind: DocumentKind::FollowUp,
                changes: forged_doc.save_after(&[]),
            },
            OutgoingChanges {
                document_id: "short".into(),
                kind: DocumentKind::Sheet,
                changes: vec![],
            },
        ],
        ..good.clone()
    };
    let answer: SyncResponse = sync_answer(&app, &csc_token, &request).await;
    assert!(answer.committed.is_empty(), "{answer:?}");
    assert_eq!(answer.rejections.len(), 4);
    assert!(answer.rejections.iter().all(|r| r.refused));
    let reasons: Vec<&str> = answer
        .rejections
        .iter()
        .map(|r| r.reason.as_str())
        .collect();
    assert!(reasons[0].contains("not valid Automerge"), "{reasons:?}");
    assert!(
        reasons[1].contains("outside your scope") || reasons[1].contains("not valid Automerge"),
        "{reasons:?}"
    );
    assert!(reasons[2].contains("created by the server"), "{reasons:?}");
    assert!(reasons[3].contains("empty"), "{reasons:?}");
    assert_eq!(app.change_seq().await, seq, "nothing stored");
}

async fn two_server_instances_lose_no_concurrent_edit(app: TestApp) {
    let second = app.second_instance().await;
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    let sheet = accept(&app, &csc_token, "陈志强", "ordinary", "repair").await;
    let id = sheet["id"].as_str().unwrap().to_owned();
    let csc = Phone::sign_in(&app, "bsw.csc.01").await;
    let mut head = Phone::sign_in(&app, "bsw.office.head").await;
    head.use_server(&second).await;
    csc.sync().await;
    head.sync().await;
    for round in 0..5 {
        csc.store
            .add_tracking_note(&id, format!("客服第{round}次跟进"))
            .unwrap();
        head.store
            .add_tracking_note(&id, format!("主任第{round}次督办"))
            .unwrap();
        // Both phones sync at the same moment, each to its own instance.
        let (a, b) = tokio::join!(csc.sync(), head.sync());
        assert_eq!((a.committed, b.committed), (1, 1), "round {round}");
    }
    csc.sync().await;
    head.sync().await;
    let on_server = app
        .get_json(&csc_token, &format!("/api/v1/sheets/{id}"))
        .await;
    assert_eq!(
        on_server["sheet"]["tracking"].as_array().unwrap().len(),
        10,
        "no note lost"
    );
    assert_eq!(
        csc.store.sheet(&id).unwrap(),
        head.store.sheet(&id).unwrap(),
        "both phones converge"
    );
    assert_eq!(csc.store.sheet(&id).unwrap().tracking.len(), 10);
}

/// Reads the next server-sent event, or `None` when nothing arrives within `wait`.
async fn next_event(stream: &mut reqwest::Response, wait: std::time::Duration) -> Option<String> {
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .ok()?
            .ok()??;
        text.push_str(&String::from_utf8_lossy(&chunk));
        if text.contains("event: sync") && text.contains("\n\n") {
            return Some(text);
        }
    }
}

async fn the_live_channel_says_sync_when_the_scope_changes(app: TestApp) {
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let handled = handle(
        &app,
        &csc,
        &accept(&app, &csc, "陈志强", "ordinary", "repair").await,
    )
    .await;
    let second = app.second_instance().await;
    let head: i64 = app.change_seq().await;
    let open = |base: String| {
        let client = app.client.clone();
        let token = csc.clone();
        async move {
            let response = client
                .get(format!("{base}/api/v1/sync/events?cursor={head}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert!(
                response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/event-stream")
            );
            response
        }
    };
    let mut local = open(app.base.clone()).await;
    let mut remote = open(second).await;

    // A change outside the scope says nothing.
    let dev = app.login("dev.01", PASSWORD).await;
    accept(&app, &dev, "王子涵", "ordinary", "other").await;
    assert_eq!(
        next_event(&mut local, std::time::Duration::from_millis(600)).await,
        None
    );

    // The deadline job escalates the office's follow-up: both instances tell the phone.
    let started = std::time::Instant::now();
    let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
    huifang_core::deadlines::escalate_overdue(&app.db, tz, app.now() + chrono::Duration::hours(25))
        .await
        .unwrap();
    let event = next_event(&mut local, std::time::Duration::from_secs(2))
        .await
        .expect("an event on this instance");
    let local_latency = started.elapsed();
    assert!(event.contains("event: sync"), "{event}");
    next_event(&mut remote, std::time::Duration::from_secs(2))
        .await
        .expect("an event on the other instance");
    let remote_latency = started.elapsed();
    eprintln!("live channel: same instance {local_latency:?}, other instance {remote_latency:?}");
    let _ = handled;
}

async fn blob_parts_are_appended_in_order_and_checked(app: TestApp) {
    use sha2::Digest;
    let token = app.login("bsw.csc.01", PASSWORD).await;
    let blob: Vec<u8> = (0..150_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let hash = hex::encode(sha2::Sha256::digest(&blob));
    let part = |offset: usize, end: usize, total: usize, bytes: Vec<u8>| {
        app.client
            .post(app.url(&format!(
                "/api/v1/blobs/{hash}?offset={offset}&total={total}"
            )))
            .bearer_auth(&token)
            .body(bytes[offset..end].to_vec())
            .send()
    };
    let status = || async {
        app.get_json(&token, &format!("/api/v1/blobs/{hash}/upload"))
            .await
    };
    assert_eq!(status().await["received"], 0);

    let first = part(0, 60_000, blob.len(), blob.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::ACCEPTED);
    assert_eq!(first.json::<Value>().await.unwrap()["received"], 60_000);
    // A part that does not start where the server's copy ends is refused and changes nothing.
    let gap = part(100_000, 120_000, blob.len(), blob.clone())
        .await
        .unwrap();
    crate::helpers::assert_error(gap, StatusCode::CONFLICT, "conflict", "60000").await;
    let other_total = part(60_000, 70_000, 200_000, blob.clone()).await.unwrap();
    crate::helpers::assert_error(other_total, StatusCode::CONFLICT, "conflict", "total").await;
    let half = app
        .client
        .post(app.url(&format!("/api/v1/blobs/{hash}?offset=60000")))
        .bearer_auth(&token)
        .body(vec![1u8; 10])
        .send()
        .await
        .unwrap();
    crate::helpers::assert_error(
        half,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "total",
    )
    .await;
    let huge = part(0, 10, huifang_protocol::MAX_BLOB_BYTES + 1, blob.clone())
        .await
        .unwrap();
    crate::helpers::assert_error(
        huge,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "bytes",
    )
    .await;
    let past = part(60_000, 150_000, 100_000, blob.clone()).await;
    crate::helpers::assert_error(
        past.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "past",
    )
    .await;
    assert_eq!(status().await["received"], 60_000);

    // The rest, with the last byte altered on the way: refused, and the upload starts over.
    let mut altered = blob.clone();
    *altered.last_mut().unwrap() ^= 1;
    let second = part(60_000, 120_000, blob.len(), blob.clone())
        .await
        .unwrap();
    assert_eq!(second.status(), StatusCode::ACCEPTED);
    let bad_end = part(120_000, 150_000, blob.len(), altered).await.unwrap();
    crate::helpers::assert_error(
        bad_end,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "SHA-256",
    )
    .await;
    assert_eq!(status().await["received"], 0);
    assert_eq!(app.count("blobs").await, 0);

    for (offset, end) in [(0, 65_536), (65_536, 131_072), (131_072, 150_000)] {
        let answer = part(offset, end, blob.len(), blob.clone()).await.unwrap();
        assert!(answer.status().is_success());
    }
    let done = status().await;
    assert_eq!(done["complete"], true);
    assert_eq!(done["received"], 150_000);
    assert_eq!(app.count("blobs").await, 1);
    assert_eq!(app.count("blob_uploads").await, 0);
    // Sending it again changes nothing.
    let again = part(0, 65_536, blob.len(), blob.clone()).await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap()["complete"], true);
    let bad_name = app.get(&token, "/api/v1/blobs/XYZ/upload").await;
    crate::helpers::assert_error(
        bad_name,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_input",
        "SHA-256",
    )
    .await;
}

/// A TLS front on a random port with a certificate for `localhost`, forwarding each connection
/// to the test server (as the company's reverse proxy does). Returns its port.
async fn tls_front(
    certificate: &rcgen::CertifiedKey<rcgen::KeyPair>,
    server: std::net::SocketAddr,
) -> u16 {
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certificate.signing_key.serialize_der(),
    ));
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![certificate.cert.der().clone()], key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to forward.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut upstream = tokio::net::TcpStream::connect(server).await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    port
}

/// The phone's own transport over HTTPS: it trusts the company's certificate when told to, and
/// refuses a server it cannot verify (the token is never sent to it).
#[tokio::test]
async fn the_phone_syncs_over_https_and_refuses_an_unknown_certificate() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let certificate = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let server: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    let port = tls_front(&certificate, server).await;
    let url = format!("https://localhost:{port}");
    let company_ca = certificate.cert.pem();

    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(
        ClientStore::open(dir.path().join("phone.db"), &StoreKey::generate())
            .unwrap()
            .with_clock(app.clock.clone()),
    );
    let (store2, url2) = (store.clone(), url.clone());
    let (session, report, refused) = tokio::task::spawn_blocking(move || {
        let trusting = HttpTransport::with_root_certificates(&url2, company_ca.as_bytes()).unwrap();
        let wrong = store2
            .log_in(&trusting, "bsw.csc.01", "not the password", "test phone")
            .unwrap_err();
        assert!(
            matches!(&wrong, huifang_client::ClientError::Unauthorized { reason } if reason.contains("wrong username or password")),
            "{wrong:?}"
        );
        assert!(store2.session().unwrap().is_none());
        let session = store2
            .log_in(&trusting, "bsw.csc.01", PASSWORD, "test phone")
            .unwrap();
        let report = store2.sync_now(&trusting).unwrap();
        let public_roots_only = HttpTransport::new(&url2).unwrap();
        let refused = store2.sync_now(&public_roots_only).unwrap_err();
        (session, report, refused)
    })
    .await
    .unwrap();
    assert_eq!(session.server_url, url);
    assert_eq!(report.pages, 1);
    assert!(report.bytes_received > 0);
    assert!(
        matches!(&refused, huifang_client::ClientError::Offline { reason } if reason.contains("certificate")),
        "{refused:?}"
    );
}

/// The client's side of the live channel: a phone holding it open is told of new work and then
/// finds it with a sync.
async fn a_listening_phone_hears_of_new_work(app: TestApp) {
    let phone = Phone::sign_in(&app, "bsw.csc.01").await;
    phone.sync().await;
    let heard = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let listening = {
        let (store, transport, heard) =
            (phone.store.clone(), phone.transport.clone(), heard.clone());
        tokio::task::spawn_blocking(move || {
            store.listen_for_work(&transport.inner, &|| {
                heard.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                false
            })
        })
    };
    // Give the phone time to connect, then new work arrives for its unit.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    let handled = handle(
        &app,
        &csc_token,
        &accept(&app, &csc_token, "陈志强", "ordinary", "repair").await,
    )
    .await;
    tokio::time::timeout(std::time::Duration::from_secs(10), listening)
        .await
        .expect("the phone heard within 10 s")
        .unwrap()
        .unwrap();
    assert_eq!(heard.load(std::sync::atomic::Ordering::SeqCst), 1);
    let report = phone.sync().await;
    assert!(report.received >= 1, "{report:?}");
    let id = handled["follow_up"]["id"].as_str().unwrap();
    assert_eq!(phone.store.task(id).unwrap().status, "open");
}

/// One document's changes in a sync request of `token`'s device; returns the rejection.
async fn refused_change(
    app: &TestApp,
    token: &str,
    id: &str,
    kind: DocumentKind,
    changes: Vec<u8>,
) -> Rejection {
    let request = SyncRequest {
        version: SYNC_VERSION,
        cursor: 0,
        changes: vec![OutgoingChanges {
            document_id: id.to_owned(),
            kind,
            changes,
        }],
        page_size: 1,
        reference_version: None,
        scope_version: None,
        device: None,
    };
    let answer = sync_answer(app, token, &request).await;
    assert!(answer.committed.is_empty(), "{answer:?}");
    assert_eq!(answer.rejections.len(), 1, "{answer:?}");
    assert!(answer.rejections[0].refused);
    answer.rejections[0].clone()
}

fn leb(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn automerge_chunk(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0x85, 0x6f, 0x4a, 0x83, 0, 0, 0, 0, kind];
    leb(&mut bytes, body.len() as u64);
    bytes.extend_from_slice(body);
    bytes
}

async fn hostile_automerge_bytes_are_refused_before_automerge_sees_them(app: TestApp) {
    use std::io::Write;
    // Any signed-in account will do: a consultant.
    let consultant = app.login("bsw.gw.01", PASSWORD).await;
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    let sheet = accept(&app, &csc_token, "陈志强", "ordinary", "repair").await;
    let sheet_id = sheet["id"].as_str().unwrap().to_owned();
    let seq = app.change_seq().await;

    // 1. The decompression bomb: a compressed change chunk of 64 MiB of zeros (64 KB sent).
    let mut deflate = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflate.write_all(&vec![0u8; 64 << 20]).unwrap();
    let bomb = automerge_chunk(2, &deflate.finish().unwrap());
    let refusal = refused_change(
        &app,
        &consultant,
        &"b".repeat(32),
        DocumentKind::Sheet,
        bomb,
    )
    .await;
    assert!(refusal.reason.contains("compressed change"), "{refusal:?}");

    // 2. A run-length bomb: an action column saying "a trillion operations".
    let mut body = vec![0, 16];
    body.extend_from_slice(&[7; 16]);
    body.extend_from_slice(&[1, 1, 0, 0, 0, 1, (4 << 4) | 2]);
    let mut run = Vec::new();
    leb(&mut run, 1 << 40);
    run.push(1);
    leb(&mut body, run.len() as u64);
    body.extend_from_slice(&run);
    let refusal = refused_change(
        &app,
        &consultant,
        &"c".repeat(32),
        DocumentKind::Sheet,
        automerge_chunk(1, &body),
    )
    .await;
    assert!(refusal.reason.contains("operations"), "{refusal:?}");

    // 3. Content the schema does not have, and prose past its limit: refused whole, so the bytes
    //    never enter the stored history that every device in scope downloads.
    let copy = fetch(&app, &csc_token).await;
    let stored = &copy
        .documents
        .iter()
        .find(|d| d.document_id == sheet_id)
        .unwrap()
        .bytes;
    let size_before = stored.len();
    let mut doc = AutoCommit::load(stored)
        .unwrap()
        .with_actor(automerge::ActorId::random());
    let heads = doc.get_heads();
    automerge::transaction::Transactable::put(
        &mut doc,
        automerge::ROOT,
        "junk",
        "x".repeat(100_000),
    )
    .unwrap();
    let refusal = refused_change(
        &app,
        &csc_token,
        &sheet_id,
        DocumentKind::Sheet,
        doc.save_after(&heads),
    )
    .await;
    assert!(refusal.reason.contains("/junk"), "{refusal:?}");
    let mut doc = AutoCommit::load(stored)
        .unwrap()
        .with_actor(automerge::ActorId::random());
    let mut long = Sheet::hydrate_from(&doc).unwrap();
    long.investigation = "查".repeat(200_000);
    long.reconcile_into(&mut doc).unwrap();
    let refusal = refused_change(
        &app,
        &csc_token,
        &sheet_id,
        DocumentKind::Sheet,
        doc.save_after(&heads),
    )
    .await;
    assert!(refusal.reason.contains("bytes"), "{refusal:?}");
    let mut doc = AutoCommit::load(stored)
        .unwrap()
        .with_actor(automerge::ActorId::random());
    let mut long = Sheet::hydrate_from(&doc).unwrap();
    long.investigation = "查".repeat(5_000);
    long.reconcile_into(&mut doc).unwrap();
    let refusal = refused_change(
        &app,
        &csc_token,
        &sheet_id,
        DocumentKind::Sheet,
        doc.save_after(&heads),
    )
    .await;
    assert_eq!(refusal.fields, ["sheet"], "{refusal:?}");
    assert!(refusal.reason.contains("investigation"), "{refusal:?}");

    // 4. A whole saved document instead of changes.
    let refusal = refused_change(
        &app,
        &csc_token,
        &sheet_id,
        DocumentKind::Sheet,
        AutoCommit::load(stored).unwrap().save(),
    )
    .await;
    assert!(refusal.reason.contains("whole document"), "{refusal:?}");

    assert_eq!(app.change_seq().await, seq, "nothing stored");
    let after = fetch(&app, &csc_token).await;
    let now_stored = &after
        .documents
        .iter()
        .find(|d| d.document_id == sheet_id)
        .unwrap()
        .bytes;
    assert_eq!(
        now_stored.len(),
        size_before,
        "the stored sheet did not grow"
    );
}

/// The blob-part decoder under the property harness: random offsets, totals, lengths and bytes
/// (`HUIFANG_FUZZ_CASES` requests, 64 by default) are answered 2xx or a 4xx JSON error, never a
/// 5xx, and a blob exists only whole under its own SHA-256.
async fn random_blob_parts_never_fail_the_server_nor_store_a_partial_blob(app: TestApp) {
    use sha2::Digest;
    let token = app.login("bsw.csc.01", PASSWORD).await;
    let cases: u64 = std::env::var("HUIFANG_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    // SplitMix64: a fixed seed, so a failure replays.
    let mut state = 0x5eed_u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let blob: Vec<u8> = (0..100_000u32).map(|i| (i * 13 % 251) as u8).collect();
    let hash = hex::encode(sha2::Sha256::digest(&blob));
    for _ in 0..cases {
        let pick = next() % 6;
        let total = match next() % 4 {
            0 => blob.len() as u64,
            1 => next() % (3 * 1024 * 1024),
            2 => 0,
            _ => blob.len() as u64 + next() % 10,
        };
        let offset = match next() % 3 {
            0 => 0,
            1 => next() % blob.len() as u64,
            _ => next(),
        };
        let start = (offset as usize).min(blob.len());
        let length = (next() % 70_000) as usize;
        let body: Vec<u8> = match pick {
            0 => blob[start..(start + length).min(blob.len())].to_vec(),
            1 => (0..length).map(|_| next() as u8).collect(),
            _ => blob[start..(start + length).min(blob.len())].to_vec(),
        };
        let query = match next() % 4 {
            0 => String::new(),
            1 => format!("?offset={offset}"),
            2 => format!("?offset={offset}&total={total}&x=1"),
            _ => format!("?offset={offset}&total={total}"),
        };
        let name = if next() % 8 == 0 {
            "zz".to_owned()
        } else {
            hash.clone()
        };
        let response = app
            .client
            .post(app.url(&format!("/api/v1/blobs/{name}{query}")))
            .bearer_auth(&token)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert!(status.as_u16() < 500, "{status} for {name}{query}");
        if !status.is_success() {
            let error: Value = response.json().await.unwrap();
            assert!(error["error"].is_string(), "{error}");
        }
    }
    let stored: Vec<(String, Vec<u8>)> = sqlx::query_as("SELECT sha256, bytes FROM blobs")
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    for (name, bytes) in stored {
        assert_eq!(
            hex::encode(sha2::Sha256::digest(&bytes)),
            name,
            "only whole blobs"
        );
    }
}

/// Item 5 of #15: two devices of the same clerk record different outcomes offline, and an outcome
/// recorded over the API meets one recorded offline. Whatever Automerge's conflict order, the
/// first to reach the server stands, and the later phone is told — not "committed" — who
/// recorded the outcome that stands and when; its own is kept in its refused changes.
async fn d_cb_1_an_outcome_that_did_not_stand_comes_back_to_its_phone(app: TestApp) {
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    for round in 0..4 {
        let handled = handle(
            &app,
            &csc_token,
            &accept(&app, &csc_token, "陈志强", "ordinary", "repair").await,
        )
        .await;
        let id = handled["follow_up"]["id"].as_str().unwrap().to_owned();
        let first = Phone::sign_in(&app, "bsw.csc.01").await;
        let second = Phone::sign_in(&app, "bsw.csc.01").await;
        first.sync().await;
        second.sync().await;
        // Both offline: different outcomes.
        second.store.record_outcome(&id, outcome(2)).unwrap();
        if round % 2 == 0 {
            first.store.record_outcome(&id, outcome(5)).unwrap();
            let report = first.sync().await;
            assert_eq!((report.sent, report.committed), (1, 1), "{report:?}");
        } else {
            app.post_ok(
                &csc_token,
                &format!("/api/v1/followups/{id}/outcome"),
                serde_json::json!({"method": "phone", "ratings": {"handling": 5, "efficiency": 5,
                       "quality": 5, "attitude": 5, "overall": 5}}),
                StatusCode::OK,
            )
            .await;
        }
        let report = second.sync().await;
        assert_eq!(report.committed, 0, "round {round}: {report:?}");
        let notice = report
            .rejected
            .iter()
            .find(|n| n.document_id == id)
            .unwrap_or_else(|| panic!("round {round}: the phone is told: {report:?}"));
        assert!(
            notice.reason.contains("stands") && notice.reason.contains("outcome"),
            "who recorded the outcome that stands, and when: {notice:?}"
        );
        let refused = second.store.refused_changes().unwrap();
        assert!(refused.iter().any(|r| r.document_id == id), "{refused:?}");
        let on_server: FollowUp =
            serde_json::from_value(server_follow_up(&app, &csc_token, &id).await).unwrap();
        assert_eq!(
            on_server.outcome.as_ref().map(|o| o.ratings.overall),
            Some(5),
            "the first outcome stands"
        );
        assert_eq!(second.store.follow_up(&id).unwrap(), on_server);
        assert!(second.store.pending_changes(10).unwrap().is_empty());
    }
}

/// A first sync over many pages: the phone asks for the next page while it stores the last
/// (issue #17), and still ends with every document in scope, each once, at the server's head;
/// the sync after it receives nothing.
#[tokio::test]
async fn a_first_sync_over_many_pages_receives_everything_once() {
    let app = crate::helpers::spawn_app(crate::helpers::Backend::Sqlite)
        .await
        .unwrap();
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    for n in 0..13 {
        let body = serde_json::json!({
            "id": format!("{n:032x}"), "level": "none", "category": "other", "source": "phone",
            "customer_name": format!("分页客户{n}"), "contact_phone": "13800000000", "items": ["x"]
        });
        app.post_ok(&csc, "/api/v1/sheets", body, reqwest::StatusCode::CREATED)
            .await;
    }
    // What the server holds in this staff member's scope, in one page.
    let everything = fetch(&app, &csc).await;
    assert!(!everything.more);
    let on_server = everything.documents.len() as u64;
    assert!(on_server >= 13, "{on_server}");

    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(
        ClientStore::open(dir.path().join("phone.db"), &StoreKey::generate())
            .unwrap()
            .with_clock(app.clock.clone())
            .with_sync_page_size(3),
    );
    let (url, phone) = (app.base.clone(), store.clone());
    let (first, second) = tokio::task::spawn_blocking(move || {
        let transport = HttpTransport::new(&url).unwrap();
        phone
            .log_in(&transport, "bsw.csc.01", PASSWORD, "test phone")
            .unwrap();
        let first = phone.sync_now(&transport).unwrap();
        let second = phone.sync_now(&transport).unwrap();
        (first, second)
    })
    .await
    .unwrap();
    assert!(first.pages >= 5, "{first:?}");
    assert_eq!(u64::from(first.received), on_server, "{first:?}");
    assert_eq!(second.received, 0, "{second:?}");
    assert_eq!(second.pages, 1, "{second:?}");
    for n in 0..13 {
        let sheet = store.sheet(&format!("{n:032x}")).unwrap();
        assert_eq!(sheet.customer_name, format!("分页客户{n}"));
    }
    for document in &everything.documents {
        let stored = store.stored_bytes(&document.document_id).unwrap();
        assert!(stored > 0, "{} is on the phone", document.document_id);
    }
}

/// Issue #17: the server sends each document's listing beside its bytes, and a phone that does
/// not hold the document stores both without reading the bytes. Whichever path wrote the document
/// (the HTTP API, a phone's sync, the deadline job's batch), the listing is the one the bytes'
/// value gives; a phone that took the listings shows exactly what a phone that merged and
/// hydrated the same documents shows, and its copies are whole Automerge documents it can edit.
async fn a_phone_stores_a_new_document_with_the_listing_the_server_sent(app: TestApp) {
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    let mut follow_ups = Vec::new();
    let mut sheets = Vec::new();
    for name in ["陈志强", "林秀英", "黄建华"] {
        let sheet = accept(&app, &csc_token, name, "ordinary", "repair").await;
        sheets.push(sheet["id"].as_str().unwrap().to_owned());
        let handled = handle(&app, &csc_token, &sheet).await;
        follow_ups.push(handled["follow_up"]["id"].as_str().unwrap().to_owned());
    }
    // The first phone holds everything, then completes one follow-up through its sync.
    let first = Phone::sign_in(&app, "bsw.csc.01").await;
    first.sync().await;
    first
        .store
        .record_outcome(&follow_ups[0], outcome(5))
        .unwrap();
    assert_eq!(first.sync().await.committed, 1);
    // The deadline job marks the others overdue in one batch.
    let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
    huifang_core::deadlines::escalate_overdue(&app.db, tz, app.now() + chrono::Duration::hours(25))
        .await
        .unwrap();

    let everything = fetch(&app, &csc_token).await;
    let (mut done, mut overdue) = (0, 0);
    for document in &everything.documents {
        let listing = document
            .listing
            .as_deref()
            .unwrap_or_else(|| panic!("{} is sent with its listing", document.document_id));
        let sent = DocumentListing::decode(listing, document.kind, &document.document_id).unwrap();
        let doc = AutoCommit::load(&document.bytes).unwrap();
        let made = match document.kind {
            DocumentKind::Sheet => Sheet::hydrate_from(&doc).unwrap().listing(),
            DocumentKind::FollowUp => FollowUp::hydrate_from(&doc).unwrap().listing(),
        };
        assert_eq!(
            sent, made,
            "the listing of {} is its bytes'",
            document.document_id
        );
        if let DocumentListing::FollowUp(f) = &sent {
            done += usize::from(f.done_at.is_some());
            overdue += usize::from(f.overdue_at.is_some());
        }
    }
    assert!(done >= 1 && overdue >= 2, "done {done}, overdue {overdue}");

    // The first phone merges what changed and makes its listings itself; a new phone takes
    // the server's. Both show the same.
    first.sync().await;
    let second = Phone::sign_in(&app, "bsw.csc.01").await;
    let report = second.sync().await;
    assert_eq!(report.received as usize, everything.documents.len());
    for id in &follow_ups {
        assert_eq!(
            second.store.task(id).unwrap(),
            first.store.task(id).unwrap()
        );
        assert_eq!(
            second.store.follow_up(id).unwrap(),
            first.store.follow_up(id).unwrap()
        );
    }
    for id in &sheets {
        assert_eq!(
            second.store.sheet_row(id).unwrap(),
            first.store.sheet_row(id).unwrap()
        );
    }
    let now = app.now() + chrono::Duration::hours(25);
    assert_eq!(
        second.store.tasks_due(now).unwrap(),
        first.store.tasks_due(now).unwrap()
    );
    // The copy taken as it came is a whole document: the phone edits it and the server takes it.
    second
        .store
        .record_outcome(&follow_ups[2], outcome(4))
        .unwrap();
    let report = second.sync().await;
    assert_eq!((report.sent, report.committed), (1, 1), "{report:?}");
}

/// #18: an administrator orders the wipe of a lost phone; its next contact with the server — a
/// sync, or the live channel — answers with the order, the phone deletes its store and confirms,
/// and the session list shows when it was told and when it confirmed. Nobody but the phone's
/// owner or an administrator can order it, and a token no wipe was ordered for confirms nothing.
async fn a_phone_reported_lost_erases_itself_at_its_next_contact(app: TestApp) {
    let admin = app.admin_token().await;
    let syncing = Phone::sign_in(&app, "bsw.csc.01").await;
    let listening = Phone::sign_in(&app, "bsw.csc.01").await;
    syncing.sync().await;
    listening.sync().await;
    let session_of = |token: String| {
        let app = &app;
        async move {
            app.get_json(&token, "/api/v1/auth/me").await["session_id"]
                .as_i64()
                .unwrap()
        }
    };
    let (lost, also_lost) = (
        session_of(syncing.token.clone()).await,
        session_of(listening.token.clone()).await,
    );
    let staff_id = app.get_json(&syncing.token, "/api/v1/auth/me").await["staff"]["id"]
        .as_i64()
        .unwrap();

    let other = app.login("bsw.gw.01", PASSWORD).await;
    let refused = app
        .post(
            &other,
            &format!("/api/v1/auth/sessions/{lost}/wipe"),
            json!({}),
        )
        .await;
    assert_error(refused, StatusCode::NOT_FOUND, "not_found", "not yours").await;
    let itself = app
        .post(
            &syncing.token,
            &format!("/api/v1/auth/sessions/{lost}/wipe"),
            json!({}),
        )
        .await;
    assert_error(itself, StatusCode::CONFLICT, "conflict", "sign out").await;
    let stranger = app
        .client
        .post(app.url(huifang_protocol::WIPE_CONFIRMATION_PATH))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_error(
        stranger,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "no erasure",
    )
    .await;

    for session in [lost, also_lost] {
        let ordered = app
            .post(
                &admin,
                &format!("/api/v1/auth/sessions/{session}/wipe"),
                json!({}),
            )
            .await;
        assert_eq!(ordered.status(), StatusCode::OK);
        let ordered: Value = ordered.json().await.unwrap();
        assert!(ordered["wipe_requested_at"].is_string(), "{ordered}");
        assert!(ordered["revoked_at"].is_string(), "{ordered}");
        assert!(ordered["wipe_confirmed_at"].is_null(), "{ordered}");
    }
    let order = app.get(&syncing.token, "/api/v1/auth/me").await;
    assert_eq!(order.status().as_u16(), huifang_protocol::WIPE_STATUS);
    assert_error(order, StatusCode::GONE, "device_wipe", "reported lost").await;

    let on_disk = |phone: &Phone| {
        let path = phone.store.path().to_owned();
        ["", "-wal", "-shm"].into_iter().any(|suffix| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            std::path::Path::new(&name).exists()
        })
    };
    assert!(on_disk(&syncing) && on_disk(&listening));
    let (store, transport) = (syncing.store.clone(), syncing.transport.clone());
    let synced = tokio::task::spawn_blocking(move || store.sync_now(transport.as_ref()))
        .await
        .unwrap();
    assert_eq!(synced.err(), Some(huifang_client::ClientError::Wiped));
    let (store, transport) = (listening.store.clone(), listening.transport.clone());
    let listened =
        tokio::task::spawn_blocking(move || store.listen_for_work(&transport.inner, &|| true))
            .await
            .unwrap();
    assert_eq!(listened.err(), Some(huifang_client::ClientError::Wiped));
    for phone in [&syncing, &listening] {
        assert!(!on_disk(phone), "the store's files are deleted");
        assert_eq!(
            phone.store.session().err(),
            Some(huifang_client::ClientError::Wiped),
            "and the store answers nothing more"
        );
    }

    let sessions = app
        .get_json(
            &admin,
            &format!("/api/v1/auth/sessions?staff_id={staff_id}"),
        )
        .await;
    for session in [lost, also_lost] {
        let shown = sessions
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == session)
            .unwrap();
        assert!(shown["wipe_told_at"].is_string(), "{shown}");
        assert!(shown["wipe_confirmed_at"].is_string(), "{shown}");
    }
    // Confirmed, the token is simply refused: no wipe order for whoever finds it later.
    assert_eq!(
        app.get(&syncing.token, "/api/v1/auth/me").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

/// #18: every sync carries the phone's state; head office and the unit's head see per phone when
/// it last synced and what it holds unsynced, and an open follow-up done on a phone that has not
/// synced it shows as done there (in time or not). A server that requires a newer app refuses
/// an older one's sync before taking anything: the phone keeps its work and is told to update,
/// and its supervisor still sees what waits on it.
async fn phones_report_what_they_hold_and_an_old_app_is_told_to_update(app: TestApp) {
    let csc_token = app.login("bsw.csc.01", PASSWORD).await;
    let repair = handle(
        &app,
        &csc_token,
        &accept(&app, &csc_token, "陈志强", "ordinary", "repair").await,
    )
    .await;
    let follow_up = repair["follow_up"]["id"].as_str().unwrap().to_owned();
    let mut phone = Phone::sign_in(&app, "bsw.csc.01").await;
    phone.sync().await;
    let admin = app.admin_token().await;
    let devices = app.get_json(&admin, "/api/v1/devices").await;
    let seen = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["username"] == "bsw.csc.01" && d["device_name"] == "test phone")
        .unwrap()
        .clone();
    assert_eq!(seen["app_version"], env!("CARGO_PKG_VERSION"), "{seen}");
    assert_eq!(seen["pending_changes"], 0, "{seen}");
    assert!(seen["reported_at"].is_string(), "{seen}");

    // Done offline; then the company requires an app newer than this one.
    phone.store.record_outcome(&follow_up, outcome(5)).unwrap();
    let strict = app
        .instance_with(huifang_server::Config {
            min_app_version: Some(vec![99, 0]),
            ..app.config.clone()
        })
        .await;
    phone.use_server(&strict).await;
    let (store, transport) = (phone.store.clone(), phone.transport.clone());
    let refused = tokio::task::spawn_blocking(move || store.sync_now(transport.as_ref()))
        .await
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(&refused, huifang_client::ClientError::UpdateRequired { reason } if reason.contains("99.0")),
        "{refused}"
    );
    assert_eq!(
        phone.store.pending_changes(10).unwrap().len(),
        1,
        "nothing lost"
    );
    let on_server = app
        .get_json(&csc_token, &format!("/api/v1/followups/{follow_up}"))
        .await;
    assert_eq!(on_server["follow_up"]["status"], "open");
    let on_phone = &on_server["done_on_phones"];
    assert_eq!(on_phone.as_array().unwrap().len(), 1, "{on_server}");
    assert_eq!(on_phone[0]["device_name"], "test phone");
    assert_eq!(on_phone[0]["in_time"], true);
    // The dashboard's page of the follow-up says so too, for the unit head.
    let cookie = crate::dashboard::session_cookie(
        &crate::dashboard::sign_in(&app, "bsw.office.head", PASSWORD, "/app").await,
    );
    let page = crate::dashboard::page(&app, &cookie, &format!("/app/follow-ups/{follow_up}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("已在手机上完成") && page.contains("test phone") && page.contains("在期限内"),
        "{page}"
    );

    // The unit's head sees the phone and what waits on it; another unit's staff member does not.
    let head = app.login("bsw.office.head", PASSWORD).await;
    let theirs = app.get_json(&head, "/api/v1/devices").await;
    let waiting = theirs
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["session_id"] == seen["session_id"])
        .unwrap();
    assert_eq!(waiting["pending_changes"], 1, "{waiting}");
    assert_eq!(waiting["done_on_phone"], 1, "{waiting}");
    assert!(waiting["oldest_pending_at"].is_string(), "{waiting}");
    let other = app.login("bsw.gw.01", PASSWORD).await;
    let own = app.get_json(&other, "/api/v1/devices").await;
    assert!(
        own.as_array()
            .unwrap()
            .iter()
            .all(|d| d["username"] == "bsw.gw.01"),
        "{own}"
    );

    // Back on a server that takes this app: the outcome arrives and is no longer "on the phone".
    phone.use_server(&app.base).await;
    assert_eq!(phone.sync().await.committed, 1);
    let on_server = app
        .get_json(&csc_token, &format!("/api/v1/followups/{follow_up}"))
        .await;
    assert_eq!(on_server["follow_up"]["status"], "completed");
    assert_eq!(on_server["done_on_phones"], json!([]));
    let devices = app.get_json(&admin, "/api/v1/devices").await;
    let synced = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["session_id"] == seen["session_id"])
        .unwrap();
    assert_eq!(
        synced["pending_changes"], 0,
        "what this sync took is not pending: {synced}"
    );
    assert!(synced["oldest_pending_at"].is_null(), "{synced}");
    assert_eq!(
        synced["done_on_phone"], 0,
        "nor listed as done on the phone: {synced}"
    );
    assert!(synced["last_synced_at"].is_string(), "{synced}");
}
