//! Project automation, run as `cargo xtask <command>` (alias in .cargo/config.toml).
//!
//! Kept in Rust so the one thing a fresh machine needs is cargo: every other tool
//! (wasm target, Chromium, Kamailio, SIPp, npm packages) is installed by `setup`.

mod bench;
mod demo;
mod dist;
mod manifest;
mod pbx;
mod setup;
mod testcmd;
mod util;

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  dist           build the wasm crates and assemble dist/ringside/ and dist/ringside-<version>.zip
  test           install what is missing, then run every test (native, wasm, browser end-to-end)
  demo [--once]  start the local PBX and Chromium with the extension, account 1001 configured;
                 --once exits after the popup screenshot instead of waiting for Ctrl-C
  bench          measure bundle sizes and cold registration time into target/bench/results.json";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("dist") => dist::run().map(|_| ()),
        Some("test") => testcmd::run(),
        Some("demo") => demo::run(args.iter().skip(1).any(|a| a == "--once")),
        Some("bench") => bench::run(),
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error}");
            ExitCode::FAILURE
        }
    }
}
