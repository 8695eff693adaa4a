//! The generated company the benchmarks share: communities of 30 buildings × 100 households with
//! one customer each, an office per community with its customer service centre and four
//! departments, their staff; and a PostgreSQL database of the benchmark's own.

#![allow(dead_code)]

use huifang_server::Database;
use sqlx::Connection;

pub const BUILDINGS: i64 = 30;
pub const HOUSEHOLDS_PER_BUILDING: i64 = 100;
pub const REGISTERED: &str = "2025-01-01T00:00:00.000Z";

/// Inserts `rows` (each a list of SQL literals) into `table` in multi-row statements.
pub async fn insert_rows(db: &Database, table: &str, columns: &str, rows: &[String]) {
    for chunk in rows.chunks(1_000) {
        let sql = format!(
            "INSERT INTO {table} ({columns}) VALUES {}",
            chunk.join(", ")
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .execute(db.pool())
            .await
            .unwrap();
    }
}

/// Fills the registry: communities, buildings, households with one customer each, units, staff.
pub async fn fill(db: &Database, communities: i64) {
    let t = REGISTERED;
    let mut rows = Vec::new();
    for c in 1..=communities {
        rows.push(format!("({c}, '小区{c}', '', '{t}', '{t}')"));
    }
    insert_rows(
        db,
        "communities",
        "id, name, address, created_at, updated_at",
        &rows,
    )
    .await;
    rows.clear();
    for c in 1..=communities {
        for b in 1..=BUILDINGS {
            let id = c * 1_000 + b;
            rows.push(format!("({id}, {c}, '{b}栋', '{t}', '{t}')"));
        }
    }
    insert_rows(
        db,
        "buildings",
        "id, community_id, name, created_at, updated_at",
        &rows,
    )
    .await;
    let mut households = Vec::new();
    let mut customers = Vec::new();
    for c in 1..=communities {
        for b in 1..=BUILDINGS {
            for h in 1..=HOUSEHOLDS_PER_BUILDING {
                let id = (c * 1_000 + b) * 1_000 + h;
                households.push(format!(
                    "({id}, {c}, {}, '{h}', '小区{c}{b}栋{h}室', '{t}', '{t}')",
                    c * 1_000 + b
                ));
                customers.push(format!(
                    "({id}, {id}, '业主{id}', '138{:08}', '{t}', '{t}')",
                    id % 100_000_000
                ));
            }
        }
    }
    insert_rows(
        db,
        "households",
        "id, community_id, building_id, room, address, created_at, updated_at",
        &households,
    )
    .await;
    insert_rows(
        db,
        "customers",
        "id, household_id, name, phone, created_at, updated_at",
        &customers,
    )
    .await;
    let mut units = Vec::new();
    let mut staff = Vec::new();
    let kinds = [
        "customer_service_center",
        "office_department",
        "office_department",
        "office_department",
        "office_department",
    ];
    for c in 1..=communities {
        let office = c * 10;
        units.push(format!(
            "({office}, 'PMO-{c}', '管理处{c}', 'property_office', NULL, {c}, '{t}', '{t}')"
        ));
        staff.push(format!(
            "({office}1, 'head{office}', '主任{c}', 'unit_head', {office}, '{t}', '{t}')"
        ));
        for (n, kind) in kinds.iter().enumerate() {
            let unit = office + 1 + n as i64;
            units.push(format!(
                "({unit}, 'U-{unit}', '部门{unit}', '{kind}', {office}, {c}, '{t}', '{t}')"
            ));
            for s in 1..=3 {
                staff.push(format!(
                    "({unit}{s}, 'staff{unit}-{s}', '员工{unit}-{s}', 'staff', {unit}, '{t}', '{t}')"
                ));
            }
        }
    }
    insert_rows(
        db,
        "units",
        "id, code, name, kind, parent_id, community_id, created_at, updated_at",
        &units,
    )
    .await;
    insert_rows(
        db,
        "staff",
        "id, username, name, role, unit_id, created_at, updated_at",
        &staff,
    )
    .await;
}

/// A benchmark's database: PostgreSQL of its own when `DATABASE_URL` is set (dropped by
/// [`BenchDatabase::finish`]), else SQLite in `data_dir`; migrated, in Shanghai's time zone.
pub struct BenchDatabase {
    pub db: Database,
    pub config: huifang_server::Config,
    /// "SQLite" or "PostgreSQL", for the printed figures.
    pub engine: &'static str,
    server: Option<(String, String)>,
}

impl BenchDatabase {
    pub async fn open(prefix_name: &str, data_dir: &std::path::Path) -> BenchDatabase {
        let server_url = std::env::var("DATABASE_URL").ok();
        let postgres = match &server_url {
            Some(url) => Some(fresh_postgres(url, prefix_name).await),
            None => None,
        };
        let config = huifang_server::Config::new(
            data_dir.to_path_buf(),
            postgres.as_ref().map(|(url, _)| url.clone()),
            "Asia/Shanghai".parse().unwrap(),
        );
        let db = Database::open(config.database_url.as_deref(), &config.data_dir)
            .await
            .unwrap();
        db.migrate().await.unwrap();
        BenchDatabase {
            db,
            config,
            engine: if postgres.is_some() {
                "PostgreSQL"
            } else {
                "SQLite"
            },
            server: server_url.zip(postgres.map(|(_, name)| name)),
        }
    }

    /// Closes the pool and drops the PostgreSQL database the benchmark made.
    pub async fn finish(self) {
        if let Some((url, name)) = &self.server {
            self.db.close().await;
            drop_postgres(url, name).await;
        }
    }
}

/// A fresh PostgreSQL database on the server of `url`, or `None` for SQLite.
pub async fn fresh_postgres(url: &str, prefix_name: &str) -> (String, String) {
    let (prefix, _) = url.rsplit_once('/').unwrap();
    let name = format!("{prefix_name}_{}", std::process::id());
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    (format!("{prefix}/{name}"), name)
}

/// Drops the database [`fresh_postgres`] made.
pub async fn drop_postgres(url: &str, name: &str) {
    let mut admin = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await
    .unwrap();
}
