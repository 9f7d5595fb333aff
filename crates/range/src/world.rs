//! The simulated organisation at run time: hosts with their addresses and running
//! processes, users with their sessions, and the deterministic random source every
//! generator draws from.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::scenario::{Os, Role, Scenario};

/// A running (or once-running) process, as Sysmon describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proc {
    pub guid: String,
    pub pid: u32,
    pub image: String,
    pub command_line: String,
    /// `DOMAIN\user` or `NT AUTHORITY\SYSTEM`.
    pub user: String,
    pub integrity: &'static str,
    pub current_directory: String,
}

impl Proc {
    /// The file name of the image (`powershell.exe`).
    pub fn file_name(&self) -> &str {
        self.image.rsplit('\\').next().unwrap_or(&self.image)
    }
}

#[derive(Clone, Debug)]
pub struct HostState {
    /// Short name, as in the scenario.
    pub name: String,
    /// `WS-ACCT-07.corp.example`.
    pub fqdn: String,
    pub ip: String,
    pub os: Os,
    pub role: Role,
    /// Always-running processes: `services.exe`, `svchost.exe`, `wmiprvse.exe` parents.
    pub system: Proc,
    pub services: Proc,
    pub svchost: Proc,
    next_pid: u32,
    guid_prefix: u32,
    guid_counter: u64,
    /// The numbering of the host's audit events (Linux hosts): booted two to nine
    /// days before the scenario starts.
    pub audit: crate::net::AuditClock,
}

#[derive(Clone, Debug)]
pub struct UserState {
    pub name: String,
    /// `CORP\mtanaka`.
    pub qualified: String,
    pub workstation: usize,
    pub admin: bool,
    /// The user's `explorer.exe` on the workstation.
    pub explorer: Proc,
    /// Logon id of the interactive session (`0x3E7A21`).
    pub logon_id: String,
}

/// The organisation at run time.
pub struct World {
    pub domain: String,
    pub netbios: String,
    pub public_ip: String,
    pub website: Option<String>,
    pub hosts: Vec<HostState>,
    pub users: Vec<UserState>,
}

/// The random source: ChaCha8, seeded from the scenario seed and a purpose, so each
/// generator's draws do not depend on another's.
pub fn rng_for(seed: u64, purpose: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8..16].copy_from_slice(&purpose.to_le_bytes());
    key[16..24].copy_from_slice(b"wf-range");
    ChaCha8Rng::from_seed(key)
}

/// A Sysmon-style GUID: `{host-prefix-time-...}`, unique per host and counter.
fn guid(prefix: u32, counter: u64, rng: &mut impl RngCore) -> String {
    format!(
        "{{{prefix:08x}-{:04x}-{:04x}-{:04x}-{:012x}}}",
        rng.next_u32() & 0xffff,
        (counter >> 16) & 0xffff,
        counter & 0xffff,
        rng.next_u64() & 0xffff_ffff_ffff
    )
}

impl HostState {
    /// A new process id (multiples of 4, as Windows hands them out).
    pub fn next_pid(&mut self, rng: &mut impl Rng) -> u32 {
        self.next_pid = self.next_pid.wrapping_add(4 * rng.random_range(1..40u32));
        if self.next_pid > 60_000 {
            self.next_pid = 1000 + 4 * rng.random_range(0..100u32);
        }
        self.next_pid
    }

    /// A new process on this host.
    pub fn spawn(
        &mut self,
        rng: &mut impl Rng,
        image: &str,
        command_line: &str,
        user: &str,
        integrity: &'static str,
    ) -> Proc {
        self.guid_counter += 1;
        let pid = self.next_pid(rng);
        Proc {
            guid: guid(self.guid_prefix, self.guid_counter, rng),
            pid,
            image: image.to_string(),
            command_line: command_line.to_string(),
            user: user.to_string(),
            integrity,
            current_directory: "C:\\Windows\\system32\\".to_string(),
        }
    }
}

impl World {
    pub fn new(s: &Scenario, seed: u64) -> World {
        let mut rng = rng_for(seed, 0);
        let org = &s.organisation;
        let scenario_start = s.start_nanos().unwrap_or(0);
        let mut hosts: Vec<HostState> = org
            .hosts
            .iter()
            .map(|h| {
                let prefix = rng.next_u32();
                let mut st = HostState {
                    name: h.name.clone(),
                    fqdn: format!("{}.{}", h.name, org.domain),
                    ip: h.ip.clone(),
                    os: h.os,
                    role: h.role,
                    system: Proc::default_for("System"),
                    services: Proc::default_for("services"),
                    svchost: Proc::default_for("svchost"),
                    next_pid: 600 + 4 * rng.random_range(0..50u32),
                    guid_prefix: prefix,
                    guid_counter: 0,
                    audit: crate::net::AuditClock::new(scenario_start.saturating_sub(
                        (2 * 1_440 + i64::from(prefix % (7 * 1_440))) * 60_000_000_000,
                    )),
                };
                let sys = "NT AUTHORITY\\SYSTEM";
                st.system = st.spawn(&mut rng, "System", "", sys, "System");
                st.services = st.spawn(
                    &mut rng,
                    "C:\\Windows\\System32\\services.exe",
                    "C:\\Windows\\system32\\services.exe",
                    sys,
                    "System",
                );
                st.svchost = st.spawn(
                    &mut rng,
                    "C:\\Windows\\System32\\svchost.exe",
                    "C:\\Windows\\system32\\svchost.exe -k netsvcs -p",
                    sys,
                    "System",
                );
                st
            })
            .collect();
        let users = org
            .users
            .iter()
            .map(|u| {
                let ws = hosts
                    .iter()
                    .position(|h| h.name.eq_ignore_ascii_case(&u.workstation))
                    .unwrap_or(0);
                let qualified = format!("{}\\{}", org.netbios, u.name);
                let explorer = match hosts.get_mut(ws) {
                    Some(h) => h.spawn(
                        &mut rng,
                        "C:\\Windows\\explorer.exe",
                        "C:\\Windows\\Explorer.EXE",
                        &qualified,
                        "Medium",
                    ),
                    None => Proc::default_for("explorer"),
                };
                UserState {
                    name: u.name.clone(),
                    qualified,
                    workstation: ws,
                    admin: u.admin,
                    explorer,
                    logon_id: format!("0x{:X}", rng.random_range(0x30_0000..0xFF_FFFFu32)),
                }
            })
            .collect();
        World {
            domain: org.domain.clone(),
            netbios: org.netbios.clone(),
            public_ip: org.public_ip.clone(),
            website: org.website.clone(),
            hosts,
            users,
        }
    }

    pub fn host(&self, name: &str) -> Option<usize> {
        self.hosts
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(name))
    }

    pub fn user(&self, name: &str) -> Option<usize> {
        self.users
            .iter()
            .position(|u| u.name.eq_ignore_ascii_case(name))
    }

    /// Hosts of a role.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = usize> + '_ {
        self.hosts
            .iter()
            .enumerate()
            .filter(move |(_, h)| h.role == role)
            .map(|(i, _)| i)
    }
}

impl Proc {
    fn default_for(name: &str) -> Proc {
        Proc {
            guid: String::new(),
            pid: 4,
            image: name.to_string(),
            command_line: String::new(),
            user: "NT AUTHORITY\\SYSTEM".to_string(),
            integrity: "System",
            current_directory: String::new(),
        }
    }
}

/// A deterministic hex digest-like string of `len` bytes for hashes of a named file
/// (the same file always gets the same hash within and across runs).
pub fn file_hash(name: &str, len: usize) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.to_ascii_lowercase().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let mut rng = rng_for(h, 7);
    let mut bytes = vec![0u8; len];
    rng.fill_bytes(&mut bytes);
    crate::emit::hex_upper(&bytes)
}

/// Sysmon's `Hashes` value for an image.
pub fn hashes(image: &str) -> String {
    format!(
        "MD5={},SHA256={},IMPHASH={}",
        file_hash(&format!("md5:{image}"), 16),
        file_hash(&format!("sha256:{image}"), 32),
        file_hash(&format!("imphash:{image}"), 16)
    )
}
