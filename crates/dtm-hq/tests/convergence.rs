//! Property tests of the whole sync: random interleavings of edits and syncs on two
//! or three devices against a real HQ on 127.0.0.1:0 (in-process axum, SQLite file).

use dtm_core::{AssessmentKey, Pcode};
mod support;
use dtm_sync::device::Device;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const LOCATIONS: [&str; 2] = ["LY021104", "LY021105"];
const FIELDS: [&str; 3] = ["idp_hh", "ret_hh", "mig_ind"];

#[derive(Debug, Clone)]
enum Step {
    Edit { device: usize, location: usize, field: usize, value: u32 },
    Sync { device: usize },
}

fn step(devices: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..devices, 0..LOCATIONS.len(), 0..FIELDS.len(), 0u32..6)
            .prop_map(|(device, location, field, value)| Step::Edit { device, location, field, value }),
        1 => (0..devices).prop_map(|device| Step::Sync { device }),
    ]
}

fn key(location: &str) -> AssessmentKey {
    AssessmentKey::new("R1", "baladiya", Pcode::parse(location).unwrap())
}

/// What one replica holds for the fields under test.
type State = BTreeMap<(String, String), Value>;

fn device_state(device: &Device) -> State {
    let mut out = State::new();
    for loc in LOCATIONS {
        let detail = device.assessment(&key(loc)).unwrap();
        for f in FIELDS {
            if let Some(v) = detail.values.get(f) {
                out.insert((loc.to_owned(), f.to_owned()), v.clone());
            }
        }
    }
    out
}

fn hq_state(db: &support::TestDatabase) -> State {
    db.query("SELECT a.location, f.field, f.value FROM field_values f JOIN assessments a ON a.id = f.assessment_id")
        .into_iter()
        .map(|r| r.into_iter().map(|c| c.expect("the columns are NOT NULL")).collect::<Vec<_>>())
        .filter(|r| FIELDS.contains(&r[1].as_str()))
        .map(|r| ((r[0].clone(), r[1].clone()), serde_json::from_str(&r[2]).unwrap()))
        .collect()
}

/// The one number a count query gives.
fn count(db: &support::TestDatabase, sql: &str) -> i64 {
    db.query(sql)[0][0].as_deref().expect("a count").parse().expect("a count is a number")
}

fn run(devices: usize, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let (url, db, server) = support::serve_demo(dir.path()).await;

        let mut replicas = Vec::new();
        for i in 0..devices {
            let d = Device::open(&dir.path().join(format!("device{i}.sqlite3"))).unwrap();
            d.login(&url, "enumerator", "enumerator-demo").await.unwrap();
            replicas.push(d);
        }
        for s in &steps {
            match *s {
                Step::Edit { device, location, field, value } => {
                    replicas[device].set_field(&key(LOCATIONS[location]), FIELDS[field], json!(value)).unwrap();
                }
                Step::Sync { device } => {
                    replicas[device].sync(|_| {}).await.unwrap();
                }
            }
        }
        // A final sync everywhere, twice: the first pushes, the second pulls what others pushed.
        for _ in 0..2 {
            for d in &replicas {
                d.sync(|_| {}).await.unwrap();
            }
        }
        let hq = hq_state(&db);
        for (i, d) in replicas.iter().enumerate() {
            prop_assert_eq!(d.sync_state().unwrap().pending, 0, "device {} still has unsent operations", i);
            prop_assert_eq!(&device_state(d), &hq, "device {} must converge to HQ's state", i);
        }
        // No acknowledged value is lost: every applied operation is either a version in
        // the field's history or matched HQ's value already; every conflicting one is
        // kept in a conflict record with its value.
        let conflicts_without_record = count(
            &db,
            "SELECT count(*) FROM ops o WHERE o.outcome = 'conflict'
               AND NOT EXISTS (SELECT 1 FROM conflicts c WHERE c.op_id = o.op_id)",
        );
        prop_assert_eq!(conflicts_without_record, 0, "a conflicting value must be kept in a conflict record");
        let rejected = count(&db, "SELECT count(*) FROM ops WHERE outcome = 'rejected'");
        prop_assert_eq!(rejected, 0, "valid edits in an open round are never rejected");
        // Each operation was applied at most once.
        let twice = count(
            &db,
            "SELECT count(*) FROM (SELECT op_id FROM changes WHERE op_id IS NOT NULL GROUP BY op_id HAVING count(*) > 1) t",
        );
        prop_assert_eq!(twice, 0, "replaying an operation must not write it twice");
        server.abort();
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, max_shrink_iters: 50, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_of_two_devices_converges_everywhere(steps in prop::collection::vec(step(2), 1..30)) {
        run(2, steps)?;
    }

    #[test]
    fn any_interleaving_of_three_devices_converges_everywhere(steps in prop::collection::vec(step(3), 1..30)) {
        run(3, steps)?;
    }
}
