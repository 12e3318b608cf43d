//! What keeps login from being a lever against HQ: a cap on concurrent password
//! hashes, rate limits per client address and per username, and a lockout after
//! repeated failures.
//!
//! Each argon2id hash holds its memory cost (19 MiB with the crate's defaults) for as
//! long as it runs; 200 logins at once once took HQ to 4.5 GiB, since nothing but
//! tokio's 512 blocking threads bounded them. [`HashSlots`] runs as many hashes at once
//! as there are cores (more would only queue inside the CPU) and the rest wait for a
//! slot, holding no hash memory while they wait.
//!
//! The decisions here are pure: time comes in as an argument and the state is a
//! value the caller holds ([`RateLimits`] in `AppState`, [`Failures`] in the database
//! for real accounts). Rate limits live in memory: they are about load on this
//! process, and a restart forgiving them costs nothing. Failures of real accounts are
//! stored, so a lockout survives a restart, holds across HQ processes sharing one
//! database, and an admin can clear it (API or `dtm-hq user unlock`) while HQ runs.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The numbers. `Default` is what HQ runs with; tests pass their own.
#[derive(Debug, Clone)]
pub struct LoginPolicy {
    /// Logins one client address may try in a burst, and how often one more is allowed.
    pub per_address: Rate,
    /// Logins one username may be tried with in a burst, and how often one more is
    /// allowed. A successful login gives its attempt back, so many devices sharing an
    /// account may all log in; attempts still being checked count, so a burst of
    /// concurrent guesses is limited too.
    pub per_username: Rate,
    /// Consecutive failed logins after which the account is locked.
    pub lock_after: u32,
    /// How long a lockout lasts unless an admin clears it.
    pub lock_for: Duration,
    /// Password hashes that may run at once.
    pub hash_slots: usize,
    /// Usernames and addresses remembered at most; beyond this, entries with nothing to
    /// remember are forgotten first, so a flood of made-up names cannot fill memory.
    pub max_tracked: usize,
}

/// A token bucket: `burst` attempts at once, then one more every `every`.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    pub burst: u32,
    pub every: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            // An office behind one NAT address logs in together in the morning; a
            // device logs in once and then uses its token for 90 days.
            per_address: Rate { burst: 30, every: Duration::seconds(2) },
            per_username: Rate { burst: 5, every: Duration::seconds(10) },
            lock_after: 10,
            lock_for: Duration::minutes(15),
            hash_slots: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_tracked: 100_000,
        }
    }
}

/// Why a login is refused before its password is even looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many attempts from this address or for this username; try again after.
    RateLimited { retry_after: Duration },
    /// Too many failures in a row; the account is locked until an admin clears it or
    /// the time runs out.
    Locked { retry_after: Duration },
}

impl Refusal {
    pub fn retry_after(self) -> Duration {
        match self {
            Self::RateLimited { retry_after } | Self::Locked { retry_after } => retry_after,
        }
    }
}

/// An account's failed logins since its last success: the state of its lockout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    /// Failures in a row since the last success or lockout.
    pub count: u32,
    pub locked_until: Option<OffsetDateTime>,
}

impl Failures {
    /// How long the account stays locked at `now`, if it is.
    pub fn locked(&self, now: OffsetDateTime) -> Option<Duration> {
        self.locked_until.filter(|until| *until > now).map(|until| until - now)
    }

    /// The state after one more failed login at `now`: the `lock_after`th failure in a
    /// row locks the account for `lock_for` and starts the count again.
    pub fn after_failure(self, now: OffsetDateTime, policy: &LoginPolicy) -> Self {
        let count = self.count + 1;
        if count >= policy.lock_after {
            Self { count: 0, locked_until: Some(now + policy.lock_for) }
        } else {
            Self { count, locked_until: self.locked_until }
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: OffsetDateTime,
}

impl Bucket {
    fn full(rate: Rate, now: OffsetDateTime) -> Self {
        Self { tokens: f64::from(rate.burst), at: now }
    }

    /// The bucket refilled up to `now`.
    fn at(self, rate: Rate, now: OffsetDateTime) -> Self {
        let elapsed = (now - self.at).max(Duration::ZERO);
        let tokens = (self.tokens + elapsed / rate.every).min(f64::from(rate.burst));
        Self { tokens, at: now.max(self.at) }
    }

    /// Time until one attempt is allowed; zero if one is now.
    fn wait(self, rate: Rate) -> Duration {
        if self.tokens >= 1.0 {
            Duration::ZERO
        } else {
            rate.every * (1.0 - self.tokens)
        }
    }
}

/// What HQ remembers in memory about recent logins: buckets per address and per
/// username, and the failures of usernames that are not accounts. Those get a lockout
/// like real ones, so that a lockout does not tell who has an account.
#[derive(Debug, Default)]
pub struct RateLimits {
    addresses: HashMap<IpAddr, Bucket>,
    usernames: HashMap<String, Bucket>,
    unknown: HashMap<String, Failures>,
}

impl RateLimits {
    /// Takes one attempt from the address's and the username's buckets, or refuses
    /// without taking any.
    pub fn admit(
        &mut self,
        address: IpAddr,
        username: &str,
        now: OffsetDateTime,
        policy: &LoginPolicy,
    ) -> Result<(), Refusal> {
        self.forget_idle(now, policy);
        let a = self
            .addresses
            .get(&address)
            .map_or(Bucket::full(policy.per_address, now), |b| b.at(policy.per_address, now));
        let u = self
            .usernames
            .get(username)
            .map_or(Bucket::full(policy.per_username, now), |b| b.at(policy.per_username, now));
        let wait = a.wait(policy.per_address).max(u.wait(policy.per_username));
        if wait > Duration::ZERO {
            return Err(Refusal::RateLimited { retry_after: wait });
        }
        self.addresses.insert(address, Bucket { tokens: a.tokens - 1.0, ..a });
        self.usernames.insert(username.to_owned(), Bucket { tokens: u.tokens - 1.0, ..u });
        Ok(())
    }

    /// Gives the username its attempt back: the login succeeded.
    pub fn succeeded(&mut self, username: &str, now: OffsetDateTime, policy: &LoginPolicy) {
        let rate = policy.per_username;
        if let Some(b) = self.usernames.get_mut(username) {
            let refilled = b.at(rate, now);
            *b = Bucket { tokens: (refilled.tokens + 1.0).min(f64::from(rate.burst)), ..refilled };
        }
    }

    /// The failures of a username that is not an account.
    pub fn unknown_failures(&self, username: &str) -> Failures {
        self.unknown.get(username).copied().unwrap_or_default()
    }

    pub fn set_unknown_failures(&mut self, username: &str, failures: Failures) {
        self.unknown.insert(username.to_owned(), failures);
    }

    /// Forgets the username's buckets (an admin cleared its lockout).
    pub fn forget_username(&mut self, username: &str) {
        self.usernames.remove(username);
        self.unknown.remove(username);
    }

    /// Keeps memory bounded: once more than `max_tracked` entries are held, those that
    /// say nothing (a full bucket, an expired lockout) are dropped. If a flood of
    /// fresh names still leaves too many, the username buckets are dropped whole: the
    /// per-address limit and the stored lockouts of real accounts still hold.
    fn forget_idle(&mut self, now: OffsetDateTime, policy: &LoginPolicy) {
        let held = self.addresses.len() + self.usernames.len() + self.unknown.len();
        if held < policy.max_tracked {
            return;
        }
        let in_use = |rate: Rate| move |b: &Bucket| b.at(rate, now).tokens < f64::from(rate.burst);
        let (address_rate, username_rate) = (policy.per_address, policy.per_username);
        self.addresses.retain(|_, b| in_use(address_rate)(b));
        self.usernames.retain(|_, b| in_use(username_rate)(b));
        self.unknown.retain(|_, f| f.count > 0 || f.locked(now).is_some());
        if self.addresses.len() + self.usernames.len() + self.unknown.len() >= policy.max_tracked {
            self.usernames.clear();
            self.unknown.clear();
        }
    }

    /// Entries held, for tests of the bound.
    pub fn tracked(&self) -> usize {
        self.addresses.len() + self.usernames.len() + self.unknown.len()
    }
}

/// The threads password hashes run on: as many as there are cores. A login waits in
/// the queue (holding no hash memory) until one is free, rather than hashing alongside
/// every other login at once.
///
/// Dedicated threads rather than a semaphore in front of `spawn_blocking`: that bounds
/// how many hashes run at once, but not which of tokio's blocking threads run them, and
/// glibc gives threads their own malloc arenas, each keeping the 19 MiB blocks it freed.
/// Measured with 500 logins from 500 addresses: 3.0 GiB peak with the semaphore; on
/// two dedicated threads the same 19 MiB blocks are reused.
#[derive(Clone)]
pub struct HashSlots {
    jobs: std::sync::mpsc::Sender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

impl HashSlots {
    pub fn new(slots: usize) -> Self {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for i in 0..slots.max(1) {
            let queue = queue.clone();
            // The threads end when the last sender (the last `AppState`) is dropped.
            std::thread::Builder::new()
                .name(format!("dtm-hq-hash-{i}"))
                .spawn(move || loop {
                    let job = queue.lock().unwrap_or_else(|p| p.into_inner()).recv();
                    match job {
                        // A panicking job drops its answer; the caller sees an error and
                        // the thread lives on for the next login.
                        Ok(job) => drop(std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))),
                        Err(_) => break,
                    }
                })
                .expect("HQ can start its password-hashing threads");
        }
        Self { jobs }
    }

    /// Runs `work` on a hashing thread once one is free.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        self.jobs
            .send(Box::new(move || {
                let _ = answer.send(work());
            }))
            .map_err(|_| anyhow::anyhow!("the password-hashing threads have stopped"))?;
        answered.await.map_err(|_| anyhow::anyhow!("password hashing failed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn t(seconds: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::seconds(seconds)
    }

    fn policy() -> LoginPolicy {
        LoginPolicy {
            per_address: Rate { burst: 3, every: Duration::seconds(10) },
            per_username: Rate { burst: 2, every: Duration::seconds(30) },
            lock_after: 3,
            lock_for: Duration::minutes(15),
            hash_slots: 2,
            max_tracked: 100,
        }
    }

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn an_address_gets_its_burst_then_waits_for_the_bucket_to_refill() {
        let (mut limits, p) = (RateLimits::default(), policy());
        for i in 0..3 {
            limits.admit(HOME, &format!("user{i}"), t(0), &p).expect("the burst is allowed");
        }
        let refusal = limits.admit(HOME, "user9", t(0), &p).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::RateLimited { retry_after: Duration::seconds(10) },
            "the answer must say when to retry"
        );
        assert!(limits.admit(HOME, "user9", t(10), &p).is_ok(), "one more attempt is allowed after `every`");
        let other = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));
        assert!(limits.admit(other, "user8", t(10), &p).is_ok(), "another address has its own bucket");
    }

    #[test]
    fn a_username_is_limited_whatever_address_the_attempts_come_from() {
        let (mut limits, p) = (RateLimits::default(), policy());
        for i in 0..2 {
            limits.admit(IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)), "supervisor", t(0), &p).unwrap();
        }
        let refusal = limits.admit(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9)), "supervisor", t(1), &p);
        assert!(
            matches!(refusal, Err(Refusal::RateLimited { .. })),
            "guessing one password from many addresses must still be slow"
        );
    }

    #[test]
    fn successful_logins_of_a_shared_account_give_their_attempt_back() {
        let (mut limits, p) = (RateLimits::default(), policy());
        for i in 0..10 {
            let address = IpAddr::V4(Ipv4Addr::new(10, 0, 0, i));
            assert!(
                limits.admit(address, "enumerator", t(0), &p).is_ok(),
                "device {i} logs in with the right password"
            );
            limits.succeeded("enumerator", t(0), &p);
        }
    }

    #[test]
    fn concurrent_guesses_for_one_username_are_limited_while_they_are_still_being_checked() {
        let (mut limits, p) = (RateLimits::default(), policy());
        let admitted = (0..50)
            .filter(|i| limits.admit(IpAddr::V4(Ipv4Addr::new(10, 0, 1, *i)), "admin", t(0), &p).is_ok())
            .count();
        assert_eq!(admitted, 2, "a burst of guesses in flight at once must not outrun the lockout");
    }

    #[test]
    fn a_refused_attempt_takes_nothing_from_either_bucket() {
        let (mut limits, p) = (RateLimits::default(), policy());
        for _ in 0..2 {
            limits.admit(HOME, "a", t(0), &p).unwrap();
        }
        assert!(limits.admit(HOME, "a", t(0), &p).is_err(), "the username's burst is spent");
        assert!(
            limits.admit(HOME, "b", t(0), &p).is_ok(),
            "the refused attempt must not have spent the address's last token"
        );
    }

    #[test]
    fn the_lock_after_th_failure_in_a_row_locks_the_account_for_lock_for() {
        let p = policy();
        let mut f = Failures::default();
        for i in 0..2 {
            f = f.after_failure(t(i), &p);
            assert_eq!(f.locked(t(i)), None, "failure {} of 3 does not lock yet", i + 1);
        }
        f = f.after_failure(t(2), &p);
        assert_eq!(f.locked(t(2)), Some(Duration::minutes(15)));
        assert_eq!(f.locked(t(2) + Duration::minutes(15)), None, "a lockout ends by itself");
        assert_eq!(f.count, 0, "after a lockout the count starts again");
    }

    #[test]
    fn memory_stays_bounded_under_a_flood_of_made_up_usernames() {
        let (mut limits, p) = (RateLimits::default(), LoginPolicy { max_tracked: 50, ..policy() });
        for i in 0..10_000u32 {
            let address = IpAddr::V4(Ipv4Addr::from(i));
            let _ = limits.admit(address, &format!("nobody{i}"), t(i64::from(i)), &p);
            limits.set_unknown_failures(&format!("nobody{i}"), Failures { count: 1, locked_until: None });
        }
        assert!(limits.tracked() <= 2 * p.max_tracked, "held {} entries", limits.tracked());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_slots() {
        let slots = HashSlots::new(2);
        let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let tasks: Vec<_> = (0..32)
            .map(|_| {
                let (slots, running, most) = (slots.clone(), running.clone(), most.clone());
                tokio::spawn(async move {
                    slots
                        .run(move || {
                            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                            most.fetch_max(now, Ordering::SeqCst);
                            // Stay a moment so that the other tasks pile up behind.
                            std::thread::sleep(std::time::Duration::from_millis(2));
                            running.fetch_sub(1, Ordering::SeqCst);
                        })
                        .await
                        .unwrap()
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let most = most.load(Ordering::SeqCst);
        assert!(
            (1..=2).contains(&most),
            "each hash holds 19 MiB; the slots are what bounds HQ's memory under a login flood (saw {most} at once)"
        );
    }

    #[tokio::test]
    async fn a_hash_that_panics_fails_its_own_login_and_the_slot_serves_the_next() {
        let slots = HashSlots::new(1);
        let failed = slots.run(|| -> bool { panic!("argon2 broke") }).await;
        assert!(failed.is_err(), "the caller must get an error, not wait forever");
        assert!(slots.run(|| true).await.unwrap(), "the only slot must still be there for the next login");
    }
}
