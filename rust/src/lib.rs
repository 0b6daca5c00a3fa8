pub mod plan;
pub mod scheduler;
