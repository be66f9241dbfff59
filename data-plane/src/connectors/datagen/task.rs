//! The running Datagen task: paces itself like upstream's `DatagenTask`
//! (sleep `random() * max.interval` ms, then one record), or generates
//! batches as fast as the producer takes them when `max.interval` is 0.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

use super::generator::Generator;
use super::settings::DatagenSettings;
use crate::connectors::{Config, SourceRecord, SourceTask, TaskError};
use crate::schema::{self, Schema};

/// Records per `poll` when `max.interval` is 0: big enough to keep the
/// producer's batches full, small enough to notice a stop quickly.
const UNPACED_BATCH: u64 = 500;
/// How long an exhausted task (all `iterations` generated) idles per poll.
const EXHAUSTED_IDLE: Duration = Duration::from_millis(250);

/// Offset and header names, as upstream's `DatagenTask` writes them.
const TASK_ID: &str = "task.id";
const TASK_GENERATION: &str = "task.generation";
const CURRENT_ITERATION: &str = "current.iteration";
const RANDOM_SEED: &str = "random.seed";

pub struct DatagenTask {
    topic: String,
    generator: Generator,
    key_field: Option<String>,
    /// The Connect schemas of the Avro schema the data comes from (as
    /// upstream's AvroData gives them), so schema-bearing converters write
    /// the quickstart's own schema rather than one guessed from values.
    key_schema: Option<Arc<Schema>>,
    value_schema: Option<Arc<Schema>>,
    task_id: u32,
    max_interval_ms: u64,
    /// Records to generate before going idle; `None` = unlimited.
    iterations: Option<u64>,
    /// Records generated so far (upstream's `count`).
    count: u64,
    /// Restored from the stored source offset, as upstream does.
    generation: u64,
    /// Generates the data; seeded from `random.seed` for reproducible output
    /// and re-seeded after every record so the offset can carry its state.
    data_rng: StdRng,
    /// Paces `poll`; kept apart so timing never changes the data sequence.
    pace_rng: StdRng,
    exhausted_logged: bool,
}

impl DatagenTask {
    pub fn new(config: &Config, task_id: u32) -> Result<DatagenTask, TaskError> {
        let settings = DatagenSettings::parse(config)
            .map_err(|e| TaskError::Fatal(format!("invalid Datagen config: {e}")))?;
        let avro = super::AvroSchemas::of(&settings.schema);
        let connect = |avro: &serde_json::Value| {
            schema::from_avro(avro).map(Arc::new).map_err(|e| {
                TaskError::Fatal(format!("the Datagen schema has no Connect form: {e}"))
            })
        };
        let value_schema = Some(connect(&avro.value)?);
        let key_schema = avro.key.as_ref().map(connect).transpose()?;
        Ok(DatagenTask {
            key_schema,
            value_schema,
            topic: settings.topic,
            generator: Generator::new(settings.schema.schema, 0),
            key_field: settings.schema.key_field,
            task_id,
            max_interval_ms: settings.max_interval_ms,
            iterations: settings.iterations,
            count: 0,
            generation: 0,
            data_rng: data_rng(settings.random_seed, task_id),
            pace_rng: StdRng::from_entropy(),
            exhausted_logged: false,
        })
    }

    /// Continues where the last committed record of this task left off: the
    /// iteration count (and so `orderid`, `viewtime`, …), the generation and
    /// the random state, as upstream restores them from its offset.
    pub fn resume_from(mut self, offsets: &[crate::protocol::SourceOffset]) -> DatagenTask {
        let mine = offsets.iter().find(|o| {
            o.partition.get(TASK_ID).and_then(|v| v.as_u64()) == Some(u64::from(self.task_id))
        });
        if let Some(o) = mine {
            if let Some(n) = o.offset.get(CURRENT_ITERATION).and_then(|v| v.as_u64()) {
                self.count = n;
                self.generator.continue_after(n);
            }
            if let Some(g) = o.offset.get(TASK_GENERATION).and_then(|v| v.as_u64()) {
                self.generation = g;
            }
            let seed = o
                .offset
                .get(RANDOM_SEED)
                .and_then(|v| v.as_i64().map(|s| s as u64).or_else(|| v.as_u64()));
            if let Some(seed) = seed {
                self.data_rng = StdRng::seed_from_u64(seed);
            }
            tracing::info!(iteration = self.count, "resuming from the stored offset");
        }
        self
    }

    fn exhausted(&self) -> bool {
        self.iterations.is_some_and(|n| self.count >= n)
    }

    fn remaining(&self) -> u64 {
        self.iterations
            .map_or(u64::MAX, |n| n.saturating_sub(self.count))
    }

    /// Generates the next record, advancing the iteration.
    pub fn next_record(&mut self) -> SourceRecord {
        let iteration = self.count;
        let value = self.generator.generate(&mut self.data_rng);
        // Upstream: no key field, null key.
        let key = self
            .key_field
            .as_deref()
            .and_then(|k| value.get(k))
            .cloned()
            .filter(|k| !k.is_null());
        // Re-seed so that the offset holds the state the next record starts from.
        let seed: u64 = self.data_rng.gen();
        self.data_rng = StdRng::seed_from_u64(seed);
        self.count += 1;
        SourceRecord {
            topic: self.topic.clone(),
            key,
            value: Some(value),
            headers: vec![
                (TASK_GENERATION.into(), self.generation.to_string()),
                (TASK_ID.into(), self.task_id.to_string()),
                (CURRENT_ITERATION.into(), iteration.to_string()),
            ],
            source_partition: json!({ TASK_ID: self.task_id }),
            // Like upstream, the offset is the state the next lifetime resumes from.
            source_offset: json!({
                TASK_GENERATION: self.generation + 1,
                CURRENT_ITERATION: iteration + 1,
                RANDOM_SEED: seed as i64,
            }),
            key_schema: self.key_schema.clone(),
            value_schema: self.value_schema.clone(),
        }
    }
}

/// Seeds the data generator. With a seed, each task advances the seed once
/// per preceding task id (as upstream does), so tasks differ yet every run
/// of a task repeats the same data.
fn data_rng(seed: Option<i64>, task_id: u32) -> StdRng {
    let Some(seed) = seed else {
        return StdRng::from_entropy();
    };
    let mut rng = StdRng::seed_from_u64(seed as u64);
    for _ in 0..task_id {
        rng = StdRng::seed_from_u64(rng.gen());
    }
    rng
}

#[async_trait]
impl SourceTask for DatagenTask {
    async fn poll(&mut self) -> Result<Vec<SourceRecord>, TaskError> {
        if self.exhausted() {
            if !self.exhausted_logged {
                self.exhausted_logged = true;
                tracing::info!(
                    iterations = self.count,
                    "generated the configured number of records; idling"
                );
            }
            tokio::time::sleep(EXHAUSTED_IDLE).await;
            return Ok(Vec::new());
        }
        if self.max_interval_ms == 0 {
            let n = UNPACED_BATCH.min(self.remaining());
            return Ok((0..n).map(|_| self.next_record()).collect());
        }
        let pause = self.pace_rng.gen::<f64>() * self.max_interval_ms as f64;
        tokio::time::sleep(Duration::from_millis(pause as u64)).await;
        Ok(vec![self.next_record()])
    }

    fn topics(&self) -> Vec<String> {
        vec![self.topic.clone()]
    }
}

#[cfg(test)]
mod resume_tests {
    use super::*;
    use crate::protocol::SourceOffset;
    use serde_json::json;

    #[test]
    fn a_restarted_task_continues_its_iteration_count() {
        let config: Config = [
            ("kafka.topic", "t"),
            ("quickstart", "ORDERS"),
            ("max.interval", "0"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let stored = vec![
            SourceOffset {
                partition: json!({"task.id": 1}),
                offset: json!({"current.iteration": 999}),
            },
            SourceOffset {
                partition: json!({"task.id": 0}),
                offset: json!({"current.iteration": 42, "task.generation": 1}),
            },
        ];
        let mut task = DatagenTask::new(&config, 0).unwrap().resume_from(&stored);
        let r = task.next_record();
        assert_eq!(r.value.as_ref().unwrap()["orderid"], 42);
        assert_eq!(r.source_offset["current.iteration"], 43);
        assert_eq!(r.source_offset["task.generation"], 2);
        assert_eq!(r.headers[0], ("task.generation".into(), "1".into()));
    }

    /// Stopping after any record and resuming from its offset yields the
    /// very records an uninterrupted task would have produced.
    #[test]
    fn a_restarted_task_continues_the_same_sequence() {
        let config: Config = [
            ("kafka.topic", "t"),
            ("quickstart", "PAGEVIEWS"),
            ("random.seed", "99"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut straight = DatagenTask::new(&config, 0).unwrap();
        let expected: Vec<_> = (0..10).map(|_| straight.next_record().value).collect();

        let mut first = DatagenTask::new(&config, 0).unwrap();
        let mut got: Vec<_> = Vec::new();
        let mut last_offset = json!(null);
        for _ in 0..4 {
            let r = first.next_record();
            last_offset = r.source_offset.clone();
            got.push(r.value);
        }
        assert!(last_offset["random.seed"].is_i64(), "{last_offset}");
        let stored = vec![SourceOffset {
            partition: json!({"task.id": 0}),
            offset: last_offset,
        }];
        let mut resumed = DatagenTask::new(&config, 0).unwrap().resume_from(&stored);
        got.extend((0..6).map(|_| resumed.next_record().value));
        assert_eq!(got, expected);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Config {
        let mut c: Config = [
            ("connector.class", "DatagenSource"),
            ("kafka.topic", "orders"),
            ("quickstart", "orders"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        c.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        c
    }

    fn values(task: &mut DatagenTask, n: usize) -> Vec<serde_json::Value> {
        (0..n).filter_map(|_| task.next_record().value).collect()
    }

    /// Every quickstart's records carry their quickstart's Connect schema,
    /// and their values fit it: Avro (through the registry) and the JSON
    /// envelope write them, and the Avro bytes read back to the same value.
    #[tokio::test]
    async fn quickstart_records_carry_a_schema_their_values_fit() {
        use crate::converters::{registry::MemoryRegistry, Format, RecordConverter, Side};
        let reg = MemoryRegistry::new();
        let avro = RecordConverter::new(Format::Avro, Side::Value, Some(reg.clone())).unwrap();
        let avro_key = RecordConverter::new(Format::Avro, Side::Key, Some(reg)).unwrap();
        let envelope =
            RecordConverter::new(Format::Json { schemas: true }, Side::Value, None).unwrap();
        let others = [
            RecordConverter::new(Format::Protobuf, Side::Value, Some(MemoryRegistry::new()))
                .unwrap(),
            RecordConverter::new(Format::JsonSchema, Side::Value, Some(MemoryRegistry::new()))
                .unwrap(),
        ];
        for q in super::super::quickstarts::Quickstart::all() {
            let c = config(&[("quickstart", q.name()), ("random.seed", "3")]);
            let mut task = DatagenTask::new(&c, 0).unwrap();
            for _ in 0..50 {
                let r = task.next_record();
                let schema = r.value_schema.as_deref().expect("a value schema");
                let bytes = avro
                    .from_connect_data("t", Some(schema), r.value.as_ref())
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}", q.name()));
                let back = avro.to_connect_data("t", bytes.as_deref()).await.unwrap();
                assert_eq!(back.value, r.value, "{}", q.name());
                envelope
                    .from_connect_data("t", Some(schema), r.value.as_ref())
                    .await
                    .unwrap_or_else(|e| panic!("{} (envelope): {e}", q.name()));
                for c in &others {
                    // CLICKSTREAM has fields `time` and `_time`, whose JSON
                    // names collide, which proto3 refuses (a known limit).
                    if q.name() == "CLICKSTREAM" && c.class_name().contains("protobuf") {
                        continue;
                    }
                    let bytes = c
                        .from_connect_data("t", Some(schema), r.value.as_ref())
                        .await
                        .unwrap_or_else(|e| panic!("{} ({}): {e}", q.name(), c.class_name()));
                    c.to_connect_data("t", bytes.as_deref())
                        .await
                        .unwrap_or_else(|e| panic!("{} ({}): {e}", q.name(), c.class_name()));
                }
                if let Some(key_schema) = r.key_schema.as_deref() {
                    avro_key
                        .from_connect_data("t", Some(key_schema), r.key.as_ref())
                        .await
                        .unwrap_or_else(|e| panic!("{} (key): {e}", q.name()));
                }
            }
        }
    }

    #[test]
    fn same_seed_same_records_and_tasks_differ() {
        let c = config(&[("random.seed", "7")]);
        let a = values(&mut DatagenTask::new(&c, 0).unwrap(), 50);
        let b = values(&mut DatagenTask::new(&c, 0).unwrap(), 50);
        let other_task = values(&mut DatagenTask::new(&c, 1).unwrap(), 50);
        assert_eq!(a, b);
        assert_ne!(a, other_task);
        let unseeded = values(&mut DatagenTask::new(&config(&[]), 0).unwrap(), 50);
        assert_ne!(a, unseeded);
    }

    #[test]
    fn record_carries_key_headers_and_offsets() {
        let mut task = DatagenTask::new(&config(&[]), 3).unwrap();
        task.next_record();
        let r = task.next_record();
        assert_eq!(r.topic, "orders");
        assert_eq!(r.key, Some(json!(1)));
        assert_eq!(r.value.as_ref().map(|v| &v["orderid"]), Some(&json!(1)));
        assert_eq!(
            r.headers,
            vec![
                ("task.generation".to_string(), "0".to_string()),
                ("task.id".to_string(), "3".to_string()),
                ("current.iteration".to_string(), "1".to_string()),
            ]
        );
        assert_eq!(r.source_partition, json!({"task.id": 3}));
        let offset = r.source_offset.as_object().unwrap();
        let keys: Vec<&String> = offset.keys().collect();
        assert_eq!(
            keys,
            ["task.generation", "current.iteration", "random.seed"]
        );
        assert_eq!(offset["task.generation"], 1);
        assert_eq!(offset["current.iteration"], 2);
    }

    #[test]
    fn schema_string_records_follow_the_schema_and_key_field() {
        let schema = r#"{"type":"record","name":"reading","fields":[
            {"name":"sensor","type":{"type":"string","arg.properties":{"options":["s1","s2"]}}},
            {"name":"seq","type":{"type":"long","arg.properties":{"iteration":{"start":100}}}},
            {"name":"celsius","type":{"type":"double","arg.properties":{"range":{"min":-5,"max":5}}}}]}"#;
        let mut c = config(&[("schema.string", schema), ("schema.keyfield", "sensor")]);
        c.remove("quickstart");
        let mut task = DatagenTask::new(&c, 0).unwrap();
        for i in 0..20 {
            let r = task.next_record();
            let v = r.value.unwrap();
            assert_eq!(r.key.as_ref(), Some(&v["sensor"]));
            assert!(v["sensor"] == "s1" || v["sensor"] == "s2");
            assert_eq!(v["seq"], 100 + i);
            assert!((-5.0..5.0).contains(&v["celsius"].as_f64().unwrap()));
        }
        // Without schema.keyfield, records have no key (upstream).
        c.remove("schema.keyfield");
        let r = DatagenTask::new(&c, 0).unwrap().next_record();
        assert_eq!(r.key, None);
    }

    #[test]
    fn schema_keyfield_overrides_the_quickstart_key() {
        let mut task = DatagenTask::new(&config(&[("schema.keyfield", "itemid")]), 0).unwrap();
        let r = task.next_record();
        let item = r.key.and_then(|k| k.as_str().map(str::to_string)).unwrap();
        assert!(item.starts_with("Item_"), "{item}");
    }

    #[tokio::test]
    async fn unpaced_polls_batch_and_stop_after_iterations() {
        let c = config(&[("max.interval", "0"), ("iterations", "700")]);
        let mut task = DatagenTask::new(&c, 0).unwrap();
        assert_eq!(task.poll().await.unwrap().len(), 500);
        assert_eq!(task.poll().await.unwrap().len(), 200);
        assert!(task.poll().await.unwrap().is_empty());
        assert!(task.poll().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn paced_polls_return_one_record() {
        let c = config(&[("max.interval", "5"), ("quickstart", "USERS")]);
        let mut task = DatagenTask::new(&c, 0).unwrap();
        let batch = task.poll().await.unwrap();
        assert_eq!(batch.len(), 1);
        assert!(batch[0]
            .key
            .as_ref()
            .and_then(|k| k.as_str())
            .is_some_and(|k| k.starts_with("User_")));
    }

    #[test]
    fn bad_config_is_fatal() {
        let c = config(&[("max.interval", "soon")]);
        assert!(
            matches!(DatagenTask::new(&c, 0), Err(TaskError::Fatal(m)) if m.contains("max.interval"))
        );
    }
}
