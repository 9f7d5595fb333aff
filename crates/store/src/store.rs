//! [`Store`]: the handle the server holds, opening and migrating the database.

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use rusqlite::{Connection, OpenFlags};
use watchfloor_event::Timestamp;

use crate::login::LoginPolicy;
use crate::{StoreError, schema};

/// The store: one SQLite connection behind a mutex.
///
/// `Store` is `Send + Sync`; share it as `Arc<Store>`. Each operation takes the lock
/// for its queries and its transaction and releases it before returning, so the lock
/// is never held across a call into the caller, and argon2 hashing (tens of
/// milliseconds) runs outside it. One connection serialises the store's own queries;
/// that suits the rare, small writes of identity data. Should reads ever queue behind
/// each other, a pool of read connections fits in here without changing the API (WAL
/// lets readers run beside the one writer).
pub struct Store {
    conn: Mutex<Connection>,
    pub(crate) login_policy: LoginPolicy,
    /// An argon2id hash of a random password, verified against when a login does not
    /// exist so that unknown and known logins take the same time to refuse.
    pub(crate) decoy_hash: OnceLock<Option<String>>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("login_policy", &self.login_policy)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database file at `path`, creating it (readable by its owner only, on
    /// Unix) if it does not exist, and applies any migrations it lacks. The folder must
    /// exist. Fails with [`StoreError::SchemaTooNew`] if a newer watchfloor wrote it.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, StoreError> {
        let path = path.as_ref();
        create_private(path);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        Store::from_connection(conn, true)
    }

    /// A store in memory, gone when dropped: for tests.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::from_connection(Connection::open_in_memory()?, false)
    }

    fn from_connection(mut conn: Connection, file: bool) -> Result<Store, StoreError> {
        schema::configure(&conn, file)?;
        schema::migrate(&mut conn, Timestamp::now())?;
        Ok(Store {
            conn: Mutex::new(conn),
            login_policy: LoginPolicy::default(),
            decoy_hash: OnceLock::new(),
        })
    }

    /// Replaces the login lockout policy (the default is [`LoginPolicy::default`]).
    pub fn with_login_policy(mut self, policy: LoginPolicy) -> Store {
        self.login_policy = policy;
        self
    }

    /// The migrations applied to this database: version and when, oldest first.
    pub fn migrations(&self) -> Result<Vec<(i64, Timestamp)>, StoreError> {
        let conn = self.conn();
        let mut stmt =
            conn.prepare("SELECT version, applied_at_ns FROM migrations ORDER BY version")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, Timestamp(r.get(1)?))))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The connection, for one operation. A panic while another thread held the lock
    /// leaves nothing half-done (an open transaction rolls back when dropped), so a
    /// poisoned lock is taken over.
    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Creates an empty database file with owner-only permissions, so the password and
/// token hashes are not readable by other local users; SQLite gives the `-wal` and
/// `-shm` files the same permissions. An existing file is left as it is, and any
/// failure here is left to SQLite's own open to report.
fn create_private(path: &Path) {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let _ = options.open(path);
}
