//! The memory budget's reading counts worker processes. A test binary of its own: it measures
//! the whole process, which the unit tests running beside it would disturb.
#![cfg(target_os = "linux")]

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use _native::resident::resident_bytes;

const MB: u64 = 1 << 20;

/// Polls `resident_bytes` until `done` holds for it or 30 s pass; returns the last reading.
fn wait_for(done: impl Fn(u64) -> bool) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = resident_bytes();
        if done(now) || Instant::now() > deadline {
            return now;
        }
        sleep(Duration::from_millis(20));
    }
}

#[test]
fn resident_bytes_counts_child_processes_and_their_children() {
    let before = resident_bytes();
    // sh stays alive for the `:` after the pipeline, so tail is a grandchild. tail keeps its
    // whole newline-free input and then blocks writing to a pipe nobody reads: 200 MB resident.
    let mut sh = Command::new("sh")
        .args(["-c", "head -c 200000000 /dev/zero | tail; :"])
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("sh runs");
    let held = wait_for(|now| now >= before + 190 * MB);
    let grown = held.saturating_sub(before);
    // SAFETY: kill only sends a signal, to the group the test just created.
    unsafe { libc::kill(-(sh.id() as i32), libc::SIGKILL) };
    sh.wait().expect("sh is reaped");
    assert!(
        (190 * MB..260 * MB).contains(&grown),
        "a grandchild holding 200 MB adds {} MB",
        grown / MB
    );
    let after = wait_for(|now| now < before + 20 * MB);
    assert!(
        after < before + 20 * MB,
        "killed workers stop counting: {} MB before, {} MB after",
        before / MB,
        after / MB
    );
}
