//! Paths and process helpers shared by the commands.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

pub type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// The repository root (the xtask crate lives one level below it).
pub fn root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

/// Cargo's target dir as cargo itself will use it, so wasm and binaries are found
/// where they were built (helpers may set CARGO_TARGET_DIR to keep out of each other's locks).
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root().join(dir),
        _ => root().join("target"),
    }
}

/// The cargo that runs us (right toolchain even without a rustup proxy on PATH).
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut command = Command::new(program);
    command.current_dir(root());
    command
}

pub fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// Runs a command with inherited output; fails with the command line on a non-zero exit.
pub fn run(command: &mut Command) -> Result<()> {
    let text = describe(command);
    println!("$ {text}");
    let status = command.status().map_err(|e| format!("cannot run `{text}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{text}` failed ({status})").into())
    }
}

pub fn is_on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

/// How many tests a runner reported, read from its closing lines.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Counts {
    pub fn add(&mut self, other: Counts) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }

    /// Understands cargo's `test result: ok. 3 passed; 0 failed; 1 ignored; ...` and the
    /// closing lines of node's test runner (`ℹ pass 3` with the spec reporter, `# pass 3` with TAP).
    pub fn parse_line(&mut self, line: &str) {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("test result: ") {
            for part in rest.split(';') {
                let mut words = part.split_whitespace().rev();
                let (Some(kind), Some(number)) = (words.next(), words.next()) else { continue };
                let Ok(number) = number.parse::<u64>() else { continue };
                match kind {
                    "passed" => self.passed += number,
                    "failed" => self.failed += number,
                    "ignored" => self.skipped += number,
                    _ => {}
                }
            }
            return;
        }
        let rest = line.strip_prefix("ℹ ").or_else(|| line.strip_prefix("# "));
        if let Some(rest) = rest {
            let mut words = rest.split_whitespace();
            if let (Some(kind), Some(number), None) = (words.next(), words.next(), words.next()) {
                if let Ok(number) = number.parse::<u64>() {
                    match kind {
                        "pass" => self.passed += number,
                        "fail" => self.failed += number,
                        "skipped" | "todo" | "cancelled" => self.skipped += number,
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Runs a test runner, echoing its output while counting the tests it reports.
pub fn run_counting(command: &mut Command) -> Result<Counts> {
    let text = describe(command);
    println!("$ {text}");
    let mut child = command
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run `{text}`: {e}"))?;
    let mut counts = Counts::default();
    if let Some(stdout) = child.stdout.take() {
        let out = std::io::stdout();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            counts.parse_line(&line);
            let mut out = out.lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
    let status = child.wait()?;
    if status.success() {
        Ok(counts)
    } else {
        Err(Box::new(Failure { counts, message: format!("`{text}` failed ({status})") }))
    }
}

/// A test run that failed, with what it counted before failing (for the summary).
#[derive(Debug)]
pub struct Failure {
    pub counts: Counts,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}; {} passed, {} failed", self.message, self.counts.passed, self.counts.failed)
    }
}

impl std::error::Error for Failure {}

/// Counts of a run whether it passed or failed.
pub fn counts_of(result: &Result<Counts>) -> Counts {
    match result {
        Ok(counts) => *counts,
        Err(error) => error.downcast_ref::<Failure>().map(|f| f.counts).unwrap_or_default(),
    }
}

pub struct Stopwatch(Instant);

impl Stopwatch {
    pub fn start() -> Stopwatch {
        Stopwatch(Instant::now())
    }
    pub fn secs(&self) -> f64 {
        self.0.elapsed().as_secs_f64()
    }
}

/// Every file below `dir`, as sorted `/`-separated relative paths (the zip and the
/// validator both need a stable order).
pub fn files_below(dir: &Path) -> Result<Vec<String>> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                walk(base, &path, out)?;
            } else if let Ok(relative) = path.strip_prefix(base) {
                let parts: Vec<String> =
                    relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
                out.push(parts.join("/"));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cargo_and_node_closing_lines() {
        let mut counts = Counts::default();
        for line in [
            "test result: ok. 12 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.01s",
            "test result: FAILED. 1 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out",
            "ℹ tests 6",
            "ℹ pass 5",
            "ℹ fail 1",
            "ℹ skipped 0",
            "# pass 2",
            "# Subtest: pass 7 things",
        ] {
            counts.parse_line(line);
        }
        assert_eq!(counts, Counts { passed: 20, failed: 4, skipped: 2 });
    }
}
