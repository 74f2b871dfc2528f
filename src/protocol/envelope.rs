//! The envelope every message shares, `{"v": …, "type": …, …}`, read before
//! the message itself so a bad version or an unknown type gets its own error.
//!
//! It is read straight from the text, skipping the other fields, instead of
//! through a `serde_json::Value` of the whole message: decoding stays linear
//! and the popup's wasm carries no generic JSON tree (its decoder and maps).

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

pub(super) enum Envelope {
    NotAnObject,
    Object {
        /// `None` when missing or not a non-negative integer.
        version: Option<u64>,
        /// `None` when missing or not a string.
        kind: Option<String>,
    },
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EnvelopeVisitor)
    }
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = Envelope;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
        let (mut version, mut kind) = (None, None);
        // A repeated key counts with its last value, as in a JSON object.
        while let Some(key) = map.next_key::<Scalar>()? {
            match key {
                Scalar::Str(key) if key == "v" => {
                    version = match map.next_value()? {
                        Scalar::U64(v) => Some(v),
                        _ => None,
                    }
                }
                Scalar::Str(key) if key == "type" => {
                    kind = match map.next_value()? {
                        Scalar::Str(kind) => Some(kind),
                        _ => None,
                    }
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Envelope::Object { version, kind })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Envelope, A::Error> {
        skip_seq(seq).map(|_| Envelope::NotAnObject)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Envelope, E> {
        Ok(Envelope::NotAnObject)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Envelope, E> {
        Ok(Envelope::NotAnObject)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Envelope, E> {
        Ok(Envelope::NotAnObject)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Envelope, E> {
        Ok(Envelope::NotAnObject)
    }

    fn visit_str<E>(self, _: &str) -> Result<Envelope, E> {
        Ok(Envelope::NotAnObject)
    }

    fn visit_unit<E>(self) -> Result<Envelope, E> {
        Ok(Envelope::NotAnObject)
    }
}

/// A key or envelope field: the kinds the envelope cares about, anything
/// else (skipped over) as `Other`.
enum Scalar {
    U64(u64),
    Str(String),
    Other,
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_u64<E>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar::U64(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        skip_seq(seq).map(|_| Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::protocol::{ProtocolError, Request};

    #[test]
    fn the_envelope_is_read_around_any_other_field() {
        assert_eq!(
            Request::decode(r#"{"x":{"v":2,"type":[1,{"a":null}]},"type":"get_snapshot","v":1}"#),
            Ok(Request::GetSnapshot)
        );
        assert_eq!(
            Request::decode(r#"{"v":1,"type":"get_\u0073napshot"}"#),
            Ok(Request::GetSnapshot)
        );
        // A repeated key counts with its last value, as before.
        assert_eq!(
            Request::decode(r#"{"v":2,"type":"get_snapshot","v":1}"#),
            Ok(Request::GetSnapshot)
        );
        assert_eq!(
            Request::decode(r#"{"v":1.0,"type":"get_snapshot"}"#),
            Err(ProtocolError::MissingVersion)
        );
        assert_eq!(
            Request::decode(r#"{"v":1,"type":{"get_snapshot":1}}"#),
            Err(ProtocolError::MissingType)
        );
        assert_eq!(Request::decode("true"), Err(ProtocolError::NotAnObject));
        assert!(matches!(
            Request::decode(r#"{"v":1,"type":"get_snapshot"} x"#),
            Err(ProtocolError::Malformed(_))
        ));
    }
}
