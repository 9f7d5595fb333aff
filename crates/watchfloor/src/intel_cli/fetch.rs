//! Fetching a feed over HTTP or HTTPS ([`crate::feed_client`]): one GET, bounded in
//! time and size. Redirects are not followed: a 3xx is reported with its `Location`.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::{Request, header};

use crate::feed_client;

/// The largest feed fetched.
pub const MAX_FEED_BYTES: usize = 512 << 20;
/// How long one fetch may take in all.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(300);

/// Whether `input` names a URL rather than a file.
pub fn is_url(input: &str) -> bool {
    let lower = input.trim_start().to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The body of `url` (`http://` or `https://`, certificates verified against the
/// built-in roots and those of `ca_file`), after a 2xx answer.
pub fn fetch(url: &str, ca_file: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    let uri = feed_client::check_url(url)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let client = feed_client::client(ca_file)?;
        let request = Request::get(uri)
            .header(
                header::USER_AGENT,
                concat!("watchfloor/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::new()))
            .with_context(|| format!("{url}: building the request"))?;
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| anyhow::anyhow!("GET {url}: {}", feed_client::describe(&e)))?;
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
                    "GET {url}: timed out: no complete answer within {} s",
                    FETCH_TIMEOUT.as_secs()
                ))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_told_from_files_and_refusals_name_the_url() {
        assert!(is_url("https://feeds.example/list.txt"));
        assert!(is_url("HTTP://feeds.example/list.txt"));
        assert!(!is_url("feeds/list.txt"));
        // A port nothing listens on: the connection is refused, and the message says so.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let url = format!("https://127.0.0.1:{port}/list.txt");
        let e = fetch(&url, None).expect_err("refused");
        assert!(
            e.to_string().contains(&url) && e.to_string().contains("connection refused"),
            "{e:#}"
        );
    }
}
