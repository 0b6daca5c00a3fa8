//! The scheduling state machine, free of threads and of Python.
//!
//! It is generic over the output payload `T` so the unit tests drive it with plain Rust values;
//! the executor instantiates it with `Py<PyAny>`. It never drops a payload itself: every output
//! it lets go of is moved to `garbage`, which the caller drains and drops at a moment of its
//! choosing (for Python objects: while attached to the interpreter).
//!
//! Node life cycle: Waiting -> Ready -> Running -> Done(outcome), or Waiting/Ready -> Done
//! directly for nodes that will not run (skipped, cancelled, timeout); each of those produces
//! exactly one entry in `notices`, which the caller turns into one `skip(node, reason)` call.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::memory::{Budget, MemoryPool, Residence};
use crate::plan::Plan;

/// Final status of a node, as reported to Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Failed,
    Skipped,
    Cancelled,
    Timeout,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
            Outcome::Cancelled => "cancelled",
            Outcome::Timeout => "timeout",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Some predecessor has not finished yet.
    Waiting,
    /// In the ready heap.
    Ready,
    Running,
    Done(Outcome),
}

/// Heap entry: nodes of started groups first, then higher priority, ties broken by the lower
/// node index.
#[derive(Debug, Clone, Copy)]
struct ReadyEntry {
    started: bool,
    priority: f64,
    node: usize,
}

impl PartialEq for ReadyEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for ReadyEntry {}
impl PartialOrd for ReadyEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for ReadyEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.started
            .cmp(&other.started)
            .then_with(|| self.priority.total_cmp(&other.priority))
            .then_with(|| other.node.cmp(&self.node))
    }
}

/// A node handed to a worker, with the output objects of its `inputs` producers (None for a
/// producer that finished without producing).
#[derive(Debug)]
pub struct Dispatch<T> {
    pub node: usize,
    pub inputs: Vec<Option<Arc<T>>>,
    /// Per input: the object is a spill handle the worker must reload (see `reloaded`).
    pub spilled: Vec<bool>,
}

pub struct Scheduler<T> {
    plan: Arc<Plan>,
    timeout: Option<Duration>,
    state: Vec<State>,
    waiting_on: Vec<usize>,
    ready: BinaryHeap<ReadyEntry>,
    outputs: Vec<Option<Arc<T>>>,
    consumers_left: Vec<usize>,
    started_at: Vec<Option<Instant>>,
    seconds: Vec<f64>,
    /// Run time each group has used so far: a pipeline's time limit counts its own running
    /// steps, not the time it waited for a worker.
    group_used: Vec<Duration>,
    /// Deadline of each running node (the group's remaining budget), earliest first;
    /// entries of nodes that finished in time linger and are ignored.
    deadlines: BinaryHeap<Reverse<(Instant, usize)>>,
    group_expired: Vec<bool>,
    group_unfinished: Vec<usize>,
    /// Groups that have dispatched a node of their own (one with no `inputs`): an isolated
    /// pipeline then holds a worker process with its data until it ends, so its next steps go
    /// before any unstarted group's — started pipelines finish first, and live workers stay
    /// about as many as the jobs instead of one per pipeline.
    group_started: Vec<bool>,
    /// Per node: dispatching it makes its group hold one of `slots` until the group ends (an
    /// isolated pipeline's worker process). Empty: no limit.
    opens: Vec<bool>,
    slots: usize,
    group_holds: Vec<bool>,
    held: usize,
    /// Every ready node waits for a slot: nothing can start until some node finishes.
    slot_blocked: bool,
    /// Per node: running, but waiting for work another node is doing (see `set_lending`).
    lending: Vec<bool>,
    cancelled: bool,
    finished: usize,
    running: usize,
    live: usize,
    peak_live: usize,
    released: usize,
    notices: VecDeque<(usize, Outcome)>,
    abandoned: Vec<(usize, Outcome)>,
    garbage: Vec<Arc<T>>,
    /// Memory budget and output sizes; None: no budget.
    memory: Option<MemoryPool>,
    /// The best ready node waits for memory: nothing can start until some state changes.
    blocked: bool,
    /// Idle outputs the caller should spill to disk, with the object to write.
    spills: Vec<(usize, Arc<T>)>,
}

impl<T> Scheduler<T> {
    pub fn new(plan: Arc<Plan>, timeout: Option<Duration>) -> Self {
        let n = plan.len();
        let ng = plan.n_groups();
        let mut group_unfinished = vec![0; ng];
        for &g in &plan.group {
            group_unfinished[g] += 1;
        }
        let mut s = Scheduler {
            timeout,
            state: vec![State::Waiting; n],
            waiting_on: plan.n_preds.clone(),
            ready: BinaryHeap::new(),
            outputs: (0..n).map(|_| None).collect(),
            consumers_left: plan.n_consumers.clone(),
            started_at: vec![None; n],
            seconds: vec![0.0; n],
            group_used: vec![Duration::ZERO; ng],
            deadlines: BinaryHeap::new(),
            group_expired: vec![false; ng],
            group_unfinished,
            group_started: vec![false; ng],
            opens: Vec::new(),
            slots: usize::MAX,
            group_holds: vec![false; ng],
            held: 0,
            slot_blocked: false,
            lending: vec![false; n],
            cancelled: false,
            finished: 0,
            running: 0,
            live: 0,
            peak_live: 0,
            released: 0,
            notices: VecDeque::new(),
            abandoned: Vec::new(),
            garbage: Vec::new(),
            memory: None,
            blocked: false,
            spills: Vec::new(),
            plan,
        };
        for node in 0..n {
            if s.plan.n_preds[node] == 0 {
                s.make_ready(node);
            }
        }
        s
    }

    /// At most `slots` groups hold a slot and work at once: a group takes one when it dispatches
    /// a node with `opens[node]` and gives it back when its last node is done. A node that would
    /// open one more waits while `slots` holders are working (running, ready, or waiting for
    /// another node's output, as for a step they share) — unless nothing runs, when every holder
    /// waits on work of groups not started yet, so waiting could never end. A holder *parked* on
    /// ordering alone (it writes a file after an earlier pipeline) does not count as working,
    /// up to `2 * slots` holders in all.
    pub fn set_slots(&mut self, slots: usize, opens: Vec<bool>) {
        assert_eq!(opens.len(), self.len(), "one entry per node");
        self.slots = slots.max(1);
        self.opens = opens;
    }

    /// Groups holding a slot now.
    pub fn held_slots(&self) -> usize {
        self.held
    }

    /// Dispatching `node` makes its group take a slot (false for every node without `set_slots`).
    fn opens(&self, node: usize) -> bool {
        self.opens.get(node).copied().unwrap_or(false)
    }

    /// `working`: holders not parked, computed once per dispatch decision (when first needed).
    fn waits_for_slot(&self, node: usize, working: &mut Option<usize>) -> bool {
        let g = self.plan.group[node];
        if !self.opens(node) || self.group_holds[g] || self.running == 0 {
            return false;
        }
        if self.held < self.slots {
            return false;
        }
        let working = *working.get_or_insert_with(|| {
            let parked = (0..self.group_holds.len())
                .filter(|&h| self.group_holds[h] && self.parked(h))
                .count();
            self.held - parked
        });
        working >= self.slots || self.held >= 2 * self.slots
    }

    /// Group `g` has nothing ready and either its running node waits for another's work
    /// (lending), or it runs nothing and its next node has everything it needs but an ordering
    /// predecessor (`deps_any`) that is not done.
    fn parked(&self, g: usize) -> bool {
        let members = &self.plan.group_members[g];
        let done = |p: &usize| matches!(self.state[*p], State::Done(_));
        let working = |n: usize| match self.state[n] {
            State::Ready => true,
            State::Running => !self.lending[n],
            _ => false,
        };
        if members.iter().any(|&n| working(n)) {
            return false;
        }
        if members.iter().any(|&n| self.state[n] == State::Running) {
            return true; // every running member lends its slot
        }
        members.iter().any(|&n| {
            self.state[n] == State::Waiting
                && self.plan.deps_ok[n].iter().all(done)
                && self.plan.inputs[n].iter().all(done)
                && !self.plan.deps_any[n].iter().all(done)
        })
    }

    /// Running `node` waits for work another node is doing (`true`: a fold another worker
    /// fits), or works again (`false`). While it waits its group counts as parked, so another
    /// group may take a slot (the caller lends the thread's place the same way).
    pub fn set_lending(&mut self, node: usize, lending: bool) {
        if self.state[node] == State::Running && self.lending[node] != lending {
            self.lending[node] = lending;
            self.slot_blocked = false; // a slot may be free for a waiting group now
        }
    }

    /// Admits nodes under a memory budget from now on (see `memory.rs`).
    pub fn set_budget(&mut self, budget: Budget) {
        assert_eq!(budget.shape.len(), self.len(), "one shape per node");
        self.memory = Some(MemoryPool::new(budget));
    }

    // ----- queries -------------------------------------------------------------------------

    pub fn len(&self) -> usize {
        self.state.len()
    }

    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }

    pub fn state(&self, node: usize) -> State {
        self.state[node]
    }

    /// Every node has a final status (running calls that were abandoned count as finished).
    pub fn is_done(&self) -> bool {
        self.finished == self.state.len()
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled
    }

    pub fn running(&self) -> usize {
        self.running
    }

    /// Some node could start now (not when the best one waits for memory).
    pub fn has_ready(&self) -> bool {
        !self.cancelled && !self.blocked && !self.slot_blocked && !self.ready.is_empty()
    }

    /// A worker read the resident memory (see `MemoryPool::note_resident`).
    pub fn note_resident(&self, bytes: u64) {
        if let Some(m) = &self.memory {
            m.note_resident(bytes);
        }
    }

    /// The producers whose outputs `node` receives, in the order of its inputs.
    pub fn producers(&self, node: usize) -> &[usize] {
        &self.plan.inputs[node]
    }

    pub fn memory(&self) -> Option<&MemoryPool> {
        self.memory.as_ref()
    }

    pub fn status(&self, node: usize) -> Option<Outcome> {
        match self.state[node] {
            State::Done(o) => Some(o),
            _ => None,
        }
    }

    pub fn seconds(&self) -> &[f64] {
        &self.seconds
    }

    pub fn live_outputs(&self) -> usize {
        self.live
    }

    pub fn peak_live_outputs(&self) -> usize {
        self.peak_live
    }

    pub fn released(&self) -> usize {
        self.released
    }

    /// The earliest moment a running node's group will run out of time.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines
            .iter()
            .filter(|Reverse((_, node))| self.state[*node] == State::Running)
            .map(|Reverse((d, _))| *d)
            .min()
    }

    // ----- draining queues for the caller ------------------------------------------------------

    /// Nodes that will not run and whose `skip` callback is still due, with the reason.
    pub fn take_notices(&mut self) -> Vec<(usize, Outcome)> {
        self.notices.drain(..).collect()
    }

    pub fn has_notices(&self) -> bool {
        !self.notices.is_empty()
    }

    /// Running nodes that were given up on (timeout or cancellation after grace): the caller
    /// must interrupt their threads and replace the workers.
    pub fn take_abandoned(&mut self) -> Vec<(usize, Outcome)> {
        std::mem::take(&mut self.abandoned)
    }

    pub fn has_abandoned(&self) -> bool {
        !self.abandoned.is_empty()
    }

    /// Outputs to write to disk: the caller answers each with `spill_done`.
    pub fn take_spills(&mut self) -> Vec<(usize, Arc<T>)> {
        std::mem::take(&mut self.spills)
    }

    pub fn has_spills(&self) -> bool {
        !self.spills.is_empty()
    }

    /// Outputs the scheduler no longer holds; the caller decides where they are dropped.
    pub fn take_garbage(&mut self) -> Vec<Arc<T>> {
        std::mem::take(&mut self.garbage)
    }

    /// Hands every remaining output to the caller (end of a run: nothing outlives it).
    pub fn take_all_outputs(&mut self) -> Vec<Arc<T>> {
        let mut out = self.take_garbage();
        for (node, o) in self.outputs.iter_mut().enumerate() {
            if let Some(x) = o.take() {
                out.push(x);
                if let Some(m) = self.memory.as_mut() {
                    m.release(node);
                }
            }
        }
        self.live = 0;
        out
    }

    // ----- transitions -------------------------------------------------------------------------

    /// Pops the best ready node and marks it running. None when nothing can start now.
    pub fn next_run(&mut self, now: Instant) -> Option<Dispatch<T>> {
        self.poll_timeouts(now);
        if self.cancelled {
            return None;
        }
        let mut deferred = Vec::new();
        let found = self.pop_runnable(now, &mut deferred);
        self.slot_blocked = found.is_none() && self.ready.is_empty() && !deferred.is_empty();
        self.ready.extend(deferred);
        let node = found?;
        let g = self.plan.group[node];
        if self.plan.inputs[node].is_empty() {
            self.group_started[g] = true;
        }
        if self.opens(node) && !self.group_holds[g] {
            self.group_holds[g] = true;
            self.held += 1;
        }
        self.state[node] = State::Running;
        self.running += 1;
        self.started_at[node] = Some(now);
        if let Some(t) = self.timeout {
            let left = t.saturating_sub(self.group_used[g]);
            self.deadlines.push(Reverse((now + left, node)));
        }
        let producers = &self.plan.inputs[node];
        let spilled = producers
            .iter()
            .map(|&p| self.residence(p) == Residence::Spilled)
            .collect();
        let inputs = producers.iter().map(|&p| self.outputs[p].clone()).collect();
        if let Some(m) = self.memory.as_mut() {
            m.started(node);
        }
        Some(Dispatch { node, inputs, spilled })
    }

    /// Pops the best ready node that may start now; entries that must wait for a slot go to
    /// `deferred` (the caller puts them back).
    fn pop_runnable(&mut self, now: Instant, deferred: &mut Vec<ReadyEntry>) -> Option<usize> {
        let mut working = None;
        while let Some(&entry) = self.ready.peek() {
            let node = entry.node;
            // Lazy deletion: a queued node may since have been cancelled or timed out.
            if self.state[node] != State::Ready {
                self.ready.pop();
                continue;
            }
            let g = self.plan.group[node];
            if self.timeout.is_some_and(|t| self.group_used[g] >= t) {
                self.ready.pop();
                self.expire_group(g, now); // its budget is spent: the rest of the pipeline times out
                working = None; // it may have given a slot back
                continue;
            }
            if self.waits_for_slot(node, &mut working) {
                deferred.extend(self.ready.pop());
                continue;
            }
            if !self.memory_admits(node) {
                return None;
            }
            self.ready.pop();
            return Some(node);
        }
        None
    }

    fn residence(&self, node: usize) -> Residence {
        self.memory.as_ref().map_or(Residence::InMemory, |m| m.residence(node))
    }

    /// Bytes of `node`'s spilled inputs, which it would bring back into memory.
    fn reload_bytes(&self, node: usize, m: &MemoryPool) -> u64 {
        self.plan.input_producers[node]
            .iter()
            .filter(|&&p| m.residence(p) == Residence::Spilled)
            .map(|&p| m.size(p))
            .sum()
    }

    /// Whether the best ready node may start under the memory budget. If it may not and
    /// nothing runs, idle outputs are queued for spilling first; when none is left to spill,
    /// it starts anyway.
    fn memory_admits(&mut self, node: usize) -> bool {
        let Some(m) = self.memory.as_ref() else {
            return true;
        };
        let reload = self.reload_bytes(node, m);
        let admitted = m.admits(node, self.running, reload)
            && (self.running > 0 || m.excess(node, reload) == 0 || !self.request_spills(node, reload));
        if !admitted && !self.blocked {
            self.blocked = true;
            if let Some(m) = self.memory.as_mut() {
                m.waits += 1;
            }
        }
        admitted
    }

    /// Queues the largest idle outputs (not `node`'s own inputs) until the excess is covered.
    /// Returns whether spills are under way (queued now or still being written).
    fn request_spills(&mut self, node: usize, reload: u64) -> bool {
        let Some(m) = self.memory.as_mut() else {
            return false;
        };
        let own = &self.plan.input_producers[node];
        let mut candidates: Vec<usize> = (0..self.outputs.len())
            .filter(|&p| self.outputs[p].is_some() && !own.contains(&p) && m.spillable(p, self.finished))
            .collect();
        candidates.sort_by_key(|&p| Reverse(m.size(p)));
        let mut excess = m.excess(node, reload);
        for p in candidates {
            if excess == 0 {
                break;
            }
            excess = excess.saturating_sub(m.size(p));
            m.spilling(p);
            let obj = Arc::clone(self.outputs[p].as_ref().expect("candidate is held"));
            self.spills.push((p, obj));
        }
        m.spilling_any()
    }

    /// The caller's answer to a spill request: the handle that now stands for the output on
    /// disk, or None when it could not (or should not) be written.
    pub fn spill_done(&mut self, node: usize, handle: Option<T>) {
        self.blocked = false;
        let finished = self.finished;
        let Some(m) = self.memory.as_mut() else {
            self.garbage.extend(handle.map(Arc::new));
            return;
        };
        if m.residence(node) != Residence::Spilling || self.outputs[node].is_none() {
            self.garbage.extend(handle.map(Arc::new)); // released meanwhile (end of run)
            return;
        }
        m.spill_done(node, handle.is_some(), finished);
        if let Some(h) = handle {
            let old = self.outputs[node].replace(Arc::new(h)).expect("checked above");
            self.garbage.push(old);
        }
    }

    /// A worker reloaded a spilled input: later consumers share the reloaded object.
    pub fn reloaded(&mut self, node: usize, object: Arc<T>) {
        match self.memory.as_mut() {
            Some(m) if m.residence(node) == Residence::Spilled && self.outputs[node].is_some() => {
                m.reloaded(node);
                let handle = self.outputs[node].replace(object).expect("checked above");
                self.garbage.push(handle);
            }
            _ => self.garbage.push(object),
        }
    }

    /// Records the result of a run. Returns false (and moves the output to garbage) when the
    /// node is no longer running, i.e. its call was abandoned and this is a late return.
    pub fn finish(&mut self, node: usize, ok: bool, output: Option<T>, elapsed: Duration) -> bool {
        self.finish_measured(node, ok, output, elapsed, 0, None)
    }

    /// `finish` with the accounted size of the output and the resident growth seen during
    /// the call (for the memory budget).
    pub fn finish_measured(
        &mut self,
        node: usize,
        ok: bool,
        output: Option<T>,
        elapsed: Duration,
        bytes: u64,
        grown: Option<u64>,
    ) -> bool {
        if self.state[node] != State::Running {
            self.garbage.extend(output.map(Arc::new));
            return false;
        }
        self.running -= 1;
        self.lending[node] = false;
        if let Some(m) = self.memory.as_mut() {
            m.stopped(node, grown);
        }
        self.seconds[node] = elapsed.as_secs_f64();
        self.group_used[self.plan.group[node]] += elapsed;
        // Propagate first: the inputs this node was the last consumer of are released before
        // its own output is counted, and consumers skipped by this very result (deps_ok on a
        // failure) no longer keep the output alive.
        let outcome = if ok { Outcome::Ok } else { Outcome::Failed };
        self.finish_node(node, outcome, false);
        if let Some(out) = output {
            if self.consumers_left[node] > 0 {
                self.outputs[node] = Some(Arc::new(out));
                if let Some(m) = self.memory.as_mut() {
                    m.hold(node, bytes);
                }
                self.live += 1;
                self.peak_live = self.peak_live.max(self.live);
            } else {
                // Nobody (left) to consume it: drop at once rather than at the end.
                self.garbage.push(Arc::new(out));
            }
        }
        true
    }

    /// Expires the group of every running node whose deadline has passed.
    pub fn poll_timeouts(&mut self, now: Instant) {
        while let Some(&Reverse((deadline, node))) = self.deadlines.peek() {
            if deadline > now {
                break;
            }
            self.deadlines.pop();
            let g = self.plan.group[node];
            if self.state[node] == State::Running && !self.group_expired[g] && self.group_unfinished[g] > 0 {
                self.expire_group(g, now);
            }
        }
    }

    /// Stops dispatching: every node not yet started will get skip(node, "cancelled").
    /// Running nodes keep running; see `abandon_running`.
    pub fn cancel(&mut self) {
        self.cancelled = true;
        for node in 0..self.state.len() {
            if matches!(self.state[node], State::Waiting | State::Ready) {
                self.finish_node(node, Outcome::Cancelled, true);
            }
        }
    }

    /// Gives up on every running node with the given status (no skip callback: they started).
    pub fn abandon_running(&mut self, now: Instant, outcome: Outcome) {
        for node in 0..self.state.len() {
            if self.state[node] == State::Running {
                self.abandon(node, now, outcome);
            }
        }
    }

    fn abandon(&mut self, node: usize, now: Instant, outcome: Outcome) {
        self.running -= 1;
        if let Some(m) = self.memory.as_mut() {
            m.stopped(node, None);
        }
        if let Some(s) = self.started_at[node] {
            self.seconds[node] = now.saturating_duration_since(s).as_secs_f64();
        }
        self.abandoned.push((node, outcome));
        self.finish_node(node, outcome, false);
    }

    fn expire_group(&mut self, g: usize, now: Instant) {
        self.group_expired[g] = true;
        let plan = Arc::clone(&self.plan);
        for &node in &plan.group_members[g] {
            match self.state[node] {
                State::Running => self.abandon(node, now, Outcome::Timeout),
                State::Waiting | State::Ready => self.finish_node(node, Outcome::Timeout, true),
                State::Done(_) => {}
            }
        }
    }

    /// What a node whose predecessors have all finished should do, if not run.
    fn verdict(&self, node: usize) -> Option<Outcome> {
        if self.cancelled {
            Some(Outcome::Cancelled)
        } else if self.group_expired[self.plan.group[node]] {
            Some(Outcome::Timeout)
        } else if self.plan.deps_ok[node]
            .iter()
            .any(|&p| self.state[p] != State::Done(Outcome::Ok))
        {
            Some(Outcome::Skipped)
        } else {
            None
        }
    }

    fn ready_entry(&self, node: usize) -> ReadyEntry {
        ReadyEntry {
            started: self.group_started[self.plan.group[node]],
            priority: self.plan.priority[node],
            node,
        }
    }

    fn make_ready(&mut self, node: usize) {
        match self.verdict(node) {
            Some(outcome) => self.finish_node(node, outcome, true),
            None => {
                self.state[node] = State::Ready;
                self.ready.push(self.ready_entry(node));
            }
        }
    }

    /// Marks `node` done and propagates: releases the outputs it was the last consumer of and
    /// wakes successors. Iterative (explicit stack) so a long chain of skips cannot overflow
    /// a worker thread's stack.
    fn finish_node(&mut self, node: usize, outcome: Outcome, notice: bool) {
        let plan = Arc::clone(&self.plan);
        let mut stack = vec![(node, outcome, notice)];
        while let Some((x, outcome, notice)) = stack.pop() {
            debug_assert!(!matches!(self.state[x], State::Done(_)));
            self.state[x] = State::Done(outcome);
            self.blocked = false; // whatever waited for memory may fit now
            self.slot_blocked = false; // or for a slot
            self.finished += 1;
            let g = plan.group[x];
            self.group_unfinished[g] -= 1;
            if self.group_unfinished[g] == 0 && self.group_holds[g] {
                self.group_holds[g] = false;
                self.held -= 1;
            }
            if notice {
                self.notices.push_back((x, outcome));
            }
            for &p in &plan.input_producers[x] {
                self.consumers_left[p] -= 1;
                if self.consumers_left[p] == 0 {
                    if let Some(out) = self.outputs[p].take() {
                        if let Some(m) = self.memory.as_mut() {
                            m.release(p);
                        }
                        self.live -= 1;
                        self.released += 1;
                        self.garbage.push(out);
                    }
                }
            }
            for &s in &plan.successors[x] {
                if self.state[s] != State::Waiting {
                    continue;
                }
                self.waiting_on[s] -= 1;
                if self.waiting_on[s] == 0 {
                    match self.verdict(s) {
                        Some(o) => stack.push((s, o, true)),
                        None => {
                            self.state[s] = State::Ready;
                            self.ready.push(self.ready_entry(s));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{Plan, PlanSpec};

    fn plan(n: usize, edit: impl FnOnce(&mut PlanSpec)) -> Arc<Plan> {
        let mut s = PlanSpec {
            deps_ok: vec![vec![]; n],
            deps_any: vec![vec![]; n],
            inputs: vec![vec![]; n],
            priority: vec![0.0; n],
            group: vec![0; n],
        };
        edit(&mut s);
        Arc::new(Plan::new(s).unwrap())
    }

    /// Runs everything sequentially; `step` decides (ok, output) from the node and its inputs.
    /// Returns the dispatch order and the inputs each node saw.
    fn drive(
        s: &mut Scheduler<String>,
        mut step: impl FnMut(usize, &[Option<String>]) -> (bool, Option<String>),
    ) -> (Vec<usize>, Vec<Vec<Option<String>>>) {
        let mut order = vec![];
        let mut seen = vec![vec![]; s.len()];
        while let Some(d) = s.next_run(Instant::now()) {
            let inputs: Vec<Option<String>> =
                d.inputs.iter().map(|o| o.as_deref().cloned()).collect();
            drop(d.inputs);
            let (ok, out) = step(d.node, &inputs);
            order.push(d.node);
            seen[d.node] = inputs;
            assert!(s.finish(d.node, ok, out, Duration::from_millis(1)));
        }
        assert!(s.is_done());
        (order, seen)
    }

    fn statuses(s: &Scheduler<String>) -> Vec<&'static str> {
        (0..s.len())
            .map(|i| s.status(i).unwrap().as_str())
            .collect()
    }

    #[test]
    fn dependencies_are_respected() {
        // Diamond 0 -> {1, 2} -> 3, with node 2 preferred over node 1 by priority.
        let p = plan(4, |s| {
            s.deps_ok[1] = vec![0];
            s.deps_any[2] = vec![0];
            s.inputs[3] = vec![1, 2];
            s.priority = vec![0.0, 1.0, 2.0, 0.0];
        });
        let mut s = Scheduler::<String>::new(p, None);
        let (order, _) = drive(&mut s, |n, _| (true, Some(n.to_string())));
        assert_eq!(order, vec![0, 2, 1, 3]);
        assert_eq!(statuses(&s), vec!["ok"; 4]);
    }

    #[test]
    fn nothing_starts_before_its_predecessors_finish() {
        let p = plan(3, |s| {
            s.deps_any[2] = vec![0];
            s.priority = vec![0.0, 0.0, 9.0];
        });
        let mut s = Scheduler::<String>::new(p, None);
        let now = Instant::now();
        let a = s.next_run(now).unwrap();
        let b = s.next_run(now).unwrap();
        assert_eq!((a.node, b.node), (0, 1));
        assert!(s.next_run(now).is_none(), "2 waits for 0");
        s.finish(1, true, None, Duration::ZERO);
        assert!(s.next_run(now).is_none(), "finishing 1 does not release 2");
        s.finish(0, true, None, Duration::ZERO);
        assert_eq!(s.next_run(now).unwrap().node, 2);
    }

    #[test]
    fn ready_nodes_run_by_priority_then_index() {
        let p = plan(5, |s| s.priority = vec![1.0, 3.0, -2.0, 3.0, 1.0]);
        let mut s = Scheduler::<String>::new(p, None);
        let (order, _) = drive(&mut s, |_, _| (true, None));
        assert_eq!(order, vec![1, 3, 0, 4, 2]);
    }

    #[test]
    fn started_groups_finish_before_new_groups_start() {
        // Groups of two chained nodes: {0, 1}, {2, 3}, {4, 5}; group 3 replays node 0's output
        // (6, which holds no worker, so it does not start the group) and then runs 7.
        let p = plan(8, |s| {
            s.deps_ok[1] = vec![0];
            s.deps_ok[3] = vec![2];
            s.deps_ok[5] = vec![4];
            s.inputs[6] = vec![0];
            s.deps_ok[7] = vec![6];
            s.group = vec![0, 0, 1, 1, 2, 2, 3, 3];
            s.priority = vec![0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 1.0, 0.0];
        });
        let mut s = Scheduler::<String>::new(p, None);
        let (order, _) = drive(&mut s, |n, _| (true, Some(n.to_string())));
        assert_eq!(order, vec![4, 5, 0, 1, 6, 2, 3, 7]);
    }

    /// Groups {0,1}, {2,3}, {4,5}: two chained nodes each, every node opens its group's slot.
    fn three_chains() -> Scheduler<String> {
        let p = plan(6, |s| {
            s.deps_ok[1] = vec![0];
            s.deps_ok[3] = vec![2];
            s.deps_ok[5] = vec![4];
            s.group = vec![0, 0, 1, 1, 2, 2];
        });
        let mut s = Scheduler::<String>::new(p, None);
        s.set_slots(2, vec![true; 6]);
        s
    }

    #[test]
    fn a_group_waits_for_a_slot_until_a_holder_ends() {
        let mut s = three_chains();
        let now = Instant::now();
        let a = s.next_run(now).unwrap().node;
        let b = s.next_run(now).unwrap().node;
        assert_eq!((a, b), (0, 2));
        assert!(s.next_run(now).is_none(), "group 2 waits: two groups hold the slots");
        assert!(!s.has_ready(), "nothing can start: idle threads must sleep, not spin");
        s.finish(0, true, None, Duration::ZERO);
        assert_eq!(s.next_run(now).unwrap().node, 1, "a holder goes on");
        assert!(s.next_run(now).is_none());
        s.finish(1, true, None, Duration::ZERO);
        assert_eq!(s.held_slots(), 1, "group 0 ended and gave its slot back");
        assert_eq!(s.next_run(now).unwrap().node, 4);
        s.finish(2, true, None, Duration::ZERO);
        assert_eq!(s.next_run(now).unwrap().node, 3);
        s.finish(3, true, None, Duration::ZERO);
        s.finish(4, true, None, Duration::ZERO);
        assert_eq!(s.next_run(now).unwrap().node, 5);
        s.finish(5, true, None, Duration::ZERO);
        assert!(s.is_done());
        assert_eq!(s.held_slots(), 0);
    }

    #[test]
    fn failed_and_timed_out_groups_give_their_slots_back() {
        let mut s = three_chains();
        let start = Instant::now();
        s.timeout = Some(Duration::from_secs(1));
        let a = s.next_run(start).unwrap().node;
        let b = s.next_run(start).unwrap().node;
        assert_eq!((a, b), (0, 2));
        s.finish(0, false, None, Duration::ZERO); // 1 is skipped: group 0 is over
        assert_eq!(s.next_run(start).unwrap().node, 4);
        s.poll_timeouts(start + Duration::from_secs(2)); // 2 and 4 run past the limit
        assert_eq!(s.held_slots(), 0);
        assert!(s.is_done());
    }

    #[test]
    fn holders_waiting_on_an_unstarted_group_let_it_start_so_nothing_deadlocks() {
        // Node 0 (group 2, then 1) is a shared step: groups 0 (2, 3, 6) and 1 (4, 5) replay it.
        let p = plan(7, |s| {
            s.deps_ok[1] = vec![0];
            s.inputs[3] = vec![0];
            s.deps_ok[3] = vec![2];
            s.deps_ok[6] = vec![3];
            s.inputs[5] = vec![0];
            s.deps_ok[5] = vec![4];
            s.group = vec![2, 2, 0, 0, 1, 1, 0];
            s.priority = vec![0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0];
        });
        let mut s = Scheduler::<String>::new(p, None);
        s.set_slots(2, vec![true, true, true, false, true, false, true]);
        let now = Instant::now();
        assert_eq!(s.next_run(now).unwrap().node, 2);
        assert_eq!(s.next_run(now).unwrap().node, 4);
        assert!(s.next_run(now).is_none(), "group 2 waits while the holders run");
        s.finish(2, true, None, Duration::ZERO);
        assert!(s.next_run(now).is_none(), "group 1 still runs");
        s.finish(4, true, None, Duration::ZERO);
        // Both holders now wait on node 0 and nothing runs: group 2 starts beyond the limit.
        assert_eq!(s.next_run(now).unwrap().node, 0);
        assert_eq!(s.held_slots(), 3);
        s.finish(0, true, Some("shared".into()), Duration::ZERO);
        let (order, seen) = drive(&mut s, |n, _| (true, Some(n.to_string())));
        assert_eq!(order, vec![1, 3, 5, 6]);
        assert_eq!(seen[3], vec![Some("shared".to_string())]);
        assert_eq!(s.held_slots(), 0);
    }

    #[test]
    fn a_holder_parked_on_ordering_lets_another_group_work() {
        // Groups {0, 1}, {2, 3}, {4, 5}, {6, 7}: node 3 may only run after node 1 (it writes a
        // file node 1 writes first); every node opens its group's slot.
        let p = plan(8, |s| {
            s.deps_ok[1] = vec![0];
            s.deps_ok[3] = vec![2];
            s.deps_any[3] = vec![1];
            s.deps_ok[5] = vec![4];
            s.deps_ok[7] = vec![6];
            s.group = vec![0, 0, 1, 1, 2, 2, 3, 3];
        });
        let mut s = Scheduler::<String>::new(p, None);
        s.set_slots(2, vec![true; 8]);
        let now = Instant::now();
        assert_eq!(s.next_run(now).unwrap().node, 0);
        assert_eq!(s.next_run(now).unwrap().node, 2);
        s.finish(2, true, None, Duration::ZERO); // group 1 now waits for node 1: parked
        assert_eq!(s.next_run(now).unwrap().node, 4, "group 2 works while group 1 is parked");
        assert!(s.next_run(now).is_none(), "two groups work: group 3 waits");
        s.finish(4, true, None, Duration::ZERO);
        assert_eq!(s.next_run(now).unwrap().node, 5);
        s.finish(5, true, None, Duration::ZERO);
        assert_eq!(s.next_run(now).unwrap().node, 6, "group 2 ended and gave its slot back");
        assert_eq!(s.held_slots(), 3);
        s.finish(6, true, None, Duration::ZERO);
        assert_eq!(s.next_run(now).unwrap().node, 7);
        s.finish(7, true, None, Duration::ZERO);
        s.finish(0, true, None, Duration::ZERO);
        let (order, _) = drive(&mut s, |_, _| (true, None));
        assert_eq!(order, vec![1, 3]);
        assert_eq!(s.held_slots(), 0);
    }

    #[test]
    fn a_holder_whose_running_node_lends_lets_another_group_work() {
        // Groups {0, 1}, {2, 3}, {4, 5}, one slot: group 1 starts only while node 0 waits for
        // another's work (lends); once node 0 works again the slots are full again.
        let p = plan(6, |s| {
            s.deps_ok[1] = vec![0];
            s.deps_ok[3] = vec![2];
            s.deps_ok[5] = vec![4];
            s.group = vec![0, 0, 1, 1, 2, 2];
        });
        let mut s = Scheduler::<String>::new(p, None);
        s.set_slots(1, vec![true; 6]);
        let now = Instant::now();
        assert_eq!(s.next_run(now).unwrap().node, 0);
        assert!(s.next_run(now).is_none(), "one slot, held by group 0");
        s.set_lending(0, true);
        assert_eq!(s.next_run(now).unwrap().node, 2, "group 1 works while node 0 waits");
        s.set_lending(0, false);
        s.finish(2, true, None, Duration::ZERO);
        assert_eq!(s.next_run(now).unwrap().node, 3, "a started group goes on");
        s.finish(3, true, None, Duration::ZERO);
        assert!(s.next_run(now).is_none(), "node 0 works again: group 2 waits");
        s.set_lending(0, true);
        s.finish(0, true, None, Duration::ZERO); // lending ends with the node
        assert_eq!(s.next_run(now).unwrap().node, 1);
        assert!(s.next_run(now).is_none(), "node 1 does not lend");
        s.finish(1, true, None, Duration::ZERO);
        let (order, _) = drive(&mut s, |_, _| (true, None));
        assert_eq!(order, vec![4, 5]);
        assert_eq!(s.held_slots(), 0);
    }

    #[test]
    fn parked_holders_count_up_to_twice_the_slots() {
        // Groups 1..=3 each run one node, then wait for node 1 (group 0's second node).
        let p = plan(11, |s| {
            s.deps_ok[1] = vec![0];
            for g in 0..3 {
                let a = 2 + 2 * g;
                s.deps_ok[a + 1] = vec![a as i64];
                s.deps_any[a + 1] = vec![1];
            }
            s.deps_ok[9] = vec![8];
            s.deps_ok[10] = vec![9];
            s.group = vec![0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 4];
        });
        let mut s = Scheduler::<String>::new(p, None);
        s.set_slots(2, vec![true; 11]);
        let now = Instant::now();
        assert_eq!(s.next_run(now).unwrap().node, 0); // runs long
        for a in [2, 4, 6] {
            assert_eq!(s.next_run(now).unwrap().node, a);
            s.finish(a, true, None, Duration::ZERO); // parked behind node 1
        }
        assert_eq!(s.held_slots(), 4);
        assert!(s.next_run(now).is_none(), "four holders: group 4 waits however parked they are");
        s.finish(0, true, None, Duration::ZERO);
        let (order, _) = drive(&mut s, |_, _| (true, None));
        assert_eq!(order, vec![1, 3, 5, 7, 8, 9, 10]);
    }

    #[test]
    fn failure_skips_deps_ok_successors_transitively() {
        let p = plan(4, |s| {
            s.deps_ok[1] = vec![0];
            s.deps_ok[2] = vec![1];
            s.deps_any[3] = vec![2];
        });
        let mut s = Scheduler::<String>::new(p, None);
        let (order, _) = drive(&mut s, |n, _| (n != 0, None));
        assert_eq!(
            order,
            vec![0, 3],
            "deps_any node 3 still runs after skipped 2"
        );
        assert_eq!(statuses(&s), vec!["failed", "skipped", "skipped", "ok"]);
        assert_eq!(
            s.take_notices(),
            vec![(1, Outcome::Skipped), (2, Outcome::Skipped)],
            "exactly one notice per node that does not run"
        );
    }

    #[test]
    fn deps_any_runs_after_a_failed_predecessor() {
        let p = plan(2, |s| s.deps_any[1] = vec![0]);
        let mut s = Scheduler::<String>::new(p, None);
        let (order, _) = drive(&mut s, |n, _| (n == 1, None));
        assert_eq!(order, vec![0, 1]);
        assert_eq!(statuses(&s), vec!["failed", "ok"]);
        assert!(s.take_notices().is_empty());
    }

    #[test]
    fn inputs_get_none_when_the_producer_did_not_produce() {
        // 0 raises (no output), 1 fails but describes its failure, 2 is skipped, 3 is ok.
        let p = plan(5, |s| {
            s.deps_ok[2] = vec![0];
            s.inputs[4] = vec![0, 1, 2, 3, 3];
        });
        let mut s = Scheduler::<String>::new(p, None);
        let (_, seen) = drive(&mut s, |n, _| match n {
            0 => (false, None),
            1 => (false, Some("why 1 failed".into())),
            3 => (true, Some("three".into())),
            _ => (true, Some("four".into())),
        });
        assert_eq!(
            seen[4],
            vec![
                None,
                Some("why 1 failed".into()),
                None,
                Some("three".into()),
                Some("three".into())
            ]
        );
        assert_eq!(
            statuses(&s),
            vec!["failed", "failed", "skipped", "ok", "ok"]
        );
    }

    #[test]
    fn outputs_are_released_after_the_last_consumer() {
        // 0 feeds 1 and 2; 1 feeds nobody; 2 feeds 3.
        let p = plan(4, |s| {
            s.inputs[1] = vec![0];
            s.inputs[2] = vec![0];
            s.inputs[3] = vec![2];
        });
        let mut s = Scheduler::<String>::new(p, None);
        let now = Instant::now();
        let d0 = s.next_run(now).unwrap();
        s.finish(d0.node, true, Some("zero".into()), Duration::ZERO);
        assert_eq!(s.live_outputs(), 1);
        assert!(s.take_garbage().is_empty());

        let d1 = s.next_run(now).unwrap();
        assert_eq!(d1.inputs[0].as_deref().map(String::as_str), Some("zero"));
        drop(d1.inputs);
        s.finish(1, true, Some("one".into()), Duration::ZERO);
        let g = s.take_garbage();
        assert_eq!(g.len(), 1, "unconsumed output of 1 is dropped at once");
        assert_eq!(*g[0], "one");
        assert_eq!(s.live_outputs(), 1, "0 still has consumer 2");

        let d2 = s.next_run(now).unwrap();
        drop(d2.inputs);
        s.finish(2, true, Some("two".into()), Duration::ZERO);
        let g = s.take_garbage();
        assert_eq!(g.len(), 1);
        assert_eq!(
            *g[0], "zero",
            "released right after its last consumer finished"
        );
        assert_eq!(
            Arc::strong_count(&g[0]),
            1,
            "scheduler kept no other reference"
        );
        assert_eq!(
            s.peak_live_outputs(),
            1,
            "0 is released before 2's output is counted"
        );

        let d3 = s.next_run(now).unwrap();
        drop(d3.inputs);
        s.finish(3, true, None, Duration::ZERO);
        assert_eq!(s.take_garbage().len(), 1);
        assert_eq!(s.released(), 2);
        assert_eq!(s.live_outputs(), 0);
        assert!(s.is_done());
    }

    #[test]
    fn failed_output_whose_consumers_are_skipped_is_dropped_at_once() {
        let p = plan(2, |s| {
            s.deps_ok[1] = vec![0];
            s.inputs[1] = vec![0];
        });
        let mut s = Scheduler::<String>::new(p, None);
        let d = s.next_run(Instant::now()).unwrap();
        s.finish(d.node, false, Some("error report".into()), Duration::ZERO);
        assert_eq!(s.take_garbage().len(), 1);
        assert_eq!(
            (s.live_outputs(), s.peak_live_outputs(), s.released()),
            (0, 0, 0)
        );
        assert!(s.is_done());
    }

    #[test]
    fn cancellation_skips_unstarted_nodes_and_lets_running_ones_finish() {
        let p = plan(4, |s| {
            s.inputs[2] = vec![0];
            s.deps_any[3] = vec![1];
        });
        let mut s = Scheduler::<String>::new(p, None);
        let now = Instant::now();
        let d0 = s.next_run(now).unwrap();
        assert_eq!(d0.node, 0);
        s.cancel();
        assert!(
            s.next_run(now).is_none(),
            "nothing is dispatched after cancel"
        );
        let mut notices = s.take_notices();
        notices.sort_by_key(|pair| pair.0);
        assert_eq!(
            notices,
            vec![
                (1, Outcome::Cancelled),
                (2, Outcome::Cancelled),
                (3, Outcome::Cancelled)
            ]
        );
        assert!(!s.is_done());
        // The running node finishes normally; its output has no consumer left.
        assert!(s.finish(0, true, Some("late".into()), Duration::ZERO));
        assert_eq!(s.take_garbage().len(), 1);
        assert!(s.is_done());
        assert_eq!(
            statuses(&s),
            vec!["ok", "cancelled", "cancelled", "cancelled"]
        );
    }

    #[test]
    fn cancellation_after_grace_abandons_running_nodes() {
        let p = plan(2, |_| {});
        let mut s = Scheduler::<String>::new(p, None);
        let now = Instant::now();
        s.next_run(now).unwrap();
        s.cancel();
        s.abandon_running(now + Duration::from_secs(1), Outcome::Cancelled);
        assert_eq!(s.take_abandoned(), vec![(0, Outcome::Cancelled)]);
        assert!(s.is_done());
        assert!((s.seconds()[0] - 1.0).abs() < 1e-9);
        assert!(!s.finish(0, true, Some("too late".into()), Duration::ZERO));
        assert_eq!(s.take_garbage().len(), 1, "late result is discarded");
    }

    #[test]
    fn group_timeout_abandons_running_and_skips_unstarted_nodes() {
        // Group 7: 0 (done in time), 1 (runs long) -> 2, and 3 (ready, not started yet).
        // Group 8: 4 consumes 1's output, 5 is free.
        let p = plan(6, |s| {
            s.group = vec![7, 7, 7, 7, 8, 8];
            s.deps_ok[2] = vec![1];
            s.inputs[4] = vec![1];
            s.priority = vec![0.0, 0.0, 0.0, -1.0, 0.0, 0.0];
        });
        let t = Duration::from_secs(1);
        let mut s = Scheduler::<String>::new(p, Some(t));
        let t0 = Instant::now();
        assert_eq!(s.next_run(t0).unwrap().node, 0);
        assert!(s.finish(0, true, None, Duration::from_millis(300)));
        // 1 gets what group 7 has left of its running time: its deadline is 700 ms away.
        let t1 = t0 + Duration::from_millis(400);
        assert_eq!(s.next_run(t1).unwrap().node, 1);
        let deadline = t1 + Duration::from_millis(700);
        assert_eq!(s.next_deadline(), Some(deadline));
        // Group 8 starts later, so it has time left when group 7 expires.
        assert_eq!(s.next_run(t1 + Duration::from_millis(500)).unwrap().node, 5);

        s.poll_timeouts(deadline - Duration::from_millis(1));
        assert!(!s.has_abandoned());
        s.poll_timeouts(deadline);
        assert_eq!(s.take_abandoned(), vec![(1, Outcome::Timeout)]);
        assert_eq!(s.take_notices(), vec![(2, Outcome::Timeout), (3, Outcome::Timeout)]);
        assert!((s.seconds()[1] - 0.7).abs() < 1e-9);

        // Group 8 is unaffected; its consumer of 1 gets None.
        let d4 = s.next_run(deadline).unwrap();
        assert_eq!(d4.node, 4);
        assert!(d4.inputs[0].is_none());
        assert!(s.finish(4, true, None, Duration::ZERO));
        assert!(s.finish(5, true, None, Duration::ZERO));
        // The abandoned call returns eventually: its result is discarded.
        assert!(!s.finish(1, true, Some("late".into()), Duration::ZERO));
        assert_eq!(s.take_garbage().len(), 1);
        assert!(s.is_done());
        assert_eq!(statuses(&s), vec!["ok", "timeout", "timeout", "timeout", "ok", "ok"]);
        assert_eq!(s.next_deadline(), None);
    }

    #[test]
    fn timed_out_group_does_not_start_queued_nodes() {
        let p = plan(2, |_| {});
        let t = Duration::from_millis(10);
        let mut s = Scheduler::<String>::new(p, Some(t));
        let t0 = Instant::now();
        s.next_run(t0).unwrap();
        s.finish(0, true, None, t);
        // Node 1 is ready, but node 0 used the group's whole running-time budget.
        assert!(s.next_run(t0 + t).is_none());
        assert_eq!(s.take_notices(), vec![(1, Outcome::Timeout)]);
        assert!(s.is_done());
    }

    #[test]
    fn a_long_chain_of_skips_does_not_recurse() {
        let n = 200_000;
        let p = plan(n, |s| {
            for i in 1..n {
                s.deps_ok[i] = vec![i as i64 - 1];
            }
        });
        let mut s = Scheduler::<String>::new(p, None);
        let (order, _) = drive(&mut s, |_, _| (false, None));
        assert_eq!(order, vec![0]);
        assert_eq!(s.take_notices().len(), n - 1);
    }

    #[test]
    fn empty_plan_is_done() {
        let s = Scheduler::<String>::new(plan(0, |_| {}), None);
        assert!(s.is_done());
    }

    fn budget(shape: Vec<i64>, limit: u64) -> (Budget, Arc<std::sync::atomic::AtomicU64>) {
        let rss = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let r = Arc::clone(&rss);
        let b = Budget {
            limit,
            probe: false,
            shape,
            resident: Box::new(move || r.load(std::sync::atomic::Ordering::SeqCst)),
        };
        (b, rss)
    }

    #[test]
    fn budget_admission_waits_for_running_nodes_then_never_deadlocks() {
        let p = plan(3, |_| {});
        let mut s = Scheduler::<String>::new(p, None);
        let (b, rss) = budget(vec![5, 5, 5], 1000);
        s.set_budget(b);
        rss.store(900, std::sync::atomic::Ordering::SeqCst);
        let now = Instant::now();
        let d0 = s.next_run(now).unwrap();
        s.finish_measured(d0.node, true, None, Duration::ZERO, 0, Some(200));
        // Over budget (900 + 200 > 1000) but nothing runs and nothing can be spilled: it starts.
        let d1 = s.next_run(now).unwrap();
        assert_eq!(d1.node, 1);
        // With 1 running, 900 + 200 + 200 > 1000: node 2 waits, and workers are not woken.
        assert!(s.next_run(now).is_none());
        assert!(!s.has_ready());
        assert_eq!(s.memory().unwrap().waits, 1);
        s.finish_measured(1, true, None, Duration::ZERO, 0, Some(200));
        assert!(s.has_ready(), "a finished node unblocks the queue");
        assert_eq!(s.next_run(now).unwrap().node, 2);
        s.finish(2, true, None, Duration::ZERO);
        assert!(s.is_done());
    }

    #[test]
    fn worker_process_memory_holds_back_admission_until_released() {
        let p = plan(3, |_| {});
        let mut s = Scheduler::<String>::new(p, None);
        // The reading counts the kernel process and the worker processes running its steps.
        let (mut b, kernel) = budget(vec![5, 5, 5], 1000);
        let workers = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (w, process) = (Arc::clone(&workers), b.resident);
        b.resident = Box::new(move || process() + w.load(std::sync::atomic::Ordering::SeqCst));
        s.set_budget(b);
        kernel.store(880, std::sync::atomic::Ordering::SeqCst);
        let now = Instant::now();
        assert_eq!(s.next_run(now).unwrap().node, 0);
        workers.store(300, std::sync::atomic::Ordering::SeqCst);
        // The kernel alone (880) is within 1000 and no growth was learned yet: only the
        // worker's 300 make 1 wait.
        assert!(s.next_run(now).is_none());
        assert!(!s.has_ready());
        // 0's worker gives its memory back as 0 ends: 1 starts.
        workers.store(0, std::sync::atomic::Ordering::SeqCst);
        s.finish_measured(0, true, None, Duration::ZERO, 0, Some(0));
        assert_eq!(s.next_run(now).unwrap().node, 1);
        workers.store(300, std::sync::atomic::Ordering::SeqCst);
        assert!(s.next_run(now).is_none());
        // 1's (warm) worker keeps its memory after 1 ends: still over budget, but nothing
        // runs and nothing can be spilled, so 2 starts anyway.
        s.finish_measured(1, true, None, Duration::ZERO, 0, Some(300));
        assert_eq!(s.next_run(now).unwrap().node, 2);
        assert_eq!(s.memory().unwrap().waits, 2);
        s.finish(2, true, None, Duration::ZERO);
        assert!(s.is_done());
    }

    #[test]
    fn a_node_within_budget_runs_beside_others() {
        let p = plan(2, |_| {});
        let mut s = Scheduler::<String>::new(p, None);
        let (b, rss) = budget(vec![1, 2], 1000);
        s.set_budget(b);
        rss.store(100, std::sync::atomic::Ordering::SeqCst);
        let now = Instant::now();
        assert_eq!(s.next_run(now).unwrap().node, 0);
        assert_eq!(s.next_run(now).unwrap().node, 1);
        assert_eq!(s.memory().unwrap().waits, 0);
    }

    /// 0 produces X (500 bytes) for 2; 1 (preferred over 2) finds the process over its budget
    /// of 1000 with nothing running, so X is queued for spilling.
    fn over_budget_with_an_idle_output() -> (Scheduler<String>, Arc<std::sync::atomic::AtomicU64>) {
        let p = plan(3, |s| {
            s.inputs[2] = vec![0];
            s.priority = vec![2.0, 1.0, 0.0];
            s.group = vec![0, 1, 2];
        });
        let mut s = Scheduler::<String>::new(p, None);
        let (b, rss) = budget(vec![0, 1, 2], 1000);
        s.set_budget(b);
        let d0 = s.next_run(Instant::now()).unwrap();
        s.finish_measured(d0.node, true, Some("X".into()), Duration::ZERO, 500, Some(500));
        rss.store(1200, std::sync::atomic::Ordering::SeqCst);
        s.note_resident(1200); // as the worker does after each call
        assert!(s.next_run(Instant::now()).is_none(), "1 waits while X is written out");
        (s, rss)
    }

    #[test]
    fn idle_outputs_are_spilled_when_nothing_can_run_and_reloaded_by_their_consumer() {
        let (mut s, rss) = over_budget_with_an_idle_output();
        let now = Instant::now();
        let spills = s.take_spills();
        assert_eq!(spills.iter().map(|(n, o)| (*n, o.as_str())).collect::<Vec<_>>(), vec![(0, "X")]);
        drop(spills);
        assert!(s.next_run(now).is_none(), "still waiting for the spill's answer");
        s.spill_done(0, Some("handle".into()));
        assert_eq!(s.take_garbage().iter().map(|o| o.as_str()).collect::<Vec<_>>(), vec!["X"]);
        rss.store(700, std::sync::atomic::Ordering::SeqCst);
        let m = s.memory().unwrap();
        assert_eq!((m.spilled, m.live_bytes()), (1, 0));
        let d1 = s.next_run(now).unwrap();
        assert_eq!(d1.node, 1);
        s.finish(1, true, None, Duration::ZERO);
        let d2 = s.next_run(now).unwrap();
        assert_eq!(d2.spilled, vec![true]);
        assert_eq!(d2.inputs[0].as_deref().map(String::as_str), Some("handle"));
        s.reloaded(0, Arc::new("X".into()));
        let m = s.memory().unwrap();
        assert_eq!((m.reloaded, m.live_bytes()), (1, 500));
        drop(d2);
        s.finish(2, true, None, Duration::ZERO);
        assert_eq!(s.memory().unwrap().live_bytes(), 0, "released after its last consumer");
        assert_eq!(s.live_outputs(), 0);
    }

    #[test]
    fn a_declined_spill_lets_the_node_run_anyway() {
        let (mut s, _rss) = over_budget_with_an_idle_output();
        let now = Instant::now();
        assert_eq!(s.take_spills().len(), 1);
        s.spill_done(0, None);
        assert_eq!(s.next_run(now).unwrap().node, 1, "nothing else to spill: run over budget");
        assert_eq!(s.memory().unwrap().live_bytes(), 500);
    }
}
