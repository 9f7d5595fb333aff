//! Microsoft Defender's detections as Sigma's `antivirus` category: the events that name
//! a threat get the category, and the generic names the category's rules use
//! (`Signature`, `Filename`) beside Defender's own (`Threat Name`, `Path`).

use watchfloor_event::{Event, FieldId};

use crate::DecodeContext;

/// Defender (Operational channel) events that name a threat: found (1006, 1116),
/// suspicious behaviour (1015), acted on or failed to act on (1007, 1008, 1117–1119),
/// restored from or deleted in quarantine (1009–1012), detected and reported (1115).
pub const THREAT_EVENT_IDS: &[i64] = &[
    1006, 1007, 1008, 1009, 1010, 1011, 1012, 1015, 1115, 1116, 1117, 1118, 1119,
];

/// The Sigma category of a Defender event.
pub fn category(event_id: i64) -> Option<&'static str> {
    THREAT_EVENT_IDS.contains(&event_id).then_some("antivirus")
}

/// (Sigma name, Defender's names as EVTX, NXLog and Winlogbeat give them).
const NAMES: &[(&str, &[&str])] = &[
    ("Signature", &["Threat Name", "ThreatName", "Threat_Name"]),
    ("Filename", &["Path"]),
];

/// Field ids of [`NAMES`], resolved once.
#[derive(Debug)]
pub(crate) struct AntivirusNames {
    names: Vec<(FieldId, Vec<FieldId>)>,
}

impl AntivirusNames {
    pub(crate) fn new(ctx: &mut DecodeContext) -> Self {
        let names = NAMES
            .iter()
            .map(|(sigma, native)| (ctx.id(sigma), native.iter().map(|n| ctx.id(n)).collect()))
            .collect();
        AntivirusNames { names }
    }

    /// Adds the Sigma names an `antivirus` event lacks.
    pub(crate) fn apply(&self, ev: &mut Event) {
        for (sigma, native) in &self.names {
            if ev.get(*sigma).is_some() {
                continue;
            }
            for &from in native {
                if ev.alias(from, *sigma) {
                    break;
                }
            }
        }
    }
}
