//! The buffer pool's memory side: how many bytes each held output takes, which outputs are
//! spilled to disk, and whether a ready node may start under the memory budget.
//!
//! Admission compares the resident memory of the process and its worker processes plus what
//! the node and the running nodes are expected to add with the budget. A node's expectation is
//! learned per *shape* (the caller's class of similar steps): the largest resident growth seen
//! while one of that shape ran. With `probe`, a shape never measured runs alone among its kind,
//! so eight candidates that each build a large intermediate are measured once, then admitted
//! as memory allows.
//!
//! Pure bookkeeping: the scheduler calls it under its lock; resident memory comes from a
//! function the caller provides, so tests can drive it with made-up numbers.

use std::cell::Cell;

/// Budget settings for one run.
pub struct Budget {
    /// Bytes of resident memory the run should stay under.
    pub limit: u64,
    /// Run a never-measured shape alone among its kind (for budgets the user chose).
    pub probe: bool,
    /// Shape id per node (any integers; nodes with the same id are expected to grow alike).
    pub shape: Vec<i64>,
    /// Current resident memory of the process and its worker processes.
    pub resident: Box<dyn Fn() -> u64 + Send + Sync>,
}

/// Where an output stands with respect to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Residence {
    InMemory,
    /// Handed to the caller's `spill`; still in memory until it answers.
    Spilling,
    /// Replaced by a handle; consumers must reload it.
    Spilled,
}

pub struct MemoryPool {
    limit: u64,
    probe: bool,
    resident: Box<dyn Fn() -> u64 + Send + Sync>,
    /// The latest resident reading (workers read it after every call). A reading walks the
    /// process's threads and workers in /proc, so a decision far below the limit uses this one.
    recent_resident: Cell<Option<u64>>,
    /// Dense shape index per node.
    shape: Vec<usize>,
    /// Largest resident growth seen per shape; None until one ran.
    growth: Vec<Option<u64>>,
    /// Running nodes per shape.
    running_of_shape: Vec<usize>,
    /// Growth each running node was expected to add when it started, and their sum.
    charged: Vec<u64>,
    running_expected: u64,
    /// Accounted size of each node's held output (0 when not held or unknown).
    bytes: Vec<u64>,
    residence: Vec<Residence>,
    /// `finished` count of the scheduler when `spill` declined an output: it is asked again only
    /// after something else finished (the holders that stopped it may be gone by then).
    declined_at: Vec<Option<usize>>,
    live_bytes: u64,
    peak_live_bytes: u64,
    pub waits: usize,
    pub spilled: usize,
    pub reloaded: usize,
}

impl MemoryPool {
    pub fn new(budget: Budget) -> Self {
        let n = budget.shape.len();
        let mut ids: Vec<i64> = budget.shape.clone();
        ids.sort_unstable();
        ids.dedup();
        let shape = budget
            .shape
            .iter()
            .map(|s| ids.binary_search(s).expect("shape id is in the sorted list"))
            .collect();
        MemoryPool {
            limit: budget.limit,
            probe: budget.probe,
            resident: budget.resident,
            recent_resident: Cell::new(None),
            shape,
            growth: vec![None; ids.len()],
            running_of_shape: vec![0; ids.len()],
            charged: vec![0; n],
            running_expected: 0,
            bytes: vec![0; n],
            residence: vec![Residence::InMemory; n],
            declined_at: vec![None; n],
            live_bytes: 0,
            peak_live_bytes: 0,
            waits: 0,
            spilled: 0,
            reloaded: 0,
        }
    }

    pub fn residence(&self, node: usize) -> Residence {
        self.residence[node]
    }

    pub fn live_bytes(&self) -> u64 {
        self.live_bytes
    }

    pub fn peak_live_bytes(&self) -> u64 {
        self.peak_live_bytes
    }

    fn expected(&self, node: usize) -> u64 {
        self.growth[self.shape[node]].unwrap_or(0)
    }

    /// Bytes the process and its workers would reach if `node` started now and the running
    /// nodes grew as their shapes did before. `reload_bytes`: spilled inputs it would bring back.
    pub fn projected(&self, node: usize, reload_bytes: u64) -> u64 {
        let resident = (self.resident)();
        self.recent_resident.set(Some(resident));
        resident + self.expected(node) + self.running_expected + reload_bytes
    }

    /// Clearly within the budget by the latest reading (a margin of 1/8 of the budget covers
    /// what changed since): no need to read again.
    fn clearly_fits(&self, node: usize, reload_bytes: u64) -> bool {
        let Some(resident) = self.recent_resident.get() else {
            return false;
        };
        let projected = resident + self.expected(node) + self.running_expected + reload_bytes;
        projected.saturating_add(self.limit / 8) <= self.limit
    }

    /// A worker read the resident memory (see `Budget::resident`).
    pub fn note_resident(&self, bytes: u64) {
        self.recent_resident.set(Some(bytes));
    }

    /// Whether `node` may start while `running` nodes run. A node always may when nothing
    /// runs (the scheduler spills first): a budget delays work, it never deadlocks.
    pub fn admits(&self, node: usize, running: usize, reload_bytes: u64) -> bool {
        if running == 0 {
            return true;
        }
        let s = self.shape[node];
        if self.probe && self.growth[s].is_none() && self.running_of_shape[s] > 0 {
            return false;
        }
        self.clearly_fits(node, reload_bytes) || self.projected(node, reload_bytes) <= self.limit
    }

    /// Over budget with nothing running: the bytes that must go for `node` to fit.
    pub fn excess(&self, node: usize, reload_bytes: u64) -> u64 {
        if self.clearly_fits(node, reload_bytes) {
            return 0;
        }
        self.projected(node, reload_bytes).saturating_sub(self.limit)
    }

    pub fn started(&mut self, node: usize) {
        self.running_of_shape[self.shape[node]] += 1;
        self.charged[node] = self.expected(node);
        self.running_expected += self.charged[node];
    }

    /// A node stopped running; `grown` is the resident growth seen during its call, if known.
    pub fn stopped(&mut self, node: usize, grown: Option<u64>) {
        let s = self.shape[node];
        self.running_of_shape[s] -= 1;
        self.running_expected -= std::mem::take(&mut self.charged[node]);
        if let Some(g) = grown {
            self.growth[s] = Some(self.growth[s].map_or(g, |old| old.max(g)));
        }
    }

    /// An output is now held for its consumers.
    pub fn hold(&mut self, node: usize, bytes: u64) {
        self.bytes[node] = bytes;
        self.residence[node] = Residence::InMemory;
        self.live_bytes += bytes;
        self.peak_live_bytes = self.peak_live_bytes.max(self.live_bytes);
    }

    /// A held output was let go of (last consumer finished, or the run ended).
    pub fn release(&mut self, node: usize) {
        if self.residence[node] != Residence::Spilled {
            self.live_bytes -= self.bytes[node];
        }
        self.bytes[node] = 0;
        self.residence[node] = Residence::InMemory;
    }

    /// Whether a held, idle output may be offered to `spill` now.
    pub fn spillable(&self, node: usize, finished: usize) -> bool {
        self.residence[node] == Residence::InMemory
            && self.bytes[node] > 0
            && self.declined_at[node].is_none_or(|at| finished > at)
    }

    pub fn spilling(&mut self, node: usize) {
        self.residence[node] = Residence::Spilling;
    }

    /// The caller's answer to a spill request: `true` when the output was written to disk.
    pub fn spill_done(&mut self, node: usize, written: bool, finished: usize) {
        if written {
            self.residence[node] = Residence::Spilled;
            self.live_bytes -= self.bytes[node];
            self.spilled += 1;
        } else {
            self.residence[node] = Residence::InMemory;
            self.declined_at[node] = Some(finished);
        }
    }

    pub fn spilling_any(&self) -> bool {
        self.residence.contains(&Residence::Spilling)
    }

    /// Bytes a spilled output takes once reloaded.
    pub fn size(&self, node: usize) -> u64 {
        self.bytes[node]
    }

    /// A consumer brought a spilled output back; it is held in memory again.
    pub fn reloaded(&mut self, node: usize) {
        self.residence[node] = Residence::InMemory;
        self.live_bytes += self.bytes[node];
        self.peak_live_bytes = self.peak_live_bytes.max(self.live_bytes);
        self.reloaded += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    fn pool(shape: Vec<i64>, limit: u64, probe: bool) -> (MemoryPool, Arc<AtomicU64>) {
        let rss = Arc::new(AtomicU64::new(100));
        let r = Arc::clone(&rss);
        let p = MemoryPool::new(Budget {
            limit,
            probe,
            shape,
            resident: Box::new(move || r.load(Ordering::SeqCst)),
        });
        (p, rss)
    }

    #[test]
    fn growth_is_learned_per_shape_and_counted_for_running_nodes() {
        let (mut p, _rss) = pool(vec![7, 7, 7, 9], 500, false);
        p.started(0);
        p.stopped(0, Some(150));
        assert_eq!(p.projected(1, 0), 100 + 150);
        p.started(1);
        // 1 was charged the growth of its shape when it started; 2 expects the same.
        assert_eq!(p.projected(2, 0), 100 + 150 + 150);
        assert!(p.admits(2, 1, 0));
        assert!(!p.admits(2, 1, 250), "a reload counts against the budget");
        assert!(p.admits(3, 1, 0), "an unmeasured shape is expected to add nothing");
    }

    #[test]
    fn far_below_the_limit_the_latest_reading_is_trusted() {
        let (p, rss) = pool(vec![0], 1000, false);
        p.note_resident(100);
        rss.store(5000, Ordering::SeqCst); // not read: 100 is far below 1000
        assert_eq!(p.excess(0, 0), 0);
        p.note_resident(950); // near the limit: read again, and see 5000
        assert_eq!(p.excess(0, 0), 4000);
    }

    #[test]
    fn probing_runs_a_new_shape_alone_among_its_kind() {
        let (mut p, _rss) = pool(vec![1, 1, 2], 10_000, true);
        p.started(0);
        assert!(!p.admits(1, 1, 0), "shape 1 is being measured");
        assert!(p.admits(2, 1, 0), "other shapes are not held back");
        p.stopped(0, Some(10));
        assert!(p.admits(1, 0, 0));
    }

    #[test]
    fn spill_bookkeeping_moves_bytes_out_of_and_back_into_memory() {
        let (mut p, _rss) = pool(vec![0, 0], 1, false);
        p.hold(0, 300);
        assert!(p.spillable(0, 0));
        p.spilling(0);
        assert!(p.spilling_any() && !p.spillable(0, 0));
        p.spill_done(0, true, 0);
        assert_eq!((p.live_bytes(), p.residence(0)), (0, Residence::Spilled));
        p.reloaded(0);
        assert_eq!((p.live_bytes(), p.peak_live_bytes(), p.spilled, p.reloaded), (300, 300, 1, 1));
        p.release(0);
        assert_eq!(p.live_bytes(), 0);
    }

    #[test]
    fn a_declined_spill_is_retried_only_after_something_finished() {
        let (mut p, _rss) = pool(vec![0], 1, false);
        p.hold(0, 10);
        p.spilling(0);
        p.spill_done(0, false, 3);
        assert!(!p.spillable(0, 3));
        assert!(p.spillable(0, 4));
        assert_eq!(p.live_bytes(), 10);
    }
}
