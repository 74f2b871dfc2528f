//! Bodies of the SIP event packages Ringside subscribes to (RFC 6665):
//! `dialog` ([`dialog_info`], RFC 4235, for BLF), `message-summary`
//! ([`message_summary`], RFC 3842, for MWI) and `presence` ([`pidf`], RFC 3863 +
//! RPID RFC 4480, parsed and built for PUBLISH).
//!
//! XML comes from the network, so [`parse_xml`] is the only way in: it refuses
//! bodies over [`MAX_BODY_SIZE`], any DTD (so no entity declarations, no
//! entity-expansion bombs, no external entities) and documents with more nodes
//! than a real NOTIFY has.

pub mod dialog_info;
pub mod message_summary;
pub mod pidf;

/// Event bodies above this are refused; it matches the SIP message cap.
pub const MAX_BODY_SIZE: usize = 64 * 1024;

/// Far above any real dialog-info/PIDF document, far below what would cost time.
const MAX_XML_NODES: u32 = 10_000;

/// Why an event body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("event body of {0} bytes is larger than the {MAX_BODY_SIZE} byte limit")]
    TooLarge(usize),
    #[error("event body is not valid UTF-8")]
    NotUtf8,
    #[error("XML with a DTD is refused (no entity declarations)")]
    Dtd,
    #[error("malformed XML: {0}")]
    Xml(String),
    #[error("unexpected document: {0}")]
    Unexpected(String),
}

/// The body as text, after the size cap and UTF-8 check every package shares.
pub(crate) fn body_text(body: &[u8]) -> Result<&str, BodyError> {
    if body.len() > MAX_BODY_SIZE {
        return Err(BodyError::TooLarge(body.len()));
    }
    std::str::from_utf8(body).map_err(|_| BodyError::NotUtf8)
}

/// Parses an XML event body with DTDs refused and a node cap.
pub fn parse_xml(text: &str) -> Result<roxmltree::Document<'_>, BodyError> {
    if text.len() > MAX_BODY_SIZE {
        return Err(BodyError::TooLarge(text.len()));
    }
    let options = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_XML_NODES,
    };
    roxmltree::Document::parse_with_options(text, options).map_err(|e| match e {
        roxmltree::Error::DtdDetected => BodyError::Dtd,
        other => BodyError::Xml(other.to_string()),
    })
}

/// Escapes text for an XML element or a double-quoted attribute.
pub(crate) fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_declarations_are_refused() {
        let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="&lol2;"/>"#;
        assert_eq!(parse_xml(bomb).unwrap_err(), BodyError::Dtd);
        let external = r#"<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>"#;
        assert_eq!(parse_xml(external).unwrap_err(), BodyError::Dtd);
    }

    #[test]
    fn oversized_bodies_are_refused() {
        let big = format!("<x>{}</x>", "a".repeat(MAX_BODY_SIZE));
        assert!(matches!(parse_xml(&big), Err(BodyError::TooLarge(_))));
        assert!(matches!(
            body_text(big.as_bytes()),
            Err(BodyError::TooLarge(_))
        ));
    }

    #[test]
    fn too_many_nodes_is_an_error() {
        let many = format!("<x>{}</x>", "<y/>".repeat(MAX_XML_NODES as usize + 1));
        assert!(matches!(parse_xml(&many), Err(BodyError::Xml(_))));
    }

    #[test]
    fn escaping() {
        assert_eq!(escape_xml(r#"<a & "b">"#), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
