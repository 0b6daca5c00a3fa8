//! Resident memory the memory budget counts: this process plus the processes it started and
//! their descendants (worker processes), since a step's growth may happen in either.
//!
//! Read around every call and for admission decisions near the budget, so it stays cheap:
//! statm only (smaps costs milliseconds in a process with many mappings).

/// Resident bytes of this process and its descendants (0 where the platform does not tell).
pub fn resident_bytes() -> u64 {
    imp::resident_bytes()
}

#[cfg(target_os = "linux")]
mod imp {
    use std::collections::HashSet;
    use std::fs;
    use std::sync::{Mutex, OnceLock, PoisonError};

    /// Descendants found by the last walk, and the newest pid on the system before it. A walk
    /// reads a file per thread of every process (0.7 ms for 40 threads on a 2-core VM); until
    /// another pid is handed out no process can have started and no pid been reused, so the
    /// list still holds every descendant (those that exited read as nothing; one orphaned
    /// meanwhile stays counted until then).
    static WALKED: Mutex<Option<(u32, Vec<u32>)>> = Mutex::new(None);

    pub fn resident_bytes() -> u64 {
        let newest = newest_pid();
        let pids = {
            let mut walked = WALKED.lock().unwrap_or_else(PoisonError::into_inner);
            match (&*walked, newest) {
                (Some((at, pids)), Some(n)) if *at == n => pids.clone(),
                _ => {
                    let pids = descendants();
                    *walked = newest.map(|n| (n, pids.clone()));
                    pids
                }
            }
        };
        let children: u64 = pids
            .iter()
            .filter_map(|pid| statm_pages(&pid.to_string()))
            .sum();
        (statm_pages("self").unwrap_or(0) + children) * page_size()
    }

    /// The last pid handed out (processes and threads alike): /proc/loadavg's last field.
    fn newest_pid() -> Option<u32> {
        fs::read_to_string("/proc/loadavg")
            .ok()?
            .split_ascii_whitespace()
            .nth(4)?
            .parse()
            .ok()
    }

    /// Every process below this one. A pid reused while walking is listed once.
    fn descendants() -> Vec<u32> {
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        let mut pending = children("self");
        while let Some(pid) = pending.pop() {
            if seen.insert(pid) {
                found.push(pid);
                pending.extend(children(&pid.to_string()));
            }
        }
        found
    }

    /// Resident pages: the second field of /proc/PID/statm (0 for a zombie, None once reaped).
    fn statm_pages(pid: &str) -> Option<u64> {
        let statm = fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
        statm.split_ascii_whitespace().nth(1)?.parse().ok()
    }

    /// Children of every thread of `pid`: workers may be spawned from any thread, and each
    /// thread's `children` file lists only the processes that thread started.
    fn children(pid: &str) -> Vec<u32> {
        let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
            return Vec::new();
        };
        tasks
            .flatten()
            .filter_map(|task| fs::read_to_string(task.path().join("children")).ok())
            .flat_map(|list| {
                list.split_ascii_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .collect::<Vec<u32>>()
            })
            .collect()
    }

    fn page_size() -> u64 {
        static PAGE: OnceLock<u64> = OnceLock::new();
        // SAFETY: sysconf only reads a system constant.
        *PAGE.get_or_init(|| {
            u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096)
        })
    }
}

/// Elsewhere only the process itself is counted.
#[cfg(not(target_os = "linux"))]
mod imp {
    pub fn resident_bytes() -> u64 {
        memory_stats::memory_stats().map_or(0, |s| s.physical_mem as u64)
    }
}
