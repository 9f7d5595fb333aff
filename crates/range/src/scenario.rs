//! The scenario format: the organisation (subnets, hosts with OS and role, users), its
//! background activity (volumes and a daily rhythm), and an attack campaign as ordered
//! steps, each with an ATT&CK technique, target, timing and parameters. Read from YAML;
//! [`schema`] gives the JSON schema.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use watchfloor_triage::attack::Stage;

/// A problem with a scenario, naming where it is.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: {message}")]
    Yaml { file: String, message: String },
    #[error("{file}: {place}: {message}")]
    Invalid {
        file: String,
        place: String,
        message: String,
    },
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// When the simulated period starts (RFC 3339, UTC).
    pub start: String,
    /// How long it lasts (`36h`, `2d`, `1d12h`).
    pub duration: String,
    /// Default seed when the command line gives none.
    #[serde(default)]
    pub seed: u64,
    pub organisation: Organisation,
    #[serde(default)]
    pub background: Background,
    pub campaign: Campaign,
    /// What a trainee is expected to find, for scoring trainees once the server exists.
    #[serde(default)]
    pub answer_key: Option<AnswerKey>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    pub name: String,
    /// The Active Directory / DNS domain (`corp.example`).
    pub domain: String,
    /// The NetBIOS domain (`CORP`).
    pub netbios: String,
    /// The address the organisation's traffic leaves from (NAT).
    pub public_ip: String,
    /// The public web site's name, when the organisation has one.
    #[serde(default)]
    pub website: Option<String>,
    pub subnets: Vec<Subnet>,
    pub hosts: Vec<Host>,
    pub users: Vec<User>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Subnet {
    pub name: String,
    pub cidr: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Windows,
    Linux,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Workstation,
    WebServer,
    MailServer,
    DnsServer,
    Proxy,
    Firewall,
    FileServer,
    DomainController,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// Short name (`WS-ACCT-07`); the FQDN adds the domain.
    pub name: String,
    pub os: Os,
    pub role: Role,
    pub ip: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Account name (`mtanaka`).
    pub name: String,
    #[serde(default)]
    pub full_name: String,
    /// The host the user works on.
    pub workstation: String,
    #[serde(default)]
    pub admin: bool,
}

/// Benign activity volumes and the daily rhythm.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Background {
    /// Working hours, local = UTC here: [start, end).
    pub work_hours: [u8; 2],
    /// Share of the working-hours volume outside them (0–1).
    pub night_factor: f64,
    /// Share on Saturdays and Sundays (0–1).
    pub weekend_factor: f64,
    pub logons_per_user_day: f64,
    pub processes_per_user_hour: f64,
    pub dns_per_user_hour: f64,
    pub web_per_user_hour: f64,
    pub site_visitors_per_hour: f64,
    pub admin_tasks_per_day: f64,
    /// Hour of the nightly backup.
    pub backup_hour: u8,
}

impl Default for Background {
    fn default() -> Self {
        Background {
            work_hours: [8, 18],
            night_factor: 0.05,
            weekend_factor: 0.1,
            logons_per_user_day: 4.0,
            processes_per_user_hour: 12.0,
            dns_per_user_hour: 30.0,
            web_per_user_hour: 20.0,
            site_visitors_per_hour: 40.0,
            admin_tasks_per_day: 6.0,
            backup_hour: 2,
        }
    }
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Campaign {
    pub name: String,
    pub actor: Actor,
    pub steps: Vec<Step>,
}

/// The attacker's infrastructure.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    pub name: String,
    /// Where attacks come from and command and control lives.
    pub ip: String,
    /// The command-and-control domain.
    pub domain: String,
    /// Where stolen data goes (defaults to `ip`).
    #[serde(default)]
    pub exfil_ip: Option<String>,
}

/// What a step does. Each leaves in the logs what the real technique leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    PortScan,
    WebScan,
    PhishingAttachment,
    SqlInjection,
    PathTraversal,
    #[serde(rename = "log4shell")]
    Log4Shell,
    ScheduledTask,
    ServiceInstall,
    RunKey,
    Beacon,
    LsassDump,
    BruteForce,
    LateralSmb,
    LateralWmi,
    LateralRdp,
    Collect,
    Exfiltrate,
    ClearLogs,
    DeleteFiles,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::PortScan => "port-scan",
            Action::WebScan => "web-scan",
            Action::PhishingAttachment => "phishing-attachment",
            Action::SqlInjection => "sql-injection",
            Action::PathTraversal => "path-traversal",
            Action::Log4Shell => "log4shell",
            Action::ScheduledTask => "scheduled-task",
            Action::ServiceInstall => "service-install",
            Action::RunKey => "run-key",
            Action::Beacon => "beacon",
            Action::LsassDump => "lsass-dump",
            Action::BruteForce => "brute-force",
            Action::LateralSmb => "lateral-smb",
            Action::LateralWmi => "lateral-wmi",
            Action::LateralRdp => "lateral-rdp",
            Action::Collect => "collect",
            Action::Exfiltrate => "exfiltrate",
            Action::ClearLogs => "clear-logs",
            Action::DeleteFiles => "delete-files",
        }
    }

    /// The kill-chain stage the step belongs to.
    pub fn stage(self) -> Stage {
        match self {
            Action::PortScan | Action::WebScan => Stage::Reconnaissance,
            Action::PhishingAttachment
            | Action::SqlInjection
            | Action::PathTraversal
            | Action::Log4Shell => Stage::Intrusion,
            Action::ScheduledTask | Action::ServiceInstall | Action::RunKey => Stage::Execution,
            Action::Beacon => Stage::CommandAndControl,
            Action::LsassDump | Action::BruteForce => Stage::CredentialAccess,
            Action::LateralSmb | Action::LateralWmi | Action::LateralRdp => Stage::LateralMovement,
            Action::Collect => Stage::Collection,
            Action::Exfiltrate => Stage::Exfiltration,
            Action::ClearLogs | Action::DeleteFiles => Stage::DefenseEvasion,
        }
    }

    /// The technique a step of this action shows unless the scenario names another.
    pub fn default_technique(self) -> &'static str {
        match self {
            Action::PortScan => "T1046",
            Action::WebScan => "T1595.002",
            Action::PhishingAttachment => "T1566.001",
            Action::SqlInjection | Action::PathTraversal | Action::Log4Shell => "T1190",
            Action::ScheduledTask => "T1053.005",
            Action::ServiceInstall => "T1543.003",
            Action::RunKey => "T1547.001",
            Action::Beacon => "T1071.001",
            Action::LsassDump => "T1003.001",
            Action::BruteForce => "T1110.001",
            Action::LateralSmb => "T1021.002",
            Action::LateralWmi => "T1047",
            Action::LateralRdp => "T1021.001",
            Action::Collect => "T1560.001",
            Action::Exfiltrate => "T1048",
            Action::ClearLogs => "T1070.001",
            Action::DeleteFiles => "T1070.004",
        }
    }
}

/// One campaign step.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub id: String,
    pub action: Action,
    /// ATT&CK technique id; defaults to the action's usual technique.
    #[serde(default)]
    pub technique: Option<String>,
    /// When: `+30m` after the previous step (or the start, for the first), or
    /// `@26h` from the start of the scenario.
    pub at: String,
    /// The host acted on (by name).
    pub target: String,
    /// The account used, where it matters.
    #[serde(default)]
    pub user: Option<String>,
    /// Where it comes from: a host name for lateral movement, else the actor.
    #[serde(default)]
    pub source: Option<String>,
    /// Action-specific settings (see the scenario documentation).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

/// What a trainee is expected to report.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerKey {
    #[serde(default)]
    pub incidents: Vec<ExpectedIncident>,
}

#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectedIncident {
    pub title: String,
    /// Hosts the incident must cover.
    pub hosts: Vec<String>,
    /// Stages it must show (tactic names).
    pub stages: Vec<String>,
    /// Actions expected in each response phase.
    #[serde(default)]
    pub phases: BTreeMap<String, Vec<String>>,
}

/// The JSON schema of the scenario format.
pub fn schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Scenario)).unwrap_or_default()
}

/// Parses `30s`, `15m`, `2h`, `3d` and sums such as `1d12h30m` into nanoseconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let n: f64 = number.parse().ok()?;
        number.clear();
        let unit: f64 = match c {
            's' => 1e9,
            'm' => 60e9,
            'h' => 3600e9,
            'd' => 86_400e9,
            _ => return None,
        };
        total = total.checked_add((n * unit) as i64)?;
    }
    number.is_empty().then_some(total)
}

/// A resolved step time relative to the start: `+…` after `previous`, `@…` absolute.
pub fn step_offset(at: &str, previous: i64) -> Option<i64> {
    let at = at.trim();
    if let Some(rest) = at.strip_prefix('+') {
        return previous.checked_add(parse_duration(rest)?);
    }
    if let Some(rest) = at.strip_prefix('@') {
        return parse_duration(rest);
    }
    None
}

impl Scenario {
    /// Reads a scenario and checks it (names, times, addresses); `file` names the source
    /// in errors.
    pub fn from_yaml(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
        let s: Scenario = serde_saphyr::from_str(text).map_err(|e| ScenarioError::Yaml {
            file: file.to_string(),
            message: e.to_string(),
        })?;
        s.validate(file)?;
        Ok(s)
    }

    /// The start as nanoseconds since the epoch.
    pub fn start_nanos(&self) -> Option<i64> {
        let t: jiff::Timestamp = self.start.trim().parse().ok()?;
        i64::try_from(t.as_nanosecond()).ok()
    }

    /// Checks the scenario again after a change (e.g. a shorter duration).
    pub fn check(&self, file: &str) -> Result<(), ScenarioError> {
        self.validate(file)
    }

    fn validate(&self, file: &str) -> Result<(), ScenarioError> {
        let bad = |place: String, message: String| ScenarioError::Invalid {
            file: file.to_string(),
            place,
            message,
        };
        if self.start_nanos().is_none() {
            return Err(bad(
                "start".into(),
                format!("`{}` is not an RFC 3339 time", self.start),
            ));
        }
        let duration = parse_duration(&self.duration)
            .filter(|d| *d > 0)
            .ok_or_else(|| {
                bad(
                    "duration".into(),
                    format!("`{}` is not a duration", self.duration),
                )
            })?;
        let org = &self.organisation;
        let host = |name: &str| org.hosts.iter().any(|h| h.name.eq_ignore_ascii_case(name));
        for (i, h) in org.hosts.iter().enumerate() {
            if h.ip.parse::<std::net::Ipv4Addr>().is_err() {
                return Err(bad(
                    format!("organisation.hosts[{i}].ip"),
                    format!("`{}` is not an IPv4 address", h.ip),
                ));
            }
            if org.hosts[..i]
                .iter()
                .any(|o| o.name.eq_ignore_ascii_case(&h.name))
            {
                return Err(bad(
                    format!("organisation.hosts[{i}].name"),
                    format!("`{}` appears twice", h.name),
                ));
            }
        }
        for (i, u) in org.users.iter().enumerate() {
            if !host(&u.workstation) {
                return Err(bad(
                    format!("organisation.users[{i}].workstation"),
                    format!("no host named `{}`", u.workstation),
                ));
            }
        }
        for ip in [&org.public_ip, &self.campaign.actor.ip] {
            if ip.parse::<std::net::Ipv4Addr>().is_err() {
                return Err(bad(
                    "address".into(),
                    format!("`{ip}` is not an IPv4 address"),
                ));
            }
        }
        let mut at = 0i64;
        for (i, step) in self.campaign.steps.iter().enumerate() {
            let place = format!("campaign.steps[{i}] ({})", step.id);
            at = step_offset(&step.at, at).ok_or_else(|| {
                bad(
                    place.clone(),
                    format!("`at: {}` must be `+duration` or `@duration`", step.at),
                )
            })?;
            if at > duration {
                return Err(bad(
                    place,
                    format!("happens after the scenario ends ({})", self.duration),
                ));
            }
            if !host(&step.target) {
                return Err(bad(place, format!("no host named `{}`", step.target)));
            }
            if let Some(src) = &step.source
                && !host(src)
            {
                return Err(bad(place, format!("no host named `{src}`")));
            }
            if let Some(u) = &step.user
                && !org.users.iter().any(|x| x.name.eq_ignore_ascii_case(u))
                && !u.eq_ignore_ascii_case("administrator")
            {
                return Err(bad(place, format!("no user named `{u}`")));
            }
            if self.campaign.steps[..i].iter().any(|s| s.id == step.id) {
                return Err(bad(place, "step ids must be unique".into()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Some(90_000_000_000));
        assert_eq!(parse_duration("1d12h"), Some(36 * 3_600_000_000_000));
        assert_eq!(parse_duration("1.5h"), Some(5_400_000_000_000));
        assert_eq!(parse_duration("12"), None);
        assert_eq!(parse_duration("3w"), None);
        assert_eq!(step_offset("+30m", 60), Some(60 + 1_800_000_000_000));
        assert_eq!(step_offset("@1h", 999), Some(3_600_000_000_000));
        assert_eq!(step_offset("30m", 0), None);
    }
}
