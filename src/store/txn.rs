//! Write scopes: the writer, the simulated devices and churn each write in one scope, which is
//! a transaction of its own (`BEGIN IMMEDIATE`, taking the write lock up front so the busy
//! handler can wait for it) or, when the caller already holds a transaction (the loadtest's
//! crash-exact steps, `loadtest::record`), a savepoint inside it. A writer whose failure ends
//! the caller's transaction anyway (the loadtest's devices and churn: a failed step stops the
//! run, and its open transaction is rolled back) joins that transaction instead (`join_scope`):
//! no savepoint, so SQLite keeps no in-memory copy of each page the writer changes.

use rusqlite::{Connection, Transaction, TransactionBehavior};

/// A transaction or a savepoint; either commits with `commit` and rolls back when dropped. Or
/// the caller's transaction itself (`join_scope`): `commit` and dropping leave it to the caller.
pub enum WriteScope<'c> {
    Own(Transaction<'c>),
    Nested(Nested<'c>),
    Joined(&'c Connection),
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
            WriteScope::Joined(c) => c,
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
            WriteScope::Joined(_) => Ok(()),
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

/// Opens a write scope on `conn` that, inside the caller's transaction, is that transaction:
/// what was written before a failure stays in it, so the caller must roll it back when the
/// writer fails (see the module doc). Outside one, a transaction of its own, as `write_scope`.
pub fn join_scope(conn: &Connection) -> rusqlite::Result<WriteScope<'_>> {
    if conn.is_autocommit() {
        write_scope(conn)
    } else {
        Ok(WriteScope::Joined(conn))
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

    #[test]
    fn a_joined_scope_is_the_callers_transaction_with_no_savepoint() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (x)").unwrap();
        // Outside a transaction: one of its own, as `write_scope`.
        let s = join_scope(&conn).unwrap();
        assert!(matches!(s, WriteScope::Own(_)));
        s.execute("INSERT INTO t VALUES (1)", []).unwrap();
        drop(s);
        assert_eq!(count(&conn), 0);

        conn.execute_batch("BEGIN").unwrap();
        let s = join_scope(&conn).unwrap();
        assert!(matches!(s, WriteScope::Joined(_)));
        s.execute("INSERT INTO t VALUES (2)", []).unwrap();
        // No savepoint was taken: releasing one fails.
        let e = s.execute_batch("RELEASE reconsim_scope").unwrap_err();
        assert!(e.to_string().contains("no such savepoint"), "{e}");
        // Dropped without commit, the write stays in the caller's transaction.
        drop(s);
        assert_eq!(count(&conn), 1);
        conn.execute_batch("COMMIT").unwrap();
        assert_eq!(count(&conn), 1);
    }
}
