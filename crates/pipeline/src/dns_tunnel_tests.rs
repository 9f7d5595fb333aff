use super::*;

const SECOND: i64 = 1_000_000_000;

fn query(client: &str, secs: i64, name: &str) -> DnsQuery {
    let (domain, prefix) = split_name(name).unwrap_or_else(|| panic!("{name}"));
    DnsQuery {
        time_ns: 1_700_000_000 * SECOND + secs * SECOND,
        client: client.into(),
        host: None,
        image: None,
        domain,
        prefix,
        source: Arc::from("dns.log"),
        record: secs as u64,
    }
}

/// A deterministic hex chunk, as a tunnel encodes its data.
fn chunk(i: u64) -> String {
    let mut x = i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xdead_beef;
    let mut s = String::new();
    for _ in 0..3 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(&format!("{x:016x}"));
    }
    s
}

#[test]
fn names_split_at_their_registrable_domain() {
    let split = |n: &str| split_name(n);
    assert_eq!(
        split("A1B2.data.Tunnel.example.com."),
        Some(("example.com".into(), "a1b2.data.tunnel".into()))
    );
    assert_eq!(
        split("x.shop.example.co.uk"),
        Some(("example.co.uk".into(), "x.shop".into()))
    );
    // Nothing before the domain, local names, reverse lookups, service discovery.
    for name in [
        "example.com",
        "example.co.uk",
        "wpad",
        "printer.corp.local",
        "5.2.0.192.in-addr.arpa",
        "_ldap._tcp.dc._msdcs.example.com",
        "a..b.com",
    ] {
        assert_eq!(split(name), None, "{name}");
    }
}

#[test]
fn a_burst_of_encoded_names_under_one_domain_is_one_tunnel() {
    let queries: Vec<_> = (0..300)
        .map(|i| {
            query(
                "10.0.0.5",
                i,
                &format!("{}.t.exfil-cdn.example", chunk(i as u64)),
            )
        })
        .collect();
    let (found, dropped) = find_dns_tunnels(queries, &DnsTunnelConfig::default());
    assert_eq!(dropped, 0);
    assert_eq!(found.len(), 1, "reported once per burst");
    let t = &found[0];
    assert_eq!(t.distinct_names, 60);
    assert_eq!(t.at.domain, "exfil-cdn.example");
    assert_eq!(t.examples.len(), 3);
    let row = t.row();
    assert_eq!(row.rule_id.as_deref(), Some(DNS_TUNNEL_RULE_ID));
    assert_eq!(row.entities.src_ip.as_deref(), Some("10.0.0.5"));
    assert_eq!(
        row.entities.indicators,
        vec!["exfil-cdn.example".to_string()]
    );
    assert!(row.tags.contains(&"attack.t1071.004".to_string()));
}

#[test]
fn browsing_short_names_slow_queries_and_popular_services_are_not_tunnels() {
    let cfg = DnsTunnelConfig::default();
    // Many distinct but short names (a CDN's hosts).
    let short: Vec<_> = (0..300)
        .map(|i| query("10.0.0.5", i, &format!("e{i}.g.akamaiedge.net")))
        .collect();
    assert!(find_dns_tunnels(short, &cfg).0.is_empty());
    // Encoded names, but one every minute.
    let slow: Vec<_> = (0..200)
        .map(|i| {
            query(
                "10.0.0.5",
                i * 60,
                &format!("{}.t.example.org", chunk(i as u64)),
            )
        })
        .collect();
    assert!(find_dns_tunnels(slow, &cfg).0.is_empty());
    // One name over and over.
    let same: Vec<_> = (0..500)
        .map(|i| query("10.0.0.5", i, &format!("{}.t.example.org", chunk(1))))
        .collect();
    assert!(find_dns_tunnels(same, &cfg).0.is_empty());
    // Hash lookups of a security service every machine uses.
    let popular: Vec<_> = (0..400)
        .map(|i| {
            let client = format!("10.0.1.{}", i % 8);
            query(
                &client,
                i / 4,
                &format!("{}.avqs.av-vendor.example", chunk(i as u64)),
            )
        })
        .collect();
    assert!(find_dns_tunnels(popular, &cfg).0.is_empty());
}

#[test]
fn the_live_tracker_learns_a_domains_askers_and_rearms() {
    let mut tracker = DnsTunnelTracker::new(DnsTunnelConfig::default());
    let mut found = 0;
    for i in 0..200 {
        let q = query("ws07", i, &format!("{}.x.bad.example", chunk(i as u64)));
        found += usize::from(tracker.observe(&q).is_some());
    }
    assert_eq!(found, 1);
    // Two hours later, a new burst is reported again.
    for i in 0..200 {
        let q = query(
            "ws07",
            7200 + i,
            &format!("{}.x.bad.example", chunk(1000 + i as u64)),
        );
        found += usize::from(tracker.observe(&q).is_some());
    }
    assert_eq!(found, 2);
}

#[test]
fn pairs_are_bounded() {
    let cfg = DnsTunnelConfig {
        max_pairs: 10,
        ..DnsTunnelConfig::default()
    };
    let mut tracker = DnsTunnelTracker::new(cfg);
    for i in 0..1000 {
        tracker.observe(&query(&format!("c{i}"), i * 1000, "a.b.example.com"));
        assert!(tracker.pairs.len() <= 10);
        assert!(tracker.askers.len() <= 10);
    }
    assert!(tracker.forgotten > 0);
}

#[test]
fn queries_are_read_from_sensors_and_sysmon() {
    let lines: Vec<String> = [
        // Suricata EVE, dns version 3 (queries as a list) and version 2.
        r#"{"timestamp":"2024-01-01T10:00:00.000000+0000","event_type":"dns","src_ip":"10.0.0.5","dest_ip":"10.0.0.53","dns":{"version":3,"type":"request","queries":[{"rrname":"abcdefghijkl.tunnel.example.com","rrtype":"A"}]}}"#,
        r#"{"timestamp":"2024-01-01T10:00:01.000000+0000","event_type":"dns","src_ip":"10.0.0.6","dest_ip":"10.0.0.53","dns":{"type":"query","rrname":"mnopqrstuvwx.tunnel.example.com","rrtype":"A"}}"#,
        // Zeek dns as JSON: the DNS server is no host of the query.
        r#"{"_path":"dns","ts":1704103202.0,"uid":"C1","id.orig_h":"10.0.0.7","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"0123456789ab.tunnel.example.com"}"#,
        // Sysmon's DNS query event: the asker is the host, with its program.
        r#"{"Channel":"Microsoft-Windows-Sysmon/Operational","EventID":22,"Hostname":"WS01.corp.example","@timestamp":"2024-01-01T10:00:03Z","QueryName":"zyxwvutsrqpo.tunnel.example.com","Image":"C:\\Users\\a\\implant.exe"}"#,
        // A short name is not counted.
        r#"{"_path":"dns","ts":1704103204.0,"uid":"C2","id.orig_h":"10.0.0.7","id.orig_p":5353,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"www.example.com"}"#,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    let table = FieldTable::new();
    let fields = DnsFields::new(&table);
    let events = crate::test_support::decode_json_lines(&table, &lines);
    let queries: Vec<DnsQuery> = events.iter().filter_map(|e| fields.query(e)).collect();
    let seen: Vec<(&str, Option<&str>, &str)> = queries
        .iter()
        .map(|q| (q.client.as_str(), q.host.as_deref(), q.prefix.as_str()))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("10.0.0.5", None, "abcdefghijkl.tunnel"),
            ("10.0.0.6", None, "mnopqrstuvwx.tunnel"),
            ("10.0.0.7", None, "0123456789ab.tunnel"),
            (
                "WS01.corp.example",
                Some("WS01.corp.example"),
                "zyxwvutsrqpo.tunnel"
            ),
        ]
    );
    assert!(queries.iter().all(|q| q.domain == "example.com"));
    assert_eq!(
        queries[3].image.as_deref(),
        Some("C:\\Users\\a\\implant.exe")
    );
}
