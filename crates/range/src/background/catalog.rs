//! The fixed vocabulary of benign activity: web sites employees visit and their pages,
//! domains looked up in the background, browser user agents, documents by department,
//! Windows services and housekeeping commands, admin commands, Linux sudo commands and
//! the usernames internet scanners try. Nothing here is an attack pattern.

use super::org::Dept;

/// A web site employees browse, with pages and the assets a page pulls in.
pub(super) struct Site {
    pub host: &'static str,
    pub weight: u32,
    pub pages: &'static [&'static str],
    pub assets: &'static [(&'static str, &'static str)],
}

const CSS: &str = "text/css";
const JS: &str = "application/javascript";
const PNG: &str = "image/png";
const SVG: &str = "image/svg+xml";
const ICO: &str = "image/x-icon";
const JSON: &str = "application/json";

pub(super) const SITES: &[Site] = &[
    Site {
        host: "www.google.com",
        weight: 18,
        pages: &[
            "/",
            "/search?q=weather+tokyo",
            "/search?q=usd+jpy+exchange+rate",
            "/search?q=excel+vlookup+example",
            "/search?q=shinkansen+timetable",
            "/search?q=invoice+template",
            "/maps",
        ],
        assets: &[
            (
                "/images/branding/googlelogo/2x/googlelogo_color_272x92dp.png",
                PNG,
            ),
            ("/xjs/_/js/k=xjs.s.en_US.js", JS),
            ("/favicon.ico", ICO),
            ("/complete/search?q=we&client=gws-wiz", JSON),
        ],
    },
    Site {
        host: "www.microsoft.com",
        weight: 5,
        pages: &[
            "/en-us/",
            "/en-us/microsoft-365",
            "/en-us/windows",
            "/ja-jp/",
        ],
        assets: &[
            (
                "/onerfstatics/marketingsites-wcus-prod/west-european/shell/_scrf/css/themes=default/css.css",
                CSS,
            ),
            ("/favicon.ico", ICO),
        ],
    },
    Site {
        host: "www.office.com",
        weight: 8,
        pages: &["/", "/launch/word", "/launch/excel", "/?auth=2"],
        assets: &[("/favicon.ico", ICO), ("/api/userinfo", JSON)],
    },
    Site {
        host: "github.com",
        weight: 3,
        pages: &[
            "/",
            "/microsoft/vscode",
            "/notifications",
            "/PowerShell/PowerShell/releases",
        ],
        assets: &[
            ("/favicon.ico", ICO),
            ("/assets/light-0eace2597ca3.css", CSS),
        ],
    },
    Site {
        host: "www.bbc.com",
        weight: 5,
        pages: &["/news", "/news/world", "/news/business", "/news/technology"],
        assets: &[("/bbcx/grey-placeholder.png", PNG), ("/favicon.ico", ICO)],
    },
    Site {
        host: "www.reuters.com",
        weight: 4,
        pages: &["/", "/markets/", "/business/", "/world/asia-pacific/"],
        assets: &[("/pf/resources/images/reuters/favicon.ico", ICO)],
    },
    Site {
        host: "www3.nhk.or.jp",
        weight: 5,
        pages: &["/news/", "/nhkworld/en/news/", "/news/catnew.html"],
        assets: &[("/news/common/css/style.css", CSS), ("/favicon.ico", ICO)],
    },
    Site {
        host: "www.nikkei.com",
        weight: 4,
        pages: &["/", "/markets/", "/news/category/economy/"],
        assets: &[("/favicon.ico", ICO)],
    },
    Site {
        host: "news.yahoo.co.jp",
        weight: 5,
        pages: &["/", "/topics/top-picks", "/categories/business"],
        assets: &[("/favicon.ico", ICO)],
    },
    Site {
        host: "en.wikipedia.org",
        weight: 4,
        pages: &[
            "/wiki/Main_Page",
            "/wiki/Accounting",
            "/wiki/Value-added_tax",
            "/wiki/Incoterms",
            "/wiki/Double-entry_bookkeeping",
        ],
        assets: &[
            ("/static/images/icons/wikipedia.png", PNG),
            (
                "/w/load.php?lang=en&modules=site.styles&only=styles&skin=vector-2022",
                CSS,
            ),
        ],
    },
    Site {
        host: "stackoverflow.com",
        weight: 2,
        pages: &[
            "/questions",
            "/questions/tagged/excel",
            "/questions/tagged/powershell",
        ],
        assets: &[("/favicon.ico", ICO)],
    },
    Site {
        host: "www.jma.go.jp",
        weight: 2,
        pages: &["/bosai/forecast/", "/bosai/map.html"],
        assets: &[("/bosai/common/img/logo.svg", SVG)],
    },
    Site {
        host: "www.amazon.co.jp",
        weight: 3,
        pages: &["/", "/gp/css/order-history", "/s?k=usb-c+cable"],
        assets: &[("/favicon.ico", ICO)],
    },
    Site {
        host: "www.linkedin.com",
        weight: 2,
        pages: &["/feed/", "/notifications/"],
        assets: &[("/favicon.ico", ICO)],
    },
];

/// Pages of the organisation's own site that employees open.
pub(super) const OWN_SITE_PAGES: &[&str] = &["/", "/products", "/about", "/contact", "/news"];

/// Files employees download, with their content type.
pub(super) const DOWNLOADS: &[(&str, &str)] = &[
    ("statement_2026-02.pdf", "application/pdf"),
    (
        "price-list-2026.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("delivery-note-4471.pdf", "application/pdf"),
    (
        "meeting-agenda.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("train-schedule.pdf", "application/pdf"),
    ("product-photo.png", "image/png"),
    ("customer-export.csv", "text/csv"),
];

/// Domains a browser looks up without a page view (updates, fonts, sign-in).
pub(super) const BROWSER_DOMAINS: &[&str] = &[
    "clients2.google.com",
    "update.googleapis.com",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
    "www.gstatic.com",
    "accounts.google.com",
    "edge.microsoft.com",
    "www.bing.com",
    "ajax.googleapis.com",
    "cdn.jsdelivr.net",
];

/// Domains Outlook and Teams talk to.
pub(super) const OFFICE_DOMAINS: &[&str] = &[
    "outlook.office365.com",
    "login.microsoftonline.com",
    "teams.microsoft.com",
    "statics.teams.cdn.office.net",
    "officeclient.microsoft.com",
    "nexus.officeapps.live.com",
    "graph.microsoft.com",
    "substrate.office.com",
    "config.teams.microsoft.com",
];

/// Domains Windows itself looks up.
pub(super) const WINDOWS_DOMAINS: &[&str] = &[
    "settings-win.data.microsoft.com",
    "v10.events.data.microsoft.com",
    "ctldl.windowsupdate.com",
    "fe2cr.update.microsoft.com",
    "time.windows.com",
    "www.msftconnecttest.com",
    "wdcp.microsoft.com",
    "go.microsoft.com",
    "login.live.com",
];

pub(super) const UA_CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36";
pub(super) const UA_EDGE: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.2365.92";

/// Browsers of the public site's visitors, with weights.
pub(super) const VISITOR_AGENTS: &[(&str, u32)] = &[
    (UA_CHROME, 24),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
        8,
    ),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:123.0) Gecko/20100101 Firefox/123.0",
        7,
    ),
    (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
        8,
    ),
    (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
        20,
    ),
    (
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Mobile Safari/537.36",
        20,
    ),
    (UA_EDGE, 6),
    (
        "Mozilla/5.0 (Android 14; Mobile; rv:123.0) Gecko/123.0 Firefox/123.0",
        2,
    ),
    (
        "Mozilla/5.0 (iPad; CPU OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1",
        4,
    ),
];

pub(super) const GOOGLEBOT: &str =
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
pub(super) const BINGBOT: &str =
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)";

/// What shoppers search for on the public site.
pub(super) const SEARCH_TERMS: &[&str] = &[
    "tent",
    "sleeping+bag",
    "lantern",
    "backpack",
    "camping+stove",
    "rain+jacket",
    "hiking+boots",
    "water+bottle",
    "gift+card",
];

pub(super) const CATEGORIES: &[&str] = &["tents", "backpacks", "lighting", "clothing", "cooking"];

/// Documents people keep in `Documents`, by department.
pub(super) fn documents(dept: Dept) -> &'static [&'static str] {
    match dept {
        Dept::Accounting => &[
            "Invoices March 2026.xlsx",
            "Expense report.xlsx",
            "Trial balance Q1.xlsx",
            "Payment schedule.xlsx",
            "Vendor list.docx",
            "Month-end close checklist.docx",
            "Bank reconciliation.xlsx",
            "Audit notes.txt",
        ],
        Dept::Sales => &[
            "Customer visits.xlsx",
            "Quote 2026-031.docx",
            "Sales pipeline.xlsx",
            "Product catalogue 2026.pptx",
            "Price list.xlsx",
            "Call notes.txt",
        ],
        Dept::It => &[
            "Asset inventory.xlsx",
            "Patch schedule.xlsx",
            "Runbook - backups.docx",
            "Network notes.txt",
            "Licence renewals.xlsx",
        ],
        Dept::General => &[
            "Meeting notes.docx",
            "Team schedule.xlsx",
            "Presentation.pptx",
            "Todo.txt",
        ],
    }
}

/// The share each department works in on the file server: `(share, local path)`.
pub(super) fn department_share(dept: Dept) -> (&'static str, &'static str) {
    match dept {
        Dept::Accounting => ("\\\\*\\Accounting", "D:\\Shares\\Accounting"),
        Dept::Sales => ("\\\\*\\Sales", "D:\\Shares\\Sales"),
        Dept::It => ("\\\\*\\IT", "D:\\Shares\\IT"),
        Dept::General => ("\\\\*\\Shares", "D:\\Shares"),
    }
}

/// Windows services that start on demand: display name, image, command line.
pub(super) const SERVICES: &[(&str, &str, &str)] = &[
    (
        "Background Intelligent Transfer Service",
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\System32\\svchost.exe -k netsvcs -p -s BITS",
    ),
    (
        "Windows Modules Installer",
        "C:\\Windows\\servicing\\TrustedInstaller.exe",
        "C:\\Windows\\servicing\\TrustedInstaller.exe",
    ),
    (
        "Software Protection",
        "C:\\Windows\\System32\\sppsvc.exe",
        "C:\\Windows\\system32\\sppsvc.exe",
    ),
    (
        "WinHTTP Web Proxy Auto-Discovery Service",
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\system32\\svchost.exe -k LocalServiceNetworkRestricted -p -s WinHttpAutoProxySvc",
    ),
    (
        "Microsoft Store Install Service",
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\System32\\svchost.exe -k netsvcs -p -s InstallService",
    ),
    (
        "Windows Error Reporting Service",
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\System32\\svchost.exe -k WerSvcGroup",
    ),
    (
        "Device Setup Manager",
        "C:\\Windows\\System32\\svchost.exe",
        "C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s DsmSvc",
    ),
];

/// Scheduled housekeeping run by the Task Scheduler: image, command line.
pub(super) const TASKS: &[(&str, &str)] = &[
    (
        "C:\\Windows\\System32\\taskhostw.exe",
        "taskhostw.exe SYSTEM",
    ),
    (
        "C:\\Windows\\System32\\taskhostw.exe",
        "taskhostw.exe -RegisterDevice -Settings",
    ),
    (
        "C:\\Windows\\System32\\taskhostw.exe",
        "taskhostw.exe NGCKeyPregen",
    ),
    (
        "C:\\Windows\\System32\\taskhostw.exe",
        "taskhostw.exe Install $(Arg0)",
    ),
    (
        "C:\\Windows\\System32\\wbem\\WmiPrvSE.exe",
        "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
    ),
    (
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MpCmdRun.exe",
        "\"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MpCmdRun.exe\" -IdleTask -TaskName WdCacheMaintenance",
    ),
    (
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MpCmdRun.exe",
        "\"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MpCmdRun.exe\" -IdleTask -TaskName WdVerification",
    ),
    (
        "C:\\Windows\\System32\\sihclient.exe",
        "C:\\Windows\\System32\\sihclient.exe  /cv 5mHh0ikGLkKqAtykJtcAbA.0.2",
    ),
];

/// The nightly maintenance window's jobs: image, command line.
pub(super) const MAINTENANCE: &[(&str, &str)] = &[
    (
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MpCmdRun.exe",
        "\"C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.25010.11-0\\MpCmdRun.exe\" Scan -ScheduleJob -ScanTrigger 55 -IdleScheduledJob",
    ),
    (
        "C:\\Windows\\System32\\defrag.exe",
        "C:\\Windows\\system32\\defrag.exe -c -h -o -$",
    ),
    (
        "C:\\Windows\\System32\\CompatTelRunner.exe",
        "C:\\Windows\\system32\\compattelrunner.exe -m:appraiser.dll -f:DoScheduledTelemetryRun",
    ),
];

/// An admin's PowerShell on a server: the cmdlets behind routine checks.
pub(super) const SERVER_POWERSHELL: &[&str] = &[
    "Get-Service | Where-Object Status -eq 'Stopped'",
    "Get-EventLog -LogName System -Newest 50",
    "Get-Volume",
    "Get-SmbShare",
    "Restart-Service -Name Spooler",
    "Get-HotFix | Sort-Object InstalledOn | Select-Object -Last 5",
    "Test-NetConnection -ComputerName time.windows.com -Port 123",
    "Get-Counter '\\Processor(_Total)\\% Processor Time'",
];

/// Consoles an admin opens on a domain controller and on a file server.
pub(super) const DC_CONSOLES: &[&str] = &["dsa.msc", "dnsmgmt.msc", "gpmc.msc", "eventvwr.msc"];
pub(super) const FS_CONSOLES: &[&str] =
    &["fsmgmt.msc", "compmgmt.msc", "eventvwr.msc", "services.msc"];

/// Usernames internet scanners try on SSH.
pub(super) const SCANNER_USERS: &[&str] = &[
    "admin",
    "test",
    "oracle",
    "ubuntu",
    "user",
    "postgres",
    "git",
    "ftpuser",
    "guest",
    "pi",
    "support",
    "deploy",
    "minecraft",
    "hadoop",
];

/// Ports internet scanners knock on.
pub(super) const SCANNED_PORTS: &[u16] = &[
    23, 445, 3389, 1433, 8080, 5900, 6379, 2323, 81, 8443, 21, 3306, 5432, 9200, 8888, 7547,
];

/// What admins check with sudo, by the server's role.
pub(super) fn sudo_commands(role: crate::scenario::Role) -> &'static [&'static str] {
    use crate::scenario::Role;
    match role {
        Role::WebServer => &[
            "/usr/bin/systemctl status nginx",
            "/usr/bin/systemctl reload nginx",
            "/usr/bin/tail -n 100 /var/log/nginx/error.log",
            "/usr/bin/journalctl -u php8.2-fpm --since today",
            "/usr/bin/journalctl -u nginx --since today",
            "/usr/bin/df -h",
        ],
        Role::MailServer => &[
            "/usr/sbin/postqueue -p",
            "/usr/bin/systemctl status postfix",
            "/usr/bin/tail -n 50 /var/log/mail.log",
            "/usr/bin/df -h",
        ],
        Role::DnsServer => &[
            "/usr/sbin/rndc status",
            "/usr/bin/systemctl status named",
            "/usr/bin/journalctl -u named --since today",
        ],
        Role::Proxy => &[
            "/usr/bin/systemctl status squid",
            "/usr/sbin/squid -k reconfigure",
            "/usr/bin/tail -n 100 /var/log/squid/cache.log",
        ],
        Role::Firewall => &[
            "/usr/sbin/nft list ruleset",
            "/usr/bin/systemctl status nftables",
            "/usr/sbin/conntrack -C",
        ],
        _ => &[
            "/usr/bin/apt update",
            "/usr/bin/apt list --upgradable",
            "/usr/bin/systemctl status",
            "/usr/bin/df -h",
        ],
    }
}
