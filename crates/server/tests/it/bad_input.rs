//! Bad input at ingest: malformed or oversized batches are refused whole and name what
//! is wrong; bytes that are not UTF-8 are kept and reported by the pipeline; a slow or
//! stuck client is timed out (its body with 408, its headers by closing the
//! connection) while other clients are served. The socket cases run the real server
//! (`serve_app`) on a loopback port with short time limits.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use watchfloor_pipeline::live::RuleBook;
use watchfloor_server::live::{Live, LiveConfig};
use watchfloor_server::{AppState, MAX_INGEST_BODY_BYTES, Timeouts};
use watchfloor_store::{EventQuery, MAX_RECORD_BYTES};
use watchfloor_triage::{Triage, TriageConfig};

use crate::support::{Reply, World, call, world};

async fn post(w: &World, content_type: &str, query: &str, body: Body) -> Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/tenants/{}/ingest{query}", w.a.0))
        .header(header::AUTHORIZATION, format!("Bearer {}", w.a_token.1))
        .header(header::CONTENT_TYPE, content_type)
        .body(body)
        .expect("request");
    call(&w.router, request).await
}

fn count(w: &World) -> u64 {
    w.store.count_records(w.a).expect("count")
}

#[tokio::test]
async fn a_malformed_json_line_refuses_the_batch_and_names_the_line() {
    let w = world();
    // Line 3 is cut short, as a sender that died mid-write leaves it.
    let body = "{\"seq\": 1}\n{\"seq\": 2}\n{\"seq\": 3, \"message\": \"cut";
    let r = post(&w, "application/x-ndjson", "", Body::from(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.error_code(), "bad_request");
    assert!(r.text.contains("line 3"), "{}", r.text);
    assert!(!r.text.contains("cut"), "the line was echoed: {}", r.text);
    // Two values on one line are not one record.
    let r = post(&w, "application/x-ndjson", "", Body::from("{} {}\n")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("line 1"), "{}", r.text);
    assert_eq!(count(&w), 0);
}

#[tokio::test]
async fn oversized_bodies_and_lines_get_413() {
    let w = world();
    // Declared over the limit: refused before a byte of the body is read.
    let request = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/tenants/{}/ingest", w.a.0))
        .header(header::AUTHORIZATION, format!("Bearer {}", w.a_token.1))
        .header(header::CONTENT_TYPE, "application/x-ndjson")
        .header(header::CONTENT_LENGTH, MAX_INGEST_BODY_BYTES + 1)
        .body(Body::empty())
        .expect("request");
    let r = call(&w.router, request).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(r.error_code(), "payload_too_large");
    // Streamed without a length, over the limit.
    let chunk = "{}\n".repeat(1024 * 1024 / 3);
    let chunks = (0..=MAX_INGEST_BODY_BYTES / chunk.len())
        .map(|_| Ok::<_, std::io::Error>(chunk.clone()))
        .collect::<Vec<_>>();
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    let r = post(&w, "application/x-ndjson", "", body).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    // One NDJSON line over 1 MiB, valid JSON otherwise: named by its line number.
    let long = format!(
        "{{\"seq\": 1}}\n\n{{\"message\": \"{}\"}}\n",
        "m".repeat(MAX_RECORD_BYTES)
    );
    let r = post(&w, "application/x-ndjson", "", Body::from(long)).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert!(r.text.contains("line 3"), "{}", r.text);
    assert_eq!(count(&w), 0);
}

#[tokio::test]
async fn an_unknown_format_hint_is_refused_naming_the_parameter() {
    let w = world();
    let r = post(&w, "text/plain", "?format=syslogg", Body::from("a line\n")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.error_code(), "bad_request");
    let message = r.json["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.starts_with("format must be one of: ") && message.contains("syslog"),
        "{message}"
    );
    // The submitted value is never echoed.
    assert!(!message.contains("syslogg"), "{message}");
    assert_eq!(count(&w), 0);
}

#[tokio::test]
async fn lines_that_are_not_utf8_are_kept_and_the_pipeline_reports_them() {
    let w = world();
    let bad = b"<13>Mar  1 12:00:00 web01 app: caf\xe9 \xff\xfe end".to_vec();
    let mut body = bad.clone();
    body.extend_from_slice(b"\n<13>Mar  1 12:00:01 web01 app: fine\n");
    let r = post(&w, "text/plain", "?format=syslog", Body::from(body.clone())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let r = post(&w, "text/plain", "", Body::from(body)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    let stored = w.store.pending_records(w.a, 0, 10).expect("pending");
    let lines: Vec<&[u8]> = stored.iter().map(|r| r.line.as_slice()).collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], bad.as_slice(), "kept as sent");
    assert_eq!(lines[2], bad.as_slice(), "kept as sent");

    // The pipeline takes every record, reports the bad bytes, and does not panic.
    let book = Arc::new(RuleBook::from_sources(&[]));
    let config = LiveConfig::new(book, Arc::new(|| Triage::new(TriageConfig::default())));
    let live = Live::start(Arc::clone(&w.store), config).expect("pipeline");
    let waited = Instant::now();
    while w.store.pending_count(w.a).expect("pending") > 0 {
        assert!(
            waited.elapsed() < Duration::from_secs(10),
            "the pipeline did not take the records"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let handle = live.handle();
    live.stop();
    let metrics = handle.metrics();
    assert_eq!(metrics.records.load(Ordering::Relaxed), 4);
    assert!(metrics.decode_errors.load(Ordering::Relaxed) >= 2);
    let query = EventQuery {
        newest_first: false,
        ..EventQuery::default()
    };
    let page = w.store.search_events(w.a, &query).expect("search");
    let by_id = |id: i64| page.items.iter().find(|e| e.id == id).expect("record");
    for record in [&stored[0], &stored[2]] {
        let event = by_id(record.id);
        assert!(event.processed);
        let error = event.decode_error.as_deref().unwrap_or("");
        assert!(error.contains("UTF-8"), "{:?}", event.decode_error);
        assert_eq!(event.line, bad, "still kept as sent");
    }
    assert!(by_id(stored[1].id).processed);
}

// ---------------------------------------------------------------- over a socket

/// The real server over `w`'s store on a loopback port, with short limits.
async fn serve(w: &World, timeouts: Timeouts) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let state = AppState::new(Arc::clone(&w.store)).with_timeouts(timeouts);
    tokio::spawn(watchfloor_server::serve_app(
        listener,
        state,
        std::future::pending(),
    ));
    addr
}

fn ingest_head(w: &World, content_length: usize) -> String {
    format!(
        "POST /api/v1/tenants/{}/ingest HTTP/1.1\r\nHost: test\r\n\
         Authorization: Bearer {}\r\nContent-Type: application/x-ndjson\r\n\
         Content-Length: {content_length}\r\nConnection: close\r\n\r\n",
        w.a.0, w.a_token.1
    )
}

/// What a raw client got: the bytes it read before the server closed (or reset) the
/// connection, and when that was.
struct Raw {
    text: String,
    closed_after: Duration,
}

impl Raw {
    fn status(&self) -> Option<u16> {
        let line = self.text.lines().next()?;
        line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }
}

/// Connects, writes `head`, then each chunk after its pause (stopping once the server
/// answers or the write fails), while reading until the server closes. Gives up after
/// `patience`.
async fn raw_client(
    addr: SocketAddr,
    head: String,
    chunks: Vec<(Duration, Vec<u8>)>,
    patience: Duration,
) -> Raw {
    let started = Instant::now();
    let stream = TcpStream::connect(addr).await.expect("connect");
    let (mut reader, mut writer) = stream.into_split();
    let (answered, mut answered_rx) = tokio::sync::watch::channel(false);
    let write = tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_err() {
            return writer;
        }
        for (pause, bytes) in chunks {
            tokio::select! {
                _ = answered_rx.wait_for(|a| *a) => return writer,
                () = tokio::time::sleep(pause) => {}
            }
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
        // Keep the connection open (half-closing would end the body): wait for the end.
        let _ = answered_rx.wait_for(|a| *a).await;
        writer
    });
    let mut got = Vec::new();
    let mut buf = [0_u8; 4096];
    let read = tokio::time::timeout(patience, async {
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    answered.send_replace(true);
                }
            }
        }
    })
    .await;
    let closed_after = started.elapsed();
    answered.send_replace(true);
    let _ = write.await;
    assert!(
        read.is_ok(),
        "the server kept the connection open for {patience:?}; read: {}",
        String::from_utf8_lossy(&got)
    );
    Raw {
        text: String::from_utf8_lossy(&got).into_owned(),
        closed_after,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_body_times_out_with_408_while_others_are_served() {
    let w = world();
    let timeouts = Timeouts {
        header_read: Duration::from_secs(5),
        ingest_body: Duration::from_millis(1500),
        ingest_body_idle: Duration::from_millis(500),
    };
    let addr = serve(&w, timeouts).await;
    let body = b"{\"seq\": 1, \"message\": \"trickled\"}\n".to_vec();

    // One sends a few bytes and stops; one trickles a byte every 100 ms, never
    // stalling, but never done within the total limit.
    let bytes = |n: usize, pause: u64| {
        body.iter()
            .take(n)
            .map(|&b| (Duration::from_millis(pause), vec![b]))
            .collect::<Vec<_>>()
    };
    let patience = Duration::from_secs(5);
    let stalled = tokio::spawn(raw_client(
        addr,
        ingest_head(&w, body.len()),
        bytes(3, 50),
        patience,
    ));
    let trickled = tokio::spawn(raw_client(
        addr,
        ingest_head(&w, body.len()),
        bytes(body.len() - 1, 100),
        patience,
    ));

    // Meanwhile another client is served at once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let normal = b"{\"seq\": 2, \"message\": \"normal\"}\n".to_vec();
    let asked = Instant::now();
    let served = raw_client(
        addr,
        ingest_head(&w, normal.len()),
        vec![(Duration::ZERO, normal.clone())],
        patience,
    )
    .await;
    assert_eq!(served.status(), Some(202), "{}", served.text);
    assert!(asked.elapsed() < Duration::from_millis(1000));

    let stalled = stalled.await.expect("stalled client");
    assert_eq!(stalled.status(), Some(408), "{}", stalled.text);
    assert!(
        stalled.text.contains("\"request_timeout\"") && stalled.text.contains("stopped arriving"),
        "{}",
        stalled.text
    );
    assert!(
        stalled.closed_after >= Duration::from_millis(600)
            && stalled.closed_after < Duration::from_millis(2500),
        "{:?}",
        stalled.closed_after
    );
    let trickled = trickled.await.expect("trickling client");
    assert_eq!(trickled.status(), Some(408), "{}", trickled.text);
    assert!(trickled.text.contains("too slowly"), "{}", trickled.text);
    assert!(
        trickled.closed_after >= Duration::from_millis(1400)
            && trickled.closed_after < Duration::from_millis(3500),
        "{:?}",
        trickled.closed_after
    );

    // Only the normal client's record is stored, with its address as the source.
    let stored = w.store.pending_records(w.a, 0, 10).expect("pending");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].line, normal.trim_ascii_end());
    assert!(
        stored[0].source.starts_with("127.0.0.1:"),
        "{}",
        stored[0].source
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_dropped() {
    let w = world();
    let timeouts = Timeouts {
        header_read: Duration::from_millis(500),
        ..Timeouts::default()
    };
    let addr = serve(&w, timeouts).await;
    let patience = Duration::from_secs(3);
    let in_time = |raw: &Raw| {
        raw.closed_after >= Duration::from_millis(450)
            && raw.closed_after < Duration::from_millis(1500)
    };

    // A partial request line, then nothing.
    let partial = raw_client(addr, "POST /api/v1/ingest HTT".to_owned(), vec![], patience);
    // Headers trickled a byte every 50 ms, never ending: the limit is on the whole head.
    let head = ingest_head(&w, 2);
    let trickle = head
        .bytes()
        .skip(1)
        .map(|b| (Duration::from_millis(50), vec![b]))
        .collect();
    let trickled = raw_client(addr, head[..1].to_owned(), trickle, patience);
    // Connected, silent.
    let silent = raw_client(addr, String::new(), vec![], patience);
    let (partial, trickled, silent) = tokio::join!(partial, trickled, silent);
    for (what, raw) in [
        ("partial", &partial),
        ("trickled", &trickled),
        ("silent", &silent),
    ] {
        assert!(in_time(raw), "{what}: closed after {:?}", raw.closed_after);
        assert_eq!(raw.text, "", "{what}: no answer is owed");
    }

    // A complete request is answered, and its kept-alive connection closes once it
    // idles past the same limit.
    let health = "GET /api/v1/health HTTP/1.1\r\nHost: test\r\n\r\n".to_owned();
    let raw = raw_client(addr, health, vec![], patience).await;
    assert_eq!(raw.status(), Some(200), "{}", raw.text);
    assert!(
        in_time(&raw),
        "idle keep-alive closed after {:?}",
        raw.closed_after
    );
    assert_eq!(count(&w), 0);
}
