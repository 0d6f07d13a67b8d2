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

    /// Gives the free slots to the best claims waiting.
    pub fn dispatch(&self) {
        let mut state = self.lock();
        while state.free > 0 {
            let Some(waiter) = state.waiting.pop() else {
                break;
            };
            // A claim that gave up has closed its end: the slot goes to the next one.
            if waiter.grant.send(()).is_ok() {
                state.free -= 1;
            }
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
}
