//! Crash safety: a child process writes as fast as it can and is killed (SIGKILL) at an arbitrary
//! moment, again and again. Every reopen must find a consistent store that holds every write the
//! child had reported as done.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use huifang_client::{ClientStore, NewSheet};
use huifang_protocol::{ComplaintLevel, InformationSource, SheetCategory};

const CHILD_ENV: &str = "HUIFANG_CRASH_CHILD_DB";

/// The child's work; does nothing unless started by the parent test with `CHILD_ENV`.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store = ClientStore::open(&path, &common::key()).unwrap();
    let mut out = std::io::stdout().lock();
    for n in 0.. {
        let sheet = store
            .accept_sheet(NewSheet {
                level: ComplaintLevel::Ordinary,
                category: SheetCategory::Repair,
                source: InformationSource::HomeVisit,
                household_id: Some(1 + n % 3),
                customer_id: None,
                customer_name: None,
                contact_phone: None,
                customer_address: None,
                items: vec![format!("第{n}个问题")],
            })
            .unwrap();
        writeln!(out, "done sheet {} 0", sheet.id).unwrap();
        out.flush().unwrap();
        for note in 1..=3 {
            let noted = store
                .add_tracking_note(&sheet.id, format!("跟进 {note}"))
                .unwrap();
            writeln!(out, "done sheet {} {}", sheet.id, noted.tracking.len()).unwrap();
            out.flush().unwrap();
        }
    }
}

#[test]
fn killed_mid_write_the_store_reopens_consistent_and_keeps_what_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    drop(common::store(&dir));
    let path = dir.path().join("phone.db");
    let mut acknowledged: HashMap<String, usize> = HashMap::new();
    for round in 0..10u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_child", "--nocapture", "--test-threads=1"])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0;
        let record = |line: &str, acknowledged: &mut HashMap<String, usize>| {
            if let Some(rest) = line.strip_prefix("done sheet ") {
                let (id, notes) = rest.split_once(' ').unwrap();
                let notes: usize = notes.parse().unwrap();
                let entry = acknowledged.entry(id.to_owned()).or_default();
                *entry = (*entry).max(notes);
                true
            } else {
                false
            }
        };
        // Let a different number of writes land each round, then kill without warning.
        let target = 3 + round * 7;
        for line in lines.by_ref() {
            if record(&line.unwrap(), &mut acknowledged) {
                seen += 1;
                if seen >= target {
                    break;
                }
            }
        }
        child.kill().unwrap();
        // Writes reported before the kill are acknowledged too.
        for line in lines {
            let Ok(line) = line else { break };
            record(&line, &mut acknowledged);
        }
        child.wait().unwrap();

        let store = ClientStore::open(&path, &common::key()).unwrap();
        let db = common::raw(&path);
        let integrity: String = db
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(integrity, "ok", "round {round}");
        for (id, notes) in &acknowledged {
            let sheet = store
                .sheet(id)
                .unwrap_or_else(|e| panic!("round {round}: acknowledged sheet {id} lost: {e}"));
            assert!(
                sheet.tracking.len() >= *notes,
                "round {round}: sheet {id} lost acknowledged notes"
            );
        }
        let count = |sql: &str| db.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        let documents = count("SELECT COUNT(*) FROM documents WHERE kind = 'sheet'");
        assert_eq!(
            count("SELECT COUNT(*) FROM sheets"),
            documents,
            "round {round}: a projection per document"
        );
        // Every committed write was queued exactly once: one outbox entry per sheet and per note.
        let mut writes = 0;
        let ids: Vec<String> = {
            let mut stmt = db
                .prepare("SELECT id FROM documents WHERE kind = 'sheet'")
                .unwrap();
            stmt.query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap()
        };
        for id in &ids {
            writes += 1 + store.sheet(id).unwrap().tracking.len() as i64;
        }
        assert_eq!(
            count("SELECT COUNT(*) FROM outbox"),
            writes,
            "round {round}: outbox matches the writes"
        );
    }
    assert!(
        acknowledged.len() >= 10,
        "the child wrote something each round"
    );
}
