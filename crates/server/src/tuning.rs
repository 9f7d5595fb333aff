//! Tuning a tenant's detection: suppression rules (list, create from an expression,
//! delete) and the rules the pipeline runs, switched on or off per tenant. Every change
//! is audited by the store and passed to the running pipeline at once.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use serde::Deserialize;
use serde_json::{Value, json};
use watchfloor_store::{NewSuppression, StoreError, TenantId, Timestamp};
use watchfloor_triage::suppress::{Expr, ExprError};

use crate::auth::Auth;
use crate::cases::{ObjectPath, parse_time};
use crate::handlers::{Body, TenantPath};
use crate::live::Command;
use crate::{AppError, AppState};

type Answer = Result<Json<Value>, AppError>;

pub(crate) async fn list_suppressions(
    State(state): State<AppState>,
    TenantPath(tenant): TenantPath,
) -> Answer {
    let list = state.run(move |s| s.suppressions(tenant, true)).await?;
    let now = Timestamp::now();
    let items: Vec<Value> = list
        .into_iter()
        .map(|s| {
            let active = s.is_active(now);
            let mut v = serde_json::to_value(s).unwrap_or(Value::Null);
            if let Value::Object(m) = &mut v {
                m.insert("active".into(), Value::from(active));
            }
            v
        })
        .collect();
    Ok(Json(json!({ "suppressions": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateSuppression {
    /// `host = ws01 and user ~ 'svc_*' and src_ip in 10.0.0.0/8`
    expr: String,
    reason: String,
    /// Who answers for it; the caller by default.
    owner: Option<String>,
    /// RFC 3339; absent: until deleted.
    expires_at: Option<String>,
}

pub(crate) async fn create_suppression(
    State(state): State<AppState>,
    auth: Auth,
    TenantPath(tenant): TenantPath,
    Body(body): Body<CreateSuppression>,
) -> Answer {
    Expr::parse(&body.expr).map_err(|e| AppError::Invalid {
        field: "expr".to_owned(),
        reason: expr_problem(&e),
    })?;
    let expires_at = parse_time("expires_at", body.expires_at.as_deref())?;
    let origin = auth.origin(Timestamp::now());
    let new = NewSuppression {
        expr: body.expr,
        owner: body.owner.unwrap_or_else(|| owner_of(&auth)),
        reason: body.reason,
        expires_at,
        from_alert: None,
    };
    let created = state
        .run(move |s| s.create_suppression(tenant, &new, &origin))
        .await?;
    state.tell(Command::ReloadSuppressions(tenant));
    Ok(Json(json!({ "suppression": created })))
}

/// What is wrong with an expression, naming the condition by its number but never
/// repeating the submitted text (as every error message of the API).
fn expr_problem(e: &ExprError) -> String {
    match e {
        ExprError::Empty => "is empty".to_owned(),
        ExprError::Quote(_) => "has a quote that is not closed".to_owned(),
        // Reasons are fixed texts, except a bad pattern's, which quotes the pattern.
        ExprError::Condition { index, reason, .. } => {
            let reason = reason.split_once(':').map_or(reason.as_str(), |(r, _)| r);
            format!("condition {index}: {reason}")
        }
    }
}

pub(crate) fn owner_of(auth: &Auth) -> String {
    use watchfloor_store::Actor;
    match auth.principal.actor() {
        Actor::User(u) => format!("user:{}", u.0),
        Actor::Token(t) => format!("token:{}", t.0),
        Actor::System => "system".to_owned(),
    }
}

pub(crate) async fn delete_suppression(
    State(state): State<AppState>,
    auth: Auth,
    path: ObjectPath,
) -> Answer {
    let origin = auth.origin(Timestamp::now());
    let id = i64::try_from(path.id).map_err(|_| AppError::NotFound("suppression".into()))?;
    let deleted = state
        .run(move |s| s.delete_suppression(path.tenant, id, &origin))
        .await?;
    state.tell(Command::ReloadSuppressions(path.tenant));
    Ok(Json(json!({ "suppression": deleted })))
}

/// The rules the pipeline runs, each with whether it is enabled for the tenant.
pub(crate) async fn list_rules(
    State(state): State<AppState>,
    TenantPath(tenant): TenantPath,
) -> Answer {
    let settings = state.run(move |s| s.rule_settings(tenant)).await?;
    let disabled: std::collections::HashSet<String> = settings
        .into_iter()
        .filter(|(_, on)| !on)
        .map(|(id, _)| id)
        .collect();
    let Some(book) = state.rule_book() else {
        return Ok(Json(json!({ "rules": [], "correlations": [] })));
    };
    let rules: Vec<Value> = book
        .engine()
        .rules()
        .iter()
        .map(|r| {
            let id = r.meta.id.clone().unwrap_or_else(|| r.meta.title.clone());
            json!({
                "id": id,
                "title": r.meta.title,
                "level": r.meta.level.as_str(),
                "tags": r.meta.tags,
                "enabled": !disabled.contains(&id),
            })
        })
        .collect();
    let correlations: Vec<Value> = book
        .correlations()
        .iter()
        .map(|c| {
            let id = c.meta.id.clone().unwrap_or_else(|| c.meta.title.clone());
            json!({
                "id": id,
                "title": c.meta.title,
                "level": c.meta.level.as_str(),
                "tags": c.meta.tags,
                "enabled": !disabled.contains(&id),
            })
        })
        .collect();
    Ok(Json(
        json!({ "rules": rules, "correlations": correlations }),
    ))
}

/// The tenant and the rule id of a `/tenants/{id}/rules/{rule_id}/…` route.
pub(crate) struct RulePath {
    tenant: TenantId,
    rule: String,
}

impl<S: Send + Sync> FromRequestParts<S> for RulePath {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        let (tenant, rule) = crate::routes::tenant_and_param(parts, "rule_id").await?;
        Ok(RulePath { tenant, rule })
    }
}

async fn switch_rule(state: AppState, auth: Auth, path: RulePath, enabled: bool) -> Answer {
    let known = state.rule_book().is_some_and(|book| {
        book.engine()
            .rules()
            .iter()
            .map(|r| (&r.meta.id, &r.meta.title))
            .chain(
                book.correlations()
                    .iter()
                    .map(|c| (&c.meta.id, &c.meta.title)),
            )
            .any(|(id, title)| id.as_deref().unwrap_or(title) == path.rule)
    });
    if !known {
        return Err(AppError::NotFound("rule".to_owned()));
    }
    let origin = auth.origin(Timestamp::now());
    let (tenant, rule) = (path.tenant, path.rule.clone());
    let changed = state
        .run(move |s| -> Result<bool, StoreError> {
            s.set_rule_enabled(tenant, &rule, enabled, &origin)
        })
        .await?;
    state.tell(Command::ReloadRuleSettings(path.tenant));
    Ok(Json(
        json!({ "rule": path.rule, "enabled": enabled, "changed": changed }),
    ))
}

pub(crate) async fn enable_rule(
    State(state): State<AppState>,
    auth: Auth,
    path: RulePath,
) -> Answer {
    switch_rule(state, auth, path, true).await
}

pub(crate) async fn disable_rule(
    State(state): State<AppState>,
    auth: Auth,
    path: RulePath,
) -> Answer {
    switch_rule(state, auth, path, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expression_problems_name_the_condition_not_the_text() {
        let problem = |text: &str| Expr::parse(text).err().map(|e| expr_problem(&e));
        assert_eq!(
            problem("host = ws01 and user secret-ish").as_deref(),
            Some("condition 2: unknown operator (use =, !=, ~, contains, in)")
        );
        assert_eq!(
            problem("host = 'secret-ish").as_deref(),
            Some("has a quote that is not closed")
        );
        assert_eq!(problem(" ").as_deref(), Some("is empty"));
        assert!(problem("src_ip in secret-ish").is_some_and(|p| !p.contains("secret")));
        assert_eq!(problem("host = ws01"), None);
    }
}
