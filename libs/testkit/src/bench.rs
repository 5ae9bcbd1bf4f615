//! What the services' HTTP benchmarks share: the number of calls
//! (`PLINTH_BENCH_CALLS`), the runtime they run on, and the measurement of a
//! request against one the same server answers without any work, taken in the
//! same run and reported as p50, p99 and their ratio.

use std::future::Future;
use std::time::Duration;

use hdrhistogram::Histogram;

/// The calls to make: `PLINTH_BENCH_CALLS`, or `default`.
pub fn calls(default: u64) -> u64 {
    std::env::var("PLINTH_BENCH_CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `measure` on a runtime of two worker threads (the machine's cores,
/// as the services run), and shuts the runtime down after it.
pub fn run<T>(measure: impl Future<Output = T>) -> std::io::Result<T> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let out = runtime.block_on(measure);
    runtime.shutdown_timeout(Duration::from_secs(5));
    Ok(out)
}

/// The latencies of a measured request and of the baseline, in microseconds.
#[derive(Debug)]
pub struct Against {
    /// The request measured.
    pub measured: Histogram<u64>,
    /// A request the same server answers without any work.
    pub baseline: Histogram<u64>,
}

impl Default for Against {
    fn default() -> Self {
        Against::new()
    }
}

#[expect(
    clippy::expect_used,
    reason = "three significant figures is a valid histogram"
)]
fn histogram() -> Histogram<u64> {
    Histogram::new(3).expect("a histogram of three significant figures")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Against {
    /// No round recorded yet.
    pub fn new() -> Self {
        Against {
            measured: histogram(),
            baseline: histogram(),
        }
    }

    /// Records one round: the measured request took `took`, the baseline
    /// `nothing`.
    pub fn record(&mut self, took: Duration, nothing: Duration) {
        // `record`, which grows the histogram to the value: `saturating_record`
        // clamps it to the highest value the histogram tracks so far instead.
        for (histogram, value) in [(&mut self.measured, took), (&mut self.baseline, nothing)] {
            if histogram.record(micros(value)).is_err() {
                histogram.saturating_record(micros(value));
            }
        }
    }

    /// The measured request's quantile `q`, in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.measured.value_at_quantile(q) as f64 / 1000.0
    }

    /// One line: `what` (`n` calls) at p50 and p99 against `target_ms` at
    /// p99, the baseline's, and the p99 ratio; whether the target was met.
    pub fn report(&self, what: &str, n: u64, target_ms: f64) -> bool {
        let base = |q: f64| self.baseline.value_at_quantile(q) as f64 / 1000.0;
        println!(
            "{what} ({n} calls): p50 {:.3} ms, p99 {:.3} ms (target <= {target_ms} ms); \
             an answer of no work p50 {:.3} ms, p99 {:.3} ms; p99 ratio {:.1}x",
            self.ms(0.5),
            self.ms(0.99),
            base(0.5),
            base(0.99),
            self.ms(0.99) / base(0.99),
        );
        self.ms(0.99) <= target_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_of_a_second_and_of_a_microsecond_are_told_apart() {
        let mut rounds = Against::new();
        for _ in 0..10 {
            rounds.record(Duration::from_millis(370), Duration::from_micros(400));
        }
        assert!((rounds.ms(0.5) - 370.0).abs() < 1.0, "{}", rounds.ms(0.5));
        assert!((rounds.baseline.value_at_quantile(0.5) as f64 - 400.0).abs() < 1.0);
    }
}
