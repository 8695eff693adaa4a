//! A realistic demo company: two communities with about 3,100 households, the units of SPEC §1,
//! staff for every role and consultants with their customers, seeded through the same import
//! code an operator uses; then six months of its work lived through the product's own
//! operations (history.rs). Once per database.

mod history;

use huifang_protocol::{PhoneNumber, Role, UnitKind};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

use huifang_core::imports::{
    HouseholdRow, ImportError, StaffRow, UnitRow, apply_households, apply_staff, apply_units,
};
use huifang_store::db::Database;
use huifang_store::{StoreError, settings};

/// The password of every demo account (printed by `huifang demo`).
pub const DEMO_PASSWORD: &str = "huifang-demo";

const SEEDED_KEY: &str = "demo_seeded_at";
/// When the demo's households count as registered.
const DEMO_REGISTERED_AT: &str = "2025-01-01T00:00:00.000Z";

/// A demo community: name, address, buildings, floors, flats per floor.
struct DemoCommunity {
    code: &'static str,
    name: &'static str,
    address: &'static str,
    buildings: u32,
    floors: u32,
    flats_per_floor: u32,
}

const COMMUNITIES: &[DemoCommunity] = &[
    DemoCommunity {
        code: "CH",
        name: "翠湖花园",
        address: "深圳市南山区翠湖路88号",
        buildings: 12,
        floors: 24,
        flats_per_floor: 6,
    },
    DemoCommunity {
        code: "JX",
        name: "锦绣江南",
        address: "深圳市龙华区民治大道168号",
        buildings: 9,
        floors: 26,
        flats_per_floor: 6,
    },
];

/// The code of the demo community called `name` (its staff's usernames start with it).
fn community_code(name: &str) -> Option<&'static str> {
    COMMUNITIES.iter().find(|c| c.name == name).map(|c| c.code)
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "罗", "高", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明",
    "超", "秀英", "霞", "平", "刚", "桂英", "建华", "志强", "晓东", "海燕", "玉兰", "文博", "子涵",
    "思远",
];

fn name(rng: &mut StdRng) -> String {
    let surname = SURNAMES.choose(rng).copied().unwrap_or("王");
    let given = GIVEN.choose(rng).copied().unwrap_or("伟");
    format!("{surname}{given}")
}

fn phone(rng: &mut StdRng) -> PhoneNumber {
    const PREFIXES: &[&str] = &[
        "138", "139", "135", "136", "137", "150", "151", "158", "186", "188", "177", "199",
    ];
    let prefix = PREFIXES.choose(rng).copied().unwrap_or("138");
    let number = format!("{prefix}{:08}", rng.gen_range(0..100_000_000u32));
    // Always an 11-digit mobile with a valid prefix, so parsing cannot fail; fall back anyway.
    PhoneNumber::parse(&number).unwrap_or_else(|_| fallback_phone())
}

fn fallback_phone() -> PhoneNumber {
    match PhoneNumber::parse("13800000000") {
        Ok(p) => p,
        Err(_) => unreachable!("13800000000 is a valid mobile number"),
    }
}

/// One demo login, printed for the person trying Huifang.
#[derive(Debug, Clone)]
pub struct DemoLogin {
    pub username: String,
    pub role: Role,
    pub what: String,
}

/// Whether this database already holds the demo company.
pub async fn is_seeded(db: &Database) -> Result<bool, StoreError> {
    Ok(settings::server_fact(db, SEEDED_KEY).await?.is_some())
}

/// Why the demo could not be seeded.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("the demo's history failed")]
    History(#[from] huifang_core::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How much of the demo company's past is seeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Past {
    /// Six months of work up to now: what a newcomer should see.
    SixMonths,
    /// The company alone, with no work done yet (for trying the first steps from scratch).
    None,
}

/// Seeds the demo company (with `past`) unless already there, `time_zone` being the company's.
/// Returns whether it seeded.
pub async fn seed(db: &Database, time_zone: chrono_tz::Tz, past: Past) -> Result<bool, DemoError> {
    if is_seeded(db).await? {
        return Ok(false);
    }
    let mut rng = StdRng::seed_from_u64(20261128);
    match past {
        Past::SixMonths => {
            let now = db.now();
            // The company exists a few days before its history begins.
            let clock = huifang_protocol::Clock::starting_at(
                history::beginning(now, time_zone) - chrono::Duration::days(3),
            );
            let then = db.clone().with_clock(clock.clone());
            seed_company(&then, &mut rng).await?;
            history::live(&then, clock, now, time_zone, rng).await?;
        }
        Past::None => seed_company(db, &mut rng).await?,
    }
    settings::note_server_fact(db, SEEDED_KEY, &db.now_text()).await?;
    Ok(true)
}

/// The company without history: units, staff, households and consultants' customers.
async fn seed_company(db: &Database, rng: &mut StdRng) -> Result<(), ImportError> {
    let households = households(rng);
    apply_households(db, &households, false).await?;
    apply_units(db, &units(), false).await?;
    let (staff, consultants) = staff(rng);
    apply_staff(db, &staff, false).await?;

    // Consultants look after about one customer in ten of their site (the recent buyers),
    // each called once a month by the routine plan (R-RTN-1).
    let chosen: Vec<&HouseholdRow> = households.iter().filter(|_| rng.gen_bool(0.1)).collect();
    let owned: Vec<HouseholdRow> = chosen
        .into_iter()
        .filter_map(|row| {
            let community = community_code(&row.community)?;
            let mine: Vec<&String> = consultants
                .iter()
                .filter(|(code, _)| *code == community)
                .map(|(_, username)| username)
                .collect();
            let consultant = mine.choose(rng)?;
            Some(HouseholdRow {
                consultant: Some((*consultant).clone()),
                ..row.clone()
            })
        })
        .collect();
    apply_households(db, &owned, false).await?;
    // The demo company has served these estates since last year, so this month's routine plan
    // has households to sample (D-RTN-1 counts those registered before the period began).
    huifang_store::imports::backdate_households(db, DEMO_REGISTERED_AT).await?;
    Ok(())
}

fn households(rng: &mut StdRng) -> Vec<HouseholdRow> {
    let mut rows = Vec::new();
    let mut line = 1;
    for community in COMMUNITIES {
        for building in 1..=community.buildings {
            let building_name = format!("{building}栋");
            for floor in 1..=community.floors {
                for flat in 1..=community.flats_per_floor {
                    let room = format!("{floor}{flat:02}");
                    let owners = if rng.gen_bool(0.3) { 2 } else { 1 };
                    for _ in 0..owners {
                        line += 1;
                        rows.push(HouseholdRow {
                            line,
                            community: community.name.to_owned(),
                            community_address: Some(community.address.to_owned()),
                            building: building_name.clone(),
                            room: room.clone(),
                            address: format!(
                                "{}{}{building_name}{room}室",
                                community.address, community.name
                            ),
                            customer: name(rng),
                            phone: phone(rng),
                            consultant: None,
                        });
                    }
                }
            }
        }
    }
    // Two owners of one flat may draw the same name; keep the first.
    let mut seen = std::collections::HashSet::new();
    rows.retain(|r| {
        seen.insert((
            r.community.clone(),
            r.building.clone(),
            r.room.clone(),
            r.customer.clone(),
        ))
    });
    rows
}

fn unit(
    code: &str,
    name: &str,
    kind: UnitKind,
    parent: Option<&str>,
    community: Option<&str>,
) -> UnitRow {
    UnitRow {
        line: 0,
        code: code.to_owned(),
        name: name.to_owned(),
        kind,
        parent: parent.map(str::to_owned),
        community: community.map(str::to_owned),
    }
}

fn units() -> Vec<UnitRow> {
    let mut units = vec![
        unit("DEV", "开发部", UnitKind::DevelopmentDepartment, None, None),
        unit("MKT", "营销部", UnitKind::MarketingDepartment, None, None),
    ];
    for c in COMMUNITIES {
        let office = format!("PMO-{}", c.code);
        units.push(unit(
            &format!("SALES-{}", c.code),
            &format!("{}销售现场", c.name),
            UnitKind::SalesSite,
            None,
            Some(c.name),
        ));
        units.push(unit(
            &office,
            &format!("{}物业管理处", c.name),
            UnitKind::PropertyOffice,
            None,
            Some(c.name),
        ));
        units.push(unit(
            &format!("{office}-CSC"),
            &format!("{}客户服务中心", c.name),
            UnitKind::CustomerServiceCenter,
            Some(&office),
            None,
        ));
        for (code, name) in [
            ("ENG", "工程部"),
            ("SEC", "保安部"),
            ("CLN", "保洁部"),
            ("GRN", "绿化部"),
        ] {
            units.push(unit(
                &format!("{office}-{code}"),
                &format!("{}{name}", c.name),
                UnitKind::OfficeDepartment,
                Some(&office),
                None,
            ));
        }
    }
    units
}

/// Staff rows plus (community code, username) of every consultant.
fn staff(rng: &mut StdRng) -> (Vec<StaffRow>, Vec<(&'static str, String)>) {
    let mut rows = Vec::new();
    let mut add = |rng: &mut StdRng, username: String, role: Role, unit: Option<String>| {
        rows.push(StaffRow {
            line: 0,
            name: name(rng),
            phone: Some(phone(rng)),
            password: Some(DEMO_PASSWORD.to_owned()),
            username,
            role,
            unit,
        });
    };
    add(rng, "gm".into(), Role::GeneralManager, None);
    add(rng, "admin".into(), Role::Admin, None);
    add(rng, "dev.head".into(), Role::UnitHead, Some("DEV".into()));
    add(rng, "dev.01".into(), Role::Staff, Some("DEV".into()));
    add(rng, "dev.02".into(), Role::Staff, Some("DEV".into()));
    add(rng, "mkt.head".into(), Role::UnitHead, Some("MKT".into()));
    add(rng, "mkt.01".into(), Role::Staff, Some("MKT".into()));
    let mut consultants = Vec::new();
    for c in COMMUNITIES {
        let lower = c.code.to_lowercase();
        let office = format!("PMO-{}", c.code);
        add(
            rng,
            format!("{lower}.sales.head"),
            Role::UnitHead,
            Some(format!("SALES-{}", c.code)),
        );
        for n in 1..=4 {
            let username = format!("{lower}.gw.{n:02}");
            add(
                rng,
                username.clone(),
                Role::Consultant,
                Some(format!("SALES-{}", c.code)),
            );
            consultants.push((c.code, username));
        }
        add(
            rng,
            format!("{lower}.office.head"),
            Role::UnitHead,
            Some(office.clone()),
        );
        add(
            rng,
            format!("{lower}.csc.head"),
            Role::UnitHead,
            Some(format!("{office}-CSC")),
        );
        for n in 1..=3 {
            add(
                rng,
                format!("{lower}.csc.{n:02}"),
                Role::Staff,
                Some(format!("{office}-CSC")),
            );
        }
        for dept in ["eng", "sec", "cln", "grn"] {
            let unit = format!("{office}-{}", dept.to_uppercase());
            add(
                rng,
                format!("{lower}.{dept}.head"),
                Role::UnitHead,
                Some(unit.clone()),
            );
            add(rng, format!("{lower}.{dept}.01"), Role::Staff, Some(unit));
        }
    }
    (rows, consultants)
}

/// The logins worth trying, one per kind of user.
pub fn logins() -> Vec<DemoLogin> {
    [
        ("gm", Role::GeneralManager, "总经理 — sees everything"),
        ("admin", Role::Admin, "系统管理员 — imports, accounts"),
        (
            "dev.head",
            Role::UnitHead,
            "开发部负责人 — company-wide customer service",
        ),
        ("ch.office.head", Role::UnitHead, "翠湖花园物业管理处主任"),
        ("ch.csc.01", Role::Staff, "翠湖花园客户服务中心员工"),
        (
            "ch.gw.01",
            Role::Consultant,
            "翠湖花园置业顾问 — own customers only",
        ),
    ]
    .into_iter()
    .map(|(username, role, what)| DemoLogin {
        username: username.into(),
        role,
        what: what.into(),
    })
    .collect()
}
