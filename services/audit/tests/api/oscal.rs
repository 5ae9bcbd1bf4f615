//! The OSCAL export is a real OSCAL assessment-results document: compliance-trestle
//! (the standard OSCAL tool from PyPI, installed by the test set-up) reads and
//! validates it, and refuses a broken one.

use std::path::PathBuf;
use std::process::Command;

use plinth_core::{Role, TenantId};
use reqwest::Method;
use serde_json::Value;

use crate::helpers::{As, TestApp, tenant};

/// Validates `document` with compliance-trestle: the number of observations it
/// read, or what it refused.
fn trestle_validate(document: &Value) -> Result<usize, String> {
    let python = std::env::var("PLINTH_TEST_PYTHON").unwrap_or_else(|_| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        root.join(".dev-state/python-venv/bin/python")
            .to_string_lossy()
            .into_owned()
    });
    let file = std::env::temp_dir().join(format!("plinth-oscal-{}.json", uuid::Uuid::new_v4()));
    std::fs::write(&file, document.to_string()).unwrap();
    let out = Command::new(&python)
        .arg("-c")
        .arg(
            "import pathlib, sys\n\
             from trestle.oscal.assessment_results import AssessmentResults\n\
             doc = AssessmentResults.oscal_read(pathlib.Path(sys.argv[1]))\n\
             print(len(doc.results[0].observations))",
        )
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("{python} (run the tests through `make test`): {e}"));
    std::fs::remove_file(&file).unwrap();
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().parse().unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[tokio::test]
async fn the_oscal_export_is_an_assessment_results_document_trestle_accepts() {
    let app = TestApp::spawn().await;
    let t = tenant();
    app.deliver(&app.audit_event(&t, "tenant.create", "ALLOWED"))
        .await;
    app.deliver(&app.audit_event(&t, "workspace.create", "DENIED"))
        .await;
    app.wait_for_entries(&t, 3).await;
    let id: TenantId = t.parse().unwrap();
    let (status, text) = app
        .client
        .call_text(
            Some(&As::tenant(Role::Auditor, id)),
            Method::GET,
            &format!("/admin/audit/logs/{t}/export/oscal"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let document: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(trestle_validate(&document), Ok(3));
    let result = &document["assessment-results"]["results"][0];
    assert_eq!(
        result["findings"][0]["target"]["status"]["state"],
        "satisfied"
    );
    let observations = result["observations"].as_array().unwrap();
    assert_eq!(observations[2]["title"], "workspace.create");
    let outcome = observations[2]["props"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "outcome")
        .unwrap();
    assert_eq!(outcome["value"], "DENIED");

    // The validator is real: a document without its reviewed controls is refused.
    let mut broken = document.clone();
    broken["assessment-results"]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("reviewed-controls");
    assert!(trestle_validate(&broken).is_err());

    // A tampered log exports with its integrity finding not satisfied.
    app.owner_exec(&format!(
        "ALTER TABLE entries DISABLE TRIGGER USER; \
         UPDATE entries SET body = replace(body, 'DENIED', 'ALLOWED') \
             WHERE log_id = '{t}' AND idx = 2; \
         ALTER TABLE entries ENABLE TRIGGER USER;"
    ))
    .await
    .unwrap();
    let document = app
        .get(&format!("/admin/audit/logs/{t}/export/oscal"))
        .await;
    assert_eq!(trestle_validate(&document), Ok(3));
    let finding = &document["assessment-results"]["results"][0]["findings"][0];
    assert_eq!(
        finding["target"]["status"]["state"], "not-satisfied",
        "{finding}"
    );
}
