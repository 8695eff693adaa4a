//! The phone's store with no server: session, offline edits, screens, signatures, bad input,
//! threads, merging with the server's changes.

#![allow(clippy::unwrap_used)]

mod common;

use automerge::{ActorId, AutoCommit};
use chrono::{TimeZone, Utc};
use common::*;
use huifang_client::{
    ClientError, ClientStore, NewSheet, OutcomeInput, Session, SignatureInput, Stroke, StrokePoint,
};
use huifang_protocol::*;

fn outcome(overall: u8) -> OutcomeInput {
    OutcomeInput {
        method: FollowUpMethod::HomeVisit,
        ratings: ratings(overall),
        opinions: "师傅很细心".into(),
        done_at: None,
    }
}

fn unsynced(store: &ClientStore) -> usize {
    store.pending_changes(1000).unwrap().len()
}

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 2, 0, 0).unwrap() // 10:00 in Shanghai
}

#[test]
fn a_sheet_accepted_on_the_doorstep_is_stored_queued_and_findable() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let sheet = store
        .accept_sheet(NewSheet {
            level: ComplaintLevel::Ordinary,
            category: SheetCategory::Repair,
            source: InformationSource::DuringFollowUp,
            household_id: None,
            customer_id: Some(2),
            customer_name: None,
            contact_phone: None,
            customer_address: None,
            items: vec!["阳台漏水".into(), "门铃不响".into()],
        })
        .unwrap();
    assert_eq!(
        sheet.customer_name, "黄建华",
        "filled from the reference rows"
    );
    assert_eq!(sheet.contact_phone, "13900138003");
    assert_eq!(sheet.household_id, Some(2));
    assert_eq!(sheet.number, None, "the server numbers it when it arrives");
    assert_eq!(store.sheet(&sheet.id).unwrap(), sheet);
    assert_eq!(unsynced(&store), 1);
    let pending = &store.pending_changes(10).unwrap()[0];
    assert_eq!(pending.document_id, sheet.id);
    let (_, on_server) = Sheet::load(&pending.changes).unwrap();
    assert_eq!(
        on_server, sheet,
        "the outbox carries the whole new document"
    );

    assert_eq!(store.search("阳台").unwrap().sheets.len(), 1);
    assert_eq!(
        store.search("13900138003").unwrap().households[0].household_id,
        2
    );
    assert_eq!(store.household_history(2).unwrap().sheets[0].id, sheet.id);

    let noted = store
        .add_tracking_note(&sheet.id, "已通知工程部".into())
        .unwrap();
    assert_eq!(noted.tracking[0].by_staff_id, ME);
    assert_eq!(unsynced(&store), 2);

    let bad = store.accept_sheet(NewSheet {
        level: ComplaintLevel::None,
        category: SheetCategory::Other,
        source: InformationSource::Phone,
        household_id: None,
        customer_id: None,
        customer_name: Some("路人".into()),
        contact_phone: Some("12345".into()),
        customer_address: None,
        items: vec!["x".into()],
    });
    assert!(
        matches!(bad, Err(ClientError::InvalidInput { ref reason }) if reason.contains("contact_phone")),
        "{bad:?}"
    );
    assert!(matches!(
        store.household_history(99),
        Err(ClientError::NotFound { .. })
    ));
    assert_eq!(unsynced(&store), 2, "refused edits queue nothing");
}

#[test]
fn d_cb_1_outcomes_follow_the_same_rules_as_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mine = deliver(
        &store,
        1,
        1,
        SheetCategory::Repair,
        "2026-11-28T05:00:00.000Z",
        Some(ME),
    );
    let theirs = deliver(
        &store,
        2,
        2,
        SheetCategory::Repair,
        "2026-11-28T05:00:00.000Z",
        Some(COLLEAGUE),
    );
    assert_eq!(
        unsynced(&store),
        0,
        "documents from the server are not queued back"
    );

    for bad in [0, 6] {
        let err = store.record_outcome(&mine.id, outcome(bad)).unwrap_err();
        assert!(
            matches!(&err, ClientError::InvalidInput { reason } if reason.contains("ratings are 1 to 5")),
            "{err}"
        );
    }
    let err = store.record_outcome(&theirs.id, outcome(5)).unwrap_err();
    assert!(
        matches!(&err, ClientError::PermissionDenied { reason } if reason.contains("only the assignee")),
        "{err}"
    );
    let err = store.record_outcome(&id(999), outcome(5)).unwrap_err();
    assert!(matches!(err, ClientError::NotFound { .. }), "{err}");
    let future = OutcomeInput {
        done_at: Some("2099-01-01T00:00:00Z".into()),
        ..outcome(5)
    };
    assert!(matches!(
        store.record_outcome(&mine.id, future),
        Err(ClientError::InvalidInput { .. })
    ));
    let unsigned = OutcomeInput {
        method: FollowUpMethod::OnSiteSignature,
        ..outcome(5)
    };
    assert!(matches!(
        store.record_outcome(&mine.id, unsigned),
        Err(ClientError::InvalidInput { .. })
    ));
    assert_eq!(unsynced(&store), 0);

    let done = store.record_outcome(&mine.id, outcome(4)).unwrap();
    assert_eq!(done.status, FollowUpStatus::Completed);
    assert_eq!(done.outcome.as_ref().unwrap().recorded_by, ME);
    assert_eq!(store.follow_up(&mine.id).unwrap(), done);
    assert_eq!(unsynced(&store), 1);
    let again = store.record_outcome(&mine.id, outcome(1)).unwrap_err();
    assert!(matches!(again, ClientError::Conflict { .. }), "{again}");
}

#[test]
fn d_cb_3_three_unreachable_attempts_and_a_cancelled_follow_up() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let follow_up = deliver(
        &store,
        1,
        1,
        SheetCategory::Repair,
        "2026-11-28T05:00:00.000Z",
        Some(ME),
    );
    for attempt in 1..=3 {
        let after = store
            .record_unreachable(
                &follow_up.id,
                FollowUpMethod::Phone,
                format!("第{attempt}次"),
            )
            .unwrap();
        assert_eq!(after.unreachable_attempts.len(), attempt);
    }
    assert_eq!(
        store.follow_up(&follow_up.id).unwrap().status,
        FollowUpStatus::Unreachable
    );

    let mut cancelled = common::follow_up(2, 2, "2026-11-28T05:00:00.000Z", Some(ME));
    cancelled.status = FollowUpStatus::Cancelled;
    cancelled.cancel_reason = Some("客户已搬离".into());
    store
        .receive_document(
            &cancelled.id,
            DocumentKind::FollowUp,
            &server_bytes(&cancelled),
        )
        .unwrap();
    let err = store.record_outcome(&cancelled.id, outcome(5)).unwrap_err();
    assert!(
        matches!(&err, ClientError::Conflict { reason } if reason.contains("cancelled")),
        "{err}"
    );
}

#[test]
fn screens_list_todays_tasks_by_due_time_and_by_building() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    deliver(
        &store,
        1,
        3,
        SheetCategory::Repair,
        "2026-11-28T09:00:00.000Z",
        Some(ME),
    ); // 17:00 today
    deliver(
        &store,
        2,
        1,
        SheetCategory::Repair,
        "2026-11-27T09:00:00.000Z",
        Some(ME),
    ); // yesterday: overdue
    deliver(
        &store,
        3,
        2,
        SheetCategory::Repair,
        "2026-11-29T09:00:00.000Z",
        Some(ME),
    ); // tomorrow
    deliver(
        &store,
        4,
        2,
        SheetCategory::Repair,
        "2026-11-28T03:00:00.000Z",
        None,
    ); // the unit's, today
    deliver(
        &store,
        5,
        1,
        SheetCategory::Repair,
        "2026-11-28T03:00:00.000Z",
        Some(COLLEAGUE),
    ); // not mine

    let today = store.tasks_due(now()).unwrap();
    let order: Vec<&str> = today.iter().map(|t| t.customer_name.as_str()).collect();
    assert_eq!(order, ["客户2", "客户4", "客户1"]);
    assert!(today[0].overdue && !today[1].overdue);
    assert_eq!(today[0].address.as_deref(), Some("碧水湾1栋101"));
    assert_eq!(today[0].sheet_number.as_deref(), Some("HF-2026-000002"));
    assert_eq!(today[0].rule, "R-INF-8");
    // People read deadlines in the company's time zone; the wire keeps UTC.
    assert_eq!(today[1].due_at, "2026-11-28T03:00:00.000Z");
    assert_eq!(today[1].due_local, "2026-11-28 11:00");

    let rounds = store.tasks_by_building(now()).unwrap();
    let plan: Vec<(String, Vec<String>)> = rounds
        .iter()
        .map(|b| {
            (
                b.building_name.clone(),
                b.tasks.iter().map(|t| t.room.clone().unwrap()).collect(),
            )
        })
        .collect();
    assert_eq!(
        plan,
        [
            ("1栋".into(), vec!["101".into(), "102".into(), "102".into()]),
            ("2栋".into(), vec!["101".into()])
        ]
    );

    let badges = store.badge_counts(now()).unwrap();
    assert_eq!(
        (badges.due_today, badges.overdue, badges.unsynced),
        (3, 1, 0)
    );

    let history = store.household_history(1).unwrap();
    assert_eq!(
        history.customers,
        [huifang_client::CustomerContact {
            name: "陈志强".to_owned(),
            phone: "13800138001".to_owned()
        }]
    );
    assert_eq!(
        history.follow_ups.len(),
        2,
        "the follow-up file has every follow-up of the household"
    );
    assert_eq!(history.sheets.len(), 2);
}

fn strokes() -> SignatureInput {
    let line = |y: f32, t0: u64| Stroke {
        points: (0..20)
            .map(|i| StrokePoint {
                x: 10.0 + i as f32 * 10.0,
                y,
                t_ms: t0 + i * 16,
                pressure: Some(0.5),
            })
            .collect(),
    };
    SignatureInput {
        strokes: vec![line(40.0, 0), line(60.0, 400)],
        width: 300,
        height: 100,
        signer_name: "陈志强".into(),
    }
}

#[test]
fn d_sig_1_r_inf_8_a_signature_completes_a_repair_and_shows_later_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut server = AutoCommit::new().with_actor(ActorId::from(b"server".to_vec()));
    let mut sheet = common::sheet(1, 1, SheetCategory::Repair);
    sheet.reconcile_into(&mut server).unwrap();
    store
        .receive_document(&sheet.id, DocumentKind::Sheet, &server.save())
        .unwrap();
    let repair = common::follow_up(1, 1, "2026-11-28T09:00:00.000Z", Some(ME));
    store
        .receive_document(&repair.id, DocumentKind::FollowUp, &server_bytes(&repair))
        .unwrap();

    let mut bad = strokes();
    bad.strokes[0].points[3].x = 999.0;
    assert!(matches!(
        store.complete_with_signature(&repair.id, bad, ratings(5), String::new()),
        Err(ClientError::InvalidInput { .. })
    ));
    let empty = SignatureInput {
        strokes: vec![],
        ..strokes()
    };
    assert!(matches!(
        store.complete_with_signature(&repair.id, empty, ratings(5), String::new()),
        Err(ClientError::InvalidInput { .. })
    ));
    assert_eq!(unsynced(&store), 0);

    let done = store
        .complete_with_signature(&repair.id, strokes(), ratings(5), "修好了".into())
        .unwrap();
    assert_eq!(done.status, FollowUpStatus::Completed);
    assert_eq!(
        done.outcome.as_ref().unwrap().method,
        FollowUpMethod::OnSiteSignature
    );
    let signature = done.signature.unwrap();
    assert_eq!(signature.signer_name, "陈志强");
    assert_eq!(signature.blob_sha256.len(), 64);
    assert!(store.verify_signature(&repair.id).unwrap().intact);

    let svg = store.signature_svg(&signature.blob_sha256).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.matches("<path").count() == 2,
        "{svg}"
    );
    let png = store.signature_png(&signature.blob_sha256, 600).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (600, 200));
    assert!(matches!(
        store.signature_png(&"0".repeat(64), 600),
        Err(ClientError::NotFound { .. })
    ));

    // Someone changes the handling result after the customer signed: the signature shows it.
    sheet.result = "已更换水管并赔偿".into();
    sheet.reconcile_into(&mut server).unwrap();
    store
        .receive_document(&sheet.id, DocumentKind::Sheet, &server.save())
        .unwrap();
    let check = store.verify_signature(&repair.id).unwrap();
    assert!(!check.intact);
    assert!(check.reason.contains("changed after the customer signed"));

    // Not a repair: a signature does not complete it.
    let other = deliver(
        &store,
        2,
        2,
        SheetCategory::Mortgage,
        "2026-11-28T09:00:00.000Z",
        Some(ME),
    );
    let err = store
        .complete_with_signature(&other.id, strokes(), ratings(5), String::new())
        .unwrap_err();
    assert!(
        matches!(&err, ClientError::InvalidInput { reason } if reason.contains("R-INF-8")),
        "{err}"
    );
}

#[test]
fn the_phones_and_the_servers_changes_merge() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let mut server = AutoCommit::new().with_actor(ActorId::from(b"server".to_vec()));
    let mut follow_up = common::follow_up(1, 1, "2026-11-28T09:00:00.000Z", Some(ME));
    follow_up.reconcile_into(&mut server).unwrap();
    store
        .receive_document(&follow_up.id, DocumentKind::FollowUp, &server.save())
        .unwrap();

    // Offline, the phone records the outcome; meanwhile the server marks it overdue.
    store.record_outcome(&follow_up.id, outcome(5)).unwrap();
    follow_up.overdue_at = Some("2026-11-28T09:00:00.000Z".into());
    follow_up.reconcile_into(&mut server).unwrap();
    // The server receives the phone's changes, and the phone the server's.
    for change in store.pending_changes(10).unwrap() {
        server.load_incremental(&change.changes).unwrap();
    }
    store
        .receive_document(&follow_up.id, DocumentKind::FollowUp, &server.save())
        .unwrap();
    let on_phone = store.follow_up(&follow_up.id).unwrap();
    let on_server = FollowUp::hydrate_from(&server).unwrap();
    assert_eq!(on_phone, on_server, "replicas converge");
    assert_eq!(on_phone.status, FollowUpStatus::Completed);
    assert!(on_phone.overdue_at.is_some());
}

#[test]
fn sign_out_keeps_unsynced_work_unless_told_and_then_wipes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let follow_up = deliver(
        &store,
        1,
        1,
        SheetCategory::Repair,
        "2026-11-28T09:00:00.000Z",
        Some(ME),
    );
    store.record_outcome(&follow_up.id, outcome(5)).unwrap();
    let err = store.sign_out(false).unwrap_err();
    assert_eq!(err, ClientError::UnsyncedChanges { count: 1 });
    assert!(matches!(
        store.sign_in(session(COLLEAGUE)),
        Err(ClientError::UnsyncedChanges { .. })
    ));
    let pending: Vec<i64> = store
        .pending_changes(10)
        .unwrap()
        .iter()
        .map(|p| p.outbox_id)
        .collect();
    store.acknowledge(&pending).unwrap();
    store.sign_out(false).unwrap();
    assert_eq!(store.session().unwrap(), None);
    assert!(matches!(
        store.follow_up(&follow_up.id),
        Err(ClientError::NotFound { .. })
    ));
    assert!(
        store.search("陈").unwrap().households.is_empty(),
        "reference rows are gone too"
    );
    assert!(matches!(
        store.tasks_due(now()),
        Err(ClientError::NotSignedIn)
    ));

    // The token survives a restart and is never printed.
    store.sign_in(session(ME)).unwrap();
    drop(store);
    let reopened = common::open(&dir);
    let kept = reopened.session().unwrap().unwrap();
    assert_eq!(kept.token, "hfs_secret_token_of_10");
    assert!(!format!("{kept:?}").contains("secret"));
    let bad = Session {
        token: " ".into(),
        ..session(ME)
    };
    assert!(matches!(
        reopened.sign_in(bad),
        Err(ClientError::InvalidInput { .. })
    ));
}

#[test]
fn damaged_documents_and_garbage_from_the_server_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let follow_up = deliver(
        &store,
        1,
        1,
        SheetCategory::Repair,
        "2026-11-28T09:00:00.000Z",
        Some(ME),
    );
    let err = store
        .receive_document(&id(77), DocumentKind::Sheet, b"garbage")
        .unwrap_err();
    assert!(matches!(err, ClientError::InvalidInput { .. }), "{err}");
    assert!(matches!(
        store.receive_document("not-an-id", DocumentKind::Sheet, b""),
        Err(ClientError::InvalidInput { .. })
    ));
    let err = store
        .receive_document(
            &follow_up.id,
            DocumentKind::Sheet,
            &server_bytes(&common::sheet(9, 1, SheetCategory::Repair)),
        )
        .unwrap_err();
    assert!(
        matches!(err, ClientError::InvalidInput { .. }),
        "a follow-up cannot become a sheet: {err}"
    );

    let db = common::raw(&dir.path().join("phone.db"));
    db.execute(
        "UPDATE documents SET snapshot = x'00010203' WHERE id = ?1",
        [&follow_up.id],
    )
    .unwrap();
    let err = store.follow_up(&follow_up.id).unwrap_err();
    assert!(matches!(err, ClientError::Corrupt { .. }), "{err}");
    let err = store.record_outcome(&follow_up.id, outcome(5)).unwrap_err();
    assert!(matches!(err, ClientError::Corrupt { .. }), "{err}");
}

#[test]
fn the_ui_thread_reads_while_a_sync_thread_writes() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(store(&dir));
    let ids: Vec<String> = (1..=40)
        .map(|n| {
            deliver(
                &store,
                n,
                1 + i64::from(n % 3),
                SheetCategory::Repair,
                "2026-11-28T09:00:00.000Z",
                Some(ME),
            )
            .id
        })
        .collect();
    let writer = {
        let store = store.clone();

        std::thread::spawn(move || {
            for id in &ids {
                store.record_outcome(id, outcome(4)).unwrap();
            }
        })
    };
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let tasks = store.tasks_due(now()).unwrap();
                    assert!(tasks.len() <= 40);
                    store.badge_counts(now()).unwrap();
                }
            })
        })
        .collect();
    writer.join().unwrap();
    for reader in readers {
        reader.join().unwrap();
    }
    assert!(store.tasks_due(now()).unwrap().is_empty());
    assert_eq!(unsynced(&store), 40);
}

#[test]
fn follow_up_documents_stay_small_through_many_edits() {
    let dir = tempfile::tempdir().unwrap();
    let store = store(&dir);
    let follow_up = deliver(
        &store,
        1,
        1,
        SheetCategory::Repair,
        "2026-11-28T09:00:00.000Z",
        Some(ME),
    );
    store
        .record_unreachable(&follow_up.id, FollowUpMethod::Phone, "未接".into())
        .unwrap();
    store
        .record_unreachable(&follow_up.id, FollowUpMethod::Phone, "关机".into())
        .unwrap();
    store.record_outcome(&follow_up.id, outcome(5)).unwrap();
    let size = store.stored_bytes(&follow_up.id).unwrap();
    assert!(size <= 4096, "a follow-up takes {size} bytes");
    let sheet = store
        .accept_sheet(NewSheet {
            level: ComplaintLevel::Ordinary,
            category: SheetCategory::Repair,
            source: InformationSource::HomeVisit,
            household_id: Some(1),
            customer_id: None,
            customer_name: None,
            contact_phone: None,
            customer_address: None,
            items: vec!["x".into()],
        })
        .unwrap();
    for n in 0..60 {
        store
            .add_tracking_note(&sheet.id, format!("第{n}次跟进"))
            .unwrap();
    }
    assert_eq!(
        store.sheet(&sheet.id).unwrap().tracking.len(),
        60,
        "compaction loses nothing"
    );
}

/// The client-core issue's "done when", in one run with no server: sign in, come back with the
/// saved token, list the day's tasks, record outcomes, take a signature.
#[test]
fn a_field_day_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = store(&dir);
        deliver(
            &store,
            1,
            1,
            SheetCategory::Repair,
            "2026-11-28T03:00:00.000Z",
            Some(ME),
        );
        deliver(
            &store,
            2,
            2,
            SheetCategory::PropertyService,
            "2026-11-28T05:00:00.000Z",
            Some(ME),
        );
        deliver(
            &store,
            3,
            3,
            SheetCategory::Repair,
            "2026-11-28T07:00:00.000Z",
            Some(ME),
        );
    }
    // The app restarts in a basement: no network, the saved session is still there.
    let store = common::open(&dir);
    assert_eq!(store.session().unwrap().unwrap().staff_id, ME);
    let tasks = store.tasks_due(now()).unwrap();
    assert_eq!(tasks.len(), 3);
    store
        .record_outcome(&tasks[1].follow_up_id, outcome(5))
        .unwrap();
    store
        .record_unreachable(
            &tasks[2].follow_up_id,
            FollowUpMethod::HomeVisit,
            "家中无人".into(),
        )
        .unwrap();
    let signed = store
        .complete_with_signature(&tasks[0].follow_up_id, strokes(), ratings(4), String::new())
        .unwrap();
    assert!(store.verify_signature(&signed.id).unwrap().intact);
    let left = store.tasks_due(now()).unwrap();
    assert_eq!(left.len(), 1, "one customer still to reach");
    assert_eq!(
        store.badge_counts(now()).unwrap().unsynced,
        3,
        "three changes wait for a signal"
    );
}
