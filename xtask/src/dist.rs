//! `cargo xtask dist`: wasm build → wasm-bindgen → dist/ringside/ → validated → dist/ringside-<version>.zip.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use crate::manifest::{self, Allowlist};
use crate::setup;
use crate::util::{self, Result};

/// The shipped wasm crates: (cargo package, file stem of the .wasm and of the glue).
pub const WASM_CRATES: [(&str, &str); 3] = [
    ("ringside-background", "ringside_background"),
    ("ringside-popup", "ringside_popup"),
    ("ringside-options", "ringside_options"),
];
/// Where the glue and the wasm go inside the extension; extension/ imports `./pkg/<stem>.js`.
pub const PKG_DIR: &str = "pkg";
pub const ALLOWLIST: &str = "xtask/permissions-allowlist.txt";

pub struct Dist {
    pub dir: PathBuf,
}

/// `RINGSIDE_DIST_OUT` moves the whole output (folder and zip) elsewhere, so
/// parallel work on one checkout can build and test its own copy.
fn out_dir() -> PathBuf {
    std::env::var_os("RINGSIDE_DIST_OUT").map(PathBuf::from).unwrap_or_else(|| util::root().join("dist"))
}

pub fn dist_dir() -> PathBuf {
    out_dir().join("ringside")
}

pub fn run() -> Result<Dist> {
    let root = util::root();
    setup::ensure_wasm_target()?;
    let mut build = util::cargo();
    build.args(["build", "--release", "--target", "wasm32-unknown-unknown"]);
    for (package, _) in WASM_CRATES {
        build.args(["--package", package]);
    }
    util::run(&mut build)?;

    let out = out_dir();
    let staging = out.join(".ringside.staging");
    remove_dir(&staging)?;
    fs::create_dir_all(&staging)?;
    copy_file(&root.join("manifest.json"), &staging.join("manifest.json"))?;
    let extension = root.join("extension");
    for file in util::files_below(&extension)? {
        // Editor backups and notes are not part of the extension.
        if file.split('/').any(|part| part.starts_with('.')) || file.ends_with(".md") {
            continue;
        }
        copy_file(&extension.join(&file), &staging.join(&file))?;
    }
    let wasm_dir = util::target_dir().join("wasm32-unknown-unknown").join("release");
    for (package, stem) in WASM_CRATES {
        let wasm = wasm_dir.join(format!("{stem}.wasm"));
        bindgen(&wasm, &staging.join(PKG_DIR)).map_err(|e| format!("wasm-bindgen for {package}: {e}"))?;
    }

    let allowlist_path = root.join(ALLOWLIST);
    let allowlist = fs::read_to_string(&allowlist_path)
        .map_err(|e| format!("cannot read the permission allow-list {}: {e}", allowlist_path.display()))?;
    let checked = manifest::validate(&staging, &Allowlist::parse(&allowlist)).map_err(|problems| {
        let list: Vec<String> = problems.iter().map(|p| format!("  - {p}")).collect();
        format!("manifest.json is not valid, nothing was packaged:\n{}", list.join("\n"))
    })?;

    let dir = dist_dir();
    remove_dir(&dir)?;
    fs::rename(&staging, &dir)?;
    let zip = out.join(format!("ringside-{}.zip", checked.version));
    write_zip(&dir, &zip)?;

    println!("dist: {}", dir.display());
    for file in util::files_below(&dir.join(PKG_DIR))? {
        let size = fs::metadata(dir.join(PKG_DIR).join(&file))?.len();
        println!("  {PKG_DIR}/{file:<40} {size:>9} bytes");
    }
    println!("dist: {} ({} bytes)", zip.display(), fs::metadata(&zip)?.len());
    Ok(Dist { dir })
}

fn bindgen(wasm: &Path, out: &Path) -> Result<()> {
    if !wasm.is_file() {
        return Err(format!("{} was not built", wasm.display()).into());
    }
    let mut bindgen = wasm_bindgen_cli_support::Bindgen::new();
    bindgen
        .input_path(wasm)
        .web(true)?
        // Without the default path the glue cannot find its .wasm next to itself
        // (`new URL('…_bg.wasm', import.meta.url)`), and `init()` needs an argument.
        .omit_default_module_path(false)
        // The release profile strips Rust's names; what wasm-bindgen would add
        // back (names of its shims, the toolchain list) is download and nothing
        // at run time reads it.
        .remove_name_section(true)
        .remove_producers_section(true)
        .typescript(false)
        .generate(out)?;
    Ok(())
}

fn copy_file(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::copy(from, to).map_err(|e| format!("cannot copy {}: {e}", from.display()))?;
    Ok(())
}

fn remove_dir(dir: &Path) -> Result<()> {
    match fs::remove_dir_all(dir) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(format!("cannot remove {}: {e}", dir.display()).into()),
        _ => Ok(()),
    }
}

/// The same folder gives the same bytes: sorted entries, a fixed timestamp and fixed
/// permissions, so a store upload can be reproduced and compared.
pub fn write_zip(dir: &Path, zip_path: &Path) -> Result<()> {
    let partial = zip_path.with_extension("zip.partial");
    let mut zip = ZipWriter::new(fs::File::create(&partial)?);
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(9))
        .last_modified_time(DateTime::default())
        .unix_permissions(0o644);
    for file in util::files_below(dir)? {
        zip.start_file(file.as_str(), options)?;
        zip.write_all(&fs::read(dir.join(&file))?)?;
    }
    zip.finish()?.sync_all()?;
    fs::rename(&partial, zip_path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zip_is_deterministic_and_readable() {
        let base = std::env::temp_dir().join(format!("ringside-xtask-zip-{}", std::process::id()));
        let _ = fs::remove_dir_all(&base);
        let dir = base.join("ext");
        fs::create_dir_all(dir.join("pkg")).unwrap();
        fs::write(dir.join("manifest.json"), "{}").unwrap();
        fs::write(dir.join("pkg/a.wasm"), vec![7u8; 4096]).unwrap();
        write_zip(&dir, &base.join("one.zip")).unwrap();
        // A later mtime must not change the archive.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        fs::write(dir.join("pkg/a.wasm"), vec![7u8; 4096]).unwrap();
        write_zip(&dir, &base.join("two.zip")).unwrap();
        let one = fs::read(base.join("one.zip")).unwrap();
        assert_eq!(one, fs::read(base.join("two.zip")).unwrap());

        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(one)).unwrap();
        let names: Vec<String> = archive.file_names().map(|name| name.unwrap().into_owned()).collect();
        assert_eq!(names, ["manifest.json", "pkg/a.wasm"]);
        let mut wasm = Vec::new();
        std::io::Read::read_to_end(&mut archive.by_name("pkg/a.wasm").unwrap(), &mut wasm).unwrap();
        assert_eq!(wasm, vec![7u8; 4096]);
        let _ = fs::remove_dir_all(&base);
    }
}
