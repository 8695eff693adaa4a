//! The two migration folders describe one schema: after migrating, SQLite and PostgreSQL have the
//! same tables, the same columns (types normalised to the values the store passes: integer, real,
//! text, bytes), the same primary keys, unique keys, indexes, foreign keys and the same values
//! named in CHECK constraints. A step added to one folder only fails here.

use std::collections::{BTreeMap, BTreeSet};

use huifang_protocol::Clock;
use huifang_store::testing::fresh_database;
use huifang_store::{Backend, Database};
use sqlx::Row;

/// One table as both engines can describe it.
#[derive(Debug, Default, PartialEq, Eq)]
struct Table {
    /// Column → (normalised type, NOT NULL).
    columns: BTreeMap<String, (String, bool)>,
    primary_key: Vec<String>,
    /// Every index, unique or not, by its columns (names differ between engines for the indexes
    /// a UNIQUE constraint makes).
    indexes: BTreeSet<(Vec<String>, bool)>,
    /// (columns, referenced table, referenced columns).
    foreign_keys: BTreeSet<(Vec<String>, String, Vec<String>)>,
    /// The literals named by the table's CHECK constraints (enum codes, bounds).
    check_values: BTreeSet<String>,
}

fn normalised_type(declared: &str) -> String {
    let t = declared.to_ascii_lowercase();
    let class = if t.contains("int") || t.contains("serial") {
        "integer"
    } else if t.contains("char") || t.contains("text") || t.contains("clob") {
        "text"
    } else if t.contains("blob") || t.contains("bytea") {
        "bytes"
    } else if t.contains("real")
        || t.contains("floa")
        || t.contains("doub")
        || t.contains("numeric")
    {
        "real"
    } else if t.contains("bool") {
        "boolean"
    } else {
        return format!("other({t})");
    };
    class.to_owned()
}

/// The quoted strings and numbers in a CHECK constraint's text.
fn literals(check: &str, into: &mut BTreeSet<String>) {
    let mut chars = check.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\'' {
            let mut value = String::new();
            for d in chars.by_ref() {
                if d == '\'' {
                    break;
                }
                value.push(d);
            }
            into.insert(format!("'{value}'"));
        } else if c.is_ascii_digit() {
            let mut value = c.to_string();
            while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                value.push(*d);
                chars.next();
            }
            into.insert(value);
        } else if c.is_alphanumeric() || c == '_' {
            // Skip an identifier whole, so digits inside names are not taken for numbers.
            while chars
                .peek()
                .is_some_and(|d| d.is_alphanumeric() || *d == '_')
            {
                chars.next();
            }
        }
    }
}

/// The text of every `CHECK (…)` in a SQLite `CREATE TABLE` statement.
fn sqlite_checks(sql: &str) -> Vec<String> {
    let upper = sql.to_ascii_uppercase();
    let mut checks = Vec::new();
    let mut from = 0;
    while let Some(at) = upper[from..].find("CHECK") {
        let start = from + at + "CHECK".len();
        let Some(open) = sql[start..].find('(').map(|o| start + o) else {
            break;
        };
        let mut depth = 0;
        let mut end = open;
        for (i, c) in sql[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        checks.push(sql[open..=end].to_owned());
        from = end.max(start);
    }
    checks
}

async fn strings(db: &Database, sql: &str) -> Vec<Vec<String>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_all(db.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|row| {
            (0..row.len())
                .map(|i| {
                    row.try_get::<String, _>(i)
                        .or_else(|_| row.try_get::<i64, _>(i).map(|n| n.to_string()))
                        .or_else(|_| row.try_get::<i32, _>(i).map(|n| n.to_string()))
                        .or_else(|_| row.try_get::<bool, _>(i).map(|b| i64::from(b).to_string()))
                        .unwrap_or_default()
                })
                .collect()
        })
        .collect()
}

async fn sqlite_schema(db: &Database) -> BTreeMap<String, Table> {
    let mut schema = BTreeMap::new();
    let tables = strings(
        db,
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .await;
    for row in tables {
        let (name, sql) = (&row[0], &row[1]);
        let mut table = Table::default();
        let mut key: Vec<(i64, String)> = Vec::new();
        for column in strings(
            db,
            &format!("SELECT name, type, \"notnull\", pk FROM pragma_table_info('{name}')"),
        )
        .await
        {
            let primary: i64 = column[3].parse().unwrap_or(0);
            // SQLite lets a primary key column be NULL unless declared otherwise; PostgreSQL
            // never does: a key column counts as NOT NULL on both.
            let not_null = column[2] == "1" || primary > 0;
            table
                .columns
                .insert(column[0].clone(), (normalised_type(&column[1]), not_null));
            if primary > 0 {
                key.push((primary, column[0].clone()));
            }
        }
        key.sort();
        table.primary_key = key.into_iter().map(|(_, c)| c).collect();
        for index in strings(
            db,
            &format!("SELECT name, \"unique\", origin FROM pragma_index_list('{name}')"),
        )
        .await
        {
            if index[2] == "pk" {
                continue; // the primary key, compared above
            }
            let columns: Vec<String> = strings(
                db,
                &format!(
                    "SELECT name FROM pragma_index_info('{}') ORDER BY seqno",
                    index[0]
                ),
            )
            .await
            .into_iter()
            .map(|r| r[0].clone())
            .collect();
            table.indexes.insert((columns, index[1] == "1"));
        }
        let mut keys: BTreeMap<String, (Vec<String>, String, Vec<String>)> = BTreeMap::new();
        for fk in strings(db, &format!("SELECT id, \"table\", \"from\", \"to\" FROM pragma_foreign_key_list('{name}') ORDER BY id, seq")).await {
            let entry = keys.entry(fk[0].clone()).or_default();
            entry.0.push(fk[2].clone());
            entry.1 = fk[1].clone();
            entry.2.push(fk[3].clone());
        }
        // A reference without columns names the other table's primary key.
        table.foreign_keys = keys.into_values().collect();
        for check in sqlite_checks(sql) {
            literals(&check, &mut table.check_values);
        }
        schema.insert(name.clone(), table);
    }
    // References written `REFERENCES t` (no column) point at t's primary key.
    let keys: BTreeMap<String, Vec<String>> = schema
        .iter()
        .map(|(name, t)| (name.clone(), t.primary_key.clone()))
        .collect();
    for table in schema.values_mut() {
        table.foreign_keys = std::mem::take(&mut table.foreign_keys)
            .into_iter()
            .map(|(from, to, columns)| {
                let columns = if columns.iter().all(String::is_empty) {
                    keys.get(&to).cloned().unwrap_or_default()
                } else {
                    columns
                };
                (from, to, columns)
            })
            .collect();
    }
    schema
}

async fn postgres_schema(db: &Database) -> BTreeMap<String, Table> {
    let mut schema = BTreeMap::new();
    let tables = strings(
        db,
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' \
         AND table_name NOT LIKE '\\_sqlx%' ORDER BY table_name",
    )
    .await;
    for row in tables {
        let name = &row[0];
        let mut table = Table::default();
        for column in strings(
            db,
            &format!(
                "SELECT column_name::text, data_type::text, \
                 CASE WHEN is_nullable = 'NO' THEN '1' ELSE '0' END \
                 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{name}'"
            ),
        )
        .await
        {
            table
                .columns
                .insert(column[0].clone(), (normalised_type(&column[1]), column[2] == "1"));
        }
        // Constraints and indexes with their columns in order.
        let constraint_columns = |kind: &str| {
            format!(
                "SELECT c.conname::text, \
                 (SELECT string_agg(a.attname::text, ',' ORDER BY k.i) FROM unnest(c.conkey) WITH ORDINALITY AS k(n, i) \
                  JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n), \
                 COALESCE(c.confrelid::regclass::text, ''), \
                 COALESCE((SELECT string_agg(a.attname::text, ',' ORDER BY k.i) FROM unnest(c.confkey) WITH ORDINALITY AS k(n, i) \
                  JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n), ''), \
                 pg_get_constraintdef(c.oid) \
                 FROM pg_constraint c WHERE c.conrelid = 'public.{name}'::regclass AND c.contype = '{kind}'"
            )
        };
        let split = |text: &str| -> Vec<String> {
            text.split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_owned)
                .collect()
        };
        if let Some(key) = strings(db, &constraint_columns("p")).await.first() {
            table.primary_key = split(&key[1]);
        }
        for fk in strings(db, &constraint_columns("f")).await {
            table.foreign_keys.insert((
                split(&fk[1]),
                fk[2].trim_start_matches("public.").to_owned(),
                split(&fk[3]),
            ));
        }
        for check in strings(db, &constraint_columns("c")).await {
            literals(&check[4].replace("::text", ""), &mut table.check_values);
        }
        for index in strings(
            db,
            &format!(
                "SELECT (SELECT string_agg(a.attname::text, ',' ORDER BY k.i) FROM unnest(x.indkey) WITH ORDINALITY AS k(n, i) \
                  JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.n), \
                 CASE WHEN x.indisunique THEN '1' ELSE '0' END \
                 FROM pg_index x WHERE x.indrelid = 'public.{name}'::regclass AND NOT x.indisprimary"
            ),
        )
        .await
        {
            table.indexes.insert((split(&index[0]), index[1] == "1"));
        }
        schema.insert(name.clone(), table);
    }
    schema
}

#[tokio::test]
async fn both_engines_migrate_to_the_same_schema() {
    let (sqlite, _dir) = fresh_database(Backend::Sqlite, Clock::system())
        .await
        .unwrap_or_else(|| panic!("SQLite is always there"));
    let Some((postgres, _pg_dir)) = fresh_database(Backend::Postgres, Clock::system()).await else {
        return; // SKIPPED is printed by fresh_database
    };
    let on_sqlite = sqlite_schema(&sqlite).await;
    let on_postgres = postgres_schema(&postgres).await;
    assert!(
        on_sqlite.len() > 20,
        "read {} SQLite tables",
        on_sqlite.len()
    );
    let mut differences = Vec::new();
    let names: BTreeSet<&String> = on_sqlite.keys().chain(on_postgres.keys()).collect();
    for name in names {
        match (on_sqlite.get(name), on_postgres.get(name)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => differences.push(format!(
                "table {name} differs:\n  SQLite:     {a:?}\n  PostgreSQL: {b:?}"
            )),
            (Some(_), None) => differences.push(format!("table {name} only on SQLite")),
            (None, _) => differences.push(format!("table {name} only on PostgreSQL")),
        }
    }
    assert!(
        differences.is_empty(),
        "the migrations of the two engines have drifted apart:\n{}",
        differences.join("\n")
    );
}

/// The comparison sees what it must: a column typed differently, a missing index, a CHECK value.
#[test]
fn the_comparison_sees_a_type_an_index_and_a_check_value() {
    assert_eq!(normalised_type("BIGINT"), normalised_type("INTEGER"));
    assert_eq!(normalised_type("bytea"), normalised_type("BLOB"));
    assert_ne!(normalised_type("TEXT"), normalised_type("INTEGER"));
    let checks = sqlite_checks(
        "CREATE TABLE t (k TEXT CHECK (k IN ('a', 'b')), n INTEGER CHECK (n BETWEEN 1 AND 5))",
    );
    let mut values = BTreeSet::new();
    for check in &checks {
        literals(check, &mut values);
    }
    assert_eq!(
        values,
        BTreeSet::from(["'a'".into(), "'b'".into(), "1".into(), "5".into()])
    );
    let mut postgres = BTreeSet::new();
    literals(
        "CHECK (((k = ANY (ARRAY['a'::text, 'b'::text]))))"
            .replace("::text", "")
            .as_str(),
        &mut postgres,
    );
    assert_eq!(postgres, BTreeSet::from(["'a'".into(), "'b'".into()]));
    let mut a = Table::default();
    let mut b = Table::default();
    a.indexes.insert((vec!["x".into()], false));
    assert_ne!(a, b);
    b.indexes.insert((vec!["x".into()], false));
    assert_eq!(a, b);
}
