//! Delivering a batch to the task despite passing failures: `put` and
//! `flush` failures the task calls retriable are retried with doubling
//! backoff, up to `max.retries`, and a stop ends the waiting at once.

use std::time::Duration;

use tokio::sync::watch;

use super::{stopped, SinkError};
use crate::connectors::sink_config::SinkSettings;
use crate::connectors::{SinkTask, TaskError};
use crate::record::Record;
use crate::runtime::errors::doubled;
use crate::runtime::task::Control;

/// Longest wait between retries of a failed `put`/`flush`.
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(60);

/// What [`retry`] calls on the task.
#[derive(Clone, Copy)]
pub enum Stage<'a> {
    Put(&'a [Record]),
    /// Flush after a put of this many records.
    Flush(usize),
}

impl Stage<'_> {
    fn name(&self) -> &'static str {
        match self {
            Stage::Put(_) => "put",
            Stage::Flush(_) => "flush",
        }
    }

    fn records(&self) -> usize {
        match self {
            Stage::Put(r) => r.len(),
            Stage::Flush(n) => *n,
        }
    }

    async fn run(&self, task: &mut dyn SinkTask) -> Result<(), TaskError> {
        match self {
            // A retry hands the task the same records again.
            Stage::Put(records) => task.put(records.to_vec()).await,
            Stage::Flush(_) => task.flush().await,
        }
    }
}

/// Runs `stage` until it succeeds, retrying retriable failures with
/// doubling backoff up to `max.retries` times. `Ok(false)`: told to stop
/// meanwhile.
pub async fn retry(
    settings: &SinkSettings,
    control: &mut watch::Receiver<Control>,
    task: &mut dyn SinkTask,
    stage: Stage<'_>,
    first: &str,
) -> Result<bool, SinkError> {
    let mut attempt: u32 = 0;
    loop {
        let reason = match stage.run(task).await {
            Ok(()) => return Ok(true),
            Err(TaskError::Retriable(reason)) if attempt < settings.max_retries => reason,
            Err(TaskError::Retriable(reason) | TaskError::Fatal(reason)) => {
                let reason = if attempt > 0 {
                    format!("{reason} (after {attempt} retries)")
                } else {
                    reason
                };
                return Err(SinkError::Deliver {
                    stage: stage.name(),
                    records: stage.records(),
                    first: first.to_string(),
                    reason,
                });
            }
        };
        let backoff = doubled(settings.retry_backoff, attempt).min(MAX_RETRY_BACKOFF);
        attempt += 1;
        tracing::warn!(%reason, attempt, max = settings.max_retries, "{} failed; retrying in {backoff:?}", stage.name());
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stopped(control) => return Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fails `put` with the queued errors, then succeeds; counts calls.
    struct Flaky {
        errors: Vec<TaskError>,
        puts: usize,
    }

    #[async_trait::async_trait]
    impl SinkTask for Flaky {
        async fn put(&mut self, _records: Vec<Record>) -> Result<(), TaskError> {
            self.puts += 1;
            if self.errors.is_empty() {
                Ok(())
            } else {
                Err(self.errors.remove(0))
            }
        }
    }

    fn settings(pairs: &[(&str, &str)]) -> SinkSettings {
        SinkSettings::parse(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
        .unwrap()
    }

    fn retriable(n: usize) -> Vec<TaskError> {
        (0..n)
            .map(|_| TaskError::Retriable("db restarting".into()))
            .collect()
    }

    #[tokio::test]
    async fn retriable_failures_are_retried_then_reported() {
        let settings = settings(&[
            ("topics", "t"),
            ("max.retries", "2"),
            ("retry.backoff.ms", "1"),
        ]);
        let (_tx, mut rx) = watch::channel(Control::Run);
        let records = vec![Record::new("t", None, None); 3];

        let mut task = Flaky {
            errors: retriable(2),
            puts: 0,
        };
        let ok = retry(&settings, &mut rx, &mut task, Stage::Put(&records), "x")
            .await
            .unwrap();
        assert!(ok);
        assert_eq!(task.puts, 3);

        let mut task = Flaky {
            errors: retriable(3),
            puts: 0,
        };
        let err = retry(
            &settings,
            &mut rx,
            &mut task,
            Stage::Put(&records),
            "topic t partition 0 offset 1",
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "put failed for 3 records (first at topic t partition 0 offset 1): db restarting (after 2 retries)"
        );

        let mut task = Flaky {
            errors: vec![TaskError::Fatal("bad row".into())],
            puts: 0,
        };
        let err = retry(&settings, &mut rx, &mut task, Stage::Put(&records), "x")
            .await
            .unwrap_err();
        assert!(err.to_string().ends_with(": bad row"), "{err}");
        assert_eq!(task.puts, 1);
    }

    #[tokio::test]
    async fn stop_interrupts_retries() {
        let settings = settings(&[("topics", "t"), ("retry.backoff.ms", "60000")]);
        let (tx, mut rx) = watch::channel(Control::Run);
        tx.send_replace(Control::Stop);
        let mut task = Flaky {
            errors: retriable(1),
            puts: 0,
        };
        let records = vec![Record::new("t", None, None)];
        let ok = retry(&settings, &mut rx, &mut task, Stage::Put(&records), "x")
            .await
            .unwrap();
        assert!(!ok);
    }
}
