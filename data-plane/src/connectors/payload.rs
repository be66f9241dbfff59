//! Message payloads of the messaging sources (MQTT, NATS, RabbitMQ) as
//! record values, one way for all of them.

use base64::Engine;
use serde_json::Value;

/// Bytes as the record model carries them: the text when UTF-8, else
/// base64 (as Kafka Connect's JsonConverter writes bytes).
pub fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

/// The record value of a payload: JSON when it parses as JSON, else its
/// [`text`]. An empty payload is a null value.
pub fn value(payload: &[u8]) -> Option<Value> {
    if payload.is_empty() {
        return None;
    }
    serde_json::from_slice::<Value>(payload)
        .ok()
        .or_else(|| Some(Value::String(text(payload))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn payloads_become_json_text_or_base64() {
        assert_eq!(value(br#"{"t":21.5}"#), Some(json!({"t": 21.5})));
        assert_eq!(value(br#"[1,2]"#), Some(json!([1, 2])));
        assert_eq!(value(b"on"), Some(json!("on")));
        assert_eq!(value(b"hi there"), Some(json!("hi there")));
        assert_eq!(value(&[0xff, 0x00]), Some(json!("/wA=")));
        assert_eq!(value(b""), None);
        assert_eq!(text(&[0xff, 0x00]), "/wA=");
    }
}
