//! Which events a rule's `logsource` applies to.
//!
//! Decoders give every event a logsource triple. A rule applies to an event when each
//! part the rule names agrees with the event's (case-insensitively), with these
//! refinements:
//! - a product the event does not know (web access logs, CEF) does not exclude a rule
//!   that matched on category or service;
//! - Sysmon registry events (ids 12–14) carry the category `registry_event`; rules for
//!   `registry_add`, `registry_delete`, `registry_set` and `registry_rename` apply to
//!   them with the event-id and `EventType` conditions Sigma's Sysmon mapping defines
//!   (compiled into the rule as [`LogSourceGuard::extra`], tested on `registry_event`
//!   events only: a Security 4657 comes as `registry_set` or `registry_delete` itself);
//! - `file_delete` rules also apply to Sysmon's `file_delete_detected` (id 26);
//! - Security events that stand in for Sysmon's (4688 process creation, 5156
//!   connections; [`watchfloor_event::windows_audit`]) are admitted to the rules of their
//!   category unless the rule rules events out with a Sysmon field they cannot give
//!   ([`LogSourceGuard::stand_ins_excluded`]).

use watchfloor_event::LogSource;
use watchfloor_event::windows_audit;

use crate::rule::RuleLogSource;

/// Extra field conditions a rule category implies: (field, accepted values).
pub type ExtraCondition = (&'static str, &'static [&'static str]);

/// The category of Sysmon's registry events, the only ones [`LogSourceGuard::extra`]
/// conditions are tested on.
pub const SYSMON_REGISTRY_CATEGORY: &str = "registry_event";

/// The compiled form of a rule's logsource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LogSourceGuard {
    product: Option<String>,
    /// Event categories accepted (empty: any).
    categories: Vec<String>,
    service: Option<String>,
    /// Field conditions that must also hold (see the module documentation).
    pub extra: Vec<ExtraCondition>,
    /// Whether Security events standing in for Sysmon's are kept from this rule: a
    /// negated search of it tests a field they lack, so a missing value would match.
    pub stand_ins_excluded: bool,
}

impl LogSourceGuard {
    pub fn new(rule: &RuleLogSource) -> Self {
        let lower = |s: &Option<String>| s.as_ref().map(|s| s.to_ascii_lowercase());
        let category = lower(&rule.category);
        let (categories, extra): (Vec<String>, Vec<ExtraCondition>) = match category.as_deref() {
            None => (Vec::new(), Vec::new()),
            Some("registry_add") => (
                vec!["registry_event".into()],
                vec![("EventID", &["12"]), ("EventType", &["CreateKey"])],
            ),
            Some("registry_delete") => (
                vec!["registry_event".into(), "registry_delete".into()],
                vec![
                    ("EventID", &["12"]),
                    ("EventType", &["DeleteKey", "DeleteValue"]),
                ],
            ),
            Some("registry_set") => (
                vec!["registry_event".into(), "registry_set".into()],
                vec![("EventID", &["13"])],
            ),
            Some("registry_rename") => (vec!["registry_event".into()], vec![("EventID", &["14"])]),
            // Sysmon's registry events and the Security registry audits standing in.
            Some("registry_event") => (
                vec![
                    "registry_event".into(),
                    "registry_set".into(),
                    "registry_delete".into(),
                ],
                Vec::new(),
            ),
            Some("file_delete") => (
                vec!["file_delete".into(), "file_delete_detected".into()],
                Vec::new(),
            ),
            Some(other) => (vec![other.to_string()], Vec::new()),
        };
        LogSourceGuard {
            product: lower(&rule.product),
            categories,
            service: lower(&rule.service),
            extra,
            stand_ins_excluded: false,
        }
    }

    /// The stand-ins this rule's categories admit ([`watchfloor_event::windows_audit`]).
    pub fn stand_ins(&self) -> impl Iterator<Item = &'static windows_audit::StandIn> + '_ {
        self.categories
            .iter()
            .filter_map(|c| windows_audit::by_category(c))
    }

    /// Whether the rule applies to events of logsource `ev` (before `extra`).
    pub fn admits(&self, ev: &LogSource) -> bool {
        let eq =
            |want: &str, have: Option<&str>| have.is_some_and(|h| h.eq_ignore_ascii_case(want));
        if !self.categories.is_empty() && !self.categories.iter().any(|c| eq(c, ev.category())) {
            return false;
        }
        if let Some(service) = &self.service
            && !eq(service, ev.service())
        {
            return false;
        }
        if self.stand_ins_excluded
            && self.service.is_none()
            && eq("security", ev.service())
            && ev
                .category()
                .is_some_and(|c| windows_audit::by_category(c).is_some())
        {
            return false;
        }
        match (&self.product, ev.product()) {
            (Some(want), Some(have)) => want.eq_ignore_ascii_case(have),
            // Unknown product: admitted only on the strength of a category or service.
            (Some(_), None) => !self.categories.is_empty() || self.service.is_some(),
            (None, _) => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(
        product: Option<&str>,
        category: Option<&str>,
        service: Option<&str>,
    ) -> LogSourceGuard {
        LogSourceGuard::new(&RuleLogSource {
            product: product.map(String::from),
            category: category.map(String::from),
            service: service.map(String::from),
        })
    }

    #[test]
    fn admits() {
        let sysmon1 = LogSource::new(Some("windows"), Some("process_creation"), Some("sysmon"));
        let security = LogSource::new(Some("windows"), None, Some("security"));
        let zeek_dns = LogSource::new(Some("zeek"), None, Some("dns"));
        let web = LogSource::new(None, Some("webserver"), None);
        assert!(guard(Some("windows"), Some("process_creation"), None).admits(&sysmon1));
        assert!(!guard(Some("windows"), Some("process_creation"), None).admits(&security));
        assert!(guard(Some("windows"), None, Some("security")).admits(&security));
        assert!(!guard(Some("windows"), None, Some("security")).admits(&sysmon1));
        assert!(
            !guard(Some("zeek"), None, Some("dns")).admits(&sysmon1),
            "no cross-product matches"
        );
        assert!(guard(Some("zeek"), None, Some("dns")).admits(&zeek_dns));
        assert!(!guard(Some("windows"), None, Some("dns")).admits(&zeek_dns));
        assert!(guard(None, Some("webserver"), None).admits(&web));
        assert!(guard(Some("apache"), Some("webserver"), None).admits(&web));
        assert!(!guard(Some("windows"), None, None).admits(&web));
        let reg = LogSource::new(Some("windows"), Some("registry_event"), Some("sysmon"));
        let set = guard(Some("windows"), Some("registry_set"), None);
        assert!(set.admits(&reg));
        assert_eq!(set.extra, vec![("EventID", &["13"][..])]);
        // Security 4657 stands in, as the value operation it is.
        let audit_set = LogSource::new(Some("windows"), Some("registry_set"), Some("security"));
        let audit_delete =
            LogSource::new(Some("windows"), Some("registry_delete"), Some("security"));
        assert!(set.admits(&audit_set));
        assert!(!set.admits(&audit_delete));
        let delete = guard(Some("windows"), Some("registry_delete"), None);
        assert!(delete.admits(&audit_delete) && !delete.admits(&audit_set));
        let add = guard(Some("windows"), Some("registry_add"), None);
        assert!(!add.admits(&audit_set), "4657 audits values, not new keys");
        let any = guard(Some("windows"), Some("registry_event"), None);
        assert!(any.admits(&reg) && any.admits(&audit_set) && any.admits(&audit_delete));
    }
}
