//! Threads around the scheduler: `jobs` worker threads that attach to the interpreter only to
//! call `run`, and the calling (main) thread, which stays detached while it waits and attaches
//! briefly to call `skip`, to drop released outputs, to interrupt abandoned calls and to poll
//! for signals (only the main thread may do that).
//!
//! Lock discipline (deadlock freedom): a thread may lock `Shared::inner` while attached, but
//! must never attach (or wait for anything that needs the interpreter) while holding the lock.
//! Python objects the scheduler lets go of are moved out under the lock and dropped after it,
//! while attached.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::os::raw::c_long;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once, PoisonError, Weak};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::memory::Budget;
use crate::plan::Plan;
use crate::resident::resident_bytes;
use crate::scheduler::{Dispatch, Outcome, Scheduler};

/// Python code runs on worker stacks; match a typical main-thread stack rather than Rust's 2 MiB.
const WORKER_STACK: usize = 16 << 20;

pub struct Options {
    pub jobs: usize,
    pub timeout: Option<Duration>,
    pub grace: Duration,
    pub poll: Duration,
    /// Memory budget; with it, `spill(node, output) -> handle | None` (called on the main
    /// thread) and `reload(node, handle) -> output` (on the consuming worker).
    pub budget: Option<Budget>,
    pub spill: Option<Obj>,
    pub reload: Option<Obj>,
    /// At most this many groups hold a slot at once, and which nodes open one (see
    /// `Scheduler::set_slots`).
    pub slots: Option<(usize, Vec<bool>)>,
}

pub struct RunStats {
    pub status: Vec<&'static str>,
    pub seconds: Vec<f64>,
    pub interrupted: bool,
    pub internal_errors: Vec<String>,
    pub peak_live_outputs: usize,
    pub released: usize,
    pub memory_waits: usize,
    pub spilled: usize,
    pub reloaded: usize,
    pub peak_live_bytes: u64,
}

type Obj = Py<PyAny>;

#[derive(Default)]
struct Slot {
    /// `PyThread_get_thread_ident()` of the worker, the id `PyThreadState_SetAsyncExc` wants.
    ident: Option<c_long>,
    /// Node whose `run` call is in progress on this worker.
    current: Option<usize>,
    /// Given up on: the worker exits when its call returns; a replacement took its place.
    abandoned: bool,
    exited: bool,
    /// Its call waits for work another call is doing (see `lend`): a replacement takes its
    /// place meanwhile, and one of them exits once it is back and nothing is running.
    lending: bool,
    /// An exception was raised into its current call (`interrupt`): drained when it returns.
    interrupted: bool,
}

struct Inner {
    sched: Scheduler<Obj>,
    slots: Vec<Slot>,
    shutdown: bool,
    errors: Vec<String>,
}

struct Shared {
    inner: Mutex<Inner>,
    /// Workers wait here for ready nodes.
    work_cv: Condvar,
    /// The main thread waits here for notices, abandoned calls and completion.
    main_cv: Condvar,
    run: Obj,
    reload: Option<Obj>,
    jobs: usize,
    /// Measure resident growth (of the process and its workers) around each call, only under
    /// a memory budget.
    measure: bool,
}

impl Shared {
    /// A panic elsewhere must not wedge the whole run: keep using the state after poisoning.
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Wakes whoever has something to do after a state change.
    fn wake(&self, shared: &Shared) {
        if self.sched.has_ready() {
            shared.work_cv.notify_one();
        }
        if self.sched.has_notices()
            || self.sched.has_abandoned()
            || self.sched.has_spills()
            || self.sched.is_done()
        {
            shared.main_cv.notify_one();
        }
    }

    /// Workers able to take a node: not given up on, not exited, not waiting on another's work.
    fn capacity(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| !s.abandoned && !s.exited && !s.lending)
            .count()
    }
}

/// Runs in progress, for `lend` (a call that waits finds its run by its thread).
static RUNS: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// Removes a run from `RUNS` when `execute` returns, however it returns.
struct Registered<'a>(&'a Arc<Shared>);

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let mut runs = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
        runs.retain(|w| w.strong_count() > 0 && !std::ptr::eq(w.as_ptr(), Arc::as_ptr(self.0)));
    }
}

/// The `run` call on the current thread waits for work another call is doing (`true`: a fold
/// fit by another worker) or works again (`false`). While it waits, another worker thread
/// takes its place, and its group counts as parked (another group may start): the core it
/// would have idled on does useful work. Returns whether the thread runs a call of a run.
/// Called attached (from Python).
pub fn lend(lending: bool) -> bool {
    // SAFETY: only reads the calling thread's id (pthread_self).
    let ident = unsafe { ffi::PyThread_get_thread_ident() } as c_long;
    let runs: Vec<Arc<Shared>> = {
        let runs = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
        runs.iter().filter_map(Weak::upgrade).collect()
    };
    for shared in runs {
        let mut g = shared.lock();
        let found = g
            .slots
            .iter()
            .position(|s| s.ident == Some(ident) && s.current.is_some() && !s.abandoned && !s.exited);
        if let Some(id) = found {
            let node = g.slots[id].current.expect("checked above");
            g.slots[id].lending = lending;
            g.sched.set_lending(node, lending);
            shared.main_cv.notify_one(); // spawns the replacement
            g.wake(&shared);
            return true;
        }
    }
    false
}

/// Makes workers stop taking nodes if the main thread unwinds (a panic becomes a RuntimeError
/// in Python; nothing may keep calling `run` behind the caller's back).
struct ShutdownOnDrop<'a>(&'a Shared);

impl Drop for ShutdownOnDrop<'_> {
    fn drop(&mut self) {
        self.0.lock().shutdown = true;
        self.0.work_cv.notify_all();
    }
}

thread_local! {
    /// Set on threads where every panic is caught and reported to Python with context.
    static PANICS_REPORTED: Cell<bool> = const { Cell::new(false) };
}

/// While alive, panics on the current thread are not printed by the default hook: they are
/// caught and reported to Python with context (a RuntimeError or an internal error). Other
/// threads, and this one afterwards, keep whatever hook was installed before.
pub struct QuietPanics(bool);

impl QuietPanics {
    pub fn enter() -> QuietPanics {
        static INSTALL: Once = Once::new();
        INSTALL.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !PANICS_REPORTED.with(Cell::get) {
                    previous(info);
                }
            }));
        });
        QuietPanics(PANICS_REPORTED.with(|flag| flag.replace(true)))
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        PANICS_REPORTED.with(|flag| flag.set(self.0));
    }
}

pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

fn describe(py: Python<'_>, err: &PyErr) -> String {
    match err.value(py).repr() {
        Ok(r) => r.to_string(),
        Err(_) => err.to_string(),
    }
}

/// Runs the whole plan; returns when every node has a final status. `context` names what the
/// main thread is doing, for the message of a panic.
pub fn execute(
    py: Python<'_>,
    plan: Arc<Plan>,
    run: Obj,
    skip: Obj,
    mut opts: Options,
    context: &RefCell<String>,
) -> RunStats {
    let mut sched = Scheduler::new(plan, opts.timeout);
    let measure = opts.budget.is_some();
    if let Some(budget) = opts.budget.take() {
        sched.set_budget(budget);
    }
    if let Some((slots, opens)) = opts.slots.take() {
        sched.set_slots(slots, opens);
    }
    let spill = opts.spill.take();
    let shared = Arc::new(Shared {
        inner: Mutex::new(Inner {
            sched,
            slots: Vec::new(),
            shutdown: false,
            errors: Vec::new(),
        }),
        work_cv: Condvar::new(),
        main_cv: Condvar::new(),
        run,
        reload: opts.reload.take(),
        jobs: opts.jobs,
        measure,
    });
    RUNS.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Arc::downgrade(&shared));
    let _registered = Registered(&shared);
    let _stop_workers = ShutdownOnDrop(&shared);
    let mut handles: Vec<(usize, JoinHandle<()>)> = Vec::new();
    let mut skip_errors: Vec<String> = Vec::new();
    let mut interrupted = false;
    let mut grace_deadline: Option<Instant> = None;

    loop {
        *context.borrow_mut() = "waiting for workers".into();
        let step = py.detach(|| wait_for_events(&shared, &mut handles, &opts, grace_deadline));

        *context.borrow_mut() = "interrupting abandoned calls".into();
        for &(slot, node, outcome) in &step.interrupt {
            interrupt(py, &shared, slot, node, outcome);
        }
        // Signal handlers run on this thread, so Ctrl-C can surface inside a `skip` callback:
        // treat it as the interrupt it is, not as an error of that callback.
        let mut interrupt_seen = false;
        for &(node, reason) in &step.notices {
            *context.borrow_mut() = format!("calling skip({node}, {:?})", reason.as_str());
            if let Err(e) = skip.bind(py).call1((node, reason.as_str())) {
                if e.is_instance_of::<PyKeyboardInterrupt>(py) {
                    interrupt_seen = true;
                } else {
                    skip_errors.push(format!("node {node}: {}", describe(py, &e)));
                }
            }
        }
        for (node, output) in step.spills {
            *context.borrow_mut() = format!("calling spill({node}, ...)");
            let handle = match &spill {
                None => None,
                Some(f) => match f.bind(py).call1((node, output.bind(py))) {
                    Ok(h) if h.is_none() => None,
                    Ok(h) => Some(h.unbind()),
                    Err(e) => {
                        if e.is_instance_of::<PyKeyboardInterrupt>(py) {
                            interrupt_seen = true;
                        } else {
                            skip_errors.push(format!("spill of node {node}: {}", describe(py, &e)));
                        }
                        None
                    }
                },
            };
            drop(output);
            let garbage = {
                let mut g = shared.lock();
                g.sched.spill_done(node, handle);
                g.wake(&shared);
                g.sched.take_garbage()
            };
            drop(garbage); // the spilled object itself: its memory goes back now
        }
        *context.borrow_mut() = "releasing outputs".into();
        drop(step.garbage);
        *context.borrow_mut() = "checking signals".into();
        // Checked even on the last round: a pending Ctrl-C would otherwise fire right after
        // run_plan returns and the caller would lose the stats of a completed batch.
        if interrupt_seen || py.check_signals().is_err() {
            // The caller re-raises KeyboardInterrupt after writing back what completed, so the
            // exception itself is dropped here and run_plan returns normally.
            let now = Instant::now();
            if interrupted {
                // A second interrupt during the grace period: stop waiting.
                grace_deadline = Some(now);
            } else {
                interrupted = true;
                grace_deadline = Some(now + opts.grace);
                let mut g = shared.lock();
                g.sched.cancel();
                g.wake(&shared);
            }
        }
        if step.done {
            break;
        }
    }

    *context.borrow_mut() = "stopping idle workers".into();
    let joinable: Vec<JoinHandle<()>> = {
        let mut g = shared.lock();
        g.shutdown = true;
        shared.work_cv.notify_all();
        handles
            .into_iter()
            .filter(|(slot, _)| !g.slots[*slot].abandoned)
            .map(|(_, h)| h)
            .collect()
    };
    // Abandoned workers are never joined: they may be stuck in Python for a long time.
    py.detach(|| {
        for h in joinable {
            let _ = h.join();
        }
    });

    *context.borrow_mut() = "collecting results".into();
    let (stats, leftovers) = {
        let mut g = shared.lock();
        let n = g.sched.len();
        let status = (0..n)
            .map(|i| g.sched.status(i).map_or("cancelled", Outcome::as_str))
            .collect();
        let mut internal_errors = std::mem::take(&mut g.errors);
        internal_errors.append(&mut skip_errors);
        let stats = RunStats {
            status,
            seconds: g.sched.seconds().to_vec(),
            interrupted,
            internal_errors,
            peak_live_outputs: g.sched.peak_live_outputs(),
            released: g.sched.released(),
            memory_waits: g.sched.memory().map_or(0, |m| m.waits),
            spilled: g.sched.memory().map_or(0, |m| m.spilled),
            reloaded: g.sched.memory().map_or(0, |m| m.reloaded),
            peak_live_bytes: g.sched.memory().map_or(0, |m| m.peak_live_bytes()),
        };
        (stats, g.sched.take_all_outputs())
    };
    drop(leftovers); // attached: nothing is held after run_plan returns
    stats
}

struct Step {
    notices: Vec<(usize, Outcome)>,
    spills: Vec<(usize, Arc<Obj>)>,
    interrupt: Vec<(usize, usize, Outcome)>,
    garbage: Vec<Arc<Obj>>,
    done: bool,
}

/// Detached part of the main loop: sleeps until there is something that needs the
/// interpreter, a group deadline or the grace deadline passes, or `poll` elapses.
fn wait_for_events(
    shared: &Arc<Shared>,
    handles: &mut Vec<(usize, JoinHandle<()>)>,
    opts: &Options,
    grace_deadline: Option<Instant>,
) -> Step {
    let wake_at = Instant::now() + opts.poll;
    let mut g = shared.lock();
    let mut interrupt = Vec::new();
    loop {
        let now = Instant::now();
        g.sched.poll_timeouts(now);
        if matches!(grace_deadline, Some(d) if now >= d) {
            g.sched.abandon_running(now, Outcome::Cancelled);
        }
        for (node, outcome) in g.sched.take_abandoned() {
            // The worker may already have returned (then there is nothing to interrupt).
            if let Some(slot) = g.slots.iter().position(|s| s.current == Some(node)) {
                g.slots[slot].abandoned = true;
                interrupt.push((slot, node, outcome));
            }
        }
        // Keep `jobs` workers able to take nodes: replace abandoned and dead ones.
        if !g.sched.is_done() && !g.sched.is_cancelled() {
            while g.capacity() < opts.jobs {
                spawn_worker(shared, &mut g, handles);
            }
            if g.sched.has_ready() {
                shared.work_cv.notify_all();
            }
        }
        let done = g.sched.is_done();
        if done
            || !interrupt.is_empty()
            || g.sched.has_notices()
            || g.sched.has_spills()
            || now >= wake_at
        {
            return Step {
                notices: g.sched.take_notices(),
                spills: g.sched.take_spills(),
                interrupt,
                garbage: g.sched.take_garbage(),
                done,
            };
        }
        let mut until = wake_at;
        if let Some(d) = g.sched.next_deadline() {
            until = until.min(d);
        }
        if let Some(d) = grace_deadline {
            until = until.min(d);
        }
        let wait = until.saturating_duration_since(now);
        g = shared
            .main_cv
            .wait_timeout(g, wait)
            .unwrap_or_else(PoisonError::into_inner)
            .0;
    }
}

/// Raises TimeoutError (or KeyboardInterrupt for a cancellation) inside an abandoned call.
/// Called attached; the slot is re-checked under the lock so a call that has already returned
/// is left alone (its worker clears any exception that slipped in, see `run_one`).
fn interrupt(py: Python<'_>, shared: &Shared, slot: usize, node: usize, outcome: Outcome) {
    let _ = py;
    let mut g = shared.lock();
    let s = &mut g.slots[slot];
    if s.current != Some(node) {
        return;
    }
    if let Some(ident) = s.ident {
        s.interrupted = true;
        // SAFETY: attached (the `py` token proves it); the exception types are static objects.
        unsafe {
            let exc = if outcome == Outcome::Timeout {
                ffi::PyExc_TimeoutError
            } else {
                ffi::PyExc_KeyboardInterrupt
            };
            ffi::PyThreadState_SetAsyncExc(ident, exc);
        }
    }
}

fn spawn_worker(shared: &Arc<Shared>, g: &mut Inner, handles: &mut Vec<(usize, JoinHandle<()>)>) {
    let id = g.slots.len();
    g.slots.push(Slot::default());
    let s = Arc::clone(shared);
    let handle = thread::Builder::new()
        .name(format!("stratum-worker-{id}"))
        .stack_size(WORKER_STACK)
        .spawn(move || worker(s, id))
        .expect("failed to spawn a worker thread");
    handles.push((id, handle));
}

fn worker(shared: Arc<Shared>, id: usize) {
    let _quiet = QuietPanics::enter();
    // SAFETY: only reads the calling thread's id (pthread_self); needs no interpreter state.
    let ident = unsafe { ffi::PyThread_get_thread_ident() } as c_long;
    shared.lock().slots[id].ident = Some(ident);

    let outcome = catch_unwind(AssertUnwindSafe(|| worker_loop(&shared, id)));
    let abandoned = {
        let mut g = shared.lock();
        if let Err(payload) = &outcome {
            // A bug in this crate, not in the user's step: report it, fail the node, go on.
            let msg = panic_message(payload.as_ref());
            let node = g.slots[id].current.take();
            g.errors.push(match node {
                Some(n) => format!(
                    "node {n}: stratum runtime panic: {msg} (while running node {n} on worker {id})"
                ),
                None => format!("stratum runtime panic: {msg} (in worker {id})"),
            });
            if let Some(n) = node {
                g.sched.finish(n, false, None, Duration::ZERO);
            }
        }
        g.slots[id].exited = true;
        g.wake(&shared);
        g.slots[id].abandoned
    };
    if abandoned {
        // Possibly the last owner of `run` and of late outputs: drop them attached.
        Python::attach(move |_py| drop(shared));
    }
}

fn worker_loop(shared: &Shared, id: usize) {
    loop {
        let dispatch = {
            let mut g = shared.lock();
            loop {
                if g.shutdown || g.slots[id].abandoned {
                    return;
                }
                if g.capacity() > shared.jobs {
                    // A worker that lent its place is back: one too many take nodes now.
                    g.slots[id].exited = true;
                    return;
                }
                if let Some(d) = g.sched.next_run(Instant::now()) {
                    g.slots[id].current = Some(d.node);
                    g.wake(shared); // more ready work for idle workers, or expired groups
                    break d;
                }
                g.wake(shared);
                g = shared
                    .work_cv
                    .wait(g)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let abandoned = Python::attach(|py| run_one(py, shared, id, dispatch));
        if abandoned {
            return;
        }
    }
}

/// Calls `run` for one node and records the result. Returns whether this worker was abandoned.
fn run_one(
    py: Python<'_>,
    shared: &Shared,
    id: usize,
    dispatch: Dispatch<Obj>,
) -> bool {
    let node = dispatch.node;
    let before = if shared.measure { resident_bytes() } else { 0 };
    let result = catch_unwind(AssertUnwindSafe(|| {
        let dispatch = reload_inputs(py, shared, dispatch)?;
        Ok(call_run(py, &shared.run, dispatch))
    }));
    let after = shared.measure.then(resident_bytes);
    let grown = after.map(|a| a.saturating_sub(before));
    let call = match result {
        Ok(Ok(call)) => call,
        Ok(Err(error)) => Call::failed(error),
        Err(payload) => Call::failed(format!(
            "node {node}: stratum runtime panic: {} (while calling run for node {node})",
            panic_message(payload.as_ref())
        )),
    };
    let (garbage, interrupted) = {
        let mut g = shared.lock();
        g.slots[id].current = None;
        g.slots[id].lending = false;
        let interrupted = std::mem::take(&mut g.slots[id].interrupted);
        // A late return from an abandoned call is rejected; its error (usually the injected
        // TimeoutError) is not an internal error.
        let Call { ok, output, error, elapsed, bytes } = call;
        if let Some(a) = after {
            g.sched.note_resident(a);
        }
        if g.sched.finish_measured(node, ok, output, elapsed, bytes, grown) {
            g.errors.extend(error);
        }
        (g.sched.take_garbage(), interrupted)
    };
    if interrupted {
        drain_interrupt(py);
    }
    // Released outputs go before anyone is woken, so a node waiting for memory sees it free.
    drop(garbage);
    let g = shared.lock();
    g.wake(shared);
    g.slots[id].abandoned
}

/// An interrupt aimed at the call that just returned may have arrived after `run` returned but
/// before the slot was cleared; it must not fire in unrelated code later. It is raised (and
/// dropped) here by running a no-op: raising is what also withdraws the interpreter-wide
/// "async exception pending" signal. Clearing it with `PyThreadState_SetAsyncExc(id, NULL)`
/// instead leaves that signal set in Python 3.11, and every traced or profiled function call
/// then loops forever at its entry (`%prun`, a debugger, coverage after a run).
fn drain_interrupt(py: Python<'_>) {
    if let Err(error) = py.run(c"pass", None, None) {
        drop(error);
    }
}

/// Replaces spilled inputs by their reloaded objects (shared with later consumers).
fn reload_inputs(
    py: Python<'_>,
    shared: &Shared,
    mut dispatch: Dispatch<Obj>,
) -> Result<Dispatch<Obj>, String> {
    let node = dispatch.node;
    let producers: Vec<usize> = {
        let g = shared.lock();
        g.sched.producers(node).to_vec()
    };
    for (i, &p) in producers.iter().enumerate() {
        if !dispatch.spilled[i] {
            continue;
        }
        let (Some(reload), Some(handle)) = (&shared.reload, &dispatch.inputs[i]) else {
            return Err(format!("node {node}: input {p} was spilled but cannot be reloaded"));
        };
        let object = reload
            .bind(py)
            .call1((p, handle.bind(py)))
            .map_err(|e| format!("node {node}: reloading the output of node {p}: {}", describe(py, &e)))?;
        let object = Arc::new(object.unbind());
        dispatch.inputs[i] = Some(Arc::clone(&object));
        let garbage = {
            let mut g = shared.lock();
            g.sched.reloaded(p, object);
            g.sched.take_garbage()
        };
        drop(garbage);
    }
    Ok(dispatch)
}

/// What one `run` call gave back.
struct Call {
    ok: bool,
    output: Option<Obj>,
    error: Option<String>,
    elapsed: Duration,
    /// Accounted size of the output (the optional third item of `run`'s tuple).
    bytes: u64,
}

impl Call {
    fn failed(error: String) -> Call {
        Call { ok: false, output: None, error: Some(error), elapsed: Duration::ZERO, bytes: 0 }
    }
}

/// The Python call itself: builds the input list, calls `run(node, inputs)`, checks the
/// `(ok, output[, nbytes])` shape.
fn call_run(py: Python<'_>, run: &Obj, dispatch: Dispatch<Obj>) -> Call {
    let node = dispatch.node;
    let objects: Vec<Bound<'_, PyAny>> = dispatch
        .inputs
        .iter()
        .map(|o| match o {
            Some(obj) => obj.bind(py).clone(),
            None => py.None().into_bound(py),
        })
        .collect();
    // Only the scheduler holds outputs; the list now owns its own references.
    drop(dispatch.inputs);
    let list = match PyList::new(py, objects) {
        Ok(l) => l,
        Err(e) => return Call::failed(format!("node {node}: {}", describe(py, &e))),
    };
    let t0 = Instant::now();
    let result = run.bind(py).call1((node, list));
    let elapsed = t0.elapsed();
    let returned = match result {
        Err(e) => Err(describe(py, &e)),
        Ok(value) => value
            .extract::<(bool, Obj)>()
            .map(|(ok, out)| (ok, out, 0))
            .or_else(|_| value.extract::<(bool, Obj, u64)>())
            .map_err(|_| {
                let shown = value.repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into());
                let err = PyRuntimeError::new_err(format!(
                    "run({node}, ...) returned {shown}, expected a tuple (ok: bool, output) or \
                     (ok: bool, output, nbytes: int)"
                ));
                describe(py, &err)
            }),
    };
    match returned {
        Ok((ok, out, bytes)) => Call { ok, output: Some(out), error: None, elapsed, bytes },
        Err(message) => Call { elapsed, ..Call::failed(format!("node {node}: {message}")) },
    }
}
