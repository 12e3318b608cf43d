//! `dtm-bench-device`: what encryption at rest costs the enumerator. It measures, on
//! the device store the field app uses:
//! - autosave latency (one field saved, as the form does on each change: the value,
//!   its outbox operation and audit row in one transaction), p50/p99/max over
//!   `--saves` saves, in a plain store and in a SQLCipher-encrypted one, with the
//!   device holding almost nothing and holding `--assessments` assessments;
//! - the sign-in that opens an encrypted store offline (argon2id at the field cost,
//!   then the first read), and sealing a new password;
//! - taking over a plain store of `--assessments` assessments (an app from before
//!   encryption): the one-time export into an encrypted file.
//!
//! A demo HQ on loopback gives the rounds; nothing is pushed. It asserts nothing.
//!
//!     cargo build --release -p dtm-hq -p dtm-bench
//!     target/release/dtm-bench-device --assessments 100000

use anyhow::Context;
use clap::Parser;
use dtm_bench::{baladiya_values, mix, percentile, DemoHq, HqDatabase, StoreArgs, Values};
use dtm_core::{AssessmentKey, Forms, Gazetteer, Pcode};
use dtm_sync::device::{Cost, Device};
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

dtm_sync::device_allocator!();

#[derive(Parser)]
struct Args {
    /// Assessments on the full device (a multiple of 100: rounds × 100 baladiyas).
    #[arg(long, default_value_t = 100_000)]
    assessments: usize,
    /// Saves timed in each store.
    #[arg(long, default_value_t = 2_000)]
    saves: usize,
    #[command(flatten)]
    store: StoreArgs,
}

const USER: &str = "admin";
const PASSWORD: &str = "admin-demo";

fn baladiyas() -> Vec<Pcode> {
    Gazetteer::libya().at_level(3).map(|l| l.pcode.clone()).collect()
}

/// Times `saves` autosaves of one count field each, spread over the assessments of
/// rounds 1..=`rounds` (each save a different value, so each is a real change).
fn autosaves(device: &Device, rounds: usize, saves: usize, seed: u64) -> anyhow::Result<Vec<Duration>> {
    let places = baladiyas();
    let fields = ["idp_hh", "idp_ind", "ret_hh", "ret_ind", "mig_ind"];
    let mut took = Vec::with_capacity(saves);
    for i in 0..saves {
        let draw = mix(seed + i as u64);
        let round = 1 + (draw % rounds as u64) as usize;
        let place = &places[(draw >> 16) as usize % places.len()];
        let field = fields[(draw >> 32) as usize % fields.len()];
        let key = AssessmentKey::new(format!("R{round}"), "baladiya", place.clone());
        let started = Instant::now();
        device.set_field(&key, field, json!(1_000 + i)).with_context(|| format!("saving {field} at {key:?}"))?;
        took.push(started.elapsed());
    }
    took.sort();
    Ok(took)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn line(label: &str, took: &[Duration]) {
    println!(
        "  {label:<34} p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms",
        ms(percentile(took, 50.0)),
        ms(percentile(took, 99.0)),
        ms(*took.last().unwrap_or(&Duration::ZERO))
    );
}

fn size_mib(path: &Path) -> f64 {
    let mut total = 0;
    for suffix in ["", "-wal"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        total += std::fs::metadata(&name).map(|m| m.len()).unwrap_or(0);
    }
    total as f64 / (1024.0 * 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rounds = dtm_bench::rounds_for(args.assessments)?;
    let dir = tempfile::tempdir()?;
    let database = HqDatabase::new(&args.store, dir.path())?;
    let hq = DemoHq::start(dir.path(), &database)?;
    dtm_bench::open_bench_rounds(&hq.url, rounds, &[("baladiya", 2)]).await?;
    println!("dtm-bench-device: {} saves per store; full devices hold {} assessments", args.saves, args.assessments);

    // Nearly empty devices: the rounds, and the saves' own assessments of round 1.
    let plain_path = dir.path().join("plain.sqlite3");
    let plain = Device::open(&plain_path)?;
    plain.login(&hq.url, USER, PASSWORD).await?;
    let secret_path = dir.path().join("encrypted").join("device.sqlite3");
    let secret = Device::open_encrypted(&secret_path, Cost::FIELD)?;
    let started = Instant::now();
    secret.login(&hq.url, USER, PASSWORD).await?;
    let first_sign_in = started.elapsed();
    println!("\nautosave, a device holding one round's saves:");
    line("plain SQLite", &autosaves(&plain, 1, args.saves, 1)?);
    line("SQLCipher", &autosaves(&secret, 1, args.saves, 1)?);

    // Sign-in offline: argon2id at the field cost, then the store's first read.
    let mut opens = Vec::new();
    for _ in 0..5 {
        drop(Device::open_encrypted(&secret_path, Cost::FIELD)?);
        let device = Device::open_encrypted(&secret_path, Cost::FIELD)?;
        let started = Instant::now();
        device.login("http://127.0.0.1:9", USER, PASSWORD).await?;
        device.assessments("R1")?;
        opens.push(started.elapsed());
    }
    opens.sort();
    println!("\nsign-in (argon2id {} MiB × {} passes):", Cost::FIELD.memory_kib / 1024, Cost::FIELD.passes);
    println!("  first, online (new data key, sealed; the first pull)  {:>7.0} ms", ms(first_sign_in));
    line("offline, opening the store", &opens);
    drop(secret);

    // Full devices: a plain store filled through the device's own saves, then the same
    // store taken over by the encrypting app (a one-time export).
    let form = Forms::shipped().get("baladiya", 2).context("baladiya v2")?;
    let places = baladiyas();
    let started = Instant::now();
    for r in 1..=rounds {
        for (i, place) in places.iter().enumerate() {
            let values = baladiya_values(form, r * 100 + i, Values::Random);
            plain.set_fields(&AssessmentKey::new(format!("R{r}"), "baladiya", place.clone()), &values)?;
        }
    }
    println!(
        "\nfilling a plain device with {} assessments: {:.1} s ({:.0} MiB)",
        args.assessments,
        started.elapsed().as_secs_f64(),
        size_mib(&plain_path)
    );
    drop(plain);
    let full_path = dir.path().join("full").join("device.sqlite3");
    std::fs::create_dir_all(full_path.parent().unwrap())?;
    std::fs::copy(&plain_path, &full_path)?;
    let full = Device::open_encrypted(&full_path, Cost::FIELD)?;
    let started = Instant::now();
    full.login(&hq.url, USER, PASSWORD).await?;
    println!(
        "taking it over encrypted (export into SQLCipher, at the first sign-in): {:.1} s ({:.0} MiB)",
        started.elapsed().as_secs_f64(),
        size_mib(&full_path)
    );
    let plain = Device::open(&plain_path)?;
    println!("\nautosave, a device holding {} assessments:", args.assessments);
    line("plain SQLite", &autosaves(&plain, rounds, args.saves, 2)?);
    line("SQLCipher", &autosaves(&full, rounds, args.saves, 2)?);
    Ok(())
}
