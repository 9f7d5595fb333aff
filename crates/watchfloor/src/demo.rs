//! `watchfloor demo`: the sample logs shipped in the binary, written to a temporary
//! folder and hunted. Until the server exists this is the product's first run.

use anyhow::Context;

use crate::cli::OutputFormat;
use crate::hunt::{self, HuntConfig};

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
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    for (name, body) in SAMPLES {
        let path = dir.join(name);
        std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!(
        "watchfloor demo: hunting the bundled samples in {}",
        dir.display()
    );
    let config = HuntConfig {
        paths: vec![dir.clone()],
        rules: Vec::new(),
        placeholders: None,
        input_format: None,
        output_format: OutputFormat::Table,
        output: None,
        summary_json: None,
        threads: 2,
        progress: false,
        max_errors_shown: 20,
    };
    let result = hunt::run(config);
    let _ = std::fs::remove_dir_all(&dir);
    result
}
