//! The pack service against real PostgreSQL and the real broker, one fresh
//! database per test.

mod activation;
mod approval;
mod helpers;
mod lifecycle;
mod openapi;
mod playbooks;
mod row_security;
mod runtime;
mod validation;
mod versions;
