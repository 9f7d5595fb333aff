//! Acknowledged means on disk: the real `watchfloor serve` is killed (SIGKILL) while
//! HTTP batches and a TCP syslog stream pour in, restarted on the same data folder,
//! and the store must hold every record of every batch answered 202 exactly once,
//! unanswered batches whole or not at all, and syslog lines whole and at most once
//! (all of them for a connection the server closed after the sender finished); the
//! restarted pipeline must then process everything.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use watchfloor_store::{EventQuery, Origin, Store, TenantId, Timestamp};

/// Records per HTTP batch.
const BATCH: u64 = 25;
/// Records of the batch sent just before the kill.
const BURST: u64 = 20_000;
/// Concurrent HTTP senders.
const HTTP_SENDERS: u64 = 2;
/// Syslog lines per write.
const SYSLOG_CHUNK: u64 = 20;
/// How long data pours into each server before it is killed (the first) or the
/// senders stop (the second).
const STREAM_FOR: Duration = Duration::from_millis(1500);
/// Sequence numbers of syslog lines start here; HTTP records count from 0.
const SYSLOG_SEQ: u64 = 1_000_000_000;

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn admin(data: &Path, args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
        .arg("admin")
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run watchfloor admin");
    assert!(
        out.status.success(),
        "admin {args:?}: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// A `watchfloor serve` child process.
struct Server {
    child: Child,
    http: SocketAddr,
    syslog: SocketAddr,
    log: PathBuf,
}

impl Server {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address")
}

/// Starts `serve` on `ports` (or, when binding fails, on other free ports) and waits
/// until `/api/v1/health` answers.
fn start(
    dir: &Path,
    data: &Path,
    tenant: TenantId,
    ports: Option<(SocketAddr, SocketAddr)>,
) -> Server {
    let mut ports = ports;
    for attempt in 0..5 {
        let (http, syslog) = ports.take().unwrap_or_else(|| (free_port(), free_port()));
        let log = dir.join(format!("serve-{}-{attempt}.log", http.port()));
        let child = Command::new(env!("CARGO_BIN_EXE_watchfloor"))
            .arg("serve")
            .arg("--data")
            .arg(data)
            .arg("--listen")
            .arg(http.to_string())
            .arg("--syslog")
            .arg(format!("tcp://{syslog}={}", tenant.0))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("run watchfloor serve");
        let mut server = Server {
            child,
            http,
            syslog,
            log,
        };
        let started = Instant::now();
        loop {
            if let Some(status) = server.child.try_wait().expect("child status") {
                let log = server.log();
                assert!(
                    log.contains("in use"),
                    "serve exited ({status}) before it answered:\n{log}"
                );
                break;
            }
            // Health from this child, not from whoever else may hold the port.
            let ours = server.log().contains(&format!("serving http://{http}/"));
            if ours && get(http, "/api/v1/health").is_ok_and(|(status, _)| status == 200) {
                return server;
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "serve did not answer within 15 s:\n{}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    panic!("serve could not bind its ports in 5 attempts");
}

/// One HTTP/1.1 exchange on a new connection: the status and the body.
fn exchange(addr: SocketAddr, request: &[u8]) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request)?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer)?;
    let answer = text(&answer);
    let status = answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP answer: {answer:?}")))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    exchange(addr, request.as_bytes())
}

fn http_record(seq: u64) -> String {
    format!("{{\"seq\": {seq}, \"message\": \"durability record {seq}\"}}")
}

fn syslog_line(seq: u64) -> String {
    format!("<13>Mar  1 12:00:00 host01 durability: syslog record seq={seq} end")
}

/// An HTTP batch and whether the server answered it 202.
#[derive(Debug, Clone)]
struct Sent {
    seqs: std::ops::Range<u64>,
    acknowledged: bool,
}

/// Where the senders send now, and when to stop.
struct Shared {
    target: Mutex<(SocketAddr, SocketAddr)>,
    stop: AtomicBool,
    next_seq: AtomicU64,
    token: String,
}

impl Shared {
    fn http(&self) -> SocketAddr {
        self.target.lock().expect("target").0
    }

    fn syslog(&self) -> SocketAddr {
        self.target.lock().expect("target").1
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Sends one batch of `size` new records; whether it was answered 202.
fn send_batch(shared: &Shared, size: u64) -> Sent {
    let first = shared.next_seq.fetch_add(size, Ordering::SeqCst);
    let seqs = first..first + size;
    let body: String = seqs.clone().map(|s| http_record(s) + "\n").collect();
    let request = format!(
        "POST /api/v1/ingest HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/x-ndjson\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        shared.token,
        body.len()
    );
    let acknowledged = match exchange(shared.http(), request.as_bytes()) {
        Ok((202, body)) => {
            assert!(body.contains(&format!("\"accepted\":{size}")), "{body}");
            true
        }
        Ok((status, body)) => panic!("batch {seqs:?} answered {status}: {body}"),
        Err(_) => false,
    };
    Sent { seqs, acknowledged }
}

/// Sends batches until told to stop, never sending a record twice.
fn http_sender(shared: &Shared) -> Vec<Sent> {
    let mut sent = Vec::new();
    while !shared.stopped() {
        let batch = send_batch(shared, BATCH);
        if !batch.acknowledged {
            // The server is down: try again shortly, with new records.
            std::thread::sleep(Duration::from_millis(10));
        }
        sent.push(batch);
    }
    sent
}

/// What the syslog sender wrote.
#[derive(Debug, Default)]
struct SyslogSent {
    /// Every sequence number written (or tried) on any connection.
    written: Vec<u64>,
    /// Those of the last connection, which the server closed after the sender closed
    /// its side: the server has read and stored all of them.
    confirmed: Vec<u64>,
}

/// Writes newline-framed lines until told to stop, reconnecting when the server goes
/// away; then closes its side and waits for the server to close the connection.
fn syslog_sender(shared: &Shared) -> SyslogSent {
    let mut out = SyslogSent::default();
    let mut next = SYSLOG_SEQ;
    let mut connection: Option<(TcpStream, Vec<u64>)> = None;
    while !shared.stopped() {
        let Some((stream, on_this)) = connection.as_mut() else {
            match TcpStream::connect_timeout(&shared.syslog(), Duration::from_secs(1)) {
                Ok(stream) => {
                    stream
                        .set_write_timeout(Some(Duration::from_secs(5)))
                        .expect("timeout");
                    connection = Some((stream, Vec::new()));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(10)),
            }
            continue;
        };
        let seqs: Vec<u64> = (next..next + SYSLOG_CHUNK).collect();
        next += SYSLOG_CHUNK;
        let chunk: String = seqs.iter().map(|&s| syslog_line(s) + "\n").collect();
        out.written.extend(&seqs);
        if stream.write_all(chunk.as_bytes()).is_err() {
            connection = None;
            continue;
        }
        on_this.extend(&seqs);
        std::thread::sleep(Duration::from_millis(5));
    }
    let (mut stream, on_last) = connection.expect("connected at the end");
    stream.shutdown(Shutdown::Write).expect("close our side");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut rest = Vec::new();
    let closed = stream.read_to_end(&mut rest);
    assert!(
        matches!(closed, Ok(0)),
        "the server did not close the syslog connection: {closed:?}"
    );
    out.confirmed = on_last;
    out
}

/// Every stored record of `tenant`, oldest first.
fn all_records(store: &Store, tenant: TenantId) -> Vec<watchfloor_store::StoredEvent> {
    let mut out = Vec::new();
    loop {
        let query = EventQuery {
            newest_first: false,
            limit: 1000,
            offset: u32::try_from(out.len()).expect("offset"),
            ..EventQuery::default()
        };
        let page = store.search_events(tenant, &query).expect("search");
        assert!(!page.scan_capped, "the search hit its bound");
        let more = page.has_more;
        out.extend(page.items);
        if !more {
            return out;
        }
    }
}

fn pending(data: &Path, tenant: TenantId) -> u64 {
    let store = Store::open(data.join("watchfloor.db")).expect("open the store");
    store.pending_count(tenant).expect("pending")
}

#[test]
fn acknowledged_records_survive_a_kill_exactly_once() {
    let dir = std::env::temp_dir().join(format!("watchfloor-durability-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let _cleanup = TempDir(dir.clone());
    let data = dir.join("data");
    let out = admin(&data, &["create-tenant", "durable"]);
    let tenant = text(&out.stdout)
        .split_once("(id ")
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(id, _)| id.parse().ok())
        .map(TenantId)
        .expect("tenant id");
    let out = admin(
        &data,
        &[
            "create-token",
            "--tenant",
            "durable",
            "--role",
            "analyst",
            "--name",
            "shipper",
        ],
    );
    let token = text(&out.stdout).trim().to_owned();
    // The syslog lines carry a fixed, old timestamp ("Mar  1"): keep the tenant's records
    // from the retention job that runs when `serve` starts, which would delete processed
    // records older than the default retention and hide what the first server stored.
    Store::open(data.join("watchfloor.db"))
        .expect("open the store")
        .set_tenant_retention(tenant, 36_500, &Origin::system("test", Timestamp::now()))
        .expect("retention");
    let test_started = Instant::now();

    let first = start(&dir, &data, tenant, None);
    let shared = Arc::new(Shared {
        target: Mutex::new((first.http, first.syslog)),
        stop: AtomicBool::new(false),
        next_seq: AtomicU64::new(0),
        token,
    });
    let http: Vec<_> = (0..HTTP_SENDERS)
        .map(|_| {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || http_sender(&shared))
        })
        .collect();
    let syslog = {
        let shared = Arc::clone(&shared);
        std::thread::spawn(move || syslog_sender(&shared))
    };

    // Mid-stream: SIGKILL, no chance to finish anything.
    std::thread::sleep(STREAM_FOR);
    // A large batch just before the kill, so that the pipeline has work in hand (or
    // waiting) when the process dies.
    let burst = send_batch(&shared, BURST);
    assert!(burst.acknowledged, "the burst was not acknowledged");
    let mut first = first;
    first.child.kill().expect("SIGKILL");
    first.child.wait().expect("reap");
    let killed_at_seq = shared.next_seq.load(Ordering::SeqCst);
    let pending_at_kill = pending(&data, tenant);
    assert!(
        pending_at_kill > 0,
        "the burst was processed before the kill"
    );

    let second = start(&dir, &data, tenant, Some((first.http, first.syslog)));
    *shared.target.lock().expect("target") = (second.http, second.syslog);
    std::thread::sleep(STREAM_FOR);
    shared.stop.store(true, Ordering::SeqCst);
    let sent: Vec<Sent> = http
        .into_iter()
        .flat_map(|h| h.join().expect("http sender"))
        .chain([burst])
        .collect();
    let lines = syslog.join().expect("syslog sender");

    // The restarted pipeline takes everything, what the first left pending included.
    let waited = Instant::now();
    loop {
        let left = pending(&data, tenant);
        if left == 0 {
            break;
        }
        assert!(
            waited.elapsed() < Duration::from_secs(20),
            "{left} records still unprocessed after 20 s:\n{}",
            second.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut second = second;
    let term = Command::new("kill")
        .arg("-TERM")
        .arg(second.child.id().to_string())
        .status()
        .expect("kill -TERM");
    assert!(term.success());
    let stopping = Instant::now();
    let status = loop {
        if let Some(status) = second.child.try_wait().expect("child status") {
            break status;
        }
        assert!(
            stopping.elapsed() < Duration::from_secs(15),
            "serve did not stop on SIGTERM:\n{}",
            second.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "serve: {status}\n{}", second.log());

    // What is stored.
    let store = Store::open(data.join("watchfloor.db")).expect("open the store");
    let records = all_records(&store, tenant);
    assert_eq!(
        records.len() as u64,
        store.count_records(tenant).expect("count")
    );
    let mut http_seen: HashMap<u64, usize> = HashMap::new();
    let mut syslog_seen: HashMap<u64, usize> = HashMap::new();
    for r in &records {
        assert!(r.processed, "record {} unprocessed", r.id);
        let line = text(&r.line);
        match r.format_hint.as_deref() {
            Some("json") => {
                let value: serde_json::Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
                let seq = value["seq"].as_u64().unwrap_or_else(|| panic!("{line}"));
                assert_eq!(line, http_record(seq), "stored as sent");
                *http_seen.entry(seq).or_default() += 1;
            }
            Some("syslog") => {
                let seq = line
                    .split_once("seq=")
                    .and_then(|(_, rest)| rest.split_once(' '))
                    .and_then(|(n, _)| n.parse().ok())
                    .unwrap_or_else(|| panic!("a truncated syslog line: {line:?}"));
                assert_eq!(line, syslog_line(seq), "a truncated or altered syslog line");
                *syslog_seen.entry(seq).or_default() += 1;
            }
            other => panic!("record {} with hint {other:?}: {line:?}", r.id),
        }
    }

    // HTTP: acknowledged batches whole and once; the others whole or not at all.
    let (mut acked, mut unacked, mut unacked_stored) = (0, 0, 0);
    for batch in &sent {
        let counts: Vec<usize> = batch
            .seqs
            .clone()
            .map(|s| http_seen.get(&s).copied().unwrap_or(0))
            .collect();
        assert!(
            counts.iter().all(|&n| n <= 1),
            "batch {:?} stored twice: {counts:?}",
            batch.seqs
        );
        if batch.acknowledged {
            acked += 1;
            assert!(
                counts.iter().all(|&n| n == 1),
                "acknowledged batch {:?} lost records: {counts:?}",
                batch.seqs
            );
        } else {
            unacked += 1;
            let stored = counts.iter().filter(|&&n| n == 1).count();
            assert!(
                stored == 0 || stored == counts.len(),
                "unacknowledged batch {:?} stored in part: {counts:?}",
                batch.seqs
            );
            unacked_stored += usize::from(stored > 0);
        }
    }
    let sent_seqs: std::collections::HashSet<u64> =
        sent.iter().flat_map(|b| b.seqs.clone()).collect();
    assert!(http_seen.keys().all(|s| sent_seqs.contains(s)));
    let acked_before_kill = sent
        .iter()
        .filter(|b| b.acknowledged && b.seqs.end <= killed_at_seq)
        .count();
    assert!(
        acked_before_kill > 0,
        "nothing was acknowledged before the kill"
    );
    assert!(
        acked > acked_before_kill,
        "nothing was acknowledged after the restart"
    );

    // Syslog: at most once, whole; all of the connection the server closed cleanly.
    let written: std::collections::HashSet<u64> = lines.written.iter().copied().collect();
    for (seq, n) in &syslog_seen {
        assert_eq!(*n, 1, "syslog line {seq} stored {n} times");
        assert!(written.contains(seq), "syslog line {seq} was never sent");
    }
    let missing: Vec<u64> = lines
        .confirmed
        .iter()
        .copied()
        .filter(|s| !syslog_seen.contains_key(s))
        .collect();
    assert!(
        missing.is_empty(),
        "{} lines of the cleanly closed connection missing, first {:?}",
        missing.len(),
        missing.first()
    );
    assert!(!lines.confirmed.is_empty());
    assert!(
        syslog_seen.len() > lines.confirmed.len(),
        "no syslog line sent to the first server was stored"
    );

    eprintln!(
        "durability: {acked} batches acknowledged ({acked_before_kill} before the kill), \
         {unacked} refused by the dead server ({unacked_stored} of them stored whole); \
         {} of {} syslog lines stored ({} on the last connection); {pending_at_kill} \
         records pending at the kill; {} records in all; {:.1} s",
        syslog_seen.len(),
        lines.written.len(),
        lines.confirmed.len(),
        records.len(),
        test_started.elapsed().as_secs_f64()
    );
}
