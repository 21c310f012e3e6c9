//! Access control on the control socket with real users: the real daemon (running as root, as
//! these tests do) and the real `supersetctl` run as unprivileged users through `setpriv`.
//!
//! The users and groups are created here (`groupadd`/`useradd`, idempotent). Where that is
//! impossible (not root, tools missing) the tests say so loudly on stderr and pass: they can
//! only be meaningful with a second user.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use supersetd_tests::daemon::{Daemon, Endpoints, bin};

const OPS_GROUP: &str = "ssdtops";
const VIEW_GROUP: &str = "ssdtview";
const OPERATOR: &str = "ssdtop";
const VIEWER: &str = "ssdtviewer";
const STRANGER: &str = "ssdtother";

/// Create the test users and groups; `false` (after saying why) when this machine cannot.
fn users() -> bool {
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "!!! SKIPPED: access-control tests need root to create users; run them as root (CI does)"
        );
        return false;
    }
    for tool in ["groupadd", "useradd", "setpriv"] {
        if which(tool).is_none() {
            eprintln!(
                "!!! SKIPPED: access-control tests need {tool} (apt-get install passwd util-linux)"
            );
            return false;
        }
    }
    let ok = group(OPS_GROUP)
        && group(VIEW_GROUP)
        && user(OPERATOR, Some(OPS_GROUP))
        && user(VIEWER, Some(VIEW_GROUP))
        && user(STRANGER, None);
    if !ok {
        eprintln!("!!! SKIPPED: could not create the test users and groups");
    }
    ok
}

fn which(tool: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|d| Path::new(d).join(tool))
        .find(|p| p.is_file())
}

/// Exit 9 is "already exists": a previous run made it, which is fine.
fn group(name: &str) -> bool {
    let status = Command::new("groupadd").arg(name).status();
    matches!(status.map(|s| s.code()), Ok(Some(0 | 9)))
}

fn user(name: &str, group: Option<&str>) -> bool {
    let mut cmd = Command::new("useradd");
    cmd.args([
        "--no-create-home",
        "--shell",
        "/usr/sbin/nologin",
        "--user-group",
    ]);
    if let Some(g) = group {
        cmd.args(["--groups", g]);
    }
    let status = cmd.arg(name).status();
    matches!(status.map(|s| s.code()), Ok(Some(0 | 9)))
}

/// A copy of `supersetctl` anyone may run (the build directory may sit under /root).
fn public_ctl(d: &Daemon) -> PathBuf {
    let dest = d.state_dir().join("supersetctl");
    if !dest.exists() {
        std::fs::copy(bin("supersetctl"), &dest).unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dest
}

/// `supersetctl ARGS` as `user`, with their groups from the group database.
fn ctl_as(d: &Daemon, user: &str, args: &[&str]) -> Output {
    let out = Command::new("setpriv")
        .arg(format!("--reuid={user}"))
        .arg(format!("--regid={user}"))
        .arg("--init-groups")
        .arg(public_ctl(d))
        .arg("--socket")
        .arg(&d.socket)
        .args(args)
        .env_remove("SUPERSETD_SOCKET")
        .env_remove("SUPERSETD_CONFIG")
        .current_dir("/")
        .output()
        .unwrap();
    eprintln!(
        "{user}: supersetctl {args:?} -> {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn code(o: &Output) -> Option<i32> {
    o.status.code()
}

/// A daemon whose state directory others may traverse (not list), with `control` lines added
/// to its `[control]` table.
fn daemon_with(control: &str) -> Daemon {
    let d = Daemon::new(&Endpoints::default());
    let text = std::fs::read_to_string(&d.config).unwrap();
    let text = text.replacen("[control]\n", &format!("[control]\n{control}"), 1);
    std::fs::write(&d.config, text).unwrap();
    std::fs::set_permissions(d.state_dir(), std::fs::Permissions::from_mode(0o711)).unwrap();
    d
}

fn is_paused(d: &Daemon, job: &str) -> bool {
    let jobs = d.ctl_json(&["jobs"]);
    let found = jobs
        .as_array()
        .and_then(|j| j.iter().find(|j| j["name"] == job));
    found.unwrap_or_else(|| panic!("no job {job} in {jobs}"))["is_paused"] == true
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn by_default_only_the_daemon_user_and_root_get_in() {
    if !users() {
        return;
    }
    let mut d = daemon_with("");
    d.run_foreground();
    assert_eq!(mode(d.socket.parent().unwrap()), 0o700);
    assert_eq!(mode(&d.socket), 0o600);
    let out = ctl_as(&d, OPERATOR, &["pause", "update"]);
    assert_eq!(code(&out), Some(5), "a second user is refused with exit 5");
    assert!(String::from_utf8_lossy(&out.stderr).contains("hint:"));
    assert!(!is_paused(&d, "update"), "the refused pause did nothing");
}

#[test]
fn operators_act_viewers_read_strangers_are_refused_and_all_is_audited() {
    if !users() {
        return;
    }
    let mut d = daemon_with(&format!(
        "operator_group = \"{OPS_GROUP}\"\nviewer_group = \"{VIEW_GROUP}\"\n"
    ));
    d.run_foreground();
    assert_eq!(
        mode(&d.socket),
        0o666,
        "two groups: the credential check is the fence"
    );

    let out = ctl_as(&d, OPERATOR, &["pause", "update"]);
    assert_eq!(code(&out), Some(0), "an operator-group member may act");
    assert!(is_paused(&d, "update"));

    let out = ctl_as(&d, VIEWER, &["--json", "jobs"]);
    assert_eq!(code(&out), Some(0), "a viewer may read");
    let jobs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        jobs.as_array()
            .is_some_and(|j| j.iter().any(|j| j["name"] == "update"))
    );
    assert_eq!(code(&ctl_as(&d, VIEWER, &["status"])), Some(0));
    let out = ctl_as(&d, VIEWER, &["resume", "update"]);
    assert_eq!(code(&out), Some(5), "a viewer may not act");
    assert!(String::from_utf8_lossy(&out.stderr).contains("may only read"));
    assert!(is_paused(&d, "update"), "still paused");

    let out = ctl_as(&d, STRANGER, &["status"]);
    assert_eq!(code(&out), Some(5), "someone in neither group is refused");
    assert_eq!(code(&ctl_as(&d, STRANGER, &["run", "update"])), Some(5));

    assert_eq!(
        code(&d.ctl(&["resume", "update"])),
        Some(0),
        "root operates"
    );
    let audit = d.ctl_json(&["audit"]);
    let rows: Vec<(String, String, bool)> = audit
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| {
            (
                e["user"].as_str().unwrap_or("?").to_owned(),
                e["action"].as_str().unwrap_or("?").to_owned(),
                e["error"].is_null(),
            )
        })
        .collect();
    let row = |u: &str, a: &str, ok: bool| (u.to_owned(), a.to_owned(), ok);
    assert_eq!(
        rows,
        [
            row(OPERATOR, "pause_job", true),
            row(VIEWER, "resume_job", false),
            // Two refused connections in a minute: one record, so a flood cannot fill the log.
            row(STRANGER, "connect", false),
            row("root", "resume_job", true),
        ],
        "{audit:#}"
    );
    assert!(audit.as_array().unwrap().iter().all(|e| e["pid"].is_u64()));
}

#[test]
fn one_operator_group_gets_a_0660_socket_for_that_group_only() {
    if !users() {
        return;
    }
    let mut d = daemon_with(&format!("operator_group = \"{OPS_GROUP}\"\n"));
    d.run_foreground();
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&d.socket).unwrap();
    let gid = nix::unistd::Group::from_name(OPS_GROUP)
        .unwrap()
        .unwrap()
        .gid;
    assert_eq!((mode(&d.socket), meta.gid()), (0o660, gid.as_raw()));
    assert_eq!(mode(d.socket.parent().unwrap()), 0o710);
    assert_eq!(code(&ctl_as(&d, OPERATOR, &["run", "official"])), Some(0));
    assert_eq!(
        code(&ctl_as(&d, VIEWER, &["status"])),
        Some(5),
        "not in the group"
    );
}
