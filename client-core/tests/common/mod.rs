//! A phone without a server: a store signed in as an office's service-center staff member, with
//! reference rows and documents as the server would send them.

#![allow(dead_code, clippy::unwrap_used)]

use automerge::{ActorId, AutoCommit};
use huifang_client::{ClientStore, ReferenceData, Session, StoreKey};
use huifang_protocol::*;

pub const ME: i64 = 10;
pub const COLLEAGUE: i64 = 11;
pub const UNIT: i64 = 4;

pub fn session(staff_id: i64) -> Session {
    Session {
        server_url: "https://huifang.example.com".into(),
        token: format!("hfs_secret_token_of_{staff_id}"),
        staff_id,
        username: format!("staff{staff_id}"),
        name: "张三".into(),
        role: Role::Staff,
        unit_id: Some(UNIT),
        work_units: vec![UNIT],
        time_zone: "Asia/Shanghai".into(),
    }
}

pub fn households() -> ReferenceData {
    let household = |id: i64, building: &str, room: &str, customer: (i64, &str, &str)| Household {
        id,
        community_id: 1,
        community_name: "碧水湾".into(),
        building_id: if building == "1栋" { 1 } else { 2 },
        building_name: building.into(),
        room: room.into(),
        address: format!("碧水湾{building}{room}"),
        customers: vec![Customer {
            id: customer.0,
            household_id: id,
            name: customer.1.into(),
            phone: customer.2.into(),
            consultant_id: None,
        }],
    };
    ReferenceData {
        units: vec![Unit {
            id: UNIT,
            code: "PMO-BSW-CSC".into(),
            name: "客户服务中心".into(),
            kind: UnitKind::CustomerServiceCenter,
            parent_id: None,
            community_id: Some(1),
        }],
        staff: vec![],
        households: vec![
            household(1, "1栋", "101", (1, "陈志强", "13800138001")),
            household(2, "1栋", "102", (2, "黄建华", "13900138003")),
            household(3, "2栋", "101", (3, "郑玉兰", "13700137005")),
        ],
        survey_forms: Vec::new(),
    }
}

/// The key of the tests' stores (an app would keep a random one in the platform's key store).
pub fn key() -> StoreKey {
    StoreKey::from_bytes(&[7; StoreKey::LEN]).unwrap()
}

/// The store at `phone.db` in `dir`, opened with [`key`].
pub fn open(dir: &tempfile::TempDir) -> ClientStore {
    ClientStore::open(dir.path().join("phone.db"), &key()).unwrap()
}

/// A raw connection to the store's file, for a test that damages or inspects it as SQLite sees
/// it (the store's own key given, as the store does).
pub fn raw(path: &std::path::Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(path).unwrap();
    db.pragma_update(None, "key", format!("x'{}'", "07".repeat(StoreKey::LEN)))
        .unwrap();
    db
}

/// A signed-in store with the reference rows.
pub fn store(dir: &tempfile::TempDir) -> ClientStore {
    signed_in(open(dir))
}

/// `store`, signed in with the reference rows.
pub fn signed_in(store: ClientStore) -> ClientStore {
    store.sign_in(session(ME)).unwrap();
    store.apply_reference(&households()).unwrap();
    store
}

pub fn id(n: u32) -> String {
    format!("{n:032x}")
}

pub fn sheet(n: u32, household: i64, category: SheetCategory) -> Sheet {
    Sheet {
        schema_version: SCHEMA_VERSION,
        id: id(1_000_000 + n),
        number: Some(format!("HF-2026-{n:06}")),
        accepted_at: "2026-11-27T01:00:00.000Z".into(),
        level: ComplaintLevel::Ordinary,
        category,
        source: InformationSource::Phone,
        household_id: Some(household),
        customer_id: Some(household),
        customer_name: "陈志强".into(),
        customer_address: "碧水湾1栋101".into(),
        contact_phone: "13800138001".into(),
        accepted_by: ME,
        accepting_unit_id: UNIT,
        handling_unit_id: Some(UNIT),
        items: vec![ReportedItem {
            id: id(2_000_000 + n),
            text: "厨房水管漏水".into(),
        }],
        investigation: "上门查看".into(),
        tracking: vec![],
        result: "已更换水管".into(),
        handled_at: Some("2026-11-27T02:00:00.000Z".into()),
        status: SheetStatus::Handled,
        invalid_reason: None,
        reopened_from: None,
        created_at: "2026-11-27T01:00:00.000Z".into(),
        photos: Vec::new(),
    }
}

pub fn follow_up(n: u32, household: i64, due_at: &str, assignee: Option<i64>) -> FollowUp {
    FollowUp {
        schema_version: SCHEMA_VERSION,
        id: id(n),
        kind: FollowUpKind::Information,
        sheet_id: Some(id(1_000_000 + n)),
        household_id: Some(household),
        customer_id: Some(household),
        customer_name: format!("客户{n}"),
        contact_phone: "13800138001".into(),
        assignee_unit_id: UNIT,
        assignee_staff_id: assignee,
        rule: AssignmentRule::OfficeFollowsUp,
        due_at: due_at.into(),
        status: FollowUpStatus::Open,
        outcome: None,
        unreachable_attempts: vec![],
        signature: None,
        cancel_reason: None,
        overdue_at: None,
        escalations: vec![],
        reassignments: vec![],
        created_at: "2026-11-27T02:00:00.000Z".into(),
        survey_form_id: None,
        survey_response: None,
        photos: Vec::new(),
    }
}

/// Saves a document as the server would send it.
pub fn server_bytes<D: Document>(value: &D) -> Vec<u8> {
    let mut doc = AutoCommit::new().with_actor(ActorId::from(b"server".to_vec()));
    value.reconcile_into(&mut doc).unwrap();
    doc.save()
}

/// Sends a sheet and its follow-up to the phone.
pub fn deliver(
    store: &ClientStore,
    n: u32,
    household: i64,
    category: SheetCategory,
    due_at: &str,
    assignee: Option<i64>,
) -> FollowUp {
    let sheet = sheet(n, household, category);
    store
        .receive_document(&sheet.id, DocumentKind::Sheet, &server_bytes(&sheet))
        .unwrap();
    let follow_up = follow_up(n, household, due_at, assignee);
    store
        .receive_document(
            &follow_up.id,
            DocumentKind::FollowUp,
            &server_bytes(&follow_up),
        )
        .unwrap();
    follow_up
}

pub fn ratings(overall: u8) -> Ratings {
    Ratings {
        handling: 5,
        efficiency: 4,
        quality: 5,
        attitude: 5,
        overall,
    }
}
