//! HQ's service layer, the same on every backend: it loads state through the narrow
//! [`Store`] primitives, lets dtm-core's pure functions decide (`plan_op`,
//! `plan_settlement`, `workflow::review`), and writes what they decided, all in one
//! transaction. The routes call it through [`HqStorage`].

use crate::storage::{
    Actor, AuditFilter, Caller, CheckContext, DeviceSeen, HqStorage, LoginFailures, NewDevice, NewEnrolment, NewUser,
    PullPage, Result, StorageError, StoredEnrolment, StoredUser, Values, NO_PASSWORD,
};
use crate::store::{
    iso, to_micros, ChangeAuthor, Doc, DocField, Head, NewAssessment, NewChange, NewConflict, OpRecord, SeenOp, Store,
    Tx, Writes,
};
use async_trait::async_trait;
use dtm_core::accounts::{self, Managed};
use dtm_core::form::{Child, Context};
use dtm_core::import::ImportRecord;
use dtm_core::plan::{
    plan_op, plan_settlement, Change, Held, Incoming, OpPlan, Outcome as PlanOutcome, SettlementPlan,
};
use dtm_core::ErrorCode;
use dtm_core::{
    workflow, AssessmentKey, AssessmentStatus, FieldVersion, FormDef, Forms, Hlc, ReviewDecision, Round, RoundStatus,
    Scope, Settlement,
};
use dtm_core::{Gazetteer, Location, LocationChange, LocationError, LocationInput, Pcode, Role};
use dtm_sync::accounts::{Account, AccountChange, AuditEntry, DeviceInfo, NewAccount};
use dtm_sync::api::LocationRef;
use dtm_sync::wire::{
    AssessmentSnapshot, Conflict, ConflictStatus, OpBody, OpResult, Operation, Outcome, SettledConflict, User,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use time::OffsetDateTime;

/// HQ over one backend.
pub struct Hq<S> {
    store: Arc<S>,
    /// The gazetteer as last read, and the change sequence it was read up to. Only a
    /// cache: every use asks the database for changes after it, so a location another
    /// HQ process added is seen at once.
    places: Arc<std::sync::Mutex<(u64, Arc<Gazetteer>)>>,
    /// The forms HQ checks and serves, every version.
    forms: Forms,
}

impl<S> Clone for Hq<S> {
    fn clone(&self) -> Self {
        Self { store: self.store.clone(), places: self.places.clone(), forms: self.forms.clone() }
    }
}

impl<S: Store> Hq<S> {
    pub fn new(store: S) -> Self {
        let places = (0, Arc::new(Gazetteer::libya().clone()));
        let forms = Forms::shipped().clone();
        Self { store: Arc::new(store), places: Arc::new(std::sync::Mutex::new(places)), forms }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    async fn write<T: Send + 'static>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T> + Send + 'static) -> Result<T> {
        let store = self.store.clone();
        blocking(move || store.write(f)).await
    }

    async fn read<T: Send + 'static>(&self, f: impl FnOnce(&mut dyn Tx) -> Result<T> + Send + 'static) -> Result<T> {
        let store = self.store.clone();
        blocking(move || store.read(f)).await
    }
}

/// Runs `f` on the blocking pool: the stores' calls block.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| StorageError::Internal(anyhow::anyhow!("storage task failed: {e}")))?
}

/// Change numbers and change ids for one transaction, allotted a block at a time: one
/// statement per block rather than one per operation.
struct Allot {
    block: u32,
    seqs: std::ops::Range<u64>,
    ids: std::ops::Range<i64>,
}

impl Allot {
    /// For a transaction that writes at most about `writes` changes.
    fn new(writes: usize) -> Self {
        Self { block: writes.clamp(1, 10_000) as u32, seqs: 0..0, ids: 0..0 }
    }

    fn seq(&mut self, tx: &mut dyn Tx) -> Result<u64> {
        if self.seqs.is_empty() {
            let first = tx.allot_change_seqs(self.block)?;
            self.seqs = first..first + u64::from(self.block);
        }
        Ok(self.seqs.next().expect("a block is never empty"))
    }

    fn id(&mut self, tx: &mut dyn Tx) -> Result<i64> {
        if self.ids.is_empty() {
            let first = tx.allot_change_ids(self.block)?;
            self.ids = first..first + i64::from(self.block);
        }
        Ok(self.ids.next().expect("a block is never empty"))
    }
}

/// One assessment's snapshot.
fn snapshot(tx: &mut dyn Tx, id: i64) -> Result<AssessmentSnapshot> {
    tx.snapshots(&[id])?
        .pop()
        .ok_or_else(|| StorageError::Internal(anyhow::anyhow!("assessment {id} vanished mid-transaction")))
}

fn field_values(tx: &mut dyn Tx, id: i64) -> Result<Values> {
    Ok(values_of(tx.doc(id)?))
}

/// A document's values, without their versions and changes.
fn values_of(doc: Doc) -> Values {
    doc.into_iter().map(|(f, d)| (f, d.0)).collect()
}

/// Gives the assessment a new version and a fresh change sequence, so the next pull
/// carries it; with `doc`, its fields are written too.
fn touch(
    tx: &mut dyn Tx,
    allot: &mut Allot,
    id: i64,
    status: AssessmentStatus,
    doc: Option<&Doc>,
    at: OffsetDateTime,
) -> Result<()> {
    let seq = allot.seq(tx)?;
    tx.update_assessment(id, status, seq, doc, at)
}

/// Creates a round inside a transaction; refuses a code or number already used.
fn create_round(tx: &mut dyn Tx, round: &Round) -> Result<()> {
    if tx.round_taken(&round.code, round.number)? {
        return Err(StorageError::Conflict {
            code: ErrorCode::RoundExists,
            message: format!("a round with code {} or number {} already exists", round.code, round.number),
        });
    }
    tx.write_round(round)
}

/// Who and what a supervisor settling conflicts needs to see: each side's display name
/// and device name (not a username and a hash), and the field's value in the previous
/// round that has the location.
fn with_context(tx: &mut dyn Tx, conflicts: &mut [Conflict]) -> Result<()> {
    if conflicts.is_empty() {
        return Ok(());
    }
    let names: HashMap<String, String> =
        tx.users()?.into_iter().map(|(u, _)| (u.user.username, u.user.display_name)).collect();
    let devices: HashMap<String, Option<String>> = tx.devices()?.into_iter().map(|d| (d.device_id, d.name)).collect();
    let mut previous: HashMap<AssessmentKey, Option<(String, Values)>> = HashMap::new();
    for c in conflicts.iter_mut() {
        for side in [&mut c.current, &mut c.incoming] {
            side.author_name = names.get(&side.author).cloned();
            side.device_name = devices.get(&side.device).cloned().flatten();
        }
        if !previous.contains_key(&c.key) {
            let found = previous_of(tx, &c.key)?;
            previous.insert(c.key.clone(), found);
        }
        c.previous = previous[&c.key].as_ref().and_then(|(round, values)| {
            values.get(&c.field).map(|v| dtm_sync::wire::PreviousValue { round: round.clone(), value: v.clone() })
        });
    }
    Ok(())
}

/// The same location and form in the latest earlier round that has it: its round and values.
fn previous_of(tx: &mut dyn Tx, key: &AssessmentKey) -> Result<Option<(String, Values)>> {
    match tx.previous_assessment(key)? {
        Some((id, round)) => Ok(Some((round, field_values(tx, id)?))),
        None => Ok(None),
    }
}

/// The same location and form in the latest earlier round, with its values, for each
/// of `keys`: read for all of a round's keys at once (a few statements for a list).
fn previous_rounds_of(tx: &mut dyn Tx, keys: &[&AssessmentKey]) -> Result<Vec<Option<(String, Values)>>> {
    let mut previous = Vec::with_capacity(keys.len());
    for same_round in keys.chunk_by(|a, b| a.round == b.round) {
        let found = tx.previous_assessments(same_round)?;
        let ids: Vec<i64> = found.values().map(|(id, _)| *id).collect();
        let mut docs = tx.docs(&ids)?;
        for key in same_round {
            previous.push(
                found.get(*key).map(|(id, round)| (round.clone(), values_of(docs.remove(id).unwrap_or_default()))),
            );
        }
    }
    Ok(previous)
}

/// What the cross-round and cross-level checks of an assessment (with its child form,
/// if it has one) compare against: its previous round, and the child form's
/// assessments inside it in the same round as the aggregate check counts them
/// ([`dtm_core::form::aggregate_children`]).
fn context_in(
    tx: &mut dyn Tx,
    forms: &Forms,
    places: &Gazetteer,
    key: &AssessmentKey,
    child: Option<&str>,
) -> Result<CheckContext> {
    let previous = previous_rounds_of(tx, &[key])?.pop().flatten();
    let Some(child_form) = child else { return Ok((previous, None)) };
    let ids = tx.children(&key.round, child_form, key.location.as_str())?;
    let found = if ids.is_empty() { Vec::new() } else { tx.snapshots(&ids)? };
    let values: Vec<Values> =
        found.iter().map(|s| s.fields.iter().map(|(f, v)| (f.clone(), v.value.clone())).collect()).collect();
    let children: Vec<Child<'_>> = found
        .iter()
        .zip(&values)
        .map(|(s, v)| Child {
            location: &s.key.location,
            status: s.status,
            form: forms.get(&s.key.form, s.form_version),
            values: v,
        })
        .collect();
    Ok((previous, dtm_core::form::aggregate_children(forms, places, &key.location, child_form, &children)))
}

/// What blocks submitting the assessment as HQ holds it, against its previous round
/// and its child assessments.
fn submission_blockers(
    tx: &mut dyn Tx,
    forms: &Forms,
    places: &Gazetteer,
    head: &Head,
    key: &AssessmentKey,
) -> Result<Vec<dtm_core::Issue>> {
    let values = field_values(tx, head.id)?;
    let Some(form) = forms.get(&key.form, head.form_version) else { return Ok(vec![]) };
    let child = form.aggregates.as_ref().map(|a| a.form.as_str());
    let (previous, children) = context_in(tx, forms, places, key, child)?;
    let ctx = Context { previous: previous.as_ref().map(|(r, v)| (r.as_str(), v)), children: children.as_deref() };
    Ok(form.submission_blockers(&values, ctx))
}

/// Who wrote a new assessment's first values: an operation from a device, or an import.
struct Author<'a> {
    op_id: Option<&'a str>,
    name: &'a str,
    device: &'a str,
    hlc: Hlc,
}

/// A new assessment as [`insert_assessment`] wrote it: its id, the change that wrote
/// its first values, and its document.
struct Inserted {
    id: i64,
    change: i64,
    /// Its document, when it was asked for.
    doc: Option<Doc>,
}

/// Writes an assessment HQ does not have yet, its fields at the versions given (1 for
/// a first edit or an import), together with the change that wrote them. Its document
/// is built as a value only with `keep_doc` (for a later operation of the same batch);
/// the stores get it as JSON, written straight from `writes`.
#[allow(clippy::too_many_arguments)] // one new row, column by column
fn insert_assessment(
    tx: &mut dyn Tx,
    allot: &mut Allot,
    key: &AssessmentKey,
    status: AssessmentStatus,
    form_version: u32,
    writes: &Writes<'_>,
    author: &Author<'_>,
    at: OffsetDateTime,
    keep_doc: bool,
) -> Result<Inserted> {
    let change = allot.id(tx)?;
    let json = crate::store::doc_json(writes, change);
    let doc = keep_doc.then(|| crate::store::doc_fields(writes, change).collect());
    let change_seq = allot.seq(tx)?;
    let first = NewChange {
        id: change,
        assessment_id: 0,
        op_id: author.op_id,
        author: author.name,
        device: author.device,
        hlc: author.hlc,
        at,
        fields: writes,
    };
    let id = tx.insert_assessment(&NewAssessment { key, status, form_version, change_seq, at, doc: &json }, &first)?;
    Ok(Inserted { id, change, doc })
}

/// A field's current version at HQ, if it was ever written. `authors` remembers the
/// changes already looked up or written: one operation's fields mostly share one.
fn field_version(
    tx: &mut dyn Tx,
    doc: &Doc,
    field: &str,
    authors: &mut HashMap<i64, ChangeAuthor>,
) -> Result<Option<FieldVersion>> {
    let Some(DocField(value, version, change)) = doc.get(field) else {
        return Ok(None);
    };
    if !authors.contains_key(change) {
        // A field migrated from schema 2 may name no change (id 0): no known author.
        let author = tx.change_author(*change)?.unwrap_or_default();
        authors.insert(*change, author);
    }
    let a = &authors[change];
    Ok(Some(FieldVersion {
        value: value.clone(),
        version: *version,
        author: a.author.clone(),
        device: a.device.clone(),
        hlc: a.hlc,
    }))
}

fn rejected(op: &Operation, code: ErrorCode, reason: impl Into<String>) -> OpResult {
    OpResult {
        op_id: op.op_id.clone(),
        outcome: Outcome::Rejected,
        original: None,
        code: Some(code),
        reason: Some(reason.into()),
    }
}

/// What identifies each operation's content: SHA-256 of the operation as HQ read it.
/// Serialising the same operation twice gives the same bytes (fields and values are
/// kept in sorted maps), so an honest retry always matches.
fn payload_hashes(ops: &[Operation]) -> Vec<String> {
    use sha2::{Digest, Sha256};
    // Each serialised into one buffer used again and again, then hashed at once: the
    // hash fed token by token cost more than the copy.
    let mut bytes = Vec::with_capacity(4096);
    ops.iter()
        .map(|op| {
            bytes.clear();
            serde_json::to_writer(&mut bytes, op).expect("an operation serialises");
            hex::encode(Sha256::digest(&bytes))
        })
        .collect()
}

/// What one push batch reads once: the rounds it names, the gazetteer its
/// submissions are checked against, the documents of the assessments its edits name
/// and the authors of the changes in them. Documents and authors are kept up to date
/// as the batch's operations write, so a device's five saves of one muhalla in one
/// batch read the assessment once, not five times.
struct Batch<'a> {
    forms: &'a Forms,
    places: &'a Gazetteer,
    rounds: BTreeMap<String, Option<Round>>,
    known: Known,
    /// The assessments more than one operation of the batch names: only their new
    /// documents are kept in `known`, since no other operation will read one.
    repeated: std::collections::HashSet<&'a AssessmentKey>,
}

/// The documents and change authors a push batch holds; see [`Batch`].
struct Known {
    docs: HashMap<i64, Doc>,
    authors: HashMap<i64, ChangeAuthor>,
}

impl Known {
    /// The assessment's document as this transaction holds it; taken out, to be
    /// given back by [`Known::keep`] once the operation is written.
    fn take_doc(&mut self, tx: &mut dyn Tx, id: i64) -> Result<Doc> {
        match self.docs.remove(&id) {
            Some(doc) => Ok(doc),
            None => tx.doc(id),
        }
    }

    /// Remembers the document as the database now holds it, and who wrote `change`.
    fn keep(&mut self, id: i64, doc: Doc, change: Option<(i64, ChangeAuthor)>) {
        self.docs.insert(id, doc);
        if let Some((change, author)) = change {
            self.authors.insert(change, author);
        }
    }
}

/// Answers a batch of operations in one transaction: the answer given before to a
/// retry, or the operation applied; the answers are remembered together at the end.
/// `hashes[i]` is the hash of `ops[i]` ([`payload_hashes`]).
fn push_batch(
    tx: &mut dyn Tx,
    forms: &Forms,
    places: &Gazetteer,
    caller: &Caller,
    ops: &[Operation],
    hashes: &[String],
    now: OffsetDateTime,
) -> Result<Vec<OpResult>> {
    let ids: Vec<&str> = ops.iter().map(|op| op.op_id.as_str()).collect();
    let mut seen = tx.seen_ops(&caller.device_id, &ids)?;
    // The batch's assessments as HQ holds them, read once and kept up to date below.
    let keys: Vec<&AssessmentKey> = ops.iter().map(|op| &op.key).collect();
    let mut heads = tx.heads(&keys)?;
    // The documents the edits will read, and the authors of their fields, in one go.
    let mut edited: Vec<i64> = ops
        .iter()
        .filter(|op| matches!(op.body, OpBody::Edit { .. }) && !seen.contains_key(&op.op_id))
        .filter_map(|op| heads.get(&op.key).map(|h| h.id))
        .collect();
    edited.sort_unstable();
    edited.dedup();
    let docs = tx.docs(&edited)?;
    let mut changes: Vec<i64> = docs.values().flat_map(|d| d.values().map(|f| f.2)).collect();
    changes.sort_unstable();
    changes.dedup();
    let authors = tx.change_authors(&changes)?;
    let mut named = std::collections::HashSet::with_capacity(ops.len());
    let repeated = keys.iter().copied().filter(|k| !named.insert(*k)).collect();
    let mut batch = Batch { forms, places, rounds: BTreeMap::new(), known: Known { docs, authors }, repeated };
    let mut allot = Allot::new(ops.len());
    let mut results = Vec::with_capacity(ops.len());
    let mut records = Vec::new();
    for (op, payload) in ops.iter().zip(hashes) {
        if let Some(seen) = seen.get(&op.op_id) {
            // A retry carries the same payload; an op_id sent again with other values is
            // refused, so they are never dropped as a "duplicate".
            if seen.payload_hash.as_ref().is_some_and(|h| h != payload) {
                results.push(rejected(
                    op,
                    ErrorCode::OpIdReused,
                    format!("operation {} was already received with other values; these were not applied", op.op_id),
                ));
            } else {
                results.push(OpResult {
                    op_id: op.op_id.clone(),
                    outcome: Outcome::Duplicate,
                    original: Some(seen.outcome),
                    code: seen.code,
                    reason: seen.reason.clone(),
                });
            }
            continue;
        }
        let result = apply_op(tx, &mut allot, &mut heads, caller, op, &mut batch, now)?;
        // The same operation twice in one batch: the second is a duplicate of the first.
        let answer = SeenOp {
            outcome: result.outcome,
            code: result.code,
            reason: result.reason.clone(),
            payload_hash: Some(payload.clone()),
        };
        seen.insert(op.op_id.clone(), answer);
        records.push(results.len());
        results.push(result);
    }
    let records: Vec<OpRecord<'_>> = records
        .into_iter()
        .map(|i| {
            let (op, result) = (&ops[i], &results[i]);
            OpRecord {
                device_id: &caller.device_id,
                op_id: &op.op_id,
                seq: op.seq,
                outcome: result.outcome,
                code: result.code,
                reason: result.reason.as_deref(),
                at: now,
                payload_hash: &hashes[i],
            }
        })
        .collect();
    tx.record_ops(&records)?;
    Ok(results)
}

/// Applies one operation inside the batch's transaction and says what happened: it
/// loads what [`plan_op`] needs, lets it decide, and writes the plan.
/// `batch` remembers the rounds already read in this batch.
#[allow(clippy::too_many_arguments)] // the operation, and what the batch has read so far
fn apply_op(
    tx: &mut dyn Tx,
    allot: &mut Allot,
    heads: &mut HashMap<AssessmentKey, Head>,
    caller: &Caller,
    op: &Operation,
    batch: &mut Batch<'_>,
    now: OffsetDateTime,
) -> Result<OpResult> {
    if !batch.rounds.contains_key(&op.key.round) {
        let round = tx.round(&op.key.round)?;
        batch.rounds.insert(op.key.round.clone(), round);
    }
    let (forms, places) = (batch.forms, batch.places);
    let Some(round) = &batch.rounds[&op.key.round] else {
        return Ok(rejected(op, ErrorCode::UnknownRound, format!("round {} does not exist at HQ", op.key.round)));
    };
    let key = &op.key;
    let head = heads.get(key).copied();
    let change = match &op.body {
        OpBody::Edit { values, bases } => Change::Edit { values, bases },
        OpBody::Submit => Change::Submit,
        OpBody::Void { reason } => Change::Void { reason },
    };
    // An edit's document is read once: the held versions of the fields it names for
    // the plan, then the new document to write.
    let mut doc = Doc::new();
    let mut held = None;
    let edit = matches!(op.body, OpBody::Edit { .. });
    if let Some(h) = &head {
        let mut fields = BTreeMap::new();
        if let OpBody::Edit { values, .. } = &op.body {
            doc = batch.known.take_doc(tx, h.id)?;
            for field in values.keys() {
                if let Some(current) = field_version(tx, &doc, field, &mut batch.known.authors)? {
                    fields.insert(field.clone(), current);
                }
            }
        }
        held = Some(Held { status: h.status, fields });
    }
    let blockers = match (&head, &op.body) {
        (Some(h), OpBody::Submit) => submission_blockers(tx, forms, places, h, key)?,
        _ => vec![],
    };
    let incoming = Incoming { author: &caller.username, device: &caller.device_id, hlc: op.hlc, change };
    let plan = plan_op(round, key, held.as_ref(), &incoming, &blockers);
    let keep = batch.repeated.contains(key);
    let written = write_plan(tx, allot, head.as_ref(), &mut doc, &plan, caller, op, now, keep)?;
    let author = || ChangeAuthor { author: caller.username.clone(), device: caller.device_id.clone(), hlc: op.hlc };
    if let Written::Created { id, change } = written {
        heads.insert(key.clone(), Head { id, status: plan.status, form_version: plan.create.unwrap_or_default() });
        if keep {
            batch.known.keep(id, doc, Some((change, author())));
        }
    } else if let Some(h) = head {
        if plan.touch {
            heads.insert(key.clone(), Head { status: plan.status, ..h });
        }
        match written {
            Written::Changed { change } if plan.touch => batch.known.keep(h.id, doc, Some((change, author()))),
            // Values written without the document (never planned so): read it again.
            Written::Changed { .. } => {}
            // An edit took the document out: give it back as it was.
            _ if edit => batch.known.keep(h.id, doc, None),
            _ => {}
        }
    }
    let outcome = match plan.outcome {
        PlanOutcome::Applied => Outcome::Applied,
        PlanOutcome::Conflict => Outcome::Conflict,
        PlanOutcome::Superseded => Outcome::Superseded,
        PlanOutcome::Rejected => Outcome::Rejected,
    };
    Ok(OpResult { op_id: op.op_id.clone(), outcome, original: None, code: plan.code, reason: plan.reason })
}

/// What [`write_plan`] wrote of the assessment's values.
enum Written {
    /// Nothing: no new values (a status, a comment or conflicts at most).
    Nothing,
    /// A new assessment and the change that wrote it; its document is in `doc` if it
    /// was to be kept.
    Created { id: i64, change: i64 },
    /// New values as this change, now in `doc`.
    Changed { change: i64 },
}

/// Writes what [`plan_op`] decided: a new assessment, or the values at their new
/// versions as one change, the conflicts with both sides, a comment, the new status.
#[allow(clippy::too_many_arguments)] // the plan, and what it was made from
fn write_plan(
    tx: &mut dyn Tx,
    allot: &mut Allot,
    head: Option<&Head>,
    doc: &mut Doc,
    plan: &OpPlan<'_>,
    caller: &Caller,
    op: &Operation,
    now: OffsetDateTime,
    keep_doc: bool,
) -> Result<Written> {
    if plan.outcome == PlanOutcome::Rejected {
        return Ok(Written::Nothing);
    }
    if let Some(form_version) = plan.create {
        let author = Author { op_id: Some(&op.op_id), name: &caller.username, device: &caller.device_id, hlc: op.hlc };
        let Inserted { id, change, doc: created } =
            insert_assessment(tx, allot, &op.key, plan.status, form_version, &plan.writes, &author, now, keep_doc)?;
        if let Some(created) = created {
            *doc = created;
        }
        return Ok(Written::Created { id, change });
    }
    let Some(head) = head else { return Ok(Written::Nothing) };
    for c in &plan.conflicts {
        // The base value is the one the change that wrote `base_version` of the field left.
        let mut base_value = None;
        if c.base_version > 0 {
            base_value = tx.change_fields(head.id)?.into_iter().find_map(|mut fields| {
                fields.remove(&c.field).filter(|(_, v)| *v == c.base_version).map(|(value, _)| value)
            });
        }
        tx.insert_conflict(&NewConflict {
            assessment_id: head.id,
            field: &c.field,
            kind: c.kind,
            base_version: c.base_version,
            base_value: base_value.as_ref(),
            current: c.current.as_ref(),
            incoming_value: &c.incoming,
            incoming_author: &caller.username,
            incoming_device: &caller.device_id,
            incoming_hlc: op.hlc,
            op_id: &op.op_id,
            at: now,
        })?;
    }
    if let Some(text) = &plan.comment {
        tx.insert_comment(head.id, &caller.username, caller.role, None, text, now)?;
    }
    let mut written = Written::Nothing;
    if !plan.writes.is_empty() {
        let change = allot.id(tx)?;
        tx.insert_change(&NewChange {
            id: change,
            assessment_id: head.id,
            op_id: Some(&op.op_id),
            author: &caller.username,
            device: &caller.device_id,
            hlc: op.hlc,
            at: now,
            fields: &plan.writes,
        })?;
        doc.extend(crate::store::doc_fields(&plan.writes, change));
        written = Written::Changed { change };
    }
    if plan.touch {
        let changed = matches!(written, Written::Changed { .. });
        touch(tx, allot, head.id, plan.status, changed.then_some(&*doc), now)?;
    }
    Ok(written)
}

/// The gazetteer as the database holds it now, inside a transaction: the shipped one
/// with every recorded change. A few hundred rows at most; read whole so that a change
/// is always planned against the latest state, whichever HQ process made the others.
fn gazetteer_in(tx: &mut dyn Tx) -> Result<Gazetteer> {
    let changes = tx.location_changes(0)?;
    Ok(Gazetteer::libya().clone().with_changes(changes.into_iter().map(|(_, l)| l)))
}

/// Records a location's new state, as the next change, and who made it.
fn record_location(tx: &mut dyn Tx, location: &Location, action: &str, by: &str, now: OffsetDateTime) -> Result<()> {
    let seq = tx.allot_change_seqs(1)?;
    tx.insert_location_change(seq, location, by, now)?;
    tx.log_access(now, by, action, location.pcode.as_str())
}

fn location_refused(e: LocationError) -> StorageError {
    let (code, message) = (e.code(), e.to_string());
    match e {
        LocationError::Unknown(_) => StorageError::NotFound(message),
        LocationError::Exists { .. } | LocationError::ChildrenInUse { .. } | LocationError::NothingChanged(_) => {
            StorageError::Conflict { code, message }
        }
        _ => StorageError::Invalid { code, message },
    }
}

fn admin_only(actor: &Actor, what: &str) -> Result<()> {
    if actor.role == Role::Admin {
        Ok(())
    } else {
        Err(StorageError::Denied { code: ErrorCode::Forbidden, message: format!("only an admin may {what}") })
    }
}

/// Registers a login inside a write transaction: a device logging in again as the
/// same user keeps its id, a revoked device stays revoked, and an id another user
/// holds is replaced by a fresh one.
fn register_device(tx: &mut dyn Tx, d: NewDevice) -> Result<String> {
    match tx.device(&d.device_id)? {
        Some(holder) if holder.username == d.username && holder.revoked => Err(StorageError::Conflict {
            code: ErrorCode::DeviceRevoked,
            message: "this device has been revoked at HQ; ask an admin".into(),
        }),
        Some(holder) if holder.username == d.username => {
            tx.renew_device(&d)?;
            Ok(d.device_id)
        }
        holder => {
            // A new device, or one another user holds: never share an identity.
            let d = match holder {
                None => d,
                Some(_) => NewDevice { device_id: uuid::Uuid::now_v7().to_string(), ..d },
            };
            tx.insert_device(&d)?;
            Ok(d.device_id)
        }
    }
}

#[async_trait]
impl<S: Store> HqStorage for Hq<S> {
    async fn epoch(&self) -> Result<String> {
        self.read(|tx| tx.epoch()).await
    }

    async fn put_user(&self, user: NewUser) -> Result<()> {
        let now = to_micros(OffsetDateTime::now_utc());
        self.write(move |tx| tx.put_user(&user, now)).await
    }

    async fn create_user(&self, user: NewUser, actor: &str, now: OffsetDateTime) -> Result<()> {
        let (actor, now) = (actor.to_owned(), to_micros(now));
        self.write(move |tx| {
            if tx.user(&user.username)?.is_some() {
                return Err(StorageError::Conflict {
                    code: ErrorCode::UserExists,
                    message: format!("there is already a user {}", user.username),
                });
            }
            tx.put_user(&user, now)?;
            tx.log_access(now, &actor, &format!("create_{}", user.role.as_str()), &user.username)
        })
        .await
    }

    async fn admin_count(&self) -> Result<usize> {
        self.read(|tx| tx.count_admins()).await
    }

    async fn user_for_login(&self, username: &str) -> Result<Option<StoredUser>> {
        let username = username.to_owned();
        self.read(move |tx| tx.user(&username)).await
    }

    async fn accounts(&self, actor: &Actor) -> Result<Vec<Account>> {
        let (actor, places) = (actor.clone(), self.gazetteer().await?);
        self.read(move |tx| {
            Ok(tx
                .users()?
                .into_iter()
                .filter(|(u, _)| manages(&actor, u).is_ok())
                .map(|(u, devices)| account_of(&places, u, devices))
                .collect())
        })
        .await
    }

    async fn create_account(&self, actor: &Actor, new: NewAccount, now: OffsetDateTime) -> Result<Account> {
        dtm_core::text::check_username(&new.username)?;
        accounts::check_display_name(&new.display_name)?;
        let places = self.gazetteer().await?;
        let scope = clean_scope(&places, new.scope)?;
        accounts::may_manage(actor.manager(), Managed { role: new.role, scope: &scope })?;
        let (actor, now) = (actor.clone(), to_micros(now));
        self.write(move |tx| {
            if tx.user(&new.username)?.is_some() {
                return Err(StorageError::Conflict {
                    code: ErrorCode::UserExists,
                    message: format!("there is already a user {}", new.username),
                });
            }
            let user = NewUser {
                username: new.username.clone(),
                display_name: new.display_name.trim().to_owned(),
                role: new.role,
                scope,
                password_hash: NO_PASSWORD.into(),
                language: new.language.unwrap_or_default(),
                must_change_password: true,
                created_by: Some(actor.username.clone()),
            };
            tx.put_user(&user, now)?;
            let target = format!("{} ({}, {})", user.username, user.role.as_str(), user.scope.join(" "));
            tx.log_access(now, &actor.username, &format!("create_{}", user.role.as_str()), &target)?;
            stored_account(tx, &places, &user.username)
        })
        .await
    }

    async fn change_account(
        &self,
        actor: &Actor,
        username: &str,
        change: AccountChange,
        now: OffsetDateTime,
    ) -> Result<Account> {
        if let Some(name) = &change.display_name {
            accounts::check_display_name(name)?;
        }
        let places = self.gazetteer().await?;
        let scope = change.scope.map(|s| clean_scope(&places, s)).transpose()?;
        let (actor, username, now) = (actor.clone(), username.to_owned(), to_micros(now));
        self.write(move |tx| {
            let before = managed_user(tx, &actor, &username)?;
            let role = change.role.unwrap_or(before.user.role);
            let scope = scope.unwrap_or_else(|| before.user.scope.clone());
            let after = Managed { role, scope: &scope };
            accounts::may_change(
                actor.manager(),
                Managed { role: before.user.role, scope: &before.user.scope },
                after,
            )?;
            if role != before.user.role && before.user.role == Role::Admin {
                if username == actor.username {
                    return Err(accounts::AccountError::Yourself.into());
                }
                if before.disabled_at.is_none() && tx.count_admins()? <= 1 {
                    return Err(accounts::AccountError::LastAdmin.into());
                }
            }
            let name = change.display_name.as_deref().map_or(before.user.display_name.as_str(), str::trim).to_owned();
            let language = change.language.unwrap_or(before.language);
            tx.update_user(&username, &name, role, &scope, language)?;
            let mut what = Vec::new();
            if role != before.user.role {
                what.push(format!("role {} → {}", before.user.role.as_str(), role.as_str()));
            }
            if scope != before.user.scope {
                what.push(format!("scope {} → {}", before.user.scope.join(" "), scope.join(" ")));
            }
            if name != before.user.display_name {
                what.push("display name".to_owned());
            }
            if language != before.language {
                what.push(format!("language {}", language.as_str()));
            }
            let target = format!("{username}: {}", if what.is_empty() { "no change".into() } else { what.join("; ") });
            tx.log_access(now, &actor.username, "change_user", &target)?;
            stored_account(tx, &places, &username)
        })
        .await
    }

    async fn set_disabled(
        &self,
        actor: &Actor,
        username: &str,
        disabled: bool,
        now: OffsetDateTime,
    ) -> Result<Account> {
        let (actor, username, now) = (actor.clone(), username.to_owned(), to_micros(now));
        let places = self.gazetteer().await?;
        self.write(move |tx| {
            let user = managed_user(tx, &actor, &username)?;
            if disabled && username == actor.username {
                return Err(accounts::AccountError::Yourself.into());
            }
            if disabled && user.user.role == Role::Admin && user.disabled_at.is_none() && tx.count_admins()? <= 1 {
                return Err(accounts::AccountError::LastAdmin.into());
            }
            if disabled != user.disabled_at.is_some() {
                tx.set_disabled(&username, disabled.then_some(now))?;
                tx.log_access(now, &actor.username, if disabled { "disable_user" } else { "enable_user" }, &username)?;
            }
            stored_account(tx, &places, &username)
        })
        .await
    }

    async fn reset_password(&self, actor: &Actor, username: &str, hash: String, now: OffsetDateTime) -> Result<()> {
        let (actor, username, now) = (actor.clone(), username.to_owned(), to_micros(now));
        self.write(move |tx| {
            managed_user(tx, &actor, &username)?;
            accounts::may_set_password(actor.manager(), &username)?;
            tx.set_password(&username, &hash, true)?;
            let ended = tx.end_user_sessions(&username, now)?;
            tx.clear_login_failures(&username)?;
            tx.log_access(now, &actor.username, "reset_password", &format!("{username} ({ended} sessions ended)"))
        })
        .await
    }

    async fn change_password(&self, caller: &Caller, hash: String, now: OffsetDateTime) -> Result<()> {
        let (username, now) = (caller.username.clone(), to_micros(now));
        self.write(move |tx| {
            tx.set_password(&username, &hash, false)?;
            tx.log_access(now, &username, "change_password", &username)
        })
        .await
    }

    async fn issue_enrolment(&self, actor: &Actor, enrolment: NewEnrolment) -> Result<()> {
        let actor = actor.clone();
        self.write(move |tx| {
            let user = managed_user(tx, &actor, &enrolment.username)?;
            accounts::may_set_password(actor.manager(), &enrolment.username)?;
            if user.disabled_at.is_some() {
                return Err(disabled(&enrolment.username));
            }
            let enrolment = NewEnrolment {
                created_at: to_micros(enrolment.created_at),
                expires_at: to_micros(enrolment.expires_at),
                ..enrolment
            };
            tx.insert_enrolment(&enrolment)?;
            let target = format!("{} (until {})", enrolment.username, iso(enrolment.expires_at));
            tx.log_access(enrolment.created_at, &actor.username, "issue_enrolment", &target)
        })
        .await
    }

    async fn enrol(&self, code_hash: &str, password_hash: String, device: NewDevice) -> Result<(User, String)> {
        let code_hash = code_hash.to_owned();
        self.write(move |tx| {
            let now = to_micros(device.created_at);
            let e = usable_enrolment(tx.enrolment(&code_hash)?, now)?;
            let user =
                tx.user(&e.username)?.ok_or_else(|| StorageError::NotFound(format!("no user {}", e.username)))?;
            if user.disabled_at.is_some() {
                return Err(disabled(&e.username));
            }
            tx.set_password(&e.username, &password_hash, false)?;
            tx.clear_login_failures(&e.username)?;
            let device_id = register_device(tx, NewDevice { username: e.username.clone(), ..device })?;
            tx.use_enrolment(&code_hash, now, &device_id)?;
            tx.log_access(now, &e.username, "enrol_device", &device_id)?;
            Ok((user.user, device_id))
        })
        .await
    }

    async fn enrolment(&self, code_hash: &str, now: OffsetDateTime) -> Result<StoredEnrolment> {
        let code_hash = code_hash.to_owned();
        self.read(move |tx| usable_enrolment(tx.enrolment(&code_hash)?, now)).await
    }

    async fn devices(&self, actor: &Actor) -> Result<Vec<DeviceInfo>> {
        let actor = actor.clone();
        self.read(move |tx| {
            let users: HashMap<String, StoredUser> =
                tx.users()?.into_iter().map(|(u, _)| (u.user.username.clone(), u)).collect();
            Ok(tx
                .devices()?
                .into_iter()
                .filter(|d| users.get(&d.username).is_some_and(|u| manages(&actor, u).is_ok()))
                .collect())
        })
        .await
    }

    async fn device_seen(&self, device_id: &str, seen: DeviceSeen) -> Result<()> {
        let device_id = device_id.to_owned();
        let seen = DeviceSeen { at: seen.at.map(to_micros), ..seen };
        self.write(move |tx| tx.device_seen(&device_id, &seen)).await
    }

    async fn revoke_device_by(&self, actor: &Actor, device_id: &str, wipe: bool, now: OffsetDateTime) -> Result<()> {
        let (actor, device_id, now) = (actor.clone(), device_id.to_owned(), to_micros(now));
        self.write(move |tx| {
            let holder = tx
                .device(&device_id)?
                .ok_or_else(|| StorageError::NotFound(format!("there is no device {device_id}")))?;
            managed_user(tx, &actor, &holder.username)?;
            tx.revoke_device(&device_id, wipe, now)?;
            let action = if wipe { "revoke_wipe_device" } else { "revoke_device" };
            tx.log_access(now, &actor.username, action, &format!("{device_id} ({})", holder.username))
        })
        .await
    }

    async fn hand_over_device(&self, actor: &Actor, device_id: &str, to: &str, now: OffsetDateTime) -> Result<()> {
        let (actor, device_id, to, now) =
            (actor.clone(), device_id.to_owned(), to.trim().to_lowercase(), to_micros(now));
        self.write(move |tx| {
            let device = tx
                .device(&device_id)?
                .ok_or_else(|| StorageError::NotFound(format!("there is no device {device_id}")))?;
            managed_user(tx, &actor, &device.username)?;
            let new = managed_user(tx, &actor, &to)?;
            if new.disabled_at.is_some() {
                return Err(disabled(&to));
            }
            if device.revoked {
                return Err(StorageError::Conflict {
                    code: ErrorCode::DeviceRevoked,
                    message: format!("the device {device_id} is revoked: it cannot be handed over"),
                });
            }
            let held = tx.store_keys(&device_id)?;
            let Some((_, key)) = held.first() else {
                return Err(StorageError::Conflict {
                    code: ErrorCode::NoStoreKey,
                    message: format!(
                        "the device {device_id} holds no encrypted data yet: any account may sign in on it as it is"
                    ),
                });
            };
            if !held.iter().any(|(holder, _)| *holder == to) {
                let key = key.clone();
                tx.insert_store_key(&device_id, &to, &key, now)?;
            }
            tx.log_access(
                now,
                &actor.username,
                "hand_over_device",
                &format!("{device_id} ({} to {to})", device.username),
            )
        })
        .await
    }

    async fn audit(&self, filter: AuditFilter) -> Result<Vec<AuditEntry>> {
        self.read(move |tx| tx.audit(&filter)).await
    }

    async fn register_device(&self, device: NewDevice) -> Result<String> {
        self.write(move |tx| {
            let (username, at) = (device.username.clone(), device.created_at);
            let id = register_device(tx, device)?;
            tx.log_access(to_micros(at), &username, "login", &id)?;
            Ok(id)
        })
        .await
    }

    async fn settled_for_device(&self, device_id: &str, after: u64) -> Result<(Vec<SettledConflict>, u64)> {
        let device_id = device_id.to_owned();
        self.read(move |tx| {
            let rows = tx.settled_for_device(&device_id, after, 500)?;
            let last = rows.last().map_or(after, |(seq, _)| *seq);
            Ok((rows.into_iter().map(|(_, s)| s).collect(), last))
        })
        .await
    }

    async fn store_key(&self, store_id: &str, username: &str, now: OffsetDateTime) -> Result<Option<String>> {
        let (store_id, username, now) = (store_id.to_owned(), username.to_owned(), to_micros(now));
        self.write(move |tx| {
            if tx.device(&store_id)?.is_some_and(|d| d.revoked) {
                return Ok(None);
            }
            let held = tx.store_keys(&store_id)?;
            match held.iter().find(|(holder, _)| *holder == username) {
                Some((_, key)) => Ok(Some(key.clone())),
                None if held.is_empty() => {
                    let key = crate::auth::new_token();
                    tx.insert_store_key(&store_id, &username, &key, now)?;
                    tx.log_access(now, &username, "store_key_made", &store_id)?;
                    Ok(Some(key))
                }
                // Another account's store: its key is not this account's to have.
                None => Ok(None),
            }
        })
        .await
    }

    async fn caller(&self, token_hash: &str, now: OffsetDateTime) -> Result<Option<Caller>> {
        let token_hash = token_hash.to_owned();
        self.read(move |tx| tx.caller(&token_hash, to_micros(now))).await
    }

    async fn revoke_device(&self, device_id: &str, now: OffsetDateTime) -> Result<()> {
        let device_id = device_id.to_owned();
        self.write(move |tx| {
            if !tx.revoke_device(&device_id, false, to_micros(now))? {
                return Err(StorageError::NotFound(format!("there is no device {device_id}")));
            }
            Ok(())
        })
        .await
    }

    async fn end_session(&self, token_hash: &str, now: OffsetDateTime) -> Result<bool> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| tx.end_session(&token_hash, to_micros(now))).await
    }

    async fn login_failures(&self, username: &str) -> Result<LoginFailures> {
        let username = username.to_owned();
        self.read(move |tx| tx.login_failures(&username)).await
    }

    async fn update_login_failures(
        &self,
        username: &str,
        update: Box<dyn FnOnce(LoginFailures) -> LoginFailures + Send>,
    ) -> Result<()> {
        let username = username.to_owned();
        self.write(move |tx| {
            if tx.user(&username)?.is_some() {
                let next = update(tx.login_failures(&username)?);
                tx.put_login_failures(&username, &next)?;
            }
            Ok(())
        })
        .await
    }

    async fn unlock_user(&self, username: &str) -> Result<()> {
        let username = username.to_owned();
        self.write(move |tx| {
            if tx.user(&username)?.is_none() {
                return Err(StorageError::NotFound(format!("there is no user {username}")));
            }
            tx.clear_login_failures(&username)
        })
        .await
    }

    async fn put_round(&self, round: &Round) -> Result<()> {
        let round = round.clone();
        self.write(move |tx| tx.write_round(&round)).await
    }

    async fn create_round(&self, round: &Round) -> Result<()> {
        let round = round.clone();
        self.write(move |tx| create_round(tx, &round)).await
    }

    async fn set_round_status(&self, code: &str, status: RoundStatus) -> Result<()> {
        let code = code.to_owned();
        self.write(move |tx| {
            if !tx.set_round_status(&code, status)? {
                return Err(StorageError::NotFound(format!("there is no round `{code}`")));
            }
            Ok(())
        })
        .await
    }

    async fn import_round(
        &self,
        round: &Round,
        create: bool,
        records: Vec<ImportRecord>,
        new_locations: Vec<Location>,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<usize> {
        let (new_round, actor, now) = (round.clone(), actor.to_owned(), to_micros(now));
        self.write(move |tx| {
            if create {
                create_round(tx, &new_round)?;
            }
            // The file's new locations first, each planned again against the gazetteer
            // as it is now (another admin may have added one since the file was checked).
            if !new_locations.is_empty() {
                let mut places = gazetteer_in(tx)?;
                for l in &new_locations {
                    let location = places.plan_add(l.into()).map_err(location_refused)?;
                    record_location(tx, &location, "location_add", &actor, now)?;
                    places.apply(location);
                }
            }
            let round = new_round.code;
            let author = format!("import:{actor}");
            let mut allot = Allot::new(records.len());
            for r in &records {
                let key = AssessmentKey::new(&round, &r.form, r.location.clone());
                if tx.head(&key)?.is_some() {
                    return Err(StorageError::Conflict {
                        code: ErrorCode::AlreadyExists,
                        message: format!("row {}: {key} already exists at HQ; nothing was imported", r.row),
                    });
                }
                let by = Author { op_id: None, name: &author, device: "import", hlc: Hlc::default() };
                // An imported assessment is new: every figure at version 1.
                let writes = r.values.iter().map(|(f, v)| (f.as_str(), (v, 1))).collect();
                let status = AssessmentStatus::Approved;
                insert_assessment(tx, &mut allot, &key, status, r.form_version, &writes, &by, now, false)?;
            }
            tx.log_access(now, &actor, "import_round", &round)?;
            Ok(records.len())
        })
        .await
    }

    async fn rounds(&self) -> Result<Vec<Round>> {
        self.read(|tx| tx.rounds()).await
    }

    fn forms(&self) -> &Forms {
        &self.forms
    }

    async fn gazetteer(&self) -> Result<Arc<Gazetteer>> {
        let (seen, current) = {
            let cached = self.places.lock().expect("the gazetteer cache is never poisoned");
            (cached.0, cached.1.clone())
        };
        let changes = self.read(move |tx| tx.location_changes(seen)).await?;
        let Some(&(last, _)) = changes.last() else { return Ok(current) };
        let next = Arc::new((*current).clone().with_changes(changes.into_iter().map(|(_, l)| l)));
        let mut cached = self.places.lock().expect("the gazetteer cache is never poisoned");
        if cached.0 < last {
            *cached = (last, next.clone());
        }
        Ok(next)
    }

    async fn gazetteer_changes(&self, after: u64) -> Result<(Vec<Location>, u64)> {
        let changes = self.read(move |tx| tx.location_changes(after)).await?;
        let last = changes.last().map_or(after, |(seq, _)| *seq);
        Ok((changes.into_iter().map(|(_, l)| l).collect(), last))
    }

    async fn add_location(&self, actor: &Actor, new: LocationInput, now: OffsetDateTime) -> Result<Location> {
        admin_only(actor, "add a location")?;
        let (by, now) = (actor.username.clone(), to_micros(now));
        self.write(move |tx| {
            let location = gazetteer_in(tx)?.plan_add(new).map_err(location_refused)?;
            record_location(tx, &location, "location_add", &by, now)?;
            Ok(location)
        })
        .await
    }

    async fn change_location(
        &self,
        actor: &Actor,
        pcode: &str,
        change: LocationChange,
        now: OffsetDateTime,
    ) -> Result<Location> {
        admin_only(actor, "change a location")?;
        let (by, pcode, now) = (actor.username.clone(), pcode.to_owned(), to_micros(now));
        self.write(move |tx| {
            let before = gazetteer_in(tx)?;
            let location = before.plan_change(&pcode, change).map_err(location_refused)?;
            let was = before.get(&pcode).map(|l| l.retired);
            let action = match (was, location.retired) {
                (Some(false), true) => "location_retire",
                (Some(true), false) => "location_restore",
                _ => "location_change",
            };
            record_location(tx, &location, action, &by, now)?;
            Ok(location)
        })
        .await
    }

    async fn push(&self, caller: &Caller, ops: Vec<Operation>, now: OffsetDateTime) -> Result<Vec<OpResult>> {
        let (caller, now, places) = (caller.clone(), to_micros(now), self.gazetteer().await?);
        let (forms, store) = (self.forms.clone(), self.store.clone());
        blocking(move || {
            // Hashed before the writer is taken: a hash needs nothing the database holds,
            // and every other device's push waits for the writer.
            let hashes = payload_hashes(&ops);
            store.write(|tx| push_batch(tx, &forms, &places, &caller, &ops, &hashes, now))
        })
        .await
    }

    async fn pull(&self, scope: &Scope, after: u64, limit: u32) -> Result<PullPage> {
        let scope = scope.clone();
        self.read(move |tx| {
            let rows = tx.changed_after(&scope, after, limit.saturating_add(1))?;
            let has_more = rows.len() > limit as usize;
            let rows = &rows[..rows.len().min(limit as usize)];
            let ids: Vec<i64> = rows.iter().map(|(id, _)| *id).collect();
            let assessments = tx.snapshots(&ids)?;
            let last_seq = rows.last().map_or(after, |(_, seq)| *seq);
            Ok(PullPage { assessments, last_seq, has_more })
        })
        .await
    }

    async fn previous_rounds(&self, keys: Vec<AssessmentKey>) -> Result<Vec<Option<(String, Values)>>> {
        self.read(move |tx| previous_rounds_of(tx, &keys.iter().collect::<Vec<_>>())).await
    }

    async fn context(&self, places: Arc<Gazetteer>, key: &AssessmentKey, form: &FormDef) -> Result<CheckContext> {
        let key = key.clone();
        let child_form = form.aggregates.as_ref().map(|a| a.form.clone());
        let forms = self.forms.clone();
        self.read(move |tx| context_in(tx, &forms, &places, &key, child_form.as_deref())).await
    }

    async fn assessment(&self, key: &AssessmentKey) -> Result<Option<AssessmentSnapshot>> {
        let key = key.clone();
        self.read(move |tx| match tx.head(&key)? {
            Some(h) => Ok(Some(snapshot(tx, h.id)?)),
            None => Ok(None),
        })
        .await
    }

    async fn round_assessments(&self, round: &str, scope: &Scope) -> Result<Vec<AssessmentSnapshot>> {
        let (round, scope) = (round.to_owned(), scope.clone());
        self.read(move |tx| {
            let ids = tx.round_assessment_ids(&round, &scope)?;
            tx.snapshots(&ids)
        })
        .await
    }

    async fn review(
        &self,
        caller: &Caller,
        key: &AssessmentKey,
        decision: ReviewDecision,
        comment: &str,
        now: OffsetDateTime,
    ) -> Result<AssessmentSnapshot> {
        let (caller, key, comment, now) = (caller.clone(), key.clone(), comment.to_owned(), to_micros(now));
        self.write(move |tx| {
            let h = tx
                .head(&key)?
                .ok_or_else(|| StorageError::NotFound(format!("nothing has been submitted for {key}")))?;
            if tx.round(&key.round)?.is_some_and(|r| r.status == RoundStatus::Published) {
                return Err(StorageError::Conflict {
                    code: ErrorCode::RoundPublished,
                    message: format!("round {} is published and frozen", key.round),
                });
            }
            let open = tx.open_conflicts(h.id)?;
            // Four eyes: figures a reviewer entered from a device of theirs are
            // approved by someone else.
            let reviewer =
                workflow::Reviewer { role: caller.role, entered_figures: tx.entered_figures(h.id, &caller.username)? };
            let status = workflow::review(h.status, decision, reviewer, open, &comment)?;
            tx.insert_comment(h.id, &caller.username, caller.role, Some(decision), comment.trim(), now)?;
            touch(tx, &mut Allot::new(1), h.id, status, None, now)?;
            tx.log_access(now, &caller.username, &format!("review_{}", decision.as_str()), &key.to_string())?;
            snapshot(tx, h.id)
        })
        .await
    }

    async fn conflicts(&self, round: &str, scope: &Scope) -> Result<Vec<Conflict>> {
        let (round, scope) = (round.to_owned(), scope.clone());
        self.read(move |tx| {
            let ids = tx.conflict_ids(&round, &scope)?;
            let mut conflicts = ids
                .into_iter()
                .map(|id| {
                    tx.conflict(id)?
                        .map(|(c, _)| c)
                        .ok_or_else(|| StorageError::Internal(anyhow::anyhow!("conflict {id} vanished mid-read")))
                })
                .collect::<Result<Vec<Conflict>>>()?;
            with_context(tx, &mut conflicts)?;
            Ok(conflicts)
        })
        .await
    }

    async fn conflict(&self, id: i64) -> Result<Option<Conflict>> {
        self.read(move |tx| Ok(tx.conflict(id)?.map(|(c, _)| c))).await
    }

    async fn resolve_conflict(
        &self,
        caller: &Caller,
        id: i64,
        settlement: Settlement,
        reason: &str,
        now: OffsetDateTime,
    ) -> Result<AssessmentSnapshot> {
        let (caller, reason, now) = (caller.clone(), reason.to_owned(), to_micros(now));
        self.write(move |tx| {
            let (conflict, assessment_id) =
                tx.conflict(id)?.ok_or_else(|| StorageError::NotFound(format!("there is no conflict {id}")))?;
            if conflict.status == ConflictStatus::Resolved {
                return Err(StorageError::Conflict {
                    code: ErrorCode::AlreadyResolved,
                    message: format!("conflict {id} is already settled"),
                });
            }
            let mut doc = tx.doc(assessment_id)?;
            let key = &conflict.key;
            let head = tx.head(key)?.ok_or_else(|| StorageError::NotFound(format!("there is no assessment {key}")))?;
            let kind = conflict.kind;
            let field_version = doc.get(&conflict.field).map_or(0, |d| d.1);
            let SettlementPlan { value, version, status } = plan_settlement(
                kind,
                &conflict.current.value,
                &conflict.incoming.value,
                settlement,
                field_version,
                head.status,
            );
            let device = format!("hq:{}", caller.device_id);
            let writes = BTreeMap::from([(conflict.field.as_str(), (&value, version))]);
            let mut allot = Allot::new(1);
            let change = allot.id(tx)?;
            tx.insert_change(&NewChange {
                id: change,
                assessment_id,
                op_id: None,
                author: &caller.username,
                device: &device,
                hlc: Hlc::default(),
                at: now,
                fields: &writes,
            })?;
            doc.insert(conflict.field.clone(), DocField(value.clone(), version, change));
            tx.settle_conflict(id, &caller.username, &value, &reason, now, change)?;
            tx.log_access(now, &caller.username, "settle_conflict", &format!("{id} ({key} {})", conflict.field))?;
            touch(tx, &mut allot, assessment_id, status, Some(&doc), now)?;
            snapshot(tx, assessment_id)
        })
        .await
    }

    async fn log_access(&self, actor: &str, action: &str, target: &str, now: OffsetDateTime) -> Result<()> {
        let (actor, action, target) = (actor.to_owned(), action.to_owned(), target.to_owned());
        self.write(move |tx| tx.log_access(to_micros(now), &actor, &action, &target)).await
    }
}

/// Whether `actor` may manage the stored account.
fn manages(actor: &Actor, user: &StoredUser) -> Result<(), accounts::AccountError> {
    accounts::may_manage(actor.manager(), Managed { role: user.user.role, scope: &user.user.scope })
}

/// The account `actor` is about to manage: it exists, and it is theirs to manage.
fn managed_user(tx: &mut dyn Tx, actor: &Actor, username: &str) -> Result<StoredUser> {
    let user = tx.user(username)?.ok_or_else(|| StorageError::NotFound(format!("there is no user {username}")))?;
    manages(actor, &user)?;
    Ok(user)
}

fn stored_account(tx: &mut dyn Tx, places: &Gazetteer, username: &str) -> Result<Account> {
    let user = tx.user(username)?.ok_or_else(|| StorageError::NotFound(format!("there is no user {username}")))?;
    let devices = tx.active_devices(username)?;
    Ok(account_of(places, user, devices))
}

fn disabled(username: &str) -> StorageError {
    StorageError::Denied { code: ErrorCode::AccountDisabled, message: format!("the account {username} is disabled") }
}

/// A scope as given, checked against the gazetteer, without repeats and in order.
fn clean_scope(places: &Gazetteer, scope: Vec<String>) -> Result<Vec<String>> {
    let mut scope: Vec<String> = scope.into_iter().map(|c| c.trim().to_owned()).collect();
    scope.sort();
    scope.dedup();
    accounts::check_scope(&scope, places)?;
    Ok(scope)
}

/// An enrolment that can still be used at `now`, or why not.
fn usable_enrolment(found: Option<StoredEnrolment>, now: OffsetDateTime) -> Result<StoredEnrolment> {
    let e = found.ok_or_else(|| StorageError::Invalid {
        code: ErrorCode::EnrolmentInvalid,
        message: "this enrolment code is not known to HQ; check it, or ask your supervisor for a new one".into(),
    })?;
    if e.used_at.is_some() {
        return Err(StorageError::Gone {
            code: ErrorCode::EnrolmentUsed,
            message: "this enrolment code has already been used; ask your supervisor for a new one".into(),
        });
    }
    if e.expires_at <= now {
        return Err(StorageError::Gone {
            code: ErrorCode::EnrolmentExpired,
            message: "this enrolment code has expired; ask your supervisor for a new one".into(),
        });
    }
    Ok(e)
}

/// A place of a scope with its names; `LY` is the whole country.
fn scope_place(places: &Gazetteer, code: &str) -> LocationRef {
    match Pcode::parse(code) {
        Ok(p) if code != "LY" => LocationRef::of(places, &p),
        _ => LocationRef {
            pcode: code.to_owned(),
            level: 0,
            name_en: "Libya".into(),
            name_ar: "ليبيا".into(),
            retired: false,
        },
    }
}

fn account_of(places: &Gazetteer, u: StoredUser, devices: u32) -> Account {
    Account {
        scope_places: u.user.scope.iter().map(|c| scope_place(places, c)).collect(),
        username: u.user.username,
        display_name: u.user.display_name,
        role: u.user.role,
        scope: u.user.scope,
        language: u.language,
        disabled_at: u.disabled_at.map(iso),
        must_change_password: u.must_change_password,
        created_at: iso(u.created_at),
        created_by: u.created_by,
        devices,
    }
}
