//! `watchfloor demo`: the sample logs and detection rules shipped in the binary, written
//! to a temporary folder and hunted: first what the logs hold, then what the rules find.
//! Until the server exists this is the product's first run.

use std::path::Path;

use anyhow::Context;

use crate::cli::OutputFormat;
use crate::hunt::{self, HuntConfig};

/// The detection rules shipped with the product, one per file (see `rules/`).
const RULES: &[(&str, &str)] = &[
    (
        "office_spawns_encoded_powershell.yml",
        include_str!("../rules/office_spawns_encoded_powershell.yml"),
    ),
    (
        "scheduled_task_from_user_profile.yml",
        include_str!("../rules/scheduled_task_from_user_profile.yml"),
    ),
    (
        "security_log_cleared.yml",
        include_str!("../rules/security_log_cleared.yml"),
    ),
    (
        "ssh_password_guessing.yml",
        include_str!("../rules/ssh_password_guessing.yml"),
    ),
    (
        "web_sql_injection.yml",
        include_str!("../rules/web_sql_injection.yml"),
    ),
    (
        "web_path_traversal_or_jndi.yml",
        include_str!("../rules/web_path_traversal_or_jndi.yml"),
    ),
];

/// The samples, written by the project for the demo: (file name, contents).
const SAMPLES: &[(&str, &str)] = &[
    ("sysmon.jsonl", include_str!("../samples/sysmon.jsonl")),
    ("auth.log", include_str!("../samples/auth.log")),
    ("access.log", include_str!("../samples/access.log")),
    ("eve.json", include_str!("../samples/eve.json")),
    ("dns.log", include_str!("../samples/dns.log")),
    ("firewall.cef", include_str!("../samples/firewall.cef")),
];

pub fn run() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("watchfloor-demo-{}", std::process::id()));
    let logs = dir.join("logs");
    let rules = dir.join("rules");
    for (folder, files) in [(&logs, SAMPLES), (&rules, RULES)] {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating {}", folder.display()))?;
        for (name, body) in files {
            let path = folder.join(name);
            std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    println!(
        "== What the bundled sample logs hold ({})\n",
        logs.display()
    );
    let result = hunt::run(config(&logs, None)).and_then(|()| {
        println!("\n== What the bundled rules find in them\n");
        hunt::run(config(&logs, Some(&rules)))
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn config(logs: &Path, rules: Option<&Path>) -> HuntConfig {
    HuntConfig {
        paths: vec![logs.to_path_buf()],
        rules: rules.map(Path::to_path_buf).into_iter().collect(),
        placeholders: None,
        input_format: None,
        output_format: OutputFormat::Table,
        output: None,
        summary_json: None,
        threads: 2,
        progress: false,
        max_errors_shown: 20,
        incidents: rules.is_some(),
        triage_files: Default::default(),
    }
}
