//! The backends' one error type: every failure of a server, a connection or a copy, with its
//! source kept (no flattening into a string), so a command can print it in one line and a
//! library user can match on it.

use crate::paths::batched::BatchedError;
use crate::paths::cursor::CursorError;
use crate::paths::legacy::LegacyError;
use crate::store::schema::SchemaError;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The backend refused or cannot serve the request; the message names server, table or
    /// flag value at fault.
    #[error("{0}")]
    Refused(String),
    #[error("MySQL: {0}")]
    Mysql(#[from] mysql::Error),
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Schema(#[from] SchemaError),
    #[error(transparent)]
    Batched(#[from] BatchedError),
    #[error(transparent)]
    Legacy(#[from] LegacyError),
    #[error(transparent)]
    Cursor(#[from] CursorError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The backends' result; a second parameter names another error type.
pub type Result<T, E = BackendError> = std::result::Result<T, E>;

/// `BackendError::Refused` from a format string.
macro_rules! refused {
    ($($t:tt)*) => {
        $crate::backends::error::BackendError::Refused(format!($($t)*))
    };
}

/// Returns `BackendError::Refused` from a format string.
macro_rules! refuse {
    ($($t:tt)*) => {
        return Err($crate::backends::error::refused!($($t)*))
    };
}

pub(crate) use {refuse, refused};
