//! `watchfloor rules coverage`: an ATT&CK Navigator layer of the techniques the loaded
//! rules (and correlations) name in their `attack.tNNNN[.NNN]` tags, scored by the number
//! of rules.

use std::collections::BTreeMap;

use anyhow::Context;
use serde_json::json;
use watchfloor_event::FieldTable;

use crate::cli::RulesCoverageArgs;

pub fn run(args: RulesCoverageArgs) -> anyhow::Result<()> {
    let placeholders = crate::rules::read_placeholders(args.placeholders.as_deref())?;
    let table = FieldTable::new();
    let loaded = crate::rules::load_rules(&args.paths, &table, &placeholders);
    let metas = loaded
        .rules
        .iter()
        .map(|r| &*r.meta)
        .chain(loaded.set.correlations.iter().map(|c| &c.meta));
    let mut by_technique: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for meta in metas {
        for tag in &meta.tags {
            if let Some(t) = technique(tag) {
                by_technique.entry(t).or_default().push(&meta.title);
            }
        }
    }
    let max = by_technique.values().map(Vec::len).max().unwrap_or(0);
    let techniques: Vec<_> = by_technique
        .iter()
        .map(|(id, titles)| {
            let shown: Vec<_> = titles
                .iter()
                .take(20)
                .map(|t| json!({"name": "rule", "value": t}))
                .collect();
            json!({
                "techniqueID": id,
                "score": titles.len(),
                "comment": format!("{} rule(s)", titles.len()),
                "metadata": shown,
                "enabled": true,
            })
        })
        .collect();
    let layer = json!({
        "name": args.name,
        "domain": "enterprise-attack",
        "description": format!("Techniques covered by {} rules from {} files", loaded.rules.len(), loaded.files),
        "versions": {"layer": "4.5", "navigator": "5.1.0"},
        "sorting": 3,
        "hideDisabled": false,
        "techniques": techniques,
        "gradient": {"colors": ["#ffffffff", "#66b1ffff", "#ff6666ff"], "minValue": 0, "maxValue": max.max(1)},
        "legendItems": [],
    });
    let text = serde_json::to_string_pretty(&layer)? + "\n";
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    eprintln!(
        "{} techniques covered by {} rules",
        by_technique.len(),
        loaded.rules.len()
    );
    Ok(())
}

/// `attack.t1059.001` → `T1059.001`; other tags → None.
fn technique(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix("attack.")?;
    let id = rest.strip_prefix('t').or_else(|| rest.strip_prefix('T'))?;
    let (main, sub) = id.split_once('.').unwrap_or((id, ""));
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(main, 4) || !(sub.is_empty() || digits(sub, 3)) {
        return None;
    }
    Some(if sub.is_empty() {
        format!("T{main}")
    } else {
        format!("T{main}.{sub}")
    })
}

#[cfg(test)]
mod tests {
    use super::technique;

    #[test]
    fn technique_tags() {
        assert_eq!(technique("attack.t1059.001").as_deref(), Some("T1059.001"));
        assert_eq!(technique("attack.t1110").as_deref(), Some("T1110"));
        assert_eq!(technique("attack.execution"), None);
        assert_eq!(technique("attack.g0016"), None);
        assert_eq!(technique("cve.2021-44228"), None);
        assert_eq!(technique("attack.t12"), None);
    }
}
