//! A hybrid logical clock: wall-clock milliseconds plus a counter, so stamps from
//! one device always increase even when its clock is set backwards. The caller
//! passes the wall time in and persists the clock after each tick.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
pub struct Hlc {
    pub millis: u64,
    pub counter: u32,
}

impl Hlc {
    /// The next stamp for a local event at wall time `now_ms`.
    pub fn tick(self, now_ms: u64) -> Hlc {
        if now_ms > self.millis {
            Hlc { millis: now_ms, counter: 0 }
        } else {
            Hlc { millis: self.millis, counter: self.counter + 1 }
        }
    }

    /// The clock after seeing a remote stamp at wall time `now_ms`.
    pub fn observe(self, remote: Hlc, now_ms: u64) -> Hlc {
        let millis = self.millis.max(remote.millis).max(now_ms);
        let counter = match (millis == self.millis, millis == remote.millis) {
            (true, true) => self.counter.max(remote.counter) + 1,
            (true, false) => self.counter + 1,
            (false, true) => remote.counter + 1,
            (false, false) => 0,
        };
        Hlc { millis, counter }
    }

    /// A fixed-width text form that sorts like the clock itself.
    pub fn encode(self) -> String {
        format!("{:015}-{:010}", self.millis, self.counter)
    }

    pub fn decode(s: &str) -> Option<Hlc> {
        let (m, c) = s.split_once('-')?;
        Some(Hlc { millis: m.parse().ok()?, counter: c.parse().ok()? })
    }
}

impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_keep_increasing_when_the_wall_clock_goes_backwards() {
        let a = Hlc::default().tick(1_000_000);
        let b = a.tick(500); // the clock was set back
        let c = b.tick(500);
        assert!(a < b && b < c, "a device's own stamps must always increase");
    }

    #[test]
    fn observing_a_remote_stamp_from_the_future_moves_past_it() {
        let local = Hlc::default().tick(1_000);
        let remote = Hlc { millis: 9_000, counter: 4 };
        let next = local.observe(remote, 1_001);
        assert!(next > remote, "after seeing a stamp, every later local stamp must sort after it");
    }

    #[test]
    fn the_text_form_sorts_like_the_clock() {
        let a = Hlc { millis: 99, counter: 10 };
        let b = Hlc { millis: 100, counter: 0 };
        assert!(a.encode() < b.encode());
        assert_eq!(Hlc::decode(&a.encode()), Some(a));
    }
}
