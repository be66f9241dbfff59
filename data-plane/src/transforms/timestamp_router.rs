//! `org.apache.kafka.connect.transforms.TimestampRouter`: the topic becomes
//! `topic.format` (default `${topic}-${timestamp}`) with `${timestamp}`
//! the record timestamp in `timestamp.format` (default `yyyyMMdd`, UTC).
//! A record without a timestamp is an error, as upstream.

use super::datefmt::DateFormat;
use super::props::Props;
use super::Transform;
use crate::record::Record;

#[derive(Debug)]
pub(crate) struct TimestampRouter {
    topic_format: String,
    timestamp_format: DateFormat,
}

pub(crate) fn build(props: &mut Props) -> Option<Box<dyn Transform>> {
    let topic_format = props.string_or("topic.format", "${topic}-${timestamp}");
    let pattern = props.string_or("timestamp.format", "yyyyMMdd");
    match DateFormat::new(&pattern) {
        Ok(timestamp_format) => Some(Box::new(TimestampRouter {
            topic_format,
            timestamp_format,
        })),
        Err(e) => {
            props.error(
                "timestamp.format",
                format!("invalid SimpleDateFormat pattern '{pattern}': {e}"),
            );
            None
        }
    }
}

impl Transform for TimestampRouter {
    /// Only the topic or headers change.
    fn keeps_schemas(&self) -> bool {
        true
    }

    fn apply(&self, mut record: Record) -> Result<Option<Record>, String> {
        let ts = record
            .timestamp
            .ok_or_else(|| format!("Timestamp missing on record (topic {})", record.topic))?;
        let formatted = self.timestamp_format.format_millis(ts)?;
        record.topic = self
            .topic_format
            .replace("${topic}", &record.topic)
            .replace("${timestamp}", &formatted);
        Ok(Some(record))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::chain;
    use crate::record::Record;

    #[test]
    fn appends_the_day_by_default() {
        let c = chain(&[
            ("transforms", "tr"),
            (
                "transforms.tr.type",
                "org.apache.kafka.connect.transforms.TimestampRouter",
            ),
        ]);
        let mut r = Record::new("orders", None, None);
        r.timestamp = Some(1_704_067_200_000); // 2024-01-01T00:00:00Z
        assert_eq!(c.apply(r).unwrap().unwrap().topic, "orders-20240101");
        let err = c.apply(Record::new("orders", None, None)).unwrap_err();
        assert!(err.message.contains("Timestamp missing"), "{err}");
    }

    #[test]
    fn custom_formats() {
        let c = chain(&[
            ("transforms", "tr"),
            (
                "transforms.tr.type",
                "org.apache.kafka.connect.transforms.TimestampRouter",
            ),
            (
                "transforms.tr.topic.format",
                "archive.${timestamp}.${topic}",
            ),
            ("transforms.tr.timestamp.format", "yyyy-MM"),
        ]);
        let mut r = Record::new("orders", None, None);
        r.timestamp = Some(1_704_067_200_000);
        assert_eq!(c.apply(r).unwrap().unwrap().topic, "archive.2024-01.orders");
    }
}
