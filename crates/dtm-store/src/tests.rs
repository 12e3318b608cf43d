use super::*;
use serde_json::json;

fn now(millis: u64) -> Now {
    Now { millis, iso: format!("2026-11-21T10:00:{:02}Z", millis % 60) }
}

fn r1() -> Round {
    Round {
        code: "R1".into(),
        number: 1,
        title: "Round 1".into(),
        title_ar: String::new(),
        window_start: "2026-11-01".into(),
        window_end: "2026-11-30".into(),
        status: RoundStatus::Open,
        forms: vec![("baladiya".into(), 1)],
    }
}

fn tripoli() -> AssessmentKey {
    AssessmentKey::new("R1", "baladiya", Pcode::parse("LY021104").unwrap())
}

/// A device store with the Tripoli enumerator logged in and round R1 open.
fn logged_in_store(dir: &tempfile::TempDir) -> Store {
    let mut store = Store::open(&dir.path().join("device.sqlite3")).unwrap();
    log_in(&mut store);
    store
}

/// Logs the Tripoli enumerator in and opens round R1.
fn log_in(store: &mut Store) {
    let user = User {
        username: "enumerator".into(),
        display_name: "Demo enumerator".into(),
        role: Role::Enumerator,
        scope: Scope::new(["LY0211"]),
    };
    store.save_login("http://127.0.0.1:1", "token", &user).unwrap();
    store.apply_pull_page(&[r1()], &[], "e1:0", &now(1)).unwrap();
}

fn count(store: &Store, sql: &str) -> i64 {
    store.conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn an_edit_writes_its_value_outbox_operation_and_audit_row_together() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    let record = store.set_field(&tripoli(), "idp_hh", json!(12), &now(10)).unwrap();
    assert_eq!(record.values["idp_hh"], json!(12));
    assert_eq!(record.status, AssessmentStatus::Draft, "the first edit starts a draft");
    let ops = store.pending_ops(10).unwrap();
    assert_eq!(ops.len(), 1, "one edit is one operation");
    assert_eq!((ops[0].seq, ops[0].kind), (1, OpKind::Edit));
    assert_eq!(ops[0].edits, BTreeMap::from([("idp_hh".to_string(), (json!(12), 0))]), "base 0: HQ never had it");
    assert_eq!(count(&store, "SELECT count(*) FROM audit"), 1, "every change is audited");
}

#[test]
fn an_outbox_operation_of_a_kind_the_app_does_not_know_is_an_error_never_read_as_an_edit() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    store.set_field(&tripoli(), "idp_hh", json!(12), &now(10)).unwrap();
    store.void(&tripoli(), "a duplicate of LY021103", &now(11)).unwrap();
    let kinds: Vec<OpKind> = store.pending_ops(10).unwrap().iter().map(|o| o.kind).collect();
    assert_eq!(kinds, [OpKind::Edit, OpKind::Void], "each kind reads back as written");
    // The table's CHECK keeps such a kind out; a store damaged on disk or written by
    // another app can still hold one.
    store.conn.execute_batch("PRAGMA ignore_check_constraints = ON").unwrap();
    store.conn.execute("UPDATE outbox SET kind = 'merge' WHERE seq = 2", []).unwrap();
    let err = store.pending_ops(10).expect_err("a void read as an edit would push the wrong operation to HQ");
    assert!(err.to_string().contains("`merge` is not a value this column may hold"), "{err}");
}

#[test]
fn autosave_and_its_outbox_operation_are_atomic() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    store.set_field(&tripoli(), "idp_hh", json!(12), &now(10)).unwrap();
    // Make the outbox write fail, as a full disk or a crash mid-transaction would.
    store
        .conn
        .execute_batch(
            "CREATE TEMP TRIGGER outbox_fails BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap();
    let err = store.set_field(&tripoli(), "idp_hh", json!(99), &now(11)).unwrap_err();
    assert_eq!(err.code(), "database_error");
    let record = store.assessment(&tripoli()).unwrap();
    assert_eq!(
        record.values["idp_hh"],
        json!(12),
        "a value whose outbox operation was not written must not be saved either, or HQ would never hear of it"
    );
    assert_eq!(count(&store, "SELECT count(*) FROM outbox"), 1);
    assert_eq!(count(&store, "SELECT count(*) FROM audit"), 1, "the audit row rolls back with the edit");
}

#[test]
fn an_edit_survives_closing_and_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    store.set_field(&tripoli(), "mig_ind", json!(40), &now(10)).unwrap();
    drop(store);
    let store = Store::open(&dir.path().join("device.sqlite3")).unwrap();
    assert_eq!(store.assessment(&tripoli()).unwrap().values["mig_ind"], json!(40));
    assert_eq!(store.pending_ops(10).unwrap().len(), 1);
}

#[test]
fn a_store_written_by_a_newer_app_is_refused_with_a_clear_code() {
    let dir = tempfile::tempdir().unwrap();
    drop(logged_in_store(&dir));
    let conn = Connection::open(dir.path().join("device.sqlite3")).unwrap();
    conn.pragma_update(None, "user_version", 42).unwrap();
    drop(conn);
    let err = Store::open(&dir.path().join("device.sqlite3")).err().expect("a newer schema must be refused");
    assert_eq!(err.code(), "database_too_new");
}

#[test]
fn each_kind_of_bad_edit_gets_its_code_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    let misrata = AssessmentKey::new("R1", "baladiya", Pcode::parse("LY021401").unwrap());
    let nowhere = AssessmentKey::new("R1", "baladiya", Pcode::parse("LY029999").unwrap());
    let muhalla = AssessmentKey::new("R1", "baladiya", Pcode::parse("LY02110401").unwrap());
    let r9 = AssessmentKey::new("R9", "baladiya", Pcode::parse("LY021104").unwrap());
    let cases: Vec<(&str, StoreError)> = vec![
        ("negative_count", store.set_field(&tripoli(), "idp_hh", json!(-1), &now(2)).unwrap_err()),
        ("not_a_whole_number", store.set_field(&tripoli(), "idp_hh", json!(1.5), &now(2)).unwrap_err()),
        ("unknown_field", store.set_field(&tripoli(), "nope", json!(1), &now(2)).unwrap_err()),
        ("out_of_scope", store.set_field(&misrata, "idp_hh", json!(1), &now(2)).unwrap_err()),
        ("unknown_pcode", store.set_field(&nowhere, "idp_hh", json!(1), &now(2)).unwrap_err()),
        ("wrong_level", store.set_field(&muhalla, "idp_hh", json!(1), &now(2)).unwrap_err()),
        ("unknown_round", store.set_field(&r9, "idp_hh", json!(1), &now(2)).unwrap_err()),
    ];
    for (code, err) in cases {
        assert_eq!(err.code(), code, "{err}");
    }
    assert_eq!(count(&store, "SELECT count(*) FROM field_values"), 0, "bad input must write nothing");
    assert_eq!(count(&store, "SELECT count(*) FROM outbox"), 0, "bad input must queue nothing");
}

#[test]
fn submission_is_blocked_while_the_migrant_breakdown_does_not_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    for (f, v) in [
        ("idp_hh", 10),
        ("idp_ind", 50),
        ("ret_hh", 1),
        ("ret_ind", 4),
        ("mig_ind", 100),
        ("mig_men", 50),
        ("mig_women", 30),
        ("mig_children", 10),
    ] {
        store.set_field(&tripoli(), f, json!(v), &now(3)).unwrap();
    }
    let err = store.submit(&tripoli(), &now(4)).unwrap_err();
    assert_eq!(err.code(), "submission_blocked");
    store.set_field(&tripoli(), "mig_children", json!(20), &now(5)).unwrap();
    let record = store.submit(&tripoli(), &now(6)).unwrap();
    assert_eq!(record.status, AssessmentStatus::Submitted);
    let err = store.set_field(&tripoli(), "idp_hh", json!(11), &now(7)).unwrap_err();
    assert_eq!(err.code(), "invalid_transition", "a submitted assessment is locked until it is returned");
}

#[test]
fn a_first_pull_with_nothing_pending_keeps_hqs_values_exactly_as_sent() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    let fields: BTreeMap<String, (FieldValue, u64)> = [
        ("idp_hh".to_string(), (json!(7), 2)),
        ("idp_note".to_string(), (json!("حي \"الأندلس\" شرق"), 1)),
        ("ki_types".to_string(), (json!(["crisis_committee", "idp_rep"]), 3)),
        ("ret_hh".to_string(), (json!(null), 4)),
    ]
    .into();
    let remote = RemoteAssessment {
        key: tripoli(),
        status: AssessmentStatus::Approved,
        form_version: 2,
        version: 9,
        open_conflicts: 0,
        fields: fields.clone(),
        comments: vec![],
    };
    store.apply_pull_page(&[], &[remote], "e1:5", &now(9)).unwrap();
    let values = values_of(&store.conn, &tripoli()).unwrap();
    assert_eq!(
        values,
        fields.into_iter().map(|(f, (v, _))| (f, v)).collect::<BTreeMap<_, _>>(),
        "values written without the outbox lookup or a copy must read back as HQ sent them"
    );
}

#[test]
fn a_pull_never_overwrites_a_field_with_a_pending_local_edit() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    store.set_field(&tripoli(), "idp_hh", json!(12), &now(10)).unwrap();
    let remote = RemoteAssessment {
        key: tripoli(),
        status: AssessmentStatus::Draft,
        form_version: 1,
        version: 3,
        open_conflicts: 0,
        fields: [("idp_hh".to_string(), (json!(7), 2)), ("idp_ind".to_string(), (json!(30), 1))].into(),
        comments: vec![],
    };
    store.apply_pull_page(&[], &[remote], "e1:5", &now(11)).unwrap();
    let record = store.assessment(&tripoli()).unwrap();
    assert_eq!(record.values["idp_hh"], json!(12), "the enumerator's unsent value must stay");
    assert_eq!(record.values["idp_ind"], json!(30), "fields without local edits take HQ's value");
    assert_eq!(store.pull_cursor().unwrap().as_deref(), Some("e1:5"));
    // A further edit of the same field still claims only the base its chain started from,
    // even when one save gives the field twice.
    store.set_field(&tripoli(), "idp_hh", json!(13), &now(12)).unwrap();
    let twice = [("idp_hh".to_string(), json!(14)), ("idp_hh".to_string(), json!(15))];
    store.set_fields(&tripoli(), &twice, &now(13)).unwrap();
    let ops = store.pending_ops(10).unwrap();
    assert_eq!(
        ops.iter().map(|o| o.edits["idp_hh"].clone()).collect::<Vec<_>>(),
        [(json!(12), 0), (json!(13), 0), (json!(15), 0)],
        "an offline chain must not claim to have seen HQ's newer value (version 2), or it would overwrite it silently"
    );
}

#[test]
fn rejected_operations_leave_the_queue_and_stay_visible() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    store.set_field(&tripoli(), "idp_hh", json!(12), &now(10)).unwrap();
    store.set_field(&tripoli(), "idp_ind", json!(40), &now(11)).unwrap();
    let ops = store.pending_ops(10).unwrap();
    store
        .record_outcomes(
            &[
                Answer::new(&ops[0].op_id, OpOutcome::Rejected).because(ErrorCode::InvalidTransition, "approved"),
                Answer::new(&ops[1].op_id, OpOutcome::Applied),
            ],
            "2026-11-21T10:00:20Z",
            &now(21),
        )
        .unwrap();
    assert!(store.pending_ops(10).unwrap().is_empty(), "a rejected operation must not block the queue");
    let rejected = store.rejected_ops().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!((rejected[0].code.as_str(), rejected[0].reason.as_str()), ("invalid_transition", "approved"));
}

#[test]
fn the_clock_and_sequence_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    store.set_field(&tripoli(), "idp_hh", json!(1), &now(5_000)).unwrap();
    drop(store);
    let mut store = Store::open(&dir.path().join("device.sqlite3")).unwrap();
    // The wall clock has been set back by an hour.
    store.set_field(&tripoli(), "idp_hh", json!(2), &now(1_000)).unwrap();
    let ops = store.pending_ops(10).unwrap();
    assert!(ops[1].hlc > ops[0].hlc, "stamps must keep increasing across restarts and clock changes");
    assert_eq!((ops[0].seq, ops[1].seq), (1, 2), "sequence numbers continue after a restart");
}

#[test]
fn the_previous_rounds_values_travel_with_an_assessment_for_the_cross_round_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    let round = |code: &str, number: u32, status: RoundStatus| Round {
        code: code.into(),
        number,
        title: code.into(),
        title_ar: String::new(),
        window_start: "2024-01-01".into(),
        window_end: "2024-02-01".into(),
        status,
        forms: vec![("baladiya".into(), 2)],
    };
    let r53 = AssessmentKey::new("R53", "baladiya", Pcode::parse("LY021104").unwrap());
    let published = RemoteAssessment {
        key: r53,
        status: AssessmentStatus::Approved,
        form_version: 2,
        version: 1,
        open_conflicts: 0,
        fields: [("idp_ind".to_string(), (json!(1000), 1))].into(),
        comments: vec![],
    };
    store
        .apply_pull_page(
            &[round("R53", 53, RoundStatus::Published), round("R54", 54, RoundStatus::Open)],
            &[published],
            "e1:1",
            &now(2),
        )
        .unwrap();
    let r54 = AssessmentKey::new("R54", "baladiya", Pcode::parse("LY021104").unwrap());
    let record = store.set_field(&r54, "idp_ind", json!(1600), &now(3)).unwrap();
    let (round_code, values) = record.previous.clone().expect("R53 holds this baladiya");
    assert_eq!((round_code.as_str(), &values["idp_ind"]), ("R53", &json!(1000)));
    let form = dtm_core::Forms::shipped().get("baladiya", 2).unwrap();
    let issues = form.check(&record.values, record.context());
    assert!(
        issues.iter().any(|i| i.rule == "change:idp_ind"),
        "+60% against R53 must ask for a justification: {issues:?}"
    );
    let err = store.set_field(
        &AssessmentKey::new("R53", "baladiya", Pcode::parse("LY021104").unwrap()),
        "idp_ind",
        json!(1),
        &now(4),
    );
    assert_eq!(err.unwrap_err().code(), "round_not_open", "a published round is frozen on the device too");
}

#[test]
fn several_fields_saved_together_are_all_kept_or_all_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    let bad = [("idp_hh".to_string(), json!(4)), ("idp_ind".to_string(), json!(-1))];
    assert_eq!(store.set_fields(&tripoli(), &bad, &now(2)).unwrap_err().code(), "negative_count");
    assert_eq!(count(&store, "SELECT count(*) FROM field_values"), 0, "one bad value refuses the whole save");
    let good = [("idp_hh".to_string(), json!(4)), ("idp_ind".to_string(), json!(9))];
    let record = store.set_fields(&tripoli(), &good, &now(3)).unwrap();
    assert_eq!((record.values["idp_hh"].clone(), record.values["idp_ind"].clone()), (json!(4), json!(9)));
    let ops = store.pending_ops(10).unwrap();
    assert_eq!(ops.len(), 1, "one save is one operation, so HQ applies it whole or refuses it whole");
    assert_eq!(ops[0].edits.keys().collect::<Vec<_>>(), ["idp_hh", "idp_ind"]);
    assert_eq!(count(&store, "SELECT count(*) FROM audit"), 1, "one save is one audit row");
    let trail = store.audit_trail(&tripoli()).unwrap();
    assert_eq!(
        trail.iter().map(|e| (e.field.as_deref(), e.new_value.as_deref())).collect::<Vec<_>>(),
        [(Some("idp_hh"), Some("4")), (Some("idp_ind"), Some("9"))],
        "the audit trail still reads a field at a time"
    );
}

#[test]
fn voiding_keeps_every_value_queues_a_tombstone_and_refuses_later_edits() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    assert_eq!(store.void(&tripoli(), "entered by mistake", &now(1)).unwrap_err().code(), "invalid_transition");
    store.set_field(&tripoli(), "idp_hh", json!(4), &now(2)).unwrap();
    let record = store.void(&tripoli(), "entered by mistake", &now(3)).unwrap();
    assert_eq!(record.status, AssessmentStatus::Voided);
    assert_eq!(record.values["idp_hh"], json!(4), "a void deletes nothing");
    let ops = store.pending_ops(10).unwrap();
    assert_eq!((ops[1].kind, ops[1].reason.as_deref()), (OpKind::Void, Some("entered by mistake")));
    assert_eq!(store.set_field(&tripoli(), "idp_hh", json!(5), &now(4)).unwrap_err().code(), "invalid_transition");
}

#[test]
fn a_void_reason_longer_than_hq_accepts_is_refused_on_the_device_and_nothing_is_queued() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    store.set_field(&tripoli(), "idp_hh", json!(4), &now(1)).unwrap();
    let long = "x".repeat(dtm_core::TextKind::Reason.max_chars() + 1);
    assert_eq!(
        store.void(&tripoli(), &long, &now(2)).unwrap_err().code(),
        "text_too_long",
        "HQ would reject the tombstone; the enumerator must hear it now, not after a sync"
    );
    assert_eq!(store.pending_ops(10).unwrap().len(), 1, "only the edit is queued");
}

#[test]
fn a_version_1_store_is_migrated_to_documents_keeping_its_values_and_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite3");
    {
        let mut conn = Connection::open(&path).unwrap();
        sqlite::migrate(&mut conn, &MIGRATIONS[..1]).unwrap();
        conn.execute_batch(
            "INSERT INTO assessments (round, form, location, status, form_version, server_version, updated_at)
             VALUES ('R1', 'baladiya', 'LY021104', 'draft', 2, 1, 'now');
             INSERT INTO field_values (round, form, location, field, value, server_value, server_version, updated_at)
             VALUES ('R1', 'baladiya', 'LY021104', 'idp_hh', '3', '2', 1, 'now'),
                    ('R1', 'baladiya', 'LY021104', 'idp_note', '\"ok\"', '\"ok\"', 4, 'now');
             INSERT INTO outbox (seq, op_id, round, form, location, kind, field, value, base_version, hlc, form_version, created_at)
             VALUES (1, 'x', 'R1', 'baladiya', 'LY021104', 'set_field', 'idp_hh', '3', 1, '000000000000001-0000000000', 2, 'now');",
        )
        .unwrap();
    }
    let mut store = Store::open(&path).unwrap();
    let ops = store.pending_ops(10).unwrap();
    assert_eq!(ops.len(), 1, "an upgrade must never lose an unsent operation");
    assert_eq!(
        (ops[0].kind, ops[0].edits.clone()),
        (OpKind::Edit, BTreeMap::from([("idp_hh".to_string(), (json!(3), 1))])),
        "a queued single-field write becomes a one-field edit with the same base version"
    );
    let values = values_of(&store.conn, &tripoli()).unwrap();
    assert_eq!(values, BTreeMap::from([("idp_hh".into(), json!(3)), ("idp_note".into(), json!("ok"))]));
    let server = server_fields(&store.conn, &tripoli()).unwrap();
    assert_eq!(server["idp_hh"], (json!(2), 1), "HQ's version stays beside the unsent local value");
    assert_eq!(server["idp_note"], (json!("ok"), 4));
    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM field_values WHERE field = 'idp_hh' AND value = '3' AND server_version = 1"
        ),
        1,
        "the field_values view reads the document a field at a time"
    );
    // A later pull keeps the pending value and takes the other.
    let remote = RemoteAssessment {
        key: tripoli(),
        status: AssessmentStatus::Draft,
        form_version: 2,
        version: 2,
        open_conflicts: 0,
        fields: BTreeMap::from([("idp_hh".into(), (json!(7), 2)), ("idp_note".into(), (json!("new"), 5))]),
        comments: vec![],
    };
    store.apply_pull_page(&[], &[remote], "e1:5", &now(9)).unwrap();
    let values = values_of(&store.conn, &tripoli()).unwrap();
    assert_eq!((values["idp_hh"].clone(), values["idp_note"].clone()), (json!(3), json!("new")));
}

#[test]
fn refusals_conflicts_and_superseded_edits_are_counted_apart() {
    // Regression: `dtm status` counted every operation not pending as "rejected", so a
    // device with conflicts and no refusal at all showed `rejected 51`.
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    for (i, field) in ["idp_hh", "idp_ind", "ret_hh", "ret_ind"].into_iter().enumerate() {
        store.set_field(&tripoli(), field, json!(i + 1), &now(10 + i as u64)).unwrap();
    }
    let ops = store.pending_ops(10).unwrap();
    store
        .record_outcomes(
            &[
                Answer::new(&ops[0].op_id, OpOutcome::Conflict),
                Answer::new(&ops[1].op_id, OpOutcome::Conflict),
                Answer::new(&ops[2].op_id, OpOutcome::Rejected).because(ErrorCode::RoundNotOpen, "round R1 is closed"),
                Answer::new(&ops[3].op_id, OpOutcome::Superseded)
                    .because(ErrorCode::Superseded, "newer values of ret_ind"),
            ],
            "2026-11-21T10:00:20Z",
            &now(21),
        )
        .unwrap();
    let counts = store.sync_counts().unwrap();
    assert_eq!(
        (counts.pending, counts.rejected, counts.conflicts, counts.superseded),
        (0, 1, 2, 1),
        "a refusal, a conflict and a superseded edit ask different things of the enumerator"
    );
    let states: Vec<String> = store.rejected_ops().unwrap().into_iter().map(|o| o.state.as_str().to_owned()).collect();
    assert_eq!(states, ["conflict", "conflict", "rejected", "superseded"], "each set-aside operation says which");
}

#[test]
fn the_sent_log_matches_each_answer_to_its_op_id_after_the_operation_leaves_the_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    store.set_field(&tripoli(), "idp_hh", json!(12), &now(10)).unwrap();
    store.set_field(&tripoli(), "idp_ind", json!(40), &now(11)).unwrap();
    let ops = store.pending_ops(10).unwrap();
    let mut dup = Answer::new(&ops[1].op_id, OpOutcome::Applied);
    dup.duplicate = true;
    store
        .record_outcomes(&[Answer::new(&ops[0].op_id, OpOutcome::Applied), dup], "2026-11-21T10:00:20Z", &now(21))
        .unwrap();
    assert_eq!(count(&store, "SELECT count(*) FROM outbox"), 0, "applied operations leave the outbox");
    let log = store.sent_log(10).unwrap();
    let seen: Vec<(&str, u64, OpOutcome, bool)> =
        log.iter().map(|e| (e.op_id.as_str(), e.seq, e.outcome, e.duplicate)).collect();
    assert_eq!(
        seen,
        [(ops[1].op_id.as_str(), 2, OpOutcome::Applied, true), (ops[0].op_id.as_str(), 1, OpOutcome::Applied, false)],
        "regression: nothing on the device could be matched to HQ once applied operations left the outbox"
    );
    assert_eq!((log[0].key.clone(), log[0].kind.as_str()), (tripoli(), "edit"));
    assert_eq!(
        (log[0].sent_at.as_str(), log[0].answered_at.as_str()),
        ("2026-11-21T10:00:20Z", "2026-11-21T10:00:21Z")
    );
    let trail = store.audit_trail(&tripoli()).unwrap();
    assert_eq!(
        trail.iter().map(|a| a.op_id.as_deref()).collect::<Vec<_>>(),
        [Some(ops[0].op_id.as_str()), Some(ops[1].op_id.as_str())],
        "each audit row names the operation that carried it to HQ"
    );
}

#[test]
fn the_sent_log_keeps_only_the_newest_entries() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    store
        .conn
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO sent (op_id, seq, round, form, location, kind, outcome, created_at, sent_at, answered_at)
             SELECT 'old-' || i, i, 'R1', 'baladiya', 'LY021104', 'edit', 'applied', 't', 't', 't' FROM n",
            [SENT_LOG_KEEP],
        )
        .unwrap();
    store.set_field(&tripoli(), "idp_hh", json!(12), &now(10)).unwrap();
    let op = store.pending_ops(1).unwrap().remove(0);
    store.record_outcomes(&[Answer::new(&op.op_id, OpOutcome::Applied)], "t", &now(21)).unwrap();
    assert_eq!(count(&store, "SELECT count(*) FROM sent"), i64::from(SENT_LOG_KEEP), "the log is bounded");
    assert_eq!(count(&store, "SELECT count(*) FROM sent WHERE op_id = 'old-1'"), 0, "the oldest entry goes first");
    assert_eq!(store.sent_log(1).unwrap()[0].op_id, op.op_id, "the newest answer is kept");
}

#[test]
fn a_logout_forgets_the_token_at_once_and_remembers_to_tell_hq() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    let pending = store.logout(&now(30)).unwrap().expect("a logged-in device has a token to revoke");
    assert!(store.session().unwrap().is_none(), "the local credentials are forgotten at once");
    assert_eq!(store.pending_logouts().unwrap(), std::slice::from_ref(&pending), "HQ must still hear of it");
    assert!(!format!("{pending:?}").contains("\"token\""), "the token stays out of logs: {pending:?}");
    assert_eq!(store.sync_counts().unwrap().pending_logouts, 1);
    drop(store);
    let mut store = Store::open(&dir.path().join("device.sqlite3")).unwrap();
    assert_eq!(store.pending_logouts().unwrap().len(), 1, "the pending logout survives a restart");
    store.forget_pending_logout(&pending.token).unwrap();
    assert!(store.pending_logouts().unwrap().is_empty());
    assert_eq!(store.logout(&now(31)).unwrap(), None, "logging out twice has nothing more to revoke");
}

#[test]
fn whether_hq_answered_last_time_is_kept_across_processes() {
    // Regression: `dtm status --json` said `"online": false` right after a successful
    // sync, because reachability lived only in the memory of the process that synced.
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    assert_eq!(store.sync_counts().unwrap().hq_reachable, None, "never tried: unknown");
    store.record_sync(&now(40), None, Some(true)).unwrap();
    drop(store);
    let mut store = Store::open(&dir.path().join("device.sqlite3")).unwrap();
    assert_eq!(store.sync_counts().unwrap().hq_reachable, Some(true), "a new process must see the last answer");
    store.record_sync(&now(41), Some((ErrorCode::NotLoggedIn, "nobody")), None).unwrap();
    assert_eq!(store.sync_counts().unwrap().hq_reachable, Some(true), "a sync that never reached out changes nothing");
    store.record_sync(&now(42), Some((ErrorCode::Offline, "refused")), Some(false)).unwrap();
    assert_eq!(store.sync_counts().unwrap().hq_reachable, Some(false));
}

#[test]
fn gazetteer_changes_from_hq_are_kept_across_a_restart_and_a_reset_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    let new = dtm_core::Gazetteer::libya()
        .plan_add(dtm_core::LocationInput {
            pcode: "LY02110499".into(),
            name_en: "New quarter".into(),
            name_ar: "الحي الجديد".into(),
            ..Default::default()
        })
        .unwrap();
    let retired = dtm_core::Location { retired: true, ..dtm_core::Gazetteer::libya().get("LY021101").unwrap().clone() };
    assert_eq!(store.gazetteer_cursor().unwrap(), None, "a new device asks for the changes from the start");
    store.apply_gazetteer(false, &[new.clone(), retired], "e1:7").unwrap();
    let baladiyas = |s: &Store| -> Vec<String> {
        s.assessments("R1", "baladiya").unwrap().iter().map(|r| r.key.location.to_string()).collect()
    };
    assert!(
        !baladiyas(&store).contains(&"LY021101".to_owned()),
        "a retired baladiya with nothing recorded is not offered"
    );

    drop(store);
    let mut store = Store::open(&dir.path().join("device.sqlite3")).unwrap();
    assert_eq!(store.places().get("LY02110499"), Some(&new), "what HQ sent survives a restart of the app");
    assert_eq!(store.gazetteer_cursor().unwrap().as_deref(), Some("e1:7"));
    assert!(!baladiyas(&store).contains(&"LY021101".to_owned()));

    // Another HQ (a restored one) sends its changes from the start: they replace ours.
    store.apply_gazetteer(true, &[], "e2:0").unwrap();
    assert!(store.places().get("LY02110499").is_none(), "a reset drops what the earlier HQ sent");
    assert!(baladiyas(&store).contains(&"LY021101".to_owned()), "and brings back what it had retired");
}

#[test]
fn a_baladiya_is_checked_against_its_muhallas_only_once_all_of_them_are_entered() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    let r2 = Round { code: "R2".into(), number: 2, forms: vec![("baladiya".into(), 3), ("muhalla".into(), 2)], ..r1() };
    store.apply_pull_page(&[r2], &[], "e1:1", &now(2)).unwrap();
    let baladiya = AssessmentKey::new("R2", "baladiya", Pcode::parse("LY021104").unwrap());
    let idps = |n: i64| vec![("idp_present".to_owned(), json!("yes")), ("idp_ind".to_owned(), json!(n))];
    store.set_fields(&baladiya, &idps(1000), &now(3)).unwrap();
    let muhallas: Vec<Pcode> =
        dtm_core::Gazetteer::libya().to_assess(&Scope::new(["LY021104"]), 4).map(|l| l.pcode.clone()).collect();
    let aggregate = |store: &Store| {
        let record = store.assessment(&baladiya).unwrap();
        let form = dtm_core::Forms::shipped().get("baladiya", 3).unwrap();
        form.check(&record.values, record.context()).into_iter().filter(|i| i.rule == "aggregate:idp_ind").count()
    };
    for (i, m) in muhallas.iter().enumerate() {
        assert_eq!(
            aggregate(&store),
            0,
            "{i} of {} muhallas entered: no justification is asked for yet",
            muhallas.len()
        );
        store.set_fields(&AssessmentKey::new("R2", "muhalla", m.clone()), &idps(10), &now(10 + i as u64)).unwrap();
    }
    assert_eq!(aggregate(&store), 1, "every muhalla entered and they add up to less than 1,000: the baladiya is asked");
}

/// Every byte of the store's files (the database and any write-ahead log), as one
/// buffer to search.
fn bytes_on_disk(dir: &tempfile::TempDir) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        all.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// What an enumerator writes that must never be readable from the disk.
const SECRETS: &[&str] = &["LY021104", "enumerator", "Demo enumerator", "idp_hh", "481739", "Tripoli"];

fn encrypted_store_with_work(dir: &tempfile::TempDir, key: &vault::DataKey) {
    let mut store = Store::open_encrypted(&dir.path().join("device.sqlite3"), key).unwrap();
    log_in(&mut store);
    store.set_field(&tripoli(), "idp_hh", json!(481_739), &now(10)).unwrap();
    store.set_field(&tripoli(), "idp_ind", json!(1_926_845), &now(11)).unwrap();
}

#[test]
fn an_encrypted_store_holds_none_of_the_p_codes_names_or_values_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let key = vault::DataKey::random();
    encrypted_store_with_work(&dir, &key);
    let disk = bytes_on_disk(&dir);
    assert!(disk.len() > 4096, "the store was written");
    for secret in SECRETS {
        assert!(!contains(&disk, secret), "`{secret}` must not be readable from a stolen laptop's disk");
    }
    // The same work in a plain store does show them: the check above can fail.
    let plain_dir = tempfile::tempdir().unwrap();
    let mut plain = logged_in_store(&plain_dir);
    plain.set_field(&tripoli(), "idp_hh", json!(4817), &now(10)).unwrap();
    drop(plain);
    let plain_disk = bytes_on_disk(&plain_dir);
    assert!(contains(&plain_disk, "LY021104") && contains(&plain_disk, "Demo enumerator"), "the control must leak");
}

#[test]
fn an_encrypted_store_opens_with_its_key_and_with_no_other() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite3");
    let key = vault::DataKey::random();
    encrypted_store_with_work(&dir, &key);
    let wrong = Store::open_encrypted(&path, &vault::DataKey::random()).err().expect("another key must not open it");
    assert_eq!(wrong.code(), ErrorCode::KeyFileDamaged, "{wrong}");
    let plain = Store::open(&path).err().expect("no key at all must not open it");
    assert_eq!(plain.code(), ErrorCode::DatabaseError, "{plain}");
    let store = Store::open_encrypted(&path, &key).expect("its own key opens it");
    assert_eq!(store.assessment(&tripoli()).unwrap().values["idp_hh"], json!(481_739), "and the work is all there");
    assert_eq!(store.pending_ops(10).unwrap().len(), 2, "the outbox too");
}

#[test]
fn a_plain_store_from_an_older_app_is_encrypted_in_place_with_its_outbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.sqlite3");
    let mut plain = logged_in_store(&dir);
    plain.set_field(&tripoli(), "idp_hh", json!(481_739), &now(10)).unwrap();
    let device_id = plain.device_id().unwrap();
    drop(plain);
    let key = vault::DataKey::random();
    let store = Store::open_encrypted(&path, &key).expect("a plain store is taken over, not refused");
    assert_eq!(store.device_id().unwrap(), device_id, "the device keeps its identity");
    assert_eq!(store.pending_ops(10).unwrap().len(), 1, "an unsent edit survives the encryption");
    assert_eq!(store.assessment(&tripoli()).unwrap().values["idp_hh"], json!(481_739));
    assert!(store.session().unwrap().is_some(), "the session survives");
    drop(store);
    assert!(!sqlite::is_plain(&path).unwrap(), "the file is now encrypted");
    let disk = bytes_on_disk(&dir);
    for secret in SECRETS.iter().filter(|s| **s != "Tripoli") {
        assert!(!contains(&disk, secret), "`{secret}` must not survive in plain text beside the encrypted store");
    }
}

#[test]
fn a_new_store_takes_the_id_hq_gave_but_one_that_has_queued_work_keeps_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = logged_in_store(&dir);
    assert!(store.adopt_device_id("from-hq-1").unwrap(), "a store with nothing queued takes HQ's id");
    assert_eq!(store.device_id().unwrap(), "from-hq-1");
    store.set_field(&tripoli(), "idp_hh", json!(12), &now(10)).unwrap();
    assert!(!store.adopt_device_id("from-hq-2").unwrap(), "an operation already carries the id");
    assert_eq!(store.device_id().unwrap(), "from-hq-1", "so it must not change under it");
}

#[test]
fn a_pulled_assessments_values_are_hqs_except_where_a_pending_operation_names_the_field() {
    // Every way a field can stand: only local, only at HQ, at both; pending or not.
    // The merged document is written straight from both maps; it must equal copying
    // the local map and putting HQ's values over it, field by field.
    let names = ["a", "b", "c", "d", "e", "f", "g", "h"];
    for mask in 0u32..(1 << 12) {
        let pick = |shift: u32, i: usize| (mask >> shift) & (1 << (i % 4)) != 0;
        let local: BTreeMap<String, FieldValue> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| pick(0, *i) || *i >= 6)
            .map(|(i, f)| (f.to_string(), json!(i)))
            .collect();
        let remote: BTreeMap<String, (FieldValue, u64)> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| pick(4, *i) || *i == 7)
            .map(|(i, f)| (f.to_string(), (json!(format!("hq{i}")), 2)))
            .collect();
        let pending_names: Vec<String> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| pick(8, *i) && *i < 4 || *i == 6)
            .map(|(_, f)| f.to_string())
            .collect();
        let pending: std::collections::BTreeSet<&String> = pending_names.iter().collect();
        let mut expected = local.clone();
        for (field, (value, _)) in &remote {
            if !pending.contains(field) {
                expected.insert(field.clone(), value.clone());
            }
        }
        let merged = serde_json::to_string(&Merged { local: &local, remote: &remote, pending: &pending }).unwrap();
        assert_eq!(
            merged,
            serde_json::to_string(&expected).unwrap(),
            "HQ's value replaces a local one unless the enumerator's own edit of it waits in the outbox (case {mask})"
        );
    }
}

#[test]
fn a_json_objects_entries_read_into_a_map_keep_the_last_of_a_repeated_key() {
    let map = sqlite::parse_json_map::<i64>(0, r#"{"b": 1, "a": 2, "b": 3, "c": 4}"#).unwrap();
    assert_eq!(map, BTreeMap::from([("a".into(), 2), ("b".into(), 3), ("c".into(), 4)]), "as reading into a map would");
    assert!(sqlite::parse_json_map::<i64>(0, "[1]").is_err(), "an array is no object: an error, not an empty map");
    assert!(sqlite::parse_json_map::<i64>(0, r#"{"a": "x"}"#).is_err(), "a value of the wrong type is an error");
}
