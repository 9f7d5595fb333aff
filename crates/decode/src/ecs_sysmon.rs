//! Sysmon events as Elastic ships them (Winlogbeat's sysmon module, Elastic Agent's
//! Windows integration): the module moves many event-data fields to Elastic Common
//! Schema names (`process.executable`, `destination.ip`, `registry.path`) and out of
//! `winlog.event_data`. This gives such an event the Sysmon names Sigma rules test
//! (`Image`, `DestinationIp`, `TargetObject`), beside the ECS ones, for the fields it
//! lacks under the Sysmon name. A Security 4688 whose fields were moved likewise takes
//! the names of a Sysmon process creation.

use watchfloor_event::{Event, FieldId, Value};

use crate::DecodeContext;

/// Sysmon event ids as a bit set.
const fn ids(list: &[u32]) -> u32 {
    let mut set = 0;
    let mut i = 0;
    while i < list.len() {
        set |= 1 << list[i];
        i += 1;
    }
    set
}

/// Events whose acting process is `Image`; in 8 and 10 it is `SourceImage`.
const ACTING: u32 = ids(&[
    1, 2, 3, 5, 6, 7, 9, 11, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29,
]);

/// (events, Sysmon name, ECS name).
const NAMES: &[(u32, &str, &str)] = &[
    (ACTING, "Image", "process.executable"),
    (ids(&[8, 10]), "SourceImage", "process.executable"),
    (ACTING, "ProcessGuid", "process.entity_id"),
    (ACTING, "ProcessId", "process.pid"),
    (ids(&[1]), "CommandLine", "process.command_line"),
    (ids(&[1]), "CurrentDirectory", "process.working_directory"),
    (ids(&[1]), "ParentImage", "process.parent.executable"),
    (
        ids(&[1]),
        "ParentCommandLine",
        "process.parent.command_line",
    ),
    (ids(&[1]), "ParentProcessGuid", "process.parent.entity_id"),
    (ids(&[1]), "ParentProcessId", "process.parent.pid"),
    (
        ids(&[1]),
        "OriginalFileName",
        "process.pe.original_file_name",
    ),
    (ids(&[1]), "Company", "process.pe.company"),
    (ids(&[1]), "Description", "process.pe.description"),
    (ids(&[1]), "Product", "process.pe.product"),
    (ids(&[1]), "FileVersion", "process.pe.file_version"),
    (ids(&[3]), "DestinationIp", "destination.ip"),
    (ids(&[3]), "DestinationPort", "destination.port"),
    (ids(&[3]), "DestinationHostname", "destination.domain"),
    (ids(&[3]), "SourceIp", "source.ip"),
    (ids(&[3]), "SourcePort", "source.port"),
    (ids(&[3]), "SourceHostname", "source.domain"),
    (ids(&[3]), "Protocol", "network.transport"),
    (ids(&[6, 7]), "ImageLoaded", "file.path"),
    (ids(&[6, 7]), "Signed", "file.code_signature.signed"),
    (
        ids(&[6, 7]),
        "Signature",
        "file.code_signature.subject_name",
    ),
    (
        ids(&[6, 7]),
        "SignatureStatus",
        "file.code_signature.status",
    ),
    (ids(&[7]), "OriginalFileName", "file.pe.original_file_name"),
    (ids(&[7]), "Company", "file.pe.company"),
    (ids(&[7]), "Description", "file.pe.description"),
    (ids(&[7]), "Product", "file.pe.product"),
    (
        ids(&[2, 11, 15, 23, 26, 27, 28, 29]),
        "TargetFilename",
        "file.path",
    ),
    (ids(&[12, 13, 14]), "TargetObject", "registry.path"),
    (ids(&[13]), "Details", "registry.data.strings"),
    (ids(&[17, 18]), "PipeName", "file.name"),
    (ids(&[22]), "QueryName", "dns.question.name"),
];

/// Field ids of [`NAMES`] and the composed fields, resolved once per decoder.
#[derive(Debug)]
pub struct EcsSysmon {
    names: Vec<(u32, FieldId, FieldId)>,
    user: FieldId,
    user_name: FieldId,
    user_domain: FieldId,
    initiated: FieldId,
    direction: FieldId,
}

impl EcsSysmon {
    pub fn new(ctx: &mut DecodeContext) -> Self {
        EcsSysmon {
            names: NAMES
                .iter()
                .map(|&(events, sigma, ecs)| (events, ctx.id(sigma), ctx.id(ecs)))
                .collect(),
            user: ctx.id("User"),
            user_name: ctx.id("user.name"),
            user_domain: ctx.id("user.domain"),
            initiated: ctx.id("Initiated"),
            direction: ctx.id("network.direction"),
        }
    }

    /// Adds the Sysmon names event `event_id` lacks and has ECS fields for.
    pub fn apply(&self, event_id: i64, ev: &mut Event) {
        let Some(bit) = u32::try_from(event_id).ok().filter(|&id| id < 32) else {
            return;
        };
        let bit = 1u32 << bit;
        for &(events, sigma, ecs) in &self.names {
            if events & bit != 0 && ev.get(sigma).is_none() {
                ev.alias(ecs, sigma);
            }
        }
        if ACTING & bit != 0 && ev.get(self.user).is_none() {
            let text = |id| match ev.get(id) {
                Some(Value::Str(s)) if !s.is_empty() => Some(s.to_string()),
                _ => None,
            };
            let user = match (text(self.user_domain), text(self.user_name)) {
                (Some(domain), Some(name)) => Some(format!("{domain}\\{name}")),
                (None, Some(name)) => Some(name),
                _ => None,
            };
            if let Some(user) = user {
                ev.push_str(self.user, self.user, &user);
            }
        }
        if bit == 1 << 3 && ev.get(self.initiated).is_none() {
            let initiated = match ev.get(self.direction) {
                Some(Value::Str("egress" | "outbound")) => Some("true"),
                Some(Value::Str("ingress" | "inbound")) => Some("false"),
                _ => None,
            };
            if let Some(initiated) = initiated {
                ev.push_str(self.initiated, self.initiated, initiated);
            }
        }
    }
}
