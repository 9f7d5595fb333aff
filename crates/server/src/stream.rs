//! `GET /tenants/{id}/incidents/stream`: server-sent events, one `incident` event per
//! new, escalated or updated incident of the tenant, as the pipeline announces them; a
//! `lagged` event tells a slow reader how many announcements it missed (it should then
//! reload the list). Comments keep the connection alive every 15 s.

use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::handlers::TenantPath;
use crate::{AppError, AppState};

pub(crate) async fn incidents(
    axum::extract::State(state): axum::extract::State<AppState>,
    TenantPath(tenant): TenantPath,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, AppError> {
    let live = state
        .live
        .as_ref()
        .ok_or_else(|| AppError::NotFound("live pipeline".to_owned()))?;
    let rx = live.subscribe();
    let stream = futures_util::stream::unfold(rx, move |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(notice) if notice.tenant == tenant.0 => {
                    let event = Event::default()
                        .event("incident")
                        .json_data(&notice)
                        .unwrap_or_else(|_| Event::default().comment("unserialisable"));
                    return Some((Ok(event), rx));
                }
                Ok(_) => {}
                Err(RecvError::Lagged(n)) => {
                    let event = Event::default().event("lagged").data(n.to_string());
                    return Some((Ok(event), rx));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
