//! The SIP engine's figures (issue 3), built from bench/engine (its own
//! workspace, so its wasm32 cdylib does not drag in the root crate's
//! dev-dependencies):
//! - `engine.notify_per_s`: dialog-info NOTIFYs per second through
//!   `UserAgent::handle_transport` (parse, transaction, subscription dialog,
//!   200 OK, Notify event) in a native release build; baseline: the same
//!   messages through JsSIP's parser in Node (tests/peers/bench-notify.mjs),
//!   measured in the same run.
//! - `engine.wasm_gz_bytes`: gzip -9 of a wasm32 cdylib that calls every
//!   public engine entry point and the body/SDP models, after wasm-bindgen,
//!   minus the same cdylib built with only an allocator, wasm-bindgen's
//!   runtime and the random source (`--features floor`): what the worker has
//!   with or without the engine.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Map, Value};

use super::{gzip_size, Metric};
use crate::util::{self, Result};

const MANIFEST: &str = "bench/engine/Cargo.toml";
const NOTIFY_COUNT: &str = "20000";

/// The metrics, and the baselines measured alongside them (name → value).
pub fn metrics() -> Result<(Vec<Metric>, Map<String, Value>)> {
    let (notify, jssip) = notify_per_s()?;
    let mut baselines = Map::new();
    baselines.insert(notify.name.clone(), json!(jssip));
    Ok((vec![notify, wasm_gz_bytes()?], baselines))
}

fn notify_per_s() -> Result<(Metric, f64)> {
    let mut build = util::cargo();
    build.args([
        "build",
        "--release",
        "--manifest-path",
        MANIFEST,
        "--bin",
        "notify-bench",
    ]);
    // bench/engine is its own workspace: without this its artefacts land in
    // bench/engine/target, not where we look for them.
    build.arg("--target-dir").arg(util::target_dir());
    util::run(&mut build)?;
    let out = util::target_dir().join("bench");
    fs::create_dir_all(&out)?;
    let messages = out.join("notifies.json");
    let ours = json_line(
        Command::new(util::target_dir().join("release").join("notify-bench"))
            .args(["--count", NOTIFY_COUNT, "--out"])
            .arg(&messages),
    )?;
    let jssip = json_line(
        Command::new("node")
            .current_dir(util::root())
            .arg("tests/peers/bench-notify.mjs")
            .arg(&messages),
    )?;
    println!("engine.notify_per_s: ringside {ours}, JsSIP parser {jssip}");
    let per_s = |v: &Value| {
        v.get("per_s")
            .and_then(Value::as_f64)
            .ok_or("no per_s in the bench output")
    };
    Ok((
        Metric {
            name: "engine.notify_per_s".into(),
            value: per_s(&ours)?,
            unit: "msg/s",
        },
        per_s(&jssip)?,
    ))
}

/// Runs a bench program and reads the JSON object on the last line of its stdout.
fn json_line(command: &mut Command) -> Result<Value> {
    let text = util::describe(command);
    println!("$ {text}");
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run `{text}`: {e}"))?;
    if !output.status.success() {
        return Err(format!("`{text}` failed ({})", output.status).into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or("");
    serde_json::from_str(last)
        .map_err(|e| format!("`{text}` printed no JSON ({e}): {last:?}").into())
}

fn wasm_gz_bytes() -> Result<Metric> {
    let engine = cdylib_gz_bytes(false)?;
    let floor = cdylib_gz_bytes(true)?;
    println!(
        "engine.wasm_gz_bytes: engine cdylib {engine} B gz − floor {floor} B gz"
    );
    Ok(Metric {
        name: "engine.wasm_gz_bytes".into(),
        value: engine.saturating_sub(floor) as f64,
        unit: "bytes",
    })
}

fn cdylib_gz_bytes(floor: bool) -> Result<usize> {
    let mut build = util::cargo();
    build.args([
        "build",
        "--release",
        "--manifest-path",
        MANIFEST,
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
    ]);
    build.arg("--target-dir").arg(util::target_dir());
    if floor {
        build.args(["--features", "floor"]);
    }
    util::run(&mut build)?;
    let wasm = util::target_dir().join("wasm32-unknown-unknown/release/ringside_engine_bench.wasm");
    let out =
        util::target_dir()
            .join("bench")
            .join(if floor { "engine-floor" } else { "engine-wasm" });
    bindgen(&wasm, &out)?;
    gzip_size(&fs::read(out.join("ringside_engine_bench_bg.wasm"))?)
}

/// As the worker is shipped: wasm-bindgen drops its describe exports and custom sections.
fn bindgen(wasm: &Path, out: &PathBuf) -> Result<()> {
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(wasm)
        .web(true)?
        .typescript(false)
        .generate(out)?;
    Ok(())
}
