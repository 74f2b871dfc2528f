//! `cargo xtask demo [--once]`: the extension in Chromium against the local PBX,
//! account 1001 configured through the popup form.

use std::process::Command;

use crate::pbx::{self, Pbx};
use crate::util::{self, Result};
use crate::{dist, setup};

pub fn run(once: bool) -> Result<()> {
    setup::ensure_all()?;
    let dist = dist::run()?;
    let binary = pbx::build()?;
    let out = util::target_dir().join("demo");
    let pbx_log = out.join("pbx.log");
    let pbx = Pbx::serve(&binary, &pbx_log)?;
    let ws_url = pbx.ws_url()?;
    println!("demo: local PBX at {ws_url} (users 1001-1010, passwords pass1001-pass1010; log {})", pbx_log.display());

    let mut node = Command::new("node");
    node.current_dir(util::root())
        .arg("tests/e2e/demo.mjs")
        .env("RINGSIDE_DIST", &dist.dir)
        .env("RINGSIDE_WS_URL", &ws_url)
        .env("RINGSIDE_DEMO_DIR", &out);
    if once {
        node.arg("--once");
    }
    println!("$ {}", util::describe(&node));
    let mut browser = node.spawn().map_err(|e| format!("cannot run node: {e}"))?;
    // Ctrl-C reaches the whole process group: node closes Chromium, `serve` stops Kamailio.
    // This process must outlive them to report and to make sure the PBX is gone.
    ignore_interrupt();
    let status = browser.wait()?;
    let stopped = pbx.stop();
    println!("demo: stopped the browser and the PBX");
    stopped?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("the demo browser script failed ({status})").into())
    }
}

fn ignore_interrupt() {
    const SIGINT: i32 = 2;
    const SIG_IGN: usize = 1;
    extern "C" {
        fn signal(signum: i32, handler: usize) -> usize;
    }
    // SAFETY: installs the predefined "ignore" disposition; no Rust code runs in a handler.
    unsafe {
        signal(SIGINT, SIG_IGN);
    }
}
