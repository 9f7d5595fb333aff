//! The HTTP client of intelligence feeds and TAXII (`intel import URL`, `intel pull`,
//! `serve`'s `[[taxii]]` feeds) and of `range play`: `http://` and `https://`,
//! HTTP/1.1.
//!
//! TLS is rustls with the ring provider. Server certificates are always verified:
//! against Mozilla's root store compiled into the binary (`webpki-roots`, so a minimal
//! container without a system store verifies the same way as a workstation), plus the
//! certificates of an optional PEM file ([`client`]'s `ca_file`) for feeds behind a
//! private CA. There is no way to turn verification off.
//!
//! Redirects are never followed (a 3xx is an error naming its `Location`), so an
//! `https://` request never continues over plain HTTP; [`is_downgrade`] guards the
//! links a server hands out (TAXII discovery's API roots).
//!
//! [`describe`] turns a failed exchange into one line saying what failed: connection
//! refused, connect timeout, TLS handshake, certificate not trusted, name mismatch.
//! Nothing here sees credentials; callers keep them out of URLs ([`check_url`]).

use std::error::Error as StdError;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::Uri;
use hyper::body::Bytes;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;
use rustls::{CertificateError, ClientConfig, RootCertStore};

use crate::cli::UsageError;

/// The client feeds and TAXII are fetched with.
pub type FeedClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// How long opening a TCP connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The client: `http://` and `https://`, server certificates verified against the
/// built-in roots and the certificates of `ca_file`. An unreadable `ca_file`, or one
/// holding no certificate, is a usage error naming it.
pub fn client(ca_file: Option<&Path>) -> anyhow::Result<FeedClient> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        for cert in load_ca_file(path)? {
            roots.add(cert).map_err(|e| {
                UsageError(format!(
                    "CA file {}: a certificate is not usable as a CA: {e}",
                    path.display()
                ))
            })?;
        }
    }
    let config =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| anyhow::anyhow!("setting up TLS: {e}"))?
            .with_root_certificates(roots)
            .with_no_client_auth();
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// The certificates of a PEM file (at least one).
pub fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, UsageError> {
    let bad = |why: String| UsageError(format!("CA file {}: {why}", path.display()));
    if !path.is_file() {
        return Err(bad("no such file".to_owned()));
    }
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(format!("not a PEM file: {e}")))?;
    if certs.is_empty() {
        return Err(bad(
            "holds no PEM certificate (BEGIN CERTIFICATE)".to_owned()
        ));
    }
    Ok(certs)
}

/// Checks a feed URL before use: `http://` or `https://`, a host, and no user
/// information (credentials are given apart, never in a URL that reaches logs).
pub fn check_url(url: &str) -> Result<Uri, UsageError> {
    let uri: Uri = url
        .trim()
        .parse()
        .map_err(|_| UsageError(format!("`{}` is not a URL", redact(url))))?;
    match uri.scheme_str() {
        Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {}
        _ => {
            return Err(UsageError(format!(
                "`{}`: only http:// and https:// URLs are supported",
                redact(url)
            )));
        }
    }
    match uri.authority() {
        None => Err(UsageError(format!("`{}` has no host", redact(url)))),
        Some(a) if a.as_str().contains('@') => Err(UsageError(format!(
            "`{}`: give credentials apart, not in the URL",
            redact(url)
        ))),
        Some(_) => Ok(uri),
    }
}

/// `url` with any user information replaced by `***`.
fn redact(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..start], &url[start + at..]),
        None => url.to_owned(),
    }
}

/// Whether following `to` from `from` would leave TLS (an `https://` page pointing at a
/// plain `http://` one).
pub fn is_downgrade(from: &str, to: &str) -> bool {
    let https = |u: &str| u.trim_start().to_ascii_lowercase().starts_with("https://");
    https(from) && !https(to)
}

/// What failed in an exchange that got no answer, in one line.
pub fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return describe_tls(tls);
        }
        if let Some(what) = e.downcast_ref::<io::Error>().and_then(describe_io) {
            return what;
        }
        current = cause(e);
    }
    // Nothing recognised: the chain as the libraries word it, under what was tried.
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    if let Some(client) = error.downcast_ref::<hyper_util::client::legacy::Error>()
        && client.is_connect()
        && let Some(source) = error.source()
    {
        parts.push("cannot connect".to_owned());
        current = Some(source);
    }
    while let Some(e) = current {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = cause(e);
    }
    parts.join(": ")
}

/// The error beneath `error`: for an I/O error wrapping another, the wrapped one
/// (whose own `source` an I/O error passes over).
fn cause<'e>(error: &'e (dyn StdError + 'static)) -> Option<&'e (dyn StdError + 'static)> {
    match error
        .downcast_ref::<io::Error>()
        .and_then(io::Error::get_ref)
    {
        Some(inner) => Some(inner),
        None => error.source(),
    }
}

fn describe_io(error: &io::Error) -> Option<String> {
    Some(match error.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        io::ErrorKind::TimedOut => {
            format!("connect timed out (after {} s)", CONNECT_TIMEOUT.as_secs())
        }
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::UnexpectedEof => "the server closed the connection".to_owned(),
        _ => return None,
    })
}

fn describe_tls(error: &rustls::Error) -> String {
    const HINT: &str = "a private CA is given with --ca-file, or ca_file in a [[taxii]] feed";
    match error {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::UnknownIssuer => format!(
                "TLS: the server's certificate is not trusted: issued by an unknown CA ({HINT})"
            ),
            CertificateError::NotValidForName => {
                "TLS: certificate name mismatch: the server's certificate is not valid for this \
                 host"
                    .to_owned()
            }
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => format!(
                "TLS: certificate name mismatch: the server's certificate is not valid for {} \
                 (it is for {})",
                expected.to_str(),
                if presented.is_empty() {
                    "no name".to_owned()
                } else {
                    presented
                        .iter()
                        .map(|p| presented_name(p))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "TLS: the server's certificate has expired".to_owned()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "TLS: the server's certificate is not valid yet".to_owned()
            }
            CertificateError::Revoked => "TLS: the server's certificate is revoked".to_owned(),
            other => format!("TLS: the server's certificate is not trusted: {other}"),
        },
        rustls::Error::InvalidMessage(_) => {
            format!("TLS handshake failed: {error} (does the server speak https on this port?)")
        }
        rustls::Error::AlertReceived(alert) => {
            format!("TLS handshake failed: the server refused it (alert {alert:?})")
        }
        other => format!("TLS handshake failed: {other}"),
    }
}

/// A name a certificate presents, without the verifier's wording around it
/// (`DnsName("a.example")`, `IpAddress(192.0.2.1)`).
fn presented_name(text: &str) -> &str {
    let inner = |prefix: &str| {
        text.strip_prefix(prefix)
            .and_then(|t| t.strip_suffix(')'))
            .map(|t| t.trim_matches('"'))
    };
    inner("DnsName(")
        .or_else(|| inner("IpAddress("))
        .unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_credentials_kept_out_of_messages() {
        assert!(check_url("https://feeds.example/list.txt").is_ok());
        assert!(check_url("HTTP://feeds.example:8080/x").is_ok());
        let e = check_url("https://user:hunter22@feeds.example/x").expect_err("refused");
        assert!(
            e.0.contains("credentials") && !e.0.contains("hunter22"),
            "{e}"
        );
        assert!(e.0.contains("https://***@feeds.example/x"), "{e}");
        assert!(check_url("ftp://feeds.example/x").is_err());
        assert!(check_url("https:///x").is_err());
        assert_eq!(redact("http://h/a@b"), "http://h/a@b");
    }

    #[test]
    fn downgrades_are_recognised() {
        assert!(is_downgrade("https://a/taxii2/", "http://a/root/"));
        assert!(!is_downgrade("https://a/taxii2/", "HTTPS://a/root/"));
        assert!(!is_downgrade("http://a/taxii2/", "http://a/root/"));
        assert!(!is_downgrade("http://a/taxii2/", "https://a/root/"));
    }

    #[test]
    fn failures_are_named() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(describe(&refused), "connection refused");
        let unknown = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let text = describe(&unknown);
        assert!(
            text.contains("not trusted") && text.contains("--ca-file"),
            "{text}"
        );
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        assert!(describe(&name).contains("name mismatch"));
        assert_eq!(presented_name("DnsName(\"a.example\")"), "a.example");
        assert_eq!(presented_name("IpAddress(192.0.2.1)"), "192.0.2.1");
        assert_eq!(presented_name("DirectoryName"), "DirectoryName");
        let wrapped = io::Error::other(io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::Expired),
        ));
        assert!(describe(&wrapped).contains("expired"));
        let other = io::Error::other("something odd");
        assert_eq!(describe(&other), "something odd");
    }

    #[test]
    fn ca_files_must_hold_certificates() {
        let dir =
            std::env::temp_dir().join(format!("watchfloor-feed-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let missing = dir.join("missing.pem");
        let Err(e) = client(Some(&missing)) else {
            panic!("a missing CA file was accepted");
        };
        assert!(
            e.is::<UsageError>() && e.to_string().contains("no such file"),
            "{e}"
        );
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let Err(e) = client(Some(&empty)) else {
            panic!("a CA file without certificates was accepted");
        };
        assert!(e.to_string().contains("no PEM certificate"), "{e}");
        assert!(client(None).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
