//! `watchfloor bench web`: how well web attacks are caught, measured on the CRS
//! regression suite (`web/coreruleset` in the shared corpora), whose every request says
//! whether CRS must catch it or let it pass.
//!
//! Each request is evaluated twice:
//! - **as an access log shows it**: rendered as an Apache combined line (method, target,
//!   Referer, User-Agent; no body, no other header), decoded by the access-log decoder
//!   and run through the SigmaHQ rules and the web attack analysis, as `hunt` does;
//! - **as a WAF or application log shows it**: the whole request (every header, the
//!   body) given to the web attack analysis.
//!
//! Printed as Markdown: per CRS family, the attacks caught and the benign requests
//! flagged. Response-side families (data leakage in responses) are listed, but a
//! request log cannot show them.

mod cases;

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use watchfloor_decode::access_log::AccessLogDecoder;
use watchfloor_decode::{DecodeContext, LineDecoder};
use watchfloor_event::{Event, FieldCache, FieldTable};
use watchfloor_pipeline::detect::Detector;
use watchfloor_pipeline::web_attack::WEB_ATTACK_RULE_PREFIX;
use watchfloor_sigma::engine::Engine;
use watchfloor_webattack::{Request, analyze};

use cases::{Case, Expectation};

#[derive(Debug, Args)]
pub struct BenchWebArgs {
    /// The shared corpora folder.
    #[arg(long, default_value = "../shared/corpora")]
    pub corpora: PathBuf,
    /// Also write the rendered access log here (one line per case, in suite order), so
    /// `hunt` can be run on it.
    #[arg(long, value_name = "FILE")]
    pub write_log: Option<PathBuf>,
    /// List the attacks missed and the benign requests flagged, per view.
    #[arg(long)]
    pub misses: bool,
    /// Also write the totals as JSON here.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

/// What each view said of one case.
#[derive(Debug, Default, Clone, Copy)]
struct Verdict {
    /// A SigmaHQ rule matched the access-log line.
    sigma: bool,
    /// The web attack analysis flagged the access-log line.
    web_log: bool,
    /// The web attack analysis flagged the whole request.
    web_full: bool,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    /// Attacks whose whole request fits an access-log line, and those of them caught
    /// there (SigmaHQ or web analysis).
    visible: u64,
    visible_caught: u64,
    attacks: u64,
    benign: u64,
    /// Attacks caught / benign flagged: SigmaHQ on the log, analysis on the log, either
    /// on the log, analysis on the whole request.
    caught: [u64; 4],
    flagged: [u64; 4],
}

impl Counts {
    fn add(&mut self, expectation: Expectation, fits_log: bool, v: Verdict) {
        let hits = [v.sigma, v.web_log, v.sigma || v.web_log, v.web_full];
        if expectation == Expectation::Attack && fits_log {
            self.visible += 1;
            self.visible_caught += u64::from(v.sigma || v.web_log);
        }
        let (total, slots) = match expectation {
            Expectation::Attack => (&mut self.attacks, &mut self.caught),
            Expectation::Benign => (&mut self.benign, &mut self.flagged),
        };
        *total += 1;
        for (slot, hit) in slots.iter_mut().zip(hits) {
            *slot += u64::from(hit);
        }
    }
}

pub fn run(args: BenchWebArgs) -> anyhow::Result<()> {
    let root = args.corpora.join("web/coreruleset/tests/regression/tests");
    let rules_dir = args.corpora.join("detection/sigmahq-sigma/rules");
    if !root.is_dir() || !rules_dir.is_dir() {
        bail!(
            "{} or {} not found (pass --corpora)",
            root.display(),
            rules_dir.display()
        );
    }
    let suite = cases::read_suite(&root);
    for error in &suite.errors {
        eprintln!("warning: {error}");
    }
    let table = FieldTable::new();
    let placeholders = crate::rules::read_placeholders(None)?;
    let loaded = crate::rules::load_rules(&[rules_dir], &table, &placeholders);
    let rule_count = loaded.rules.len();
    let engine = Engine::new(loaded.rules);
    let mut detector = Detector::new(&engine, &[], table.clone());
    let mut ctx = DecodeContext::new(FieldCache::new(table.clone()));
    let mut decoder = AccessLogDecoder::new();
    let mut log = String::new();
    let mut families: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    let mut undecoded = 0u64;
    let mut misses: Vec<(String, &Case)> = Vec::new();
    let mut why: Vec<String> = Vec::new();
    for case in &suite.cases {
        let line = cases::access_log_line(case);
        log.push_str(&line);
        log.push('\n');
        let mut verdict = Verdict::default();
        let mut ev = Event::new();
        match decoder.decode_line(&mut ctx, &line, &mut ev) {
            Ok(true) => {
                ev.set_raw(line.as_bytes());
                let mut rows = Vec::new();
                detector.detect(&ev, &mut rows, &mut Vec::new());
                for (_, row) in rows {
                    let web = row
                        .rule_id
                        .as_deref()
                        .is_some_and(|id| id.starts_with(WEB_ATTACK_RULE_PREFIX));
                    if web {
                        verdict.web_log = true;
                    } else if row.level != "informational" {
                        verdict.sigma = true;
                    }
                }
            }
            _ => undecoded += 1,
        }
        let request = Request {
            method: Some(&case.method),
            target: Some(&case.uri),
            headers: case
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect(),
            body: case.body.as_deref(),
        };
        let findings = analyze(&request);
        verdict.web_full = !findings.is_empty();
        families.entry(case.family.clone()).or_default().add(
            case.expectation,
            case.fits_access_log(),
            verdict,
        );
        total.add(case.expectation, case.fits_access_log(), verdict);
        if args.misses {
            let log_hit = verdict.sigma || verdict.web_log;
            match case.expectation {
                Expectation::Attack if case.fits_access_log() && !log_hit => {
                    misses.push(("missed in the log".into(), case));
                    why.push(String::new());
                }
                Expectation::Attack if !verdict.web_full => {
                    misses.push(("missed".into(), case));
                    why.push(String::new());
                }
                Expectation::Benign if verdict.web_full || log_hit => {
                    misses.push(("flagged".into(), case));
                    why.push(
                        findings
                            .iter()
                            .map(|f| format!("{} in {}: {}", f.class, f.location, f.reason))
                            .collect::<Vec<_>>()
                            .join("; "),
                    );
                }
                _ => {}
            }
        }
    }
    if let Some(path) = &args.write_log {
        std::fs::write(path, &log)?;
    }
    if let Some(path) = &args.summary_json {
        let summary = serde_json::json!({
            "cases": suite.cases.len(),
            "attacks": total.attacks,
            "benign": total.benign,
            "attacks_fitting_the_log": total.visible,
            "caught_in_the_log": total.caught[2],
            "caught_in_the_log_of_those_fitting": total.visible_caught,
            "caught_in_the_log_by_web_analysis": total.caught[1],
            "caught_with_the_whole_request": total.caught[3],
            "benign_flagged_in_the_log": total.flagged[2],
            "benign_flagged_in_the_log_by_web_analysis": total.flagged[1],
            "benign_flagged_with_the_whole_request": total.flagged[3],
            "undecoded_log_lines": undecoded,
        });
        std::fs::write(path, serde_json::to_string_pretty(&summary)? + "\n")?;
    }
    print_report(&families, &total, suite.cases.len(), rule_count, undecoded);
    for ((what, case), why) in misses.into_iter().zip(why) {
        println!(
            "{what}\t{}\t{why}\t{} {}\t{}",
            case.name,
            case.method,
            case.uri.escape_debug(),
            case.body.as_deref().unwrap_or("").escape_debug()
        );
    }
    Ok(())
}

fn pct(n: u64, d: u64) -> String {
    if d == 0 {
        "—".into()
    } else {
        format!("{n} ({:.0} %)", n as f64 * 100.0 / d as f64)
    }
}

fn print_report(
    families: &BTreeMap<String, Counts>,
    total: &Counts,
    cases: usize,
    rules: usize,
    undecoded: u64,
) {
    println!(
        "CRS regression suite: {cases} requests with an expectation; SigmaHQ `rules/` ({rules} loaded); {undecoded} access-log lines not decoded."
    );
    println!();
    println!(
        "| family | attacks | caught in the access log: SigmaHQ | web analysis | either | attacks the log shows whole | caught of those | caught with the whole request: web analysis | benign | flagged in the access log: SigmaHQ | web analysis | flagged with the whole request |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let row = |name: &str, c: &Counts| {
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.attacks,
            pct(c.caught[0], c.attacks),
            pct(c.caught[1], c.attacks),
            pct(c.caught[2], c.attacks),
            c.visible,
            pct(c.visible_caught, c.visible),
            pct(c.caught[3], c.attacks),
            c.benign,
            pct(c.flagged[0], c.benign),
            pct(c.flagged[1], c.benign),
            pct(c.flagged[3], c.benign),
        );
    };
    for (name, counts) in families {
        row(name, counts);
    }
    row("**all**", total);
}
