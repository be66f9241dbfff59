//! Tributary's benchmark suite (issue 8): every figure beside a reference
//! measured in the same run on the same machine, because absolute numbers on
//! a shared machine drift. Run it with `tests/bench/run`; it prints a table
//! and writes the results as JSON. See tests/bench/RESULTS.md.
//!
//! Usage: bench [--only 1,5,…] [--json PATH] [--profile DIR] [--quick]
//!        bench ref-producer   (section 6's reference process: one producer per `add TOPIC` line)

mod api;
mod cdc;
mod footprint;
mod latency;
mod lifecycle;
mod mysql_cdc;
mod profile;
mod report;
mod scale;
mod sink;
mod source;
mod util;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use report::{Machine, Report, Row};
use tributary_tests::ControlPlaneOptions;

/// Settings every section reads.
pub struct Ctx {
    /// Records the source section produces (Datagen and the reference each).
    pub source_records: usize,
    /// Alternating rounds of the source section (the best of each is kept).
    pub rounds: usize,
    /// Records the sink section writes (each sink and each reference).
    pub sink_records: usize,
    /// Rows of the CDC snapshot, and changes of its streaming backlog.
    pub cdc_events: usize,
    /// Runs of provisioning and failover.
    pub runs: usize,
    /// Seconds of each API load run.
    pub api_seconds: u32,
    /// Connector counts of the reconciler scale section.
    pub scale_sizes: Vec<usize>,
    pub profile_dir: Option<PathBuf>,
}

impl Ctx {
    /// Control-plane settings for load: no per-key rate limit, quotas out of the way.
    pub fn cp_options(&self) -> ControlPlaneOptions {
        ControlPlaneOptions {
            extra_env: vec![
                ("TRIBUTARY_RATE_LIMIT_PER_SECOND".into(), "1000000".into()),
                ("TRIBUTARY_RATE_LIMIT_BURST".into(), "1000000".into()),
                (
                    "TRIBUTARY_QUOTA_CONNECTORS_PER_CLUSTER".into(),
                    "1000000".into(),
                ),
                ("TRIBUTARY_QUOTA_TASKS_PER_ORG".into(), "1000000".into()),
                ("RUST_LOG".into(), "info".into()),
            ],
            ..ControlPlaneOptions::default()
        }
    }
}

const SECTIONS: &[(&str, &str)] = &[
    ("1", "source throughput"),
    ("2", "sink throughput"),
    ("3", "end-to-end latency"),
    ("4", "control-plane API"),
    ("5", "provisioning and failover"),
    ("6", "worker footprint and cold start"),
    ("7", "reconciler at scale"),
    ("8", "CDC source throughput"),
    ("9", "MySQL CDC source throughput"),
];

fn first_line(cmd: &str, args: &[&str]) -> String {
    std::process::Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .unwrap_or_default()
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu_model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).trim().to_string())
        .unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    let broker = source::broker_pid()
        .and_then(|pid| std::fs::read_link(format!("/proc/{pid}/exe")).ok())
        .map(|exe| first_line(&exe.to_string_lossy(), &["--version"]))
        .unwrap_or_else(|| "not on this machine".into());
    Machine {
        date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model,
        memory_gib: (mem_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        kernel: first_line("uname", &["-r"]),
        postgres: first_line("psql", &["--version"]),
        mariadb: first_line("mariadb", &["--version"]),
        broker,
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn usage() -> ! {
    eprintln!(
        "usage: bench [--only 1,2,…] [--json PATH] [--profile DIR] [--quick]\n\
         sections: {}",
        SECTIONS
            .iter()
            .map(|(n, s)| format!("{n} {s}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    std::process::exit(2)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("ref-producer") {
        return footprint::reference_process(&args[1..]).await;
    }
    let mut only: Option<Vec<String>> = None;
    let mut json = PathBuf::from("tests/bench/results.json");
    let mut quick = false;
    let mut profile_dir = None;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--only" => {
                only = Some(
                    it.next()
                        .unwrap_or_else(|| usage())
                        .split(',')
                        .map(|s| s.trim().to_string())
                        .collect(),
                )
            }
            "--json" => json = PathBuf::from(it.next().unwrap_or_else(|| usage())),
            "--profile" => profile_dir = Some(PathBuf::from(it.next().unwrap_or_else(|| usage()))),
            "--quick" => quick = true,
            "-h" | "--help" => usage(),
            other => {
                eprintln!("unknown argument {other}");
                usage()
            }
        }
    }
    let ctx = Ctx {
        source_records: if quick { 300_000 } else { 1_000_000 },
        rounds: if quick { 1 } else { 3 },
        sink_records: if quick { 30_000 } else { 100_000 },
        cdc_events: if quick { 30_000 } else { 100_000 },
        runs: if quick { 5 } else { 12 },
        api_seconds: if quick { 3 } else { 6 },
        scale_sizes: if quick {
            vec![1_000]
        } else {
            vec![1_000, 10_000]
        },
        profile_dir,
    };
    let started = Instant::now();
    let machine = machine();
    let load_before = loadavg();
    eprintln!(
        "bench: {} × {}, {} GiB, {}",
        machine.cpus, machine.cpu_model, machine.memory_gib, machine.date
    );
    let mut rows: Vec<Row> = Vec::new();
    for (id, title) in SECTIONS {
        if let Some(o) = &only {
            if !o.iter().any(|s| s == id) {
                continue;
            }
        }
        eprintln!("bench: section {id}: {title} …");
        let t = Instant::now();
        let result = match *id {
            "1" => source::run(&ctx).await,
            "2" => sink::run(&ctx).await,
            "3" => latency::run(&ctx).await,
            "4" => api::run(&ctx).await,
            "5" => lifecycle::run(&ctx).await,
            "6" => footprint::run(&ctx).await,
            "7" => scale::run(&ctx).await,
            "8" => cdc::run(&ctx).await,
            "9" => mysql_cdc::run(&ctx).await,
            _ => unreachable!(),
        };
        match result {
            Ok(r) => {
                for row in &r {
                    eprintln!("  {}", report::Report::line(row));
                }
                rows.extend(r);
            }
            Err(e) => {
                eprintln!("bench: section {id} failed: {e:#}");
                rows.push(Row::missing(
                    &format!("{id} {}", title.split(' ').next().unwrap_or_default()),
                    title,
                    &format!("failed: {}", format!("{e:#}").lines().next().unwrap_or("")),
                ));
            }
        }
        eprintln!(
            "bench: section {id} took {:.0} s",
            t.elapsed().as_secs_f64()
        );
    }
    let report = Report {
        machine,
        git_revision: std::env::var("TRIBUTARY_BENCH_REVISION")
            .unwrap_or_else(|_| first_line("git", &["describe", "--always", "--dirty"])),
        seconds: started.elapsed().as_secs_f64(),
        load_before,
        load_after: loadavg(),
        rows,
    };
    println!("{}", report.table());
    println!(
        "\n{} on {} × {}, {} GiB RAM; revision {}; {:.0} s; load average {} before, {} after. \
         Ratio = Tributary ÷ reference.",
        report.machine.date,
        report.machine.cpus,
        report.machine.cpu_model,
        report.machine.memory_gib,
        report.git_revision,
        report.seconds,
        report.load_before,
        report.load_after
    );
    if let Some(dir) = json.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)?;
        }
    }
    std::fs::write(&json, serde_json::to_string_pretty(&report)? + "\n")
        .with_context(|| format!("write {}", json.display()))?;
    eprintln!("bench: results written to {}", json.display());
    if report.rows.iter().all(|r| r.value.is_none()) {
        bail!("no figure was measured");
    }
    Ok(())
}
