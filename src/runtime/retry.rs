//! Backoff policies and the retry loop.
//!
//! Takes a [`Policy`] (what `retry N [backoff kind(d, max: m)] [jitter]` says, already
//! evaluated to numbers and durations), a random number generator for jitter, and an
//! async attempt. Gives the delay before each retry ([`Policy::delay`]) and [`run`], which
//! calls the attempt until it succeeds, fails in a way the caller does not retry, or the
//! retries run out, sleeping on tokio's clock in between. What counts as a failure worth
//! retrying (`if exit_code == 75 || timed_out`) is the caller's predicate: this module knows
//! nothing about processes.

use std::future::Future;
use std::time::Duration;

/// The delay of `fixed` when `retry N` names no backoff: `fixed(1s)`.
pub const DEFAULT_DELAY: Duration = Duration::from_secs(1);

/// How the delay grows from one retry to the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backoff {
    /// `fixed(d)`: `d` before every retry.
    Fixed(Duration),
    /// `linear(d)`: `d`, `2d`, `3d`, ...
    Linear(Duration),
    /// `exponential(base, max: m)`: `base`, `2 base`, `4 base`, ..., never more than `max`.
    Exponential {
        /// The first delay.
        base: Duration,
        /// The cap, if any. [`Policy::max`] caps too; the smaller of the two wins.
        max: Option<Duration>,
    },
}

impl Default for Backoff {
    /// `fixed(1s)`, the backoff of a bare `retry N`.
    fn default() -> Self {
        Backoff::Fixed(DEFAULT_DELAY)
    }
}

impl Backoff {
    /// The uncapped delay before retry number `retry` (1-based; 0 is taken as 1). Saturates
    /// at [`Duration::MAX`] rather than overflowing.
    fn raw(&self, retry: u32) -> Duration {
        let retry = retry.max(1);
        match *self {
            Backoff::Fixed(d) => d,
            Backoff::Linear(d) => d.saturating_mul(retry),
            Backoff::Exponential { base, .. } => doubled(base, retry - 1),
        }
    }

    /// The cap carried by the backoff itself (only `exponential` has one).
    fn own_max(&self) -> Option<Duration> {
        match *self {
            Backoff::Exponential { max, .. } => max,
            Backoff::Fixed(_) | Backoff::Linear(_) => None,
        }
    }
}

/// `d * 2^shift`, saturating at [`Duration::MAX`].
fn doubled(d: Duration, shift: u32) -> Duration {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return Duration::ZERO;
    }
    // Shifting left loses high bits silently, so check the room first: `nanos` has
    // `leading_zeros` free bits, and a shift of up to that many cannot overflow a u128.
    if shift >= nanos.leading_zeros() {
        return Duration::MAX;
    }
    from_nanos(nanos << shift)
}

/// A u128 count of nanoseconds as a `Duration`, saturating at [`Duration::MAX`].
fn from_nanos(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    match u64::try_from(nanos / NANOS_PER_SEC) {
        // The remainder is below 10^9, so it always fits a u32.
        Ok(secs) => Duration::new(secs, u32::try_from(nanos % NANOS_PER_SEC).unwrap_or(0)),
        Err(_) => Duration::MAX,
    }
}

/// A step's retry policy: `retry N [backoff kind(d, max: m)] [jitter]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// How many retries after the first attempt: `retry 3` makes up to 4 attempts.
    pub retries: u32,
    /// How the delay grows.
    pub backoff: Backoff,
    /// A cap on every delay, whatever the kind (`backoff linear(5s, max: 1m)`). With
    /// [`Backoff::Exponential::max`] also set, the smaller cap wins.
    pub max: Option<Duration>,
    /// Full jitter: each delay becomes uniform in `[0, delay]`.
    pub jitter: bool,
}

impl Policy {
    /// `retry retries` with nothing else: `fixed(1s)`, no cap, no jitter.
    pub fn new(retries: u32) -> Self {
        Policy {
            retries,
            backoff: Backoff::default(),
            max: None,
            jitter: false,
        }
    }

    /// The cap on every delay: the smaller of [`Policy::max`] and the exponential's own.
    pub fn cap(&self) -> Option<Duration> {
        match (self.max, self.backoff.own_max()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The wait before retry number `retry` (1-based: retry 1 follows attempt 1; 0 is taken
    /// as 1). Fixed `d`; linear `d * retry`; exponential `base * 2^(retry - 1)`; each
    /// saturating instead of overflowing, then capped at [`Policy::cap`]. With jitter, a
    /// uniform draw in `[0, capped delay]` ("full jitter", as defined on the AWS
    /// Architecture Blog, "Exponential Backoff And Jitter").
    pub fn delay(&self, retry: u32, rng: &mut fastrand::Rng) -> Duration {
        let mut d = self.backoff.raw(retry);
        if let Some(cap) = self.cap() {
            d = d.min(cap);
        }
        if self.jitter {
            // Drawn in nanoseconds over the closed range, so both 0 and the full delay are
            // possible; u128 because Duration::MAX has more nanoseconds than a u64 holds.
            d = from_nanos(rng.u128(0..=d.as_nanos()));
        }
        d
    }
}

/// Runs `attempt` under `policy`; returns the last attempt's result and how many attempts
/// were made (at least 1).
///
/// `attempt(n)` is called for n = 1, 2, ... After attempt `n` returns `out`, the loop stops
/// when the retries are used up (`n == retries + 1`; the predicate is then not asked) or when
/// `should_retry(&out, n)` is false: success, or a failure the caller does not retry, such
/// as an exit code outside `if exit_code == 75`. Otherwise it computes the delay of retry
/// `n` ([`Policy::delay`]), tells `on_retry(n + 1, delay, &out)` (for logging: the attempt
/// about to come, the wait before it, and the result that caused it), sleeps with
/// [`tokio::time::sleep`], and calls `attempt(n + 1)`.
///
/// Cancel by dropping the future (for example in a `select!` against a cancellation
/// signal): nothing runs after the point where it is dropped.
///
/// `retries` of `u32::MAX` is taken as `u32::MAX - 1`, so that the attempt count fits a u32.
pub async fn run<T, F, Fut>(
    policy: &Policy,
    rng: &mut fastrand::Rng,
    should_retry: impl FnMut(&T, u32) -> bool,
    on_retry: impl FnMut(u32, Duration, &T),
    attempt: F,
) -> (T, u32)
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = T>,
{
    // A channel whose sender is gone never pauses.
    let (_, never) = tokio::sync::watch::channel(false);
    let (out, n, _) = run_unless_paused(policy, rng, &never, should_retry, on_retry, attempt).await;
    (out, n)
}

/// [`run`], unless the run pauses: once `paused` holds, no further attempt starts (a
/// retry waiting for its delay does not wait any longer). Gives the last attempt's result,
/// the attempts made, and whether a retry was due when the pause stopped it.
pub async fn run_unless_paused<T, F, Fut>(
    policy: &Policy,
    rng: &mut fastrand::Rng,
    paused: &tokio::sync::watch::Receiver<bool>,
    mut should_retry: impl FnMut(&T, u32) -> bool,
    mut on_retry: impl FnMut(u32, Duration, &T),
    mut attempt: F,
) -> (T, u32, bool)
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = T>,
{
    let retries = policy.retries.min(u32::MAX - 1);
    let mut n: u32 = 1;
    loop {
        let out = attempt(n).await;
        if n > retries || !should_retry(&out, n) {
            return (out, n, false);
        }
        let delay = policy.delay(n, rng);
        on_retry(n + 1, delay, &out);
        let mut pause = paused.clone();
        let pausing = async {
            // A closed channel never pauses.
            if pause.wait_for(|p| *p).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = pausing => return (out, n, true),
        }
        if *paused.borrow() {
            return (out, n, true);
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use tokio::time::Instant;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn rng() -> fastrand::Rng {
        fastrand::Rng::with_seed(7)
    }

    fn delays(policy: &Policy, n: u32) -> Vec<Duration> {
        let mut rng = rng();
        (1..=n).map(|r| policy.delay(r, &mut rng)).collect()
    }

    /// Runs `policy` with attempts that always fail (return `false`) and retries all of
    /// them; returns the gaps between attempts on tokio's clock and the attempt count.
    async fn gaps(policy: &Policy) -> (Vec<Duration>, u32) {
        let times = RefCell::new(Vec::new());
        let mut rng = rng();
        let (_, attempts) = run(
            policy,
            &mut rng,
            |ok: &bool, _| !*ok,
            |_, _, _| {},
            |_| {
                times.borrow_mut().push(Instant::now());
                async { false }
            },
        )
        .await;
        let times = times.into_inner();
        let gaps = times.windows(2).map(|w| w[1] - w[0]).collect();
        (gaps, attempts)
    }

    #[test]
    fn default_policy_is_fixed_one_second() {
        let p = Policy::new(3);
        assert_eq!(p.backoff, Backoff::Fixed(secs(1)));
        assert_eq!(delays(&p, 3), vec![secs(1); 3]);
    }

    #[test]
    fn fixed_linear_exponential_sequences() {
        let fixed = Policy {
            backoff: Backoff::Fixed(secs(2)),
            ..Policy::new(4)
        };
        assert_eq!(delays(&fixed, 4), vec![secs(2); 4]);

        let linear = Policy {
            backoff: Backoff::Linear(secs(5)),
            ..Policy::new(4)
        };
        assert_eq!(
            delays(&linear, 4),
            vec![secs(5), secs(10), secs(15), secs(20)]
        );

        let exp = Policy {
            backoff: Backoff::Exponential {
                base: secs(2),
                max: None,
            },
            ..Policy::new(5)
        };
        assert_eq!(
            delays(&exp, 5),
            vec![secs(2), secs(4), secs(8), secs(16), secs(32)]
        );
    }

    #[test]
    fn caps_apply_to_every_kind_and_the_smaller_wins() {
        let linear = Policy {
            backoff: Backoff::Linear(secs(5)),
            max: Some(secs(12)),
            ..Policy::new(4)
        };
        assert_eq!(
            delays(&linear, 4),
            vec![secs(5), secs(10), secs(12), secs(12)]
        );

        let exp = Policy {
            backoff: Backoff::Exponential {
                base: secs(2),
                max: Some(secs(10)),
            },
            ..Policy::new(5)
        };
        assert_eq!(
            delays(&exp, 5),
            vec![secs(2), secs(4), secs(8), secs(10), secs(10)]
        );

        let both = Policy {
            max: Some(secs(5)),
            ..exp
        };
        assert_eq!(both.cap(), Some(secs(5)));
        assert_eq!(delays(&both, 4), vec![secs(2), secs(4), secs(5), secs(5)]);
    }

    #[test]
    fn huge_retry_numbers_saturate_without_panicking() {
        let mut rng = rng();
        let exp = Policy {
            backoff: Backoff::Exponential {
                base: Duration::from_nanos(1),
                max: None,
            },
            ..Policy::new(u32::MAX)
        };
        assert_eq!(exp.delay(64, &mut rng), Duration::from_nanos(1 << 63));
        for r in [100, 128, 129, 1_000, u32::MAX] {
            assert_eq!(exp.delay(r, &mut rng), Duration::MAX);
        }
        let capped = Policy {
            max: Some(secs(60)),
            ..exp
        };
        assert_eq!(capped.delay(u32::MAX, &mut rng), secs(60));

        let big = Policy {
            backoff: Backoff::Linear(Duration::MAX),
            ..Policy::new(u32::MAX)
        };
        assert_eq!(big.delay(u32::MAX, &mut rng), Duration::MAX);
        let fixed = Policy {
            backoff: Backoff::Fixed(Duration::MAX),
            jitter: true,
            ..Policy::new(1)
        };
        assert!(fixed.delay(u32::MAX, &mut rng) <= Duration::MAX);

        let zero = Policy {
            backoff: Backoff::Exponential {
                base: Duration::ZERO,
                max: None,
            },
            ..Policy::new(1)
        };
        assert_eq!(zero.delay(u32::MAX, &mut rng), Duration::ZERO);
        // Retry 0 is not a retry; it is read as the first.
        assert_eq!(exp.delay(0, &mut rng), Duration::from_nanos(1));
    }

    #[test]
    fn jitter_stays_within_zero_and_the_cap_and_varies() {
        let policy = Policy {
            backoff: Backoff::Exponential {
                base: secs(1),
                max: Some(secs(8)),
            },
            jitter: true,
            ..Policy::new(10)
        };
        for seed in 0..50 {
            let mut rng = fastrand::Rng::with_seed(seed);
            for retry in 1..=10 {
                let cap = secs(1 << (retry - 1).min(3));
                let mut seen = Vec::new();
                for _ in 0..20 {
                    let d = policy.delay(retry, &mut rng);
                    assert!(d <= cap, "{d:?} > {cap:?} at retry {retry}");
                    seen.push(d);
                }
                assert!(seen.iter().any(|d| *d != seen[0]), "all equal: {seen:?}");
            }
        }
        // Full jitter can wait nothing at all when the delay itself is nothing.
        let zero = Policy {
            backoff: Backoff::Fixed(Duration::ZERO),
            jitter: true,
            ..Policy::new(1)
        };
        assert_eq!(zero.delay(1, &mut rng()), Duration::ZERO);
    }

    #[test]
    fn jitter_covers_the_range() {
        // Over many draws the mean of a uniform [0, 10s] is near 5s, and both halves show up.
        let policy = Policy {
            backoff: Backoff::Fixed(secs(10)),
            jitter: true,
            ..Policy::new(1)
        };
        let mut rng = rng();
        let draws: Vec<Duration> = (0..10_000).map(|_| policy.delay(1, &mut rng)).collect();
        let mean = draws.iter().sum::<Duration>() / 10_000;
        assert!(mean > Duration::from_millis(4_800) && mean < Duration::from_millis(5_200));
        assert!(draws.iter().any(|d| *d < secs(1)));
        assert!(draws.iter().any(|d| *d > secs(9)));
    }

    #[tokio::test(start_paused = true)]
    async fn exponential_waits_on_the_clock_and_caps() {
        let policy = Policy {
            backoff: Backoff::Exponential {
                base: secs(2),
                max: Some(secs(10)),
            },
            ..Policy::new(5)
        };
        let (gaps, attempts) = gaps(&policy).await;
        assert_eq!(attempts, 6);
        assert_eq!(gaps, vec![secs(2), secs(4), secs(8), secs(10), secs(10)]);
    }

    #[tokio::test(start_paused = true)]
    async fn fixed_and_linear_wait_on_the_clock() {
        let (gaps_fixed, n) = gaps(&Policy::new(3)).await;
        assert_eq!(n, 4);
        assert_eq!(gaps_fixed, vec![secs(1); 3]);

        let linear = Policy {
            backoff: Backoff::Linear(secs(10)),
            ..Policy::new(2)
        };
        let (gaps_linear, n) = gaps(&linear).await;
        assert_eq!(n, 3);
        assert_eq!(gaps_linear, vec![secs(10), secs(20)]);
    }

    #[tokio::test(start_paused = true)]
    async fn no_retries_means_one_attempt_and_no_wait() {
        let start = Instant::now();
        let (gaps, n) = gaps(&Policy::new(0)).await;
        assert_eq!(n, 1);
        assert!(gaps.is_empty());
        assert_eq!(Instant::now(), start);
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_stops_a_retry_that_waits_for_its_backoff() {
        let (pause, paused) = tokio::sync::watch::channel(false);
        let start = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(secs(5)).await;
            pause.send_replace(true);
        });
        let attempts = RefCell::new(0);
        let (ok, n, due) = run_unless_paused(
            &Policy {
                backoff: Backoff::Fixed(secs(3600)),
                ..Policy::new(3)
            },
            &mut rng(),
            &paused,
            |ok: &bool, _| !*ok,
            |_, _, _| {},
            |_| {
                *attempts.borrow_mut() += 1;
                async { false }
            },
        )
        .await;
        assert!(!ok);
        assert_eq!((n, due, *attempts.borrow()), (1, true, 1));
        // The pause, not the hour of backoff.
        assert_eq!(Instant::now() - start, secs(5));
        // Already paused: the first attempt runs (the caller decides whether it starts),
        // no retry follows.
        let (_, n, due) = run_unless_paused(
            &Policy::new(3),
            &mut rng(),
            &paused,
            |ok: &bool, _| !*ok,
            |_, _, _| {},
            |_| async { false },
        )
        .await;
        assert_eq!((n, due), (1, true));
    }

    #[tokio::test(start_paused = true)]
    async fn success_stops_the_loop() {
        // Fails twice, then succeeds: 3 attempts out of a possible 6.
        let start = Instant::now();
        let (ok, n) = run(
            &Policy::new(5),
            &mut rng(),
            |ok: &bool, _| !*ok,
            |_, _, _| {},
            |n| async move { n == 3 },
        )
        .await;
        assert!(ok);
        assert_eq!(n, 3);
        assert_eq!(Instant::now() - start, secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_not_retried_stops_at_once() {
        // Exit codes 75, 75, 2: the predicate retries only 75, so 2 ends the loop at once.
        let codes = [75, 75, 2, 75, 0];
        let start = Instant::now();
        let asked = RefCell::new(Vec::new());
        let (code, n) = run(
            &Policy::new(10),
            &mut rng(),
            |code: &i32, attempt| {
                asked.borrow_mut().push(attempt);
                *code == 75
            },
            |_, _, _| {},
            |n| async move { codes[(n - 1) as usize] },
        )
        .await;
        assert_eq!((code, n), (2, 3));
        assert_eq!(asked.into_inner(), vec![1, 2, 3]);
        assert_eq!(Instant::now() - start, secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn the_predicate_sees_the_attempt_number() {
        // `retry 5 if attempt < 2`: one retry only, whatever the policy allows.
        let (_, n) = run(
            &Policy::new(5),
            &mut rng(),
            |_: &(), attempt| attempt < 2,
            |_, _, _| {},
            |_| async {},
        )
        .await;
        assert_eq!(n, 2);
    }

    #[tokio::test(start_paused = true)]
    async fn on_retry_reports_each_retry_before_its_wait() {
        let policy = Policy {
            backoff: Backoff::Linear(secs(3)),
            ..Policy::new(3)
        };
        let start = Instant::now();
        let mut seen = Vec::new();
        let (_, n) = run(
            &policy,
            &mut rng(),
            |_: &u32, _| true,
            |next, delay, out: &u32| seen.push((next, delay, *out, Instant::now() - start)),
            |n| async move { n * 10 },
        )
        .await;
        assert_eq!(n, 4);
        assert_eq!(
            seen,
            vec![
                (2, secs(3), 10, secs(0)),
                (3, secs(6), 20, secs(3)),
                (4, secs(9), 30, secs(9)),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_attempt_is_not_judged() {
        // With the retries used up the predicate is not asked: it may log or count.
        let asked = RefCell::new(0);
        let (_, n) = run(
            &Policy::new(2),
            &mut rng(),
            |_: &(), _| {
                *asked.borrow_mut() += 1;
                true
            },
            |_, _, _| {},
            |_| async {},
        )
        .await;
        assert_eq!(n, 3);
        assert_eq!(asked.into_inner(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn jittered_waits_on_the_clock_stay_within_the_delays() {
        let policy = Policy {
            backoff: Backoff::Exponential {
                base: secs(2),
                max: None,
            },
            jitter: true,
            ..Policy::new(4)
        };
        let (gaps, n) = gaps(&policy).await;
        assert_eq!(n, 5);
        for (gap, cap) in gaps.iter().zip([2, 4, 8, 16]) {
            assert!(*gap <= secs(cap), "{gap:?} > {cap}s");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn dropping_the_future_cancels_the_wait() {
        let attempts = RefCell::new(0);
        let policy = Policy {
            backoff: Backoff::Fixed(secs(60)),
            ..Policy::new(3)
        };
        let mut rng = rng();
        let fut = run(
            &policy,
            &mut rng,
            |_: &(), _| true,
            |_, _, _| {},
            |_| {
                *attempts.borrow_mut() += 1;
                async {}
            },
        );
        let timed_out = tokio::time::timeout(secs(90), fut).await.is_err();
        assert!(timed_out);
        assert_eq!(attempts.into_inner(), 2);
    }
}
