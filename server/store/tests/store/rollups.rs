//! The monthly roll-up against a recount (issue #17): random writes of every kind the server
//! makes — sheets accepted and reclassified, follow-ups created, completed, reassigned, moved to
//! another month, marked overdue in batches, plan items planned, claimed and removed, writes
//! abandoned — interleaved with the clock passing deadlines; after each step every cell of the
//! roll-up equals a recount from the projections, and every figure grouping read from it equals
//! the same grouping recounted from the projections with their joins (D-STA-2, D-STA-3).

use chrono::{DateTime, Duration, Utc};
use huifang_protocol::{
    AssignmentRule, ComplaintLevel, FollowUp, FollowUpKind, FollowUpMethod, FollowUpStatus,
    InformationSource, Labelled, Outcome, Ratings, Sheet, SheetCategory, SheetStatus, UnitKind,
    UnreachableAttempt, format_time,
};
use huifang_store::audit::AuditActor;
use huifang_store::documents::DocWrite;
use huifang_store::figures::{self, GroupBy};
use huifang_store::{Backend, Database, followups, imports, rollups, sheets};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

const MONTHS: [&str; 3] = ["2026-05", "2026-06", "2026-07"];

/// Households (with their community) and units (a centre under an office, and another office).
struct Company {
    households: Vec<i64>,
    units: Vec<i64>,
}

async fn company(db: &Database) -> Company {
    let now = db.now_text();
    let mut tx = db.begin().await.unwrap_or_else(|e| panic!("{e}"));
    let mut households = Vec::new();
    let mut communities = Vec::new();
    for name in ["翠湖", "南山"] {
        let community = imports::insert_community(&mut tx, name, "", &now)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        communities.push(community);
        let building = imports::building(&mut tx, community, "1栋", &now)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for room in ["101", "102", "201"] {
            households.push(
                imports::insert_household(&mut tx, community, building, room, room, &now)
                    .await
                    .unwrap_or_else(|e| panic!("{e}")),
            );
        }
    }
    let mut units = Vec::new();
    for (code, kind, parent, community) in [
        ("PO1", UnitKind::PropertyOffice, None, Some(communities[0])),
        ("CS1", UnitKind::CustomerServiceCenter, Some(0), None),
        ("PO2", UnitKind::PropertyOffice, None, Some(communities[1])),
    ] {
        let parent_id = parent.map(|i: usize| units[i]);
        units.push(
            imports::put_unit(
                &mut tx,
                None,
                &huifang_protocol::Unit {
                    id: 0,
                    code: code.into(),
                    name: code.into(),
                    kind,
                    parent_id,
                    community_id: community,
                },
                &now,
            )
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        );
    }
    imports::finish(db, tx, false)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Company { households, units }
}

fn pick<T: Copy>(rng: &mut StdRng, from: &[T]) -> T {
    *from
        .choose(rng)
        .unwrap_or_else(|| panic!("nothing to pick from"))
}

/// A time in one of the months (Shanghai is UTC+8: keep clear of the month's edges).
fn time_in(rng: &mut StdRng) -> DateTime<Utc> {
    let month = pick(rng, &MONTHS);
    let day = rng.gen_range(1..=28);
    let hour = rng.gen_range(0..=15);
    format!("{month}-{day:02}T{hour:02}:30:00Z")
        .parse()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn sheet(rng: &mut StdRng, id: &str, company: &Company) -> Sheet {
    let accepted = time_in(rng);
    let status = pick(rng, SheetStatus::ALL);
    Sheet {
        schema_version: 1,
        id: id.to_owned(),
        number: None,
        accepted_at: format_time(accepted),
        level: pick(rng, ComplaintLevel::ALL),
        category: pick(rng, SheetCategory::ALL),
        source: InformationSource::Phone,
        household_id: Some(pick(rng, &company.households)),
        customer_id: None,
        customer_name: "业主".into(),
        customer_address: String::new(),
        contact_phone: String::new(),
        accepted_by: 1,
        accepting_unit_id: pick(rng, &company.units),
        handling_unit_id: None,
        items: Vec::new(),
        investigation: String::new(),
        tracking: Vec::new(),
        result: String::new(),
        handled_at: rng
            .gen_bool(0.6)
            .then(|| format_time(accepted + Duration::hours(5))),
        status,
        invalid_reason: None,
        reopened_from: None,
        created_at: format_time(accepted),
        photos: Vec::new(),
    }
}

/// A follow-up in a random state: its outcome, attempts and ratings agree with its status.
fn follow_up(
    rng: &mut StdRng,
    id: &str,
    company: &Company,
    sheets: &[String],
    kind: FollowUpKind,
) -> FollowUp {
    let due = time_in(rng);
    let status = pick(rng, FollowUpStatus::ALL);
    let when = |rng: &mut StdRng| format_time(due + Duration::hours(rng.gen_range(-30..30)));
    let outcome = (status == FollowUpStatus::Completed).then(|| Outcome {
        method: FollowUpMethod::Phone,
        done_at: when(rng),
        ratings: Ratings {
            handling: rng.gen_range(1..=5),
            efficiency: rng.gen_range(1..=5),
            quality: rng.gen_range(1..=5),
            attitude: rng.gen_range(1..=5),
            overall: rng.gen_range(1..=5),
        },
        opinions: String::new(),
        recorded_by: 1,
    });
    let attempts = if matches!(
        status,
        FollowUpStatus::Unreachable | FollowUpStatus::ClosedUnreachable
    ) {
        (0..3)
            .map(|n| UnreachableAttempt {
                id: format!("{id}-a{n}"),
                at: when(rng),
                by_staff_id: 1,
                method: FollowUpMethod::Phone,
                note: String::new(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let sheet_id = match kind {
        FollowUpKind::Information => sheets.choose(rng).cloned(),
        _ => None,
    };
    FollowUp {
        schema_version: 1,
        id: id.to_owned(),
        kind,
        sheet_id,
        household_id: Some(pick(rng, &company.households)),
        customer_id: None,
        customer_name: "业主".into(),
        contact_phone: String::new(),
        assignee_unit_id: pick(rng, &company.units),
        assignee_staff_id: None,
        rule: AssignmentRule::AcceptorFollowsUp,
        due_at: format_time(due),
        status,
        outcome,
        unreachable_attempts: attempts,
        signature: None,
        cancel_reason: None,
        overdue_at: rng.gen_bool(0.3).then(|| format_time(due)),
        escalations: Vec::new(),
        reassignments: Vec::new(),
        created_at: format_time(due - Duration::days(1)),
        survey_form_id: None,
        survey_response: None,
        photos: Vec::new(),
    }
}

async fn document_row(write: &mut DocWrite, id: &str, kind: &str) {
    let now = write.now_text();
    sqlx::query(
        "INSERT INTO documents (id, kind, bytes, seq, created_at, updated_at)
         VALUES ($1, $2, $3, 1, $4, $4)",
    )
    .bind(id)
    .bind(kind)
    .bind(Vec::<u8>::new())
    .bind(now)
    .execute(write.tx())
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

async fn run(write: &mut DocWrite, sql: &str) {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .execute(write.tx())
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"));
}

/// Every grouping a cell answers, over the three months, one month, and some units only: read
/// from the roll-up, then recounted.
async fn assert_figures_match_a_recount(db: &Database, context: &str) {
    assert_eq!(
        rollups::differences(db)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        (0, 0),
        "roll-up cells against a recount, {context}"
    );
    let ranges = [(MONTHS[0], MONTHS[2]), (MONTHS[1], MONTHS[1])];
    for (from, to) in ranges {
        for units in [None, Some(&[1_i64, 2][..])] {
            for by in [
                GroupBy::Total,
                GroupBy::Month,
                GroupBy::Unit,
                GroupBy::TopUnit,
                GroupBy::Community,
                GroupBy::Category,
                GroupBy::Level,
            ] {
                let sorted = |mut groups: Vec<figures::GroupCounts>| {
                    groups.sort_by(|a, b| a.key.cmp(&b.key));
                    groups
                };
                let read = figures::counts(db, from, to, by, units)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                let recounted = figures::recount(db, from, to, by, units)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(
                    sorted(read),
                    sorted(recounted),
                    "{by:?} {from}..{to} units {units:?}, {context}"
                );
            }
        }
    }
}

pub async fn d_sta_2_the_monthly_roll_up_equals_a_recount_whatever_writes_and_whenever(
    backend: Backend,
) {
    for seed in 0..3_u64 {
        let Some((db, _dir)) = super::database(backend).await else {
            return;
        };
        let clock = db.clock().clone();
        let company = company(&db).await;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut sheet_docs: Vec<Sheet> = Vec::new();
        let mut follow_up_docs: Vec<FollowUp> = Vec::new();
        let mut items = 0_i64;
        for step in 0..70 {
            let kept = rng.gen_bool(0.9);
            let mut write = DocWrite::begin(&db, AuditActor::SERVER, super::shanghai())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            let what = rng.gen_range(0..9);
            match what {
                // A sheet accepted.
                _ if sheet_docs.is_empty() || what == 0 => {
                    let id = format!("s{seed}-{step}");
                    let new = sheet(&mut rng, &id, &company);
                    document_row(&mut write, &id, "sheet").await;
                    sheets::project(&mut write, &new)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    if kept {
                        sheet_docs.push(new);
                    }
                }
                // A sheet reclassified, re-routed, handled, found invalid, moved to another
                // household: its follow-ups move with it.
                1 => {
                    let index = rng.gen_range(0..sheet_docs.len());
                    let mut changed = sheet(&mut rng, &sheet_docs[index].id, &company);
                    if rng.gen_bool(0.5) {
                        changed.accepted_at = sheet_docs[index].accepted_at.clone();
                    }
                    sheets::project(&mut write, &changed)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    if kept {
                        sheet_docs[index] = changed;
                    }
                }
                // A follow-up created.
                2 | 3 => {
                    let id = format!("f{seed}-{step}");
                    let kind = pick(&mut rng, FollowUpKind::ALL);
                    let sheet_ids: Vec<String> = sheet_docs.iter().map(|s| s.id.clone()).collect();
                    let new = follow_up(&mut rng, &id, &company, &sheet_ids, kind);
                    document_row(&mut write, &id, "follow_up").await;
                    followups::project(&mut write, &new)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    if kept {
                        follow_up_docs.push(new);
                    }
                }
                // A follow-up done, found unreachable, cancelled, reassigned or moved — late
                // edits to a closed month among them.
                4 | 5 if !follow_up_docs.is_empty() => {
                    let index = rng.gen_range(0..follow_up_docs.len());
                    let old = &follow_up_docs[index];
                    let sheet_ids: Vec<String> = sheet_docs.iter().map(|s| s.id.clone()).collect();
                    let mut changed = follow_up(&mut rng, &old.id, &company, &sheet_ids, old.kind);
                    changed.sheet_id.clone_from(&old.sheet_id);
                    if rng.gen_bool(0.5) {
                        changed.due_at.clone_from(&old.due_at);
                    }
                    followups::project(&mut write, &changed)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    if kept {
                        follow_up_docs[index] = changed;
                    }
                }
                // The deadline job marks a batch overdue.
                6 if !follow_up_docs.is_empty() => {
                    let ids: Vec<String> = follow_up_docs
                        .iter()
                        .filter(|_| rng.gen_bool(0.4))
                        .map(|f| f.id.clone())
                        .collect();
                    let at = write.now_text();
                    followups::project_overdue(&mut write, &ids, &at)
                        .await
                        .unwrap_or_else(|e| panic!("{e}"));
                    if kept {
                        for f in follow_up_docs.iter_mut().filter(|f| ids.contains(&f.id)) {
                            f.overdue_at = Some(at.clone());
                        }
                    }
                }
                // Plan items planned (some with their follow-up already claimed).
                7 => {
                    let mut rows = Vec::new();
                    for _ in 0..rng.gen_range(1..4) {
                        items += 1;
                        let follow_up = follow_up_docs
                            .choose(&mut rng)
                            .filter(|_| rng.gen_bool(0.5))
                            .map_or("NULL".to_owned(), |f| format!("'{}'", f.id));
                        rows.push(format!(
                            "('{}', {}, {items}, {}, 0, 1, '{{}}', {follow_up})",
                            pick(&mut rng, &MONTHS),
                            pick(&mut rng, &company.units),
                            pick(&mut rng, &company.households),
                        ));
                    }
                    run(
                        &mut write,
                        &format!(
                            "INSERT INTO routine_plan_items (month, unit_id, staff_id, household_id,
                                sampled, cycle, reason, follow_up_id) VALUES {}",
                            rows.join(", ")
                        ),
                    )
                    .await;
                }
                // A plan item claimed by a follow-up, or one removed.
                _ if items > 0 && !follow_up_docs.is_empty() => {
                    let item = rng.gen_range(1..=items);
                    let follow_up = &pick(&mut rng, &follow_up_docs.iter().collect::<Vec<_>>()).id;
                    if rng.gen_bool(0.8) {
                        run(
                            &mut write,
                            &format!(
                                "UPDATE routine_plan_items SET follow_up_id = '{follow_up}'
                                 WHERE staff_id = {item}"
                            ),
                        )
                        .await;
                    } else {
                        run(
                            &mut write,
                            &format!("DELETE FROM routine_plan_items WHERE staff_id = {item}"),
                        )
                        .await;
                    }
                }
                _ => {}
            }
            if kept {
                write.commit().await.unwrap_or_else(|e| panic!("{e}"));
            } else {
                drop(write);
            }
            // Deadlines pass: information follow-ups enter the 24-hour rate.
            clock.advance(Duration::hours(rng.gen_range(0..40)));
            if step % 7 == 6 {
                assert_figures_match_a_recount(&db, &format!("seed {seed}, step {step}")).await;
            }
        }
        assert_figures_match_a_recount(&db, &format!("seed {seed}, at the end")).await;
        // A late edit to a closed month moves that month's figures in the same commit.
        let closed = figures::counts(&db, MONTHS[0], MONTHS[0], GroupBy::Total, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let due_before = closed.first().map_or(0, |g| g.follow_ups_due);
        let mut write = DocWrite::begin(&db, AuditActor::SERVER, super::shanghai())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let id = format!("late{seed}");
        let sheet_ids: Vec<String> = sheet_docs.iter().map(|s| s.id.clone()).collect();
        let mut late = follow_up(&mut rng, &id, &company, &sheet_ids, FollowUpKind::Routine);
        late.due_at = "2026-05-20T02:00:00Z".into();
        late.status = FollowUpStatus::Open;
        late.outcome = None;
        late.unreachable_attempts.clear();
        document_row(&mut write, &id, "follow_up").await;
        followups::project(&mut write, &late)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        write.commit().await.unwrap_or_else(|e| panic!("{e}"));
        let after = figures::counts(&db, MONTHS[0], MONTHS[0], GroupBy::Total, None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            after.first().map(|g| g.follow_ups_due),
            Some(due_before + 1)
        );
    }
}
