//! Documents: Automerge round trips and merges, versions, validation and write permissions.

#![allow(clippy::unwrap_used)]

use automerge::{AutoCommit, ReadDoc, transaction::Transactable};
use huifang_protocol::*;

const ID: &str = "0123456789abcdef0123456789abcdef";
const SHEET: &str = "fedcba9876543210fedcba9876543210";

fn item(n: u8, text: &str) -> ReportedItem {
    ReportedItem {
        id: format!("{n:032x}"),
        text: text.into(),
    }
}

fn sheet() -> Sheet {
    Sheet {
        schema_version: SCHEMA_VERSION,
        id: SHEET.into(),
        number: None,
        accepted_at: "2026-11-28T01:00:00.000Z".into(),
        level: ComplaintLevel::Ordinary,
        category: SheetCategory::Repair,
        source: InformationSource::Phone,
        household_id: Some(7),
        customer_id: Some(9),
        customer_name: "陈志强".into(),
        customer_address: "碧水湾1栋101".into(),
        contact_phone: "13800138001".into(),
        accepted_by: 10,
        accepting_unit_id: 4,
        handling_unit_id: None,
        items: vec![item(1, "厨房水管漏水")],
        investigation: String::new(),
        tracking: Vec::new(),
        result: String::new(),
        handled_at: None,
        status: SheetStatus::Accepted,
        invalid_reason: None,
        reopened_from: None,
        created_at: "2026-11-28T01:00:00.000Z".into(),
        photos: Vec::new(),
    }
}

fn follow_up() -> FollowUp {
    FollowUp {
        schema_version: SCHEMA_VERSION,
        id: ID.into(),
        kind: FollowUpKind::Information,
        sheet_id: Some(SHEET.into()),
        household_id: Some(7),
        customer_id: Some(9),
        customer_name: "陈志强".into(),
        contact_phone: "13800138001".into(),
        assignee_unit_id: 4,
        assignee_staff_id: Some(10),
        rule: AssignmentRule::AcceptorFollowsUp,
        due_at: "2026-11-29T02:00:00.000Z".into(),
        status: FollowUpStatus::Open,
        outcome: None,
        unreachable_attempts: Vec::new(),
        signature: None,
        cancel_reason: None,
        overdue_at: None,
        escalations: Vec::new(),
        reassignments: Vec::new(),
        created_at: "2026-11-28T02:00:00.000Z".into(),
        survey_form_id: None,
        survey_response: None,
        photos: Vec::new(),
    }
}

fn ratings(all: u8) -> Ratings {
    Ratings {
        handling: all,
        efficiency: all,
        quality: all,
        attitude: all,
        overall: all,
    }
}

fn outcome(overall: u8) -> Outcome {
    Outcome {
        method: FollowUpMethod::Phone,
        done_at: "2026-11-28T05:00:00.000Z".into(),
        ratings: Ratings {
            overall,
            ..ratings(4)
        },
        opinions: "师傅很准时".into(),
        recorded_by: 10,
    }
}

fn staff(id: i64, role: Role, units: &[i64]) -> Actor {
    Actor::Staff(StaffActor {
        staff_id: id,
        role,
        units: units.to_vec(),
    })
}

#[test]
fn documents_round_trip_through_automerge_bytes() {
    let mut doc = AutoCommit::new();
    sheet().reconcile_into(&mut doc).unwrap();
    let (_, loaded) = Sheet::load(&doc.save()).unwrap();
    assert_eq!(loaded, sheet());
    // Enums are stored as their stable codes, readable by any Automerge implementation.
    let (value, _) = doc.get(automerge::ROOT, "category").unwrap().unwrap();
    assert_eq!(value.as_str(), Some("repair"));

    let mut doc = AutoCommit::new();
    let mut done = follow_up();
    done.status = FollowUpStatus::Completed;
    done.outcome = Some(outcome(5));
    done.reconcile_into(&mut doc).unwrap();
    assert_eq!(FollowUp::load(&doc.save()).unwrap().1, done);
}

#[test]
fn concurrent_edits_on_two_phones_merge_without_loss() {
    let mut server = AutoCommit::new();
    sheet().reconcile_into(&mut server).unwrap();
    let mut phone_a = server.fork().with_actor(automerge::ActorId::random());
    let mut phone_b = server.fork().with_actor(automerge::ActorId::random());

    let mut a = Sheet::hydrate_from(&phone_a).unwrap();
    a.items.push(item(2, "卧室墙面渗水"));
    a.investigation = "已派工程部查看".into();
    a.reconcile_into(&mut phone_a).unwrap();

    let mut b = Sheet::hydrate_from(&phone_b).unwrap();
    b.items.push(item(3, "门铃不响"));
    b.level = ComplaintLevel::Significant;
    b.reconcile_into(&mut phone_b).unwrap();

    server.merge(&mut phone_a).unwrap();
    server.merge(&mut phone_b).unwrap();
    phone_a.merge(&mut server).unwrap();
    let merged = Sheet::hydrate_from(&server).unwrap();
    assert_eq!(
        merged,
        Sheet::hydrate_from(&phone_a).unwrap(),
        "replicas converge"
    );
    let texts: Vec<&str> = merged.items.iter().map(|i| i.text.as_str()).collect();
    assert_eq!(
        texts.len(),
        3,
        "both concurrently added items are kept: {texts:?}"
    );
    assert!(texts.contains(&"卧室墙面渗水") && texts.contains(&"门铃不响"));
    assert_eq!(merged.investigation, "已派工程部查看");
    assert_eq!(merged.level, ComplaintLevel::Significant);
}

#[test]
fn newer_schema_versions_and_garbage_are_refused_with_a_reason() {
    let mut doc = AutoCommit::new();
    sheet().reconcile_into(&mut doc).unwrap();
    doc.put(automerge::ROOT, "schema_version", SCHEMA_VERSION + 1)
        .unwrap();
    let err = Sheet::load(&doc.save()).unwrap_err();
    assert!(matches!(err, DocumentError::TooNew { .. }), "{err}");
    assert!(err.to_string().contains("update the app"));

    assert!(matches!(
        Sheet::load(b"not automerge").unwrap_err(),
        DocumentError::Corrupt(_)
    ));

    let mut doc = AutoCommit::new();
    sheet().reconcile_into(&mut doc).unwrap();
    doc.put(automerge::ROOT, "category", "spaceship").unwrap();
    let err = Sheet::load(&doc.save()).unwrap_err();
    assert!(err.to_string().contains("SheetCategory"), "{err}");
}

#[test]
fn older_versions_are_upgraded_on_read() {
    let mut doc = AutoCommit::new();
    let mut old = sheet();
    old.schema_version = 0;
    old.reconcile_into(&mut doc).unwrap();
    let (_, loaded) = Sheet::load(&doc.save()).unwrap();
    assert_eq!(loaded.schema_version, SCHEMA_VERSION);
}

#[test]
fn d_inf_4_sheet_lifecycle_and_what_each_status_needs() {
    assert!(sheet().validate().is_ok());
    let mut handled = sheet();
    handled.status = SheetStatus::Handled;
    let problems = handled.validate().unwrap_err().problems;
    assert!(
        problems
            .iter()
            .any(|p| p.contains("handled_at is required")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("result is required")),
        "{problems:?}"
    );
    handled.handled_at = Some("2026-11-28T00:00:00Z".into());
    handled.result = "已更换水管".into();
    let problems = handled.validate().unwrap_err().problems;
    assert_eq!(problems, ["handled_at must not be before accepted_at"]);

    let mut invalid = sheet();
    invalid.status = SheetStatus::Invalid;
    assert!(invalid.validate().unwrap_err().problems[0].contains("invalid_reason is required"));
    invalid.invalid_reason = Some("重复登记".into());
    assert!(invalid.validate().is_ok());

    assert!(SheetStatus::Accepted.can_become(SheetStatus::Handled));
    assert!(SheetStatus::Handled.can_become(SheetStatus::FollowedUp));
    assert!(!SheetStatus::Handled.can_become(SheetStatus::Invalid));
    assert!(!SheetStatus::Archived.can_become(SheetStatus::Handling));
    assert!(!SheetStatus::Invalid.can_become(SheetStatus::Accepted));

    let mut bad = sheet();
    bad.customer_name = " ".into();
    bad.contact_phone = "138 0013 8001".into();
    bad.items = vec![item(1, "")];
    let problems = bad.validate().unwrap_err().problems;
    assert_eq!(problems.len(), 3, "{problems:?}");
}

#[test]
fn d_cb_1_ratings_are_1_to_5_and_statuses_need_their_fields() {
    let mut done = follow_up();
    done.status = FollowUpStatus::Completed;
    assert!(done.validate().unwrap_err().problems[0].contains("needs its outcome"));
    for bad in [0, 6] {
        done.outcome = Some(Outcome {
            ratings: Ratings {
                quality: bad,
                ..ratings(3)
            },
            ..outcome(3)
        });
        let problems = done.validate().unwrap_err().problems;
        assert_eq!(
            problems,
            [format!("ratings.quality is {bad}; ratings are 1 to 5")]
        );
    }
    done.outcome = Some(outcome(5));
    assert!(done.validate().is_ok());

    let mut cancelled = follow_up();
    cancelled.status = FollowUpStatus::Cancelled;
    cancelled.cancel_reason = Some("客户已搬离".into());
    assert!(cancelled.validate().is_ok());
    cancelled.outcome = Some(outcome(4));
    assert_eq!(
        cancelled.validate().unwrap_err().problems,
        ["a cancelled follow-up cannot have an outcome"]
    );

    let mut unreachable = follow_up();
    unreachable.status = FollowUpStatus::Unreachable;
    assert!(unreachable.validate().unwrap_err().problems[0].contains("after 3 attempts"));

    assert!(ratings(2).is_dissatisfied() && !ratings(3).is_dissatisfied());
    assert!(!FollowUpStatus::Completed.can_become(FollowUpStatus::Open));
    assert!(FollowUpStatus::Unreachable.can_become(FollowUpStatus::Open));
}

#[test]
fn only_those_who_work_on_a_sheet_may_edit_it() {
    let acceptor = staff(10, Role::Staff, &[4]);
    let colleague = staff(11, Role::Staff, &[4]);
    let stranger = staff(99, Role::Staff, &[8]);
    let head = staff(12, Role::UnitHead, &[4, 5]);
    assert!(check_sheet_change(None, &sheet(), &acceptor).is_ok());
    let err = check_sheet_change(None, &sheet(), &colleague).unwrap_err();
    assert_eq!(err[0].field, "accepted_by");

    let mut edited = sheet();
    edited.investigation = "上门查看".into();
    assert!(check_sheet_change(Some(&sheet()), &edited, &colleague).is_ok());
    let err = check_sheet_change(Some(&sheet()), &edited, &stranger).unwrap_err();
    assert_eq!(err[0].reason, "you neither accepted nor handle this sheet");

    let mut numbered = sheet();
    numbered.number = Some("BSW-2026-000001".into());
    assert_eq!(
        check_sheet_change(Some(&sheet()), &numbered, &acceptor).unwrap_err()[0].field,
        "number"
    );
    assert!(check_sheet_change(Some(&sheet()), &numbered, &Actor::Server).is_ok());

    let mut rerouted = sheet();
    rerouted.handling_unit_id = Some(5);
    assert!(check_sheet_change(Some(&sheet()), &rerouted, &acceptor).is_err());
    assert!(check_sheet_change(Some(&sheet()), &rerouted, &head).is_ok());

    // R-INF-3: archived (and handled) sheets are read-only.
    let mut archived = sheet();
    archived.status = SheetStatus::Archived;
    let mut changed = archived.clone();
    changed.result = "改了".into();
    let err = check_sheet_change(Some(&archived), &changed, &acceptor).unwrap_err();
    assert!(err[0].reason.contains("can no longer change"), "{err:?}");

    let mut noted = sheet();
    noted.tracking.push(TrackingNote {
        id: ID.into(),
        at: "2026-11-28T03:00:00Z".into(),
        by_staff_id: 11,
        note: "x".into(),
    });
    assert!(
        check_sheet_change(Some(&sheet()), &noted, &acceptor).is_err(),
        "a note in someone else's name"
    );
    assert!(check_sheet_change(Some(&sheet()), &noted, &colleague).is_ok());
}

#[test]
fn only_the_assignee_records_the_outcome_and_only_the_server_assigns() {
    let assignee = staff(10, Role::Staff, &[4]);
    let colleague = staff(11, Role::Staff, &[4]);
    let mut done = follow_up();
    done.status = FollowUpStatus::Completed;
    done.outcome = Some(outcome(5));
    assert!(check_follow_up_change(Some(&follow_up()), &done, &assignee).is_ok());
    let err = check_follow_up_change(Some(&follow_up()), &done, &colleague).unwrap_err();
    assert!(
        err.iter()
            .all(|v| v.reason == "only the assignee records this follow-up"),
        "{err:?}"
    );

    let mut moved = follow_up();
    moved.assignee_staff_id = Some(11);
    let err = check_follow_up_change(Some(&follow_up()), &moved, &assignee).unwrap_err();
    assert_eq!(err[0].field, "assignee_staff_id");
    assert!(check_follow_up_change(Some(&follow_up()), &moved, &Actor::Server).is_ok());
    assert!(
        check_follow_up_change(None, &follow_up(), &assignee).is_err(),
        "devices do not create follow-ups"
    );

    let mut cancelled = follow_up();
    cancelled.status = FollowUpStatus::Cancelled;
    cancelled.cancel_reason = Some("x".into());
    let mut after = cancelled.clone();
    after.outcome = Some(outcome(5));
    after.status = FollowUpStatus::Completed;
    let err = check_follow_up_change(Some(&cancelled), &after, &assignee).unwrap_err();
    assert!(err.iter().any(|v| v.field == "status"), "{err:?}");

    // A follow-up for the whole unit may be done by anyone in it.
    let mut unit_wide = follow_up();
    unit_wide.assignee_staff_id = None;
    let mut done = unit_wide.clone();
    done.status = FollowUpStatus::Completed;
    done.outcome = Some(outcome(4));
    assert!(check_follow_up_change(Some(&unit_wide), &done, &colleague).is_ok());
}

#[test]
fn every_enum_has_both_labels() {
    fn check<T: Labelled>() {
        for v in T::ALL {
            assert!(!v.label_zh().is_empty() && !v.label_en().is_empty() && !v.code().is_empty());
        }
    }
    check::<ComplaintLevel>();
    check::<InformationSource>();
    check::<SheetCategory>();
    check::<SheetStatus>();
    check::<FollowUpKind>();
    check::<FollowUpMethod>();
    check::<FollowUpStatus>();
    check::<AssignmentRule>();
    check::<DocumentKind>();
    assert_eq!(AssignmentRule::ConsultantOwnCustomer.code(), "R-INF-7");
}

#[test]
fn no_text_field_takes_a_nul_character() {
    let mut named = sheet();
    named.customer_name = "陈\u{0}志强".into();
    let problems = named.validate().unwrap_err().to_string();
    assert!(problems.contains("NUL"), "{problems}");
}
