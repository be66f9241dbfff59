//! Source offsets that may be committed: a record's offset becomes
//! committable only when Kafka has acknowledged it and every record
//! submitted before it (Kafka Connect's `SubmittedRecords`), so a restart
//! never skips a record that was lost in flight.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use serde_json::Value;

use crate::protocol::SourceOffset;

#[derive(Default)]
struct Inner {
    /// Sequence number of `pending[0]`.
    first_seq: usize,
    pending: VecDeque<Pending>,
    /// Latest committable offset per source partition (keyed by its JSON text).
    committable: BTreeMap<String, SourceOffset>,
    changed: bool,
}

struct Pending {
    partition: Value,
    offset: Value,
    acked: bool,
}

#[derive(Default)]
pub struct OffsetTracker {
    inner: Mutex<Inner>,
}

impl OffsetTracker {
    /// Starts from the offsets the control plane has stored.
    pub fn new(stored: &[SourceOffset]) -> OffsetTracker {
        let committable = stored
            .iter()
            .map(|o| (o.partition.to_string(), o.clone()))
            .collect();
        OffsetTracker {
            inner: Mutex::new(Inner {
                committable,
                ..Inner::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a record about to be sent; returns its sequence number.
    pub fn submit(&self, partition: Value, offset: Value) -> usize {
        let mut inner = self.lock();
        let seq = inner.first_seq + inner.pending.len();
        inner.pending.push_back(Pending {
            partition,
            offset,
            acked: false,
        });
        seq
    }

    /// Marks a record acknowledged by Kafka.
    pub fn ack(&self, seq: usize) {
        let mut inner = self.lock();
        let Some(i) = seq.checked_sub(inner.first_seq) else {
            return;
        };
        if let Some(p) = inner.pending.get_mut(i) {
            p.acked = true;
        }
        while inner.pending.front().is_some_and(|p| p.acked) {
            if let Some(p) = inner.pending.pop_front() {
                inner.first_seq += 1;
                if !p.partition.is_null() {
                    let key = p.partition.to_string();
                    inner.committable.insert(
                        key,
                        SourceOffset {
                            partition: p.partition,
                            offset: p.offset,
                        },
                    );
                    inner.changed = true;
                }
            }
        }
    }

    /// The committable offsets, if they changed since the last call.
    pub fn take_changed(&self) -> Option<Vec<SourceOffset>> {
        let mut inner = self.lock();
        if !inner.changed {
            return None;
        }
        inner.changed = false;
        Some(inner.committable.values().cloned().collect())
    }

    /// Records submitted and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.lock().pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_offset_commits_only_after_everything_before_it_is_acked() {
        let t = OffsetTracker::new(&[]);
        let a = t.submit(json!({"p": 0}), json!({"i": 1}));
        let b = t.submit(json!({"p": 0}), json!({"i": 2}));
        t.ack(b);
        assert_eq!(t.take_changed(), None, "record 1 is still in flight");
        t.ack(a);
        let offsets = t.take_changed().unwrap();
        assert_eq!(
            offsets,
            vec![SourceOffset {
                partition: json!({"p": 0}),
                offset: json!({"i": 2})
            }]
        );
        assert_eq!(t.take_changed(), None);
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn stored_offsets_are_kept_for_partitions_not_seen_again() {
        let stored = vec![SourceOffset {
            partition: json!({"p": 9}),
            offset: json!({"i": 5}),
        }];
        let t = OffsetTracker::new(&stored);
        let a = t.submit(json!({"p": 0}), json!({"i": 1}));
        t.ack(a);
        assert_eq!(t.take_changed().unwrap().len(), 2);
    }
}
