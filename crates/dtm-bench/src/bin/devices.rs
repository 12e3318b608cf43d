//! `dtm-bench-devices`: many field devices syncing with one HQ at once. Each simulated
//! device is a real `dtm_sync::device::Device` with a SQLite store of its own. All log
//! in as the demo enumerator (HQ lets one account use many devices), learn the rounds,
//! and then, all at the same moment, do a day's work: 20 saves (4 muhallas, each saved
//! section by section and one figure corrected), a push, and a pull. It prints the
//! push and pull times per device (p50, p99), the syncs per second, the errors, and
//! HQ's memory and CPU. It is not a test; it asserts nothing.
//!
//! With `--over S`, the devices start their days one after another, evenly spread over
//! S seconds (device d at d × S / N), as devices coming back into coverage through an
//! afternoon would, instead of all in the same instant: every device is still working
//! while others sync, but a request's time is HQ's answer, not the back of a queue of
//! every device on the machine.
//!
//!     cargo build --release -p dtm-hq -p dtm-bench
//!     target/release/dtm-bench-devices --devices 100 [--store postgres] [--over 60]

use anyhow::{bail, Context};
use clap::Parser;
use dtm_bench::{mib, muhalla_sections, percentile, proxy, DemoHq, HqDatabase, StoreArgs};
use dtm_core::{AssessmentKey, Gazetteer, Pcode, Scope};
use dtm_sync::client::ClientError;
use dtm_sync::device::{Device, DeviceError, SyncReport};
use serde_json::json;
use std::net::IpAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

dtm_sync::device_allocator!();

#[derive(Parser)]
struct Args {
    /// Simulated devices, each with a store of its own, all working at once.
    #[arg(long, default_value_t = 100)]
    devices: usize,
    /// Spread the days' starts evenly over this many seconds (0: all at once).
    #[arg(long, default_value_t = 0.0)]
    over: f64,
    #[command(flatten)]
    store: StoreArgs,
}

/// The demo enumerator's scope: every device works inside it.
const SCOPE: &str = "LY0211";
/// Muhallas one device visits in a day; 4 sections + 1 correction each = 20 saves.
const MUHALLAS_PER_DEVICE: usize = 4;
/// Devices logging in from one loopback address. HQ allows 30 logins from an address
/// at once, then one every 2 s; spreading devices over addresses, as they are spread
/// over networks in the field, keeps the logins from waiting on that limit.
const DEVICES_PER_ADDRESS: usize = 25;

/// How one device's push or pull went.
struct Timed {
    started: Instant,
    took: Duration,
    report: Result<SyncReport, String>,
}

/// One device's day.
struct Day {
    saves: Result<Duration, String>,
    push: Option<Timed>,
    pull: Option<Timed>,
}

async fn timed<F: std::future::Future<Output = Result<SyncReport, DeviceError>>>(sync: F) -> Timed {
    let started = Instant::now();
    let report = sync.await.map_err(|e| e.to_string());
    Timed { started, took: started.elapsed(), report }
}

/// A device's day: its saves (synchronous SQLite writes, on a blocking thread as the
/// app makes them off its UI thread), then a push, then a pull.
async fn day(device: Arc<Device>, visits: Vec<(AssessmentKey, u64)>, start: Duration) -> Day {
    tokio::time::sleep(start).await;
    let saver = device.clone();
    let saves = tokio::task::spawn_blocking(move || -> Result<Duration, String> {
        let started = Instant::now();
        for (key, seed) in &visits {
            let sections = muhalla_sections(*seed);
            for section in &sections {
                saver.set_fields(key, section).map_err(|e| e.to_string())?;
            }
            // Then the IDP individuals are corrected (one more person per household): a
            // fifth save, which always changes a figure.
            let mut idps = sections[0].clone();
            let households = idps[0].1.as_u64().unwrap_or(0);
            idps[1].1 = json!(idps[1].1.as_u64().unwrap_or(0) + households);
            saver.set_fields(key, &idps).map_err(|e| e.to_string())?;
        }
        Ok(started.elapsed())
    })
    .await
    .unwrap_or_else(|e| Err(format!("the saves panicked: {e}")));
    if saves.is_err() {
        return Day { saves, push: None, pull: None };
    }
    let push = timed(device.sync_parts(true, false, |_| {})).await;
    let pull = timed(device.sync_parts(false, true, |_| {})).await;
    Day { saves, push: Some(push), pull: Some(pull) }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

// More workers than cores: a device's sync writes its SQLite store on the thread that
// runs it, as the app does; with two workers, two devices writing would hold up every
// other device's HTTP.
#[tokio::main(flavor = "multi_thread", worker_threads = 8)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.devices == 0 {
        bail!("--devices must be at least 1");
    }
    if !(args.over >= 0.0 && args.over.is_finite()) {
        bail!("--over must be a number of seconds, 0 or more");
    }
    let dir = tempfile::tempdir()?;
    let database = HqDatabase::new(&args.store, dir.path())?;
    let hq = DemoHq::start(dir.path(), &database)?;

    // Each device visits muhallas of its own: a round holds as many devices as the
    // scope has muhallas for, so rounds R2.. (muhalla v1) are opened for the rest.
    let scope = Scope::new([SCOPE]);
    let muhallas: Vec<Pcode> = Gazetteer::libya().in_scope(&scope, 4).map(|l| l.pcode.clone()).collect();
    let per_round = muhallas.len() / MUHALLAS_PER_DEVICE;
    let rounds = args.devices.div_ceil(per_round);
    let http = reqwest::Client::new();
    let token = dtm_bench::login_token(&http, &hq.url, "admin", "admin-demo").await?;
    dtm_bench::open_rounds(&http, &hq.url, &token, 2..=rounds as u32, &[("muhalla", 1)]).await?;
    let visits = |d: usize| -> Vec<(AssessmentKey, u64)> {
        let first = (d % per_round) * MUHALLAS_PER_DEVICE;
        (first..first + MUHALLAS_PER_DEVICE)
            .map(|m| {
                let key = AssessmentKey::new(format!("R{}", 1 + d / per_round), "muhalla", muhallas[m].clone());
                (key, (d * MUHALLAS_PER_DEVICE + m) as u64)
            })
            .collect()
    };

    // Logins, one after another, each device through a proxy on its group's loopback
    // address. The session is then pointed at HQ itself, so no proxy stands between
    // the devices and HQ in the day measured below.
    // The proxies count bytes; nothing here reads the counts.
    let counted = || Arc::new(AtomicU64::new(0));
    let mut gateways = Vec::new();
    for g in 0..args.devices.div_ceil(DEVICES_PER_ADDRESS) {
        let [_, b, c, d] = (2 + g as u32).to_be_bytes();
        let from = IpAddr::from([127, b, c, d]);
        gateways.push(format!("http://{}", proxy(hq.addr, Some(from), counted(), counted()).await?));
    }
    let started = Instant::now();
    let mut refused = 0;
    let mut devices = Vec::with_capacity(args.devices);
    for d in 0..args.devices {
        let path = dir.path().join(format!("device-{d}.sqlite3"));
        let device = Device::open(&path)?;
        loop {
            match device.authenticate(&gateways[d / DEVICES_PER_ADDRESS], "enumerator", "enumerator-demo").await {
                Ok(_) => break,
                Err(DeviceError::Client(ClientError::Api { status: 429, .. })) => {
                    refused += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e).context(format!("device {d} logging in")),
            }
        }
        drop(device);
        let mut store = dtm_store::Store::open(&path)?;
        let session = store.session()?.context("the login was saved")?;
        store.save_login(&hq.url, &session.token, &session.user)?;
        drop(store);
        devices.push(Arc::new(Device::open(&path)?));
    }
    let logins = started.elapsed();

    // The first pull, all at once: the rounds (nothing of these rounds is at HQ yet).
    let started = Instant::now();
    let first_pulls: Vec<_> = devices
        .iter()
        .map(|device| {
            let device = device.clone();
            tokio::spawn(async move { device.sync_parts(false, true, |_| {}).await })
        })
        .collect();
    for (d, pull) in first_pulls.into_iter().enumerate() {
        pull.await?.with_context(|| format!("device {d}'s first pull"))?;
    }
    let first_pull = started.elapsed();

    // The day, every device at once.
    let before_day = hq.status_kib("VmRSS:");
    hq.reset_peak();
    let cpu_before = hq.cpu_seconds();
    let devices_cpu_before = dtm_bench::cpu_seconds(std::process::id());
    let started = Instant::now();
    let start = |d: usize| Duration::from_secs_f64(args.over * d as f64 / args.devices as f64);
    let tasks: Vec<_> =
        devices.iter().enumerate().map(|(d, device)| tokio::spawn(day(device.clone(), visits(d), start(d)))).collect();
    let mut days = Vec::with_capacity(tasks.len());
    for task in tasks {
        days.push(task.await?);
    }
    let whole_day = started.elapsed();
    let cpu_day = hq.cpu_seconds().zip(cpu_before).map(|(after, before)| after - before);
    let devices_cpu_day =
        dtm_bench::cpu_seconds(std::process::id()).zip(devices_cpu_before).map(|(after, before)| after - before);
    let peak = hq.status_kib("VmHWM:");
    let after = hq.status_kib("VmRSS:");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = hq.status_kib("VmRSS:");

    let mut errors = Vec::new();
    let (mut pushes, mut pulls) = (Vec::new(), Vec::new());
    let (mut applied, mut conflicts, mut rejected, mut superseded, mut pending, mut pulled) = (0, 0, 0, 0, 0, 0u64);
    let mut saving = Duration::ZERO;
    let mut first_push: Option<Instant> = None;
    let mut last_answer: Option<Instant> = None;
    for (d, day) in days.iter().enumerate() {
        match &day.saves {
            Ok(took) => saving = saving.max(*took),
            Err(e) => errors.push(format!("device {d} saving: {e}")),
        }
        for (what, timed) in [("push", &day.push), ("pull", &day.pull)] {
            let Some(t) = timed else { continue };
            first_push = Some(first_push.map_or(t.started, |f| f.min(t.started)));
            last_answer = Some(last_answer.map_or(t.started + t.took, |l| l.max(t.started + t.took)));
            match &t.report {
                Ok(r) if what == "push" => {
                    pushes.push(t.took);
                    (applied, conflicts, rejected, superseded, pending) = (
                        applied + r.applied,
                        conflicts + r.conflicts,
                        rejected + r.rejected,
                        superseded + r.superseded,
                        pending + r.pending,
                    );
                }
                Ok(r) => {
                    pulls.push(t.took);
                    pulled += u64::from(r.pulled);
                }
                Err(e) => errors.push(format!("device {d} {what}: {e}")),
            }
        }
    }
    pushes.sort();
    pulls.sort();
    let sync_phase = last_answer.zip(first_push).map_or(Duration::ZERO, |(l, f)| l - f);
    let saves = args.devices * MUHALLAS_PER_DEVICE * 5;

    let secs = |d: Duration| d.as_secs_f64();
    println!(
        "dtm-bench-devices on {}: {} devices, each a store of its own logged in as enumerator (scope {SCOPE}); \
         a day is {} saves (muhalla v1, {MUHALLAS_PER_DEVICE} muhallas), a push and a pull; {} rounds of {} devices",
        database.describe(),
        args.devices,
        MUHALLAS_PER_DEVICE * 5,
        rounds,
        per_round
    );
    println!(
        "  logins, one after another          {:>9.2} s  ({:.0} ms each; {} refused with 429 and retried; {} devices per loopback address)",
        secs(logins),
        ms(logins) / args.devices as f64,
        refused,
        DEVICES_PER_ADDRESS
    );
    println!("  first pull (rounds), all at once   {:>9.2} s", secs(first_pull));
    if args.over > 0.0 {
        println!(
            "  the day, starts spread over {:>4.0} s {:>9.2} s  (first start to the last pull's answer; a device starts every {:.0} ms)",
            args.over,
            secs(whole_day),
            args.over * 1000.0 / args.devices as f64
        );
    } else {
        println!("  the day, all devices at once       {:>9.2} s  (start to the last pull's answer)", secs(whole_day));
    }
    println!(
        "    saves, {saves} in all               {:>9.2} s  the slowest device's {}",
        secs(saving),
        MUHALLAS_PER_DEVICE * 5
    );
    let line = |what: &str, sorted: &[Duration]| {
        println!(
            "    {what:<4} per device   p50 {:>8.1} ms   p99 {:>8.1} ms   max {:>8.1} ms   ({} answered)",
            ms(percentile(sorted, 50.0)),
            ms(percentile(sorted, 99.0)),
            ms(sorted.last().copied().unwrap_or_default()),
            sorted.len()
        );
    };
    line("push", &pushes);
    line("pull", &pulls);
    println!(
        "    {} pushes (one request each: 20 operations fit one batch) and {} pulls (a request per page; {:.0} assessments pulled each on average) in {:.2} s from the first push to the last answer: {:.1} syncs/s",
        pushes.len(),
        pulls.len(),
        pulled as f64 / pulls.len().max(1) as f64,
        secs(sync_phase),
        (pushes.len() + pulls.len()) as f64 / secs(sync_phase).max(f64::EPSILON)
    );
    println!(
        "    operations: {applied} applied, {conflicts} conflicts, {rejected} rejected, {superseded} superseded, {pending} still pending"
    );
    println!("  errors                             {:>9}", errors.len());
    for e in errors.iter().take(5) {
        println!("    {e}");
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "  HQ CPU during the day              {:>9.2} s  (the devices, all in this process: {:.2} s; {} cores × the day = {:.2} s)",
        cpu_day.unwrap_or(f64::NAN),
        devices_cpu_day.unwrap_or(f64::NAN),
        cores,
        secs(whole_day) * cores as f64
    );
    println!("  HQ RSS before the day              {:>9.1} MiB  (logged in, rounds pulled)", mib(before_day));
    println!("  HQ peak RSS during the day         {:>9.1} MiB", mib(peak));
    println!("  HQ RSS when the devices were done  {:>9.1} MiB", mib(after));
    println!("  HQ RSS after 5 s idle              {:>9.1} MiB", mib(idle));
    drop(hq);
    drop(database);
    Ok(())
}
