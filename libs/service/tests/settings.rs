//! A service's settings: the shared part flattened beside its own, each
//! overridable by `PLINTH_…` variables as the dev stack and deployments set them.

use plinth_service::{ServiceSettings, SharedSettings};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
struct Settings {
    #[serde(flatten)]
    shared: SharedSettings,
    own: Own,
}

#[derive(Debug, Clone, Deserialize)]
struct Own {
    every_seconds: u64,
}

plinth_service::service_settings!(Settings, name = "example", defaults = defaults);

fn defaults() -> serde_json::Value {
    plinth_service::dev_defaults(
        8090,
        "plinth_example",
        65536,
        serde_json::json!({ "own": { "every_seconds": 60 } }),
    )
}

#[test]
#[expect(
    clippy::result_large_err,
    reason = "figment's Jail takes a closure answering with figment's own error"
)]
fn environment_variables_reach_the_shared_and_the_own_settings() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("PLINTH_HTTP__PORT", "9100");
        jail.set_env("PLINTH_BUS__RELAY", "false");
        jail.set_env("PLINTH_REGION", "eu");
        jail.set_env("PLINTH_OWN__EVERY_SECONDS", "5");
        let settings = Settings::load().map_err(|e| e.to_string())?;
        assert_eq!(settings.shared.http.port, 9100);
        assert!(!settings.shared.bus.relay);
        assert!(
            settings.shared.bus.consumers,
            "what is not set keeps its default"
        );
        assert_eq!(settings.shared.region.as_str(), "eu");
        assert_eq!(settings.own.every_seconds, 5);
        let base = settings.base();
        assert_eq!((base.name, base.http.port), ("example", 9100));
        Ok(())
    });
}

#[test]
fn the_defaults_name_the_services_own_database_and_port() {
    let settings = Settings::with_overrides(serde_json::json!({})).unwrap();
    assert_eq!(settings.shared.http.port, 8090);
    assert_eq!(settings.shared.database.app_role, "plinth_app");
    assert_eq!(settings.own.every_seconds, 60);
}
