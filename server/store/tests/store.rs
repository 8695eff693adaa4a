//! The store's own suite, run against every engine (as matrix-rust-sdk runs one suite against
//! every store): each test is written once and `on_every_engine!` makes a SQLite and a
//! PostgreSQL test of it. What the HTTP suite proves through the API, this proves at the store's
//! boundary: change sequences, the audit chain, keys, literal search, typed errors.

use huifang_protocol::{Clock, PhoneNumber, Role};
use huifang_store::audit::{self, AuditActor};
use huifang_store::documents::DocWrite;
use huifang_store::registry::{NewStaff, PageRequest, RegistryStore, StaffFilter};
use huifang_store::scope::StaffScope;
use huifang_store::testing::fresh_database;
use huifang_store::{Backend, Database, StoreError};

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
