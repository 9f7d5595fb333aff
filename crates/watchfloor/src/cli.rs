//! Command-line definitions, exactly as typed; validation and defaults that depend on
//! the environment happen when each subcommand builds its configuration.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "watchfloor",
    version,
    about = "Security operations center: decode, detect, triage, respond"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode collected logs (files and folders; gzip and zip read as they are) and
    /// report what they hold.
    Hunt(HuntArgs),
    /// The watch floor on this machine: serve from a temporary folder with a demo
    /// tenant and users, play a bundled attack scenario into it, print each incident.
    Demo(DemoArgs),
    /// Sigma rules: check them.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Measure throughput (prints events/s, MB/s and peak RSS).
    #[command(subcommand)]
    Bench(BenchCommand),
    /// The cyber range: generate a simulated company's telemetry with an attack
    /// campaign and ground truth, and score detections against it.
    #[command(subcommand)]
    Range(RangeCommand),
    /// Bootstrap the server's store: tenants, users and API tokens (run on the server's
    /// machine; changes are audited as `system` from `cli`).
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Run the watch-floor HTTP API (JSON under /api/v1) over the store in `--data`.
    Serve(ServeArgs),
    /// Cyber intelligence: import indicators (STIX, MISP, CSV, lists) into a store
    /// folder, match logs against them, count and export them.
    #[command(subcommand)]
    Intel(crate::intel_cli::IntelCommand),
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Hunt the sample logs shipped in the binary instead, without a server.
    #[arg(long)]
    pub offline: bool,
    /// The bundled scenario to play (`phishing-to-file-server-theft`,
    /// `web-sqli-customer-theft`) or a scenario file.
    #[arg(long, default_value = "phishing-to-file-server-theft")]
    pub scenario: String,
    /// Simulated seconds per second (0: as fast as possible).
    #[arg(long, default_value_t = 3600.0)]
    pub speed: f64,
    /// The scenario's seed (default: the scenario's own).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where the API listens (a free port if this one is taken).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Sigma rule files or folders instead of the bundled rules (repeatable).
    #[arg(long, value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Stop once the scenario is played and processed (for scripts and tests).
    #[arg(long)]
    pub exit_when_done: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A TOML file with any of the options below (`data`, `listen`, `rules`, `syslog`,
    /// `attack`, `assets`, `warninglists`, `triage_config`, `retention_interval_secs`,
    /// and `[[taxii]]` tables with the keys of `--taxii`); flags given on the command
    /// line win.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data folder holding `watchfloor.db` (created if missing).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// The address to listen on (default 127.0.0.1:8080); loopback unless you mean
    /// otherwise (no TLS yet: put a TLS-terminating proxy in front before exposing it).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<std::net::SocketAddr>,
    /// Sigma rule files or folders the pipeline runs (repeatable), reloaded when they
    /// change; without any, the rules shipped in the binary.
    #[arg(long, value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// A syslog listener and the tenant it feeds (repeatable):
    /// `udp://127.0.0.1:5514=1`, `tcp://0.0.0.0:6514=2,format=cef`.
    #[arg(long, value_name = "SPEC")]
    pub syslog: Vec<String>,
    /// ATT&CK STIX data for technique, tactic and mitigation names (repeatable).
    #[arg(long, value_name = "PATH")]
    pub attack: Vec<PathBuf>,
    /// Asset inventory (.csv or .json).
    #[arg(long, value_name = "FILE")]
    pub assets: Option<PathBuf>,
    /// MISP warninglists (a list.json or a folder of them).
    #[arg(long, value_name = "PATH")]
    pub warninglists: Option<PathBuf>,
    /// Analysis engine settings (YAML), as for `hunt`.
    #[arg(long, value_name = "FILE")]
    pub triage_config: Option<PathBuf>,
    /// How often retention runs, in seconds (default 3600).
    #[arg(long, value_name = "SECS")]
    pub retention_interval_secs: Option<u64>,
    /// A TAXII 2.1 collection polled into a tenant's indicators (repeatable):
    /// `tenant=acme,url=https://cti.example/taxii2/,collection=ID,every_minutes=60,token_file=FILE`
    /// (or `user=NAME,password_file=FILE`; optional `source`, `tlp`, `confidence`,
    /// `limit`, `ca_file` (PEM CA certificates trusted besides the built-in roots);
    /// `every_seconds` instead of `every_minutes`; values hold no commas).
    #[arg(long, value_name = "SPEC")]
    pub taxii: Vec<String>,
}

#[derive(Debug, Subcommand)]
#[expect(
    clippy::enum_variant_names,
    reason = "the variants are the create-* subcommands"
)]
pub enum AdminCommand {
    /// Create a tenant (a customer organisation).
    CreateTenant(AdminCreateTenantArgs),
    /// Create a user; the password comes from WATCHFLOOR_PASSWORD or, when that is
    /// unset, is asked for on the terminal (never an argument).
    CreateUser(AdminCreateUserArgs),
    /// Create an API token for a tenant and print its secret, once.
    CreateToken(AdminCreateTokenArgs),
}

#[derive(Debug, Args)]
pub struct AdminCreateTenantArgs {
    /// The tenant's name (unique, case ignored).
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The data folder holding `watchfloor.db` (created if missing).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
}

#[derive(Debug, Args)]
pub struct AdminCreateUserArgs {
    /// The login (letters, digits, `.`, `_`, `-`, `@`; case ignored).
    #[arg(value_name = "LOGIN")]
    pub login: String,
    /// What the user may do.
    #[arg(long, value_enum)]
    pub role: AdminUserRole,
    /// A tenant by name: the analyst's tenants (repeatable), the customer's one tenant.
    #[arg(long = "tenant", value_name = "NAME")]
    pub tenants: Vec<String>,
    /// The name shown for the user (default: the login).
    #[arg(long = "display", value_name = "NAME")]
    pub display: Option<String>,
    /// The data folder holding `watchfloor.db` (created if missing).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
}

#[derive(Debug, Args)]
pub struct AdminCreateTokenArgs {
    /// The tenant the token acts for, by name.
    #[arg(long, value_name = "NAME")]
    pub tenant: String,
    /// The token's rights in its tenant.
    #[arg(long, value_enum)]
    pub role: AdminTokenRole,
    /// A label for the token (what it is for).
    #[arg(long, value_name = "NAME")]
    pub name: String,
    /// Days until the token expires (default: never).
    #[arg(long, value_name = "N")]
    pub expires_days: Option<u32>,
    /// The data folder holding `watchfloor.db` (created if missing).
    #[arg(long, value_name = "DIR")]
    pub data: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AdminUserRole {
    Admin,
    Analyst,
    Customer,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AdminTokenRole {
    Analyst,
    Customer,
}

#[derive(Debug, Subcommand)]
pub enum RangeCommand {
    /// Generate a scenario's telemetry and labels into a folder.
    Run(RangeRunArgs),
    /// Score detections (`hunt --format jsonl`) against a run's labels.
    Score(RangeScoreArgs),
    /// Play a scenario into a running server over HTTP (`POST …/ingest`), paced in
    /// simulated time (`--speed` simulated seconds per second; 0: as fast as possible).
    Play(crate::play::RangePlayArgs),
    /// Grade a trainee's incidents (the server's incident list, or `hunt --incidents
    /// --format jsonl`) against the scenario's answer key.
    Grade(crate::range::RangeGradeArgs),
    /// Print the JSON schema of the scenario format.
    Schema,
}

#[derive(Debug, Args)]
pub struct RangeRunArgs {
    /// The scenario (YAML).
    #[arg(value_name = "SCENARIO")]
    pub scenario: PathBuf,
    /// Output folder (created; files in it are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Random seed (default: the scenario's).
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Simulate this long instead of the scenario's duration (`7d`; steps after the end
    /// are an error).
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<String>,
}

#[derive(Debug, Args)]
pub struct RangeScoreArgs {
    /// The run's `labels.jsonl`.
    #[arg(long, value_name = "FILE")]
    pub labels: PathBuf,
    /// Detections as `watchfloor hunt --format jsonl` wrote them.
    #[arg(long, value_name = "FILE")]
    pub detections: PathBuf,
    /// `table` (default) or `json`.
    #[arg(long, default_value = "table", value_name = "FORMAT")]
    pub format: String,
    /// Lowest rule level counted as an alert in the false-positive rate.
    #[arg(long, default_value = "medium", value_name = "LEVEL")]
    pub alert_level: String,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Load and compile rules, print every diagnostic; exit 1 when any is an error.
    Check(RulesCheckArgs),
    /// Run rules against regression cases (SigmaHQ `regression_data` layout).
    Test(RulesTestArgs),
    /// Write an ATT&CK Navigator layer of the techniques the rules cover.
    Coverage(RulesCoverageArgs),
}

#[derive(Debug, Args)]
pub struct RulesCoverageArgs {
    /// Rule files or folders.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write the layer to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Layer name shown in the Navigator.
    #[arg(long, default_value = "watchfloor rule coverage")]
    pub name: String,
    /// YAML file of placeholder values for `|expand`.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RulesTestArgs {
    /// Folder of cases (`info.yml` + log files).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Rule files or folders.
    #[arg(long = "rules", required = true, value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// YAML file of placeholder values for `|expand`.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// Print passing cases too.
    #[arg(long)]
    pub verbose: bool,
    /// Require exactly `match_count` matches (default: at least, as SigmaHQ's runner).
    #[arg(long)]
    pub exact: bool,
}

#[derive(Debug, Args)]
pub struct RulesCheckArgs {
    /// Rule files or folders.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Diagnostics as text or as JSON lines.
    #[arg(long, value_enum, default_value = "human")]
    pub format: DiagnosticFormat,
    /// YAML file of placeholder values for `|expand` (name: [values]).
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiagnosticFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Single-thread decode throughput per format over the shared corpora.
    Decode(BenchArgs),
    /// Sigma evaluation throughput over Windows events from the shared EVTX samples.
    Detect(BenchDetectArgs),
    /// Detections → alerts → incidents on the labelled attack datasets, as Markdown.
    Quality(BenchQualityArgs),
    /// The server end to end: HTTP ingest → store → pipeline → store, memory over time
    /// and alert-list latency under load, in-process on a temporary store.
    Serve(crate::bench_serve::BenchServeArgs),
    /// Web attack detection on the CRS regression suite: attacks caught and benign
    /// requests flagged, from access logs and from whole requests, as Markdown.
    Web(crate::web_bench::BenchWebArgs),
}

#[derive(Debug, Args)]
pub struct BenchQualityArgs {
    /// The shared corpora folder.
    #[arg(long, default_value = "../shared/corpora")]
    pub corpora: PathBuf,
    /// Worker threads for decoding.
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub threads: usize,
    /// Entity risk that opens an incident (default: the engine's).
    #[arg(long, value_name = "SCORE")]
    pub threshold: Option<f64>,
    /// Hours an entity links an alert to its incident (default: the engine's).
    #[arg(long, value_name = "HOURS")]
    pub gap_hours: Option<f64>,
    /// Print only the totals line (for comparing settings).
    #[arg(long)]
    pub totals_only: bool,
}

#[derive(Debug, Args)]
pub struct BenchDetectArgs {
    /// The shared corpora folder.
    #[arg(long, default_value = "../shared/corpora")]
    pub corpora: PathBuf,
    /// Events evaluated per round (the decoded events, replicated).
    #[arg(long, default_value_t = 200_000)]
    pub events: usize,
    /// Rounds over the events.
    #[arg(long, default_value_t = 1)]
    pub rounds: usize,
    /// YAML file of placeholder values for `|expand`.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// The shared corpora folder.
    #[arg(long, default_value = "../shared/corpora")]
    pub corpora: PathBuf,
    /// Minimum measuring time per format, in seconds.
    #[arg(long, default_value_t = 3.0)]
    pub seconds: f64,
    /// Only the inputs whose format name is this (evtx, json, zeek, …).
    #[arg(long)]
    pub only: Option<String>,
}

#[derive(Debug, Args)]
pub struct HuntArgs {
    /// Files or folders to read (folders are walked recursively).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Sigma rule files or folders to evaluate (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// YAML file of placeholder values for rules using `|expand`.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// Output format; default: table on a terminal, jsonl otherwise.
    #[arg(long = "format", value_enum)]
    pub output_format: Option<OutputFormat>,
    /// Read every input as this log format instead of recognising it.
    #[arg(long = "input-format", value_name = "FORMAT")]
    pub input_format: Option<String>,
    /// Write results to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write run totals as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// Worker threads (default: the number of CPUs).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Never show the progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Decode errors shown on standard error before the rest are only counted.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub max_errors_shown: usize,
    /// After the detections, print the incidents the analysis engine made of them.
    #[arg(long)]
    pub incidents: bool,
    /// ATT&CK STIX data for technique, tactic and mitigation names: a bundle, a folder
    /// of objects, or a .tar.gz of them (repeatable).
    #[arg(long, value_name = "PATH")]
    pub attack: Vec<PathBuf>,
    /// Asset inventory (.csv or .json): host or address → owner, criticality, tags, aliases (other names of the host).
    #[arg(long, value_name = "FILE")]
    pub assets: Option<PathBuf>,
    /// MISP warninglists (a list.json or a folder of them): known-benign values.
    #[arg(long, value_name = "PATH")]
    pub warninglists: Option<PathBuf>,
    /// Suppression expressions, one per line (`host = ws01 and rule = …`).
    #[arg(long, value_name = "FILE")]
    pub suppressions: Option<PathBuf>,
    /// Analysis engine settings (YAML: dedupe window, incident gap, threshold,
    /// fingerprint fields per rule).
    #[arg(long, value_name = "FILE")]
    pub triage_config: Option<PathBuf>,
    /// Indicators to match every event against (repeatable): STIX or MISP JSON, CSV
    /// (`.csv`) or a plain list, one value per line.
    #[arg(long, value_name = "FILE")]
    pub intel: Vec<PathBuf>,
    /// Also look for beaconing: a machine calling the same outside destination at
    /// regular intervals (Sysmon network connections, Zeek conn, Suricata flows,
    /// firewalls, proxy requests), reported as detections of rule `beacon-analysis`
    #[arg(long)]
    pub beacons: bool,
    /// Do not analyse web server requests for attacks. By default every web server log
    /// line (access logs, IIS/W3C) is checked for SQL injection, XSS, traversal,
    /// command, PHP and Java injection and scanners, reported as `web-attack/<class>`,
    /// and a client's burst of requests for missing pages as `web-scan`
    #[arg(long)]
    pub no_web_attacks: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Table,
    Csv,
    Jsonl,
}

/// A problem with the arguments themselves (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
