//! `dtm-bench`: the sync benchmark. The workload matches our PouchDB reference:
//! assessments of 60 fields (35 integers, 25 short strings) pushed from one device
//! store to a fresh HQ on loopback, then pulled into a fresh device store. It prints
//! push and pull seconds, operations per second, bytes on the wire each way (counted
//! by a TCP proxy between device and HQ), HQ's peak RSS, and the floor: a raw SQLite
//! bulk insert of the same data in one transaction, once as one row per assessment (the
//! shape HQ and the device store) and once as one row per field value. It is not a
//! test; it asserts nothing.
//!
//!     cargo build --release -p dtm-hq -p dtm-bench
//!     target/release/dtm-bench --assessments 10000

use anyhow::{bail, Context};
use clap::Parser;
use dtm_core::{AssessmentKey, FieldType, FormDef, Gazetteer};
use dtm_sync::device::Device;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Assessments to push and pull (a multiple of 100: rounds × 100 baladiyas).
    #[arg(long, default_value_t = 10_000)]
    assessments: usize,
    /// How values are drawn: `random` (counts uniform in 0..5000, answers and notes
    /// drawn at random: as little for compression to find as real data would ever
    /// have) or `regular` (a fixed arithmetic pattern, which compresses far better).
    #[arg(long, value_enum, default_value_t = Values::Random)]
    values: Values,
}

#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Values {
    Random,
    Regular,
}

/// splitmix64: a fixed, seedable stream of numbers, so every run draws the same values.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 60 fields: 35 counts and 25 short strings of the real baladiya form (select
/// answers, mantika P-codes and justification notes), all values HQ accepts.
fn workload(form: &FormDef, seed: usize, values: Values) -> Vec<(String, Value)> {
    let draw = |i: usize, n: usize| match values {
        Values::Random => (mix(((seed as u64) << 8) | i as u64) % n as u64) as usize,
        Values::Regular => (seed * 31 + i * 7) % n,
    };
    let mut out: Vec<(String, Value)> = form
        .fields()
        .filter(|f| f.kind == FieldType::Count)
        .take(35)
        .enumerate()
        .map(|(i, f)| (f.id.clone(), json!(draw(i, 5000))))
        .collect();
    out.extend(
        form.fields()
            .filter(|f| f.kind == FieldType::SelectOne)
            .enumerate()
            .map(|(i, f)| (f.id.clone(), json!(f.options[draw(100 + i, f.options.len())].value))),
    );
    let mantikas: Vec<_> = Gazetteer::libya().at_level(2).map(|l| l.pcode.to_string()).collect();
    out.extend(
        form.fields()
            .filter(|f| f.pcode_level.is_some())
            .enumerate()
            .map(|(i, f)| (f.id.clone(), json!(mantikas[draw(150 + i, mantikas.len())]))),
    );
    let notes = 25 - (out.len() - 35);
    out.extend(
        form.rules
            .iter()
            .take(notes)
            .enumerate()
            .map(|(i, r)| (format!("note:{}", r.id), json!(format!("checked {}", draw(200 + i, 1000))))),
    );
    out
}

/// A loopback TCP proxy that counts the bytes each way as they pass, so pooled
/// connections are counted before they close.
async fn proxy(
    target: std::net::SocketAddr,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
) -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(target).await else { continue };
            let (client_r, client_w) = client.into_split();
            let (server_r, server_w) = server.into_split();
            tokio::spawn(pipe(client_r, server_w, up.clone()));
            tokio::spawn(pipe(server_r, client_w, down.clone()));
        }
    });
    Ok(addr)
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    count: Arc<AtomicU64>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n) = from.read(&mut buf).await {
        if n == 0 || to.write_all(&buf[..n]).await.is_err() {
            break;
        }
        count.fetch_add(n as u64, Ordering::Relaxed);
    }
    let _ = to.shutdown().await;
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.assessments % 100 != 0 || args.assessments == 0 {
        bail!("--assessments must be a positive multiple of 100");
    }
    let rounds = args.assessments / 100;
    let dir = tempfile::tempdir()?;
    let hq = dtm_bench::DemoHq::start(dir.path())?;
    let hq_url = hq.url.clone();
    let hq_addr: std::net::SocketAddr = hq_url.trim_start_matches("http://").parse()?;

    // Rounds R2.. so that every assessment is a distinct (round, baladiya).
    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{hq_url}/api/v1/auth/login"))
        .json(&json!({"username": "admin", "password": "admin-demo"}))
        .send()
        .await?
        .json()
        .await?;
    let token = login["token"].as_str().context("admin login")?.to_owned();
    for n in 2..=rounds as u32 {
        let body = json!({"code": format!("R{n}"), "number": n, "title": format!("Bench {n}"), "window_start": "2026-01-01",
            "window_end": "2026-12-31", "forms": [{"form": "baladiya", "version": 2}]});
        http.post(format!("{hq_url}/api/v1/rounds"))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
        http.post(format!("{hq_url}/api/v1/rounds/R{n}/status"))
            .bearer_auth(&token)
            .json(&json!({"status": "open"}))
            .send()
            .await?
            .error_for_status()?;
    }

    let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let proxy_url = format!("http://{}", proxy(hq_addr, up.clone(), down.clone()).await?);
    let source = Device::open(&dir.path().join("source.sqlite3"))?;
    source.login(&proxy_url, "admin", "admin-demo").await?;
    let form = FormDef::builtin("baladiya", 2).context("baladiya v2")?;
    let baladiyas: Vec<_> = Gazetteer::libya().at_level(3).map(|l| l.pcode.clone()).collect();
    let started = Instant::now();
    let mut values_written = 0usize;
    for r in 1..=rounds {
        for (i, b) in baladiyas.iter().enumerate() {
            let values = workload(form, r * 100 + i, args.values);
            values_written += values.len();
            source.set_fields(&AssessmentKey::new(format!("R{r}"), "baladiya", b.clone()), &values)?;
        }
    }
    // One save per assessment: one operation each.
    let ops = args.assessments;
    let entry = started.elapsed();
    let sample =
        serde_json::to_vec(&workload(form, 1, args.values).into_iter().collect::<serde_json::Map<_, _>>())?.len();

    up.store(0, Ordering::Relaxed);
    down.store(0, Ordering::Relaxed);
    // HQ's peak so far is its start (password hashing, the demo seed); reset the mark
    // so the figure below is what the sync itself needed.
    let startup_rss = hq.status_kib("VmHWM:");
    hq.reset_peak();
    let started = Instant::now();
    let report = source.sync_parts(true, false, |_| {}).await?;
    let push = started.elapsed();
    let (push_up, push_down) = (up.swap(0, Ordering::Relaxed), down.swap(0, Ordering::Relaxed));
    if report.pending != 0 || report.applied as usize != ops {
        bail!("push left {} pending, applied {} of {ops}", report.pending, report.applied);
    }

    let target = Device::open(&dir.path().join("target.sqlite3"))?;
    target.authenticate(&proxy_url, "admin", "admin-demo").await?;
    up.store(0, Ordering::Relaxed);
    down.store(0, Ordering::Relaxed);
    let started = Instant::now();
    let pulled = target.sync_parts(false, true, |_| {}).await?;
    let pull = started.elapsed();
    let (pull_up, pull_down) = (up.load(Ordering::Relaxed), down.load(Ordering::Relaxed));
    let rss = hq.status_kib("VmHWM:");

    // The floor: the same data inserted raw into SQLite in one transaction, as one
    // JSON document per assessment and as one row per field value.
    let floor = |per_field: bool| -> anyhow::Result<Duration> {
        let path = dir.path().join(if per_field { "floor-fields.sqlite3" } else { "floor-docs.sqlite3" });
        let mut conn = rusqlite::Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.execute_batch(
            "CREATE TABLE d (round TEXT, form TEXT, location TEXT, fields TEXT, PRIMARY KEY (round, form, location));
             CREATE TABLE v (round TEXT, form TEXT, location TEXT, field TEXT, value TEXT, PRIMARY KEY (round, form, location, field))",
        )?;
        let started = Instant::now();
        let tx = conn.transaction()?;
        {
            let mut doc = tx.prepare("INSERT INTO d VALUES (?1, 'baladiya', ?2, ?3)")?;
            let mut field = tx.prepare("INSERT INTO v VALUES (?1, 'baladiya', ?2, ?3, ?4)")?;
            for r in 1..=rounds {
                for (i, b) in baladiyas.iter().enumerate() {
                    let values = workload(form, r * 100 + i, args.values);
                    if per_field {
                        for (f, v) in values {
                            field.execute(rusqlite::params![format!("R{r}"), b.as_str(), f, v.to_string()])?;
                        }
                    } else {
                        let json = serde_json::to_string(&values.into_iter().collect::<serde_json::Map<_, _>>())?;
                        doc.execute(rusqlite::params![format!("R{r}"), b.as_str(), json])?;
                    }
                }
            }
        }
        tx.commit()?;
        Ok(started.elapsed())
    };
    let (floor, floor_fields) = (floor(false)?, floor(true)?);

    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "dtm-bench: {} assessments × 60 fields ({} operations, one per save; {} field values), ~{} bytes per assessment as JSON, {} values",
        args.assessments,
        ops,
        values_written,
        sample,
        if args.values == Values::Random { "random" } else { "regular" }
    );
    println!("  entry into the device store        {:>9.2} s", secs(entry));
    println!(
        "  push                               {:>9.2} s  {:>10.0} ops/s  up {:>8.1} MB  down {:>6.1} MB",
        secs(push),
        ops as f64 / secs(push),
        mb(push_up),
        mb(push_down)
    );
    println!(
        "  pull ({} assessments)           {:>9.2} s  {:>10.0} ops/s  up {:>8.1} MB  down {:>6.1} MB",
        pulled.pulled,
        secs(pull),
        ops as f64 / secs(pull),
        mb(pull_up),
        mb(pull_down)
    );
    let mib = |k: Option<u64>| k.map_or(f64::NAN, |k| k as f64 / 1024.0);
    println!("  HQ peak RSS during push and pull   {:>9.1} MiB", mib(rss));
    println!("  HQ peak RSS before (logins, rounds) {:>8.1} MiB", mib(startup_rss));
    println!("  floor: raw SQLite insert, one tx   {:>9.2} s  (a row per assessment)", secs(floor));
    println!("  floor: raw SQLite insert, one tx   {:>9.2} s  (a row per field value)", secs(floor_fields));
    println!("  push / floor                       {:>9.1} ×", secs(push) / secs(floor));
    println!("  pull / floor                       {:>9.1} ×", secs(pull) / secs(floor));
    println!("  PouchDB reference at 100k: push 69.9 s, pull 61.3 s, 103 MB up, 30 MB down");
    Ok(())
}
