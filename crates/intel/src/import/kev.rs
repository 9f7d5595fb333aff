//! The CISA Known Exploited Vulnerabilities catalog: vulnerabilities known to be
//! exploited in the wild, with the date CISA added them and the date US federal
//! agencies must fix them by. Intelligence about vulnerabilities, not indicators: it
//! raises the priority of findings and alerts about these CVEs.

use serde_json::Value;

use super::{ImportReport, SourceFormat, clip};

/// One catalog entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vulnerability {
    /// `CVE-2021-44228`, upper case.
    pub cve: String,
    pub vendor: String,
    pub product: String,
    pub name: String,
    pub date_added: jiff::civil::Date,
    pub due_date: Option<jiff::civil::Date>,
    /// `Some(true)` when CISA knows it is used in ransomware campaigns, `Some(false)`
    /// when that is unknown (the catalog's "Unknown"), `None` when not stated.
    pub known_ransomware: Option<bool>,
    pub short_description: String,
    pub required_action: String,
    pub notes: String,
    /// `CWE-59`...
    pub cwes: Vec<String>,
}

/// What the catalog gave.
#[derive(Clone, Debug, Default)]
pub struct KevImport {
    pub catalog_version: Option<String>,
    pub date_released: Option<String>,
    pub vulnerabilities: Vec<Vulnerability>,
    pub report: ImportReport,
}

/// Reads the catalog (`known_exploited_vulnerabilities.json`). An entry without a CVE
/// id, vendor, product or a valid `dateAdded` is skipped with the reason; a `count`
/// that differs from the number of entries is noted.
pub fn import_kev(text: &str, source: &str) -> KevImport {
    let mut out = KevImport {
        report: ImportReport::new(source, SourceFormat::Kev),
        ..KevImport::default()
    };
    let doc: Value = match serde_json::from_str(text) {
        Ok(d) => d,
        Err(e) => {
            out.report.skip("document", format!("invalid JSON: {e}"));
            return out;
        }
    };
    let Some(entries) = doc.get("vulnerabilities").and_then(Value::as_array) else {
        out.report
            .skip("document", "not a KEV catalog: no `vulnerabilities` array");
        return out;
    };
    let text_of = |v: &Value, key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default()
    };
    out.catalog_version = doc
        .get("catalogVersion")
        .and_then(Value::as_str)
        .map(str::to_owned);
    out.date_released = doc
        .get("dateReleased")
        .and_then(Value::as_str)
        .map(str::to_owned);
    for (i, e) in entries.iter().enumerate() {
        let cve = text_of(e, "cveID").to_ascii_uppercase();
        let place = if cve.is_empty() {
            format!("vulnerabilities[{i}]")
        } else {
            format!("vulnerabilities[{i}] {cve}")
        };
        match entry(e, cve, &text_of) {
            Ok(v) => {
                out.report.take();
                out.vulnerabilities.push(v);
            }
            Err(reason) => out.report.skip(place, reason),
        }
    }
    if let Some(count) = doc.get("count").and_then(Value::as_u64)
        && count != entries.len() as u64
    {
        out.report.note(
            "document",
            format!(
                "`count` says {count} but the catalog holds {} entries",
                entries.len()
            ),
        );
    }
    out
}

fn entry(
    e: &Value,
    cve: String,
    text_of: &impl Fn(&Value, &str) -> String,
) -> Result<Vulnerability, String> {
    if !e.is_object() {
        return Err("not a JSON object".into());
    }
    let valid_cve = cve
        .strip_prefix("CVE-")
        .and_then(|r| r.split_once('-'))
        .is_some_and(|(y, n)| {
            y.len() == 4 && n.len() >= 4 && (y.bytes().chain(n.bytes())).all(|b| b.is_ascii_digit())
        });
    if !valid_cve {
        return Err(format!("`cveID` `{}` is not a CVE id", clip(&cve, 40)));
    }
    let date = |key: &str| -> Result<Option<jiff::civil::Date>, String> {
        let t = text_of(e, key);
        if t.is_empty() {
            return Ok(None);
        }
        t.parse()
            .map(Some)
            .map_err(|_| format!("`{key}` `{}` is not a date", clip(&t, 40)))
    };
    let date_added = date("dateAdded")?.ok_or("no `dateAdded`")?;
    let vendor = text_of(e, "vendorProject");
    let product = text_of(e, "product");
    if vendor.is_empty() || product.is_empty() {
        return Err("no `vendorProject` or `product`".into());
    }
    let known_ransomware = match text_of(e, "knownRansomwareCampaignUse")
        .to_ascii_lowercase()
        .as_str()
    {
        "known" => Some(true),
        "unknown" => Some(false),
        _ => None,
    };
    let cwes = e
        .get("cwes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|s| s.trim().to_owned())
                .collect()
        })
        .unwrap_or_default();
    Ok(Vulnerability {
        cve,
        vendor,
        product,
        name: text_of(e, "vulnerabilityName"),
        date_added,
        due_date: date("dueDate")?,
        known_ransomware,
        short_description: text_of(e, "shortDescription"),
        required_action: text_of(e, "requiredAction"),
        notes: text_of(e, "notes"),
        cwes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_and_problems() {
        let text = r#"{"catalogVersion": "x", "count": 3, "vulnerabilities": [
            {"cveID": "CVE-2021-44228", "vendorProject": "Apache", "product": "Log4j2",
             "vulnerabilityName": "Log4Shell", "dateAdded": "2021-12-10", "dueDate": "2021-12-24",
             "knownRansomwareCampaignUse": "Known", "cwes": ["CWE-20"]},
            {"cveID": "nope", "vendorProject": "A", "product": "B", "dateAdded": "2021-12-10"},
            {"cveID": "CVE-2021-0001", "vendorProject": "A", "product": "B", "dateAdded": "soon"},
            7
        ]}"#;
        let k = import_kev(text, "kev");
        assert_eq!(k.vulnerabilities.len(), 1);
        let v = &k.vulnerabilities[0];
        assert_eq!(v.cve, "CVE-2021-44228");
        assert_eq!(v.known_ransomware, Some(true));
        assert_eq!(v.date_added.to_string(), "2021-12-10");
        assert_eq!(k.report.skipped_count(), 3);
        assert!(k.report.is_balanced());
        assert_eq!(k.report.notes.len(), 1, "count 3 vs 4 entries");
        assert!(
            import_kev("{", "kev").report.skipped[0]
                .reason
                .contains("invalid JSON")
        );
    }
}
