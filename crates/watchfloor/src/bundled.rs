//! What ships inside the binary: detection rules written for the product (see
//! `rules/`, each with a description of what it catches and its false positives) and
//! the demo's sample logs.

/// The detection rules shipped with the product: (file name, YAML).
pub const RULES: &[(&str, &str)] = &[
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
        "event_log_cleared_by_command.yml",
        include_str!("../rules/event_log_cleared_by_command.yml"),
    ),
    (
        "lsass_memory_read.yml",
        include_str!("../rules/lsass_memory_read.yml"),
    ),
    (
        "service_binary_in_writable_folder.yml",
        include_str!("../rules/service_binary_in_writable_folder.yml"),
    ),
    (
        "archive_with_password.yml",
        include_str!("../rules/archive_with_password.yml"),
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

/// The demo's sample logs, written by the project: (file name, contents).
pub const SAMPLES: &[(&str, &str)] = &[
    ("sysmon.jsonl", include_str!("../samples/sysmon.jsonl")),
    ("auth.log", include_str!("../samples/auth.log")),
    ("access.log", include_str!("../samples/access.log")),
    ("eve.json", include_str!("../samples/eve.json")),
    ("dns.log", include_str!("../samples/dns.log")),
    ("firewall.cef", include_str!("../samples/firewall.cef")),
];

/// The range scenarios shipped with the product: (file name, YAML).
pub const SCENARIOS: &[(&str, &str)] = &[
    (
        "phishing-to-file-server-theft.yml",
        include_str!("../../../scenarios/phishing-to-file-server-theft.yml"),
    ),
    (
        "web-sqli-customer-theft.yml",
        include_str!("../../../scenarios/web-sqli-customer-theft.yml"),
    ),
];
