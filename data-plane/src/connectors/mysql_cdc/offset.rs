//! Source offsets: positions in the binlog, under the partition
//! `{"server": <topic.prefix>}` (Debezium's).
//!
//! The binlog holds whole transactions in commit order, so a position is
//! where a transaction starts (its GTID or BEGIN event: `file`, `pos`) and
//! how many of its row changes are done (`event`). A streamed record's
//! offset is `{"file", "pos", "event", "gtids", "ts_sec"}`, read back as
//! "every transaction before `file:pos` is done, and the first `event` row
//! changes of the one there". `gtids` is the GTID of that transaction when
//! the server gives one (MariaDB's `domain-server-seq`, MySQL's
//! `uuid:n`); it is recorded for people and tools, while resuming always
//! goes by file and position. A snapshot record's offset is `{"file", "pos",
//! "snapshot": true, "last_snapshot_record": <bool>}`: a snapshot that did
//! not reach its last record is taken again.

use serde_json::{json, Value};

pub fn partition(topic_prefix: &str) -> Value {
    json!({ "server": topic_prefix })
}

/// A place in the binlog: a file and a byte position in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BinlogPos {
    pub file: String,
    pub pos: u64,
}

/// A streaming position: `events` row changes of the transaction starting
/// at `at` are done, and everything before it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Position {
    pub at: BinlogPos,
    pub events: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    Snapshot { at: BinlogPos, complete: bool },
    Streaming(Position),
}

/// Reads a stored offset; `None` when it is not one of ours.
pub fn parse(offset: &Value) -> Option<Stored> {
    let at = BinlogPos {
        file: offset.get("file")?.as_str()?.to_string(),
        pos: match offset.get("pos")? {
            Value::Number(n) => n.as_u64()?,
            Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        },
    };
    if offset.get("snapshot").and_then(Value::as_bool) == Some(true) {
        return Some(Stored::Snapshot {
            at,
            complete: offset
                .get("last_snapshot_record")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        });
    }
    Some(Stored::Streaming(Position {
        at,
        events: offset.get("event").and_then(Value::as_u64).unwrap_or(0),
    }))
}

pub fn streaming(p: &Position, gtid: Option<&str>, ts_sec: i64) -> Value {
    json!({
        "file": p.at.file,
        "pos": p.at.pos,
        "event": p.events,
        "gtids": gtid,
        "ts_sec": ts_sec,
    })
}

pub fn snapshot(at: &BinlogPos, gtids: Option<&str>, last: bool, ts_sec: i64) -> Value {
    json!({
        "file": at.file,
        "pos": at.pos,
        "gtids": gtids,
        "snapshot": true,
        "last_snapshot_record": last,
        "ts_sec": ts_sec,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_round_trip() {
        let p = Position {
            at: BinlogPos {
                file: "mysql-bin.000003".into(),
                pos: 1234,
            },
            events: 2,
        };
        assert_eq!(
            parse(&streaming(&p, Some("0-1-7"), 1)),
            Some(Stored::Streaming(p.clone()))
        );
        assert_eq!(
            parse(&snapshot(&p.at, None, true, 1)),
            Some(Stored::Snapshot {
                at: p.at.clone(),
                complete: true
            })
        );
        // As a person would type it into an offsets update.
        assert_eq!(
            parse(&json!({"file": "mysql-bin.000003", "pos": "1234"})),
            Some(Stored::Streaming(Position { events: 0, ..p }))
        );
        assert_eq!(parse(&json!({"lsn": 5})), None);
    }
}
