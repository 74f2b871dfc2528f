//! The SIP account the user enters in the popup and the worker registers with.
//!
//! Everything here arrives from a person (the form) or from `chrome.storage`
//! (which any earlier version, or a curious user, may have written), so it is
//! validated into typed errors; each error names the field it belongs to and a
//! message key that the UI translates.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Longest value accepted for any text field; SIP servers choke on longer
/// user parts and no real credential needs more.
const MAX_FIELD_LEN: usize = 256;
const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// The account as entered and as stored under the `account` storage key.
/// Optional fields are `None` (or absent in JSON) when the user left them empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Account {
    pub server: String,
    pub username: String,
    pub password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

/// The form field an error belongs to; the popup shows the error beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Server,
    Username,
    Password,
    AuthId,
    DisplayName,
}

#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountError {
    #[error("server address is empty")]
    ServerMissing,
    #[error("server address must start with wss:// (or ws:// for this computer)")]
    ServerScheme,
    #[error("ws:// is only allowed for localhost; use wss://")]
    ServerInsecure,
    #[error("server address is not a valid WebSocket URL")]
    ServerInvalid,
    #[error("username is empty")]
    UsernameMissing,
    #[error("username contains characters SIP does not allow")]
    UsernameInvalid,
    #[error("password is empty")]
    PasswordMissing,
    #[error("auth ID contains spaces or quotes")]
    AuthIdInvalid,
    #[error("display name contains quotes or control characters")]
    DisplayNameInvalid,
    #[error("value is too long")]
    TooLong(Field),
}

impl AccountError {
    pub fn field(&self) -> Field {
        match self {
            AccountError::ServerMissing
            | AccountError::ServerScheme
            | AccountError::ServerInsecure
            | AccountError::ServerInvalid => Field::Server,
            AccountError::UsernameMissing | AccountError::UsernameInvalid => Field::Username,
            AccountError::PasswordMissing => Field::Password,
            AccountError::AuthIdInvalid => Field::AuthId,
            AccountError::DisplayNameInvalid => Field::DisplayName,
            AccountError::TooLong(field) => *field,
        }
    }

    /// Name of the translated message in `_locales/*/messages.json`.
    pub fn message_key(&self) -> &'static str {
        match self {
            AccountError::ServerMissing => "errServerMissing",
            AccountError::ServerScheme => "errServerScheme",
            AccountError::ServerInsecure => "errServerInsecure",
            AccountError::ServerInvalid => "errServerInvalid",
            AccountError::UsernameMissing => "errUsernameMissing",
            AccountError::UsernameInvalid => "errUsernameInvalid",
            AccountError::PasswordMissing => "errPasswordMissing",
            AccountError::AuthIdInvalid => "errAuthIdInvalid",
            AccountError::DisplayNameInvalid => "errDisplayNameInvalid",
            AccountError::TooLong(_) => "errTooLong",
        }
    }
}

/// A parsed `ws://` or `wss://` server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    /// `true` for `wss://`.
    pub secure: bool,
    /// Host as written in the URL, lower-cased; IPv6 keeps its brackets.
    pub host: String,
    pub port: Option<u16>,
    /// Path and query, `/` when absent.
    pub path: String,
}

impl ServerUrl {
    pub fn parse(input: &str) -> Result<ServerUrl, AccountError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(AccountError::ServerMissing);
        }
        let lower = input.to_ascii_lowercase();
        let (secure, rest) = if let Some(rest) = strip_prefix_at(&lower, input, "wss://") {
            (true, rest)
        } else if let Some(rest) = strip_prefix_at(&lower, input, "ws://") {
            (false, rest)
        } else {
            return Err(AccountError::ServerScheme);
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if tail.contains('#') || tail.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(AccountError::ServerInvalid);
        }
        // Credentials in the URL would be sent in clear to any proxy and
        // shown in logs; the form has its own fields for them.
        if authority.contains('@') {
            return Err(AccountError::ServerInvalid);
        }
        let (host, port) = split_host_port(authority)?;
        let host = host.to_ascii_lowercase();
        let url = ServerUrl {
            secure,
            host,
            port,
            path: if tail.is_empty() {
                "/".to_owned()
            } else {
                tail.to_owned()
            },
        };
        if !url.secure && !url.is_loopback() {
            return Err(AccountError::ServerInsecure);
        }
        Ok(url)
    }

    /// Plain `ws://` is tolerated only where nobody can listen in.
    pub fn is_loopback(&self) -> bool {
        matches!(self.host.as_str(), "localhost" | "127.0.0.1" | "[::1]")
    }

    /// The same host and port over `https://`, for `wss://` servers: opening it
    /// in a tab shows the certificate, which a failed WebSocket never does.
    pub fn certificate_check_url(&self) -> Option<String> {
        if !self.secure {
            return None;
        }
        Some(match self.port {
            Some(port) => format!("https://{}:{port}/", self.host),
            None => format!("https://{}/", self.host),
        })
    }

    /// The URL in canonical form, as handed to `new WebSocket(..)`.
    pub fn to_url(&self) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        match self.port {
            Some(port) => format!("{scheme}://{}:{port}{}", self.host, self.path),
            None => format!("{scheme}://{}{}", self.host, self.path),
        }
    }
}

fn strip_prefix_at<'a>(lower: &str, original: &'a str, prefix: &str) -> Option<&'a str> {
    if lower.starts_with(prefix) {
        original.get(prefix.len()..)
    } else {
        None
    }
}

fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), AccountError> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let close = v6.find(']').ok_or(AccountError::ServerInvalid)?;
        let inner = v6.get(..close).ok_or(AccountError::ServerInvalid)?;
        if inner.is_empty()
            || !inner
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err(AccountError::ServerInvalid);
        }
        let host = authority
            .get(..close + 2)
            .ok_or(AccountError::ServerInvalid)?;
        let after = v6.get(close + 1..).unwrap_or("");
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p),
            None if after.is_empty() => None,
            None => return Err(AccountError::ServerInvalid),
        };
        (host, port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if !host.starts_with('[') {
        let valid = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            && !host.starts_with(['.', '-'])
            && !host.contains("..");
        if !valid {
            return Err(AccountError::ServerInvalid);
        }
    }
    let port = match port {
        None => None,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.chars().all(|c| c.is_ascii_digit()) => Some(n),
            _ => return Err(AccountError::ServerInvalid),
        },
    };
    Ok((host, port))
}

/// Characters RFC 3261 allows unescaped in the user part of a SIP URI
/// (`unreserved` / `user-unreserved`); anything else would need escaping
/// that PBX admins never use in extension names.
fn is_user_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '-' | '_'
                | '.'
                | '!'
                | '~'
                | '*'
                | '\''
                | '('
                | ')'
                | '&'
                | '='
                | '+'
                | '$'
                | ','
                | ';'
                | '?'
                | '/'
        )
}

/// A checked account with normalised fields, ready for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAccount {
    pub server: ServerUrl,
    pub username: String,
    pub password: String,
    pub auth_id: Option<String>,
    pub display_name: Option<String>,
}

impl ValidAccount {
    /// Address of record shown to the user, e.g. `1001@pbx.example.com`.
    pub fn aor(&self) -> String {
        format!("{}@{}", self.username, self.server.host)
    }

    /// Back to the storable form, normalised.
    pub fn to_account(&self) -> Account {
        Account {
            server: self.server.to_url(),
            username: self.username.clone(),
            password: self.password.clone(),
            auth_id: self.auth_id.clone(),
            display_name: self.display_name.clone(),
        }
    }
}

fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl Account {
    /// Every problem at once, so the form can mark each field as the user types.
    pub fn errors(&self) -> Vec<AccountError> {
        let mut errors = Vec::new();
        if self.server.len() > MAX_FIELD_LEN {
            errors.push(AccountError::TooLong(Field::Server));
        } else if let Err(e) = ServerUrl::parse(&self.server) {
            errors.push(e);
        }

        let username = self.username.trim();
        if username.is_empty() {
            errors.push(AccountError::UsernameMissing);
        } else if username.len() > MAX_FIELD_LEN {
            errors.push(AccountError::TooLong(Field::Username));
        } else if !username.chars().all(is_user_char) {
            errors.push(AccountError::UsernameInvalid);
        }

        if self.password.is_empty() {
            errors.push(AccountError::PasswordMissing);
        } else if self.password.len() > MAX_FIELD_LEN {
            errors.push(AccountError::TooLong(Field::Password));
        }

        if let Some(auth_id) = non_empty(&self.auth_id) {
            if auth_id.len() > MAX_FIELD_LEN {
                errors.push(AccountError::TooLong(Field::AuthId));
            } else if auth_id
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\\')
            {
                errors.push(AccountError::AuthIdInvalid);
            }
        }

        if let Some(name) = non_empty(&self.display_name) {
            if name.chars().count() > MAX_DISPLAY_NAME_CHARS {
                errors.push(AccountError::TooLong(Field::DisplayName));
            } else if name
                .chars()
                .any(|c| c.is_control() || c == '"' || c == '\\')
            {
                errors.push(AccountError::DisplayNameInvalid);
            }
        }
        errors
    }

    /// The first problem of [`Account::errors`], or the normalised account.
    pub fn validate(&self) -> Result<ValidAccount, AccountError> {
        if let Some(first) = self.errors().into_iter().next() {
            return Err(first);
        }
        Ok(ValidAccount {
            server: ServerUrl::parse(&self.server)?,
            username: self.username.trim().to_owned(),
            password: self.password.clone(),
            auth_id: non_empty(&self.auth_id),
            display_name: non_empty(&self.display_name),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(server: &str) -> Account {
        Account {
            server: server.into(),
            username: "1001".into(),
            password: "pass1001".into(),
            auth_id: None,
            display_name: None,
        }
    }

    #[test]
    fn wss_anywhere_is_accepted_and_normalised() {
        let valid = account(" WSS://PBX.Example.com:8443/ws ")
            .validate()
            .unwrap();
        assert!(valid.server.secure);
        assert_eq!(valid.server.host, "pbx.example.com");
        assert_eq!(valid.server.port, Some(8443));
        assert_eq!(valid.server.to_url(), "wss://pbx.example.com:8443/ws");
        assert_eq!(valid.aor(), "1001@pbx.example.com");
        assert_eq!(
            account("wss://pbx.test")
                .validate()
                .unwrap()
                .server
                .to_url(),
            "wss://pbx.test/"
        );
        assert_eq!(
            valid.server.certificate_check_url().as_deref(),
            Some("https://pbx.example.com:8443/")
        );
        assert_eq!(
            ServerUrl::parse("ws://127.0.0.1:8088")
                .unwrap()
                .certificate_check_url(),
            None
        );
    }

    #[test]
    fn plain_ws_only_on_loopback() {
        for ok in [
            "ws://127.0.0.1:8088",
            "ws://localhost:5066/",
            "ws://[::1]:8088/sip",
        ] {
            assert!(account(ok).validate().is_ok(), "{ok}");
        }
        assert_eq!(
            account("ws://pbx.example.com").validate(),
            Err(AccountError::ServerInsecure)
        );
        assert_eq!(
            account("ws://127.0.0.2").validate(),
            Err(AccountError::ServerInsecure)
        );
    }

    #[test]
    fn bad_server_addresses_get_typed_errors() {
        assert_eq!(account("").validate(), Err(AccountError::ServerMissing));
        assert_eq!(
            account("https://pbx.test").validate(),
            Err(AccountError::ServerScheme)
        );
        assert_eq!(
            account("pbx.test").validate(),
            Err(AccountError::ServerScheme)
        );
        for bad in [
            "wss://",
            "wss://:8443",
            "wss://pbx.test:0",
            "wss://pbx.test:70000",
            "wss://pbx.test:+1",
            "wss://user:pw@pbx.test",
            "wss://pbx test",
            "wss://[::1",
            "wss://[zz]:1",
            "wss://[::1]x",
            "wss://pbx..test",
            "wss://pbx.test/a#frag",
            "wss://π.test",
        ] {
            assert_eq!(
                account(bad).validate(),
                Err(AccountError::ServerInvalid),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_field_is_checked_and_reported_at_once() {
        let a = Account {
            server: "http://x".into(),
            username: "10 01".into(),
            password: String::new(),
            auth_id: Some("a b".into()),
            display_name: Some("Bob \"the\" Builder".into()),
        };
        let fields: Vec<Field> = a.errors().iter().map(AccountError::field).collect();
        assert_eq!(
            fields,
            [
                Field::Server,
                Field::Username,
                Field::Password,
                Field::AuthId,
                Field::DisplayName
            ]
        );
        assert!(a
            .errors()
            .iter()
            .all(|e| e.message_key().starts_with("err")));
    }

    #[test]
    fn empty_optional_fields_become_none_and_password_is_kept_verbatim() {
        let mut a = account("wss://pbx.test");
        a.password = " spaced ".into();
        a.auth_id = Some("   ".into());
        a.display_name = Some(" Alice ".into());
        let v = a.validate().unwrap();
        assert_eq!(v.password, " spaced ");
        assert_eq!(v.auth_id, None);
        assert_eq!(v.display_name.as_deref(), Some("Alice"));
        assert_eq!(v.to_account().server, "wss://pbx.test/");
    }

    #[test]
    fn overlong_values_are_rejected_without_panicking() {
        let mut a = account("wss://pbx.test");
        a.username = "1".repeat(10_000);
        a.display_name = Some("名".repeat(65));
        assert_eq!(
            a.errors(),
            [
                AccountError::TooLong(Field::Username),
                AccountError::TooLong(Field::DisplayName)
            ]
        );
        assert_eq!(
            account(&format!("wss://{}", "a".repeat(300))).validate(),
            Err(AccountError::TooLong(Field::Server))
        );
    }

    #[test]
    fn stored_json_with_missing_optionals_still_reads() {
        let a: Account =
            serde_json::from_str(r#"{"server":"wss://pbx.test","username":"1001","password":"p"}"#)
                .unwrap();
        assert_eq!(a.auth_id, None);
        assert!(a.validate().is_ok());
    }
}
