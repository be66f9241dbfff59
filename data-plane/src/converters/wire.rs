//! Confluent Schema Registry's wire format: magic byte `0x00`, the schema
//! id as a 4-byte big-endian int, then (Protobuf only) the message-index
//! array, then the payload (`SchemaId.java` in confluentinc/schema-registry).

/// The classic (V0) magic byte.
pub const MAGIC_BYTE: u8 = 0;
/// Magic byte + schema id.
pub const PREFIX_LEN: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The exact message of Confluent's deserializers.
    #[error("Unknown magic byte!")]
    UnknownMagicByte,
    #[error("the data is {0} bytes long, too short for the Schema Registry wire format (magic byte and 4-byte schema id)")]
    TooShort(usize),
    #[error("malformed Protobuf message indexes")]
    BadIndexes,
}

/// Prefixes `payload` with the magic byte and `id`.
pub fn frame(id: i32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(PREFIX_LEN + payload.len());
    out.push(MAGIC_BYTE);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The schema id and the rest of the bytes.
pub fn unframe(bytes: &[u8]) -> Result<(i32, &[u8]), WireError> {
    match bytes.first() {
        None => Err(WireError::TooShort(0)),
        Some(&MAGIC_BYTE) if bytes.len() >= PREFIX_LEN => {
            let id = i32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
            Ok((id, &bytes[PREFIX_LEN..]))
        }
        Some(&MAGIC_BYTE) => Err(WireError::TooShort(bytes.len())),
        Some(_) => Err(WireError::UnknownMagicByte),
    }
}

/// Kafka's `ByteUtils.writeVarint`: zig-zag, then base-128.
pub fn write_varint(out: &mut Vec<u8>, n: i32) {
    let mut z = ((n << 1) ^ (n >> 31)) as u32;
    while z >= 0x80 {
        out.push((z as u8 & 0x7f) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// Reads a zig-zag varint; returns it and the bytes after it.
pub fn read_varint(bytes: &[u8]) -> Result<(i32, &[u8]), WireError> {
    let mut z: u32 = 0;
    for (i, b) in bytes.iter().enumerate().take(5) {
        z |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            let n = ((z >> 1) as i32) ^ -((z & 1) as i32);
            return Ok((n, &bytes[i + 1..]));
        }
    }
    Err(WireError::BadIndexes)
}

/// Protobuf message indexes: the path to the message type in the schema
/// (`[0]` is the first top-level message, written as the single byte 0).
pub fn write_message_indexes(out: &mut Vec<u8>, indexes: &[i32]) {
    if indexes == [0] {
        out.push(0);
        return;
    }
    write_varint(out, indexes.len() as i32);
    for i in indexes {
        write_varint(out, *i);
    }
}

/// Reads message indexes; a count of 0 means `[0]`.
pub fn read_message_indexes(bytes: &[u8]) -> Result<(Vec<i32>, &[u8]), WireError> {
    let (count, mut rest) = read_varint(bytes)?;
    if count == 0 {
        return Ok((vec![0], rest));
    }
    if !(0..=100).contains(&count) {
        return Err(WireError::BadIndexes);
    }
    let mut out = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let (i, r) = read_varint(rest)?;
        out.push(i);
        rest = r;
    }
    Ok((out, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_like_confluents_serializers() {
        // Schema id 1 and Avro "long" 42 (zig-zag 84): what KafkaAvroSerializer writes.
        assert_eq!(frame(1, &[0x54]), vec![0x00, 0x00, 0x00, 0x00, 0x01, 0x54]);
        assert_eq!(frame(100_001, b"{}")[..5], [0x00, 0x00, 0x01, 0x86, 0xa1]);
        assert_eq!(
            unframe(&[0, 0, 1, 0x86, 0xa1, 7]).unwrap(),
            (100_001, &[7u8][..])
        );
    }

    #[test]
    fn anything_else_is_an_unknown_magic_byte() {
        assert_eq!(unframe(b"{\"a\":1}"), Err(WireError::UnknownMagicByte));
        assert_eq!(
            unframe(&[1, 0, 0, 0, 1]).unwrap_err().to_string(),
            "Unknown magic byte!"
        );
        assert_eq!(unframe(&[0, 0, 1]), Err(WireError::TooShort(3)));
        assert_eq!(unframe(&[]), Err(WireError::TooShort(0)));
    }

    #[test]
    fn message_indexes_match_confluent() {
        let enc = |ix: &[i32]| {
            let mut out = Vec::new();
            write_message_indexes(&mut out, ix);
            out
        };
        assert_eq!(enc(&[0]), vec![0x00]);
        assert_eq!(enc(&[1]), vec![0x02, 0x02]);
        assert_eq!(enc(&[0, 2]), vec![0x04, 0x00, 0x04]);
        for ix in [vec![0], vec![1], vec![0, 2], vec![3, 1, 70]] {
            let mut b = enc(&ix);
            b.push(0xff);
            assert_eq!(read_message_indexes(&b).unwrap(), (ix, &[0xffu8][..]));
        }
        let mut b = Vec::new();
        write_varint(&mut b, -1);
        assert_eq!(b, vec![0x01]);
        assert!(read_message_indexes(&[0x80, 0x80]).is_err());
    }
}
