//! Password hashing and checking, and login rate limiting.
//!
//! Passwords are hashed with argon2id at the OWASP-recommended cost (19 MiB, 2 passes,
//! 1 lane, the `argon2` crate's defaults) and a random 16-byte salt, and stored as PHC
//! strings (`$argon2id$v=19$m=19456,t=2,p=1$…`), which carry their own parameters so
//! raising the cost later still verifies old hashes.
//!
//! Failed logins are counted per login name in `login_failures`, for names no user has
//! too, so neither the error nor the lockout tells which logins exist; an unknown login
//! is checked against a decoy hash so it takes as long to refuse as a wrong password.
//! Reaching [`LoginPolicy::max_failures`] within [`LoginPolicy::window`] locks the name
//! for [`LoginPolicy::lockout`]; a successful login clears its count.

use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use rusqlite::{OptionalExtension, Transaction, TransactionBehavior};
use watchfloor_event::Timestamp;

use crate::audit::{self, Actor, AuditAction, Change, Origin};
use crate::ids::UserId;
use crate::user::{self, MAX_PASSWORD_BYTES, Password, Role, User};
use crate::{Store, StoreError, token, validate};

/// When repeated failures lock a login name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failures within `window` that lock the name; 0 turns locking off.
    pub max_failures: u32,
    /// How far back failures count.
    pub window: Duration,
    /// How long a locked name stays locked.
    pub lockout: Duration,
}

impl Default for LoginPolicy {
    /// 5 failures within 15 minutes lock the name for 15 minutes.
    fn default() -> Self {
        LoginPolicy {
            max_failures: 5,
            window: Duration::from_secs(15 * 60),
            lockout: Duration::from_secs(15 * 60),
        }
    }
}

fn hasher() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// An argon2id PHC string for the password, with a fresh random salt.
pub(crate) fn hash_password(password: &Password) -> Result<String, StoreError> {
    hasher()
        .hash_password(password.expose().as_bytes())
        .map(|h| h.to_string())
        .map_err(StoreError::PasswordHash)
}

/// Whether the password matches a stored PHC string.
fn password_matches(password: &Password, stored: &str) -> Result<bool, StoreError> {
    let parsed = PasswordHash::new(stored)
        .map_err(|_| StoreError::Corrupt("a stored password hash does not parse"))?;
    match hasher().verify_password(password.expose().as_bytes(), &parsed) {
        Ok(()) => Ok(true),
        Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
        Err(e) => Err(StoreError::PasswordHash(e)),
    }
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl Store {
    /// Checks a login and password at time `now`, from `source` (the client address).
    ///
    /// Returns the user, or [`StoreError::LoginFailed`] — the same for an unknown
    /// login, a wrong password and a disabled user — or [`StoreError::LoginLocked`]
    /// while the name is locked (the password is then not even checked). A success is
    /// audited (`user.login`); a lock is audited (`login.locked`); single failures are
    /// only counted.
    pub fn verify_login(
        &self,
        login: &str,
        password: &Password,
        source: &str,
        now: Timestamp,
    ) -> Result<User, StoreError> {
        validate::source(source)?;
        let Ok(login) = validate::login(login) else {
            self.verify_decoy(password);
            return Err(StoreError::LoginFailed);
        };

        let stored =
            {
                let conn = self.conn();
                check_lock(&conn, &login, now)?;
                conn.query_row(
                "SELECT id, password_hash, disabled_at_ns IS NOT NULL FROM users WHERE login = ?1",
                [&login],
                |r| Ok((UserId(r.get(0)?), r.get::<_, String>(1)?, r.get::<_, bool>(2)?)),
            )
            .optional()?
            };

        // The slow part, outside the lock.
        let good = password.expose().len() <= MAX_PASSWORD_BYTES;
        let accepted = match &stored {
            Some((id, hash, disabled)) if good => {
                (password_matches(password, hash)? && !disabled).then_some(*id)
            }
            _ => {
                self.verify_decoy(password);
                None
            }
        };

        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let Some(id) = accepted else {
            self.count_failure(&tx, &login, source, now)?;
            tx.commit()?;
            return Err(StoreError::LoginFailed);
        };
        // Concurrent failures may have locked the name meanwhile.
        check_lock(&tx, &login, now)?;
        tx.execute("DELETE FROM login_failures WHERE login = ?1", [&login])?;
        let user = user::load(&tx, id)?.ok_or(StoreError::LoginFailed)?;
        audit::record(
            &tx,
            &Origin::new(Actor::User(id), source, now),
            &Change {
                action: AuditAction::UserLogin,
                object: format!("user:{id}"),
                tenant: (user.role == Role::Customer)
                    .then(|| user.tenants.first().copied())
                    .flatten(),
                detail: None,
            },
        )?;
        tx.commit()?;
        Ok(user)
    }

    /// Spends the time of one password check on a hash nobody has the password of.
    fn verify_decoy(&self, password: &Password) {
        let decoy = self.decoy_hash.get_or_init(|| {
            let text = token::random_hex(32).ok()?;
            hash_password(&Password::new(text)).ok()
        });
        if let Some(hash) = decoy {
            let bounded = if password.expose().len() <= MAX_PASSWORD_BYTES {
                password
            } else {
                &Password::new(String::new())
            };
            let _ = password_matches(bounded, hash);
        }
    }

    /// Counts one failure for `login`, locking it when the policy says so, and drops
    /// the counts of other names that have gone stale (so guessing many names does
    /// not grow the table without bound).
    fn count_failure(
        &self,
        tx: &Transaction<'_>,
        login: &str,
        source: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let policy = self.login_policy;
        if policy.max_failures == 0 {
            return Ok(());
        }
        let now_ns = now.as_nanos();
        let window_start = now_ns.saturating_sub(nanos(policy.window));
        tx.execute(
            "DELETE FROM login_failures
             WHERE window_start_ns <= ?1 AND (locked_until_ns IS NULL OR locked_until_ns <= ?2)",
            (window_start, now_ns),
        )?;
        let row: Option<(i64, i64)> = tx
            .query_row(
                "SELECT failures, window_start_ns FROM login_failures WHERE login = ?1",
                [login],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (failures, start) = match row {
            Some((failures, start)) if start > window_start => (failures.saturating_add(1), start),
            _ => (1, now_ns),
        };
        if failures < i64::from(policy.max_failures) {
            tx.execute(
                "INSERT OR REPLACE INTO login_failures (login, failures, window_start_ns, locked_until_ns)
                 VALUES (?1, ?2, ?3, NULL)",
                (login, failures, start),
            )?;
            return Ok(());
        }
        let until = now_ns.saturating_add(nanos(policy.lockout));
        tx.execute(
            "INSERT OR REPLACE INTO login_failures (login, failures, window_start_ns, locked_until_ns)
             VALUES (?1, 0, ?2, ?3)",
            (login, now_ns, until),
        )?;
        audit::record(
            tx,
            &Origin::new(Actor::System, source, now),
            &Change {
                action: AuditAction::LoginLocked,
                object: format!("login:{login}"),
                tenant: None,
                detail: Some(&format!(
                    "{failures} failed attempts; locked for {} s",
                    policy.lockout.as_secs()
                )),
            },
        )?;
        Ok(())
    }
}

/// Fails with [`StoreError::LoginLocked`] while `login` is locked.
fn check_lock(conn: &rusqlite::Connection, login: &str, now: Timestamp) -> Result<(), StoreError> {
    let locked: Option<Option<i64>> = conn
        .query_row(
            "SELECT locked_until_ns FROM login_failures WHERE login = ?1",
            [login],
            |r| r.get(0),
        )
        .optional()?;
    match locked.flatten() {
        Some(until) if until > now.as_nanos() => Err(StoreError::LoginLocked {
            until: Timestamp(until),
        }),
        _ => Ok(()),
    }
}
