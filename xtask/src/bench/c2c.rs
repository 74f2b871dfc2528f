//! Click-to-call figures (issue 7), measured by tests/e2e/bench-c2c.mjs in the
//! built extension: `c2c.scan_ms` and `c2c.longest_task_ms` on a 1 MB page with
//! 2,000 numbers, `c2c.precision`/`c2c.recall` on the phone corpus, each with
//! libphonenumber-js on the same input as its same-run baseline, and
//! `bundle.content.gz_bytes`. The script's last stdout line is a JSON array of
//! `{"name","value","unit","baseline"?}`.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Map, Value};

use super::Metric;
use crate::util::{self, Result};

/// The metrics, and the baselines measured alongside them (name → value).
pub fn metrics(dist_dir: &Path) -> Result<(Vec<Metric>, Map<String, Value>)> {
    let output = Command::new("node")
        .current_dir(util::root())
        .arg("tests/e2e/bench-c2c.mjs")
        .env("RINGSIDE_DIST", dist_dir)
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!("bench-c2c.mjs failed ({})", output.status).into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let last = text.lines().last().unwrap_or("");
    let entries: Vec<Value> = serde_json::from_str(last)
        .map_err(|e| format!("bench-c2c.mjs printed no metrics ({e}): {last:?}"))?;
    let mut metrics = Vec::new();
    let mut baselines = Map::new();
    for entry in entries {
        let (Some(name), Some(value)) = (entry["name"].as_str(), entry["value"].as_f64()) else {
            return Err(format!("bench-c2c.mjs: bad metric {entry}").into());
        };
        let unit = match entry["unit"].as_str() {
            Some("ms") => "ms",
            Some("bytes") => "bytes",
            _ => "ratio",
        };
        if let Some(base) = entry["baseline"].as_f64() {
            baselines.insert(name.to_owned(), json!(base));
        }
        metrics.push(Metric { name: name.to_owned(), value, unit });
    }
    Ok((metrics, baselines))
}
