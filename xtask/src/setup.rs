//! Installs what the build and the tests need on a fresh Debian 12 machine, and
//! nothing on a warm one: every step first checks whether it is needed.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::util::{self, Result};

const APT_PACKAGES: &str = "xtask/apt-packages.txt";
const POLICY_RC_D: &str = "/usr/sbin/policy-rc.d";

pub fn ensure_all() -> Result<()> {
    ensure_wasm_target()?;
    ensure_apt_packages()?;
    ensure_node_modules()?;
    Ok(())
}

pub fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    match installed {
        Ok(output) if output.status.success() => {
            if String::from_utf8_lossy(&output.stdout).lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
                return Ok(());
            }
            util::run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
        }
        // Without rustup the toolchain came with its targets (or the build says what is missing).
        _ => Ok(()),
    }
}

fn apt_packages() -> Result<Vec<String>> {
    let path = util::root().join(APT_PACKAGES);
    let text = fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect())
}

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${db:Status-Abbrev}", package])
        .stderr(Stdio::null())
        .output()
        .is_ok_and(|output| output.status.success() && output.stdout.starts_with(b"ii"))
}

pub fn ensure_apt_packages() -> Result<()> {
    if !util::is_on_path("dpkg-query") {
        println!("setup: not a Debian system; make sure chromium, kamailio and sipp are installed");
        return Ok(());
    }
    let missing: Vec<String> = apt_packages()?.into_iter().filter(|p| !is_installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    println!("setup: installing {}", missing.join(" "));
    if !is_root() {
        return Err(format!(
            "missing Debian packages; as root run: apt-get install -y --no-install-recommends {}",
            missing.join(" ")
        )
        .into());
    }
    // Kamailio's package enables and starts a system service on install; the tests run their own
    // Kamailio on free ports, so the service must never start (policy-rc.d exit 101 = "not now").
    let guard = ServiceStartGuard::install()?;
    let result = (|| {
        util::run(apt().arg("update"))?;
        util::run(apt().args(["install", "-y", "--no-install-recommends"]).args(&missing))
    })();
    drop(guard);
    result?;
    if missing.iter().any(|p| p == "kamailio") {
        disable_system_kamailio();
    }
    Ok(())
}

fn apt() -> Command {
    let mut command = Command::new("apt-get");
    command.env("DEBIAN_FRONTEND", "noninteractive");
    command
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|output| output.stdout.trim_ascii() == b"0")
}

/// A temporary policy-rc.d that forbids service starts during the install (only if
/// the machine has none of its own, which is then left alone).
struct ServiceStartGuard {
    created: bool,
}

impl ServiceStartGuard {
    fn install() -> Result<ServiceStartGuard> {
        if Path::new(POLICY_RC_D).exists() {
            return Ok(ServiceStartGuard { created: false });
        }
        fs::write(POLICY_RC_D, "#!/bin/sh\n# written by cargo xtask while installing packages\nexit 101\n")?;
        fs::set_permissions(POLICY_RC_D, fs::Permissions::from_mode(0o755))?;
        Ok(ServiceStartGuard { created: true })
    }
}

impl Drop for ServiceStartGuard {
    fn drop(&mut self) {
        if self.created {
            let _ = fs::remove_file(POLICY_RC_D);
        }
    }
}

/// Keeps the packaged service from starting at the next boot, where systemd runs.
fn disable_system_kamailio() {
    if Path::new("/run/systemd/system").is_dir() {
        let _ = util::run(Command::new("systemctl").args(["disable", "--now", "kamailio"]));
    } else if util::is_on_path("update-rc.d") {
        let _ = util::run(Command::new("update-rc.d").args(["kamailio", "disable"]));
    }
}

/// `npm ci` in tests/ when node_modules is missing or older than the lock file.
pub fn ensure_node_modules() -> Result<()> {
    let tests = util::root().join("tests");
    let lock = tests.join("package-lock.json");
    if !lock.is_file() {
        return Ok(());
    }
    if !util::is_on_path("node") || !util::is_on_path("npm") {
        return Err("node and npm (Node 20) are needed for the browser tests; install nodejs".into());
    }
    let installed = tests.join("node_modules").join(".package-lock.json");
    let modified = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    let fresh = match (modified(&installed), modified(&lock)) {
        (Some(installed), Some(lock)) => installed >= lock,
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    let mut npm = Command::new("npm");
    npm.args(["ci", "--no-audit", "--no-fund"]).current_dir(&tests);
    util::run(&mut npm)
}
