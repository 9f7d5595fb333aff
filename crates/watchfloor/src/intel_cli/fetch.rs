//! Fetching a feed over plain HTTP: one GET, bounded in time and size.
//!
//! HTTPS is refused with a clear error for now (the binary carries no TLS stack yet):
//! download the feed with a tool that speaks TLS and import the file.

use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper::body::Bytes;
use hyper::{Request, Uri, header};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// The largest feed fetched.
pub const MAX_FEED_BYTES: usize = 512 << 20;
/// How long one fetch may take in all.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(300);

/// Whether `input` names a URL rather than a file.
pub fn is_url(input: &str) -> bool {
    let lower = input.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The body of `url` (`http://` only), after a 2xx answer.
pub fn fetch(url: &str) -> anyhow::Result<Vec<u8>> {
    if url
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("https://")
    {
        anyhow::bail!(
            "{url}: https is not supported yet; download the feed (for example `curl -fsSLO {url}`) and import the file"
        );
    }
    let uri: Uri = url
        .trim()
        .parse()
        .with_context(|| format!("{url}: not a valid URL"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
        let request = Request::get(uri)
            .header(
                header::USER_AGENT,
                concat!("watchfloor/", env!("CARGO_PKG_VERSION")),
            )
            .body(Empty::new())
            .with_context(|| format!("{url}: building the request"))?;
        let exchange = async {
            let response = client
                .request(request)
                .await
                .with_context(|| format!("GET {url}"))?;
            let status = response.status();
            if !status.is_success() {
                let location = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .map(|l| format!(" (to {l}; redirects are not followed)"))
                    .unwrap_or_default();
                anyhow::bail!("GET {url}: the server answered {status}{location}");
            }
            let body = Limited::new(response.into_body(), MAX_FEED_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "GET {url}: reading the body: {e} (feeds are read up to {} MiB)",
                        MAX_FEED_BYTES >> 20
                    )
                })?
                .to_bytes();
            Ok(body.to_vec())
        };
        tokio::time::timeout(FETCH_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "GET {url}: no complete answer within {} s",
                    FETCH_TIMEOUT.as_secs()
                ))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_is_refused_with_advice() {
        assert!(is_url("https://feeds.example/list.txt"));
        assert!(is_url("HTTP://feeds.example/list.txt"));
        assert!(!is_url("feeds/list.txt"));
        let e = fetch("https://feeds.example/list.txt").unwrap_err();
        assert!(e.to_string().contains("https is not supported yet"), "{e}");
    }
}
