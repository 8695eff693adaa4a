//! Property: for random sequences of operations (valid or not), every projection row equals
//! what the stored document says, and a refused operation stores nothing.

use huifang_core::auth::Caller;
use huifang_core::followups::{
    self, CancelFollowUp, ReassignFollowUp, RecordOutcome, RecordUnreachable,
};
use huifang_core::sheets::{self, AcceptSheet, HandleSheet, SheetEdit, SheetUpdate};
use huifang_protocol::{
    ComplaintLevel, FollowUp, FollowUpMethod, InformationSource, Labelled, Ratings, Sheet,
    SheetCategory,
};
use huifang_server::AppState;
use huifang_store::documents;
use proptest::prelude::*;
use sqlx::Row;

use crate::helpers::{Backend, fresh_database, seed_examples};

const STAFF: &[&str] = &[
    "bsw.csc.01",
    "dev.01",
    "bsw.sales.head",
    "bsw.gw.01",
    "mkt.head",
    "bsw.office.head",
];
const CUSTOMERS: &[&str] = &["陈志强", "黄建华", "周海燕", "郑玉兰", "李思远"];

#[derive(Debug, Clone)]
enum Op {
    Accept {
        staff: usize,
        customer: usize,
        level: ComplaintLevel,
        category: SheetCategory,
    },
    Handling {
        staff: Option<usize>,
        sheet: usize,
    },
    Edit {
        staff: Option<usize>,
        sheet: usize,
        level: ComplaintLevel,
    },
    Track {
        staff: Option<usize>,
        sheet: usize,
    },
    Handle {
        staff: Option<usize>,
        sheet: usize,
    },
    Invalid {
        staff: Option<usize>,
        sheet: usize,
    },
    Outcome {
        staff: Option<usize>,
        follow_up: usize,
        overall: u8,
    },
    Unreachable {
        staff: Option<usize>,
        follow_up: usize,
    },
    Reassign {
        staff: Option<usize>,
        follow_up: usize,
        to: usize,
    },
    Cancel {
        staff: Option<usize>,
        follow_up: usize,
    },
    Escalate {
        hours: i64,
    },
}

fn level() -> impl Strategy<Value = ComplaintLevel> {
    prop::sample::select(ComplaintLevel::ALL.to_vec())
}

/// Who acts: mostly the right person (`None`: the sheet's acceptor or the follow-up's assignee),
/// sometimes anyone, so that refusals are exercised too.
fn actor() -> impl Strategy<Value = Option<usize>> + Clone {
    prop_oneof![3 => Just(None), 1 => (0..STAFF.len()).prop_map(Some)]
}

fn op() -> impl Strategy<Value = Op> {
    let staff = 0..STAFF.len();
    let actor = actor();
    prop_oneof![
        6 => (staff.clone(), 0..CUSTOMERS.len(), level(), prop::sample::select(SheetCategory::ALL.to_vec()))
            .prop_map(|(staff, customer, level, category)| Op::Accept { staff, customer, level, category }),
        1 => (actor.clone(), 0..8usize).prop_map(|(staff, sheet)| Op::Handling { staff, sheet }),
        1 => (actor.clone(), 0..8usize, level()).prop_map(|(staff, sheet, level)| Op::Edit { staff, sheet, level }),
        1 => (actor.clone(), 0..8usize).prop_map(|(staff, sheet)| Op::Track { staff, sheet }),
        4 => (actor.clone(), 0..8usize).prop_map(|(staff, sheet)| Op::Handle { staff, sheet }),
        1 => (actor.clone(), 0..8usize).prop_map(|(staff, sheet)| Op::Invalid { staff, sheet }),
        4 => (actor.clone(), 0..8usize, 0u8..=6).prop_map(|(staff, follow_up, overall)| Op::Outcome { staff, follow_up, overall }),
        2 => (actor.clone(), 0..8usize).prop_map(|(staff, follow_up)| Op::Unreachable { staff, follow_up }),
        1 => (actor.clone(), 0..8usize, staff).prop_map(|(staff, follow_up, to)| Op::Reassign { staff, follow_up, to }),
        1 => (actor, 0..8usize).prop_map(|(staff, follow_up)| Op::Cancel { staff, follow_up }),
        1 => (0i64..60).prop_map(|hours| Op::Escalate { hours }),
    ]
}

struct World {
    state: AppState,
    callers: Vec<Caller>,
    staff_ids: Vec<i64>,
    customer_ids: Vec<i64>,
}

async fn pick(state: &AppState, table: &str, index: usize) -> Option<String> {
    let order = if table == "sheets" {
        "accepted_at"
    } else {
        "created_at"
    };
    let ids: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM {table} ORDER BY {order}, id"
    )))
    .fetch_all(state.db().pool())
    .await
    .unwrap();
    if ids.is_empty() {
        None
    } else {
        Some(ids[index % ids.len()].clone())
    }
}

impl World {
    /// The chosen caller, or the one whose staff id `default` names (else the first).
    fn caller(&self, chosen: Option<usize>, default: Option<i64>) -> &Caller {
        let index = chosen
            .or_else(|| self.staff_ids.iter().position(|id| Some(*id) == default))
            .unwrap_or(0);
        &self.callers[index]
    }

    async fn acceptor(&self, sheet: &str) -> Option<i64> {
        sqlx::query_scalar("SELECT accepted_by FROM sheets WHERE id = $1")
            .bind(sheet)
            .fetch_optional(self.state.db().pool())
            .await
            .unwrap()
    }

    async fn assignee(&self, follow_up: &str) -> Option<i64> {
        let row: Option<(Option<i64>,)> =
            sqlx::query_as("SELECT assignee_staff_id FROM follow_ups WHERE id = $1")
                .bind(follow_up)
                .fetch_optional(self.state.db().pool())
                .await
                .unwrap();
        row.and_then(|(id,)| id)
    }
}

async fn seq(state: &AppState) -> i64 {
    sqlx::query_scalar("SELECT value FROM change_sequence WHERE id = 1")
        .fetch_one(state.db().pool())
        .await
        .unwrap()
}

async fn apply(world: &World, op: &Op) -> Result<(), String> {
    let state = &world.state;
    let err = |e: huifang_core::Error| e.to_string();
    let rate = |overall: u8| Ratings {
        handling: 4,
        efficiency: 3,
        quality: 5,
        attitude: 4,
        overall,
    };
    match op {
        Op::Accept {
            staff,
            customer,
            level,
            category,
        } => {
            let request = AcceptSheet {
                id: None,
                accepted_at: None,
                level: *level,
                category: *category,
                source: InformationSource::Phone,
                household_id: None,
                customer_id: Some(world.customer_ids[*customer]),
                customer_name: None,
                contact_phone: None,
                customer_address: None,
                items: vec!["問題".into()],
            };
            sheets::accept(state.company(), &world.callers[*staff], request)
                .await
                .map(|_| ())
                .map_err(err)
        }
        Op::Handling { staff, sheet }
        | Op::Edit { staff, sheet, .. }
        | Op::Track { staff, sheet }
        | Op::Invalid { staff, sheet } => {
            let Some(id) = pick(state, "sheets", *sheet).await else {
                return Err("no sheet".into());
            };
            let edit = match op {
                Op::Handling { .. } => SheetEdit::StartHandling,
                Op::Edit { level, .. } => SheetEdit::Update(SheetUpdate {
                    level: Some(*level),
                    ..SheetUpdate::default()
                }),
                Op::Track { .. } => SheetEdit::AddTracking("跟进".into()),
                _ => SheetEdit::MarkInvalid("重复".into()),
            };
            let caller = world.caller(*staff, world.acceptor(&id).await);
            sheets::change(state.company(), caller, &id, edit)
                .await
                .map(|_| ())
                .map_err(err)
        }
        Op::Handle { staff, sheet } => {
            let Some(id) = pick(state, "sheets", *sheet).await else {
                return Err("no sheet".into());
            };
            let request = HandleSheet {
                result: "已处理".into(),
                investigation: None,
                handled_at: None,
            };
            let caller = world.caller(*staff, world.acceptor(&id).await);
            sheets::handle(state.company(), caller, &id, request)
                .await
                .map(|_| ())
                .map_err(err)
        }
        Op::Outcome {
            staff,
            follow_up,
            overall,
        } => {
            let Some(id) = pick(state, "follow_ups", *follow_up).await else {
                return Err("no follow-up".into());
            };
            let request = RecordOutcome {
                method: FollowUpMethod::Phone,
                done_at: None,
                ratings: rate(*overall),
                opinions: String::new(),
                signature: None,
            };
            let caller = world.caller(*staff, world.assignee(&id).await);
            followups::record_outcome(state.company(), caller, &id, request)
                .await
                .map(|_| ())
                .map_err(err)
        }
        Op::Unreachable { staff, follow_up } => {
            let Some(id) = pick(state, "follow_ups", *follow_up).await else {
                return Err("no follow-up".into());
            };
            let request = RecordUnreachable {
                method: FollowUpMethod::Phone,
                at: None,
                note: String::new(),
            };
            let caller = world.caller(*staff, world.assignee(&id).await);
            followups::record_unreachable(state.company(), caller, &id, request)
                .await
                .map(|_| ())
                .map_err(err)
        }
        Op::Reassign {
            staff,
            follow_up,
            to,
        } => {
            let Some(id) = pick(state, "follow_ups", *follow_up).await else {
                return Err("no follow-up".into());
            };
            let request = ReassignFollowUp {
                staff_id: Some(world.staff_ids[*to]),
                unit_id: None,
                reason: Some("换人再试".into()),
            };
            // Heads act here: the office director by default.
            let caller = world.caller(staff.or(Some(STAFF.len() - 1)), None);
            followups::reassign(state.company(), caller, &id, request)
                .await
                .map(|_| ())
                .map_err(err)
        }
        Op::Cancel { staff, follow_up } => {
            let Some(id) = pick(state, "follow_ups", *follow_up).await else {
                return Err("no follow-up".into());
            };
            let request = CancelFollowUp {
                reason: "不再需要".into(),
            };
            // Heads act here: the office director by default.
            let caller = world.caller(staff.or(Some(STAFF.len() - 1)), None);
            followups::cancel(state.company(), caller, &id, request)
                .await
                .map(|_| ())
                .map_err(err)
        }
        Op::Escalate { hours } => {
            let at = state.db().now() + chrono::Duration::hours(*hours);
            huifang_core::deadlines::escalate_overdue(state.db(), state.config().time_zone, at)
                .await
                .map(|_| ())
                .map_err(err)
        }
    }
}

fn text(row: &sqlx::any::AnyRow, column: &str) -> Option<String> {
    row.try_get::<Option<String>, _>(column).unwrap()
}

fn int(row: &sqlx::any::AnyRow, column: &str) -> Option<i64> {
    row.try_get::<Option<i64>, _>(column).unwrap()
}

/// Every projection row against its document, field by field.
async fn check_projections(state: &AppState) {
    let db = state.db();
    let sheet_ids = documents::ids_of(db, huifang_protocol::DocumentKind::Sheet)
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sheets")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(
        rows as usize,
        sheet_ids.len(),
        "one projection row per sheet document"
    );
    for id in sheet_ids {
        let sheet: Sheet = documents::read(db, &id).await.unwrap().unwrap();
        let row = sqlx::query("SELECT * FROM sheets WHERE id = $1")
            .bind(&id)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(text(&row, "number"), sheet.number);
        assert_eq!(text(&row, "status").as_deref(), Some(sheet.status.code()));
        assert_eq!(text(&row, "level").as_deref(), Some(sheet.level.code()));
        assert_eq!(
            text(&row, "category").as_deref(),
            Some(sheet.category.code())
        );
        assert_eq!(int(&row, "handling_unit_id"), sheet.handling_unit_id);
        assert_eq!(int(&row, "accepted_by"), Some(sheet.accepted_by));
        assert_eq!(text(&row, "handled_at"), sheet.handled_at);
        assert_eq!(
            text(&row, "customer_name"),
            Some(sheet.customer_name.clone())
        );
        assert_eq!(text(&row, "reopened_from"), sheet.reopened_from);
    }
    let follow_up_ids = documents::ids_of(db, huifang_protocol::DocumentKind::FollowUp)
        .await
        .unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM follow_ups")
        .fetch_one(db.pool())
        .await
        .unwrap();
    assert_eq!(
        rows as usize,
        follow_up_ids.len(),
        "one projection row per follow-up document"
    );
    for id in follow_up_ids {
        let follow_up: FollowUp = documents::read(db, &id).await.unwrap().unwrap();
        let row = sqlx::query("SELECT * FROM follow_ups WHERE id = $1")
            .bind(&id)
            .fetch_one(db.pool())
            .await
            .unwrap();
        assert_eq!(
            text(&row, "status").as_deref(),
            Some(follow_up.status.code())
        );
        assert_eq!(
            int(&row, "assignee_unit_id"),
            Some(follow_up.assignee_unit_id)
        );
        assert_eq!(int(&row, "assignee_staff_id"), follow_up.assignee_staff_id);
        assert_eq!(text(&row, "rule").as_deref(), Some(follow_up.rule.code()));
        assert_eq!(text(&row, "sheet_id"), follow_up.sheet_id);
        assert_eq!(text(&row, "overdue_at"), follow_up.overdue_at);
        assert_eq!(
            text(&row, "done_at"),
            follow_up.outcome.as_ref().map(|o| o.done_at.clone())
        );
        assert_eq!(
            int(&row, "rating_overall"),
            follow_up
                .outcome
                .as_ref()
                .map(|o| i64::from(o.ratings.overall))
        );
        assert_eq!(
            int(&row, "unreachable_attempts"),
            Some(follow_up.unreachable_attempts.len() as i64)
        );
        // Every information follow-up belongs to a handled (or later) sheet.
        if let Some(sheet) = &follow_up.sheet_id {
            let sheet: Sheet = documents::read(db, sheet).await.unwrap().unwrap();
            assert!(
                sheet.handled_at.is_some(),
                "follow-up {id} of an unhandled sheet"
            );
        }
    }
    check_holders(state).await;
    let verified = huifang_store::audit::verify(db).await.unwrap();
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);
}

/// Who holds each document on their phones (what the feed reads a device's scope by), against
/// the documents: a follow-up's assignee (the staff member, else the unit), at the follow-up's
/// sequence number; a sheet's acceptor, accepting and handling units and every assignee of its
/// follow-ups, staff and unit, none earlier than the sheet's number.
async fn check_holders(state: &AppState) {
    use std::collections::{BTreeMap, BTreeSet};
    let db = state.db();
    let mut expected: BTreeMap<String, BTreeSet<(i64, i64)>> = BTreeMap::new();
    let mut follow_ups = Vec::new();
    for id in documents::ids_of(db, huifang_protocol::DocumentKind::FollowUp)
        .await
        .unwrap()
    {
        let follow_up: FollowUp = documents::read(db, &id).await.unwrap().unwrap();
        let holder = match follow_up.assignee_staff_id {
            Some(staff) => (staff, 0),
            None => (0, follow_up.assignee_unit_id),
        };
        expected.entry(id).or_default().insert(holder);
        follow_ups.push(follow_up);
    }
    for id in documents::ids_of(db, huifang_protocol::DocumentKind::Sheet)
        .await
        .unwrap()
    {
        let sheet: Sheet = documents::read(db, &id).await.unwrap().unwrap();
        let holders = expected.entry(id.clone()).or_default();
        holders.insert((sheet.accepted_by, 0));
        holders.insert((0, sheet.accepting_unit_id));
        if let Some(unit) = sheet.handling_unit_id {
            holders.insert((0, unit));
        }
        for follow_up in follow_ups
            .iter()
            .filter(|f| f.sheet_id.as_deref() == Some(&id))
        {
            if let Some(staff) = follow_up.assignee_staff_id {
                holders.insert((staff, 0));
            }
            holders.insert((0, follow_up.assignee_unit_id));
        }
    }
    let rows: Vec<(String, i64, i64, i64, i64, String)> = sqlx::query_as(
        "SELECT h.document_id, h.staff_id, h.unit_id, h.seq, d.seq, d.kind
         FROM document_holders h JOIN documents d ON d.id = h.document_id",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut stored: BTreeMap<String, BTreeSet<(i64, i64)>> = BTreeMap::new();
    for (id, staff, unit, held_at, written_at, kind) in rows {
        if kind == "follow_up" {
            assert_eq!(
                held_at, written_at,
                "follow-up {id}: a holder at another number"
            );
        } else {
            assert!(
                held_at >= written_at,
                "sheet {id}: a holder before the sheet's number"
            );
        }
        stored.entry(id).or_default().insert((staff, unit));
    }
    assert_eq!(stored, expected, "holders (staff, unit) by document");
}

async fn run(backend: Backend, ops: Vec<Op>) {
    let Some((db, config, _dir)) = fresh_database(backend).await else {
        return;
    };
    seed_examples(&db).await;
    let state = AppState::new(config, db);
    let mut callers = Vec::new();
    let mut staff_ids = Vec::new();
    for username in STAFF {
        let id: i64 = sqlx::query_scalar("SELECT id FROM staff WHERE username = $1")
            .bind(*username)
            .fetch_one(state.db().pool())
            .await
            .unwrap();
        let token = state
            .sessions()
            .issue(id, "property test")
            .await
            .unwrap()
            .token;
        callers.push(state.sessions().authenticate(&token).await.unwrap());
        staff_ids.push(id);
    }
    let mut customer_ids = Vec::new();
    for name in CUSTOMERS {
        customer_ids.push(
            sqlx::query_scalar("SELECT id FROM customers WHERE name = $1")
                .bind(*name)
                .fetch_one(state.db().pool())
                .await
                .unwrap(),
        );
    }
    let world = World {
        state,
        callers,
        staff_ids,
        customer_ids,
    };
    for op in &ops {
        let before = seq(&world.state).await;
        if let Err(reason) = apply(&world, op).await {
            assert_eq!(
                seq(&world.state).await,
                before,
                "refused {op:?} ({reason}) stored a change"
            );
        }
    }
    check_projections(&world.state).await;
    if std::env::var_os("PROPTEST_STATS").is_some() {
        let stats: Vec<(String, i64)> =
            sqlx::query_as("SELECT status, COUNT(*) FROM follow_ups GROUP BY status")
                .fetch_all(world.state.db().pool())
                .await
                .unwrap();
        let sheets: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sheets")
            .fetch_one(world.state.db().pool())
            .await
            .unwrap();
        eprintln!("{} ops: {sheets} sheets, follow-ups {stats:?}", ops.len());
    }
    world.state.db().close().await;
}

fn cases(backend: Backend) -> u32 {
    match backend {
        Backend::Sqlite => 24,
        Backend::Postgres => 8,
    }
}

fn check(backend: Backend) {
    let config = ProptestConfig {
        cases: cases(backend),
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in prop::collection::vec(op(), 1..40))| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(run(backend, ops));
    });
}

#[test]
fn sqlite_projections_equal_documents_after_any_operations() {
    check(Backend::Sqlite);
}

#[test]
fn postgres_projections_equal_documents_after_any_operations() {
    check(Backend::Postgres);
}
