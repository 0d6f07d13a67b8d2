//! The run's process slots (`--max-parallel`, `max_parallel`): at most `n` step processes
//! at once. Free slots go to the waiting claims of the highest priority, ties to the step
//! first in the file, then to the fan-out instance first in its list, then to the claim
//! made first. A tokio `Semaphore` would hand slots out in the order they were asked for,
//! so a step of high priority that became ready late would wait behind every step of low
//! priority already waiting.
//!
//! Slots are handed out only by [`Slots::dispatch`], which the scheduler calls once the
//! steps that the last finished step made ready have made their claims: a slot that a
//! finished step frees goes to the best of those and of the claims already waiting, not
//! to whichever claim was waiting first. [`Slots::wanted`] tells the scheduler that a
//! claim or a free slot is new.
//!
//! A step done with its slot may give it on at once ([`Permit::hand_off`]) when the
//! dispatch could only give it to the claim waiting first anyway: no step its end can
//! make ready, no ready step the run loop has not started yet, and no step it is
//! starting now can outrank that claim. The next process then starts without waiting
//! for the finished step's report and a turn of the run loop.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Mutex;

use tokio::sync::oneshot;

/// Who asks for a slot: the order waiting attempts get one in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Claim {
    /// The step's `priority` (higher first).
    pub priority: i64,
    /// The step's index (lower first: file order).
    pub step: Reverse<usize>,
    /// The instance's index in its fan-out (lower first: list order).
    pub instance: Reverse<usize>,
}

impl Claim {
    /// The claim of instance `instance` (0 for a step without fan-out) of step `step`.
    pub fn new(priority: i64, step: usize, instance: usize) -> Claim {
        Claim {
            priority,
            step: Reverse(step),
            instance: Reverse(instance),
        }
    }
}

/// Whether an attempt that succeeded gives its slot straight on ([`Permit::hand_off`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandOff {
    /// Never: the next dispatch decides.
    Never,
    /// To the best claim waiting if it outranks this one: the best claim that the
    /// step's end can make ready (`None`: it makes none ready).
    Above(Option<Claim>),
}

/// What an attempt asks for its slot with.
#[derive(Clone, Copy, Debug)]
pub struct Ask {
    /// Its place among the claims.
    pub claim: Claim,
    /// What it does with the slot after a success.
    pub hand_off: HandOff,
}

/// A fixed number of slots, handed out by [`Claim`].
#[derive(Debug)]
pub struct Slots {
    state: Mutex<State>,
    /// Woken by a new claim or a freed slot: time to dispatch.
    wanted: tokio::sync::Notify,
}

#[derive(Debug)]
struct State {
    free: usize,
    /// The waiting claims, the first to serve on top; the sequence number (lower first)
    /// breaks ties between equal claims.
    waiting: BinaryHeap<Waiter>,
    asked: u64,
    /// Set while the run loop starts steps whose claims are not made yet: until the next
    /// dispatch, no slot is handed on.
    starting: bool,
    /// The best claim among the ready steps the run loop has not started yet.
    first_ready: Option<Claim>,
}

impl State {
    /// Grants a slot to the best claim waiting, if `takes` accepts it: whether one got
    /// it. A claim that gave up has closed its end: the next one is tried, if `takes`
    /// accepts it too.
    fn grant_best(&mut self, takes: impl Fn(Claim) -> bool) -> bool {
        while self.waiting.peek().is_some_and(|top| takes(top.claim)) {
            let Some(waiter) = self.waiting.pop() else {
                break;
            };
            if waiter.grant.send(()).is_ok() {
                return true;
            }
        }
        false
    }
}

#[derive(Debug)]
struct Waiter {
    claim: Claim,
    seq: Reverse<u64>,
    grant: oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        (self.claim, self.seq) == (other.claim, other.seq)
    }
}

impl Eq for Waiter {}

impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Waiter {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.claim, self.seq).cmp(&(other.claim, other.seq))
    }
}

/// A slot held; dropping it frees the slot for the next claim.
#[derive(Debug)]
pub struct Permit<'a> {
    slots: Option<&'a Slots>,
}

impl Slots {
    /// `n` slots (at least one).
    pub fn new(n: usize) -> Slots {
        Slots {
            state: Mutex::new(State {
                free: n.max(1),
                waiting: BinaryHeap::new(),
                asked: 0,
                starting: false,
                first_ready: None,
            }),
            wanted: tokio::sync::Notify::new(),
        }
    }

    /// Waits for a slot, which a later [`Slots::dispatch`] gives. A claim that is dropped
    /// while it waits gives up its place.
    pub async fn acquire(&self, claim: Claim) -> Permit<'_> {
        let granted = {
            let mut state = self.lock();
            let (grant, granted) = oneshot::channel();
            state.asked += 1;
            let seq = Reverse(state.asked);
            state.waiting.push(Waiter { claim, seq, grant });
            granted
        };
        self.wanted.notify_one();
        let mut waiting = Waiting {
            slots: self,
            granted,
            done: false,
        };
        let got = (&mut waiting.granted).await;
        waiting.done = true;
        // (The sender is dropped only with the slots themselves.)
        Permit {
            slots: got.is_ok().then_some(self),
        }
    }

    /// How many slots are free now.
    pub fn free(&self) -> usize {
        self.lock().free
    }

    /// What the run loop has not started yet: whether it is starting steps now (their
    /// claims come before the next [`Slots::dispatch`]), and the best claim among the
    /// ready steps it left for later. A slot is handed on past neither.
    pub fn expect(&self, starting: bool, first_ready: Option<Claim>) {
        let mut state = self.lock();
        state.starting |= starting;
        state.first_ready = first_ready;
    }

    /// Gives the free slots to the best claims waiting.
    pub fn dispatch(&self) {
        let mut state = self.lock();
        state.starting = false;
        while state.free > 0 && state.grant_best(|_| true) {
            state.free -= 1;
        }
    }

    /// Waits until a claim was made or a slot freed since the last wait: then
    /// [`Slots::dispatch`] has something to do.
    pub async fn wanted(&self) {
        self.wanted.notified().await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot was given back: it is free until the next dispatch.
    fn release(&self) {
        self.lock().free += 1;
        self.wanted.notify_one();
    }
}

/// A claim waiting for its slot. Dropped before it got it (the future awaiting it was
/// dropped), it gives up its place; a slot granted meanwhile goes on to the next claim.
struct Waiting<'a> {
    slots: &'a Slots,
    granted: oneshot::Receiver<()>,
    done: bool,
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.granted.close();
        if self.granted.try_recv().is_ok() {
            self.slots.release();
        }
    }
}

impl Permit<'_> {
    /// Gives the slot straight to the best claim waiting when the next dispatch would
    /// give it there too: that claim outranks `above` (the best claim that the end of
    /// the step holding the slot can make ready; `None` when it makes none ready) and
    /// the first ready step not started yet, and the run loop is not starting steps.
    /// Otherwise the slot is freed for the next dispatch, as dropping the permit does.
    /// Whether it was handed on.
    pub fn hand_off(mut self, above: Option<Claim>) -> bool {
        let Some(slots) = self.slots.take() else {
            return false;
        };
        let mut state = slots.lock();
        if !state.starting {
            let bar = above.max(state.first_ready);
            if state.grant_best(|claim| bar.is_none_or(|bar| claim > bar)) {
                return true;
            }
        }
        drop(state);
        slots.release();
        false
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let Some(slots) = self.slots.take() {
            slots.release();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Polls a future once: its output if it is ready.
    async fn poll_once<F: std::future::Future + Unpin>(f: &mut F) -> Option<F::Output> {
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut *f).poll(cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }

    /// Claims made in this order (step index, priority), served one slot at a time: the
    /// order they get it in.
    async fn served(claims: &[(usize, i64)]) -> Vec<usize> {
        let pool = Slots::new(1);
        let mut waiting: Vec<(usize, std::pin::Pin<Box<_>>)> = claims
            .iter()
            .map(|&(step, priority)| (step, Box::pin(pool.acquire(Claim::new(priority, step, 0)))))
            .collect();
        for (_, claim) in &mut waiting {
            assert!(
                poll_once(claim).await.is_none(),
                "nothing is given before a dispatch"
            );
        }
        let mut order = Vec::new();
        while !waiting.is_empty() {
            pool.dispatch();
            let mut next = None;
            for (k, (_, claim)) in waiting.iter_mut().enumerate() {
                if let Some(permit) = poll_once(claim).await {
                    assert!(next.is_none(), "one slot, one claim served");
                    next = Some((k, permit));
                }
            }
            let (k, permit) = next.expect("a dispatch serves a claim");
            order.push(waiting.remove(k).0);
            drop(permit);
        }
        order
    }

    #[tokio::test]
    async fn higher_priorities_are_served_first_then_file_order() {
        // Asked for in this order: step 5 (priority 0), 3 (1), 4 (10), 1 (1), 2 (10).
        let order = served(&[(5, 0), (3, 1), (4, 10), (1, 1), (2, 10)]).await;
        assert_eq!(order, [2, 4, 1, 3, 5]);
    }

    #[tokio::test]
    async fn equal_claims_are_served_in_the_order_they_were_made() {
        let pool = Slots::new(1);
        let mut second = Box::pin(pool.acquire(Claim::new(0, 7, 0)));
        let mut first = Box::pin(pool.acquire(Claim::new(0, 7, 0)));
        assert!(poll_once(&mut first).await.is_none());
        assert!(poll_once(&mut second).await.is_none());
        pool.dispatch();
        let held = poll_once(&mut first).await;
        assert!(held.is_some());
        assert!(poll_once(&mut second).await.is_none());
        drop(held);
        pool.dispatch();
        assert!(poll_once(&mut second).await.is_some());
    }

    #[tokio::test]
    async fn a_slot_freed_goes_to_the_best_claim_at_the_next_dispatch() {
        let pool = Slots::new(1);
        let mut low = Box::pin(pool.acquire(Claim::new(1, 0, 0)));
        assert!(poll_once(&mut low).await.is_none());
        pool.dispatch();
        let running = poll_once(&mut low).await.expect("the only claim is served");
        // A claim waits; the running step ends; a claim of higher priority comes before
        // the next dispatch (the step's dependents): it gets the slot.
        let mut waiting = Box::pin(pool.acquire(Claim::new(1, 1, 0)));
        assert!(poll_once(&mut waiting).await.is_none());
        drop(running);
        let mut late = Box::pin(pool.acquire(Claim::new(5, 2, 0)));
        assert!(poll_once(&mut late).await.is_none());
        pool.dispatch();
        assert!(poll_once(&mut late).await.is_some());
        assert!(poll_once(&mut waiting).await.is_none());
    }

    #[tokio::test]
    async fn a_claim_that_gives_up_loses_no_slot() {
        let pool = Slots::new(1);
        {
            let mut gives_up = Box::pin(pool.acquire(Claim::new(9, 1, 0)));
            assert!(poll_once(&mut gives_up).await.is_none());
        }
        pool.dispatch();
        assert_eq!(pool.free(), 1);
        // Given a slot, then dropped before it saw it: the slot is free again.
        {
            let mut granted = Box::pin(pool.acquire(Claim::new(0, 2, 0)));
            assert!(poll_once(&mut granted).await.is_none());
            pool.dispatch();
            assert_eq!(pool.free(), 0);
        }
        assert_eq!(pool.free(), 1);
    }

    /// The one slot of `pool`, served by a dispatch to step 1's claim.
    async fn held(pool: &Slots) -> Permit<'_> {
        let mut claim = Box::pin(pool.acquire(Claim::new(0, 1, 0)));
        assert!(poll_once(&mut claim).await.is_none());
        pool.dispatch();
        poll_once(&mut claim)
            .await
            .expect("the only claim is served")
    }

    /// One slot held by a step; claims of steps 3 and 5 wait. The held slot's step ends
    /// with `above` the best claim it can make ready, after the run loop said `expect`.
    async fn handed_on(above: Option<Claim>, starting: bool, first_ready: Option<usize>) -> bool {
        let pool = Slots::new(1);
        let permit = held(&pool).await;
        let mut five = Box::pin(pool.acquire(Claim::new(0, 5, 0)));
        let mut three = Box::pin(pool.acquire(Claim::new(0, 3, 0)));
        assert!(poll_once(&mut five).await.is_none());
        assert!(poll_once(&mut three).await.is_none());
        pool.expect(starting, first_ready.map(|j| Claim::new(0, j, 0)));
        let handed = permit.hand_off(above);
        // Handed on: step 3 has the slot at once, with no dispatch; else the slot is free
        // for the next one, and nobody has it yet.
        let got = poll_once(&mut three).await;
        assert_eq!(got.is_some(), handed);
        assert!(poll_once(&mut five).await.is_none());
        assert_eq!(pool.free(), usize::from(!handed));
        handed
    }

    #[tokio::test]
    async fn a_slot_is_handed_on_only_where_the_next_dispatch_would_give_it() {
        // The ending step makes nothing ready, or only steps after 3: step 3 gets it.
        assert!(handed_on(None, false, None).await);
        assert!(handed_on(Some(Claim::new(0, 4, 0)), false, Some(9)).await);
        // It can make step 2 ready, or step 1 is ready and not started, or the run loop
        // is starting steps: the dispatch decides.
        assert!(!handed_on(Some(Claim::new(0, 2, 0)), false, None).await);
        assert!(!handed_on(None, false, Some(1)).await);
        assert!(!handed_on(None, true, None).await);
        // A higher priority outranks file order.
        assert!(!handed_on(Some(Claim::new(1, 9, 0)), false, None).await);
    }

    #[tokio::test]
    async fn a_slot_handed_on_skips_claims_that_gave_up() {
        let pool = Slots::new(1);
        let permit = held(&pool).await;
        {
            let mut gives_up = Box::pin(pool.acquire(Claim::new(0, 2, 0)));
            assert!(poll_once(&mut gives_up).await.is_none());
        }
        let mut next = Box::pin(pool.acquire(Claim::new(0, 3, 0)));
        assert!(poll_once(&mut next).await.is_none());
        assert!(permit.hand_off(None));
        assert!(poll_once(&mut next).await.is_some());
    }
}
