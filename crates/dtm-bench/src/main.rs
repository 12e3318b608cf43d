//! `dtm-bench`: the sync benchmark. The workload is the one `bench/pouchdb` runs PouchDB on:
//! assessments of 60 fields (35 integers, 25 short strings) pushed from one device
//! store to a fresh HQ on loopback, then pulled into a fresh device store. It prints
//! push and pull seconds, operations per second, bytes on the wire each way (counted
//! by a TCP proxy between device and HQ), HQ's peak RSS, and the floors it compares
//! them with. Every assessment is generated before anything is timed; the floors are
//! a raw SQLite bulk insert of the same data in one transaction (once as one row per
//! assessment, the shape HQ and the device store, and once as one row per field
//! value), a raw loopback TCP transfer of the same documents' bytes, and with
//! `--store postgres` a plain PostgreSQL insert of the same rows in one transaction
//! (COPY and multi-row INSERT). It is not a test; it asserts nothing.
//!
//!     cargo build --release -p dtm-hq -p dtm-bench
//!     target/release/dtm-bench --assessments 10000 [--store postgres]

use anyhow::{bail, Context};
use clap::Parser;
use dtm_bench::{baladiya_values, mib, off_runtime, proxy, DemoHq, HqDatabase, PgSchema, StoreArgs, Values};
use dtm_core::{AssessmentKey, Forms, Gazetteer, Pcode};
use dtm_sync::device::Device;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

dtm_sync::device_allocator!();

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
    #[command(flatten)]
    store: StoreArgs,
    /// Write the generated assessments to this file as JSON lines (`_id` and the
    /// values, as PouchDB stores a document) and stop: the same workload for another
    /// sync engine (`bench/pouchdb`).
    #[arg(long)]
    write_docs: Option<std::path::PathBuf>,
}

/// One generated baladiya assessment, in every shape the benchmark needs, so that
/// nothing timed below spends time generating or serialising it.
struct Row {
    round: String,
    location: Pcode,
    /// What the device saves.
    values: Vec<(String, Value)>,
    /// The values as one JSON object: the row-per-assessment floors insert this.
    doc: String,
    /// Each value as JSON text, beside `values`: the row-per-field floor inserts these.
    texts: Vec<String>,
}

fn generate(rounds: usize, values: Values) -> anyhow::Result<Vec<Row>> {
    let form = Forms::shipped().get("baladiya", 2).context("baladiya v2")?;
    let baladiyas: Vec<_> = Gazetteer::libya().at_level(3).map(|l| l.pcode.clone()).collect();
    let mut rows = Vec::with_capacity(rounds * baladiyas.len());
    for r in 1..=rounds {
        for (i, b) in baladiyas.iter().enumerate() {
            let values = baladiya_values(form, r * 100 + i, values);
            let doc = serde_json::to_string(&values.iter().cloned().collect::<serde_json::Map<_, _>>())?;
            let texts = values.iter().map(|(_, v)| v.to_string()).collect();
            rows.push(Row { round: format!("R{r}"), location: b.clone(), values, doc, texts });
        }
    }
    Ok(rows)
}

/// The SQLite floor: the rows inserted raw in one transaction, as one JSON document
/// per assessment or as one row per field value.
fn sqlite_floor(dir: &std::path::Path, rows: &[Row], per_field: bool) -> anyhow::Result<Duration> {
    let path = dir.join(if per_field { "floor-fields.sqlite3" } else { "floor-docs.sqlite3" });
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
        for row in rows {
            if per_field {
                for ((f, _), text) in row.values.iter().zip(&row.texts) {
                    field.execute(rusqlite::params![row.round, row.location.as_str(), f, text])?;
                }
            } else {
                doc.execute(rusqlite::params![row.round, row.location.as_str(), row.doc])?;
            }
        }
    }
    tx.commit()?;
    Ok(started.elapsed())
}

/// The PostgreSQL floors, each the rows inserted in one transaction into a plain table
/// of the bench schema, one row per assessment with its JSON document.
struct PgFloors {
    /// COPY FROM STDIN, text format, into a text column (the stream is encoded
    /// before the clock starts, as the rows are generated before it).
    copy: Duration,
    /// The same COPY into a jsonb column, as HQ keeps an assessment's fields.
    copy_jsonb: Duration,
    /// Multi-row INSERTs of 1000 rows each, one prepared statement, bound parameters.
    insert: Duration,
}

const INSERT_ROWS: usize = 1000;

/// Runs on a thread of its own: the synchronous client cannot run on the runtime's.
fn postgres_floor(schema: &PgSchema, rows: &[Row]) -> anyhow::Result<PgFloors> {
    use std::io::Write;
    let mut client = schema.connect()?;
    client.batch_execute(
        "CREATE TABLE floor_copy (round text, form text, location text, fields text, PRIMARY KEY (round, form, location));
         CREATE TABLE floor_copy_jsonb (round text, form text, location text, fields jsonb, PRIMARY KEY (round, form, location));
         CREATE TABLE floor_insert (round text, form text, location text, fields text, PRIMARY KEY (round, form, location))",
    )?;
    // COPY's text format: tab-separated, one line per row, with backslash escapes.
    let escape = |s: &str| s.replace('\\', "\\\\").replace('\t', "\\t").replace('\n', "\\n").replace('\r', "\\r");
    let mut stream = Vec::new();
    for row in rows {
        writeln!(stream, "{}\tbaladiya\t{}\t{}", escape(&row.round), escape(row.location.as_str()), escape(&row.doc))?;
    }
    let mut copy = |table: &str| -> anyhow::Result<Duration> {
        let started = Instant::now();
        let mut tx = client.transaction()?;
        let mut writer = tx.copy_in(&format!("COPY {table} FROM STDIN"))?;
        writer.write_all(&stream)?;
        writer.finish()?;
        tx.commit()?;
        Ok(started.elapsed())
    };
    let (copy_text, copy_jsonb) = (copy("floor_copy")?, copy("floor_copy_jsonb")?);

    let statement = |n: usize| {
        let rows: Vec<String> =
            (0..n).map(|i| format!("(${}, 'baladiya', ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3)).collect();
        format!("INSERT INTO floor_insert VALUES {}", rows.join(", "))
    };
    let started = Instant::now();
    let mut tx = client.transaction()?;
    let full = tx.prepare(&statement(INSERT_ROWS))?;
    for chunk in rows.chunks(INSERT_ROWS) {
        let locations: Vec<&str> = chunk.iter().map(|r| r.location.as_str()).collect();
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> =
            chunk.iter().zip(&locations).flat_map(|(r, l)| [&r.round as _, l as _, &r.doc as _]).collect();
        if chunk.len() == INSERT_ROWS {
            tx.execute(&full, &params)?;
        } else {
            tx.execute(statement(chunk.len()).as_str(), &params)?;
        }
    }
    tx.commit()?;
    Ok(PgFloors { copy: copy_text, copy_jsonb, insert: started.elapsed() })
}

/// The floor of the wire: `bytes` sent once over a loopback TCP connection to a
/// server that reads them all and answers one byte.
async fn loopback_transfer(bytes: Arc<Vec<u8>>) -> anyhow::Result<Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let expected = bytes.len();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await?;
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0;
        while got < expected {
            match socket.read(&mut buf).await? {
                0 => break,
                n => got += n,
            }
        }
        socket.write_all(b"k").await?;
        Ok::<_, std::io::Error>(got)
    });
    let started = Instant::now();
    let mut socket = tokio::net::TcpStream::connect(addr).await?;
    socket.write_all(&bytes).await?;
    socket.read_exact(&mut [0u8; 1]).await?;
    let took = started.elapsed();
    let got = server.await??;
    if got != expected {
        bail!("the loopback server read {got} of {expected} bytes");
    }
    Ok(took)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rounds = dtm_bench::rounds_for(args.assessments)?;
    if let Some(path) = &args.write_docs {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
        for row in generate(rounds, args.values)? {
            let id = format!("{}/baladiya/{}", row.round, row.location.as_str());
            let doc: serde_json::Map<String, Value> =
                [("_id".to_owned(), Value::from(id))].into_iter().chain(row.values).collect();
            serde_json::to_writer(&mut out, &doc)?;
            writeln!(out)?;
        }
        out.flush()?;
        println!("wrote {} assessments to {}", args.assessments, path.display());
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let database = HqDatabase::new(&args.store, dir.path())?;
    let hq = DemoHq::start(dir.path(), &database)?;
    let hq_url = hq.url.clone();

    // Rounds R2.. so that every assessment is a distinct (round, baladiya).
    dtm_bench::open_bench_rounds(&hq_url, rounds, &[("baladiya", 2)]).await?;

    let started = Instant::now();
    let rows = generate(rounds, args.values)?;
    let generation = started.elapsed();
    let values_written: usize = rows.iter().map(|r| r.values.len()).sum();
    let doc_bytes: Vec<u8> = rows.iter().flat_map(|r| r.doc.bytes()).collect();
    let doc_bytes = Arc::new(doc_bytes);

    let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let proxy_url = format!("http://{}", proxy(hq.addr, None, up.clone(), down.clone()).await?);
    let source = Device::open(&dir.path().join("source.sqlite3"))?;
    source.login(&proxy_url, "admin", "admin-demo").await?;
    let started = Instant::now();
    for row in &rows {
        source.set_fields(&AssessmentKey::new(row.round.as_str(), "baladiya", row.location.clone()), &row.values)?;
    }
    // One save per assessment: one operation each.
    let ops = args.assessments;
    let entry = started.elapsed();
    // Progress on stderr, so a profiler can be attached to each phase as it starts.
    eprintln!("dtm-bench: entered {ops} saves in {:.2} s; pushing", entry.as_secs_f64());

    up.store(0, Ordering::Relaxed);
    down.store(0, Ordering::Relaxed);
    // HQ's peak so far is its start (password hashing, the demo seed); reset the mark
    // so the figure below is what the sync itself needed.
    let startup_rss = hq.status_kib("VmHWM:");
    hq.reset_peak();
    // CPU seconds of this process (the device, and the byte-counting proxy) and of HQ
    // at each phase's start and end: which side a phase is bound by.
    let cpu = || (dtm_bench::cpu_seconds(std::process::id()).unwrap_or(f64::NAN), hq.cpu_seconds().unwrap_or(f64::NAN));
    let push_cpu = cpu();
    let started = Instant::now();
    let report = source.sync_parts(true, false, |_| {}).await?;
    let push = started.elapsed();
    let push_cpu = (cpu().0 - push_cpu.0, cpu().1 - push_cpu.1);
    let (push_up, push_down) = (up.swap(0, Ordering::Relaxed), down.swap(0, Ordering::Relaxed));
    if report.pending != 0 || report.applied as usize != ops {
        bail!("push left {} pending, applied {} of {ops}", report.pending, report.applied);
    }

    let target = Device::open(&dir.path().join("target.sqlite3"))?;
    target.authenticate(&proxy_url, "admin", "admin-demo").await?;
    up.store(0, Ordering::Relaxed);
    down.store(0, Ordering::Relaxed);
    eprintln!("dtm-bench: pushed in {:.2} s; pulling", push.as_secs_f64());
    let pull_cpu = cpu();
    let started = Instant::now();
    let pulled = target.sync_parts(false, true, |_| {}).await?;
    let pull = started.elapsed();
    let pull_cpu = (cpu().0 - pull_cpu.0, cpu().1 - pull_cpu.1);
    let (pull_up, pull_down) = (up.load(Ordering::Relaxed), down.load(Ordering::Relaxed));
    let rss = hq.status_kib("VmHWM:");

    // The floors, with HQ idle.
    let floor = sqlite_floor(dir.path(), &rows, false)?;
    let floor_fields = sqlite_floor(dir.path(), &rows, true)?;
    let transfer = loopback_transfer(doc_bytes.clone()).await?;
    let pg_floor = match database.postgres() {
        Some(schema) => Some(off_runtime(|| postgres_floor(schema, &rows))?),
        None => None,
    };

    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "dtm-bench on {}: {} assessments × 60 fields ({} operations, one per save; {} field values), ~{} bytes per assessment as JSON, {} values",
        database.describe(),
        args.assessments,
        ops,
        values_written,
        doc_bytes.len() / rows.len(),
        if args.values == Values::Random { "random" } else { "regular" }
    );
    println!("  generating the assessments         {:>9.2} s  (before anything below is timed)", secs(generation));
    println!("  entry into the device store        {:>9.2} s", secs(entry));
    println!(
        "  push                               {:>9.2} s  {:>10.0} ops/s  up {:>8.1} MB  down {:>6.1} MB",
        secs(push),
        ops as f64 / secs(push),
        mb(push_up),
        mb(push_down)
    );
    println!(
        "  pull ({:>6} assessments)          {:>9.2} s  {:>10.0} ops/s  up {:>8.1} MB  down {:>6.1} MB",
        pulled.pulled,
        secs(pull),
        ops as f64 / secs(pull),
        mb(pull_up),
        mb(pull_down)
    );
    println!("  CPU during the push                {:>9.2} s  device and proxy, {:.2} s HQ", push_cpu.0, push_cpu.1);
    println!("  CPU during the pull                {:>9.2} s  device and proxy, {:.2} s HQ", pull_cpu.0, pull_cpu.1);
    println!("  HQ peak RSS during push and pull   {:>9.1} MiB", mib(rss));
    println!("  HQ peak RSS before (start, rounds) {:>9.1} MiB", mib(startup_rss));
    println!("  floor: raw SQLite insert, one tx   {:>9.2} s  (a row per assessment)", secs(floor));
    println!("  floor: raw SQLite insert, one tx   {:>9.2} s  (a row per field value)", secs(floor_fields));
    println!(
        "  floor: loopback TCP transfer       {:>9.3} s  ({:.1} MB: the documents as uncompressed JSON)",
        secs(transfer),
        mb(doc_bytes.len() as u64)
    );
    if let Some(pg) = &pg_floor {
        println!("  floor: PostgreSQL COPY, one tx     {:>9.2} s  (text column)", secs(pg.copy));
        println!("  floor: PostgreSQL COPY, one tx     {:>9.2} s  (jsonb column)", secs(pg.copy_jsonb));
        println!(
            "  floor: PostgreSQL INSERT, one tx   {:>9.2} s  ({INSERT_ROWS} rows per statement, text column)",
            secs(pg.insert)
        );
    }
    println!("  push / SQLite floor                {:>9.1} ×", secs(push) / secs(floor));
    println!("  pull / SQLite floor                {:>9.1} ×", secs(pull) / secs(floor));
    if let Some(pg) = &pg_floor {
        // The fastest plain way is the floor.
        let (how, best) = [("COPY, text", pg.copy), ("COPY, jsonb", pg.copy_jsonb), ("INSERT", pg.insert)]
            .into_iter()
            .min_by_key(|(_, d)| *d)
            .expect("three floors");
        println!("  push / PostgreSQL floor            {:>9.1} ×  (against {how})", secs(push) / secs(best));
        println!("  pull / PostgreSQL floor            {:>9.1} ×", secs(pull) / secs(best));
    }
    println!("  PouchDB on the same documents, on this machine: --write-docs, then bench/pouchdb (README)");
    // HQ stops before its schema is dropped.
    drop(hq);
    drop(database);
    Ok(())
}
