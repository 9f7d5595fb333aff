//! Stolen cloud instance credentials: an EC2 instance's role credentials used from an
//! address people work from.
//!
//! An instance's role credentials (from its metadata service) sign the instance's own
//! API calls: CloudTrail records them as an assumed role whose session is named after
//! the instance (`…:assumed-role/Role/i-0317f6c6b66ae9c40`), coming from the instance's
//! address or from inside AWS. An intruder who reads them off the instance (SSRF
//! against the metadata service, a shell on the box) uses them from elsewhere. When the
//! public address using them is one that also acts as a person (an IAM user, the root
//! account, a console session), the credentials have left the instance.
//!
//! [`CloudCredFields::call`] reads CloudTrail records; [`CloudCredTracker`] remembers
//! the public addresses of people and of instance sessions (bounded) and reports each
//! (instance session, address) pair once, whichever was seen first, as a detection of
//! rule `cloud-instance-credentials-outside`. `hunt` and the server feed it in event
//! order.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::json;
use watchfloor_decode::time::format_rfc3339;
use watchfloor_event::{Event, FieldId, FieldTable, Timestamp};
use watchfloor_triage::detection::Entities;

use crate::detect::DetectionRow;
use crate::entities::{first, is_public};

/// Rule id of these detections.
pub const CLOUD_CREDS_RULE_ID: &str = "cloud-instance-credentials-outside";
/// Their title.
pub const CLOUD_CREDS_TITLE: &str =
    "Cloud instance credentials used from an address people work from";

/// Addresses (and instance sessions) remembered at once; past it the memory starts over.
const MAX_REMEMBERED: usize = 50_000;

/// Who made one CloudTrail call.
#[derive(Debug, Clone, PartialEq)]
pub enum Caller {
    /// An instance's role session: the role's ARN and the instance id.
    Instance { arn: String, instance: String },
    /// A person: an IAM user, the root account or a console session (its ARN).
    Person(String),
}

/// One CloudTrail call from a public address.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudCall {
    pub time_ns: i64,
    pub caller: Caller,
    pub address: String,
    pub event_name: Option<String>,
    pub account: Option<String>,
    pub source: Arc<str>,
    pub record: u64,
}

/// An instance session's credentials used from a person's address.
#[derive(Debug, Clone, PartialEq)]
pub struct OutsideUse {
    /// The instance session's call at the address (the later of the two when the
    /// person came second, so the row is at the moment it became clear).
    pub call: CloudCall,
    pub arn: String,
    pub instance: String,
    /// The person seen at the same address.
    pub person: String,
}

/// The field ids read, resolved once.
pub struct CloudCredFields {
    identity_type: FieldId,
    arn: FieldId,
    address: FieldId,
    user_agent: FieldId,
    event_name: FieldId,
    account: Vec<FieldId>,
}

impl CloudCredFields {
    pub fn new(table: &FieldTable) -> Self {
        CloudCredFields {
            identity_type: table.intern("userIdentity.type"),
            arn: table.intern("userIdentity.arn"),
            address: table.intern("sourceIPAddress"),
            user_agent: table.intern("userAgent"),
            event_name: table.intern("eventName"),
            account: vec![
                table.intern("recipientAccountId"),
                table.intern("userIdentity.accountId"),
            ],
        }
    }

    /// The call `ev` records, if it is a CloudTrail call from a public address by an
    /// instance session or a person.
    pub fn call(&self, ev: &Event) -> Option<CloudCall> {
        if ev.logsource.service() != Some("cloudtrail") {
            return None;
        }
        let text = |id: FieldId| first(ev, std::slice::from_ref(&id));
        let address = text(self.address).filter(|a| is_public(a))?;
        let kind = text(self.identity_type)?;
        let arn = text(self.arn).unwrap_or_default();
        let agent = text(self.user_agent)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let caller = match kind.as_str() {
            "AssumedRole" => match instance_session(&arn) {
                Some(instance) => Caller::Instance {
                    instance: instance.to_owned(),
                    arn,
                },
                None if agent.starts_with("console.") || agent.contains("signin.amazonaws.com") => {
                    Caller::Person(arn)
                }
                None => return None,
            },
            "IAMUser" | "Root" => Caller::Person(if arn.is_empty() { kind } else { arn }),
            _ => return None,
        };
        Some(CloudCall {
            time_ns: ev.time.0,
            caller,
            address,
            event_name: text(self.event_name),
            account: first(ev, &self.account),
            source: ev.source.name.clone(),
            record: ev.source.record,
        })
    }
}

/// The instance id an assumed role's session is named after (`i-` and 8 or 17 hex
/// digits), as EC2 names the sessions of instance profiles.
fn instance_session(arn: &str) -> Option<&str> {
    let session = arn.rsplit('/').next()?;
    let hex = session.strip_prefix("i-")?;
    (matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_hexdigit())).then_some(session)
}

/// People's and instance sessions' public addresses, bounded.
#[derive(Debug, Default)]
pub struct CloudCredTracker {
    /// Address → a person seen there.
    people: HashMap<String, String>,
    /// Address → the instance sessions' first calls there.
    instances: HashMap<String, Vec<CloudCall>>,
    reported: HashSet<(String, String)>,
}

impl CloudCredTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one call; returns the outside uses it makes clear.
    pub fn observe(&mut self, call: &CloudCall) -> Vec<OutsideUse> {
        let remembered = self
            .people
            .len()
            .max(self.instances.len())
            .max(self.reported.len());
        if remembered >= MAX_REMEMBERED {
            self.people.clear();
            self.instances.clear();
            self.reported.clear();
        }
        match &call.caller {
            Caller::Person(who) => {
                if !self.people.contains_key(&call.address) {
                    self.people.insert(call.address.clone(), who.clone());
                }
                let at_address = self.instances.get(&call.address).cloned();
                at_address
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|mut c| {
                        c.time_ns = c.time_ns.max(call.time_ns);
                        self.report(&c, who)
                    })
                    .collect()
            }
            Caller::Instance { arn, .. } => {
                let known = self.instances.get(&call.address).is_some_and(|calls| {
                    calls.len() >= 16
                        || calls.iter().any(
                            |c| matches!(&c.caller, Caller::Instance { arn: a, .. } if a == arn),
                        )
                });
                if !known {
                    self.instances
                        .entry(call.address.clone())
                        .or_default()
                        .push(call.clone());
                }
                match self.people.get(&call.address).cloned() {
                    Some(person) => self.report(call, &person).into_iter().collect(),
                    None => Vec::new(),
                }
            }
        }
    }

    fn report(&mut self, call: &CloudCall, person: &str) -> Option<OutsideUse> {
        let Caller::Instance { arn, instance } = &call.caller else {
            return None;
        };
        if !self.reported.insert((arn.clone(), call.address.clone())) {
            return None;
        }
        Some(OutsideUse {
            call: call.clone(),
            arn: arn.clone(),
            instance: instance.clone(),
            person: person.to_owned(),
        })
    }
}

impl OutsideUse {
    /// The detection row of this use.
    pub fn row(&self) -> DetectionRow {
        let c = &self.call;
        let mut entities = Entities {
            host: Some(self.instance.clone()),
            user: Some(self.arn.clone()),
            src_ip: Some(c.address.clone()),
            indicators: vec![c.address.clone()],
            ..Default::default()
        };
        entities.normalize();
        let time = format_rfc3339(Timestamp(c.time_ns));
        let event = json!({
            "analysis": CLOUD_CREDS_RULE_ID,
            "instance": self.instance,
            "role_session": self.arn,
            "address": c.address,
            "person_at_address": self.person,
            "event_name": c.event_name,
            "account": c.account,
        });
        DetectionRow {
            time: Some(time),
            rule_id: Some(CLOUD_CREDS_RULE_ID.to_owned()),
            rule_title: CLOUD_CREDS_TITLE.to_owned(),
            level: "high",
            tags: vec![
                "attack.initial-access".into(),
                "attack.credential-access".into(),
                "attack.t1078.004".into(),
                "attack.t1552.005".into(),
            ],
            host: Some(self.instance.clone()),
            source: c.source.to_string(),
            record: c.record,
            matched: vec![
                ("role_session".into(), self.arn.clone()),
                ("address".into(), c.address.clone()),
                ("person_at_address".into(), self.person.clone()),
                ("eventName".into(), c.event_name.clone().unwrap_or_default()),
            ],
            event: event.to_string(),
            entities,
            indicator: None,
            time_ns: c.time_ns,
        }
    }
}

#[cfg(test)]
#[path = "cloud_creds_tests.rs"]
mod tests;
