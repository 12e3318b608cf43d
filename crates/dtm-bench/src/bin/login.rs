//! `dtm-bench-login`: how HQ holds up under a flood of failing logins. It starts a
//! fresh `dtm-hq` with the demo accounts on loopback, fires N logins at once (half
//! wrong passwords for real accounts, half unknown users: both cost HQ the same),
//! and prints HQ's peak RSS, the time until the last one was answered, and how many
//! got each status. Then it checks whether a correct login still gets through. It
//! is not a test; it asserts nothing.
//!
//!     cargo build --release -p dtm-hq -p dtm-bench
//!     target/release/dtm-bench-login --logins 500 [--store postgres]

use clap::Parser;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Logins fired at once.
    #[arg(long, default_value_t = 500)]
    logins: usize,
    /// Client addresses the logins come from, spread over 127.0.0.2 and up (Linux
    /// answers on all of 127/8): 1 is one flooding client; as many as `--logins` is a
    /// flood from everywhere, which per-address limits cannot stop.
    #[arg(long, default_value_t = 1)]
    addresses: usize,
    #[command(flatten)]
    store: dtm_bench::StoreArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let database = dtm_bench::HqDatabase::new(&args.store, dir.path())?;
    let hq = dtm_bench::DemoHq::start(dir.path(), &database)?;
    let hq_url = hq.url.clone();
    let start_rss = hq.status_kib("VmHWM:");
    // The peak so far is HQ's start (hashing the demo passwords); reset the mark so the
    // figure below is what the flood itself needed.
    hq.reset_peak();

    // One connection per login, as 500 separate clients would have.
    let client = |i: usize| {
        let [_, b, c, d] = (2 + (i % args.addresses.max(1)) as u32).to_be_bytes();
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(600))
            .local_address(std::net::IpAddr::from([127, b, c, d]))
            .build()
    };
    let clients = (0..args.addresses.max(1)).map(client).collect::<Result<Vec<_>, _>>()?;
    let http = clients[0].clone();
    let accounts = ["enumerator", "supervisor", "admin"];
    let started = Instant::now();
    let tasks: Vec<_> = (0..args.logins)
        .map(|i| {
            let (http, url) = (clients[i % clients.len()].clone(), format!("{hq_url}/api/v1/auth/login"));
            let username =
                if i % 2 == 0 { accounts[(i / 2) % accounts.len()].to_owned() } else { format!("nobody-{i}") };
            tokio::spawn(async move {
                let sent = Instant::now();
                let status = match http.post(url).json(&json!({"username": username, "password": "wrong"})).send().await
                {
                    Ok(r) => {
                        let s = r.status().as_u16().to_string();
                        let _ = r.bytes().await;
                        s
                    }
                    Err(e) if e.is_timeout() => "timeout".to_owned(),
                    Err(_) => "connection error".to_owned(),
                };
                (status, sent.elapsed())
            })
        })
        .collect();
    let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
    let mut slowest = Duration::ZERO;
    let mut sum = Duration::ZERO;
    for t in tasks {
        let (status, took) = t.await?;
        *statuses.entry(status).or_default() += 1;
        slowest = slowest.max(took);
        sum += took;
    }
    let last = started.elapsed();
    let peak = hq.status_kib("VmHWM:");
    let after = hq.status_kib("VmRSS:");

    // Does the real user still get in (from the same address, once the flood is over)?
    let sent = Instant::now();
    let real = http
        .post(format!("{hq_url}/api/v1/auth/login"))
        .json(&json!({"username": "enumerator", "password": "enumerator-demo"}))
        .send()
        .await
        .map(|r| r.status().as_u16().to_string())
        .unwrap_or_else(|e| e.to_string());
    let real_took = sent.elapsed();

    let mib = dtm_bench::mib;
    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "dtm-bench-login on {}: {} concurrent failing logins (wrong passwords and unknown users) from {} address(es)",
        database.describe(),
        args.logins,
        args.addresses.max(1)
    );
    println!("  HQ RSS peak before (start, demo seed)  {:>8.1} MiB", mib(start_rss));
    println!("  HQ peak RSS during the flood           {:>8.1} MiB", mib(peak));
    println!("  HQ RSS after the flood                 {:>8.1} MiB", mib(after));
    println!("  time until the last login was answered {:>8.2} s", secs(last));
    println!(
        "  mean time to an answer                 {:>8.2} s   slowest {:.2} s",
        secs(sum) / args.logins.max(1) as f64,
        secs(slowest)
    );
    for (status, n) in &statuses {
        println!("  answered {status:<16} {n:>6}");
    }
    println!("  then a correct login as enumerator: {real} in {:.2} s", secs(real_took));
    // HQ stops before its schema is dropped.
    drop(hq);
    drop(database);
    Ok(())
}
