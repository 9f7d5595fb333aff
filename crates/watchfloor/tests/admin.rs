//! `watchfloor admin`: the bootstrap commands against a fresh data folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PASSWORD: &str = "a long enough test password";

fn admin(data: &Path, args: &[&str], password: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_watchfloor"));
    command
        .arg("admin")
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("WATCHFLOOR_PASSWORD");
    if let Some(password) = password {
        command.env("WATCHFLOOR_PASSWORD", password);
    }
    command.output().expect("run watchfloor")
}

fn data_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir()
        .join(format!("watchfloor-admin-{}-{name}", std::process::id()))
        .join("data");
    if let Some(parent) = dir.parent() {
        let _ = std::fs::remove_dir_all(parent);
    }
    dir
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_code(out: &Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn create_tenant_user_and_token() {
    let data = data_dir("bootstrap");

    let out = admin(&data, &["create-tenant", "Acme Corp"], None);
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains("created tenant Acme Corp"));
    assert!(data.join("watchfloor.db").is_file());

    let out = admin(
        &data,
        &[
            "create-user",
            "ana",
            "--role",
            "analyst",
            "--tenant",
            "acme corp",
            "--display",
            "Ana Lyst",
        ],
        Some(PASSWORD),
    );
    assert_code(&out, 0);
    assert!(text(&out.stdout).contains("created user ana"));
    for stream in [&out.stdout, &out.stderr] {
        assert!(!text(stream).contains(PASSWORD), "the password was printed");
    }

    let out = admin(
        &data,
        &[
            "create-token",
            "--tenant",
            "Acme Corp",
            "--role",
            "customer",
            "--name",
            "portal",
            "--expires-days",
            "30",
        ],
        None,
    );
    assert_code(&out, 0);
    let stdout = text(&out.stdout);
    assert_eq!(stdout.matches("wf_").count(), 1, "stdout:\n{stdout}");
    let secret = stdout.trim();
    assert!(
        secret.starts_with("wf_") && secret.len() == 67,
        "{secret:?}"
    );
    assert!(
        !text(&out.stderr).contains("wf_"),
        "the secret went to stderr too"
    );
    assert!(text(&out.stderr).contains("shown only this once"));

    // The secret is nowhere in the data folder.
    for file in std::fs::read_dir(&data).expect("data dir") {
        let path = file.expect("entry").path();
        let bytes = std::fs::read(&path).expect("read");
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{} holds the secret",
            path.display()
        );
    }
}

#[test]
fn bad_input_exits_2_and_conflicts_exit_1() {
    let data = data_dir("errors");
    assert_code(&admin(&data, &["create-tenant", "acme"], None), 0);

    let out = admin(&data, &["create-tenant", "ACME"], None);
    assert_code(&out, 1);
    assert!(
        text(&out.stderr).contains("already taken"),
        "{}",
        text(&out.stderr)
    );

    let out = admin(&data, &["create-tenant", " "], None);
    assert_code(&out, 2);
    assert!(text(&out.stderr).contains("name"), "{}", text(&out.stderr));

    let out = admin(
        &data,
        &["create-user", "root", "--role", "admin"],
        Some("Xq7-zz-9"),
    );
    assert_code(&out, 2);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("password"), "{stderr}");
    assert!(
        !stderr.contains("Xq7-zz-9"),
        "the password was printed: {stderr}"
    );

    let out = admin(
        &data,
        &[
            "create-user",
            "cus",
            "--role",
            "customer",
            "--tenant",
            "nobody",
        ],
        Some(PASSWORD),
    );
    assert_code(&out, 2);
    assert!(
        text(&out.stderr).contains("nobody"),
        "{}",
        text(&out.stderr)
    );

    let out = admin(
        &data,
        &[
            "create-token",
            "--tenant",
            "nobody",
            "--role",
            "analyst",
            "--name",
            "x",
        ],
        None,
    );
    assert_code(&out, 2);
    assert!(!text(&out.stdout).contains("wf_"));

    let out = admin(
        &data,
        &[
            "create-token",
            "--tenant",
            "acme",
            "--role",
            "admin",
            "--name",
            "x",
        ],
        None,
    );
    assert_code(&out, 2);
}
