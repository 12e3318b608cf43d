//! What the benchmarks share: a real `dtm-hq` beside them on the store chosen with
//! `--store` (a SQLite file, or a PostgreSQL schema of the run's own), reading its
//! memory and CPU, the generated assessments, rounds opened as admin, and a loopback
//! proxy. Benchmarks print figures and assert nothing.

use anyhow::Context;
use dtm_core::{FieldType, FormDef, Gazetteer};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The PostgreSQL server `--store postgres` uses unless told otherwise (`--postgres-url`).
pub const POSTGRES_DEFAULT: &str = "postgres://postgres@127.0.0.1:5432/test";

/// HQ's storage backend.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

/// The `--store` flags every benchmark takes.
#[derive(clap::Args)]
pub struct StoreArgs {
    /// HQ's database: a SQLite file in the run's temporary folder, or a fresh schema
    /// on the PostgreSQL server of `--postgres-url`, dropped when the run ends.
    #[arg(long, value_enum, default_value_t = StoreKind::Sqlite)]
    pub store: StoreKind,
    /// The PostgreSQL server and database for `--store postgres`.
    #[arg(long, env = "DTM_BENCH_POSTGRES", default_value = POSTGRES_DEFAULT)]
    pub postgres_url: String,
}

/// Runs `f` on a thread of its own and waits for it. The synchronous `postgres` client
/// runs a tokio runtime inside, and panics when called on a thread that is already
/// driving one (as every thread of the benchmarks' runtime is).
pub fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
}

/// A schema of this run's own on a PostgreSQL server, dropped with everything in it
/// when this is dropped.
pub struct PgSchema {
    base_url: String,
    pub name: String,
    /// The server's URL with the schema as its search_path: what HQ is given.
    pub url: String,
}

impl PgSchema {
    /// Creates `dtm_bench_<random>` on the server at `base_url`.
    pub fn create(base_url: &str) -> anyhow::Result<Self> {
        let name = format!("dtm_bench_{:016x}", fastrand::u64(..));
        off_runtime(|| -> anyhow::Result<()> {
            let mut client = postgres::Client::connect(base_url, postgres::NoTls)
                .with_context(|| format!("connecting to PostgreSQL at {base_url}"))?;
            client.batch_execute(&format!("CREATE SCHEMA {name}"))?;
            Ok(())
        })?;
        let sep = if base_url.contains('?') { '&' } else { '?' };
        let url = format!("{base_url}{sep}options=-csearch_path%3D{name}");
        Ok(Self { base_url: base_url.to_owned(), name, url })
    }

    /// A connection whose search_path is this schema. Call it off the runtime
    /// ([`off_runtime`]), and use it there.
    pub fn connect(&self) -> anyhow::Result<postgres::Client> {
        Ok(postgres::Client::connect(&self.url, postgres::NoTls)?)
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        off_runtime(|| {
            let dropped = postgres::Client::connect(&self.base_url, postgres::NoTls)
                .and_then(|mut c| c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name)));
            if let Err(e) = dropped {
                eprintln!("could not drop the PostgreSQL schema {}: {e}", self.name);
            }
        });
    }
}

/// Where HQ keeps its data for one run. Declare it before the [`DemoHq`] using it,
/// so HQ is stopped before its schema is dropped.
pub enum HqDatabase {
    Sqlite(PathBuf),
    Postgres(PgSchema),
}

impl HqDatabase {
    /// A SQLite file in `dir`, or a fresh PostgreSQL schema, as `args` say.
    pub fn new(args: &StoreArgs, dir: &Path) -> anyhow::Result<Self> {
        Ok(match args.store {
            StoreKind::Sqlite => Self::Sqlite(dir.join("hq.sqlite3")),
            StoreKind::Postgres => Self::Postgres(PgSchema::create(&args.postgres_url)?),
        })
    }

    /// What `dtm-hq --database` is given.
    pub fn arg(&self) -> String {
        match self {
            Self::Sqlite(path) => path.display().to_string(),
            Self::Postgres(schema) => schema.url.clone(),
        }
    }

    /// For the figures' heading.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(_) => "SQLite".to_owned(),
            Self::Postgres(schema) => format!("PostgreSQL (schema {})", schema.name),
        }
    }

    pub fn postgres(&self) -> Option<&PgSchema> {
        match self {
            Self::Postgres(schema) => Some(schema),
            Self::Sqlite(_) => None,
        }
    }
}

/// A `dtm-hq serve --demo` on a free loopback port, killed when dropped.
pub struct DemoHq {
    child: Child,
    pub url: String,
    pub addr: SocketAddr,
    pub pid: u32,
}

impl DemoHq {
    /// Starts the `dtm-hq` built beside the running benchmark on `database`; `dir`
    /// is the run's temporary folder.
    pub fn start(dir: &Path, database: &HqDatabase) -> anyhow::Result<Self> {
        let hq_bin = std::env::current_exe()?.with_file_name("dtm-hq");
        let mut child = Command::new(&hq_bin)
            .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--database"])
            .arg(database.arg())
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
        let mut hq = DemoHq { child, url: String::new(), addr: SocketAddr::from(([127, 0, 0, 1], 0)), pid };
        hq.url = line.trim().strip_prefix("dtm-hq listening on ").context("dtm-hq did not start")?.to_owned();
        hq.addr = hq.url.trim_start_matches("http://").parse()?;
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

    /// CPU seconds HQ has used so far, user and system.
    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(self.pid)
    }
}

/// CPU seconds process `pid` has used so far, user and system (`/proc/<pid>/stat`).
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name in parentheses: state is field 3, utime 14, stime 15.
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = rest.get(11)?.parse::<u64>().ok()? + rest.get(12)?.parse::<u64>().ok()?;
    // /proc counts in USER_HZ, which Linux fixes at 100 for user space.
    Some(ticks as f64 / 100.0)
}

impl Drop for DemoHq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Logs in to HQ's API and returns the bearer token.
pub async fn login_token(
    http: &reqwest::Client,
    hq_url: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<String> {
    let login: Value = http
        .post(format!("{hq_url}/api/v1/auth/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(login["token"].as_str().with_context(|| format!("no token for {username}"))?.to_owned())
}

/// The rounds a benchmark of `assessments` baladiya assessments needs (one per 100
/// baladiyas), refusing a count that is not a positive multiple of 100.
pub fn rounds_for(assessments: usize) -> anyhow::Result<usize> {
    if !assessments.is_multiple_of(100) || assessments == 0 {
        anyhow::bail!("--assessments must be a positive multiple of 100");
    }
    Ok(assessments / 100)
}

/// Opens rounds R2..=R`rounds` with `forms` on a demo HQ, signed in as its admin (the
/// demo's R1 is already open).
pub async fn open_bench_rounds(hq_url: &str, rounds: usize, forms: &[(&str, u32)]) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let token = login_token(&http, hq_url, "admin", "admin-demo").await?;
    open_rounds(&http, hq_url, &token, 2..=rounds as u32, forms).await
}

/// Creates rounds R<n> for each n in `numbers` with `forms`, and opens them, as admin
/// (`token`). The demo's R1 is already there and open.
pub async fn open_rounds(
    http: &reqwest::Client,
    hq_url: &str,
    token: &str,
    numbers: std::ops::RangeInclusive<u32>,
    forms: &[(&str, u32)],
) -> anyhow::Result<()> {
    let forms: Vec<Value> = forms.iter().map(|(form, version)| json!({"form": form, "version": version})).collect();
    for n in numbers {
        let body = json!({"code": format!("R{n}"), "number": n, "title": format!("Bench {n}"),
            "window_start": "2026-01-01", "window_end": "2026-12-31", "forms": forms});
        http.post(format!("{hq_url}/api/v1/rounds")).bearer_auth(token).json(&body).send().await?.error_for_status()?;
        http.post(format!("{hq_url}/api/v1/rounds/R{n}/status"))
            .bearer_auth(token)
            .json(&json!({"status": "open"}))
            .send()
            .await?
            .error_for_status()?;
    }
    Ok(())
}

/// How values are drawn.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Values {
    /// Counts uniform in 0..5000, answers and notes drawn at random: as little for
    /// compression to find as real data would ever have.
    Random,
    /// A fixed arithmetic pattern, which compresses far better.
    Regular,
}

/// splitmix64: a fixed, seedable stream of numbers, so every run draws the same values.
pub fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 60 fields of a baladiya assessment: 35 counts and 25 short strings of the real
/// baladiya form (select answers, mantika P-codes and justification notes), all
/// values HQ accepts. The same `seed` always gives the same values.
pub fn baladiya_values(form: &FormDef, seed: usize, values: Values) -> Vec<(String, Value)> {
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

/// A muhalla assessment (form muhalla v1), one save per section as an enumerator fills
/// it in: IDPs, returnees, migrants, key informants. The figures pass the form's
/// rules: 1 to 500 households of 1 to 7 people each (never more households than
/// individuals), the migrant breakdown adds up, and 1 to 30 key informants.
pub fn muhalla_sections(seed: u64) -> Vec<Vec<(String, Value)>> {
    let draw = |i: u64, n: u64| mix((seed << 8) | i) % n;
    let households_and_people = |i: u64| {
        let households = 1 + draw(i, 500);
        (households, households * (1 + draw(i + 1, 7)))
    };
    let (idp_hh, idp_ind) = households_and_people(0);
    let (ret_hh, ret_ind) = households_and_people(2);
    let (men, women, children) = (draw(4, 300), draw(5, 300), draw(6, 300));
    let section = |fields: &[(&str, u64)]| fields.iter().map(|(f, v)| ((*f).to_owned(), json!(v))).collect();
    vec![
        section(&[("idp_hh", idp_hh), ("idp_ind", idp_ind)]),
        section(&[("ret_hh", ret_hh), ("ret_ind", ret_ind)]),
        section(&[
            ("mig_ind", men + women + children),
            ("mig_men", men),
            ("mig_women", women),
            ("mig_children", children),
        ]),
        section(&[("ki_count", 1 + draw(7, 30))]),
    ]
}

/// Nearest-rank percentile `p` (0–100) of `sorted`, which must be sorted.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// KiB as MiB, for the figures; NaN when the reading failed.
pub fn mib(kib: Option<u64>) -> f64 {
    kib.map_or(f64::NAN, |k| k as f64 / 1024.0)
}

/// A loopback TCP proxy to `target`, counting the bytes each way as they pass (so
/// pooled connections are counted before they close). With `from`, it connects to
/// the target from that loopback address (Linux answers on all of 127/8), so HQ sees
/// the clients behind it as coming from there.
pub async fn proxy(
    target: SocketAddr,
    from: Option<IpAddr>,
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let server = async {
                let socket = tokio::net::TcpSocket::new_v4()?;
                if let Some(ip) = from {
                    socket.bind(SocketAddr::new(ip, 0))?;
                }
                socket.connect(target).await
            };
            let Ok(server) = server.await else { continue };
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
