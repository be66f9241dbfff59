//! Source offsets that may be committed: a record's offset becomes
//! committable only when Kafka has acknowledged it and every record
//! submitted before it (Kafka Connect's `SubmittedRecords`), so a restart
//! never skips a record that was lost in flight.
//!
//! Under exactly-once the unit is the transaction instead: acks mean
//! nothing until it commits, so a transactional tracker keeps every record
//! of the open transaction pending, hands the transaction its offsets to
//! write ([`OffsetTracker::batch_offsets`]) and makes them committable all at
//! once when it commits ([`OffsetTracker::commit_batch`]).

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
    /// Exactly-once: offsets become committable only with their transaction.
    transactional: bool,
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

    /// A tracker for a transactional task: [`ack`](Self::ack) is ignored,
    /// [`commit_batch`](Self::commit_batch) commits.
    pub fn transactional(stored: &[SourceOffset]) -> OffsetTracker {
        let t = OffsetTracker::new(stored);
        t.lock().transactional = true;
        t
    }

    /// Takes in offsets read from elsewhere (the exactly-once offsets
    /// topic), each replacing what is known for its source partition.
    pub fn restore(&self, offsets: &[SourceOffset]) {
        let mut inner = self.lock();
        for o in offsets {
            inner.committable.insert(o.partition.to_string(), o.clone());
        }
    }

    /// Every committed offset, one per source partition.
    pub fn committed(&self) -> Vec<SourceOffset> {
        self.lock().committable.values().cloned().collect()
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
        if inner.transactional {
            return;
        }
        let Some(i) = seq.checked_sub(inner.first_seq) else {
            return;
        };
        if let Some(p) = inner.pending.get_mut(i) {
            p.acked = true;
        }
        while inner.pending.front().is_some_and(|p| p.acked) {
            inner.pop_committed();
        }
    }

    /// Exactly-once: the latest offset per source partition among the
    /// records of the open transaction, which the transaction writes to the
    /// offsets topic.
    pub fn batch_offsets(&self) -> Vec<SourceOffset> {
        let inner = self.lock();
        let mut latest: BTreeMap<String, SourceOffset> = BTreeMap::new();
        for p in inner.pending.iter().filter(|p| !p.partition.is_null()) {
            latest.insert(
                p.partition.to_string(),
                SourceOffset {
                    partition: p.partition.clone(),
                    offset: p.offset.clone(),
                },
            );
        }
        latest.into_values().collect()
    }

    /// Exactly-once: the open transaction committed, so all its records'
    /// offsets are committed.
    pub fn commit_batch(&self) {
        let mut inner = self.lock();
        while !inner.pending.is_empty() {
            inner.pop_committed();
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

impl Inner {
    /// Moves the first pending record's offset to the committable ones.
    fn pop_committed(&mut self) {
        if let Some(p) = self.pending.pop_front() {
            self.first_seq += 1;
            if !p.partition.is_null() {
                let key = p.partition.to_string();
                self.committable.insert(
                    key,
                    SourceOffset {
                        partition: p.partition,
                        offset: p.offset,
                    },
                );
                self.changed = true;
            }
        }
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

    #[test]
    fn a_transaction_commits_its_offsets_at_once_and_acks_do_nothing() {
        let t = OffsetTracker::transactional(&[]);
        let a = t.submit(json!({"p": 0}), json!({"i": 1}));
        t.submit(json!({"p": 1}), json!({"i": 7}));
        t.submit(json!({"p": 0}), json!({"i": 2}));
        t.ack(a);
        assert_eq!(t.take_changed(), None, "an ack commits nothing");
        assert_eq!(
            t.batch_offsets(),
            vec![
                SourceOffset {
                    partition: json!({"p": 0}),
                    offset: json!({"i": 2})
                },
                SourceOffset {
                    partition: json!({"p": 1}),
                    offset: json!({"i": 7})
                },
            ],
            "the latest offset per partition"
        );
        t.commit_batch();
        assert_eq!(t.in_flight(), 0);
        assert_eq!(t.take_changed().map(|o| o.len()), Some(2));
        assert!(t.batch_offsets().is_empty());
    }

    #[test]
    fn restored_offsets_win_per_partition() {
        let stored = vec![
            SourceOffset {
                partition: json!({"p": 0}),
                offset: json!({"i": 5}),
            },
            SourceOffset {
                partition: json!({"p": 1}),
                offset: json!({"i": 9}),
            },
        ];
        let t = OffsetTracker::transactional(&stored);
        t.restore(&[SourceOffset {
            partition: json!({"p": 0}),
            offset: json!({"i": 8}),
        }]);
        assert_eq!(
            t.committed(),
            vec![
                SourceOffset {
                    partition: json!({"p": 0}),
                    offset: json!({"i": 8})
                },
                stored[1].clone()
            ]
        );
        assert_eq!(t.take_changed(), None, "nothing new to report yet");
    }
}
