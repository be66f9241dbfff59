//! Decoding of the `pgoutput` logical replication messages (protocol
//! version 1, text format) that carry changes: Relation, Insert, Update,
//! Delete, Truncate, and the ones we skip (Type, Origin). Begin, Commit and
//! logical decoding messages are parsed by the replication client.
//!
//! Reference: Postgres "Logical Replication Message Formats".

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "pgoutput: {}", self.0)
    }
}

/// A column of a relation as the Relation message describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub type_oid: u32,
    pub type_modifier: i32,
    /// Part of the replica identity (the primary key, unless changed).
    pub identity: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub oid: u32,
    pub schema: String,
    pub table: String,
    /// `REPLICA IDENTITY`: d(efault), n(othing), f(ull), i(ndex).
    pub replica_identity: u8,
    pub columns: Vec<Column>,
}

/// One column value of a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datum {
    Null,
    /// A TOASTed value that did not change: the message does not carry it.
    UnchangedToast,
    Text(String),
}

pub type Tuple = Vec<Datum>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Relation(Relation),
    Insert {
        relation: u32,
        new: Tuple,
    },
    Update {
        relation: u32,
        /// The old replica identity key ('K', only when it changed) or the
        /// whole old row ('O', with REPLICA IDENTITY FULL).
        old: Option<Tuple>,
        /// `old` is only the key columns (the others are null).
        old_is_key: bool,
        new: Tuple,
    },
    Delete {
        relation: u32,
        old: Tuple,
        old_is_key: bool,
    },
    Truncate {
        relations: Vec<u32>,
    },
    /// Messages that change nothing we track (Type, Origin, Begin/Commit
    /// when they reach us, logical decoding messages).
    Other(u8),
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError(format!("truncated {what}")));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }
    fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }
    fn i16(&mut self, what: &str) -> Result<i16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }
    fn i32(&mut self, what: &str) -> Result<i32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u32(&mut self, what: &str) -> Result<u32, DecodeError> {
        Ok(self.i32(what)? as u32)
    }
    fn cstr(&mut self, what: &str) -> Result<String, DecodeError> {
        let end = self
            .buf
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| DecodeError(format!("unterminated {what}")))?;
        let s = String::from_utf8_lossy(&self.buf[..end]).into_owned();
        self.buf = &self.buf[end + 1..];
        Ok(s)
    }

    fn tuple(&mut self) -> Result<Tuple, DecodeError> {
        let n = self.i16("column count")?;
        let n = usize::try_from(n).map_err(|_| DecodeError("negative column count".into()))?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(match self.u8("column kind")? {
                b'n' => Datum::Null,
                b'u' => Datum::UnchangedToast,
                b't' => {
                    let len = self.i32("value length")?;
                    let len = usize::try_from(len)
                        .map_err(|_| DecodeError("negative value length".into()))?;
                    let bytes = self.take(len, "value")?;
                    Datum::Text(String::from_utf8_lossy(bytes).into_owned())
                }
                b'b' => {
                    return Err(DecodeError(
                        "binary column values are not supported (binary 'false' is requested)"
                            .into(),
                    ))
                }
                other => return Err(DecodeError(format!("unknown column kind {other:#x}"))),
            });
        }
        Ok(out)
    }

    /// An optional old tuple ('K' or 'O') followed by the new one ('N').
    fn old_and_new(&mut self) -> Result<(Option<Tuple>, bool, Tuple), DecodeError> {
        match self.u8("tuple tag")? {
            b'N' => Ok((None, false, self.tuple()?)),
            tag @ (b'K' | b'O') => {
                let old = self.tuple()?;
                match self.u8("new tuple tag")? {
                    b'N' => Ok((Some(old), tag == b'K', self.tuple()?)),
                    other => Err(DecodeError(format!(
                        "expected new tuple 'N', got {other:#x}"
                    ))),
                }
            }
            other => Err(DecodeError(format!("unknown tuple tag {other:#x}"))),
        }
    }
}

/// Decodes one pgoutput message (the payload of an XLogData message).
pub fn decode(data: &[u8]) -> Result<Message, DecodeError> {
    let mut r = Reader { buf: data };
    let tag = r.u8("message tag")?;
    Ok(match tag {
        b'R' => {
            let oid = r.u32("relation oid")?;
            let schema = r.cstr("namespace")?;
            let table = r.cstr("relation name")?;
            let replica_identity = r.u8("replica identity")?;
            let n = r.i16("column count")?;
            let n = usize::try_from(n).map_err(|_| DecodeError("negative column count".into()))?;
            let mut columns = Vec::with_capacity(n);
            for _ in 0..n {
                let flags = r.u8("column flags")?;
                let name = r.cstr("column name")?;
                let type_oid = r.u32("column type")?;
                let type_modifier = r.i32("type modifier")?;
                columns.push(Column {
                    name,
                    type_oid,
                    type_modifier,
                    identity: flags & 1 == 1,
                });
            }
            Message::Relation(Relation {
                oid,
                // pgoutput sends an empty namespace for pg_catalog.
                schema: if schema.is_empty() {
                    "pg_catalog".into()
                } else {
                    schema
                },
                table,
                replica_identity,
                columns,
            })
        }
        b'I' => {
            let relation = r.u32("relation oid")?;
            match r.u8("tuple tag")? {
                b'N' => Message::Insert {
                    relation,
                    new: r.tuple()?,
                },
                other => return Err(DecodeError(format!("insert: unknown tuple tag {other:#x}"))),
            }
        }
        b'U' => {
            let relation = r.u32("relation oid")?;
            let (old, old_is_key, new) = r.old_and_new()?;
            Message::Update {
                relation,
                old,
                old_is_key,
                new,
            }
        }
        b'D' => {
            let relation = r.u32("relation oid")?;
            let tag = r.u8("tuple tag")?;
            if tag != b'K' && tag != b'O' {
                return Err(DecodeError(format!("delete: unknown tuple tag {tag:#x}")));
            }
            Message::Delete {
                relation,
                old: r.tuple()?,
                old_is_key: tag == b'K',
            }
        }
        b'T' => {
            let n = r.i32("relation count")?;
            let _options = r.u8("truncate options")?;
            let n =
                usize::try_from(n).map_err(|_| DecodeError("negative relation count".into()))?;
            let relations = (0..n)
                .map(|_| r.u32("relation oid"))
                .collect::<Result<_, _>>()?;
            Message::Truncate { relations }
        }
        other => Message::Other(other),
    })
}

/// Encoders for tests: build the messages Postgres sends.
#[cfg(test)]
pub mod encode {
    use super::*;

    pub fn relation(rel: &Relation) -> Vec<u8> {
        let mut b = vec![b'R'];
        b.extend(rel.oid.to_be_bytes());
        cstr(&mut b, &rel.schema);
        cstr(&mut b, &rel.table);
        b.push(rel.replica_identity);
        b.extend((rel.columns.len() as i16).to_be_bytes());
        for c in &rel.columns {
            b.push(u8::from(c.identity));
            cstr(&mut b, &c.name);
            b.extend(c.type_oid.to_be_bytes());
            b.extend(c.type_modifier.to_be_bytes());
        }
        b
    }

    pub fn insert(rel: u32, new: &[Datum]) -> Vec<u8> {
        let mut b = vec![b'I'];
        b.extend(rel.to_be_bytes());
        b.push(b'N');
        tuple(&mut b, new);
        b
    }

    pub fn update(rel: u32, old: Option<(u8, &[Datum])>, new: &[Datum]) -> Vec<u8> {
        let mut b = vec![b'U'];
        b.extend(rel.to_be_bytes());
        if let Some((tag, old)) = old {
            b.push(tag);
            tuple(&mut b, old);
        }
        b.push(b'N');
        tuple(&mut b, new);
        b
    }

    pub fn delete(rel: u32, tag: u8, old: &[Datum]) -> Vec<u8> {
        let mut b = vec![b'D'];
        b.extend(rel.to_be_bytes());
        b.push(tag);
        tuple(&mut b, old);
        b
    }

    fn cstr(b: &mut Vec<u8>, s: &str) {
        b.extend(s.as_bytes());
        b.push(0);
    }

    fn tuple(b: &mut Vec<u8>, t: &[Datum]) {
        b.extend((t.len() as i16).to_be_bytes());
        for d in t {
            match d {
                Datum::Null => b.push(b'n'),
                Datum::UnchangedToast => b.push(b'u'),
                Datum::Text(s) => {
                    b.push(b't');
                    b.extend((s.len() as i32).to_be_bytes());
                    b.extend(s.as_bytes());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::encode;
    use super::*;

    fn orders() -> Relation {
        Relation {
            oid: 16384,
            schema: "public".into(),
            table: "orders".into(),
            replica_identity: b'd',
            columns: vec![
                Column {
                    name: "id".into(),
                    type_oid: 23,
                    type_modifier: -1,
                    identity: true,
                },
                Column {
                    name: "note".into(),
                    type_oid: 25,
                    type_modifier: -1,
                    identity: false,
                },
            ],
        }
    }

    #[test]
    fn relation_round_trips() {
        let rel = orders();
        assert_eq!(
            decode(&encode::relation(&rel)).unwrap(),
            Message::Relation(rel)
        );
    }

    #[test]
    fn pg_catalog_namespace_is_empty_on_the_wire() {
        let mut rel = orders();
        rel.schema = String::new();
        let Message::Relation(r) = decode(&encode::relation(&rel)).unwrap() else {
            panic!("not a relation");
        };
        assert_eq!(r.schema, "pg_catalog");
    }

    #[test]
    fn changes_decode_with_nulls_and_unchanged_toast() {
        let new = vec![Datum::Text("1".into()), Datum::Null];
        assert_eq!(
            decode(&encode::insert(7, &new)).unwrap(),
            Message::Insert {
                relation: 7,
                new: new.clone()
            }
        );
        let toast = vec![Datum::Text("1".into()), Datum::UnchangedToast];
        assert_eq!(
            decode(&encode::update(7, None, &toast)).unwrap(),
            Message::Update {
                relation: 7,
                old: None,
                old_is_key: false,
                new: toast
            }
        );
        let key = vec![Datum::Text("1".into()), Datum::Null];
        assert_eq!(
            decode(&encode::update(7, Some((b'K', &key)), &new)).unwrap(),
            Message::Update {
                relation: 7,
                old: Some(key.clone()),
                old_is_key: true,
                new: new.clone()
            }
        );
        assert_eq!(
            decode(&encode::delete(7, b'O', &new)).unwrap(),
            Message::Delete {
                relation: 7,
                old: new,
                old_is_key: false
            }
        );
    }

    #[test]
    fn truncate_and_unknown_messages() {
        let mut t = vec![b'T'];
        t.extend(2i32.to_be_bytes());
        t.push(0);
        t.extend(5u32.to_be_bytes());
        t.extend(6u32.to_be_bytes());
        assert_eq!(
            decode(&t).unwrap(),
            Message::Truncate {
                relations: vec![5, 6]
            }
        );
        assert_eq!(decode(b"Yxyz").unwrap(), Message::Other(b'Y'));
    }

    #[test]
    fn truncated_messages_are_errors_not_panics() {
        let full = encode::insert(7, &[Datum::Text("hello".into())]);
        for n in 0..full.len() {
            assert!(decode(&full[..n]).is_err(), "prefix of {n} bytes");
        }
        let rel = encode::relation(&orders());
        for n in 0..rel.len() {
            assert!(decode(&rel[..n]).is_err(), "prefix of {n} bytes");
        }
    }
}
