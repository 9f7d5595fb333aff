//! A TAXII 2.1 client: pulls a collection's objects from a TAXII server (a partner's,
//! or our own `serve`), following `next` paging, and polls it on a schedule from where
//! the last poll stopped.
//!
//! [`pull`] (async) and [`pull_collection`] (blocking, on its own runtime) read every
//! page of `…/collections/{id}/objects/` added after a time: `Accept:
//! application/taxii+json;version=2.1`, a bearer token, `limit` per page, `next` as
//! the server gives it (a server that says `more` without `next` is paged by
//! `added_after` from the page's `X-TAXII-Date-Added-Last`, as TAXII 2.1 allows).
//! [`Pulled::last_added`] is where the next poll starts ([`Poller`] keeps it); a
//! [`Pager`] gives the same pull a page at a time. [`resolve_api_root`] finds the API
//! root holding a collection from a discovery URL. Credentials are a bearer token or a
//! user and password ([`Credentials`], never shown by `Debug`).
//!
//! `watchfloor intel pull` writes what it pulled as one STIX 2.1 bundle, which
//! `watchfloor intel import` (or `POST /tenants/{id}/intel/import`) reads; `serve`
//! polls configured feeds into tenants itself ([`crate::taxii_poll`]).
//!
//! `http://` or `https://` through [`crate::feed_client`] (certificates verified,
//! [`PullTarget::ca_file`] for a private CA; an https discovery URL never leads to a
//! plain-HTTP API root). Bounded: at most [`MAX_PAGE_BYTES`] per page, [`MAX_PAGES`]
//! pages and [`MAX_OBJECTS`] objects per pull.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use hyper::header::{self, HeaderValue};
use hyper::{Request, StatusCode};
use serde_json::{Value, json};

use crate::cli::UsageError;
use crate::feed_client::{self, FeedClient};
use crate::play::describe_answer;

/// The TAXII 2.1 media type, asked for and expected back.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// The most bytes one page may hold.
pub const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;
/// The most pages one pull follows.
pub const MAX_PAGES: u32 = 100_000;
/// The most objects one pull keeps.
pub const MAX_OBJECTS: usize = 5_000_000;
/// Objects asked for per page when none is given.
pub const DEFAULT_PAGE_LIMIT: u32 = 1000;
/// The longest one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Which collection to pull, from where, as whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullTarget {
    /// The API root's URL (`http://host:8080/api/v1/taxii2/3/`, or `https://…`).
    pub api_root: String,
    /// The collection's id.
    pub collection: String,
    pub credentials: Credentials,
    /// Objects per page (the server may give fewer).
    pub limit: u32,
    /// A PEM file of CA certificates trusted besides the built-in roots.
    pub ca_file: Option<PathBuf>,
}

/// How a client proves who it is. `Debug` shows no secret.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A bearer token (an API token of the tenant, `wf_…`, for our own server).
    Bearer(String),
    /// HTTP basic authentication.
    Basic { user: String, password: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credentials::Basic { user, .. } => f
                .debug_struct("Basic")
                .field("user", user)
                .field("password", &"<redacted>")
                .finish(),
        }
    }
}

impl Credentials {
    /// The `Authorization` header, marked sensitive.
    fn header(&self) -> Result<HeaderValue, UsageError> {
        let text = match self {
            Credentials::Bearer(token) => format!("Bearer {}", token.trim()),
            Credentials::Basic { user, password } => {
                format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
            }
        };
        let mut value = HeaderValue::from_str(&text).map_err(|_| {
            UsageError("the credentials hold characters a header cannot carry".into())
        })?;
        value.set_sensitive(true);
        Ok(value)
    }

    fn check(&self) -> Result<(), UsageError> {
        match self {
            Credentials::Bearer(t) if t.trim().is_empty() => Err(UsageError(
                "a token is needed: --token or WATCHFLOOR_TOKEN".to_owned(),
            )),
            Credentials::Basic { user, .. } if user.is_empty() || user.contains(':') => Err(
                UsageError("a user name (without `:`) is needed for basic authentication".into()),
            ),
            _ => Ok(()),
        }
    }
}

/// Standard base64 with padding (RFC 4648), for basic authentication.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What one pull brought.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pulled {
    pub objects: Vec<Value>,
    pub pages: u32,
    /// The `X-TAXII-Date-Added-Last` of the last page that had objects: pass it as
    /// `added_after` to get only what is added later. `None` when nothing came.
    pub last_added: Option<String>,
}

/// The objects URL of a target, with its query.
fn objects_url(target: &PullTarget, added_after: Option<&str>, next: Option<&str>) -> String {
    let root = target.api_root.trim_end_matches('/');
    let mut url = format!(
        "{root}/collections/{}/objects/?limit={}",
        encode(&target.collection),
        target.limit
    );
    if let Some(t) = added_after {
        url.push_str("&added_after=");
        url.push_str(&encode(t));
    }
    if let Some(n) = next {
        url.push_str("&next=");
        url.push_str(&encode(n));
    }
    url
}

/// Percent-encodes all but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks a target before use: an http(s) URL, a token, a collection, a limit.
fn check(target: &PullTarget) -> Result<(), UsageError> {
    feed_client::check_url(&target.api_root)?;
    if target.collection.trim().is_empty() {
        return Err(UsageError("a collection id is needed".to_owned()));
    }
    target.credentials.check()?;
    if target.limit == 0 {
        return Err(UsageError("the page limit must be at least 1".to_owned()));
    }
    Ok(())
}

/// One page: its envelope and `X-TAXII-Date-Added-Last`.
struct Page {
    envelope: Value,
    last_added: Option<String>,
}

async fn get_page(
    client: &FeedClient,
    url: &str,
    authorization: &HeaderValue,
) -> anyhow::Result<Page> {
    let request = Request::get(url)
        .header(header::AUTHORIZATION, authorization.clone())
        .header(header::ACCEPT, TAXII_MEDIA_TYPE)
        .body(Full::new(Bytes::new()))
        .with_context(|| format!("GET {url}"))?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| anyhow::anyhow!("GET {url}: {}", feed_client::describe(&e)))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_PAGE_BYTES)
            .collect()
            .await
            .map_err(|e| anyhow::anyhow!("GET {url}: reading the answer: {e}"))?
            .to_bytes();
        anyhow::Ok((parts, body))
    };
    let (parts, body) = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| {
            anyhow::anyhow!(
                "GET {url}: timed out: no answer within {} s",
                REQUEST_TIMEOUT.as_secs()
            )
        })??;
    if parts.status != StatusCode::OK {
        anyhow::bail!("GET {url}: {}", describe_answer(parts.status, &body));
    }
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/taxii+json")
    {
        anyhow::bail!("GET {url}: the answer is `{content_type}`, not TAXII 2.1");
    }
    let envelope: Value = serde_json::from_slice(&body)
        .with_context(|| format!("GET {url}: the envelope is not JSON"))?;
    if !envelope.is_object() {
        anyhow::bail!("GET {url}: the envelope is not a JSON object");
    }
    let last_added = parts
        .headers
        .get("x-taxii-date-added-last")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(Page {
        envelope,
        last_added,
    })
}

/// Pulls every object of the collection added after `added_after` (all when `None`),
/// following the server's paging. See the module documentation.
pub async fn pull(target: &PullTarget, added_after: Option<&str>) -> anyhow::Result<Pulled> {
    let mut pulled = Pulled::default();
    let mut pager = Pager::new(target, added_after)?;
    while let Some(page) = pager.next_page().await? {
        if pulled.objects.len() + page.objects.len() > MAX_OBJECTS {
            anyhow::bail!("the collection holds more than {MAX_OBJECTS} objects");
        }
        if !page.objects.is_empty()
            && let Some(last) = page.last_added
        {
            pulled.last_added = Some(last);
        }
        pulled.objects.extend(page.objects);
    }
    pulled.pages = pager.pages();
    Ok(pulled)
}

/// One page of a collection: its objects, and its `X-TAXII-Date-Added-Last` (where a
/// pull resumes once the page is kept).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PulledPage {
    pub objects: Vec<Value>,
    pub last_added: Option<String>,
}

/// [`pull`] a page at a time, so a caller can keep each page before asking for the
/// next.
pub struct Pager<'t> {
    target: &'t PullTarget,
    client: FeedClient,
    authorization: HeaderValue,
    after: Option<String>,
    next: Option<String>,
    pages: u32,
    done: bool,
}

impl<'t> Pager<'t> {
    /// A pager over the objects added after `added_after` (all when `None`).
    /// An unusable target or CA file is a [`UsageError`].
    pub fn new(target: &'t PullTarget, added_after: Option<&str>) -> anyhow::Result<Pager<'t>> {
        check(target)?;
        Ok(Pager {
            target,
            client: feed_client::client(target.ca_file.as_deref())?,
            authorization: target.credentials.header()?,
            after: added_after.map(str::to_owned),
            next: None,
            pages: 0,
            done: false,
        })
    }

    /// Pages read so far.
    pub fn pages(&self) -> u32 {
        self.pages
    }

    /// The next page, or `None` once the server said there is no more.
    pub async fn next_page(&mut self) -> anyhow::Result<Option<PulledPage>> {
        if self.done {
            return Ok(None);
        }
        if self.pages >= MAX_PAGES {
            anyhow::bail!("the collection did not end within {MAX_PAGES} pages");
        }
        let url = objects_url(self.target, self.after.as_deref(), self.next.as_deref());
        let page = get_page(&self.client, &url, &self.authorization).await?;
        self.pages += 1;
        let objects = match page.envelope.get("objects") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => list.clone(),
            Some(_) => anyhow::bail!("GET {url}: `objects` is not a list"),
        };
        let more = page.envelope.get("more").and_then(Value::as_bool) == Some(true);
        if !more {
            self.done = true;
        } else {
            match page.envelope.get("next").and_then(Value::as_str) {
                Some(n) if self.next.as_deref() != Some(n) => self.next = Some(n.to_owned()),
                Some(_) => anyhow::bail!("GET {url}: the server gave the same `next` twice"),
                None => {
                    // Paging by time: only possible when the page moved time forward.
                    let last = page.last_added.clone().filter(|_| !objects.is_empty());
                    match last {
                        Some(l) if self.after.as_deref() != Some(l.as_str()) => {
                            self.after = Some(l)
                        }
                        _ => anyhow::bail!(
                            "GET {url}: the server says there is more but gives no way to it"
                        ),
                    }
                }
            }
        }
        Ok(Some(PulledPage {
            objects,
            last_added: page.last_added,
        }))
    }
}

/// The API root `url` names: `url` itself when it is an API root; when it is a
/// discovery URL (its answer lists `api_roots`), its `default` API root or else the
/// first listed one that holds `collection`. Relative API roots are taken relative to
/// `url`; a plain-HTTP API root listed by an `https://` discovery URL is refused.
pub async fn resolve_api_root(
    url: &str,
    collection: &str,
    credentials: &Credentials,
    ca_file: Option<&Path>,
) -> anyhow::Result<String> {
    let probe = PullTarget {
        api_root: url.to_owned(),
        collection: collection.to_owned(),
        credentials: credentials.clone(),
        limit: 1,
        ca_file: None,
    };
    check(&probe)?;
    let authorization = credentials.header()?;
    let client = feed_client::client(ca_file)?;
    let answer = get_page(&client, url, &authorization).await?.envelope;
    let Some(roots) = answer.get("api_roots").and_then(Value::as_array) else {
        return Ok(url.to_owned());
    };
    let default = answer.get("default").and_then(Value::as_str);
    let candidates = default
        .into_iter()
        .chain(roots.iter().filter_map(Value::as_str));
    let mut downgraded = None;
    for root in candidates {
        let root = join_url(url, root);
        if feed_client::is_downgrade(url, &root) {
            downgraded = Some(root);
            continue;
        }
        let collection_url = format!(
            "{}/collections/{}/",
            root.trim_end_matches('/'),
            encode(collection)
        );
        if get_page(&client, &collection_url, &authorization)
            .await
            .is_ok()
        {
            return Ok(root);
        }
    }
    match downgraded {
        Some(root) => anyhow::bail!(
            "no API root listed by {url} holds collection {collection} (refused {root}: plain \
             HTTP from an https discovery URL)"
        ),
        None => anyhow::bail!("no API root listed by {url} holds collection {collection}"),
    }
}

/// `reference` (absolute, absolute-path or relative) against `base`.
fn join_url(base: &str, reference: &str) -> String {
    let lower = reference.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return reference.to_owned();
    }
    let origin_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|j| start + j))
        .unwrap_or(base.len());
    if reference.starts_with('/') {
        return format!("{}{reference}", &base[..origin_end]);
    }
    let dir_end = base
        .rfind('/')
        .filter(|&i| i >= origin_end)
        .map_or(base.len(), |i| i + 1);
    let dir = &base[..dir_end];
    if dir.ends_with('/') {
        format!("{dir}{reference}")
    } else {
        format!("{dir}/{reference}")
    }
}

/// [`pull`], blocking on a runtime of its own: call it outside any async runtime.
pub fn pull_collection(target: &PullTarget, added_after: Option<&str>) -> anyhow::Result<Pulled> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the HTTP client")?;
    runtime.block_on(pull(target, added_after))
}

/// Polls one collection, each time from where the last poll stopped.
#[derive(Clone, Debug)]
pub struct Poller {
    pub target: PullTarget,
    /// Where the next poll starts (`None`: from the beginning).
    pub added_after: Option<String>,
}

impl Poller {
    pub fn new(target: PullTarget, added_after: Option<String>) -> Poller {
        Poller {
            target,
            added_after,
        }
    }

    /// Pulls what was added since the last poll and moves the start past it.
    pub async fn poll_once(&mut self) -> anyhow::Result<Pulled> {
        let pulled = pull(&self.target, self.added_after.as_deref()).await?;
        if let Some(last) = &pulled.last_added {
            self.added_after = Some(last.clone());
        }
        Ok(pulled)
    }
}

/// A STIX 2.1 bundle of `objects` (a fresh random bundle id).
pub fn bundle_of(objects: &[Value]) -> Value {
    let mut b = [0u8; 16];
    if getrandom::fill(&mut b).is_err() {
        b = [0x5a; 16];
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    json!({
        "type": "bundle",
        "id": format!(
            "bundle--{}-{}-{}-{}-{}",
            &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..]
        ),
        "objects": objects,
    })
}

/// `watchfloor intel pull`.
#[derive(Debug, clap::Args)]
pub struct IntelPullArgs {
    /// The TAXII API root (`http://host:8080/api/v1/taxii2/3/`, or `https://…`).
    #[arg(value_name = "API_ROOT")]
    pub api_root: String,
    /// The collection id.
    #[arg(long, value_name = "ID")]
    pub collection: String,
    /// A bearer token; default: the WATCHFLOOR_TOKEN environment variable.
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
    /// Only objects added after this time (RFC 3339; the `next --added-after` a
    /// previous pull printed).
    #[arg(long, value_name = "TIME")]
    pub added_after: Option<String>,
    /// Objects per page.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PAGE_LIMIT)]
    pub limit: u32,
    /// Write the bundle to FILE instead of standard output (with --every: a folder,
    /// one bundle per poll that brought objects).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Poll again every this many seconds, each time from where the last stopped,
    /// until interrupted.
    #[arg(long, value_name = "SECS")]
    pub every: Option<u64>,
    /// A PEM file of CA certificates trusted for https:// besides the built-in roots
    /// (a server behind a private CA).
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
}

/// `watchfloor intel pull`: one pull written as a bundle, or polls on a schedule.
pub fn run(args: IntelPullArgs) -> anyhow::Result<()> {
    let token = match args.token {
        Some(t) => t,
        None => std::env::var("WATCHFLOOR_TOKEN").unwrap_or_default(),
    };
    let target = PullTarget {
        api_root: args.api_root,
        collection: args.collection,
        credentials: Credentials::Bearer(token),
        limit: args.limit,
        ca_file: args.ca_file,
    };
    check(&target)?;
    let Some(every) = args.every else {
        let pulled = pull_collection(&target, args.added_after.as_deref())?;
        let text = serde_json::to_string_pretty(&bundle_of(&pulled.objects))?;
        match &args.out {
            Some(path) => std::fs::write(path, text + "\n")
                .with_context(|| format!("writing {}", path.display()))?,
            None => println!("{text}"),
        }
        summary(&pulled);
        return Ok(());
    };
    if every == 0 {
        return Err(UsageError("--every must be at least 1 second".to_owned()).into());
    }
    let Some(dir) = args.out else {
        return Err(UsageError("--every needs --out FOLDER for the bundles".to_owned()).into());
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the HTTP client")?;
    let mut poller = Poller::new(target, args.added_after);
    let mut n = 0u64;
    loop {
        match runtime.block_on(poller.poll_once()) {
            Ok(pulled) => {
                if !pulled.objects.is_empty() {
                    n += 1;
                    let path = dir.join(format!("taxii-{n:06}.json"));
                    let text = serde_json::to_string_pretty(&bundle_of(&pulled.objects))?;
                    std::fs::write(&path, text + "\n")
                        .with_context(|| format!("writing {}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
                summary(&pulled);
            }
            // A failed poll is retried at the next turn, from the same place.
            Err(e) => eprintln!("error: {e:#}"),
        }
        std::thread::sleep(Duration::from_secs(every));
    }
}

fn summary(pulled: &Pulled) {
    eprintln!(
        "{} objects in {} pages{}",
        pulled.objects.len(),
        pulled.pages,
        match &pulled.last_added {
            Some(t) => format!("; next --added-after {t}"),
            None => String::new(),
        }
    );
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::net::SocketAddr;
    use std::sync::Arc;

    use hyper_util::client::legacy::Client;
    use hyper_util::client::legacy::connect::HttpConnector;
    use hyper_util::rt::TokioExecutor;
    use watchfloor_intel::import::{ImportContext, stix};
    use watchfloor_store::{Origin, Role, Store, TenantId, Timestamp};

    use super::*;

    const BLOCKLIST: &str = "203.0.113.7\nevil.example\nhttp://evil.example/drop\n\
        aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n10.9.0.0/16\n";

    struct Server {
        runtime: tokio::runtime::Runtime,
        addr: SocketAddr,
        tenant: TenantId,
        analyst: String,
        customer: String,
    }

    fn server() -> Server {
        let store = Arc::new(Store::open_in_memory().expect("store"));
        let origin = Origin::system("test", Timestamp::now());
        let tenant = store.create_tenant("Acme", &origin).expect("tenant").id;
        let token = |role| {
            store
                .create_token(tenant, role, "taxii", None, &origin)
                .expect("token")
                .secret
                .expose()
                .to_owned()
        };
        let (analyst, customer) = (token(Role::Analyst), token(Role::Customer));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        runtime.spawn(watchfloor_server::serve_on(
            listener,
            store,
            std::future::pending(),
        ));
        Server {
            runtime,
            addr,
            tenant,
            analyst,
            customer,
        }
    }

    impl Server {
        /// Imports a plain list into the tenant over HTTP.
        fn import(&self, text: &str, query: &str) {
            let url = format!(
                "http://{}/api/v1/tenants/{}/intel/import?{query}",
                self.addr, self.tenant.0
            );
            let request = Request::post(url)
                .header(header::AUTHORIZATION, format!("Bearer {}", self.analyst))
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Full::new(Bytes::from(text.to_owned())))
                .expect("request");
            let client: Client<HttpConnector, Full<Bytes>> =
                Client::builder(TokioExecutor::new()).build_http();
            let status = self
                .runtime
                .block_on(async { client.request(request).await.map(|r| r.status()) })
                .expect("import");
            assert_eq!(status, StatusCode::OK);
        }

        fn target(&self, token: &str, limit: u32) -> PullTarget {
            PullTarget {
                api_root: format!("http://{}/api/v1/taxii2/{}/", self.addr, self.tenant.0),
                collection: watchfloor_server::taxii::collection_id(self.tenant),
                credentials: Credentials::Bearer(token.to_owned()),
                limit,
                ca_file: None,
            }
        }
    }

    /// The (kind, value) pairs a STIX importer reads from `objects`.
    fn reimported(objects: &[Value]) -> BTreeSet<(String, String)> {
        let text = bundle_of(objects).to_string();
        let imported = stix::import_stix(&text, &ImportContext::new("partner"));
        assert!(imported.report.is_balanced());
        assert_eq!(imported.report.skipped_count(), 0, "{}", imported.report);
        imported
            .indicators
            .iter()
            .map(|i| (i.kind.as_str().to_owned(), i.value.clone()))
            .collect()
    }

    fn pairs(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn pulls_our_own_collection_page_by_page_and_polls_on() {
        let s = server();
        s.import(BLOCKLIST, "format=list&source=blocklist&tlp=green");
        s.import("amber.example\n", "format=list&source=partner&tlp=amber");
        let expected = pairs(&[
            ("ipv4", "203.0.113.7"),
            ("domain", "evil.example"),
            ("url", "http://evil.example/drop"),
            ("sha256", &"a".repeat(64)),
            ("cidr", "10.9.0.0/16"),
            ("domain", "amber.example"),
        ]);

        // Six objects, two per page: three pages, the same indicators on re-import.
        let pulled = pull_collection(&s.target(&s.analyst, 2), None).expect("pull");
        assert_eq!((pulled.objects.len(), pulled.pages), (6, 3));
        assert_eq!(reimported(&pulled.objects), expected);
        let last = pulled.last_added.clone().expect("last added");

        // A customer token is served what is GREEN or more open only.
        let customer = pull_collection(&s.target(&s.customer, 100), None).expect("pull");
        let mut green = expected.clone();
        green.remove(&("domain".to_owned(), "amber.example".to_owned()));
        assert_eq!(reimported(&customer.objects), green);

        // Polling: nothing new, then only what was added since.
        let mut poller = Poller::new(s.target(&s.analyst, 2), Some(last.clone()));
        let again = s.runtime.block_on(poller.poll_once()).expect("poll");
        assert!(again.objects.is_empty());
        assert_eq!(poller.added_after.as_deref(), Some(last.as_str()));
        s.import("later.example\n", "format=list&source=blocklist&tlp=green");
        let later = s.runtime.block_on(poller.poll_once()).expect("poll");
        assert_eq!(
            reimported(&later.objects),
            pairs(&[("domain", "later.example")])
        );
        assert!(poller.added_after.as_deref() > Some(last.as_str()));
    }

    #[test]
    fn refusals_are_reported() {
        let s = server();
        let mut bad = s.target("wf_not-a-token", 10);
        let e = pull_collection(&bad, None).expect_err("refused");
        assert!(format!("{e:#}").contains("401"), "{e:#}");
        bad = s.target(&s.analyst, 10);
        bad.collection = "00000000-0000-4000-8000-000000000000".to_owned();
        let e = pull_collection(&bad, None).expect_err("unknown collection");
        assert!(format!("{e:#}").contains("404"), "{e:#}");
        bad.api_root = "ftp://example.invalid/taxii2/".to_owned();
        let e = pull_collection(&bad, None).expect_err("not http");
        assert!(e.is::<UsageError>(), "{e:#}");
        bad.api_root = format!("http://{}/api/v1/taxii2/{}/", s.addr, s.tenant.0);
        bad.ca_file = Some(PathBuf::from("/nonexistent/ca.pem"));
        let e = pull_collection(&bad, None).expect_err("no CA file");
        assert!(
            e.is::<UsageError>() && format!("{e}").contains("ca.pem"),
            "{e:#}"
        );
    }

    #[test]
    fn api_roots_are_found_through_discovery() {
        let s = server();
        s.import("found.example\n", "format=list&source=blocklist&tlp=green");
        let target = s.target(&s.analyst, 10);
        let credentials = target.credentials.clone();
        let discovery = format!("http://{}/api/v1/taxii2/", s.addr);
        let root = s
            .runtime
            .block_on(resolve_api_root(
                &discovery,
                &target.collection,
                &credentials,
                None,
            ))
            .expect("resolved");
        assert_eq!(root, target.api_root);
        let same = s
            .runtime
            .block_on(resolve_api_root(
                &root,
                &target.collection,
                &credentials,
                None,
            ))
            .expect("an API root as it is");
        assert_eq!(same, root);
        let e = s
            .runtime
            .block_on(resolve_api_root(
                &discovery,
                "00000000-0000-4000-8000-000000000000",
                &credentials,
                None,
            ))
            .expect_err("no such collection");
        assert!(format!("{e:#}").contains("holds collection"), "{e:#}");
    }

    #[test]
    fn relative_urls_join_and_secrets_stay_out_of_debug() {
        assert_eq!(
            join_url("http://h:1/taxii2/", "/api/v1/taxii2/3/"),
            "http://h:1/api/v1/taxii2/3/"
        );
        assert_eq!(
            join_url("http://h:1/taxii2/", "root1/"),
            "http://h:1/taxii2/root1/"
        );
        assert_eq!(join_url("http://h:1", "r/"), "http://h:1/r/");
        assert_eq!(join_url("http://h:1/x/", "http://o/r/"), "http://o/r/");
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"ab"), "YWI=");
        let basic = Credentials::Basic {
            user: "u".into(),
            password: "hunter22".into(),
        };
        assert!(!format!("{basic:?}").contains("hunter22"));
        assert!(!format!("{:?}", Credentials::Bearer("wf_secret".into())).contains("wf_secret"));
        let header = basic.header().expect("header");
        assert_eq!(header.to_str().ok(), Some("Basic dTpodW50ZXIyMg=="));
        assert!(header.is_sensitive());
    }

    #[test]
    fn urls_are_built_and_encoded() {
        let t = PullTarget {
            api_root: "http://h:1/api/v1/taxii2/3".to_owned(),
            collection: "c-1".to_owned(),
            credentials: Credentials::Bearer("t".to_owned()),
            limit: 5,
            ca_file: None,
        };
        assert_eq!(
            objects_url(&t, Some("2026-03-02T09:00:00+02:00"), Some("17.4")),
            "http://h:1/api/v1/taxii2/3/collections/c-1/objects/?limit=5\
             &added_after=2026-03-02T09:00:00%2B02:00&next=17.4"
        );
    }
}
