//! A schema as registered: its type, its normalized text (what is stored
//! and returned) and its fingerprint (what finds an already registered
//! schema, so the same schema keeps its id).

use apache_avro::Schema as AvroSchema;
use prost_reflect::FileDescriptor;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaType {
    Avro,
    Json,
    Protobuf,
}

impl SchemaType {
    /// `schemaType` as sent: absent means AVRO.
    pub fn parse(s: Option<&str>) -> Option<SchemaType> {
        match s.map(str::trim).filter(|s| !s.is_empty()) {
            None => Some(SchemaType::Avro),
            Some(s) if s.eq_ignore_ascii_case("AVRO") => Some(SchemaType::Avro),
            Some(s) if s.eq_ignore_ascii_case("JSON") => Some(SchemaType::Json),
            Some(s) if s.eq_ignore_ascii_case("PROTOBUF") => Some(SchemaType::Protobuf),
            Some(_) => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            SchemaType::Avro => "AVRO",
            SchemaType::Json => "JSON",
            SchemaType::Protobuf => "PROTOBUF",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ParsedSchema {
    pub schema_type: SchemaType,
    /// Avro: the parsed schema's JSON (defaults, docs and logical types
    /// kept; whitespace and key order normalized). JSON Schema: compact
    /// JSON. Protobuf: the text as sent, trimmed.
    pub text: String,
    pub fingerprint: String,
    pub avro: Option<AvroSchema>,
    /// JSON Schema: the schema, for compatibility checks.
    pub json: Option<serde_json::Value>,
    /// Protobuf: the compiled file, for compatibility checks (absent when
    /// the schema imports other subjects, which are not compiled).
    pub protobuf: Option<FileDescriptor>,
}

/// Parses and normalizes a schema. `references` are the texts of the
/// schemas it references (Avro named types defined elsewhere). The error
/// is the reason it is invalid.
pub fn parse(
    schema_type: SchemaType,
    text: &str,
    references: &[String],
) -> Result<ParsedSchema, String> {
    if text.trim().is_empty() {
        return Err("Empty schema".into());
    }
    let (mut json, mut protobuf) = (None, None);
    let (normalized, avro) = match schema_type {
        SchemaType::Avro => {
            let schema = if references.is_empty() {
                AvroSchema::parse_str(text)
            } else {
                AvroSchema::parse_str_with_list(text, references).map(|(s, _)| s)
            }
            .map_err(|e| format!("Invalid schema {text}, details: {e}"))?;
            let normalized = serde_json::to_string(&schema).map_err(|e| e.to_string())?;
            (normalized, Some(schema))
        }
        SchemaType::Json => {
            let v: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| format!("Invalid schema {text}, details: not JSON: {e}"))?;
            if !(v.is_object() || v.is_boolean()) {
                return Err(format!(
                    "Invalid schema {text}, details: a JSON Schema is an object or a boolean"
                ));
            }
            let normalized = v.to_string();
            json = Some(v);
            (normalized, None)
        }
        SchemaType::Protobuf => {
            let t = text.trim();
            if !t.contains("message") && !t.contains("enum") {
                return Err(format!(
                    "Invalid schema {text}, details: no message or enum definition"
                ));
            }
            // Compiled as the converters will (imports of Google's
            // well-known types resolve; references to other subjects do not).
            if references.is_empty() {
                let pool = tributary_data_plane::converters::protobuf::compile(t)
                    .map_err(|e| format!("Invalid schema {text}, details: {e}"))?;
                protobuf = super::protobuf_compat::main_file(&pool);
            }
            (t.to_string(), None)
        }
    };
    let mut h = Sha256::new();
    h.update(schema_type.as_str().as_bytes());
    h.update(b"\n");
    h.update(normalized.as_bytes());
    let fingerprint = h
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    Ok(ParsedSchema {
        schema_type,
        text: normalized,
        fingerprint,
        avro,
        json,
        protobuf,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_and_key_order_do_not_change_the_fingerprint() {
        let a = parse(
            SchemaType::Avro,
            r#"{"type":"record","name":"r","fields":[{"name":"a","type":"long"}]}"#,
            &[],
        )
        .unwrap();
        let b = parse(
            SchemaType::Avro,
            r#"{ "fields": [ {"type": "long", "name": "a"} ],
                 "name": "r", "type": "record" }"#,
            &[],
        )
        .unwrap();
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_eq!(a.text, b.text);
        // A default is part of the schema.
        let c = parse(
            SchemaType::Avro,
            r#"{"type":"record","name":"r","fields":[{"name":"a","type":"long","default":0}]}"#,
            &[],
        )
        .unwrap();
        assert_ne!(a.fingerprint, c.fingerprint);
        // The same text as another type is another schema.
        let j = parse(SchemaType::Json, r#"{"type":"object"}"#, &[]).unwrap();
        let j2 = parse(SchemaType::Json, r#"{ "type": "object" }"#, &[]).unwrap();
        assert_eq!(j.fingerprint, j2.fingerprint);
    }

    #[test]
    fn invalid_schemas_say_why() {
        let e = parse(SchemaType::Avro, r#"{"type":"nope"}"#, &[]).unwrap_err();
        assert!(e.starts_with("Invalid schema"), "{e}");
        assert!(parse(SchemaType::Avro, "  ", &[]).is_err());
        assert!(parse(SchemaType::Json, "[1]", &[]).is_err());
        assert!(parse(SchemaType::Protobuf, "syntax = \"proto3\";", &[]).is_err());
        assert!(parse(
            SchemaType::Protobuf,
            "syntax = \"proto3\"; message M { strin x = 1; }",
            &[]
        )
        .is_err());
        assert!(parse(
            SchemaType::Protobuf,
            "syntax = \"proto3\"; import \"google/protobuf/timestamp.proto\"; message M { google.protobuf.Timestamp at = 1; }",
            &[]
        )
        .is_ok());
        assert_eq!(SchemaType::parse(None), Some(SchemaType::Avro));
        assert_eq!(SchemaType::parse(Some("json")), Some(SchemaType::Json));
        assert_eq!(SchemaType::parse(Some("XML")), None);
    }

    #[test]
    fn references_resolve_named_types() {
        let address = r#"{"type":"record","name":"Address","namespace":"ksql","fields":[{"name":"city","type":"string"}]}"#;
        let order = r#"{"type":"record","name":"Order","namespace":"ksql","fields":[{"name":"address","type":"ksql.Address"}]}"#;
        assert!(parse(SchemaType::Avro, order, &[]).is_err());
        let p = parse(SchemaType::Avro, order, &[address.to_string()]).unwrap();
        assert!(p.text.contains("ksql.Address"), "{}", p.text);
    }
}
