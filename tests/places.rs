//! End to end: a gazetteer that changes between rounds. Locations are added, renamed
//! and retired at HQ (through its API, by an admin) and reach devices with their next
//! pull, as a delta; a second HQ process on the same database serves them at once.

use dtm_e2e::{Device, Hq};
use serde_json::{json, Value};

/// A new muhalla under the baladiya of Tripoli (LY021104), which the shipped gazetteer lacks.
const NEW_MUHALLA: &str = "LY02110499";
/// A muhalla the shipped gazetteer holds, in the demo enumerator's scope.
const OLD_MUHALLA: &str = "LY02110401";

fn login_enumerator(hq: &Hq, device: &Device) {
    device.ok(&["login", "--hq", &hq.url, "--user", "enumerator", "--password", "enumerator-demo"]);
}

fn listed<'a>(list: &'a Value, pcode: &str) -> Option<&'a Value> {
    list.as_array().unwrap().iter().find(|a| a["key"]["location"] == pcode && a["key"]["form"] == "muhalla")
}

#[test]
fn a_muhalla_added_at_hq_reaches_a_device_in_the_next_pull_and_is_assessed_there() {
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    let device = Device::new();
    login_enumerator(&hq, &device);
    device.ok(&["sync"]);
    assert_eq!(
        device.err_code(&["show", NEW_MUHALLA, "--form", "muhalla"]),
        "unknown_pcode",
        "before HQ adds it, the device does not know the muhalla"
    );

    // Only an admin adds a location; an enumerator is refused.
    let new = json!({"pcode": NEW_MUHALLA, "name_en": "Souq al-Jumaa East", "name_ar": "سوق الجمعة الشرقية", "kind": "urban"});
    let enumerator = hq.token("enumerator", "enumerator-demo");
    let (status, body) = hq.post("/api/v1/locations", Some(&enumerator), &new);
    assert_eq!(status, 403, "the gazetteer is an admin's to change: {body}");
    let (status, added) = hq.post("/api/v1/locations", Some(&admin), &new);
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["kind"], "Urban", "the class is stored as DTM spells it");

    // The next pull brings it; the device lists it as work and takes values for it.
    device.ok(&["sync"]);
    let list = device.ok(&["list"]);
    let row = listed(&list, NEW_MUHALLA).expect("a muhalla added at HQ is listed on the device after its next pull");
    assert_eq!(row["status"], "not_started");
    assert_eq!(row["location"]["name_ar"], "سوق الجمعة الشرقية");
    device.ok(&[
        "set",
        NEW_MUHALLA,
        "--form",
        "muhalla",
        "idp_hh=4",
        "idp_ind=20",
        "mig_ind=10",
        "mig_men=6",
        "mig_women=3",
        "mig_children=1",
    ]);
    let report = device.ok(&["sync"]);
    assert_eq!(report["applied"], 1, "HQ takes the assessment of the new muhalla: {report}");
    let (status, at_hq) = hq.get(&format!("/api/v1/assessments/R1/muhalla/{NEW_MUHALLA}"), Some(&admin));
    assert_eq!(status, 200, "{at_hq}");
    assert_eq!(at_hq["values"]["mig_ind"], 10);
    assert_eq!(at_hq["location"]["name_en"], "Souq al-Jumaa East");

    // A rename reaches the device; the assessment stays where it is.
    let (status, body) = hq.patch(
        &format!("/api/v1/locations/{NEW_MUHALLA}"),
        Some(&admin),
        &json!({"name_en": "Souq al-Jumaa (East)"}),
    );
    assert_eq!(status, 200, "{body}");
    device.ok(&["sync"]);
    let list = device.ok(&["list"]);
    assert_eq!(listed(&list, NEW_MUHALLA).unwrap()["location"]["name_en"], "Souq al-Jumaa (East)");

    // Retiring: one with nothing recorded is no longer offered; one with an
    // assessment keeps it, on the device and at HQ, marked retired.
    for pcode in [OLD_MUHALLA, NEW_MUHALLA] {
        let (status, body) = hq.patch(&format!("/api/v1/locations/{pcode}"), Some(&admin), &json!({"retired": true}));
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["retired"], true);
    }
    device.ok(&["sync"]);
    let list = device.ok(&["list"]);
    assert!(
        listed(&list, OLD_MUHALLA).is_none(),
        "a retired muhalla with nothing recorded is not offered for new work"
    );
    let kept = listed(&list, NEW_MUHALLA).expect("a retired muhalla keeps its assessment on the device");
    assert_eq!((kept["status"].as_str(), kept["location"]["retired"].as_bool()), (Some("draft"), Some(true)));
    let (_, queue) = hq.get("/api/v1/rounds/R1/assessments", Some(&admin));
    let at_hq: Vec<&Value> = queue.as_array().unwrap().iter().filter(|a| a["key"]["form"] == "muhalla").collect();
    assert!(at_hq.iter().all(|a| a["key"]["location"] != OLD_MUHALLA), "HQ's list drops it too");
    assert!(at_hq.iter().any(|a| a["key"]["location"] == NEW_MUHALLA && a["location"]["retired"] == true));

    // Work done offline on a location retired meanwhile is kept, never refused.
    device.ok(&["set", NEW_MUHALLA, "--form", "muhalla", "ki_count=2"]);
    assert_eq!(device.ok(&["sync"])["applied"], 1, "an edit of a retired location's assessment is applied");
}

#[test]
fn devices_receive_only_the_gazetteer_changes_after_their_cursor_and_start_over_from_another_hq() {
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    let token = hq.token("enumerator", "enumerator-demo");
    let pull = |cursor: &str| {
        let (status, page) = hq.get(&format!("/api/v1/sync/pull?gazetteer={cursor}"), Some(&token));
        assert_eq!(status, 200, "{page}");
        page["gazetteer"].clone()
    };
    // Nothing changed yet: an empty delta, never the whole gazetteer.
    let first = pull("");
    assert_eq!(first["locations"], json!([]), "the shipped gazetteer is not sent again");
    for (pcode, name) in [("LY02110498", "Al-Nasr"), ("LY02110497", "Al-Salam")] {
        let (status, body) = hq.post(
            "/api/v1/locations",
            Some(&admin),
            &json!({"pcode": pcode, "name_en": name, "name_ar": "حي جديد", "lat": "32.88", "lon": "13.19"}),
        );
        assert_eq!(status, 201, "{body}");
    }
    let second = pull(first["cursor"].as_str().unwrap());
    let pcodes: Vec<&str> =
        second["locations"].as_array().unwrap().iter().map(|l| l["pcode"].as_str().unwrap()).collect();
    assert_eq!(pcodes, ["LY02110498", "LY02110497"], "the changes since the cursor, in the order they were made");
    assert_eq!(second["reset"], false);
    let third = pull(second["cursor"].as_str().unwrap());
    assert_eq!(third["locations"], json!([]), "a change is sent once");
    // A cursor from another HQ (a restored or replaced one) starts over, replacing.
    let other = pull("another-epoch:5");
    assert_eq!((other["reset"].as_bool(), other["locations"].as_array().map(Vec::len)), (Some(true), Some(2)));
    // A cursor this HQ never gave out is refused by name.
    let epoch = second["cursor"].as_str().unwrap().split_once(':').unwrap().0.to_owned();
    let (status, body) = hq.get(&format!("/api/v1/sync/pull?gazetteer={epoch}:banana"), Some(&token));
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("malformed_cursor")), "{body}");
}

#[test]
fn each_kind_of_bad_location_change_gets_its_own_code_and_nothing_is_recorded() {
    let hq = Hq::start_demo();
    let admin = hq.token("admin", "admin-demo");
    let add = |body: Value| hq.post("/api/v1/locations", Some(&admin), &body);
    let code = |(status, body): (u16, Value)| (status, body["error"]["code"].as_str().unwrap_or("").to_owned());
    let ok = json!({"pcode": "LY02110496", "name_en": "Al-Hadba", "name_ar": "الهضبة"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (with("pcode", json!("LY021104")), 409, "location_exists", "a P-code the gazetteer holds"),
        (with("pcode", json!("LY99990001")), 422, "unknown_parent", "a P-code under no known baladiya"),
        (with("pcode", json!("Tripoli")), 422, "unknown_pcode", "not a P-code at all"),
        (with("name_en", json!("   ")), 422, "bad_location_name", "an empty English name"),
        (with("name_ar", json!("Al-Hadba")), 422, "bad_location_name", "an Arabic name without Arabic letters"),
        (with("kind", json!("suburban")), 422, "bad_location_kind", "a class DTM does not use"),
        (with("lat", json!("32.9")), 422, "bad_coordinates", "a latitude without a longitude"),
        (
            json!({"pcode": "LY02110496", "name_en": "Al-Hadba", "name_ar": "الهضبة", "lat": "132.9", "lon": "13.1"}),
            422,
            "bad_coordinates",
            "a latitude beyond the pole",
        ),
    ];
    for (body, status, expected, what) in cases {
        assert_eq!(code(add(body)), (status, expected.to_owned()), "{what}");
    }
    let patch = |pcode: &str, body: Value| code(hq.patch(&format!("/api/v1/locations/{pcode}"), Some(&admin), &body));
    assert_eq!(patch("LY021104", json!({"retired": true})).1, "children_in_use", "a baladiya with muhallas in use");
    assert_eq!(patch("LY02110401", json!({"name_en": "Adhohra"})).1, "nothing_changed", "a rename to the name it has");
    assert_eq!(patch("LY02110999", json!({"name_en": "x"})).0, 404, "a P-code the gazetteer does not hold");
    let (_, list) = hq.get("/api/v1/locations?within=LY021104&retired=true", Some(&admin));
    assert!(
        list["locations"].as_array().unwrap().iter().all(|l| l["pcode"] != "LY02110496"),
        "no refused change left a location behind"
    );
    // Retired muhallas are listed only on request, marked.
    assert_eq!(patch("LY02110401", json!({"retired": true})).0, 200);
    let count = |query: &str| {
        let (status, body) = hq.get(&format!("/api/v1/locations?within=LY021104&level=4{query}"), Some(&admin));
        assert_eq!(status, 200, "{body}");
        body["total"].as_u64().unwrap()
    };
    assert_eq!(count("&retired=true"), count("") + 1, "the retired muhalla is listed only when asked for");
}

#[test]
fn a_location_added_through_one_hq_process_is_served_by_another_on_the_same_database() {
    let first = Hq::start_demo();
    let second = Hq::start_on(tempfile::tempdir().unwrap(), first.database.shared(), &["--demo"]);
    let admin = first.token("admin", "admin-demo");
    // The second process has read the gazetteer before the change.
    let (status, _) = second.get(&format!("/api/v1/assessments/R1/muhalla/{NEW_MUHALLA}"), Some(&admin));
    assert_eq!(status, 404, "unknown to both processes before it is added");
    let (status, body) = first.post(
        "/api/v1/locations",
        Some(&admin),
        &json!({"pcode": NEW_MUHALLA, "name_en": "Souq al-Jumaa East", "name_ar": "سوق الجمعة الشرقية"}),
    );
    assert_eq!(status, 201, "{body}");
    let (status, body) = second.get(&format!("/api/v1/assessments/R1/muhalla/{NEW_MUHALLA}"), Some(&admin));
    assert_eq!(status, 200, "the other process serves a location added through the first at once: {body}");
    assert_eq!(body["location"]["name_en"], "Souq al-Jumaa East");
}
