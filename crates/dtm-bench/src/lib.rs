//! What the benchmarks share: a real `dtm-hq` beside them, and reading its memory.
//! Benchmarks print figures and assert nothing.

use anyhow::Context;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A `dtm-hq serve --demo` on a free loopback port with its database in `dir`,
/// killed when dropped.
pub struct DemoHq {
    child: Child,
    pub url: String,
    pub pid: u32,
}

impl DemoHq {
    /// Starts the `dtm-hq` built beside the running benchmark.
    pub fn start(dir: &Path) -> anyhow::Result<Self> {
        let hq_bin = std::env::current_exe()?.with_file_name("dtm-hq");
        let mut child = Command::new(&hq_bin)
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--database"])
            .arg(dir.join("hq.sqlite3"))
            .arg("--ui-dir")
            .arg(dir.join("none"))
            .env("DTM_LOG", "error")
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {} (build it with the bench)", hq_bin.display()))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("dtm-hq's stdout")?).read_line(&mut line)?;
        let pid = child.id();
        // Held from here, so HQ is stopped even if its first line is not the address.
        let mut hq = DemoHq { child, url: String::new(), pid };
        hq.url = line.trim().strip_prefix("dtm-hq listening on ").context("dtm-hq did not start")?.to_owned();
        Ok(hq)
    }

    /// A line of HQ's `/proc/<pid>/status` in KiB: `VmHWM:` (peak) or `VmRSS:` (now).
    pub fn status_kib(&self, key: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        status.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok()
    }

    /// Resets the peak-memory mark, so the next `VmHWM:` reading is what came after.
    pub fn reset_peak(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5");
    }
}

impl Drop for DemoHq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
