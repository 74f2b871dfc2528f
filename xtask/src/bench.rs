//! `cargo xtask bench`: size and speed figures, printed and written to
//! target/bench/results.json as `[{"name","value","unit","baseline"?,"ratio"?}]`.
//!
//! Each metric is one `Metric`; later issues add their own producers to `run` and
//! their reference values to xtask/bench-baseline.json.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use flate2::write::GzEncoder;
use flate2::Compression;
use serde_json::{json, Map, Value};

use crate::dist::{self, PKG_DIR};
use crate::pbx::{self, Pbx};
use crate::util::{self, Result};
use crate::setup;

mod engine;
mod script;

const BASELINE: &str = "xtask/bench-baseline.json";
const REGISTER_SAMPLES: usize = 11;

struct Metric {
    name: String,
    value: f64,
    unit: &'static str,
}

pub fn run() -> Result<()> {
    setup::ensure_all()?;
    let dist = dist::run()?;
    let mut metrics = bundle_sizes(&dist.dir)?;
    let register = register_cold(&dist.dir);
    if let Ok(metric) = &register {
        metrics.push(Metric { name: "register.cold_ms".into(), value: *metric, unit: "ms" });
    }
    // baselines measured in this run (a third-party stack) win over bench-baseline.json
    let mut same_run = Map::new();
    let engine = engine::metrics().map(|(engine, baselines)| {
        metrics.extend(engine);
        same_run.extend(baselines);
    });
    let mut scripted = Vec::new();
    for script in ["tests/e2e/bench-c2c.mjs", "tests/e2e/bench-calls.mjs", "tests/e2e/bench-blf.mjs"] {
        scripted.push(script::metrics(script, &dist.dir).map(|(figures, baselines)| {
            metrics.extend(figures);
            same_run.extend(baselines);
        }));
    }
    let popup = popup_open(&dist.dir);
    if let Ok((popup_ms, static_ms)) = &popup {
        metrics.push(Metric { name: "popup.open_to_interactive_ms".into(), value: *popup_ms, unit: "ms" });
        metrics.push(Metric { name: "popup.static_page_ms".into(), value: *static_ms, unit: "ms" });
        metrics.push(Metric { name: "popup.open_to_interactive_ratio".into(), value: popup_ms / static_ms.max(0.1), unit: "x" });
    }
    let results = write_results(&metrics, same_run)?;
    print_table(&results);
    register.map(|_| ())?;
    engine?;
    scripted.into_iter().collect::<Result<Vec<()>>>()?;
    popup.map(|_| ())
}

/// Medians of opening popup.html until its dial field takes input, and of a
/// static page of the same size (tests/e2e/bench-popup.mjs).
fn popup_open(dist_dir: &Path) -> Result<(f64, f64)> {
    let output = Command::new("node")
        .current_dir(util::root())
        .arg("tests/e2e/bench-popup.mjs")
        .env("RINGSIDE_DIST", dist_dir)
        .env("RINGSIDE_BENCH_SAMPLES", "21")
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!("bench-popup.mjs failed ({})", output.status).into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let last: Value = serde_json::from_str(text.lines().last().unwrap_or("")).unwrap_or_default();
    let samples = |key: &str| -> Vec<f64> {
        last.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_f64).collect()
    };
    println!("popup.open_to_interactive_ms samples: {:?}", samples("popup"));
    match (median(samples("popup")), median(samples("baseline"))) {
        (Some(popup), Some(baseline)) => Ok((popup, baseline)),
        _ => Err("bench-popup.mjs reported no samples".into()),
    }
}

/// gzip -9 size of each wasm crate's wasm + glue: what a user downloads and Chrome parses.
/// The options page (rarely opened editors) is reported but not in the total.
fn bundle_sizes(dir: &Path) -> Result<Vec<Metric>> {
    let mut metrics = Vec::new();
    let mut total = 0;
    for (name, stem) in
        [("worker", "ringside_background"), ("popup", "ringside_popup"), ("options", "ringside_options")]
    {
        let mut bytes = 0;
        for file in [format!("{stem}_bg.wasm"), format!("{stem}.js")] {
            let path = dir.join(PKG_DIR).join(&file);
            let content = fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            bytes += gzip_size(&content)?;
        }
        if name != "options" {
            total += bytes;
        }
        metrics.push(Metric { name: format!("bundle.{name}.gz_bytes"), value: bytes as f64, unit: "bytes" });
    }
    metrics.push(Metric { name: "bundle.total.gz_bytes".into(), value: total as f64, unit: "bytes" });
    Ok(metrics)
}

fn gzip_size(content: &[u8]) -> Result<usize> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(content)?;
    Ok(encoder.finish()?.len())
}

/// Median time from a fresh worker start to its REGISTER's 200 OK, over several
/// kill-and-wake cycles driven by tests/e2e/bench-register.mjs.
fn register_cold(dist_dir: &Path) -> Result<f64> {
    let binary = pbx::build()?;
    let out = util::target_dir().join("bench");
    let pbx = Pbx::serve(&binary, &out.join("pbx.log"))?;
    let output = Command::new("node")
        .current_dir(util::root())
        .arg("tests/e2e/bench-register.mjs")
        .env("RINGSIDE_DIST", dist_dir)
        .env("RINGSIDE_WS_URL", pbx.ws_url()?)
        .env("RINGSIDE_BENCH_SAMPLES", REGISTER_SAMPLES.to_string())
        .stderr(Stdio::inherit())
        .output()?;
    pbx.stop()?;
    if !output.status.success() {
        return Err(format!("bench-register.mjs failed ({})", output.status).into());
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let last = text.lines().last().unwrap_or("");
    let samples: Vec<f64> = serde_json::from_str::<Value>(last)
        .ok()
        .and_then(|v| v.get("samples").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    println!("register.cold_ms samples: {samples:?}");
    median(samples).ok_or_else(|| format!("bench-register.mjs reported no samples: {last:?}").into())
}

fn median(mut samples: Vec<f64>) -> Option<f64> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    let middle = samples.len() / 2;
    Some(if samples.len() % 2 == 1 { samples[middle] } else { (samples[middle - 1] + samples[middle]) / 2.0 })
}

fn write_results(metrics: &[Metric], same_run: Map<String, Value>) -> Result<Vec<Value>> {
    let mut baseline: Map<String, Value> = fs::read_to_string(util::root().join(BASELINE))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    baseline.extend(same_run);
    let results: Vec<Value> = metrics
        .iter()
        .map(|metric| {
            let mut entry = json!({ "name": metric.name, "value": metric.value, "unit": metric.unit });
            if let Some(base) = baseline.get(&metric.name).and_then(Value::as_f64) {
                entry["baseline"] = json!(base);
                if base != 0.0 {
                    entry["ratio"] = json!((metric.value / base * 1000.0).round() / 1000.0);
                }
            }
            entry
        })
        .collect();
    let dir = util::target_dir().join("bench");
    fs::create_dir_all(&dir)?;
    let path = dir.join("results.json");
    fs::write(&path, serde_json::to_string_pretty(&results)? + "\n")?;
    println!("bench: wrote {}", path.display());
    Ok(results)
}

fn print_table(results: &[Value]) {
    println!("{:<28} {:>12} {:<6} {:>12} {:>7}", "metric", "value", "unit", "baseline", "ratio");
    for entry in results {
        let text = |key: &str| entry.get(key).map(|v| v.to_string().trim_matches('"').to_owned()).unwrap_or_default();
        println!("{:<28} {:>12} {:<6} {:>12} {:>7}", text("name"), text("value"), text("unit"), text("baseline"), text("ratio"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(Vec::new()), None);
    }
}
