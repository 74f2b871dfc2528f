//! The local PBX for the demo and the bench, through the test kit's `ringside-pbx serve`
//! (the same entry point the node tests use, so all of them run one Kamailio setup).

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::util::{self, Result};

pub const BINARY: &str = "ringside-pbx";

/// Builds the kit's binary (debug: it only starts Kamailio) and returns its path.
pub fn build() -> Result<PathBuf> {
    let mut build = util::cargo();
    build.arg("build");
    crate::testcmd::select_native_packages(&mut build)?;
    util::run(build.args(["--bin", BINARY]))?;
    let path = util::target_dir().join("debug").join(BINARY);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("{} was not built", path.display()).into())
    }
}

pub struct Pbx {
    child: Child,
    /// The JSON line `serve` printed: ws_url, wss_url, sip_port, run_dir, ...
    pub info: Value,
}

impl Pbx {
    /// Starts `serve` and waits for its ready line; the rest of its output goes to `log`.
    pub fn serve(binary: &Path, log: &Path) -> Result<Pbx> {
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut child = Command::new(binary)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(File::create(log)?)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let Some(stdout) = child.stdout.take() else {
            return Err("no stdout from ringside-pbx".into());
        };
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().transpose()?.unwrap_or_default();
        let info: Value = match serde_json::from_str(&first) {
            Ok(info @ Value::Object(_)) => info,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "ringside-pbx serve did not report ready (got {first:?}); see {}",
                    log.display()
                )
                .into());
            }
        };
        // Anything printed later must not fill the pipe and block the PBX.
        let mut log_file = std::fs::OpenOptions::new().append(true).open(log)?;
        std::thread::spawn(move || {
            for line in lines.map_while(std::result::Result::ok) {
                let _ = writeln!(log_file, "{line}");
            }
        });
        Ok(Pbx { child, info })
    }

    pub fn ws_url(&self) -> Result<String> {
        self.info
            .get("ws_url")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| "ringside-pbx serve reported no ws_url".into())
    }

    /// Stops it the documented way (stdin EOF, then SIGTERM) so Kamailio goes down with it.
    pub fn stop(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        drop(self.child.stdin.take());
        for _ in 0..50 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        for _ in 0..50 {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        self.child.kill()?;
        self.child.wait()?;
        Err("ringside-pbx did not stop on SIGTERM and was killed".into())
    }
}

impl Drop for Pbx {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.shutdown();
        }
    }
}
