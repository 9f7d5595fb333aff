//! Process starts in the Linux audit log, as Sigma's `process_creation` category.
//!
//! The kernel records one `execve` as several records sharing a serial: `SYSCALL` (the
//! program, `exe`; its `pid`, `ppid`, `uid`, `auid`, `ses`; `success`) and `EXECVE` (the
//! arguments `a0`…, hex-decoded by the decoder). Microsoft's auoms agent writes one
//! `AUOMS_EXECVE` record with all of it (`exe`, `cmdline`, `cwd`, `user`). Sigma's
//! Linux `process_creation` rules read `Image`, `CommandLine`, `ParentImage`, `User`,
//! `CurrentDirectory`, as Sysmon for Linux writes them.
//!
//! [`ExecAssembler`] watches the records as they are decoded. When the second of a
//! successful exec's `SYSCALL` and `EXECVE` records arrives (auditd writes `SYSCALL`
//! first; the order is not relied on, nor that the records of two execs never
//! interleave), or an `AUOMS_EXECVE` record, that record's
//! event becomes `linux/process_creation/auditd` and gains the Sysmon names. It keeps
//! its own fields, so `service: auditd` rules still meet it.
//!
//! The parent is the last program the parent process was seen starting (`ParentImage`,
//! `ParentCommandLine`), or else the program the process itself ran before the exec (a
//! child runs its parent's program between `fork` and `exec`: failed `execve` attempts
//! of a `PATH` search, or other audited calls, show it). Both memories are bounded.

use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};

use watchfloor_event::{Event, FieldId, LogSource, Value};

use crate::DecodeContext;

/// Exec halves waiting for their other half (records of concurrent events may
/// interleave); past it the oldest is dropped.
const MAX_PENDING: usize = 16;
/// Processes remembered for parent lookups; past it the memory starts over.
const MAX_PROCESSES: usize = 8192;
/// Arguments joined into a command line, at most.
const MAX_ARGS: usize = 1024;
/// A command line is cut at this many bytes.
const MAX_COMMAND_LINE: usize = 32 * 1024;

/// What a `SYSCALL` record said of a successful exec.
#[derive(Debug, Clone, Default)]
struct ExecCall {
    exe: Option<String>,
    pid: Option<String>,
    ppid: Option<String>,
    user: Option<String>,
    cwd: Option<String>,
}

#[derive(Debug, Clone)]
enum Half {
    Call(ExecCall),
    Args(String),
}

/// Field ids the assembler reads, resolved on first use.
#[derive(Debug, Clone, Copy)]
struct Ids {
    syscall: FieldId,
    syscall_name: FieldId,
    arch: FieldId,
    success: FieldId,
    exe: FieldId,
    pid: FieldId,
    ppid: FieldId,
    uid: FieldId,
    uid_name: FieldId,
    user: FieldId,
    cwd: FieldId,
    argc: FieldId,
    cmdline: FieldId,
}

impl Ids {
    fn resolve(ctx: &mut DecodeContext) -> Self {
        Ids {
            syscall: ctx.id("syscall"),
            syscall_name: ctx.id("SYSCALL"),
            arch: ctx.id("arch"),
            success: ctx.id("success"),
            exe: ctx.id("exe"),
            pid: ctx.id("pid"),
            ppid: ctx.id("ppid"),
            uid: ctx.id("uid"),
            uid_name: ctx.id("UID"),
            user: ctx.id("user"),
            cwd: ctx.id("cwd"),
            argc: ctx.id("argc"),
            cmdline: ctx.id("cmdline"),
        }
    }
}

/// Joins exec records into process starts; see the module documentation.
#[derive(Debug, Clone, Default)]
pub struct ExecAssembler {
    ids: Option<Ids>,
    /// The halves of execs seen first, with their serials, oldest first.
    pending: VecDeque<(i64, Half)>,
    /// Program and command line each process last started.
    started: HashMap<String, (String, String)>,
    /// Program each process ran when last seen not starting one.
    running: HashMap<String, String>,
    /// Field ids of `a0`, `a1`, …, resolved as far as needed.
    arg_ids: Vec<FieldId>,
    arg_name: String,
}

impl ExecAssembler {
    /// Looks at one decoded record (`ev` holds its fields) and, when it completes a
    /// process start, makes its event one.
    pub fn record(
        &mut self,
        ctx: &mut DecodeContext,
        record_type: &str,
        serial: i64,
        ev: &mut Event,
    ) {
        let ids = *self.ids.get_or_insert_with(|| Ids::resolve(ctx));
        match record_type {
            "SYSCALL" => {
                let Some(call) = self.exec_call(&ids, ev) else {
                    return;
                };
                match self.take_pending(serial, false) {
                    Some(Half::Args(args)) => self.complete(ctx, ev, call, args),
                    _ => self.wait(serial, Half::Call(call)),
                }
            }
            "EXECVE" => {
                let args = self.arguments(ctx, &ids, ev);
                match self.take_pending(serial, true) {
                    Some(Half::Call(call)) => self.complete(ctx, ev, call, args),
                    _ => self.wait(serial, Half::Args(args)),
                }
            }
            "AUOMS_EXECVE" => {
                let Some(call) = self.exec_call(&ids, ev) else {
                    return;
                };
                let args = owned(text(ev, ids.cmdline)).unwrap_or_default();
                self.complete(ctx, ev, call, args);
            }
            _ => {}
        }
    }

    /// The waiting half of exec `serial`: its `SYSCALL` (`call`) or its `EXECVE`.
    fn take_pending(&mut self, serial: i64, call: bool) -> Option<Half> {
        let at = self
            .pending
            .iter()
            .position(|(s, half)| *s == serial && matches!(half, Half::Call(_)) == call)?;
        self.pending.remove(at).map(|(_, half)| half)
    }

    fn wait(&mut self, serial: i64, half: Half) {
        if self.pending.len() >= MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back((serial, half));
    }

    /// Processes remembered (the larger of the two memories).
    pub fn memory(&self) -> usize {
        self.started.len().max(self.running.len())
    }

    /// The exec a `SYSCALL` or `AUOMS_EXECVE` record shows, if it is a successful one;
    /// any other call updates what its process is running.
    fn exec_call(&mut self, ids: &Ids, ev: &Event) -> Option<ExecCall> {
        let exe = text(ev, ids.exe);
        let pid = text(ev, ids.pid);
        let succeeded = text(ev, ids.success).is_none_or(|s| s == "yes");
        if !(is_exec(ev, ids) && succeeded) {
            if let (Some(exe), Some(pid)) = (exe, pid)
                && self.running.get(pid.as_ref()).map(String::as_str) != Some(exe.as_ref())
            {
                if self.running.len() >= MAX_PROCESSES {
                    self.running.clear();
                }
                self.running.insert(pid.into_owned(), exe.into_owned());
            }
            return None;
        }
        let user = text(ev, ids.user)
            .or_else(|| text(ev, ids.uid_name))
            .or_else(|| {
                text(ev, ids.uid).map(|uid| {
                    if uid == "0" {
                        Cow::Borrowed("root")
                    } else {
                        uid
                    }
                })
            });
        Some(ExecCall {
            exe: owned(exe),
            pid: owned(pid),
            ppid: owned(text(ev, ids.ppid)),
            user: owned(user),
            cwd: owned(text(ev, ids.cwd)),
        })
    }

    /// The command line of an `EXECVE` record: its arguments, joined by spaces.
    fn arguments(&mut self, ctx: &mut DecodeContext, ids: &Ids, ev: &Event) -> String {
        let argc = text(ev, ids.argc)
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(0)
            .min(MAX_ARGS);
        let mut line = String::new();
        for i in 0..argc {
            if line.len() >= MAX_COMMAND_LINE {
                break;
            }
            if i > 0 {
                line.push(' ');
            }
            while self.arg_ids.len() <= i {
                let name = format!("a{}", self.arg_ids.len());
                self.arg_ids.push(ctx.id(&name));
            }
            if let Some(arg) = text(ev, self.arg_ids[i]) {
                line.push_str(&arg);
                continue;
            }
            // A long argument comes in chunks: `a1[0]`, `a1[1]`, …
            for chunk in 0.. {
                self.arg_name.clear();
                self.arg_name.push_str(&format!("a{i}[{chunk}]"));
                let id = ctx.id(&self.arg_name);
                match text(ev, id) {
                    Some(part) => line.push_str(&part),
                    None => break,
                }
            }
        }
        if line.len() > MAX_COMMAND_LINE {
            let mut cut = MAX_COMMAND_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
        }
        line
    }

    fn complete(&mut self, ctx: &mut DecodeContext, ev: &mut Event, call: ExecCall, args: String) {
        ev.logsource = LogSource::new(Some("linux"), Some("process_creation"), Some("auditd"));
        for (name, value) in [
            ("Image", &call.exe),
            ("User", &call.user),
            ("CurrentDirectory", &call.cwd),
            ("ProcessId", &call.pid),
            ("ParentProcessId", &call.ppid),
        ] {
            if let Some(v) = value {
                ctx.put_str(ev, name, v);
            }
        }
        ctx.put_str(ev, "CommandLine", &args);
        let before = call.pid.as_ref().and_then(|pid| self.running.remove(pid));
        match call.ppid.as_ref().and_then(|ppid| self.started.get(ppid)) {
            Some((image, command_line)) => {
                ctx.put_str(ev, "ParentImage", image);
                ctx.put_str(ev, "ParentCommandLine", command_line);
            }
            None => {
                if let Some(image) = before {
                    ctx.put_str(ev, "ParentImage", &image);
                }
            }
        }
        if let (Some(pid), Some(exe)) = (call.pid, call.exe) {
            if self.started.len() >= MAX_PROCESSES {
                self.started.clear();
            }
            self.started.insert(pid, (exe, args));
        }
    }
}

/// Whether a `SYSCALL` record is `execve` or `execveat`: by the interpreted name when
/// the log is enriched, else by number for the architecture.
fn is_exec(ev: &Event, ids: &Ids) -> bool {
    if let Some(name) = text(ev, ids.syscall_name) {
        return name == "execve" || name == "execveat";
    }
    let Some(number) = text(ev, ids.syscall) else {
        return false;
    };
    if number == "execve" || number == "execveat" {
        return true;
    }
    let arch = text(ev, ids.arch).unwrap_or_default();
    let is = |names: &[&str]| names.iter().any(|n| arch.eq_ignore_ascii_case(n));
    let exec_numbers: &[&str] = if is(&["c000003e", "x86_64", ""]) {
        &["59", "322"]
    } else if is(&["40000003", "i386"]) {
        &["11", "358"]
    } else if is(&["c00000b7", "aarch64"]) {
        &["221", "281"]
    } else if is(&["40000028", "arm", "armeb"]) {
        &["11", "387"]
    } else {
        &[]
    };
    exec_numbers.contains(&number.as_ref())
}

/// A field's text; `(null)`, `?` and empty text are none.
fn text(ev: &Event, id: FieldId) -> Option<Cow<'_, str>> {
    match ev.get(id)? {
        Value::Str(s) if !s.is_empty() && s != "(null)" && s != "?" => Some(Cow::Borrowed(s)),
        Value::Int(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

fn owned(v: Option<Cow<'_, str>>) -> Option<String> {
    v.map(Cow::into_owned)
}

#[cfg(test)]
#[path = "auditd_exec_tests.rs"]
mod tests;
