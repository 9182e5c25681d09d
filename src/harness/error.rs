//! The harness's one error type: what a loadtest, a repro, a shrink or a measurement can fail
//! on, with its source kept, and `context` to say what was being done (the commands print the
//! chain in one line).

use crate::backends::error::BackendError;
use crate::paths::batched::BatchedError;
use crate::paths::cursor::CursorError;
use crate::paths::legacy::LegacyError;
use crate::store::schema::SchemaError;

#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// The input or the run's state does not allow it; the message names file, key or path.
    #[error("{0}")]
    Refused(String),
    /// What was being done when `source` failed.
    #[error("{context}: {source}")]
    Context {
        context: String,
        #[source]
        source: Box<HarnessError>,
    },
    /// A database, a server, a cursor store or a file (SQLite, schema, path, cursor and I/O
    /// errors arrive here through `BackendError`, which has a variant for each).
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Generate(#[from] crate::fleet::generator::GenerateError),
    #[error(transparent)]
    Scenario(#[from] crate::fleet::scenario::ScenarioError),
    /// The loadtest's run record (`loadtest::record::RecordError`, converted there).
    #[error(transparent)]
    Record(Box<dyn std::error::Error + Send + Sync>),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// The caller's progress callback failed.
    #[error(transparent)]
    Callback(Box<dyn std::error::Error + Send + Sync>),
}

/// Errors the backends already name, taken as they are.
macro_rules! through_backend {
    ($($t:ty),*) => {
        $(impl From<$t> for HarnessError {
            fn from(e: $t) -> Self {
                HarnessError::Backend(e.into())
            }
        })*
    };
}

through_backend!(
    rusqlite::Error,
    SchemaError,
    BatchedError,
    LegacyError,
    CursorError,
    std::io::Error
);

/// The harness's result; a second parameter names another error type.
pub type Result<T, E = HarnessError> = std::result::Result<T, E>;

/// What was being done, added to an error on its way up.
pub trait Context<T> {
    fn context(self, what: &str) -> Result<T>;
    fn with_context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: Into<HarnessError>> Context<T> for std::result::Result<T, E> {
    fn context(self, what: &str) -> Result<T> {
        self.with_context(|| what.to_string())
    }

    fn with_context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| HarnessError::Context {
            context: what(),
            source: Box::new(e.into()),
        })
    }
}
