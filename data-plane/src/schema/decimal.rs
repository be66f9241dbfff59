//! `Decimal` values: the unscaled value as big-endian two's-complement bytes
//! (Java's `BigInteger.toByteArray`), of any length, to and from decimal
//! text.

use serde_json::Value;

use super::decode_bytes;

/// The unscaled bytes of a Decimal value: base64 text (JsonConverter's
/// `BASE64`) as it is, or a JSON number (`NUMERIC`) scaled to `scale`.
pub fn unscaled_bytes(value: &Value, scale: i32) -> Result<Vec<u8>, String> {
    match value {
        Value::String(_) => {
            decode_bytes(value).ok_or_else(|| format!("{value} is not base64 text"))
        }
        Value::Number(n) => from_text(&n.to_string(), scale),
        other => Err(format!("{other} is neither base64 text nor a number")),
    }
}

/// A Decimal value as decimal text (`"12.50"` for unscaled 1250, scale 2).
pub fn to_string(value: &Value, scale: i32) -> Result<String, String> {
    unscaled_bytes(value, scale).map(|b| to_text(&b, scale))
}

/// Decimal text for unscaled bytes with `scale` decimals.
pub fn to_text(bytes: &[u8], scale: i32) -> String {
    let negative = bytes.first().is_some_and(|b| b & 0x80 != 0);
    let mut magnitude = if negative {
        negate(bytes)
    } else {
        bytes.to_vec()
    };
    let mut digits = Vec::new();
    while magnitude.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in magnitude.iter_mut() {
            let cur = (rem << 8) | u32::from(*b);
            *b = (cur / 10) as u8;
            rem = cur % 10;
        }
        digits.push(b'0' + rem as u8);
    }
    if digits.is_empty() {
        digits.push(b'0');
    }
    digits.reverse();
    let digits = String::from_utf8(digits).unwrap_or_default();
    let text = if scale <= 0 {
        format!("{digits}{}", "0".repeat(scale.unsigned_abs() as usize))
    } else {
        let scale = scale as usize;
        if digits.len() > scale {
            let (int, frac) = digits.split_at(digits.len() - scale);
            format!("{int}.{frac}")
        } else {
            format!("0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    };
    if negative {
        format!("-{text}")
    } else {
        text
    }
}

/// Decimal text (`-12.5`, `1e3`) as the minimal unscaled bytes at `scale`;
/// an error when that would drop non-zero digits.
pub fn from_text(text: &str, scale: i32) -> Result<Vec<u8>, String> {
    let t = text.trim();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (mantissa, exp) = match t.split_once(['e', 'E']) {
        Some((m, e)) => (
            m,
            e.parse::<i32>()
                .map_err(|_| format!("{text} is not a decimal number"))?,
        ),
        None => (t, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty()
        || !int.chars().chain(frac.chars()).all(|c| c.is_ascii_digit())
    {
        return Err(format!("{text} is not a decimal number"));
    }
    // digits × 10^(exp - frac.len()) must become unscaled × 10^(-scale).
    let mut digits: String = format!("{int}{frac}");
    let shift = i64::from(exp) - frac.len() as i64 + i64::from(scale);
    if shift >= 0 {
        digits.push_str(&"0".repeat(shift as usize));
    } else {
        let cut = shift.unsigned_abs() as usize;
        let keep = digits.len().saturating_sub(cut);
        if digits[keep..].chars().any(|c| c != '0') {
            return Err(format!("{text} has more than {scale} decimal places"));
        }
        digits.truncate(keep);
    }
    let mut magnitude: Vec<u8> = vec![0];
    for d in digits.bytes() {
        let mut carry = u32::from(d - b'0');
        for b in magnitude.iter_mut().rev() {
            let cur = u32::from(*b) * 10 + carry;
            *b = cur as u8;
            carry = cur >> 8;
        }
        while carry > 0 {
            magnitude.insert(0, carry as u8);
            carry >>= 8;
        }
    }
    let bytes = if negative && magnitude.iter().any(|&b| b != 0) {
        let mut m = magnitude;
        m.insert(0, 0);
        negate(&m)
    } else {
        let mut m = magnitude;
        m.insert(0, 0);
        m
    };
    Ok(minimal(bytes))
}

/// Two's-complement negation of a big-endian number.
fn negate(bytes: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = bytes.iter().map(|b| !b).collect();
    for b in out.iter_mut().rev() {
        let (sum, overflow) = b.overflowing_add(1);
        *b = sum;
        if !overflow {
            break;
        }
    }
    out
}

/// Drops redundant sign bytes, as `BigInteger.toByteArray` leaves none.
pub fn minimal(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.len() > 1
        && ((bytes[0] == 0 && bytes[1] & 0x80 == 0) || (bytes[0] == 0xff && bytes[1] & 0x80 != 0))
    {
        bytes.remove(0);
    }
    if bytes.is_empty() {
        bytes.push(0);
    }
    bytes
}

/// Sign-extends (or fails to fit) unscaled bytes into exactly `size` bytes,
/// as Avro's `fixed` decimals need.
pub fn fit(bytes: &[u8], size: usize) -> Option<Vec<u8>> {
    let bytes = minimal(bytes.to_vec());
    if bytes.len() > size {
        return None;
    }
    let fill = if bytes[0] & 0x80 != 0 { 0xff } else { 0 };
    let mut out = vec![fill; size - bytes.len()];
    out.extend_from_slice(&bytes);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_round_trips_through_bytes() {
        assert_eq!(to_text(&[0x04, 0xe2], 2), "12.50");
        assert_eq!(to_text(&[0xfb, 0x1e], 2), "-12.50");
        assert_eq!(to_text(&[0x05], 3), "0.005");
        assert_eq!(to_text(&[0x00], 2), "0.00");
        assert_eq!(to_text(&[0x7f], 0), "127");
        assert_eq!(from_text("12.5", 2).unwrap(), vec![0x04, 0xe2]);
        assert_eq!(from_text("-12.50", 2).unwrap(), vec![0xfb, 0x1e]);
        assert_eq!(from_text("128", 0).unwrap(), vec![0x00, 0x80]);
        assert_eq!(from_text("-128", 0).unwrap(), vec![0x80]);
        assert_eq!(from_text("0", 2).unwrap(), vec![0x00]);
        assert_eq!(from_text("1.5e1", 0).unwrap(), vec![0x0f]);
        assert!(from_text("1.234", 2).is_err());
        assert!(from_text("abc", 2).is_err());
        // Past 128 bits.
        let big = "123456789012345678901234567890123456789012345.67";
        assert_eq!(to_text(&from_text(big, 2).unwrap(), 2), big);
        assert_eq!(to_string(&json!("BOI="), 2).unwrap(), "12.50");
        assert_eq!(to_string(&json!(12.5), 2).unwrap(), "12.50");
        assert_eq!(fit(&[0xfb, 0x1e], 4), Some(vec![0xff, 0xff, 0xfb, 0x1e]));
        assert_eq!(fit(&[0x01, 0x00, 0x00], 2), None);
    }
}
