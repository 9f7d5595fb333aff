//! The organisation as the background generators see it for one hour: which host plays
//! which role (by index into the world, with the address and names records need), the
//! people with their workstation and department, and each person's plan for a day
//! (arrival, departure, and the applications they keep open all day), which has to
//! agree between the hours of that day and so is drawn from a stream derived from the
//! seeded world and the date rather than from the hour's.

use rand::{Rng, RngCore};

use super::{DAY, MIN, SEC, fnv};
use crate::scenario::{Os, Role, Scenario};
use crate::world::{Proc, World, rng_for};

/// A host with a role.
#[derive(Clone, Debug)]
pub(super) struct Srv {
    pub index: usize,
    /// Short name (`FS01`).
    pub name: String,
    pub fqdn: String,
    pub ip: String,
}

/// What a person works on, from their workstation's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Dept {
    Accounting,
    Sales,
    It,
    General,
}

#[derive(Clone, Debug)]
pub(super) struct Person {
    pub index: usize,
    pub name: String,
    /// `CORP\mtanaka`.
    pub qualified: String,
    pub admin: bool,
    pub dept: Dept,
    /// The workstation: index, short name, address.
    pub ws: usize,
    pub ws_name: String,
    pub ws_ip: String,
    pub logon_id: String,
    pub explorer: Proc,
    /// `HKU\S-1-5-21-…`, the root of the user's registry hive as Sysmon names it.
    pub hive: String,
    /// Chrome, or Edge.
    pub chrome: bool,
}

pub(super) struct Org {
    pub domain: String,
    pub netbios: String,
    pub public_ip: String,
    pub website: Option<String>,
    pub dns: Option<Srv>,
    pub proxy: Option<Srv>,
    pub firewall: Option<Srv>,
    pub web: Option<Srv>,
    pub mail: Option<Srv>,
    pub fs: Option<Srv>,
    pub dc: Option<Srv>,
    pub windows: Vec<Srv>,
    pub linux: Vec<Srv>,
    pub users: Vec<Person>,
    /// Where the nightly backup goes: an internal storage box beside the file server.
    pub backup_ip: String,
    /// Seed-derived salt for the day plans.
    salt: u64,
}

fn srv(world: &World, index: usize) -> Option<Srv> {
    let h = world.hosts.get(index)?;
    Some(Srv {
        index,
        name: h.name.clone(),
        fqdn: h.fqdn.clone(),
        ip: h.ip.clone(),
    })
}

impl Org {
    pub fn new(world: &World, s: &Scenario) -> Org {
        let role = |r: Role| world.with_role(r).next().and_then(|i| srv(world, i));
        let of_os = |os: Os| {
            world
                .hosts
                .iter()
                .enumerate()
                .filter(|(_, h)| h.os == os)
                .filter_map(|(i, _)| srv(world, i))
                .collect::<Vec<_>>()
        };
        let mut salt = fnv(&world.domain);
        for h in &world.hosts {
            salt = salt.rotate_left(7) ^ fnv(&h.system.guid);
        }
        for u in &world.users {
            salt = salt.rotate_left(11) ^ fnv(&u.logon_id) ^ fnv(&u.explorer.guid);
        }
        let domain_sid = {
            let h = fnv(&world.domain);
            format!(
                "S-1-5-21-{}-{}-{}",
                1_000_000_000 + (h & 0x7FFF_FFFF) % 3_000_000_000,
                1_000_000_000 + ((h >> 20) & 0x7FFF_FFFF) % 3_000_000_000,
                100_000_000 + (h >> 40) % 900_000_000
            )
        };
        let users = world
            .users
            .iter()
            .enumerate()
            .filter_map(|(index, u)| {
                let ws = world.hosts.get(u.workstation)?;
                let upper = ws.name.to_ascii_uppercase();
                let dept = if upper.contains("ACCT") || upper.contains("FIN") {
                    Dept::Accounting
                } else if upper.contains("SALES") {
                    Dept::Sales
                } else if u.admin || upper.contains("-IT") {
                    Dept::It
                } else {
                    Dept::General
                };
                Some(Person {
                    index,
                    name: u.name.clone(),
                    qualified: u.qualified.clone(),
                    admin: u.admin,
                    dept,
                    ws: u.workstation,
                    ws_name: ws.name.clone(),
                    ws_ip: ws.ip.clone(),
                    logon_id: u.logon_id.clone(),
                    explorer: u.explorer.clone(),
                    hive: format!("HKU\\{domain_sid}-{}", 1104 + index),
                    chrome: !fnv(&u.name).is_multiple_of(3),
                })
            })
            .collect();
        let fs = role(Role::FileServer);
        let backup_ip = match fs.as_ref().map(|f| f.ip.parse::<std::net::Ipv4Addr>()) {
            Some(Ok(ip)) => {
                let [a, b, c, d] = ip.octets();
                let last = if d == 250 { 251 } else { 250 };
                std::net::Ipv4Addr::new(a, b, c, last).to_string()
            }
            _ => "10.0.0.250".to_string(),
        };
        Org {
            domain: world.domain.clone(),
            netbios: world.netbios.clone(),
            public_ip: world.public_ip.clone(),
            website: world
                .website
                .clone()
                .or_else(|| s.organisation.website.clone()),
            dns: role(Role::DnsServer),
            proxy: role(Role::Proxy),
            firewall: role(Role::Firewall),
            web: role(Role::WebServer),
            mail: role(Role::MailServer),
            fs,
            dc: role(Role::DomainController),
            windows: of_os(Os::Windows),
            linux: of_os(Os::Linux),
            users,
            backup_ip,
            salt,
        }
    }

    /// The admins, for admin work.
    pub fn admins(&self) -> impl Iterator<Item = &Person> {
        self.users.iter().filter(|p| p.admin)
    }
}

/// A person's working day: when they arrive and leave, and what they keep open.
#[derive(Clone, Debug)]
pub(super) struct DayPlan {
    pub arrive: i64,
    pub leave: i64,
    /// Applications started after the logon (browser, Outlook, Teams, OneDrive), each
    /// with its start time.
    pub browser: (i64, Proc),
    pub outlook: (i64, Proc),
    pub teams: (i64, Proc),
    pub onedrive: (i64, Proc),
}

pub(super) const CHROME: &str = "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe";
pub(super) const EDGE: &str = "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe";
pub(super) const OUTLOOK: &str = "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE";
const TEAMS: &str =
    "C:\\Program Files\\WindowsApps\\MSTeams_25031.805.3440.5290_x64__8wekyb3d8bbwe\\ms-teams.exe";

/// The plan of `p` for day `day` (days since the epoch), or None when they do not come
/// in (weekends, mostly) or there are no working hours.
pub(super) fn day_plan(
    world: &World,
    org: &Org,
    p: &Person,
    day: i64,
    work: Option<(u8, u8)>,
    work_len: f64,
    presence_weekend: f64,
) -> Option<DayPlan> {
    let (first, _) = work?;
    let mut rng = rng_for(
        org.salt ^ (day as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        0x0DA7_0000 + p.index as u64,
    );
    let weekday = (day + 4).rem_euclid(7);
    let weekend = weekday == 0 || weekday == 6;
    let presence = if weekend { presence_weekend } else { 1.0 };
    if rng.random::<f64>() >= presence {
        return None;
    }
    let day_start = day * DAY;
    let hours = (work_len as i64).max(1);
    let arrive = day_start + i64::from(first) * 60 * MIN + rng.random_range(0..45 * MIN);
    let leave =
        day_start + (i64::from(first) + hours - 1) * 60 * MIN + rng.random_range(MIN..55 * MIN);
    let host = world.hosts.get(p.ws)?;
    let prefix = host.system.guid.get(1..9).unwrap_or("00000000").to_string();
    let mut app = |delay: (i64, i64), image: &str, command_line: String| {
        let t = arrive + rng.random_range(delay.0..delay.1);
        let pid = 4 * rng.random_range(600..15_000u32);
        let guid = format!(
            "{{{prefix}-{:04x}-{:04x}-{:04x}-{:012x}}}",
            rng.next_u32() & 0xffff,
            (day as u64 >> 4) & 0xffff,
            rng.next_u32() & 0xffff,
            rng.next_u64() & 0xffff_ffff_ffff
        );
        let folder = image
            .rsplit_once('\\')
            .map(|(d, _)| d)
            .unwrap_or("C:\\Windows\\system32");
        let proc_ = Proc {
            guid,
            pid,
            image: image.to_string(),
            command_line,
            user: p.qualified.clone(),
            integrity: "Medium",
            current_directory: format!("{folder}\\"),
        };
        (t, proc_)
    };
    let onedrive_image = format!(
        "C:\\Users\\{}\\AppData\\Local\\Microsoft\\OneDrive\\OneDrive.exe",
        p.name
    );
    let teams = app(
        (20 * SEC, 90 * SEC),
        TEAMS,
        format!("\"{TEAMS}\" msteams:system-initiated"),
    );
    let onedrive = app(
        (15 * SEC, 60 * SEC),
        &onedrive_image,
        format!("\"{onedrive_image}\" /background"),
    );
    let outlook = app((MIN, 5 * MIN), OUTLOOK, format!("\"{OUTLOOK}\" "));
    let browser = if p.chrome {
        app((2 * MIN, 9 * MIN), CHROME, format!("\"{CHROME}\" "))
    } else {
        app(
            (2 * MIN, 9 * MIN),
            EDGE,
            format!("\"{EDGE}\" --profile-directory=Default"),
        )
    };
    Some(DayPlan {
        arrive,
        leave: leave.max(arrive + 30 * MIN),
        browser,
        outlook,
        teams,
        onedrive,
    })
}
