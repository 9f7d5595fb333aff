//! [`Store`]: the handle the server holds, opening and migrating the database.

use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError, TryLockError};

use rusqlite::{Connection, OpenFlags};
use watchfloor_event::Timestamp;

use crate::login::LoginPolicy;
use crate::{StoreError, schema};

/// How many read-only connections a store on a file keeps beside its writer.
const READERS: usize = 4;

/// The store: one writing SQLite connection behind a mutex, and (on a file) a few
/// read-only connections for the API's pure reads.
///
/// `Store` is `Send + Sync`; share it as `Arc<Store>`. Each operation takes a
/// connection's lock for its queries and its transaction and releases it before
/// returning, so a lock is never held across a call into the caller, and argon2
/// hashing (tens of milliseconds) runs outside it.
///
/// Every write, and every read that decides a write (read-then-write transactions),
/// runs on the one writer, so writes are serialised as before. Pure reads — the lists
/// and single objects the API shows, event search, suppressions, rule switches, the
/// audit log, tenants, indicators — run on the read connections ([`Store::reader`]).
///
/// **Invariant:** readers never block on the writer, and a read sees the last
/// committed state. WAL mode lets readers run beside the one writer: a read
/// transaction sees every transaction committed when it began and nothing of one
/// still open, however long the writer's transaction (an ingest append holds it
/// ≈ 120 ms). A read of several queries (a count and its page) runs them in one read
/// transaction, so they see one snapshot. A store in memory cannot share its
/// database between connections, so it has no readers and reads on the writer.
pub struct Store {
    conn: Mutex<Connection>,
    /// Read-only connections to the same file; empty for a store in memory.
    readers: Vec<Mutex<Connection>>,
    /// Where the next read starts looking for a free reader.
    next_reader: AtomicUsize,
    /// The zstd dictionaries raw records are compressed with, prepared.
    pub(crate) codecs: crate::codec::Codecs,
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
        let mut store = Store::from_connection(conn, true)?;
        // After the migrations: a reader opens a database whose schema is current.
        store.readers = (0..READERS)
            .map(|_| open_reader(path).map(Mutex::new))
            .collect::<Result<_, _>>()?;
        Ok(store)
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
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            codecs: crate::codec::Codecs::default(),
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

    /// A read-only connection, for one pure read (never a write, never a read that
    /// decides a write: those take [`Store::conn`]). The first free reader, looking
    /// from a rotating start; when all are busy, waits for one of them (never for the
    /// writer). A store in memory gives its one connection. Several queries that must
    /// agree go in one transaction (`transaction()` on the guard), which on a reader
    /// only reads.
    pub(crate) fn reader(&self) -> MutexGuard<'_, Connection> {
        let n = self.readers.len();
        if n == 0 {
            return self.conn();
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        for i in 0..n {
            match self.readers[(start + i) % n].try_lock() {
                Ok(guard) => return guard,
                Err(TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(TryLockError::WouldBlock) => {}
            }
        }
        self.readers[start % n]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A read-only connection to the database file at `path`, which the writer has
/// opened, migrated and put in WAL mode.
fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    schema::configure_reader(&conn)?;
    Ok(conn)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;
    use crate::Origin;

    fn names(store: &Store) -> Vec<String> {
        let tenants = store.tenants().expect("tenants");
        tenants.into_iter().map(|t| t.name).collect()
    }

    #[test]
    fn reads_go_on_beside_an_open_write_and_see_only_commits() {
        let dir =
            std::env::temp_dir().join(format!("watchfloor-store-readers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let store = Arc::new(Store::open(dir.join("w.db")).expect("open"));
        assert_eq!(store.readers.len(), READERS);
        store
            .create_tenant("acme", &Origin::system("test", Timestamp(1)))
            .expect("tenant");

        // The writer holds its lock, inside a transaction with an uncommitted row.
        let mut writer = store.conn();
        let tx = writer
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .expect("begin");
        tx.execute(
            "INSERT INTO tenants (name, retention_days, created_at_ns) VALUES ('globex', 30, 2)",
            [],
        )
        .expect("insert");
        let (send, receive) = mpsc::channel();
        let reading = Arc::clone(&store);
        let reader = std::thread::spawn(move || send.send(names(&reading)));
        let seen = receive
            .recv_timeout(Duration::from_secs(5))
            .expect("a read does not wait for the writer");
        assert_eq!(seen, ["acme"], "nothing uncommitted is seen");
        reader.join().expect("reader").expect("sent");
        tx.commit().expect("commit");
        drop(writer);
        assert_eq!(
            names(&store),
            ["acme", "globex"],
            "a commit is seen at once"
        );
        drop(store);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_store_in_memory_reads_on_its_one_connection() {
        let store = Store::open_in_memory().expect("store");
        assert!(store.readers.is_empty());
        store
            .create_tenant("acme", &Origin::system("test", Timestamp(1)))
            .expect("tenant");
        assert_eq!(names(&store), ["acme"]);
    }
}
