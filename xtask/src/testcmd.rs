//! `cargo xtask test`: every test the project has, in one command (what .ci/run runs).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::util::{self, Counts, Result, Stopwatch};
use crate::{dist, pbx, setup};

const WASM_BINDGEN_VERSION: &str = "0.2.130";

enum Outcome {
    Passed,
    Failed(String),
    Skipped(&'static str),
}

struct Step {
    name: String,
    outcome: Outcome,
    secs: f64,
    counts: Counts,
}

#[derive(Default)]
struct Report {
    steps: Vec<Step>,
}

impl Report {
    fn run(&mut self, name: &str, body: impl FnOnce() -> Result<Counts>) -> bool {
        println!("\n==> {name}");
        let watch = Stopwatch::start();
        let result = body();
        let counts = util::counts_of(&result);
        let outcome = match result {
            Ok(_) => Outcome::Passed,
            Err(error) => {
                eprintln!("xtask: {name} failed: {error}");
                Outcome::Failed(error.to_string())
            }
        };
        let passed = matches!(outcome, Outcome::Passed);
        self.steps.push(Step { name: name.to_owned(), outcome, secs: watch.secs(), counts });
        passed
    }

    fn skip(&mut self, name: &str, why: &'static str) {
        self.steps.push(Step { name: name.to_owned(), outcome: Outcome::Skipped(why), secs: 0.0, counts: Counts::default() });
    }

    fn print(&self, total_secs: f64) -> bool {
        println!("\n==> summary");
        let mut all = Counts::default();
        let mut failed_steps = 0;
        for step in &self.steps {
            all.add(step.counts);
            let (mark, detail) = match &step.outcome {
                Outcome::Passed => ("ok  ", String::new()),
                Outcome::Failed(error) => {
                    // A step that failed without a failing test (a build error) still counts once.
                    if step.counts.failed == 0 {
                        failed_steps += 1;
                    }
                    ("FAIL", format!("  {}", error.lines().next().unwrap_or("")))
                }
                Outcome::Skipped(why) => ("skip", format!("  ({why})")),
            };
            let tests = if step.counts == Counts::default() {
                String::new()
            } else {
                format!("{} passed, {} failed, {} skipped", step.counts.passed, step.counts.failed, step.counts.skipped)
            };
            println!("  {mark} {:<28} {:>7.1}s  {tests}{detail}", step.name, step.secs);
        }
        println!("  total {total_secs:.1}s");
        println!("tests: {} passed, {} failed, {} skipped", all.passed, all.failed + failed_steps, all.skipped);
        !self.steps.iter().any(|step| matches!(step.outcome, Outcome::Failed(_)))
    }
}

pub fn run() -> Result<()> {
    let total = Stopwatch::start();
    let mut report = Report::default();
    let setup_ok = report.run("setup (install missing)", || setup::ensure_all().map(|()| Counts::default()));
    if setup_ok {
        report.run("cargo test (native)", native_tests);
        match wasm_test_packages() {
            Ok(packages) if packages.is_empty() => report.skip("wasm tests", "no crate has wasm-bindgen-test"),
            Ok(packages) => {
                report.run("wasm tests", || wasm_tests(&packages));
            }
            Err(error) => {
                report.run("wasm tests", || Err(error));
            }
        }
        let dist_ok = report.run("cargo xtask dist", || dist::run().map(|_| Counts::default()));
        let mut pbx_binary = None;
        let pbx_ok = report.run("build ringside-pbx", || {
            pbx_binary = Some(pbx::build()?);
            Ok(Counts::default())
        });
        let node_env = NodeEnv { pbx_binary, dist: dist::dist_dir() };
        let peers = node_test_files("tests/peers")?;
        if peers.is_empty() {
            report.skip("node tests/peers", "no test files");
        } else if !pbx_ok {
            report.skip("node tests/peers", "no PBX binary");
        } else {
            report.run("node tests/peers", || node_env.run(&peers));
        }
        let e2e = node_test_files("tests/e2e")?;
        if e2e.is_empty() {
            report.skip("node tests/e2e", "no test files");
        } else if !(pbx_ok && dist_ok) {
            report.skip("node tests/e2e", "no PBX binary or no dist");
        } else {
            report.run("node tests/e2e", || node_env.run(&e2e));
        }
    }
    if report.print(total.secs()) {
        Ok(())
    } else {
        Err("some tests failed (see the summary above)".into())
    }
}

/// The workspace's native tests, in two cargo runs that each reuse what is already built:
/// xtask alone (a workspace-wide run unifies features differently and would rebuild its
/// heavy bindgen dependencies), and the rest without the wasm-only crates unless they have
/// native tests (compiling yew and web-sys natively to run nothing costs minutes on CI).
fn native_tests() -> Result<Counts> {
    let mut rest = util::cargo();
    // Every test binary runs even after one fails, so one red test hides no others.
    rest.args(["test", "--no-fail-fast"]);
    select_native_packages(&mut rest)?;
    let runs = [util::run_counting(util::cargo().args(["test", "--package", "xtask"])), util::run_counting(&mut rest)];
    let mut counts = Counts::default();
    let mut errors = Vec::new();
    for run in &runs {
        counts.add(util::counts_of(run));
        if let Err(error) = run {
            errors.push(error.to_string());
        }
    }
    if errors.is_empty() {
        Ok(counts)
    } else {
        Err(Box::new(util::Failure { counts, message: errors.join("; ") }))
    }
}

/// The package selection of the native test run. Commands that build from the same selection
/// (the PBX binary) get the same feature set and so reuse its artifacts instead of rebuilding.
pub fn select_native_packages(command: &mut Command) -> Result<()> {
    command.args(["--workspace", "--exclude", "xtask"]);
    for (package, dir) in [
        ("ringside-background", "background"),
        ("ringside-popup", "popup"),
        ("ringside-options", "options"),
        ("ringside-ui", "ui"),
    ] {
        if !has_native_tests(&util::root().join(dir))? {
            command.args(["--exclude", package]);
        }
    }
    Ok(())
}

fn has_native_tests(crate_dir: &Path) -> Result<bool> {
    for file in util::files_below(crate_dir)? {
        if file.ends_with(".rs") && !file.starts_with("target/") {
            let text = std::fs::read_to_string(crate_dir.join(&file))?;
            if text.contains("#[test]") {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Workspace packages with a wasm-bindgen-test dev-dependency: only then is the runner
/// (a ~150 s `cargo install`) worth building.
fn wasm_test_packages() -> Result<Vec<String>> {
    let output = util::cargo().args(["metadata", "--no-deps", "--format-version", "1"]).output()?;
    if !output.status.success() {
        return Err(format!("cargo metadata failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let metadata: Value = serde_json::from_slice(&output.stdout)?;
    let packages = metadata.get("packages").and_then(Value::as_array).cloned().unwrap_or_default();
    Ok(packages
        .iter()
        .filter(|package| {
            package.get("dependencies").and_then(Value::as_array).is_some_and(|deps| {
                deps.iter().any(|dep| dep.get("name").and_then(Value::as_str) == Some("wasm-bindgen-test"))
            })
        })
        .filter_map(|package| package.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect())
}

fn wasm_tests(packages: &[String]) -> Result<Counts> {
    let runner_version = Command::new("wasm-bindgen-test-runner").arg("--version").output();
    let up_to_date = runner_version
        .is_ok_and(|output| String::from_utf8_lossy(&output.stdout).contains(WASM_BINDGEN_VERSION));
    if !up_to_date {
        // The runner must match the wasm-bindgen crate exactly; `--locked` fails for this version.
        util::run(util::cargo().args(["install", "wasm-bindgen-cli", "--version", &format!("={WASM_BINDGEN_VERSION}")]))?;
    }
    let mut command = util::cargo();
    command.args(["test", "--target", "wasm32-unknown-unknown"]);
    for package in packages {
        command.args(["--package", package]);
    }
    command
        .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", "wasm-bindgen-test-runner")
        .env("CHROMEDRIVER", "/usr/bin/chromedriver")
        .env("WASM_BINDGEN_TEST_TIMEOUT", "60");
    util::run_counting(&mut command)
}

fn node_test_files(dir: &str) -> Result<Vec<PathBuf>> {
    let root = util::root();
    let path = root.join(dir);
    if !path.is_dir() {
        return Ok(Vec::new());
    }
    Ok(util::files_below(&path)?
        .into_iter()
        .filter(|file| !file.starts_with("node_modules/") && (file.ends_with(".test.mjs") || file.ends_with(".test.js")))
        .map(|file| PathBuf::from(dir).join(file))
        .collect())
}

struct NodeEnv {
    pbx_binary: Option<PathBuf>,
    dist: PathBuf,
}

impl NodeEnv {
    fn run(&self, files: &[PathBuf]) -> Result<Counts> {
        let mut node = Command::new("node");
        node.current_dir(util::root())
            // Each file starts its own PBX and browser on free ports; running files side by
            // side hides the 150 s idle-survival wait behind the others.
            .args(["--test", "--test-concurrency=3", "--test-force-exit", "--test-reporter=spec"])
            .args(files)
            .env("RINGSIDE_DIST", &self.dist);
        if let Some(binary) = &self.pbx_binary {
            node.env("RINGSIDE_PBX_BIN", binary);
        }
        util::run_counting(&mut node)
    }
}
