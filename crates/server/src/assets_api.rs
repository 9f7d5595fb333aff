//! A tenant's asset inventory: `POST …/assets` replaces it with a CSV or JSON document
//! (the analysis engine's inventory format: host, ip, aliases, owner, criticality,
//! tags), answering how many assets were taken and which rows were skipped and why;
//! `GET …/assets` lists what the inventory holds. The running pipeline takes a new
//! inventory at once: alerts are then scored by the criticality of their asset, and a
//! host known by several names (its FQDN, short name, aliases, addresses) is one entity.

use axum::Json;
use axum::body::Body as RawBody;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use serde::Deserialize;
use serde_json::{Value, json};
use watchfloor_store::{InventoryFormat, MAX_INVENTORY_BYTES, Timestamp};
use watchfloor_triage::assets::{AssetError, Assets};

use crate::auth::Auth;
use crate::handlers::TenantPath;
use crate::intel_api::{invalid, read_body};
use crate::live::Command;
use crate::{AppError, AppState};

type Answer = Result<Json<Value>, AppError>;

/// Reads an inventory document: the assets it holds and the rows skipped, or why
/// nothing of it can be read.
pub(crate) fn parse(
    format: InventoryFormat,
    body: &str,
) -> Result<(Assets, Vec<AssetError>), AssetError> {
    match format {
        InventoryFormat::Json => Assets::from_json(body),
        InventoryFormat::Csv => {
            let (assets, errors) = Assets::from_csv(body);
            match errors.first() {
                Some(AssetError::MissingColumns) => Err(AssetError::MissingColumns),
                _ => Ok((assets, errors)),
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplaceParams {
    /// `csv` or `json`; default: JSON when the body starts with `[`, else CSV.
    format: Option<String>,
}

pub(crate) async fn replace(
    State(state): State<AppState>,
    auth: Auth,
    TenantPath(tenant): TenantPath,
    params: Result<Query<ReplaceParams>, QueryRejection>,
    body: RawBody,
) -> Answer {
    let Query(p) = params?;
    let bytes = read_body(body, state.timeouts()).await?;
    if bytes.len() > MAX_INVENTORY_BYTES {
        return Err(AppError::PayloadTooLarge);
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| AppError::BadRequest("the body must be UTF-8 text".to_owned()))?;
    let format = match p.format.as_deref() {
        Some("csv") => InventoryFormat::Csv,
        Some("json") => InventoryFormat::Json,
        Some(_) => return Err(invalid("format", "must be csv or json")),
        None if text
            .trim_start_matches('\u{feff}')
            .trim_start()
            .starts_with('[') =>
        {
            InventoryFormat::Json
        }
        None => InventoryFormat::Csv,
    };
    let (assets, skipped) = parse(format, &text).map_err(|e| invalid("body", e.to_string()))?;
    let count = assets.len() as u64;
    let origin = auth.origin(Timestamp::now());
    state
        .run(move |s| s.replace_asset_inventory(tenant, format, &text, count, &origin))
        .await?;
    state.tell(Command::ReloadAssets(tenant));
    let skipped: Vec<String> = skipped.iter().map(ToString::to_string).collect();
    Ok(Json(json!({
        "format": format,
        "assets": count,
        "skipped": skipped,
    })))
}

pub(crate) async fn list(State(state): State<AppState>, TenantPath(tenant): TenantPath) -> Answer {
    let Some(inventory) = state.run(move |s| s.asset_inventory(tenant)).await? else {
        return Ok(Json(json!({ "inventory": null, "assets": [] })));
    };
    let assets: Vec<Value> = match parse(inventory.format, &inventory.body) {
        Ok((assets, _)) => assets
            .iter()
            .map(|a| serde_json::to_value(a).unwrap_or(Value::Null))
            .collect(),
        Err(_) => Vec::new(),
    };
    Ok(Json(json!({ "inventory": inventory, "assets": assets })))
}
