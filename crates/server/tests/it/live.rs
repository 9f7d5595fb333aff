//! The API over the running live pipeline: records sent to ingest become alerts,
//! incidents, suppression hits and searchable events, and the analysts' work on them is
//! audited. Each test starts its own pipeline thread over an in-memory store and waits
//! for it by polling `GET /metrics` (never a fixed sleep).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;
use watchfloor_pipeline::live::RuleBook;
use watchfloor_server::live::{Live, LiveConfig};
use watchfloor_server::{AppState, app};
use watchfloor_store::{
    AlertRow, BatchCommit, IncidentRow, NewUser, Origin, Password, Role, Store, TenantId, Timestamp,
};
use watchfloor_triage::{Triage, TriageConfig};

use crate::support::{B_MARK, PASSWORD, Reply, call, request};

const SSH_RULES: &str = include_str!("../../../watchfloor/rules/ssh_password_guessing.yml");
const SQLI_RULE: &str = include_str!("../../../watchfloor/rules/web_sql_injection.yml");
const OFFICE_RULE: &str =
    include_str!("../../../watchfloor/rules/office_spawns_encoded_powershell.yml");

const OFFICE_ID: &str = "3b0f6f0e-5d0a-4f0e-9a51-2f6f1b7c9d01";
const OFFICE_TITLE: &str = "Office application starts encoded PowerShell";
const SQLI_ID: &str = "4d5e6f7a-8b9c-4d0e-a1f2-3a4b5c6d7e06";
const SQLI_TITLE: &str = "SQL injection in a web request";
const WEB_SQLI_TITLE: &str = "Web attack: SQL injection";
const WEB_SQLI_ID: &str = "web-attack/sqli";
const WEB_SCANNER_TITLE: &str = "Web scanner or attack tool";
const SSH_ID: &str = "1f2e3d4c-5b6a-4978-8a6b-5c4d3e2f1a04";
const SSH_TITLE: &str = "SSH password guessing from one address";

/// The id of the alert and incident planted in tenant A before the pipeline starts, so
/// A's pipeline ids start above it (and must be shifted in the documents too).
const PLANTED: u64 = 1;

/// How long a test waits for the pipeline before failing.
const PATIENCE: Duration = Duration::from_secs(60);

/// A store with tenants A and B, users and tokens, the live pipeline running over it
/// with the product's SSH, SQL injection and Office rules, and the router in front.
pub(crate) struct LiveWorld {
    pub(crate) router: Router,
    pub(crate) store: Arc<Store>,
    /// Stopped (joined) when the world is dropped.
    _live: Live,
    pub(crate) a: TenantId,
    pub(crate) b: TenantId,
    /// Tenant A's analyst token.
    pub(crate) a_token: String,
    pub(crate) a_customer_token: String,
    /// Tenant B's analyst token.
    pub(crate) b_token: String,
    /// User ids: analyst of A, customer of A, analyst of B.
    ana: i64,
    cus: i64,
    bob: i64,
    /// Records accepted so far, which the pipeline must have processed to settle.
    sent: AtomicU64,
}

fn origin() -> Origin {
    Origin::system("test", Timestamp::now())
}

fn add_user(store: &Store, login: &str, role: Role, tenants: Vec<TenantId>) -> i64 {
    let new = NewUser {
        login: login.to_owned(),
        display_name: login.to_owned(),
        role,
        tenants,
        password: Password::new(PASSWORD),
    };
    store.create_user(&new, &origin()).expect("user").id.0
}

fn add_token(store: &Store, tenant: TenantId, role: Role, name: &str) -> String {
    let created = store
        .create_token(tenant, role, name, None, &origin())
        .expect("token");
    created.secret.expose().to_owned()
}

/// An alert in an incident, as an earlier run of the pipeline left them.
fn plant(store: &Store, tenant: TenantId) {
    let t = Timestamp(1_767_225_600_000_000_000); // 2026-01-01
    let alert = AlertRow {
        id: PLANTED,
        rule_id: "planted-rule".into(),
        title: "planted alert".into(),
        level: "low".into(),
        level_rank: 1,
        score: 20.0,
        host: Some("planted-host".into()),
        user: None,
        count: 1,
        first_seen: t,
        last_seen: t,
        incident_id: Some(PLANTED),
        doc: json!({"title": "planted alert"}).to_string(),
    };
    let incident = IncidentRow {
        id: PLANTED,
        title: "planted incident".into(),
        severity: "low".into(),
        severity_rank: 1,
        score: 20.0,
        entity: "planted-host".into(),
        stage_chain: "execution".into(),
        first_seen: t,
        last_seen: t,
        alert_count: 1,
        detections: 1,
        doc: json!({"title": "planted incident"}).to_string(),
    };
    let batch = BatchCommit {
        alerts: vec![alert],
        incidents: vec![incident],
        ..Default::default()
    };
    store.commit_batch(tenant, &batch, t).expect("planted");
}

fn rule_book() -> RuleBook {
    let book = RuleBook::from_sources(&[
        ("ssh.yml", SSH_RULES),
        ("sqli.yml", SQLI_RULE),
        ("office.yml", OFFICE_RULE),
    ]);
    assert!(
        book.diagnostics.iter().all(|d| !d.is_error()),
        "{:?}",
        book.diagnostics
    );
    book
}

pub(crate) fn live_world() -> LiveWorld {
    live_world_with(Arc::new(|| Triage::new(TriageConfig::default())))
}

/// A live world whose tenants' analysis engines start as `factory` makes them.
pub(crate) fn live_world_with(factory: watchfloor_server::live::TriageFactory) -> LiveWorld {
    let store = Arc::new(Store::open_in_memory().expect("store"));
    let a = store.create_tenant("Acme", &origin()).expect("tenant").id;
    let b = store.create_tenant(B_MARK, &origin()).expect("tenant").id;
    add_user(&store, "root", Role::Admin, vec![]);
    let ana = add_user(&store, "ana", Role::Analyst, vec![a]);
    let cus = add_user(&store, "cus", Role::Customer, vec![a]);
    let bob = add_user(&store, "bob", Role::Analyst, vec![b]);
    let a_token = add_token(&store, a, Role::Analyst, "a-token");
    let a_customer_token = add_token(&store, a, Role::Customer, "a-portal");
    let b_token = add_token(&store, b, Role::Analyst, &format!("{B_MARK}-token"));
    plant(&store, a);
    let book = Arc::new(rule_book());
    let config = LiveConfig::new(Arc::clone(&book), factory);
    let live = Live::start(Arc::clone(&store), config).expect("pipeline");
    let state =
        AppState::new(Arc::clone(&store)).with_live(live.handle(), Arc::new(RwLock::new(book)));
    LiveWorld {
        router: app(state),
        store,
        _live: live,
        a,
        b,
        a_token,
        a_customer_token,
        b_token,
        ana,
        cus,
        bob,
        sent: AtomicU64::new(0),
    }
}

impl LiveWorld {
    /// The analyst token of `tenant`.
    fn writer(&self, tenant: TenantId) -> &str {
        if tenant == self.a {
            &self.a_token
        } else {
            &self.b_token
        }
    }

    pub(crate) async fn get(&self, path: &str, bearer: &str) -> Reply {
        call(&self.router, request(Method::GET, path, Some(bearer), None)).await
    }

    pub(crate) async fn post(&self, path: &str, bearer: &str, body: Option<Value>) -> Reply {
        let body = body.map(|b| b.to_string());
        let req = request(Method::POST, path, Some(bearer), body.as_deref());
        call(&self.router, req).await
    }

    /// `GET /tenants/{tenant}/{rest}` with `tenant`'s analyst token, answered 200.
    pub(crate) async fn read(&self, tenant: TenantId, rest: &str) -> Value {
        let r = self
            .get(&tenant_path(tenant, rest), self.writer(tenant))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{rest}: {}", r.text);
        r.json
    }

    /// Posts a body to `path` as `content_type`; counts what was accepted.
    async fn ingest_to(&self, path: &str, bearer: &str, content_type: &str, body: String) -> Reply {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .expect("request");
        let r = call(&self.router, req).await;
        if r.status == StatusCode::ACCEPTED {
            let n = r.json["accepted"].as_u64().expect("accepted");
            self.sent.fetch_add(n, Ordering::SeqCst);
        }
        r
    }

    /// Sends NDJSON records to `tenant` with its analyst token.
    pub(crate) async fn ingest_json(&self, tenant: TenantId, lines: &[String]) {
        let path = tenant_path(tenant, "ingest");
        let body = lines.join("\n");
        let r = self
            .ingest_to(&path, self.writer(tenant), "application/x-ndjson", body)
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_eq!(r.json["accepted"].as_u64(), Some(lines.len() as u64));
    }

    /// Sends text lines of `format` to `tenant` with its analyst token.
    async fn ingest_lines(&self, tenant: TenantId, format: &str, lines: &[String]) {
        let path = tenant_path(tenant, &format!("ingest?format={format}"));
        let body = lines.join("\n");
        let r = self
            .ingest_to(&path, self.writer(tenant), "text/plain", body)
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
        assert_eq!(r.json["accepted"].as_u64(), Some(lines.len() as u64));
    }

    pub(crate) async fn metrics(&self) -> String {
        let r = call(
            &self.router,
            request(Method::GET, "/api/v1/metrics", None, None),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        r.text
    }

    /// Waits until the pipeline has processed every record sent and its backlog is
    /// empty, as the metrics tell.
    pub(crate) async fn settle(&self) {
        let want = self.sent.load(Ordering::SeqCst);
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.metrics().await;
            let records = metric(&text, "watchfloor_pipeline_records_total");
            let backlog = metric(&text, "watchfloor_pipeline_backlog");
            if records.is_some_and(|n| n >= want) && backlog == Some(0) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the pipeline did not process {want} records in time:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A session token of `login`.
    async fn login(&self, login: &str) -> String {
        let body = json!({"login": login, "password": PASSWORD}).to_string();
        let r = call(
            &self.router,
            request(Method::POST, "/api/v1/login", None, Some(&body)),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.json["token"].as_str().expect("token").to_owned()
    }

    /// The alerts of `tenant` the pipeline made (the planted one left out), by id.
    pub(crate) async fn live_alerts(&self, tenant: TenantId) -> Vec<Value> {
        let page = self.read(tenant, "alerts?limit=500&sort=first_seen").await;
        let mut items: Vec<Value> = items(&page)
            .into_iter()
            .filter(|a| a["title"] != "planted alert")
            .collect();
        items.sort_by_key(|a| a["id"].as_u64());
        items
    }
}

pub(crate) fn tenant_path(tenant: TenantId, rest: &str) -> String {
    format!("/api/v1/tenants/{}/{rest}", tenant.0)
}

/// A sample value of the Prometheus text.
pub(crate) fn metric(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

pub(crate) fn items(page: &Value) -> Vec<Value> {
    page["items"].as_array().cloned().unwrap_or_default()
}

fn strings<'a>(values: &'a [Value], key: &str) -> Vec<&'a str> {
    values.iter().filter_map(|v| v[key].as_str()).collect()
}

// ---- records ----

const WINWORD: &str = r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE";
const POWERSHELL: &str = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";

/// A Sysmon process creation (event 1) as flat JSON.
fn sysmon(time: &str, host: &str, user: &str, parent: &str, image: &str, command: &str) -> String {
    json!({
        "@timestamp": time,
        "Hostname": host,
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "EventID": 1,
        "Image": image,
        "ParentImage": parent,
        "CommandLine": command,
        "User": user,
    })
    .to_string()
}

/// Word starting PowerShell with an encoded command: the Office rule fires.
pub(crate) fn office_attack(time: &str, host: &str, user: &str) -> String {
    sysmon(
        time,
        host,
        user,
        WINWORD,
        POWERSHELL,
        "powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA",
    )
}

/// An ordinary process start: no rule fires.
fn benign(time: &str, host: &str, user: &str, command: &str) -> String {
    sysmon(
        time,
        host,
        user,
        r"C:\Windows\explorer.exe",
        r"C:\Windows\System32\notepad.exe",
        command,
    )
}

/// A Sysmon network connection (event 3).
pub(crate) fn connection(time: &str, host: &str, destination: &str) -> String {
    json!({
        "@timestamp": time,
        "Hostname": host,
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "EventID": 3,
        "Image": r"C:\Windows\System32\svchost.exe",
        "DestinationIp": destination,
        "DestinationPort": 443,
    })
    .to_string()
}

/// A failed SSH password from 203.0.113.77 on web01, at 08:02:`second`; three within
/// five minutes fire the password-guessing correlation.
fn ssh_failure(second: u32) -> String {
    format!(
        "2026-03-02T08:02:{second:02}Z web01 sshd[20311]: Failed password for invalid user \
         admin from 203.0.113.77 port 40122 ssh2"
    )
}

/// sqlmap in an access log line: the SQL injection rule fires.
fn sqli_request() -> String {
    r#"203.0.113.9 - - [02/Mar/2026:10:00:00 +0000] "GET /item.php?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users-- HTTP/1.1" 200 512 "-" "sqlmap/1.7""#
        .to_owned()
}

// ---- alerts ----

#[tokio::test]
async fn ingested_records_become_alerts_that_filter_sort_and_page() {
    let w = live_world();
    w.ingest_json(
        w.a,
        &[
            benign(
                "2026-03-02T09:10:00Z",
                "WS01",
                r"CORP\bob",
                "notepad.exe a.txt",
            ),
            office_attack("2026-03-02T09:14:41Z", "WS01", r"CORP\bob"),
            office_attack("2026-03-02T10:05:00Z", "WS02", r"CORP\eve"),
        ],
    )
    .await;
    w.ingest_lines(
        w.a,
        "syslog",
        &[ssh_failure(1), ssh_failure(2), ssh_failure(3)],
    )
    .await;
    w.ingest_lines(w.a, "access", &[sqli_request()]).await;
    w.settle().await;

    let all = w.live_alerts(w.a).await;
    let mut seen: Vec<(&str, &str, Option<&str>)> = all
        .iter()
        .map(|a| {
            (
                a["title"].as_str().unwrap_or(""),
                a["level"].as_str().unwrap_or(""),
                a["host"].as_str(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        {
            // The SQL injection line is also judged by the web attack analysis.
            let mut expected = vec![
                (OFFICE_TITLE, "high", Some("ws01")),
                (OFFICE_TITLE, "high", Some("ws02")),
                (SQLI_TITLE, "high", None),
                (SSH_TITLE, "medium", None),
                (WEB_SQLI_TITLE, "high", None),
                (WEB_SCANNER_TITLE, "low", None),
            ];
            expected.sort();
            expected
        },
        "{all:#?}"
    );
    assert!(
        all.iter()
            .all(|a| a["id"].as_u64().is_some_and(|id| id > PLANTED)),
        "pipeline ids start above the stored ones: {all:#?}"
    );
    assert!(all.iter().all(|a| a["status"] == "open" && a["count"] == 1));
    let ssh = all.iter().find(|a| a["title"] == SSH_TITLE).expect("ssh");
    assert_eq!(ssh["rule_id"], SSH_ID);
    assert!(
        all.iter().all(|a| a.get("doc").is_none()),
        "list items are summaries, without the document: {all:#?}"
    );
    let ssh_id = ssh["id"].as_u64().expect("id");
    let ssh_one = w.read(w.a, &format!("alerts/{ssh_id}")).await;
    assert_eq!(
        ssh_one["alert"]["doc"]["entities"]["src_ip"],
        "203.0.113.77"
    );

    // Filters.
    let count = |q: &'static str| {
        let w = &w;
        async move {
            let page = w.read(w.a, &format!("alerts?{q}")).await;
            let total = page["total"].as_u64().expect("total");
            assert_eq!(total as usize, items(&page).len(), "{q}: one page");
            (total, items(&page))
        }
    };
    assert_eq!(count("").await.0, 7, "six new and the planted one");
    assert_eq!(count("status=open").await.0, 7);
    assert_eq!(count("status=closed").await.0, 0);
    let (n, high) = count("min_level=high").await;
    assert_eq!(n, 4);
    assert!(high.iter().all(|a| a["level"] == "high"));
    assert_eq!(count("min_level=medium").await.0, 5);
    let (n, ws01) = count("host=WS01").await;
    assert_eq!((n, ws01[0]["host"].as_str()), (1, Some("ws01")));
    let (n, office) = count("rule_id=3b0f6f0e-5d0a-4f0e-9a51-2f6f1b7c9d01").await;
    assert_eq!(n, 2);
    assert!(office.iter().all(|a| a["rule_id"] == OFFICE_ID));
    assert_eq!(count("rule_id=nothing-like-it").await.0, 0);
    let (n, sql) = count("q=sql%20injection").await;
    let mut sql_rules = strings(&sql, "rule_id");
    sql_rules.sort();
    assert_eq!((n, sql_rules), (2, vec![SQLI_ID, WEB_SQLI_ID]));
    // since is inclusive and until exclusive, on last seen.
    let (n, late) = count("since=2026-03-02T10:00:00Z&until=2026-03-02T10:05:00Z").await;
    assert_eq!(n, 3, "{late:#?}");
    assert!(late.iter().any(|a| a["rule_id"] == SQLI_ID), "{late:#?}");
    let (n, office_late) =
        count("since=2026-03-02T10:05:00Z&rule_id=3b0f6f0e-5d0a-4f0e-9a51-2f6f1b7c9d01").await;
    assert_eq!((n, office_late[0]["host"].as_str()), (1, Some("ws02")));
    let (n, _) = count("until=2026-03-02T01:00:00Z").await;
    assert_eq!(n, 1, "only the planted alert is older");

    // Sort and pages.
    let (_, by_first) = count("sort=first_seen&order=asc").await;
    let firsts = strings(&by_first, "first_seen");
    let mut sorted = firsts.clone();
    sorted.sort();
    assert_eq!(firsts, sorted);
    assert_eq!(by_first[0]["title"], "planted alert");
    assert_eq!(by_first[6]["host"], "ws02");
    let (_, by_level) = count("sort=level&order=asc").await;
    assert_eq!(
        strings(&by_level, "level"),
        ["low", "low", "medium", "high", "high", "high", "high"]
    );
    let mut paged = Vec::new();
    for offset in [0, 2, 4, 6] {
        let page = w
            .read(
                w.a,
                &format!("alerts?sort=first_seen&limit=2&offset={offset}"),
            )
            .await;
        assert_eq!(page["total"], 7);
        assert_eq!(
            (page["limit"].as_u64(), page["offset"].as_u64()),
            (Some(2), Some(offset))
        );
        paged.extend(items(&page).iter().filter_map(|a| a["id"].as_u64()));
    }
    let mut whole: Vec<u64> = count("sort=first_seen")
        .await
        .1
        .iter()
        .filter_map(|a| a["id"].as_u64())
        .collect();
    assert_eq!(
        paged, whole,
        "pages follow the order without gaps or repeats"
    );
    whole.dedup();
    assert_eq!(whole.len(), 7);
    let beyond = w.read(w.a, "alerts?limit=2&offset=10").await;
    assert_eq!(
        (beyond["total"].as_u64(), items(&beyond).len()),
        (Some(7), 0)
    );
    for bad in [
        "min_level=urgent",
        "sort=colour",
        "order=up",
        "since=yesterday",
        "limit=0",
    ] {
        let r = w
            .get(&tenant_path(w.a, &format!("alerts?{bad}")), &w.a_token)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.text
        );
    }
}

#[tokio::test]
async fn one_alert_shows_its_entities_techniques_and_decisions() {
    let w = live_world();
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T09:14:41Z", "WS01", r"CORP\bob")],
    )
    .await;
    w.settle().await;
    let alerts = w.live_alerts(w.a).await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let id = alerts[0]["id"].as_u64().expect("id");
    let one = w.read(w.a, &format!("alerts/{id}")).await;
    let alert = &one["alert"];
    assert_eq!(alert["id"].as_u64(), Some(id));
    assert_eq!(alert["tenant"].as_u64(), Some(u64::from(w.a.0)));
    assert_eq!(
        (alert["title"].as_str(), alert["level"].as_str()),
        (Some(OFFICE_TITLE), Some("high"))
    );
    assert_eq!(alert["user"], r"CORP\bob");
    assert_eq!(alert["first_seen"], "2026-03-02T09:14:41Z");
    let doc = &alert["doc"];
    assert_eq!(
        doc["id"].as_u64(),
        Some(id),
        "the document's id is the stored id"
    );
    assert_eq!(
        doc["incident"], alert["incident_id"],
        "the document names the stored incident"
    );
    assert!(alert["incident_id"].as_u64().is_some_and(|i| i > PLANTED));
    assert_eq!(doc["entities"]["host"], "ws01");
    assert_eq!(doc["entities"]["user"], r"CORP\bob");
    assert!(
        doc["entities"]["image"]
            .as_str()
            .is_some_and(|i| i.ends_with("powershell.exe")),
        "{doc}"
    );
    let techniques: Vec<&str> = doc["techniques"]
        .as_array()
        .map(|t| t.iter().filter_map(|t| t["id"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        techniques
            .iter()
            .any(|t| t.eq_ignore_ascii_case("T1059.001")),
        "{techniques:?}"
    );
    let kinds: Vec<&str> = doc["log"]["entries"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["kind"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(kinds.first(), Some(&"created"), "{kinds:?}");
    assert!(doc["samples"].as_array().is_some_and(|s| s.len() == 1));
    // Another tenant's id space and ids that are not there.
    let r = w.get(&tenant_path(w.a, "alerts/999"), &w.a_token).await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let r = w
        .get(&tenant_path(w.b, &format!("alerts/{id}")), &w.b_token)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
}

// ---- incidents ----

#[tokio::test]
async fn incidents_hold_their_alerts_and_a_repeat_grows_the_same_alert() {
    let w = live_world();
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T09:14:41Z", "WS01", r"CORP\bob")],
    )
    .await;
    w.settle().await;
    let page = w.read(w.a, "incidents").await;
    assert_eq!(page["total"], 2, "the planted one and the new one: {page}");
    let incident = items(&page)
        .into_iter()
        .find(|i| i["title"] != "planted incident")
        .expect("a new incident");
    let iid = incident["id"].as_u64().expect("id");
    assert!(iid > PLANTED);
    assert_eq!(incident["status"], "open");
    assert_eq!(incident["severity"], "high");
    assert_eq!(incident["alert_count"], 1);
    let alert = &w.live_alerts(w.a).await[0];
    let aid = alert["id"].as_u64().expect("id");
    assert_eq!(alert["incident_id"].as_u64(), Some(iid));

    let one = w.read(w.a, &format!("incidents/{iid}")).await;
    assert_eq!(one["incident"]["id"].as_u64(), Some(iid));
    let chain = one["incident"]["stage_chain"].as_str().unwrap_or("");
    assert!(chain.contains("execution"), "{chain}");
    assert_eq!(one["incident"]["doc"]["stage_chain"], chain);
    assert_eq!(one["incident"]["doc"]["id"].as_u64(), Some(iid));
    assert_eq!(
        one["incident"]["doc"]["alerts"],
        json!([aid]),
        "the document lists the stored alert ids"
    );
    let listed: Vec<u64> = one["alerts"]
        .as_array()
        .map(|a| a.iter().filter_map(|a| a["id"].as_u64()).collect())
        .unwrap_or_default();
    assert_eq!(listed, vec![aid]);
    assert_eq!(
        one["alerts"][0]["doc"]["id"].as_u64(),
        Some(aid),
        "the incident's alerts carry their documents"
    );
    let timeline = one["timeline"].as_array().cloned().unwrap_or_default();
    assert!(timeline.len() >= 2, "{timeline:#?}");
    assert_sorted_by_time(&timeline);
    assert!(
        timeline
            .iter()
            .any(|e| e["kind"] == "alert" && e["alert"].as_u64() == Some(aid)),
        "{timeline:#?}"
    );
    assert!(
        timeline.iter().any(|e| e["kind"] == "opened"),
        "{timeline:#?}"
    );
    assert!(
        timeline
            .iter()
            .all(|e| e["text"].as_str().is_some_and(|t| !t.is_empty())),
        "every entry says what happened: {timeline:#?}"
    );

    // The same detection again: the alert's count grows, no new alert or incident.
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T09:20:00.5Z", "WS01", r"CORP\bob")],
    )
    .await;
    w.settle().await;
    let again = w.live_alerts(w.a).await;
    assert_eq!(again.len(), 1, "{again:#?}");
    assert_eq!(again[0]["id"].as_u64(), Some(aid));
    assert_eq!(again[0]["count"], 2);
    assert_eq!(again[0]["last_seen"], "2026-03-02T09:20:00.5Z");
    let page = w.read(w.a, "incidents").await;
    assert_eq!(page["total"], 2);
    let one = w.read(w.a, &format!("incidents/{iid}")).await;
    assert_eq!(one["incident"]["detections"], 2);
    let timeline = one["timeline"].as_array().cloned().unwrap_or_default();
    assert_sorted_by_time(&timeline);
    // Bob's next host, half a second after the first: the same incident, and the
    // timeline still in time order (`…:41.5Z` sorts before `…:41Z` as text).
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T09:14:41.5Z", "WS05", r"CORP\bob")],
    )
    .await;
    w.settle().await;
    let one = w.read(w.a, &format!("incidents/{iid}")).await;
    assert_eq!(one["incident"]["alert_count"], 2, "{one:#}");
    let timeline = one["timeline"].as_array().cloned().unwrap_or_default();
    assert_sorted_by_time(&timeline);
    assert_eq!(
        timeline.iter().filter(|e| e["kind"] == "alert").count(),
        2,
        "{timeline:#?}"
    );
    // Filters of the incident list.
    let high = w.read(w.a, "incidents?min_severity=high").await;
    assert_eq!(high["total"], 1);
    let by_text = w.read(w.a, "incidents?q=planted").await;
    assert_eq!(by_text["total"], 1);
    let r = w.get(&tenant_path(w.a, "incidents/999"), &w.a_token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_incident_linked_into_another_leaves_one_open_case() {
    let w = live_world();
    w.ingest_json(
        w.a,
        &[
            office_attack("2026-03-02T09:14:41Z", "WS01", r"CORP\bob"),
            office_attack("2026-03-02T09:15:41Z", "WS09", r"CORP\eve"),
        ],
    )
    .await;
    w.settle().await;
    let open = w.read(w.a, "incidents?status=open&min_severity=high").await;
    assert_eq!(open["total"], 2, "one per host: {open:#}");
    // Eve on WS01 ties both together.
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T09:16:41Z", "WS01", r"CORP\eve")],
    )
    .await;
    w.settle().await;
    let open = w.read(w.a, "incidents?status=open&min_severity=high").await;
    assert_eq!(open["total"], 1, "{open:#}");
    let kept = &items(&open)[0];
    let kept_id = kept["id"].as_u64().expect("id");
    assert_eq!(kept["alert_count"], 3);
    let one = w.read(w.a, &format!("incidents/{kept_id}")).await;
    assert_eq!(one["alerts"].as_array().map(Vec::len), Some(3));
    let closed = w.read(w.a, "incidents?status=closed").await;
    assert_eq!(closed["total"], 1, "{closed:#}");
    let linked = &items(&closed)[0];
    assert!(linked.get("doc").is_none(), "a summary: {linked:#}");
    let linked_id = linked["id"].as_u64().expect("id");
    let linked_one = w.read(w.a, &format!("incidents/{linked_id}")).await;
    assert_eq!(
        linked_one["incident"]["doc"]["merged_into"].as_u64(),
        Some(kept_id)
    );
    let full = w.read(w.a, "incidents?status=closed&doc=true").await;
    assert_eq!(
        items(&full)[0]["doc"]["merged_into"].as_u64(),
        Some(kept_id),
        "doc=true lists the documents (for range grade): {full:#}"
    );
    assert_eq!(
        linked["close_reason"],
        format!("linked into incident {kept_id}")
    );
    let log = w.read(w.a, "audit?limit=1").await;
    let entry = &log["entries"][0];
    assert_eq!(
        (entry["action"].as_str(), entry["actor"]["kind"].as_str()),
        (Some("incident.close"), Some("system"))
    );
    assert_eq!(entry["object"], format!("incident:{}", linked["id"]));
    // Reopened by an analyst, it stays open through later batches.
    let linked_id = linked["id"].as_u64().expect("id");
    let reopen = tenant_path(w.a, &format!("incidents/{linked_id}/reopen"));
    let r = w.post(&reopen, &w.a_token, None).await;
    assert_eq!(r.json["incident"]["status"], "open", "{}", r.text);
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T09:17:41Z", "WS01", r"CORP\eve")],
    )
    .await;
    w.settle().await;
    let one = w.read(w.a, &format!("incidents/{linked_id}")).await;
    assert_eq!(one["incident"]["status"], "open");
}

/// Timeline entries are in time order (compared as times, not as text).
fn assert_sorted_by_time(timeline: &[Value]) {
    let times: Vec<jiff::Timestamp> = timeline
        .iter()
        .map(|e| {
            e["at"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("entry without a time: {e}"))
        })
        .collect();
    assert!(
        times.windows(2).all(|p| p[0] <= p[1]),
        "not in time order: {timeline:#?}"
    );
}

// ---- analysts' actions ----

#[tokio::test]
async fn analysts_act_on_alerts_and_incidents_and_every_action_is_audited() {
    let w = live_world();
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T09:14:41Z", "WS01", r"CORP\bob")],
    )
    .await;
    w.settle().await;
    let alert = &w.live_alerts(w.a).await[0];
    let aid = alert["id"].as_u64().expect("id");
    let iid = alert["incident_id"].as_u64().expect("incident");
    let act = |what: &str| tenant_path(w.a, &format!("alerts/{aid}/{what}"));

    // A customer reads but does not act.
    for customer in [w.a_customer_token.clone(), w.login("cus").await] {
        let r = w
            .get(&tenant_path(w.a, &format!("alerts/{aid}")), &customer)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let r = w.post(&act("acknowledge"), &customer, None).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
        let r = w
            .post(&act("close"), &customer, Some(json!({"reason": "mine"})))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }

    let r = w.post(&act("acknowledge"), &w.a_token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["alert"]["status"], "acknowledged");
    let r = w
        .post(&act("assign"), &w.a_token, Some(json!({"assignee": w.ana})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["alert"]["assignee"].as_i64(), Some(w.ana));
    for nobody in [w.cus, w.bob, 9999] {
        let r = w
            .post(
                &act("assign"),
                &w.a_token,
                Some(json!({"assignee": nobody})),
            )
            .await;
        assert_eq!(
            (r.status, r.error_code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{nobody}: {}",
            r.text
        );
    }
    let r = w
        .post(&act("close"), &w.a_token, Some(json!({"reason": " "})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = w
        .post(
            &act("close"),
            &w.a_token,
            Some(json!({"reason": "test of the macro filter"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (
            r.json["alert"]["status"].as_str(),
            r.json["alert"]["close_reason"].as_str()
        ),
        (Some("closed"), Some("test of the macro filter"))
    );
    let closed = w.read(w.a, "alerts?status=closed").await;
    assert_eq!(closed["total"], 1);
    let r = w.post(&act("acknowledge"), &w.a_token, None).await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "closed: {}",
        r.text
    );
    let r = w.post(&act("reopen"), &w.a_token, None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.json["alert"]["status"], "open");
    assert!(r.json["alert"]["close_reason"].is_null());
    assert_eq!(r.json["alert"]["assignee"].as_i64(), Some(w.ana));

    // The incident: assign, close, reopen.
    let inc = |what: &str| tenant_path(w.a, &format!("incidents/{iid}/{what}"));
    let r = w
        .post(&inc("assign"), &w.a_token, Some(json!({"assignee": w.ana})))
        .await;
    assert_eq!(
        r.json["incident"]["assignee"].as_i64(),
        Some(w.ana),
        "{}",
        r.text
    );
    let r = w
        .post(&inc("assign"), &w.a_token, Some(json!({"assignee": w.cus})))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = w
        .post(
            &inc("close"),
            &w.a_token,
            Some(json!({"reason": "contained"})),
        )
        .await;
    assert_eq!(r.json["incident"]["status"], "closed", "{}", r.text);
    let r = w
        .post(
            &inc("close"),
            &w.a_customer_token,
            Some(json!({"reason": "x"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w.post(&inc("reopen"), &w.a_token, None).await;
    assert_eq!(r.json["incident"]["status"], "open", "{}", r.text);

    // Every action, in order, by the token, in the tenant's audit log; a customer
    // may read the log.
    let log = w
        .get(&tenant_path(w.a, "audit?limit=20"), &w.a_customer_token)
        .await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.text);
    let entries = log.json["entries"].as_array().cloned().unwrap_or_default();
    let ours: Vec<(&str, &str)> = entries
        .iter()
        .filter(|e| e["actor"]["kind"] == "token")
        .map(|e| {
            (
                e["action"].as_str().unwrap_or(""),
                e["object"].as_str().unwrap_or(""),
            )
        })
        .rev()
        .collect();
    let (a, i) = (format!("alert:{aid}"), format!("incident:{iid}"));
    assert_eq!(
        ours,
        vec![
            ("alert.acknowledge", a.as_str()),
            ("alert.assign", a.as_str()),
            ("alert.close", a.as_str()),
            ("alert.reopen", a.as_str()),
            ("incident.assign", i.as_str()),
            ("incident.close", i.as_str()),
            ("incident.reopen", i.as_str()),
        ],
        "{entries:#?}"
    );
    let close = entries
        .iter()
        .find(|e| e["action"] == "alert.close")
        .expect("close");
    assert!(
        close["detail"]
            .as_str()
            .is_some_and(|d| d.contains("test of the macro filter")),
        "{close}"
    );

    // Closed, then the attack goes on: the pipeline reopens it, as the system.
    let r = w
        .post(&act("close"), &w.a_token, Some(json!({"reason": "benign"})))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T11:00:00Z", "WS01", r"CORP\bob")],
    )
    .await;
    w.settle().await;
    let one = w.read(w.a, &format!("alerts/{aid}")).await;
    assert_eq!(
        (
            one["alert"]["status"].as_str(),
            one["alert"]["count"].as_u64()
        ),
        (Some("open"), Some(2))
    );
    let log = w.read(w.a, "audit?limit=1").await;
    let last = &log["entries"][0];
    assert_eq!(
        (last["action"].as_str(), last["actor"]["kind"].as_str()),
        (Some("alert.reopen"), Some("system"))
    );
    assert_eq!(last["source"], "pipeline");
}

// ---- suppressions ----

#[tokio::test]
async fn suppressing_an_alert_holds_back_its_repeats_until_deleted() {
    let w = live_world();
    let attack = |time: &str| office_attack(time, "WS01", r"CORP\bob");
    w.ingest_json(w.a, &[attack("2026-03-02T09:14:41Z")]).await;
    w.settle().await;
    let aid = w.live_alerts(w.a).await[0]["id"].as_u64().expect("id");
    let path = tenant_path(w.a, &format!("alerts/{aid}/suppress"));
    let r = w
        .post(&path, &w.a_customer_token, Some(json!({"reason": "mine"})))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .post(
            &path,
            &w.a_token,
            Some(json!({"reason": "macro test lab", "expires_in_hours": -1})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = w
        .post(&path, &w.a_token, Some(json!({"reason": "macro test lab"})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let sid = r.json["suppression"]["id"]
        .as_i64()
        .expect("suppression id");
    let expr = r.json["suppression"]["expr"].as_str().unwrap_or("");
    assert!(expr.contains(OFFICE_ID) && expr.contains("ws01"), "{expr}");
    assert_eq!(r.json["suppression"]["from_alert"].as_u64(), Some(aid));

    // Two repeats: held back, counted on the suppression, the alert unchanged.
    w.ingest_json(
        w.a,
        &[
            attack("2026-03-02T09:30:00Z"),
            attack("2026-03-02T09:31:00Z"),
        ],
    )
    .await;
    // The same rule on another host is not held back.
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T09:32:00Z", "WS02", r"CORP\bob")],
    )
    .await;
    w.settle().await;
    let alerts = w.live_alerts(w.a).await;
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    assert_eq!(
        (alerts[0]["id"].as_u64(), alerts[0]["count"].as_u64()),
        (Some(aid), Some(1))
    );
    assert_eq!(alerts[1]["host"], "ws02");
    let list = w.read(w.a, "suppressions").await;
    let ours = list["suppressions"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"].as_i64() == Some(sid)).cloned())
        .expect("listed");
    assert_eq!(ours["hits"], 2, "{ours}");
    assert_eq!(ours["active"], true);
    assert_eq!(
        metric(&w.metrics().await, "watchfloor_pipeline_suppressed_total"),
        Some(2)
    );
    let audit = w.read(w.a, "audit?limit=1").await;
    assert_eq!(audit["entries"][0]["action"], "suppression.create");

    // Deleted: the detections come back on the same alert.
    let del = tenant_path(w.a, &format!("suppressions/{sid}"));
    let r = call(
        &w.router,
        request(Method::DELETE, &del, Some(&w.a_token), None),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(r.json["suppression"]["deleted_at"].is_string());
    w.ingest_json(w.a, &[attack("2026-03-02T09:40:00Z")]).await;
    w.settle().await;
    let alerts = w.live_alerts(w.a).await;
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    assert_eq!(alerts[0]["count"], 2);
    let list = w.read(w.a, "suppressions").await;
    let ours = list["suppressions"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["id"].as_i64() == Some(sid)).cloned())
        .expect("still listed");
    assert_eq!(
        (ours["hits"].as_u64(), ours["active"].as_bool()),
        (Some(2), Some(false))
    );
    let audit = w.read(w.a, "audit?limit=1").await;
    assert_eq!(audit["entries"][0]["action"], "suppression.delete");
    let r = call(
        &w.router,
        request(
            Method::DELETE,
            &tenant_path(w.a, "suppressions/999"),
            Some(&w.a_token),
            None,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn suppressions_written_as_expressions_are_checked_and_applied() {
    let w = live_world();
    // Tenant A's pipeline runs already when the suppression comes.
    w.ingest_json(
        w.a,
        &[benign(
            "2026-03-02T09:00:00Z",
            "WS03",
            r"CORP\bob",
            "notepad.exe",
        )],
    )
    .await;
    w.settle().await;
    let path = tenant_path(w.a, "suppressions");
    let bad = [
        ("host ws03", "operator"),
        ("host = 'ws03", "quote"),
        ("   ", "empty"),
        ("src_ip in 10.0.0.0/99 and host = ws03", "network"),
        ("host = ws03 and = x", "condition 2"),
    ];
    for (expr, problem) in bad {
        let r = w
            .post(
                &path,
                &w.a_token,
                Some(json!({"expr": expr, "reason": "lab"})),
            )
            .await;
        assert_eq!(
            (r.status, r.error_code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            "{expr}: {}",
            r.text
        );
        let message = r.json["error"]["message"].as_str().unwrap_or("");
        assert!(
            message.contains("expr") && message.to_lowercase().contains(problem),
            "{expr}: the message names the problem: {message}"
        );
        assert!(
            !message.contains("ws03"),
            "the text is not repeated: {message}"
        );
    }
    let r = w
        .post(
            &path,
            &w.a_token,
            Some(json!({"expr": "host = ws03 and user ~ 'CORP\\*'", "reason": "lab"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let sid = r.json["suppression"]["id"].as_i64().expect("id");
    assert!(r.json["suppression"]["from_alert"].is_null());
    w.ingest_json(
        w.a,
        &[
            office_attack("2026-03-02T09:14:41Z", "WS03", r"CORP\bob"),
            office_attack("2026-03-02T09:15:00Z", "WS04", r"CORP\bob"),
        ],
    )
    .await;
    // Tenant B's detections are not A's suppression's business.
    w.ingest_json(
        w.b,
        &[office_attack("2026-03-02T09:14:41Z", "WS03", r"CORP\bob")],
    )
    .await;
    w.settle().await;
    let alerts = w.live_alerts(w.a).await;
    assert_eq!(strings(&alerts, "host"), ["ws04"], "{alerts:#?}");
    assert_eq!(strings(&w.live_alerts(w.b).await, "host"), ["ws03"]);
    let list = w.read(w.a, "suppressions").await;
    let hits: Vec<(i64, u64)> = list["suppressions"]
        .as_array()
        .map(|s| {
            s.iter()
                .filter_map(|s| Some((s["id"].as_i64()?, s["hits"].as_u64()?)))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(hits, vec![(sid, 1)]);
    assert_eq!(w.read(w.b, "suppressions").await["suppressions"], json!([]));
}

// ---- rules ----

#[tokio::test]
async fn rules_are_listed_and_switched_per_tenant() {
    let w = live_world();
    let rules = w.read(w.a, "rules").await;
    let listed: Vec<(&str, bool)> = rules["rules"]
        .as_array()
        .map(|r| {
            r.iter()
                .filter_map(|r| Some((r["id"].as_str()?, r["enabled"].as_bool()?)))
                .collect()
        })
        .unwrap_or_default();
    assert!(listed.contains(&(OFFICE_ID, true)), "{rules:#}");
    assert!(listed.contains(&(SQLI_ID, true)), "{rules:#}");
    assert_eq!(listed.len(), 3, "the SSH building block too: {rules:#}");
    let office = rules["rules"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["id"] == OFFICE_ID))
        .expect("office");
    assert_eq!(
        (office["title"].as_str(), office["level"].as_str()),
        (Some(OFFICE_TITLE), Some("high"))
    );
    assert_eq!(rules["correlations"][0]["id"], SSH_ID);

    let switch = |tenant: TenantId, rule: &str, on: bool| {
        tenant_path(
            tenant,
            &format!("rules/{rule}/{}", if on { "enable" } else { "disable" }),
        )
    };
    let r = w
        .post(&switch(w.a, OFFICE_ID, false), &w.a_customer_token, None)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = w
        .post(&switch(w.a, "no-such-rule", false), &w.a_token, None)
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let r = w
        .post(&switch(w.a, OFFICE_ID, false), &w.a_token, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.json,
        json!({"rule": OFFICE_ID, "enabled": false, "changed": true})
    );
    let r = w
        .post(&switch(w.a, OFFICE_ID, false), &w.a_token, None)
        .await;
    assert_eq!(r.json["changed"], false);
    let enabled = |rules: &Value| {
        rules["rules"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["id"] == OFFICE_ID))
            .and_then(|r| r["enabled"].as_bool())
    };
    assert_eq!(enabled(&w.read(w.a, "rules").await), Some(false));
    assert_eq!(enabled(&w.read(w.b, "rules").await), Some(true));

    let attack = office_attack("2026-03-02T09:14:41Z", "WS01", r"CORP\bob");
    w.ingest_json(w.a, std::slice::from_ref(&attack)).await;
    w.ingest_json(w.b, std::slice::from_ref(&attack)).await;
    w.settle().await;
    assert!(w.live_alerts(w.a).await.is_empty(), "disabled in A");
    assert_eq!(w.live_alerts(w.b).await.len(), 1, "still on in B");
    assert_eq!(
        metric(&w.metrics().await, "watchfloor_pipeline_disabled_total"),
        Some(1)
    );

    let r = w
        .post(&switch(w.a, OFFICE_ID, true), &w.a_token, None)
        .await;
    assert_eq!(r.json["changed"], true, "{}", r.text);
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T09:20:00Z", "WS01", r"CORP\bob")],
    )
    .await;
    w.settle().await;
    assert_eq!(w.live_alerts(w.a).await.len(), 1, "on again in A");
    let log = w.read(w.a, "audit?limit=2").await;
    let actions: Vec<&str> = log["entries"]
        .as_array()
        .map(|e| e.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(actions, ["rule.enable", "rule.disable"]);
    assert_eq!(log["entries"][0]["object"], format!("rule:{OFFICE_ID}"));
}

// ---- event search ----

#[tokio::test]
async fn event_search_finds_records_by_time_host_words_and_fields() {
    let w = live_world();
    w.ingest_json(
        w.a,
        &[
            benign(
                "2026-03-02T09:00:00Z",
                "WS01",
                r"CORP\bob",
                "notepad.exe budget.xlsx",
            ),
            connection("2026-03-02T09:01:00Z", "WS01", "198.51.100.7"),
            benign(
                "2026-03-02T09:02:00Z",
                "WS02",
                r"CORP\eve",
                "notepad.exe budget.docx",
            ),
            connection("2026-03-02T09:03:00Z", "WS02", "198.51.100.8"),
            benign(
                "2026-03-02T09:04:00Z",
                "WS01",
                r"CORP\bob",
                "notepad.exe notes.txt",
            ),
        ],
    )
    .await;
    w.ingest_lines(w.a, "syslog", &[ssh_failure(5)]).await;
    w.ingest_json(
        w.b,
        &[
            benign(
                "2026-03-02T09:00:30Z",
                "WS01",
                r"CORP\bob",
                &format!("notepad.exe {B_MARK}.txt"),
            ),
            connection("2026-03-02T09:01:30Z", "WS01", "198.51.100.7"),
        ],
    )
    .await;
    w.settle().await;
    let search = |q: &str| {
        let path = format!("events?{q}");
        let w = &w;
        async move { w.read(w.a, &path).await }
    };
    let lines = |page: &Value| -> Vec<String> {
        items(page)
            .iter()
            .map(|e| e["line"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let times = |page: &Value| -> Vec<String> {
        items(page)
            .iter()
            .map(|e| e["event_time"].as_str().unwrap_or("").to_owned())
            .collect()
    };

    let all = search("").await;
    assert_eq!(items(&all).len(), 6);
    assert!(
        items(&all)
            .iter()
            .all(|e| e["tenant"].as_u64() == Some(u64::from(w.a.0)) && e["processed"] == true)
    );
    assert!(!all.to_string().contains(B_MARK));
    let ranged = search("since=2026-03-02T09:01:00Z&until=2026-03-02T09:04:00Z&order=asc").await;
    assert_eq!(
        times(&ranged),
        [
            "2026-03-02T09:01:00Z",
            "2026-03-02T09:02:00Z",
            "2026-03-02T09:03:00Z"
        ]
    );
    let ws01 = search("host=ws01").await;
    assert_eq!(items(&ws01).len(), 3);
    assert!(items(&ws01).iter().all(|e| e["host"] == "ws01"));
    let ssh = search("host=web01").await;
    assert_eq!(items(&ssh).len(), 1);
    assert_eq!(items(&ssh)[0]["event_time"], "2026-03-02T08:02:05Z");
    let words = search("q=NOTEPAD%20budget").await;
    assert_eq!(items(&words).len(), 2, "{words:#}");
    let words = search("q=budget%20bob").await;
    assert_eq!(lines(&words).len(), 1);
    assert!(lines(&words)[0].contains("budget.xlsx"));

    let network = search("field=EventID&value=3").await;
    assert_eq!(items(&network).len(), 2, "{network:#}");
    assert!(lines(&network).iter().all(|l| l.contains("DestinationIp")));
    let by_ip = search("field=DestinationIp&value=198.51.100.8").await;
    assert_eq!(items(&by_ip).len(), 1);
    let starts = search("field=EventID&value=1&host=ws01").await;
    assert_eq!(items(&starts).len(), 2);
    let program = search("field=program&value=SSHD").await;
    assert_eq!(items(&program).len(), 1, "{program:#}");
    // Values that JSON escapes are found too.
    let bob = search("field=User&value=corp%5Cbob").await;
    assert_eq!(items(&bob).len(), 2, "{bob:#}");
    let notepad = search("field=Image&value=C:%5CWindows%5CSystem32%5Cnotepad.exe").await;
    assert_eq!(items(&notepad).len(), 3, "{notepad:#}");
    let nothing = search("field=EventID&value=4688").await;
    assert!(items(&nothing).is_empty());

    // Pages, newest first by default; a field filter pages the same way.
    let first = search("limit=2").await;
    assert_eq!(first["has_more"], true);
    let second = search("limit=2&offset=2").await;
    let third = search("limit=2&offset=4").await;
    assert_eq!(third["has_more"], false);
    let paged: Vec<String> = [first, second, third].iter().flat_map(&times).collect();
    let mut sorted = paged.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(paged, sorted);
    assert_eq!(paged.len(), 6);
    let f1 = search("field=EventID&value=1&limit=2&order=asc").await;
    let f2 = search("field=EventID&value=1&limit=2&offset=2&order=asc").await;
    assert_eq!(
        (times(&f1), f1["has_more"].as_bool()),
        (
            vec![
                "2026-03-02T09:00:00Z".to_owned(),
                "2026-03-02T09:02:00Z".to_owned()
            ],
            Some(true)
        )
    );
    assert_eq!(
        (times(&f2), f2["has_more"].as_bool()),
        (vec!["2026-03-02T09:04:00Z".to_owned()], Some(false))
    );

    // A record without a time of its own is dated when it was received (not when
    // the pipeline's decoder was made, at the first syslog batch).
    w.ingest_lines(
        w.a,
        "syslog",
        &["<38>undated restart of the backup agent".to_owned()],
    )
    .await;
    w.settle().await;
    let undated = search("q=undated").await;
    let undated = &items(&undated)[0];
    assert_eq!(undated["event_time"], undated["received_at"], "{undated}");
    // Another tenant's events never show.
    let marked = search(&format!("q={B_MARK}")).await;
    assert!(items(&marked).is_empty());
    let b_hosts = search("field=DestinationIp&value=198.51.100.7").await;
    assert_eq!(items(&b_hosts).len(), 1, "only A's own connection");
    assert!(!b_hosts.to_string().contains(B_MARK));
    for bad in [
        "field=EventID",
        "value=1",
        "limit=0",
        "order=sideways",
        "until=soon",
    ] {
        let r = w
            .get(&tenant_path(w.a, &format!("events?{bad}")), &w.a_token)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.text
        );
    }
}

// ---- server-sent events ----

#[tokio::test]
async fn the_incident_stream_announces_the_tenants_new_incidents() {
    let w = live_world();
    let r = w
        .get(&tenant_path(w.b, "incidents/stream"), &w.a_token)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let req = request(
        Method::GET,
        &tenant_path(w.a, "incidents/stream"),
        Some(&w.a_customer_token),
        None,
    );
    let response = w.router.clone().oneshot(req).await.expect("infallible");
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers().get(header::CONTENT_TYPE).cloned();
    assert_eq!(
        content_type.as_ref().and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut body = response.into_body();

    // B's attack first: its announcement must not reach A's stream.
    w.ingest_json(
        w.b,
        &[office_attack(
            "2026-03-02T09:14:41Z",
            &format!("{B_MARK}-ws"),
            r"CORP\bob",
        )],
    )
    .await;
    w.settle().await;
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T09:14:41Z", "WS01", r"CORP\bob")],
    )
    .await;

    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let event = loop {
        if let Some(end) = text.find("\n\n") {
            let event: String = text.drain(..end + 2).collect();
            if event.contains("event: incident") {
                break event;
            }
            continue;
        }
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .expect("an incident event in time")
            .expect("the stream goes on")
            .expect("a frame");
        if let Ok(data) = frame.into_data() {
            text.push_str(&String::from_utf8_lossy(&data));
        }
    };
    assert!(!event.contains(B_MARK), "{event}");
    let data = event
        .lines()
        .find_map(|l| l.strip_prefix("data:"))
        .expect("data");
    let notice: Value = serde_json::from_str(data.trim()).expect("JSON data");
    assert_eq!(
        notice["tenant"].as_u64(),
        Some(u64::from(w.a.0)),
        "{notice}"
    );
    assert_eq!(notice["change"], "opened");
    assert_eq!(notice["severity"], "high");
    assert_eq!(notice["hosts"], json!(["ws01"]));
    w.settle().await;
    let incidents = w.read(w.a, "incidents?min_severity=high").await;
    assert_eq!(
        notice["id"],
        items(&incidents)[0]["id"],
        "the announced id is the stored one"
    );
}

// ---- metrics ----

#[tokio::test]
async fn metrics_count_what_went_through_the_pipeline() {
    let w = live_world();
    w.ingest_json(
        w.a,
        &[
            office_attack("2026-03-02T09:14:41Z", "WS01", r"CORP\bob"),
            benign("2026-03-02T09:10:00Z", "WS01", r"CORP\bob", "notepad.exe"),
            "[1, 2, 3]".to_owned(),
        ],
    )
    .await;
    w.ingest_lines(
        w.a,
        "syslog",
        &[ssh_failure(1), ssh_failure(2), ssh_failure(3)],
    )
    .await;
    w.ingest_json(
        w.b,
        &[office_attack("2026-03-02T09:14:41Z", "WS01", r"CORP\bob")],
    )
    .await;
    w.settle().await;
    let text = w.metrics().await;
    let get = |name: &str| metric(&text, name).unwrap_or_else(|| panic!("{name} in\n{text}"));
    assert_eq!(get("watchfloor_ingest_records_total"), 7);
    assert_eq!(get("watchfloor_ingest_batches_total"), 3);
    assert_eq!(get("watchfloor_pipeline_records_total"), 7);
    assert_eq!(get("watchfloor_pipeline_events_total"), 6);
    assert_eq!(get("watchfloor_pipeline_decode_errors_total"), 1);
    assert_eq!(
        get("watchfloor_pipeline_detections_total"),
        3,
        "two Office detections and the correlation"
    );
    assert_eq!(get("watchfloor_pipeline_suppressed_total"), 0);
    assert_eq!(get("watchfloor_pipeline_disabled_total"), 0);
    assert_eq!(get("watchfloor_pipeline_evicted_total"), 0);
    assert_eq!(
        get("watchfloor_pipeline_alerts_changed_total"),
        3,
        "each alert written once"
    );
    assert!(get("watchfloor_pipeline_incidents_changed_total") >= 3);
    assert_eq!(get("watchfloor_pipeline_errors_total"), 0);
    assert_eq!(get("watchfloor_pipeline_backlog"), 0);
    assert!((1..=3).contains(&get("watchfloor_pipeline_batches_total")));
    assert!(text.contains("# TYPE watchfloor_pipeline_records_total counter"));
    assert!(text.contains("# TYPE watchfloor_pipeline_backlog gauge"));
    assert!(!text.contains("Acme") && !text.contains(B_MARK) && !text.contains("ws01"));
    let stored =
        w.store.count_records(w.a).expect("count") + w.store.count_records(w.b).expect("count");
    assert_eq!(stored, 7);
    let bad = w.search_errors().await;
    assert_eq!(bad, 1);
}

impl LiveWorld {
    /// How many of A's records the pipeline could not decode, as search shows.
    async fn search_errors(&self) -> usize {
        let page = self.read(self.a, "events?limit=100").await;
        items(&page)
            .iter()
            .filter(|e| e["decode_error"].is_string())
            .count()
    }
}

// ---- POST /ingest ----

#[tokio::test]
async fn token_ingest_goes_to_the_tokens_own_tenant() {
    let w = live_world();
    let attack = office_attack("2026-03-02T09:14:41Z", "WS01", r"CORP\bob");
    let r = w
        .ingest_to(
            "/api/v1/ingest",
            &w.b_token,
            "application/x-ndjson",
            attack.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    w.settle().await;
    assert!(w.live_alerts(w.a).await.is_empty());
    assert_eq!(w.live_alerts(w.b).await.len(), 1);

    let lines = [ssh_failure(1), ssh_failure(2), ssh_failure(3)].join("\n");
    let r = w
        .ingest_to(
            "/api/v1/ingest?format=syslog",
            &w.a_token,
            "text/plain",
            lines.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    w.settle().await;
    let a_alerts = w.live_alerts(w.a).await;
    assert_eq!(strings(&a_alerts, "title"), [SSH_TITLE]);
    assert_eq!(w.live_alerts(w.b).await.len(), 1);

    let session = w.login("ana").await;
    let r = w
        .ingest_to(
            "/api/v1/ingest",
            &session,
            "application/x-ndjson",
            attack.clone(),
        )
        .await;
    assert_eq!(
        (r.status, r.error_code()),
        (StatusCode::BAD_REQUEST, "bad_request")
    );
    let r = w
        .ingest_to(
            "/api/v1/ingest",
            &w.a_customer_token,
            "application/x-ndjson",
            attack.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = w
        .ingest_to("/api/v1/ingest", "wf_0000", "application/x-ndjson", attack)
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(w.store.count_records(w.a).expect("count"), 3);
    assert_eq!(w.store.count_records(w.b).expect("count"), 1);
}

// ---- tenant isolation of pipeline results ----

#[tokio::test]
async fn pipeline_results_stay_in_their_tenant() {
    let w = live_world();
    let b_host = format!("{B_MARK}-ws");
    w.ingest_json(
        w.b,
        &[
            office_attack("2026-03-02T09:14:41Z", &b_host, r"GLOBEX\carl"),
            office_attack(
                "2026-03-02T09:15:41Z",
                &format!("{B_MARK}-db"),
                r"GLOBEX\carl",
            ),
            office_attack(
                "2026-03-02T09:16:41Z",
                &format!("{B_MARK}-fs"),
                r"GLOBEX\carl",
            ),
        ],
    )
    .await;
    w.ingest_lines(w.b, "access", &[format!("{} {B_MARK}", sqli_request())])
        .await;
    w.ingest_json(
        w.a,
        &[office_attack("2026-03-02T09:14:41Z", "WS01", r"CORP\bob")],
    )
    .await;
    w.settle().await;
    let b_alerts = w.live_alerts(w.b).await;
    // Three office attacks, the SQL injection rule, and the web attack analysis's
    // SQL injection and scanner.
    assert_eq!(b_alerts.len(), 6);
    let b_incidents = items(&w.read(w.b, "incidents").await);
    assert!(!b_incidents.is_empty());

    let session = w.login("ana").await;
    let customer = w.login("cus").await;
    for who in [&w.a_token, &w.a_customer_token, &session, &customer] {
        for rest in [
            "alerts?limit=500",
            "incidents?limit=500",
            "events?limit=1000",
            &format!("events?q={B_MARK}"),
            "events?field=User&value=GLOBEX%5Ccarl",
            "suppressions",
            "rules",
            "audit",
        ] {
            let r = w.get(&tenant_path(w.a, rest), who).await;
            assert_eq!(r.status, StatusCode::OK, "{rest}: {}", r.text);
            assert!(
                !r.text.contains(B_MARK) && !r.text.contains("GLOBEX"),
                "{rest}: {}",
                r.text
            );
            let r = w.get(&tenant_path(w.b, rest), who).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{rest}: {}", r.text);
            assert!(!r.text.contains(B_MARK));
        }
        // B's ids under A's tenant are A's objects or nothing.
        for a in &b_alerts {
            let id = a["id"].as_u64().expect("id");
            let r = w.get(&tenant_path(w.a, &format!("alerts/{id}")), who).await;
            assert!(
                matches!(r.status, StatusCode::OK | StatusCode::NOT_FOUND),
                "{}",
                r.text
            );
            assert!(!r.text.contains(B_MARK), "{}", r.text);
            let r = w.get(&tenant_path(w.b, &format!("alerts/{id}")), who).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN);
        }
        for i in &b_incidents {
            let id = i["id"].as_u64().expect("id");
            let r = w
                .get(&tenant_path(w.a, &format!("incidents/{id}")), who)
                .await;
            assert!(!r.text.contains(B_MARK), "{}", r.text);
        }
    }
    // A's analyst cannot act on B's alerts through A's path either.
    for a in &b_alerts {
        let id = a["id"].as_u64().expect("id");
        let path = tenant_path(w.a, &format!("alerts/{id}/suppress"));
        let r = w
            .post(&path, &w.a_token, Some(json!({"reason": "x"})))
            .await;
        if r.status == StatusCode::OK {
            assert!(!r.text.contains(B_MARK), "{}", r.text);
        } else {
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
        }
    }
    assert_eq!(w.live_alerts(w.b).await.len(), 6, "B's alerts untouched");
}
