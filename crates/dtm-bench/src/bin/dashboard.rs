//! `dtm-bench-dashboard`: how fast the dashboard's round views answer when HQ holds
//! many assessments. One device pushes N baladiya assessments (rounds R1.. of 100
//! baladiyas each, as `dtm-bench` does) and every muhalla of the demo round R1; then,
//! as admin (scope: all of Libya), it times sequential requests for R1's totals by
//! mantika (approved only, HQ's default, and all) and R1's assessment list (the
//! completeness view: every location of the round's forms with its status), and the
//! same for the newest round. It prints p50 and p99 of each. It is not a test; it asserts nothing.
//!
//!     cargo build --release -p dtm-hq -p dtm-bench
//!     target/release/dtm-bench-dashboard --assessments 100000 [--store postgres]

use anyhow::{bail, Context};
use clap::Parser;
use dtm_bench::{baladiya_values, mib, muhalla_sections, percentile, DemoHq, HqDatabase, StoreArgs, Values};
use dtm_core::{AssessmentKey, Forms, Gazetteer};
use dtm_sync::device::Device;
use serde_json::Value;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Baladiya assessments at HQ (a multiple of 100: rounds × 100 baladiyas), besides
    /// R1's muhallas.
    #[arg(long, default_value_t = 100_000)]
    assessments: usize,
    /// Requests timed per view.
    #[arg(long, default_value_t = 50)]
    requests: usize,
    #[command(flatten)]
    store: StoreArgs,
}

/// Times `n` GETs of `path` one after another (after one untimed, to warm HQ's
/// caches), checking each answer is a JSON list. Returns the sorted times and the
/// list's length.
async fn time_view(
    http: &reqwest::Client,
    hq_url: &str,
    token: &str,
    path: &str,
    n: usize,
) -> anyhow::Result<(Vec<Duration>, usize)> {
    let get = || async {
        let started = Instant::now();
        let answer: Value =
            http.get(format!("{hq_url}{path}")).bearer_auth(token).send().await?.error_for_status()?.json().await?;
        let entries = answer.as_array().with_context(|| format!("{path} answered no list"))?.len();
        Ok::<_, anyhow::Error>((started.elapsed(), entries))
    };
    let (_, entries) = get().await?;
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        times.push(get().await?.0);
    }
    times.sort();
    Ok((times, entries))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rounds = dtm_bench::rounds_for(args.assessments)?;
    let dir = tempfile::tempdir()?;
    let database = HqDatabase::new(&args.store, dir.path())?;
    let hq = DemoHq::start(dir.path(), &database)?;
    dtm_bench::open_bench_rounds(&hq.url, rounds, &[("baladiya", 2)]).await?;
    let http = reqwest::Client::new();
    let token = dtm_bench::login_token(&http, &hq.url, "admin", "admin-demo").await?;

    // Filling HQ: one device saves everything and pushes it.
    let started = Instant::now();
    let device = Device::open(&dir.path().join("filler.sqlite3"))?;
    device.login(&hq.url, "admin", "admin-demo").await?;
    let form = Forms::shipped().get("baladiya", 2).context("baladiya v2")?;
    let baladiyas: Vec<_> = Gazetteer::libya().at_level(3).map(|l| l.pcode.clone()).collect();
    for r in 1..=rounds {
        for (i, b) in baladiyas.iter().enumerate() {
            let key = AssessmentKey::new(format!("R{r}"), "baladiya", b.clone());
            device.set_fields(&key, &baladiya_values(form, r * 100 + i, Values::Random))?;
        }
    }
    let muhallas: Vec<_> = Gazetteer::libya().at_level(4).map(|l| l.pcode.clone()).collect();
    for (i, m) in muhallas.iter().enumerate() {
        let values: Vec<_> = muhalla_sections(i as u64).concat();
        device.set_fields(&AssessmentKey::new("R1", "muhalla", m.clone()), &values)?;
    }
    let report = device.sync_parts(true, false, |_| {}).await?;
    let fill = started.elapsed();
    let held = args.assessments + muhallas.len();
    if report.applied as usize != held {
        bail!("HQ applied {} of {held} assessments ({} rejected)", report.applied, report.rejected);
    }

    // PostgreSQL's planner needs statistics, which autovacuum gathers within about a
    // minute of a bulk load; the requests below come seconds after it, so gather them
    // now, as a running HQ has them (without, R1000's list read every round each
    // baladiya was ever in: 122 ms instead of about 20 at 100,000).
    if let Some(schema) = database.postgres() {
        let url = schema.url.clone();
        tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
            postgres::Client::connect(&url, postgres::NoTls)?.batch_execute("ANALYZE")?;
            Ok(())
        })
        .await??;
    }
    hq.reset_peak();
    let mut views = Vec::new();
    for round in ["R1".to_owned(), format!("R{rounds}")] {
        // Totals count approved assessments unless asked for all (the dashboard's
        // toggle); none is approved here, so the first has nothing to add up, though HQ
        // reads the round's assessments all the same.
        for (name, path) in [
            ("totals, approved", format!("/api/v1/rounds/{round}/totals?level=2")),
            ("totals, all", format!("/api/v1/rounds/{round}/totals?level=2&include=all")),
            ("assessment list", format!("/api/v1/rounds/{round}/assessments")),
        ] {
            let (times, entries) = time_view(&http, &hq.url, &token, &path, args.requests).await?;
            views.push((format!("{round} {name}"), path, times, entries));
        }
    }
    let peak = hq.status_kib("VmHWM:");

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "dtm-bench-dashboard on {}: HQ holds {held} assessments ({} baladiya in R1..R{rounds}, {} muhalla in R1); {} sequential requests per view as admin, after one untimed",
        database.describe(),
        args.assessments,
        muhallas.len(),
        args.requests
    );
    println!("  filling HQ (saves and one device's push) {:>8.1} s", fill.as_secs_f64());
    if database.postgres().is_some() {
        println!("  then ANALYZE, as autovacuum does within a minute of a bulk load");
    }
    for (name, path, times, entries) in &views {
        println!(
            "  {name:<22} p50 {:>8.1} ms  p99 {:>8.1} ms  ({entries} entries: GET {path})",
            ms(percentile(times, 50.0)),
            ms(percentile(times, 99.0)),
        );
    }
    println!("  HQ peak RSS during the requests  {:>8.1} MiB", mib(peak));
    drop(hq);
    drop(database);
    Ok(())
}
