//! Six months of a working company for the demo (issue #19), lived through the product's own
//! operations rather than written as rows: the front desk accepts sheets, departments handle
//! them, follow-ups are done (on-site signatures for repairs), missed, escalated by the deadline
//! job and reopened by dissatisfied customers (D-CB-3); the monthly job plans routine follow-ups
//! that are mostly done; the annual survey is drafted, approved, sent and answered; heads submit
//! their monthly figures and write an analysis with measures.
//!
//! A clone of the database runs on its own clock, moved forward event by event from six months
//! ago to now, so every stored time, deadline and audit entry is what the live server would have
//! written on that day. The seed is fixed: the same day gives the same company.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use rand::Rng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use huifang_core::auth::{Caller, HouseholdScope, SessionStore, StaffScope};
use huifang_core::followups::{RecordOutcome, RecordUnreachable};
use huifang_core::plans::Month;
use huifang_core::reports::{analyses, submissions};
use huifang_core::sheets::{AcceptSheet, HandleSheet, SheetEdit};
use huifang_core::{Company, Error};
use huifang_protocol::{
    ComplaintLevel, FollowUp, FollowUpKind, FollowUpMethod, FollowUpStatus, InformationSource,
    Outcome, QuestionKind, Ratings, Role, Sheet, SheetCategory, SignatureRef, SurveyAnswer,
    SurveyChannel, SurveyContent, SurveyOption, SurveyQuestion, content_sha256, format_time,
};
use huifang_store::db::Database;
use huifang_store::followups::{FollowUpFilter, FollowUpView};
use huifang_store::registry::{HouseholdFilter, PageRequest, RegistryStore, StaffFilter};

/// How far back the history begins: this month and the five before it.
const MONTHS: u32 = 6;
/// How many routine follow-ups or answer sheets are recorded together at most.
const BATCH: usize = 64;
/// How many of a batch's writes are in flight at once.
const IN_FLIGHT: usize = 8;
/// The device name of the sessions the history works through (revoked at the end).
const DEVICE: &str = "演示数据";

/// What happens at a moment of the history.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// The monthly job's pass (plans the month's routine follow-ups).
    MonthlyPlan,
    /// The deadline job's pass (R-INF-4).
    Deadlines,
    /// A customer calls or walks in: a sheet is accepted in a community (its index).
    Accept(usize),
    /// A sheet's handling unit handles it (or finds it invalid).
    Handle(String),
    /// A follow-up is done: the customer is reached and rates the service.
    Complete(String),
    /// An attempt to reach the customer fails (the third makes the follow-up unreachable).
    Miss(String),
    /// The month's routine follow-ups are scheduled over the month.
    ScheduleRoutine,
    /// A head hands in a month's figures (R-STA-2).
    Submit(String, Month),
    /// The survey's steps (R-SUR-1, R-SUR-2).
    SurveyDraft,
    SurveyApprove,
    SurveyDistribute,
    SurveyAnswer(String),
    /// A property office's head writes the quarter's analysis with measures.
    Analysis,
}

/// Everything the history needs to know about the company it works in.
struct Cast {
    /// Callers by username, each with a session of its own.
    by_username: HashMap<String, Caller>,
    /// Staff ids by unit.
    by_unit: HashMap<i64, Vec<i64>>,
    by_id: HashMap<i64, Caller>,
    /// Per demo community: its id, the lower-case code its staff's usernames start with, and its
    /// households' ids. Other companies' communities in the same database are left alone.
    communities: Vec<(i64, String, Vec<i64>)>,
}

impl Cast {
    fn caller(&self, username: &str) -> Result<&Caller, Error> {
        self.by_username
            .get(username)
            .ok_or_else(|| Error::internal(format!("demo staff {username} is missing")))
    }

    /// Who does the work assigned to `unit` (and `staff`, when named): the person named, else
    /// someone of the unit, ordinary staff first.
    fn doer(&self, unit: i64, staff: Option<i64>, rng: &mut StdRng) -> Result<&Caller, Error> {
        let id = match staff {
            Some(id) => Some(id),
            None => self.by_unit.get(&unit).and_then(|members| {
                let of_role = |role: Role| -> Vec<i64> {
                    members
                        .iter()
                        .copied()
                        .filter(|id| self.by_id.get(id).is_some_and(|c| c.role == role))
                        .collect()
                };
                // A sales site's consultants see only their own customers' matters.
                let staff = of_role(Role::Staff);
                let pool = if staff.is_empty() {
                    of_role(Role::UnitHead)
                } else {
                    staff
                };
                pool.choose(rng).copied()
            }),
        };
        id.and_then(|id| self.by_id.get(&id))
            .ok_or_else(|| Error::internal(format!("nobody works in unit {unit}")))
    }
}

/// A follow-up waiting to be done: whose it is, and for an information follow-up the documents a
/// signature binds (D-SIG-1).
struct Task {
    kind: FollowUpKind,
    unit: i64,
    staff: Option<i64>,
    signable: Option<(Sheet, FollowUp)>,
}

impl Task {
    fn of(summary: &huifang_store::followups::FollowUpSummary, kind: FollowUpKind) -> Self {
        Task {
            kind,
            unit: summary.assignee_unit_id,
            staff: summary.assignee_staff_id,
            signable: None,
        }
    }
}

/// The history's progress, kept between events.
struct Story {
    company: Company,
    clock: huifang_protocol::Clock,
    cast: Cast,
    rng: StdRng,
    queue: BinaryHeap<Reverse<(DateTime<Utc>, u64, Event)>>,
    next: u64,
    /// Follow-ups waiting for their next event, by id.
    tasks: HashMap<String, Task>,
    survey: Option<i64>,
}

impl Story {
    /// Whether `event` can be done in a batch with its neighbours: nothing follows from it.
    fn batchable(&self, event: &Event) -> bool {
        match event {
            Event::Complete(id) => self
                .tasks
                .get(id)
                .is_some_and(|task| task.kind == FollowUpKind::Routine),
            Event::SurveyAnswer(_) => true,
            _ => false,
        }
    }

    fn at(&mut self, when: DateTime<Utc>, event: Event) {
        self.next += 1;
        self.queue.push(Reverse((when, self.next, event)));
    }

    fn local(&self, month: Month, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        let day = day.clamp(1, month.days());
        month.day_start(day, self.company.time_zone())
            + Duration::hours(i64::from(hour))
            + Duration::minutes(i64::from(minute))
    }

    /// A working moment `hours` (± a little) after `from`, moved into office hours.
    fn later(&mut self, from: DateTime<Utc>, hours: std::ops::Range<i64>) -> DateTime<Utc> {
        let minutes = self.rng.gen_range(hours.start * 60..hours.end * 60);
        let when = from + Duration::minutes(minutes);
        let tz = self.company.time_zone();
        let local = when.with_timezone(&tz);
        match local.hour() {
            8..=20 => when,
            // Night: the next morning, when the office opens.
            h => {
                let days = if h > 20 { 1 } else { 0 };
                let date = local.date_naive() + Duration::days(days);
                let open = NaiveTime::from_hms_opt(8, self.rng.gen_range(30..59), 0)
                    .unwrap_or(NaiveTime::MIN);
                tz.from_local_datetime(&date.and_time(open))
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or(when)
            }
        }
    }
}

/// When the history begins: the start of the month five months before `now`'s.
pub(super) fn beginning(now: DateTime<Utc>, time_zone: Tz) -> DateTime<Utc> {
    let mut first = Month::of(now, time_zone);
    for _ in 1..MONTHS {
        first = first.previous();
    }
    first.start(time_zone)
}

/// Lives the company's last six months, from [`beginning`] to `now`, on `past`: a clone of the
/// live database whose clock this moves forward event by event.
pub(super) async fn live(
    past: &Database,
    clock: huifang_protocol::Clock,
    now: DateTime<Utc>,
    time_zone: Tz,
    rng: StdRng,
) -> Result<(), Error> {
    let current = Month::of(now, time_zone);
    let first = Month::of(beginning(now, time_zone), time_zone);
    let company = Company::new(past.clone(), time_zone);
    let sessions = SessionStore::new(past.clone(), Duration::days(400));
    let cast = cast(&company, &sessions).await?;
    let mut story = Story {
        company,
        clock,
        cast,
        rng,
        queue: BinaryHeap::new(),
        next: 0,
        tasks: HashMap::new(),
        survey: None,
    };
    schedule(&mut story, first, current, now);
    // Events due by a quarter of an hour ago happen; later ones are the future.
    let until = now - Duration::minutes(15);
    while let Some(Reverse((when, _, event))) = story.queue.pop() {
        if when > until {
            break;
        }
        if story.batchable(&event) {
            // Routine follow-ups and answer sheets lead to nothing further: the ones due
            // before the next other event are recorded together (their own times kept), so
            // their writes share commits as a busy office's phones' would.
            let mut batch = vec![(when, event)];
            while batch.len() < BATCH {
                match story.queue.peek() {
                    Some(Reverse((next, _, event))) if *next <= until && story.batchable(event) => {
                        if let Some(Reverse((next, _, event))) = story.queue.pop() {
                            batch.push((next, event));
                        }
                    }
                    _ => break,
                }
            }
            if let Some((last, _)) = batch.last() {
                story.clock.set(*last);
            }
            together(&mut story, batch).await?;
        } else {
            story.clock.set(when);
            happen(&mut story, event, current).await?;
        }
    }
    for caller in story.cast.by_id.values() {
        sessions.revoke(caller.session_id).await?;
    }
    phones(&mut story, &sessions, until, now).await
}

/// The phones staff carry (#18): each signed in and synced a few minutes ago with its report
/// (one holds work it has not yet sent, one follow-up done on it offline), so the phones page
/// shows them and an administrator can order a lost one wiped. Their tokens are forgotten.
async fn phones(
    story: &mut Story,
    sessions: &SessionStore,
    from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    const PHONES: &[(&str, &str)] = &[
        ("ch.csc.01", "华为 Mate 60"),
        ("ch.csc.02", "小米 14"),
        ("ch.eng.01", "OPPO Reno 11"),
        ("ch.gw.01", "iPhone 15"),
        ("jx.eng.01", "荣耀 Magic6"),
        ("jx.csc.01", "vivo X100"),
    ];
    let step = (now - from) / (PHONES.len() as i32 + 1);
    for (n, (username, device)) in PHONES.iter().enumerate() {
        let at = from + step * (n as i32 + 1);
        story.clock.set(at);
        let staff = story.cast.caller(username)?.staff_id;
        let issued = sessions.issue(staff, device).await?;
        let phone = sessions.authenticate(&issued.token).await?;
        // The last phone was offline for a while: what it did there has not arrived yet.
        let offline = n + 1 == PHONES.len();
        let done_on_phone = if offline {
            open_follow_up_of(story, &phone)
                .await?
                .map(|follow_up_id| huifang_protocol::DoneOnPhone {
                    follow_up_id,
                    done_at: format_time(at - Duration::minutes(20)),
                })
                .into_iter()
                .collect()
        } else {
            Vec::new()
        };
        let report = huifang_protocol::DeviceReport {
            app_version: "2.3.1".to_owned(),
            schema_version: 3,
            last_synced_at: Some(format_time(
                at - Duration::hours(if offline { 6 } else { 1 }),
            )),
            pending_changes: if offline { 2 } else { 0 },
            oldest_pending_at: offline.then(|| format_time(at - Duration::hours(5))),
            done_on_phone,
        };
        huifang_core::sync::exchange(
            &story.company,
            &phone,
            huifang_protocol::SyncRequest {
                version: huifang_protocol::SYNC_VERSION,
                cursor: 0,
                changes: Vec::new(),
                page_size: 1,
                reference_version: None,
                scope_version: None,
                device: Some(report),
            },
        )
        .await?;
    }
    Ok(())
}

/// An open follow-up `phone`'s owner does, if any.
async fn open_follow_up_of(story: &Story, phone: &Caller) -> Result<Option<String>, Error> {
    let open = huifang_store::followups::list(
        story.company.db(),
        &FollowUpView::Mine {
            staff_id: phone.staff_id,
            unit_id: phone.unit.map(|u| u.id),
        },
        &FollowUpFilter {
            status: Some(FollowUpStatus::Open),
            ..FollowUpFilter::default()
        },
        PageRequest {
            limit: 1,
            offset: 0,
        },
    )
    .await?;
    Ok(open.items.into_iter().next().map(|f| f.id))
}

/// Signs every demo staff member in (a session each) and gathers the units and households.
async fn cast(company: &Company, sessions: &SessionStore) -> Result<Cast, Error> {
    let registry = RegistryStore::new(company.db().clone());
    let staff = registry
        .list_staff(
            StaffScope::All,
            &StaffFilter::default(),
            PageRequest {
                limit: 1_000,
                offset: 0,
            },
        )
        .await?
        .items;
    let mut cast = Cast {
        by_username: HashMap::new(),
        by_unit: HashMap::new(),
        by_id: HashMap::new(),
        communities: Vec::new(),
    };
    for member in &staff {
        let issued = sessions.issue(member.id, DEVICE).await?;
        let caller = sessions.authenticate(&issued.token).await?;
        if let Some(unit) = member.unit_id {
            cast.by_unit.entry(unit).or_default().push(member.id);
        }
        cast.by_username
            .insert(member.username.clone(), caller.clone());
        cast.by_id.insert(member.id, caller);
    }
    for community in registry.list_communities(None).await? {
        let Some(code) = super::community_code(&community.name) else {
            continue;
        };
        let households = registry
            .list_households(
                HouseholdScope::All,
                &HouseholdFilter {
                    community_id: Some(community.id),
                    ..HouseholdFilter::default()
                },
                PageRequest {
                    limit: 10_000,
                    offset: 0,
                },
                false,
            )
            .await?
            .items
            .into_iter()
            .map(|h| h.id)
            .collect();
        cast.communities
            .push((community.id, code.to_lowercase(), households));
    }
    Ok(cast)
}

/// The history's calendar: what happens on which day, before any of it has happened.
fn schedule(story: &mut Story, first: Month, current: Month, now: DateTime<Utc>) {
    let mut month = first;
    let mut index = 0;
    loop {
        story.at(story.local(month, 1, 0, 5), Event::MonthlyPlan);
        story.at(story.local(month, 1, 0, 30), Event::ScheduleRoutine);
        for day in 1..=month.days() {
            for hour in [0, 8, 16] {
                story.at(story.local(month, day, hour, 7), Event::Deadlines);
            }
            // Two to five new matters a day across the two estates, fewer at weekends.
            let start = story.local(month, day, 0, 0);
            let weekend = matches!(
                start.with_timezone(&story.company.time_zone()).weekday(),
                Weekday::Sat | Weekday::Sun
            );
            let count = if weekend {
                story.rng.gen_range(0..3)
            } else {
                story.rng.gen_range(2..6)
            };
            for _ in 0..count {
                let hour = story.rng.gen_range(8..18);
                let minute = story.rng.gen_range(0..60);
                let community = story.rng.gen_range(0..story.cast.communities.len().max(1));
                story.at(
                    story.local(month, day, hour, minute),
                    Event::Accept(community),
                );
            }
        }
        // Monthly figures: each reporting unit's head hands them in near the month's end; one
        // is late once, one has not handed in last month's at all.
        if month < current || story.local(month, 24, 0, 0) < now {
            for (k, head) in [
                "mkt.head",
                "ch.office.head",
                "jx.office.head",
                "ch.sales.head",
                "jx.sales.head",
            ]
            .into_iter()
            .enumerate()
            {
                let missing = month == current.previous() && head == "jx.sales.head";
                if missing {
                    continue;
                }
                let late = index == 2 && head == "jx.office.head";
                let when = if late {
                    story.local(month.next(), 2, 10, 20)
                } else {
                    story.local(month, 24 + k as u32, 16, 10 * k as u32)
                };
                story.at(when, Event::Submit(head.to_owned(), month));
            }
        }
        if month == current.previous() {
            story.at(story.local(month, 27, 15, 0), Event::Analysis);
        }
        if month == current {
            break;
        }
        month = month.next();
        index += 1;
    }
    // This year's opinion survey: drafted and approved six weeks ago, sent five weeks ago and
    // open for another three and a half, about one household in four has answered so far.
    let draft = story.later(now - Duration::days(42), 0..2);
    story.at(draft, Event::SurveyDraft);
    let approve = story.later(now - Duration::days(39), 0..2);
    story.at(approve, Event::SurveyApprove);
    let distribute = story.later(now - Duration::days(35), 0..2);
    story.at(distribute, Event::SurveyDistribute);
}

async fn happen(story: &mut Story, event: Event, current: Month) -> Result<(), Error> {
    let now = story.clock.now();
    let tz = story.company.time_zone();
    match event {
        Event::MonthlyPlan => {
            huifang_core::plans::run_monthly(story.company.db(), tz, now).await?;
        }
        Event::Deadlines => {
            huifang_core::deadlines::escalate_overdue(story.company.db(), tz, now).await?;
        }
        Event::Accept(community) => accept(story, community).await?,
        Event::Handle(id) => handle(story, &id).await?,
        Event::Complete(id) => complete(story, &id).await?,
        Event::Miss(id) => miss(story, &id).await?,
        Event::ScheduleRoutine => schedule_routine(story).await?,
        Event::Submit(head, month) => {
            let caller = story.cast.caller(&head)?.clone();
            let unit = submissions::submitting_unit(&caller, None)?;
            let note = if submissions::is_late(month, now, tz) {
                "月底系统维护，数据延后提交。".to_owned()
            } else {
                String::new()
            };
            submissions::submit(story.company.db(), tz, &caller, month, unit, note).await?;
        }
        Event::SurveyDraft => {
            let caller = story.cast.caller("dev.01")?.clone();
            let year = Month::of(now, tz).year();
            let form =
                huifang_core::surveys::create(story.company.db(), tz, &caller, survey(year), None)
                    .await?;
            huifang_core::surveys::submit(story.company.db(), tz, &caller, form.id).await?;
            story.survey = Some(form.id);
        }
        Event::SurveyApprove => {
            if let Some(id) = story.survey {
                let gm = story.cast.caller("gm")?.clone();
                let form = huifang_core::surveys::get(story.company.db(), id).await?;
                huifang_core::surveys::approve(
                    story.company.db(),
                    tz,
                    &gm,
                    id,
                    &form.content_sha256,
                )
                .await?;
            }
        }
        Event::SurveyDistribute => distribute(story).await?,
        // Recorded in batches (see `together`).
        Event::SurveyAnswer(_) => {}
        Event::Analysis => analysis(story, current).await?,
    }
    Ok(())
}

/// What customers raise: each category with the matters reported under it.
const MATTERS: &[(SheetCategory, &[&str])] = &[
    (
        SheetCategory::Repair,
        &[
            "卫生间地漏返味，下水缓慢",
            "客厅天花板渗水，有水渍",
            "入户门锁芯卡顿，钥匙难以转动",
            "厨房水龙头漏水",
            "阳台推拉门滑轨变形，关不严",
        ],
    ),
    (
        SheetCategory::WarrantyRepair,
        &[
            "主卧墙面出现裂缝，仍在保修期内",
            "外窗密封胶老化，下雨渗水",
            "地暖分水器漏水",
        ],
    ),
    (
        SheetCategory::CompanyFundedRepair,
        &["楼道防火门闭门器损坏", "地下车库顶板渗水滴到车上"],
    ),
    (
        SheetCategory::PropertyService,
        &[
            "夜间电梯噪音大，影响休息",
            "小区绿化带杂草较多，希望修剪",
            "快递柜附近照明不足",
            "邻居装修超时施工",
            "垃圾分类点清运不及时",
        ],
    ),
    (
        SheetCategory::PropertyCertificate,
        &["咨询房产证办理进度", "房产证上面积与合同不一致"],
    ),
    (
        SheetCategory::Mortgage,
        &["公积金贷款审批进度咨询", "按揭合同需要补充材料"],
    ),
    (SheetCategory::Measurement, &["对实测面积有异议，申请复测"]),
    (
        SheetCategory::SalesMatter,
        &["车位销售价格咨询", "购房合同补充条款的疑问"],
    ),
    (SheetCategory::Other, &["建议增设儿童游乐设施"]),
];

const RESULTS: &[&str] = &[
    "已安排维修人员上门处理完毕，经检查恢复正常。",
    "已更换损坏部件并测试，客户现场确认。",
    "已联系相关部门，问题已解决并告知客户。",
    "已向客户解释有关政策，并提供办理指引。",
];

const OPINIONS: &[&str] = &[
    "",
    "",
    "",
    "维修师傅很专业，谢谢。",
    "处理及时，满意。",
    "希望以后能提前电话预约。",
    "态度很好，但等待时间有点长。",
];

async fn accept(story: &mut Story, community: usize) -> Result<(), Error> {
    let Some((_, code, households)) = story.cast.communities.get(community) else {
        return Ok(());
    };
    let Some(&household) = households.choose(&mut story.rng) else {
        return Ok(());
    };
    let desk = format!("{code}.csc.{:02}", story.rng.gen_range(1..=3));
    let caller = story.cast.caller(&desk)?.clone();
    let (category, items) = MATTERS
        .choose_weighted(&mut story.rng, |(category, _)| match category {
            SheetCategory::Repair => 6,
            SheetCategory::PropertyService => 5,
            SheetCategory::WarrantyRepair => 3,
            _ => 1,
        })
        .map_err(|e| Error::internal(e.to_string()))?;
    let item = items.choose(&mut story.rng).copied().unwrap_or("其他事项");
    let level = *[
        ComplaintLevel::None,
        ComplaintLevel::None,
        ComplaintLevel::Ordinary,
        ComplaintLevel::Ordinary,
        ComplaintLevel::Ordinary,
        ComplaintLevel::Significant,
        ComplaintLevel::Major,
    ]
    .choose(&mut story.rng)
    .unwrap_or(&ComplaintLevel::Ordinary);
    let source = *[
        InformationSource::Phone,
        InformationSource::Phone,
        InformationSource::WalkIn,
        InformationSource::HomeVisit,
        InformationSource::Online,
    ]
    .choose(&mut story.rng)
    .unwrap_or(&InformationSource::Phone);
    let (sheet, _) = huifang_core::sheets::accept(
        &story.company,
        &caller,
        AcceptSheet {
            id: None,
            accepted_at: None,
            level,
            category: *category,
            source,
            household_id: Some(household),
            customer_id: None,
            customer_name: None,
            contact_phone: None,
            customer_address: None,
            items: vec![item.to_owned()],
        },
    )
    .await?;
    let when = story.later(story.clock.now(), 1..30);
    story.at(when, Event::Handle(sheet.id));
    Ok(())
}

async fn handle(story: &mut Story, id: &str) -> Result<(), Error> {
    let desk = story.cast.caller("gm")?.clone();
    let sheet = huifang_core::sheets::load_visible(&story.company, &desk, id).await?;
    let unit = sheet.handling_unit_id.unwrap_or(sheet.accepting_unit_id);
    let handler = story.cast.doer(unit, None, &mut story.rng)?.clone();
    // One matter in thirty turns out not to be one (a duplicate, a wrong number).
    if story.rng.gen_ratio(1, 30) {
        let reason = ["重复登记", "客户表示已自行解决", "非本小区业主来电"]
            .choose(&mut story.rng)
            .copied()
            .unwrap_or("重复登记");
        huifang_core::sheets::change(
            &story.company,
            &handler,
            id,
            SheetEdit::MarkInvalid(reason.to_owned()),
        )
        .await?;
        return Ok(());
    }
    let result = RESULTS
        .choose(&mut story.rng)
        .copied()
        .unwrap_or(RESULTS[0]);
    let (sheet, follow_up) = huifang_core::sheets::handle(
        &story.company,
        &handler,
        id,
        HandleSheet {
            result: result.to_owned(),
            investigation: Some("已到现场查看并记录情况。".to_owned()),
            handled_at: None,
        },
    )
    .await?;
    let now = story.clock.now();
    let roll = story.rng.gen_range(0..100);
    let id = follow_up.id.clone();
    if roll < 5 {
        // The customer cannot be reached: three attempts over the day.
        for hours in [1..3, 4..8, 10..20] {
            let when = story.later(now, hours);
            story.at(when, Event::Miss(id.clone()));
        }
    } else if roll < 12 {
        // Done late: the deadline job escalates it first (R-INF-4).
        let when = story.later(now, 26..60);
        story.at(when, Event::Complete(id.clone()));
    } else {
        let when = story.later(now, 1..20);
        story.at(when, Event::Complete(id.clone()));
    }
    story.tasks.insert(
        id,
        Task {
            kind: FollowUpKind::Information,
            unit: follow_up.assignee_unit_id,
            staff: follow_up.assignee_staff_id,
            signable: Some((sheet, follow_up)),
        },
    );
    Ok(())
}

fn ratings(rng: &mut StdRng) -> Ratings {
    let overall: u8 = match rng.gen_range(0..100) {
        0..=1 => 1,
        2..=5 => 2,
        6..=15 => 3,
        16..=45 => 4,
        _ => 5,
    };
    let near = |rng: &mut StdRng| (overall as i8 + rng.gen_range(-1..=1)).clamp(1, 5) as u8;
    Ratings {
        handling: near(rng),
        efficiency: near(rng),
        quality: near(rng),
        attitude: near(rng),
        overall,
    }
}

/// Records a batch of routine outcomes and answer sheets, prepared in order, written together.
async fn together(story: &mut Story, batch: Vec<(DateTime<Utc>, Event)>) -> Result<(), Error> {
    use futures_util::{StreamExt, TryStreamExt};

    enum Work {
        Outcome(Caller, String, RecordOutcome),
        Answer(Caller, i64, String, SurveyChannel, Vec<SurveyAnswer>),
    }
    let mut work = Vec::new();
    for (when, event) in batch {
        match event {
            Event::Complete(id) => {
                if let Some(task) = story.tasks.remove(&id) {
                    let (doer, record) = outcome(story, &task, when)?;
                    work.push(Work::Outcome(doer, id, record));
                }
            }
            Event::SurveyAnswer(id) => {
                if let (Some(form), Some(task)) = (story.survey, story.tasks.remove(&id)) {
                    let (doer, channel, answers) = answer_sheet(story, &task)?;
                    work.push(Work::Answer(doer, form, id, channel, answers));
                }
            }
            _ => {}
        }
    }
    let company = &story.company;
    futures_util::stream::iter(work)
        .map(|work| async move {
            match work {
                Work::Outcome(doer, id, record) => {
                    huifang_core::followups::record_outcome(company, &doer, &id, record)
                        .await
                        .map(|_| ())
                }
                Work::Answer(doer, form, id, channel, answers) => huifang_core::surveys::answer(
                    company.db(),
                    company.time_zone(),
                    &doer,
                    form,
                    &id,
                    channel,
                    &answers,
                )
                .await
                .map(|_| ()),
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

/// What the person doing a follow-up records: who, and the customer's answers. Drawn in the
/// history's order, so batches done together stay deterministic.
fn outcome(
    story: &mut Story,
    task: &Task,
    at: DateTime<Utc>,
) -> Result<(Caller, RecordOutcome), Error> {
    let doer = story
        .cast
        .doer(task.unit, task.staff, &mut story.rng)?
        .clone();
    let ratings = ratings(&mut story.rng);
    let opinions = if ratings.overall <= 2 {
        "问题没有彻底解决，希望再派人看看。".to_owned()
    } else {
        OPINIONS
            .choose(&mut story.rng)
            .copied()
            .unwrap_or_default()
            .to_owned()
    };
    let repair = task.signable.as_ref().is_some_and(|(s, _)| {
        matches!(
            s.category,
            SheetCategory::Repair
                | SheetCategory::WarrantyRepair
                | SheetCategory::CompanyFundedRepair
        )
    });
    let done_at = format_time(at);
    let method = if repair && story.rng.gen_ratio(2, 3) {
        FollowUpMethod::OnSiteSignature
    } else if task.kind == FollowUpKind::Routine && story.rng.gen_ratio(1, 3) {
        FollowUpMethod::HomeVisit
    } else {
        FollowUpMethod::Phone
    };
    Ok((
        doer,
        RecordOutcome {
            method,
            done_at: Some(done_at),
            ratings,
            opinions,
            signature: None,
        },
    ))
}

async fn complete(story: &mut Story, id: &str) -> Result<(), Error> {
    let Some(task) = story.tasks.remove(id) else {
        return Ok(());
    };
    let (doer, mut record) = outcome(story, &task, story.clock.now())?;
    if let (Some((sheet, follow_up)), FollowUpMethod::OnSiteSignature) =
        (&task.signable, record.method)
    {
        record.signature = Some(sign(story, &doer, sheet, follow_up, &record).await?);
    }
    let (_, reopened) =
        huifang_core::followups::record_outcome(&story.company, &doer, id, record).await?;
    // A dissatisfied customer's matter is reopened (D-CB-3) and handled again.
    if let Some(reopened) = reopened {
        let when = story.later(story.clock.now(), 2..20);
        story.at(when, Event::Handle(reopened.id));
    }
    Ok(())
}

/// The customer signs on the phone (R-INF-8): strokes uploaded as a blob, bound to what they
/// signed (D-SIG-1).
async fn sign(
    story: &mut Story,
    doer: &Caller,
    sheet: &Sheet,
    follow_up: &FollowUp,
    record: &RecordOutcome,
) -> Result<SignatureRef, Error> {
    let done_at = record.done_at.clone().unwrap_or_default();
    let phase: f32 = story.rng.gen_range(0.0..6.0);
    let points: Vec<serde_json::Value> = (0..40)
        .map(|n| {
            let x = 20.0 + n as f32 * 7.0;
            let y = 90.0 + 30.0 * ((n as f32 / 4.0) + phase).sin();
            serde_json::json!({ "x": x, "y": y, "t_ms": n * 16, "pressure": null })
        })
        .collect();
    let strokes = serde_json::to_vec(&serde_json::json!({
        "width": 320, "height": 180, "strokes": [{ "points": points }],
    }))
    .map_err(|e| Error::internal(e.to_string()))?;
    let hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&strokes))
    };
    huifang_core::blobs::receive(&story.company, doer, &hash, None, None, &strokes).await?;
    let mut signed = follow_up.clone();
    signed.outcome = Some(Outcome {
        method: FollowUpMethod::OnSiteSignature,
        done_at: done_at.clone(),
        ratings: record.ratings,
        opinions: record.opinions.trim().to_owned(),
        recorded_by: doer.staff_id,
    });
    Ok(SignatureRef {
        blob_sha256: hash,
        content_sha256: content_sha256(Some(sheet), &signed),
        signed_at: done_at,
        signer_name: follow_up.customer_name.clone(),
    })
}

async fn miss(story: &mut Story, id: &str) -> Result<(), Error> {
    let Some(task) = story.tasks.get(id) else {
        return Ok(());
    };
    let (unit, staff) = (task.unit, task.staff);
    let doer = story.cast.doer(unit, staff, &mut story.rng)?.clone();
    let after = huifang_core::followups::record_unreachable(
        &story.company,
        &doer,
        id,
        RecordUnreachable {
            method: FollowUpMethod::Phone,
            at: None,
            note: "电话无人接听".to_owned(),
        },
    )
    .await?;
    if after.status != FollowUpStatus::Open {
        story.tasks.remove(id);
    }
    Ok(())
}

/// Every open follow-up of `kind`, company-wide.
async fn open_of_kind(
    story: &Story,
    kind: FollowUpKind,
) -> Result<Vec<huifang_store::followups::FollowUpSummary>, Error> {
    Ok(huifang_store::followups::list(
        story.company.db(),
        &FollowUpView::All,
        &FollowUpFilter {
            kind: Some(kind),
            status: Some(FollowUpStatus::Open),
            ..FollowUpFilter::default()
        },
        PageRequest {
            limit: 100_000,
            offset: 0,
        },
    )
    .await?
    .items)
}

/// Spreads the open routine follow-ups over this month (the month's new ones, and any left from
/// the last): nine in ten are done, on a day before the 29th.
async fn schedule_routine(story: &mut Story) -> Result<(), Error> {
    let tz = story.company.time_zone();
    let month = Month::of(story.clock.now(), tz);
    let open = open_of_kind(story, FollowUpKind::Routine).await?;
    for summary in open {
        if story.rng.gen_ratio(1, 10) {
            continue; // still to do when the month ends
        }
        let day = story.rng.gen_range(1..=month.days().min(28));
        let hour = story.rng.gen_range(9..19);
        let minute = story.rng.gen_range(0..60);
        let when = story.local(month, day, hour, minute);
        story.tasks.insert(
            summary.id.clone(),
            Task::of(&summary, FollowUpKind::Routine),
        );
        story.at(when, Event::Complete(summary.id));
    }
    Ok(())
}

fn survey(year: i32) -> SurveyContent {
    let option = |id: &str, text: &str| SurveyOption {
        id: id.to_owned(),
        text: text.to_owned(),
    };
    let question =
        |id: &str, text: &str, kind: QuestionKind, options: Vec<SurveyOption>| SurveyQuestion {
            id: id.to_owned(),
            text: text.to_owned(),
            kind,
            options,
            required: kind == QuestionKind::Rating,
        };
    SurveyContent {
        title: format!("{year}年度客户意见调查表"),
        year,
        introduction: "尊敬的业主：感谢您一年来对我们工作的支持。请花两分钟告诉我们您的意见，\
                       我们将据此改进服务。"
            .to_owned(),
        questions: vec![
            question(
                "overall",
                "您对物业服务的总体评价",
                QuestionKind::Rating,
                vec![],
            ),
            question("repair", "您对报修处理的评价", QuestionKind::Rating, vec![]),
            question(
                "channel",
                "您最常用的报修方式",
                QuestionKind::SingleChoice,
                vec![
                    option("phone", "电话"),
                    option("app", "手机应用"),
                    option("desk", "到客服中心"),
                ],
            ),
            question(
                "improve",
                "您希望我们改进的方面",
                QuestionKind::MultipleChoice,
                vec![
                    option("clean", "保洁"),
                    option("green", "绿化"),
                    option("safety", "安全"),
                    option("parking", "停车"),
                ],
            ),
            question("advice", "其他意见或建议", QuestionKind::FreeText, vec![]),
        ],
    }
}

async fn distribute(story: &mut Story) -> Result<(), Error> {
    let Some(id) = story.survey else {
        return Ok(());
    };
    let tz = story.company.time_zone();
    let caller = story.cast.caller("dev.head")?.clone();
    let communities: Vec<i64> = story.cast.communities.iter().map(|(id, ..)| *id).collect();
    let now = story.clock.now();
    huifang_core::surveys::distribute(
        story.company.db(),
        tz,
        &caller,
        id,
        &communities,
        now + Duration::days(60),
    )
    .await?;
    let sent = open_of_kind(story, FollowUpKind::Survey).await?;
    // About one household in four answers within the five weeks since.
    for summary in sent {
        if !story.rng.gen_ratio(1, 4) {
            continue;
        }
        let when = story.later(now, 2..(35 * 24));
        story
            .tasks
            .insert(summary.id.clone(), Task::of(&summary, FollowUpKind::Survey));
        story.at(when, Event::SurveyAnswer(summary.id));
    }
    Ok(())
}

/// A household's answer sheet: who enters it, how it came, and the answers.
fn answer_sheet(
    story: &mut Story,
    task: &Task,
) -> Result<(Caller, SurveyChannel, Vec<SurveyAnswer>), Error> {
    let doer = story
        .cast
        .doer(task.unit, task.staff, &mut story.rng)?
        .clone();
    let rating = |rng: &mut StdRng| -> u8 {
        match rng.gen_range(0..100) {
            0..=3 => 2,
            4..=19 => 3,
            20..=59 => 4,
            _ => 5,
        }
    };
    let improve: Vec<String> = ["clean", "green", "safety", "parking"]
        .into_iter()
        .filter(|_| story.rng.gen_ratio(1, 3))
        .map(str::to_owned)
        .collect();
    let advice = [
        "",
        "",
        "希望增加夜间巡逻",
        "地下车库照明需要改善",
        "保洁很用心，谢谢",
    ]
    .choose(&mut story.rng)
    .copied()
    .unwrap_or_default();
    let mut answers = vec![
        SurveyAnswer {
            question_id: "overall".into(),
            rating: Some(rating(&mut story.rng)),
            choices: vec![],
            text: None,
        },
        SurveyAnswer {
            question_id: "repair".into(),
            rating: Some(rating(&mut story.rng)),
            choices: vec![],
            text: None,
        },
        SurveyAnswer {
            question_id: "channel".into(),
            rating: None,
            choices: vec![
                ["phone", "phone", "app", "desk"]
                    .choose(&mut story.rng)
                    .copied()
                    .unwrap_or("phone")
                    .to_owned(),
            ],
            text: None,
        },
    ];
    // Questions left blank are not answered.
    if !improve.is_empty() {
        answers.push(SurveyAnswer {
            question_id: "improve".into(),
            rating: None,
            choices: improve,
            text: None,
        });
    }
    if !advice.is_empty() {
        answers.push(SurveyAnswer {
            question_id: "advice".into(),
            rating: None,
            choices: vec![],
            text: Some(advice.to_owned()),
        });
    }
    let channel = if story.rng.gen_ratio(1, 2) {
        SurveyChannel::Visit
    } else {
        SurveyChannel::Paper
    };
    Ok((doer, channel, answers))
}

async fn analysis(story: &mut Story, current: Month) -> Result<(), Error> {
    let tz = story.company.time_zone();
    let caller = story.cast.caller("ch.office.head")?.clone();
    let unit = analyses::writing_unit(&caller)?;
    let owner = |name: &str| story.cast.caller(name).map(|c| c.staff_id);
    let to = current.previous();
    let from = to.previous().previous();
    let due = story.local(current, 20, 12, 0).with_timezone(&tz);
    analyses::write(
        story.company.db(),
        tz,
        &caller,
        unit,
        analyses::NewAnalysis {
            from,
            to,
            title: format!("翠湖花园{from}至{to}客户回访分析"),
            findings: "本季度报修类信息占比最高，其中卫生间渗漏和门锁问题反复出现；\
                       回访及时率总体良好，但少数回访超过24小时，个别客户不满意导致重新处理。"
                .to_owned(),
            measures: vec![
                analyses::NewMeasure {
                    description: "对卫生间防水和门锁开展专项排查，建立维修回头看制度".to_owned(),
                    owner_id: owner("ch.eng.head")?,
                    due_on: Some(due.format("%Y-%m-%d").to_string()),
                },
                analyses::NewMeasure {
                    description: "客服中心每日下班前核对当日到期回访，超时前提醒负责人".to_owned(),
                    owner_id: owner("ch.csc.head")?,
                    due_on: Some(due.format("%Y-%m-%d").to_string()),
                },
            ],
            reviews: vec![],
        },
    )
    .await?;
    Ok(())
}
