//! Checks an assembled extension folder before it is packaged, so a store upload
//! never carries a manifest Chrome would reject or a wasm bundle that cannot start.

use std::collections::{BTreeSet, HashSet};
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};
use thiserror::Error;

/// Chrome 116 is the first that keeps a service worker alive while its WebSocket
/// exchanges messages; the always-registered worker depends on that.
pub const MIN_CHROME: u32 = 116;
const ICON_SIZES: [&str; 4] = ["16", "32", "48", "128"];
/// Locales the product ships; name and description must exist in each.
const REQUIRED_LOCALES: [&str; 2] = ["en", "zh_CN"];
const WASM_UNSAFE_EVAL: &str = "'wasm-unsafe-eval'";

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    #[error("manifest.json cannot be read: {0}")]
    Unreadable(String),
    #[error("\"manifest_version\" must be 3")]
    ManifestVersion,
    #[error("\"{0}\" is missing or not a string")]
    MissingField(&'static str),
    #[error("\"version\" {0:?} must be 1 to 4 dot-separated integers 0-65535")]
    BadVersion(String),
    #[error("\"icons\" has no {0}x{0} icon (16, 32, 48 and 128 are required)")]
    MissingIconSize(&'static str),
    #[error("{field} refers to {path:?}, which is not in the package")]
    MissingFile { field: String, path: String },
    #[error("the manifest uses __MSG_{0}__ but has no \"default_locale\"")]
    NoDefaultLocale(String),
    #[error("_locales/{0}/messages.json is missing")]
    MissingLocale(String),
    #[error("_locales/{locale}/messages.json is not valid: {reason}")]
    BadLocale { locale: String, reason: String },
    #[error("_locales/{locale}/messages.json has no message \"{key}\" (used as __MSG_{key}__)")]
    MissingMessage { locale: String, key: String },
    #[error(
        "content_security_policy.extension_pages is missing; Chrome's default forbids compiling wasm \
         (need \"script-src 'self' 'wasm-unsafe-eval'; object-src 'self'\")"
    )]
    NoCsp,
    #[error("content_security_policy.extension_pages {0:?} has no 'wasm-unsafe-eval' in script-src: the wasm cannot be instantiated")]
    CspWithoutWasm(String),
    #[error("\"{field}\" asks for {permission:?}, which is not in xtask/permissions-allowlist.txt (add it there with the reason it is needed)")]
    NotAllowed { field: &'static str, permission: String },
    #[error("\"minimum_chrome_version\" is missing; set it to {MIN_CHROME} or later")]
    NoMinimumChrome,
    #[error("\"minimum_chrome_version\" {0:?} is below {MIN_CHROME} (needed for WebSocket keep-alive of the service worker)")]
    MinimumChromeTooLow(String),
}

/// Permissions and host patterns the extension may request, one per line, `#` comments.
#[derive(Debug, Default, Clone)]
pub struct Allowlist(BTreeSet<String>);

impl Allowlist {
    pub fn parse(text: &str) -> Allowlist {
        Allowlist(
            text.lines()
                .map(|line| line.split('#').next().unwrap_or("").trim())
                .filter(|entry| !entry.is_empty())
                .map(str::to_owned)
                .collect(),
        )
    }

    pub fn contains(&self, permission: &str) -> bool {
        self.0.contains(permission)
    }
}

/// What packaging needs from a valid manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub version: String,
}

/// Validates `dir/manifest.json` against the files in `dir`; reports every problem at once.
pub fn validate(dir: &Path, allowlist: &Allowlist) -> Result<Checked, Vec<Problem>> {
    let manifest = match std::fs::read_to_string(dir.join("manifest.json")) {
        Ok(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map,
            Ok(_) => return Err(vec![Problem::Unreadable("not a JSON object".into())]),
            Err(e) => return Err(vec![Problem::Unreadable(e.to_string())]),
        },
        Err(e) => return Err(vec![Problem::Unreadable(e.to_string())]),
    };
    let mut check = Checker { dir, problems: Vec::new(), visited: HashSet::new() };

    if manifest.get("manifest_version").and_then(Value::as_u64) != Some(3) {
        check.problems.push(Problem::ManifestVersion);
    }
    if manifest.get("name").and_then(Value::as_str).is_none() {
        check.problems.push(Problem::MissingField("name"));
    }
    let version = manifest.get("version").and_then(Value::as_str).unwrap_or("").to_owned();
    if version.is_empty() {
        check.problems.push(Problem::MissingField("version"));
    } else if !is_chrome_version(&version) {
        check.problems.push(Problem::BadVersion(version.clone()));
    }

    check.icons(&manifest);
    check.locales(&manifest);
    check.referenced_files(&manifest);
    check.csp(&manifest);
    check.permissions(&manifest, allowlist);
    check.minimum_chrome(&manifest);

    if check.problems.is_empty() {
        Ok(Checked { version })
    } else {
        Err(check.problems)
    }
}

fn is_chrome_version(version: &str) -> bool {
    let parts: Vec<&str> = version.split('.').collect();
    (1..=4).contains(&parts.len())
        && parts.iter().all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_digit())
                && (part.len() == 1 || !part.starts_with('0'))
                && part.parse::<u32>().is_ok_and(|n| n <= 65535)
        })
}

struct Checker<'a> {
    dir: &'a Path,
    problems: Vec<Problem>,
    /// Files already scanned for their own references (HTML scripts, JS imports).
    visited: HashSet<PathBuf>,
}

impl Checker<'_> {
    /// Resolves a package path (`/x`, `x`, relative to `base` for `./x`, `../x`) inside the
    /// package; `None` when it escapes the package root.
    fn resolve(&self, base: &Path, reference: &str) -> Option<PathBuf> {
        let reference = reference.split(['?', '#']).next().unwrap_or("");
        let (start, rest) = match reference.strip_prefix('/') {
            Some(rest) => (PathBuf::new(), rest),
            None => (base.to_path_buf(), reference),
        };
        let mut path = start;
        for component in Path::new(rest).components() {
            match component {
                Component::Normal(part) => path.push(part),
                Component::CurDir => {}
                Component::ParentDir => {
                    if !path.pop() {
                        return None;
                    }
                }
                Component::RootDir | Component::Prefix(_) => return None,
            }
        }
        Some(path)
    }

    /// Records a problem unless `reference` names an existing file; returns the file.
    fn require(&mut self, field: &str, base: &Path, reference: &str) -> Option<PathBuf> {
        match self.resolve(base, reference) {
            Some(relative) if !relative.as_os_str().is_empty() && self.dir.join(&relative).is_file() => {
                Some(relative)
            }
            _ => {
                self.problems.push(Problem::MissingFile { field: field.to_owned(), path: reference.to_owned() });
                None
            }
        }
    }

    fn icons(&mut self, manifest: &Map<String, Value>) {
        let icons = manifest.get("icons").and_then(Value::as_object).cloned().unwrap_or_default();
        for size in ICON_SIZES {
            if !icons.contains_key(size) {
                self.problems.push(Problem::MissingIconSize(size));
            }
        }
        for (size, path) in &icons {
            self.require_string(&format!("icons.{size}"), Some(path));
        }
        match manifest.get("action").and_then(|a| a.get("default_icon")) {
            Some(Value::Object(icons)) => {
                for (size, path) in icons {
                    self.require_string(&format!("action.default_icon.{size}"), Some(path));
                }
            }
            other => {
                self.require_string("action.default_icon", other);
            }
        }
    }

    /// Checks an optional manifest string that names a file.
    fn require_string(&mut self, field: &str, value: Option<&Value>) -> Option<PathBuf> {
        match value {
            None => None,
            Some(Value::String(path)) => self.require(field, Path::new(""), path),
            Some(_) => {
                self.problems.push(Problem::MissingFile { field: field.to_owned(), path: "(not a string)".into() });
                None
            }
        }
    }

    fn referenced_files(&mut self, manifest: &Map<String, Value>) {
        let action = manifest.get("action");
        if let Some(popup) = self.require_string("action.default_popup", action.and_then(|a| a.get("default_popup"))) {
            self.scan(&popup);
        }
        let background = manifest.get("background");
        if let Some(worker) =
            self.require_string("background.service_worker", background.and_then(|b| b.get("service_worker")))
        {
            self.scan(&worker);
        }
        for field in ["options_page", "devtools_page"] {
            if let Some(page) = self.require_string(field, manifest.get(field)) {
                self.scan(&page);
            }
        }
        let options_ui = manifest.get("options_ui").and_then(|o| o.get("page"));
        if let Some(page) = self.require_string("options_ui.page", options_ui) {
            self.scan(&page);
        }
        let side_panel = manifest.get("side_panel").and_then(|s| s.get("default_path"));
        if let Some(page) = self.require_string("side_panel.default_path", side_panel) {
            self.scan(&page);
        }
        for (i, entry) in array(manifest.get("web_accessible_resources")).iter().enumerate() {
            for resource in array(entry.get("resources")) {
                let Some(resource) = resource.as_str() else { continue };
                // Globs are matched by Chrome at run time; only literal paths can be checked.
                if resource.contains('*') {
                    continue;
                }
                if let Some(file) = self.require(&format!("web_accessible_resources[{i}]"), Path::new(""), resource) {
                    self.scan(&file);
                }
            }
        }
        for (i, script) in array(manifest.get("content_scripts")).iter().enumerate() {
            for kind in ["js", "css"] {
                for file in array(script.get(kind)) {
                    if let Some(file) = self.require_string(&format!("content_scripts[{i}].{kind}"), Some(&file)) {
                        self.scan(&file);
                    }
                }
            }
        }
        // Pages the worker opens at run time (the offscreen document, for one) are in no
        // manifest field; every HTML file shipped must still have its scripts.
        if let Ok(files) = crate::util::files_below(self.dir) {
            for file in files.iter().filter(|f| f.ends_with(".html")) {
                self.scan(Path::new(file));
            }
        }
    }

    /// Follows a page's `src`/`href` and a module's static imports to files in the package.
    fn scan(&mut self, file: &Path) {
        if !self.visited.insert(file.to_path_buf()) {
            return;
        }
        let Ok(text) = std::fs::read_to_string(self.dir.join(file)) else { return };
        let base = file.parent().unwrap_or(Path::new("")).to_path_buf();
        let name = file.to_string_lossy().into_owned();
        let is_html = name.ends_with(".html");
        let is_js = name.ends_with(".js") || name.ends_with(".mjs");
        let references = if is_html {
            html_references(&text)
        } else if is_js {
            js_imports(&text)
        } else {
            Vec::new()
        };
        for reference in references {
            if let Some(found) = self.require(&name, &base, &reference) {
                self.scan(&found);
            }
        }
    }

    fn locales(&mut self, manifest: &Map<String, Value>) {
        let mut keys = BTreeSet::new();
        for value in manifest.values() {
            collect_message_keys(value, &mut keys);
        }
        let default_locale = manifest.get("default_locale").and_then(Value::as_str);
        let mut locales: Vec<String> = REQUIRED_LOCALES.iter().map(|l| l.to_string()).collect();
        match default_locale {
            Some(locale) if !locales.iter().any(|l| l == locale) => locales.push(locale.to_owned()),
            Some(_) => {}
            None => {
                if let Some(key) = keys.iter().next() {
                    self.problems.push(Problem::NoDefaultLocale(key.clone()));
                }
            }
        }
        for locale in locales {
            let path = self.dir.join("_locales").join(&locale).join("messages.json");
            let text = match std::fs::read_to_string(&path) {
                Ok(text) => text,
                Err(_) => {
                    self.problems.push(Problem::MissingLocale(locale));
                    continue;
                }
            };
            let messages = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Object(messages)) => messages,
                Ok(_) => {
                    self.problems.push(Problem::BadLocale { locale, reason: "not a JSON object".into() });
                    continue;
                }
                Err(e) => {
                    self.problems.push(Problem::BadLocale { locale, reason: e.to_string() });
                    continue;
                }
            };
            for key in &keys {
                // Chrome matches message names case-insensitively.
                let found = messages
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(key))
                    .and_then(|(_, entry)| entry.get("message"))
                    .is_some_and(Value::is_string);
                if !found {
                    self.problems.push(Problem::MissingMessage { locale: locale.clone(), key: key.clone() });
                }
            }
        }
    }

    fn csp(&mut self, manifest: &Map<String, Value>) {
        let policy = manifest
            .get("content_security_policy")
            .and_then(|csp| csp.get("extension_pages"))
            .and_then(Value::as_str);
        let Some(policy) = policy else {
            self.problems.push(Problem::NoCsp);
            return;
        };
        let allows_wasm = policy.split(';').any(|directive| {
            let mut tokens = directive.split_whitespace();
            tokens.next() == Some("script-src") && tokens.any(|token| token == WASM_UNSAFE_EVAL)
        });
        if !allows_wasm {
            self.problems.push(Problem::CspWithoutWasm(policy.to_owned()));
        }
    }

    fn permissions(&mut self, manifest: &Map<String, Value>, allowlist: &Allowlist) {
        for field in ["permissions", "optional_permissions", "host_permissions", "optional_host_permissions"] {
            for permission in array(manifest.get(field)) {
                let permission = permission.as_str().unwrap_or("(not a string)");
                if !allowlist.contains(permission) {
                    self.problems.push(Problem::NotAllowed { field, permission: permission.to_owned() });
                }
            }
        }
    }

    fn minimum_chrome(&mut self, manifest: &Map<String, Value>) {
        let Some(version) = manifest.get("minimum_chrome_version").and_then(Value::as_str) else {
            self.problems.push(Problem::NoMinimumChrome);
            return;
        };
        let major = version.split('.').next().and_then(|major| major.parse::<u32>().ok());
        if !major.is_some_and(|major| major >= MIN_CHROME) {
            self.problems.push(Problem::MinimumChromeTooLow(version.to_owned()));
        }
    }
}

fn array(value: Option<&Value>) -> Vec<Value> {
    value.and_then(Value::as_array).cloned().unwrap_or_default()
}

fn collect_message_keys(value: &Value, keys: &mut BTreeSet<String>) {
    match value {
        Value::String(text) => {
            let mut rest = text.as_str();
            while let Some(start) = rest.find("__MSG_") {
                let after = &rest[start + "__MSG_".len()..];
                match after.find("__") {
                    Some(end) => {
                        keys.insert(after[..end].to_owned());
                        rest = &after[end + 2..];
                    }
                    None => break,
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_message_keys(item, keys)),
        Value::Object(map) => map.values().for_each(|item| collect_message_keys(item, keys)),
        _ => {}
    }
}

/// Local `src="…"` and `href="…"` targets of a page.
fn html_references(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=", "href="] {
        let mut rest = html;
        while let Some(position) = rest.find(attribute) {
            let preceded_by_space = rest[..position].chars().last().is_some_and(char::is_whitespace);
            rest = &rest[position + attribute.len()..];
            let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else { continue };
            let Some(end) = rest[1..].find(quote) else { break };
            let value = &rest[1..1 + end];
            rest = &rest[1 + end..];
            if preceded_by_space && is_local(value) {
                found.push(value.to_owned());
            }
        }
    }
    found
}

/// Relative specifiers of static `import … from "…"` / `import "…"` / `export … from "…"`.
fn js_imports(js: &str) -> Vec<String> {
    let mut found = Vec::new();
    for keyword in ["from", "import"] {
        let mut rest = js;
        while let Some(position) = rest.find(keyword) {
            let boundary = rest[..position].chars().last().is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'));
            rest = &rest[position + keyword.len()..];
            let trimmed = rest.trim_start();
            let Some(quote) = trimmed.chars().next().filter(|c| *c == '"' || *c == '\'') else { continue };
            let Some(end) = trimmed[1..].find(quote) else { continue };
            let value = &trimmed[1..1 + end];
            if boundary && (value.starts_with("./") || value.starts_with("../") || value.starts_with('/')) {
                found.push(value.to_owned());
            }
        }
    }
    found
}

fn is_local(value: &str) -> bool {
    !(value.is_empty() || value.starts_with('#') || value.starts_with("//") || value.contains(':'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A minimal extension folder that passes, to break one thing at a time.
    struct Fixture {
        dir: PathBuf,
        manifest: Value,
    }

    impl Fixture {
        fn new(name: &str) -> Fixture {
            let dir = std::env::temp_dir().join(format!("ringside-xtask-manifest-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            let files: &[(&str, &str)] = &[
                ("icons/16.png", "png"),
                ("icons/32.png", "png"),
                ("icons/48.png", "png"),
                ("icons/128.png", "png"),
                ("_locales/en/messages.json", r#"{"appName":{"message":"Ringside"},"appDesc":{"message":"Phone"}}"#),
                ("_locales/zh_CN/messages.json", r#"{"appName":{"message":"Ringside"},"APPDESC":{"message":"电话"}}"#),
                ("popup.html", r#"<html><link rel="stylesheet" href="popup.css"><script type="module" src="popup.js"></script><a href="https://example.org/x">x</a></html>"#),
                ("popup.css", "body{}"),
                ("popup.js", "import init from './pkg/ringside_popup.js';\ninit();"),
                ("background.js", "import init, { start } from \"./pkg/ringside_background.js\";\nimport './lib/listeners.js';"),
                ("lib/listeners.js", "export const listeners = [];"),
                ("offscreen.html", r#"<script src="/offscreen.js"></script>"#),
                ("offscreen.js", ""),
                ("pkg/ringside_popup.js", "export default function init() {}"),
                ("pkg/ringside_background.js", "export default function init() {}\nexport function start() {}"),
                ("pkg/ringside_background_bg.wasm", "\0asm"),
            ];
            for (path, content) in files {
                let path = dir.join(path);
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(path, content).unwrap();
            }
            let manifest = json!({
                "manifest_version": 3,
                "name": "__MSG_appName__",
                "description": "__MSG_appDesc__",
                "version": "0.1.0",
                "default_locale": "en",
                "minimum_chrome_version": "116",
                "icons": {"16": "icons/16.png", "32": "icons/32.png", "48": "icons/48.png", "128": "icons/128.png"},
                "action": {"default_popup": "popup.html", "default_icon": {"16": "icons/16.png"}},
                "background": {"service_worker": "background.js", "type": "module"},
                "permissions": ["storage", "alarms", "offscreen"],
                "content_security_policy": {"extension_pages": "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'"},
                "web_accessible_resources": [{"resources": ["pkg/ringside_background_bg.wasm", "pkg/*.js"], "matches": ["<all_urls>"]}]
            });
            Fixture { dir, manifest }
        }

        fn allowlist() -> Allowlist {
            Allowlist::parse("# comment\nstorage\nalarms  # why\noffscreen\n\n")
        }

        fn check(&self) -> Result<Checked, Vec<Problem>> {
            std::fs::write(self.dir.join("manifest.json"), serde_json::to_string_pretty(&self.manifest).unwrap())
                .unwrap();
            validate(&self.dir, &Fixture::allowlist())
        }

        fn problems(&self) -> Vec<Problem> {
            self.check().expect_err("the broken fixture passed validation")
        }

        fn remove(&self, path: &str) {
            std::fs::remove_file(self.dir.join(path)).unwrap();
        }

        fn write(&self, path: &str, content: &str) {
            std::fs::write(self.dir.join(path), content).unwrap();
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn missing(field: &str, path: &str) -> Problem {
        Problem::MissingFile { field: field.into(), path: path.into() }
    }

    #[test]
    fn a_complete_extension_passes() {
        assert_eq!(Fixture::new("ok").check(), Ok(Checked { version: "0.1.0".into() }));
    }

    #[test]
    fn unreadable_manifest_is_reported() {
        let f = Fixture::new("unreadable");
        f.check().unwrap();
        f.write("manifest.json", "{ not json");
        assert!(matches!(validate(&f.dir, &Fixture::allowlist()).unwrap_err()[..], [Problem::Unreadable(_)]));
    }

    #[test]
    fn manifest_v2_is_refused() {
        let mut f = Fixture::new("mv2");
        f.manifest["manifest_version"] = json!(2);
        assert_eq!(f.problems(), vec![Problem::ManifestVersion]);
    }

    #[test]
    fn version_must_be_chrome_style() {
        let mut f = Fixture::new("version");
        f.manifest["version"] = json!("1.0-beta");
        assert_eq!(f.problems(), vec![Problem::BadVersion("1.0-beta".into())]);
        f.manifest["version"] = json!("1.2.3.70000");
        assert_eq!(f.problems(), vec![Problem::BadVersion("1.2.3.70000".into())]);
        f.manifest.as_object_mut().unwrap().remove("version");
        assert_eq!(f.problems(), vec![Problem::MissingField("version")]);
    }

    #[test]
    fn every_icon_size_is_required() {
        let mut f = Fixture::new("icon-size");
        f.manifest["icons"].as_object_mut().unwrap().remove("32");
        assert_eq!(f.problems(), vec![Problem::MissingIconSize("32")]);
    }

    #[test]
    fn missing_icon_file_is_reported() {
        let f = Fixture::new("icon-file");
        f.remove("icons/48.png");
        assert_eq!(f.problems(), vec![missing("icons.48", "icons/48.png")]);
    }

    #[test]
    fn missing_action_icon_is_reported() {
        let mut f = Fixture::new("action-icon");
        f.manifest["action"]["default_icon"] = json!("icons/none.png");
        assert_eq!(f.problems(), vec![missing("action.default_icon", "icons/none.png")]);
    }

    #[test]
    fn missing_popup_is_reported() {
        let f = Fixture::new("popup");
        f.remove("popup.html");
        assert_eq!(f.problems(), vec![missing("action.default_popup", "popup.html")]);
    }

    #[test]
    fn missing_service_worker_is_reported() {
        let f = Fixture::new("worker");
        f.remove("background.js");
        assert_eq!(f.problems(), vec![missing("background.service_worker", "background.js")]);
    }

    #[test]
    fn missing_wasm_glue_imported_by_the_worker_is_reported() {
        let f = Fixture::new("glue");
        f.remove("pkg/ringside_background.js");
        assert_eq!(f.problems(), vec![missing("background.js", "./pkg/ringside_background.js")]);
    }

    #[test]
    fn missing_script_of_a_page_is_reported() {
        let f = Fixture::new("page-script");
        f.remove("popup.js");
        f.remove("offscreen.js");
        f.remove("popup.css");
        let problems = f.problems();
        assert!(problems.contains(&missing("popup.html", "popup.js")), "{problems:?}");
        assert!(problems.contains(&missing("popup.html", "popup.css")), "{problems:?}");
        assert!(problems.contains(&missing("offscreen.html", "/offscreen.js")), "{problems:?}");
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn missing_options_page_is_reported() {
        let mut f = Fixture::new("options");
        f.manifest["options_ui"] = json!({"page": "options.html"});
        assert_eq!(f.problems(), vec![missing("options_ui.page", "options.html")]);
        f.manifest.as_object_mut().unwrap().remove("options_ui");
        f.manifest["options_page"] = json!("settings.html");
        assert_eq!(f.problems(), vec![missing("options_page", "settings.html")]);
    }

    #[test]
    fn missing_web_accessible_resource_is_reported() {
        let f = Fixture::new("war");
        f.remove("pkg/ringside_background_bg.wasm");
        assert_eq!(f.problems(), vec![missing("web_accessible_resources[0]", "pkg/ringside_background_bg.wasm")]);
    }

    #[test]
    fn paths_may_not_leave_the_package() {
        let mut f = Fixture::new("escape");
        f.manifest["background"]["service_worker"] = json!("../background.js");
        assert_eq!(f.problems(), vec![missing("background.service_worker", "../background.js")]);
    }

    #[test]
    fn messages_need_a_default_locale() {
        let mut f = Fixture::new("default-locale");
        f.manifest.as_object_mut().unwrap().remove("default_locale");
        assert_eq!(f.problems(), vec![Problem::NoDefaultLocale("appDesc".into())]);
    }

    #[test]
    fn each_shipped_locale_is_required() {
        let f = Fixture::new("zh");
        f.remove("_locales/zh_CN/messages.json");
        assert_eq!(f.problems(), vec![Problem::MissingLocale("zh_CN".into())]);
    }

    #[test]
    fn default_locale_outside_the_shipped_ones_must_exist_too() {
        let mut f = Fixture::new("fr");
        f.manifest["default_locale"] = json!("fr");
        assert_eq!(f.problems(), vec![Problem::MissingLocale("fr".into())]);
    }

    #[test]
    fn every_used_message_must_be_translated() {
        let f = Fixture::new("message");
        f.write("_locales/zh_CN/messages.json", r#"{"appName":{"message":"Ringside"},"appDesc":{"description":"no message"}}"#);
        assert_eq!(f.problems(), vec![Problem::MissingMessage { locale: "zh_CN".into(), key: "appDesc".into() }]);
    }

    #[test]
    fn malformed_messages_file_is_reported() {
        let f = Fixture::new("bad-locale");
        f.write("_locales/en/messages.json", "[1, 2]");
        assert!(matches!(&f.problems()[..], [Problem::BadLocale { locale, .. }] if locale == "en"));
    }

    #[test]
    fn csp_is_required() {
        let mut f = Fixture::new("no-csp");
        f.manifest.as_object_mut().unwrap().remove("content_security_policy");
        assert_eq!(f.problems(), vec![Problem::NoCsp]);
    }

    #[test]
    fn csp_must_allow_wasm_in_script_src() {
        let mut f = Fixture::new("csp");
        let policy = "script-src 'self'; object-src 'self' 'wasm-unsafe-eval'";
        f.manifest["content_security_policy"]["extension_pages"] = json!(policy);
        assert_eq!(f.problems(), vec![Problem::CspWithoutWasm(policy.into())]);
    }

    #[test]
    fn permissions_outside_the_allowlist_are_refused() {
        let mut f = Fixture::new("permissions");
        f.manifest["permissions"] = json!(["storage", "tabs"]);
        f.manifest["host_permissions"] = json!(["<all_urls>"]);
        assert_eq!(
            f.problems(),
            vec![
                Problem::NotAllowed { field: "permissions", permission: "tabs".into() },
                Problem::NotAllowed { field: "host_permissions", permission: "<all_urls>".into() },
            ]
        );
    }

    #[test]
    fn minimum_chrome_version_is_required_and_at_least_116() {
        let mut f = Fixture::new("chrome");
        f.manifest["minimum_chrome_version"] = json!("115.0.5790");
        assert_eq!(f.problems(), vec![Problem::MinimumChromeTooLow("115.0.5790".into())]);
        f.manifest["minimum_chrome_version"] = json!("120");
        assert!(f.check().is_ok());
        f.manifest.as_object_mut().unwrap().remove("minimum_chrome_version");
        assert_eq!(f.problems(), vec![Problem::NoMinimumChrome]);
    }

    #[test]
    fn allowlist_ignores_comments_and_blank_lines() {
        let list = Fixture::allowlist();
        assert!(list.contains("alarms") && list.contains("offscreen"));
        assert!(!list.contains("# comment") && !list.contains(""));
    }
}
