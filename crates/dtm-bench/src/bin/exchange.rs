//! `dtm-bench-exchange`: how long a whole round takes to go into and out of HQ. It
//! builds a round of every muhalla of Libya with every field of muhalla v2 and its
//! nationalities (known sums, from `dtm_core::testdata`), imports it as an XLSX
//! workbook, then times each export (HXL CSV, XLSX, JSON, DTM's published workbook)
//! and the key figures, and reads the published workbook back through DTM's mapping.
//! It prints figures; it asserts nothing.
//!
//!     cargo build --release -p dtm-hq -p dtm-bench
//!     target/release/dtm-bench-exchange [--runs 5] [--store postgres]

use anyhow::Context;
use clap::Parser;
use dtm_bench::{percentile, DemoHq, HqDatabase, StoreArgs};
use dtm_core::exchange;
use dtm_core::{testdata, Forms, Gazetteer, Pcode};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Timed requests per export.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    #[command(flatten)]
    store: StoreArgs,
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let database = HqDatabase::new(&args.store, dir.path())?;
    let hq = DemoHq::start(dir.path(), &database)?;
    let http = reqwest::Client::new();
    let token = dtm_bench::login_token(&http, &hq.url, "admin", "admin-demo").await?;
    let created = http
        .post(format!("{}/api/v1/rounds", hq.url))
        .bearer_auth(&token)
        .json(&json!({"code": "R55", "number": 55, "title": "Round 55", "window_start": "2025-01-01",
            "window_end": "2025-02-28", "forms": [{"form": "baladiya", "version": 3}, {"form": "muhalla", "version": 2}]}))
        .send()
        .await?;
    anyhow::ensure!(created.status().is_success(), "creating R55: {}", created.text().await?);

    // The round, built and written as a workbook.
    let started = Instant::now();
    let form = Forms::shipped().get("muhalla", 2).context("muhalla v2")?;
    let round = testdata::whole_round_v2();
    let rows = testdata::approved_rows(&round);
    let (muhallas, values): (Vec<&Pcode>, Vec<&BTreeMap<String, Value>>) = round.iter().map(|(p, v)| (p, v)).unzip();
    let tables = exchange::round_tables(Gazetteer::libya(), &[form], "R55", &rows);
    let workbook = dtm_hq::spreadsheet::write_xlsx(&tables)?;
    let built = started.elapsed();
    let cells: usize = values.iter().map(|v| v.len()).sum();
    println!(
        "round: {} muhallas, {} values ({} nationality rows); tables and XLSX built in {} ({} KiB)",
        muhallas.len(),
        cells,
        tables[1].rows.len(),
        ms(built),
        workbook.len() / 1024
    );

    let started = Instant::now();
    let imported = http
        .post(format!("{}/api/v1/rounds/R55/import", hq.url))
        .bearer_auth(&token)
        .header("content-type", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .body(workbook)
        .send()
        .await?;
    let import_time = started.elapsed();
    anyhow::ensure!(imported.status().is_success(), "import: {}", imported.text().await?);
    println!("import (read, check every row and rule, write): {}", ms(import_time));

    println!("{:<34} {:>10} {:>10} {:>10}", "request", "p50", "max", "bytes");
    let mut published = Vec::new();
    for path in [
        "/rounds/R55/export.csv",
        "/rounds/R55/export.csv?table=muhalla.mig_nat",
        "/rounds/R55/export.xlsx",
        "/rounds/R55/export.json",
        "/rounds/R55/publish.xlsx",
        "/rounds/R55/key-figures",
        "/rounds/R55/totals?level=2",
    ] {
        let mut times = Vec::new();
        let mut bytes = 0;
        for _ in 0..args.runs.max(1) {
            let started = Instant::now();
            let answer =
                http.get(format!("{}/api/v1{path}", hq.url)).bearer_auth(&token).send().await?.error_for_status()?;
            let body = answer.bytes().await?;
            times.push(started.elapsed());
            bytes = body.len();
            if path.contains("publish") {
                published = body.to_vec();
            }
        }
        times.sort();
        println!("{:<34} {:>10} {:>10} {:>10}", path, ms(percentile(&times, 50.0)), ms(*times.last().unwrap()), bytes);
    }

    // DTM's own workbook read back in-process, through the mapping (no HQ).
    let book = calamine_book(&published)?;
    let round = dtm_core::Round {
        code: "R55".into(),
        number: 55,
        title: "Round 55".into(),
        title_ar: String::new(),
        window_start: "2025-01-01".into(),
        window_end: "2025-02-28".into(),
        status: dtm_core::RoundStatus::Closed,
        forms: vec![("muhalla".into(), 2)],
    };
    let started = Instant::now();
    let checked = dtm_core::import::check_file(
        &book,
        &round,
        dtm_core::import::Catalog::known(Forms::shipped(), Gazetteer::libya()),
    )
    .map_err(|e| anyhow::anyhow!("{} errors", e.len()))?;
    println!(
        "DTM workbook read through its mapping and checked: {} muhallas in {} ({} unknown columns)",
        checked.records.len(),
        ms(started.elapsed()),
        checked.unknown_columns.len()
    );
    Ok(())
}

/// A workbook's sheets as rows of text, as HQ's reader gives them.
fn calamine_book(bytes: &[u8]) -> anyhow::Result<Vec<(String, Vec<Vec<String>>)>> {
    Ok(dtm_hq::spreadsheet::read_book(bytes)?)
}
