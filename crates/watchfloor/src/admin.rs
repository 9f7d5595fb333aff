//! `watchfloor admin`: bootstrap commands that create tenants, users and API tokens in
//! the server's store (`DIR/watchfloor.db`), run on the server's machine before anyone
//! can log in. Changes are audited as made by `system` from `cli`.
//!
//! Passwords never come from the command line (other users could read them in the
//! process list, shells keep them in history): `create-user` takes the password from
//! `WATCHFLOOR_PASSWORD` or, when that is unset, asks for it twice on the terminal
//! without echo. A token's secret is printed once on standard output, alone on its line,
//! and nowhere else.

use std::path::Path;

use anyhow::Context;
use watchfloor_store::{NewUser, Origin, Password, Role, Store, StoreError, Timestamp};

use crate::cli::{
    AdminCommand, AdminCreateTenantArgs, AdminCreateTokenArgs, AdminCreateUserArgs, AdminTokenRole,
    AdminUserRole, UsageError,
};

/// The store's file inside the data folder.
pub const DB_FILE: &str = "watchfloor.db";
/// Where `create-user` looks for the password before asking on the terminal.
pub const PASSWORD_VAR: &str = "WATCHFLOOR_PASSWORD";
const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

pub fn run(command: AdminCommand) -> anyhow::Result<()> {
    match command {
        AdminCommand::CreateTenant(args) => create_tenant(args),
        AdminCommand::CreateUser(args) => create_user(args),
        AdminCommand::CreateToken(args) => create_token(args),
    }
}

fn origin() -> Origin {
    Origin::system("cli", Timestamp::now())
}

/// Opens (creating if need be) the store in `data`; the folder is created readable by
/// its owner only.
pub fn open_store(data: &Path) -> anyhow::Result<Store> {
    let mut dir = std::fs::DirBuilder::new();
    dir.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        dir.mode(0o700);
    }
    dir.create(data)
        .with_context(|| format!("creating the data folder {}", data.display()))?;
    let path = data.join(DB_FILE);
    Store::open(&path).with_context(|| format!("opening {}", path.display()))
}

/// Bad input (a short password, an unknown tenant name) is a usage error, exit 2; a
/// taken name or a failing database is exit 1.
fn fail(e: StoreError) -> anyhow::Error {
    match e {
        StoreError::Invalid { .. } | StoreError::NotFound { .. } => {
            UsageError(e.to_string()).into()
        }
        other => other.into(),
    }
}

fn create_tenant(args: AdminCreateTenantArgs) -> anyhow::Result<()> {
    let store = open_store(&args.data)?;
    let tenant = store.create_tenant(&args.name, &origin()).map_err(fail)?;
    println!("created tenant {} (id {})", tenant.name, tenant.id.0);
    Ok(())
}

fn create_user(args: AdminCreateUserArgs) -> anyhow::Result<()> {
    let role = match args.role {
        AdminUserRole::Admin => Role::Admin,
        AdminUserRole::Analyst => Role::Analyst,
        AdminUserRole::Customer => Role::Customer,
    };
    let store = open_store(&args.data)?;
    let mut tenants = Vec::with_capacity(args.tenants.len());
    for name in &args.tenants {
        tenants.push(store.tenant_by_name(name).map_err(fail)?.id);
    }
    let password = read_password(&args.login)?;
    let new = NewUser {
        display_name: args.display.unwrap_or_else(|| args.login.clone()),
        login: args.login,
        role,
        tenants,
        password,
    };
    let user = store.create_user(&new, &origin()).map_err(fail)?;
    let names: Vec<&str> = args.tenants.iter().map(String::as_str).collect();
    let scope = match user.role {
        Role::Admin => "all tenants".to_owned(),
        _ if names.is_empty() => "no tenants yet".to_owned(),
        _ => names.join(", "),
    };
    println!(
        "created user {} (id {}, {}: {scope})",
        user.login, user.id, user.role
    );
    Ok(())
}

/// The new user's password: `WATCHFLOOR_PASSWORD` if set, else typed twice on the
/// terminal without echo.
fn read_password(login: &str) -> anyhow::Result<Password> {
    match std::env::var(PASSWORD_VAR) {
        Ok(text) => return Ok(Password::new(text)),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(UsageError(format!("{PASSWORD_VAR} is not valid UTF-8")).into());
        }
        Err(std::env::VarError::NotPresent) => {}
    }
    let first =
        rpassword::prompt_password(format!("password for {login}: ")).with_context(|| {
            format!("reading the password from the terminal (or set {PASSWORD_VAR})")
        })?;
    let second = rpassword::prompt_password("repeat the password: ")
        .context("reading the password from the terminal")?;
    if first != second {
        return Err(UsageError("the two passwords differ".to_owned()).into());
    }
    Ok(Password::new(first))
}

fn create_token(args: AdminCreateTokenArgs) -> anyhow::Result<()> {
    let role = match args.role {
        AdminTokenRole::Analyst => Role::Analyst,
        AdminTokenRole::Customer => Role::Customer,
    };
    let now = Timestamp::now();
    let expires_at = match args.expires_days {
        None => None,
        Some(0) => return Err(UsageError("--expires-days must be at least 1".to_owned()).into()),
        Some(days) => Some(Timestamp(
            now.as_nanos()
                .saturating_add(i64::from(days).saturating_mul(NANOS_PER_DAY)),
        )),
    };
    let store = open_store(&args.data)?;
    let tenant = store.tenant_by_name(&args.tenant).map_err(fail)?;
    let new = store
        .create_token(
            tenant.id,
            role,
            &args.name,
            expires_at,
            &Origin::system("cli", now),
        )
        .map_err(fail)?;
    let expiry = match args.expires_days {
        Some(days) => format!("expires in {days} days"),
        None => "does not expire".to_owned(),
    };
    eprintln!(
        "created token {} `{}` for tenant {} ({}), {expiry}; the secret below is shown only this once:",
        new.token.id, new.token.name, tenant.name, new.token.role
    );
    println!("{}", new.secret.expose());
    Ok(())
}
