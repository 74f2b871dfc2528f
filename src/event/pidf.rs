//! `application/pidf+xml` presence (RFC 3863) with RPID activities (RFC 4480):
//! parse what a peer PUBLISHes/NOTIFYs, and build our own PUBLISH body (RFC 3903).

use super::{body_text, escape_xml, parse_xml, BodyError};

const NS_PIDF: &str = "urn:ietf:params:xml:ns:pidf";
const NS_RPID: &str = "urn:ietf:params:xml:ns:pidf:rpid";
const NS_DM: &str = "urn:ietf:params:xml:ns:pidf:data-model";

/// `<basic>` status: can the presentity be reached at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Basic {
    Open,
    Closed,
}

/// RPID activities (RFC 4480 §3.2) a softphone shows or sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    Away,
    Busy,
    OnThePhone,
    Vacation,
    Meal,
    Appointment,
    Meeting,
    Holiday,
    Unknown,
    /// Any other RFC 4480 activity element, by local name.
    Other(String),
}

impl Activity {
    fn parse(name: &str) -> Self {
        match name {
            "away" => Self::Away,
            "busy" => Self::Busy,
            "on-the-phone" => Self::OnThePhone,
            "vacation" => Self::Vacation,
            "meal" => Self::Meal,
            "appointment" => Self::Appointment,
            "meeting" => Self::Meeting,
            "holiday" => Self::Holiday,
            "unknown" => Self::Unknown,
            other => Self::Other(other.to_string()),
        }
    }

    /// The RPID element name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Away => "away",
            Self::Busy => "busy",
            Self::OnThePhone => "on-the-phone",
            Self::Vacation => "vacation",
            Self::Meal => "meal",
            Self::Appointment => "appointment",
            Self::Meeting => "meeting",
            Self::Holiday => "holiday",
            Self::Unknown => "unknown",
            Self::Other(s) => s,
        }
    }
}

/// A presence document, reduced to one status (the first tuple's basic status),
/// the person's activities and the first note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub entity: String,
    pub basic: Option<Basic>,
    pub activities: Vec<Activity>,
    pub note: Option<String>,
}

impl Presence {
    /// Parses a PIDF body (size-capped, DTDs refused). Elements are matched by
    /// namespace, so prefixes may be anything; unknown elements are ignored
    /// (RFC 3863 §4.1.5 extensibility).
    pub fn parse(body: &[u8]) -> Result<Self, BodyError> {
        let doc = parse_xml(body_text(body)?)?;
        let root = doc.root_element();
        if root.tag_name().name() != "presence" || root.tag_name().namespace() != Some(NS_PIDF) {
            return Err(BodyError::Unexpected("root is not a PIDF presence".into()));
        }
        let is = |n: &roxmltree::Node<'_, '_>, ns: &str, name: &str| {
            n.is_element() && n.tag_name().namespace() == Some(ns) && n.tag_name().name() == name
        };
        let basic = root
            .descendants()
            .find(|n| is(n, NS_PIDF, "basic"))
            .and_then(|n| match n.text().map(str::trim) {
                Some("open") => Some(Basic::Open),
                Some("closed") => Some(Basic::Closed),
                _ => None,
            });
        let activities = root
            .descendants()
            .filter(|n| is(n, NS_RPID, "activities"))
            .flat_map(|a| a.children().filter(|c| c.is_element()))
            .filter(|c| c.tag_name().name() != "note")
            .map(|c| match c.tag_name().name() {
                "other" => Activity::Other(c.text().unwrap_or_default().trim().to_string()),
                name => Activity::parse(name),
            })
            .collect();
        let note = root
            .descendants()
            .find(|n| {
                n.is_element()
                    && n.tag_name().name() == "note"
                    && matches!(n.tag_name().namespace(), Some(NS_PIDF | NS_DM | NS_RPID))
            })
            .and_then(|n| n.text())
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        Ok(Self {
            entity: root.attribute("entity").unwrap_or_default().to_string(),
            basic,
            activities,
            note,
        })
    }

    /// Our PUBLISH body: one tuple with the basic status, one person with the
    /// activities and the note — the shape SIP.js, Kamailio's presence module
    /// and desk phones read.
    pub fn to_xml(&self) -> String {
        let mut x = String::with_capacity(512);
        x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n");
        x.push_str(&format!(
            "<presence xmlns=\"{NS_PIDF}\" xmlns:dm=\"{NS_DM}\" xmlns:rpid=\"{NS_RPID}\" entity=\"{}\">\r\n",
            escape_xml(&self.entity)
        ));
        x.push_str("<tuple id=\"t1\"><status>");
        if let Some(b) = self.basic {
            let b = match b {
                Basic::Open => "open",
                Basic::Closed => "closed",
            };
            x.push_str(&format!("<basic>{b}</basic>"));
        }
        x.push_str("</status></tuple>\r\n<dm:person id=\"p1\">");
        if !self.activities.is_empty() {
            x.push_str("<rpid:activities>");
            for a in &self.activities {
                match a {
                    Activity::Other(s) => {
                        x.push_str(&format!("<rpid:other>{}</rpid:other>", escape_xml(s)))
                    }
                    a => x.push_str(&format!("<rpid:{}/>", a.as_str())),
                }
            }
            x.push_str("</rpid:activities>");
        }
        if let Some(n) = &self.note {
            x.push_str(&format!("<dm:note>{}</dm:note>", escape_xml(n)));
        }
        x.push_str("</dm:person>\r\n</presence>\r\n");
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4480_example_with_prefixed_namespaces() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
    entity="pres:someone@example.com">
  <tuple id="bs35r9">
    <status><basic>open</basic></status>
    <note xml:lang="en">Don't Disturb Please!</note>
  </tuple>
  <dm:person id="pdd748945">
    <rpid:activities><rpid:appointment/><rpid:on-the-phone/></rpid:activities>
  </dm:person>
</presence>"#;
        let p = Presence::parse(body).unwrap();
        assert_eq!(p.entity, "pres:someone@example.com");
        assert_eq!(p.basic, Some(Basic::Open));
        assert_eq!(
            p.activities,
            vec![Activity::Appointment, Activity::OnThePhone]
        );
        assert_eq!(p.note.as_deref(), Some("Don't Disturb Please!"));
    }

    #[test]
    fn builder_output_parses_back() {
        let p = Presence {
            entity: "sip:1001@pbx.test".into(),
            basic: Some(Basic::Open),
            activities: vec![Activity::Meal, Activity::Other("Gym & <co>".into())],
            note: Some("Lunch \"break\" & back".into()),
        };
        let xml = p.to_xml();
        assert_eq!(Presence::parse(xml.as_bytes()).unwrap(), p);
        let closed = Presence {
            entity: "sip:1001@pbx.test".into(),
            basic: Some(Basic::Closed),
            activities: vec![Activity::Away, Activity::Busy, Activity::Vacation],
            note: None,
        };
        assert_eq!(Presence::parse(closed.to_xml().as_bytes()).unwrap(), closed);
    }

    #[test]
    fn other_prefixes_and_unknown_elements_are_fine() {
        let body = br#"<p:presence xmlns:p="urn:ietf:params:xml:ns:pidf" xmlns:r="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:a@b">
<p:tuple id="x"><p:status><p:basic>closed</p:basic><x:y xmlns:x="urn:x">1</x:y></p:status></p:tuple>
<r:activities><r:busy/></r:activities></p:presence>"#;
        let p = Presence::parse(body).unwrap();
        assert_eq!(p.basic, Some(Basic::Closed));
        assert_eq!(p.activities, vec![Activity::Busy]);
    }

    #[test]
    fn non_pidf_and_dtd_are_refused() {
        assert!(Presence::parse(b"<presence/>").is_err());
        let dtd = br#"<!DOCTYPE p [<!ENTITY e "x">]><presence xmlns="urn:ietf:params:xml:ns:pidf" entity="&e;"/>"#;
        assert_eq!(Presence::parse(dtd), Err(BodyError::Dtd));
    }
}
