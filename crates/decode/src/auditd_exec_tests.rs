use watchfloor_event::Event;

use crate::auditd::AuditdDecoder;
use crate::test_support::{ctx, decode_json, decode_with, s};
use crate::{DecodeContext, LineDecoder};

/// Decodes `lines` with one decoder, in order.
fn decode_all(lines: &[&str]) -> (DecodeContext, Vec<Event>) {
    let mut c = ctx();
    let mut dec = AuditdDecoder::new();
    let events = lines
        .iter()
        .map(|l| decode_with(&mut dec, &mut c, l))
        .collect();
    (c, events)
}

fn is_process_creation(ev: &Event) -> bool {
    ev.logsource.to_string() == "linux/process_creation/auditd"
}

const SHELL_SYSCALL: &str = r#"type=SYSCALL msg=audit(1700000000.100:500): arch=c000003e syscall=59 success=yes exit=0 a0=55d1 a1=55d2 a2=55d3 a3=0 items=2 ppid=900 pid=1000 auid=1000 uid=33 gid=33 euid=33 tty=(none) ses=4 comm="sh" exe="/usr/bin/dash" key=(null)"#;
const SHELL_EXECVE: &str =
    r#"type=EXECVE msg=audit(1700000000.100:500): argc=3 a0="sh" a1="-c" a2=6964202D61"#;

#[test]
fn syscall_then_execve_is_one_process_start_on_the_execve_record() {
    let (mut c, events) = decode_all(&[
        SHELL_SYSCALL,
        SHELL_EXECVE,
        r#"type=CWD msg=audit(1700000000.100:500): cwd="/var/www""#,
        r#"type=PROCTITLE msg=audit(1700000000.100:500): proctitle=7368002D63006964202D61"#,
    ]);
    let starts: Vec<_> = events.iter().filter(|e| is_process_creation(e)).collect();
    assert_eq!(starts.len(), 1, "one process start");
    let ev = &events[1];
    assert!(is_process_creation(ev));
    assert_eq!(
        s(&mut c, ev, "type"),
        Some("EXECVE"),
        "keeps its own fields"
    );
    assert_eq!(s(&mut c, ev, "Image"), Some("/usr/bin/dash"));
    assert_eq!(s(&mut c, ev, "CommandLine"), Some("sh -c id -a"));
    assert_eq!(s(&mut c, ev, "User"), Some("33"));
    assert_eq!(s(&mut c, ev, "ProcessId"), Some("1000"));
    assert_eq!(s(&mut c, ev, "ParentProcessId"), Some("900"));
    assert_eq!(events[0].logsource.to_string(), "linux/-/auditd");
}

#[test]
fn execve_then_syscall_makes_the_syscall_record_the_process_start() {
    let (mut c, events) = decode_all(&[SHELL_EXECVE, SHELL_SYSCALL]);
    assert!(!is_process_creation(&events[0]));
    assert!(is_process_creation(&events[1]));
    assert_eq!(s(&mut c, &events[1], "CommandLine"), Some("sh -c id -a"));
}

#[test]
fn the_parent_is_the_program_its_process_started_or_ran_before_the_exec() {
    let (mut c, events) = decode_all(&[
        // pid 900 starts a web server, whose child 1000 runs a shell.
        r#"type=SYSCALL msg=audit(1700000000.000:499): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=900 uid=0 comm="httpd" exe="/usr/sbin/httpd""#,
        r#"type=EXECVE msg=audit(1700000000.000:499): argc=2 a0="/usr/sbin/httpd" a1="-DFOREGROUND""#,
        SHELL_SYSCALL,
        SHELL_EXECVE,
        // A child of an unseen parent: a failed PATH search shows what it ran before.
        r#"type=SYSCALL msg=audit(1700000001.000:501): arch=c000003e syscall=59 success=no exit=-2 ppid=77 pid=2000 uid=1001 comm="java" exe="/usr/lib/jvm/bin/java""#,
        r#"type=SYSCALL msg=audit(1700000001.001:502): arch=c000003e syscall=59 success=yes exit=0 ppid=77 pid=2000 uid=1001 comm="bash" exe="/bin/bash""#,
        r#"type=EXECVE msg=audit(1700000001.001:502): argc=2 a0="bash" a1="-i""#,
    ]);
    assert_eq!(s(&mut c, &events[1], "User"), Some("root"), "uid 0");
    let shell = &events[3];
    assert_eq!(s(&mut c, shell, "ParentImage"), Some("/usr/sbin/httpd"));
    assert_eq!(
        s(&mut c, shell, "ParentCommandLine"),
        Some("/usr/sbin/httpd -DFOREGROUND")
    );
    assert!(
        !is_process_creation(&events[4]),
        "a failed exec starts nothing"
    );
    let bash = &events[6];
    assert!(is_process_creation(bash));
    assert_eq!(
        s(&mut c, bash, "ParentImage"),
        Some("/usr/lib/jvm/bin/java")
    );
    assert_eq!(s(&mut c, bash, "ParentCommandLine"), None);
}

#[test]
fn other_calls_architectures_and_enriched_names() {
    let (mut c, events) = decode_all(&[
        // openat on x86_64 is not an exec; 59 on aarch64 is not one either.
        r#"type=SYSCALL msg=audit(1700000000.000:10): arch=c000003e syscall=257 success=yes exit=3 ppid=1 pid=5 uid=0 exe="/usr/bin/cat""#,
        r#"type=EXECVE msg=audit(1700000000.000:10): argc=1 a0="cat""#,
        r#"type=SYSCALL msg=audit(1700000000.000:11): arch=c00000b7 syscall=59 success=yes exit=0 ppid=1 pid=6 uid=0 exe="/usr/bin/ls""#,
        r#"type=EXECVE msg=audit(1700000000.000:11): argc=1 a0="ls""#,
        // aarch64's execve is 221; the enriched format names the call and the user.
        "type=SYSCALL msg=audit(1700000000.000:12): arch=c00000b7 syscall=221 success=yes exit=0 ppid=1 pid=7 uid=1000 exe=\"/usr/bin/id\"\x1dARCH=aarch64 SYSCALL=execve UID=\"alice\"",
        r#"type=EXECVE msg=audit(1700000000.000:12): argc=1 a0="id""#,
    ]);
    assert!(events[..4].iter().all(|e| !is_process_creation(e)));
    assert!(is_process_creation(&events[5]));
    assert_eq!(s(&mut c, &events[5], "User"), Some("alice"));
}

#[test]
fn records_of_concurrent_execs_may_interleave() {
    let (mut c, events) = decode_all(&[
        r#"type=SYSCALL msg=audit(1700000000.000:700): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=10 uid=0 exe="/usr/bin/id""#,
        r#"type=SYSCALL msg=audit(1700000000.000:701): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=11 uid=0 exe="/usr/bin/uname""#,
        r#"type=EXECVE msg=audit(1700000000.000:701): argc=2 a0="uname" a1="-a""#,
        r#"type=EXECVE msg=audit(1700000000.000:700): argc=1 a0="id""#,
    ]);
    assert_eq!(s(&mut c, &events[2], "Image"), Some("/usr/bin/uname"));
    assert_eq!(s(&mut c, &events[2], "CommandLine"), Some("uname -a"));
    assert_eq!(s(&mut c, &events[3], "Image"), Some("/usr/bin/id"));
    assert_eq!(s(&mut c, &events[3], "CommandLine"), Some("id"));
}

#[test]
fn long_arguments_come_in_chunks() {
    let (mut c, events) = decode_all(&[
        SHELL_SYSCALL,
        r#"type=EXECVE msg=audit(1700000000.100:500): argc=2 a0="python3" a1_len=10 a1[0]=7072696E74 a1[1]=283129"#,
    ]);
    assert_eq!(
        s(&mut c, &events[1], "CommandLine"),
        Some("python3 print(1)")
    );
}

#[test]
fn an_auoms_exec_record_is_a_process_start_in_a_log_analytics_syslog_row() {
    let message = r#"type=AUOMS_EXECVE audit(1652292621.990:84143): SchemaVersion=\"1\" node=UBUNTU5 arch=x86_64 syscall=execve success=yes exit=0 ppid=1340 pid=17790 auid=4294967295 user=tomcat uid=1001 comm=\"bash\" exe=\"/bin/bash\" cwd=\"/\" argc=3 cmdline=\"bash -c id\" containerid="#;
    let row = format!(
        r#"{{"TenantId":"t","SourceSystem":"Linux","TimeGenerated":"2022-05-11T18:10:21.997Z","Computer":"UBUNTU5","Facility":"user","SyslogMessage":"{message}","ProcessName":"auoms","Type":"Syslog","EventType":"AUOMS_EXECVE"}}"#
    );
    let (mut c, ev, _) = decode_json(None, &row);
    assert!(is_process_creation(&ev), "{}", ev.logsource);
    assert_eq!(s(&mut c, &ev, "Image"), Some("/bin/bash"));
    assert_eq!(s(&mut c, &ev, "CommandLine"), Some("bash -c id"));
    assert_eq!(s(&mut c, &ev, "User"), Some("tomcat"));
    assert_eq!(s(&mut c, &ev, "CurrentDirectory"), Some("/"));
    assert_eq!(s(&mut c, &ev, "Computer"), Some("UBUNTU5"));
    assert_eq!(
        crate::time::format_rfc3339(ev.time),
        "2022-05-11T18:10:21.99Z"
    );
    // A row whose message only mentions a record stays the row it is.
    let (mut c, ev, _) = decode_json(
        None,
        r#"{"Computer":"UBUNTU5","Type":"Syslog","SyslogMessage":"user typed type=x into a form"}"#,
    );
    assert_eq!(
        s(&mut c, &ev, "SyslogMessage"),
        Some("user typed type=x into a form")
    );
}

#[test]
fn memories_are_bounded() {
    let mut c = ctx();
    let mut dec = AuditdDecoder::new();
    let mut ev = Event::new();
    for pid in 0..(super::MAX_PROCESSES as u64 * 2 + 10) {
        ev.clear();
        let line = format!(
            r#"type=AUOMS_EXECVE audit(1700000000.000:{pid}): syscall=execve success=yes ppid=1 pid={pid} exe="/bin/true" cmdline="true""#
        );
        assert!(dec.decode_line(&mut c, &line, &mut ev).unwrap());
    }
    assert!(dec.exec_memory() <= super::MAX_PROCESSES);
}
