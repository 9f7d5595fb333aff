//! Who is calling: bearer credentials in, a [`Principal`] out.
//!
//! Two kinds of bearer credential are accepted in `Authorization: Bearer …`:
//!
//! - API tokens (`wf_…`), checked by [`Store::authenticate_token`];
//! - session tokens (`wfs_…`) handed out by `POST /api/v1/login`. For this first slice a
//!   session is a short-lived bearer token held in memory only (its SHA-256 → user and
//!   expiry, [`SESSION_TTL`]); a restart signs everyone out. Console sessions by secure
//!   cookie with CSRF protection replace them for browsers later.
//!
//! A session's user is read again on every request, so disabling a user or changing an
//! analyst's tenants takes effect at once; a disabled user is refused.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use watchfloor_store::{Origin, Principal, Timestamp, UserId};

use crate::error::UNAUTHENTICATED;
use crate::{AppError, AppState};

/// How every session token starts (API tokens start with `wf_`).
pub const SESSION_PREFIX: &str = "wfs_";
/// How long a session lasts after login.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 60 * 60);
/// The most sessions held at once; beyond it the oldest-expiring are dropped.
const MAX_SESSIONS: usize = 100_000;

/// A signed-in user's session.
#[derive(Clone, Copy, Debug)]
struct Session {
    user: UserId,
    expires: Timestamp,
}

/// The live sessions, by the SHA-256 of their token (the token itself is not kept).
#[derive(Debug)]
pub struct Sessions {
    ttl: Duration,
    map: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        // A panic elsewhere cannot leave the map half-changed: each change is one call.
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Starts a session for `user`; returns its token (shown once) and its lifetime.
    pub(crate) fn start(&self, user: UserId, now: Timestamp) -> Result<String, AppError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| AppError::internal("random source failed"))?;
        let mut token = String::with_capacity(SESSION_PREFIX.len() + 64);
        token.push_str(SESSION_PREFIX);
        for b in bytes {
            let _ = write!(token, "{b:02x}");
        }
        let ttl = i64::try_from(self.ttl.as_nanos()).unwrap_or(i64::MAX);
        let expires = Timestamp(now.as_nanos().saturating_add(ttl));
        let mut map = self.map();
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(hash(&token), Session { user, expires });
        Ok(token)
    }

    /// The user of a live session.
    fn user(&self, token: &str, now: Timestamp) -> Option<UserId> {
        let key = hash(token);
        let mut map = self.map();
        let session = *map.get(&key)?;
        if session.expires <= now {
            map.remove(&key);
            return None;
        }
        Some(session.user)
    }

    /// Ends a session; whether there was one.
    pub(crate) fn end(&self, token: &str) -> bool {
        self.map().remove(&hash(token)).is_some()
    }

    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }
}

fn hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The bearer credential of a request, if it has one.
pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// Where a request came from: the peer address when the server knows it.
pub(crate) fn source(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(
            || "unknown".to_owned(),
            |ConnectInfo(addr)| addr.to_string(),
        )
}

/// An authenticated caller: the principal and where the request came from.
///
/// As an extractor it refuses a request without accepted credentials (401). The route
/// guard authenticates first and leaves the result in the request, so a handler taking
/// `Auth` does not check the credential twice.
#[derive(Clone, Debug)]
pub struct Auth {
    pub principal: Principal,
    pub source: String,
}

impl Auth {
    /// The origin of a change this caller makes at `at`.
    pub fn origin(&self, at: Timestamp) -> Origin {
        Origin::new(self.principal.actor(), self.source.clone(), at)
    }

    pub(crate) async fn authenticate(parts: &Parts, state: &AppState) -> Result<Auth, AppError> {
        let token = bearer(parts)
            .ok_or(AppError::Unauthenticated(UNAUTHENTICATED))?
            .to_owned();
        let now = Timestamp::now();
        let principal = if token.starts_with(SESSION_PREFIX) {
            let user = state
                .sessions
                .user(&token, now)
                .ok_or(AppError::Unauthenticated(UNAUTHENTICATED))?;
            let user = match state.run(move |s| s.user(user)).await {
                Ok(user) => user,
                Err(AppError::NotFound(_)) => {
                    return Err(AppError::Unauthenticated(UNAUTHENTICATED));
                }
                Err(e) => return Err(e),
            };
            Principal::for_user(&user).ok_or(AppError::Unauthenticated(UNAUTHENTICATED))?
        } else {
            let scope = state
                .run(move |s| s.authenticate_token(&token, now))
                .await?;
            Principal::for_token(scope)
        };
        Ok(Auth {
            principal,
            source: source(parts),
        })
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Auth, AppError> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        Auth::authenticate(parts, state).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_end() {
        let sessions = Sessions::new(Duration::from_secs(10));
        let now = Timestamp(1_000_000_000_000);
        let token = sessions.start(UserId(7), now).unwrap_or_default();
        assert!(token.starts_with(SESSION_PREFIX) && token.len() == 68);
        assert_eq!(sessions.user(&token, now), Some(UserId(7)));
        assert_eq!(sessions.user("wfs_nope", now), None);
        let later = Timestamp(now.as_nanos() + 10_000_000_000);
        assert_eq!(sessions.user(&token, later), None);
        let token = sessions.start(UserId(8), now).unwrap_or_default();
        assert!(sessions.end(&token));
        assert!(!sessions.end(&token));
        assert_eq!(sessions.user(&token, now), None);
    }
}
