//! The local schema, versioned with `PRAGMA user_version`. Each step runs in one transaction.

use rusqlite::Connection;

use crate::error::{ClientError, Result};

/// Migration steps; step `n` (1-based) brings `user_version` from `n - 1` to `n`.
const STEPS: &[&str] = &[
    include_str!("schema/v1.sql"),
    include_str!("schema/v2.sql"),
    include_str!("schema/v3.sql"),
];

/// The version this code writes.
pub(crate) const VERSION: u32 = STEPS.len() as u32;

pub(crate) fn migrate(conn: &mut Connection) -> Result<()> {
    let current: u32 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if current > VERSION {
        return Err(ClientError::Corrupt {
            reason: format!(
                "the database was written by a newer app (schema {current}, this app knows {VERSION})"
            ),
        });
    }
    for (index, step) in STEPS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(step)?;
        tx.pragma_update(None, "user_version", index as u32 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema_of(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([], |row| row.get(0))
            .unwrap()
            .collect::<std::result::Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn an_upgraded_database_equals_a_fresh_one() {
        let mut old = Connection::open_in_memory().unwrap();
        old.execute_batch(STEPS[0]).unwrap();
        old.pragma_update(None, "user_version", 1).unwrap();
        migrate(&mut old).unwrap();
        let mut fresh = Connection::open_in_memory().unwrap();
        migrate(&mut fresh).unwrap();
        assert_eq!(schema_of(&old), schema_of(&fresh));
    }

    #[test]
    fn migrating_twice_changes_nothing_and_newer_databases_are_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let first = schema_of(&conn);
        migrate(&mut conn).unwrap();
        assert_eq!(schema_of(&conn), first);
        let version: u32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(version, VERSION);
        conn.pragma_update(None, "user_version", VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(ClientError::Corrupt { .. })
        ));
    }
}
