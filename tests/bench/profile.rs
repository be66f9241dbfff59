//! `--profile DIR`: samples a process with `perf` while a section measures
//! it, and writes the hottest symbols to DIR/<name>.txt (where the time goes).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::Context;

pub struct Profile {
    child: Child,
    data: PathBuf,
    report: PathBuf,
}

/// Starts `perf record` on `pid` (call graphs, 499 Hz).
pub fn start(dir: &Path, name: &str, pid: &str) -> anyhow::Result<Profile> {
    std::fs::create_dir_all(dir)?;
    let data = dir.join(format!("{name}.perf.data"));
    let child = Command::new("perf")
        .args(["record", "-F", "499", "-g", "-o"])
        .arg(&data)
        .args(["-p", pid])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("perf record (apt-get install linux-perf)")?;
    Ok(Profile {
        child,
        data,
        report: dir.join(format!("{name}.txt")),
    })
}

impl Profile {
    /// Stops sampling and writes the report (self time by symbol, then by shared object).
    pub fn finish(mut self) -> anyhow::Result<()> {
        // SAFETY: plain syscall on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
        self.child.wait()?;
        let by_symbol = Command::new("perf")
            .args([
                "report",
                "--stdio",
                "--no-children",
                "--sort",
                "dso,symbol",
                "-g",
                "none",
                "--percent-limit",
                "0.5",
                "-i",
            ])
            .arg(&self.data)
            .output()?;
        let by_dso = Command::new("perf")
            .args([
                "report",
                "--stdio",
                "--no-children",
                "--sort",
                "dso",
                "-g",
                "none",
                "-i",
            ])
            .arg(&self.data)
            .output()?;
        // perf pads its symbol column to hundreds of characters.
        let tidy = |raw: &[u8]| {
            String::from_utf8_lossy(raw)
                .lines()
                .map(|l| {
                    l.split("  -      -")
                        .next()
                        .unwrap_or(l)
                        .trim_end()
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        let mut text = tidy(&by_dso.stdout);
        text.push_str("\n\n");
        text.push_str(&tidy(&by_symbol.stdout));
        std::fs::write(&self.report, text)?;
        let _ = std::fs::remove_file(&self.data);
        eprintln!("profile written to {}", self.report.display());
        Ok(())
    }
}
