//! Property: a server and three phones, random offline edits, syncs in random order and lost
//! responses. In the end every replica agrees with the server and no change a phone accepted is
//! lost.

use std::collections::BTreeSet;

use huifang_protocol::{FollowUpMethod, Sheet};
use proptest::prelude::*;

use crate::helpers::{Backend, PASSWORD, TestApp, spawn_app};
use crate::sheets::{accept, handle};
use crate::sync::Phone;

const PHONES: &[&str] = &["bsw.csc.01", "bsw.office.head", "dev.head"];

#[derive(Debug, Clone)]
enum Step {
    /// A phone adds a tracking note to one of the open sheets.
    Note { phone: usize, sheet: usize },
    /// A phone records a failed call on one of the follow-ups.
    Unreachable { phone: usize, follow_up: usize },
    /// A phone syncs; its first answer may be lost on the way back.
    Sync { phone: usize, lose_answer: bool },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..PHONES.len(), 0..3usize).prop_map(|(phone, sheet)| Step::Note { phone, sheet }),
        1 => (0..PHONES.len(), 0..2usize).prop_map(|(phone, follow_up)| Step::Unreachable { phone, follow_up }),
        3 => (0..PHONES.len(), any::<bool>()).prop_map(|(phone, lose_answer)| Step::Sync { phone, lose_answer }),
    ]
}

async fn run(app: TestApp, steps: Vec<Step>) {
    let csc = app.login("bsw.csc.01", PASSWORD).await;
    let mut sheets = Vec::new();
    for customer in ["陈志强", "黄建华", "郑玉兰"] {
        sheets.push(
            accept(&app, &csc, customer, "ordinary", "property_service").await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut follow_ups = Vec::new();
    for customer in ["周海燕", "李思远"] {
        let handled = handle(
            &app,
            &csc,
            &accept(&app, &csc, customer, "ordinary", "repair").await,
        )
        .await;
        follow_ups.push(handled["follow_up"]["id"].as_str().unwrap().to_owned());
    }
    let mut phones = Vec::new();
    for username in PHONES {
        let phone = Phone::sign_in(&app, username).await;
        phone.sync().await;
        phones.push(phone);
    }
    let mut accepted_notes: BTreeSet<String> = BTreeSet::new();
    for (n, step) in steps.iter().enumerate() {
        match step {
            Step::Note { phone, sheet } => {
                let note = format!("{} 的第{n}条", PHONES[*phone]);
                if phones[*phone]
                    .store
                    .add_tracking_note(&sheets[*sheet], note.clone())
                    .is_ok()
                {
                    accepted_notes.insert(note);
                }
            }
            Step::Unreachable { phone, follow_up } => {
                let _ = phones[*phone].store.record_unreachable(
                    &follow_ups[*follow_up],
                    FollowUpMethod::Phone,
                    format!("第{n}次"),
                );
            }
            Step::Sync { phone, lose_answer } => {
                if *lose_answer {
                    phones[*phone].transport.drop_next_response();
                }
                phones[*phone].sync().await;
            }
        }
    }
    for _ in 0..2 {
        for phone in &phones {
            phone.sync().await;
        }
    }
    for phone in &phones {
        assert!(
            phone.store.pending_changes(100).unwrap().is_empty(),
            "every change reached the server"
        );
    }
    for id in &sheets {
        let on_server: Sheet = serde_json::from_value(
            app.get_json(&csc, &format!("/api/v1/sheets/{id}")).await["sheet"].clone(),
        )
        .unwrap();
        for (phone, username) in phones.iter().zip(PHONES) {
            assert_eq!(
                phone.store.sheet(id).unwrap(),
                on_server,
                "{username} converged on sheet {id}"
            );
        }
        for note in &on_server.tracking {
            accepted_notes.remove(&note.note);
        }
    }
    assert!(
        accepted_notes.is_empty(),
        "notes accepted on a phone but lost: {accepted_notes:?}"
    );
    for id in &follow_ups {
        let on_server = crate::sync::server_follow_up(&app, &csc, id).await;
        let on_phone = serde_json::to_value(phones[0].store.follow_up(id).unwrap()).unwrap();
        assert_eq!(on_phone, on_server, "follow-up {id} converged");
    }
}

fn check(backend: Backend, cases: u32) {
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(steps in prop::collection::vec(step(), 4..24))| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            if let Some(app) = spawn_app(backend).await {
                run(app, steps).await;
            }
        });
    });
}

#[test]
fn sqlite_replicas_converge_whatever_the_order_and_lost_answers() {
    check(Backend::Sqlite, 10);
}

#[test]
fn postgres_replicas_converge_whatever_the_order_and_lost_answers() {
    check(Backend::Postgres, 4);
}
