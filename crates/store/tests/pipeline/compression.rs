//! Raw records compressed at rest: what goes in comes back byte for byte — before and
//! after the tenant's dictionary exists, through the pipeline's reads, event search and
//! retro-hunt scans, after a reopen — and takes far less room once compressed.

use watchfloor_store::{COMPRESS_AFTER_RECORDS, EventQuery, Store, TenantId};

use crate::{add_tenant, at, temp_dir};

/// A Sysmon-like record, different in every field that varies in real ones.
fn record(i: u64) -> Vec<u8> {
    format!(
        r#"{{"@timestamp":"2026-03-02T10:{:02}:{:02}.{:03}Z","Hostname":"WS-{:03}.corp.example","Channel":"Microsoft-Windows-Sysmon/Operational","EventID":{},"ProcessGuid":"{{fa672fc8-{:04x}-6744-0000-00100a{:06x}}}","ProcessId":{},"Image":"C:\\Windows\\System32\\{}.exe","CommandLine":"{} /c echo {}","User":"CORP\\user{}"}}"#,
        i / 60 % 60,
        i % 60,
        i * 7 % 1000,
        i % 40,
        [1, 3, 11, 22][(i % 4) as usize],
        i % 65_536,
        i * 2_654_435_761 % 16_777_216,
        1000 + i * 13 % 60_000,
        ["cmd", "svchost", "powershell", "conhost"][(i % 4) as usize],
        ["cmd.exe", "powershell.exe -nop"][(i % 2) as usize],
        i * 31,
        i % 17,
    )
    .into_bytes()
}

fn append_all(store: &Store, tenant: TenantId, lines: &[Vec<u8>]) {
    for (n, chunk) in lines.chunks(700).enumerate() {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        store
            .append_records(tenant, "10.0.0.1:4000", Some("json"), &refs, at(n as i64))
            .expect("append");
    }
}

fn pending_lines(store: &Store, tenant: TenantId) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let batch = store.pending_records(tenant, after, 5000).expect("pending");
        let Some(last) = batch.last() else { break };
        after = last.id;
        out.extend(batch.into_iter().map(|r| r.line));
    }
    out
}

#[test]
fn records_come_back_as_received_and_take_less_room_once_compressed() {
    let dir = temp_dir("compression");
    let path = dir.join("store.db");
    let n = COMPRESS_AFTER_RECORDS * 3;
    let mut lines: Vec<Vec<u8>> = (0..n).map(record).collect();
    // Odd records among them: bytes that are not UTF-8, a long line, a short one.
    lines[10] = vec![0xff, 0xfe, b'x', 0x00, 0x80];
    lines[(n - 5) as usize] = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    lines[(n - 4) as usize] = b"{}".to_vec();
    let (acme, other) = {
        let store = Store::open(&path).expect("store");
        let acme = add_tenant(&store, "acme");
        let other = add_tenant(&store, "other");
        append_all(&store, acme, &lines);
        append_all(&store, other, &lines[..100]);
        assert_eq!(pending_lines(&store, acme), lines);
        let storage = store.record_storage(acme).expect("storage");
        assert_eq!(storage.records, n);
        // Stored as received until the dictionary, compressed after.
        assert!(
            storage.compressed >= n - COMPRESS_AFTER_RECORDS - 700,
            "{storage:?}"
        );
        let received: u64 = lines.iter().map(|l| l.len() as u64).sum();
        let compressed_part: u64 = lines[COMPRESS_AFTER_RECORDS as usize + 700..]
            .iter()
            .map(|l| l.len() as u64)
            .sum();
        assert!(
            storage.stored_bytes < received - compressed_part / 2,
            "{storage:?}: received {received}"
        );
        // A tenant below the threshold keeps its records as received.
        let small = store.record_storage(other).expect("storage");
        assert_eq!((small.records, small.compressed), (100, 0));
        (acme, other)
    };
    // Reopened: the dictionary comes from the database.
    let store = Store::open(&path).expect("reopen");
    assert_eq!(pending_lines(&store, acme), lines);
    assert_eq!(pending_lines(&store, other), lines[..100]);
    let q = EventQuery {
        contains: vec!["echo 3100\"".to_owned()],
        newest_first: false,
        limit: 1000,
        ..EventQuery::default()
    };
    let found = store.search_events(acme, &q).expect("search");
    assert_eq!(found.items.len(), 1, "{found:?}");
    assert_eq!(found.items[0].line, record(100));
    let scanned = store
        .scan_records(acme, None, None, None, 10_000)
        .expect("scan");
    assert_eq!(scanned.len(), 6000);
    let mut back: Vec<Vec<u8>> = scanned.into_iter().map(|r| r.line).collect();
    let mut want = lines.clone();
    back.sort();
    want.sort();
    assert_eq!(back, want);
    let _ = std::fs::remove_dir_all(dir);
}
