//! Source offsets: positions in the WAL, under the partition
//! `{"server": <topic.prefix>}` (Debezium's).
//!
//! Logical decoding sends whole transactions in commit order, so a position
//! is a pair: the commit LSN of a transaction and how many of its changes
//! are done. A streamed record's offset is
//! `{"lsn": <its change's LSN>, "lsn_commit": <its transaction's commit LSN>,
//!   "txId": <xid>, "event": <changes of the transaction done>, "ts_usec": …}`,
//! read back as "every transaction committed before `lsn_commit` is done,
//! and the first `event` changes of that one". A snapshot record's offset is
//! `{"lsn": <the slot's consistent point>, "snapshot": true,
//!   "last_snapshot_record": <bool>, …}`: a snapshot that did not reach its
//! last record is taken again.

use serde_json::{json, Value};

/// An LSN in Postgres's `X/Y` text form (high and low 32 bits in hex), as
/// `pg_lsn` columns read; parsed here rather than with the replication
/// client, which only the task links.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.split_once('/')?;
    let hi = u64::from_str_radix(hi, 16).ok()?;
    let lo = u64::from_str_radix(lo, 16).ok()?;
    Some((hi << 32) | lo)
}

pub fn partition(topic_prefix: &str) -> Value {
    json!({ "server": topic_prefix })
}

/// A streaming position: `events` changes of the transaction that commits
/// at `commit_lsn` are done, and every transaction committed before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    pub commit_lsn: u64,
    pub events: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    Snapshot { lsn: u64, complete: bool },
    Streaming(Position),
}

/// Reads a stored offset; `None` when it is not one of ours. LSNs may be
/// numbers (as we write them) or Postgres's `X/Y` text (as a person would
/// type them into an offsets update).
pub fn parse(offset: &Value) -> Option<Stored> {
    let lsn = |key: &str| match offset.get(key)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => parse_lsn(s.trim()).or_else(|| s.trim().parse().ok()),
        _ => None,
    };
    if offset.get("snapshot").and_then(Value::as_bool) == Some(true) {
        return Some(Stored::Snapshot {
            lsn: lsn("lsn")?,
            complete: offset
                .get("last_snapshot_record")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        });
    }
    let commit_lsn = lsn("lsn_commit").or_else(|| lsn("lsn"))?;
    Some(Stored::Streaming(Position {
        commit_lsn,
        events: offset.get("event").and_then(Value::as_u64).unwrap_or(0),
    }))
}

pub fn streaming(position: Position, change_lsn: u64, xid: u32, ts_usec: i64) -> Value {
    json!({
        "lsn": change_lsn,
        "lsn_commit": position.commit_lsn,
        "txId": xid,
        "event": position.events,
        "ts_usec": ts_usec,
    })
}

pub fn snapshot(lsn: u64, last: bool, ts_usec: i64) -> Value {
    json!({
        "lsn": lsn,
        "snapshot": true,
        "last_snapshot_record": last,
        "ts_usec": ts_usec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsns_parse_as_postgres_writes_them() {
        assert_eq!(parse_lsn("16/B374D848"), Some(0x16_B374_D848));
        assert_eq!(parse_lsn("0/0"), Some(0));
        assert_eq!(parse_lsn("16B374D848"), None);
        assert_eq!(parse_lsn("x/1"), None);
    }

    #[test]
    fn offsets_round_trip() {
        let p = Position {
            commit_lsn: 0x16B_6C50,
            events: 3,
        };
        assert_eq!(
            parse(&streaming(p, 0x16B_6000, 771, 1)),
            Some(Stored::Streaming(p))
        );
        assert_eq!(
            parse(&snapshot(42, true, 1)),
            Some(Stored::Snapshot {
                lsn: 42,
                complete: true
            })
        );
        assert_eq!(
            parse(&snapshot(42, false, 1)),
            Some(Stored::Snapshot {
                lsn: 42,
                complete: false
            })
        );
    }

    #[test]
    fn hand_written_offsets_are_understood() {
        assert_eq!(
            parse(&json!({"lsn": "0/16B6C50"})),
            Some(Stored::Streaming(Position {
                commit_lsn: 0x16B_6C50,
                events: 0
            }))
        );
        assert_eq!(
            parse(&json!({"lsn": 100, "txId": 5})),
            Some(Stored::Streaming(Position {
                commit_lsn: 100,
                events: 0
            }))
        );
        assert_eq!(parse(&json!({"current.iteration": 1})), None);
    }
}
