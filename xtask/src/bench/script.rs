//! Figures measured by a node script in the built extension, such as
//! tests/e2e/bench-c2c.mjs (click-to-call against libphonenumber-js) and
//! tests/e2e/bench-calls.mjs (incoming call → notification against a JsSIP web page,
//! answer → media). The script's last stdout line is a JSON array of
//! `{"name","value","unit","baseline"?}`, or an object with that array under
//! `"metrics"`; a baseline is measured in the same run.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Map, Value};

use super::Metric;
use crate::util::{self, Result};

/// The metrics, and the baselines measured alongside them (name → value).
pub fn metrics(script: &str, dist_dir: &Path) -> Result<(Vec<Metric>, Map<String, Value>)> {
    let output = Command::new("node")
        .current_dir(util::root())
        .arg(script)
        .env("RINGSIDE_DIST", dist_dir)
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!("{script} failed ({})", output.status).into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let last = text.lines().last().unwrap_or("");
    let printed: Value = serde_json::from_str(last)
        .map_err(|e| format!("{script} printed no metrics ({e}): {last:?}"))?;
    let entries = match printed {
        Value::Array(entries) => entries,
        Value::Object(mut object) => match object.remove("metrics") {
            Some(Value::Array(entries)) => entries,
            _ => return Err(format!("{script}: no \"metrics\" array: {last:?}").into()),
        },
        _ => return Err(format!("{script}: not a metrics list: {last:?}").into()),
    };
    let mut metrics = Vec::new();
    let mut baselines = Map::new();
    for entry in entries {
        let (Some(name), Some(value)) = (entry["name"].as_str(), entry["value"].as_f64()) else {
            return Err(format!("{script}: bad metric {entry}").into());
        };
        let unit = match entry["unit"].as_str() {
            Some("ms") => "ms",
            Some("bytes") => "bytes",
            Some("pct") => "pct",
            _ => "ratio",
        };
        if let Some(base) = entry["baseline"].as_f64() {
            baselines.insert(name.to_owned(), json!(base));
        }
        metrics.push(Metric { name: name.to_owned(), value, unit });
    }
    Ok((metrics, baselines))
}
