//! `serve`'s TAXII feeds: each configured collection is polled on its interval into a
//! tenant's indicators.
//!
//! A feed (`[[taxii]]` in the configuration, or `--taxii KEY=VALUE,…`) names a tenant
//! (by name or id), a TAXII 2.1 discovery or API root URL, a collection, an interval
//! (`every_minutes`, or `every_seconds`), and credentials: `token_file` (a bearer
//! token) or `user` and `password_file` (basic authentication). An `https://` URL is
//! verified against the built-in roots and, when given, the CA certificates of
//! `ca_file` (a PEM file). The files are read at every poll, so a rotated secret or CA
//! is picked up; secrets never reach the log, whose lines name the feed by URL and
//! collection only.
//!
//! One task per feed polls at start and then every interval. A poll pulls the objects
//! added after the feed's mark, a page at a time ([`crate::taxii_client::Pager`]);
//! each page is imported through the server's own import path
//! ([`watchfloor_server::import_stix_feed`]: the same STIX importer, merge and audit
//! record as `POST /tenants/{id}/intel/import`, the record naming the feed), and then
//! the page's `X-TAXII-Date-Added-Last` becomes the mark, saved in
//! `DATA/taxii-<tenant id>-<hash of URL and collection>.state`. A restart resumes from
//! the saved mark; a page imported but not yet marked (a crash in between) is imported
//! again, which changes nothing (an attribution of the same source and reference
//! replaces itself). After a poll that imported something the pipeline reloads the
//! tenant's indicators ([`Command::ReloadIntel`]).
//!
//! A failed poll (unreachable, refused, TLS or certificate refused, not TAXII, bad
//! JSON) is logged with what failed and tried again
//! at the next interval from the same mark; it never stops the server.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde::{Deserialize, Serialize};
use watchfloor_intel::Tlp;
use watchfloor_server::live::{Command, LiveHandle};
use watchfloor_server::{FeedImport, import_stix_feed};
use watchfloor_store::{Store, TenantId};

use crate::cli::UsageError;
use crate::taxii_client::{
    Credentials, DEFAULT_PAGE_LIMIT, Pager, PullTarget, bundle_of, resolve_api_root,
};

/// Where audit records of feed imports say they come from.
const AUDIT_FROM: &str = "taxii-poll";

/// A feed as configured (a `[[taxii]]` table, or a `--taxii` flag).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    pub tenant: TenantRef,
    /// A TAXII 2.1 discovery or API root URL (`http://` or `https://`).
    pub url: String,
    pub collection: String,
    pub every_minutes: Option<u64>,
    pub every_seconds: Option<u64>,
    pub token_file: Option<PathBuf>,
    pub user: Option<String>,
    pub password_file: Option<PathBuf>,
    /// The source of attributions the objects do not make themselves (default
    /// `taxii:HOST`).
    pub source: Option<String>,
    /// The TLP of unmarked objects (default amber).
    pub tlp: Option<String>,
    /// The confidence of objects that give none (default 50).
    pub confidence: Option<u8>,
    /// Objects per page asked for.
    pub limit: Option<u32>,
    /// A PEM file of CA certificates trusted besides the built-in roots.
    pub ca_file: Option<PathBuf>,
}

/// A tenant by id or by name.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum TenantRef {
    Id(u32),
    Name(String),
}

impl std::fmt::Display for TenantRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TenantRef::Id(id) => write!(f, "{id}"),
            TenantRef::Name(name) => f.write_str(name),
        }
    }
}

/// How a feed authenticates: files read at each poll.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeedAuth {
    TokenFile(PathBuf),
    Basic {
        user: String,
        password_file: PathBuf,
    },
}

/// A feed checked and ready, but for its tenant (resolved against the store when
/// `serve` starts, [`FeedSpec::resolve`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedSpec {
    pub tenant: TenantRef,
    pub url: String,
    pub collection: String,
    pub every: Duration,
    pub auth: FeedAuth,
    pub source: String,
    pub tlp: Tlp,
    pub confidence: u8,
    pub limit: u32,
    pub ca_file: Option<PathBuf>,
}

/// A feed of a known tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Feed {
    pub tenant: TenantId,
    pub spec: FeedSpec,
}

/// Reads `--taxii tenant=acme,url=https://…,collection=…,every_minutes=60,token_file=…`:
/// the keys of a `[[taxii]]` table, comma-separated `key=value` pairs (a value made of
/// digits is a number).
pub fn parse_flag(text: &str) -> Result<FeedConfig, UsageError> {
    let mut table = toml::Table::new();
    for pair in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| UsageError(format!("--taxii: `{pair}` is not KEY=VALUE")))?;
        let (key, value) = (key.trim(), value.trim());
        let value = match value.parse::<i64>() {
            Ok(n) => toml::Value::Integer(n),
            Err(_) => toml::Value::String(value.to_owned()),
        };
        if table.insert(key.to_owned(), value).is_some() {
            return Err(UsageError(format!("--taxii: `{key}` given twice")));
        }
    }
    FeedConfig::deserialize(toml::Value::Table(table))
        .map_err(|e| UsageError(format!("--taxii: {e}")))
}

impl FeedConfig {
    /// Checks the feed; relative files are taken under `base`.
    pub fn check(self, base: &Path) -> Result<FeedSpec, UsageError> {
        let name = format!("TAXII feed {} collection {}", self.url, self.collection);
        let bad = |why: &str| UsageError(format!("{name}: {why}"));
        let host = feed_host(&self.url).ok_or_else(|| {
            bad("the URL must be http://HOST/… or https://HOST/… without credentials in it")
        })?;
        if self.collection.trim().is_empty() || self.collection.chars().any(char::is_control) {
            return Err(bad("`collection` must name a collection"));
        }
        let every = match (self.every_minutes, self.every_seconds) {
            (Some(m), None) if m > 0 => Duration::from_secs(m.saturating_mul(60)),
            (None, Some(s)) if s > 0 => Duration::from_secs(s),
            (None, None) => return Err(bad("`every_minutes` (or `every_seconds`) is needed")),
            (Some(_), Some(_)) => {
                return Err(bad("give `every_minutes` or `every_seconds`, not both"));
            }
            _ => return Err(bad("the interval must be at least 1")),
        };
        let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        let auth = match (self.token_file, self.user, self.password_file) {
            (Some(token), None, None) => FeedAuth::TokenFile(rel(token)),
            (None, Some(user), Some(password)) => {
                if user.is_empty() || user.contains(':') || user.chars().any(char::is_control) {
                    return Err(bad("`user` must be a user name without `:`"));
                }
                FeedAuth::Basic {
                    user,
                    password_file: rel(password),
                }
            }
            _ => {
                return Err(bad(
                    "give `token_file`, or `user` and `password_file` (and not both)",
                ));
            }
        };
        let file = match &auth {
            FeedAuth::TokenFile(f) => f,
            FeedAuth::Basic { password_file, .. } => password_file,
        };
        if !file.is_file() {
            return Err(bad(&format!("no such file: {}", file.display())));
        }
        let ca_file = self.ca_file.map(rel);
        if let Some(ca) = &ca_file {
            crate::feed_client::load_ca_file(ca).map_err(|e| bad(&e.0))?;
        }
        let source = self.source.unwrap_or_else(|| format!("taxii:{host}"));
        if source.trim().is_empty()
            || source.chars().count() > 100
            || source.chars().any(char::is_control)
        {
            return Err(bad(
                "`source` must be 1 to 100 characters without control characters",
            ));
        }
        let tlp = match self.tlp.as_deref() {
            None => Tlp::Amber,
            Some(t) => Tlp::parse(t)
                .ok_or_else(|| bad("`tlp` must be clear, green, amber, amber+strict or red"))?,
        };
        let confidence = self.confidence.unwrap_or(50);
        if confidence > 100 {
            return Err(bad("`confidence` must be between 0 and 100"));
        }
        let limit = self.limit.unwrap_or(DEFAULT_PAGE_LIMIT);
        if limit == 0 {
            return Err(bad("`limit` must be at least 1"));
        }
        Ok(FeedSpec {
            tenant: self.tenant,
            url: self.url,
            collection: self.collection,
            every,
            auth,
            source,
            tlp,
            confidence,
            limit,
            ca_file,
        })
    }
}

/// The host of an `http://` or `https://` URL without user information; `None` for
/// anything else.
fn feed_host(url: &str) -> Option<&str> {
    let uri = crate::feed_client::check_url(url).ok()?;
    let scheme_len = uri.scheme_str()?.len() + 3;
    let authority = url
        .trim()
        .get(scheme_len..)?
        .split(['/', '?', '#'])
        .next()?;
    (!authority.is_empty()).then_some(authority)
}

impl FeedSpec {
    /// The feed of its tenant in `store`; an unknown tenant is a usage error.
    pub fn resolve(&self, store: &Store) -> anyhow::Result<Feed> {
        let tenant = match &self.tenant {
            TenantRef::Id(id) => store.tenant(TenantId(*id)),
            TenantRef::Name(name) => store.tenant_by_name(name),
        }
        .map_err(|e| {
            UsageError(format!(
                "TAXII feed {} collection {}: tenant `{}`: {e}",
                self.url, self.collection, self.tenant
            ))
        })?;
        Ok(Feed {
            tenant: tenant.id,
            spec: self.clone(),
        })
    }

    /// The feed as the log and the audit record name it.
    pub fn name(&self) -> String {
        format!("TAXII feed {} collection {}", self.url, self.collection)
    }

    fn credentials(&self) -> anyhow::Result<Credentials> {
        let read = |path: &Path| {
            std::fs::read_to_string(path)
                .map(|t| t.trim().to_owned())
                .with_context(|| format!("reading {}", path.display()))
        };
        Ok(match &self.auth {
            FeedAuth::TokenFile(path) => Credentials::Bearer(read(path)?),
            FeedAuth::Basic {
                user,
                password_file,
            } => Credentials::Basic {
                user: user.clone(),
                password: read(password_file)?,
            },
        })
    }
}

/// The feeds of known tenants; an unknown tenant, or a collection fed twice into one
/// tenant from the same URL, is a usage error.
pub fn resolve_feeds(specs: &[FeedSpec], store: &Store) -> anyhow::Result<Vec<Feed>> {
    let mut feeds: Vec<Feed> = Vec::with_capacity(specs.len());
    for spec in specs {
        let feed = spec.resolve(store)?;
        if feeds.iter().any(|f| {
            f.tenant == feed.tenant
                && f.spec.url == feed.spec.url
                && f.spec.collection == feed.spec.collection
        }) {
            return Err(UsageError(format!(
                "{}: configured twice for tenant {}",
                spec.name(),
                spec.tenant
            ))
            .into());
        }
        feeds.push(feed);
    }
    Ok(feeds)
}

/// The file keeping a feed's mark.
pub fn state_path(data: &Path, tenant: TenantId, url: &str, collection: &str) -> PathBuf {
    // FNV-1a, 64 bits: stable across builds, unlike the standard library's hasher.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in url.bytes().chain([b'\n']).chain(collection.bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    data.join(format!("taxii-{}-{h:016x}.state", tenant.0))
}

/// What the state file holds.
#[derive(Debug, Serialize, Deserialize)]
struct SavedMark {
    url: String,
    collection: String,
    added_after: String,
}

fn load_mark(path: &Path, spec: &FeedSpec) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    match serde_json::from_str::<SavedMark>(&text) {
        Ok(m) if m.url == spec.url && m.collection == spec.collection => Some(m.added_after),
        Ok(_) => None,
        Err(e) => {
            eprintln!(
                "watchfloor: {}: {} is unreadable ({e}); polling from the beginning",
                spec.name(),
                path.display()
            );
            None
        }
    }
}

fn save_mark(path: &Path, spec: &FeedSpec, added_after: &str) -> anyhow::Result<()> {
    let mark = SavedMark {
        url: spec.url.clone(),
        collection: spec.collection.clone(),
        added_after: added_after.to_owned(),
    };
    let tmp = path.with_extension("state.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&mark)?)
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// One feed's running state.
struct Poller {
    feed: Feed,
    store: Arc<Store>,
    live: LiveHandle,
    state: PathBuf,
    mark: Option<String>,
    /// The API root, once found.
    api_root: Option<String>,
}

/// What one poll did.
#[derive(Debug, Default)]
struct Polled {
    pages: u32,
    objects: usize,
    taken: u64,
    inserted: u64,
    merged: u64,
}

impl Poller {
    async fn poll(&mut self) -> anyhow::Result<Polled> {
        let spec = &self.feed.spec;
        let credentials = spec.credentials()?;
        let api_root = match &self.api_root {
            Some(root) => root.clone(),
            None => {
                let root = resolve_api_root(
                    &spec.url,
                    &spec.collection,
                    &credentials,
                    spec.ca_file.as_deref(),
                )
                .await?;
                self.api_root = Some(root.clone());
                root
            }
        };
        let target = PullTarget {
            api_root,
            collection: spec.collection.clone(),
            credentials,
            limit: spec.limit,
            ca_file: spec.ca_file.clone(),
        };
        let feed = FeedImport {
            source: spec.source.clone(),
            tlp: spec.tlp,
            confidence: spec.confidence,
            label: spec.name(),
            from: AUDIT_FROM.to_owned(),
        };
        let tenant = self.feed.tenant;
        let mut polled = Polled::default();
        let mut pager = Pager::new(&target, self.mark.as_deref())?;
        let result = loop {
            let page = match pager.next_page().await {
                Ok(Some(page)) => page,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            if page.objects.is_empty() {
                continue;
            }
            let bundle = bundle_of(&page.objects).to_string();
            let (store, f) = (Arc::clone(&self.store), feed.clone());
            let imported =
                tokio::task::spawn_blocking(move || import_stix_feed(&store, tenant, &bundle, &f))
                    .await;
            let (report, receipt) = match imported {
                Ok(Ok(done)) => done,
                Ok(Err(e)) => break Err(anyhow::Error::new(e).context("importing")),
                Err(e) => break Err(anyhow::Error::new(e).context("importing")),
            };
            polled.objects += page.objects.len();
            polled.taken += report.taken;
            polled.inserted += receipt.inserted;
            polled.merged += receipt.merged;
            if let Some(last) = page.last_added {
                if let Err(e) = save_mark(&self.state, spec, &last) {
                    break Err(e);
                }
                self.mark = Some(last);
            }
        };
        if polled.objects > 0 {
            self.live.send(Command::ReloadIntel(tenant));
        }
        polled.pages = pager.pages();
        result.map(|()| polled)
    }
}

/// Polls `feed` now and every interval until `stopped` completes.
pub async fn run_feed(
    feed: Feed,
    store: Arc<Store>,
    live: LiveHandle,
    data: PathBuf,
    stopped: impl Future<Output = ()>,
) {
    tokio::pin!(stopped);
    let spec = feed.spec.clone();
    let state = state_path(&data, feed.tenant, &spec.url, &spec.collection);
    let mark = load_mark(&state, &spec);
    eprintln!(
        "watchfloor: {} → tenant {}, every {} s, from {}",
        spec.name(),
        feed.tenant.0,
        spec.every.as_secs(),
        mark.as_deref().unwrap_or("the beginning")
    );
    let mut poller = Poller {
        feed,
        store,
        live,
        state,
        mark,
        api_root: None,
    };
    loop {
        let result = tokio::select! {
            () = &mut stopped => return,
            r = poller.poll() => r,
        };
        match result {
            Ok(p) if p.objects == 0 => {
                eprintln!("watchfloor: {}: nothing new", spec.name());
            }
            Ok(p) => eprintln!(
                "watchfloor: {}: {} objects in {} pages, {} indicators taken ({} new, {} \
                 changed); next from {}",
                spec.name(),
                p.objects,
                p.pages,
                p.taken,
                p.inserted,
                p.merged,
                poller.mark.as_deref().unwrap_or("the beginning")
            ),
            Err(e) => {
                // The API root is looked up again next time: the server may have moved.
                poller.api_root = None;
                eprintln!(
                    "watchfloor: {}: {e:#}; tried again in {} s",
                    spec.name(),
                    spec.every.as_secs()
                );
            }
        }
        tokio::select! {
            () = &mut stopped => return,
            () = tokio::time::sleep(spec.every) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("watchfloor-taxii-poll-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("dir");
        std::fs::write(d.join("token"), "wf_x\n").expect("token");
        d
    }

    #[test]
    fn flags_read_as_the_tables_do_and_bad_feeds_are_refused_by_name() {
        let d = dir();
        let spec = parse_flag(
            "tenant=acme,url=http://cti.example:8080/taxii2/,collection=c1,every_minutes=60,\
             token_file=token",
        )
        .expect("flag")
        .check(&d)
        .expect("checked");
        assert_eq!(spec.tenant, TenantRef::Name("acme".into()));
        assert_eq!(spec.every, Duration::from_secs(3600));
        assert_eq!(spec.auth, FeedAuth::TokenFile(d.join("token")));
        assert_eq!(spec.source, "taxii:cti.example:8080");
        assert_eq!((spec.tlp, spec.confidence), (Tlp::Amber, 50));
        let by_id =
            parse_flag("tenant=3,url=http://h/,collection=c,every_seconds=5,token_file=token")
                .expect("flag");
        assert_eq!(by_id.tenant, TenantRef::Id(3));

        let refused = |flag: &str| match parse_flag(flag).and_then(|c| c.check(&d)) {
            Ok(spec) => panic!("accepted: {spec:?}"),
            Err(e) => e.0,
        };
        let e = refused(
            "tenant=a,url=http://h/,collection=c,every_minutes=1,token_file=token,colour=red",
        );
        assert!(e.contains("colour"), "{e}");
        let https = parse_flag(
            "tenant=a,url=https://cti.example/taxii2/,collection=c,every_minutes=1,\
             token_file=token",
        )
        .and_then(|c| c.check(&d))
        .expect("https");
        assert_eq!(
            (https.source.as_str(), https.ca_file),
            ("taxii:cti.example", None)
        );
        let e = refused("tenant=a,url=ftp://h/,collection=c,every_minutes=1,token_file=token");
        assert!(e.contains("https://"), "{e}");
        let e = refused(
            "tenant=a,url=https://h/,collection=c,every_minutes=1,token_file=token,\
             ca_file=missing.pem",
        );
        assert!(e.contains("CA file") && e.contains("no such file"), "{e}");
        let e = refused(
            "tenant=a,url=https://h/,collection=c,every_minutes=1,token_file=token,\
             ca_file=token",
        );
        assert!(e.contains("no PEM certificate"), "{e}");
        let e = refused("tenant=a,url=http://u:p@h/,collection=c,every_minutes=1,token_file=token");
        assert!(e.contains("without credentials"), "{e}");
        let e = refused("tenant=a,url=http://h/,collection=c,token_file=token");
        assert!(e.contains("every_minutes"), "{e}");
        let e = refused("tenant=a,url=http://h/,collection=c,every_minutes=1");
        assert!(e.contains("token_file"), "{e}");
        let e = refused("tenant=a,url=http://h/,collection=c,every_minutes=1,token_file=missing");
        assert!(e.contains("no such file"), "{e}");
        let e = refused("url=http://h/,collection=c,every_minutes=1,token_file=token");
        assert!(e.contains("tenant"), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn the_state_file_is_named_by_tenant_and_feed() {
        let a = state_path(Path::new("/d"), TenantId(3), "http://h/", "c1");
        let b = state_path(Path::new("/d"), TenantId(3), "http://h/", "c2");
        assert_ne!(a, b);
        let name = a.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(
            name.starts_with("taxii-3-") && name.ends_with(".state"),
            "{name}"
        );
        assert_eq!(
            a,
            state_path(Path::new("/d"), TenantId(3), "http://h/", "c1")
        );
    }
}
