//! When and how long to wait before trying a request again. Pure functions: the caller
//! supplies the random number and the clock, so the policy is testable without sleeping.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Delay before the first retry (before jitter); doubles each time.
    pub base_delay: Duration,
    /// Ceiling of one delay.
    pub max_delay: Duration,
    /// Cap on the total time of one request including all attempts and waits.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            budget: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> RetryPolicy {
        RetryPolicy { max_retries: 0, ..RetryPolicy::default() }
    }

    /// Backoff before retry number `retry` (0-based): exponential, capped, with "equal
    /// jitter" (half fixed, half random) so that many clients don't retry in lockstep
    /// and no wait collapses to zero. `unit` is a random number in `[0, 1)`.
    pub fn backoff(&self, retry: u32, unit: f64) -> Duration {
        let exp = self.base_delay.saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX));
        let capped = exp.min(self.max_delay);
        let half = capped / 2;
        half + half.mul_f64(unit.clamp(0.0, 1.0))
    }

    /// What to do after attempt `retry` failed with a retryable outcome, given the time
    /// already spent and the server's `Retry-After`. `None` means: give up now.
    pub fn next_delay(
        &self,
        retry: u32,
        elapsed: Duration,
        retry_after: Option<Duration>,
        unit: f64,
    ) -> Option<Duration> {
        if retry >= self.max_retries {
            return None;
        }
        // The server's word wins over our own schedule; it is never shortened.
        let delay = retry_after.unwrap_or_else(|| self.backoff(retry, unit));
        (elapsed + delay < self.budget).then_some(delay)
    }
}

/// Parses `Retry-After`: delta seconds, or an HTTP date relative to `now`.
pub fn parse_retry_after(value: &str, now: jiff::Timestamp) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(value)?;
    let ms = at.as_millisecond() - now.as_millisecond();
    Some(Duration::from_millis(ms.max(0) as u64))
}

/// Parses an IMF-fixdate (`Wed, 25 Nov 2026 17:54:38 GMT`), the format of `Date` and `Retry-After`.
pub fn parse_http_date(value: &str) -> Option<jiff::Timestamp> {
    jiff::fmt::rfc2822::parse(value.trim()).ok().map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn backoff_doubles_then_caps() {
        let p = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
            budget: Duration::from_secs(60),
        };
        assert_eq!(p.backoff(0, 0.0), Duration::from_millis(50));
        assert_eq!(p.backoff(0, 0.5), Duration::from_millis(75));
        assert_eq!(p.backoff(2, 0.0), Duration::from_millis(200));
        assert_eq!(p.backoff(9, 0.0), Duration::from_millis(500));
        assert_eq!(p.backoff(40, 0.5), Duration::from_millis(750));
    }

    #[test]
    fn gives_up_on_count_or_budget_and_honours_retry_after() {
        let p = RetryPolicy { max_retries: 2, budget: Duration::from_secs(10), ..RetryPolicy::default() };
        assert!(p.next_delay(0, Duration::ZERO, None, 0.5).is_some());
        assert_eq!(p.next_delay(2, Duration::ZERO, None, 0.5), None);
        assert_eq!(
            p.next_delay(0, Duration::ZERO, Some(Duration::from_secs(7)), 0.5),
            Some(Duration::from_secs(7))
        );
        assert_eq!(p.next_delay(0, Duration::from_secs(4), Some(Duration::from_secs(7)), 0.5), None);
        assert_eq!(RetryPolicy::none().next_delay(0, Duration::ZERO, None, 0.0), None);
    }

    #[test]
    fn retry_after_forms() {
        let now: jiff::Timestamp = "2026-11-25T17:54:30Z".parse().unwrap();
        assert_eq!(parse_retry_after("5", now), Some(Duration::from_secs(5)));
        assert_eq!(parse_retry_after("Wed, 25 Nov 2026 17:54:38 GMT", now), Some(Duration::from_secs(8)));
        assert_eq!(parse_retry_after("Wed, 25 Nov 2026 17:54:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }

    proptest! {
        #[test]
        fn backoff_stays_within_half_and_full_cap(retry in 0u32..64, unit in 0.0f64..1.0) {
            let p = RetryPolicy::default();
            let d = p.backoff(retry, unit);
            prop_assert!(d <= p.max_delay);
            prop_assert!(d >= p.base_delay / 2);
        }
    }
}
