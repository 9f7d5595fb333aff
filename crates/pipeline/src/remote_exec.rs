//! Remote execution: a process started inside a network logon session.
//!
//! Windows gives every logon a session id (`TargetLogonId` in Security event 4624) and
//! stamps it on every process started in that session (`LogonId` of Sysmon event 1,
//! `TargetLogonId` of Security event 4688). A network logon (logon type 3) is how a
//! remote machine reaches this one: reading a share, querying WMI, calling DCOM. It
//! starts no process by itself; a process started *inside* it is one a remote caller
//! made run here: WMI `Win32_Process.Create`, DCOM objects (Excel, MMC, ShellWindows),
//! PowerShell remoting. That is lateral movement, whatever the tool.
//!
//! [`RemoteExecFields::observe`] reads a network logon or a process's session from an
//! event; [`find_remote_executions`] joins a whole run's (`hunt`, where the logon and the
//! process may be in different files), [`RemoteExecTracker`] the server's batch after
//! batch. Either reports each remote session once, as a detection of rule
//! `remote-execution`, with the processes it started.
//!
//! Logons of machine accounts (`HOST$`, as domain members talk to each other all day),
//! anonymous and service logons, and logons from this machine itself (loopback, or a
//! workstation name that is the host's own) are not remote callers and are left out. A
//! logon naming no address and no workstation is kept: PowerShell remoting's are so.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::json;
use watchfloor_decode::time::format_rfc3339;
use watchfloor_event::{Event, FieldId, FieldTable, Timestamp, Value};
use watchfloor_triage::detection::Entities;

use crate::detect::DetectionRow;
use crate::entities::{EntityFields, first};

/// Rule id of remote execution detections.
pub const REMOTE_EXEC_RULE_ID: &str = "remote-execution";
/// Their title.
pub const REMOTE_EXEC_TITLE: &str = "Remote execution: process started by a network logon";

/// Processes of one session listed in its detection; the rest are counted.
pub const PROCESSES_LISTED: usize = 8;
/// A process may be stamped up to this long before its logon event (the two come
/// from different logs, whose clocks are the same machine's but whose timestamps
/// are rounded differently).
const SKEW_NS: i64 = 2_000_000_000;

/// A logon session on one machine: the machine's short name, lower case, and the
/// session id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionKey {
    pub host: String,
    pub logon_id: u64,
}

/// A network logon by a remote caller (Security 4624, logon type 3).
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkLogon {
    pub key: SessionKey,
    pub time_ns: i64,
    /// `DOMAIN\user`, or the user alone when no domain is named.
    pub user: String,
    pub source_ip: Option<String>,
    pub workstation: Option<String>,
    pub auth_package: Option<String>,
    pub source: Arc<str>,
    pub record: u64,
}

/// A process started in a logon session that is not one of the system's own.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionProcess {
    pub key: SessionKey,
    pub time_ns: i64,
    /// The host as the event names it.
    pub host: String,
    pub image: Option<String>,
    pub command_line: Option<String>,
    pub parent_image: Option<String>,
    pub process_guid: Option<String>,
    pub parent_guid: Option<String>,
    pub source: Arc<str>,
    pub record: u64,
}

/// What one event tells the analysis.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    Logon(NetworkLogon),
    Process(SessionProcess),
}

/// A remote session that started processes.
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteExecution {
    pub logon: NetworkLogon,
    /// The first processes it started, in time order, at most [`PROCESSES_LISTED`].
    pub processes: Vec<SessionProcess>,
    /// How many more it started.
    pub more: usize,
}

/// The field ids the analysis reads, resolved once.
pub struct RemoteExecFields {
    entity: EntityFields,
    event_id: FieldId,
    logon_type: FieldId,
    target_logon_id: FieldId,
    target_user: FieldId,
    target_domain: FieldId,
    ip: FieldId,
    workstation: FieldId,
    auth_package: FieldId,
    logon_id: FieldId,
    image: Vec<FieldId>,
    command_line: FieldId,
    parent_image: Vec<FieldId>,
    process_guid: FieldId,
    parent_guid: FieldId,
}

impl RemoteExecFields {
    pub fn new(table: &FieldTable) -> Self {
        let ids = |names: &[&str]| names.iter().map(|n| table.intern(n)).collect::<Vec<_>>();
        RemoteExecFields {
            entity: EntityFields::new(table),
            event_id: table.intern("EventID"),
            logon_type: table.intern("LogonType"),
            target_logon_id: table.intern("TargetLogonId"),
            target_user: table.intern("TargetUserName"),
            target_domain: table.intern("TargetDomainName"),
            ip: table.intern("IpAddress"),
            workstation: table.intern("WorkstationName"),
            auth_package: table.intern("AuthenticationPackageName"),
            logon_id: table.intern("LogonId"),
            image: ids(&["Image", "NewProcessName"]),
            command_line: table.intern("CommandLine"),
            parent_image: ids(&["ParentImage", "ParentProcessName"]),
            process_guid: table.intern("ProcessGuid"),
            parent_guid: table.intern("ParentProcessGuid"),
        }
    }

    /// The network logon or the session's process `ev` records, if any.
    pub fn observe(&self, ev: &Event) -> Option<Observation> {
        let ls = &ev.logsource;
        if ls.category() == Some("process_creation") && ls.product() == Some("windows") {
            return self.process(ev).map(Observation::Process);
        }
        if ls.service() == Some("security") && number(ev.get(self.event_id)?) == Some(4624) {
            return self.logon(ev).map(Observation::Logon);
        }
        None
    }

    fn logon(&self, ev: &Event) -> Option<NetworkLogon> {
        if number(ev.get(self.logon_type)?) != Some(3) {
            return None;
        }
        let user = text(ev, self.target_user)?;
        if !is_remote_caller(&user) {
            return None;
        }
        let host = short_name(&self.entity.host(ev)?);
        let logon_id = logon_id(ev.get(self.target_logon_id)?)?;
        // A logon from this machine itself: loopback, or its own name. Remote logons
        // over WinRM (Kerberos over HTTP) name neither an address nor a workstation.
        let source_ip = text(ev, self.ip);
        if source_ip.as_deref().is_some_and(is_loopback) {
            return None;
        }
        let workstation = text(ev, self.workstation);
        if workstation
            .as_deref()
            .is_some_and(|w| w.eq_ignore_ascii_case(&host) || w == "localhost")
        {
            return None;
        }
        let user = match text(ev, self.target_domain) {
            Some(domain) => format!("{domain}\\{user}"),
            None => user,
        };
        Some(NetworkLogon {
            key: SessionKey { host, logon_id },
            time_ns: ev.time.0,
            user,
            source_ip,
            workstation,
            auth_package: text(ev, self.auth_package),
            source: ev.source.name.clone(),
            record: ev.source.record,
        })
    }

    fn process(&self, ev: &Event) -> Option<SessionProcess> {
        let logon_id = logon_id(ev.get(self.logon_id)?)?;
        if is_system_session(logon_id) {
            return None;
        }
        let host = self.entity.host(ev)?;
        Some(SessionProcess {
            key: SessionKey {
                host: short_name(&host),
                logon_id,
            },
            time_ns: ev.time.0,
            host,
            image: first(ev, &self.image),
            command_line: text(ev, self.command_line),
            parent_image: first(ev, &self.parent_image),
            process_guid: text(ev, self.process_guid),
            parent_guid: text(ev, self.parent_guid),
            source: ev.source.name.clone(),
            record: ev.source.record,
        })
    }
}

fn text(ev: &Event, id: FieldId) -> Option<String> {
    first(ev, std::slice::from_ref(&id))
}

fn number(v: Value<'_>) -> Option<i64> {
    match v {
        Value::Int(n) => Some(n),
        Value::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A logon id as Windows writes it (`0x3e7`), or as a number.
fn logon_id(v: Value<'_>) -> Option<u64> {
    let id = match v {
        Value::Int(n) => u64::try_from(n).ok()?,
        Value::Str(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok()?,
                None => s.parse().ok()?,
            }
        }
        _ => return None,
    };
    (id != 0).then_some(id)
}

/// The sessions Windows itself runs in: SYSTEM, NETWORK SERVICE, LOCAL SERVICE, and
/// the anonymous session.
fn is_system_session(id: u64) -> bool {
    (0x3e4..=0x3e7).contains(&id)
}

/// Whether a logon's account can be a person or a tool acting remotely: not a machine
/// account, not anonymous, not one of the service identities.
fn is_remote_caller(user: &str) -> bool {
    let u = user.trim();
    !(u.ends_with('$')
        || u.eq_ignore_ascii_case("ANONYMOUS LOGON")
        || u.eq_ignore_ascii_case("SYSTEM")
        || u.eq_ignore_ascii_case("LOCAL SERVICE")
        || u.eq_ignore_ascii_case("NETWORK SERVICE"))
}

fn is_loopback(ip: &str) -> bool {
    ip.trim()
        .parse::<std::net::IpAddr>()
        .is_ok_and(|a| a.is_loopback() || a.is_unspecified())
}

/// A host name's first label, lower case: Sysmon and the Security log of one machine
/// may name it with or without its domain.
fn short_name(host: &str) -> String {
    host.split('.').next().unwrap_or(host).to_ascii_lowercase()
}

/// The remote sessions among a whole run's logons and processes, in time order.
/// Processes are matched to the first network logon of their session on their
/// machine; a process stamped before its logon (beyond a little clock rounding) is
/// not its.
pub fn find_remote_executions(
    mut logons: Vec<NetworkLogon>,
    mut processes: Vec<SessionProcess>,
) -> Vec<RemoteExecution> {
    logons.sort_by_key(|l| l.time_ns);
    let mut by_key: HashMap<SessionKey, RemoteExecution> = HashMap::new();
    for logon in logons {
        by_key
            .entry(logon.key.clone())
            .or_insert_with(|| RemoteExecution {
                logon,
                processes: Vec::new(),
                more: 0,
            });
    }
    processes.sort_by_key(|p| p.time_ns);
    for p in processes {
        let Some(exec) = by_key.get_mut(&p.key) else {
            continue;
        };
        if p.time_ns < exec.logon.time_ns - SKEW_NS {
            continue;
        }
        // Sysmon and 4688 may both record one process; list it once, with what
        // either says.
        if let Some(q) = exec.processes.iter_mut().find(|q| q.same_process(&p)) {
            q.absorb(p);
            continue;
        }
        if exec.processes.len() < PROCESSES_LISTED {
            exec.processes.push(p);
        } else {
            exec.more += 1;
        }
    }
    let mut found: Vec<RemoteExecution> = by_key
        .into_values()
        .filter(|e| !e.processes.is_empty())
        .collect();
    found.sort_by(|a, b| {
        (a.processes[0].time_ns, &a.logon.key).cmp(&(b.processes[0].time_ns, &b.logon.key))
    });
    found
}

impl SessionProcess {
    /// Fills what this record of a process lacks from another record of it.
    fn absorb(&mut self, other: SessionProcess) {
        for (mine, theirs) in [
            (&mut self.image, other.image),
            (&mut self.command_line, other.command_line),
            (&mut self.parent_image, other.parent_image),
            (&mut self.process_guid, other.process_guid),
            (&mut self.parent_guid, other.parent_guid),
        ] {
            if mine.is_none() {
                *mine = theirs;
            }
        }
    }

    /// Whether `other` records the same process start (one from Sysmon, one from the
    /// Security log): same image within a second.
    fn same_process(&self, other: &SessionProcess) -> bool {
        (self.time_ns - other.time_ns).abs() <= 1_000_000_000
            && self.image.as_deref().map(str::to_ascii_lowercase)
                == other.image.as_deref().map(str::to_ascii_lowercase)
    }
}

/// Bounds of the server's analysis.
#[derive(Debug, Clone)]
pub struct RemoteExecConfig {
    /// Network logons remembered at once; the oldest are forgotten past it.
    pub max_logons: usize,
    /// How long a network logon is remembered after it began.
    pub logon_ttl_ns: i64,
    /// Processes remembered while their session's logon has not been seen (the
    /// Security and Sysmon logs may arrive out of order).
    pub max_pending: usize,
    /// How long such a process waits for its logon.
    pub pending_ttl_ns: i64,
}

impl Default for RemoteExecConfig {
    fn default() -> Self {
        RemoteExecConfig {
            max_logons: 100_000,
            logon_ttl_ns: 24 * 3600 * 1_000_000_000,
            max_pending: 20_000,
            pending_ttl_ns: 10 * 60 * 1_000_000_000,
        }
    }
}

#[derive(Debug)]
struct Remembered {
    logon: NetworkLogon,
    reported: bool,
}

/// Network logons seen recently, for the server: a session is reported at its first
/// process, once.
#[derive(Debug, Default)]
pub struct RemoteExecTracker {
    cfg: RemoteExecConfig,
    logons: HashMap<SessionKey, Remembered>,
    /// Processes waiting for their session's logon, by session (the first few each).
    pending: HashMap<SessionKey, Vec<SessionProcess>>,
    /// How many processes `pending` holds.
    pending_count: usize,
    /// Logons and waiting processes forgotten to stay within the bounds.
    pub forgotten: u64,
}

impl RemoteExecTracker {
    pub fn new(cfg: RemoteExecConfig) -> Self {
        RemoteExecTracker {
            cfg,
            ..Default::default()
        }
    }

    /// Takes one observation; returns the remote sessions it makes clear.
    pub fn observe(&mut self, obs: Observation) -> Vec<RemoteExecution> {
        match obs {
            Observation::Logon(logon) => self.logon(logon),
            Observation::Process(p) => self.process(p).into_iter().collect(),
        }
    }

    fn logon(&mut self, logon: NetworkLogon) -> Vec<RemoteExecution> {
        if self.logons.contains_key(&logon.key) {
            return Vec::new();
        }
        if self.logons.len() >= self.cfg.max_logons {
            self.forget(logon.time_ns);
        }
        let start = logon.time_ns - SKEW_NS;
        let waiting = self.pending.remove(&logon.key).unwrap_or_default();
        self.pending_count -= waiting.len();
        let processes: Vec<SessionProcess> =
            waiting.into_iter().filter(|p| p.time_ns >= start).collect();
        let reported = !processes.is_empty();
        let found = reported.then(|| RemoteExecution {
            logon: logon.clone(),
            processes,
            more: 0,
        });
        self.logons
            .insert(logon.key.clone(), Remembered { logon, reported });
        found.into_iter().collect()
    }

    fn process(&mut self, p: SessionProcess) -> Option<RemoteExecution> {
        match self.logons.get_mut(&p.key) {
            Some(r) if !r.reported && p.time_ns >= r.logon.time_ns - SKEW_NS => {
                r.reported = true;
                Some(RemoteExecution {
                    logon: r.logon.clone(),
                    processes: vec![p],
                    more: 0,
                })
            }
            Some(_) => None,
            None => {
                self.wait(p);
                None
            }
        }
    }

    /// Keeps a process whose session's logon has not been seen (its first few per
    /// session), within `max_pending`: past it, those older than `pending_ttl` go,
    /// or all when none is that old.
    fn wait(&mut self, p: SessionProcess) {
        if self.pending_count >= self.cfg.max_pending {
            let horizon = p.time_ns - self.cfg.pending_ttl_ns;
            let before = self.pending_count;
            self.pending.retain(|_, ps| {
                ps.retain(|q| q.time_ns >= horizon);
                !ps.is_empty()
            });
            self.pending_count = self.pending.values().map(Vec::len).sum();
            if self.pending_count >= self.cfg.max_pending {
                self.pending.clear();
                self.pending_count = 0;
            }
            self.forgotten += (before - self.pending_count) as u64;
        }
        let waiting = self.pending.entry(p.key.clone()).or_default();
        if waiting.len() < PROCESSES_LISTED {
            waiting.push(p);
            self.pending_count += 1;
        }
    }

    /// Forgets logons older than their time to live, or all when none is that old.
    fn forget(&mut self, now_ns: i64) {
        let before = self.logons.len();
        let horizon = now_ns - self.cfg.logon_ttl_ns;
        self.logons.retain(|_, r| r.logon.time_ns >= horizon);
        if self.logons.len() >= self.cfg.max_logons {
            self.logons.clear();
        }
        self.forgotten += (before - self.logons.len()) as u64;
    }
}

/// The ATT&CK technique the way the process was started shows: WMI, PowerShell
/// remoting, DCOM, or remote services in general.
fn technique(first: &SessionProcess) -> (&'static str, &'static str) {
    let file_name = |path: &Option<String>| {
        path.as_deref()
            .map(|p| {
                p.rsplit(['\\', '/'])
                    .next()
                    .unwrap_or(p)
                    .to_ascii_lowercase()
            })
            .unwrap_or_default()
    };
    let image = file_name(&first.image);
    let parent = file_name(&first.parent_image);
    let command = first
        .command_line
        .as_deref()
        .unwrap_or("")
        .to_ascii_lowercase();
    let winrm = ["wsmprovhost.exe", "winrshost.exe"];
    if winrm.contains(&image.as_str()) || winrm.contains(&parent.as_str()) {
        return (
            "attack.t1021.006",
            "Windows Remote Management (PowerShell remoting, WinRS)",
        );
    }
    match parent.as_str() {
        "wmiprvse.exe" => ("attack.t1047", "WMI"),
        "svchost.exe" | "dllhost.exe" | "mmc.exe" | "explorer.exe"
            if command.contains("-embedding") || command.contains("/automation") =>
        {
            ("attack.t1021.003", "a DCOM object")
        }
        _ => ("attack.t1021", "a remote service"),
    }
}

impl RemoteExecution {
    /// The detection row of this session.
    pub fn row(&self) -> DetectionRow {
        let l = &self.logon;
        let p = &self.processes[0];
        let (tag, how) = technique(p);
        let mut entities = Entities {
            host: Some(p.host.clone()),
            user: Some(l.user.clone()),
            src_ip: l.source_ip.clone(),
            process: p.process_guid.clone(),
            parent_process: p.parent_guid.clone(),
            image: p.image.clone(),
            indicators: l
                .source_ip
                .iter()
                .filter(|ip| crate::entities::is_public(ip))
                .cloned()
                .collect(),
            ..Default::default()
        };
        entities.normalize();
        let time = format_rfc3339(Timestamp(p.time_ns));
        let logon_time = format_rfc3339(Timestamp(l.time_ns));
        let from = l
            .source_ip
            .clone()
            .or_else(|| l.workstation.clone())
            .unwrap_or_else(|| "(not recorded)".to_owned());
        let mut matched = vec![
            ("user".to_owned(), l.user.clone()),
            ("from".to_owned(), from),
            ("logon_id".to_owned(), format!("{:#x}", l.key.logon_id)),
            ("logon_time".to_owned(), logon_time.clone()),
            ("started_by".to_owned(), how.to_owned()),
        ];
        for (name, value) in [
            ("Image", &p.image),
            ("CommandLine", &p.command_line),
            ("ParentImage", &p.parent_image),
        ] {
            if let Some(v) = value {
                matched.push((name.to_owned(), v.clone()));
            }
        }
        matched.push((
            "processes".to_owned(),
            (self.processes.len() + self.more).to_string(),
        ));
        let processes: Vec<_> = self
            .processes
            .iter()
            .map(|q| {
                json!({
                    "time": format_rfc3339(Timestamp(q.time_ns)),
                    "Image": q.image,
                    "CommandLine": q.command_line,
                    "ParentImage": q.parent_image,
                })
            })
            .collect();
        let event = json!({
            "analysis": REMOTE_EXEC_RULE_ID,
            "host": p.host,
            "user": l.user,
            "source_ip": l.source_ip,
            "workstation": l.workstation,
            "authentication": l.auth_package,
            "logon_id": format!("{:#x}", l.key.logon_id),
            "logon_time": logon_time,
            "logon_event": {"source": l.source.as_ref(), "record": l.record},
            "processes": processes,
            "more_processes": self.more,
        });
        DetectionRow {
            time: Some(time),
            rule_id: Some(REMOTE_EXEC_RULE_ID.to_owned()),
            rule_title: REMOTE_EXEC_TITLE.to_owned(),
            level: "medium",
            tags: vec!["attack.lateral-movement".into(), tag.into()],
            host: Some(p.host.clone()),
            source: p.source.to_string(),
            record: p.record,
            matched,
            event: event.to_string(),
            entities,
            indicator: None,
            time_ns: p.time_ns,
        }
    }
}

#[cfg(test)]
#[path = "remote_exec_tests.rs"]
mod tests;
