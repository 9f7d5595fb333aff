//! The handlers of the route table. Access has been checked by the route's guard before
//! any of these runs; they read their input, call the store and shape the answer.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use watchfloor_store::{
    Access, AuditId, AuditQuery, NewUser, Password, Role, SCHEMA_VERSION, TenantId, Timestamp,
    TokenId,
};

use crate::auth::{
    Auth, Credential, SESSION_PREFIX, over_https, session_clear_cookie, session_cookie,
    session_set_cookie, source,
};
use crate::routes::{openapi as openapi_document, path_ids};
use crate::{AppError, AppState};

type Answer = Result<Json<Value>, AppError>;

/// A JSON body whose every rejection is an [`AppError`] (400, 413, 415, 422).
pub(crate) struct Body<T>(pub(crate) T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let Json(value) = Json::<T>::from_request(req, state).await?;
        Ok(Body(value))
    }
}

/// The `{id}` of a tenant route.
pub(crate) struct TenantPath(pub(crate) TenantId);

impl<S: Send + Sync> FromRequestParts<S> for TenantPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let ids = path_ids(parts).await?;
        ids.tenant
            .map(TenantPath)
            .ok_or_else(|| AppError::internal("route without {id}"))
    }
}

/// The `{id}` and `{token_id}` of a token route.
pub(crate) struct TokenPath(TenantId, TokenId);

impl<S: Send + Sync> FromRequestParts<S> for TokenPath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let ids = path_ids(parts).await?;
        match (ids.tenant, ids.token) {
            (Some(t), Some(k)) => Ok(TokenPath(t, k)),
            _ => Err(AppError::internal("route without {id} and {token_id}")),
        }
    }
}

fn to_json(value: impl serde::Serialize) -> Answer {
    serde_json::to_value(value)
        .map(Json)
        .map_err(AppError::internal)
}

pub(crate) async fn health() -> Json<Value> {
    Json(json!({"status": "ok", "schema_version": SCHEMA_VERSION}))
}

pub(crate) async fn openapi() -> Json<Value> {
    Json(openapi_document())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LoginRequest {
    login: String,
    password: String,
}

/// Checks the login (argon2 off the async threads) and starts a session.
///
/// The body has the session token for `Authorization: Bearer` and the session's CSRF
/// token; the same session token is set as the `wf_session` cookie for the console
/// (`Secure` when the request came over HTTPS), see [`crate::auth`].
pub(crate) async fn login(
    State(state): State<AppState>,
    parts: Parts,
    Body(request): Body<LoginRequest>,
) -> Result<Response, AppError> {
    let source = source(&parts);
    let now = Timestamp::now();
    let password = Password::new(request.password);
    let login = request.login;
    let user = state
        .run(move |s| s.verify_login(&login, &password, &source, now))
        .await?;
    if user.disabled {
        return Err(AppError::Unauthenticated(
            "login failed: unknown login or wrong password",
        ));
    }
    let session = state.sessions.start(user.id, now)?;
    let ttl = state.sessions.ttl();
    let cookie = session_set_cookie(&session.token, ttl, over_https(&parts));
    let body = to_json(json!({
        "token": session.token,
        "token_type": "Bearer",
        "expires_in": ttl.as_secs(),
        "csrf_token": session.csrf_token,
        "user": user,
    }))?;
    let headers = [
        (header::SET_COOKIE, header_value(cookie)?),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    Ok((headers, body).into_response())
}

/// Ends the calling session, whether it came as a bearer token or as the cookie (which
/// then needed its CSRF token, checked by the route's guard); an API token cannot log
/// out (revoke it instead). When the request's `wf_session` cookie holds the session
/// ended, the answer tells the browser to forget it.
pub(crate) async fn logout(
    State(state): State<AppState>,
    parts: Parts,
) -> Result<Response, AppError> {
    let token = Credential::of(&parts)?.token();
    if !token.starts_with(SESSION_PREFIX) {
        return Err(AppError::BadRequest(
            "only a session logs out; revoke an API token instead".to_owned(),
        ));
    }
    if !state.sessions.end(token) {
        return Err(AppError::Unauthenticated(crate::error::UNAUTHENTICATED));
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if session_cookie(&parts.headers) == Some(token) {
        let clear = header_value(session_clear_cookie(over_https(&parts)))?;
        response.headers_mut().insert(header::SET_COOKIE, clear);
    }
    Ok(response)
}

fn header_value(text: String) -> Result<HeaderValue, AppError> {
    HeaderValue::try_from(text).map_err(AppError::internal)
}

pub(crate) async fn list_tenants(State(state): State<AppState>, auth: Auth) -> Answer {
    let tenants = state.run(|s| s.tenants()).await?;
    let visible: Vec<_> = tenants
        .into_iter()
        .filter(|t| Access::can_read(&auth.principal, t.id))
        .collect();
    to_json(json!({"tenants": visible}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateTenant {
    name: String,
}

pub(crate) async fn create_tenant(
    State(state): State<AppState>,
    auth: Auth,
    Body(body): Body<CreateTenant>,
) -> Result<impl IntoResponse, AppError> {
    let origin = auth.origin(Timestamp::now());
    let tenant = state
        .run(move |s| s.create_tenant(&body.name, &origin))
        .await?;
    Ok((StatusCode::CREATED, to_json(tenant)?))
}

pub(crate) async fn get_tenant(
    State(state): State<AppState>,
    TenantPath(id): TenantPath,
) -> Answer {
    to_json(state.run(move |s| s.tenant(id)).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateTenant {
    name: Option<String>,
    retention_days: Option<u32>,
}

pub(crate) async fn update_tenant(
    State(state): State<AppState>,
    auth: Auth,
    TenantPath(id): TenantPath,
    Body(body): Body<UpdateTenant>,
) -> Answer {
    if body.name.is_none() && body.retention_days.is_none() {
        return Err(AppError::Invalid {
            field: "body".to_owned(),
            reason: "give name, retention_days or both".to_owned(),
        });
    }
    let origin = auth.origin(Timestamp::now());
    let tenant = state
        .run(move |s| {
            let mut tenant = s.tenant(id)?;
            if let Some(name) = &body.name {
                tenant = s.rename_tenant(id, name, &origin)?;
            }
            if let Some(days) = body.retention_days {
                tenant = s.set_tenant_retention(id, days, &origin)?;
            }
            Ok(tenant)
        })
        .await?;
    to_json(tenant)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AuditParams {
    before: Option<i64>,
    limit: Option<u32>,
}

pub(crate) async fn tenant_audit(
    State(state): State<AppState>,
    TenantPath(id): TenantPath,
    params: Result<Query<AuditParams>, axum::extract::rejection::QueryRejection>,
) -> Answer {
    let Query(params) = params?;
    let query = AuditQuery {
        tenant: Some(id),
        before: params.before.map(AuditId),
        limit: params.limit.unwrap_or(AuditQuery::default().limit),
    };
    state.run(move |s| s.tenant(id)).await?;
    to_json(state.run(move |s| s.audit(&query)).await?)
}

pub(crate) async fn list_users(State(state): State<AppState>) -> Answer {
    to_json(json!({"users": state.run(|s| s.users()).await?}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateUser {
    login: String,
    display_name: Option<String>,
    role: Role,
    #[serde(default)]
    tenants: Vec<u32>,
    password: String,
}

pub(crate) async fn create_user(
    State(state): State<AppState>,
    auth: Auth,
    Body(body): Body<CreateUser>,
) -> Result<impl IntoResponse, AppError> {
    let origin = auth.origin(Timestamp::now());
    let new = NewUser {
        display_name: body.display_name.unwrap_or_else(|| body.login.clone()),
        login: body.login,
        role: body.role,
        tenants: body.tenants.into_iter().map(TenantId).collect(),
        password: Password::new(body.password),
    };
    let user = state.run(move |s| s.create_user(&new, &origin)).await?;
    Ok((StatusCode::CREATED, to_json(user)?))
}

pub(crate) async fn list_tokens(
    State(state): State<AppState>,
    TenantPath(id): TenantPath,
) -> Answer {
    state.run(move |s| s.tenant(id)).await?;
    to_json(json!({"tokens": state.run(move |s| s.tokens(Some(id))).await?}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateToken {
    name: String,
    role: Role,
    /// Days until the token expires; none for a token that does not expire.
    expires_in_days: Option<u32>,
}

const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

pub(crate) async fn create_token(
    State(state): State<AppState>,
    auth: Auth,
    TenantPath(id): TenantPath,
    Body(body): Body<CreateToken>,
) -> Result<impl IntoResponse, AppError> {
    let now = Timestamp::now();
    let origin = auth.origin(now);
    let expires_at = match body.expires_in_days {
        None => None,
        Some(0) => {
            return Err(AppError::Invalid {
                field: "expires_in_days".to_owned(),
                reason: "must be at least 1".to_owned(),
            });
        }
        Some(days) => Some(Timestamp(
            now.as_nanos()
                .saturating_add(i64::from(days).saturating_mul(NANOS_PER_DAY)),
        )),
    };
    let created = state
        .run(move |s| s.create_token(id, body.role, &body.name, expires_at, &origin))
        .await?;
    let answer = to_json(json!({
        "token": created.token,
        "secret": created.secret.expose(),
    }))?;
    Ok((StatusCode::CREATED, answer))
}

/// Revokes a token of the tenant in the path; a token of another tenant is not found.
pub(crate) async fn revoke_token(
    State(state): State<AppState>,
    auth: Auth,
    TokenPath(tenant, token): TokenPath,
) -> Answer {
    let origin = auth.origin(Timestamp::now());
    let revoked = state
        .run(move |s| {
            let owned = s.tokens(Some(tenant))?.iter().any(|t| t.id == token);
            if !owned {
                return Ok(None);
            }
            s.revoke_token(token, &origin).map(Some)
        })
        .await?;
    match revoked {
        Some(t) => to_json(t),
        None => Err(AppError::NotFound("token".to_owned())),
    }
}
