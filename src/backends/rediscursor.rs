//! The batched path's cursor in Redis, as Fleet keeps it (spec §4.1; issue 6): plain GET and
//! SET, no TTL, at reconsim's own key (`reconsim:mdm:apple:recon_cursor`) unless the user names
//! another, Fleet's `mdm:apple:recon_cursor` included. A failed command drops the connection
//! and the next one reconnects, so a Redis restart mid-run costs the ticks it was down: a read
//! error is "start from the beginning" to the tick (spec §4.1 step 1), a write error follows
//! the variant (swallowed by all but `latest`, spec §8 B3).

use crate::backends::error::{Result, refuse, refused};
use crate::paths::cursor::{CursorError, CursorStore};
use std::time::Duration;

/// How long a command may wait for Redis before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(2);

pub struct RedisCursor {
    client: redis::Client,
    conn: Option<redis::Connection>,
    /// The URL, for messages.
    pub url: String,
    /// The key the cursor is kept at.
    pub key: String,
    /// Commands that failed (read and write), for reports.
    pub errors: u64,
}

impl RedisCursor {
    /// Connects and checks the server answers PING; one clear line otherwise.
    pub fn connect(url: &str, key: &str) -> Result<RedisCursor> {
        let client = redis::Client::open(url)
            .map_err(|e| refused!("--cursor {url}: not a Redis URL: {e}"))?;
        let mut c = RedisCursor {
            client,
            conn: None,
            url: url.to_string(),
            key: key.to_string(),
            errors: 0,
        };
        let pong: String = c
            .command(redis::cmd("PING"))
            .map_err(|e| refused!("--cursor {url}: {e}"))?;
        if pong != "PONG" {
            refuse!("--cursor {url}: the server answered PING with {pong:?}, not PONG");
        }
        Ok(c)
    }

    fn command<T: redis::FromRedisValue>(&mut self, cmd: redis::Cmd) -> Result<T, String> {
        if self.conn.is_none() {
            let conn = match self.client.get_connection_with_timeout(TIMEOUT) {
                Ok(c) => c,
                Err(e) => {
                    self.errors += 1;
                    return Err(one_line(&format!("cannot reach Redis: {e}")));
                }
            };
            conn.set_read_timeout(Some(TIMEOUT)).ok();
            conn.set_write_timeout(Some(TIMEOUT)).ok();
            self.conn = Some(conn);
        }
        let conn = self.conn.as_mut().expect("connected above");
        cmd.query(conn).map_err(|e| {
            self.conn = None; // reconnect on the next command
            self.errors += 1;
            one_line(&format!("Redis: {e}"))
        })
    }

    /// Sets the cursor to `""` (a fresh pass), for runs that start a scenario from scratch.
    pub fn reset(&mut self) -> Result<()> {
        self.write("")
            .map_err(|e| refused!("--cursor {}: {e}", self.url))
    }
}

impl CursorStore for RedisCursor {
    fn read(&mut self) -> Result<String, CursorError> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(&self.key);
        self.command::<Option<String>>(cmd)
            .map(Option::unwrap_or_default)
            .map_err(CursorError::Read)
    }
    fn write(&mut self, value: &str) -> Result<(), CursorError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(&self.key).arg(value);
        self.command::<()>(cmd).map_err(CursorError::Write)
    }
}

/// An error on one line (the client's parse errors span several).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn errors_fit_on_one_line() {
        assert_eq!(
            super::one_line("a\nUnexpected `0`\n\n b"),
            "a Unexpected `0` b"
        );
    }
}
