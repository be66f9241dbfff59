//! Results: one row per figure, each beside the reference measured in the
//! same run; printed as a table and written as JSON.

use serde::Serialize;

/// One measured figure and its reference.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// `1 source`, `5 failover` …
    pub section: String,
    /// What was measured, e.g. `Datagen, 1 task → broker`.
    pub metric: String,
    pub value: Option<f64>,
    pub unit: String,
    /// The reference (ceiling or floor) it is compared with.
    pub reference: String,
    pub reference_value: Option<f64>,
    /// `value ÷ reference_value`.
    pub ratio: Option<f64>,
    /// Runs, settings, or why the figure is missing.
    pub note: String,
}

impl Row {
    pub fn new(section: &str, metric: &str, value: f64, unit: &str) -> Row {
        Row {
            section: section.into(),
            metric: metric.into(),
            value: Some(value),
            unit: unit.into(),
            reference: String::new(),
            reference_value: None,
            ratio: None,
            note: String::new(),
        }
    }

    /// A figure that could not be measured, and why.
    pub fn missing(section: &str, metric: &str, why: &str) -> Row {
        Row {
            section: section.into(),
            metric: metric.into(),
            value: None,
            unit: String::new(),
            reference: String::new(),
            reference_value: None,
            ratio: None,
            note: why.into(),
        }
    }

    pub fn vs(mut self, reference: &str, value: f64) -> Row {
        self.reference = reference.into();
        self.reference_value = Some(value);
        self.ratio = match self.value {
            Some(v) if value != 0.0 => Some(v / value),
            _ => None,
        };
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub date: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub postgres: String,
    pub mariadb: String,
    pub broker: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub machine: Machine,
    pub git_revision: String,
    pub seconds: f64,
    /// /proc/loadavg (1, 5, 15 minutes) before and after the run: other
    /// work on the machine shows here.
    pub load_before: String,
    pub load_after: String,
    pub rows: Vec<Row>,
}

/// A number with about three significant digits and a thousands separator.
pub fn fmt_num(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    if a >= 1000.0 {
        let s = format!("{:.0}", v.abs());
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if v < 0.0 {
            out.insert(0, '-');
        }
        out
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else if a == 0.0 {
        "0".into()
    } else {
        format!("{v:.3}")
    }
}

fn fmt_ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}×")
    } else {
        format!("{r:.2}×")
    }
}

impl Report {
    /// One row as a log line while the suite runs.
    pub fn line(r: &Row) -> String {
        let v = |x: Option<f64>| {
            x.map(|x| format!("{} {}", fmt_num(x), r.unit))
                .unwrap_or_else(|| "—".into())
        };
        match r.ratio {
            Some(ratio) => format!(
                "{}: {} vs {} ({}) = {}",
                r.metric,
                v(r.value),
                v(r.reference_value),
                r.reference,
                fmt_ratio(ratio)
            ),
            None => format!("{}: {} {}", r.metric, v(r.value), r.note),
        }
    }

    /// The results as a Markdown table (also readable in a terminal).
    pub fn table(&self) -> String {
        let mut lines = vec![
            "| # | figure | Tributary | reference | reference value | ratio | note |".to_string(),
            "| --- | --- | ---: | --- | ---: | ---: | --- |".to_string(),
        ];
        for r in &self.rows {
            let value = r
                .value
                .map(|v| format!("{} {}", fmt_num(v), r.unit))
                .unwrap_or_else(|| "—".into());
            let refv = r
                .reference_value
                .map(|v| format!("{} {}", fmt_num(v), r.unit))
                .unwrap_or_default();
            let ratio = r.ratio.map(fmt_ratio).unwrap_or_default();
            lines.push(format!(
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.section,
                r.metric,
                value.trim(),
                r.reference,
                refv.trim(),
                ratio,
                r.note.replace('|', "/")
            ));
        }
        lines.join("\n")
    }
}
