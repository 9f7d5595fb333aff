//! The organisation's asset inventory, as its SOC is given it: one CSV row per host
//! with its FQDN, address, other names (the short name its Linux logs use, the public
//! site a web server serves), owner, criticality by role, and tags. `hunt --assets`
//! reads it, so the analysis engine names each machine one way whichever log speaks of
//! it, and scores alerts by what the machine matters.

use std::fmt::Write as _;

use crate::scenario::{Os, Role, Scenario};

/// How much a host of this role matters to the organisation.
fn criticality(role: Role) -> &'static str {
    match role {
        Role::DomainController => "critical",
        Role::FileServer | Role::WebServer | Role::MailServer => "high",
        Role::DnsServer | Role::Proxy | Role::Firewall => "high",
        Role::Workstation => "medium",
    }
}

fn role_tag(role: Role) -> &'static str {
    match role {
        Role::Workstation => "workstation",
        Role::WebServer => "web-server",
        Role::MailServer => "mail-server",
        Role::DnsServer => "dns-server",
        Role::Proxy => "proxy",
        Role::Firewall => "firewall",
        Role::FileServer => "file-server",
        Role::DomainController => "domain-controller",
    }
}

/// CSV fields are written plainly; scenario names hold no commas or quotes (the
/// scenario check refuses them), but quote defensively anyway.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The inventory of `s` as CSV (`host,ip,aliases,owner,criticality,tags`).
pub fn assets_csv(s: &Scenario) -> String {
    let org = &s.organisation;
    let mut out = String::from("host,ip,aliases,owner,criticality,tags\n");
    for h in &org.hosts {
        let mut aliases = vec![h.name.clone()];
        if h.role == Role::WebServer
            && let Some(site) = &org.website
        {
            aliases.push(site.clone());
        }
        let owner = match h.role {
            Role::Workstation => org
                .users
                .iter()
                .find(|u| u.workstation.eq_ignore_ascii_case(&h.name))
                .map_or("it", |u| u.name.as_str()),
            _ => "it",
        };
        let os = match h.os {
            Os::Windows => "windows",
            Os::Linux => "linux",
        };
        let _ = writeln!(
            out,
            "{},{},{},{},{},{};{}",
            field(&format!("{}.{}", h.name, org.domain)),
            field(&h.ip),
            field(&aliases.join(";")),
            field(owner),
            criticality(h.role),
            role_tag(h.role),
            os
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use watchfloor_triage::assets::{Assets, Criticality};

    use super::*;

    #[test]
    fn the_inventory_loads_and_names_the_site_by_its_server() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scenarios/web-sqli-customer-theft.yml"
        );
        let s = Scenario::from_yaml(path, &std::fs::read_to_string(path).unwrap()).unwrap();
        let (assets, errors) = Assets::from_csv(&assets_csv(&s));
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(assets.len(), s.organisation.hosts.len());
        for name in ["shop.kaede.example", "WEB01", "web01.kaede.example"] {
            assert_eq!(
                assets.canonical_host(name).as_deref(),
                Some("web01.kaede.example"),
                "{name}"
            );
        }
        let dc = assets.by_host("DC1").unwrap();
        assert_eq!(dc.criticality, Criticality::Critical);
        assert_eq!(
            dc.ips,
            vec!["10.20.1.5".parse::<std::net::IpAddr>().unwrap()]
        );
        assert_eq!(
            assets.by_host("pc-02").unwrap().owner.as_deref(),
            Some("rmori")
        );
    }
}
