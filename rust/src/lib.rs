//! `stratum_jupyter._native`: the Rust runtime of stratum-jupyter.
//!
//! This file only converts arguments and results; the work is done in
//! `plan` (graph validation), `scheduler` (pure state machine) and `executor` (threads).

pub mod executor;
pub mod memory;
pub mod plan;
pub mod resident;
pub mod scheduler;

#[pyo3::pymodule]
mod _native {
    use std::cell::RefCell;
    use std::panic::{catch_unwind, AssertUnwindSafe};
    use std::sync::Arc;
    use std::time::Duration;

    use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
    use pyo3::prelude::*;
    use pyo3::types::PyDict;

    use crate::executor::{execute, panic_message, QuietPanics, Options};
    use crate::executor;
    use crate::memory::Budget;
    use crate::plan::{Plan, PlanSpec};
    use crate::resident::resident_bytes;

    /// Tells the run whose step this thread is running that the step now waits for work
    /// another step is doing (`lending=True`) or works again (`False`); while it waits, another
    /// worker thread takes its place. Returns False when this thread runs no step of a run.
    #[pyfunction]
    fn lend(py: Python<'_>, lending: bool) -> bool {
        let _ = py; // attached: the run's objects may be dropped here
        executor::lend(lending)
    }

    /// Runs a topologically ordered plan of Python steps on `jobs` worker threads.
    /// See rust/README.md for the full contract.
    #[pyfunction]
    #[pyo3(signature = (
        deps_ok, deps_any, inputs, priority, group, run, skip,
        jobs = 1, timeout = None, grace = 5.0, poll_ms = 50,
        memory = None, shape = None, probe = false, spill = None, reload = None,
        slots = None, opens = None
    ))]
    #[allow(clippy::too_many_arguments)]
    fn run_plan<'py>(
        py: Python<'py>,
        deps_ok: Vec<Vec<i64>>,
        deps_any: Vec<Vec<i64>>,
        inputs: Vec<Vec<i64>>,
        priority: Vec<f64>,
        group: Vec<i64>,
        run: Bound<'py, PyAny>,
        skip: Bound<'py, PyAny>,
        jobs: i64,
        timeout: Option<f64>,
        grace: f64,
        poll_ms: i64,
        memory: Option<u64>,
        shape: Option<Vec<i64>>,
        probe: bool,
        spill: Option<Bound<'py, PyAny>>,
        reload: Option<Bound<'py, PyAny>>,
        slots: Option<i64>,
        opens: Option<Vec<bool>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let _quiet = QuietPanics::enter();
        let context = RefCell::new(String::from("validating the plan"));
        let result = catch_unwind(AssertUnwindSafe(|| -> PyResult<Bound<'py, PyDict>> {
            if !run.is_callable() {
                return Err(PyTypeError::new_err("run_plan: run must be callable"));
            }
            if !skip.is_callable() {
                return Err(PyTypeError::new_err("run_plan: skip must be callable"));
            }
            if jobs < 1 {
                return Err(PyValueError::new_err(format!(
                    "run_plan: jobs must be at least 1, got {jobs}"
                )));
            }
            let timeout = match timeout {
                None => None,
                Some(t) => match Duration::try_from_secs_f64(t) {
                    Ok(d) if t > 0.0 => Some(d),
                    _ => {
                        return Err(PyValueError::new_err(format!(
                            "run_plan: timeout must be a positive number of seconds or None, \
                             got {t}"
                        )))
                    }
                },
            };
            let Ok(grace) = Duration::try_from_secs_f64(grace) else {
                return Err(PyValueError::new_err(format!(
                    "run_plan: grace must be a non-negative number of seconds, got {grace}"
                )));
            };
            if poll_ms < 1 {
                return Err(PyValueError::new_err(format!(
                    "run_plan: poll_ms must be at least 1, got {poll_ms}"
                )));
            }
            for (name, f) in [("spill", &spill), ("reload", &reload)] {
                if f.as_ref().is_some_and(|f| !f.is_callable()) {
                    return Err(PyTypeError::new_err(format!("run_plan: {name} must be callable")));
                }
            }
            let n = deps_ok.len();
            let shape = shape.unwrap_or_else(|| (0..n as i64).collect());
            if shape.len() != n {
                return Err(PyValueError::new_err(format!(
                    "run_plan: shape must have one entry per node ({n}), got {}",
                    shape.len()
                )));
            }
            if slots.is_some_and(|k| k < 1) {
                return Err(PyValueError::new_err(format!(
                    "run_plan: slots must be at least 1 or None, got {}",
                    slots.unwrap_or_default()
                )));
            }
            if opens.as_ref().is_some_and(|o| o.len() != n) {
                return Err(PyValueError::new_err(format!(
                    "run_plan: opens must have one entry per node ({n}), got {}",
                    opens.as_ref().map_or(0, Vec::len)
                )));
            }
            // Default: a node of a group's own (one that replays no other node's output) opens it.
            let slots = slots.map(|k| {
                let opens = opens.unwrap_or_else(|| inputs.iter().map(Vec::is_empty).collect());
                (k as usize, opens)
            });
            let budget = memory.map(|limit| Budget {
                limit,
                probe,
                shape,
                resident: Box::new(resident_bytes),
            });
            let plan = Plan::new(PlanSpec {
                deps_ok,
                deps_any,
                inputs,
                priority,
                group,
            })
            .map_err(|e| PyValueError::new_err(e.0))?;

            *context.borrow_mut() = "running the plan".into();
            let opts = Options {
                jobs: jobs as usize,
                timeout,
                grace,
                poll: Duration::from_millis(poll_ms as u64),
                budget,
                spill: spill.map(Bound::unbind),
                reload: reload.map(Bound::unbind),
                slots,
            };
            let stats = execute(
                py,
                Arc::new(plan),
                run.clone().unbind(),
                skip.clone().unbind(),
                opts,
                &context,
            );

            *context.borrow_mut() = "building the result dict".into();
            let d = PyDict::new(py);
            d.set_item("status", stats.status)?;
            d.set_item("seconds", stats.seconds)?;
            d.set_item("interrupted", stats.interrupted)?;
            d.set_item("internal_errors", stats.internal_errors)?;
            d.set_item("peak_live_outputs", stats.peak_live_outputs)?;
            d.set_item("released", stats.released)?;
            d.set_item("memory_waits", stats.memory_waits)?;
            d.set_item("spilled", stats.spilled)?;
            d.set_item("reloaded", stats.reloaded)?;
            d.set_item("peak_live_bytes", stats.peak_live_bytes)?;
            Ok(d)
        }));
        match result {
            Ok(r) => r,
            Err(payload) => Err(PyRuntimeError::new_err(format!(
                "stratum runtime panic: {} (while {})",
                panic_message(payload.as_ref()),
                context.borrow()
            ))),
        }
    }
}
