//! Who is calling: credentials in, a [`Principal`] out.
//!
//! Credentials come one of two ways:
//!
//! - **`Authorization: Bearer …`**, for API clients and scripts. Two kinds of bearer
//!   credential are accepted: API tokens (`wf_…`), checked by
//!   [`Store::authenticate_token`](watchfloor_store::Store::authenticate_token), and
//!   session tokens (`wfs_…`) handed out by `POST /api/v1/login`.
//! - **The `wf_session` cookie** ([`SESSION_COOKIE`]), for the browser console. Login
//!   sets it to the same session token, as
//!   `wf_session=<token>; HttpOnly; SameSite=Strict; Path=/api/v1; Max-Age=<ttl secs>`,
//!   with `; Secure` added when the login request came over HTTPS (see below). Only
//!   session tokens are accepted from the cookie, never API tokens.
//!
//! A request that has an `Authorization` header is authenticated by that header alone,
//! well-formed or not; its cookies are then ignored. A request that carries several
//! different `wf_session` cookies (which this server never sets: one name, one path, no
//! domain) is refused as unauthenticated rather than guessed at.
//!
//! **Sessions** are held in memory only, by the SHA-256 of their token → user, expiry
//! ([`SESSION_TTL`]) and the SHA-256 of the session's CSRF token; neither token itself is
//! kept, and a restart signs everyone out. `Debug` of the session store shows no token or
//! digest.
//!
//! **CSRF.** A browser sends the cookie with every request to the API, including those a
//! page of another site makes it send. So a request authenticated by the cookie whose
//! method is not safe (anything but `GET`, `HEAD` and `OPTIONS`) must carry the header
//! `X-CSRF-Token` ([`CSRF_HEADER`]) with the session's CSRF token, which login returns
//! once in its JSON body (`csrf_token`); without it, or with another value, the request
//! is refused with 403 before its handler runs or its body is read. The token is
//! compared by SHA-256 digest in constant time. Another origin can neither read the
//! token nor set a custom header without a CORS preflight, which this API does not
//! answer; `SameSite=Strict` is a second line. Bearer requests need no CSRF token: a
//! browser never adds an `Authorization` header by itself.
//!
//! **`Secure` and proxies.** The server speaks plain HTTP; TLS ends at a reverse proxy.
//! The session cookie is marked `Secure` when the request says it arrived over HTTPS:
//! `X-Forwarded-Proto: https` (its first value when a chain of proxies lists several),
//! or an absolute `https` request URI. A proxy terminating TLS must set (overwrite) that
//! header. A client that sends it over plain HTTP only makes its own cookie one the
//! browser will not return over plain HTTP.
//!
//! A session's user is read again on every request, so disabling a user or changing an
//! analyst's tenants takes effect at once; a disabled user is refused.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use sha2::{Digest, Sha256};
use watchfloor_store::{Origin, Principal, Timestamp, UserId};

use crate::error::UNAUTHENTICATED;
use crate::routes::API_PREFIX;
use crate::{AppError, AppState};

/// How every session token starts (API tokens start with `wf_`).
pub const SESSION_PREFIX: &str = "wfs_";
/// How long a session lasts after login.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 60 * 60);
/// The name of the cookie that carries a console session's token.
pub const SESSION_COOKIE: &str = "wf_session";
/// The header that must carry the session's CSRF token on an unsafe request
/// authenticated by the cookie (header names are case-insensitive).
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The most sessions held at once; beyond it the oldest-expiring are dropped.
const MAX_SESSIONS: usize = 100_000;

const CSRF_MISSING: &str = "a request authenticated by the session cookie must carry the \
                            X-CSRF-Token header with the csrf_token given at login";
const CSRF_WRONG: &str = "the X-CSRF-Token header does not match the session's csrf_token";

/// A signed-in user's session.
#[derive(Clone, Copy)]
struct Session {
    user: UserId,
    expires: Timestamp,
    /// The SHA-256 of the session's CSRF token.
    csrf: [u8; 32],
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// A session just started: its token and its CSRF token, each shown once.
pub(crate) struct NewSession {
    pub(crate) token: String,
    pub(crate) csrf_token: String,
}

impl fmt::Debug for NewSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewSession { <secrets not shown> }")
    }
}

/// The live sessions, by the SHA-256 of their token (the token itself is not kept).
pub struct Sessions {
    ttl: Duration,
    map: Mutex<HashMap<[u8; 32], Session>>,
}

impl fmt::Debug for Sessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sessions")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
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

    /// Starts a session for `user`; returns its token and CSRF token (shown once).
    pub(crate) fn start(&self, user: UserId, now: Timestamp) -> Result<NewSession, AppError> {
        let token = format!("{SESSION_PREFIX}{}", random_hex()?);
        let csrf_token = random_hex()?;
        let ttl = i64::try_from(self.ttl.as_nanos()).unwrap_or(i64::MAX);
        let session = Session {
            user,
            expires: Timestamp(now.as_nanos().saturating_add(ttl)),
            csrf: hash(&csrf_token),
        };
        let mut map = self.map();
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS
            && let Some(oldest) = map.iter().min_by_key(|(_, s)| s.expires).map(|(k, _)| *k)
        {
            map.remove(&oldest);
        }
        map.insert(hash(&token), session);
        Ok(NewSession { token, csrf_token })
    }

    /// A live session.
    fn get(&self, token: &str, now: Timestamp) -> Option<Session> {
        let key = hash(token);
        let mut map = self.map();
        let session = *map.get(&key)?;
        if session.expires <= now {
            map.remove(&key);
            return None;
        }
        Some(session)
    }

    /// Ends a session; whether there was one.
    pub(crate) fn end(&self, token: &str) -> bool {
        self.map().remove(&hash(token)).is_some()
    }

    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }
}

/// 32 bytes from the operating system's random source, as 64 lower-case hex digits.
fn random_hex() -> Result<String, AppError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| AppError::internal("random source failed"))?;
    let mut text = String::with_capacity(64);
    for b in bytes {
        let _ = write!(text, "{b:02x}");
    }
    Ok(text)
}

fn hash(token: &str) -> [u8; 32] {
    hash_bytes(token.as_bytes())
}

fn hash_bytes(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Whether two digests are equal, looking at every byte whatever the first difference.
fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
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

/// The value of the request's `wf_session` cookie, if it has exactly one (the same value
/// repeated counts as one). Reads every `Cookie` header, pairs split by `;` with spaces
/// around them, a value in double quotes unquoted; other cookies, pairs without `=` and
/// bytes that are not UTF-8 in other cookies are passed over. Several different values,
/// an empty one or one that is not UTF-8 give none.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    let mut found: Option<&str> = None;
    for value in headers.get_all(header::COOKIE) {
        for pair in value.as_bytes().split(|&b| b == b';') {
            let Some(eq) = pair.iter().position(|&b| b == b'=') else {
                continue;
            };
            if pair[..eq].trim_ascii() != SESSION_COOKIE.as_bytes() {
                continue;
            }
            let raw = pair[eq + 1..].trim_ascii();
            let raw = raw
                .strip_prefix(b"\"")
                .and_then(|r| r.strip_suffix(b"\""))
                .unwrap_or(raw);
            let text = std::str::from_utf8(raw).ok()?;
            match found {
                Some(seen) if seen != text => return None,
                _ => found = Some(text),
            }
        }
    }
    found.filter(|t| !t.is_empty())
}

/// Where a request's credential came from.
#[derive(Clone, Copy)]
pub(crate) enum Credential<'a> {
    /// `Authorization: Bearer`: an API token or a session token.
    Bearer(&'a str),
    /// The `wf_session` cookie.
    Cookie(&'a str),
}

impl fmt::Debug for Credential<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Credential::Bearer(_) => "Bearer(<not shown>)",
            Credential::Cookie(_) => "Cookie(<not shown>)",
        })
    }
}

impl<'a> Credential<'a> {
    /// The request's credential: the `Authorization` header if there is one (401 if it
    /// is not a bearer credential), else the `wf_session` cookie, else 401.
    pub(crate) fn of(parts: &'a Parts) -> Result<Credential<'a>, AppError> {
        let refused = AppError::Unauthenticated(UNAUTHENTICATED);
        if parts.headers.contains_key(header::AUTHORIZATION) {
            return bearer(parts).map(Credential::Bearer).ok_or(refused);
        }
        session_cookie(&parts.headers)
            .map(Credential::Cookie)
            .ok_or(refused)
    }

    /// The token, wherever it came from.
    pub(crate) fn token(self) -> &'a str {
        match self {
            Credential::Bearer(t) | Credential::Cookie(t) => t,
        }
    }
}

/// Whether a request says it arrived over HTTPS (`X-Forwarded-Proto: https`, the first
/// value of a list, or an absolute `https` URI), so its cookies get `Secure`.
pub(crate) fn over_https(parts: &Parts) -> bool {
    let forwarded = parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
    forwarded || parts.uri.scheme_str() == Some("https")
}

/// The `Set-Cookie` value that hands a browser its session.
pub(crate) fn session_set_cookie(token: &str, ttl: Duration, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path={API_PREFIX}; Max-Age={}{secure}",
        ttl.as_secs()
    )
}

/// The `Set-Cookie` value that makes a browser forget its session.
pub(crate) fn session_clear_cookie(secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{SESSION_COOKIE}=; Max-Age=0; Path={API_PREFIX}; HttpOnly; SameSite=Strict{secure}")
}

/// Refuses an unsafe request without the session's CSRF token (403).
fn check_csrf(parts: &Parts, expected: &[u8; 32]) -> Result<(), AppError> {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(());
    }
    let given = parts
        .headers
        .get(CSRF_HEADER)
        .ok_or(AppError::ForbiddenBecause(CSRF_MISSING))?;
    if digests_equal(&hash_bytes(given.as_bytes()), expected) {
        Ok(())
    } else {
        Err(AppError::ForbiddenBecause(CSRF_WRONG))
    }
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
/// As an extractor it refuses a request without accepted credentials (401), and a
/// cookie-authenticated unsafe request without the session's CSRF token (403). The route
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
        let refused = || AppError::Unauthenticated(UNAUTHENTICATED);
        let now = Timestamp::now();
        let principal = match Credential::of(parts)? {
            Credential::Bearer(token) if !token.starts_with(SESSION_PREFIX) => {
                let token = token.to_owned();
                let scope = state
                    .run(move |s| s.authenticate_token(&token, now))
                    .await?;
                Principal::for_token(scope)
            }
            Credential::Bearer(token) => {
                let session = state.sessions.get(token, now).ok_or_else(refused)?;
                session_principal(state, session.user).await?
            }
            Credential::Cookie(token) => {
                if !token.starts_with(SESSION_PREFIX) {
                    return Err(refused());
                }
                let session = state.sessions.get(token, now).ok_or_else(refused)?;
                let principal = session_principal(state, session.user).await?;
                check_csrf(parts, &session.csrf)?;
                principal
            }
        };
        Ok(Auth {
            principal,
            source: source(parts),
        })
    }
}

/// The principal of a session's user, read now; a deleted or disabled user is refused.
async fn session_principal(state: &AppState, user: UserId) -> Result<Principal, AppError> {
    let user = match state.run(move |s| s.user(user)).await {
        Ok(user) => user,
        Err(AppError::NotFound(_)) => return Err(AppError::Unauthenticated(UNAUTHENTICATED)),
        Err(e) => return Err(e),
    };
    Principal::for_user(&user).ok_or(AppError::Unauthenticated(UNAUTHENTICATED))
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
    use axum::http::{HeaderValue, Request};

    use super::*;

    fn start(sessions: &Sessions, user: i64, now: Timestamp) -> NewSession {
        sessions
            .start(UserId(user), now)
            .unwrap_or_else(|_| NewSession {
                token: String::new(),
                csrf_token: String::new(),
            })
    }

    #[test]
    fn sessions_expire_and_end() {
        let sessions = Sessions::new(Duration::from_secs(10));
        let now = Timestamp(1_000_000_000_000);
        let new = start(&sessions, 7, now);
        let token = new.token;
        assert!(token.starts_with(SESSION_PREFIX) && token.len() == 68);
        assert_eq!(new.csrf_token.len(), 64);
        assert_ne!(new.csrf_token, token[SESSION_PREFIX.len()..]);
        let session = sessions.get(&token, now);
        assert_eq!(session.map(|s| s.user), Some(UserId(7)));
        assert!(session.is_some_and(|s| s.csrf == hash(&new.csrf_token)));
        assert!(sessions.get("wfs_nope", now).is_none());
        let later = Timestamp(now.as_nanos() + 10_000_000_000);
        assert!(sessions.get(&token, later).is_none());
        let token = start(&sessions, 8, now).token;
        assert!(sessions.end(&token));
        assert!(!sessions.end(&token));
        assert!(sessions.get(&token, now).is_none());
    }

    #[test]
    fn debug_shows_no_secret() {
        let sessions = Sessions::new(Duration::from_secs(10));
        let now = Timestamp(1_000_000_000_000);
        let new = start(&sessions, 7, now);
        let session = sessions.get(&new.token, now);
        let shown = format!(
            "{sessions:?} {new:?} {session:?} {:?} {:?}",
            Credential::Bearer(&new.token),
            Credential::Cookie(&new.token),
        );
        assert!(
            !shown.contains(&new.token[SESSION_PREFIX.len()..]),
            "{shown}"
        );
        assert!(!shown.contains(&new.csrf_token), "{shown}");
        assert!(!shown.contains("csrf") && !shown.contains('['), "{shown}");
        assert!(shown.contains("UserId(7)"), "{shown}");
    }

    fn cookies(values: &[&[u8]]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            if let Ok(v) = HeaderValue::from_bytes(v) {
                headers.append(header::COOKIE, v);
            }
        }
        headers
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let found = |values: &[&[u8]]| session_cookie(&cookies(values)).map(str::to_owned);
        let want = Some("wfs_ab".to_owned());
        assert_eq!(found(&[b"wf_session=wfs_ab"]), want);
        assert_eq!(found(&[b"a=1; wf_session=wfs_ab; b=2"]), want);
        assert_eq!(found(&[b"a=1;wf_session = wfs_ab ;b"]), want);
        assert_eq!(found(&[b"a=1", b"wf_session=wfs_ab"]), want);
        assert_eq!(found(&[b"wf_session=\"wfs_ab\""]), want);
        assert_eq!(found(&[b"wf_session=wfs_ab; wf_session=wfs_ab"]), want);
        assert_eq!(found(&[b"x=\xff\xfe; wf_session=wfs_ab"]), want);
        assert_eq!(found(&[b"my_wf_session=wfs_ab; wf_session_x=1"]), None);
        assert_eq!(found(&[b"WF_SESSION=wfs_ab"]), None);
        assert_eq!(found(&[b"wf_session=wfs_ab; wf_session=wfs_cd"]), None);
        assert_eq!(found(&[b"wf_session=wfs_ab", b"wf_session=wfs_cd"]), None);
        assert_eq!(found(&[b"wf_session="]), None);
        assert_eq!(found(&[b"wf_session=\"\""]), None);
        assert_eq!(found(&[b"wf_session"]), None);
        assert_eq!(found(&[b"wf_session=\xff"]), None);
        assert_eq!(found(&[b";;=;="]), None);
        assert_eq!(found(&[]), None);
    }

    fn parts(method: Method, headers: &[(&str, &str)]) -> Parts {
        let mut builder = Request::builder().method(method).uri("/api/v1/tenants");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        builder
            .body(())
            .map(|r| r.into_parts().0)
            .unwrap_or_else(|_| {
                let (parts, ()) = Request::new(()).into_parts();
                parts
            })
    }

    #[test]
    fn the_authorization_header_wins_over_the_cookie() {
        let cookie = ("cookie", "wf_session=wfs_c");
        let p = parts(Method::GET, &[("authorization", "Bearer wfs_b"), cookie]);
        assert!(matches!(
            Credential::of(&p),
            Ok(Credential::Bearer("wfs_b"))
        ));
        let p = parts(Method::GET, &[("authorization", "Basic eDp5"), cookie]);
        assert!(Credential::of(&p).is_err());
        let p = parts(Method::GET, &[cookie]);
        assert!(matches!(
            Credential::of(&p),
            Ok(Credential::Cookie("wfs_c"))
        ));
        assert!(Credential::of(&parts(Method::GET, &[])).is_err());
    }

    #[test]
    fn csrf_is_checked_on_unsafe_methods_only() {
        let expected = hash("right");
        for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(check_csrf(&parts(method, &[]), &expected).is_ok());
        }
        for method in [Method::POST, Method::PATCH, Method::PUT, Method::DELETE] {
            let missing = check_csrf(&parts(method.clone(), &[]), &expected);
            assert!(matches!(missing, Err(AppError::ForbiddenBecause(m)) if m == CSRF_MISSING));
            let wrong = check_csrf(
                &parts(method.clone(), &[("x-csrf-token", "wrong")]),
                &expected,
            );
            assert!(matches!(wrong, Err(AppError::ForbiddenBecause(m)) if m == CSRF_WRONG));
            let right = check_csrf(&parts(method, &[("X-CSRF-Token", "right")]), &expected);
            assert!(right.is_ok());
        }
    }

    #[test]
    fn digests_compare_every_byte() {
        let a = hash("a");
        let mut b = a;
        assert!(digests_equal(&a, &b));
        b[31] ^= 1;
        assert!(!digests_equal(&a, &b));
        b = a;
        b[0] ^= 0x80;
        assert!(!digests_equal(&a, &b));
    }

    #[test]
    fn cookies_are_secure_over_https() {
        let https = |headers: &[(&str, &str)]| over_https(&parts(Method::POST, headers));
        assert!(!https(&[]));
        assert!(https(&[("x-forwarded-proto", "https")]));
        assert!(https(&[("X-Forwarded-Proto", "HTTPS, http")]));
        assert!(!https(&[("x-forwarded-proto", "http, https")]));
        let ttl = Duration::from_secs(60);
        assert_eq!(
            session_set_cookie("wfs_x", ttl, false),
            "wf_session=wfs_x; HttpOnly; SameSite=Strict; Path=/api/v1; Max-Age=60"
        );
        assert!(session_set_cookie("wfs_x", ttl, true).ends_with("; Max-Age=60; Secure"));
        assert_eq!(
            session_clear_cookie(false),
            "wf_session=; Max-Age=0; Path=/api/v1; HttpOnly; SameSite=Strict"
        );
    }
}
