//! The home page in a real browser (the distribution's Chromium, driven by
//! `deploy/dev/browser/home.mjs`): a platform admin logs in at the real identity
//! provider, sees the tenants, registers one, opens its audit trail and logs out —
//! against the real tenant registry and audit service.

use std::path::PathBuf;
use std::time::Duration;

use plinth_testkit::Idp;
use plinth_testkit::idp::{CLIENT_SECRET, free_port};
use reqwest::Method;
use serde_json::{Value, json};

use crate::proxy::{Options, stack_with};

/// Runs `script` of `deploy/dev/browser/` with `args` in Chromium: what it saw.
pub async fn browse(script: &str, args: &[&str]) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/dev/browser");
    let run = tokio::process::Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(&dir)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(180), run)
        .await
        .expect("the browser finishes within three minutes")
        .expect("node runs the browser script (make test installs Chromium and playwright-core)");
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn an_msp_admin_logs_in_lists_registers_and_reads_the_audit_trail_in_a_browser() {
    let port = free_port();
    let gateway = format!("http://127.0.0.1:{port}");
    let idp = Idp::start_for_gateway(&gateway).await;
    let s = stack_with(
        &idp,
        Options {
            port,
            gateway: json!({ "login": { "client_secret": CLIENT_SECRET } }),
            audit: true,
            ..Options::default()
        },
    )
    .await;
    let admin = idp.access_token("msp-admin").await;
    s.register(&admin, "acme").await;

    let seen = browse("home.mjs", &[&gateway, "msp-admin", "browsed"]).await;
    assert_eq!(seen["who"], "admin@msp.example", "{seen}");
    assert_eq!(seen["tenants_before"], json!(["acme"]), "{seen}");
    let after: Vec<&str> = seen["tenants_after"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        after.contains(&"browsed") && after.contains(&"acme"),
        "{seen}"
    );
    let actions = seen["audit_actions"].as_array().unwrap();
    assert!(actions.iter().any(|a| a == "tenant.create"), "{seen}");
    assert!(
        seen["after_logout"]
            .as_str()
            .unwrap()
            .starts_with(&format!("{}/session/end", idp.issuer)),
        "{seen}"
    );
    assert_eq!(seen["logged_out"], true);

    // The tenant the browser registered is there for every client, made by the admin.
    let (status, listed, _) = s
        .call(Some(&admin), Method::GET, "/admin/tenants", None)
        .await;
    assert_eq!(status, 200);
    let browsed = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "browsed")
        .unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(browsed["created_by"], "msp-admin");
}
