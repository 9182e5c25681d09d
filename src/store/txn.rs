//! Write scopes: the writer, the simulated devices and churn each write in one scope, which is
//! a transaction of its own (`BEGIN IMMEDIATE`, taking the write lock up front so the busy
//! handler can wait for it) or, when the caller already holds a transaction (the loadtest's
//! crash-exact steps, `loadtest::record`), a savepoint inside it.

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// A transaction or a savepoint; either commits with `commit` and rolls back when dropped.
pub enum WriteScope<'c> {
    Own(Transaction<'c>),
    Nested(Nested<'c>),
}

/// A savepoint inside the caller's transaction, taken through a shared borrow (so that a
/// reader of the same connection, as the drain loop's windows are, can write between reads).
pub struct Nested<'c> {
    conn: &'c Connection,
    done: bool,
}

impl Drop for Nested<'_> {
    fn drop(&mut self) {
        if !self.done {
            // Nothing of the scope is kept; the caller's transaction goes on.
            let _ = self
                .conn
                .execute_batch("ROLLBACK TO reconsim_scope; RELEASE reconsim_scope");
        }
    }
}

impl std::ops::Deref for WriteScope<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        match self {
            WriteScope::Own(t) => t,
            WriteScope::Nested(s) => s.conn,
        }
    }
}

impl WriteScope<'_> {
    pub fn commit(self) -> rusqlite::Result<()> {
        match self {
            WriteScope::Own(t) => t.commit(),
            WriteScope::Nested(mut s) => {
                s.conn.execute_batch("RELEASE reconsim_scope")?;
                s.done = true;
                Ok(())
            }
        }
    }
}

/// Opens a write scope on `conn` (see the module doc).
pub fn write_scope(conn: &Connection) -> rusqlite::Result<WriteScope<'_>> {
    if conn.is_autocommit() {
        Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map(WriteScope::Own)
    } else {
        conn.execute_batch("SAVEPOINT reconsim_scope")?;
        Ok(WriteScope::Nested(Nested { conn, done: false }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Connection) -> i64 {
        conn.query_row("SELECT count(*) FROM t", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_scope_is_its_own_transaction_or_nests_in_the_callers() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
        let s = write_scope(&conn).unwrap();
        assert!(matches!(s, WriteScope::Own(_)));
        s.execute("INSERT INTO t VALUES (1)", []).unwrap();
        s.commit().unwrap();
        assert!(conn.is_autocommit());
        assert_eq!(count(&conn), 1);

        conn.execute_batch("BEGIN").unwrap();
        let s = write_scope(&conn).unwrap();
        assert!(matches!(s, WriteScope::Nested(_)));
        s.execute("INSERT INTO t VALUES (2)", []).unwrap();
        s.commit().unwrap();
        // Still inside the caller's transaction: its rollback takes the nested write too.
        assert!(!conn.is_autocommit());
        conn.execute_batch("ROLLBACK").unwrap();
        assert_eq!(count(&conn), 1);

        let s = write_scope(&conn).unwrap();
        s.execute("INSERT INTO t VALUES (3)", []).unwrap();
        drop(s);
        assert_eq!(count(&conn), 1);
    }
}
