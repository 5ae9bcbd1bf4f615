//! What reaches a service through the gateway, seen by a service that echoes the
//! request's headers: the internal token in place of the caller's credentials, no
//! hop-by-hop headers and no cookies, the caller's request id, and the caller's
//! trace continued (or a new one begun) — through a span of the gateway's own when
//! spans are exported; redirects passed on, not followed; large answers stream
//! back intact.

use std::collections::BTreeMap;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use plinth_telemetry::TelemetryConfig;
use plinth_testkit::Idp;
use serde_json::{Value, json};

use crate::proxy::{Options, stack_with};

/// A service answering `/admin/echo/headers` with the headers it received,
/// `/admin/echo/big` with `BIG` bytes, and `/admin/echo/moved` with a redirect to
/// the headers.
async fn echo() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let server = HttpServer::new(|| {
        App::new()
            .route(
                "/admin/echo/headers",
                web::get().to(|req: HttpRequest| async move {
                    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
                    for (name, value) in req.headers() {
                        seen.entry(name.to_string())
                            .or_default()
                            .push(value.to_str().unwrap_or("").to_owned());
                    }
                    HttpResponse::Ok().json(seen)
                }),
            )
            .route(
                "/admin/echo/big",
                web::get().to(|| async { HttpResponse::Ok().body(big()) }),
            )
            .route(
                "/admin/echo/moved",
                web::get().to(|| async {
                    HttpResponse::Found()
                        .insert_header(("location", "/admin/echo/headers"))
                        .finish()
                }),
            )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    url
}

const BIG: usize = 3 * 1024 * 1024;

fn big() -> Vec<u8> {
    (0..BIG).map(|i| (i * 7 % 251) as u8).collect()
}

#[tokio::test]
async fn the_service_gets_the_internal_token_the_request_id_and_the_trace_not_hop_headers() {
    let _telemetry = plinth_telemetry::init(&TelemetryConfig::new("gateway-test")).unwrap();
    let idp = Idp::start().await;
    let upstream = echo().await;
    let s = stack_with(
        &idp,
        Options {
            gateway: json!({
                "routes": [{ "prefix": "/admin/echo", "upstream": upstream, "audience": "echo" }]
            }),
            ..Options::default()
        },
    )
    .await;
    let token = idp.access_token("msp-admin").await;
    let http = reqwest::Client::new();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let request_id = "req_0123456789abcdef0123456789abcdef";

    let seen: Value = http
        .get(format!("{}/admin/echo/headers", s.gateway))
        .bearer_auth(&token)
        .header("connection", "keep-alive, x-hop")
        .header("x-hop", "one hop only")
        .header("keep-alive", "timeout=5")
        .header("te", "trailers")
        .header("proxy-authorization", "Basic c2VjcmV0")
        .header("cookie", "plinth_session=whatever; other=1")
        .header("x-keep", "yes")
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .header("x-request-id", request_id)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let one = |name: &str| seen[name][0].as_str().map(str::to_owned);

    let authorization = one("authorization").unwrap();
    assert!(authorization.starts_with("Bearer "), "{authorization}");
    assert_ne!(
        authorization,
        format!("Bearer {token}"),
        "the caller's token stays at the gateway"
    );
    for dropped in ["x-hop", "keep-alive", "te", "proxy-authorization", "cookie"] {
        assert!(
            seen.get(dropped).is_none(),
            "{dropped} reached the service: {seen}"
        );
    }
    assert_eq!(one("x-keep").as_deref(), Some("yes"));
    assert_eq!(one("x-request-id").as_deref(), Some(request_id));
    assert!(one("x-forwarded-for").is_some(), "{seen}");
    // No spans are exported here: the caller's trace context goes on as it came.
    assert_eq!(
        one("traceparent").unwrap(),
        format!("00-{trace_id}-{caller_span}-01"),
        "the caller's trace continues"
    );

    // A caller with no trace: the gateway begins one.
    let seen: Value = http
        .get(format!("{}/admin/echo/headers", s.gateway))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let traceparent = seen["traceparent"][0].as_str().unwrap();
    assert!(
        traceparent.starts_with("00-") && traceparent.len() == 55,
        "{traceparent}"
    );
    assert_ne!(plinth_telemetry::trace_id_of(traceparent), Some(trace_id));
    assert!(
        seen["x-request-id"][0]
            .as_str()
            .unwrap()
            .starts_with("req_")
    );
    // The same caller in the same place: the same internal token, signed once;
    // each request its own id.
    assert_eq!(
        seen["authorization"][0].as_str(),
        Some(authorization.as_str())
    );
    assert_ne!(seen["x-request-id"][0].as_str(), Some(request_id));
    // Another caller: a token of its own.
    let auditor = idp.access_token("msp-auditor").await;
    let theirs: Value = http
        .get(format!("{}/admin/echo/headers", s.gateway))
        .bearer_auth(&auditor)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(
        theirs["authorization"][0].as_str(),
        Some(authorization.as_str())
    );

    // A service's redirect is the caller's to follow: passed on as it came.
    let res = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/admin/echo/moved", s.gateway))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 302);
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        "/admin/echo/headers"
    );

    // A large answer streams back whole.
    let res = http
        .get(format!("{}/admin/echo/big", s.gateway))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = res.bytes().await.unwrap();
    assert_eq!(body.len(), BIG);
    assert!(
        body.as_ref() == big().as_slice(),
        "the bytes are the service's"
    );
}

#[tokio::test]
async fn with_spans_exported_the_gateways_own_span_comes_between() {
    let mut config = TelemetryConfig::new("gateway-test");
    // A collector that is not there: spans are made and exported (and lost).
    config.otlp_endpoint = Some("http://127.0.0.1:9".to_owned());
    let _telemetry = plinth_telemetry::init(&config).unwrap();
    assert!(plinth_telemetry::exporting());
    let idp = Idp::start().await;
    let upstream = echo().await;
    let s = stack_with(
        &idp,
        Options {
            gateway: json!({
                "routes": [{ "prefix": "/admin/echo", "upstream": upstream, "audience": "echo" }]
            }),
            ..Options::default()
        },
    )
    .await;
    let token = idp.access_token("msp-admin").await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let seen: Value = reqwest::Client::new()
        .get(format!("{}/admin/echo/headers", s.gateway))
        .bearer_auth(&token)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let traceparent = seen["traceparent"][0].as_str().unwrap();
    let parts: Vec<&str> = traceparent.split('-').collect();
    assert_eq!(parts.len(), 4, "{traceparent}");
    assert_eq!(parts[1], trace_id, "the caller's trace continues");
    assert_ne!(
        parts[2], caller_span,
        "the gateway's own span comes between"
    );
}

/// A service that breaks the connection of the first request for each path
/// before answering (a replica stopping mid-request, as a load balancer would
/// still route to it), and answers `200 ok` to the next ones; how many requests
/// for each path reached it.
async fn flaky() -> (
    String,
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, usize>>>,
) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    let counted = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let mut read = 0;
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(got) => read += got,
                    }
                }
                let head = String::from_utf8_lossy(&buf[..read]).into_owned();
                let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
                let n = {
                    let mut counted = counted.lock().unwrap();
                    let n = counted.entry(path).or_insert(0);
                    *n += 1;
                    *n
                };
                if n == 1 {
                    return; // dropped: the connection breaks before an answer
                }
                let _ = conn
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
            });
        }
    });
    (url, seen)
}

#[tokio::test]
async fn a_read_whose_connection_breaks_is_sent_once_more_and_a_write_is_not() {
    let idp = Idp::start().await;
    let (upstream, seen) = flaky().await;
    let s = stack_with(
        &idp,
        Options {
            gateway: json!({
                "routes": [{ "prefix": "/admin/flaky", "upstream": upstream, "audience": "flaky" }]
            }),
            ..Options::default()
        },
    )
    .await;
    let token = idp.access_token("msp-admin").await;
    let http = reqwest::Client::new();
    let reached = |path: &str| seen.lock().unwrap().get(path).copied().unwrap_or(0);

    // A read: the first connection breaks, the second answers.
    let read = http
        .get(format!("{}/admin/flaky/read", s.gateway))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(read.text().await.unwrap(), "ok");
    assert_eq!(reached("/admin/flaky/read"), 2, "the read was sent twice");

    // A write whose connection breaks may have been applied: it is not sent
    // again; the caller gets a retryable 503.
    for (path, body) in [
        ("/admin/flaky/write-with-body", Some(json!({ "name": "x" }))),
        ("/admin/flaky/write-without", None),
    ] {
        let mut write = http
            .post(format!("{}{path}", s.gateway))
            .bearer_auth(&token);
        if let Some(body) = body {
            write = write.json(&body);
        }
        let write = write.send().await.unwrap();
        assert_eq!(write.status(), 503, "{path}");
        let problem: Value = write.json().await.unwrap();
        assert_eq!(problem["code"], "unavailable", "{problem}");
        assert_eq!(reached(path), 1, "{path} was sent once");
    }
}
