//! Typed forms of the headers rsip 0.4 keeps as plain strings (or does not know),
//! each with `parse` (lenient about whitespace and case, strict about structure)
//! and a `Display` that prints a value `parse` reads back to the same thing.
//!
//! | type | header | RFC |
//! |---|---|---|
//! | [`Event`] | Event (`o`) | 6665 §8.2.1 |
//! | [`SubscriptionState`] | Subscription-State | 6665 §8.2.3 |
//! | [`AllowEvents`] | Allow-Events (`u`) | 6665 §8.2.2 |
//! | [`ReferTo`] | Refer-To (`r`), with an embedded [`Replaces`] | 3515, 3891 |
//! | [`ReferredBy`] | Referred-By (`b`) | 3892 |
//! | [`Replaces`] | Replaces | 3891 |
//! | [`SessionExpires`], [`MinSe`] | Session-Expires (`x`), Min-SE | 4028 |
//! | [`RSeq`], [`RAck`] | RSeq, RAck | 3262 |
//! | [`CallInfo`], [`AlertInfo`] | Call-Info, Alert-Info | 3261 §20.9/§20.4 |
//!
//! Every type implements [`ExtHeader`]: `H::NAME`, `H::parse(value)`, and
//! [`typed`]`::<H>(&msg)` reads the first such header of a message (compact form
//! or not) while [`ExtHeader::to_header`] turns a value into an `rsip::Header`.

use std::fmt;

use rsip::message::HasHeaders;

/// A header value that did not have the structure its RFC requires.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {header} header: {reason}")]
pub struct HeaderError {
    pub header: &'static str,
    pub reason: String,
}

impl HeaderError {
    pub(crate) fn new(header: &'static str, reason: impl Into<String>) -> Self {
        Self {
            header,
            reason: reason.into(),
        }
    }
}

/// A header this module can parse and print.
pub trait ExtHeader: Sized + fmt::Display {
    /// The long header name, as we print it.
    const NAME: &'static str;

    fn parse(value: &str) -> Result<Self, HeaderError>;

    /// The header as rsip carries it: printed with [`NAME`](Self::NAME) by
    /// `codec::serialize`, read back by [`typed`].
    fn to_header(&self) -> rsip::Header {
        rsip::Header::Other(Self::NAME.to_string(), self.to_string())
    }
}

/// The first `H` header of a message: `None` when absent, `Some(Err)` when malformed.
pub fn typed<H: ExtHeader, M: HasHeaders + ?Sized>(msg: &M) -> Option<Result<H, HeaderError>> {
    super::header(msg, H::NAME).map(H::parse)
}

/// A generic parameter (`;name` or `;name=value`). The value keeps its quotes, so
/// printing it gives back what was received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub value: Option<String>,
}

impl Param {
    pub fn new(name: impl Into<String>, value: Option<String>) -> Self {
        Self {
            name: name.into(),
            value,
        }
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, ";{}={}", self.name, v),
            None => write!(f, ";{}", self.name),
        }
    }
}

fn find_param<'a>(params: &'a [Param], name: &str) -> Option<&'a Param> {
    params.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

fn param_value<'a>(params: &'a [Param], name: &str) -> Option<&'a str> {
    find_param(params, name).and_then(|p| p.value.as_deref())
}

/// Splits at `sep` outside double quotes (honouring `\` escapes) and outside `<...>`.
pub(crate) fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut escaped, mut angle) = (false, false, false);
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            c if c == sep && !quoted && !angle => {
                out.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// Parses `;a=b;c` (the text after the leading value), rejecting empty names.
fn parse_params(s: &str, header: &'static str) -> Result<Vec<Param>, HeaderError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(Vec::new());
    }
    let Some(s) = s.strip_prefix(';') else {
        return Err(HeaderError::new(
            header,
            "text after the value is not a parameter",
        ));
    };
    split_unquoted(s, ';')
        .into_iter()
        .map(|p| {
            let (name, value) = match p.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim().to_string())),
                None => (p.trim(), None),
            };
            if !is_token(name) {
                return Err(HeaderError::new(header, "parameter name is not a token"));
            }
            if let Some(v) = value.as_deref() {
                if !is_param_value(v) {
                    return Err(HeaderError::new(header, "malformed parameter value"));
                }
            }
            Ok(Param::new(name, value))
        })
        .collect()
}

/// `gen-value` (RFC 3261 §25.1): a token/host-like word or one whole quoted
/// string — anything else would not print back as the same parameter.
fn is_param_value(v: &str) -> bool {
    if let Some(inner) = v.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in inner.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => return i + 1 == inner.len(),
                _ => {}
            }
        }
        return false;
    }
    !v.is_empty()
        && !v
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\",;".contains(c))
}

/// The inside of a quoted-string, unescaped; other text as is.
pub(crate) fn unquote(s: &str) -> String {
    let s = s.trim();
    match s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        Some(inner) => {
            let mut out = String::with_capacity(inner.len());
            let mut chars = inner.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => s.to_string(),
    }
}

pub(crate) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Header values reach these parsers unfolded (codec::parse) or from our own
/// code; a control character means the input did not come through either and
/// would not print back as one header line.
fn plain_text<'a>(value: &'a str, header: &'static str) -> Result<&'a str, HeaderError> {
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(HeaderError::new(header, "control character in value"));
    }
    Ok(value)
}

fn parse_u32(s: &str, header: &'static str) -> Result<u32, HeaderError> {
    let s = s.trim();
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HeaderError::new(header, format!("not a number: {s}")));
    }
    s.parse()
        .map_err(|_| HeaderError::new(header, format!("number out of range: {s}")))
}

fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c))
}

/// `[display-name] <uri> *(;param)` or `uri *(;param)` (RFC 3261 §20.10 rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display_name: Option<String>,
    /// The URI text as received, including any `?headers` part.
    pub uri: String,
    pub params: Vec<Param>,
}

impl NameAddr {
    pub fn parse(value: &str, header: &'static str) -> Result<Self, HeaderError> {
        let value = value.trim();
        if let Ok((display, rest)) = split_display(value, header) {
            let (uri, after) = rest
                .split_once('>')
                .ok_or_else(|| HeaderError::new(header, "missing '>'"))?;
            let uri = uri.trim();
            if uri.is_empty() || uri.contains(char::is_whitespace) {
                return Err(HeaderError::new(header, "empty or spaced URI"));
            }
            return Ok(Self {
                display_name: display,
                uri: uri.to_string(),
                params: parse_params(after, header)?,
            });
        }
        // addr-spec form: parameters after the URI belong to the header (§20.10).
        let (uri, params) = value.split_once(';').unwrap_or((value, ""));
        let uri = uri.trim();
        if uri.is_empty()
            || uri.contains(['"', '<', '>'])
            || uri.contains(char::is_whitespace)
            || !uri.contains(':')
        {
            return Err(HeaderError::new(header, "not a URI"));
        }
        Ok(Self {
            display_name: None,
            uri: uri.to_string(),
            params: parse_params(&prefixed(params), header)?,
        })
    }
}

/// Splits `"Display" <rest` / `Display <rest` into the display name and what follows `<`.
fn split_display<'a>(
    value: &'a str,
    header: &'static str,
) -> Result<(Option<String>, &'a str), HeaderError> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in value.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => {
                let display = value[..i].trim();
                let rest = &value[i + 1..];
                let display = (!display.is_empty()).then(|| unquote(display));
                return Ok((display, rest));
            }
            _ => {}
        }
    }
    Err(HeaderError::new(header, "unbalanced quotes or missing '<'"))
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(d) = &self.display_name {
            write!(f, "{} ", quote(d))?;
        }
        write!(f, "<{}>", self.uri)?;
        self.params.iter().try_for_each(|p| write!(f, "{p}"))
    }
}

/// `Event: dialog;id=7` — the event package and the subscription `id` (RFC 6665 §8.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Package name, with any template (`presence.winfo`), lower-cased: packages
    /// are compared case-insensitively.
    pub package: String,
    pub id: Option<String>,
    /// Other parameters, `id` excluded.
    pub params: Vec<Param>,
}

impl Event {
    pub fn new(package: &str) -> Self {
        Self {
            package: package.to_ascii_lowercase(),
            id: None,
            params: Vec::new(),
        }
    }

    /// RFC 6665 §4.1.2: a NOTIFY matches a subscription when package and id agree.
    pub fn matches(&self, other: &Event) -> bool {
        self.package == other.package && self.id == other.id
    }
}

impl ExtHeader for Event {
    const NAME: &'static str = "Event";

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let value = plain_text(value, Self::NAME)?;
        let (package, rest) = value.split_once(';').unwrap_or((value, ""));
        let package = package.trim();
        if !is_token(package) {
            return Err(HeaderError::new(Self::NAME, "event package is not a token"));
        }
        let mut params = parse_params(&prefixed(rest), Self::NAME)?;
        let id = params
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case("id"))
            .map(|i| params.remove(i).value)
            .map(|v| v.ok_or_else(|| HeaderError::new(Self::NAME, "id without a value")))
            .transpose()?;
        Ok(Self {
            package: package.to_ascii_lowercase(),
            id,
            params,
        })
    }
}

fn prefixed(rest: &str) -> String {
    if rest.trim().is_empty() {
        String::new()
    } else {
        format!(";{rest}")
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.package)?;
        if let Some(id) = &self.id {
            write!(f, ";id={id}")?;
        }
        self.params.iter().try_for_each(|p| write!(f, "{p}"))
    }
}

/// The `substate-value` of Subscription-State.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubState {
    Active,
    Pending,
    Terminated,
    /// RFC 6665 §8.2.3: unknown states are treated as `active` by the subscriber,
    /// but kept so the log shows what the notifier sent.
    Other(String),
}

/// Why a subscription ended (RFC 6665 §4.1.3 + §8.2.3 `event-reason-value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminationReason {
    /// Resubscribe at once.
    Deactivated,
    /// Resubscribe after `retry-after`.
    Probation,
    /// Do not resubscribe.
    Rejected,
    /// Resubscribe at once (the notifier's refresh timer expired).
    Timeout,
    /// Resubscribe after `retry-after` (or at will).
    Giveup,
    /// The resource is gone: do not resubscribe.
    Noresource,
    /// The resource cannot be subscribed to: do not resubscribe.
    Invariant,
    Other(String),
}

impl TerminationReason {
    fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "deactivated" => Self::Deactivated,
            "probation" => Self::Probation,
            "rejected" => Self::Rejected,
            "timeout" => Self::Timeout,
            "giveup" => Self::Giveup,
            "noresource" => Self::Noresource,
            "invariant" => Self::Invariant,
            other => Self::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Deactivated => "deactivated",
            Self::Probation => "probation",
            Self::Rejected => "rejected",
            Self::Timeout => "timeout",
            Self::Giveup => "giveup",
            Self::Noresource => "noresource",
            Self::Invariant => "invariant",
            Self::Other(s) => s,
        }
    }
}

/// `Subscription-State: active;expires=600` / `terminated;reason=probation;retry-after=30`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    pub state: SubState,
    pub reason: Option<TerminationReason>,
    pub expires: Option<u32>,
    pub retry_after: Option<u32>,
    /// Extension parameters.
    pub params: Vec<Param>,
}

impl ExtHeader for SubscriptionState {
    const NAME: &'static str = "Subscription-State";

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let value = plain_text(value, Self::NAME)?;
        let (state, rest) = value.split_once(';').unwrap_or((value, ""));
        let state = state.trim();
        if !is_token(state) {
            return Err(HeaderError::new(Self::NAME, "state is not a token"));
        }
        let state = match state.to_ascii_lowercase().as_str() {
            "active" => SubState::Active,
            "pending" => SubState::Pending,
            "terminated" => SubState::Terminated,
            other => SubState::Other(other.to_string()),
        };
        let mut out = Self {
            state,
            reason: None,
            expires: None,
            retry_after: None,
            params: Vec::new(),
        };
        for p in parse_params(&prefixed(rest), Self::NAME)? {
            let value = p.value.as_deref();
            match (p.name.to_ascii_lowercase().as_str(), value) {
                ("reason", Some(v)) => out.reason = Some(TerminationReason::parse(v)),
                ("expires", Some(v)) => out.expires = Some(parse_u32(v, Self::NAME)?),
                ("retry-after", Some(v)) => out.retry_after = Some(parse_u32(v, Self::NAME)?),
                ("reason" | "expires" | "retry-after", None) => {
                    return Err(HeaderError::new(
                        Self::NAME,
                        format!("{} without a value", p.name),
                    ))
                }
                _ => out.params.push(p),
            }
        }
        Ok(out)
    }
}

impl fmt::Display for SubscriptionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.state {
            SubState::Active => write!(f, "active")?,
            SubState::Pending => write!(f, "pending")?,
            SubState::Terminated => write!(f, "terminated")?,
            SubState::Other(s) => write!(f, "{s}")?,
        }
        if let Some(r) = &self.reason {
            write!(f, ";reason={}", r.as_str())?;
        }
        if let Some(e) = self.expires {
            write!(f, ";expires={e}")?;
        }
        if let Some(r) = self.retry_after {
            write!(f, ";retry-after={r}")?;
        }
        self.params.iter().try_for_each(|p| write!(f, "{p}"))
    }
}

/// `Allow-Events: dialog, presence, message-summary` (lower-cased packages).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AllowEvents(pub Vec<String>);

impl AllowEvents {
    pub fn contains(&self, package: &str) -> bool {
        self.0.iter().any(|p| p.eq_ignore_ascii_case(package))
    }
}

impl ExtHeader for AllowEvents {
    const NAME: &'static str = "Allow-Events";

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let value = plain_text(value, Self::NAME)?;
        value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                if is_token(s) {
                    Ok(s.to_ascii_lowercase())
                } else {
                    Err(HeaderError::new(Self::NAME, format!("not a package: {s}")))
                }
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

impl fmt::Display for AllowEvents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.join(", "))
    }
}

/// `Replaces: call-id;to-tag=..;from-tag=..[;early-only]` (RFC 3891 §6.1). As the
/// header of an incoming INVITE, `to_tag` is the tag *our* side of the replaced
/// dialog gave; RFC 3891 §3 explains the matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaces {
    pub call_id: String,
    pub to_tag: String,
    pub from_tag: String,
    pub early_only: bool,
}

impl ExtHeader for Replaces {
    const NAME: &'static str = "Replaces";

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let value = plain_text(value, Self::NAME)?;
        let (call_id, rest) = value.split_once(';').unwrap_or((value, ""));
        let call_id = call_id.trim();
        if call_id.is_empty() || call_id.contains(char::is_whitespace) {
            return Err(HeaderError::new(Self::NAME, "missing Call-ID"));
        }
        let params = parse_params(&prefixed(rest), Self::NAME)?;
        let tag = |name: &str| {
            param_value(&params, name)
                .map(str::to_string)
                .ok_or_else(|| HeaderError::new(Self::NAME, format!("missing {name}")))
        };
        Ok(Self {
            call_id: call_id.to_string(),
            to_tag: tag("to-tag")?,
            from_tag: tag("from-tag")?,
            early_only: find_param(&params, "early-only").is_some(),
        })
    }
}

impl fmt::Display for Replaces {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{};to-tag={};from-tag={}",
            self.call_id, self.to_tag, self.from_tag
        )?;
        if self.early_only {
            write!(f, ";early-only")?;
        }
        Ok(())
    }
}

/// Percent-encodes everything but RFC 3261 `unreserved` so a header value can sit
/// in a URI's `?name=value` part.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes; malformed escapes are kept literally (RFC 4475 esc02
/// shows they occur) and invalid UTF-8 is replaced rather than refused.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `Refer-To: <sip:1003@pbx.test?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2>` (RFC 3515
/// §2.1): the transfer target and, for an attended transfer, the dialog it replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferTo {
    pub display_name: Option<String>,
    /// The target URI without its `?headers` part: what the new INVITE is sent to.
    pub target: String,
    /// Decoded `Replaces` URI header (RFC 3891 §5), if the referrer put one.
    pub replaces: Option<Replaces>,
    /// Other URI headers, decoded, in order.
    pub uri_headers: Vec<(String, String)>,
    pub params: Vec<Param>,
}

impl ReferTo {
    /// A blind (no Replaces) or attended (with Replaces) transfer target.
    pub fn new(target: impl Into<String>, replaces: Option<Replaces>) -> Self {
        Self {
            display_name: None,
            target: target.into(),
            replaces,
            uri_headers: Vec::new(),
            params: Vec::new(),
        }
    }
}

impl ExtHeader for ReferTo {
    const NAME: &'static str = "Refer-To";

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let value = plain_text(value, Self::NAME)?;
        let na = NameAddr::parse(value, Self::NAME)?;
        let (target, query) = na.uri.split_once('?').unwrap_or((na.uri.as_str(), ""));
        if !target.contains(':') {
            return Err(HeaderError::new(Self::NAME, "target is not a URI"));
        }
        let mut replaces = None;
        let mut uri_headers = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value);
            if name.eq_ignore_ascii_case("Replaces") {
                replaces = Some(Replaces::parse(&value)?);
            } else {
                uri_headers.push((percent_decode(name), value));
            }
        }
        Ok(Self {
            display_name: na.display_name,
            target: target.to_string(),
            replaces,
            uri_headers,
            params: na.params,
        })
    }
}

impl fmt::Display for ReferTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut uri = self.target.clone();
        let mut headers: Vec<String> = Vec::new();
        if let Some(r) = &self.replaces {
            headers.push(format!("Replaces={}", percent_encode(&r.to_string())));
        }
        for (n, v) in &self.uri_headers {
            headers.push(format!("{}={}", percent_encode(n), percent_encode(v)));
        }
        if !headers.is_empty() {
            uri.push('?');
            uri.push_str(&headers.join("&"));
        }
        let na = NameAddr {
            display_name: self.display_name.clone(),
            uri,
            params: self.params.clone(),
        };
        write!(f, "{na}")
    }
}

/// `Referred-By: <sip:1001@pbx.test>` (RFC 3892): who asked for the transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferredBy(pub NameAddr);

impl ExtHeader for ReferredBy {
    const NAME: &'static str = "Referred-By";

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let value = plain_text(value, Self::NAME)?;
        NameAddr::parse(value, Self::NAME).map(Self)
    }
}

impl fmt::Display for ReferredBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Who refreshes a session timer (RFC 4028 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    Uac,
    Uas,
}

/// `Session-Expires: 1800;refresher=uac` (RFC 4028 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionExpires {
    /// Seconds.
    pub delta: u32,
    pub refresher: Option<Refresher>,
    pub params: Vec<Param>,
}

impl ExtHeader for SessionExpires {
    const NAME: &'static str = "Session-Expires";

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let value = plain_text(value, Self::NAME)?;
        let (delta, rest) = value.split_once(';').unwrap_or((value, ""));
        let delta = parse_u32(delta, Self::NAME)?;
        let mut refresher = None;
        let mut params = Vec::new();
        for p in parse_params(&prefixed(rest), Self::NAME)? {
            if p.name.eq_ignore_ascii_case("refresher") {
                refresher = match p.value.as_deref().map(str::to_ascii_lowercase).as_deref() {
                    Some("uac") => Some(Refresher::Uac),
                    Some("uas") => Some(Refresher::Uas),
                    _ => return Err(HeaderError::new(Self::NAME, "refresher is not uac/uas")),
                };
            } else {
                params.push(p);
            }
        }
        Ok(Self {
            delta,
            refresher,
            params,
        })
    }
}

impl fmt::Display for SessionExpires {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.delta)?;
        match self.refresher {
            Some(Refresher::Uac) => write!(f, ";refresher=uac")?,
            Some(Refresher::Uas) => write!(f, ";refresher=uas")?,
            None => {}
        }
        self.params.iter().try_for_each(|p| write!(f, "{p}"))
    }
}

/// `Min-SE: 90` (RFC 4028 §5), seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MinSe(pub u32);

impl ExtHeader for MinSe {
    const NAME: &'static str = "Min-SE";

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let value = plain_text(value, Self::NAME)?;
        // Generic params are allowed after the number; none are defined.
        let number = value.split(';').next().unwrap_or("");
        parse_u32(number, Self::NAME).map(Self)
    }
}

impl fmt::Display for MinSe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `RSeq: 988789` (RFC 3262 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RSeq(pub u32);

impl ExtHeader for RSeq {
    const NAME: &'static str = "RSeq";

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let value = plain_text(value, Self::NAME)?;
        parse_u32(value, Self::NAME).map(Self)
    }
}

impl fmt::Display for RSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// `RAck: 776656 1 INVITE` (RFC 3262 §7.2): the RSeq and CSeq of the reliable
/// provisional response a PRACK acknowledges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RAck {
    pub rseq: u32,
    pub cseq: u32,
    pub method: rsip::Method,
}

impl ExtHeader for RAck {
    const NAME: &'static str = "RAck";

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let value = plain_text(value, Self::NAME)?;
        let mut parts = value.split_whitespace();
        let (Some(rseq), Some(cseq), Some(method), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(HeaderError::new(Self::NAME, "expected 'rseq cseq method'"));
        };
        Ok(Self {
            rseq: parse_u32(rseq, Self::NAME)?,
            cseq: parse_u32(cseq, Self::NAME)?,
            method: method
                .parse()
                .map_err(|_| HeaderError::new(Self::NAME, format!("unknown method {method}")))?,
        })
    }
}

impl fmt::Display for RAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.rseq, self.cseq, self.method)
    }
}

/// One `<uri>;params` element of Call-Info / Alert-Info.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InfoEntry {
    pub uri: String,
    pub params: Vec<Param>,
}

impl InfoEntry {
    /// A parameter's value without quotes (`purpose`, `answer-after`, `info`).
    pub fn param(&self, name: &str) -> Option<String> {
        param_value(&self.params, name).map(unquote)
    }

    pub fn has_param(&self, name: &str) -> bool {
        find_param(&self.params, name).is_some()
    }
}

impl fmt::Display for InfoEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}>", self.uri)?;
        self.params.iter().try_for_each(|p| write!(f, "{p}"))
    }
}

fn parse_info_list(value: &str, header: &'static str) -> Result<Vec<InfoEntry>, HeaderError> {
    split_unquoted(value, ',')
        .into_iter()
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let e = e.trim();
            // PBXs send `Alert-Info: info=alert-autoanswer` or a bare token with no
            // URI at all; keep them as an entry with an empty URI instead of failing.
            let (uri, rest) = match e.strip_prefix('<') {
                Some(inner) => match inner.split_once('>') {
                    Some((uri, rest)) if !uri.trim().is_empty() => (uri, rest),
                    _ => return Err(HeaderError::new(header, "missing URI or '>'")),
                },
                None if e.starts_with(';') => ("", e),
                None => match e.split_once(';') {
                    Some((tok, rest)) if !tok.contains('=') => (tok, rest),
                    None if !e.contains('=') => (e, ""),
                    _ => ("", e),
                },
            };
            if uri.contains(['<', '>', '"']) {
                return Err(HeaderError::new(header, "stray '<', '>' or '\"'"));
            }
            let rest = if rest.is_empty() || rest.trim_start().starts_with(';') {
                rest.to_string()
            } else {
                format!(";{rest}")
            };
            Ok(InfoEntry {
                uri: uri.trim().to_string(),
                params: parse_params(&rest, header)?,
            })
        })
        .collect()
}

/// `Call-Info: <sip:pbx.test>;answer-after=0, <http://x/photo.png>;purpose=icon`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CallInfo(pub Vec<InfoEntry>);

impl CallInfo {
    /// Seconds after which the PBX asks us to auto-answer (intercom/paging:
    /// `answer-after=N` in any entry, as Asterisk, FreeSWITCH and Yeastar send it).
    pub fn answer_after(&self) -> Option<u32> {
        self.0
            .iter()
            .find_map(|e| e.param("answer-after")?.trim().parse().ok())
    }
}

impl ExtHeader for CallInfo {
    const NAME: &'static str = "Call-Info";

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let value = plain_text(value, Self::NAME)?;
        parse_info_list(value, Self::NAME).map(Self)
    }
}

impl fmt::Display for CallInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, &self.0)
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, entries: &[InfoEntry]) -> fmt::Result {
    for (i, e) in entries.iter().enumerate() {
        if i > 0 {
            write!(f, ", ")?;
        }
        if e.uri.is_empty() {
            // An entry without a URI prints as its parameters, each with its ';'
            // so the text reads back as the same URI-less entry.
            e.params.iter().try_for_each(|p| write!(f, "{p}"))?;
        } else {
            write!(f, "{e}")?;
        }
    }
    Ok(())
}

/// `Alert-Info: <http://pbx/ring.wav>;info=alert-autoanswer`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AlertInfo(pub Vec<InfoEntry>);

impl AlertInfo {
    /// True when the PBX marks the call for automatic answer (`info=alert-autoanswer`,
    /// `Auto Answer`/`answer-after` style values used by common PBXs).
    pub fn auto_answer(&self) -> bool {
        self.0.iter().any(|e| {
            e.param("info")
                .is_some_and(|v| v.eq_ignore_ascii_case("alert-autoanswer"))
                || e.uri.to_ascii_lowercase().contains("auto answer")
                || e.has_param("answer-after")
        })
    }
}

impl ExtHeader for AlertInfo {
    const NAME: &'static str = "Alert-Info";

    fn parse(value: &str) -> Result<Self, HeaderError> {
        let value = plain_text(value, Self::NAME)?;
        parse_info_list(value, Self::NAME).map(Self)
    }
}

impl fmt::Display for AlertInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_list(f, &self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// parse → print → parse gives the same value.
    fn round_trip<H: ExtHeader + PartialEq + fmt::Debug>(value: &str) -> H {
        let h = H::parse(value).unwrap_or_else(|e| panic!("{value}: {e}"));
        let again = H::parse(&h.to_string()).unwrap();
        assert_eq!(h, again, "{value} printed as {h}");
        h
    }

    #[test]
    fn event_package_and_id() {
        let e: Event = round_trip("Dialog ; id=7;foo");
        assert_eq!(e.package, "dialog");
        assert_eq!(e.id.as_deref(), Some("7"));
        assert_eq!(e.params, vec![Param::new("foo", None)]);
        assert!(e.matches(&Event::parse("dialog;id=7").unwrap()));
        assert!(!e.matches(&Event::new("dialog")));
        assert_eq!(Event::new("message-summary").to_string(), "message-summary");
        assert!(Event::parse("").is_err());
        assert!(Event::parse("a b").is_err());
    }

    #[test]
    fn subscription_state_rfc6665_examples() {
        let s: SubscriptionState = round_trip("active;expires=600");
        assert_eq!((s.state, s.expires), (SubState::Active, Some(600)));
        let s: SubscriptionState = round_trip("terminated;reason=probation;retry-after=30");
        assert_eq!(s.state, SubState::Terminated);
        assert_eq!(s.reason, Some(TerminationReason::Probation));
        assert_eq!(s.retry_after, Some(30));
        let s: SubscriptionState = round_trip("terminated;reason=noresource");
        assert_eq!(s.reason, Some(TerminationReason::Noresource));
        let s: SubscriptionState = round_trip("pending;expires=10;x=y");
        assert_eq!(s.params, vec![Param::new("x", Some("y".into()))]);
        assert!(SubscriptionState::parse("active;expires=soon").is_err());
        assert!(SubscriptionState::parse("active;expires").is_err());
    }

    #[test]
    fn allow_events_list() {
        let a: AllowEvents = round_trip("presence, Dialog,message-summary");
        assert!(a.contains("dialog") && a.contains("presence"));
        assert!(!a.contains("refer"));
        assert!(AllowEvents::parse("a b").is_err());
    }

    #[test]
    fn replaces_rfc3891_example() {
        let r: Replaces =
            round_trip("98732@sip.example.com;from-tag=r33th4x0r;to-tag=ff87ff;early-only");
        assert_eq!(r.call_id, "98732@sip.example.com");
        assert_eq!(r.from_tag, "r33th4x0r");
        assert_eq!(r.to_tag, "ff87ff");
        assert!(r.early_only);
        assert!(Replaces::parse("abc;to-tag=1").is_err());
        assert!(Replaces::parse(";to-tag=1;from-tag=2").is_err());
    }

    #[test]
    fn refer_to_with_embedded_replaces_rfc3891_section_5() {
        let r: ReferTo = round_trip(
            "<sips:bob@biloxi.example.com?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>",
        );
        assert_eq!(r.target, "sips:bob@biloxi.example.com");
        let rep = r.replaces.unwrap();
        assert_eq!(rep.call_id, "12345@192.168.118.3");
        assert_eq!(rep.to_tag, "12345");
        assert_eq!(rep.from_tag, "5FFE-3994");
        let blind: ReferTo = round_trip("sip:1003@pbx.test");
        assert_eq!(blind.target, "sip:1003@pbx.test");
        assert_eq!(blind.replaces, None);
        let built = ReferTo::new(
            "sip:1003@pbx.test",
            Some(Replaces {
                call_id: "a@b".into(),
                to_tag: "t".into(),
                from_tag: "f".into(),
                early_only: false,
            }),
        );
        assert_eq!(
            built.to_string(),
            "<sip:1003@pbx.test?Replaces=a%40b%3Bto-tag%3Dt%3Bfrom-tag%3Df>"
        );
        assert!(ReferTo::parse("<sip:a@b").is_err());
        assert!(ReferTo::parse("").is_err());
    }

    #[test]
    fn referred_by_name_addr() {
        let r: ReferredBy = round_trip("\"Alice \\\"A\\\"\" <sip:1001@pbx.test>;cid=x");
        assert_eq!(r.0.display_name.as_deref(), Some("Alice \"A\""));
        assert_eq!(r.0.uri, "sip:1001@pbx.test");
        let bare: ReferredBy = round_trip("sip:1001@pbx.test");
        assert_eq!(bare.0.uri, "sip:1001@pbx.test");
    }

    #[test]
    fn session_timer_headers_rfc4028() {
        let s: SessionExpires = round_trip("1800 ; refresher=UAS");
        assert_eq!((s.delta, s.refresher), (1800, Some(Refresher::Uas)));
        let s: SessionExpires = round_trip("90");
        assert_eq!(s.refresher, None);
        assert!(SessionExpires::parse("90;refresher=me").is_err());
        assert!(SessionExpires::parse("-1").is_err());
        let m: MinSe = round_trip("90");
        assert_eq!(m, MinSe(90));
    }

    #[test]
    fn rseq_rack_rfc3262() {
        let r: RSeq = round_trip("988789");
        assert_eq!(r, RSeq(988789));
        let a: RAck = round_trip("776656 1 INVITE");
        assert_eq!(
            (a.rseq, a.cseq, a.method),
            (776656, 1, rsip::Method::Invite)
        );
        assert!(RAck::parse("1 INVITE").is_err());
        assert!(RSeq::parse("99999999999").is_err());
    }

    #[test]
    fn call_info_answer_after() {
        let c: CallInfo = round_trip(
            "<http://wwww.example.com/alice/photo.jpg> ;purpose=icon, <sip:pbx.test>;answer-after=0",
        );
        assert_eq!(c.0.len(), 2);
        assert_eq!(c.0[0].param("purpose").as_deref(), Some("icon"));
        assert_eq!(c.answer_after(), Some(0));
        let none: CallInfo = round_trip("<http://x/y>;purpose=info");
        assert_eq!(none.answer_after(), None);
    }

    #[test]
    fn alert_info_auto_answer_forms() {
        let a: AlertInfo = round_trip("<http://www.example.com/sounds/moo.wav>");
        assert!(!a.auto_answer());
        let a: AlertInfo = round_trip("<http://pbx>;info=alert-autoanswer");
        assert!(a.auto_answer());
        let a: AlertInfo = round_trip("info=alert-autoanswer");
        assert!(a.auto_answer());
        let a: AlertInfo = round_trip("Auto Answer");
        assert!(a.auto_answer());
    }

    #[test]
    fn typed_reads_compact_and_long_forms_from_a_message() {
        let bytes = b"NOTIFY sip:a@b.invalid SIP/2.0\r\nv: SIP/2.0/WSS p;branch=z9hG4bK1\r\n\
            f: <sip:p@pbx.test>;tag=1\r\nt: <sip:a@pbx.test>;tag=2\r\ni: x\r\nCSeq: 3 NOTIFY\r\n\
            o: presence\r\nSubscription-State: active;expires=60\r\nl: 0\r\n\r\n";
        let m = super::super::parse(bytes).unwrap();
        assert_eq!(typed::<Event, _>(&m).unwrap().unwrap().package, "presence");
        let s = typed::<SubscriptionState, _>(&m).unwrap().unwrap();
        assert_eq!(s.expires, Some(60));
        assert!(typed::<ReferTo, _>(&m).is_none());
        assert_eq!(
            Event::new("dialog").to_header(),
            rsip::Header::Other("Event".into(), "dialog".into())
        );
    }

    #[test]
    fn percent_coding() {
        assert_eq!(percent_decode("a%3Bb%zz%4"), "a;b%zz%4");
        assert_eq!(percent_encode("a;b@c"), "a%3Bb%40c");
    }
}
