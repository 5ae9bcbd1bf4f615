//! Telemetry for every Plinth process, set up by one call.
//!
//! [`init`] installs a `tracing` subscriber that logs pretty (development) or as JSON
//! lines (production), and an OpenTelemetry layer so that every span has a W3C trace
//! id even when nothing is exported. When `OTEL_EXPORTER_OTLP_ENDPOINT` is set, spans
//! are exported over OTLP/HTTP. The returned [`TelemetryGuard`] flushes on drop.
//!
//! Trace context crosses process boundaries as a `traceparent` value: [`inject`]
//! writes the current span's context into any header carrier (HTTP headers, Kafka
//! headers), [`set_parent`] continues a trace that arrived in one.

#![warn(missing_docs)]

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The W3C trace context header name, for HTTP and Kafka alike.
pub const TRACEPARENT: &str = "traceparent";
/// The W3C trace state header name.
pub const TRACESTATE: &str = "tracestate";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable, for a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, for log shippers.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("log format `{other}` is not one of: pretty, json")),
        }
    }
}

/// What [`init`] needs; a service's `Settings` fills it in.
#[derive(Debug, Clone)]
pub struct TelemetryConfig {
    /// `service.name` in exported spans and in every log line.
    pub service_name: String,
    /// How log lines are written.
    pub format: LogFormat,
    /// An `EnvFilter` directive such as `info,plinth_bus=debug`.
    pub filter: String,
    /// OTLP/HTTP endpoint; spans are exported only when set.
    pub otlp_endpoint: Option<String>,
}

impl TelemetryConfig {
    /// Defaults for `service_name`: pretty logs at `info`, and the OTLP endpoint
    /// from the standard `OTEL_EXPORTER_OTLP_ENDPOINT` variable.
    pub fn new(service_name: &str) -> Self {
        TelemetryConfig {
            service_name: service_name.to_owned(),
            format: LogFormat::default(),
            filter: "info".to_owned(),
            otlp_endpoint: std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT")
                .ok()
                .filter(|v| !v.is_empty()),
        }
    }
}

/// Keeps the tracer provider alive; flushes and shuts it down on drop.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Err(err) = self.provider.force_flush() {
            eprintln!("telemetry: flushing spans failed: {err}");
        }
        if let Err(err) = self.provider.shutdown() {
            eprintln!("telemetry: shutting down the tracer failed: {err}");
        }
    }
}

/// Whether [`init`] set up an exporter: spans reach a collector.
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether spans are exported. A hop that only passes requests on (the gateway)
/// makes a span of its own only then: a span nobody collects costs a proxied
/// request more than the proxying.
pub fn exporting() -> bool {
    EXPORTING.load(std::sync::atomic::Ordering::Relaxed)
}

/// A `traceparent` beginning a new trace (random trace and span ids, sampled):
/// for a hop that passes on the caller's trace context and must begin one when
/// the caller sent none.
pub fn new_traceparent() -> String {
    use opentelemetry_sdk::trace::{IdGenerator as _, RandomIdGenerator};
    let ids = RandomIdGenerator::default();
    format!("00-{}-{}-01", ids.new_trace_id(), ids.new_span_id())
}

/// Telemetry that could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The OTLP exporter refused its settings.
    #[error("building the OTLP span exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// The log filter does not parse.
    #[error("invalid log filter `{filter}`: {source}")]
    Filter {
        /// The filter as configured.
        filter: String,
        /// Why it does not parse.
        source: tracing_subscriber::filter::ParseError,
    },
}

/// Installs the global subscriber and tracer. Calling it again in the same process
/// (tests) keeps the first subscriber and still returns a working guard.
pub fn init(config: &TelemetryConfig) -> Result<TelemetryGuard, TelemetryError> {
    let resource = Resource::builder()
        .with_service_name(config.service_name.clone())
        .build();
    let mut builder = SdkTracerProvider::builder().with_resource(resource);
    if let Some(endpoint) = &config.otlp_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .build()?;
        builder = builder.with_batch_exporter(exporter);
        EXPORTING.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let provider = builder.build();
    let tracer = provider.tracer(config.service_name.clone());
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    opentelemetry::global::set_tracer_provider(provider.clone());

    let filter = EnvFilter::try_new(&config.filter).map_err(|source| TelemetryError::Filter {
        filter: config.filter.clone(),
        source,
    })?;
    let fmt = match config.format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer().with_target(true).boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    };
    // The log filter applies to log output only: spans at `info` and above always get
    // a trace context, so `traceparent` travels even when logging is quiet.
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(tracing_subscriber::filter::LevelFilter::INFO);
    // A second init in the same process (tests) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .with(otel)
        .try_init();
    Ok(TelemetryGuard { provider })
}

/// Writes the trace context of `span` into a carrier: `set(name, value)` is called for
/// `traceparent` (and `tracestate` when there is one).
pub fn inject(span: &Span, set: impl FnMut(&'static str, String)) {
    let cx = span.context();
    if !cx.span().span_context().is_valid() {
        return;
    }
    TraceContextPropagator::new().inject_context(&cx, &mut Setter(set));
}

/// Hands the propagator's fields straight to the carrier's setter.
struct Setter<F>(F);

impl<F: FnMut(&'static str, String)> opentelemetry::propagation::Injector for Setter<F> {
    fn set(&mut self, key: &str, value: String) {
        match key {
            TRACEPARENT => (self.0)(TRACEPARENT, value),
            TRACESTATE if !value.is_empty() => (self.0)(TRACESTATE, value),
            _ => {}
        }
    }
}

/// The `traceparent` of the current span, if it has a valid trace context.
pub fn current_traceparent() -> Option<String> {
    let mut out = None;
    inject(&Span::current(), |name, value| {
        if name == TRACEPARENT {
            out = Some(value);
        }
    });
    out
}

/// Makes `span` a child of the trace described by the carrier (`get(name)` returns a
/// header's value). Malformed or absent context leaves `span` a new root.
pub fn set_parent(span: &Span, get: impl Fn(&str) -> Option<String>) {
    let Some(traceparent) = get(TRACEPARENT) else {
        return;
    };
    let carrier = Carried {
        traceparent,
        tracestate: get(TRACESTATE),
    };
    let cx = TraceContextPropagator::new().extract(&carrier);
    if cx.span().span_context().is_valid() {
        let _ = span.set_parent(cx);
    }
}

/// The trace context fields a carrier held.
struct Carried {
    traceparent: String,
    tracestate: Option<String>,
}

impl opentelemetry::propagation::Extractor for Carried {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => Some(&self.traceparent),
            TRACESTATE => self.tracestate.as_deref(),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        let mut keys = vec![TRACEPARENT];
        if self.tracestate.is_some() {
            keys.push(TRACESTATE);
        }
        keys
    }
}

/// The 32-hex-digit trace id inside a `traceparent` value.
pub fn trace_id_of(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let (_version, trace_id) = (parts.next()?, parts.next()?);
    (trace_id.len() == 32).then_some(trace_id)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn trace_context_survives_a_carrier() {
        let _guard = init(&TelemetryConfig::new("telemetry-test")).unwrap();

        let outer = tracing::info_span!("producer");
        let sent = outer
            .in_scope(current_traceparent)
            .expect("spans have a trace context");
        assert!(sent.starts_with("00-") && sent.len() == 55, "{sent}");

        let mut headers: HashMap<String, String> = HashMap::new();
        inject(&outer, |k, v| {
            headers.insert(k.to_owned(), v);
        });
        assert_eq!(headers.get(TRACEPARENT), Some(&sent));

        let inner = tracing::info_span!("consumer");
        set_parent(&inner, |k| headers.get(k).cloned());
        let received = inner.in_scope(current_traceparent).unwrap();
        assert_eq!(trace_id_of(&received), trace_id_of(&sent));
        assert_ne!(
            received, sent,
            "the consumer span is a new span in the same trace"
        );

        let orphan = tracing::info_span!("orphan");
        set_parent(&orphan, |_| Some("garbage".to_owned()));
        let own = orphan.in_scope(current_traceparent).unwrap();
        assert_ne!(trace_id_of(&own), trace_id_of(&sent));
    }

    #[test]
    fn log_formats_parse() {
        assert_eq!("json".parse::<LogFormat>().unwrap(), LogFormat::Json);
        assert!("xml".parse::<LogFormat>().is_err());
    }
}
