//! The store's own suite, run against every engine (as matrix-rust-sdk runs one suite against
//! every store): each test is written once and `on_every_engine!` makes a SQLite and a
//! PostgreSQL test of it. What the HTTP suite proves through the API, this proves at the store's
//! boundary: change sequences, the audit chain, keys, literal search, typed errors.

use huifang_protocol::{Clock, PhoneNumber, Role, UnitKind};
use huifang_store::audit::{self, AuditActor};
use huifang_store::documents::DocWrite;
use huifang_store::registry::{NewStaff, PageRequest, RegistryStore, StaffFilter};
use huifang_store::scope::StaffScope;
use huifang_store::testing::fresh_database;
use huifang_store::{Backend, Database, StoreError, blobs, imports, login_failures, plans};
use huifang_store::{sessions, submissions};

#[path = "store/rollups.rs"]
mod rollups;
use rollups::d_sta_2_the_monthly_roll_up_equals_a_recount_whatever_writes_and_whenever;

macro_rules! on_every_engine {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(huifang_store::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(huifang_store::Backend::Postgres).await;
                }
            )*
        }
    };
}

on_every_engine!(
    each_write_takes_the_next_change_sequence_and_announces_it,
    the_audit_chain_verifies_and_tells_an_altered_or_removed_entry,
    a_taken_username_is_a_conflict_and_an_unknown_unit_is_invalid,
    search_takes_wildcards_literally,
    a_write_not_committed_leaves_nothing,
    a_session_resolves_to_its_holder_and_is_revoked_once,
    an_upload_moves_on_only_from_where_it_ended,
    sign_in_failures_are_counted_under_lock_and_forgiven,
    a_month_is_planned_once_and_its_progress_counted,
    a_unit_submits_a_month_once,
    an_import_finds_what_is_there_and_a_dry_run_keeps_nothing,
    the_registry_fingerprint_follows_this_process_at_once_and_others_within_a_second,
    concurrent_writes_share_commits_yet_stay_gap_free_and_visible_in_order,
    a_write_that_stops_waiting_does_not_strand_the_writes_before_it,
    d_sta_2_the_monthly_roll_up_equals_a_recount_whatever_writes_and_whenever,
);

async fn database(backend: Backend) -> Option<(Database, tempfile::TempDir)> {
    let start = "2026-06-10T02:00:00Z"
        .parse()
        .unwrap_or_else(|e| panic!("start instant: {e}"));
    fresh_database(backend, Clock::starting_at(start)).await
}

fn shanghai() -> chrono_tz::Tz {
    chrono_tz::Asia::Shanghai
}

async fn each_write_takes_the_next_change_sequence_and_announces_it(backend: Backend) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    let changes = db.watch_changes();
    let first = DocWrite::begin(&db, AuditActor::SERVER, shanghai())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let first_seq = first.seq;
    first.commit().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(*changes.borrow(), first_seq);
    let second = DocWrite::begin(&db, AuditActor::SERVER, shanghai())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second.seq, first_seq + 1);
    second.commit().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(*changes.borrow(), first_seq + 1);
}

async fn the_audit_chain_verifies_and_tells_an_altered_or_removed_entry(backend: Backend) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    for n in 0..3 {
        let mut write = DocWrite::begin(&db, AuditActor::SERVER, shanghai())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        write
            .audit("test.entry", "subject", serde_json::json!({ "n": n }))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        write.commit().await.unwrap_or_else(|e| panic!("{e}"));
    }
    let verified = audit::verify(&db).await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(verified.entries, 3);
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);

    sqlx::query(
        "UPDATE audit_log SET detail = '{\"n\":7}' WHERE id = (SELECT MIN(id) FROM audit_log)",
    )
    .execute(db.pool())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let altered = audit::verify(&db).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        altered.problems.iter().any(|p| p.contains("altered")),
        "{:?}",
        altered.problems
    );

    sqlx::query("DELETE FROM audit_log WHERE id = (SELECT MAX(id) FROM audit_log)")
        .execute(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let cut = audit::verify(&db).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        cut.problems.iter().any(|p| p.contains("removed")),
        "{:?}",
        cut.problems
    );
}

fn staff(username: &str, unit_id: Option<i64>) -> NewStaff {
    NewStaff {
        username: username.to_owned(),
        name: format!("{username} name"),
        phone: None::<PhoneNumber>,
        // An administrator needs no unit; a staff member names one.
        role: if unit_id.is_some() {
            Role::Staff
        } else {
            Role::Admin
        },
        unit_id,
        password_hash: None,
    }
}

async fn a_taken_username_is_a_conflict_and_an_unknown_unit_is_invalid(backend: Backend) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    let registry = RegistryStore::new(db.clone());
    registry
        .create_staff(staff("wang", None))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let taken = registry.create_staff(staff("wang", None)).await;
    assert!(
        matches!(&taken, Err(e @ StoreError::Conflict(_)) if e.is_unique_violation()),
        "{taken:?}"
    );
    let unknown = registry.create_staff(staff("li", Some(999))).await;
    assert!(
        matches!(&unknown, Err(StoreError::Invalid(m)) if m.contains("999")),
        "{unknown:?}"
    );
    // Neither refusal left a row behind.
    let all = registry
        .list_staff(
            StaffScope::All,
            &StaffFilter {
                include_inactive: true,
                ..StaffFilter::default()
            },
            PageRequest {
                limit: 10,
                offset: 0,
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.total, 1);
    assert_eq!(all.items[0].username, "wang");
}

async fn search_takes_wildcards_literally(backend: Backend) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    let registry = RegistryStore::new(db.clone());
    for username in ["a%b", "axxb", "a_b", "ayb", "a\\b", "ab"] {
        registry
            .create_staff(staff(username, None))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    for (text, expected) in [("a%b", "a%b"), ("a_b", "a_b"), ("a\\b", "a\\b")] {
        let found = registry
            .list_staff(
                StaffScope::All,
                &StaffFilter {
                    text: Some(text.to_owned()),
                    ..StaffFilter::default()
                },
                PageRequest {
                    limit: 10,
                    offset: 0,
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<&str> = found.items.iter().map(|s| s.username.as_str()).collect();
        assert_eq!(names, [expected], "searching {text:?}");
    }
}

async fn a_write_not_committed_leaves_nothing(backend: Backend) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    let someone = RegistryStore::new(db.clone())
        .create_staff(staff("zhao", None))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    {
        let mut write = DocWrite::begin(&db, AuditActor::SERVER, shanghai())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        write
            .audit("test.entry", "subject", serde_json::json!({}))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        write
            .notify(someone.id, "subject", "message")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // Dropped without commit: an error on the way out of a handler.
    }
    let entries: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let notices: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications")
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((entries, notices), (0, 0));
    // The next write is not blocked by the one that was dropped.
    let next = DocWrite::begin(&db, AuditActor::SERVER, shanghai())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    next.commit().await.unwrap_or_else(|e| panic!("{e}"));
}

/// A unit, a community with one household, and a staff member of the unit, committed.
struct Place {
    unit: i64,
    household: i64,
    staff: i64,
}

async fn place(db: &Database) -> Place {
    let now = db.now_text();
    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let community = imports::insert_community(&mut tx, "翠湖", "", &now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let building = imports::building(&mut tx, community, "1栋", &now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let household = imports::insert_household(&mut tx, community, building, "101", "1栋101", &now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let unit = imports::put_unit(
        &mut tx,
        None,
        &huifang_protocol::Unit {
            id: 0,
            code: "PO1".into(),
            name: "翠湖物业服务中心".into(),
            kind: UnitKind::PropertyOffice,
            parent_id: None,
            community_id: Some(community),
        },
        &now,
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    imports::finish(db, tx, false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut head = staff("zhou", Some(unit));
    head.role = Role::UnitHead;
    let staff = RegistryStore::new(db.clone())
        .create_staff(head)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .id;
    Place {
        unit,
        household,
        staff,
    }
}

async fn a_session_resolves_to_its_holder_and_is_revoked_once(backend: Backend) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    let place = place(&db).await;
    let now = db.now_text();
    let id = sessions::insert(
        &db,
        place.staff,
        "hash-1",
        "phone",
        &now,
        "2026-07-10T02:00:00.000Z",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let holder = sessions::holder(&db, "hash-1")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the session is found by its hash"));
    assert_eq!(holder.session_id, id);
    assert_eq!(holder.role, Role::UnitHead);
    assert_eq!(
        holder.unit.map(|u| (u.0, u.1)),
        Some((place.unit, UnitKind::PropertyOffice))
    );
    assert!(!holder.revoked && !holder.deactivated);
    assert!(
        sessions::holder(&db, "hash-2")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_none()
    );

    sessions::revoke(&db, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let first = sessions::get(&db, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .and_then(|s| s.revoked_at);
    assert!(first.is_some());
    // Revoking again changes nothing, and there is nothing left to revoke.
    sessions::revoke(&db, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        sessions::get(&db, id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .and_then(|s| s.revoked_at),
        first
    );
    assert_eq!(
        sessions::revoke_all_of(&db, place.staff)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        0
    );
    let standing = sessions::standing(&db, id)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the session stands"));
    assert!(standing.revoked);
    assert_eq!(standing.unit_id, Some(place.unit));
}

async fn an_upload_moves_on_only_from_where_it_ended(backend: Backend) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    let place = place(&db).await;
    let hash = "ab".repeat(32);
    assert!(
        blobs::keep_partial(&db, &hash, 0, 10, b"abc".to_vec(), place.staff)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    // A part that starts anywhere but where the upload ended is not taken.
    assert!(
        !blobs::keep_partial(&db, &hash, 5, 10, b"abcdefgh".to_vec(), place.staff)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    assert_eq!(
        blobs::progress(&db, &hash)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        Some((3, 10))
    );
    assert!(
        blobs::keep_partial(&db, &hash, 3, 10, b"abcdef".to_vec(), place.staff)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    assert_eq!(
        blobs::progress(&db, &hash)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        Some((6, 10))
    );
    let whole = b"0123456789".to_vec();
    assert!(
        blobs::store(&db, &hash, whole.clone(), place.staff)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    // The upload is gone with the blob's arrival; storing it again finds it held.
    assert_eq!(
        blobs::progress(&db, &hash)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        None
    );
    assert!(
        !blobs::store(&db, &hash, whole.clone(), place.staff)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    assert_eq!(
        blobs::size(&db, &hash)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        Some(10)
    );
    assert_eq!(
        blobs::bytes(&db, &hash)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        Some(whole)
    );
}

async fn sign_in_failures_are_counted_under_lock_and_forgiven(backend: Backend) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    let now = db.now();
    let until = now + chrono::Duration::seconds(30);
    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let fresh = login_failures::lock(&mut tx, db.backend(), "wang", now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fresh.failures, 0);
    assert_eq!(fresh.locked_until, None);
    login_failures::record(&mut tx, "wang", 5, Some(until), now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    login_failures::record(&mut tx, "ip:10.0.0.1", 2, None, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    huifang_store::db::commit(tx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let counted = login_failures::lock(&mut tx, db.backend(), "wang", now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    huifang_store::db::rollback(tx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(counted.failures, 5);
    // Stored times keep milliseconds.
    let stored = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(huifang_protocol::format_time);
    assert_eq!(stored(counted.locked_until), stored(Some(until)));
    assert_eq!(stored(counted.last_failed_at), stored(Some(now)));

    login_failures::forgive(&db, "wang", Some("ip:10.0.0.1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let account = login_failures::lock(&mut tx, db.backend(), "wang", now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let address = login_failures::lock(&mut tx, db.backend(), "ip:10.0.0.1", now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    huifang_store::db::rollback(tx)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(account.failures, 0);
    assert_eq!(
        address.failures, 1,
        "a success takes back one failure of its address"
    );
}

async fn a_month_is_planned_once_and_its_progress_counted(backend: Backend) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    let place = place(&db).await;
    let plan = plans::NewPlan {
        unit_id: place.unit,
        staff_id: 0,
        rule: "office_director".into(),
        community_id: None,
        households: 1,
        quota: 1,
        explanation: "1 household".into(),
        explanation_zh: "1 户".into(),
        seed: "7".into(),
        cycle: 1,
        new_cycle: true,
        sampled: true,
        items: vec![plans::NewPlanItem {
            household_id: place.household,
            customer_id: None,
            cycle: 1,
            reason: "{}".into(),
            assignee_staff_id: Some(place.staff),
        }],
    };
    let month = "2026-06";
    assert!(
        !plans::is_planned(&db, month)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    for attempt in 0..2 {
        let mut write = DocWrite::begin(&db, AuditActor::SERVER, shanghai())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let stored = plans::insert_month(&mut write, month, None, std::slice::from_ref(&plan))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        write.commit().await.unwrap_or_else(|e| panic!("{e}"));
        let counts = plans::PlanCounts {
            plans: 1,
            households: 1,
        };
        // The second run finds the month planned and writes nothing.
        assert_eq!(
            stored,
            if attempt == 0 {
                Ok(counts)
            } else {
                Err(counts)
            }
        );
    }
    assert_eq!(
        plans::stored_counts(&db, month)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        Some(plans::PlanCounts {
            plans: 1,
            households: 1
        })
    );
    let waiting = plans::waiting(&db, month, None, 10)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(waiting.len(), 1);
    // Nothing after the last one read: the next batch starts past it.
    assert!(
        plans::waiting(&db, month, waiting.last(), 10)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
    // A household is claimed once: a second writer's claim (another instance that read the
    // same batch) takes nothing, and the first claim stands. Both are dropped, so the month
    // still waits below.
    {
        let mut first = DocWrite::begin(&db, AuditActor::SERVER, shanghai())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let claims = [(&waiting[0], "f-first")];
        let claimed = plans::claim_all(&mut first, month, &claims)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(claimed.contains("f-first") && claimed.len() == 1);
        let again = [(&waiting[0], "f-second")];
        let claimed_again = plans::claim_all(&mut first, month, &again)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(claimed_again.is_empty());
    }
    assert!(
        !plans::documents_done(&db, month)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    let progress = plans::progress(&db, &huifang_store::scope::WorkScope::All, month)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the month is planned"));
    assert_eq!(progress.plans.len(), 1);
    assert_eq!(
        (progress.plans[0].planned, progress.plans[0].written),
        (1, 0)
    );
    assert_eq!(progress.people.len(), 1);
    assert_eq!(progress.people[0].staff_id, place.staff);
    // Another unit's head sees none of it.
    let elsewhere = huifang_store::scope::WorkScope::Units {
        staff_id: place.staff + 1,
        units: vec![place.unit + 1],
    };
    let hidden = plans::progress(&db, &elsewhere, month)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the month is planned"));
    assert!(hidden.plans.is_empty() && hidden.people.is_empty());
}

async fn a_unit_submits_a_month_once(backend: Backend) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    let place = place(&db).await;
    let new = submissions::NewSubmission {
        month: "2026-06",
        unit_id: place.unit,
        submitted_by: place.staff,
        deadline: "2026-06-30T16:00:00.000Z",
        late: true,
        figures: "{}",
        figures_sha256: "00",
        note: "",
    };
    let mut write = DocWrite::begin(&db, AuditActor::SERVER, shanghai())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        submissions::insert(&mut write, &new)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    );
    write.commit().await.unwrap_or_else(|e| panic!("{e}"));
    let mut write = DocWrite::begin(&db, AuditActor::SERVER, shanghai())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !submissions::insert(&mut write, &new)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        "a second submission of the month is refused"
    );
    drop(write);
    let found = submissions::find(&db, "2026-06", place.unit)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the submission is stored"));
    assert!(found.late);
    assert_eq!(found.submitted_by_name, "zhou name");
    let made = submissions::made(&db, "2026-06")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(made.len(), 1);
}

async fn an_import_finds_what_is_there_and_a_dry_run_keeps_nothing(backend: Backend) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    let place = place(&db).await;
    let now = db.now_text();
    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let (community, _) = imports::community(&mut tx, "翠湖")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the community is there"));
    let contents = imports::community_contents(&mut tx, community)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(contents.households.len(), 1);
    assert_eq!(contents.households[0].0, place.household);
    let building = contents.households[0].1;
    // The building is found, not added again.
    assert_eq!(
        imports::building(&mut tx, community, "1栋", &now)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        building
    );
    let customer =
        imports::insert_customer(&mut tx, place.household, "陈女士", "13800138000", &now)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let contents = imports::community_contents(&mut tx, community)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(contents.customers.len(), 1);
    assert_eq!(contents.customers[0].0, customer);
    imports::finish(&db, tx, true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let contents = imports::community_contents(&mut tx, community)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    imports::finish(&db, tx, true)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(contents.customers.is_empty(), "the dry run kept nothing");
    let units = {
        let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
        let units = imports::units(&mut tx)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        imports::finish(&db, tx, true)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        units
    };
    assert_eq!(units.len(), 1);
    assert_eq!(units[0].kind, UnitKind::PropertyOffice);
}

async fn the_registry_fingerprint_follows_this_process_at_once_and_others_within_a_second(
    backend: Backend,
) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    let fingerprint = |db: Database| async move {
        huifang_store::changes::registry_fingerprint(&db)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let before = fingerprint(db.clone()).await;
    // A change through this process is seen at once.
    RegistryStore::new(db.clone())
        .create_staff(staff("wang", None))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let after = fingerprint(db.clone()).await;
    assert_ne!(before, after);
    // A change this process did not make (another instance: a second pool on the same database)
    // is seen once what was kept is older than FRESH_FOR.
    let other = db.clone_without_memory();
    RegistryStore::new(other)
        .create_staff(staff("li", None))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::time::sleep(huifang_store::FRESH_FOR + std::time::Duration::from_millis(50)).await;
    assert_ne!(fingerprint(db.clone()).await, after);
}

/// Group commit (`huifang_store::writer`): many writes at once, some abandoned, while a reader
/// watches. Every committed change-sequence number's write is visible the moment the head says
/// so (a device at cursor `h` never misses a smaller number committed later), the kept writes
/// take every number with no gap, and the audit chain still verifies.
async fn concurrent_writes_share_commits_yet_stay_gap_free_and_visible_in_order(backend: Backend) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    let start: i64 = sqlx::query_scalar("SELECT value FROM change_sequence WHERE id = 1")
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (db, done) = (db.clone(), done.clone());
        tokio::spawn(async move {
            let mut looks = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) || looks == 0 {
                // One statement: one snapshot on both engines.
                let (head, kept): (i64, i64) = sqlx::query_as(
                    "SELECT (SELECT value FROM change_sequence WHERE id = 1),
                            (SELECT COUNT(*) FROM audit_log WHERE action = 'test.kept')",
                )
                .fetch_one(db.pool())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(head - start, kept, "the head runs ahead of what is visible");
                looks += 1;
                tokio::task::yield_now().await;
            }
        })
    };
    let mut writes = Vec::new();
    for n in 0..60 {
        let db = db.clone();
        writes.push(tokio::spawn(async move {
            let mut write = DocWrite::begin(&db, AuditActor::SERVER, shanghai())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let seq = write.seq;
            let keep = n % 5 != 0;
            let action = if keep { "test.kept" } else { "test.abandoned" };
            write
                .audit(action, &format!("w{n}"), serde_json::json!({ "seq": seq }))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            tokio::task::yield_now().await;
            if keep {
                write.commit().await.unwrap_or_else(|e| panic!("{e}"));
                Some(seq)
            } else {
                None
            }
        }));
    }
    let mut kept = Vec::new();
    for write in writes {
        if let Some(seq) = write.await.unwrap_or_else(|e| panic!("{e}")) {
            kept.push(seq);
        }
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    reader.await.unwrap_or_else(|e| panic!("{e}"));
    kept.sort_unstable();
    assert_eq!(kept, ((start + 1)..=(start + 48)).collect::<Vec<_>>());
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT detail FROM audit_log WHERE action = 'test.kept' ORDER BY id")
            .fetch_all(db.pool())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    let stored: Vec<i64> = stored
        .iter()
        .map(|detail| {
            serde_json::from_str::<serde_json::Value>(detail)
                .ok()
                .and_then(|d| d["seq"].as_i64())
                .unwrap_or_else(|| panic!("detail {detail}"))
        })
        .collect();
    assert_eq!(stored, kept, "entries are stored in change-sequence order");
    let abandoned: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'test.abandoned'")
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(abandoned, 0);
    let head: i64 = sqlx::query_scalar("SELECT value FROM change_sequence WHERE id = 1")
        .fetch_one(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(head, start + 48);
    let verified = audit::verify(&db).await.unwrap_or_else(|e| panic!("{e}"));
    assert!(verified.problems.is_empty(), "{:?}", verified.problems);
}

/// A write kept while another waits for its turn is left open for that one to join; if the
/// waiter gives up (its request was cancelled), the kept write is still committed.
async fn a_write_that_stops_waiting_does_not_strand_the_writes_before_it(backend: Backend) {
    let Some((db, _dir)) = database(backend).await else {
        return;
    };
    db.hold_write_batches_up_to(std::time::Duration::from_secs(60))
        .await;
    let mut first = DocWrite::begin(&db, AuditActor::SERVER, shanghai())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    first
        .audit("test.kept", "first", serde_json::json!({}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let waiter = {
        let db = db.clone();
        tokio::spawn(async move {
            let _never = DocWrite::begin(&db, AuditActor::SERVER, shanghai()).await;
            std::future::pending::<()>().await;
        })
    };
    // Let the second write queue behind the first, and the first pass the batch on to it.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let committing = tokio::spawn(first.commit());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !committing.is_finished(),
        "the first write waits for the second to join its batch"
    );
    waiter.abort();
    let committed = tokio::time::timeout(std::time::Duration::from_secs(10), committing)
        .await
        .unwrap_or_else(|_| panic!("the kept write was stranded"))
        .unwrap_or_else(|e| panic!("{e}"));
    committed.unwrap_or_else(|e| panic!("{e}"));
    let entries: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'test.kept'")
            .fetch_one(db.pool())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(entries, 1);
}
