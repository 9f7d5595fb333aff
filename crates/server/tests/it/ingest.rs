//! `POST /tenants/{id}/ingest`: formats, compression, limits and who may send.

use std::io::Write as _;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use flate2::Compression;
use flate2::write::GzEncoder;
use watchfloor_server::{MAX_INFLATED_BYTES, MAX_INGEST_BODY_BYTES};
use watchfloor_store::{MAX_RECORD_BYTES, TenantId};

use crate::support::{Reply, World, call, login, world};

struct Post<'a> {
    content_type: &'a str,
    encoding: Option<&'a str>,
    query: &'a str,
}

const NDJSON: Post<'static> = Post {
    content_type: "application/x-ndjson",
    encoding: None,
    query: "",
};

async fn ingest(
    w: &World,
    tenant: TenantId,
    bearer: &str,
    post: &Post<'_>,
    body: Vec<u8>,
) -> Reply {
    let mut builder = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/tenants/{}/ingest{}", tenant.0, post.query))
        .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
        .header(header::CONTENT_TYPE, post.content_type);
    if let Some(encoding) = post.encoding {
        builder = builder.header(header::CONTENT_ENCODING, encoding);
    }
    call(&w.router, builder.body(Body::from(body)).expect("request")).await
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(data).expect("compress");
    encoder.finish().expect("compress")
}

fn stored(w: &World, tenant: TenantId) -> Vec<(Vec<u8>, Option<String>)> {
    w.store
        .pending_records(tenant, 0, 1000)
        .expect("pending")
        .into_iter()
        .map(|r| (r.line, r.format_hint))
        .collect()
}

fn count(w: &World, tenant: TenantId) -> u64 {
    w.store.count_records(tenant).expect("count")
}

#[tokio::test]
async fn ndjson_is_stored_before_the_202() {
    let w = world();
    let body = b"{\"EventID\": 1}\n\n[1, 2]\r\n\"text\"".to_vec();
    let r = ingest(&w, w.a, &w.a_token.1, &NDJSON, body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.json["accepted"], 3);
    let first = r.json["first_id"].as_i64().expect("first_id");
    assert_eq!(count(&w, w.a), 3);
    let records = w.store.pending_records(w.a, 0, 10).expect("pending");
    assert_eq!(records.first().map(|r| r.id), Some(first));
    assert_eq!(
        stored(&w, w.a),
        vec![
            (b"{\"EventID\": 1}".to_vec(), Some("json".to_owned())),
            (b"[1, 2]".to_vec(), Some("json".to_owned())),
            (b"\"text\"".to_vec(), Some("json".to_owned())),
        ]
    );
    // application/json is read as NDJSON too, and an analyst's session may send.
    let session = login(&w, "ana").await;
    let post = Post {
        content_type: "application/json; charset=utf-8",
        ..NDJSON
    };
    let r = ingest(&w, w.a, &session, &post, b"{\"a\": 1}\n".to_vec()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.json["first_id"].as_i64(), Some(first + 3));
    assert_eq!(count(&w, w.a), 4);
}

#[tokio::test]
async fn raw_lines_keep_their_bytes_and_hint() {
    let w = world();
    let post = Post {
        content_type: "text/plain",
        encoding: None,
        query: "?format=syslog",
    };
    let body = b"<34>Oct 11 22:14:15 host sshd[1]: Failed password\n\xff\xfe not utf-8\n".to_vec();
    let r = ingest(&w, w.a, &w.a_token.1, &post, body).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.json["accepted"], 2);
    let hint = Some("syslog".to_owned());
    assert_eq!(
        stored(&w, w.a),
        vec![
            (
                b"<34>Oct 11 22:14:15 host sshd[1]: Failed password".to_vec(),
                hint.clone()
            ),
            (b"\xff\xfe not utf-8".to_vec(), hint),
        ]
    );
    let plain = Post { query: "", ..post };
    let r = ingest(&w, w.a, &w.a_token.1, &plain, b"no hint\n".to_vec()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(stored(&w, w.a).last().map(|r| r.1.clone()), Some(None));
}

#[tokio::test]
async fn gzip_bodies_are_inflated() {
    let w = world();
    let post = Post {
        encoding: Some("gzip"),
        ..NDJSON
    };
    let text: String = (0..100).map(|i| format!("{{\"n\": {i}}}\n")).collect();
    let r = ingest(&w, w.a, &w.a_token.1, &post, gzip(text.as_bytes())).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.json["accepted"], 100);
    assert_eq!(count(&w, w.a), 100);
    let r = ingest(&w, w.a, &w.a_token.1, &post, b"not gzip".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}

#[tokio::test]
async fn a_bad_json_line_refuses_the_whole_batch() {
    let w = world();
    let body = b"{\"ok\": 1}\n{\"ok\": 2}\n\n{broken\n{\"ok\": 3}\n".to_vec();
    let r = ingest(&w, w.a, &w.a_token.1, &NDJSON, body).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.error_code(), "bad_request");
    assert!(r.text.contains("line 4"), "{}", r.text);
    assert!(!r.text.contains("broken"), "{}", r.text);
    let r = ingest(&w, w.a, &w.a_token.1, &NDJSON, b"\"\xff\"\n".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert!(r.text.contains("line 1"), "{}", r.text);
    assert_eq!(count(&w, w.a), 0);
}

#[tokio::test]
async fn unknown_hints_and_media_types_are_refused() {
    let w = world();
    for query in ["?format=nope", "?format=evtx", "?color=red"] {
        let post = Post {
            content_type: "text/plain",
            encoding: None,
            query,
        };
        let r = ingest(&w, w.a, &w.a_token.1, &post, b"line\n".to_vec()).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.text);
        assert!(!r.text.contains("nope"), "{}", r.text);
    }
    let ndjson_as_zeek = Post {
        query: "?format=zeek",
        ..NDJSON
    };
    let r = ingest(&w, w.a, &w.a_token.1, &ndjson_as_zeek, b"{}\n".to_vec()).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let xml = Post {
        content_type: "application/xml",
        ..NDJSON
    };
    let r = ingest(&w, w.a, &w.a_token.1, &xml, b"<a/>\n".to_vec()).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text);
    let brotli = Post {
        encoding: Some("br"),
        ..NDJSON
    };
    let r = ingest(&w, w.a, &w.a_token.1, &brotli, b"{}\n".to_vec()).await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text);
    assert_eq!(count(&w, w.a), 0);
}

#[tokio::test]
async fn oversized_bodies_lines_and_gzip_bombs_get_413() {
    let w = world();
    let lines = Post {
        content_type: "text/plain",
        encoding: None,
        query: "",
    };
    // A body over the route's limit.
    let mut big = b"x\n".repeat(MAX_INGEST_BODY_BYTES / 2);
    big.push(b'y');
    let r = ingest(&w, w.a, &w.a_token.1, &lines, big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(r.error_code(), "payload_too_large");
    // Over the 1 MiB of other routes is fine here: 2 MiB in 2048 lines.
    let mut line = vec![b'z'; 1023];
    line.push(b'\n');
    let r = ingest(&w, w.a, &w.a_token.1, &lines, line.repeat(2048)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(r.json["accepted"], 2048);
    // One line over 1 MiB.
    let mut long = b"short\n".to_vec();
    long.extend(std::iter::repeat_n(b'l', MAX_RECORD_BYTES + 1));
    let r = ingest(&w, w.a, &w.a_token.1, &lines, long).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert!(r.text.contains("line 2"), "{}", r.text);
    // A gzip bomb: members of 1 MiB of newlines, concatenated past the inflate bound.
    let member = gzip(&vec![b'\n'; 1024 * 1024]);
    let members = MAX_INFLATED_BYTES / (1024 * 1024) + 1;
    let bomb = member.repeat(members);
    assert!(bomb.len() < MAX_INGEST_BODY_BYTES);
    let gz = Post {
        encoding: Some("gzip"),
        ..lines
    };
    let r = ingest(&w, w.a, &w.a_token.1, &gz, bomb).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    // Only the one good batch went in.
    assert_eq!(count(&w, w.a), 2048);
}

#[tokio::test]
async fn customers_and_other_tenants_cannot_ingest() {
    let w = world();
    let customer_session = login(&w, "cus").await;
    for credential in [customer_session.as_str(), w.a_customer_token.as_str()] {
        let r = ingest(&w, w.a, credential, &NDJSON, b"{}\n".to_vec()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    }
    let r = ingest(&w, w.b, &w.a_token.1, &NDJSON, b"{}\n".to_vec()).await;
    assert!(
        matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{}",
        r.text
    );
    // B's own token may send to B.
    let r = ingest(&w, w.b, &w.b_token.1, &NDJSON, b"{}\n".to_vec()).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.text);
    assert_eq!(count(&w, w.a), 0);
    assert_eq!(count(&w, w.b), 1);
}
