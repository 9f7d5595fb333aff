//! The engine end to end from rule text: filters, logsource admission, and the
//! equivalence of the indexed engine with the naive oracle on generated events.

use std::sync::Arc;

use proptest::prelude::*;
use watchfloor_event::{Event, FieldTable, LogSource, Value};
use watchfloor_sigma::compile::compile;
use watchfloor_sigma::diagnostic::Diagnostic;
use watchfloor_sigma::engine::{Engine, Scratch};
use watchfloor_sigma::load::load_str;
use watchfloor_sigma::rule::RuleSet;

fn engine(table: &FieldTable, sources: &[&str]) -> (Engine, Vec<Diagnostic>) {
    let mut set = RuleSet::default();
    let mut diags = Vec::new();
    for (i, text) in sources.iter().enumerate() {
        load_str(
            &Arc::from(format!("rule{i}.yml")),
            text,
            &mut set,
            &mut diags,
        );
    }
    let rules = compile(&set, table, &Default::default(), &mut diags);
    (Engine::new(rules), diags)
}

fn sysmon_event(table: &FieldTable, fields: &[(&str, Value<'_>)]) -> Event {
    let mut ev = Event::new();
    ev.logsource = LogSource::new(Some("windows"), Some("process_creation"), Some("sysmon"));
    for (name, value) in fields {
        let id = table.intern(name);
        ev.push(id, id, *value);
    }
    ev
}

fn matches(engine: &Engine, ev: &Event) -> Vec<String> {
    let mut out = Vec::new();
    engine.evaluate(ev, &mut Scratch::default(), &mut out);
    let mut naive = Vec::new();
    engine.evaluate_naive(ev, &mut naive);
    assert_eq!(out, naive, "indexed and naive engines disagree");
    out.iter()
        .map(|&r| engine.rule(r).unwrap().meta.title.clone())
        .collect()
}

const WHOAMI: &str = "title: Whoami\nid: 11111111-1111-4111-8111-111111111111\nlogsource: {category: process_creation, product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n";

#[test]
fn filters_exclude_matches_of_the_rules_they_name() {
    let table = FieldTable::new();
    let filter = "title: Admins may run whoami\nfilter:\n  rules: [11111111-1111-4111-8111-111111111111]\n  selection:\n    User|startswith: 'CORP\\adm-'\n  condition: selection\n";
    let (engine, diags) = engine(&table, &[WHOAMI, filter]);
    assert!(diags.is_empty(), "{diags:?}");
    let user = sysmon_event(
        &table,
        &[
            ("Image", Value::Str("C:\\Windows\\System32\\whoami.exe")),
            ("User", Value::Str("CORP\\jdoe")),
        ],
    );
    let admin = sysmon_event(
        &table,
        &[
            ("Image", Value::Str("C:\\Windows\\System32\\WHOAMI.EXE")),
            ("User", Value::Str("CORP\\adm-jdoe")),
        ],
    );
    assert_eq!(matches(&engine, &user), vec!["Whoami"]);
    assert!(matches(&engine, &admin).is_empty());
}

#[test]
fn logsource_keeps_rules_on_their_own_events() {
    let table = FieldTable::new();
    let zeek = "title: Zeek whoami\nlogsource: {product: zeek, service: http}\ndetection:\n  sel:\n    uri|contains: whoami\n  condition: sel\n";
    let (engine, _) = engine(&table, &[WHOAMI, zeek]);
    let ev = sysmon_event(
        &table,
        &[
            ("Image", Value::Str("C:\\x\\whoami.exe")),
            ("uri", Value::Str("/whoami")),
        ],
    );
    assert_eq!(matches(&engine, &ev), vec!["Whoami"]);
    let mut http = Event::new();
    http.logsource = LogSource::new(Some("zeek"), None, Some("http"));
    let uri = table.intern("uri");
    http.push_str(uri, uri, "/cgi-bin/whoami");
    assert_eq!(matches(&engine, &http), vec!["Zeek whoami"]);
}

#[test]
fn security_stand_ins_meet_only_the_rules_that_can_judge_them() {
    let table = FieldTable::new();
    // Filters with names a 5156 has (the decoder gives `Image`) and lacks.
    let judged = "title: Notepad calls out\nlogsource: {category: network_connection, product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\notepad.exe'\n    Initiated: 'true'\n  filter:\n    DestinationIp|cidr: 10.0.0.0/8\n  condition: sel and not filter\n";
    let unjudged = "title: Notepad calls out, unless to Microsoft\nlogsource: {category: network_connection, product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\notepad.exe'\n  filter:\n    DestinationHostname|endswith: '.microsoft.com'\n  condition: sel and not filter\n";
    // A name a 5156 lacks, in a positive search only: it can only fail to match.
    let positive = "title: Notepad calls a tunnel\nlogsource: {category: network_connection, product: windows}\ndetection:\n  sel:\n    Image|endswith: '\\notepad.exe'\n  host:\n    DestinationHostname|endswith: '.ngrok.io'\n  ip:\n    DestinationIp|startswith: '203.0.113.'\n  condition: sel and (host or ip)\n";
    let (engine, diags) = engine(&table, &[judged, unjudged, positive]);
    assert!(diags.is_empty(), "{diags:?}");
    let event = |logsource: LogSource| {
        let mut ev = Event::new();
        ev.logsource = logsource;
        for (name, value) in [
            ("Image", "C:\\windows\\system32\\notepad.exe"),
            ("Initiated", "true"),
            ("DestinationIp", "203.0.113.7"),
        ] {
            let id = table.intern(name);
            ev.push_str(id, id, value);
        }
        ev
    };
    let security = event(LogSource::new(
        Some("windows"),
        Some("network_connection"),
        Some("security"),
    ));
    let sysmon = event(LogSource::new(
        Some("windows"),
        Some("network_connection"),
        Some("sysmon"),
    ));
    let mut on_security = matches(&engine, &security);
    on_security.sort();
    assert_eq!(
        on_security,
        vec!["Notepad calls a tunnel", "Notepad calls out"],
        "the rule filtering on a host name the 5156 cannot give is kept off it"
    );
    assert_eq!(
        matches(&engine, &sysmon).len(),
        3,
        "Sysmon events meet all three"
    );
}

/// Rules over a small vocabulary, so generated events hit them often.
const GENERATED_RULES: &[&str] = &[
    "title: r1\nlogsource: {category: process_creation, product: windows}\ndetection:\n  a:\n    CommandLine|contains|all: [alpha, beta]\n  b:\n    Image|endswith: [gamma, delta]\n  condition: a or b\n",
    "title: r2\nlogsource: {category: process_creation, product: windows}\ndetection:\n  a:\n    CommandLine|contains: alpha\n  f:\n    User: SYSTEM\n  condition: a and not f\n",
    "title: r3\nlogsource: {product: windows}\ndetection:\n  k:\n    - beta\n    - epsilon\n  condition: k\n",
    "title: r4\nlogsource: {category: process_creation, product: windows}\ndetection:\n  a:\n    EventID: 1\n    Image|startswith: alp\n  condition: a\n",
    "title: r5\nlogsource: {category: process_creation, product: windows}\ndetection:\n  a:\n    CommandLine|re: 'al[p]ha\\s+b'\n  b:\n    ParentImage|contains|windash: '-gamma'\n  condition: 1 of them\n",
    "title: r6\nlogsource: {category: process_creation, product: windows}\ndetection:\n  a:\n    CommandLine|base64offset|contains: alpha\n  condition: a\n",
    "title: r7\nlogsource: {category: process_creation, product: windows}\ndetection:\n  a:\n    User|exists: true\n    CommandLine|contains: delta\n  b:\n    EventID|gt: 3\n  condition: a or b\n",
    // A keyword list long enough to be searched over the event's whole string arena:
    // hits across two values, non-ASCII text and replaced values must not count.
    // Keyword literals that occur only in the text of a number (EventID).
    "title: r9\nlogsource: {product: windows}\ndetection:\n  k:\n    - '3'\n    - 'zeta'\n  f:\n    User: SYSTEM\n  condition: k and not f\n",
    "title: r8\nlogsource: {product: windows}\ndetection:\n  k:\n    - 'haga'\n    - 'mma de'\n    - 'ßeta'\n    - 'kelvin'\n    - 'epsilon'\n    - 'lta\\gam'\n    - 'ystem'\n  condition: k\n",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("alpha".to_string()),
        Just("ALPHA".to_string()),
        Just("beta".to_string()),
        Just("gamma".to_string()),
        Just("Delta".to_string()),
        Just("epsilon".to_string()),
        Just("SYSTEM".to_string()),
        Just("/gamma".to_string()),
        Just("YWxwaGEg".to_string()),
        Just("ẞETA".to_string()),
        Just("\u{212A}elvin".to_string()),
        Just("Kelvin".to_string()),
        Just("ÀLPHA".to_string()),
        Just("lta\\".to_string()),
        "[a-zA-Z ]{0,8}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 0..5).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]
    #[test]
    fn indexed_engine_equals_naive_on_generated_events(
        command in text(),
        image in text(),
        parent in text(),
        user in prop::option::of(text()),
        event_id in 0i64..6,
        replace_image in any::<bool>(),
        category in prop_oneof![Just(Some("process_creation")), Just(Some("image_load")), Just(None)],
    ) {
        let table = FieldTable::new();
        let (engine, diags) = engine(&table, GENERATED_RULES);
        prop_assert!(diags.is_empty(), "{:?}", diags);
        let mut ev = Event::new();
        ev.logsource = LogSource::new(Some("windows"), category, Some("sysmon"));
        let mut put = |name: &str, value: Value<'_>| {
            let id = table.intern(name);
            ev.push(id, id, value);
        };
        put("EventID", Value::Int(event_id));
        put("CommandLine", Value::Str(&command));
        put("Image", Value::Str(&image));
        put("ParentImage", Value::Str(&parent));
        if let Some(u) = &user {
            put("User", Value::Str(u));
        }
        if replace_image {
            // The replaced text stays in the event's arena but is no value any more.
            ev.set(table.intern("Image"), Value::Str("replaced"));
        }
        let mut fast = Vec::new();
        engine.evaluate(&ev, &mut Scratch::default(), &mut fast);
        let mut naive = Vec::new();
        engine.evaluate_naive(&ev, &mut naive);
        prop_assert_eq!(fast, naive);
    }
}
