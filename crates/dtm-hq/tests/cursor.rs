//! The pull cursor's guarantee, on the store the suite runs on (`DTM_TEST_STORE`):
//! a page never skips a change that commits later with a lower change number. Writers
//! here are separate handles on one database, as two HQ processes are.

use dtm_core::{AssessmentKey, AssessmentStatus, Hlc, Pcode, Round, RoundStatus, Scope};
use dtm_e2e::TestDatabase;
use dtm_hq::store::{NewAssessment, NewChange, Store, Tx, Writes};
use std::collections::BTreeMap;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;
use time::OffsetDateTime;

/// One store handle, SQLite or PostgreSQL, behind the same primitives.
enum Handle {
    Sqlite(dtm_hq::sqlite::Sqlite),
    Postgres(dtm_hq::postgres::Postgres),
}

impl Handle {
    fn open(db: &TestDatabase) -> Handle {
        let arg = db.arg();
        if dtm_hq::postgres::is_url(&arg) {
            Handle::Postgres(dtm_hq::postgres::Postgres::open(&arg).expect("PostgreSQL opens"))
        } else {
            Handle::Sqlite(dtm_hq::sqlite::Sqlite::open(std::path::Path::new(&arg)).expect("SQLite opens"))
        }
    }

    fn write<T>(&self, f: impl FnOnce(&mut dyn Tx) -> dtm_hq::storage::Result<T>) -> T {
        match self {
            Handle::Sqlite(s) => s.write(f),
            Handle::Postgres(p) => p.write(f),
        }
        .expect("the write commits")
    }

    fn read<T>(&self, f: impl FnOnce(&mut dyn Tx) -> dtm_hq::storage::Result<T>) -> T {
        match self {
            Handle::Sqlite(s) => s.read(f),
            Handle::Postgres(p) => p.read(f),
        }
        .expect("the read succeeds")
    }
}

fn round() -> Round {
    Round {
        code: "R1".into(),
        number: 1,
        title: "Round 1".into(),
        title_ar: String::new(),
        window_start: "2026-01-01".into(),
        window_end: "2026-12-31".into(),
        status: RoundStatus::Open,
        forms: vec![("muhalla".into(), 1)],
    }
}

/// Writes a new assessment at `location` with a fresh change number and returns it.
fn insert(tx: &mut dyn Tx, location: &str) -> dtm_hq::storage::Result<u64> {
    let key = AssessmentKey::new("R1", "muhalla", Pcode::parse(location).unwrap());
    let change_seq = tx.allot_change_seqs(1)?;
    let (writes, at) = (Writes::new(), OffsetDateTime::now_utc());
    let first = NewChange {
        id: tx.allot_change_ids(1)?,
        assessment_id: 0,
        op_id: None,
        author: "cursor-test",
        device: "cursor-test",
        hlc: Hlc::default(),
        at,
        fields: &writes,
    };
    let new = NewAssessment { key: &key, status: AssessmentStatus::Draft, form_version: 1, change_seq, at, doc: "{}" };
    tx.insert_assessment(&new, &first)?;
    Ok(change_seq)
}

fn everything() -> Scope {
    Scope::new(["LY"])
}

#[test]
fn a_second_writer_waits_for_the_first_to_commit_so_no_lower_number_commits_later() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::new(dir.path());
    let (a, b, reader) = (Handle::open(&db), Handle::open(&db), Handle::open(&db));
    a.write(|tx| tx.write_round(&round()));

    let (allotted_a, release_a) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
    let (b_allotted_tx, b_allotted) = mpsc::channel();
    thread::scope(|s| {
        let writer_a = s.spawn(|| {
            a.write(|tx| {
                let seq = insert(tx, "LY02110101")?;
                allotted_a.wait();
                release_a.wait(); // holds the transaction open until told
                Ok(seq)
            })
        });
        allotted_a.wait();
        let writer_b =
            s.spawn(|| b.write(|tx| insert(tx, "LY02110102").inspect(|seq| b_allotted_tx.send(*seq).unwrap())));
        assert!(
            b_allotted.recv_timeout(Duration::from_millis(400)).is_err(),
            "a second writer must not get a change number while the first is uncommitted: it would commit with a \
             higher number first, and a cursor taken then would skip the lower one"
        );
        let seen = reader.read(|tx| tx.changed_after(&everything(), 0, 100));
        assert!(seen.is_empty(), "a read never sees a write in progress: {seen:?}");
        release_a.wait();
        let seq_a = writer_a.join().unwrap();
        let seq_b = writer_b.join().unwrap();
        assert!(seq_a < seq_b, "the writer that committed first has the lower number: {seq_a} vs {seq_b}");
        let seen: Vec<u64> =
            reader.read(|tx| tx.changed_after(&everything(), 0, 100)).into_iter().map(|r| r.1).collect();
        assert_eq!(seen, [seq_a, seq_b], "a pull from the start sees both, in commit order");
    });
}

#[test]
fn a_reader_paging_while_four_writers_commit_sees_every_change() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDatabase::new(dir.path());
    let setup = Handle::open(&db);
    setup.write(|tx| tx.write_round(&round()));
    let locations: Vec<String> = dtm_core::Gazetteer::libya()
        .at_level(4)
        .map(|l| l.pcode.to_string())
        .filter(|p| p.starts_with("LY02"))
        .take(80)
        .collect();
    assert_eq!(locations.len(), 80, "the gazetteer has enough muhallas in LY02");
    let done = std::sync::atomic::AtomicUsize::new(0);
    let (seen, writes) = thread::scope(|s| {
        let writers: Vec<_> = locations
            .chunks(20)
            .enumerate()
            .map(|(w, chunk)| {
                let (db, done) = (&db, &done);
                s.spawn(move || {
                    let store = Handle::open(db);
                    let mut written = BTreeMap::new();
                    for (i, location) in chunk.iter().enumerate() {
                        // Uneven transactions, so commits interleave in every order.
                        let seq = store.write(|tx| {
                            let seq = insert(tx, location)?;
                            thread::sleep(Duration::from_micros(((w * 7 + i * 13) % 5) as u64 * 300));
                            Ok(seq)
                        });
                        written.insert(location.clone(), seq);
                    }
                    done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    written
                })
            })
            .collect();
        // The reader pages three at a time from its cursor, as a device pulls.
        let reader = Handle::open(&db);
        let mut cursor = 0;
        let mut seen = BTreeMap::new();
        loop {
            let finished = done.load(std::sync::atomic::Ordering::SeqCst) == 4;
            let page = reader.read(|tx| {
                tx.changed_after(&everything(), cursor, 3)?
                    .into_iter()
                    .map(|(id, seq)| Ok((tx.snapshots(&[id])?.remove(0).key.location.to_string(), seq)))
                    .collect::<dtm_hq::storage::Result<Vec<_>>>()
            });
            for (location, seq) in &page {
                assert!(*seq > cursor, "a page only holds changes after its cursor");
                seen.insert(location.clone(), *seq);
                cursor = *seq;
            }
            if page.is_empty() && finished {
                break;
            }
        }
        let writes: BTreeMap<String, u64> = writers.into_iter().flat_map(|w| w.join().unwrap()).collect();
        (seen, writes)
    });
    assert_eq!(seen.len(), 80, "the reader must see every one of the 80 new assessments; it missed some");
    assert_eq!(seen, writes, "each at the change number it committed with");
}
