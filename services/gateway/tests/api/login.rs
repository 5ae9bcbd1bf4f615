//! Browser login end to end: a cookie-keeping client that does not follow
//! redirects walks through the gateway and the real identity provider as a
//! browser would, then uses its session against the real tenant registry.

use std::time::Duration;

use plinth_testkit::idp::{CLIENT_SECRET, free_port};
use plinth_testkit::{Idp, wait_until};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};

use crate::proxy::{Options, Stack, stack_with, tenant};

/// 64 bytes, base64: the session key of the test gateway.
const SESSION_KEY: &str =
    "cGxpbnRoIGdhdGV3YXkgdGVzdCBzZXNzaW9uIGtleTogNjQgYnl0ZXMsIG5ldmVyIHVzZWQgZWxzZXdoZXJlIQ==";

struct Browser {
    http: reqwest::Client,
    gateway: String,
}

fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("a redirect, not {}", res.status()))
        .to_str()
        .unwrap()
        .to_owned()
}

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

impl Browser {
    fn new(gateway: &str) -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            gateway: gateway.to_owned(),
        }
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.gateway))
            .send()
            .await
            .unwrap()
    }

    /// Logs in as `user` from `/auth/login?return_to=…`: the callback's answer.
    async fn log_in(&self, idp: &Idp, user: &str, return_to: &str) -> reqwest::Response {
        let start = self
            .get(&format!("/auth/login?return_to={}", urlencode(return_to)))
            .await;
        assert_eq!(start.status(), 303);
        let callback = idp
            .sign_in(
                &self.http,
                start,
                user,
                &format!("{}/auth/callback", self.gateway),
            )
            .await;
        self.http.get(callback).send().await.unwrap()
    }

    async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        csrf: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.gateway));
        if let Some(csrf) = csrf {
            req = req.header("x-csrf-token", csrf);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap_or(Value::Null))
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn login_stack() -> (Idp, Stack) {
    login_stack_with(json!({})).await
}

/// A stack whose gateway logs people in, its settings merged with `gateway`.
async fn login_stack_with(gateway_settings: Value) -> (Idp, Stack) {
    let port = free_port();
    let gateway = format!("http://127.0.0.1:{port}");
    let idp = Idp::start_for_gateway(&gateway).await;
    let mut settings = json!({
        "login": { "client_secret": CLIENT_SECRET, "session_key": SESSION_KEY }
    });
    for (key, value) in gateway_settings.as_object().unwrap() {
        match (settings.get_mut(key), value) {
            (Some(Value::Object(base)), Value::Object(over)) => {
                base.extend(over.clone());
            }
            _ => settings[key] = value.clone(),
        }
    }
    let stack = stack_with(
        &idp,
        Options {
            port,
            gateway: settings,
            ..Options::default()
        },
    )
    .await;
    assert_eq!(stack.gateway, gateway);
    (idp, stack)
}

#[tokio::test]
async fn a_person_logs_in_with_a_browser_acts_through_the_session_and_logs_out() {
    let (idp, s) = login_stack().await;
    let browser = Browser::new(&s.gateway);

    // The login request: authorization code, PKCE S256, a nonce and a state.
    let start = browser.get("/auth/login?return_to=/admin/tenants").await;
    assert_eq!(start.status(), 303);
    let to_idp = reqwest::Url::parse(&location(&start)).unwrap();
    assert!(to_idp.as_str().starts_with(&idp.issuer), "{to_idp}");
    let query: std::collections::HashMap<_, _> = to_idp.query_pairs().into_owned().collect();
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["code_challenge_method"], "S256");
    assert_eq!(
        query["redirect_uri"],
        format!("{}/auth/callback", s.gateway)
    );
    for present in ["code_challenge", "nonce", "state"] {
        assert!(query[present].len() >= 22, "{present}: {query:?}");
    }
    let pending = set_cookies(&start);
    assert!(
        pending.iter().any(|c| c.starts_with("plinth_us_login=")
            && c.contains("HttpOnly")
            && c.contains("SameSite=Lax")
            && c.contains("Path=/auth/callback")),
        "{pending:?}"
    );

    // Through the provider and back: a session, and on to where the person was going.
    let callback_url = idp
        .sign_in(
            &browser.http,
            start,
            "msp-admin",
            &format!("{}/auth/callback", s.gateway),
        )
        .await;
    let back = browser.http.get(&callback_url).send().await.unwrap();
    assert_eq!(back.status(), 303, "{:?}", back.text().await);
    assert_eq!(location(&back), "/admin/tenants");
    let cookies = set_cookies(&back);
    let session = cookies
        .iter()
        .find(|c| c.starts_with("plinth_us_session="))
        .unwrap_or_else(|| panic!("a session cookie: {cookies:?}"));
    assert!(
        session.contains("HttpOnly")
            && session.contains("SameSite=Lax")
            && session.contains("Path=/")
    );
    assert!(
        !session.contains("Secure"),
        "plain http in tests: {session}"
    );
    assert!(
        !session.contains("msp-admin") && !session.contains("platform"),
        "the session cookie is encrypted: {session}"
    );
    // The code is single use: the same callback again starts nothing.
    let replay = browser.http.get(&callback_url).send().await.unwrap();
    assert_eq!(replay.status(), 401);
    let replay: Value = replay.json().await.unwrap();
    assert_eq!(replay["code"], "login_failed");

    // Who the session is, and its CSRF token.
    let (status, me) = browser
        .json(reqwest::Method::GET, "/auth/me", None, None)
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["subject"], "msp-admin");
    assert!(
        me["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g == "plinth-platform-admins"),
        "{me}"
    );
    let csrf = me["session"]["csrf_token"].as_str().unwrap().to_owned();
    assert!(
        me["session"]["expires_at"].as_i64().unwrap()
            > me["session"]["idle_expires_at"].as_i64().unwrap()
    );

    // The session acts like the person's bearer token would.
    let (status, listed) = browser
        .json(reqwest::Method::GET, "/admin/tenants", None, None)
        .await;
    assert_eq!(status, 200, "{listed}");
    let before = listed["items"].as_array().unwrap().len();
    // A change needs the CSRF token; without it, or with another, nothing happens.
    for wrong in [None, Some("not-the-token")] {
        let (status, refused) = browser
            .json(
                reqwest::Method::POST,
                "/admin/tenants",
                wrong,
                Some(tenant("forged", "us")),
            )
            .await;
        assert_eq!(status, 403, "{refused}");
        assert_eq!(refused["code"], "csrf_token_mismatch");
    }
    let (_, listed) = browser
        .json(reqwest::Method::GET, "/admin/tenants", None, None)
        .await;
    assert_eq!(
        listed["items"].as_array().unwrap().len(),
        before,
        "nothing was created"
    );
    let (status, created) = browser
        .json(
            reqwest::Method::POST,
            "/admin/tenants",
            Some(&csrf),
            Some(tenant("browsed", "us")),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["created_by"], "msp-admin");

    // A cookie changed in one character is no session.
    let value = session
        .split(';')
        .next()
        .unwrap()
        .trim_start_matches("plinth_us_session=");
    let mut bytes = value.as_bytes().to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] = if bytes[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let res = reqwest::Client::new()
        .get(format!("{}/auth/me", s.gateway))
        .header(COOKIE, format!("plinth_us_session={tampered}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);

    // Another gateway of the region serves the same session.
    let other = s.another_gateway().await;
    let res = reqwest::Client::new()
        .get(format!("{other}/auth/me"))
        .header(COOKIE, format!("plinth_us_session={value}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "the session at another gateway");

    // Logging out is a form post with the CSRF token; without it, nothing ends.
    let res = browser
        .http
        .post(format!("{}/auth/logout", s.gateway))
        .form(&[("csrf_token", "not-the-token")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let (status, _) = browser
        .json(reqwest::Method::GET, "/auth/me", None, None)
        .await;
    assert_eq!(status, 200, "the session is still there");
    let res = browser
        .http
        .post(format!("{}/auth/logout", s.gateway))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let to_idp = reqwest::Url::parse(&location(&res)).unwrap();
    assert!(to_idp.as_str().starts_with(&idp.issuer), "{to_idp}");
    let query: std::collections::HashMap<_, _> = to_idp.query_pairs().into_owned().collect();
    assert!(query.contains_key("id_token_hint"), "{query:?}");
    assert_eq!(query["post_logout_redirect_uri"], format!("{}/", s.gateway));
    assert!(
        set_cookies(&res)
            .iter()
            .any(|c| c.starts_with("plinth_us_session=;")
                || c.starts_with("plinth_us_session=\"\"")
                || (c.starts_with("plinth_us_session=") && c.contains("Max-Age=0")))
    );
    let (status, _) = browser
        .json(reqwest::Method::GET, "/auth/me", None, None)
        .await;
    assert_eq!(status, 401, "the session ended");
    // A copy of the cookie taken before the logout ends with it, here and at every
    // other gateway of the region (which learns it from the broker).
    let copied = |base: &str, path: &str| {
        reqwest::Client::new()
            .get(format!("{base}{path}"))
            .header(COOKIE, format!("plinth_us_session={value}"))
            .send()
    };
    for path in ["/auth/me", "/admin/tenants"] {
        let res = copied(&s.gateway, path).await.unwrap();
        assert_eq!(res.status(), 401, "the copied cookie at {path}");
        let problem: Value = res.json().await.unwrap();
        assert_eq!(problem["code"], "unauthenticated");
    }
    wait_until(
        "the other gateway refuses the copy",
        Duration::from_secs(30),
        || async { copied(&other, "/auth/me").await.unwrap().status() == 401 },
    )
    .await;
    // The provider ends its own session too: it shows its logout confirmation.
    let at_idp = browser.http.get(to_idp).send().await.unwrap();
    assert!(
        at_idp.status().is_success() || at_idp.status().is_redirection(),
        "{}",
        at_idp.status()
    );
}

#[tokio::test]
async fn a_login_is_finished_only_by_the_browser_that_started_it() {
    let (idp, s) = login_stack().await;

    // Another browser's callback (no login cookie here) is refused.
    let victim = Browser::new(&s.gateway);
    let start = victim.get("/auth/login").await;
    let callback = idp
        .sign_in(
            &victim.http,
            start,
            "acme-admin",
            &format!("{}/auth/callback", s.gateway),
        )
        .await;
    let attacker = Browser::new(&s.gateway);
    let res = attacker.http.get(&callback).send().await.unwrap();
    assert_eq!(res.status(), 401);
    assert!(
        !set_cookies(&res)
            .iter()
            .any(|c| c.starts_with("plinth_us_session=") && !c.contains("Max-Age=0"))
    );
    let (status, _) = attacker
        .json(reqwest::Method::GET, "/auth/me", None, None)
        .await;
    assert_eq!(status, 401);

    // The same browser, with a state that is not the one it was given.
    let browser = Browser::new(&s.gateway);
    let start = browser.get("/auth/login").await;
    let callback = idp
        .sign_in(
            &browser.http,
            start,
            "acme-admin",
            &format!("{}/auth/callback", s.gateway),
        )
        .await;
    let mut url = reqwest::Url::parse(&callback).unwrap();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "state" {
                "forged".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    url.query_pairs_mut().clear().extend_pairs(pairs);
    let res = browser.http.get(url).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "login_failed");

    // An error from the provider is shown, not a session.
    let browser = Browser::new(&s.gateway);
    let _ = browser.get("/auth/login").await;
    let res = browser
        .get("/auth/callback?error=access_denied&state=whatever")
        .await;
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn return_to_stays_on_the_gateway() {
    let (idp, s) = login_stack().await;
    for (asked, landed) in [
        ("/admin/audit/logs", "/admin/audit/logs"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
    ] {
        let browser = Browser::new(&s.gateway);
        let back = browser.log_in(&idp, "msp-auditor", asked).await;
        assert_eq!(back.status(), 303);
        assert_eq!(location(&back), landed, "asked for {asked}");
    }
}

#[tokio::test]
async fn sessions_end_when_idle_or_too_old() {
    use gateway::identity::Identity;
    use gateway::identity::session::{Session, Sessions};

    let (_idp, s) = login_stack().await;
    let settings = gateway::Settings::with_overrides(json!({
        "login": { "session_key": SESSION_KEY }
    }))
    .unwrap();
    let sessions = Sessions::new(&settings.login, &s.gateway, plinth_core::Region::Us).unwrap();
    let fresh = sessions.start(
        Identity {
            subject: "msp-admin".into(),
            email: None,
            groups: vec!["plinth-platform-admins".into()],
            issuer: "made here".into(),
        },
        String::new(),
        None,
    );
    let now = fresh.issued_at;
    let idle = settings.login.idle_timeout_seconds as i64;
    let absolute = settings.login.absolute_timeout_seconds as i64;
    let cases = [
        ("fresh", fresh.clone(), 200),
        (
            "idle too long",
            Session {
                last_seen: now - idle - 1,
                ..fresh.clone()
            },
            401,
        ),
        (
            "used recently but too old",
            Session {
                issued_at: now - absolute - 1,
                last_seen: now - 5,
                ..fresh.clone()
            },
            401,
        ),
    ];
    for (what, session, expected) in cases {
        // The cookie as the gateway would make it, with the deadline in the past
        // (the browser would have dropped it; a copy kept elsewhere would not).
        let cookie = sessions.seal("plinth_us_session", &session, "/", 3600);
        let res = reqwest::Client::new()
            .get(format!("{}/admin/tenants", s.gateway))
            .header(COOKIE, format!("plinth_us_session={}", cookie.value()))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), expected, "{what}");
    }
    // A cookie sealed under another name does not open as the session.
    let other = sessions.seal("plinth_us_login", &fresh, "/", 3600);
    let res = reqwest::Client::new()
        .get(format!("{}/auth/me", s.gateway))
        .header(COOKIE, format!("plinth_us_session={}", other.value()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn a_change_of_groups_at_the_identity_provider_reaches_a_live_session() {
    let (idp, s) = login_stack_with(json!({ "login": { "groups_recheck_seconds": 1 } })).await;
    let browser = Browser::new(&s.gateway);
    let back = browser.log_in(&idp, "msp-auditor", "/auth/me").await;
    assert_eq!(back.status(), 303);
    let tenants = || async {
        browser
            .json(reqwest::Method::GET, "/admin/tenants", None, None)
            .await
    };
    assert_eq!(
        tenants().await.0,
        200,
        "a platform auditor reads the tenants"
    );

    // The provider's administrator takes the person's group away: within the
    // recheck interval the session acts without it.
    idp.set_groups("msp-auditor", &[]);
    wait_until(
        "the session loses the role",
        Duration::from_secs(30),
        || async { tenants().await.0 == 403 },
    )
    .await;
    let (status, me) = browser
        .json(reqwest::Method::GET, "/auth/me", None, None)
        .await;
    assert_eq!(status, 200, "still logged in: {me}");
    assert_eq!(me["groups"], json!([]));
    // And given back, it returns the same way.
    idp.set_groups("msp-auditor", &["plinth-platform-auditors"]);
    wait_until(
        "the session has the role again",
        Duration::from_secs(30),
        || async { tenants().await.0 == 200 },
    )
    .await;
    // A person removed at the provider is logged out here.
    idp.remove_user("msp-auditor");
    wait_until("the session ends", Duration::from_secs(30), || async {
        let (status, problem) = tenants().await;
        status == 401 && problem["code"] == "unauthenticated"
    })
    .await;
}
